"""What happens to archives without anyone calling the REST API.

The :class:`ArchiveSupervisor` watches the rooms (it is a ``RoomObserver``) and the archive
statuses (an ``ArchiveService`` listener) and applies the spec's rules:

* clients hear ``archiveStarted`` / ``archiveStopped`` (id and name) when a recording starts and
  stops; a client connecting to a session being recorded hears ``archiveStarted`` on connect
  (the room replays it);
* an archive stops by itself after the maximum duration (the spec's 90 minutes, configurable;
  reason ``90 mins exceeded`` / ``maximum duration exceeded``) and when every client has left
  the session (``session ended``);
* a recorder that fails while it runs stops its archive (reason ``failure``);
* auto-archived sessions (``archiveMode=always``) start recording when a stream is published,
  stop when the last client leaves, and roll over to a new archive at the maximum duration.

Rooms tell it, they do not wait for it: its room work runs on its own tasks, in order per
session, and :meth:`close` waits for that work (timers are cancelled).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any

from archivist import logs
from archivist.archives.model import Archive
from archivist.archives.service import ArchiveService, StartOptions
from archivist.archives.status import RECORDING, ArchiveStatus, Reason
from archivist.errors import ArchivistError
from archivist.lifecycle import Tasks
from archivist.rooms.connection import Connection
from archivist.rooms.reasons import CloseReason
from archivist.rooms.registry import Rooms
from archivist.rooms.room import Room
from archivist.rooms.stream import Stream
from archivist.sessions.model import ArchiveMode
from archivist.sessions.service import SessionService

log = logs.get(__name__)


class ArchiveSupervisor:
    def __init__(
        self,
        archives: ArchiveService,
        sessions: SessionService,
        rooms: Rooms,
        max_duration_s: float,
    ) -> None:
        self._archives = archives
        self._sessions = sessions
        self._rooms = rooms
        self.max_duration_s = max_duration_s
        self._timers: dict[str, asyncio.Task[None]] = {}  # archive id -> max-duration timer
        self._tasks: set[asyncio.Task[None]] = set()
        self._work = Tasks("archive supervisor")
        self._last_work: dict[str, asyncio.Task[None]] = {}  # session id -> its latest room work
        self._closed = False
        archives.listeners.append(self.status_changed)

    # ---- archive statuses ----------------------------------------------------------------------
    async def status_changed(self, archive: Archive) -> None:
        if archive.status is ArchiveStatus.STARTED and archive.id not in self._timers:
            self._timers[archive.id] = self._spawn(self._expire(archive), f"max-duration {archive.id}")
            room = self._rooms.get(archive.session_id)
            if room is not None:
                await room.set_archive(archive.id, archive.name, started=True)
        elif archive.status not in RECORDING and archive.id in self._timers:
            timer = self._timers.pop(archive.id)
            if timer is not asyncio.current_task():
                timer.cancel()
            room = self._rooms.get(archive.session_id)
            if room is not None:
                await room.set_archive(archive.id, archive.name, started=False)

    async def _expire(self, archive: Archive) -> None:
        ends_at = archive.created_at / 1000 + self.max_duration_s
        await asyncio.sleep(max(0.0, ends_at - time.time()))
        log.info("archive reached its maximum duration", archive=archive.id, max_s=self.max_duration_s)
        await self._finish(archive.id, Reason.MAX_DURATION)
        room = self._rooms.get(archive.session_id)
        if room is not None and room.streams() and await self._auto_archived(room.session_id):
            await self._auto_start(room, rollover_of=archive.id)

    def recording_failed(self, archive_id: str, error: BaseException) -> None:
        """The launcher's failure callback: stop the archive, keeping what was recorded."""
        self._spawn(self._finish(archive_id, Reason.FAILURE), f"failed {archive_id}")

    async def _finish(self, archive_id: str, reason: Reason) -> None:
        archive = await self._archives.find(archive_id)
        if archive is None or archive.status not in RECORDING:
            return
        try:
            await self._archives.finish(archive, reason)
        except ArchivistError as exc:  # stopped concurrently (REST stop, session end): fine
            log.info("archive already stopping", archive=archive_id, reason=reason.value, detail=exc.message)

    # ---- rooms (told, never awaited: the work runs on our tasks, in order per session) ----------
    def stream_created(self, room: Room, stream: Stream) -> None:
        self._room_work(room.session_id, lambda: self._stream_published(room), f"stream published {stream.id}")

    def stream_destroyed(self, room: Room, stream: Stream, reason: CloseReason) -> None:
        return None

    def connection_created(self, room: Room, connection: Connection) -> None:
        return None

    def connection_destroyed(self, room: Room, connection: Connection, reason: CloseReason) -> None:
        if any(not c.closed for c in room.connections.values()):
            return
        self._room_work(room.session_id, lambda: self._session_emptied(room.session_id), f"emptied {room.session_id}")

    async def _stream_published(self, room: Room) -> None:
        if await self._auto_archived(room.session_id):
            await self._auto_start(room)

    async def _session_emptied(self, session_id: str) -> None:
        for archive in await self._archives.recording(session_id):
            log.info("every client left; stopping the archive", archive=archive.id)
            await self._finish(archive.id, Reason.SESSION_ENDED)

    def _room_work(self, session_id: str, work: Callable[[], Awaitable[None]], name: str) -> None:
        """Run ``work`` after the session's earlier room work, whatever became of it."""
        if self._work.closed:
            return
        previous = self._last_work.get(session_id)

        async def run() -> None:
            if previous is not None:
                await asyncio.wait([previous])
            await work()

        task = self._work.spawn(run(), name)
        self._last_work[session_id] = task

        def forget(done: asyncio.Task[None]) -> None:
            if self._last_work.get(session_id) is done:
                del self._last_work[session_id]

        task.add_done_callback(forget)

    # ---- auto-archive --------------------------------------------------------------------------
    async def _auto_archived(self, session_id: str) -> bool:
        session = await self._sessions.find(session_id)
        return session is not None and session.archive_mode is ArchiveMode.ALWAYS

    async def _auto_start(self, room: Room, rollover_of: str | None = None) -> None:
        if self._closed or await self._archives.recording(room.session_id):
            return
        session = await self._sessions.find(room.session_id)
        if session is None:
            return
        options = StartOptions(
            session_id=session.id,
            name=session.archive_name,
            has_audio=True,
            has_video=True,
            output_mode="composed",
            stream_mode="auto",
            resolution=session.archive_resolution or "640x480",
            layout={"type": "bestFit"},
            max_bitrate=None,
            quantization_parameter=None,
            multi_archive_tag=None,
        )
        try:
            archive = await self._archives.start(session.project_key, options)
        except ArchivistError as exc:  # a concurrent start won, or the room emptied meanwhile
            log.info("auto-archive not started", session_id=session.id, detail=exc.message)
            return
        log.info("auto-archive started", archive=archive.id, session_id=session.id, rollover_of=rollover_of)

    # ---- tasks ---------------------------------------------------------------------------------
    def _spawn(self, coro: Coroutine[Any, Any, None], name: str) -> asyncio.Task[None]:
        task = asyncio.get_running_loop().create_task(coro, name=name)
        self._tasks.add(task)
        task.add_done_callback(self._done)
        return task

    def _done(self, task: asyncio.Task[None]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and (exc := task.exception()) is not None:
            log.error("archive supervisor task failed", task=task.get_name(), exc_info=exc)

    async def close(self) -> None:
        """Wait for the room work (archives stopping as sessions emptied), then cancel the timers
        and wait for them (idempotent)."""
        self._closed = True
        await self._work.close(cancel=False)
        tasks = list(self._tasks)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        self._timers.clear()
