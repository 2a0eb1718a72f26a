"""Migrations on a real SQLite file and a real PostgreSQL server (started by the test run)."""

from __future__ import annotations

import asyncio
import time
import uuid

from sqlalchemy import inspect

from archivist.archives.model import Archive
from archivist.archives.status import ArchiveStatus, Reason
from archivist.sessions.model import ArchiveMode, MediaMode, Session
from archivist.store.archives import AlreadyRecording, ArchiveRepository
from archivist.store.db import open_database
from archivist.store.migrations import MIGRATIONS, migrate
from archivist.store.projects import ProjectRepository
from archivist.store.schema import metadata
from archivist.store.sessions import SessionRepository


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
        assert await migrate(engine) == MIGRATIONS[-1][0]  # idempotent second run

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
