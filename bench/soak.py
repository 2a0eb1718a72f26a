"""Benchmark (issue 12): a soak. As many sessions of 3 clients as keep this machine near the
target CPU, every session recording, for ``--minutes``.

    .venv/bin/python -m bench.soak [--minutes 10] [--target 0.70] [--archive-minutes 2] [--max-sessions 12]

Every client publishes (pre-encoded VP8 640x480@30 + a continuous Opus tone) and subscribes to
the two others (no decoding), so the server forwards 6 streams and records 3 per session. Sessions
are added one at a time until the whole machine's CPU (``/proc/stat``, this benchmark's clients
included) reaches ``--target``; then the soak runs for ``--minutes``, each session recording
archives of ``--archive-minutes`` back to back (stop, start the next: lifecycle churn).

At the end every archive is checked: it became available, its file plays, its duration matches
the wall clock within a second, and its audio is complete (the tone never stops: digital silence
is lost sound). The server's RSS and open file descriptors are sampled every 10 s: the table gives
them at the start, half-way and at the end, and the slope over the second half (flat: ~0).

Prints a table and writes bench/results/soak.md.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from opentok import Client, MediaModes

from archivist.client import ArchivistClient
from bench.common import LoopSources, publish_result, table, tree_pss_mb
from bench.overload import audio_kept
from tests.servers import Server, make_server

CLIENTS = 3


def machine_busy() -> tuple[int, int]:
    """(busy, total) jiffies of the whole machine so far."""
    fields = [int(x) for x in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    idle = fields[3] + fields[4]
    return sum(fields) - idle, sum(fields)


async def machine_cpu(seconds: float) -> float:
    b0, t0 = machine_busy()
    await asyncio.sleep(seconds)
    b1, t1 = machine_busy()
    return (b1 - b0) / max(1, t1 - t0)


def open_fds(pid: int) -> int:
    return len(os.listdir(f"/proc/{pid}/fd"))


@dataclass
class Session:
    sid: str
    clients: list[ArchivistClient] = field(default_factory=list)
    archives: list[tuple[str, float, float, float, float]] = field(default_factory=list)
    """(id, before the start call, after it, before the stop call, after it)"""
    current: tuple[str, float, float] | None = None


async def open_session(server: Server, ot: Client) -> Session:
    session = Session(str(ot.create_session(media_mode=MediaModes.routed).session_id))
    for _ in range(CLIENTS):
        client = await ArchivistClient.open(server.url, server.project.api_key, session.sid,
                                            ot.generate_token(session.sid))
        session.clients.append(client)
        await client.publish(sources=LoopSources.tracks())
    for client in session.clients:
        for other in session.clients:
            if other is not client:
                stream = (await client.wait_event("streamCreated",
                                                  lambda e, o=other: e["stream"]["connectionId"] == o.connection_id))
                await client.subscribe(stream["stream"]["streamId"], decode=False)
    return session


async def start_archive(ot: Client, session: Session) -> None:
    before = time.monotonic()
    archive = await asyncio.to_thread(ot.start_archive, session.sid, name="soak")
    session.current = (str(archive.id), before, time.monotonic())


async def stop_archive(ot: Client, session: Session) -> None:
    if session.current is None:
        return
    archive_id, start_a, start_b = session.current
    before = time.monotonic()
    await asyncio.to_thread(ot.stop_archive, archive_id)
    session.archives.append((archive_id, start_a, start_b, before, time.monotonic()))
    session.current = None


async def run(minutes: float, target: float, archive_minutes: float, max_sessions: int) -> None:
    tmp = Path(tempfile.mkdtemp(prefix="bench-soak-"))
    server = make_server(tmp)
    assert server.proc is not None
    pid = server.proc.pid
    ot = Client(server.project.api_key, server.project.api_secret, api_url=server.url, timeout=60)
    sessions: list[Session] = []
    samples: list[tuple[float, float, int]] = []
    rows: list[list[str]] = []
    notes: list[str] = []
    try:
        cpu = 0.0
        while len(sessions) < max_sessions:
            session = await open_session(server, ot)
            await start_archive(ot, session)
            sessions.append(session)
            cpu = await machine_cpu(8)
            print(f"{len(sessions)} sessions recording: machine CPU {cpu * 100:.0f} %", flush=True)
            if cpu >= target:
                break
        t0 = time.monotonic()
        next_roll = t0 + archive_minutes * 60
        busy0 = machine_busy()
        while time.monotonic() - t0 < minutes * 60:
            await asyncio.sleep(10)
            samples.append((time.monotonic() - t0, tree_pss_mb(pid), open_fds(pid)))
            if time.monotonic() >= next_roll and time.monotonic() - t0 < minutes * 60 - 30:
                for session in sessions:
                    await stop_archive(ot, session)
                    await start_archive(ot, session)
                next_roll += archive_minutes * 60
        busy1 = machine_busy()
        soak_cpu = (busy1[0] - busy0[0]) / max(1, busy1[1] - busy0[1])
        for session in sessions:
            await stop_archive(ot, session)
        results = []
        for session in sessions:
            for archive_id, start_a, start_b, stop_a, stop_b in session.archives:
                deadline = time.monotonic() + 120
                while True:
                    archive = await asyncio.to_thread(ot.get_archive, archive_id)
                    if archive.status in ("available", "uploaded", "failed") or time.monotonic() > deadline:
                        break
                    await asyncio.sleep(0.2)
                path = server.data_dir / "archives" / server.project.api_key / f"{archive_id}.mp4"
                kept = await asyncio.to_thread(audio_kept, path) if path.exists() else 0.0
                # the REST duration is whole seconds, of the recording from the start to the stop call
                fits = stop_a - start_b - 1 <= archive.duration <= stop_b - start_a + 1
                results.append((archive.status, fits, kept))
        ok = [r for r in results if r[0] in ("available", "uploaded") and r[1] and r[2] >= 0.999]
        half = [s for s in samples if s[0] >= minutes * 30]
        slope = float(np.polyfit([s[0] for s in half], [s[1] for s in half], 1)[0]) if len(half) > 2 else 0.0
        mid = samples[len(samples) // 2] if samples else (0, 0, 0)
        rows = [
            ["sessions x clients (recording)", f"{len(sessions)} x {CLIENTS}", f"machine CPU {soak_cpu * 100:.0f} %"],
            ["archives valid (available, duration within 1 s, audio >= 99.9 %)", f"{len(ok)} of {len(results)}",
             f"worst audio kept {min(r[2] for r in results) * 100:.2f} %" if results else ""],
            ["server memory (PSS, with its recorder processes): start / half-way / end",
             f"{samples[0][1]:.0f} / {mid[1]:.0f} / {samples[-1][1]:.0f} MB" if samples else "-",
             f"second half {slope * 60:+.2f} MB/min"],
            ["server open descriptors: start / half-way / end",
             f"{samples[0][2]} / {mid[2]} / {samples[-1][2]}" if samples else "-", ""],
        ]
        bad = [r for r in results if r not in ok]
        if bad:
            notes.append(f"Archives not valid: {bad}")
    finally:
        for session in sessions:
            for client in session.clients:
                await client.close()
        server.stop()
    notes.append(f"{minutes:g} minutes, archives of {archive_minutes:g} minutes back to back; each client publishes "
                 "VP8 640x480@30 + Opus and subscribes to the two others (packets not decoded).")
    publish_result("soak", table("Soak", ["what", "measured", "note"], rows, notes))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--minutes", type=float, default=10.0)
    parser.add_argument("--target", type=float, default=0.70)
    parser.add_argument("--archive-minutes", type=float, default=2.0)
    parser.add_argument("--max-sessions", type=int, default=12)
    args = parser.parse_args()
    asyncio.run(run(args.minutes, args.target, args.archive_minutes, args.max_sessions))


if __name__ == "__main__":
    main()
