"""Counts over the persisted state, for ``/metrics``: archives by status, archive files by
state, webhook outbox rows by state, and the age of the oldest row still waiting.

Read-only and cheap (grouped counts over indexed columns), made at each scrape. They describe
the whole deployment (every node shares the database), unlike the live counts of one node.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from archivist.storage.file_states import FileState
from archivist.store.outbox import PENDING
from archivist.store.schema import archive_files, archives, webhook_outbox

WAITING_FILES = (FileState.UPLOADING.value, FileState.FALLBACK.value)


@dataclass(frozen=True)
class StateCounts:
    count: dict[str, int] = field(default_factory=dict)
    oldest: int | None = None
    """``created_at`` (ms) of the oldest row still waiting (archive files: uploading or
    fallback; outbox: pending); None when none waits."""


@dataclass(frozen=True)
class StoreCounts:
    archives: dict[str, int]
    """Archive status → archives."""
    files: StateCounts
    """Archive file state (uploading, fallback, removing, …) → rows."""
    outbox: StateCounts
    """Webhook outbox state (pending, delivered, failed) → rows (delivered and failed ones are
    kept ``webhook_log_retention_days``)."""


async def store_counts(engine: AsyncEngine) -> StoreCounts:
    """Grouped counts over the state columns' indexes; the oldest waiting row among the few that wait."""
    async with engine.connect() as conn:

        async def by(column: Any) -> dict[str, int]:
            return {str(k): int(n) for k, n in await conn.execute(select(column, func.count()).group_by(column))}

        async def oldest(table: Any, states: tuple[str, ...]) -> int | None:
            found = await conn.scalar(select(func.min(table.c.created_at)).where(table.c.state.in_(states)))
            return int(found) if found is not None else None

        statuses = await by(archives.c.status)
        files = StateCounts(await by(archive_files.c.state), await oldest(archive_files, WAITING_FILES))
        outbox = StateCounts(await by(webhook_outbox.c.state), await oldest(webhook_outbox, (PENDING,)))
    return StoreCounts(statuses, files, outbox)
