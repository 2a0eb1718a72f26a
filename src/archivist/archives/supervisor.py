"""What the rooms cause to archives, without anyone calling the REST API.

The :class:`ArchiveSupervisor` is a ``RoomObserver`` and applies the spec's room rules:

* an archive is ``paused`` when every client has left its session, and stops after the idle
  timeout (reason ``session ended``) unless a client joins again, which resumes it;
* an auto-archived session (``archiveMode=always``) starts recording when a stream is
  published (and stops, by the rule above, when the last client leaves).

Rooms tell it, they do not wait for it: the work runs on its own tasks, in order per session
(a session's stop never overtakes its start), and :meth:`close` waits for that work. The
rules of time and failure (maximum duration, rollover, a failed recorder) are the archive
service's; the client events (``archiveStarted`` / ``archiveStopped``) too.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

from archivist import logs
from archivist.archives.service import ArchiveService
from archivist.lifecycle import Tasks
from archivist.rooms.connection import Connection
from archivist.rooms.reasons import CloseReason
from archivist.rooms.room import Room
from archivist.rooms.stream import Stream

log = logs.get(__name__)


class ArchiveSupervisor:
    def __init__(self, archives: ArchiveService) -> None:
        self._archives = archives
        self._work = Tasks("archive supervisor")
        self._last_work: dict[str, asyncio.Task[None]] = {}  # session id -> its latest room work

    # ---- RoomObserver (told, never awaited) ----------------------------------------------------
    def stream_created(self, room: Room, stream: Stream) -> None:
        session_id = room.session_id
        self._room_work(session_id, lambda: self._stream_published(session_id), f"stream published {stream.id}")

    def stream_destroyed(self, room: Room, stream: Stream, reason: CloseReason) -> None:
        return None

    def stream_changed(self, room: Room, stream: Stream) -> None:
        return None

    def stream_media_replaced(self, room: Room, stream: Stream) -> None:
        return None

    def connection_created(self, room: Room, connection: Connection) -> None:
        session_id = room.session_id
        self._room_work(session_id, lambda: self._archives.resume_session(session_id), f"client joined {session_id}")

    def connection_destroyed(self, room: Room, connection: Connection, reason: CloseReason) -> None:
        if any(not c.closed for c in room.connections.values()):
            return
        session_id = room.session_id
        self._room_work(session_id, lambda: self._session_emptied(session_id), f"session emptied {session_id}")

    # ---- the work ------------------------------------------------------------------------------
    async def _stream_published(self, session_id: str) -> None:
        await self._archives.auto_start(session_id)

    async def _session_emptied(self, session_id: str) -> None:
        await self._archives.pause_session(session_id)

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

    async def close(self) -> None:
        """Wait for the room work (archives stopping as sessions emptied at shutdown); no new
        work is taken afterwards (idempotent)."""
        await self._work.close(cancel=False)
