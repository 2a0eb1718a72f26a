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


async def until(instant: float) -> None:
    """Pace a synthetic source in real time: sleep until ``instant`` (monotonic clock)."""
    wait = instant - time.monotonic()
    if wait > 0:
        await asyncio.sleep(wait)


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
        await until(self._start + n / self.fps)
        frame = self.frame_at(n)
        self.frames_sent += 1
        return frame

    def frame_at(self, n: int) -> av.VideoFrame:
        """Frame ``n`` of the pattern (pts in 1/90000)."""
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
        await until(self._start + n * 0.02)
        frame = self.frame_at(n)
        self.frames_sent += 1
        return frame

    def frame_at(self, n: int) -> av.AudioFrame:
        """The ``n``-th 20 ms frame of the tone."""
        offset = (n * self.samples) % len(self._wave)
        chunk = self._wave[offset : offset + self.samples]
        if len(chunk) < self.samples:
            chunk = np.concatenate([chunk, self._wave[: self.samples - len(chunk)]])
        frame = av.AudioFrame.from_ndarray(chunk.reshape(1, -1), format="s16", layout="mono")
        frame.sample_rate = self.sample_rate
        frame.pts = n * self.samples
        frame.time_base = self._time_base
        return frame


class SyncMarks:
    """A shared clock for a flash-and-beep pair: every ``period`` seconds the picture flashes
    white for ``flash_frames`` frames and a 1 kHz beep starts, at the same instant. Recorded,
    the offset between each flash and its beep is the recording's A/V offset."""

    def __init__(self, period: float = 1.0, flash_frames: int = 3, beep_s: float = 0.1) -> None:
        self.period = period
        self.flash_frames = flash_frames
        self.beep_s = beep_s
        self.start: float | None = None

    def origin(self) -> float:
        if self.start is None:
            self.start = time.monotonic()
        return self.start


class FlashTrack(MediaStreamTrack):  # type: ignore[misc]
    """Video: mid-grey frames, white for a few frames at every mark (yuv420p, paced in real time)."""

    kind = "video"

    def __init__(self, marks: SyncMarks, width: int = 640, height: int = 480, fps: int = 30) -> None:
        super().__init__()
        self.marks, self.width, self.height, self.fps = marks, width, height, fps
        self.frames_sent = 0
        self._time_base = fractions.Fraction(1, 90000)
        self._grey = np.full((height * 3 // 2, width), 128, dtype=np.uint8)
        self._white = self._grey.copy()
        self._white[:height] = 235

    async def recv(self) -> av.VideoFrame:
        if self.readyState != "live":
            raise MediaStreamError
        n = self.frames_sent
        await until(self.marks.origin() + n / self.fps)
        per_period = round(self.marks.period * self.fps)
        flash = n % per_period < self.marks.flash_frames
        frame = av.VideoFrame.from_ndarray(self._white if flash else self._grey, format="yuv420p")
        frame.pts = int(n * 90000 / self.fps)
        frame.time_base = self._time_base
        self.frames_sent += 1
        return frame


class BeepTrack(MediaStreamTrack):  # type: ignore[misc]
    """Audio: silence, a 1 kHz beep starting at every mark (48 kHz mono s16, 20 ms frames)."""

    kind = "audio"

    def __init__(self, marks: SyncMarks, sample_rate: int = 48000) -> None:
        super().__init__()
        self.marks = marks
        self.sample_rate = sample_rate
        self.samples = sample_rate // 50
        self.frames_sent = 0
        self._time_base = fractions.Fraction(1, sample_rate)

    async def recv(self) -> av.AudioFrame:
        if self.readyState != "live":
            raise MediaStreamError
        n = self.frames_sent
        await until(self.marks.origin() + n * self.samples / self.sample_rate)
        k = np.arange(n * self.samples, (n + 1) * self.samples)
        period = round(self.marks.period * self.sample_rate)
        beeping = (k % period) < round(self.marks.beep_s * self.sample_rate)
        wave = np.sin(2 * math.pi * 1000 * k / self.sample_rate) * 12000 * beeping
        frame = av.AudioFrame.from_ndarray(wave.astype(np.int16).reshape(1, -1), format="s16", layout="mono")
        frame.sample_rate = self.sample_rate
        frame.pts = n * self.samples
        frame.time_base = self._time_base
        self.frames_sent += 1
        return frame
