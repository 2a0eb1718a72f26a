"""Session rows: the session service's ``SessionRecords`` on SQLAlchemy."""

from __future__ import annotations

from sqlalchemy import insert, select
from sqlalchemy.ext.asyncio import AsyncEngine

from archivist.sessions.model import ArchiveMode, MediaMode, Session
from archivist.store.schema import sessions


class SessionRepository:
    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine

    async def add(self, session: Session) -> None:
        async with self._engine.begin() as conn:
            await conn.execute(
                insert(sessions).values(
                    id=session.id,
                    project_key=session.project_key,
                    media_mode=session.media_mode.value,
                    archive_mode=session.archive_mode.value,
                    location=session.location,
                    e2ee=session.e2ee,
                    archive_name=session.archive_name,
                    archive_resolution=session.archive_resolution,
                    created_at=session.created_at,
                )
            )

    async def get(self, session_id: str) -> Session | None:
        async with self._engine.connect() as conn:
            row = (await conn.execute(select(sessions).where(sessions.c.id == session_id))).mappings().first()
        if row is None:
            return None
        data = dict(row)
        data["media_mode"] = MediaMode(data["media_mode"])
        data["archive_mode"] = ArchiveMode(data["archive_mode"])
        return Session(**data)
