"""A Stream (media published by a connection) and a Subscription (a connection receiving one).

Each owns its media handle and closes it (the one place media is closed; it is made in
``Connection.publish`` / ``Connection.subscribe``). Two ways to close, one idiom
(:mod:`archivist.lifecycle`):

* ``close(reason)``: it ends by itself (unpublish, force unpublish, unsubscribe, media lost);
  once closed it tells its owner, which tells the room;
* ``connection_closed`` / ``stream_closed``: a parent is closing it and tells the others
  itself; nothing is told upwards.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from archivist.clock import now_ms
from archivist.lifecycle import CloseOnce, Failures
from archivist.rooms.media import PublisherMedia, SubscriberMedia
from archivist.rooms.reasons import CloseReason

if TYPE_CHECKING:
    from archivist.rooms.connection import Connection


def new_id() -> str:
    return f"{secrets.token_hex(4)}-{secrets.token_hex(2)}-{secrets.token_hex(2)}-{secrets.token_hex(6)}"


VIDEO_TYPES = ("camera", "screen", "custom")


@dataclass(frozen=True)
class PropertyChange:
    """One changed stream property, as OpenTok.js's ``streamPropertyChanged`` names it."""

    prop: str
    old: Any
    new: Any

    def event(self, stream: Stream) -> dict[str, Any]:
        return {"type": "streamPropertyChanged", "stream": stream.describe(), "changedProperty": self.prop,
                "oldValue": self.old, "newValue": self.new}


@dataclass(eq=False)
class Stream:
    connection: Connection
    media: PublisherMedia
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
    subscriptions: dict[str, Subscription] = field(default_factory=dict)
    announced: bool = False
    close_reason: CloseReason | None = None
    _closing: CloseOnce = field(default_factory=CloseOnce, repr=False)

    @property
    def closed(self) -> bool:
        """True from the moment its close starts."""
        return self._closing.started

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

    def change(self, *, has_audio: bool | None = None, has_video: bool | None = None) -> list[PropertyChange]:
        """Set what the publisher sends (``publishAudio`` / ``publishVideo``, a forced mute);
        returns what changed. Every subscription forwards only what is on (the server stops
        sending a muted kind; the recorder keeps its feed, so its files stay continuous)."""
        changes: list[PropertyChange] = []
        for prop, attr, value in (("hasAudio", "has_audio", has_audio), ("hasVideo", "has_video", has_video)):
            if value is None or getattr(self, attr) == value:
                continue
            changes.append(PropertyChange(prop, getattr(self, attr), value))
            setattr(self, attr, value)
        if changes:
            for sub in list(self.subscriptions.values()):
                sub.update_forwarding()
        return changes

    async def replace_media(self, media: PublisherMedia) -> None:
        """The publisher's network changed and it sent the same stream over a new peer
        connection (``media``, answered, continuing the old one's timeline): its subscriptions
        forward the new one's packets, then the old one closes. The stream, its id, its
        subscriptions and its place in any recording stay."""
        old, self.media = self.media, media
        for sub in list(self.subscriptions.values()):
            sub.media.switch_source(media)
        await old.close()

    def rest_json(self) -> dict[str, Any]:
        return {"id": self.id, "videoType": self.video_type, "name": self.name, "layoutClassList": self.layout_classes}

    async def close(self, reason: CloseReason) -> None:
        """The stream ends by itself: its subscriptions and media close, then the connection
        (and through it the room) hears. Idempotent; failures are raised together at the end."""
        await self._closing.run(lambda: self._close(reason, tell_connection=True))

    async def connection_closed(self, reason: CloseReason) -> None:
        """Its connection is closing it (and tells the room itself)."""
        await self._closing.run(lambda: self._close(reason, tell_connection=False))

    async def _close(self, reason: CloseReason, *, tell_connection: bool) -> None:
        self.close_reason = reason
        failures = Failures(f"closing stream {self.id}")
        for sub in list(self.subscriptions.values()):
            with failures.catch():
                await sub.stream_closed()
        self.subscriptions.clear()
        with failures.catch():
            await self.media.close()
        if tell_connection:
            with failures.catch():
                await self.connection.stream_ended(self, reason)
        failures.raise_any()

    def subscription_ended(self, sub: Subscription) -> None:
        """A subscription to this stream closed on its own or with its connection."""
        self.subscriptions.pop(sub.id, None)


@dataclass(eq=False)
class Subscription:
    connection: Connection
    """The subscriber, which owns the subscription."""
    stream: Stream
    media: SubscriberMedia
    subscribe_to_audio: bool = True
    subscribe_to_video: bool = True
    id: str = field(default_factory=new_id)
    _closing: CloseOnce = field(default_factory=CloseOnce, repr=False)

    @property
    def closed(self) -> bool:
        return self._closing.started

    def change(self, *, audio: bool | None = None, video: bool | None = None) -> None:
        """``subscribeToAudio`` / ``subscribeToVideo``: what the subscriber wants sent."""
        if audio is not None:
            self.subscribe_to_audio = audio
        if video is not None:
            self.subscribe_to_video = video
        self.update_forwarding()

    async def replace_media(self, media: SubscriberMedia) -> None:
        """The subscriber's network changed and it receives the stream over a new peer
        connection (``media``, answered): the old one closes; the subscription stays."""
        old, self.media = self.media, media
        self.update_forwarding()
        await old.close()

    def update_forwarding(self) -> None:
        """Forward a kind only while the subscriber wants it and the publisher sends it."""
        if not self.closed:
            self.media.set_forwarding(
                audio=self.subscribe_to_audio and self.stream.has_audio,
                video=self.subscribe_to_video and self.stream.has_video,
            )

    async def close(self, reason: CloseReason) -> None:
        """It ends by itself (unsubscribed, media lost): the client hears ``subscriptionClosed``
        with ``reason`` (``streamDestroyed`` stays silent: a failed setup, the request says it)."""
        await self._closing.run(lambda: self._close(reason))

    async def stream_closed(self) -> None:
        """Its stream ended: silent (the subscriber hears ``streamDestroyed``)."""
        await self._closing.run(lambda: self._close(CloseReason.STREAM_DESTROYED, from_stream=True))

    async def connection_closed(self) -> None:
        """Its connection is closing it."""
        await self._closing.run(lambda: self._close(CloseReason.STREAM_DESTROYED, from_connection=True))

    async def _close(self, reason: CloseReason, *, from_stream: bool = False, from_connection: bool = False) -> None:
        if not from_stream:
            self.stream.subscription_ended(self)
        if not from_connection:
            self.connection.subscription_ended(self)
        try:
            await self.media.close()
        finally:
            if reason is not CloseReason.STREAM_DESTROYED:
                await self.connection.sink.send_event(
                    {"type": "subscriptionClosed", "subscriptionId": self.id, "streamId": self.stream.id,
                     "reason": reason.value}
                )
