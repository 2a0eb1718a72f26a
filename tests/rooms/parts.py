"""Small real implementations of the room tree's protocols, for in-process tests.

* :class:`LoopbackMedia`: a :class:`~archivist.rooms.media.MediaFactory` whose handles answer
  at once, start flowing when the test says so, fail when told to, and record their close
  (optionally blocking on, or failing in, ``close()``);
* :class:`RecordingSink`: a ``ClientSink`` that keeps every event and the disconnect reason;
* :class:`RecordingObserver`: a ``RoomObserver`` that keeps what it was told, in order.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from archivist.auth.tokens import ClientToken, Role
from archivist.media.peers import CodecInfo, PacketSink
from archivist.media.timing import TrackTiming
from archivist.rooms.connection import Connection
from archivist.rooms.media import PublisherMedia, StateCallback
from archivist.rooms.reasons import CloseReason
from archivist.rooms.room import Room
from archivist.rooms.stream import Stream

CODECS = {
    "audio": CodecInfo("audio", "audio/opus", 48000, 2),
    "video": CodecInfo("video", "video/VP8", 90000),
}


class LoopbackHandle:
    def __init__(self, factory: LoopbackMedia, label: str) -> None:
        self.factory = factory
        self.label = label
        self.closes = 0
        self.close_error: Exception | None = None
        self.close_gate: asyncio.Event | None = None
        self.answer_error: Exception | None = None
        self._closed = False
        self._callbacks: list[StateCallback] = []

    @property
    def closed(self) -> bool:
        return self._closed

    def on_state(self, callback: StateCallback) -> None:
        self._callbacks.append(callback)

    def stats(self) -> dict[str, Any]:
        return {"closes": self.closes}

    def fail(self) -> None:
        """The peer connection fails (what ICE/DTLS loss looks like to its owner)."""
        for callback in list(self._callbacks):
            callback("failed")

    async def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        self.closes += 1
        self.factory.closed_order.append(self.label)
        if self.close_gate is not None:
            await self.close_gate.wait()
        if self.close_error is not None:
            raise self.close_error


class LoopbackPublisher(LoopbackHandle):
    def __init__(self, factory: LoopbackMedia, label: str) -> None:
        super().__init__(factory, label)
        self.flowing = asyncio.Event()
        self.keyframe_requests = 0
        self.sinks: dict[str, list[PacketSink]] = {"audio": [], "video": []}
        self.timing: Mapping[str, TrackTiming] = {}
        self.codecs: Mapping[str, CodecInfo] = CODECS
        self.last_packet: Mapping[str, tuple[int, float]] = {}
        self.continues: PublisherMedia | None = None

    def continue_from(self, previous: PublisherMedia) -> None:
        self.continues = previous

    async def answer(self, offer_sdp: str) -> str:
        await asyncio.sleep(0)
        if self.answer_error is not None:
            raise self.answer_error
        return f"answer to {offer_sdp}"

    async def wait_flowing(self, timeout: float) -> bool:
        try:
            await asyncio.wait_for(self.flowing.wait(), timeout)
        except TimeoutError:
            return False
        return True

    def request_keyframe(self) -> None:
        self.keyframe_requests += 1

    def add_packet_sink(self, kind: str, sink: PacketSink) -> Callable[[], None]:
        self.sinks[kind].append(sink)
        return lambda: self.sinks[kind].remove(sink)


class LoopbackSubscriber(LoopbackHandle):
    def __init__(self, factory: LoopbackMedia, publisher: PublisherMedia, label: str) -> None:
        super().__init__(factory, label)
        self.publisher = publisher
        self.forwarding: dict[str, bool] = {}

    def set_forwarding(self, *, audio: bool, video: bool) -> None:
        self.forwarding = {"audio": audio, "video": video}

    def switch_source(self, publisher: PublisherMedia) -> None:
        self.publisher = publisher

    async def answer(self, offer_sdp: str, *, audio: bool = True, video: bool = True) -> str:
        self.forwarding = {"audio": audio, "video": video}
        await asyncio.sleep(0)
        if self.answer_error is not None:
            raise self.answer_error
        return f"answer to {offer_sdp}"


@dataclass
class LoopbackMedia:
    publishers: list[LoopbackPublisher] = field(default_factory=list)
    subscribers: list[LoopbackSubscriber] = field(default_factory=list)
    closed_order: list[str] = field(default_factory=list)
    flow_at_once: bool = True
    """New publishers start flowing as soon as they answered."""
    answer_error: Exception | None = None
    """New publishers' answers raise this."""
    codecs: Mapping[str, CodecInfo] = field(default_factory=lambda: dict(CODECS))
    """What new publishers negotiate."""

    def publisher(self, label: str) -> LoopbackPublisher:
        handle = LoopbackPublisher(self, label)
        handle.answer_error = self.answer_error
        handle.codecs = self.codecs
        if self.flow_at_once:
            handle.flowing.set()
        self.publishers.append(handle)
        return handle

    def subscriber(self, publisher: PublisherMedia, label: str) -> LoopbackSubscriber:
        handle = LoopbackSubscriber(self, publisher, label)
        self.subscribers.append(handle)
        return handle


class RecordingSink:
    def __init__(self, name: str) -> None:
        self.name = name
        self.events: list[dict[str, Any]] = []
        self.disconnected: CloseReason | None = None
        self.changed = asyncio.Event()

    async def send_event(self, event: dict[str, Any]) -> None:
        assert self.disconnected is None, f"{self.name}: event after disconnect: {event}"
        self.events.append(event)
        self.changed.set()

    async def disconnect(self, reason: CloseReason) -> None:
        self.disconnected = reason
        self.changed.set()

    def types(self) -> list[str]:
        return [e["type"] for e in self.events]

    def summary(self) -> list[tuple[str, ...]]:
        """(type, subject, reason) per event: who the event is about, in this sink's names."""
        out: list[tuple[str, ...]] = []
        for e in self.events:
            subject = e.get("stream", {}).get("name") or e.get("connection", {}).get("data") or ""
            out.append(tuple(x for x in (e["type"], subject, e.get("reason", "")) if x))
        return out

    async def wait(self, predicate: Callable[[], bool], timeout: float = 2.0) -> None:
        async def until() -> None:
            while not predicate():
                self.changed.clear()
                await self.changed.wait()

        await asyncio.wait_for(until(), timeout)


class RecordingObserver:
    def __init__(self) -> None:
        self.told: list[tuple[str, str]] = []

    def stream_created(self, room: Room, stream: Stream) -> None:
        self.told.append(("stream_created", stream.name))

    def stream_destroyed(self, room: Room, stream: Stream, reason: CloseReason) -> None:
        self.told.append(("stream_destroyed", stream.name))

    def stream_changed(self, room: Room, stream: Stream) -> None:
        self.told.append(("stream_changed", stream.name))

    def stream_media_replaced(self, room: Room, stream: Stream) -> None:
        self.told.append(("stream_media_replaced", stream.name))

    def connection_created(self, room: Room, connection: Connection) -> None:
        self.told.append(("connection_created", connection.data))

    def connection_destroyed(self, room: Room, connection: Connection, reason: CloseReason) -> None:
        self.told.append(("connection_destroyed", connection.data))


def token(session_id: str, name: str, role: Role = Role.PUBLISHER) -> ClientToken:
    return ClientToken(
        project_key="100", session_id=session_id, role=role, expire_time=2**31, connection_data=name
    )
