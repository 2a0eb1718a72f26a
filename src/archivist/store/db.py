"""The database engine: SQLite (embedded default, WAL) or PostgreSQL via asyncpg."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import ExceptionContext, make_url
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from archivist.errors import DatabaseUnavailable
from archivist.store.migrations import migrate

_FULL = ("disk is full", "no space left", "disk full", "could not extend file")


def _unavailable(context: ExceptionContext) -> BaseException | None:
    """Errors of the database itself (its disk is full, it went away) become the domain's
    :class:`DatabaseUnavailable`: callers answer 503 or retry, nothing reads them as a bug.
    Constraint violations and the like stay what they are."""
    if context.is_pre_ping:  # the pool's own liveness probe: it reconnects by itself
        return None
    error = context.sqlalchemy_exception
    text = str(context.original_exception).lower()
    if isinstance(error, OperationalError) or context.is_disconnect or (
        isinstance(error, DBAPIError) and any(word in text for word in _FULL)
    ):
        detail = str(context.original_exception).splitlines()[0][:200] if context.original_exception else ""
        replacement = DatabaseUnavailable(f"the database cannot be used now ({detail}); try again later")
        replacement.__cause__ = context.original_exception
        return replacement
    return None


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.execute("PRAGMA busy_timeout=5000")
    cur.close()


def create_engine(url: str) -> AsyncEngine:
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_async_engine(url, connect_args={"timeout": 30})
        event.listen(engine.sync_engine, "connect", _sqlite_pragmas)
    else:
        engine = create_async_engine(url, pool_pre_ping=True, pool_size=10, max_overflow=10)
    event.listen(engine.sync_engine, "handle_error", _unavailable)
    return engine


async def open_database(url: str) -> AsyncEngine:
    """Create the engine and apply pending migrations (a fresh data directory gets its schema)."""
    engine = create_engine(url)
    await migrate(engine)
    return engine
