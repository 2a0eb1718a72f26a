"""The sample app's only way to the server: the official ``opentok`` SDK, off the event loop.

The SDK is synchronous (``requests``). Every call runs in a worker thread of the app's own pool,
so the event loop never blocks, and the server's own use of the default executor never waits
behind the app's calls to it; this matters when the app is embedded in the very server it calls.
SDK and transport errors become :class:`BackendError` with an HTTP status for the page or JSON
answer.
"""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, TypeVar

import opentok
import requests
from opentok import exceptions as ot_errors

from archivist import logs
from archivist.sample.config import SampleConfig

log = logs.get(__name__)

T = TypeVar("T")

PENDING = frozenset({"started", "paused", "stopped", "uploaded"})
"""Statuses after which the archive may still become available (``uploaded`` without a URL)."""


class BackendError(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


@dataclass(frozen=True)
class ArchiveView:
    """What the pages show of an archive (the SDK's Archive, flattened)."""

    id: str
    name: str
    session_id: str
    status: str
    reason: str
    created_at: int  # ms since the epoch
    duration: int  # seconds
    size: int  # bytes
    url: str | None

    @classmethod
    def of(cls, archive: Any) -> ArchiveView:
        created = archive.created_at
        created_ms = int(created.timestamp() * 1000) if isinstance(created, datetime) else int(created or 0)
        return cls(
            id=str(archive.id),
            name=str(archive.name or ""),
            session_id=str(archive.session_id or ""),
            status=str(archive.status or ""),
            reason=str(getattr(archive, "reason", "") or ""),
            created_at=created_ms,
            duration=int(archive.duration or 0),
            size=int(archive.size or 0),
            url=str(archive.url) if archive.url else None,
        )

    @property
    def available(self) -> bool:
        return self.url is not None and self.status in ("available", "uploaded")

    @property
    def pending(self) -> bool:
        return not self.available and self.status in PENDING

    @property
    def poster_time(self) -> str:
        """Where the poster frame is taken (a media fragment): past the start, where everyone
        who joined late is in the picture too."""
        return f"{max(0.5, self.duration * 0.6):.1f}"

    @property
    def created_text(self) -> str:
        return datetime.fromtimestamp(self.created_at / 1000, UTC).strftime("%Y-%m-%d %H:%M:%S UTC")

    @property
    def duration_text(self) -> str:
        minutes, seconds = divmod(self.duration, 60)
        hours, minutes = divmod(minutes, 60)
        return f"{hours}:{minutes:02d}:{seconds:02d}" if hours else f"{minutes}:{seconds:02d}"

    @property
    def size_text(self) -> str:
        size = float(self.size)
        for unit in ("B", "kB", "MB", "GB"):
            if size < 1000 or unit == "GB":
                return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
            size /= 1000
        return f"{size:.1f} GB"

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "name": self.name,
            "sessionId": self.session_id,
            "status": self.status,
            "reason": self.reason,
            "createdAt": self.created_at,
            "duration": self.duration,
            "size": self.size,
            "url": self.url,
            "available": self.available,
            "pending": self.pending,
        }


@dataclass(frozen=True)
class ArchivePage:
    total: int
    items: list[ArchiveView]


class Backend:
    """The official SDK pointed at the Archivist server, plus the app's one routed session."""

    def __init__(self, config: SampleConfig) -> None:
        self.config = config
        self._ot = opentok.Client(config.api_key, config.api_secret, api_url=config.api_url, timeout=config.timeout)
        self._session_id: str | None = None
        self._session_lock = asyncio.Lock()
        self._pool = ThreadPoolExecutor(max_workers=8, thread_name_prefix="sample-sdk")

    async def _call(self, what: str, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        try:
            return await asyncio.get_running_loop().run_in_executor(self._pool, functools.partial(fn, *args, **kwargs))
        except Exception as exc:
            raise self._translate(what, _root_cause(exc)) from None

    def _translate(self, what: str, exc: BaseException) -> BackendError:
        api_url = self.config.api_url
        if isinstance(exc, ot_errors.AuthError):
            log.error("the server refused the sample app's credentials", call=what, api_key=self.config.api_key)
            return BackendError(
                502, "the Archivist server refused the sample app's API key and secret (check API_KEY and API_SECRET)"
            )
        if isinstance(exc, ot_errors.NotFoundError):
            return BackendError(404, _message(exc, "not found"))
        if isinstance(exc, ot_errors.ArchiveError):
            return BackendError(409, _message(exc, "the archive cannot do that now"))
        if isinstance(exc, ot_errors.RequestError):
            status = _status_of(exc)
            message = _message(exc, "the Archivist server refused the request")
            if status is not None and status >= 500:
                return BackendError(502, f"the Archivist server failed ({status}): {message}")
            return BackendError(400, message)
        if isinstance(exc, ot_errors.OpenTokException):
            return BackendError(502, _message(exc, "the Archivist server answered unexpectedly"))
        if isinstance(exc, requests.Timeout):
            log.warning("the Archivist server timed out", call=what, api_url=api_url)
            return BackendError(504, f"the Archivist server at {api_url} did not answer in time")
        if isinstance(exc, (requests.RequestException, ValueError)):
            log.warning("cannot reach the Archivist server", call=what, api_url=api_url, error=type(exc).__name__)
            return BackendError(502, f"cannot reach the Archivist server at {api_url}")
        log.error("sample app call failed", call=what, exc_info=exc)
        return BackendError(502, "the call to the Archivist server failed unexpectedly")

    # ---- the session and tokens -----------------------------------------------------------
    async def session_id(self) -> str:
        """The app's routed session, created on first use (like the spec's Ruby sample)."""
        if self._session_id is not None:
            return self._session_id
        async with self._session_lock:
            if self._session_id is None:
                session = await self._call(
                    "create_session", self._ot.create_session, media_mode=opentok.MediaModes.routed
                )
                self._session_id = str(session.session_id)
                log.info("sample session created", session=self._session_id)
            return self._session_id

    async def new_session(self) -> str:
        """A new routed session (the test web service's rooms)."""
        session = await self._call("create_session", self._ot.create_session, media_mode=opentok.MediaModes.routed)
        return str(session.session_id)

    async def token(self, session_id: str, role: str, data: str) -> str:
        roles = {"moderator": opentok.Roles.moderator, "publisher": opentok.Roles.publisher}
        return await self._call("generate_token", self._ot.generate_token, session_id, role=roles[role], data=data)

    # ---- archives -------------------------------------------------------------------------
    async def start(self, session_id: str, name: str | None = None) -> ArchiveView:
        archive = await self._call(
            "start_archive", self._ot.start_archive, session_id, name=name or self.config.archive_name
        )
        log.info("archive started", archive=archive.id, session=session_id)
        return ArchiveView.of(archive)

    async def stop(self, archive_id: str) -> ArchiveView:
        archive = await self._call("stop_archive", self._ot.stop_archive, archive_id)
        log.info("archive stopped", archive=archive.id)
        return ArchiveView.of(archive)

    async def get(self, archive_id: str) -> ArchiveView:
        return ArchiveView.of(await self._call("get_archive", self._ot.get_archive, archive_id))

    async def page(self, offset: int, count: int, session_id: str | None = None) -> ArchivePage:
        listing = await self._call("list_archives", self._ot.list_archives, offset, count, session_id)
        return ArchivePage(total=int(listing.count or 0), items=[ArchiveView.of(a) for a in listing.items])


def _root_cause(exc: BaseException) -> BaseException:
    """The SDK's create_session wraps every failure (403, connection refused) in a RequestError
    whose message is text only; the exception it was handling says what really happened."""
    seen = exc
    while isinstance(seen, ot_errors.RequestError) and seen.__context__ is not None:
        inner = seen.__context__
        if not isinstance(inner, (ot_errors.OpenTokException, requests.RequestException)):
            break
        seen = inner
    return seen


def _message(exc: BaseException, default: str) -> str:
    for arg in exc.args:
        if isinstance(arg, str) and arg.strip():
            return arg.strip()
    return default


def _status_of(exc: BaseException) -> int | None:
    for arg in exc.args[1:]:
        if isinstance(arg, int):
            return arg
    return None
