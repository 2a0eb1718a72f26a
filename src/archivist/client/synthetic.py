"""Synthetic media for the Python client: a moving test pattern and a tone, paced in real time."""

from __future__ import annotations

import asyncio
import fractions
import math
import time

import av
import numpy as np
from aiortc import MediaStreamTrack
from aiortc.mediastreams import MediaStreamError


class TestPatternTrack(MediaStreamTrack):  # type: ignore[misc]
    """Video: vertical colour bars scrolling sideways, with a moving white square (yuv420p)."""

    __test__ = False  # not a pytest class
    kind = "video"

    def __init__(self, width: int = 640, height: int = 480, fps: int = 30) -> None:
        super().__init__()
        if width % 2 or height % 2:
            raise ValueError("width and height must be even")
        self.width, self.height, self.fps = width, height, fps
        self.frames_sent = 0
        self._time_base = fractions.Fraction(1, 90000)
        self._start: float | None = None
        x = np.arange(width, dtype=np.uint16)
        bars = ((x * 8 // width) * 32 + 16).astype(np.uint8)
        self._y = np.tile(bars, (height, 1))
        self._u = np.tile(((np.arange(width // 2) * 255) // (width // 2)).astype(np.uint8), (height // 2, 1))
        self._v = np.tile(((np.arange(height // 2) * 255) // (height // 2)).astype(np.uint8)[:, None], (1, width // 2))

    async def recv(self) -> av.VideoFrame:
        if self.readyState != "live":
            raise MediaStreamError
        n = self.frames_sent
        if self._start is None:
            self._start = time.monotonic()
        else:
            wait = self._start + n / self.fps - time.monotonic()
            if wait > 0:
                await asyncio.sleep(wait)
        shift = (n * 4) % self.width
        y = np.roll(self._y, shift, axis=1)
        size = self.height // 6
        top = (n * 3) % (self.height - size)
        left = (n * 5) % (self.width - size)
        y[top : top + size, left : left + size] = 235
        data = np.concatenate([y, self._u.reshape(-1, self.width), self._v.reshape(-1, self.width)])
        frame = av.VideoFrame.from_ndarray(data, format="yuv420p")
        frame.pts = int(n * 90000 / self.fps)
        frame.time_base = self._time_base
        self.frames_sent += 1
        return frame


class ToneTrack(MediaStreamTrack):  # type: ignore[misc]
    """Audio: a 440 Hz sine, 48 kHz mono s16, 20 ms frames."""

    kind = "audio"

    def __init__(self, frequency: float = 440.0, sample_rate: int = 48000) -> None:
        super().__init__()
        self.sample_rate = sample_rate
        self.samples = sample_rate // 50
        self.frames_sent = 0
        self._start: float | None = None
        period = int(sample_rate / math.gcd(int(frequency), sample_rate))
        t = np.arange(period * self.samples, dtype=np.float64) / sample_rate
        self._wave = (np.sin(2 * math.pi * frequency * t) * 8000).astype(np.int16)
        self._time_base = fractions.Fraction(1, sample_rate)

    async def recv(self) -> av.AudioFrame:
        if self.readyState != "live":
            raise MediaStreamError
        n = self.frames_sent
        if self._start is None:
            self._start = time.monotonic()
        else:
            wait = self._start + n * 0.02 - time.monotonic()
            if wait > 0:
                await asyncio.sleep(wait)
        offset = (n * self.samples) % len(self._wave)
        chunk = self._wave[offset : offset + self.samples]
        if len(chunk) < self.samples:
            chunk = np.concatenate([chunk, self._wave[: self.samples - len(chunk)]])
        frame = av.AudioFrame.from_ndarray(chunk.reshape(1, -1), format="s16", layout="mono")
        frame.sample_rate = self.sample_rate
        frame.pts = n * self.samples
        frame.time_base = self._time_base
        self.frames_sent += 1
        return frame
