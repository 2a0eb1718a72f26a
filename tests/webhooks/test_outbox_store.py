"""The outbox and archive-file queries on real SQLite and real PostgreSQL: events written in the
status change's transaction (and not when it loses), per-archive order, leases, the log."""

from __future__ import annotations

import time
import uuid

from archivist.archives.model import Archive
from archivist.archives.status import ArchiveStatus, Reason
from archivist.clock import now_ms
from archivist.storage.file_states import FileState
from archivist.store.archive_files import ArchiveFile, ArchiveFileRepository
from archivist.store.archives import ArchiveRepository
from archivist.store.callbacks import CallbackRepository
from archivist.store.db import open_database
from archivist.store.outbox import DELIVERED, PENDING, Attempt, OutboxRepository
from archivist.store.projects import ProjectRepository
from archivist.webhooks.outbox import Outbox


def _archive(project_key: str) -> Archive:
    now = int(time.time() * 1000)
    return Archive(id=str(uuid.uuid4()), project_key=project_key, session_id=f"1_{uuid.uuid4().hex}", name=None,
                   status=ArchiveStatus.STARTED, reason=Reason.NONE, created_at=now, updated_at=now, duration=0,
                   size=0, has_audio=True, has_video=True, output_mode="composed", stream_mode="auto",
                   resolution="640x480", layout=None, max_bitrate=None, quantization_parameter=None,
                   multi_archive_tag=None, storage_key=None, sha256=None, seq=time.time_ns() // 1000)


async def _exercise(url: str) -> None:
    engine = await open_database(url)
    try:
        project = await ProjectRepository(engine).create("outbox")
        await CallbackRepository(engine).add(project.api_key, "archive", "status", "http://a.example/hook")
        await CallbackRepository(engine).add(project.api_key, "archive", "status", "http://a.example/hook")
        await ProjectRepository(engine).set_callback_url(project.api_key, "http://b.example/hook")
        repo = ArchiveRepository(engine, [Outbox("http://ignored.example/").enqueue])
        outbox = OutboxRepository(engine)

        archive = _archive(project.api_key)
        await repo.add(archive)
        stopped = archive.evolve(status=ArchiveStatus.STOPPED, reason=Reason.USER_INITIATED)
        assert await repo.save_if_status(stopped, ArchiveStatus.STARTED)
        assert not await repo.save_if_status(stopped, ArchiveStatus.STARTED)  # lost: no event
        same = stopped.evolve(duration=3)
        assert await repo.save_if_status(same, ArchiveStatus.STOPPED)  # not a status change: no event

        rows = await outbox.listing(archive_id=archive.id)
        assert sorted((d.seq, d.url, d.archive_status) for d in rows) == [
            (1, "http://a.example/hook", "started"), (1, "http://b.example/hook", "started"),
            (2, "http://a.example/hook", "stopped"), (2, "http://b.example/hook", "stopped"),
        ]
        assert {d.source for d in rows if d.url == "http://b.example/hook"} == {"project"}

        # only the head of each (archive, URL) queue is due
        now = now_ms()
        due = await outbox.due(now)
        assert sorted((d.url, d.seq) for d in due) == [("http://a.example/hook", 1), ("http://b.example/hook", 1)]
        head = next(d for d in due if d.url == "http://a.example/hook")
        assert await outbox.claim(head.id, now, now + 10_000)
        assert not await outbox.claim(head.id, now, now + 10_000)  # leased
        assert [d.url for d in await outbox.due(now)] == ["http://b.example/hook"]
        await outbox.record(head, Attempt(1, now, 200, None, 5), state=DELIVERED, next_attempt_at=now)
        after = {(d.url, d.seq) for d in await outbox.due(now_ms())}
        assert after == {("http://a.example/hook", 2), ("http://b.example/hook", 1)}
        [logged] = await outbox.listing(delivery_id=head.id)
        assert logged.state == DELIVERED and [a.status_code for a in logged.log] == [200]
        assert await outbox.next_due_at() is not None
        assert await outbox.purge(now_ms() + 1) == 1
        assert {d.state for d in await outbox.listing(archive_id=archive.id)} == {PENDING}

        files = ArchiveFileRepository(engine)
        record = ArchiveFile(archive_id=archive.id, project_key=project.api_key, local_key="k.mp4", target_id="t",
                             object_key="o", state=FileState.UPLOADING, local_copy=True, duration=1, size=2,
                             sha256=None, stop_reason="user_initiated", attempts=0, last_error=None,
                             next_attempt_at=now, lease_until=None, created_at=now, updated_at=now)
        assert (await files.add_or_get(record))[1]
        again, new = await files.add_or_get(record.__class__(**(record.__dict__ | {"state": FileState.STORED})))
        assert not new and again.state is FileState.UPLOADING
        [due_file] = await files.due(now_ms())
        assert await files.claim(due_file, now_ms(), now_ms() + 10_000)
        assert await files.due(now_ms()) == []
        assert not await files.change(archive.id, FileState.FALLBACK, attempts=9)
        assert await files.change(archive.id, FileState.UPLOADING, state=FileState.UPLOADED, lease_until=None)
        assert [f.archive_id for f in await files.due(now_ms())] == [archive.id]  # its local copy is left
        await files.release([archive.id])
    finally:
        await engine.dispose()


async def test_outbox_and_file_rows(database_url: str) -> None:
    await _exercise(database_url)
