"""The rooms hosted on this node, by session id."""

from __future__ import annotations

from archivist.rooms.events import RoomObserver
from archivist.rooms.reasons import CloseReason
from archivist.rooms.room import Room


class Rooms:
    def __init__(self) -> None:
        self._rooms: dict[str, Room] = {}
        self.observers: list[RoomObserver] = []

    def get(self, session_id: str) -> Room | None:
        room = self._rooms.get(session_id)
        return room if room is not None and not room.closed else None

    def get_or_create(self, project_key: str, session_id: str, relayed: bool) -> Room:
        room = self.get(session_id)
        if room is None:
            room = Room(self, project_key, session_id, relayed)
            self._rooms[session_id] = room
        return room

    def forget(self, room: Room) -> None:
        if self._rooms.get(room.session_id) is room:
            del self._rooms[room.session_id]

    def connected_count(self, session_id: str) -> int:
        room = self.get(session_id)
        return sum(1 for c in room.connections.values() if not c.closed) if room else 0

    def all(self) -> list[Room]:
        return [r for r in self._rooms.values() if not r.closed]

    async def close(self, reason: CloseReason = CloseReason.SERVER_SHUTDOWN) -> None:
        for room in list(self._rooms.values()):
            await room.close(reason)
