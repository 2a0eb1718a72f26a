"""End-to-end: real recorder, real time, real files, read back with PyAV."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from archivist.recording import ComposedRecorder, RecordingError, RecordingOptions
from archivist.recording.recovery import inspect_file
from tests.recording.media import (
    BLACK,
    GREEN,
    RED,
    WHITE,
    close_to,
    feed,
    mean_rgb,
    read_output,
    silence,
    solid,
    tone,
)

FRAME = 1 / 30


async def test_composed_720p_codecs_duration_frames_audio(tmp_path: Path) -> None:
    path = tmp_path / "a.mp4"
    rec = ComposedRecorder(path, RecordingOptions(resolution="1280x720"))
    await rec.start()
    wall0 = time.monotonic()
    rec.add_stream("a")
    rec.add_stream("b")
    red, green = solid(640, 480, RED), solid(480, 640, GREEN)
    await asyncio.gather(
        feed(rec, "a", 2.5, video=lambda t: red, audio=lambda s, n: tone(440, 0.3, s, n)),
        feed(rec, "b", 2.5, video=lambda t: green, audio=lambda s, n: silence(n)),
    )
    await asyncio.sleep(0.3)
    wall = time.monotonic() - wall0  # the file ends at the instant stop() is called
    result = await rec.stop()
    await rec.close()
    await rec.close()  # idempotent
    assert rec.state == "closed"

    out = read_output(path, keep_every=10)
    assert sorted(out.codecs) == ["aac", "h264"]
    assert (out.width, out.height) == (1280, 720)
    assert abs(result.duration - wall) <= FRAME
    assert abs(len(out.video_times) * FRAME - wall) <= FRAME
    assert out.video_times == sorted(out.video_times)
    assert abs(out.container_duration - result.duration) <= FRAME
    assert abs(len(out.audio) / out.audio_rate - result.duration) <= FRAME
    assert out.audio_rate == 48000
    # the tone is there while it plays, silence after it stopped
    assert np.abs(out.audio[48000 : 48000 * 2]).max() > 0.1
    assert np.abs(out.audio[int(48000 * 2.65) :]).max() < 0.01
    assert result.size == path.stat().st_size and len(result.sha256) == 64
    assert inspect_file(path).track("vide") is not None
    assert rec.dropped == {"video": 0, "audio": 0}


async def test_join_and_leave_mid_recording_reflows(tmp_path: Path) -> None:
    path = tmp_path / "jl.mp4"
    rec = ComposedRecorder(path)  # 640x480 default
    await rec.start()
    start = rec.t0
    assert start is not None
    red, green = solid(640, 480, RED), solid(640, 480, GREEN)
    rec.add_stream("a", has_audio=False)

    async def b_joins_then_leaves() -> None:
        await asyncio.sleep(1.0)
        rec.add_stream("b", has_audio=False)
        await feed(rec, "b", 1.2, video=lambda t: green)
        rec.remove_stream("b")

    await asyncio.gather(feed(rec, "a", 3.4, video=lambda t: red, start=start), b_joins_then_leaves())
    await rec.stop()
    out = read_output(path)

    def at(t: float) -> Any:
        i = min(range(len(out.video_times)), key=lambda k: abs(out.video_times[k] - t))
        return out.video_rgb[i]

    full = at(0.5)
    assert close_to(mean_rgb(full, 20, 20, 600, 440), RED)
    both = at(1.7)  # tiles 320x480; 640x480 sources letterboxed to 320x240 at y=120
    assert close_to(mean_rgb(both, 20, 140, 280, 200), RED)
    assert close_to(mean_rgb(both, 340, 140, 280, 200), GREEN)
    assert close_to(mean_rgb(both, 20, 10, 600, 100), BLACK, tol=20)  # letterbox bars
    assert close_to(mean_rgb(at(3.1), 20, 20, 600, 440), RED)  # b left: a full again


def _onsets(signal: Any, threshold: float, min_gap: int) -> list[int]:
    idx = np.flatnonzero(signal > threshold)
    out: list[int] = []
    for i in idx:
        if not out or i - out[-1] > min_gap:
            out.append(int(i))
    return out


async def test_av_sync_flash_and_beep(tmp_path: Path) -> None:
    path = tmp_path / "sync.mp4"
    rec = ComposedRecorder(path)
    await rec.start()
    rec.add_stream("src")
    white, black = solid(640, 480, WHITE), solid(640, 480, BLACK)
    flashes = (0.8, 1.8, 2.8)

    def video(t: float) -> Any:
        return white if any(f <= t < f + 0.1 for f in flashes) else black

    def audio(first: int, n: int) -> Any:
        t = first / 48000
        if any(f <= t < f + 0.1 for f in flashes):
            return tone(1000, 0.5, first, n)
        return silence(n)

    assert rec.t0 is not None
    # start the source a little after the recording: a real stream never starts at t0
    await asyncio.sleep(0.2)
    await feed(rec, "src", 3.2, video=video, audio=audio, start=rec.t0 + 0.2)
    await rec.stop()

    out = read_output(path)
    luma = np.array([f.mean() for f in out.video_rgb])
    v_on = [out.video_times[i] for i in _onsets(luma, 128, 5)]
    env = np.abs(out.audio)
    a_on = [i / out.audio_rate for i in _onsets(env, 0.1, 48000 // 4)]
    assert len(v_on) == len(a_on) == 3, (v_on, a_on)
    offsets = [a - v for a, v in zip(a_on, v_on, strict=True)]
    assert all(abs(o) <= 0.040 for o in offsets), offsets
    # and both sit where the source put them on the shared clock
    for v, f in zip(v_on, flashes, strict=True):
        assert abs(v - (f + 0.2)) <= 0.040


async def test_audio_only_and_video_only(tmp_path: Path) -> None:
    a_path, v_path = tmp_path / "audio.mp4", tmp_path / "video.mp4"
    a_rec = ComposedRecorder(a_path, RecordingOptions(has_video=False))
    v_rec = ComposedRecorder(v_path, RecordingOptions(has_audio=False, resolution="480x640"))
    await a_rec.start()
    await v_rec.start()
    for rec in (a_rec, v_rec):
        rec.add_stream("s")
    red = solid(640, 480, RED)
    await asyncio.gather(
        feed(a_rec, "s", 1.5, video=lambda t: red, audio=lambda s, n: tone(300, 0.3, s, n)),
        feed(v_rec, "s", 1.5, video=lambda t: red, audio=lambda s, n: tone(300, 0.3, s, n)),
    )
    a_res, v_res = await asyncio.gather(a_rec.stop(), v_rec.stop())
    a_out, v_out = read_output(a_path), read_output(v_path)
    assert a_out.codecs == ["aac"] and not a_out.video_times
    assert v_out.codecs == ["h264"] and len(v_out.audio) == 0
    assert (v_out.width, v_out.height) == (480, 640)
    # 640x480 in a portrait picture: letterboxed top and bottom, red band in the middle
    img = v_out.video_rgb[-1]
    assert close_to(mean_rgb(img, 0, 0, 480, 130), BLACK, tol=20)  # red band: y 140..500
    assert close_to(mean_rgb(img, 0, 510, 480, 130), BLACK, tol=20)
    assert close_to(mean_rgb(img, 20, 240, 440, 160), RED)
    assert abs(a_res.duration - v_res.duration) < 0.1
    assert a_res.duration == pytest.approx(1.5, abs=0.15)


async def test_max_bitrate_and_qp_are_honoured(tmp_path: Path) -> None:
    import av

    rng = np.random.default_rng(7)
    noise = [
        av.VideoFrame.from_ndarray(rng.integers(0, 255, (480, 640, 3), dtype=np.uint8), format="rgb24")
        for _ in range(4)
    ]
    options = {
        "capped": RecordingOptions(max_bitrate=400_000, has_audio=False),
        "qp40": RecordingOptions(quantization_parameter=40, has_audio=False),
        "qp15": RecordingOptions(quantization_parameter=15, has_audio=False),
    }

    async def record(name: str, opts: RecordingOptions) -> float:
        rec = ComposedRecorder(tmp_path / f"{name}.mp4", opts)
        await rec.start()
        rec.add_stream("n")
        await feed(rec, "n", 3.0, video=lambda t: noise[int(t * 30) % 4])
        res = await rec.stop()
        return res.size * 8 / res.duration

    rates = await asyncio.gather(*(record(n, o) for n, o in options.items()))
    sizes = dict(zip(options, rates, strict=True))
    # random noise would need tens of Mbit/s: the cap holds it to 400 kbit/s plus the one-second
    # VBV buffer spread over the 3 s (container overhead aside)
    assert sizes["capped"] < 400_000 * (1 + 1 / 3) * 1.1, sizes
    assert sizes["qp15"] > 4 * sizes["qp40"], sizes


async def test_worker_failure_is_surfaced(tmp_path: Path) -> None:
    errors: list[BaseException] = []
    rec = ComposedRecorder(tmp_path / "bad.mp4", on_error=errors.append)
    await rec.start()
    rec.add_stream("s")
    rec.push_video("s", "not a frame", time.monotonic())
    for _ in range(100):
        if errors:
            break
        await asyncio.sleep(0.02)
    assert errors and rec.state == "failed"
    assert not rec.push_video("s", solid(64, 48, RED), time.monotonic())
    with pytest.raises(RecordingError):
        await rec.stop()
    await rec.close()
    # what was written before the failure is still a readable file
    assert inspect_file(tmp_path / "bad.mp4").has_moov


async def test_start_failure_raises(tmp_path: Path) -> None:
    rec = ComposedRecorder(tmp_path / "no" / "such" / "dir.mp4")
    with pytest.raises(Exception):  # noqa: B017 - whatever libavformat says, it reaches us
        await rec.start()
    await rec.close()


async def test_close_without_stop_leaves_playable_file(tmp_path: Path) -> None:
    path = tmp_path / "c.mp4"
    rec = ComposedRecorder(path)
    await rec.start()
    rec.add_stream("s")
    red = solid(320, 240, RED)
    await feed(rec, "s", 1.0, video=lambda t: red, audio=lambda s, n: tone(500, 0.2, s, n))
    await rec.close()
    await rec.close()
    out = read_output(path)
    assert sorted(out.codecs) == ["aac", "h264"] and len(out.video_times) >= 25
