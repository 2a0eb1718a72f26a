"""The aiortc internals Archivist relies on (media/seams.py). If aiortc changes, these fail
loudly: fix the seams, not the tests."""

from __future__ import annotations

import asyncio
import inspect
import time

import aioice
import aioice.ice
import aioice.stun
import aioice.turn
import aiortc
import aiortc.rtcdtlstransport
import aiortc.rtcicetransport
import aiortc.rtcpeerconnection
from aiortc import RTCPeerConnection, RTCRtpReceiver, RTCRtpSender
from aiortc import rtcrtpreceiver as receiver_mod
from aiortc.jitterbuffer import JitterFrame

from archivist.media import seams


def test_pinned_versions() -> None:
    assert aiortc.__version__ == "1.16.0", "seams were verified against aiortc 1.16.0 only"
    assert aioice.__version__ == "0.13.0", "the gathering seam was verified against aioice 0.13.0 only"


def test_every_internal_is_present() -> None:
    assert seams.check() == []


def test_decoder_worker_signature_and_lookup() -> None:
    # decoder_worker(loop, input_q, output_q, decode_error) looks get_decoder up at call time
    worker = seams._original_worker or receiver_mod.decoder_worker
    params = list(inspect.signature(worker).parameters)
    assert params == ["loop", "input_q", "output_q", "decode_error"]
    source = inspect.getsource(receiver_mod.RTCRtpReceiver.receive)
    assert "target=decoder_worker" in source and "self._track._queue" in source
    assert "get_decoder(codec)" in inspect.getsource(worker)
    assert "decoder.decode(encoded_frame)" in inspect.getsource(worker)


def test_install_wraps_and_keeps_normal_decoding() -> None:
    seams.install()
    assert receiver_mod.decoder_worker is seams._worker
    assert receiver_mod.get_decoder is seams._get_decoder
    # outside a pass-through decoder thread, the real decoder comes back
    codec = RTCRtpReceiver.getCapabilities("video").codecs[0]

    class Params:
        mimeType = codec.mimeType
        clockRate = codec.clockRate

    assert not isinstance(seams._get_decoder(Params()), seams.PassThroughDecoder)


def test_passthrough_decoder_packets() -> None:
    dec = seams.PassThroughDecoder("video/VP8", 90000)
    [key] = dec.decode(JitterFrame(bytes([0x10, 0, 0, 0x9D, 0x01, 0x2A]), 3000))
    assert key.pts == 3000 and key.time_base.denominator == 90000 and key.is_keyframe
    [delta] = dec.decode(JitterFrame(bytes([0x11, 0, 0]), 6000))
    assert not delta.is_keyframe and bytes(delta) == bytes([0x11, 0, 0])
    h264 = seams.PassThroughDecoder("video/H264", 90000)
    idr = b"\x00\x00\x00\x01\x67\x42" + b"\x00\x00\x00\x01\x68\xce" + b"\x00\x00\x00\x01\x65\x88"
    assert h264.decode(JitterFrame(idr, 0))[0].is_keyframe
    assert not h264.decode(JitterFrame(b"\x00\x00\x00\x01\x41\x9a", 0))[0].is_keyframe
    assert seams.PassThroughDecoder("audio/opus", 48000).decode(JitterFrame(b"\xfc", 960))[0].is_keyframe


async def test_keyframe_seams_on_real_objects() -> None:
    # a sender calls self._send_keyframe() on PLI/FIR; a receiver has _send_rtcp_pli(ssrc)
    assert "self._send_keyframe()" in inspect.getsource(RTCRtpSender._handle_rtcp_packet)
    assert list(inspect.signature(RTCRtpReceiver._send_rtcp_pli).parameters) == ["self", "media_ssrc"]
    pc = RTCPeerConnection()
    transceiver = pc.addTransceiver("video", direction="sendrecv")
    called: list[int] = []
    seams.on_keyframe_request(transceiver.sender, lambda: called.append(1))
    transceiver.sender._send_keyframe()
    assert called == [1]
    # rtx map and SR hook exist on a real receiver
    receiver = transceiver.receiver
    assert isinstance(receiver._RTCRtpReceiver__rtx_ssrc, dict)
    assert seams.media_ssrcs(receiver) == []
    reports: list[tuple[int, int, int]] = []
    seams.on_sender_report(receiver, lambda *a: reports.append(a))
    assert receiver._handle_rtcp_packet.__name__ == "handle"
    await pc.close()


async def test_nack_seams_on_a_real_receiver() -> None:
    # a video receiver holds a NackGenerator whose ``missing`` set the repeater reads, and
    # NACKs once per new gap (media/nack.py repeats it); _send_rtcp_nack(ssrc, lost)
    assert list(inspect.signature(RTCRtpReceiver._send_rtcp_nack).parameters) == ["self", "media_ssrc", "lost"]
    source = inspect.getsource(RTCRtpReceiver._handle_rtp_packet)
    assert "self.__nack_generator.add(packet)" in source
    assert "sorted(self.__nack_generator.missing)" in source
    pc = RTCPeerConnection()
    receiver = pc.addTransceiver("video", direction="recvonly").receiver
    generator = receiver._RTCRtpReceiver__nack_generator
    generator.missing.update({7, 9})
    assert seams.missing_packets(receiver) == {7, 9}
    assert await seams.send_nack(receiver, [7, 9]) == 0  # no media SSRC seen yet: nobody to ask
    audio = pc.addTransceiver("audio", direction="recvonly").receiver
    assert seams.missing_packets(audio) == set()  # aiortc does not NACK audio
    await pc.close()


def test_sender_packs_packets_without_encoding() -> None:
    # RTCRtpSender._next_encoded_frame packs av.Packet via encoder.pack (no encode)
    source = inspect.getsource(RTCRtpSender._next_encoded_frame)
    assert "self.__encoder.pack(data)" in source and "isinstance(data, Frame)" in source


def test_sender_report_seam_needs_sender_info() -> None:
    source = inspect.getsource(RTCRtpReceiver._handle_rtcp_packet)
    assert "RtcpSrPacket" in source and "sender_info.ntp_timestamp" in source


def test_rtp_arrival_seam_matches_the_transport_call() -> None:
    # the DTLS transport hands packets to the receiver by keyword: the per-instance wrapper must
    # keep that signature
    caller = inspect.getsource(aiortc.rtcdtlstransport.RTCDtlsTransport._handle_rtp_data)
    assert "receiver._handle_rtp_packet(packet, arrival_time_ms=arrival_time_ms)" in caller
    params = list(inspect.signature(RTCRtpReceiver._handle_rtp_packet).parameters)
    assert params == ["self", "packet", "arrival_time_ms"]


def test_gathering_seam_matches_aioice() -> None:
    # host candidates: get_component_candidates(component, addresses, timeout) binds each address
    # with the running loop's create_datagram_endpoint(local_addr=(address, 0)); TURN over UDP
    # with create_datagram_endpoint(remote_addr=server_addr); both find the loop through the
    # module's own name "asyncio" (which the seam replaces)
    gather = inspect.getsource(aioice.ice.Connection.get_component_candidates)
    assert "loop = asyncio.get_running_loop()" in gather
    assert "loop.create_datagram_endpoint(" in gather and "local_addr=(address, 0)" in gather
    assert list(inspect.signature(aioice.ice.Connection.get_component_candidates).parameters) == [
        "self", "component", "addresses", "timeout"
    ]
    assert "self.get_component_candidates(component=component, addresses=addresses)" in inspect.getsource(
        aioice.ice.Connection.gather_candidates
    )
    turn = inspect.getsource(aioice.turn.create_turn_endpoint)
    assert "loop = asyncio.get_running_loop()" in turn and "remote_addr=server_addr" in turn
    assert "self.transport.sendto(data)" in inspect.getsource(aioice.turn.TurnClientUdpProtocol._send)
    # aiortc keeps the aioice connection on the gatherer; the SDP takes the gathered candidates
    assert "self._connection = Connection(" in inspect.getsource(aiortc.rtcicetransport.RTCIceGatherer.__init__)
    assert "iceGatherer.getLocalCandidates()" in inspect.getsource(aiortc.rtcpeerconnection.add_transport_description)
    seams.install_gathering()
    assert aioice.ice.asyncio is seams._aioice_asyncio and aioice.turn.asyncio is seams._aioice_asyncio
    assert seams._aioice_asyncio.sleep is asyncio.sleep


async def test_gathering_outside_a_configured_peer_is_untouched() -> None:
    seams.install_gathering()
    assert seams._aioice_asyncio.get_running_loop() is asyncio.get_running_loop()


async def test_nominated_pair_is_readable() -> None:
    assert "self._nominated[" in inspect.getsource(aioice.ice.Connection)
    pair = aioice.ice.CandidatePair
    assert isinstance(pair.local_candidate, property)
    assert "self.remote_candidate = remote_candidate" in inspect.getsource(pair.__init__)
    pc = RTCPeerConnection()
    pc.addTransceiver("video", direction="sendrecv")
    assert seams.ice_routes(pc) == []
    await pc.close()


def test_triggered_check_seam_matches_aioice() -> None:
    incoming = inspect.getsource(aioice.ice.Connection.check_incoming)
    assert "if pair.state == CandidatePair.State.WAITING:" in incoming and "self.check_start_task(pair)" in incoming
    assert "self.check_incoming(message, addr, protocol)" in inspect.getsource(aioice.ice.Connection.request_received)
    assert "if pair.task is None:" in inspect.getsource(aioice.ice.Connection.check_start_task)
    assert "self.check_state(pair, CandidatePair.State.IN_PROGRESS)" in inspect.getsource(
        aioice.ice.Connection.check_start
    )
    assert aioice.stun.RETRY_RTO == 0.5


async def test_a_dropped_first_check_is_retried_when_the_peer_checks() -> None:
    """Two aioice agents on this machine; the controlling one drops the controlled one's first
    check (as a TURN server without the permission yet would). With the seam the controlled
    agent checks again as soon as the other's check arrives, not after 500 ms."""
    from tests.servers import host_address

    controlled = aioice.Connection(ice_controlling=False, components=1)
    controlling = aioice.Connection(ice_controlling=True, components=1)
    seams.retrigger_in_progress_checks(controlled)
    host = host_address()
    for agent in (controlled, controlling):
        agent._local_candidates += await agent.get_component_candidates(component=1, addresses=[host])
        agent._local_candidates_end = True
    sent: list[float] = []
    original_send = controlled._protocols[0].send_stun

    def send_stun(message: aioice.stun.Message, addr: tuple[str, int]) -> None:
        if message.message_class == aioice.stun.Class.REQUEST:  # its checks, not its responses
            sent.append(time.monotonic())
        original_send(message, addr)

    controlled._protocols[0].send_stun = send_stun
    receiving = controlling._protocols[0]
    original_received = receiving.datagram_received
    dropped: list[bytes] = []

    def datagram_received(data: bytes, addr: tuple[str, int]) -> None:
        if not dropped:
            dropped.append(data)  # the controlled agent's first check never arrives
            return
        original_received(data, addr)

    receiving.datagram_received = datagram_received
    for a, b in ((controlled, controlling), (controlling, controlled)):
        for candidate in b.local_candidates:
            await a.add_remote_candidate(candidate)
        await a.add_remote_candidate(None)
        a.remote_username, a.remote_password = b.local_username, b.local_password
    try:
        await asyncio.wait_for(asyncio.gather(controlled.connect(), controlling.connect()), 5)
        assert dropped and len(sent) >= 2
        assert sent[1] - sent[0] < 0.4, f"second check {sent[1] - sent[0]:.3f} s after the first"
    finally:
        await controlled.close()
        await controlling.close()
