"""A finished recorder leaves nothing behind: it is freed by reference counting the moment its
owner lets go of it, not at some later cyclic garbage collection (issue 12's soak: finished
recorders, their decoders and those decoders' frame pools, stayed in reference cycles and the
server's memory rose by tens of MB at every archive until a full collection).

The cyclic collector is off while a recorder lives, so anything still kept by a cycle shows."""

from __future__ import annotations

import asyncio
import gc
import time
import weakref
from collections.abc import Iterator
from pathlib import Path

import pytest

from archivist.archives.model import Archive
from archivist.archives.status import ArchiveStatus, Reason
from archivist.recording import ComposedRecorder
from archivist.recording.individual import IndividualRecorder, PacketRecorder
from archivist.recording.launcher import InServerLauncher
from archivist.recording.package import ArchiveInfo
from archivist.recording.recorder_process import RecorderProcess
from archivist.rooms.registry import Rooms
from tests.recording.encoded import coloured, encode_opus, encode_video
from tests.recording.media import read_output


@pytest.fixture
def no_cyclic_gc() -> Iterator[None]:
    gc.collect()
    gc.disable()
    try:
        yield
    finally:
        gc.enable()


def alive(ref: weakref.ref[object]) -> list[str]:
    """What still refers to the object (empty when it was freed)."""
    obj = ref()
    return [] if obj is None else [type(r).__name__ for r in gc.get_referrers(obj)]


async def record_packets(rec: PacketRecorder, seconds: float = 1.5) -> None:
    """Push real VP8 and Opus packets of two streams in real time, as the feeds do."""
    video = encode_video("vp8", coloured(320, 240, lambda i: (40 + i % 200, 90, 160), 30), gop=30)
    audio = encode_opus(50)
    for sid in ("a", "b"):
        rec.add_stream(sid, codecs={"video": "video/VP8", "audio": "audio/opus"})
    t0 = time.monotonic()
    for i in range(round(seconds * 50)):  # a 20 ms Opus packet each time, a video frame every 33 ms
        t = t0 + i * 0.02
        for sid in ("a", "b"):
            rec.push_packet(sid, "audio", audio[i % len(audio)].packet(), t, i * 960)
            if i % 3 != 2:  # 2 of 3 ticks: 33 fps-ish
                rec.push_packet(sid, "video", video[(i * 2 // 3) % len(video)].packet(), t)
        await asyncio.sleep(max(0.0, t + 0.02 - time.monotonic()))


async def test_a_finished_recorder_is_freed_at_once(tmp_path: Path, no_cyclic_gc: None) -> None:
    path = tmp_path / "a.mp4"
    rec = ComposedRecorder(path)
    asked: list[str] = []
    rec.on_keyframe_needed = asked.append  # as the launcher does
    await rec.start()
    await record_packets(rec)
    await rec.stop()
    await rec.close()
    assert rec.stats["decoders"]["a/video"]["decoded"] > 20  # the decoders did work
    ref = weakref.ref(rec)
    del rec
    assert alive(ref) == []
    out = read_output(path)
    assert sorted(out.codecs) == ["aac", "h264"] and len(out.video_times) >= 30


async def test_a_finished_individual_recorder_is_freed_at_once(tmp_path: Path, no_cyclic_gc: None) -> None:
    rec = IndividualRecorder(tmp_path / "work", ArchiveInfo("mem", "1_session", "123456"), zip_path=tmp_path / "i.zip")
    rec.on_keyframe_needed = lambda sid: None
    await rec.start()
    await record_packets(rec)
    result = await rec.stop()
    await rec.close()
    assert len(result.files) == 2
    ref = weakref.ref(rec)
    del rec
    assert alive(ref) == []


def _archive(session_id: str) -> Archive:
    now = int(time.time() * 1000)
    return Archive(id=f"mem-{time.time_ns()}", project_key="proj", session_id=session_id, name=None,
                   status=ArchiveStatus.STARTED, reason=Reason.NONE, created_at=now, updated_at=now, duration=0,
                   size=0, has_audio=True, has_video=True, output_mode="composed", stream_mode="auto",
                   resolution="640x480", layout=None, max_bitrate=None, quantization_parameter=None,
                   multi_archive_tag=None, storage_key=None, sha256=None, seq=time.time_ns() // 1000)


@pytest.mark.parametrize("own_process", [False, True], ids=["thread", "process"])
async def test_the_launcher_lets_go_of_finished_recorders(
    tmp_path: Path, no_cyclic_gc: None, own_process: bool
) -> None:
    """Back to back, the next one started before the last one's stop (the soak's rollover):
    each finished recorder is gone as soon as its stop returns (a thread of the server, or the
    server's side of a recorder process)."""
    launcher = InServerLauncher(Rooms(), tmp_path, recorder_process=own_process)
    refs: list[weakref.ref[object]] = []
    previous: Archive | None = None
    for _ in range(3):
        archive = _archive("1_session")
        await launcher.start(archive, lambda exc: None)
        (rec,) = [r for r in launcher.recordings(archive.session_id) if r.archive.id == archive.id]
        assert isinstance(rec.recorder, RecorderProcess if own_process else ComposedRecorder)
        await record_packets(rec.recorder, 0.5)
        refs.append(weakref.ref(rec.recorder))
        del rec
        if previous is not None:
            await launcher.stop(previous)
        previous = archive
    assert previous is not None
    await launcher.stop(previous)
    await launcher.close()
    assert [alive(ref) for ref in refs] == [[], [], []]
