"""Synthetic sources and output readers for the recording tests (real PyAV, no mocks)."""

from __future__ import annotations

import asyncio
import fractions
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import av
import numpy as np

from archivist.recording import ComposedRecorder

RED = (220, 30, 30)
GREEN = (30, 200, 30)
BLUE = (30, 30, 220)
WHITE = (255, 255, 255)
BLACK = (0, 0, 0)


def solid(width: int, height: int, rgb: tuple[int, int, int]) -> Any:
    img = np.empty((height, width, 3), dtype=np.uint8)
    img[:] = rgb
    return av.VideoFrame.from_ndarray(img, format="rgb24").reformat(format="yuv420p")


def tone(freq: float, amplitude: float, start_sample: int, count: int, rate: int = 48000) -> Any:
    n = np.arange(start_sample, start_sample + count)
    samples = (amplitude * 32767 * np.sin(2 * np.pi * freq * n / rate)).astype(np.int16)
    frame = av.AudioFrame.from_ndarray(samples.reshape(1, -1), format="s16", layout="mono")
    frame.sample_rate = rate
    return frame


def silence(count: int, rate: int = 48000) -> Any:
    frame = av.AudioFrame.from_ndarray(np.zeros((1, count), dtype=np.int16), format="s16", layout="mono")
    frame.sample_rate = rate
    return frame


@dataclass
class Output:
    codecs: list[str]
    width: int
    height: int
    video_times: list[float]
    video_rgb: list[Any]  # rgb24 ndarrays, decoded
    audio: Any  # float32 mono mix of the decoded audio
    audio_rate: int
    container_duration: float


def read_output(path: Path, keep_every: int = 1) -> Output:
    with av.open(str(path)) as c:
        codecs = [s.codec_context.name for s in c.streams]
        duration = (c.duration or 0) / 1_000_000
    width = height = 0
    times: list[float] = []
    rgb: list[Any] = []
    with av.open(str(path)) as c:
        if c.streams.video:
            for i, f in enumerate(c.decode(video=0)):
                width, height = f.width, f.height
                times.append(float(f.time))
                rgb.append(f.to_ndarray(format="rgb24") if i % keep_every == 0 else None)
    audio = np.zeros(0, dtype=np.float32)
    rate = 0
    with av.open(str(path)) as c:
        if c.streams.audio:
            chunks = []
            for af in c.decode(audio=0):
                rate = af.sample_rate
                chunks.append(af.to_ndarray().astype(np.float32).mean(axis=0))
            audio = np.concatenate(chunks)
    return Output(codecs, width, height, times, rgb, audio, rate, duration)


def mean_rgb(img: Any, x: int, y: int, w: int, h: int) -> tuple[float, float, float]:
    patch = img[y : y + h, x : x + w].reshape(-1, 3).astype(np.float64).mean(axis=0)
    return (float(patch[0]), float(patch[1]), float(patch[2]))


def close_to(actual: tuple[float, float, float], expected: tuple[int, int, int], tol: float = 30) -> bool:
    return all(abs(a - e) <= tol for a, e in zip(actual, expected, strict=True))


VideoFn = Callable[[float], Any | None]
AudioFn = Callable[[int, int], Any | None]


async def feed(
    rec: ComposedRecorder,
    stream_id: str,
    seconds: float,
    video: VideoFn | None = None,
    audio: AudioFn | None = None,
    start: float | None = None,
    fps: int = 30,
) -> None:
    """Push frames in real time, stamped with their scheduled instant on the shared clock
    (as an RTP-derived clock would), whatever the event loop's jitter.

    ``video(t_rel)`` returns a frame for instant ``t_rel`` (seconds after ``start``);
    ``audio(first_sample, count)`` returns 20 ms of audio.
    """
    base = time.monotonic() if start is None else start
    v_next = 0
    a_next = 0
    chunk = 960
    while True:
        now = time.monotonic() - base
        if now >= seconds:
            return
        while video is not None and v_next / fps <= now and v_next / fps < seconds:
            frame = video(v_next / fps)
            if frame is not None:
                rec.push_video(stream_id, frame, base + v_next / fps)
            v_next += 1
        while audio is not None and a_next / 48000 <= now and a_next / 48000 < seconds:
            frame = audio(a_next, chunk)
            if frame is not None:
                rec.push_audio(stream_id, frame, base + a_next / 48000)
            a_next += chunk
        await asyncio.sleep(0.005)


# ---- A/V sync probe: flashes in the picture against beeps in the sound ---------------------------
def flash_onsets(path: Path, region: tuple[int, int, int, int] | None = None) -> list[float]:
    """Times (s) of the video frames where the picture (or ``region`` x, y, w, h) turns bright."""
    lumas: list[tuple[float, float]] = []
    with av.open(str(path)) as c:
        for f in c.decode(video=0):
            y = f.to_ndarray(format="gray")
            if region is not None:
                x0, y0, w, h = region
                y = y[y0 : y0 + h, x0 : x0 + w]
            lumas.append((float(f.time), float(y.mean())))
    if not lumas:
        return []
    values = np.array([v for _, v in lumas])
    typical = float(np.median(values))  # the picture between flashes (not the black start)
    mid = (typical + values.max()) / 2
    if values.max() - typical < 40:
        return []
    onsets = []
    for i in range(1, len(lumas)):
        if lumas[i][1] > mid >= lumas[i - 1][1]:
            onsets.append(lumas[i][0])
    return onsets


def beep_onsets(path: Path, min_silence_s: float = 0.3) -> list[float]:
    """Times (s) where the sound starts after at least ``min_silence_s`` of silence."""
    out = read_audio(path)
    if out is None:
        return []
    samples, rate = out
    level = np.abs(samples)
    if level.max() < 0.05:
        return []
    loud = np.flatnonzero(level > level.max() * 0.3)
    onsets: list[float] = []
    last = -1e9
    for idx in loud:
        t = idx / rate
        if t - last >= min_silence_s:
            onsets.append(float(t))
        last = t
    return onsets


def read_audio(path: Path) -> tuple[Any, int] | None:
    with av.open(str(path)) as c:
        if not c.streams.audio:
            return None
        rate = c.streams.audio[0].sample_rate
        chunks = [af.to_ndarray().astype(np.float32).mean(axis=0) for af in c.decode(audio=0)]
    return np.concatenate(chunks), rate


def av_offsets(path: Path, region: tuple[int, int, int, int] | None = None) -> list[float]:
    """For each flash, audio onset minus video onset (s) of the beep nearest to it (within 0.4 s).
    Positive: the sound comes late."""
    beeps = beep_onsets(path)
    offsets = []
    for flash in flash_onsets(path, region):
        near = [b - flash for b in beeps if abs(b - flash) < 0.4]
        if near:
            offsets.append(min(near, key=abs))
    return offsets


class SolidTrack:
    """A Python-client video source (an aiortc ``MediaStreamTrack``): one colour, paced in real
    time; ``size`` and ``rgb`` may change while it is published (a phone turning portrait)."""

    def __new__(cls, *args: Any, **kwargs: Any) -> Any:
        from aiortc import MediaStreamTrack
        from aiortc.mediastreams import MediaStreamError

        from archivist.client.synthetic import until

        class _Solid(MediaStreamTrack):  # type: ignore[misc]
            kind = "video"

            def __init__(self, rgb: tuple[int, int, int], size: tuple[int, int] = (640, 480), fps: int = 30) -> None:
                super().__init__()
                self.rgb, self.size, self.fps = rgb, size, fps
                self.frames_sent = 0
                self._start: float | None = None
                self._cache: tuple[tuple[int, int], tuple[int, int, int], Any] | None = None

            async def recv(self) -> Any:
                if self.readyState != "live":
                    raise MediaStreamError
                if self._start is None:
                    self._start = time.monotonic()
                n = self.frames_sent
                await until(self._start + n / self.fps)
                if self._cache is None or self._cache[:2] != (self.size, self.rgb):
                    self._cache = (self.size, self.rgb, solid(self.size[0], self.size[1], self.rgb).to_ndarray())
                frame = av.VideoFrame.from_ndarray(self._cache[2], format="yuv420p")
                frame.pts = int(n * 90000 / self.fps)
                frame.time_base = fractions.Fraction(1, 90000)
                self.frames_sent += 1
                return frame

        return _Solid(*args, **kwargs)
