"""Where each archive's file lives, and the storage work still to do for it (persisted).

One row per archive whose file was handed to the storage. The row outlives restarts: an upload
or a removal that did not finish is picked up again from here, by any node, once the lease of
the node that started it has lapsed. Every state change is conditional on the state read
before it, so two workers (or a worker and a REST delete) never overwrite each other, and every
state change is one the file state machine allows (``storage/file_states.py``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import and_, insert, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine

from archivist.archives.status import ArchiveStatus
from archivist.clock import now_ms
from archivist.storage.file_states import PENDING, FileState, check_file_transition
from archivist.store.schema import archive_files, archives


@dataclass(frozen=True)
class ArchiveFile:
    archive_id: str
    project_key: str
    local_key: str
    """Path under the archives directory (the recorder's ``storage_key``)."""
    target_id: str | None
    """The storage target (``storage_targets.id``, or ``config`` for the settings' S3); None: local."""
    object_key: str | None
    state: FileState
    local_copy: bool
    duration: int
    size: int
    sha256: str | None
    stop_reason: str
    attempts: int
    last_error: str | None
    next_attempt_at: int | None
    lease_until: int | None
    created_at: int
    updated_at: int


def _from_row(row: Any) -> ArchiveFile:
    data = dict(row)
    data["state"] = FileState(data["state"])
    data["local_copy"] = bool(data["local_copy"])
    return ArchiveFile(**data)


class ArchiveFileRepository:
    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine

    async def add_or_get(self, record: ArchiveFile) -> tuple[ArchiveFile, bool]:
        """Insert ``record`` unless the archive already has a row; return the row and whether it is new."""
        values = dict(record.__dict__)
        values["state"] = record.state.value
        try:
            async with self._engine.begin() as conn:
                await conn.execute(insert(archive_files).values(**values))
            return record, True
        except IntegrityError:
            existing = await self.get(record.archive_id)
            if existing is None:
                raise
            return existing, False

    async def get(self, archive_id: str) -> ArchiveFile | None:
        async with self._engine.connect() as conn:
            row = (
                await conn.execute(select(archive_files).where(archive_files.c.archive_id == archive_id))
            ).mappings().first()
        return _from_row(row) if row else None

    async def due(self, now: int, limit: int = 50) -> list[ArchiveFile]:
        """Rows with work to do now and no live lease: uploads, retries, removals, leftover copies."""
        pending = and_(
            archive_files.c.state.in_([s.value for s in PENDING]),
            archive_files.c.next_attempt_at <= now,
        )
        leftover = and_(archive_files.c.state == FileState.UPLOADED.value, archive_files.c.local_copy.is_(True))
        free = or_(archive_files.c.lease_until.is_(None), archive_files.c.lease_until < now)
        async with self._engine.connect() as conn:
            rows = (
                await conn.execute(
                    select(archive_files)
                    .where(and_(or_(pending, leftover), free))
                    .order_by(archive_files.c.next_attempt_at)
                    .limit(limit)
                )
            ).mappings().all()
        return [_from_row(r) for r in rows]

    async def claim(self, record: ArchiveFile, now: int, lease_until: int) -> bool:
        """Take the lease on a row still in the state it was read in."""
        async with self._engine.begin() as conn:
            result = await conn.execute(
                update(archive_files)
                .where(
                    and_(
                        archive_files.c.archive_id == record.archive_id,
                        archive_files.c.state == record.state.value,
                        or_(archive_files.c.lease_until.is_(None), archive_files.c.lease_until < now),
                    )
                )
                .values(lease_until=lease_until)
            )
        return bool(result.rowcount)

    async def change(self, archive_id: str, expected: FileState | tuple[FileState, ...] | None, **values: Any) -> bool:
        """Update the row if its state is still ``expected`` (any state when None, for updates
        that keep the state). A new ``state`` must be a legal transition from each expected one."""
        wanted = (expected,) if isinstance(expected, FileState) else expected
        new = values.get("state")
        if new is not None:
            if wanted is None:
                raise ValueError("a state change names the states it leaves")
            for old in wanted:
                if old is not new:
                    check_file_transition(old, FileState(new))
            values["state"] = FileState(new).value
        values.setdefault("updated_at", now_ms())
        cond = archive_files.c.archive_id == archive_id
        if wanted is not None:
            cond = and_(cond, archive_files.c.state.in_([s.value for s in wanted]))
        async with self._engine.begin() as conn:
            result = await conn.execute(update(archive_files).where(cond).values(**values))
        return bool(result.rowcount)

    async def release(self, archive_ids: list[str]) -> None:
        """Give up the leases this node holds (graceful shutdown: the next start resumes at once)."""
        if not archive_ids:
            return
        async with self._engine.begin() as conn:
            await conn.execute(
                update(archive_files).where(archive_files.c.archive_id.in_(archive_ids)).values(lease_until=None)
            )

    async def expiring(self, created_before: int, limit: int = 100) -> list[str]:
        """Ids of downloadable archives created before ``created_before`` (retention)."""
        downloadable = [ArchiveStatus.AVAILABLE.value, ArchiveStatus.UPLOADED.value]
        async with self._engine.connect() as conn:
            rows = (
                await conn.execute(
                    select(archives.c.id)
                    .where(and_(archives.c.status.in_(downloadable), archives.c.created_at < created_before))
                    .order_by(archives.c.created_at)
                    .limit(limit)
                )
            ).all()
        return [str(r[0]) for r in rows]
