"""The rooms hosted on this node, by session id: the lookup everyone reads.

Only the :class:`~archivist.rooms.host.RoomHost` adds and removes rooms; the archive layer and
the REST API find them here (built before the host, so they need no host to be built).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from archivist.rooms.room import Room


class Rooms:
    def __init__(self) -> None:
        self._rooms: dict[str, Room] = {}

    def get(self, session_id: str) -> Room | None:
        room = self._rooms.get(session_id)
        return room if room is not None and not room.closed else None

    def connected_count(self, session_id: str) -> int:
        room = self.get(session_id)
        return sum(1 for c in room.connections.values() if not c.closed) if room else 0

    def all(self) -> list[Room]:
        return [r for r in self._rooms.values() if not r.closed]

    # ---- the host's ------------------------------------------------------------------------
    def add(self, room: Room) -> None:
        self._rooms[room.session_id] = room

    def forget(self, room: Room) -> None:
        if self._rooms.get(room.session_id) is room:
            del self._rooms[room.session_id]

    def take_all(self) -> list[Room]:
        """Every room, closing ones included; the registry is empty afterwards."""
        rooms, self._rooms = list(self._rooms.values()), {}
        return rooms
