"""The aiortc internals Archivist relies on (media/seams.py). If aiortc changes, these fail
loudly: fix the seams, not the tests."""

from __future__ import annotations

import inspect

import aioice.ice
import aiortc
import aiortc.rtcdtlstransport
from aiortc import RTCPeerConnection, RTCRtpReceiver, RTCRtpSender
from aiortc import rtcrtpreceiver as receiver_mod
from aiortc.jitterbuffer import JitterFrame

from archivist.media import seams


def test_pinned_versions() -> None:
    assert aiortc.__version__ == "1.16.0", "seams were verified against aiortc 1.16.0 only"


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


def test_host_address_seam() -> None:
    assert "get_host_addresses(" in inspect.getsource(aioice.ice.Connection.gather_candidates)
    try:
        seams.restrict_host_addresses(["192.0.2.77"])
        assert aioice.ice.get_host_addresses(True, False) == ["192.0.2.77"]
        assert aioice.ice.get_host_addresses(False, True) == []
    finally:
        seams.restrict_host_addresses([])
    assert all(not a.startswith("127.") for a in seams.local_ipv4_addresses())
