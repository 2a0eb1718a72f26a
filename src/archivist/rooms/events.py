"""Listener protocols: how a connection's client, and the archive layer, hear about a room."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from archivist.rooms.connection import Connection
    from archivist.rooms.reasons import CloseReason
    from archivist.rooms.room import Room
    from archivist.rooms.stream import Stream


class ClientSink(Protocol):
    """The transport to one client (the signaling endpoint implements it)."""

    async def send_event(self, event: dict[str, Any]) -> None:
        """Deliver one event; must not raise for a client that has gone away."""

    async def disconnect(self, reason: CloseReason) -> None:
        """End the transport after the room has let the connection go (idempotent)."""


class RoomObserver(Protocol):
    """What the archive layer (the recorder launcher, the archive supervisor) hooks into.

    Observers are told, not awaited: each method is called in the room's cascade, in the order
    the observers were given to the :class:`~archivist.rooms.host.RoomHost`, and must return at
    once. Work that takes time (stopping an archive, finishing its file) runs on the observer's
    own tasks, which it awaits when it closes. A method that raises is logged and skipped.
    """

    def stream_created(self, room: Room, stream: Stream) -> None: ...

    def stream_destroyed(self, room: Room, stream: Stream, reason: CloseReason) -> None: ...

    def stream_changed(self, room: Room, stream: Stream) -> None:
        """The stream's ``has_audio`` / ``has_video`` changed (muted, unmuted)."""

    def stream_media_replaced(self, room: Room, stream: Stream) -> None:
        """The stream goes on over a new peer connection (``stream.media`` is new: same codecs,
        its timeline continued); packet sinks on the old one no longer get anything."""

    def connection_created(self, room: Room, connection: Connection) -> None: ...

    def connection_destroyed(self, room: Room, connection: Connection, reason: CloseReason) -> None: ...
