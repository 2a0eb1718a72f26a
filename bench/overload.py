"""Benchmark (issue 12): recording more archives than the machine can carry.

    .venv/bin/python -m bench.overload [--levels 1,2,3,4,6] [--seconds 60] [--publishers 2]

For each level N: N sessions of ``--publishers`` clients each (pre-encoded VP8 640x480@30 + a
continuous Opus tone, so the clients cost little and the server gets the machine), all N
recording at once for ``--seconds``. Measured per level:

* audio kept: the share of the archives' audio that is sound (the tone never stops, so digital
  silence is audio the recorder lost), worst archive;
* video fps: distinct pictures per second in the files (the test pattern moves every frame, so a
  repeated picture is a frame the recorder did not draw), worst archive;
* server RSS at the start and end of the recording and its slope (MB/s), and the event loop's
  lag (p99 and max over the recording, from ``GET /health``);
* server CPU (CPU-s/s: 2.0 is both cores) and what ``/health`` says of the recorders.

Prints a table and writes bench/results/overload.md.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

import av
import httpx
import numpy as np
from opentok import Client, MediaModes

from archivist.client import ArchivistClient
from bench.common import CpuWindow, LoopSources, publish_result, table, tree_pss_mb
from tests.servers import Server, make_server


def audio_kept(path: Path) -> float:
    """Share of 10 ms windows (after the first second) that hold sound."""
    with av.open(str(path)) as c:
        if not c.streams.audio:
            return 0.0
        chunks = [f.to_ndarray().astype(np.float32).mean(axis=0) for f in c.decode(audio=0)]
    if not chunks:
        return 0.0
    samples = np.concatenate(chunks)[48_000:]
    n = len(samples) // 480
    if n == 0:
        return 0.0
    peaks = np.abs(samples[: n * 480].reshape(n, 480)).max(axis=1)
    return float((peaks > 1e-3).mean())


def distinct_fps(path: Path) -> float:
    """Distinct consecutive pictures per second (after the first second)."""
    last: Any = None
    distinct = 0
    with av.open(str(path)) as c:
        stream = c.streams.video[0]
        duration = float(stream.duration * stream.time_base) if stream.duration else 0.0
        for frame in c.decode(video=0):
            if frame.time is not None and frame.time < 1.0:
                continue
            small = frame.to_ndarray(format="gray")[::8, ::8].astype(np.int16)
            if last is None or np.abs(small - last).mean() > 0.5:
                distinct += 1
            last = small
    if duration <= 0:
        with av.open(str(path)) as c:
            duration = (c.duration or 0) / 1e6
    return distinct / max(1e-9, duration - 1.0)


def wait_done(ot: Client, archive_id: str, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while ot.get_archive(archive_id).status not in ("available", "uploaded", "failed"):
        if time.monotonic() > deadline:
            raise RuntimeError(f"archive {archive_id} not done after {timeout} s")
        time.sleep(0.1)


async def level(server: Server, ot: Client, n: int, publishers: int, seconds: float) -> list[str]:
    clients: list[ArchivistClient] = []
    sessions: list[str] = []
    assert server.proc is not None
    pid = server.proc.pid
    for _ in range(n):
        sid = str(ot.create_session(media_mode=MediaModes.routed).session_id)
        sessions.append(sid)
        for _ in range(publishers):
            client = await ArchivistClient.open(server.url, server.project.api_key, sid, ot.generate_token(sid))
            clients.append(client)
            await client.publish(sources=LoopSources.tracks())
    await asyncio.sleep(2)
    archives = [str((await asyncio.to_thread(ot.start_archive, sid, name=f"load{n}")).id) for sid in sessions]
    cpu = CpuWindow(pid).start()
    rss: list[tuple[float, float]] = []
    lags: list[dict[str, Any]] = []
    behind: list[Any] = []
    t0 = time.monotonic()
    async with httpx.AsyncClient(timeout=30) as http:
        while time.monotonic() - t0 < seconds:
            await asyncio.sleep(1.0)
            rss.append((time.monotonic() - t0, tree_pss_mb(pid)))
            health = (await http.get(f"{server.url}/health")).json()
            lags.append(health["loopLagMs"])
            behind.append(len(health.get("recordingsBehind", {})))
    cpu_rate = cpu.rate()
    for archive in archives:
        await asyncio.to_thread(ot.stop_archive, archive)
    for archive in archives:
        await asyncio.to_thread(wait_done, ot, archive)
    for client in clients:
        await client.close()
    files = [server.data_dir / "archives" / server.project.api_key / f"{a}.mp4" for a in archives]
    kept = [await asyncio.to_thread(audio_kept, f) for f in files]
    fps = [await asyncio.to_thread(distinct_fps, f) for f in files]
    ts, ms = np.array([t for t, _ in rss]), np.array([m for _, m in rss])
    slope = float(np.polyfit(ts, ms, 1)[0]) if len(ts) > 2 else 0.0
    p99 = max(lag["p99"] for lag in lags)
    worst = max(lag["max"] for lag in lags)
    last_behind = f"{max(behind, default=0)} of {n}"
    return [str(n), f"{min(kept) * 100:.1f} %", f"{min(fps):.1f} / {statistics.median(fps):.1f}",
            f"{ms[0]:.0f} -> {ms[-1]:.0f} MB ({slope:+.2f} MB/s)", f"{p99:.0f} / {worst:.0f} ms",
            f"{cpu_rate:.2f}", str(last_behind)]


async def run(levels: list[int], publishers: int, seconds: float, thread_recorders: bool = False) -> None:
    tmp = Path(tempfile.mkdtemp(prefix="bench-overload-"))
    server = make_server(tmp, extra_env={"ARCHIVIST_RECORDER_PROCESS": "false"} if thread_recorders else None)
    ot = Client(server.project.api_key, server.project.api_secret, api_url=server.url, timeout=60)
    rows = []
    try:
        for n in levels:
            rows.append(await level(server, ot, n, publishers, seconds))
            print(" | ".join(rows[-1]), flush=True)
    finally:
        server.stop()
    notes = [f"Each level: N sessions x {publishers} publishers (VP8 640x480@30 ~600 kbit/s + Opus), N composed "
             f"640x480 archives recording at once for {seconds:g} s, on this machine with the clients in "
             "another process. 'video fps': worst / median archive. 'lag': p99 / max of the event loop "
             "during the recording. 'behind': the most recorders /health reported as skipping pictures at once. "
             "'memory': PSS of the server and its recorder processes; 'CPU': theirs too. Recorders: "
             + ("threads of the server (ARCHIVIST_RECORDER_PROCESS=false)." if thread_recorders
                else "a process per archive (the default).")]
    publish_result("overload-threads" if thread_recorders else "overload", table("Recording under overload",
                                     ["archives", "audio kept (worst)", "video fps", "server memory", "loop lag",
                                      "CPU-s/s", "behind (max)"], rows, notes))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--levels", default="1,2,3,4,6")
    parser.add_argument("--publishers", type=int, default=2)
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--thread-recorders", action="store_true",
                        help="record in threads of the server, as before issue 12's recorder processes "
                             "(writes bench/results/overload-threads.md)")
    args = parser.parse_args()
    asyncio.run(run([int(x) for x in args.levels.split(",")], args.publishers, args.seconds, args.thread_recorders))


if __name__ == "__main__":
    main()
