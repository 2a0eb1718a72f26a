"""A client whose network changed sends its streams and receives its subscriptions over new peer
connections (docs/protocol.md, "Network changes"): ``republish`` and ``resubscribe``. The stream
keeps its id, its subscribers keep receiving it, an archive keeps it as one stream with a gap,
in sync on both sides of it. Real server, real aiortc clients; the old peer connection is
closed before the new one is made, as a dead network leaves it."""

from __future__ import annotations

import asyncio
import io
import itertools
import json
import time
import zipfile

import pytest
from opentok import Client, OutputModes

from archivist.client import ArchivistClient, ClientError, SyncMarks
from tests.recording.media import beep_onsets, flash_onsets, read_output
from tests.recording.test_archive_options import download
from tests.servers import Server, wait_status
from tests.signaling.conftest import ClientFactory

CUT_S, OUTAGE_S = 0.15, 0.6
"""A republish cuts the media: the client's old senders stop at once (their last ~70 ms of sound
never reach the server), and the new peer's media comes up to 0.6 s later (its keyframe). A
flash from ``CUT_S`` before the change to ``OUTAGE_S`` after it measures that gap, not the sync
(its beep is missing, or found where the new peer's sound begins: +85 ms in 2 of 9 runs)."""


async def test_a_republished_stream_goes_on_for_its_subscriber_and_its_archive(
    connect: ClientFactory, ot: Client, server: Server, session_id: str
) -> None:
    alice = await connect(data="alice")
    bob = await connect(data="bob")
    pub = await alice.publish(marks=SyncMarks(period=1.0), width=320, height=240)
    sub = await bob.subscribe(pub.stream_id)
    await sub.wait_frames(10)
    archive = await asyncio.to_thread(ot.start_archive, session_id, name="across a network change")
    started = time.monotonic()
    await asyncio.sleep(3.5)

    # the network changed: alice's peer connection is dead; she sends the stream anew
    pts_before = sub.last_video_pts
    assert pts_before is not None
    frames = sub.video_frames
    changed_at = time.monotonic() - started  # on the archive's timeline (its zero: the start request)
    reply = await alice.republish(pub)
    assert reply["stream"]["streamId"] == pub.stream_id
    healed_at = time.monotonic()
    await sub.wait_frames(frames + 30, timeout=10)
    print(f"subscriber: 30 more frames {time.monotonic() - healed_at:.2f} s after the republish")
    # the subscriber's timeline went on forward (its decoder would drop frames from the past)
    assert sub.last_video_pts is not None and sub.last_video_pts > pts_before
    # nobody heard of it: same stream, no destroyed/created
    await asyncio.sleep(0.5)
    assert len(bob.events_of("streamCreated")) == 1 and not bob.events_of("streamDestroyed")
    streams = await asyncio.to_thread(ot.list_streams, session_id)
    assert [s.id for s in streams.items] == [pub.stream_id]

    await asyncio.sleep(4)
    await asyncio.to_thread(ot.stop_archive, archive.id)
    recorded = time.monotonic() - started
    await wait_status(ot, archive.id, ("available", "uploaded"))
    path = server.archive_file(archive.id)
    out = read_output(path, keep_every=1000)
    assert out.container_duration == pytest.approx(recorded, abs=0.5)
    beeps = beep_onsets(path)
    marks = []  # (flash, audio onset minus video onset of the beep nearest it, within 0.4 s)
    for flash in flash_onsets(path):
        near = [b - flash for b in beeps if abs(b - flash) < 0.4]
        if near:
            marks.append((flash, min(near, key=abs)))
    print("A/V offsets (ms) at their flash (s):", [(round(f, 2), round(o * 1000)) for f, o in marks],
          f"the change at {changed_at:.2f} s")
    # a flash during the change itself measures the gap (see CUT_S), not the sync: left out
    before = [o for f, o in marks if f < changed_at - CUT_S]
    after = [o for f, o in marks if f > changed_at + OUTAGE_S]
    assert len(before) >= 2 and len(after) >= 3  # flashes on both sides of the change
    assert max(abs(o) for o in before + after) <= 0.040


async def test_an_individual_archive_keeps_one_file_for_a_republished_stream(
    connect: ClientFactory, ot: Client, server: Server, session_id: str
) -> None:
    alice = await connect(data="alice")
    pub = await alice.publish(width=320, height=240)
    archive = await asyncio.to_thread(
        ot.start_archive, session_id, name="individual", output_mode=OutputModes.individual
    )
    await asyncio.sleep(2)
    await alice.republish(pub)
    await asyncio.sleep(2.5)
    await asyncio.to_thread(ot.stop_archive, archive.id)
    await wait_status(ot, archive.id, ("available", "uploaded"))
    data = await download(ot, archive.id)
    with zipfile.ZipFile(io.BytesIO(data)) as z:
        manifest = json.loads(z.read(f"{archive.id}.json"))
        assert [f["streamId"] for f in manifest["files"]] == [pub.stream_id]
        webm = z.read(manifest["files"][0]["filename"])
    # one file, continuous: video on both sides of the change
    path = server.data_dir / f"{archive.id}-stream.webm"
    path.write_bytes(webm)
    times = read_output(path, keep_every=1000).video_times
    gaps = [b - a for a, b in itertools.pairwise(times)]
    print(f"individual file: video {times[0]:.2f}-{times[-1]:.2f} s, longest gap {max(gaps):.2f} s")
    assert times[0] < 1.0 and times[-1] > 3.5  # pictures from before and after the change
    assert max(gaps) < 1.5


async def test_a_resubscribed_subscription_receives_again(connect: ClientFactory) -> None:
    alice = await connect(data="alice")
    bob = await connect(data="bob")
    pub = await alice.publish(width=320, height=240)
    sub = await bob.subscribe(pub.stream_id)
    await sub.wait_frames(10)
    reply = await bob.resubscribe(sub)
    assert reply["subscriptionId"] == sub.subscription_id and reply["streamId"] == pub.stream_id
    frames = sub.video_frames
    await sub.wait_frames(frames + 30, timeout=10)
    assert sub.audio_frames > 0
    # the subscription is still the one the server knows: switching its video off works
    await bob.request("subscriptionChange", subscriptionId=sub.subscription_id, subscribeToVideo=False)
    assert not alice.events_of("streamDestroyed")


async def test_replacing_media_that_is_not_yours_or_not_there_is_refused(
    connect: ClientFactory, session_id: str
) -> None:
    alice = await connect(data="alice")
    bob = await connect(data="bob")
    pub = await alice.publish(width=320, height=240)
    sub = await bob.subscribe(pub.stream_id)
    await sub.wait_frames(5)
    offer = pub.pc.localDescription.sdp
    for client, frame, code in [
        (bob, {"type": "republish", "streamId": pub.stream_id, "sdp": offer}, 404),  # not his stream
        (alice, {"type": "republish", "streamId": "no-such-stream", "sdp": offer}, 404),
        (alice, {"type": "resubscribe", "subscriptionId": sub.subscription_id, "sdp": offer}, 404),  # bob's
        (alice, {"type": "republish", "streamId": pub.stream_id, "sdp": "v=0 garbage"}, 400),
        (alice, {"type": "republish", "streamId": pub.stream_id}, 400),  # no sdp
    ]:
        with pytest.raises(ClientError) as err:
            await client.request(str(frame.pop("type")), **frame)
        assert err.value.code == code, (frame, err.value.frame)
    # none of that touched the stream
    frames = sub.video_frames
    await sub.wait_frames(frames + 15)


async def test_a_republish_with_another_codec_is_refused_and_the_stream_goes_on(
    connect: ClientFactory, server: Server, session_id: str
) -> None:
    alice = await connect(data="alice")
    bob = await connect(data="bob")
    pub = await alice.publish(width=320, height=240, codec="VP8")
    sub = await bob.subscribe(pub.stream_id)
    await sub.wait_frames(5)
    pub.codec = "H264"  # a new peer connection that negotiates H.264 for a VP8 stream
    with pytest.raises(ClientError) as err:
        await alice.republish(pub)
    assert err.value.code == 400 and "codec" in str(err.value)
    # the refused offer changed nothing: the stream is there, and a VP8 one heals it
    pub.codec = "VP8"
    await alice.republish(pub)
    frames = sub.video_frames
    await sub.wait_frames(frames + 15, timeout=10)
    assert not bob.events_of("streamDestroyed")


async def test_python_client_republish_keeps_subscriber_pts_moving_forward(
    connect: ClientFactory,
) -> None:
    """Twice in a row: each replacement continues the timeline of the one before."""
    alice = await connect(data="alice")
    bob: ArchivistClient = await connect(data="bob")
    pub = await alice.publish(width=320, height=240)
    sub = await bob.subscribe(pub.stream_id)
    await sub.wait_frames(10)
    seen = []
    for _ in range(2):
        await alice.republish(pub)
        await sub.wait_frames(sub.video_frames + 15, timeout=10)
        assert sub.last_video_pts is not None
        seen.append(sub.last_video_pts)
    assert seen[1] > seen[0]
