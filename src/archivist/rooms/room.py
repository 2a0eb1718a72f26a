"""A Room: the live state of one session on this node, and the fan-out of its events.

Event semantics follow OpenTok.js 2.2 (spec): a client gets ``connectionCreated`` for every
other connection (also those present when it connects) but never for its own;
``streamCreated``/``streamDestroyed`` reach every *other* client as session events and the
publisher as a publisher event (``"publisher": true``).

Closing: a room closes when its last connection leaves (``sessionClosed``) or when its host
closes it (shutdown). Either way every connection is closed parent-first (it does not call back)
and the others hear ``connectionDestroyed``; a connection that fails to close does not stop
the others, and the failures are raised together at the end. Observers are told, not awaited.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Collection
from typing import TYPE_CHECKING, Any

from archivist import logs
from archivist.auth.tokens import ClientToken
from archivist.errors import BadRequest, NotFound, PayloadTooLarge
from archivist.lifecycle import CloseOnce, Failures
from archivist.rooms.connection import Connection
from archivist.rooms.reasons import CloseReason

if TYPE_CHECKING:
    from archivist.rooms.events import ClientSink, RoomObserver
    from archivist.rooms.host import RoomHost
    from archivist.rooms.media import MediaFactory
    from archivist.rooms.stream import PropertyChange, Stream

log = logs.get(__name__)

MAX_SIGNAL_TYPE = 128
MAX_SIGNAL_DATA = 8192


def check_signal(type_: object, data: object) -> tuple[str, str]:
    """Validate a signal's type and data (400 wrong types, 413 too long)."""
    if type_ is None:
        type_ = ""
    if not isinstance(type_, str):
        raise BadRequest("signal type must be a string")
    if data is None:
        data = ""
    if not isinstance(data, str):
        raise BadRequest("signal data must be a string")
    if len(type_.encode()) > MAX_SIGNAL_TYPE:
        raise PayloadTooLarge(f"signal type is longer than {MAX_SIGNAL_TYPE} bytes")
    if len(data.encode()) > MAX_SIGNAL_DATA:
        raise PayloadTooLarge(f"signal data is longer than {MAX_SIGNAL_DATA} bytes")
    return type_, data


class Room:
    def __init__(self, host: RoomHost, project_key: str, session_id: str, relayed: bool) -> None:
        self.host = host
        self.project_key = project_key
        self.session_id = session_id
        self.relayed = relayed
        self.connections: dict[str, Connection] = {}
        self.archive_state: dict[str, Any] | None = None
        """The running archive as clients see it ({"id", "name"}), replayed to late joiners."""
        self.mute_forced = False
        """``forceMuteAll`` is on: streams published from now on start with their audio muted."""
        self._closing = CloseOnce()

    # ---- what the host gives ---------------------------------------------------------------
    @property
    def media(self) -> MediaFactory:
        return self.host.media

    @property
    def media_timeout(self) -> float:
        return self.host.media_timeout

    @property
    def closed(self) -> bool:
        return self._closing.started

    # ---- queries -------------------------------------------------------------------------
    def streams(self) -> list[Stream]:
        return [s for c in self.connections.values() for s in c.streams.values() if not s.closed and s.announced]

    def find_stream(self, stream_id: str) -> Stream | None:
        for stream in self.streams():
            if stream.id == stream_id:
                return stream
        return None

    def connection(self, connection_id: str) -> Connection:
        conn = self.connections.get(connection_id)
        if conn is None or conn.closed:
            raise NotFound("connection not found")
        return conn

    # ---- lifecycle -----------------------------------------------------------------------
    async def join(self, token: ClientToken, sink: ClientSink) -> Connection:
        """Add a connection; it hears about everyone already here, everyone hears about it."""
        if self.closed:
            raise NotFound("session closed")
        conn = Connection(room=self, token=token, sink=sink)
        others = [c for c in self.connections.values() if not c.closed]
        self.connections[conn.id] = conn
        await sink.send_event({"type": "sessionConnected", "connection": conn.describe(), "sessionId": self.session_id})
        for other in others:
            await sink.send_event({"type": "connectionCreated", "connection": other.describe()})
        for stream in self.streams():
            await sink.send_event({"type": "streamCreated", "stream": stream.describe()})
        if self.archive_state is not None:
            await sink.send_event({"type": "archiveStarted", **self.archive_state})
        await self._broadcast({"type": "connectionCreated", "connection": conn.describe()}, exclude=conn)
        self._tell(lambda o: o.connection_created(self, conn))
        return conn

    async def announce_stream(self, stream: Stream) -> None:
        """Tell everyone a stream exists (its connection calls this once its media flows).
        While the session's mute state is on, it starts muted and its publisher hears so."""
        stream.announced = True
        muted = self.mute_forced and stream.has_audio
        if muted:
            stream.change(has_audio=False)
        own = {"type": "streamCreated", "publisher": True, "stream": stream.describe()}
        await stream.connection.sink.send_event(own)
        await self._broadcast({"type": "streamCreated", "stream": stream.describe()}, exclude=stream.connection)
        self._tell(lambda o: o.stream_created(self, stream))
        if muted and not stream.connection.closed:
            await stream.connection.sink.send_event({"type": "muteForced", "active": True, "streamIds": [stream.id]})

    async def stream_changed(self, stream: Stream, changes: list[PropertyChange]) -> None:
        """A stream's hasAudio / hasVideo changed: everyone hears, its publisher included (as
        in OpenTok.js), one ``streamPropertyChanged`` per property; then the observers."""
        if not stream.announced:
            return
        for change in changes:
            await self._broadcast(change.event(stream))
        self._tell(lambda o: o.stream_changed(self, stream))

    def stream_media_replaced(self, stream: Stream) -> None:
        """A stream goes on over a new peer connection (``Connection.republish``): nobody
        hears (the stream is the same); the observers re-bind what they read from it."""
        if stream.announced:
            self._tell(lambda o: o.stream_media_replaced(self, stream))

    # ---- moderation --------------------------------------------------------------------------
    async def force_mute_stream(self, stream_id: str) -> None:
        """Mute one stream's audio (its publisher may unmute it again, as in OpenTok)."""
        stream = self.find_stream(stream_id)
        if stream is None:
            raise NotFound("stream not found")
        await stream.connection.mute_forced([stream], active=True)

    async def force_mute_all(self, excluded: Collection[str] = ()) -> None:
        """Mute every stream but ``excluded`` and keep the session muted: streams published
        later start muted until :meth:`disable_force_mute`. Every client hears ``muteForced``."""
        self.mute_forced = True
        targets = [c for c in self.connections.values() if not c.closed]
        for conn in targets:
            streams = [s for s in conn.streams.values() if s.announced and not s.closed and s.id not in excluded]
            await conn.mute_forced(streams, active=True)

    async def disable_force_mute(self) -> None:
        """Streams published from now on keep their audio; every client hears ``muteForced``
        with ``active: false`` (nobody is unmuted)."""
        self.mute_forced = False
        await self._broadcast({"type": "muteForced", "active": False, "streamIds": []})

    async def stream_ended(self, stream: Stream, reason: CloseReason) -> None:
        """A stream closed (on its own or with its connection): everyone hears."""
        if not stream.announced:
            return
        event = {"type": "streamDestroyed", "stream": stream.describe(), "reason": reason.value}
        if not stream.connection.closed:
            await stream.connection.sink.send_event({**event, "publisher": True})
        await self._broadcast(event, exclude=stream.connection)
        self._tell(lambda o: o.stream_destroyed(self, stream, reason))

    async def connection_ended(self, conn: Connection, reason: CloseReason) -> None:
        """A connection closed on its own: the others hear; the last one leaving closes the room."""
        if self.connections.pop(conn.id, None) is None:
            return
        await self._connection_gone(conn, reason)
        if not self.connections and not self.closed:
            await self.close(CloseReason.SESSION_CLOSED)

    async def _connection_gone(self, conn: Connection, reason: CloseReason) -> None:
        await self._broadcast({"type": "connectionDestroyed", "connection": conn.describe(), "reason": reason.value})
        self._tell(lambda o: o.connection_destroyed(self, conn, reason))

    async def close(self, reason: CloseReason) -> None:
        """The room ends by itself: every connection closes, then the host forgets it.
        Idempotent; a second caller waits for the first; failures are raised together."""
        await self._closing.run(lambda: self._close(reason, tell_host=True))

    async def host_closed(self, reason: CloseReason) -> None:
        """Its host is closing it (shutdown)."""
        await self._closing.run(lambda: self._close(reason, tell_host=False))

    async def _close(self, reason: CloseReason, *, tell_host: bool) -> None:
        failures = Failures(f"closing room {self.session_id}")
        for conn in list(self.connections.values()):
            with failures.catch():
                await conn.room_closed(reason)
            if self.connections.pop(conn.id, None) is not None:  # else it ended on its own meanwhile
                with failures.catch():
                    await self._connection_gone(conn, reason)
        if tell_host:
            self.host.room_ended(self)
        failures.raise_any()

    def _tell(self, event: Callable[[RoomObserver], None]) -> None:
        """Tell every observer, in order; an observer that raises is logged and skipped."""
        for observer in self.host.observers:
            try:
                event(observer)
            except Exception:
                log.exception("room observer failed", observer=type(observer).__name__, session_id=self.session_id)

    # ---- messaging -----------------------------------------------------------------------
    async def signal(
        self, type_: object, data: object, to: str | None = None, sender: Connection | None = None
    ) -> None:
        """Send a signal to every connection, or to one (``to``). Raises 400/404/413."""
        type_, data = check_signal(type_, data)
        event = {
            "type": "signal",
            "signalType": type_,
            "data": data,
            "from": sender.describe() if sender is not None else None,
        }
        if to is not None:
            await self.connection(to).sink.send_event(event)
        else:
            await self._broadcast(event)

    async def set_archive(self, archive_id: str, name: str | None, started: bool) -> None:
        """Hook for the archive layer: tell every client an archive started or stopped."""
        state = {"id": archive_id, "archiveId": archive_id, "name": name or ""}
        if started:
            self.archive_state = state
            await self._broadcast({"type": "archiveStarted", **state})
        else:
            if self.archive_state is not None and self.archive_state["id"] == archive_id:
                self.archive_state = None
            await self._broadcast({"type": "archiveStopped", **state})

    async def _broadcast(self, event: dict[str, Any], exclude: Connection | None = None) -> None:
        targets = [c for c in self.connections.values() if c is not exclude and not c.closed]
        results = await asyncio.gather(*(c.sink.send_event(event) for c in targets), return_exceptions=True)
        for conn, result in zip(targets, results, strict=True):
            if isinstance(result, Exception):
                log.warning("event delivery failed", connection=conn.id, event=event.get("type"), exc_info=result)
