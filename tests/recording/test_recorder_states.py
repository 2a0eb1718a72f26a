"""The recorder's state machine (recording/recorder.py TRANSITIONS) and its close idiom, with a
real worker thread and a real (audio-only, short) file."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from archivist.recording import ComposedRecorder, RecordingOptions
from archivist.recording.recorder import TRANSITIONS


def test_every_state_has_rules() -> None:
    assert set(TRANSITIONS) == {"new", "running", "stopping", "stopped", "failed", "closed"}
    assert TRANSITIONS["closed"] == frozenset() and "running" not in TRANSITIONS["stopped"]


async def test_states_from_start_to_close(tmp_path: Path) -> None:
    rec = ComposedRecorder(tmp_path / "a.mp4", RecordingOptions(has_video=False))
    assert rec.state == "new"
    await rec.start()
    assert rec.state == "running"
    with pytest.raises(RuntimeError, match="cannot start"):
        await rec.start()
    await asyncio.sleep(0.05)
    result = await rec.stop()
    assert rec.state == "stopped" and result.size > 0
    assert await rec.stop() is result  # the result is kept
    await asyncio.gather(rec.close(), rec.close())  # a second caller waits for the first
    assert rec.state == "closed"
    await rec.close()
    with pytest.raises(RuntimeError, match="cannot start"):
        await rec.start()


async def test_close_before_start_and_while_running(tmp_path: Path) -> None:
    never = ComposedRecorder(tmp_path / "never.mp4", RecordingOptions(has_video=False))
    await never.close()
    assert never.state == "closed" and not (tmp_path / "never.mp4").exists()
    running = ComposedRecorder(tmp_path / "b.mp4", RecordingOptions(has_video=False))
    await running.start()
    await running.close()  # stops the worker; the file stays playable
    assert running.state == "closed" and (tmp_path / "b.mp4").stat().st_size > 0
