"""Child process for the individual crash test: records two streams in real time until killed.

Usage: python -m tests.recording.kill_individual_child WORKDIR — prints ``elapsed <s>`` lines
(seconds since the archive's start) as it goes. The archive's id is ``killed``.
"""

from __future__ import annotations

import asyncio
import sys
import time
from pathlib import Path

from archivist import logs
from archivist.recording.individual import IndividualRecorder
from archivist.recording.package import ArchiveInfo
from tests.recording.encoded import coloured, encode_opus, encode_video
from tests.recording.media import GREEN, RED


async def main(work: Path) -> None:
    logs.configure("INFO")  # to stderr: stdout carries the "elapsed" lines the test reads
    tone = encode_opus(50)
    vp8 = encode_video("vp8", coloured(320, 240, lambda i: RED, 60), gop=30)
    h264 = encode_video("h264", coloured(320, 240, lambda i: GREEN, 60), gop=30)
    rec = IndividualRecorder(work, ArchiveInfo("killed", "session", "123456", "kill me"),
                             zip_path=work.with_name("killed.zip"))
    await rec.start()
    assert rec.t0 is not None
    rec.add_stream("vp8", codecs={"audio": "audio/opus", "video": "video/VP8"})
    rec.add_stream("h264", codecs={"audio": "audio/opus", "video": "video/H264"})
    a = v = 0
    while True:
        now = time.monotonic() - rec.t0
        while a * 0.02 <= now:
            for sid in ("vp8", "h264"):
                rec.push_packet(sid, "audio", tone[a % len(tone)].packet(), rec.t0 + a * 0.02)
            a += 1
        while v / 30 <= now:
            rec.push_packet("vp8", "video", vp8[v % len(vp8)].packet(), rec.t0 + v / 30)
            rec.push_packet("h264", "video", h264[v % len(h264)].packet(), rec.t0 + v / 30)
            v += 1
        print(f"elapsed {now:.3f}", flush=True)
        await asyncio.sleep(0.01)


if __name__ == "__main__":
    asyncio.run(main(Path(sys.argv[1])))
