"""Benchmark (issue 3): server CPU per forwarded 640x480@30 subscriber stream, Archivist's
packet pass-through next to aiortc's decode-and-re-encode relay in the same run; and the late
joiner's first frame.

    .venv/bin/python -m bench.forwarding [--window 20] [--subscribers 1,2,4]

The publisher sends a pre-encoded VP8 loop (~400 kbit/s) and the subscribers do not decode, so
this process costs little and the servers' CPU (read from /proc) is what is measured.
Prints a table and writes bench/results/forwarding.md.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import statistics
import subprocess
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from aiortc import RTCConfiguration, RTCPeerConnection, RTCSessionDescription
from aiortc.mediastreams import MediaStreamError
from opentok import Client, MediaModes

from archivist.client import ArchivistClient
from archivist.media import seams
from bench.common import LoopSources, measure_cpu, publish_result, table
from tests.servers import make_server


class RelayProcess:
    """aiortc's MediaRelay in a child process (bench/relay_server.py)."""

    def __init__(self) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "bench.relay_server"], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
            cwd=Path(__file__).resolve().parent.parent,
        )
        self.pcs: list[RTCPeerConnection] = []
        self.received: list[dict[str, int]] = []

    async def _exchange(self, op: str, pc: RTCPeerConnection) -> None:
        await pc.setLocalDescription(await pc.createOffer())
        assert self.proc.stdin is not None and self.proc.stdout is not None
        self.proc.stdin.write((json.dumps({"op": op, "sdp": pc.localDescription.sdp}) + "\n").encode())
        self.proc.stdin.flush()
        line = await asyncio.to_thread(self.proc.stdout.readline)
        await pc.setRemoteDescription(RTCSessionDescription(json.loads(line)["sdp"], "answer"))

    async def publish(self) -> None:
        pc = RTCPeerConnection(RTCConfiguration(iceServers=[]))
        audio, video = LoopSources.tracks()
        pc.addTransceiver(audio, direction="sendonly")
        pc.addTransceiver(video, direction="sendonly")
        self.pcs.append(pc)
        await self._exchange("publish", pc)

    async def subscribe(self) -> dict[str, int]:
        pc = RTCPeerConnection(RTCConfiguration(iceServers=[]))
        counts = {"video": 0}
        for kind in ("audio", "video"):
            pc.addTransceiver(kind, direction="recvonly")
        self.pcs.append(pc)
        await self._exchange("subscribe", pc)
        for transceiver in pc.getTransceivers():
            seams.mark_passthrough(transceiver.receiver)

        async def count(track: Any) -> None:
            with contextlib.suppress(MediaStreamError):
                while True:
                    await track.recv()
                    counts["video"] += 1

        video = next(t for t in pc.getTransceivers() if t.kind == "video")
        asyncio.get_running_loop().create_task(count(video.receiver.track))
        self.received.append(counts)
        return counts

    async def close(self) -> None:
        for pc in self.pcs:
            await pc.close()
        if self.proc.stdin is not None:
            self.proc.stdin.close()
        self.proc.terminate()
        self.proc.wait(10)


async def min_fps(counters: list[Callable[[], int]], seconds: float = 2.0) -> str:
    """The lowest video frame rate any subscriber receives."""
    if not counters:
        return "-"
    before = [c() for c in counters]
    await asyncio.sleep(seconds)
    return f"{min((c() - b) / seconds for c, b in zip(counters, before, strict=True)):.1f}"


async def run(window: float, steps: list[int], joins: int) -> None:
    tmp = Path(tempfile.mkdtemp(prefix="bench-forwarding-"))
    server = make_server(tmp)
    rows: list[list[Any]] = []
    notes: list[str] = []
    try:
        assert server.proc is not None
        ot = Client(server.project.api_key, server.project.api_secret, api_url=server.url)
        sid = ot.create_session(media_mode=MediaModes.routed).session_id
        key = server.project.api_key
        clients: list[ArchivistClient] = []

        async def join() -> ArchivistClient:
            client = await ArchivistClient.open(server.url, key, sid, ot.generate_token(sid))
            clients.append(client)
            return client

        publisher = await join()
        pub = await publisher.publish(sources=LoopSources.tracks())
        await asyncio.sleep(2)
        base: float | None = None
        counters: list[Callable[[], int]] = []
        for n in [0, *steps]:
            while len(counters) < n:
                sub = await (await join()).subscribe(pub.stream_id, decode=False)
                counters.append(lambda sub=sub: sub.video_frames)
            await asyncio.sleep(2)
            cpu = await measure_cpu(server.proc.pid, window)
            base = cpu if base is None else base
            rows.append(["archivist pass-through", n, cpu, (cpu - base) / n if n else "-", await min_fps(counters)])

        # late joiners: a decoding subscriber's first frame, from the subscribe request. The loop
        # publisher above ignores keyframe requests, so this one encodes live (aiortc VP8).
        live = await (await join()).publish(name="live")
        await asyncio.sleep(2)
        latencies = []
        for _ in range(joins):
            late = await join()
            sub = await late.subscribe(live.stream_id)
            await sub.wait_frames(1, timeout=10)
            assert sub.first_frame_latency is not None
            latencies.append(sub.first_frame_latency * 1000)
            await late.close()
            clients.remove(late)
            await asyncio.sleep(0.6)  # beyond the keyframe-request rate limit
        for client in clients:
            await client.close()

        relay = RelayProcess()
        try:
            await relay.publish()
            await asyncio.sleep(2)
            relay_base: float | None = None
            for n in [0, *steps]:
                while len(relay.received) < n:
                    await relay.subscribe()
                await asyncio.sleep(2)
                cpu = await measure_cpu(relay.proc.pid, window)
                relay_base = cpu if relay_base is None else relay_base
                fps = await min_fps([lambda c=c: c["video"] for c in relay.received])
                rows.append(["aiortc relay (decode + re-encode)", n, cpu, (cpu - relay_base) / n if n else "-", fps])
        finally:
            await relay.close()

        # the relay rows where it no longer delivered the frame rate are CPU-bound: left out
        keeps_up = [r for r in rows if r[4] == "-" or float(r[4]) >= 27]
        n_max = max(r[1] for r in keeps_up if r[0].startswith("aiortc"))
        summary = {}
        for server_name in ("archivist", "aiortc"):
            mine = [r for r in keeps_up if r[0].startswith(server_name) and r[1] <= n_max]
            marginal = slope([(r[1], r[2]) for r in mine if r[1]])
            average = next(r[3] for r in mine if r[1] == n_max)
            summary[server_name] = (marginal, average)
        (ours_m, ours_a), (theirs_m, theirs_a) = summary["archivist"], summary["aiortc"]
        notes += [
            "",
            f"Per subscriber stream, with {n_max} subscribers: archivist {ours_a:.4f} CPU-s/s, aiortc relay "
            f"{theirs_a:.4f}: pass-through is {theirs_a / ours_a:.1f}x cheaper (target <= 0.02 and >= 8x).",
            f"Marginal cost of one more subscriber (least-squares slope over 1..{n_max}): archivist "
            f"{ours_m:.4f}, aiortc relay {theirs_m:.4f} ({theirs_m / ours_m:.1f}x; the relay's encoders follow "
            "the subscribers' bandwidth estimates, so its figure moves from run to run).",
            f"Late joiner's first decoded frame ({joins} joins): median {statistics.median(latencies):.0f} ms, "
            f"max {max(latencies):.0f} ms (target <= 500 ms).",
            "Per-subscriber cost = (CPU with n subscribers - CPU with none) / n; publisher: pre-encoded "
            "VP8 640x480@30 ~400 kbit/s + Opus; subscribers receive without decoding.",
        ]
    finally:
        server.stop()
    publish_result("forwarding", table("Forwarding: server CPU per subscriber stream",
                                       ["server", "subscribers", "CPU-s/s", "per subscriber", "video fps (min)"],
                                       rows, notes))


def slope(points: list[tuple[int, float]]) -> float:
    """Least-squares slope of CPU over subscriber count: the cost of one more subscriber."""
    xs = [float(x) for x, _ in points]
    ys = [y for _, y in points]
    mx, my = statistics.mean(xs), statistics.mean(ys)
    return sum((x - mx) * (y - my) for x, y in zip(xs, ys, strict=True)) / sum((x - mx) ** 2 for x in xs)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--window", type=float, default=20.0, help="seconds of CPU measurement per step")
    parser.add_argument("--subscribers", default="1,2,4", help="subscriber counts to measure (the relay "
                        "saturates 2 cores beyond 4)")
    parser.add_argument("--joins", type=int, default=5, help="late joiners to time")
    args = parser.parse_args()
    asyncio.run(run(args.window, [int(x) for x in args.subscribers.split(",")], args.joins))


if __name__ == "__main__":
    main()
