"""Migrations on a real SQLite file and a real PostgreSQL server (started by the test run).

Besides a fresh database, a database made by the hand-written migrations that Alembic replaced
(``legacy_migrations.py``, with rows in it) must upgrade cleanly: same schema as a fresh one,
rows kept, and usable by today's repositories.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from pathlib import Path

import pytest
from sqlalchemy import inspect, text
from sqlalchemy.engine import Connection

from archivist.archives.model import Archive
from archivist.archives.status import ArchiveStatus, Reason
from archivist.sessions.model import ArchiveMode, MediaMode, Session
from archivist.store.archives import AlreadyRecording, ArchiveRepository
from archivist.store.db import create_engine, open_database
from archivist.store.migrations import head, migrate
from archivist.store.projects import ProjectRepository
from archivist.store.schema import metadata
from archivist.store.sessions import SessionRepository
from archivist.store.storage_targets import StorageTargetRepository
from tests.servers import Postgres
from tests.store import legacy_migrations


def _archive(project_key: str, session_id: str, status: ArchiveStatus = ArchiveStatus.STARTED) -> Archive:
    now = int(time.time() * 1000)
    return Archive(id=str(uuid.uuid4()), project_key=project_key, session_id=session_id, name=None, status=status,
                   reason=Reason.NONE, created_at=now, updated_at=now, duration=0, size=0, has_audio=True,
                   has_video=True, output_mode="composed", stream_mode="auto", resolution="640x480",
                   layout={"type": "bestFit"}, max_bitrate=None, quantization_parameter=None,
                   multi_archive_tag=None, storage_key=None, sha256=None, seq=time.time_ns() // 1000)


async def _exercise(url: str) -> None:
    engine = await open_database(url)
    try:
        assert await migrate(engine) == head()  # idempotent second run

        def columns(sync_conn: object) -> dict[str, set[str]]:
            insp = inspect(sync_conn)
            return {t: {c["name"] for c in insp.get_columns(t)} for t in insp.get_table_names()}

        async with engine.connect() as conn:
            found = await conn.run_sync(columns)
        for table in metadata.sorted_tables:
            assert found[table.name] == {c.name for c in table.columns}, table.name

        projects = ProjectRepository(engine)
        project = await projects.create("p")
        assert (await projects.get(project.api_key)) == project
        sessions = SessionRepository(engine)
        session = Session(id=f"1_{uuid.uuid4().hex}", project_key=project.api_key, media_mode=MediaMode.ROUTED,
                          archive_mode=ArchiveMode.ALWAYS, location=None, e2ee=False, archive_name="n",
                          archive_resolution="1280x720", created_at=1)
        await sessions.add(session)
        assert await sessions.get(session.id) == session

        archives = ArchiveRepository(engine)
        first = _archive(project.api_key, session.id)
        await archives.add(first)
        # the database itself refuses a second running archive of the session, even when raced
        results = await asyncio.gather(*(archives.add(_archive(project.api_key, session.id)) for _ in range(4)),
                                       return_exceptions=True)
        assert all(isinstance(r, AlreadyRecording) for r in results)
        stopped = first.evolve(status=ArchiveStatus.STOPPED, reason=Reason.USER_INITIATED)
        assert await archives.save_if_status(stopped, ArchiveStatus.STARTED)
        assert not await archives.save_if_status(stopped, ArchiveStatus.STARTED)
        await archives.add(_archive(project.api_key, session.id))
        total, items = await archives.page(project.api_key, 0, 10, session.id)
        assert total == 2 and items[1] == stopped
    finally:
        await engine.dispose()


async def test_migrated_schema_and_repositories(database_url: str) -> None:
    await _exercise(database_url)

def _schema(conn: Connection) -> dict[str, object]:
    """Everything of a schema that matters to the code: tables, columns, keys, indexes."""
    insp = inspect(conn)
    out: dict[str, object] = {}
    for table in sorted(insp.get_table_names()):
        if table == "alembic_version":
            continue
        pk = insp.get_pk_constraint(table)["constrained_columns"]
        out[table] = {
            # SQLite lets a TEXT primary key hold NULL unless it says NOT NULL, which the
            # hand-written tables did not: Alembic's are stricter there, and that is all
            "columns": [(c["name"], str(c["type"]), c["nullable"] and c["name"] not in pk)
                        for c in insp.get_columns(table)],
            "pk": pk,
            "fks": sorted((tuple(f["constrained_columns"]), f["referred_table"]) for f in insp.get_foreign_keys(table)),
        }
    # indexes, the expression-based partial unique one included (which reflection skips)
    if conn.dialect.name == "sqlite":
        rows = conn.execute(text("SELECT name, sql FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL"))
    else:
        rows = conn.execute(text("SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = 'public' "
                                 "AND indexname NOT LIKE '%_pkey'"))
    out["indexes"] = {name: _normalized(sql) for name, sql in rows}
    return out


def _normalized(sql: str) -> str:
    """An index's SQL without the formatting: case, spaces, quotes and redundant parentheses."""
    flat = "".join(sql.lower().replace('"', "").split())
    return flat.replace("((", "(").replace("))", ")")


async def _legacy_upgrade(url: str, fresh_url: str) -> None:
    """Today's hand-written schema with rows in it, then the Alembic upgrade of the server's start."""
    legacy = create_engine(url)
    try:
        assert await legacy_migrations.migrate(legacy) == 2
        async with legacy.begin() as conn:
            await conn.execute(text("INSERT INTO projects (api_key, api_secret, name, created_at) "
                                    "VALUES ('12345678', 's3cr3t', 'old', 1)"))
            await conn.execute(text("INSERT INTO storage_targets (id, project_key, backend, bucket, prefix, "
                                    "created_at) VALUES ('t1', '12345678', 's3', 'old-bucket', 'p/', 2)"))
    finally:
        await legacy.dispose()

    await _exercise(url)  # opens it as the server's start does: the upgrade, then everything works
    engine = await open_database(url)
    fresh = await open_database(fresh_url)
    try:
        async with engine.connect() as conn:
            upgraded = await conn.run_sync(_schema)
            revision = (await conn.execute(text("SELECT version_num FROM alembic_version"))).scalar_one()
        async with fresh.connect() as conn:
            assert upgraded == await conn.run_sync(_schema)
        assert revision == head() and "schema_version" not in upgraded
        assert "ux_archives_running" in upgraded["indexes"]  # type: ignore[operator]
        project = await ProjectRepository(engine).get("12345678")
        assert project is not None and project.name == "old" and project.api_secret == "s3cr3t"
        target = await StorageTargetRepository(engine).get("t1")
        assert target is not None and target.bucket == "old-bucket" and target.connection_string is None
    finally:
        await engine.dispose()
        await fresh.dispose()


async def test_sqlite_upgrades_the_hand_written_schema(tmp_path: Path) -> None:
    await _legacy_upgrade(f"sqlite+aiosqlite:///{tmp_path / 'old.db'}", f"sqlite+aiosqlite:///{tmp_path / 'new.db'}")


@pytest.mark.postgres
async def test_postgresql_upgrades_the_hand_written_schema(postgres: Postgres) -> None:
    await _legacy_upgrade(postgres.new_database("legacy"), postgres.new_database("fresh"))
