"""Individual output: one file per stream from the encoded packets, the manifest and the ZIP.

Real encoders make the packets (libvpx, libx264, libopus) and PyAV reads every file back. Most
tests run on a clock moved by hand, so seconds of recording take a fraction of that; the
crash test records in real time in a child process killed with SIGKILL.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import time
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import av
import numpy as np
import pytest

from archivist.recording import ComposedRecorder
from archivist.recording.bitstream import h264_sps_size, vp8_keyframe_size
from archivist.recording.individual import IndividualOptions, IndividualRecorder, PacketRecorder
from archivist.recording.individual_recovery import recover_individual
from archivist.recording.matroska import MatroskaWriter, Track, avc_configuration
from archivist.recording.opus import opus_head, packet_samples, silence
from archivist.recording.package import ArchiveInfo
from archivist.recording.recovery import RecoveryError
from tests.recording.encoded import (
    Encoded,
    FakeClock,
    coloured,
    decode_audio,
    decode_video,
    encode_opus,
    encode_video,
)
from tests.recording.media import BLUE, GREEN, RED, close_to, mean_rgb

ROOT = Path(__file__).resolve().parents[2]
VP8 = {"audio": "audio/opus", "video": "video/VP8"}
H264 = {"audio": "audio/opus", "video": "video/H264"}
MANIFEST_KEYS = {"createdAt", "files", "id", "name", "partnerId", "sessionId"}
FILE_KEYS = {"connectionData", "filename", "size", "startTimeOffset", "stopTimeOffset", "streamId", "videoType"}


@dataclass(frozen=True)
class Push:
    t: float  # seconds after the archive's start
    stream: str
    kind: str
    media: Encoded


def audio_track(stream: str, start: float, end: float, packets: Sequence[Encoded],
                skip: tuple[float, float] | None = None) -> list[Push]:
    out = []
    n = 0
    while start + n * 0.02 < end - 1e-9:
        t = start + n * 0.02
        if skip is None or not skip[0] <= t < skip[1]:
            out.append(Push(t, stream, "audio", packets[n % len(packets)]))
        n += 1
    return out


def video_track(stream: str, start: float, frames: Sequence[Encoded], fps: int = 30) -> list[Push]:
    return [Push(start + i / fps, stream, "video", f) for i, f in enumerate(frames)]


async def record(
    rec: IndividualRecorder,
    clock: FakeClock,
    pushes: Sequence[Push],
    stop_at: float,
    events: Sequence[tuple[float, str, str]] = (),
    codecs: dict[str, dict[str, str]] | None = None,
    step: float = 0.05,
    arrival: Sequence[float] | None = None,
) -> Any:
    """Play ``pushes`` and ``events`` ((t, "add"|"remove", stream); an added stream has the
    ``codecs`` of its name) on the hand-moved clock, then stop at ``stop_at``. ``arrival``: when
    each push arrives, if not at its ``t`` (the order the recorder gets them in)."""
    assert rec.t0 is not None
    t0 = rec.t0
    at = list(arrival) if arrival is not None else [p.t for p in pushes]
    order = sorted(range(len(pushes)), key=lambda k: at[k])
    items = [pushes[k] for k in order]
    arrives = [at[k] for k in order]
    evs = sorted(events)
    i = j = 0
    now = 0.0
    while now < stop_at - 1e-9:
        now = min(stop_at, now + step)
        while j < len(evs) and evs[j][0] <= now:
            _, what, sid = evs[j]
            if what == "add":
                rec.add_stream(sid, True, True, codecs=(codecs or {})[sid])
            else:
                rec.remove_stream(sid)
            j += 1
        while i < len(items) and arrives[i] < now:
            p = items[i]
            rec.push_packet(p.stream, p.kind, p.media.packet(), t0 + p.t)
            i += 1
        clock.t = t0 + now
        await asyncio.sleep(0.002)
    return await rec.stop()


def make_recorder(tmp_path: Path, clock: FakeClock, **options: Any) -> IndividualRecorder:
    archive = ArchiveInfo("a1b2c3", "1_MX4xMjM0NTZ-", "123456", "my archive")
    return IndividualRecorder(tmp_path / "work" / archive.id, archive, IndividualOptions(**options),
                              zip_path=tmp_path / "a1b2c3.zip", now=clock)


def unzip(zip_path: Path, into: Path) -> dict[str, Any]:
    with zipfile.ZipFile(zip_path) as zf:
        infos = zf.infolist()
        assert all(i.compress_type == zipfile.ZIP_STORED for i in infos)
        zf.extractall(into)
        names = [i.filename for i in infos]
    manifests = [n for n in names if n.endswith(".json")]
    assert len(manifests) == 1
    manifest: dict[str, Any] = json.loads((into / manifests[0]).read_text())
    assert manifests[0] == f"{manifest['id']}.json"
    assert sorted(names) == sorted([manifests[0], *(f["filename"] for f in manifest["files"])])
    return manifest


def codecs_of(path: Path) -> list[str]:
    with av.open(str(path)) as c:
        return sorted(s.codec_context.name for s in c.streams)


def container_duration(path: Path) -> float:
    with av.open(str(path)) as c:
        return (c.duration or 0) / 1_000_000


# ---- the file set, the manifest and the ZIP -------------------------------------------------------
async def test_files_manifest_and_zip(tmp_path: Path) -> None:
    clock = FakeClock()
    rec = make_recorder(tmp_path, clock)
    await rec.start()
    rec.set_stream_info("v", connection_data="name=alice", video_type="camera")
    rec.set_stream_info("h", connection_data='{"user": "bob"}', video_type="screen")
    tone = encode_opus(50)
    vp8 = encode_video("vp8", coloured(320, 240, lambda i: RED, 114))
    h264 = encode_video("h264", coloured(640, 360, lambda i: GREEN, 60))
    pushes = (audio_track("v", 0.2, 4.0, tone) + video_track("v", 0.2 + 1 / 60, vp8)
              + audio_track("h", 1.0, 3.0, tone) + video_track("h", 1.0, h264))
    res = await record(rec, clock, pushes, stop_at=4.0, codecs={"v": VP8, "h": H264},
                       events=[(0.2, "add", "v"), (1.0, "add", "h"), (3.0, "remove", "h")])
    out = tmp_path / "out"
    manifest = unzip(res.zip_path, out)
    assert manifest == res.manifest
    assert set(manifest) == MANIFEST_KEYS
    assert manifest["id"] == "a1b2c3" and manifest["name"] == "my archive" and manifest["sessionId"] == "1_MX4xMjM0NTZ-"
    assert manifest["partnerId"] == 123456 and isinstance(manifest["createdAt"], int)
    assert manifest["createdAt"] == rec.created_at_ms
    files = {f["streamId"]: f for f in manifest["files"]}
    for f in files.values():
        assert set(f) == FILE_KEYS
        assert all(isinstance(f[k], int) for k in ("size", "startTimeOffset", "stopTimeOffset"))
        assert f["size"] == (out / f["filename"]).stat().st_size
    v, h = files["v"], files["h"]
    assert (v["filename"], v["connectionData"], v["videoType"]) == ("v.webm", "name=alice", "camera")
    assert (h["filename"], h["connectionData"], h["videoType"]) == ("h.mkv", '{"user": "bob"}', "screen")
    # offsets exact to the millisecond on the archive's clock: first packet to end (stop / removal)
    assert (v["startTimeOffset"], v["stopTimeOffset"]) == (200, 4000)
    assert (h["startTimeOffset"], h["stopTimeOffset"]) == (1000, 3000)
    assert codecs_of(out / "v.webm") == ["opus", "vp8"]
    assert codecs_of(out / "h.mkv") == ["h264", "opus"]
    for f in (v, h):
        path = out / f["filename"]
        length = (f["stopTimeOffset"] - f["startTimeOffset"]) / 1000
        assert abs(container_duration(path) - length) <= 1 / 30
        samples, rate = decode_audio(str(path))
        assert rate == 48000
        assert abs(len(samples) / rate - length) <= 0.0025  # continuous, to the stop
        frames = decode_video(str(path))
        assert frames[0][0] == pytest.approx(0.0, abs=0.02)  # video starts with the file
        times = [fr[0] for fr in frames]
        assert times == sorted(set(times))
    v_frames = decode_video(str(out / "v.webm"))
    assert len(v_frames) == 114 and (v_frames[0][1], v_frames[0][2]) == (320, 240)
    assert close_to(mean_rgb(v_frames[-1][3], 100, 80, 100, 80), RED)
    h_frames = decode_video(str(out / "h.mkv"))
    assert len(h_frames) == 60 and (h_frames[0][1], h_frames[0][2]) == (640, 360)
    assert close_to(mean_rgb(h_frames[-1][3], 200, 100, 200, 100), GREEN)
    assert res.duration == pytest.approx(4.0)
    assert not (tmp_path / "work" / "a1b2c3").exists()  # the ZIP is the archive
    with av.open(str(out / "v.webm")) as c:  # seekable: the Cues point at keyframe clusters
        c.seek(2_500_000)
        frame = next(c.decode(video=0))
        assert 1.9 <= float(frame.time) <= 2.6


async def test_real_time_recording_matches_the_wall_clock(tmp_path: Path) -> None:
    """Packets pushed as they are captured, on the real clock: the files and the manifest agree
    with the wall clock within a frame."""
    archive = ArchiveInfo("rt", "session", "123456")
    rec = IndividualRecorder(tmp_path / "rt", archive, zip_path=tmp_path / "rt.zip")
    await rec.start()
    assert rec.t0 is not None and rec.created_at_ms is not None
    tone = encode_opus(50)
    frames = encode_video("vp8", coloured(320, 240, lambda i: BLUE, 30))
    rec.add_stream("live", codecs=VP8)
    first = time.monotonic()
    a = v = 0
    while (now := time.monotonic() - first) < 1.5:
        while a * 0.02 <= now:
            rec.push_packet("live", "audio", tone[a % len(tone)].packet(), first + a * 0.02)
            a += 1
        while v / 30 <= now:
            rec.push_packet("live", "video", frames[v % len(frames)].packet(), first + v / 30)
            v += 1
        await asyncio.sleep(0.005)
    stopped = time.monotonic()
    res = await rec.stop()
    manifest = unzip(res.zip_path, tmp_path / "out")
    f = manifest["files"][0]
    assert abs(f["startTimeOffset"] - (first - rec.t0) * 1000) <= 1
    assert abs(f["stopTimeOffset"] - (stopped - rec.t0) * 1000) <= 1000 / 30
    assert abs(manifest["createdAt"] + f["startTimeOffset"] - (time.time() - (time.monotonic() - first)) * 1000) < 100
    path = tmp_path / "out" / "live.webm"
    length = (f["stopTimeOffset"] - f["startTimeOffset"]) / 1000
    assert abs(container_duration(path) - length) <= 1 / 30
    samples, rate = decode_audio(str(path))
    assert abs(len(samples) / rate - length) <= 0.0025
    assert len(decode_video(str(path))) == v  # every frame pushed (a loaded loop may stop late)


async def test_gaps_filled_reconnect_continues_and_video_starts_at_keyframe(tmp_path: Path) -> None:
    clock = FakeClock()
    rec = make_recorder(tmp_path, clock)
    asked: list[str] = []
    rec.on_keyframe_needed = asked.append
    await rec.start()
    tone = encode_opus(50, freq=440, amplitude=0.4)
    first = encode_video("vp8", coloured(320, 240, lambda i: RED, 60), gop=30)
    second = encode_video("vp8", coloured(320, 240, lambda i: BLUE, 30))
    # the first 10 frames are lost (no keyframe until frame 30 of the first encoder): dropped
    pushes = (audio_track("s", 0.0, 2.5, tone, skip=(1.0, 1.6))  # a mute: 0.6 s without audio
              + video_track("s", 0.0, first)[10:]  # 10..59: deltas until the keyframe at 30 (t=1.0)
              + audio_track("s", 3.0, 4.0, tone) + video_track("s", 3.0, second))  # the reconnect
    # a frame stamped earlier than its predecessor (a clock step): kept, after it
    pushes.append(Push(1.5 + 0.5 / 30, "s", "video", first[46]))
    res = await record(rec, clock, pushes, stop_at=4.0, events=[(0.0, "add", "s"), (2.5, "remove", "s"),
                                                                (3.0, "add", "s")], codecs={"s": VP8})
    out = tmp_path / "out"
    manifest = unzip(res.zip_path, out)
    assert [f["filename"] for f in manifest["files"]] == ["s.webm"]  # one file through the reconnect
    f = manifest["files"][0]
    assert (f["startTimeOffset"], f["stopTimeOffset"]) == (0, 4000)
    assert asked and set(asked) == {"s"}
    path = str(out / "s.webm")
    samples, rate = decode_audio(path)
    assert abs(len(samples) / rate - 4.0) <= 0.0025
    level = [float(np.abs(samples[int(a * rate) : int(b * rate)]).max()) for a, b in
             ((0.1, 0.9), (1.05, 1.55), (1.7, 2.4), (2.55, 2.95), (3.1, 3.9))]
    assert level[0] > 0.2 and level[2] > 0.2 and level[4] > 0.2  # the tone
    assert level[1] < 1e-3 and level[3] < 1e-3  # the mute and the reconnect gap: digital silence
    with av.open(path) as c:
        pts = [p.pts for p in c.demux(video=0) if p.pts is not None]
    assert pts == sorted(pts) and len(set(pts)) == len(pts)  # strictly increasing
    frames = decode_video(path)
    assert frames[0][0] == pytest.approx(1.0, abs=0.02)  # the first keyframe
    assert len(frames) == 30 + 1 + 30  # frames 30..59 of the first encoder, the odd one, the second
    assert close_to(mean_rgb(frames[5][3], 100, 80, 100, 80), RED)
    after = [fr for fr in frames if fr[0] >= 3.0]
    assert len(after) == 30 and after[0][0] == pytest.approx(3.0, abs=0.02)
    assert close_to(mean_rgb(after[-1][3], 100, 80, 100, 80), BLUE)
    assert abs(container_duration(out / "s.webm") - 4.0) <= 1 / 30


async def test_frames_placed_earlier_than_their_predecessors_keep_their_order(tmp_path: Path) -> None:
    """Lip sync may move a stream back (its first sender report, a re-anchor): the frames after
    the step are placed before frames already queued. A file keeps decode order (frame k after
    frame k-1, whatever their places), or its interframes would reference frames not yet seen."""
    clock = FakeClock()
    rec = make_recorder(tmp_path, clock)
    await rec.start()
    frames = encode_video("vp8", coloured(320, 240, lambda i: (i * 4, 255 - i * 4, 128), 60), gop=60)
    pushes = video_track("s", 0.0, frames)
    step_back = 0.05
    pushes = [Push(p.t - step_back if i >= 31 else p.t, p.stream, p.kind, p.media) for i, p in enumerate(pushes)]
    arrival = [i / 30 for i in range(60)]  # they come in order, as the network gave them
    res = await record(rec, clock, pushes + audio_track("s", 0.0, 2.0, encode_opus(50)), stop_at=2.2,
                       events=[(0.0, "add", "s")], codecs={"s": VP8},
                       arrival=arrival + [p.t for p in audio_track("s", 0.0, 2.0, encode_opus(50))])
    out = tmp_path / "out"
    manifest = unzip(res.zip_path, out)
    path = str(out / manifest["files"][0]["filename"])
    decoded = decode_video(path)  # an interframe ahead of its reference would not decode
    assert len(decoded) == 60
    reds = [float(fr[3][:, :, 0].mean()) for fr in decoded]
    assert reds == sorted(reds), [round(r) for r in reds]  # frame k after frame k-1
    times = [fr[0] for fr in decoded]
    assert times == sorted(times)


async def test_orientation_change_within_the_file(tmp_path: Path) -> None:
    clock = FakeClock()
    rec = make_recorder(tmp_path, clock, has_audio=False)
    await rec.start()
    land = encode_video("vp8", coloured(640, 480, lambda i: RED, 30))
    port = encode_video("vp8", coloured(480, 640, lambda i: GREEN, 30))  # a new keyframe, turned
    res = await record(rec, clock, video_track("p", 0.0, land) + video_track("p", 1.0, port), stop_at=2.5,
                       events=[(0.0, "add", "p")], codecs={"p": VP8})
    out = tmp_path / "out"
    manifest = unzip(res.zip_path, out)
    path = out / manifest["files"][0]["filename"]
    assert codecs_of(path) == ["vp8"]  # hasAudio false: no audio track
    frames = decode_video(str(path))
    assert [(w, h) for _t, w, h, _img in frames] == [(640, 480)] * 30 + [(480, 640)] * 30
    assert close_to(mean_rgb(frames[-1][3], 100, 100, 200, 300), GREEN)
    # video only: the last picture lasts until the stop
    assert abs(container_duration(path) - 2.5) <= 1 / 30
    assert manifest["files"][0]["stopTimeOffset"] == 2500


async def test_has_video_false_records_audio_only_webm(tmp_path: Path) -> None:
    clock = FakeClock()
    rec = make_recorder(tmp_path, clock, has_video=False)
    await rec.start()
    pushes = audio_track("h", 0.0, 1.0, encode_opus(50)) + video_track(
        "h", 0.0, encode_video("h264", coloured(320, 240, lambda i: RED, 30)))
    res = await record(rec, clock, pushes, stop_at=1.0, events=[(0.0, "add", "h")], codecs={"h": H264})
    manifest = unzip(res.zip_path, tmp_path / "out")
    assert [f["filename"] for f in manifest["files"]] == ["h.webm"]
    assert codecs_of(tmp_path / "out" / "h.webm") == ["opus"]


async def test_audio_reaches_the_disk_while_video_is_muted(tmp_path: Path) -> None:
    """Nothing waits for the muted track: what the file holds follows the clock (crash safety)."""
    clock = FakeClock()
    rec = make_recorder(tmp_path, clock)
    await rec.start()
    assert rec.t0 is not None
    rec.add_stream("m", codecs=VP8)
    pushes = audio_track("m", 0.0, 4.0, encode_opus(50)) + video_track(
        "m", 0.0, encode_video("vp8", coloured(320, 240, lambda i: RED, 30)))  # video stops at 1 s
    for p in sorted(pushes, key=lambda p: p.t):
        rec.push_packet(p.stream, p.kind, p.media.packet(), rec.t0 + p.t)
    clock.t = rec.t0 + 4.0
    path = tmp_path / "work" / "a1b2c3" / "m.webm"
    last = 0.0
    for _ in range(200):  # the worker writes within a few of its 20 ms rounds
        await asyncio.sleep(0.02)
        if path.exists() and path.stat().st_size > 0:
            try:
                with av.open(str(path)) as c:
                    last = max(float(p.pts * p.time_base) for p in c.demux(audio=0) if p.pts is not None)
            except (av.FFmpegError, ValueError):
                continue
            if last >= 4.0 - 0.5 - 0.1 - 0.25 - 0.02:  # latency, keep-alive gap, one cluster
                break
    assert last >= 3.1, last
    await rec.stop()


async def test_switching_a_streams_video_on_keeps_one_file(tmp_path: Path) -> None:
    """PATCH .../streams with hasVideo false, then true (manual mode): the same file."""
    clock = FakeClock()
    rec = make_recorder(tmp_path, clock, open_wait_s=0.2)
    await rec.start()
    assert rec.t0 is not None
    t0 = rec.t0
    rec.add_stream("x", True, False, codecs=VP8)  # audio only at first
    frames = encode_video("vp8", coloured(320, 240, lambda i: GREEN, 60), gop=30)
    pushes = sorted(audio_track("x", 0.0, 2.0, encode_opus(50)) + video_track("x", 0.0, frames), key=lambda p: p.t)
    for phase in ([p for p in pushes if p.t < 1.0], [p for p in pushes if p.t >= 1.0]):
        for p in phase:  # the video of the first second is not recorded: hasVideo is false
            rec.push_packet(p.stream, p.kind, p.media.packet(), t0 + p.t)
        clock.t = t0 + phase[-1].t
        await asyncio.sleep(0.05)
        rec.add_stream("x", True, True, codecs=VP8)  # its video switched on at 1 s
    clock.t = t0 + 2.0
    res = await rec.stop()
    manifest = unzip(res.zip_path, tmp_path / "out")
    assert [f["filename"] for f in manifest["files"]] == ["x.webm"]
    path = tmp_path / "out" / "x.webm"
    assert codecs_of(path) == ["opus", "vp8"]
    video = decode_video(str(path))
    assert video and video[0][0] == pytest.approx(1.0, abs=0.02)  # the keyframe at 1 s (frame 30)
    samples, rate = decode_audio(str(path))
    assert abs(len(samples) / rate - 2.0) <= 0.0025


def test_both_recorders_take_a_feed(tmp_path: Path) -> None:
    composed: PacketRecorder = ComposedRecorder(tmp_path / "c.mp4")
    individual: PacketRecorder = IndividualRecorder(tmp_path / "i", ArchiveInfo("i", "s", "1"))
    assert composed is not individual
    with pytest.raises(ValueError):
        IndividualOptions(has_audio=False, has_video=False)


# ---- packets without decoding ----------------------------------------------------------------------
def test_opus_packet_samples_and_silence() -> None:
    for packet in encode_opus(3):
        assert packet_samples(packet.data) == 960
    assert packet_samples(bytes([(16 << 3) | 0])) == 120  # CELT 2.5 ms
    assert packet_samples(bytes([(1 << 3) | 1])) == 2 * 960  # SILK 20 ms, two frames
    assert packet_samples(bytes([(3 << 3) | 3, 2])) == 2 * 2880  # SILK 60 ms, code 3, 2 frames
    for bad in (b"", bytes([(3 << 3) | 3, 3]), bytes([3])):  # empty; 180 ms; code 3 without a count
        with pytest.raises(ValueError):
            packet_samples(bad)
    filled = silence(48000 + 360)
    assert sum(n for _p, n in filled) == 48000 + 360
    decoder: Any = av.CodecContext.create("opus", "r")
    decoded = [f for data, _n in filled for f in decoder.decode(av.Packet(data))]
    assert sum(f.samples for f in decoded) == 48000 + 360
    assert max(float(np.abs(f.to_ndarray()).max()) for f in decoded) == 0.0


def test_matroska_clusters_reach_the_disk_on_time(tmp_path: Path) -> None:
    path = tmp_path / "w.webm"
    writer = MatroskaWriter(path, "webm", [Track(2, "audio", "A_OPUS", opus_head())], cluster_ms=250)
    header = path.stat().st_size
    for i, packet in enumerate(encode_opus(10)):  # 200 ms: one open cluster, in memory
        writer.write(2, i * 20, packet.data, True)
    assert path.stat().st_size == header
    writer.flush_due(240)
    assert path.stat().st_size == header
    writer.flush_due(250)  # due: written whole, without waiting for the next block
    assert path.stat().st_size > header
    with av.open(str(path)) as c:  # readable as it is, before any index
        assert len([p for p in c.demux(audio=0) if p.size]) == 10
    writer.close(200.0)
    with av.open(str(path)) as c:
        assert (c.duration or 0) / 1e6 == pytest.approx(0.2, abs=0.001)
    assert avc_configuration(encode_video("vp8", coloured(64, 64, lambda i: RED, 1))[0].data) is None


def test_picture_sizes_from_keyframes() -> None:
    vp8 = encode_video("vp8", coloured(480, 640, lambda i: RED, 2))
    assert vp8_keyframe_size(vp8[0].data) == (480, 640) and vp8_keyframe_size(vp8[1].data) is None
    h264 = encode_video("h264", coloured(640, 360, lambda i: RED, 2))
    assert h264_sps_size(h264[0].data) == (640, 360)


# ---- crash safety ------------------------------------------------------------------------------------
def test_sigkill_mid_recording_then_recover(tmp_path: Path) -> None:
    work = tmp_path / "work"
    proc = subprocess.Popen(
        [sys.executable, "-m", "tests.recording.kill_individual_child", str(work)],
        cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
    )
    elapsed = 0.0
    try:
        assert proc.stdout is not None
        for line in proc.stdout:
            if line.startswith("elapsed "):
                elapsed = float(line.split()[1])
                if elapsed >= 3.0:
                    break
        os.kill(proc.pid, signal.SIGKILL)
    finally:
        proc.kill()
        proc.wait(timeout=10)
    assert proc.returncode == -signal.SIGKILL and elapsed >= 3.0
    zip_path = tmp_path / "killed.zip"
    assert not zip_path.exists()
    result = recover_individual(work, zip_path)
    out = tmp_path / "out"
    manifest = unzip(zip_path, out)
    assert manifest == result.manifest and manifest["id"] == "killed"
    files = {f["streamId"]: f for f in manifest["files"]}
    assert set(files) == {"vp8", "h264"}
    assert codecs_of(out / files["vp8"]["filename"]) == ["opus", "vp8"]
    assert codecs_of(out / files["h264"]["filename"]) == ["h264", "opus"]
    for f in files.values():
        path = out / f["filename"]
        stop = f["stopTimeOffset"] / 1000
        # everything but the write latency (0.5 s) and the cluster being written (0.25 s) is kept
        assert elapsed - 1.2 <= stop <= elapsed + 0.1, (elapsed, f)
        length = (f["stopTimeOffset"] - f["startTimeOffset"]) / 1000
        assert abs(container_duration(path) - length) <= 0.05
        samples, rate = decode_audio(str(path))
        assert abs(len(samples) / rate - length) <= 0.05
        assert len(decode_video(str(path))) >= 30 * (length - 0.1)
    assert not work.exists()
    again = recover_individual(work, zip_path)  # idempotent
    assert again.manifest == result.manifest and again.sha256 == result.sha256


async def test_torn_file_is_repaired(tmp_path: Path) -> None:
    clock = FakeClock()
    rec = make_recorder(tmp_path, clock, keep_directory=True)
    await rec.start()
    assert rec.t0 is not None
    tone = encode_opus(50)
    frames = encode_video("vp8", coloured(320, 240, lambda i: BLUE, 90))
    pushes = audio_track("t", 0.0, 3.0, tone) + video_track("t", 0.0, frames)
    rec.add_stream("t", True, True, codecs=VP8)
    for p in sorted(pushes, key=lambda p: p.t):
        rec.push_packet(p.stream, p.kind, p.media.packet(), rec.t0 + p.t)
    clock.t = rec.t0 + 3.0
    await rec.close()  # a shutdown: files complete, no ZIP (recovery makes it)
    work = tmp_path / "work" / "a1b2c3"
    path = work / "t.webm"
    size = path.stat().st_size
    with path.open("r+b") as f:  # as if killed while writing: no index, a torn cluster
        f.truncate(size * 2 // 3)
    journal = (work / "journal.jsonl").read_text().splitlines()
    (work / "journal.jsonl").write_text("\n".join(line for line in journal if '"closed"' not in line) + "\n{\"ev")
    result = recover_individual(work, tmp_path / "a1b2c3.zip")
    f = result.manifest["files"][0]
    assert f["startTimeOffset"] == 0 and 1000 < f["stopTimeOffset"] < 2900
    manifest = unzip(result.zip_path, tmp_path / "out")
    path = tmp_path / "out" / "t.webm"
    assert abs(container_duration(path) - f["stopTimeOffset"] / 1000) <= 0.05
    assert decode_video(str(path)) and manifest["files"][0]["size"] == path.stat().st_size


def test_nothing_to_recover(tmp_path: Path) -> None:
    with pytest.raises(RecoveryError):
        recover_individual(tmp_path / "missing")
    (tmp_path / "empty").mkdir()
    with pytest.raises(RecoveryError):
        recover_individual(tmp_path / "empty")
