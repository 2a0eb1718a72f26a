"""The archive service: start, stop, get, list, delete, and the status changes they cause.

The REST routers call it; it checks every rule of the spec (one archive at a time per session,
routed sessions only, clients connected) and drives the recorder through the narrow
:class:`RecorderLauncher` protocol. Every status change goes through :meth:`_transition`, which
checks the status machine and tells the listeners (client events, status callbacks).
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Protocol

from archivist import logs
from archivist.archives.model import Archive
from archivist.archives.status import (
    DELETABLE,
    RECORDING,
    ArchiveStatus,
    Reason,
    can_transition,
    check_transition,
)
from archivist.clock import now_ms
from archivist.config import Settings
from archivist.errors import BadRequest, Conflict, NotFound
from archivist.rooms.registry import Rooms
from archivist.sessions.model import RESOLUTIONS, MediaMode
from archivist.sessions.service import SessionService
from archivist.store.archives import AlreadyRecording, ArchiveRepository

log = logs.get(__name__)

LAYOUT_TYPES = ("bestFit", "pip", "verticalPresentation", "horizontalPresentation", "focus", "custom")
SUPPORTED_LAYOUTS = ("bestFit",)
MAX_NAME = 200

StatusListener = Callable[[Archive], Awaitable[None]]


class RecorderLauncher(Protocol):
    """Starts and stops the worker that turns an archive's streams into a file."""

    async def start(self, archive: Archive) -> None: ...

    async def stop(self, archive: Archive) -> RecordingOutcome: ...

    async def recover(self, archive: Archive) -> RecordingOutcome | None:
        """Finish the file a killed process left behind (None: nothing playable)."""


class ArchiveFileStore(Protocol):
    """Where finished files go (``storage/files.py``): the project's local disk or object storage."""

    async def place(self, archive: Archive, outcome: RecordingOutcome, reason: Reason) -> bool:
        """Take a finished file. True: final now (available); False: uploading (uploaded later)."""

    async def remove(self, archive: Archive) -> None:
        """Remove a deleted or expired archive's file everywhere (retried in the background)."""

    async def placed(self, archive_id: str) -> bool:
        """The storage already holds this archive's file (its upload may still be running)."""


@dataclass(frozen=True)
class RecordingOutcome:
    duration: int
    size: int
    storage_key: str | None
    sha256: str | None
    failed: bool = False
    salvaged: bool = False
    """The recorder failed mid-recording; the file holds what was recorded up to the failure."""


@dataclass(frozen=True)
class StartOptions:
    session_id: str
    name: str | None
    has_audio: bool
    has_video: bool
    output_mode: str
    stream_mode: str
    resolution: str | None
    layout: dict[str, Any] | None
    max_bitrate: int | None
    quantization_parameter: int | None
    multi_archive_tag: str | None


def _opt_bool(body: dict[str, Any], key: str, default: bool) -> bool:
    value = body.get(key)
    if value is None:
        return default
    if not isinstance(value, bool):
        raise BadRequest(f"{key} must be a boolean")
    return value


def _opt_str(body: dict[str, Any], key: str) -> str | None:
    value = body.get(key)
    if value is None:
        return None
    if not isinstance(value, str):
        raise BadRequest(f"{key} must be a string")
    return value


def _opt_int(body: dict[str, Any], key: str, lo: int, hi: int) -> int | None:
    value = body.get(key)
    if value is None:
        return None
    if isinstance(value, float) and value.is_integer():
        value = int(value)  # JSON has one number type: 16.0 is the integer 16
    if isinstance(value, bool) or not isinstance(value, int):
        raise BadRequest(f"{key} must be an integer")
    if not lo <= value <= hi:
        raise BadRequest(f"{key} must be between {lo} and {hi}")
    return value


def parse_start(body: dict[str, Any]) -> StartOptions:
    """Validate a start request body (today's API fields; the spec's are a subset)."""
    session_id = body.get("sessionId")
    if not isinstance(session_id, str) or not session_id.strip():
        raise BadRequest("sessionId is required")
    name = _opt_str(body, "name")
    if name is not None and (len(name) > MAX_NAME or "\x00" in name):
        raise BadRequest(f"name must be at most {MAX_NAME} characters, without NUL")
    has_audio = _opt_bool(body, "hasAudio", True)
    has_video = _opt_bool(body, "hasVideo", True)
    if not has_audio and not has_video:
        raise BadRequest("hasAudio and hasVideo cannot both be false")
    output_mode = _opt_str(body, "outputMode") or "composed"
    if output_mode not in ("composed", "individual"):
        raise BadRequest("outputMode must be 'composed' or 'individual'")
    resolution = _opt_str(body, "resolution")
    if resolution is not None and output_mode == "individual":
        raise BadRequest("resolution cannot be set with individual output")
    if resolution is not None and resolution not in RESOLUTIONS:
        raise BadRequest(f"resolution must be one of {', '.join(RESOLUTIONS)}")
    if output_mode == "individual":
        raise BadRequest("outputMode 'individual' is not supported yet by this server (composed only)")
    stream_mode = _opt_str(body, "streamMode") or "auto"
    if stream_mode not in ("auto", "manual"):
        raise BadRequest("streamMode must be 'auto' or 'manual'")
    if stream_mode == "manual":
        raise BadRequest("streamMode 'manual' is not supported yet by this server (auto only)")
    layout = body.get("layout")
    if layout is not None:
        if not isinstance(layout, dict):
            raise BadRequest("layout must be an object")
        ltype = layout.get("type", "bestFit")
        if ltype not in LAYOUT_TYPES:
            raise BadRequest(f"layout.type must be one of {', '.join(LAYOUT_TYPES)}")
        if ltype not in SUPPORTED_LAYOUTS or layout.get("screenshareType") is not None:
            raise BadRequest(f"layout '{ltype}' is not supported yet by this server (bestFit only)")
        layout = {"type": ltype}
    max_bitrate = _opt_int(body, "maxBitrate", 100_000, 6_000_000)
    qp = _opt_int(body, "quantizationParameter", 15, 40)
    if max_bitrate is not None and qp is not None:
        raise BadRequest("maxBitrate and quantizationParameter cannot both be set")
    tag = _opt_str(body, "multiArchiveTag")
    if tag is not None:
        raise BadRequest("multiArchiveTag (simultaneous archives) is not supported yet by this server")
    if body.get("hasTranscription"):
        raise BadRequest("hasTranscription is not supported by this server")
    return StartOptions(
        session_id=session_id.strip(),
        name=name,
        has_audio=has_audio,
        has_video=has_video,
        output_mode=output_mode,
        stream_mode=stream_mode,
        resolution=resolution or "640x480",
        layout=layout or {"type": "bestFit"},
        max_bitrate=max_bitrate,
        quantization_parameter=qp,
        multi_archive_tag=tag,
    )


class ArchiveService:
    files: ArchiveFileStore | None = None
    """The storage of finished files (wired in ``app.py``); None: files stay where they were written."""

    def __init__(
        self,
        repo: ArchiveRepository,
        sessions: SessionService,
        rooms: Rooms,
        settings: Settings,
        launcher: RecorderLauncher | None = None,
    ) -> None:
        self._repo = repo
        self._sessions = sessions
        self._rooms = rooms
        self._settings = settings
        self.launcher = launcher
        self.listeners: list[StatusListener] = []

    # ---- queries ---------------------------------------------------------------------------
    async def get(self, project_key: str, archive_id: str) -> Archive:
        archive = await self._repo.get(archive_id) if _valid_id(archive_id) else None
        if archive is None or archive.project_key != project_key:
            raise NotFound("archive not found")
        return archive

    async def page(
        self, project_key: str, offset: int, count: int, session_id: str | None = None
    ) -> tuple[int, list[Archive]]:
        return await self._repo.page(project_key, offset, count, session_id)

    async def find(self, archive_id: str) -> Archive | None:
        """Any project's archive (internal callers only; REST goes through :meth:`get`)."""
        return await self._repo.get(archive_id)

    async def recording(self, session_id: str) -> list[Archive]:
        """The session's archives that are recording (started or paused)."""
        return await self._repo.running(session_id)

    # ---- commands --------------------------------------------------------------------------
    async def start(self, project_key: str, opts: StartOptions) -> Archive:
        session = await self._sessions.get(project_key, opts.session_id)
        if session.media_mode is MediaMode.RELAYED:
            raise Conflict("relayed (peer-to-peer) sessions cannot be archived; create a routed session")
        if await self._repo.running(session.id):
            raise Conflict("this session is already being recorded")
        if self._rooms.connected_count(session.id) == 0:
            raise BadRequest("no clients are actively connected to the session")
        if self.launcher is None:
            raise Conflict("recording is not available on this server")
        now = now_ms()
        archive = Archive(
            id=str(uuid.uuid4()),
            project_key=project_key,
            session_id=session.id,
            name=opts.name,
            status=ArchiveStatus.STARTED,
            reason=Reason.NONE,
            created_at=now,
            updated_at=now,
            duration=0,
            size=0,
            has_audio=opts.has_audio,
            has_video=opts.has_video,
            output_mode=opts.output_mode,
            stream_mode=opts.stream_mode,
            resolution=opts.resolution,
            layout=opts.layout,
            max_bitrate=opts.max_bitrate,
            quantization_parameter=opts.quantization_parameter,
            multi_archive_tag=opts.multi_archive_tag,
            storage_key=None,
            sha256=None,
            seq=time.time_ns() // 1000,
        )
        try:
            await self._repo.add(archive)
        except AlreadyRecording:
            raise Conflict("this session is already being recorded") from None
        try:
            await self.launcher.start(archive)
        except Exception as exc:
            log.error("recorder failed to start", archive=archive.id, error=repr(exc))
            failed = await self._transition(archive, ArchiveStatus.FAILED, Reason.SYSTEM_FAILURE)
            return failed
        await self._notify(archive)
        return archive

    async def stop(self, project_key: str, archive_id: str, reason: Reason = Reason.USER_INITIATED) -> Archive:
        archive = await self.get(project_key, archive_id)
        if archive.status not in RECORDING:
            raise Conflict(f"archive is not being recorded (status {archive.status.value})")
        return await self.finish(archive, reason)

    async def finish(self, archive: Archive, reason: Reason) -> Archive:
        """Stop a recording archive: stopped now, available once its file is finalized (or
        failed). Returns the archive as it stopped, which is what a stop request answers."""
        duration = max(0, round((now_ms() - archive.created_at) / 1000))
        stopped = await self._transition(archive, ArchiveStatus.STOPPED, reason, duration=duration)
        if self.launcher is None:
            return stopped
        try:
            outcome = await self.launcher.stop(stopped)
        except Exception as exc:
            log.error("recorder failed to stop", archive=archive.id, error=repr(exc))
            await self._transition(stopped, ArchiveStatus.FAILED, Reason.SYSTEM_FAILURE)
            return stopped
        await self.complete(stopped, outcome, Reason.FAILURE if outcome.salvaged else reason)
        return stopped

    async def complete(self, stopped: Archive, outcome: RecordingOutcome, reason: Reason) -> Archive:
        """A stopped archive's file is final: make it downloadable (or failed)."""
        if outcome.failed:
            return await self._transition(stopped, ArchiveStatus.FAILED, Reason.SYSTEM_FAILURE)
        if self.files is not None and outcome.storage_key is not None:
            try:
                final = await self.files.place(stopped, outcome, reason)
            except Exception as exc:  # the file is on the local disk whatever happened: serve it
                log.error("archive storage unavailable; keeping the local file", archive=stopped.id,
                          error=repr(exc))
                final = True
            if not final:  # uploading in the background: uploaded (or available from the fallback copy) later
                return stopped
        return await self._transition(
            stopped,
            ArchiveStatus.AVAILABLE,
            reason,
            duration=outcome.duration,
            size=outcome.size,
            storage_key=outcome.storage_key,
            sha256=outcome.sha256,
        )

    async def delete(self, project_key: str, archive_id: str) -> None:
        archive = await self.get(project_key, archive_id)
        if archive.status is ArchiveStatus.DELETED:
            return
        if archive.status not in DELETABLE:
            raise Conflict(
                f"only an available or uploaded archive can be deleted (status {archive.status.value})"
            )
        await self._transition(archive, ArchiveStatus.DELETED, archive.reason, url_gone=True)
        if self.files is not None:
            try:
                await self.files.remove(archive)
            except Exception as exc:  # the archive is deleted; its file removal is storage's to finish
                log.error("archive file removal could not be queued", archive=archive.id, error=repr(exc))

    async def settle_file(self, archive_id: str, status: ArchiveStatus, reason: Reason, **file: Any) -> Archive | None:
        """The storage is done with an archive's file: move the archive to ``status`` (uploaded,
        available from the fallback copy, or failed). Returns the archive in that status, or None
        when it moved on meanwhile (deleted, expired) and the file is not wanted any more."""
        archive = await self._repo.get(archive_id)
        if archive is None:
            return None
        if archive.status is status:
            return archive
        if not can_transition(archive.status, status):
            return None
        try:
            return await self._transition(archive, status, reason, **file)
        except Conflict:
            return await self.settle_file(archive_id, status, reason, **file)

    async def expire(self, archive: Archive) -> Archive | None:
        """Retention: a downloadable archive becomes ``expired`` (its URL goes away). None: it moved on."""
        if not can_transition(archive.status, ArchiveStatus.EXPIRED):
            return None
        try:
            return await self._transition(archive, ArchiveStatus.EXPIRED, archive.reason, url_gone=True)
        except Conflict:
            return None

    async def recover(self) -> None:
        """On start-up: archives a previous process left recording (it was killed) are closed
        out. Their fragmented MP4 plays up to the kill: it becomes available, reason
        ``recovered``, with the file's true duration and size; nothing playable: failed."""
        interrupted = await self._repo.running()
        for archive in await self._repo.with_status(ArchiveStatus.STOPPED):
            # stopped and handed to the storage: an upload in flight, which resumes by itself
            if self.files is None or not await self.files.placed(archive.id):
                interrupted.append(archive)
        for archive in interrupted:
            log.warning("archive interrupted by a previous process; recovering", archive=archive.id,
                        status=archive.status.value)
            outcome = await self.launcher.recover(archive) if self.launcher is not None else None
            stopped = archive
            if archive.status in RECORDING:
                stopped = await self._transition(
                    archive, ArchiveStatus.STOPPED, Reason.RECOVERED,
                    duration=outcome.duration if outcome is not None else 0,
                )
            if outcome is None:
                await self._transition(stopped, ArchiveStatus.FAILED, Reason.SYSTEM_FAILURE)
            else:
                await self.complete(stopped, outcome, Reason.RECOVERED)

    async def close(self) -> None:
        for archive in await self._repo.running():
            await self.finish(archive, Reason.SESSION_ENDED)

    # ---- internals -------------------------------------------------------------------------
    async def _transition(
        self, archive: Archive, status: ArchiveStatus, reason: Reason, *, url_gone: bool = False, **changes: Any
    ) -> Archive:
        check_transition(archive.status, status)
        if url_gone:
            changes["storage_key"] = None
        updated = archive.evolve(status=status, reason=reason, updated_at=now_ms(), **changes)
        if not await self._repo.save_if_status(updated, archive.status):
            current = await self._repo.get(archive.id)
            raise Conflict(
                f"archive changed concurrently (now {current.status.value if current else 'gone'})"
            )
        await self._notify(updated)
        return updated

    async def _notify(self, archive: Archive) -> None:
        for listener in self.listeners:
            try:
                await listener(archive)
            except Exception as exc:  # a listener's failure must not undo a committed change
                log.error("archive listener failed", archive=archive.id, error=repr(exc))


def _valid_id(archive_id: str) -> bool:
    try:
        uuid.UUID(archive_id)
    except (ValueError, AttributeError, TypeError):
        return False
    return True
