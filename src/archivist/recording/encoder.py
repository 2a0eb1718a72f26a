"""Encoder settings: H.264 (libx264) video and AAC 48 kHz audio.

Preset: measured with PyAV on this 2-core machine, one libx264 thread encodes 1280x720 at
155 fps with ``ultrafast`` and 41 fps with ``veryfast`` (640x480: 432 / 118 fps). The default
(``preset=None``) is ``ultrafast`` at every size: with ``veryfast`` at 640x480, four archives
of two publishers each took 1.5 cores of this machine and fell behind real time; with
``ultrafast`` they take about half that. ``ARCHIVIST_VIDEO_PRESET`` trades CPU for smaller files.

Rate control: ``quantization_parameter`` (15-40) gives constant-QP encoding; otherwise CRF 23
capped by a VBV ``max_bitrate`` (bits/s, the whole file: audio's share is taken off the
video's). No B-frames (they would shift the video track, see ``x264_options``).
Keyframes come every ``keyframe_interval_s`` (2 s) with no scene-cut keyframes, so the file
is seekable at regular points.
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from typing import Any

from archivist.recording.mixer import LAYOUT, SAMPLE_RATE

PRESETS = ("ultrafast", "superfast", "veryfast", "faster", "fast", "medium")
AUDIO_BITRATE = 128_000
MIN_VIDEO_BITRATE = 80_000


def default_max_bitrate(width: int, height: int) -> int:
    """A sane cap when the archive sets none: ~2 Mbit/s at 720p, scaled by pixel count."""
    return max(500_000, int(width * height * 2.2))


@dataclass(frozen=True)
class VideoSettings:
    width: int = 640
    height: int = 480
    fps: int = 30
    preset: str | None = None
    max_bitrate: int | None = None
    quantization_parameter: int | None = None
    keyframe_interval_s: float = 2.0
    threads: int = 1
    has_audio: bool = True  # to share ``max_bitrate`` with audio

    def __post_init__(self) -> None:
        if self.width % 2 or self.height % 2 or self.width <= 0 or self.height <= 0:
            raise ValueError("video size must be positive and even")
        if self.preset is not None and self.preset not in PRESETS:
            raise ValueError(f"preset must be one of {PRESETS}")
        if self.quantization_parameter is not None and not 15 <= self.quantization_parameter <= 40:
            raise ValueError("quantization_parameter must be within 15..40")
        if self.max_bitrate is not None and self.max_bitrate <= 0:
            raise ValueError("max_bitrate must be positive")
        if self.fps <= 0 or self.keyframe_interval_s <= 0:
            raise ValueError("fps and keyframe interval must be positive")

    @property
    def effective_preset(self) -> str:
        return self.preset if self.preset is not None else "ultrafast"

    @property
    def gop(self) -> int:
        return max(1, round(self.keyframe_interval_s * self.fps))

    def video_bitrate_cap(self) -> int:
        total = self.max_bitrate if self.max_bitrate is not None else default_max_bitrate(
            self.width, self.height
        )
        if self.has_audio and self.max_bitrate is not None:
            total -= AUDIO_BITRATE
        return max(MIN_VIDEO_BITRATE, total)

    def x264_options(self) -> dict[str, str]:
        # No B-frames: with them the first dts is negative and, lacking an edit list in a
        # fragmented file, the muxer shifts the whole video track two frames late (measured).
        # No rate-control lookahead (slower presets hold 10+ frames back for it): a killed process
        # would lose those frames too (crash safety), and it saves CPU.
        params = [f"keyint={self.gop}", f"min-keyint={self.gop}", "scenecut=0", "bframes=0", "rc-lookahead=0"]
        opts = {"preset": self.effective_preset, "threads": str(self.threads)}
        if self.quantization_parameter is not None:
            opts["qp"] = str(self.quantization_parameter)
        else:
            cap_k = self.video_bitrate_cap() // 1000
            opts["crf"] = "23"
            # a one-second buffer: over any window of T seconds the video takes at most
            # max_bitrate * (T + 1) bits
            params += [f"vbv-maxrate={cap_k}", f"vbv-bufsize={cap_k}"]
        opts["x264-params"] = ":".join(params)
        return opts


@dataclass(frozen=True)
class AudioSettings:
    sample_rate: int = SAMPLE_RATE
    layout: str = LAYOUT
    bitrate: int = AUDIO_BITRATE


# AAC encoders emit 1024 "priming" samples before the first input sample; a fragmented MP4
# (empty moov) cannot carry the edit list that would hide them, so players play them. The
# pipeline therefore feeds the encoder from recording sample AAC_PRIMING on: decoded sample k of
# the file is then recording sample k, and audio stays in sync with video.
AAC_FRAME = 1024
AAC_PRIMING = 1024


def configure_video(stream: Any, settings: VideoSettings) -> None:
    """Configure a PyAV output stream created with ``add_stream("libx264")``."""
    stream.width = settings.width
    stream.height = settings.height
    stream.pix_fmt = "yuv420p"
    stream.time_base = Fraction(1, settings.fps)
    ctx = stream.codec_context
    ctx.time_base = Fraction(1, settings.fps)
    ctx.framerate = Fraction(settings.fps, 1)
    ctx.gop_size = settings.gop
    ctx.options = settings.x264_options()


def configure_audio(stream: Any, settings: AudioSettings) -> None:
    """Configure a PyAV output stream created with ``add_stream("aac")``."""
    ctx = stream.codec_context
    ctx.layout = settings.layout
    ctx.sample_rate = settings.sample_rate
    ctx.bit_rate = settings.bitrate
    # the "fast" coder: 0.35 ms per 1024-sample frame here against 1.3 ms for the default
    # two-loop search, at the same bitrate; plenty for voices at 128 kbit/s
    ctx.options = {"aac_coder": "fast"}
    ctx.time_base = Fraction(1, settings.sample_rate)
    stream.time_base = Fraction(1, settings.sample_rate)
