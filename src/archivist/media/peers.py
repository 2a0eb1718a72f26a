"""Server-side peer connections with packet pass-through forwarding (no decode, no re-encode).

A :class:`PublisherPeer` answers a client's sendonly offer and reads the encoded frames of each
track (``av.Packet``, through :mod:`archivist.media.seams`) in one reader task per track, so
nothing piles up even when nobody listens. Packets fan out to sinks: :class:`PacketTrack`s of
:class:`SubscriberPeer`s, and any in-server consumer (the recorder) via ``add_packet_sink``.
Keyframe requests (subscriber PLI/FIR, a new subscriber, an explicit request) reach the publisher
as a rate-limited PLI.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import time
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

import av
from aiortc import (
    MediaStreamTrack,
    RTCPeerConnection,
    RTCRtpReceiver,
    RTCRtpSender,
    RTCSessionDescription,
)
from aiortc.mediastreams import MediaStreamError
from aiortc.rtcrtpparameters import RTCRtpCodecCapability
from aiortc.sdp import SessionDescription

from archivist import logs
from archivist.lifecycle import CloseOnce, Failures
from archivist.media import seams
from archivist.media.ice import IceConfig, PortRangeFull
from archivist.media.nack import NackRepeater
from archivist.media.seams import EncodedPacket
from archivist.media.timing import TrackTiming

log = logs.get(__name__)

PacketSink = Callable[[EncodedPacket], None]
StateCallback = Callable[[str], None]

KEYFRAME_INTERVAL = 0.5
"""At most one PLI per this many seconds per publisher; a request inside the window is
deferred to its end, never lost."""
SUBSCRIBER_QUEUE = 256
"""Packets a subscriber track may hold before it drops its backlog and waits for a keyframe."""


class MediaError(Exception):
    """Media setup failed (bad SDP, no common codec, no free media port, ...); ``status`` is
    the error code the client gets."""

    def __init__(self, message: str, status: int = 500) -> None:
        super().__init__(message)
        self.status = status


class OfferRefused(MediaError):
    """The client's offer cannot be served (unparseable, nothing to send or receive): its fault."""

    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message, status)


@dataclass(frozen=True)
class SenderReport:
    """The last RTCP sender report of one track: the sender's wall clock (NTP, seconds since
    1900) at the instant of raw RTP timestamp ``rtp``; ``received_at`` is our monotonic clock."""

    ssrc: int
    ntp: float
    rtp: int
    received_at: float


@dataclass(frozen=True)
class CodecInfo:
    kind: str
    mime_type: str
    clock_rate: int
    channels: int | None = None
    parameters: dict[str, Any] = field(default_factory=dict)

    @property
    def name(self) -> str:
        return self.mime_type.split("/", 1)[1]


def _answer_codecs(sdp: str) -> dict[str, CodecInfo]:
    """The codec each media section of an answer uses (its first codec)."""
    desc = SessionDescription.parse(sdp)
    out: dict[str, CodecInfo] = {}
    for media in desc.media:
        if media.kind not in ("audio", "video") or not media.rtp.codecs or media.kind in out:
            continue
        c = media.rtp.codecs[0]
        out[media.kind] = CodecInfo(media.kind, c.mimeType, c.clockRate, c.channels, dict(c.parameters))
    return out


def codec_preferences(codec: CodecInfo) -> list[RTCRtpCodecCapability]:
    """Capabilities that pin a transceiver to ``codec`` (plus RTX for video)."""
    caps = RTCRtpSender.getCapabilities(codec.kind).codecs
    same = [c for c in caps if c.mimeType.lower() == codec.mime_type.lower() and c.clockRate == codec.clock_rate]
    if not same:
        raise MediaError(f"codec {codec.mime_type} is not supported")

    def score(c: RTCRtpCodecCapability) -> int:
        return sum(1 for k, v in c.parameters.items() if codec.parameters.get(k) == v)

    best = max(same, key=score)
    prefs = [best]
    if codec.kind == "video":
        prefs += [c for c in caps if c.mimeType.lower() == "video/rtx"]
    return prefs


DIRECT = IceConfig()
"""No STUN/TURN, any port, every interface: peers made without an ICE configuration."""


class KeyframeRequester:
    """Sends a PLI to the publisher at most once per ``interval``; later requests are deferred."""

    def __init__(self, receiver: RTCRtpReceiver, interval: float = KEYFRAME_INTERVAL) -> None:
        self._receiver = receiver
        self._interval = interval
        self._last = 0.0
        self._pending: asyncio.Task[None] | None = None
        self.sent = 0
        self.closed = False

    def request(self) -> None:
        if self.closed or self._pending is not None:
            return
        wait = self._last + self._interval - time.monotonic()
        self._pending = asyncio.get_running_loop().create_task(self._send(max(0.0, wait)))

    async def _send(self, delay: float) -> None:
        try:
            if delay > 0:
                await asyncio.sleep(delay)
            self._last = time.monotonic()
            if await seams.send_pli(self._receiver):
                self.sent += 1
        except (ConnectionError, asyncio.CancelledError):
            pass
        except Exception:
            log.warning("keyframe request failed", exc_info=True)
        finally:
            self._pending = None

    async def close(self) -> None:
        self.closed = True
        task = self._pending
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task


class PacketTrack(MediaStreamTrack):  # type: ignore[misc]
    """A track whose ``recv()`` returns the publisher's ``av.Packet``s (for a subscriber's sender).

    It accepts packets only once its sender pulls (the connection is up), then starts at a
    keyframe (asking the publisher for one) and drops its backlog if the sender falls behind.
    """

    def __init__(self, kind: str, on_need_keyframe: Callable[[], None], maxsize: int = SUBSCRIBER_QUEUE) -> None:
        super().__init__()
        self.kind = kind
        self._on_need_keyframe = on_need_keyframe
        self._queue: deque[EncodedPacket] = deque()
        self._maxsize = maxsize
        self._wakeup = asyncio.Event()
        self._pulling = False
        self._need_key = kind == "video"
        self.enabled = True
        """Off: packets are dropped here (the subscriber or the publisher turned this kind off)."""
        self.forwarded = 0
        self.dropped = 0
        self.first_packet_at: float | None = None

    def set_enabled(self, enabled: bool) -> None:
        """Forward or not; video starts again at a keyframe (asked for)."""
        if enabled == self.enabled:
            return
        self.enabled = enabled
        if not enabled:
            self._queue.clear()
        elif self.kind == "video":
            self._need_key = True
            if self._pulling:
                self._on_need_keyframe()

    def push(self, packet: EncodedPacket) -> None:
        if not self._pulling or not self.enabled or self.readyState != "live":
            return
        if self._need_key:
            if not packet.is_keyframe:
                return
            self._need_key = False
        if len(self._queue) >= self._maxsize:
            self.dropped += len(self._queue)
            self._queue.clear()
            if self.kind == "video":
                self._need_key = True
                self._on_need_keyframe()
                return
        self._queue.append(packet)
        self._wakeup.set()

    def need_keyframe(self) -> None:
        self._on_need_keyframe()

    def restart(self) -> None:
        """Its source changed: drop what is queued; video starts again at a keyframe."""
        self._queue.clear()
        if self.kind == "video":
            self._need_key = True
            if self._pulling and self.enabled:
                self._on_need_keyframe()

    async def recv(self) -> EncodedPacket:
        if not self._pulling:
            self._pulling = True
            if self.kind == "video" and self.enabled:
                self._on_need_keyframe()
        while not self._queue:
            if self.readyState != "live":
                raise MediaStreamError
            self._wakeup.clear()
            await self._wakeup.wait()
        if self.readyState != "live":
            raise MediaStreamError
        packet = self._queue.popleft()
        self.forwarded += 1
        if self.first_packet_at is None:
            self.first_packet_at = time.monotonic()
        return packet

    def stop(self) -> None:
        super().stop()
        self._queue.clear()
        self._wakeup.set()


class _Peer:
    """What publisher and subscriber share: the peer connection, its state, the close idiom
    (idempotent; a second caller waits for the first; every step runs, failures raised together)."""

    def __init__(self, label: str, ice: IceConfig | None = None) -> None:
        self.label = label
        self._ice = ice or DIRECT
        self.pc = RTCPeerConnection(self._ice.rtc_configuration(label.replace(" ", "-")))
        self._state_callbacks: list[StateCallback] = []
        self._closing = CloseOnce()
        self.pc.on("connectionstatechange", self._on_state)

    @property
    def closed(self) -> bool:
        """True from the moment ``close()`` is called."""
        return self._closing.started

    @property
    def state(self) -> str:
        return str(self.pc.connectionState)

    async def close(self) -> None:
        await self._closing.run(self._close)

    async def _close(self) -> None:
        raise NotImplementedError

    def on_state(self, callback: StateCallback) -> None:
        """``callback("connected" | "failed" | "closed")``; failed/closed only when not closed by us."""
        self._state_callbacks.append(callback)

    def _on_state(self) -> None:
        state = self.state
        log.debug("peer state", peer=self.label, state=state)
        if state == "connected":
            for r in seams.ice_routes(self.pc):
                log.info("peer connected", peer=self.label, local=f"{r.local_type} {r.local_address}:{r.local_port}",
                         remote=f"{r.remote_type} {r.remote_address}:{r.remote_port}")
        if state in ("failed", "closed") and self.closed:
            return
        if state in ("connected", "failed", "closed"):
            for cb in list(self._state_callbacks):
                try:
                    cb(state)
                except Exception:
                    log.exception("peer state listener failed", peer=self.label)

    async def _answer(self, offer_sdp: str) -> None:
        try:
            await self.pc.setRemoteDescription(RTCSessionDescription(sdp=offer_sdp, type="offer"))
        except Exception as exc:
            raise OfferRefused(f"invalid offer: {exc}") from exc

    async def _finish_answer(self) -> str:
        try:
            self._ice.prepare(self.pc)
            answer = await self.pc.createAnswer()
            await self.pc.setLocalDescription(answer)
        except PortRangeFull as exc:
            raise MediaError(exc.strerror or str(exc), status=503) from exc
        except Exception as exc:
            raise MediaError(f"could not answer: {exc}") from exc
        return str(self.pc.localDescription.sdp)


class PublisherPeer(_Peer):
    """The server's end of a published stream: receives encoded packets and fans them out."""

    def __init__(self, label: str = "publisher", ice: IceConfig | None = None) -> None:
        super().__init__(label, ice)
        seams.install()
        self.codecs: dict[str, CodecInfo] = {}
        self.receivers: dict[str, RTCRtpReceiver] = {}
        self.sender_reports: dict[str, SenderReport] = {}
        """Kind -> the last RTCP sender report of that track's media SSRC (RTX excluded)."""
        self.timing: dict[str, TrackTiming] = {}
        """Kind -> what the track's packets and sender reports say of its clock, from the
        first packet on (the recorder's lip sync reads it)."""
        self.packets: dict[str, int] = {}
        self.keyframes: dict[str, int] = {}
        self.flowing = asyncio.Event()
        self.last_packet: dict[str, tuple[int, float]] = {}
        """Kind -> (pts, monotonic instant) of the latest packet handed to the sinks."""
        self._continues: dict[str, tuple[int, float]] = {}
        self._pts_offset: dict[str, int] = {}
        self._sinks: dict[str, list[PacketSink]] = {"audio": [], "video": []}
        self._readers: list[asyncio.Task[None]] = []
        self._keyframes: KeyframeRequester | None = None
        self._nacks: NackRepeater | None = None

    def continue_from(self, previous: PacketTimeline) -> None:
        """This peer replaces ``previous`` under the same stream (the client's network changed):
        its packets' pts go on from where ``previous``'s stopped, advanced by the time between
        (call before :meth:`answer`). Everything downstream (subscribers' senders, recorders)
        sees one timeline with a gap, never a jump back to a new peer's zero."""
        self._continues = dict(previous.last_packet)

    async def answer(self, offer_sdp: str) -> str:
        """Answer a sendonly offer; returns the answer SDP (all candidates gathered)."""
        await self._answer(offer_sdp)
        for transceiver in self.pc.getTransceivers():
            kind = transceiver.kind
            receiver = transceiver.receiver
            if receiver.track is None or kind in self.receivers:
                continue
            seams.mark_passthrough(receiver)
            self.receivers[kind] = receiver
        if not self.receivers:
            raise OfferRefused("the offer has no audio or video to receive")
        sdp = await self._finish_answer()
        self.codecs = {k: v for k, v in _answer_codecs(sdp).items() if k in self.receivers}
        for kind, receiver in self.receivers.items():
            rate = self.codecs[kind].clock_rate if kind in self.codecs else (90_000 if kind == "video" else 48_000)
            timing = TrackTiming(kind, rate, functools.partial(self._rtp_origin, kind, receiver))
            self.timing[kind] = timing
            seams.on_sender_report(receiver, self._sender_report_handler(kind, receiver, timing))
            seams.on_rtp_packet(receiver, self._arrival_handler(receiver, timing))
        if "video" in self.receivers:
            self._keyframes = KeyframeRequester(self.receivers["video"])
            self._nacks = NackRepeater(self.receivers["video"])
            self._nacks.start()
        loop = asyncio.get_running_loop()
        for kind, receiver in self.receivers.items():
            self._readers.append(loop.create_task(self._read(kind, receiver.track), name=f"read-{kind}"))
        return sdp

    def _rtp_origin(self, kind: str, receiver: RTCRtpReceiver) -> int | None:
        """The raw RTP timestamp of ``pts == 0`` for this peer's packets (their pts carry the
        continuation offset, if any); None until the first packet has been read."""
        origin = seams.rtp_origin(receiver)
        if origin is None or (kind in self._continues and kind not in self._pts_offset):
            return None
        return origin - self._pts_offset.get(kind, 0)

    def _continue_pts(self, kind: str, pts: int, now: float) -> int:
        """The continuation offset of ``kind``, fixed at its first packet."""
        offset = self._pts_offset.get(kind)
        if offset is None:
            last = self._continues.get(kind)
            offset = 0
            if last is not None:
                last_pts, last_at = last
                offset = last_pts + max(1, round((now - last_at) * self.timing[kind].clock_rate)) - pts
            self._pts_offset[kind] = offset
        return offset

    @staticmethod
    def _arrival_handler(receiver: RTCRtpReceiver, timing: TrackTiming) -> seams.RtpArrivalCallback:
        def handle(ssrc: int, rtp: int, arrival: float) -> None:
            if ssrc not in seams.rtx_ssrcs(receiver):  # retransmissions say nothing of the clock
                timing.packet(rtp, arrival)

        return handle

    def _sender_report_handler(
        self, kind: str, receiver: RTCRtpReceiver, timing: TrackTiming
    ) -> seams.SenderReportCallback:
        def handle(ssrc: int, ntp: int, rtp: int) -> None:
            if ssrc in seams.rtx_ssrcs(receiver):
                return
            now = time.monotonic()
            timing.report(rtp, ntp / 2**32, now)
            self.sender_reports[kind] = SenderReport(ssrc, ntp / 2**32, rtp, now)

        return handle

    async def _read(self, kind: str, track: MediaStreamTrack) -> None:
        """Read every packet (drains what nobody wants) and hand it to the sinks."""
        try:
            while True:
                packet = await track.recv()
                if not isinstance(packet, av.Packet):
                    raise MediaError(f"pass-through seam returned {type(packet).__name__}, not a packet")
                now = time.monotonic()
                pts = int(packet.pts or 0)  # the seam always stamps one
                offset = self._continue_pts(kind, pts, now)
                if offset:
                    pts += offset
                    packet.pts = packet.dts = pts
                self.last_packet[kind] = (pts, now)
                self.packets[kind] = self.packets.get(kind, 0) + 1
                if self._continues and kind == "video" and not self.keyframes and not packet.is_keyframe:
                    # a replacement goes on from a keyframe: what follows the old peer's frames
                    # must not reference them (its first frames may have been lost on the way)
                    self.request_keyframe()
                    continue
                if packet.is_keyframe and kind == "video":
                    self.keyframes[kind] = self.keyframes.get(kind, 0) + 1
                self.flowing.set()
                for sink in list(self._sinks[kind]):
                    try:
                        sink(packet)
                    except Exception:
                        log.exception("packet sink failed; removed", peer=self.label, kind=kind)
                        self.remove_packet_sink(kind, sink)
        except MediaStreamError:
            return

    # ---- consumers ---------------------------------------------------------------------------
    def add_packet_sink(self, kind: str, sink: PacketSink) -> Callable[[], None]:
        """Get every encoded packet of ``kind`` from now on (``sink`` must not block). The
        recorder uses this; call ``request_keyframe()`` to start video at a keyframe soon.
        Returns a function that removes the sink."""
        if kind not in self._sinks:
            raise ValueError(f"unknown kind {kind!r}")
        self._sinks[kind].append(sink)
        return lambda: self.remove_packet_sink(kind, sink)

    def remove_packet_sink(self, kind: str, sink: PacketSink) -> None:
        with contextlib.suppress(ValueError):
            self._sinks[kind].remove(sink)

    def add_packet_queue(
        self, kind: str, maxsize: int = 512
    ) -> tuple[asyncio.Queue[EncodedPacket], Callable[[], None]]:
        """Packets of ``kind`` in an asyncio queue (oldest dropped when full) and its remover."""
        queue: asyncio.Queue[EncodedPacket] = asyncio.Queue(maxsize)

        def put(packet: EncodedPacket) -> None:
            if queue.full():
                queue.get_nowait()
            queue.put_nowait(packet)

        return queue, self.add_packet_sink(kind, put)

    def sink_count(self, kind: str) -> int:
        return len(self._sinks[kind])

    def request_keyframe(self) -> None:
        """Ask the publisher for a keyframe (rate-limited; no-op without video)."""
        if self._keyframes is not None and not self.closed:
            self._keyframes.request()

    @property
    def pli_sent(self) -> int:
        return self._keyframes.sent if self._keyframes is not None else 0

    async def wait_flowing(self, timeout: float) -> bool:
        try:
            await asyncio.wait_for(self.flowing.wait(), timeout)
        except TimeoutError:
            return False
        return True

    def stats(self) -> dict[str, Any]:
        nacks = self._nacks
        return {"packets": dict(self.packets), "keyframes": dict(self.keyframes), "pli_sent": self.pli_sent,
                "nack_repeated": nacks.repeated if nacks else 0, "nack_recovered": nacks.recovered if nacks else 0}

    async def _close(self) -> None:
        failures = Failures(f"closing {self.label}")
        log.info("publisher peer closing", peer=self.label, **self.stats())
        for sinks in self._sinks.values():
            sinks.clear()
        if self._keyframes is not None:
            with failures.catch():
                await self._keyframes.close()
        if self._nacks is not None:
            with failures.catch():
                await self._nacks.close()
        with failures.catch():
            await self.pc.close()
        for task in self._readers:
            task.cancel()
        results = await asyncio.gather(*self._readers, return_exceptions=True)
        failures.errors += [r for r in results if isinstance(r, Exception)]
        failures.raise_any()


class PacketTimeline(Protocol):
    """Where a publisher's packets stopped (what a replacement continues from)."""

    @property
    def last_packet(self) -> Mapping[str, tuple[int, float]]: ...


class PacketSource(Protocol):
    """What a subscriber needs of the publisher it forwards (a :class:`PublisherPeer`)."""

    @property
    def closed(self) -> bool: ...

    @property
    def codecs(self) -> Mapping[str, CodecInfo]: ...

    def request_keyframe(self) -> None: ...

    def add_packet_sink(self, kind: str, sink: PacketSink) -> Callable[[], None]: ...


class SubscriberPeer(_Peer):
    """The server's end of a subscription: sends the publisher's packets, codec pinned."""

    def __init__(self, publisher: PacketSource, label: str = "subscriber", ice: IceConfig | None = None) -> None:
        super().__init__(label, ice)
        self.publisher = publisher
        self.tracks: dict[str, PacketTrack] = {}
        self._removers: list[Callable[[], None]] = []

    async def answer(self, offer_sdp: str, *, audio: bool = True, video: bool = True) -> str:
        """Answer a recvonly offer with a track of the publisher's packets for every kind both
        have; ``audio`` / ``video``: forwarded from the start or not (:meth:`set_forwarding`)."""
        if self.publisher.closed:
            raise MediaError("the stream's media is closed")
        try:
            offered = {m.kind for m in SessionDescription.parse(offer_sdp).media}
        except Exception as exc:
            raise OfferRefused(f"invalid offer: {exc}") from exc
        for kind, codec in self.publisher.codecs.items():
            if kind not in offered:
                continue
            track = PacketTrack(kind, self._request_keyframe)
            transceiver = self.pc.addTransceiver(track, direction="sendonly")
            transceiver.setCodecPreferences(codec_preferences(codec))
            seams.on_keyframe_request(transceiver.sender, track.need_keyframe)
            self.tracks[kind] = track
        if not self.tracks:
            raise OfferRefused("nothing to subscribe to (no common media kind)")
        self.set_forwarding(audio=audio, video=video)
        await self._answer(offer_sdp)
        sdp = await self._finish_answer()
        self._attach()
        return sdp

    def _attach(self) -> None:
        for kind, track in self.tracks.items():
            self._removers.append(self.publisher.add_packet_sink(kind, track.push))

    def _detach(self) -> None:
        for remove in self._removers:
            remove()
        self._removers.clear()

    def _request_keyframe(self) -> None:
        self.publisher.request_keyframe()  # whichever publisher it forwards now

    def switch_source(self, publisher: PacketSource) -> None:
        """Forward another publisher's packets from now on: the stream's media was replaced
        (same codecs; its timeline continues, see :meth:`PublisherPeer.continue_from`). Video
        resumes at a keyframe, asked for."""
        answered = bool(self._removers)
        self._detach()
        self.publisher = publisher
        if not answered:  # answer() adds the sinks, on the new publisher
            return
        self._attach()
        for track in self.tracks.values():
            track.restart()

    def set_forwarding(self, *, audio: bool, video: bool) -> None:
        """Send that kind or not: a track turned off sends nothing (no RTP at all), one turned
        back on starts at a keyframe."""
        for kind, on in (("audio", audio), ("video", video)):
            track = self.tracks.get(kind)
            if track is not None:
                track.set_enabled(on)

    def forwarded(self, kind: str) -> int:
        track = self.tracks.get(kind)
        return track.forwarded if track is not None else 0

    def stats(self) -> dict[str, Any]:
        return {
            "forwarded": {kind: t.forwarded for kind, t in self.tracks.items()},
            "dropped": {kind: t.dropped for kind, t in self.tracks.items()},
        }

    async def _close(self) -> None:
        self._detach()
        for track in self.tracks.values():
            track.stop()
        await self.pc.close()
