"""Reading a downloaded archive with PyAV: codecs, duration, and what a late frame shows."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import av
import numpy as np


@dataclass
class Probe:
    video_codec: str | None
    audio_codec: str | None
    width: int
    height: int
    duration: float  # seconds: the end of the longest stream, from its packets
    late_frame: np.ndarray  # RGB, decoded about one second before the end
    audio_peak: float  # largest absolute sample, 0..1


def probe(path: Path) -> Probe:
    with av.open(str(path)) as container:
        video = container.streams.video[0] if container.streams.video else None
        audio = container.streams.audio[0] if container.streams.audio else None
        ends: list[float] = []
        for stream in (video, audio):
            if stream is None:
                continue
            end = 0.0
            start = None
            for packet in container.demux(stream):
                if packet.pts is None:
                    continue
                t = float(packet.pts * packet.time_base)
                start = t if start is None else min(start, t)
                end = max(end, t + float((packet.duration or 0) * packet.time_base))
            ends.append(end - (start or 0.0))
            container.seek(0)
        duration = max(ends) if ends else 0.0
        assert video is not None, "no video stream"
        late = None
        target = max(0.0, duration - 1.0)
        for frame in container.decode(video=0):
            late = frame
            if frame.time is not None and frame.time >= target:
                break
        assert late is not None, "no video frame"
        peak = 0.0
        if audio is not None:
            container.seek(0)
            for i, frame in enumerate(container.decode(audio=0)):
                samples = frame.to_ndarray()
                if samples.size:
                    peak = max(peak, float(np.abs(samples.astype(np.float64)).max()))
                if i > 400:
                    break
        return Probe(
            video_codec=video.codec_context.name if video else None,
            audio_codec=audio.codec_context.name if audio else None,
            width=video.codec_context.width,
            height=video.codec_context.height,
            duration=duration,
            late_frame=late.to_ndarray(format="rgb24"),
            audio_peak=peak,
        )


def colour_regions(frame: np.ndarray) -> dict[str, tuple[float, float]]:
    """Where the frame shows Chromium's green fake camera (the host) and the blue test video
    (the participant): for each, (fraction of the frame, mean x of its pixels / width)."""
    rgb = frame.astype(np.int32)
    r, g, b = rgb[..., 0], rgb[..., 1], rgb[..., 2]
    masks = {"green": (g > r + 40) & (g > b + 40), "blue": (b > g + 40) & (b > r + 40)}
    width = frame.shape[1]
    out: dict[str, tuple[float, float]] = {}
    for name, mask in masks.items():
        fraction = float(mask.mean())
        xs = np.nonzero(mask)[1]
        out[name] = (fraction, float(xs.mean()) / width if xs.size else -1.0)
    return out


def write_test_video(path: Path, rgb: tuple[int, int, int], seconds: float = 2.0, fps: int = 15) -> None:
    """A Y4M file for Chromium's --use-file-for-fake-video-capture: a solid colour with a white
    square moving across (Chromium loops it)."""
    with av.open(str(path), "w", format="yuv4mpegpipe") as out:
        stream = out.add_stream("rawvideo", rate=fps)
        stream.width, stream.height, stream.pix_fmt = 320, 240, "yuv420p"
        for n in range(int(seconds * fps)):
            img = np.empty((240, 320, 3), np.uint8)
            img[:] = rgb
            x = (n * 8) % 260
            img[90:150, x : x + 60] = 255
            frame = av.VideoFrame.from_ndarray(img, format="rgb24").reformat(format="yuv420p")
            frame.pts = n
            for packet in stream.encode(frame):
                out.mux(packet)
        for packet in stream.encode():
            out.mux(packet)


def write_png(frame: np.ndarray, path: Path) -> None:
    with av.open(str(path), "w", format="image2") as out:
        stream = out.add_stream("png", rate=1)
        stream.width, stream.height, stream.pix_fmt = frame.shape[1], frame.shape[0], "rgb24"
        for packet in stream.encode(av.VideoFrame.from_ndarray(frame, format="rgb24")):
            out.mux(packet)
        for packet in stream.encode():
            out.mux(packet)
