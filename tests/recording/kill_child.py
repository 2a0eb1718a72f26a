"""Child process for the crash-safety test: records in real time until it is killed.

Usage: python -m tests.recording.kill_child OUT.mp4 — prints ``elapsed <s>`` lines (seconds since
the recording started) as it goes.
"""

from __future__ import annotations

import asyncio
import sys
import time
from pathlib import Path

from archivist.recording import ComposedRecorder, RecordingOptions
from tests.recording.media import RED, feed, solid, tone


async def main(path: Path) -> None:
    rec = ComposedRecorder(path, RecordingOptions(resolution="640x480"))
    await rec.start()
    assert rec.t0 is not None
    rec.add_stream("s")
    red = solid(640, 480, RED)

    async def report() -> None:
        while True:
            print(f"elapsed {time.monotonic() - rec.t0:.3f}", flush=True)  # type: ignore[operator]
            await asyncio.sleep(0.1)

    reporter = asyncio.create_task(report())
    await feed(rec, "s", 60.0, video=lambda t: red, audio=lambda s, n: tone(440, 0.3, s, n), start=rec.t0)
    reporter.cancel()
    await rec.stop()


if __name__ == "__main__":
    asyncio.run(main(Path(sys.argv[1])))
