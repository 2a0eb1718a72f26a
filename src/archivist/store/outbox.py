"""The status-callback outbox and its delivery log (persisted).

Rows are written by :func:`insert_events` inside the transaction of the status change they
announce (``ArchiveRepository.hooks`` in ``store/archives.py``), so a committed change always
has its events and a rolled-back one never does. :class:`OutboxRepository` is what the delivery worker, the CLI and
the REST delivery log read and write.

Order: ``seq`` numbers an archive's events (1, 2, …) in the order its status changed. Only the
oldest pending row of an (archive, URL) pair is ever due, so one receiver gets one archive's
events in order even across retries; a row given up (``failed``) lets the next one through.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import and_, delete, exists, func, insert, or_, select, update
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from archivist.clock import now_ms
from archivist.store.schema import callbacks, projects, webhook_attempts, webhook_outbox

PENDING = "pending"
DELIVERED = "delivered"
FAILED = "failed"


@dataclass(frozen=True)
class Attempt:
    attempt: int
    attempted_at: int
    status_code: int | None
    error: str | None
    duration_ms: int

    def to_json(self) -> dict[str, Any]:
        return {
            "attempt": self.attempt,
            "at": self.attempted_at,
            "statusCode": self.status_code,
            "error": self.error,
            "durationMs": self.duration_ms,
        }


@dataclass(frozen=True)
class Delivery:
    id: str
    event_id: str
    project_key: str
    archive_id: str
    seq: int
    url: str
    source: str
    archive_status: str
    payload: str
    state: str
    attempts: int
    next_attempt_at: int
    lease_until: int | None
    last_status_code: int | None
    last_error: str | None
    created_at: int
    delivered_at: int | None
    log: list[Attempt] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "eventId": self.event_id,
            "archiveId": self.archive_id,
            "seq": self.seq,
            "status": self.archive_status,
            "url": self.url,
            "source": self.source,
            "state": self.state,
            "attempts": self.attempts,
            "nextAttemptAt": self.next_attempt_at if self.state == PENDING else None,
            "lastStatusCode": self.last_status_code,
            "lastError": self.last_error,
            "createdAt": self.created_at,
            "deliveredAt": self.delivered_at,
            "log": [a.to_json() for a in self.log],
        }


# ---- inside the status change's transaction ------------------------------------------------
async def registered_targets(conn: AsyncConnection, project_key: str) -> tuple[list[tuple[str, str]], str | None]:
    """The project's ``archive``/``status`` registry callbacks as (url, callback id), and its own URL."""
    rows = (
        await conn.execute(
            select(callbacks.c.url, callbacks.c.id)
            .where(
                and_(
                    callbacks.c.project_key == project_key,
                    callbacks.c.group == "archive",
                    callbacks.c.event == "status",
                )
            )
            .order_by(callbacks.c.created_at)
        )
    ).all()
    own = (
        await conn.execute(select(projects.c.callback_url).where(projects.c.api_key == project_key))
    ).scalar_one_or_none()
    return [(str(r[0]), str(r[1])) for r in rows], (str(own) if own else None)


async def next_seq(conn: AsyncConnection, archive_id: str) -> int:
    found = (
        await conn.execute(select(func.max(webhook_outbox.c.seq)).where(webhook_outbox.c.archive_id == archive_id))
    ).scalar_one_or_none()
    return int(found or 0) + 1


async def insert_events(conn: AsyncConnection, rows: list[dict[str, Any]]) -> None:
    if rows:
        await conn.execute(insert(webhook_outbox), rows)


def _delivery(row: Any, log: list[Attempt] | None = None) -> Delivery:
    return Delivery(**dict(row), log=log or [])


class OutboxRepository:
    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine

    async def due(self, now: int, limit: int = 100) -> list[Delivery]:
        """Pending heads of their (archive, URL) queue whose time has come and that nobody leases."""
        older = webhook_outbox.alias("older")
        blocked = exists().where(
            and_(
                older.c.archive_id == webhook_outbox.c.archive_id,
                older.c.url == webhook_outbox.c.url,
                older.c.state == PENDING,
                older.c.seq < webhook_outbox.c.seq,
            )
        )
        free = or_(webhook_outbox.c.lease_until.is_(None), webhook_outbox.c.lease_until < now)
        query = (
            select(webhook_outbox)
            .where(and_(webhook_outbox.c.state == PENDING, webhook_outbox.c.next_attempt_at <= now, free, ~blocked))
            .order_by(webhook_outbox.c.next_attempt_at, webhook_outbox.c.seq)
            .limit(limit)
        )
        async with self._engine.connect() as conn:
            rows = (await conn.execute(query)).mappings().all()
        return [_delivery(r) for r in rows]

    async def next_due_at(self) -> int | None:
        async with self._engine.connect() as conn:
            found = (
                await conn.execute(
                    select(func.min(webhook_outbox.c.next_attempt_at)).where(webhook_outbox.c.state == PENDING)
                )
            ).scalar_one_or_none()
        return int(found) if found is not None else None

    async def claim(self, delivery_id: str, now: int, lease_until: int) -> bool:
        async with self._engine.begin() as conn:
            result = await conn.execute(
                update(webhook_outbox)
                .where(
                    and_(
                        webhook_outbox.c.id == delivery_id,
                        webhook_outbox.c.state == PENDING,
                        or_(webhook_outbox.c.lease_until.is_(None), webhook_outbox.c.lease_until < now),
                    )
                )
                .values(lease_until=lease_until)
            )
        return bool(result.rowcount)

    async def record(
        self,
        delivery: Delivery,
        attempt: Attempt,
        *,
        state: str,
        next_attempt_at: int,
    ) -> None:
        """Log one attempt and move the row on (delivered, retried later, or given up)."""
        async with self._engine.begin() as conn:
            await conn.execute(
                insert(webhook_attempts).values(
                    delivery_id=delivery.id,
                    attempt=attempt.attempt,
                    attempted_at=attempt.attempted_at,
                    status_code=attempt.status_code,
                    error=attempt.error,
                    duration_ms=attempt.duration_ms,
                )
            )
            await conn.execute(
                update(webhook_outbox)
                .where(webhook_outbox.c.id == delivery.id)
                .values(
                    state=state,
                    attempts=attempt.attempt,
                    next_attempt_at=next_attempt_at,
                    lease_until=None,
                    last_status_code=attempt.status_code,
                    last_error=attempt.error,
                    delivered_at=attempt.attempted_at if state == DELIVERED else None,
                )
            )

    async def release(self, delivery_ids: list[str]) -> None:
        if not delivery_ids:
            return
        async with self._engine.begin() as conn:
            await conn.execute(
                update(webhook_outbox)
                .where(and_(webhook_outbox.c.id.in_(delivery_ids), webhook_outbox.c.state == PENDING))
                .values(lease_until=None)
            )

    async def listing(
        self,
        *,
        project_key: str | None = None,
        archive_id: str | None = None,
        state: str | None = None,
        delivery_id: str | None = None,
        limit: int = 50,
    ) -> list[Delivery]:
        """Newest first, each with its attempts (the delivery log)."""
        conds = []
        if delivery_id is not None:
            conds.append(webhook_outbox.c.id == delivery_id)
        if project_key is not None:
            conds.append(webhook_outbox.c.project_key == project_key)
        if archive_id is not None:
            conds.append(webhook_outbox.c.archive_id == archive_id)
        if state is not None:
            conds.append(webhook_outbox.c.state == state)
        query = select(webhook_outbox)
        if conds:
            query = query.where(and_(*conds))
        query = query.order_by(webhook_outbox.c.created_at.desc(), webhook_outbox.c.seq.desc()).limit(limit)
        async with self._engine.connect() as conn:
            rows = (await conn.execute(query)).mappings().all()
            ids = [r["id"] for r in rows]
            attempts: dict[str, list[Attempt]] = {i: [] for i in ids}
            if ids:
                found = (
                    await conn.execute(
                        select(webhook_attempts)
                        .where(webhook_attempts.c.delivery_id.in_(ids))
                        .order_by(webhook_attempts.c.delivery_id, webhook_attempts.c.attempt)
                    )
                ).mappings().all()
                for a in found:
                    data = dict(a)
                    attempts[data.pop("delivery_id")].append(Attempt(**data))
        return [_delivery(r, attempts[r["id"]]) for r in rows]

    async def retry(self, delivery_id: str, project_key: str | None = None) -> bool:
        """Queue a given-up delivery again (from now, with its backoff reset)."""
        cond = and_(webhook_outbox.c.id == delivery_id, webhook_outbox.c.state == FAILED)
        if project_key is not None:
            cond = and_(cond, webhook_outbox.c.project_key == project_key)
        async with self._engine.begin() as conn:
            result = await conn.execute(
                update(webhook_outbox).where(cond).values(state=PENDING, next_attempt_at=now_ms(), lease_until=None,
                                                          created_at=now_ms())
            )
        return bool(result.rowcount)

    async def purge(self, finished_before: int) -> int:
        """Forget delivered and given-up rows (and their attempts) older than ``finished_before``."""
        old = and_(webhook_outbox.c.state.in_([DELIVERED, FAILED]), webhook_outbox.c.created_at < finished_before)
        async with self._engine.begin() as conn:
            ids = [r[0] for r in (await conn.execute(select(webhook_outbox.c.id).where(old).limit(1000))).all()]
            if not ids:
                return 0
            await conn.execute(delete(webhook_attempts).where(webhook_attempts.c.delivery_id.in_(ids)))
            await conn.execute(delete(webhook_outbox).where(webhook_outbox.c.id.in_(ids)))
        return len(ids)
