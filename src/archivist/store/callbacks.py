"""The callback registry of the spec (group/event/url per project)."""

from __future__ import annotations

import secrets
from dataclasses import dataclass

from sqlalchemy import ColumnElement, and_, delete, insert, select
from sqlalchemy.ext.asyncio import AsyncEngine

from archivist.clock import now_ms
from archivist.store.schema import callbacks


@dataclass(frozen=True)
class Callback:
    id: str
    project_key: str
    group: str
    event: str
    url: str
    created_at: int
    updated_at: int


class CallbackRepository:
    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine

    async def add(self, project_key: str, group: str, event: str, url: str) -> Callback:
        now = now_ms()
        cb = Callback(
            id=str(secrets.randbelow(9_000_000_000) + 1_000_000_000),
            project_key=project_key,
            group=group,
            event=event,
            url=url,
            created_at=now,
            updated_at=now,
        )
        async with self._engine.begin() as conn:
            await conn.execute(insert(callbacks).values(**cb.__dict__))
        return cb

    async def all(self, project_key: str, group: str | None = None, event: str | None = None) -> list[Callback]:
        cond: ColumnElement[bool] = callbacks.c.project_key == project_key
        if group is not None:
            cond = and_(cond, callbacks.c.group == group)
        if event is not None:
            cond = and_(cond, callbacks.c.event == event)
        async with self._engine.connect() as conn:
            rows = (await conn.execute(select(callbacks).where(cond).order_by(callbacks.c.created_at))).mappings().all()
        return [Callback(**r) for r in rows]

    async def remove(self, project_key: str, callback_id: str) -> bool:
        async with self._engine.begin() as conn:
            result = await conn.execute(
                delete(callbacks).where(and_(callbacks.c.id == callback_id, callbacks.c.project_key == project_key))
            )
        return bool(result.rowcount)
