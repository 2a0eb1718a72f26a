"""Create and look up sessions (the domain side of ``POST /session/create``)."""

from __future__ import annotations

import ipaddress
from typing import Protocol

from archivist.clock import now_ms
from archivist.errors import BadRequest, NotFound
from archivist.sessions import ids
from archivist.sessions.model import RESOLUTIONS, ArchiveMode, MediaMode, Session


class SessionRecords(Protocol):
    """The persisted sessions (``store/sessions.py``)."""

    async def add(self, session: Session) -> None: ...

    async def get(self, session_id: str) -> Session | None: ...


class SessionService:
    def __init__(self, repo: SessionRecords) -> None:
        self._repo = repo

    async def create(
        self,
        project_key: str,
        *,
        p2p_preference: str | None = None,
        archive_mode: str | None = None,
        location: str | None = None,
        e2ee: str | None = None,
        archive_name: str | None = None,
        archive_resolution: str | None = None,
    ) -> Session:
        # exact values (the SDKs send nothing else); an empty location, name or resolution is unset
        pref = p2p_preference if p2p_preference is not None else "enabled"
        if pref not in ("enabled", "disabled"):
            raise BadRequest("p2p.preference must be 'enabled' (relayed) or 'disabled' (routed)")
        media = MediaMode.RELAYED if pref == "enabled" else MediaMode.ROUTED
        mode_raw = archive_mode if archive_mode is not None else "manual"
        if mode_raw not in ("manual", "always"):
            raise BadRequest("archiveMode must be 'manual' or 'always'")
        mode = ArchiveMode(mode_raw)
        if mode is ArchiveMode.ALWAYS and media is MediaMode.RELAYED:
            raise BadRequest("archiveMode 'always' requires a routed session (p2p.preference=disabled)")
        loc = location or None
        if loc is not None:
            try:
                ipaddress.IPv4Address(loc)
            except ValueError:
                raise BadRequest("location must be an IPv4 address") from None
        if e2ee not in (None, "true", "false"):
            raise BadRequest("e2ee must be 'true' or 'false'")
        e2ee_flag = e2ee == "true"
        name = archive_name or None
        if name is not None and (len(name) > 80 or "\x00" in name):
            raise BadRequest("archiveName must be at most 80 characters, without NUL")
        res = archive_resolution or None
        if res is not None and res not in RESOLUTIONS:
            raise BadRequest(f"archiveResolution must be one of {', '.join(RESOLUTIONS)}")
        now = now_ms()
        session = Session(
            id=ids.mint(project_key, loc, now),
            project_key=project_key,
            media_mode=media,
            archive_mode=mode,
            location=loc,
            e2ee=e2ee_flag,
            archive_name=name,
            archive_resolution=res,
            created_at=now,
        )
        await self._repo.add(session)
        return session

    async def get(self, project_key: str, session_id: object) -> Session:
        """The project's session, or BadRequest (malformed id) / NotFound (unknown or not theirs)."""
        if not isinstance(session_id, str) or not session_id:
            raise BadRequest("sessionId is required")
        if not ids.well_formed(session_id):
            raise BadRequest("invalid sessionId")
        # a well-formed id that is none of ours (it may not even decode) is simply not found
        owner = ids.project_key_of(session_id)
        session = await self._repo.get(session_id) if owner == project_key else None
        if session is None or session.project_key != project_key:
            raise NotFound("session not found")
        return session

    async def find(self, session_id: str) -> Session | None:
        return await self._repo.get(session_id)
