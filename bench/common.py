"""What the benchmarks share: a real server process, CPU meters, cheap pre-encoded publishers
and a table printer. Benchmarks measure and print; they never fail on a slow machine."""

from __future__ import annotations

import asyncio
import contextlib
import fractions
import os
import platform
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import av
import numpy as np
from aiortc import MediaStreamTrack
from aiortc.mediastreams import MediaStreamError

from archivist.client import TestPatternTrack, ToneTrack

RESULTS = Path(__file__).resolve().parent / "results"
CLK_TCK = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process (all its threads), in seconds."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLK_TCK


def children(pid: int) -> list[int]:
    """The live child processes of ``pid`` (a server's recorder processes)."""
    found: list[int] = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        with contextlib.suppress(OSError):
            found += [int(c) for c in (task / "children").read_text().split()]
    return found


def tree_cpu_seconds(pid: int) -> float:
    """CPU time of a process and its children, the live ones and those that exited (whose time
    the process was given when it reaped them)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    total = sum(int(f) for f in fields[11:15]) / CLK_TCK  # utime stime cutime cstime
    for child in children(pid):
        with contextlib.suppress(OSError):
            total += tree_cpu_seconds(child)
    return total


def tree_pss_mb(pid: int) -> float:
    """Proportional set size of a process and its live children, in MB (shared pages, such as the
    libraries a server and its recorder processes both map, counted once in all)."""
    total = 0.0
    for p in [pid, *children(pid)]:
        with contextlib.suppress(OSError):
            for line in Path(f"/proc/{p}/smaps_rollup").read_text().splitlines():
                if line.startswith("Pss:"):
                    total += int(line.split()[1]) / 1024
    return total


@dataclass
class CpuWindow:
    pid: int
    t0: float = 0.0
    c0: float = 0.0

    def start(self) -> CpuWindow:
        self.t0, self.c0 = time.monotonic(), tree_cpu_seconds(self.pid)
        return self

    def rate(self) -> float:
        """CPU-seconds per second since :meth:`start` (the process and its children)."""
        return (tree_cpu_seconds(self.pid) - self.c0) / (time.monotonic() - self.t0)


async def measure_cpu(pid: int, seconds: float) -> float:
    window = CpuWindow(pid).start()
    await asyncio.sleep(seconds)
    return window.rate()


# ---- cheap publishers: media encoded once, looped ---------------------------------------------
def encode_vp8_loop(width: int = 640, height: int = 480, fps: int = 30, seconds: float = 2.0,
                    bitrate: int = 600_000) -> list[bytes]:
    """``seconds`` of the moving test pattern as VP8 frames, the first a keyframe (the only one:
    the loop restarts on it)."""
    ctx: Any = av.CodecContext.create("libvpx", "w")
    ctx.width, ctx.height, ctx.pix_fmt = width, height, "yuv420p"
    ctx.time_base = fractions.Fraction(1, fps)
    ctx.framerate = fractions.Fraction(fps, 1)
    ctx.bit_rate = bitrate
    ctx.gop_size = 10_000
    ctx.options = {"deadline": "realtime", "cpu-used": "8", "lag-in-frames": "0"}
    pattern = TestPatternTrack(width, height, fps)
    frames: list[bytes] = []
    n = round(seconds * fps)
    for i in range(n):
        frame = pattern.frame_at(i)
        frame.pts = i
        frame.time_base = ctx.time_base
        frames += [bytes(p) for p in ctx.encode(frame)]
    frames += [bytes(p) for p in ctx.encode(None)]
    return frames[:n]


def encode_opus_loop(seconds: float = 2.0) -> list[bytes]:
    """``seconds`` of a 440 Hz tone as 20 ms Opus packets."""
    ctx: Any = av.CodecContext.create("libopus", "w")
    ctx.sample_rate, ctx.layout, ctx.format = 48000, "stereo", "s16"
    ctx.bit_rate = 32000
    tone = ToneTrack()
    packets: list[bytes] = []
    n = round(seconds * 50)
    for i in range(n):
        mono = tone.frame_at(i).to_ndarray()
        stereo = av.AudioFrame.from_ndarray(np.repeat(mono, 2, axis=0).reshape(1, -1), format="s16", layout="stereo")
        stereo.sample_rate, stereo.pts = 48000, i * 960
        packets += [bytes(p) for p in ctx.encode(stereo)]
    return packets[:n]


class PacketLoop(MediaStreamTrack):  # type: ignore[misc]
    """Sends pre-encoded frames in real time, looping: a publisher that costs almost nothing."""

    def __init__(self, kind: str, packets: Sequence[bytes], rate: int, step: int) -> None:
        super().__init__()
        self.kind = kind
        self._packets = packets
        self._time_base = fractions.Fraction(1, rate)
        self._step = step
        self._period = step / rate
        self._n = 0
        self._start: float | None = None

    async def recv(self) -> av.Packet:
        if self.readyState != "live":
            raise MediaStreamError
        if self._start is None:
            self._start = time.monotonic()
        wait = self._start + self._n * self._period - time.monotonic()
        if wait > 0:
            await asyncio.sleep(wait)
        packet = av.Packet(self._packets[self._n % len(self._packets)])
        packet.pts = self._n * self._step
        packet.time_base = self._time_base
        self._n += 1
        return packet


class LoopSources:
    """Encoded once per process, shared by every publisher of a benchmark."""

    _video: list[bytes] | None = None
    _audio: list[bytes] | None = None

    @classmethod
    def tracks(cls) -> tuple[PacketLoop, PacketLoop]:
        if cls._video is None:
            cls._video = encode_vp8_loop()
            cls._audio = encode_opus_loop()
        assert cls._audio is not None
        return PacketLoop("audio", cls._audio, 48000, 960), PacketLoop("video", cls._video, 90000, 3000)


# ---- output ------------------------------------------------------------------------------------
def table(title: str, headers: Sequence[str], rows: Sequence[Sequence[Any]], notes: Sequence[str] = ()) -> str:
    def cell(v: Any) -> str:
        return f"{v:.3f}" if isinstance(v, float) else str(v)

    cells = [[cell(v) for v in row] for row in rows]
    widths = [max(len(h), *(len(r[i]) for r in cells)) for i, h in enumerate(headers)]
    lines = [f"## {title}", "",
             "| " + " | ".join(h.ljust(w) for h, w in zip(headers, widths, strict=True)) + " |",
             "|" + "|".join("-" * (w + 2) for w in widths) + "|"]
    lines += ["| " + " | ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)) + " |" for r in cells]
    machine = f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}"
    lines += ["", f"Measured {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())} on {machine}."]
    lines += [f"{n}" for n in notes]
    return "\n".join(lines) + "\n"


def publish_result(name: str, text: str) -> None:
    print(text)
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / f"{name}.md").write_text(text)
