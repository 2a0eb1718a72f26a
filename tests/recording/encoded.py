"""Encoded media for the recording tests: real libvpx / libx264 / libopus output (no mocks)."""

from __future__ import annotations

import fractions
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import av
import numpy as np

from tests.recording.media import solid


@dataclass(frozen=True)
class Encoded:
    data: bytes
    keyframe: bool

    def packet(self) -> Any:
        p = av.Packet(self.data)
        p.is_keyframe = self.keyframe
        return p


def encode_video(
    codec: str,
    frames: Sequence[Any],
    fps: int = 30,
    gop: int = 60,
) -> list[Encoded]:
    """Encode yuv420p frames (all of one size) with ``vp8`` or ``h264``, as a WebRTC sender
    would: no B-frames, no lookahead, a keyframe first and every ``gop`` frames."""
    first = frames[0]
    ctx: Any = av.CodecContext.create("libvpx" if codec == "vp8" else "libx264", "w")
    ctx.width, ctx.height, ctx.pix_fmt = first.width, first.height, "yuv420p"
    ctx.time_base = fractions.Fraction(1, fps)
    ctx.framerate = fractions.Fraction(fps, 1)
    ctx.gop_size = gop
    ctx.thread_count = 1  # an encoder thread pool on a busy shared machine costs 10x
    if codec == "vp8":
        ctx.bit_rate = 300_000
        ctx.options = {"deadline": "realtime", "cpu-used": "8", "lag-in-frames": "0"}
    else:
        ctx.options = {"preset": "ultrafast", "tune": "zerolatency", "profile": "baseline",
                       "x264-params": f"keyint={gop}:min-keyint={gop}:scenecut=0:repeat-headers=1"}
    out: list[Encoded] = []
    for i, frame in enumerate(frames):
        frame.pts = i
        frame.time_base = ctx.time_base
        out += [Encoded(bytes(p), bool(p.is_keyframe)) for p in ctx.encode(frame)]
    out += [Encoded(bytes(p), bool(p.is_keyframe)) for p in ctx.encode(None)]
    assert len(out) == len(frames), (len(out), len(frames))
    return out


def coloured(width: int, height: int, colour: Callable[[int], tuple[int, int, int]], n: int) -> list[Any]:
    return [solid(width, height, colour(i)) for i in range(n)]


def encode_opus(n: int, freq: float = 440.0, amplitude: float = 0.3) -> list[Encoded]:
    """``n`` packets of 20 ms of a stereo tone."""
    ctx: Any = av.CodecContext.create("libopus", "w")
    ctx.sample_rate, ctx.layout, ctx.format = 48000, "stereo", "s16"
    ctx.bit_rate = 48000
    out: list[Encoded] = []
    for i in range(n + 4):
        k = np.arange(i * 960, (i + 1) * 960)
        mono = (amplitude * 32767 * np.sin(2 * np.pi * freq * k / 48000)).astype(np.int16)
        frame = av.AudioFrame.from_ndarray(np.repeat(mono, 2).reshape(1, -1), format="s16", layout="stereo")
        frame.sample_rate, frame.pts = 48000, i * 960
        out += [Encoded(bytes(p), True) for p in ctx.encode(frame)]
    return out[:n]


class FakeClock:
    """A monotonic clock the test moves by hand."""

    def __init__(self, t: float = 1000.0) -> None:
        self.t = t

    def __call__(self) -> float:
        return self.t


def decode_audio(path: str) -> tuple[Any, int]:
    """Mono float samples of the file's audio and their rate."""
    with av.open(path) as c:
        chunks = [f.to_ndarray().astype(np.float32).reshape(f.samples, -1).mean(axis=1)
                  if f.format.is_packed else f.to_ndarray().astype(np.float32).mean(axis=0)
                  for f in c.decode(audio=0)]
        rate = c.streams.audio[0].sample_rate
    return np.concatenate(chunks), rate


def decode_video(path: str) -> list[tuple[float, int, int, Any]]:
    """(time, width, height, rgb) of every decoded frame."""
    out = []
    with av.open(path) as c:
        for f in c.decode(video=0):
            out.append((float(f.time), f.width, f.height, f.to_ndarray(format="rgb24")))
    return out
