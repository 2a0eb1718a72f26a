"""Today's archive options through the real server: Python clients (aiortc) publish real WebRTC
media, the official OpenTok SDK starts, changes and stops archives, PyAV reads what is delivered.

Individual output (the ZIP at the archive's url: manifest and one playable file per stream),
layouts at start and their live changes (``PUT …/layout``, ``PUT …/session/{id}/stream``),
manual stream selection, two tagged archives of one session at once, a publisher turning
portrait mid-archive, the paused state and its resumption, a recorder that cannot start."""

from __future__ import annotations

import asyncio
import io
import json
import signal
import time
import zipfile
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import av
import httpx
import numpy as np
import pytest
from opentok import Client, MediaModes, OutputModes, StreamModes
from opentok.exceptions import ArchiveError, RequestError

from archivist.client import ArchivistClient
from archivist.client.synthetic import ToneTrack
from tests.recording.media import BLACK, GREEN, RED, SolidTrack, close_to, mean_rgb, read_output
from tests.servers import Server, make_server, wait_status

IDLE_S = 3


@pytest.fixture(scope="module")
def server_env() -> dict[str, str]:
    return {"ARCHIVIST_ARCHIVE_IDLE_TIMEOUT": str(IDLE_S)}


@pytest.fixture
async def clients(server: Server, ot: Client) -> AsyncIterator[Callable[..., Any]]:
    opened: list[ArchivistClient] = []

    async def open_client(session_id: str, data: str = "", classes: tuple[str, ...] = ()) -> ArchivistClient:
        token = ot.generate_token(session_id, data=data or None, initial_layout_class_list=list(classes))
        client = await ArchivistClient.open(server.url, server.project.api_key, session_id, token)
        opened.append(client)
        return client

    yield open_client
    for client in opened:
        await client.close()


def routed(ot: Client) -> str:
    return str(ot.create_session(media_mode=MediaModes.routed).session_id)


async def call(fn: Callable[..., Any], *args: Any, **kw: Any) -> Any:
    return await asyncio.to_thread(fn, *args, **kw)


def frames_between(out: Any, start: float, end: float) -> list[Any]:
    return [img for t, img in zip(out.video_times, out.video_rgb, strict=True) if start <= t <= end and img is not None]


def first_frame(out: Any, after: float, check: Callable[[Any], bool]) -> float | None:
    """The time of the first decoded frame from ``after`` on that passes ``check``."""
    for t, img in zip(out.video_times, out.video_rgb, strict=True):
        if t >= after and img is not None and check(img):
            return t
    return None


async def download(ot: Client, archive_id: str) -> bytes:
    url = (await call(ot.get_archive, archive_id)).url
    assert url
    r = await call(httpx.get, url, follow_redirects=True, timeout=20)
    r.raise_for_status()
    return bytes(r.content)


async def test_individual_archive_is_a_zip_of_every_stream(ot: Client, server: Server, clients: Any) -> None:
    sid = routed(ot)
    alice = await clients(sid, "alice-data")
    bob = await clients(sid, "bob-data")
    await alice.publish(name="alice", codec="VP8")
    t_a = time.monotonic()
    archive = await call(ot.start_archive, sid, name="individual", output_mode=OutputModes.individual)
    assert archive.status == "started" and archive.output_mode == OutputModes.individual
    body = server.archive_json(archive.id)
    assert body["outputMode"] == "individual" and "resolution" not in body and "layout" not in body
    await asyncio.sleep(1.5)
    joined = time.monotonic() - t_a
    pub_b = await bob.publish(name="bob", codec="H264")
    await asyncio.sleep(2.0)
    recorded = {s["streamId"]: s for s in server.archive_json(archive.id)["streams"]}
    assert set(recorded) == {alice.publications[0].stream_id, pub_b.stream_id}
    assert all(s["hasAudio"] and s["hasVideo"] for s in recorded.values())
    left = time.monotonic() - t_a
    await bob.unpublish(pub_b)
    await asyncio.sleep(1.0)
    stop_at = time.monotonic() - t_a
    await call(ot.stop_archive, archive.id)
    done = await wait_status(ot, archive.id, ("available", "uploaded"), timeout=10)

    data = await download(ot, archive.id)
    assert done.size == len(data)
    with zipfile.ZipFile(io.BytesIO(data)) as z:
        manifest = json.loads(z.read(f"{archive.id}.json"))
        files = {f["streamId"]: f for f in manifest["files"]}
        contents = {f["filename"]: z.read(f["filename"]) for f in manifest["files"]}
    assert manifest["id"] == archive.id and manifest["sessionId"] == sid and manifest["name"] == "individual"
    assert manifest["partnerId"] == int(server.project.api_key)
    assert manifest["createdAt"] == server.archive_json(archive.id)["createdAt"]
    a, b = files[alice.publications[0].stream_id], files[pub_b.stream_id]
    assert a["filename"].endswith(".webm") and b["filename"].endswith(".mkv")
    assert a["connectionData"] == "alice-data" and b["connectionData"] == "bob-data"
    assert a["videoType"] == b["videoType"] == "camera"
    assert a["startTimeOffset"] <= 500 and abs(a["stopTimeOffset"] / 1000 - stop_at) <= 0.6
    assert abs(b["startTimeOffset"] / 1000 - joined) <= 0.8, (b, joined)
    assert abs(b["stopTimeOffset"] / 1000 - left) <= 0.8, (b, left)
    for f, codecs in ((a, ["opus", "vp8"]), (b, ["h264", "opus"])):
        assert f["size"] == len(contents[f["filename"]])
        with av.open(io.BytesIO(contents[f["filename"]])) as c:
            assert sorted(s.codec_context.name for s in c.streams) == codecs
            duration = (c.duration or 0) / 1e6
            times = [float(fr.time) for fr in c.decode(video=0)]
        expected = (f["stopTimeOffset"] - f["startTimeOffset"]) / 1000
        assert abs(duration - expected) <= 0.1, (f, duration)
        assert len(times) >= expected * 20 and max(np.diff(times)) < 0.25  # every file plays, no gap


async def test_layouts_at_start_and_live(ot: Client, server: Server, clients: Any) -> None:
    sid = routed(ot)
    alice = await clients(sid, "alice", classes=("from-the-token",))
    bob = await clients(sid, "bob")
    # alice's class comes with her publish (layoutClassList), over her token's initial one
    await alice.publish(name="red", sources=(ToneTrack(), SolidTrack(RED)), layout_classes=("full",))
    pub_b = await bob.publish(name="green", sources=(None, SolidTrack(GREEN)))
    a_id, b_id = alice.publications[0].stream_id, pub_b.stream_id
    assert (await call(ot.get_stream, sid, a_id)).layoutClassList == ["full"]
    archive = await call(ot.start_archive, sid, name="layouts", layout={"type": "pip"})
    t_b = time.monotonic()  # the file's zero is before: a change at t_b + x is at x or later in it
    assert server.archive_json(archive.id)["layout"] == {"type": "pip"}
    await asyncio.sleep(3.5)
    swap = time.monotonic() - t_b  # bob takes the full picture: the classes change
    await call(ot.set_stream_class_lists, sid, [{"id": a_id, "layoutClassList": []},
                                                {"id": b_id, "layoutClassList": ["full"]}])
    await asyncio.sleep(3.5)
    css = (".full { position: absolute; left: 0px; top: 0px; width: 50%; height: 100%; }\n"
           "stream { position: absolute; left: 50%; top: 0px; width: 50%; height: 100%; }")
    relayout = time.monotonic() - t_b
    await call(ot.set_archive_layout, archive.id, "custom", stylesheet=css)
    assert server.archive_json(archive.id)["layout"] == {"type": "custom", "stylesheet": css}
    await asyncio.sleep(2.5)
    await call(ot.stop_archive, archive.id)
    await wait_status(ot, archive.id, ("available", "uploaded"), timeout=10)
    out = read_output(server.archive_file(archive.id), keep_every=2)

    def pip(full: tuple[int, int, int], corner: tuple[int, int, int]) -> Callable[[Any], bool]:
        # pip at 640x480: the corner box is 128x96 at (448, 48)
        return lambda img: close_to(mean_rgb(img, 300, 220, 40, 40), full) and close_to(
            mean_rgb(img, 496, 80, 32, 32), corner)

    def halves(img: Any) -> bool:  # bob left, alice right, each letterboxed to 320x240
        return (close_to(mean_rgb(img, 140, 220, 40, 40), GREEN) and close_to(mean_rgb(img, 460, 220, 40, 40), RED)
                and close_to(mean_rgb(img, 140, 40, 40, 40), BLACK))

    # (the picture is composed ~0.25 s after its media was captured, with the layout of then:
    # a change may show a little before its request on the file's clock)
    # (a margin: on a loaded machine the picture may be composed later still)
    assert all(pip(RED, GREEN)(img) for img in frames_between(out, 1.0, swap - 1.5))
    assert all(pip(GREEN, RED)(img) for img in frames_between(out, swap + 1.0, relayout - 1.5))
    assert all(halves(img) for img in frames_between(out, relayout + 1.0, out.video_times[-1] - 0.2))
    for at, check in ((swap, pip(GREEN, RED)), (relayout, halves)):
        seen = first_frame(out, at - 1.0, check)
        # the request came at ``at`` or later on the file's clock: the change shows within a second
        assert seen is not None and seen - at <= 1.0, (at, seen)


async def test_manual_stream_mode(ot: Client, server: Server, clients: Any) -> None:
    sid = routed(ot)
    alice = await clients(sid, "alice")
    bob = await clients(sid, "bob")
    pub_a = await alice.publish(name="red", sources=(ToneTrack(), SolidTrack(RED)))
    pub_b = await bob.publish(name="green", sources=(ToneTrack(), SolidTrack(GREEN)))
    archive = await call(ot.start_archive, sid, name="manual", stream_mode=StreamModes.manual)
    t_b = time.monotonic()  # the file's zero is at t_b or before
    assert archive.stream_mode == "manual" and server.archive_json(archive.id)["streams"] == []
    marks = []
    for wait, action in ((1.5, lambda: ot.add_archive_stream(archive.id, pub_a.stream_id, has_audio=False)),
                         (2.0, lambda: ot.add_archive_stream(archive.id, pub_b.stream_id)),
                         (2.0, lambda: ot.remove_archive_stream(archive.id, pub_a.stream_id))):
        await asyncio.sleep(wait)
        marks.append(time.monotonic() - t_b)
        await call(action)
        if len(marks) == 2:
            streams = {s["streamId"]: s for s in server.archive_json(archive.id)["streams"]}
            assert streams[pub_a.stream_id] == {"streamId": pub_a.stream_id, "hasAudio": False, "hasVideo": True}
            assert streams[pub_b.stream_id]["hasAudio"] is True
    with pytest.raises(RequestError):  # a stream not in the session: 404
        await call(ot.add_archive_stream, archive.id, "no-such-stream")
    await asyncio.sleep(2.0)
    await call(ot.stop_archive, archive.id)
    await wait_status(ot, archive.id, ("available", "uploaded"), timeout=10)
    out = read_output(server.archive_file(archive.id), keep_every=2)
    centre, left, right = (300, 220, 40, 40), (140, 220, 40, 40), (460, 220, 40, 40)
    phases = [
        (0.3, marks[0] - 0.3, lambda img: close_to(mean_rgb(img, *centre), BLACK)),  # nothing added yet
        (marks[0] + 1.0, marks[1] - 0.6, lambda img: close_to(mean_rgb(img, *centre), RED)),
        (marks[1] + 1.0, marks[2] - 0.6,
         lambda img: close_to(mean_rgb(img, *left), RED) and close_to(mean_rgb(img, *right), GREEN)),
        (marks[2] + 1.0, out.video_times[-1] - 0.2, lambda img: close_to(mean_rgb(img, *centre), GREEN)),
    ]
    for start, end, check in phases:
        frames = frames_between(out, start, end)
        assert frames and all(check(img) for img in frames), (start, end)


async def test_two_tagged_archives_and_a_publisher_turning_portrait(
    ot: Client, server: Server, clients: Any
) -> None:
    sid = routed(ot)
    alice = await clients(sid, "alice")
    track = SolidTrack(RED)
    pub = await alice.publish(name="phone", sources=(ToneTrack(), track))
    composed = await call(ot.start_archive, sid, name="composed", multi_archive_tag="composed")
    t_b = time.monotonic()
    individual = await call(ot.start_archive, sid, name="individual", multi_archive_tag="individual",
                            output_mode=OutputModes.individual, has_audio=False)
    with pytest.raises(ArchiveError, match="multiArchiveTag 'composed'"):  # 409: one per tag
        await call(ot.start_archive, sid, multi_archive_tag="composed")
    assert server.archive_json(composed.id)["multiArchiveTag"] == "composed"
    await asyncio.sleep(2.5)
    turned = time.monotonic() - t_b
    track.size = (480, 640)  # portrait from now on
    await asyncio.sleep(3.0)
    for archive in (composed, individual):
        await call(ot.stop_archive, archive.id)
    await wait_status(ot, composed.id, ("available", "uploaded"), timeout=10)
    await wait_status(ot, individual.id, ("available", "uploaded"), timeout=10)

    out = read_output(server.archive_file(composed.id), keep_every=2)
    assert (out.width, out.height) == (640, 480)
    for img in frames_between(out, 0.5, turned - 0.5):  # landscape: the whole picture
        assert close_to(mean_rgb(img, 20, 220, 40, 40), RED) and close_to(mean_rgb(img, 580, 220, 40, 40), RED)
    portrait = frames_between(out, turned + 1.0, out.video_times[-1] - 0.2)
    assert portrait
    for img in portrait:  # portrait: pillarboxed, 360x480 centred (x 140..500), not stretched or cropped
        assert close_to(mean_rgb(img, 20, 220, 40, 40), BLACK) and close_to(mean_rgb(img, 580, 220, 40, 40), BLACK)
        assert close_to(mean_rgb(img, 150, 20, 20, 440), RED) and close_to(mean_rgb(img, 470, 20, 20, 440), RED)
        assert close_to(mean_rgb(img, 120, 220, 10, 40), BLACK, 40)

    data = await download(ot, individual.id)
    with zipfile.ZipFile(io.BytesIO(data)) as z:
        manifest = json.loads(z.read(f"{individual.id}.json"))
        [entry] = manifest["files"]
        assert entry["streamId"] == pub.stream_id
        with av.open(io.BytesIO(z.read(entry["filename"]))) as c:
            assert [s.type for s in c.streams] == ["video"]  # hasAudio false
            frames = [(float(f.time), f.width, f.height) for f in c.decode(video=0)]
    sizes = [(w, h) for _t, w, h in frames]
    assert sizes[0] == (640, 480) and sizes[-1] == (480, 640)  # the file follows the turn, one file
    times = [t for t, _w, _h in frames]
    assert max(np.diff(times)) < 0.25  # never frozen across the turn


async def test_paused_when_everyone_leaves_and_resumed_on_return(ot: Client, server: Server, clients: Any) -> None:
    sid = routed(ot)
    host = await clients(sid, "host")
    await host.publish(name="host")
    archive = await call(ot.start_archive, sid, name="reload")
    await asyncio.sleep(1.0)
    await host.close()  # the host reloads the page
    await wait_status(ot, archive.id, ("paused",), timeout=5)
    again = await clients(sid, "host again")
    await wait_status(ot, archive.id, ("started",), timeout=5)  # the same archive records on
    started = await again.wait_event("archiveStarted", timeout=5)
    assert started["id"] == archive.id
    await again.publish(name="host")
    await asyncio.sleep(1.0)
    left = time.monotonic()
    await again.close()
    await wait_status(ot, archive.id, ("paused",), timeout=5)
    await wait_status(ot, archive.id, ("stopped", "available", "uploaded"), timeout=IDLE_S + 5)
    assert IDLE_S - 0.5 <= time.monotonic() - left  # it waited for the idle timeout
    await wait_status(ot, archive.id, ("available", "uploaded"), timeout=10)
    body = server.archive_json(archive.id)
    assert body["reason"] == "session ended"
    listed = (await call(ot.list_archives, session_id=sid)).items
    assert [a.id for a in listed] == [archive.id]  # one archive across the reload


async def test_a_recorder_that_cannot_start_answers_500(ot: Client, server: Server, clients: Any) -> None:
    broken = server.create_project("broken disk")
    their = Client(broken.api_key, broken.api_secret, api_url=server.url, timeout=20)
    sid = str(their.create_session(media_mode=MediaModes.routed).session_id)
    token = their.generate_token(sid)
    client = await ArchivistClient.open(server.url, broken.api_key, sid, token)
    blocker = Path(server.data_dir) / "archives" / broken.api_key
    blocker.parent.mkdir(parents=True, exist_ok=True)
    if blocker.is_dir():
        blocker.rmdir()  # (empty: the project records nothing yet)
    blocker.write_bytes(b"a file where the project's archive directory should be")
    try:
        r = await call(httpx.post, f"{server.url}/v2/project/{broken.api_key}/archive", json={"sessionId": sid},
                       headers={"X-TB-PARTNER-AUTH": f"{broken.api_key}:{broken.api_secret}"}, timeout=20)
        assert r.status_code == 500, r.text
        assert r.json()["code"] == 500 and "could not start" in r.json()["message"]
        [failed] = (await call(their.list_archives, session_id=sid)).items
        assert failed.status == "failed"
        blocker.unlink()
        archive = await call(their.start_archive, sid)  # the session is free again
        assert archive.status == "started"
        await call(their.stop_archive, archive.id)
    finally:
        if blocker.is_file():
            blocker.unlink()
        await client.close()


async def test_a_killed_servers_individual_archive_is_recovered(tmp_path: Path) -> None:
    srv = make_server(tmp_path)
    ot = Client(srv.project.api_key, srv.project.api_secret, api_url=srv.url, timeout=20)
    sid = routed(ot)
    alice = await ArchivistClient.open(srv.url, srv.project.api_key, sid, ot.generate_token(sid, data="alice"))
    try:
        pub = await alice.publish(name="alice", codec="VP8")
        archive = await call(ot.start_archive, sid, name="killed", output_mode=OutputModes.individual)
        await asyncio.sleep(3.0)
        srv.stop(signal.SIGKILL)
        work = srv.data_dir / "archives" / srv.project.api_key / archive.id
        assert (work / "journal.jsonl").is_file()
        srv.start()
        await wait_status(ot, archive.id, ("available", "uploaded"), timeout=10)
        assert srv.archive_json(archive.id)["reason"] == "recovered after server restart"
        data = await download(ot, archive.id)
        with zipfile.ZipFile(io.BytesIO(data)) as z:
            manifest = json.loads(z.read(f"{archive.id}.json"))
            [entry] = manifest["files"]
            assert entry["streamId"] == pub.stream_id and entry["connectionData"] == "alice"
            with av.open(io.BytesIO(z.read(entry["filename"]))) as c:
                duration = (c.duration or 0) / 1e6
                frames = sum(1 for _ in c.decode(video=0))
        # up to the kill, but the last cluster (0.25 s) and the writer's latency (0.5 s)
        assert 3.0 - 1.2 <= duration <= 3.2 and frames >= duration * 25, (duration, frames)
        assert abs((entry["stopTimeOffset"] - entry["startTimeOffset"]) / 1000 - duration) <= 0.1
        assert not work.exists()  # the work directory became the ZIP
    finally:
        await alice.close()
        srv.stop()
