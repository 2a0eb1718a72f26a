"""Pass-through forwarding with real aiortc peers in one process (no server): publisher client ->
PublisherPeer -> SubscriberPeer -> subscriber client; keyframes, packet sinks, failure, close."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass

import av
import pytest
from aiortc import RTCConfiguration, RTCPeerConnection, RTCRtpSender, RTCSessionDescription

from archivist.client import TestPatternTrack, ToneTrack
from archivist.media import PublisherPeer, SubscriberPeer, seams


@dataclass
class Received:
    video: int = 0
    audio: int = 0
    width: int = 0
    first_at: float | None = None


async def publish(codec: str) -> tuple[RTCPeerConnection, PublisherPeer]:
    client = RTCPeerConnection(RTCConfiguration(iceServers=[]))
    client.addTransceiver(ToneTrack(), direction="sendonly")
    video = client.addTransceiver(TestPatternTrack(640, 480, 30), direction="sendonly")
    caps = RTCRtpSender.getCapabilities("video").codecs
    video.setCodecPreferences([c for c in caps if c.mimeType == f"video/{codec}"])
    await client.setLocalDescription(await client.createOffer())
    server = PublisherPeer()
    answer = await server.answer(client.localDescription.sdp)
    await client.setRemoteDescription(RTCSessionDescription(answer, "answer"))
    return client, server


async def subscribe(
    publisher: PublisherPeer,
) -> tuple[RTCPeerConnection, SubscriberPeer, Received, list[asyncio.Task[None]]]:
    client = RTCPeerConnection(RTCConfiguration(iceServers=[]))
    client.addTransceiver("audio", direction="recvonly")
    client.addTransceiver("video", direction="recvonly")
    await client.setLocalDescription(await client.createOffer())
    server = SubscriberPeer(publisher)
    answer = await server.answer(client.localDescription.sdp)
    await client.setRemoteDescription(RTCSessionDescription(answer, "answer"))
    got = Received()

    async def consume(track: object) -> None:
        while True:
            frame = await track.recv()  # type: ignore[attr-defined]
            if isinstance(frame, av.VideoFrame):
                got.video += 1
                got.width = frame.width
                got.first_at = got.first_at or time.monotonic()
            else:
                got.audio += 1

    tasks = [asyncio.create_task(consume(t.receiver.track)) for t in client.getTransceivers()]
    return client, server, got, tasks


async def until(predicate: object, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():  # type: ignore[operator]
        assert time.monotonic() < deadline, "condition not met in time"
        await asyncio.sleep(0.05)


@pytest.fixture
async def closing() -> AsyncIterator[list[object]]:
    things: list[object] = []
    yield things
    for thing in reversed(things):
        if isinstance(thing, asyncio.Task):
            thing.cancel()
        else:
            await thing.close()  # type: ignore[attr-defined]


@pytest.mark.parametrize("codec", ["VP8", "H264"])
async def test_forwarding_packets_keyframes_and_sinks(codec: str, closing: list[object]) -> None:
    pub_client, pub = await publish(codec)
    closing += [pub_client, pub]
    assert await pub.wait_flowing(10)
    assert pub.codecs["video"].mime_type == f"video/{codec}" and pub.codecs["audio"].mime_type == "audio/opus"

    # the recorder's way in: encoded packets, never frames
    queue, remove = pub.add_packet_queue("video")
    packet = await asyncio.wait_for(queue.get(), 5)
    assert isinstance(packet, av.Packet) and packet.time_base.denominator == 90000
    audio_q, remove_audio = pub.add_packet_queue("audio")
    apacket = await asyncio.wait_for(audio_q.get(), 5)
    assert apacket.time_base.denominator == 48000
    remove()
    remove_audio()
    assert pub.sink_count("video") == 0

    sub_client, sub, got, tasks = await subscribe(pub)
    closing += [sub_client, sub, *tasks]
    started = time.monotonic()
    await until(lambda: got.video >= 20 and got.audio >= 10)
    assert got.width == 640
    assert got.first_at is not None and got.first_at - started < 2.0
    assert sub.tracks["video"].forwarded >= 20
    assert pub.pli_sent >= 1  # the new subscriber asked for a keyframe

    # a PLI from the subscriber's receiver reaches the publisher as a new keyframe
    await asyncio.sleep(0.6)
    before = pub.keyframes.get("video", 0)
    video_receiver = next(t.receiver for t in sub_client.getTransceivers() if t.kind == "video")
    assert await seams.send_pli(video_receiver) == 1
    await until(lambda: pub.keyframes.get("video", 0) > before, timeout=3)

    # RTCP sender reports recorded per track (the publisher client sends one every ~1 s)
    await until(lambda: {"audio", "video"} <= set(pub.sender_reports), timeout=8)
    for kind, report in pub.sender_reports.items():
        assert report.ssrc in seams.media_ssrcs(pub.receivers[kind])
        # NTP seconds since 1900: the sender's wall clock, within a minute of ours
        assert abs(report.ntp - 2_208_988_800 - time.time()) < 60 and report.rtp >= 0

    await sub.close()
    await sub.close()  # idempotent
    assert pub.sink_count("video") == 0 and pub.sink_count("audio") == 0
    await pub.close()
    assert all(t.done() for t in pub._readers)


async def test_keyframe_requests_are_rate_limited(closing: list[object]) -> None:
    pub_client, pub = await publish("VP8")
    closing += [pub_client, pub]
    assert await pub.wait_flowing(10)
    await until(lambda: bool(seams.media_ssrcs(pub.receivers["video"])))
    await asyncio.sleep(0.6)
    sent = pub.pli_sent
    for _ in range(20):
        pub.request_keyframe()
        await asyncio.sleep(0.05)  # 1 s of requests
    await asyncio.sleep(0.6)
    # 20 requests over ~1 s, window 0.5 s: sent at 0, 0.5, 1.0 and the deferred one at 1.5
    assert 3 <= pub.pli_sent - sent <= 4


async def test_peer_failure_is_reported(closing: list[object]) -> None:
    pub_client, pub = await publish("VP8")
    closing += [pub]
    states: list[str] = []
    pub.on_state(states.append)
    assert await pub.wait_flowing(10)
    await pub_client.close()  # the client goes away (sends DTLS close_notify)
    await until(lambda: "closed" in states or "failed" in states, timeout=10)
    await pub.close()
    assert states[-1] in ("closed", "failed")
