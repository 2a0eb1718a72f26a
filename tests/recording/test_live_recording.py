"""Recording live sessions through the real server: Python clients publish real WebRTC media
(VP8 and H.264, Opus), the official OpenTok SDK starts and stops archives, PyAV reads the files."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable
from typing import Any

import numpy as np
import pytest
from opentok import ArchiveModes, Client, MediaModes
from opentok.exceptions import ArchiveError, RequestError

from archivist.client import ArchivistClient, SyncMarks
from tests.recording.media import av_offsets, read_output
from tests.servers import Server, wait_status

FRAME = 1 / 30


@pytest.fixture
async def clients(server: Server, ot: Client) -> AsyncIterator[Callable[..., Any]]:
    opened: list[ArchivistClient] = []

    async def open_client(session_id: str, data: str = "") -> ArchivistClient:
        token = ot.generate_token(session_id, data=data or None)
        client = await ArchivistClient.open(server.url, server.project.api_key, session_id, token)
        opened.append(client)
        return client

    yield open_client
    for client in opened:
        await client.close()


def routed(ot: Client, **kw: Any) -> str:
    return str(ot.create_session(media_mode=MediaModes.routed, **kw).session_id)


async def test_streams_join_and_leave_mid_archive(ot: Client, server: Server, clients: Any) -> None:
    sid = routed(ot)
    alice = await clients(sid, "alice")
    bob = await clients(sid, "bob")
    await alice.publish(name="alice", codec="VP8")

    t_a = time.monotonic()
    archive = await asyncio.to_thread(ot.start_archive, sid, name="join-leave")
    t_b = time.monotonic()
    assert archive.status == "started" and archive.name == "join-leave"
    started = await alice.wait_event("archiveStarted")
    assert started["id"] == archive.id and started["name"] == "join-leave"
    await bob.wait_event("archiveStarted")
    # a client connecting while the session is recorded hears archiveStarted on connect
    carol = await clients(sid, "carol")
    late = await carol.wait_event("archiveStarted")
    assert late["id"] == archive.id

    # a second (H.264) stream joins at ~2 s and leaves at ~4.5 s
    await asyncio.sleep(2.0 - (time.monotonic() - t_b))
    joined = time.monotonic() - t_b
    pub_b = await bob.publish(name="bob", codec="H264")
    await asyncio.sleep(2.5)
    left = time.monotonic() - t_b
    await bob.unpublish(pub_b)
    await asyncio.sleep(1.5)

    t_c = time.monotonic()
    stopped = await asyncio.to_thread(ot.stop_archive, archive.id)
    t_d = time.monotonic()
    assert stopped.status == "stopped"
    ev = await alice.wait_event("archiveStopped")
    assert ev["id"] == archive.id and ev["name"] == "join-leave"
    available = await wait_status(ot, archive.id, ("available", "uploaded"), timeout=5)
    became_available = time.monotonic() - t_d
    print(f"stop -> available in {became_available:.2f} s")
    assert became_available < 2.0

    out = read_output(server.archive_file(archive.id), keep_every=3)
    assert sorted(out.codecs) == ["aac", "h264"]
    assert (out.width, out.height) == (640, 480)
    # duration matches the wall clock between the start and stop calls, within a frame
    assert t_c - t_b - FRAME <= out.container_duration <= t_d - t_a + FRAME, (out.container_duration, t_c - t_b)
    assert abs(available.duration - out.container_duration) <= 1
    assert available.size == server.archive_file(archive.id).stat().st_size
    assert abs(len(out.video_times) - out.container_duration * 30) <= 2
    assert out.audio_rate == 48000 and abs(len(out.audio) / 48000 - out.container_duration) <= FRAME
    assert float(np.abs(out.audio).max()) > 0.05  # the publishers' tones are in the mix

    def letterboxed(t: float) -> bool:
        """Two streams side by side leave black bands above and below each 4:3 tile."""
        i = min(range(len(out.video_times)), key=lambda k: abs(out.video_times[k] - t) if out.video_rgb[k] is not None
                else 1e9)
        band = out.video_rgb[i][:100].astype(np.float64)
        return bool(band.mean() < 30)

    assert not letterboxed(1.0)  # alice alone: full picture
    assert letterboxed((joined + left) / 2 + 0.5)  # alice and bob: two tiles
    assert not letterboxed(out.container_duration - 0.5)  # alice alone again


async def test_audio_and_video_stay_in_sync(ot: Client, server: Server, clients: Any) -> None:
    sid = routed(ot)
    alice = await clients(sid)
    await alice.publish(marks=SyncMarks(period=1.0))
    archive = await asyncio.to_thread(ot.start_archive, sid, name="sync")
    await asyncio.sleep(8)
    await asyncio.to_thread(ot.stop_archive, archive.id)
    await wait_status(ot, archive.id, ("available", "uploaded"))
    offsets = av_offsets(server.archive_file(archive.id))
    print("A/V offsets (ms):", [round(o * 1000) for o in offsets])
    assert len(offsets) >= 6
    assert max(abs(o) for o in offsets) <= 0.040


async def test_every_client_leaving_stops_the_archive(ot: Client, server: Server, clients: Any) -> None:
    sid = routed(ot)
    alice = await clients(sid)
    await alice.publish()
    archive = await asyncio.to_thread(ot.start_archive, sid)
    await asyncio.sleep(1.5)
    await alice.close()
    done = await wait_status(ot, archive.id, ("available", "uploaded"))
    assert server.archive_json(archive.id)["reason"] == "session ended"
    assert done.duration >= 1
    # a stopped archive cannot be stopped again
    with pytest.raises(ArchiveError):
        await asyncio.to_thread(ot.stop_archive, archive.id)


async def test_auto_archive_starts_with_the_first_stream(ot: Client, server: Server, clients: Any) -> None:
    sid = routed(ot, archive_mode=ArchiveModes.always, archive_name="auto")
    alice = await clients(sid)
    assert not (await asyncio.to_thread(ot.list_archives, session_id=sid)).items  # nothing before a stream
    await alice.publish()
    started = await alice.wait_event("archiveStarted")
    [archive] = (await asyncio.to_thread(ot.list_archives, session_id=sid)).items
    assert archive.id == started["id"] and archive.status == "started" and archive.name == "auto"
    # a manual start while it records is a conflict
    with pytest.raises((ArchiveError, RequestError)):
        await asyncio.to_thread(ot.start_archive, sid)
    await asyncio.sleep(1.5)
    await alice.close()
    done = await wait_status(ot, archive.id, ("available", "uploaded"))
    assert server.archive_json(archive.id)["reason"] == "session ended" and done.duration >= 1
