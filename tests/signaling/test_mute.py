"""Mute state and moderation mutes against a real server with real aiortc clients, and the
REST mute endpoints with the official OpenTok SDK as the client."""

from __future__ import annotations

import asyncio
import time

import httpx
import numpy as np
import pytest
from opentok import Client
from opentok.exceptions import OpenTokException

from archivist.client import ArchivistClient, ClientError
from archivist.client.session import Subscription
from tests.recording.media import read_output
from tests.servers import Server
from tests.signaling.conftest import ClientFactory


async def _stalled(sub: Subscription, kind: str, quiet: float = 1.0, timeout: float = 10.0) -> None:
    """Wait until no frame of ``kind`` arrived for ``quiet`` seconds (the server stopped)."""
    count = (lambda: sub.video_frames) if kind == "video" else (lambda: sub.audio_frames)
    deadline = time.monotonic() + timeout
    last, since = count(), time.monotonic()
    while time.monotonic() - since < quiet:
        if time.monotonic() > deadline:
            raise AssertionError(f"{kind} frames kept coming")
        await asyncio.sleep(0.1)
        if count() != last:
            last, since = count(), time.monotonic()


async def _flowing(sub: Subscription, kind: str, more: int = 10, timeout: float = 10.0) -> None:
    count = (lambda: sub.video_frames) if kind == "video" else (lambda: sub.audio_frames)
    target = count() + more
    deadline = time.monotonic() + timeout
    while count() < target:
        if time.monotonic() > deadline:
            raise AssertionError(f"{kind} frames did not come back")
        await asyncio.sleep(0.05)


def _changed(client: ArchivistClient, prop: str, new: bool) -> object:
    return client.wait_event(
        "streamPropertyChanged", lambda e: e["changedProperty"] == prop and e["newValue"] is new
    )


async def test_publish_video_and_audio_off_travel_and_stop_the_media(connect: ClientFactory) -> None:
    alice = await connect(data="name=alice")
    bob = await connect(data="name=bob")
    pub = await alice.publish(name="cam")
    sub = await bob.subscribe(pub.stream_id)
    await sub.wait_frames(10)

    reply = await alice.request("streamChange", streamId=pub.stream_id, hasVideo=False)
    assert reply["stream"]["hasVideo"] is False and reply["stream"]["hasAudio"] is True
    for client in (alice, bob):  # the publisher hears it too, as in OpenTok.js
        event = await _changed(client, "hasVideo", False)
        assert event["oldValue"] is True and event["stream"]["streamId"] == pub.stream_id  # type: ignore[index]
    await _stalled(sub, "video")
    await _flowing(sub, "audio")

    await alice.request("streamChange", streamId=pub.stream_id, hasVideo=True)
    await _changed(bob, "hasVideo", True)
    await _flowing(sub, "video")

    await alice.request("streamChange", streamId=pub.stream_id, hasAudio=False)
    await _changed(bob, "hasAudio", False)
    await _stalled(sub, "audio")
    await _flowing(sub, "video")
    await alice.request("streamChange", streamId=pub.stream_id, hasAudio=True)
    await _flowing(sub, "audio")

    # only the owner changes its stream; malformed changes are 400
    with pytest.raises(ClientError) as refused:
        await bob.request("streamChange", streamId=pub.stream_id, hasAudio=False)
    assert refused.value.code == 404
    with pytest.raises(ClientError) as bad:
        await alice.request("streamChange", streamId=pub.stream_id, hasAudio="no")
    assert bad.value.code == 400


async def test_subscribe_to_video_false_stops_the_server_sending(connect: ClientFactory) -> None:
    alice = await connect()
    bob = await connect()
    pub = await alice.publish()
    sub = await bob.subscribe(pub.stream_id)
    await sub.wait_frames(10)
    reply = await bob.request("subscriptionChange", subscriptionId=sub.subscription_id, subscribeToVideo=False)
    assert reply["subscribeToVideo"] is False and reply["subscribeToAudio"] is True
    await _stalled(sub, "video")
    await _flowing(sub, "audio")
    await bob.request("subscriptionChange", subscriptionId=sub.subscription_id, subscribeToVideo=True)
    await _flowing(sub, "video")  # starts again at a keyframe: it decodes
    await bob.request("subscriptionChange", subscriptionId=sub.subscription_id, subscribeToAudio=False)
    await _stalled(sub, "audio")
    with pytest.raises(ClientError) as unknown:
        await alice.request("subscriptionChange", subscriptionId=sub.subscription_id, subscribeToVideo=False)
    assert unknown.value.code == 404

    # a new subscriber switches video off at once, then on again
    carol = await connect()
    late = await carol.subscribe(pub.stream_id)
    await carol.request("subscriptionChange", subscriptionId=late.subscription_id, subscribeToVideo=False)
    await _stalled(late, "video")
    await carol.request("subscriptionChange", subscriptionId=late.subscription_id, subscribeToVideo=True)
    await _flowing(late, "video")


async def test_moderators_force_mute_over_signaling(connect: ClientFactory) -> None:
    mod = await connect(role="moderator")
    alice = await connect()
    assert mod.capabilities["forceMute"] is True
    assert alice.capabilities["forceMute"] is False
    pub = await alice.publish()
    await mod.wait_event("streamCreated")
    with pytest.raises(ClientError) as refused:
        await alice.request("forceMuteStream", streamId=pub.stream_id)
    assert refused.value.code == 403

    await mod.request("forceMuteStream", streamId=pub.stream_id)
    forced = await alice.wait_event("muteForced")
    assert forced["active"] is True and forced["streamIds"] == [pub.stream_id]
    await _changed(mod, "hasAudio", False)

    await mod.request("forceMuteAll", excludedStreamIds=[])
    assert len(alice.events_of("muteForced")) == 2
    await mod.wait_event("muteForced", lambda e: e["active"] is True)
    await mod.request("disableForceMute")
    await alice.wait_event("muteForced", lambda e: e["active"] is False)
    with pytest.raises(ClientError) as bad:
        await mod.request("forceMuteAll", excludedStreamIds="all")
    assert bad.value.code == 400


async def test_rest_mute_with_the_official_sdk(server: Server, ot: Client, connect: ClientFactory,
                                               session_id: str) -> None:
    alice = await connect()
    bob = await connect()
    pa = await alice.publish()
    pb = await bob.publish()
    await bob.wait_event("streamCreated", lambda e: e["stream"]["streamId"] == pa.stream_id)

    response = await asyncio.to_thread(ot.mute_stream, session_id, pa.stream_id)
    assert response.status_code == 200
    forced = await alice.wait_event("muteForced")
    assert forced["streamIds"] == [pa.stream_id]
    await _changed(bob, "hasAudio", False)
    listed = await asyncio.to_thread(ot.get_stream, session_id, pa.stream_id)
    assert listed.id == pa.stream_id

    with pytest.raises(OpenTokException):
        await asyncio.to_thread(ot.mute_stream, session_id, "no-such-stream")

    # everyone but bob; the mute state stays on for new streams
    response = await asyncio.to_thread(ot.mute_all, session_id, [pb.stream_id])
    assert response.status_code == 200
    await alice.wait_event("muteForced", lambda e: len(e["streamIds"]) == 1 and len(alice.events_of("muteForced")) == 2)
    assert not [e for e in bob.events_of("muteForced") if e["streamIds"]]
    later = await alice.publish(name="later")
    await alice.wait_event("muteForced", lambda e: e["streamIds"] == [later.stream_id])
    created = await bob.wait_event("streamCreated", lambda e: e["stream"]["streamId"] == later.stream_id)
    assert created["stream"]["hasAudio"] is False

    response = await asyncio.to_thread(ot.disable_force_mute, session_id)
    assert response.status_code == 200
    await bob.wait_event("muteForced", lambda e: e["active"] is False)

    # the partner path and the Node SDK's body (excludedStreamIds), and bad bodies
    headers = {"X-TB-PARTNER-AUTH": f"{server.project.api_key}:{server.project.api_secret}"}
    base = f"{server.url}/v2/partner/{server.project.api_key}/session/{session_id}"
    async with httpx.AsyncClient(headers=headers, timeout=10) as http:
        ok = await http.post(f"{base}/mute", json={"active": True, "excludedStreamIds": [pa.stream_id]})
        assert ok.status_code == 200, ok.text
        await bob.wait_event("muteForced", lambda e: e["streamIds"] == [pb.stream_id])
        ok = await http.post(f"{base}/mute", json={"active": False})
        assert ok.status_code == 200
        for body in ({}, {"active": "yes"}, {"active": True, "excludedStreamIds": "x"}):
            bad = await http.post(f"{base}/mute", json=body)
            assert bad.status_code == 400 and set(bad.json()) == {"code", "message"}, (body, bad.text)
        missing = await http.post(f"{base}/stream/nope/mute")
        assert missing.status_code == 404 and missing.json()["code"] == 404
        ok = await http.post(f"{base}/stream/{pb.stream_id}/mute")
        assert ok.status_code == 200 and ok.json() == {}


async def test_a_muted_stream_shows_its_name_in_the_composed_archive(
    server: Server, ot: Client, connect: ClientFactory, session_id: str
) -> None:
    alice = await connect()
    pub = await alice.publish(name="Alice")
    await alice.wait_event("streamCreated")
    archive = await asyncio.to_thread(ot.start_archive, session_id, name="muted", resolution="640x480")
    await asyncio.sleep(2.5)
    await alice.request("streamChange", streamId=pub.stream_id, hasVideo=False)
    await asyncio.sleep(3.0)
    await alice.request("streamChange", streamId=pub.stream_id, hasVideo=True)
    await asyncio.sleep(2.5)
    await asyncio.to_thread(ot.stop_archive, archive.id)

    deadline = time.monotonic() + 20
    while (await asyncio.to_thread(ot.get_archive, archive.id)).status not in ("available", "uploaded"):
        assert time.monotonic() < deadline, "the archive did not become available"
        await asyncio.sleep(0.5)
    out = await asyncio.to_thread(read_output, server.archive_file(archive.id), 5)

    def placeholder(frame: object) -> bool:
        rgb = np.asarray(frame, dtype=np.int16)
        grey = (np.abs(rgb - 42) <= 8).all(axis=2).mean()
        white = (rgb > 200).all(axis=2).mean()
        return bool(grey > 0.8 and white > 0.002)

    kinds = [placeholder(f) for f in out.video_rgb if f is not None]
    per_s = 30 / 5
    # muted from ~2.5 s to ~5.5 s of the file: the name on grey there, the camera around it
    assert any(kinds[int(3.5 * per_s):int(4.5 * per_s)]), kinds
    assert not any(kinds[int(0.5 * per_s):int(2 * per_s)]), kinds
    assert not any(kinds[int(6.5 * per_s):]), kinds
