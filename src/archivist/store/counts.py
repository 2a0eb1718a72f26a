"""Counts over the persisted state, for ``/metrics``: archives by status, archive files by
state, webhook outbox rows by state, and the age of the oldest row still waiting.

Read-only and cheap (grouped counts over indexed columns), made at each scrape. They describe
the whole deployment (every node shares the database), unlike the live counts of one node.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from archivist.store.schema import archive_files, archives, webhook_outbox


@dataclass(frozen=True)
class StateCounts:
    count: dict[str, int] = field(default_factory=dict)
    oldest: dict[str, int] = field(default_factory=dict)
    """State → ``created_at`` (ms) of its oldest row."""


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
    async with engine.connect() as conn:
        by_status = await conn.execute(select(archives.c.status, func.count()).group_by(archives.c.status))
        counts = {str(status): int(n) for status, n in by_status}
        files = StateCounts()
        for state, n, oldest in await conn.execute(
            select(archive_files.c.state, func.count(), func.min(archive_files.c.created_at))
            .group_by(archive_files.c.state)
        ):
            files.count[str(state)], files.oldest[str(state)] = int(n), int(oldest)
        outbox = StateCounts()
        for state, n, oldest in await conn.execute(
            select(webhook_outbox.c.state, func.count(), func.min(webhook_outbox.c.created_at))
            .group_by(webhook_outbox.c.state)
        ):
            outbox.count[str(state)], outbox.oldest[str(state)] = int(n), int(oldest)
    return StoreCounts(counts, files, outbox)
