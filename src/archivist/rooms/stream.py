"""A Stream (media published by a connection) and a Subscription (a connection receiving one)."""

from __future__ import annotations

import asyncio
import secrets
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

from archivist.clock import now_ms
from archivist.rooms.reasons import CloseReason

if TYPE_CHECKING:
    from archivist.rooms.connection import Connection


class MediaHandle(Protocol):
    """The media side of a stream or subscription (a peer connection); closed with its owner."""

    async def close(self) -> None: ...


def new_id() -> str:
    return f"{secrets.token_hex(4)}-{secrets.token_hex(2)}-{secrets.token_hex(2)}-{secrets.token_hex(6)}"


VIDEO_TYPES = ("camera", "screen", "custom")


@dataclass(eq=False)
class Stream:
    connection: Connection
    name: str
    has_audio: bool
    has_video: bool
    video_type: str = "camera"
    width: int | None = None
    height: int | None = None
    frame_rate: int | None = None
    id: str = field(default_factory=new_id)
    creation_time: int = field(default_factory=now_ms)
    layout_classes: list[str] = field(default_factory=list)
    media: MediaHandle | None = None
    subscriptions: dict[str, Subscription] = field(default_factory=dict)
    announced: bool = False
    closed: bool = False
    close_reason: CloseReason | None = None
    _close_lock: asyncio.Lock = field(default_factory=asyncio.Lock)

    def describe(self) -> dict[str, Any]:
        return {
            "streamId": self.id,
            "connectionId": self.connection.id,
            "connection": self.connection.describe(),
            "name": self.name,
            "hasAudio": self.has_audio,
            "hasVideo": self.has_video,
            "videoType": self.video_type,
            "creationTime": self.creation_time,
            "videoDimensions": {"width": self.width, "height": self.height} if self.width else None,
            "frameRate": self.frame_rate,
        }

    def rest_json(self) -> dict[str, Any]:
        return {"id": self.id, "videoType": self.video_type, "name": self.name, "layoutClassList": self.layout_classes}

    async def close(self, reason: CloseReason) -> None:
        """Idempotent: closes subscriptions and media, then tells the room."""
        async with self._close_lock:
            if self.closed:
                return
            self.closed = True
            self.close_reason = reason
        errors: list[BaseException] = []
        for sub in list(self.subscriptions.values()):
            try:
                await sub.close(CloseReason.STREAM_DESTROYED)
            except Exception as exc:
                errors.append(exc)
        if self.media is not None:
            try:
                await self.media.close()
            except Exception as exc:
                errors.append(exc)
        await self.connection.stream_closed(self, reason)
        if errors:
            raise errors[0]


@dataclass(eq=False)
class Subscription:
    connection: Connection
    stream: Stream
    subscribe_to_audio: bool = True
    subscribe_to_video: bool = True
    id: str = field(default_factory=new_id)
    media: MediaHandle | None = None
    closed: bool = False

    async def close(self, reason: CloseReason) -> None:
        if self.closed:
            return
        self.closed = True
        self.stream.subscriptions.pop(self.id, None)
        self.connection.subscriptions.pop(self.id, None)
        try:
            if self.media is not None:
                await self.media.close()
        finally:
            if reason is not CloseReason.STREAM_DESTROYED:
                await self.connection.sink.send_event(
                    {"type": "subscriptionClosed", "subscriptionId": self.id, "streamId": self.stream.id,
                     "reason": reason.value}
                )
