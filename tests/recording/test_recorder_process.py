"""A composed recorder in a process of its own (``recording/recorder_process.py``): the same file
as the in-server recorder, its failures reported as that one's are, the process gone with it."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from archivist.recording.layout import LayoutSpec
from archivist.recording.recorder import RecordingError, RecordingOptions
from archivist.recording.recorder_process import RecorderProcess, SpareProcess
from archivist.recording.recovery import recover_file
from tests.recording.media import read_output
from tests.recording.test_recorder_memory import record_packets

ROOT = Path(__file__).resolve().parents[2]


def running(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # a zombie (exited, not yet reaped) is not running
    with open(f"/proc/{pid}/stat") as f:
        return f.read().rsplit(")", 1)[1].split()[0] != "Z"


async def gone(pid: int, within: float = 5.0) -> bool:
    deadline = time.monotonic() + within
    while running(pid):
        if time.monotonic() > deadline:
            return False
        await asyncio.sleep(0.05)
    return True


async def test_a_recorder_process_records_what_it_is_fed_and_exits(tmp_path: Path) -> None:
    path = tmp_path / "a.mp4"
    spare = SpareProcess()
    rec = RecorderProcess(path, RecordingOptions(), layout=LayoutSpec("bestFit"), spare=spare)
    asked: list[str] = []
    rec.on_keyframe_needed = asked.append
    await rec.start()
    pid = rec.pid
    assert pid is not None and pid != os.getpid() and running(pid)
    rec.layout.set(LayoutSpec("verticalPresentation"))  # forwarded: taken at the next frame
    rec.layout.set_stream("a", classes=["focus"])
    await record_packets(rec, 2.0)
    await asyncio.sleep(0.6)  # progress reports come four times a second
    assert rec.cpu_seconds > 0 and rec.lag_seconds >= rec.options.latency_s and not rec.degraded
    assert rec.t0 is not None
    stopped_at = time.monotonic()
    result = await rec.stop()
    await rec.close()
    assert rec.state == "closed"
    assert await gone(pid)
    # the file runs from the start call (its zero, on the clock both processes share) to the stop
    assert abs(result.duration - (stopped_at - rec.t0)) < 0.1 and result.size == path.stat().st_size
    out = read_output(path, keep_every=10)
    assert out.codecs == ["h264", "aac"] and (out.width, out.height) == (640, 480)
    assert rec.stats["decoders"]["a/video"]["decoded"] > 40  # the child's own figures came back
    assert rec.dropped == {"audio": 0, "video": 0}
    await spare.close()


async def test_a_spare_process_makes_the_start_immediate(tmp_path: Path) -> None:
    spare = SpareProcess()
    spare.prepare()
    await spare.ready()
    rec = RecorderProcess(tmp_path / "b.mp4", spare=spare)
    started = time.monotonic()
    await rec.start()
    took = time.monotonic() - started
    assert took < 0.3, f"start took {took:.3f} s with a spare process ready"
    await rec.close()
    await spare.close()
    assert rec.pid is not None and await gone(rec.pid)


async def test_what_is_fed_while_the_process_starts_is_kept(tmp_path: Path) -> None:
    """No spare process: the file still begins at the start (its zero), with the media fed while
    the process was starting (it waited, in order, for the process)."""
    import numpy as np

    path = tmp_path / "cold.mp4"
    rec = RecorderProcess(path)
    rec.begin()
    assert rec.t0 is not None
    feeding = asyncio.create_task(record_packets(rec, 2.5))
    await rec.start()
    started_after = time.monotonic() - rec.t0
    await feeding
    result = await rec.stop()
    await rec.close()
    assert started_after > 0.3, f"the process started in {started_after:.3f} s: nothing waited"
    out = read_output(path, keep_every=10)
    head = out.audio[: int(out.audio_rate * (started_after + 0.5))]
    windows = head[: len(head) // 480 * 480].reshape(-1, 480)  # 10 ms each
    loud = np.sqrt((windows.astype(np.float64) ** 2).mean(axis=1)) > 0.01
    first = int(np.argmax(loud))
    # the tone begins as with a recorder thread (its mixer's first 0.17 s are quiet there too) and
    # goes on through the time the process took to start: nothing fed meanwhile was lost
    assert loud.any() and first < 25, f"the sound began {first * 10} ms into the file"
    assert loud[first:].all(), f"silent 10 ms windows: {np.flatnonzero(~loud[first:]) + first}"
    assert rec.stats["audio"]["dropped_samples"] == 0
    assert abs(result.duration - 2.5) < 0.2


async def test_media_that_comes_after_the_stop_but_was_captured_before_it_is_kept(tmp_path: Path) -> None:
    """Packets arrive 120 ms after their capture instant (a network, a jitter buffer): those of
    the last 120 ms before the stop come down the pipe after the stop command, and the file
    still ends with their sound (the child reads its pipe while it finishes the file)."""
    import numpy as np

    from tests.recording.encoded import encode_opus

    path = tmp_path / "tail.mp4"
    rec = RecorderProcess(path)
    await rec.start()
    assert rec.t0 is not None
    audio = encode_opus(50)
    rec.add_stream("a", has_video=False, codecs={"audio": "audio/opus"})
    delay, stop_after = 0.12, 1.5
    stopping: asyncio.Task[object] | None = None
    for i in range(round((stop_after + delay) / 0.02)):
        t = rec.t0 + i * 0.02  # the packet's capture instant; it arrives ``delay`` later
        await asyncio.sleep(max(0.0, t + delay - time.monotonic()))
        if stopping is None and time.monotonic() >= rec.t0 + stop_after:
            stopping = asyncio.create_task(rec.stop())
            await asyncio.sleep(0)
        rec.push_packet("a", "audio", audio[i % len(audio)].packet(), t, i * 960)
    assert stopping is not None
    await stopping
    await rec.close()
    out = read_output(path, keep_every=10)
    tail = out.audio[-int(out.audio_rate * 0.1):]
    windows = tail[: len(tail) // 480 * 480].reshape(-1, 480)
    loud = np.sqrt((windows.astype(np.float64) ** 2).mean(axis=1)) > 0.01
    assert loud[:-2].all(), f"the last 100 ms: silent 10 ms windows {np.flatnonzero(~loud).tolist()}"


async def test_a_killed_recorder_process_fails_the_recording_and_leaves_its_file(tmp_path: Path) -> None:
    path = tmp_path / "k.mp4"
    failures: list[BaseException] = []
    rec = RecorderProcess(path, on_error=failures.append)
    await rec.start()
    assert rec.pid is not None
    await record_packets(rec, 1.5)
    await asyncio.sleep(0.6)  # a fragment or more on disk
    os.kill(rec.pid, signal.SIGKILL)
    for _ in range(100):
        if failures:
            break
        await asyncio.sleep(0.05)
    assert len(failures) == 1 and "exit code -9" in str(failures[0])
    assert rec.state == "failed" and rec.error is failures[0]
    assert not rec.push_packet("a", "audio", b"", time.monotonic())
    with pytest.raises(RecordingError, match="exit code -9"):
        await rec.stop()
    await rec.close()
    recovered = recover_file(path)  # what it wrote is there for the salvage
    assert recovered.duration >= 1.0


async def test_a_start_that_fails_in_the_child_raises_there_and_ends_it(tmp_path: Path) -> None:
    blocker = tmp_path / "not-a-directory"
    blocker.write_text("")
    rec = RecorderProcess(blocker / "c.mp4")
    with pytest.raises(OSError):  # the child's exception, errno and all
        await rec.start()
    assert rec.state == "failed"
    assert rec.pid is not None and await gone(rec.pid)
    await rec.close()


async def test_a_failure_while_recording_reaches_the_server_with_its_errno(tmp_path: Path) -> None:
    """The disk filling up mid-recording: the child's OSError keeps ENOSPC across the pipe, so
    the launcher salvages the archive as ``disk full``, as with a recorder thread."""
    import errno

    from archivist.recording.launcher import disk_full

    mount = tmp_path / "small"
    mount.mkdir()
    mounted = await asyncio.to_thread(subprocess.run, ["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", str(mount)])
    if mounted.returncode != 0:
        pytest.fail("cannot mount a tmpfs (the tests run as root)")
    try:
        failures: list[BaseException] = []
        rec = RecorderProcess(mount / "full.mp4", on_error=failures.append)
        await rec.start()
        # the disk fills up (another writer): 20 kB left for a file that needs ~40 kB a second
        free = os.statvfs(mount).f_bavail * os.statvfs(mount).f_frsize
        (mount / "filler").write_bytes(b"\0" * max(0, free - 20_000))
        await record_packets(rec, 3.0)
        for _ in range(100):
            if failures:
                break
            await asyncio.sleep(0.05)
        assert failures, "the recording should have failed on the full disk"
        assert disk_full(failures[0]), repr(failures[0])
        assert isinstance(failures[0], OSError) and failures[0].errno == errno.ENOSPC
        with pytest.raises(RecordingError):
            await rec.stop()
        await rec.close()
        assert rec.pid is not None and await gone(rec.pid)
    finally:
        await asyncio.to_thread(subprocess.run, ["umount", "-l", str(mount)])


CHILD = """
import asyncio, sys
from pathlib import Path
from archivist.recording.recorder_process import RecorderProcess

async def main():
    rec = RecorderProcess(Path(sys.argv[1]))
    await rec.start()
    print("recorder-pid", rec.pid, flush=True)
    await asyncio.sleep(60)

asyncio.run(main())
"""


async def test_the_recorder_process_dies_with_the_server(tmp_path: Path) -> None:
    """A SIGKILLed server takes its recorder processes along (no orphan keeps writing a file that
    start-up recovery is about to finish)."""
    server = await asyncio.create_subprocess_exec(
        sys.executable, "-c", CHILD, str(tmp_path / "d.mp4"), stdout=asyncio.subprocess.PIPE, cwd=ROOT
    )
    assert server.stdout is not None
    async def recorder_pid() -> int:
        assert server.stdout is not None
        while not (line := await server.stdout.readline()).startswith(b"recorder-pid "):
            assert line, "the server ended before it started its recorder"
        return int(line.split()[1])

    pid = await asyncio.wait_for(recorder_pid(), 30)
    assert running(pid)
    server.kill()
    await server.wait()
    assert await gone(pid), f"recorder process {pid} outlived its server"
