"""Every place where Archivist reaches into aiortc/aioice internals, and nothing else.

aiortc 1.16 has no public API for encoded frames on the receive side, does not forward
keyframe requests of a pass-through sender, and drops the RTP half of RTCP sender reports.
The seams below fix that; ``tests/media/test_seams.py`` fails loudly when an aiortc upgrade
moves any of them (``check()`` lists what is missing).

- pass-through receive: ``aiortc.rtcrtpreceiver.decoder_worker`` (the receiver's decoder
  thread body) and ``aiortc.rtcrtpreceiver.get_decoder`` (looked up at call time) are wrapped;
  for a receiver marked with :func:`mark_passthrough` the "decoder" returns one ``av.Packet``
  per encoded frame (pts = RTP timestamp, time_base = 1/clock rate, keyframe flag), so
  ``receiver.track.recv()`` yields packets. Unmarked receivers keep decoding as usual.
- keyframe requests: a sender's PLI/FIR calls ``RTCRtpSender._send_keyframe()`` (it only flags
  an encoder); :func:`on_keyframe_request` replaces it per instance with a callback, and
  :func:`send_pli` sends a PLI from a receiver to the remote publisher.
- RTCP sender reports: :func:`on_sender_report` wraps a receiver's ``_handle_rtcp_packet`` per
  instance and reports ``(ssrc, ntp_timestamp, rtp_timestamp)``. The receiver hands its frames
  on with RTP timestamps rebased to its first packet (``TimestampMapper``); :func:`rtp_origin`
  reads that base so a report's RTP timestamp can be rebased the same way.
- packet arrival: :func:`on_rtp_packet` wraps a receiver's ``_handle_rtp_packet`` per instance and
  reports ``(ssrc, rtp_timestamp, arrival)`` of every packet, ``arrival`` taken as it comes off
  the network, before the jitter buffer (which holds audio back ~60-80 ms): the recorder's lip
  sync needs that instant (``media/timing.py``).
- host addresses: :func:`restrict_host_addresses` makes aioice gather only the given addresses.
"""

from __future__ import annotations

import fractions
import threading
import time
import weakref
from collections.abc import Awaitable, Callable, Sequence
from typing import TYPE_CHECKING, Any, TypeAlias

import aioice.ice
import av
from aiortc import RTCRtpReceiver, RTCRtpSender
from aiortc import rtcrtpreceiver as _receiver_mod
from aiortc.rtp import RtcpSrPacket

if TYPE_CHECKING:
    EncodedPacket: TypeAlias = av.Packet[Any]
else:
    EncodedPacket = av.Packet
"""An encoded frame as it travels through the server (``av.Packet`` with no stream)."""

_lock = threading.Lock()
_installed = False
_original_worker: Callable[..., None] | None = None
_original_get_decoder: Callable[[Any], Any] | None = None
_passthrough_queues: weakref.WeakSet[Any] = weakref.WeakSet()
_thread_state = threading.local()


def check() -> list[str]:
    """Names of the aiortc internals the seams need that are missing (empty: all present)."""
    missing: list[str] = []
    for name in ("decoder_worker", "get_decoder", "RemoteStreamTrack"):
        if not hasattr(_receiver_mod, name):
            missing.append(f"aiortc.rtcrtpreceiver.{name}")
    for name in ("_send_rtcp_pli", "_handle_rtcp_packet", "_handle_rtp_packet", "getSynchronizationSources"):
        if not hasattr(RTCRtpReceiver, name):
            missing.append(f"RTCRtpReceiver.{name}")
    for name in ("_send_keyframe", "_handle_rtcp_packet"):
        if not hasattr(RTCRtpSender, name):
            missing.append(f"RTCRtpSender.{name}")
    if not hasattr(aioice.ice, "get_host_addresses"):
        missing.append("aioice.ice.get_host_addresses")
    return missing


# ---- pass-through receive --------------------------------------------------------------------
class PassThroughDecoder:
    """Stands in for aiortc's decoder: turns a ``JitterFrame`` into one ``av.Packet``."""

    def __init__(self, mime_type: str, clock_rate: int) -> None:
        self.kind_codec = mime_type.lower()
        self.time_base = fractions.Fraction(1, clock_rate)

    def decode(self, encoded_frame: Any) -> list[EncodedPacket]:
        data: bytes = encoded_frame.data
        packet = av.Packet(data)
        packet.pts = int(encoded_frame.timestamp)
        packet.dts = packet.pts
        packet.time_base = self.time_base
        packet.is_keyframe = is_keyframe(self.kind_codec, data)
        return [packet]


def is_keyframe(mime_type: str, data: bytes) -> bool:
    """Keyframe flag from a depayloaded frame: VP8 frame tag, H.264 IDR NAL; audio always."""
    mime = mime_type.lower()
    if mime == "video/vp8":
        return len(data) > 0 and (data[0] & 0x01) == 0
    if mime == "video/h264":
        i, n = 0, len(data)
        while i + 3 < n:
            if data[i] == 0 and data[i + 1] == 0 and data[i + 2] == 1:
                if data[i + 3] & 0x1F == 5:
                    return True
                i += 3
            else:
                i += 1
        return False
    return not mime.startswith("video/")


def _worker(loop: Any, input_q: Any, output_q: Any, decode_error: Any) -> None:
    _thread_state.output_q = output_q
    assert _original_worker is not None
    _original_worker(loop, input_q, output_q, decode_error)


def _get_decoder(codec: Any) -> Any:
    # asked when the first frame (or a new codec) arrives: a receiver marked any time before
    # its first frame gets packets
    if getattr(_thread_state, "output_q", None) in _passthrough_queues:
        return PassThroughDecoder(codec.mimeType, codec.clockRate)
    assert _original_get_decoder is not None
    return _original_get_decoder(codec)


def install() -> None:
    """Install the module-level receive seam (idempotent, process-wide, harmless to others)."""
    global _installed, _original_worker, _original_get_decoder
    with _lock:
        if _installed:
            return
        missing = check()
        if missing:
            raise RuntimeError(f"aiortc internals changed, missing: {', '.join(missing)}")
        mod: Any = _receiver_mod
        _original_worker = mod.decoder_worker
        _original_get_decoder = mod.get_decoder
        mod.decoder_worker = _worker
        mod.get_decoder = _get_decoder
        _installed = True


def mark_passthrough(receiver: RTCRtpReceiver) -> None:
    """Make ``receiver.track.recv()`` return ``av.Packet``s. Call after setRemoteDescription
    (the track exists) and before the first frame arrives (media needs ICE and DTLS first)."""
    install()
    track = receiver.track
    if track is None or not hasattr(track, "_queue"):
        raise RuntimeError("receiver has no remote track yet: call after setRemoteDescription")
    _passthrough_queues.add(track._queue)


# ---- keyframe requests -----------------------------------------------------------------------
def on_keyframe_request(sender: RTCRtpSender, callback: Callable[[], None]) -> None:
    """Call ``callback`` when the remote end of ``sender`` asks for a keyframe (PLI/FIR)."""
    target: Any = sender
    target._send_keyframe = callback


def rtx_ssrcs(receiver: RTCRtpReceiver) -> set[int]:
    """SSRCs of the receiver's retransmission (RTX) streams, as negotiated."""
    rtx: dict[int, int] = getattr(receiver, "_RTCRtpReceiver__rtx_ssrc", {})
    return set(rtx)


def media_ssrcs(receiver: RTCRtpReceiver) -> list[int]:
    """SSRCs of the media (not RTX) the receiver got in the last 10 s."""
    rtx = rtx_ssrcs(receiver)
    return [s.source for s in receiver.getSynchronizationSources() if s.source not in rtx]


async def send_pli(receiver: RTCRtpReceiver) -> int:
    """Ask the remote publisher for a keyframe; returns how many SSRCs were asked."""
    ssrcs = media_ssrcs(receiver)
    for ssrc in ssrcs:
        await receiver._send_rtcp_pli(ssrc)
    return len(ssrcs)


# ---- RTCP sender reports ---------------------------------------------------------------------
def rtp_origin(receiver: RTCRtpReceiver) -> int | None:
    """The RTP timestamp the receiver's frame timestamps count from (None before the first
    packet): a frame's ``timestamp`` (and so a pass-through packet's pts) is ``rtp - origin``."""
    mapper = getattr(receiver, "_RTCRtpReceiver__timestamp_mapper", None)
    if mapper is None or not hasattr(mapper, "_origin"):
        raise RuntimeError("aiortc internals changed: RTCRtpReceiver.__timestamp_mapper._origin is gone")
    origin = mapper._origin
    return None if origin is None else int(origin)


SenderReportCallback = Callable[[int, int, int], None]


def on_sender_report(receiver: RTCRtpReceiver, callback: SenderReportCallback) -> None:
    """Call ``callback(ssrc, ntp_timestamp, rtp_timestamp)`` for every RTCP SR received."""
    original: Callable[[Any], Awaitable[None]] = receiver._handle_rtcp_packet

    async def handle(packet: Any) -> None:
        if isinstance(packet, RtcpSrPacket):
            info = packet.sender_info
            callback(packet.ssrc, int(info.ntp_timestamp), int(info.rtp_timestamp))
        await original(packet)

    target: Any = receiver
    target._handle_rtcp_packet = handle


# ---- RTP packet arrival -----------------------------------------------------------------------
RtpArrivalCallback = Callable[[int, int, float], None]


def on_rtp_packet(receiver: RTCRtpReceiver, callback: RtpArrivalCallback) -> None:
    """Call ``callback(ssrc, rtp_timestamp, arrival)`` for every RTP packet the receiver gets:
    ``arrival`` is ``time.monotonic()`` as it reaches the receiver, before depacketizing and the
    jitter buffer (which holds audio back ~60-80 ms); RTX packets included, with the RTX SSRC.
    Called after the receiver has handled the packet, so the receiver's timestamp origin
    (:func:`rtp_origin`) is known by then."""
    original: Callable[..., Awaitable[None]] = receiver._handle_rtp_packet

    async def handle(packet: Any, arrival_time_ms: int) -> None:
        arrival = time.monotonic()
        try:
            await original(packet, arrival_time_ms=arrival_time_ms)
        finally:
            callback(packet.ssrc, packet.timestamp, arrival)

    target: Any = receiver
    target._handle_rtp_packet = handle


# ---- ICE host addresses ----------------------------------------------------------------------
_original_host_addresses: Callable[[bool, bool], list[str]] | None = None


def local_ipv4_addresses() -> list[str]:
    """Every non-loopback IPv4 address of this machine (what aioice would gather)."""
    fn = _original_host_addresses or aioice.ice.get_host_addresses
    return [a for a in fn(True, False) if not a.startswith("127.")]


def restrict_host_addresses(addresses: Sequence[str]) -> None:
    """Gather ICE host candidates only on ``addresses`` (empty: restore aioice's default)."""
    global _original_host_addresses
    with _lock:
        if _original_host_addresses is None:
            _original_host_addresses = aioice.ice.get_host_addresses
        original = _original_host_addresses
        ice: Any = aioice.ice
        if not addresses:
            ice.get_host_addresses = original
            return
        chosen = list(addresses)

        def get_host_addresses(use_ipv4: bool, use_ipv6: bool) -> list[str]:
            return [a for a in chosen if (":" in a and use_ipv6) or (":" not in a and use_ipv4)]

        ice.get_host_addresses = get_host_addresses
