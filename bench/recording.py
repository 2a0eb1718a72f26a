"""Benchmark (issue 4): the cost and the speed of composed recording, through a real server.

    .venv/bin/python -m bench.recording [--window 20] [--lag-window 60] [--long 600]

1. CPU of one composed archive: 4 publishers at 640x480@30 composed into 1280x720@30
   (server CPU with the archive running minus the same session without it).
2. Event-loop lag while 4 archives record (4 sessions, 2 publishers each, 640x480 output),
   read from the server's own monitor (``GET /health``).
3. Stop -> available, for a short archive and a ``--long`` one (default 10 minutes).
4. A/V offset in the file: a flash-and-beep publisher, every flash against its beep.

Publishers send pre-encoded VP8 + Opus loops, so this process costs little. Prints a table and
writes bench/results/recording.md.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx
from opentok import Client, MediaModes

from archivist.client import ArchivistClient, SyncMarks
from bench.common import LoopSources, measure_cpu, publish_result, table
from tests.recording.media import av_offsets
from tests.servers import Server, make_server


class Bench:
    def __init__(self, server: Server) -> None:
        self.server = server
        self.ot = Client(server.project.api_key, server.project.api_secret, api_url=server.url, timeout=30)
        self.clients: list[ArchivistClient] = []

    async def session(self, publishers: int, **publish: Any) -> str:
        sid = str(self.ot.create_session(media_mode=MediaModes.routed).session_id)
        for _ in range(publishers):
            client = await ArchivistClient.open(self.server.url, self.server.project.api_key, sid,
                                                self.ot.generate_token(sid))
            self.clients.append(client)
            await client.publish(**(publish or {"sources": LoopSources.tracks()}))
        return sid

    async def start(self, sid: str, **kw: Any) -> str:
        archive = await asyncio.to_thread(self.ot.start_archive, sid, **kw)
        return str(archive.id)

    async def stop_until_available(self, archive_id: str) -> float:
        t0 = time.monotonic()
        await asyncio.to_thread(self.ot.stop_archive, archive_id)
        while (await asyncio.to_thread(self.ot.get_archive, archive_id)).status not in ("available", "uploaded"):
            if time.monotonic() - t0 > 60:
                raise RuntimeError(f"archive {archive_id} not available after 60 s")
            await asyncio.sleep(0.02)
        return time.monotonic() - t0

    def file(self, archive_id: str) -> Path:
        return self.server.data_dir / "archives" / self.server.project.api_key / f"{archive_id}.mp4"

    async def close(self) -> None:
        for client in self.clients:
            await client.close()
        self.clients.clear()


async def run(window: float, lag_window: float, long_s: float) -> None:
    server = make_server(Path(tempfile.mkdtemp(prefix="bench-recording-")))
    rows: list[list[Any]] = []
    notes: list[str] = [""]
    bench = Bench(server)
    try:
        assert server.proc is not None
        pid = server.proc.pid

        # 1. one composed archive, 4 publishers -> 1280x720
        sid = await bench.session(4)
        await asyncio.sleep(3)
        base = await measure_cpu(pid, window)
        archive = await bench.start(sid, resolution="1280x720", name="bench-4x")
        await asyncio.sleep(3)
        with_archive = await measure_cpu(pid, window)
        took = await bench.stop_until_available(archive)
        rows.append(["CPU of one composed archive (4 x 640x480@30 -> 1280x720@30)",
                     f"{with_archive - base:.3f} CPU-s/s", "<= 0.5"])
        notes.append(f"Server CPU with the 4 publishers alone {base:.3f}, while recording {with_archive:.3f} "
                     f"CPU-s/s ({window:.0f} s windows).")
        rows.append([f"stop -> available ({window + 3:.0f} s archive)", f"{took * 1000:.0f} ms", "about 1 s"])
        await bench.close()

        # 2. four archives at once: event-loop lag
        sessions = [await bench.session(2) for _ in range(4)]
        archives = [await bench.start(s) for s in sessions]
        await asyncio.sleep(lag_window + 5)  # the server keeps the last minute: steady state only
        health = (await asyncio.to_thread(httpx.get, f"{server.url}/health", timeout=10)).json()
        cpu4 = await measure_cpu(pid, 5)
        lag = health["loopLagMs"]
        rows.append(["event-loop lag, 4 archives recording (p50 / p99 / max of the last minute)",
                     f"{lag['p50']} / {lag['p99']} / {lag['max']} ms", "< 50 ms"])
        notes.append(f"4 archives (2 publishers each, 640x480 output): server CPU {cpu4:.2f} CPU-s/s, "
                     f"{health['recordings']} recordings, {health['streams']} streams.")
        for a in archives:
            await bench.stop_until_available(a)
        await bench.close()

        # 3. A/V offset
        sid = await bench.session(1, marks=SyncMarks(period=1.0))
        await asyncio.sleep(1.5)
        archive = await bench.start(sid, name="sync")
        await asyncio.sleep(12)
        await bench.stop_until_available(archive)
        offsets = [o * 1000 for o in av_offsets(bench.file(archive))]
        rows.append(["A/V offset in the file (audio minus video, per flash)",
                     f"mean {statistics.mean(offsets):+.0f} ms, worst {max(offsets, key=abs):+.0f} ms "
                     f"({len(offsets)} flashes)", "within 40 ms"])
        await bench.close()

        # 4. a long archive
        if long_s > 0:
            sid = await bench.session(1)
            archive = await bench.start(sid, name="long")
            await asyncio.sleep(long_s)
            took = await bench.stop_until_available(archive)
            size = bench.file(archive).stat().st_size
            rows.append([f"stop -> available ({long_s / 60:.0f} min archive, {size / 1e6:.0f} MB)",
                         f"{took * 1000:.0f} ms", "about 1 s"])
            await bench.close()
    finally:
        await bench.close()
        server.stop()
    notes.append("Publishers: pre-encoded VP8 640x480@30 (~400 kbit/s) + Opus loops (A/V row: a live "
                 "flash-and-beep publisher). Video frames of the output snap to a 30 fps grid, so a single "
                 "A/V reading carries up to +-17 ms of that quantisation.")
    publish_result("recording", table("Recording: cost and speed", ["what", "measured", "target"], rows, notes))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--window", type=float, default=20.0, help="seconds of each CPU measurement")
    parser.add_argument("--lag-window", type=float, default=60.0,
                        help="seconds of recording before reading the lag (the server keeps the last 60 s)")
    parser.add_argument("--long", type=float, default=600.0, help="length of the long archive (0: skip)")
    args = parser.parse_args()
    asyncio.run(run(args.window, args.lag_window, args.long))


if __name__ == "__main__":
    main()
