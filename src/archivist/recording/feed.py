"""Feeding one published stream into a recorder: the recorder as a subscriber of its packets.

A :class:`StreamFeed` takes the encoded packets of a publisher's tracks (a packet sink on the
:class:`~archivist.media.peers.PublisherPeer`, no extra peer connection and no decode on the
event loop), stamps each with its instant on our clock (:mod:`archivist.recording.sync`) and
queues it for the recorder's worker, which decodes it. A track is recorded from its first
sender report on (see ``SYNC_WAIT_S``). It asks the publisher for a keyframe when it starts, when
video becomes recordable and whenever the worker's decoder needs one. ``close()`` detaches it.
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

SYNC_WAIT_S = 3.0
"""A track's packets are recorded once its first RTCP sender report has come (the lip-sync
mapping; publishers send one within about a second); a publisher that sends none is recorded
after this long, anchored on arrival times (continuous, but not lip-synced)."""


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
        self.waiting = dict.fromkeys(self.codecs, 0)
        self.sync_wait_s = SYNC_WAIT_S
        self._started = now()
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
            arrival = self._now()
            report = self.publisher.sender_reports.get(kind)
            track = self.sync.tracks[kind]
            if report is not None and (track.report is None or track.report.rtp != report.rtp):
                if track.report is None and kind == "video":
                    self.publisher.request_keyframe()  # what came before was not recorded
                track.update(report.ntp, report.rtp)
            if track.report is None and arrival - self._started < self.sync_wait_s:
                self.waiting[kind] += 1  # no lip-sync mapping yet: not recorded
                return
            t = self.sync.time_of(kind, int(packet.pts), arrival)
            self.packets[kind] += 1
            self.recorder.push_packet(self.stream_id, kind, packet, t)

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
        return {"packets": dict(self.packets), "waiting_sync": dict(self.waiting),
                "unsynced": self.sync.unsynced_packets}
