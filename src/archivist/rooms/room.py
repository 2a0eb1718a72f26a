"""A Room: the live state of one session on this node, and the fan-out of its events.

Event semantics follow OpenTok.js 2.2 (spec): a client gets ``connectionCreated`` for every
other connection (also those present when it connects) but never for its own;
``streamCreated``/``streamDestroyed`` reach every *other* client as session events and the
publisher as a publisher event (``"publisher": true``).
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Any

from archivist import logs
from archivist.auth.tokens import ClientToken
from archivist.errors import BadRequest, NotFound, PayloadTooLarge
from archivist.rooms.connection import Connection
from archivist.rooms.reasons import CloseReason

if TYPE_CHECKING:
    from archivist.rooms.events import ClientSink, RoomObserver
    from archivist.rooms.registry import Rooms
    from archivist.rooms.stream import Stream

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
    def __init__(self, registry: Rooms, project_key: str, session_id: str, relayed: bool) -> None:
        self.registry = registry
        self.project_key = project_key
        self.session_id = session_id
        self.relayed = relayed
        self.connections: dict[str, Connection] = {}
        self.closed = False
        self.archive_state: dict[str, Any] | None = None
        """The running archive as clients see it ({"id", "name"}), replayed to late joiners."""

    # ---- queries -------------------------------------------------------------------------
    @property
    def observers(self) -> list[RoomObserver]:
        return self.registry.observers

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
        for obs in self.observers:
            await obs.connection_created(self, conn)
        return conn

    async def announce_stream(self, stream: Stream) -> None:
        """Tell everyone a stream exists (once its media is flowing)."""
        stream.announced = True
        own = {"type": "streamCreated", "publisher": True, "stream": stream.describe()}
        await stream.connection.sink.send_event(own)
        await self._broadcast({"type": "streamCreated", "stream": stream.describe()}, exclude=stream.connection)
        for obs in self.observers:
            await obs.stream_created(self, stream)

    async def stream_closed(self, stream: Stream, reason: CloseReason) -> None:
        if not stream.announced:
            return
        event = {"type": "streamDestroyed", "stream": stream.describe(), "reason": reason.value}
        if not stream.connection.closed:
            await stream.connection.sink.send_event({**event, "publisher": True})
        await self._broadcast(event, exclude=stream.connection)
        for obs in self.observers:
            await obs.stream_destroyed(self, stream, reason)

    async def connection_closed(self, conn: Connection, reason: CloseReason) -> None:
        if self.connections.pop(conn.id, None) is None:
            return
        await self._broadcast({"type": "connectionDestroyed", "connection": conn.describe(), "reason": reason.value})
        for obs in self.observers:
            await obs.connection_destroyed(self, conn, reason)
        if not self.connections:
            await self.close(CloseReason.SESSION_CLOSED)

    async def close(self, reason: CloseReason) -> None:
        """Idempotent: closes every connection, then leaves the registry."""
        if self.closed:
            return
        self.closed = True
        for conn in list(self.connections.values()):
            await conn.close(reason)
        self.registry.forget(self)

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
                log.warning("event delivery failed", connection=conn.id, event=event.get("type"), error=repr(result))
