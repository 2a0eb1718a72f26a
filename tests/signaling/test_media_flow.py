"""Real aiortc clients through a real server: publish, subscribe, frames flow."""

from __future__ import annotations

import asyncio

from tests.signaling.conftest import ClientFactory


async def test_two_clients_receive_each_other(connect: ClientFactory) -> None:
    alice = await connect(data="name=alice")
    bob = await connect(data="name=bob")
    pub_a, pub_b = await asyncio.gather(alice.publish(name="a"), bob.publish(name="b"))
    ev_b = await alice.wait_event("streamCreated", lambda e: e["stream"]["streamId"] == pub_b.stream_id)
    ev_a = await bob.wait_event("streamCreated", lambda e: e["stream"]["streamId"] == pub_a.stream_id)
    assert "publisher" not in ev_b and ev_a["stream"]["connection"]["data"] == "name=alice"
    sub_a = await alice.subscribe(pub_b.stream_id)
    sub_b = await bob.subscribe(pub_a.stream_id)
    await asyncio.gather(sub_a.wait_frames(30), sub_b.wait_frames(30))
    pts_a, pts_b = sub_a.last_video_pts, sub_b.last_video_pts
    await asyncio.gather(sub_a.wait_frames(60), sub_b.wait_frames(60))
    assert sub_a.last_video_pts != pts_a and sub_b.last_video_pts != pts_b
    for sub in (sub_a, sub_b):
        assert (sub.width, sub.height) == (640, 480)
        assert sub.audio_frames > 0
        assert sub.first_frame_latency is not None and sub.first_frame_latency < 3.0
