"""A Connection: one client connected to a room with a token."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from archivist.auth.tokens import ClientToken, Role
from archivist.clock import now_ms
from archivist.errors import AuthFailed, NotFound
from archivist.rooms.reasons import CloseReason
from archivist.rooms.stream import Stream, Subscription, new_id

if TYPE_CHECKING:
    from archivist.rooms.events import ClientSink
    from archivist.rooms.room import Room


@dataclass(eq=False)
class Connection:
    room: Room
    token: ClientToken
    sink: ClientSink
    id: str = field(default_factory=new_id)
    creation_time: int = field(default_factory=now_ms)
    streams: dict[str, Stream] = field(default_factory=dict)
    subscriptions: dict[str, Subscription] = field(default_factory=dict)
    closed: bool = False
    close_reason: CloseReason | None = None
    _close_lock: asyncio.Lock = field(default_factory=asyncio.Lock)

    @property
    def role(self) -> Role:
        return self.token.role

    @property
    def data(self) -> str:
        return self.token.connection_data or ""

    def describe(self) -> dict[str, Any]:
        return {"connectionId": self.id, "creationTime": self.creation_time, "data": self.data}

    def publish(
        self,
        *,
        name: str = "",
        has_audio: bool = True,
        has_video: bool = True,
        video_type: str = "camera",
        width: int | None = None,
        height: int | None = None,
        frame_rate: int | None = None,
    ) -> Stream:
        """Create a stream (not yet announced: call ``room.announce_stream`` once media is up)."""
        if self.closed:
            raise NotFound("connection is closed")
        if not self.role.can_publish:
            raise AuthFailed("this token's role (subscriber) cannot publish")
        stream = Stream(
            connection=self,
            name=name,
            has_audio=has_audio,
            has_video=has_video,
            video_type=video_type,
            width=width,
            height=height,
            frame_rate=frame_rate,
            layout_classes=list(self.token.layout_classes),
        )
        self.streams[stream.id] = stream
        return stream

    def subscribe(self, stream: Stream, *, audio: bool = True, video: bool = True) -> Subscription:
        if self.closed:
            raise NotFound("connection is closed")
        if not self.role.can_subscribe:
            raise AuthFailed("this token's role (publisheronly) cannot subscribe")
        if stream.closed or stream.connection.room is not self.room:
            raise NotFound("stream not found")
        sub = Subscription(connection=self, stream=stream, subscribe_to_audio=audio, subscribe_to_video=video)
        self.subscriptions[sub.id] = sub
        stream.subscriptions[sub.id] = sub
        return sub

    async def stream_closed(self, stream: Stream, reason: CloseReason) -> None:
        self.streams.pop(stream.id, None)
        await self.room.stream_closed(stream, reason)

    async def close(self, reason: CloseReason) -> None:
        """Idempotent cascade: subscriptions, streams, then the room and the client transport."""
        async with self._close_lock:
            if self.closed:
                return
            self.closed = True
            self.close_reason = reason
        stream_reason = reason if reason is not CloseReason.UNPUBLISHED else CloseReason.CLIENT_DISCONNECTED
        try:
            for sub in list(self.subscriptions.values()):
                await sub.close(CloseReason.STREAM_DESTROYED)
            for stream in list(self.streams.values()):
                await stream.close(stream_reason)
        finally:
            await self.room.connection_closed(self, reason)
            await self.sink.send_event({"type": "sessionDisconnected", "reason": reason.value})
            await self.sink.disconnect(reason)
