"""The parent of every Room on this node: opens rooms with what they need and closes them all.

A room gets from its host the media factory (every peer connection is made through it), the
room observers (told, in this order, of streams and connections coming and going) and the
media timeout. The host registers open rooms in :class:`~archivist.rooms.registry.Rooms`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from archivist.errors import Unavailable
from archivist.lifecycle import CloseOnce, Failures
from archivist.rooms.events import ClientSink, RoomObserver
from archivist.rooms.media import MediaFactory
from archivist.rooms.reasons import CloseReason
from archivist.rooms.registry import Rooms
from archivist.rooms.room import Room

if TYPE_CHECKING:
    from archivist.auth.tokens import ClientToken
    from archivist.rooms.connection import Connection

MEDIA_TIMEOUT = 20.0
"""Seconds a published stream may take to send its first packet before it is dropped."""


class RoomHost:
    def __init__(
        self,
        rooms: Rooms,
        media: MediaFactory,
        observers: Sequence[RoomObserver] = (),
        *,
        media_timeout: float = MEDIA_TIMEOUT,
    ) -> None:
        self.rooms = rooms
        self.media = media
        self.observers = tuple(observers)
        self.media_timeout = media_timeout
        self._closing = CloseOnce()

    def open(self, project_key: str, session_id: str, relayed: bool) -> Room:
        """The session's open room, created if it has none (refused once shutdown began)."""
        if self._closing.started:
            raise Unavailable("the server is shutting down")
        room = self.rooms.get(session_id)
        if room is None:
            room = Room(self, project_key, session_id, relayed)
            self.rooms.add(room)
        return room

    async def join(
        self, project_key: str, session_id: str, relayed: bool, token: ClientToken, sink: ClientSink
    ) -> Connection:
        """Connect a client to the session's room (opened if needed)."""
        return await self.open(project_key, session_id, relayed).join(token, sink)

    def room_ended(self, room: Room) -> None:
        """A room closed on its own (its last connection left)."""
        self.rooms.forget(room)

    async def close(self, reason: CloseReason = CloseReason.SERVER_SHUTDOWN) -> None:
        """Shutdown: close every room (each one's failures collected, none skipped)."""
        await self._closing.run(lambda: self._close(reason))

    async def _close(self, reason: CloseReason) -> None:
        failures = Failures("closing the rooms")
        for room in self.rooms.take_all():
            with failures.catch():
                await room.host_closed(reason)
        failures.raise_any()
