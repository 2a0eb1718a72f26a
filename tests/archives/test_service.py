"""The archive service and the supervisor in process: real SQLite (migrated, the server's own
repositories and status-callback hook), real rooms (tests/rooms/parts.py media), a clock the
test moves instead of sleeping, and a small real recorder launcher that writes one file per
archive. Starts and stops, the maximum duration and the rollover, a failed recorder, the last
client leaving, shutdown, and the bounded retry of a concurrent change."""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncEngine

from archivist.archives.model import Archive
from archivist.archives.options import StartOptions, auto_archive_options, parse_start
from archivist.archives.ports import FailureCallback, RecordingOutcome
from archivist.archives.service import SETTLE_ATTEMPTS, ArchiveService
from archivist.archives.status import ArchiveStatus, Reason
from archivist.archives.supervisor import ArchiveSupervisor
from archivist.errors import BadRequest, ConcurrentChange, Conflict, MethodNotAllowed, NotFound, RecordingFailed
from archivist.rooms.connection import Connection
from archivist.rooms.host import RoomHost
from archivist.rooms.reasons import CloseReason
from archivist.rooms.registry import Rooms
from archivist.sessions.model import Session
from archivist.sessions.service import SessionService
from archivist.store.archives import ArchiveRepository
from archivist.store.db import open_database
from archivist.store.outbox import OutboxRepository
from archivist.store.projects import ProjectRepository
from archivist.store.schema import archives as archives_table
from archivist.store.sessions import SessionRepository
from archivist.webhooks.outbox import Outbox
from tests.clock import ManualClock
from tests.rooms.parts import LoopbackMedia, RecordingSink, token

MAX_S = 60.0


class FileLauncher:
    """A ``RecorderLauncher`` that records no media: ``stop`` writes one small real file where
    the server's recorder would, and reports its true size and hash."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.running: dict[str, FailureCallback] = {}
        self.stop_gate: asyncio.Event | None = None
        self.stopped: list[str] = []
        self.start_error: Exception | None = None
        self.layouts: list[tuple[str, dict[str, Any]]] = []
        self.selected: dict[str, dict[str, tuple[bool, bool]]] = {}

    def path(self, archive: Archive) -> Path:
        return self.directory / archive.project_key / f"{archive.id}.mp4"

    def check_space(self) -> None:
        return None

    async def start(self, archive: Archive, on_failure: FailureCallback) -> None:
        if archive.id in self.running:
            raise RuntimeError(f"archive {archive.id} is already recording")
        if self.start_error is not None:
            raise self.start_error
        self.running[archive.id] = on_failure

    async def stop(self, archive: Archive, at_ms: int | None = None) -> RecordingOutcome:
        if self.running.pop(archive.id, None) is None:
            raise RuntimeError(f"archive {archive.id} has no running recorder")
        if self.stop_gate is not None:
            await self.stop_gate.wait()
        self.stopped.append(archive.id)
        path = self.path(archive)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(b"\x00\x00\x00\x18ftypisom" + archive.id.encode())
        return self._outcome(archive, path, archive.duration)

    async def recover(self, archive: Archive) -> RecordingOutcome | None:
        path = self.path(archive)
        return self._outcome(archive, path, 7) if path.exists() else None

    def _outcome(self, archive: Archive, path: Path, duration: int) -> RecordingOutcome:
        data = path.read_bytes()
        key = f"{archive.project_key}/{archive.id}.mp4"
        digest = hashlib.sha256(data).hexdigest()
        return RecordingOutcome(duration=duration, size=len(data), storage_key=key, sha256=digest)

    def check_layout(self, layout: dict[str, Any]) -> dict[str, Any]:
        if layout.get("type") == "custom" and not layout.get("stylesheet"):
            raise ValueError("a custom layout needs a stylesheet")
        return dict(layout)

    async def set_layout(self, archive: Archive, layout: dict[str, Any]) -> bool:
        self.layouts.append((archive.id, layout))
        return archive.id in self.running

    async def select_stream(self, archive: Archive, stream_id: str, has_audio: bool, has_video: bool) -> bool:
        self.selected.setdefault(archive.id, {})[stream_id] = (has_audio, has_video)
        return archive.id in self.running

    async def deselect_stream(self, archive: Archive, stream_id: str) -> bool:
        self.selected.get(archive.id, {}).pop(stream_id, None)
        return archive.id in self.running

    def fail(self, archive_id: str) -> None:
        self.running[archive_id](RuntimeError("encoder died"))


@dataclass
class World:
    engine: AsyncEngine
    project_key: str
    sessions: SessionService
    records: ArchiveRepository
    rooms: Rooms
    host: RoomHost
    launcher: FileLauncher
    clock: ManualClock
    archives: ArchiveService
    supervisor: ArchiveSupervisor
    statuses: list[tuple[str, str]]

    async def session(self, archive_mode: str = "manual") -> Session:
        return await self.sessions.create(self.project_key, p2p_preference="disabled", archive_mode=archive_mode)

    async def join(self, session: Session, name: str) -> tuple[Connection, RecordingSink]:
        sink = RecordingSink(name)
        conn = await self.host.join(self.project_key, session.id, False, token(session.id, name), sink)
        return conn, sink

    async def start(self, session: Session, **body: Any) -> Archive:
        return await self.archives.start(self.project_key, parse_start({"sessionId": session.id, **body}))

    async def status(self, archive_id: str) -> ArchiveStatus:
        found = await self.archives.find(archive_id)
        assert found is not None
        return found.status

    async def wait_status(self, archive_id: str, status: ArchiveStatus) -> Archive:
        async def reached() -> bool:
            return await self.status(archive_id) is status

        await _until(reached)
        found = await self.archives.find(archive_id)
        assert found is not None
        return found


async def _until(check: Any, timeout: float = 2.0) -> None:
    async def wait() -> None:
        while True:
            result = check()
            if asyncio.iscoroutine(result):
                result = await result
            if result:
                return
            await asyncio.sleep(0.005)

    await asyncio.wait_for(wait(), timeout)


@pytest.fixture
async def world(tmp_path: Path) -> AsyncIterator[World]:
    engine = await open_database(f"sqlite+aiosqlite:///{tmp_path / 'archivist.db'}")
    project = await ProjectRepository(engine).create("test")
    sessions = SessionService(SessionRepository(engine))
    records = ArchiveRepository(engine, [Outbox("http://127.0.0.1:9/hook").enqueue])
    rooms, launcher, clock = Rooms(), FileLauncher(tmp_path / "archives"), ManualClock()
    statuses: list[tuple[str, str]] = []

    async def heard(archive: Archive) -> None:
        statuses.append((archive.id, archive.status.value))

    archives = ArchiveService(records, sessions, rooms, launcher=launcher, files=None, listeners=[heard],
                              max_duration_s=MAX_S, clock=clock)
    supervisor = ArchiveSupervisor(archives)
    host = RoomHost(rooms, LoopbackMedia(), observers=(supervisor,), media_timeout=1.0)
    yield World(engine, project.api_key, sessions, records, rooms, host, launcher, clock, archives, supervisor,
                statuses)
    await host.close()
    await supervisor.close()
    await archives.close()
    await engine.dispose()


async def test_start_and_stop_tell_the_clients_and_the_listeners(world: World) -> None:
    session = await world.session()
    _, alice = await world.join(session, "alice")
    started = await world.start(session, name="demo")
    assert started.status is ArchiveStatus.STARTED and started.id in world.launcher.running
    assert alice.events[-1] == {"type": "archiveStarted", "id": started.id, "archiveId": started.id, "name": "demo"}
    with pytest.raises(Conflict, match="already being recorded"):
        await world.start(session)
    world.clock.advance(12.4)
    stopped = await world.archives.stop(world.project_key, started.id)
    assert stopped.status is ArchiveStatus.STOPPED and stopped.duration == 12
    assert alice.events[-1]["type"] == "archiveStopped"
    done = await world.wait_status(started.id, ArchiveStatus.AVAILABLE)  # the file is finished after the reply
    assert done.reason is Reason.USER_INITIATED
    assert done.size == world.launcher.path(done).stat().st_size and done.duration == 12
    await _until(lambda: len(world.statuses) == 3)  # listeners hear a change after it is saved
    assert world.statuses == [(started.id, s) for s in ("started", "stopped", "available")]
    # the same changes wrote their status-callback events in their transactions
    deliveries = await OutboxRepository(world.engine).listing(archive_id=started.id)
    assert sorted(d.archive_status for d in deliveries) == ["available", "started", "stopped"]
    with pytest.raises(Conflict, match="not being recorded"):
        await world.archives.stop(world.project_key, started.id)


async def test_start_refuses_what_the_spec_refuses(world: World) -> None:
    session = await world.session()
    with pytest.raises(BadRequest, match="no clients"):
        await world.start(session)
    relayed = await world.sessions.create(world.project_key, p2p_preference="enabled")
    with pytest.raises(Conflict, match="relayed"):
        await world.start(relayed)
    assert world.launcher.running == {}


async def test_an_archive_stops_at_the_maximum_duration(world: World) -> None:
    session = await world.session()
    _, alice = await world.join(session, "alice")
    archive = await world.start(session)
    await _until(lambda: world.clock.sleepers == 1)
    world.clock.advance(MAX_S - 1)
    await asyncio.sleep(0.01)
    assert await world.status(archive.id) is ArchiveStatus.STARTED
    world.clock.advance(1)
    done = await world.wait_status(archive.id, ArchiveStatus.AVAILABLE)
    assert done.reason is Reason.MAX_DURATION and done.duration == MAX_S and world.launcher.stopped == [archive.id]
    await _until(lambda: alice.types()[-1] == "archiveStopped")
    assert world.clock.sleepers == 0


async def test_an_auto_archive_starts_with_a_stream_and_rolls_over(world: World) -> None:
    session = await world.session(archive_mode="always")
    alice, sink = await world.join(session, "alice")
    await alice.publish("offer", name="cam")
    await _until(lambda: len(world.launcher.running) == 1)
    [first] = world.launcher.running
    await _until(lambda: world.clock.sleepers == 1)
    world.clock.advance(MAX_S)
    await _until(lambda: len(world.launcher.running) == 1 and first not in world.launcher.running)
    [second] = world.launcher.running
    # a stop answers at once; the first archive's file is placed in the background meanwhile
    await world.wait_status(first, ArchiveStatus.AVAILABLE)
    types = [(e["type"], e.get("id")) for e in sink.events if e["type"].startswith("archive")]
    assert types == [("archiveStarted", first), ("archiveStopped", first), ("archiveStarted", second)]
    # the last client leaving stops the second one
    await alice.close(CloseReason.CLIENT_DISCONNECTED)
    await world.supervisor.close()
    second_done = await world.wait_status(second, ArchiveStatus.AVAILABLE)
    assert second_done.reason is Reason.SESSION_ENDED


async def test_the_last_client_leaving_does_not_wait_for_the_file(world: World) -> None:
    session = await world.session()
    alice, _ = await world.join(session, "alice")
    archive = await world.start(session)
    world.launcher.stop_gate = gate = asyncio.Event()
    await asyncio.wait_for(alice.close(CloseReason.CLIENT_DISCONNECTED), 1.0)  # returns at once
    assert world.rooms.get(session.id) is None
    await world.wait_status(archive.id, ArchiveStatus.STOPPED)  # its file is still being finished
    await world.supervisor.close()
    closing = asyncio.create_task(world.archives.close())  # shutdown waits for that work
    await asyncio.sleep(0.02)
    assert not closing.done()
    gate.set()
    await closing
    done = await world.archives.find(archive.id)
    assert done is not None and done.status is ArchiveStatus.AVAILABLE and done.reason is Reason.SESSION_ENDED


async def test_a_failed_recorder_stops_its_archive(world: World) -> None:
    session = await world.session()
    await world.join(session, "alice")
    archive = await world.start(session)
    world.launcher.fail(archive.id)
    done = await world.wait_status(archive.id, ArchiveStatus.AVAILABLE)
    assert done.reason is Reason.FAILURE and world.launcher.stopped == [archive.id]


async def test_shutdown_stops_what_still_records(world: World) -> None:
    session = await world.session()
    await world.join(session, "alice")
    archive = await world.start(session)
    await _until(lambda: world.clock.sleepers == 1)
    await world.archives.close()
    done = await world.archives.find(archive.id)
    assert done is not None and done.status is ArchiveStatus.AVAILABLE and done.reason is Reason.SESSION_ENDED
    assert world.clock.sleepers == 0  # its timer ended
    assert await world.archives.auto_start(session.id) is None  # nothing starts once closing


async def test_recovery_finishes_what_a_killed_process_left(world: World) -> None:
    session = await world.session()
    await world.join(session, "alice")
    kept = await world.start(session)
    world.launcher.path(kept).parent.mkdir(parents=True, exist_ok=True)
    world.launcher.path(kept).write_bytes(b"what the killed recorder wrote")
    other = await world.session()
    await world.join(other, "bob")
    lost = await world.start(other)
    await world.archives.recover()  # as a fresh process would on these rows
    recovered, failed = await world.archives.find(kept.id), await world.archives.find(lost.id)
    assert recovered is not None and recovered.status is ArchiveStatus.AVAILABLE
    assert recovered.reason is Reason.RECOVERED and recovered.duration == 7
    assert failed is not None and failed.status is ArchiveStatus.FAILED


async def test_a_file_settles_after_a_few_concurrent_changes_at_most(world: World) -> None:
    session = await world.session()
    await world.join(session, "alice")
    archive = await world.start(session)
    stopped = archive.evolve(status=ArchiveStatus.STOPPED, reason=Reason.USER_INITIATED)
    assert await world.records.save_if_status(stopped, ArchiveStatus.STARTED)
    writes = 0

    class Racing(ArchiveRepository):
        async def save_if_status(self, archive: Archive, expected: ArchiveStatus) -> bool:
            nonlocal writes
            writes += 1  # another node changes the row between our read and our write
            status = ArchiveStatus.AVAILABLE if writes % 2 else ArchiveStatus.STOPPED
            async with world.engine.begin() as conn:
                await conn.execute(update(archives_table).where(archives_table.c.id == archive.id)
                                   .values(status=status.value))
            return await super().save_if_status(archive, expected)

    racing = ArchiveService(Racing(world.engine), world.sessions, world.rooms, launcher=None, files=None,
                            max_duration_s=MAX_S, clock=world.clock)
    with pytest.raises(ConcurrentChange):
        await racing.file_settled(archive.id, ArchiveStatus.UPLOADED, Reason.USER_INITIATED)
    assert writes == SETTLE_ATTEMPTS
    # without the race it settles at once
    settled = await world.archives.file_settled(archive.id, ArchiveStatus.UPLOADED, Reason.USER_INITIATED)
    assert settled is not None and settled.status is ArchiveStatus.UPLOADED


async def test_start_options_of_an_auto_archive(world: World) -> None:
    session = await world.sessions.create(world.project_key, p2p_preference="disabled", archive_mode="always",
                                          archive_name="daily", archive_resolution="1280x720")
    options = auto_archive_options(session)
    assert isinstance(options, StartOptions)
    assert (options.name, options.resolution, options.output_mode) == ("daily", "1280x720", "composed")


async def test_the_last_client_leaving_pauses_and_a_client_coming_back_resumes(world: World) -> None:
    world.archives.idle_timeout_s = 30
    session = await world.session()
    alice, _ = await world.join(session, "alice")
    archive = await world.start(session, name="reload")
    await alice.close(CloseReason.CLIENT_DISCONNECTED)
    await world.wait_status(archive.id, ArchiveStatus.PAUSED)
    world.clock.advance(20)  # a host reloading the page: back before the timeout
    await asyncio.sleep(0.02)
    assert await world.status(archive.id) is ArchiveStatus.PAUSED
    again, sink = await world.join(session, "alice again")
    await world.wait_status(archive.id, ArchiveStatus.STARTED)  # the same archive records on
    await _until(lambda: any(e.get("type") == "archiveStarted" and e["id"] == archive.id for e in sink.events))
    world.clock.advance(5)  # the first pause's timer (due at 30 s) was cancelled: nothing stops it
    await asyncio.sleep(0.02)
    assert await world.status(archive.id) is ArchiveStatus.STARTED and archive.id in world.launcher.running
    await again.close(CloseReason.CLIENT_DISCONNECTED)
    await world.wait_status(archive.id, ArchiveStatus.PAUSED)
    await _until(lambda: world.clock.sleepers >= 2)  # the max-duration and the idle timers
    world.clock.advance(30)  # (55 s in all: before the maximum duration)
    done = await world.wait_status(archive.id, ArchiveStatus.AVAILABLE)
    assert done.reason is Reason.SESSION_ENDED and done.id == archive.id
    await _until(lambda: [s for a, s in world.statuses if a == archive.id][-1:] == ["available"])
    assert [s for a, s in world.statuses if a == archive.id] == [
        "started", "paused", "started", "paused", "stopped", "available"]


async def test_an_idle_timeout_of_zero_stops_at_once(world: World) -> None:
    assert world.archives.idle_timeout_s == 0  # the 2013 spec's rule
    session = await world.session()
    alice, _ = await world.join(session, "alice")
    archive = await world.start(session)
    await alice.close(CloseReason.CLIENT_DISCONNECTED)
    done = await world.wait_status(archive.id, ArchiveStatus.AVAILABLE)
    assert done.reason is Reason.SESSION_ENDED
    assert "paused" not in [s for a, s in world.statuses if a == archive.id]


async def test_one_recording_archive_per_tag(world: World) -> None:
    session = await world.session(archive_mode="always")
    await world.join(session, "alice")
    auto = await world.archives.auto_start(session.id)
    assert auto is not None and auto.multi_archive_tag is None
    with pytest.raises(Conflict, match="already being recorded"):
        await world.start(session)  # untagged, like the automatic archive
    first = await world.start(session, multiArchiveTag="hd")
    second = await world.start(session, multiArchiveTag="individual", outputMode="individual")
    with pytest.raises(Conflict, match="multiArchiveTag 'hd'"):
        await world.start(session, multiArchiveTag="hd")
    assert {a.id for a in await world.archives.recording(session.id)} == {auto.id, first.id, second.id}
    assert await world.archives.auto_start(session.id) is None  # the automatic one records already
    await world.archives.stop(world.project_key, first.id)
    again = await world.start(session, multiArchiveTag="hd")  # the tag is free once stopped
    assert again.multi_archive_tag == "hd" and again.id != first.id


async def test_a_recorder_that_cannot_start_is_an_error_not_an_archive(world: World) -> None:
    session = await world.session()
    await world.join(session, "alice")
    world.launcher.start_error = OSError(28, "No space left on device")
    with pytest.raises(RecordingFailed, match=r"could not start.*No space left"):
        await world.start(session)
    _, items = await world.archives.page(world.project_key, 0, 10, session.id)
    assert [a.status for a in items] == [ArchiveStatus.FAILED]  # listed as failed, not recording
    world.launcher.start_error = None
    assert (await world.start(session)).status is ArchiveStatus.STARTED  # the session is free again


async def test_layout_and_stream_changes_reach_the_recorder(world: World) -> None:
    session = await world.session()
    await world.join(session, "alice")
    auto = await world.start(session)
    layout = {"type": "pip"}
    changed = await world.archives.set_layout(world.project_key, auto.id, layout)
    assert changed.layout == layout and world.launcher.layouts == [(auto.id, layout)]
    found = await world.archives.find(auto.id)
    assert found is not None and found.layout == layout and found.status is ArchiveStatus.STARTED
    with pytest.raises(MethodNotAllowed, match="streamMode 'auto'"):
        await world.archives.select_stream(world.project_key, auto.id, "s1", add=True)
    await world.archives.stop(world.project_key, auto.id)
    with pytest.raises(BadRequest, match="while the archive is recording"):
        await world.archives.set_layout(world.project_key, auto.id, layout)

    manual = await world.start(session, streamMode="manual", outputMode="individual")
    with pytest.raises(BadRequest, match="individual archive has no layout"):
        await world.archives.set_layout(world.project_key, manual.id, layout)
    with pytest.raises(NotFound, match="stream not found"):
        await world.archives.select_stream(world.project_key, manual.id, "no-such-stream", add=True)
    await world.archives.select_stream(world.project_key, manual.id, "gone", add=False)  # removing: idempotent
    assert world.launcher.selected == {}
