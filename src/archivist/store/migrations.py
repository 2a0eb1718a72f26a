"""Schema migrations with Alembic (SQLite and PostgreSQL): ``store/alembic/versions/``.

A revision is never edited once released: a schema change is a new revision (``alembic -c
alembic.ini revision -m "…"`` at the repository root, then written by hand, portable to both
databases). :func:`migrate` brings a database to the newest revision in one transaction; on
PostgreSQL an advisory lock makes nodes that start together take turns.

A database made by the hand-written migrations this replaced (table ``schema_version``,
versions 1 and 2) is stamped with the matching revision first, then upgraded like any other.
"""

from __future__ import annotations

import logging
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import inspect, text
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncEngine

from archivist import logs

log = logs.get(__name__)
logging.getLogger("alembic").setLevel(logging.WARNING)  # its chatter; what was applied is logged below

SCRIPTS = Path(__file__).parent / "alembic"
LEGACY_REVISIONS = {1: "0001", 2: "0002"}
"""``schema_version`` of the hand-written migrations → the Alembic revision with the same schema."""
_LOCK_ID = 0x61726368  # "arch": PostgreSQL advisory lock held while migrating


def alembic_config(connection: Connection | None = None) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(SCRIPTS))
    cfg.attributes["connection"] = connection
    return cfg


def head() -> str:
    """The newest revision."""
    found = ScriptDirectory.from_config(alembic_config()).get_current_head()
    assert found is not None
    return found


def _legacy_version(conn: Connection) -> int:
    if not inspect(conn).has_table("schema_version"):
        return 0
    row = conn.execute(text("SELECT MAX(version) FROM schema_version")).first()
    return int(row[0]) if row and row[0] is not None else 0


def _upgrade(conn: Connection) -> str:
    if conn.dialect.name == "postgresql":
        conn.execute(text("SELECT pg_advisory_xact_lock(:id)"), {"id": _LOCK_ID})
    cfg = alembic_config(conn)
    before = MigrationContext.configure(conn).get_current_revision()
    if before is None:
        legacy = _legacy_version(conn)
        if legacy:
            if legacy not in LEGACY_REVISIONS:
                raise RuntimeError(f"unknown schema_version {legacy}: made by a newer Archivist?")
            command.stamp(cfg, LEGACY_REVISIONS[legacy])
            before = LEGACY_REVISIONS[legacy]
            log.info("hand-written schema adopted by alembic", schema_version=legacy, revision=before)
    command.upgrade(cfg, "head")
    after = MigrationContext.configure(conn).get_current_revision()
    assert after is not None
    if after != before:
        log.info("migrations applied", since=before, revision=after)
    return after


async def migrate(engine: AsyncEngine) -> str:
    """Bring the database to the newest revision; return it."""
    async with engine.begin() as conn:
        revision: str = await conn.run_sync(_upgrade)
    return revision
