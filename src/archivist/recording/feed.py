"""Feeding one published stream into a recorder: the recorder as a subscriber of its packets.

A :class:`StreamFeed` takes the encoded packets of a publisher's tracks (a packet sink on the
:class:`~archivist.media.peers.PublisherPeer`, no extra peer connection and no decode on the
event loop), stamps each with its instant on our clock (:mod:`archivist.recording.sync`) and
queues it for the recorder's worker, which decodes it. Instants come from the publisher's RTCP
sender reports once it has sent one (lip sync), and until then from the packets' arrival off the
network (continuous, and within a few tens of ms of sync: the jitter buffer is not counted).
It asks the publisher for a keyframe when it starts and whenever the worker's decoder needs
one. ``close()`` detaches it (idempotent).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from archivist import logs
from archivist.media.peers import PublisherPeer
from archivist.media.seams import EncodedPacket
from archivist.recording.decoder import CODECS
from archivist.recording.recorder import ComposedRecorder
from archivist.recording.sync import StreamSync

log = logs.get(__name__)


class StreamFeed:
    def __init__(
        self,
        stream_id: str,
        publisher: PublisherPeer,
        recorder: ComposedRecorder,
        *,
        audio: bool,
        video: bool,
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
        self.sync = StreamSync({kind: publisher.codecs[kind].clock_rate for kind in self.codecs})
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
        for kind in self.codecs:
            self._removers.append(self.publisher.add_packet_sink(kind, self._sink(kind)))
        if self.has_video:
            self.publisher.request_keyframe()

    def _sink(self, kind: str) -> Callable[[EncodedPacket], None]:
        def on_packet(packet: Any) -> None:
            pts = int(packet.pts)
            # off the network, not out of the jitter buffer (which holds audio back)
            arrival = self.publisher.arrival_of(kind, pts) or self._now()
            report = self.publisher.sender_reports.get(kind)
            track = self.sync.tracks[kind]
            if report is not None and (track.report is None or track.report.rtp != report.rtp):
                track.update(report.ntp, report.rtp)
            t, switched = self.sync.time_of(kind, pts, arrival)
            self.packets[kind] += 1
            self.recorder.push_packet(self.stream_id, kind, packet, t, resync=switched)

        return on_packet

    def request_keyframe(self) -> None:
        if not self.closed:
            self.publisher.request_keyframe()

    def close(self) -> None:
        """Stop feeding; the stream leaves the recording now (idempotent)."""
        if self.closed:
            return
        self.closed = True
        for remove in self._removers:
            remove()
        self._removers.clear()
        self.recorder.remove_stream(self.stream_id)

    def stats(self) -> dict[str, Any]:
        return {"packets": dict(self.packets), "unsynced": self.sync.unsynced_packets}
