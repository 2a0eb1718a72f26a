"""A recorder on a machine that cannot keep up: fewer pictures, all the sound, bounded memory."""

from __future__ import annotations

from pathlib import Path

import av
import numpy as np

from archivist.recording.compositor import MAX_PENDING_BYTES, Compositor
from archivist.recording.encoder import AudioSettings, VideoSettings
from archivist.recording.pipeline import RecordingPipeline
from tests.recording.media import read_output, tone


def moving(n: int, width: int = 320, height: int = 240) -> av.VideoFrame:
    img = np.zeros((height, width, 3), dtype=np.uint8)
    img[:, (n * 4) % width : (n * 4) % width + 16] = 255
    return av.VideoFrame.from_ndarray(img, format="rgb24").reformat(format="yuv420p")


def test_a_pipeline_that_falls_behind_skips_pictures_never_sound(tmp_path: Path) -> None:
    path = tmp_path / "behind.mp4"
    pipeline = RecordingPipeline(path, 0.0, VideoSettings(width=320, height=240), AudioSettings(), fragment_s=1.0)
    pipeline.add_stream("s", True, True, 0.0)
    frames = [moving(n) for n in range(30)]
    for second in range(6):
        # a second of media arrives, but the worker only gets to render every second second
        for n in range(second * 30, second * 30 + 30):
            pipeline.push_video("s", frames[n % 30], n / 30)
        for k in range(second * 50, second * 50 + 50):
            pipeline.push_audio("s", tone(440, 0.3, k * 960, 960), k * 0.02)
        if second % 2 == 1:
            pipeline.render_until(second + 1.0)
            assert pipeline.video_behind_s > 1.0  # it was two seconds behind when it got to run
    pipeline.finish(6.0)
    assert pipeline.skipped_ticks > 60

    out = read_output(path)
    assert abs(out.container_duration - 6.0) <= 1 / 30
    assert out.video_times[0] == 0.0 and 4 <= len(out.video_times) < 120  # fewer pictures...
    sound = np.abs(out.audio[int(0.05 * 48_000) : int(5.95 * 48_000)])
    windows = sound[: len(sound) // 480 * 480].reshape(-1, 480).max(axis=1)
    assert windows.min() > 0.05  # ...and not one 10 ms of lost sound
    assert abs(len(out.audio) / 48_000 - 6.0) <= 1 / 30


def test_a_pipeline_that_keeps_up_skips_nothing(tmp_path: Path) -> None:
    pipeline = RecordingPipeline(tmp_path / "ok.mp4", 0.0, VideoSettings(width=320, height=240), AudioSettings())
    pipeline.add_stream("s", True, True, 0.0)
    for n in range(90):
        pipeline.push_video("s", moving(n), n / 30)
        if n % 3 == 2:
            pipeline.render_until(n / 30 - 0.25)
            assert pipeline.video_behind_s <= 0.1
    pipeline.finish(3.0)
    assert pipeline.skipped_ticks == 0
    assert len(read_output(tmp_path / "ok.mp4").video_times) == 90


def test_frames_waiting_for_their_tick_are_bounded_in_memory() -> None:
    compositor = Compositor(640, 480)
    compositor.add_source("big", joined_at=0.0)
    frame = av.VideoFrame(1920, 1080, "yuv420p")
    for n in range(300):  # ten seconds of 1080p nobody rendered
        compositor.offer("big", frame, n / 30)
    src = compositor._sources["big"]
    assert len(src.pending) * 1920 * 1080 * 3 // 2 <= MAX_PENDING_BYTES
    assert src.dropped == 300 - len(src.pending)
    assert src.pending[-1][0] == 299 / 30  # the newest are kept
