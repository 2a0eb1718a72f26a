"""Benchmark (issue 9): time to first frame and server CPU per subscriber, direct and through a
real TURN server (Debian's coturn): clients relaying (a UDP-blocking office: TURN/UDP or TCP),
and the server relaying itself (``ARCHIVIST_ICE_TRANSPORT_POLICY=relay``, a Heroku-style host).

    .venv/bin/python -m bench.turn [--window 15] [--subscribers 1,2,4] [--joins 5]

Per mode a fresh server: a pre-encoded VP8 640x480@30 publisher (~400 kbit/s) and n subscribers
that receive without decoding, so the servers' and coturn's CPU (read from /proc) are what is
measured; then late joiners, each subscribing to a live (aiortc-encoded) stream, are timed from
before their offer (their own gathering, a TURN allocation included) to their first decoded
frame. Prints a table and writes bench/results/turn.md.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from opentok import Client, MediaModes

from archivist.client import ArchivistClient
from archivist.media import seams
from bench.common import LoopSources, measure_cpu, publish_result, table
from bench.forwarding import min_fps
from tests.coturn import start_coturn
from tests.servers import free_port, free_udp_range, host_address, make_server


@dataclass(frozen=True)
class Mode:
    name: str
    server_turn: str | None = None
    """The transport the server allocates over (policy relay), or None (direct host candidates)."""
    client_turn: str | None = None
    """The transport relay-only clients allocate over, or None (clients use any candidate)."""


MODES = [
    Mode("direct"),
    Mode("clients relay, TURN/UDP", client_turn="udp"),
    Mode("clients relay, TURN/TCP", client_turn="tcp"),
    Mode("server relays, TURN/UDP", server_turn="udp"),
    Mode("server relays, TURN/TCP", server_turn="tcp"),
    Mode("both relay, TURN/TCP", server_turn="tcp", client_turn="tcp"),
]


async def run_mode(mode: Mode, window: float, steps: list[int], joins: int) -> tuple[list[list[Any]], list[float]]:
    tmp = Path(tempfile.mkdtemp(prefix="bench-turn-"))
    host = host_address()
    secret = os.urandom(16).hex()
    turn = start_coturn(tmp / "coturn", host, free_port(), secret, relay_ports=free_udp_range(200))
    env: dict[str, str] = {}  # direct: no TURN server at all, as on a server without one
    if mode.server_turn is not None or mode.client_turn is not None:
        env = {"ARCHIVIST_TURN_URLS": ",".join(turn.urls("udp", "tcp")), "ARCHIVIST_TURN_SECRET": secret}
    if mode.server_turn is not None:
        first = "tcp" if mode.server_turn == "tcp" else "udp"
        env.update(ARCHIVIST_TURN_URLS=",".join(turn.urls(first, "udp" if first == "tcp" else "tcp")),
                   ARCHIVIST_ICE_TRANSPORT_POLICY="relay")
    server = make_server(tmp, extra_env=env)
    rows: list[list[Any]] = []
    latencies: list[float] = []
    clients: list[ArchivistClient] = []
    try:
        assert server.proc is not None
        ot = Client(server.project.api_key, server.project.api_secret, api_url=server.url)
        sid = ot.create_session(media_mode=MediaModes.routed).session_id

        async def join(relay: bool) -> ArchivistClient:
            client = await ArchivistClient.open(
                server.url, server.project.api_key, sid, ot.generate_token(sid),
                ice_transport_policy="relay" if relay and mode.client_turn else "all",
                turn_transport=mode.client_turn or "udp",
            )
            clients.append(client)
            return client

        publisher = await join(relay=False)
        pub = await publisher.publish(sources=LoopSources.tracks())
        await asyncio.sleep(2)
        base = base_turn = 0.0
        counters: list[Callable[[], int]] = []
        routes = ""
        for n in [0, *steps]:
            while len(counters) < n:
                sub = await (await join(relay=True)).subscribe(pub.stream_id, decode=False)
                await sub.wait_frames(1, timeout=20)
                counters.append(lambda sub=sub: sub.video_frames)
                routes = routes or route_of(sub.pc)
            await asyncio.sleep(2)
            cpu, turn_cpu = await asyncio.gather(measure_cpu(server.proc.pid, window),
                                                 measure_cpu(turn.proc.pid, window))
            if n == 0:
                base, base_turn = cpu, turn_cpu
            per = (cpu - base) / n if n else "-"
            per_turn = (turn_cpu - base_turn) / n if n else "-"
            rows.append([mode.name, n, cpu, per, per_turn, await min_fps(counters), routes or "-"])

        live = await publisher.publish(name="live")
        await asyncio.sleep(2)
        for _ in range(joins):
            late = await join(relay=True)
            started = time.monotonic()
            sub = await late.subscribe(live.stream_id)
            await sub.wait_frames(1, timeout=20)
            assert sub.first_frame_at is not None
            latencies.append((sub.first_frame_at - started) * 1000)
            await late.close()
            clients.remove(late)
            await asyncio.sleep(0.6)  # beyond the keyframe-request rate limit
    finally:
        for client in clients:
            await client.close()
        server.stop()
        turn.stop()
    return rows, latencies


def route_of(pc: Any) -> str:
    """'client candidate -> server candidate' types of a subscriber's nominated pair."""
    found = seams.ice_routes(pc)
    return f"{found[0].local_type} -> {found[0].remote_type}" if found else ""


async def run(window: float, steps: list[int], joins: int, only: str) -> None:
    load_before = os.getloadavg()
    rows: list[list[Any]] = []
    summary: list[str] = []
    for mode in MODES:
        if only and only not in mode.name:
            continue
        mode_rows, latencies = await run_mode(mode, window, steps, joins)
        for row in mode_rows:
            row.insert(6, f"{statistics.median(latencies):.0f} / {max(latencies):.0f}" if row[1] == 0 else "")
        rows += mode_rows
        last = mode_rows[-1]
        summary.append(f"- {mode.name}: {last[3]:.4f} CPU-s/s per subscriber at {last[1]} (server), "
                       f"coturn {last[4]:.4f}; first frame median {statistics.median(latencies):.0f} ms, "
                       f"max {max(latencies):.0f} ms ({joins} joins)")
    load_after = os.getloadavg()
    notes = [
        "",
        *summary,
        "",
        f"Load average (1/5/15 min) before: {load_before[0]:.2f} {load_before[1]:.2f} {load_before[2]:.2f}, "
        f"after: {load_after[0]:.2f} {load_after[1]:.2f} {load_after[2]:.2f} (2 cores: above ~1 the machine "
        "is shared and the figures are high; re-measure on a quiet machine).",
        "Per-subscriber cost = (CPU with n subscribers - CPU with none) / n, for the server process and for "
        "coturn. Publisher: pre-encoded VP8 640x480@30 ~400 kbit/s + Opus, never relayed itself except when "
        "the server relays (then its own peer is relayed too, in the 0-subscriber base). First frame: from "
        "before the late joiner's offer to its first decoded frame of a live stream (median / max ms).",
        "coturn, server and clients on one machine (no network latency): TURN's cost here is CPU and "
        "the allocation round trips, not distance.",
        "A relaying client's first frame took ~650 ms (median) before the server restarted in-progress ICE "
        "checks on an incoming check (media/seams.py, retrigger_in_progress_checks): its first check to the "
        "relay was dropped for want of a TURN permission and aioice waited for its 500 ms retransmission.",
    ]
    publish_result("turn", table(
        "TURN vs direct: server CPU per subscriber and time to first frame",
        ["mode", "subscribers", "server CPU-s/s", "server per sub", "coturn per sub", "fps (min)",
         "first frame ms", "route"],
        rows, notes,
    ))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--window", type=float, default=15.0, help="seconds of CPU measurement per step")
    parser.add_argument("--subscribers", default="1,2,4", help="subscriber counts to measure")
    parser.add_argument("--joins", type=int, default=5, help="late joiners to time per mode")
    parser.add_argument("--only", default="", help="run only the modes whose name contains this")
    args = parser.parse_args()
    asyncio.run(run(args.window, [int(x) for x in args.subscribers.split(",")], args.joins, args.only))


if __name__ == "__main__":
    main()
