"""Alembic environment of Archivist's schema (``store/migrations.py`` runs it).

The server runs the migrations itself on start (``open_database``) and with
``archivist migrate``, handing this script its connection through ``config.attributes``.
Run by the ``alembic`` command (``alembic -c alembic.ini …`` at the repository root, for
writing a new revision), it opens the database the settings name (``ARCHIVIST_DATABASE_URL``,
else the SQLite file of ``ARCHIVIST_DATA_DIR``).
"""

from __future__ import annotations

import asyncio

from alembic import context
from sqlalchemy.engine import Connection

from archivist.store.schema import metadata


def _run(connection: Connection) -> None:
    context.configure(connection=connection, target_metadata=metadata, render_as_batch=True)
    with context.begin_transaction():
        context.run_migrations()


async def _run_from_settings() -> None:
    from archivist import config
    from archivist.store.db import create_engine

    engine = create_engine(config.load().db_url)
    try:
        async with engine.begin() as conn:
            await conn.run_sync(_run)
    finally:
        await engine.dispose()


if context.is_offline_mode():
    raise SystemExit("offline (--sql) migrations are not supported: run them against the database")
given = context.config.attributes.get("connection")
if given is not None:
    _run(given)
else:
    asyncio.run(_run_from_settings())
