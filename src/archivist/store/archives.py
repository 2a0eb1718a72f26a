"""Archive rows: the archive service's ``ArchiveRecords`` (``archives/ports.py``) on SQLAlchemy."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from sqlalchemy import ColumnElement, and_, delete, func, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from archivist.archives.model import Archive
from archivist.archives.ports import AlreadyRecording
from archivist.archives.status import ArchiveStatus, Reason
from archivist.store.schema import archives

__all__ = ["AlreadyRecording", "ArchiveRepository", "StatusHook"]

def _to_row(a: Archive) -> dict[str, Any]:
    return {
        "id": a.id,
        "project_key": a.project_key,
        "session_id": a.session_id,
        "name": a.name,
        "status": a.status.value,
        "reason": a.reason.value,
        "created_at": a.created_at,
        "updated_at": a.updated_at,
        "duration": a.duration,
        "size": a.size,
        "has_audio": a.has_audio,
        "has_video": a.has_video,
        "output_mode": a.output_mode,
        "stream_mode": a.stream_mode,
        "resolution": a.resolution,
        "layout": a.layout_json(),
        "max_bitrate": a.max_bitrate,
        "quantization_parameter": a.quantization_parameter,
        "multi_archive_tag": a.multi_archive_tag,
        "storage_key": a.storage_key,
        "sha256": a.sha256,
        "seq": a.seq,
    }


def _from_row(row: Any) -> Archive:
    data = dict(row)
    data["status"] = ArchiveStatus(data["status"])
    data["reason"] = Reason(data["reason"])
    data["layout"] = json.loads(data["layout"]) if data["layout"] else None
    data["has_audio"] = bool(data["has_audio"])
    data["has_video"] = bool(data["has_video"])
    return Archive(**data)


StatusHook = Callable[[AsyncConnection, Archive], Awaitable[None]]
"""Runs inside the transaction that saves a new archive or a status change, with the archive as
saved (the status-callback outbox): a change that commits has its events, one that loses the
optimistic status check or rolls back has none, and nothing falls between commit and enqueue."""


class ArchiveRepository:
    def __init__(self, engine: AsyncEngine, hooks: Sequence[StatusHook] = ()) -> None:
        self._engine = engine
        self.hooks: list[StatusHook] = list(hooks)

    async def add(self, archive: Archive) -> None:
        try:
            async with self._engine.begin() as conn:
                await conn.execute(insert(archives).values(**_to_row(archive)))
                await self._run_hooks(conn, archive)
        except IntegrityError as exc:
            if "ux_archives_running" in str(exc) or "UNIQUE" in str(exc).upper():
                raise AlreadyRecording(archive.session_id) from None
            raise

    async def _run_hooks(self, conn: AsyncConnection, archive: Archive) -> None:
        for hook in self.hooks:
            await hook(conn, archive)

    async def get(self, archive_id: str) -> Archive | None:
        async with self._engine.connect() as conn:
            row = (await conn.execute(select(archives).where(archives.c.id == archive_id))).mappings().first()
        return _from_row(row) if row else None

    async def save_if_status(self, archive: Archive, expected: ArchiveStatus) -> bool:
        """Write ``archive`` if the stored status is still ``expected`` (optimistic concurrency)."""
        row = _to_row(archive)
        row.pop("id")
        async with self._engine.begin() as conn:
            result = await conn.execute(
                update(archives)
                .where(and_(archives.c.id == archive.id, archives.c.status == expected.value))
                .values(**row)
            )
            saved = bool(result.rowcount)
            if saved and archive.status is not expected:
                await self._run_hooks(conn, archive)
        return saved

    async def page(
        self, project_key: str, offset: int, count: int, session_id: str | None = None
    ) -> tuple[int, list[Archive]]:
        cond: ColumnElement[bool] = archives.c.project_key == project_key
        if session_id is not None:
            cond = and_(cond, archives.c.session_id == session_id)
        async with self._engine.connect() as conn:
            total = (await conn.execute(select(func.count()).select_from(archives).where(cond))).scalar_one()
            rows = (
                (
                    await conn.execute(
                        select(archives)
                        .where(cond)
                        .order_by(archives.c.seq.desc(), archives.c.id.desc())
                        .offset(offset)
                        .limit(count)
                    )
                )
                .mappings()
                .all()
            )
        return int(total), [_from_row(r) for r in rows]

    async def running(self, session_id: str | None = None) -> list[Archive]:
        cond: ColumnElement[bool] = archives.c.status.in_([ArchiveStatus.STARTED.value, ArchiveStatus.PAUSED.value])
        if session_id is not None:
            cond = and_(cond, archives.c.session_id == session_id)
        async with self._engine.connect() as conn:
            rows = (await conn.execute(select(archives).where(cond))).mappings().all()
        return [_from_row(r) for r in rows]

    async def with_status(self, status: ArchiveStatus) -> list[Archive]:
        async with self._engine.connect() as conn:
            rows = (await conn.execute(select(archives).where(archives.c.status == status.value))).mappings().all()
        return [_from_row(r) for r in rows]

    async def purge(self, archive_id: str) -> None:
        async with self._engine.begin() as conn:
            await conn.execute(delete(archives).where(archives.c.id == archive_id))
