"""Feeding one published stream into a recorder: the recorder as a subscriber of its packets.

A :class:`StreamFeed` takes the encoded packets of a publisher's tracks (a packet sink on the
stream's :class:`~archivist.rooms.media.PublisherMedia`, no extra peer connection and no decode
on the event loop), places each on our clock (:class:`~archivist.recording.sync.StreamSync`, from
what the publisher's packets and sender reports said of its clocks since it started publishing)
and queues it for the recorder's worker, which decodes it. It asks the publisher for a keyframe
when it starts and whenever the worker's decoder needs one. ``close()`` detaches it (idempotent).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any, Protocol

from archivist import logs
from archivist.media.seams import EncodedPacket
from archivist.recording.decoder import CODECS
from archivist.recording.individual import PacketRecorder
from archivist.recording.sync import StreamSync
from archivist.rooms.media import PublisherMedia

log = logs.get(__name__)


class FeedTarget(PacketRecorder, Protocol):
    """A started recorder (composed or individual): its clock zero and its packet inputs."""

    t0: float | None


class StreamFeed:
    def __init__(
        self,
        stream_id: str,
        publisher: PublisherMedia,
        recorder: FeedTarget,
        *,
        audio: bool,
        video: bool,
        fps: int = 30,
        now: Callable[[], float] = time.monotonic,
    ) -> None:
        self.stream_id = stream_id
        self.publisher = publisher
        self.recorder = recorder
        self._now = now
        wanted = {"audio": audio, "video": video}
        self.codecs = {
            kind: info.mime_type
            for kind, info in publisher.codecs.items()
            if wanted.get(kind) and info.mime_type.lower() in CODECS
        }
        for kind, info in publisher.codecs.items():
            if wanted.get(kind) and kind not in self.codecs:
                log.warning("track not recordable", stream=stream_id, kind=kind, codec=info.mime_type)
        if recorder.t0 is None:
            raise RuntimeError("the recorder must be started before streams are fed to it")
        self.sync = StreamSync({kind: publisher.timing[kind] for kind in self.codecs}, recorder.t0, fps)
        self.unplaced = 0
        self.rebinds = 0
        self.packets = dict.fromkeys(self.codecs, 0)
        self._removers: list[Callable[[], None]] = []
        self.closed = False

    @property
    def has_audio(self) -> bool:
        return "audio" in self.codecs

    @property
    def has_video(self) -> bool:
        return "video" in self.codecs

    def start(self) -> None:
        self.recorder.add_stream(self.stream_id, self.has_audio, self.has_video, codecs=self.codecs)
        self._attach()

    def _attach(self) -> None:
        """Packet sinks on the publisher's tracks; video asked to start at a keyframe."""
        for kind in self.codecs:
            self._removers.append(self.publisher.add_packet_sink(kind, self._sink(kind)))
        if self.has_video:
            self.publisher.request_keyframe()

    def _detach(self) -> None:
        for remove in self._removers:
            remove()
        self._removers.clear()

    def rebind(self, publisher: PublisherMedia) -> None:
        """The stream's media was replaced (same codecs, the client's network changed): read
        the new one's packets, placed from its own clock relations (a new peer's RTP clocks and
        sender reports owe nothing to the old one's). The recorder keeps the stream: the outage
        is a gap, filled as a gap is (the mixer places by the clock what no longer follows)."""
        if self.closed:
            return
        self._detach()
        self.publisher = publisher
        self.sync = StreamSync({kind: publisher.timing[kind] for kind in self.codecs}, self.sync.t0, self.sync.fps)
        self.rebinds += 1
        self._attach()

    def _sink(self, kind: str) -> Callable[[EncodedPacket], None]:
        def on_packet(packet: Any) -> None:
            placed = self.sync.place(kind, int(packet.pts))
            self.packets[kind] += 1
            if placed is None:  # the track's timing is unknown (never seen): place it now
                self.unplaced += 1
                self.recorder.push_packet(self.stream_id, kind, packet, self._now())
            else:
                self.recorder.push_packet(self.stream_id, kind, packet, placed.t, placed.media)

        return on_packet

    def request_keyframe(self) -> None:
        if not self.closed:
            self.publisher.request_keyframe()

    def close(self) -> None:
        """Stop feeding; the stream leaves the recording now (idempotent)."""
        if self.closed:
            return
        self.closed = True
        self._detach()
        self.recorder.remove_stream(self.stream_id)

    def stats(self) -> dict[str, Any]:
        return {"packets": dict(self.packets), "unplaced": self.unplaced, "rebinds": self.rebinds,
                **self.sync.stats()}
