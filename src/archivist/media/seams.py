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
- NACK repeats: aiortc's receiver NACKs a missing packet once, when it sees the gap (again only
  when a later gap appears), and its video jitter buffer holds every frame behind a missing
  packet until 512 packets have passed: a lost retransmission froze the picture for seconds.
  :func:`missing_packets` reads the receiver's ``NackGenerator.missing`` and :func:`send_nack`
  calls its ``_send_rtcp_nack`` so ``media/nack.py`` repeats the request.
- ICE gathering (aioice): :func:`configure_gathering` wraps one peer connection's aioice
  ``Connection.get_component_candidates`` per instance: host candidates only on the chosen
  addresses, host candidates re-addressed to announced (public) addresses, and every UDP socket
  bound by a given binder (the port range). aioice binds with ``asyncio.get_running_loop()
  .create_datagram_endpoint(local_addr=(address, 0))`` (host candidates) and ``(remote_addr=
  turn_server)`` (TURN over UDP); ``aioice.ice.asyncio`` and ``aioice.turn.asyncio`` are the
  ``asyncio`` module except that, while one of our gatherings runs (a context variable), the
  loop they get binds those sockets with the binder. :func:`ice_routes` reads the nominated pair.
- ICE triggered checks (aioice): :func:`retrigger_in_progress_checks` wraps a connection's
  ``check_incoming`` per instance so a check received on a pair whose own check is in progress
  restarts that check at once (RFC 8445 section 7.3.1.4) instead of waiting for aioice's 500 ms
  retransmission: through TURN the server's first check is often dropped (no permission yet).
"""

from __future__ import annotations

import asyncio
import contextvars
import fractions
import socket
import threading
import time
import weakref
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeAlias

import aioice.ice
import aioice.turn
import av
from aioice import Candidate
from aioice.candidate import candidate_foundation
from aiortc import RTCPeerConnection, RTCRtpReceiver, RTCRtpSender
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
    if not hasattr(_receiver_mod, "NackGenerator") or not isinstance(
        getattr(_receiver_mod.NackGenerator(), "missing", None), set
    ):
        missing.append("aiortc.rtcrtpreceiver.NackGenerator.missing")
    for name in ("_send_rtcp_pli", "_send_rtcp_nack", "_handle_rtcp_packet", "_handle_rtp_packet",
                 "getSynchronizationSources"):
        if not hasattr(RTCRtpReceiver, name):
            missing.append(f"RTCRtpReceiver.{name}")
    for name in ("_send_keyframe", "_handle_rtcp_packet"):
        if not hasattr(RTCRtpSender, name):
            missing.append(f"RTCRtpSender.{name}")
    for module, name in ((aioice.ice, "asyncio"), (aioice.turn, "asyncio"), (aioice.ice, "get_host_addresses")):
        if not hasattr(module, name):
            missing.append(f"{module.__name__}.{name}")
    if not hasattr(aioice.ice.Connection, "get_component_candidates"):
        missing.append("aioice.ice.Connection.get_component_candidates")
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


# ---- NACK repeats -----------------------------------------------------------------------------
def missing_packets(receiver: RTCRtpReceiver) -> set[int]:
    """Sequence numbers the receiver's NACK generator holds as missing (video only; empty for
    audio, which aiortc does not NACK)."""
    generator = getattr(receiver, "_RTCRtpReceiver__nack_generator", None)
    missing = getattr(generator, "missing", None)
    return set(missing) if isinstance(missing, set) else set()


async def send_nack(receiver: RTCRtpReceiver, sequence_numbers: list[int]) -> int:
    """NACK ``sequence_numbers`` to the remote publisher (RFC 4585 generic NACK) for each media
    SSRC; returns how many SSRCs were asked."""
    ssrcs = media_ssrcs(receiver)
    for ssrc in ssrcs:
        await receiver._send_rtcp_nack(ssrc, sequence_numbers)
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


# ---- ICE gathering: port range, host addresses, announced addresses --------------------------
Binder = Callable[[int, str], socket.socket]
"""``bind(family, host)``: a bound, unconnected UDP socket on a port of the range, or raise."""


@dataclass(frozen=True)
class IceRoute:
    """The candidate pair an ICE connection nominated (types: host, srflx, prflx, relay)."""

    local_type: str
    local_address: str
    local_port: int
    remote_type: str
    remote_address: str
    remote_port: int


class _Gathering:
    """The binder of one gathering, and the first error it raised (a full range)."""

    def __init__(self, bind: Binder) -> None:
        self._bind = bind
        self.error: OSError | None = None

    def bind(self, family: int, host: str) -> socket.socket:
        try:
            return self._bind(family, host)
        except OSError as exc:
            if self.error is None:
                self.error = exc
            raise


_gathering: contextvars.ContextVar[_Gathering | None] = contextvars.ContextVar("archivist_gathering", default=None)


class _BindingLoop:
    """The running loop as aioice sees it during one of our gatherings: its UDP sockets (host
    candidates, ``local_addr=(address, 0)``; TURN over UDP, ``remote_addr=server``) are bound by
    the gathering's binder; everything else is the real loop."""

    def __init__(self, loop: asyncio.AbstractEventLoop, gathering: _Gathering) -> None:
        self._loop = loop
        self._gathering = gathering

    def __getattr__(self, name: str) -> Any:
        return getattr(self._loop, name)

    async def create_datagram_endpoint(
        self,
        protocol_factory: Callable[[], Any],
        local_addr: tuple[str, int] | None = None,
        remote_addr: tuple[str, int] | None = None,
        **kwargs: Any,
    ) -> tuple[Any, Any]:
        if local_addr is not None and remote_addr is None and local_addr[1] == 0:
            family = socket.AF_INET6 if ":" in local_addr[0] else socket.AF_INET
            sock = self._gathering.bind(family, local_addr[0])
        elif remote_addr is not None and local_addr is None:
            infos = await self._loop.getaddrinfo(remote_addr[0], remote_addr[1], type=socket.SOCK_DGRAM)
            family, _, _, _, address = infos[0]
            sock = self._gathering.bind(family, "::" if family == socket.AF_INET6 else "0.0.0.0")
            try:
                sock.connect(address)
            except BaseException:
                sock.close()
                raise
        else:
            return await self._loop.create_datagram_endpoint(
                protocol_factory, local_addr=local_addr, remote_addr=remote_addr, **kwargs
            )
        try:
            sock.setblocking(False)
            return await self._loop.create_datagram_endpoint(protocol_factory, sock=sock, **kwargs)
        except BaseException:
            sock.close()
            raise


class _AsyncioForAioice:
    """Stands in for the ``asyncio`` module inside ``aioice.ice`` and ``aioice.turn``: the same
    module, except that ``get_running_loop()`` returns a :class:`_BindingLoop` while one of our
    gatherings runs (a context variable: other peers in the process are not affected)."""

    def __getattr__(self, name: str) -> Any:
        return getattr(asyncio, name)

    @staticmethod
    def get_running_loop() -> Any:
        loop = asyncio.get_running_loop()
        gathering = _gathering.get()
        return loop if gathering is None else _BindingLoop(loop, gathering)


_aioice_asyncio = _AsyncioForAioice()


def install_gathering() -> None:
    """Install the module-level gathering seam (idempotent, process-wide, harmless to others)."""
    with _lock:
        missing = [m for m in check() if m.startswith("aioice")]
        if missing:
            raise RuntimeError(f"aioice internals changed, missing: {', '.join(missing)}")
        ice: Any = aioice.ice
        turn: Any = aioice.turn
        ice.asyncio = _aioice_asyncio
        turn.asyncio = _aioice_asyncio


def _ice_connections(pc: RTCPeerConnection) -> list[Any]:
    """The aioice connections of a peer connection's (bundled) ICE transports."""
    seen: dict[int, Any] = {}
    for transceiver in pc.getTransceivers():
        gatherer = transceiver.receiver.transport.transport.iceGatherer
        connection = gatherer._connection
        seen.setdefault(id(connection), connection)
    return list(seen.values())


def configure_gathering(
    pc: RTCPeerConnection, *, bind: Binder | None, hosts: Sequence[str], announce: Sequence[str]
) -> None:
    """Before ``pc`` gathers (after setRemoteDescription, so bundling is settled): its UDP
    sockets are bound by ``bind`` (None: any port), host candidates are gathered only on
    ``hosts`` (empty: every interface, aioice's default) and, when ``announce`` has addresses of
    a candidate's family, announced on those instead of the interface address. The binder's
    error (a full range) is raised by the gathering, so setLocalDescription fails with it."""
    install_gathering()
    for connection in _ice_connections(pc):
        original: Callable[..., Awaitable[list[Candidate]]] = connection.get_component_candidates

        async def get_component_candidates(
            component: int, addresses: list[str], timeout: int = 5, *, _original: Any = original
        ) -> list[Candidate]:
            if hosts and addresses:  # an empty list means no host candidates (relay policy)
                addresses = list(hosts)
            gathering = _Gathering(bind) if bind is not None else None
            token = _gathering.set(gathering)
            try:
                candidates: list[Candidate] = await _original(component=component, addresses=addresses, timeout=timeout)
            finally:
                _gathering.reset(token)
            if gathering is not None and gathering.error is not None:
                raise gathering.error
            return announced_candidates(candidates, announce)

        connection.get_component_candidates = get_component_candidates
        retrigger_in_progress_checks(connection)


def retrigger_in_progress_checks(connection: Any) -> None:
    """RFC 8445 section 7.3.1.4: a check received on a pair whose own check is in progress
    cancels that transaction and triggers a new check at once. aioice leaves the first one to
    its retransmission timer (500 ms): when that first check was dropped (a TURN server
    without the permission yet, a NAT binding not yet open) the pair waits half a second."""
    original: Callable[[Any, tuple[str, int], Any], None] = connection.check_incoming
    in_progress = aioice.ice.CandidatePair.State.IN_PROGRESS

    def check_incoming(message: Any, addr: tuple[str, int], protocol: Any) -> None:
        for pair in connection._check_list:
            if pair.protocol is protocol and pair.remote_addr == addr and pair.state == in_progress:
                task = pair.task
                if task is not None and not task.done():
                    task.cancel()
                    pair.task = None
                    connection.check_state(pair, aioice.ice.CandidatePair.State.WAITING)
                break
        original(message, addr, protocol)

    connection.check_incoming = check_incoming


def announced_candidates(candidates: Sequence[Candidate], announce: Sequence[str]) -> list[Candidate]:
    """Host candidates re-addressed to ``announce`` (same port: a 1:1 NAT keeps ports), one per
    announced address of the candidate's family; other candidates as they are; no duplicates."""
    out: list[Candidate] = []
    seen: set[tuple[str, int, str]] = set()

    def add(candidate: Candidate) -> None:
        key = (candidate.host, candidate.port, candidate.transport)
        if key not in seen:
            seen.add(key)
            out.append(candidate)

    for c in candidates:
        family = [a for a in announce if (":" in a) == (":" in c.host)]
        if c.type != "host" or not family:
            add(c)
            continue
        for address in family:
            add(Candidate(
                foundation=candidate_foundation("host", c.transport, address),
                component=c.component,
                transport=c.transport,
                priority=c.priority,
                host=address,
                port=c.port,
                type="host",
            ))
    return out


def ice_routes(pc: RTCPeerConnection) -> list[IceRoute]:
    """The nominated candidate pair of each ICE connection of ``pc`` (empty until connected)."""
    routes = []
    for connection in _ice_connections(pc):
        pair = getattr(connection, "_nominated", {}).get(1)
        if pair is None:
            continue
        local, remote = pair.local_candidate, pair.remote_candidate
        routes.append(IceRoute(local.type, local.host, local.port, remote.type, remote.host, remote.port))
    return routes
