"""Crash safety: a recorder killed with SIGKILL leaves a file that plays up to the kill."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from archivist.recording import ComposedRecorder, RecordingOptions, RecoveryError, recover_file
from archivist.recording.finalize import finalize_file
from archivist.recording.recovery import inspect_file
from tests.recording.media import RED, feed, read_output, solid, tone

ROOT = Path(__file__).resolve().parents[2]


def test_sigkill_mid_recording_then_recover(tmp_path: Path) -> None:
    path = tmp_path / "killed.mp4"
    proc = subprocess.Popen(
        [sys.executable, "-m", "tests.recording.kill_child", str(path)],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    elapsed = 0.0
    try:
        assert proc.stdout is not None
        for line in proc.stdout:
            if line.startswith("elapsed "):
                elapsed = float(line.split()[1])
                if elapsed >= 3.5:
                    break
        os.kill(proc.pid, signal.SIGKILL)
    finally:
        proc.kill()
        proc.wait(timeout=10)
    assert proc.returncode == -signal.SIGKILL
    assert elapsed >= 3.5

    result = recover_file(path)
    # everything up to the last complete fragment (1 s) behind the output latency (0.25 s) survives
    assert elapsed - 1.6 <= result.duration <= elapsed + 0.1, (elapsed, result)
    assert result.size == path.stat().st_size
    assert result.has_video and result.has_audio
    out = read_output(path, keep_every=15)
    assert sorted(out.codecs) == ["aac", "h264"]
    assert abs(len(out.video_times) / 30 - inspect_file(path).track("vide").duration) <= 1 / 30  # type: ignore[union-attr]
    assert abs(len(out.audio) / 48000 - result.duration) <= 0.05
    # recovery is idempotent
    again = recover_file(path)
    assert again.truncated_bytes == 0 and again.duration == result.duration


async def test_torn_last_fragment_is_truncated(tmp_path: Path) -> None:
    path = tmp_path / "torn.mp4"
    rec = ComposedRecorder(path, RecordingOptions(fragment_s=0.5))
    await rec.start()
    rec.add_stream("s")
    red = solid(320, 240, RED)
    await feed(rec, "s", 2.0, video=lambda t: red, audio=lambda s, n: tone(440, 0.3, s, n))
    full = await rec.stop()
    info = inspect_file(path)
    assert info.fragments >= 3
    # tear the file in the middle of its last fragment's media data
    size = path.stat().st_size
    with path.open("r+b") as f:
        f.truncate(size - 700)
    with pytest.raises(RecoveryError):
        finalize_file(path)
    result = recover_file(path)
    assert result.truncated_bytes > 0
    assert 0.5 < result.duration < full.duration
    out = read_output(path)
    assert sorted(out.codecs) == ["aac", "h264"]
    assert abs(len(out.video_times) / 30 - result.duration) <= 0.1


def test_nothing_to_recover(tmp_path: Path) -> None:
    empty = tmp_path / "empty.mp4"
    empty.write_bytes(b"")
    with pytest.raises(RecoveryError):
        recover_file(empty)
    with pytest.raises(RecoveryError):
        recover_file(tmp_path / "missing.mp4")


async def test_sha256_matches(tmp_path: Path) -> None:
    import hashlib

    path = tmp_path / "h.mp4"
    rec = ComposedRecorder(path, RecordingOptions(has_video=False))
    await rec.start()
    rec.add_stream("s")
    await asyncio.sleep(0.3)
    res = await rec.stop()
    assert res.sha256 == hashlib.sha256(path.read_bytes()).hexdigest()
    assert res.duration == pytest.approx(0.3, abs=0.05)
