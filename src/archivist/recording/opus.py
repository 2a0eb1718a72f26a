"""Opus packets without decoding them: their duration, encoded silence, the track header.

* :func:`packet_samples`: how many 48 kHz samples a packet holds, from its TOC byte (RFC 6716
  section 3.1).
* :func:`silence`: packets of digital silence covering a gap, from packets of 20, 10, 5 and
  2.5 ms encoded once per process with libopus.
* :func:`opus_head`: the OpusHead a Matroska track carries (2 channels, as WebRTC negotiates;
  48 kHz; pre-skip 0: the first sample of a file is the first sample of its first packet, so the
  track keeps its place on the archive's clock).
"""

from __future__ import annotations

import struct
import threading
from functools import lru_cache
from typing import Any

import av
import numpy as np

SAMPLE_RATE = 48000
CHANNELS = 2
SILENCE_SIZES = (960, 480, 240, 120)  # samples: 20, 10, 5, 2.5 ms
_FRAME_MS = {960: "20", 480: "10", 240: "5", 120: "2.5"}

# frame size in 48 kHz samples by TOC configuration (RFC 6716 table 2)
_CONFIG_SAMPLES = (
    [480, 960, 1920, 2880] * 3  # SILK NB/MB/WB: 10, 20, 40, 60 ms
    + [480, 960] * 2  # hybrid SWB/FB: 10, 20 ms
    + [120, 240, 480, 960] * 4  # CELT NB/WB/SWB/FB: 2.5, 5, 10, 20 ms
)


def packet_samples(data: bytes) -> int:
    """Samples (at 48 kHz) in one Opus packet. ``ValueError`` for an empty or malformed packet."""
    if not data:
        raise ValueError("empty Opus packet")
    toc = data[0]
    per_frame = _CONFIG_SAMPLES[toc >> 3]
    code = toc & 0x03
    if code == 0:
        frames = 1
    elif code in (1, 2):
        frames = 2
    else:
        if len(data) < 2:
            raise ValueError("Opus code 3 packet without a frame count")
        frames = data[1] & 0x3F
        if frames == 0:
            raise ValueError("Opus packet with no frames")
    samples = frames * per_frame
    if samples > 5760:  # 120 ms is the most a packet may hold
        raise ValueError(f"Opus packet of {samples} samples")
    return samples


_lock = threading.RLock()


@lru_cache(maxsize=1)
def _silence_packets() -> dict[int, bytes]:
    out: dict[int, bytes] = {}
    with _lock:
        for size, ms in _FRAME_MS.items():
            ctx: Any = av.CodecContext.create("libopus", "w")
            ctx.sample_rate, ctx.layout, ctx.format = SAMPLE_RATE, "stereo", "s16"
            ctx.bit_rate = 32000
            ctx.options = {"frame_duration": ms, "application": "audio"}
            packets: list[bytes] = []
            for i in range(4):  # take a packet from the steady state, not the first one
                frame = av.AudioFrame.from_ndarray(np.zeros((1, size * CHANNELS), dtype=np.int16),
                                                   format="s16", layout="stereo")
                frame.sample_rate, frame.pts = SAMPLE_RATE, i * size
                packets += [bytes(p) for p in ctx.encode(frame)]
            packet = packets[-1]
            if packet_samples(packet) != size:
                raise RuntimeError(f"libopus gave a {packet_samples(packet)}-sample packet for {ms} ms")
            out[size] = packet
    return out


def silence(samples: int) -> list[tuple[bytes, int]]:
    """Encoded silence for ``samples`` (48 kHz): (packet, its samples), at most 2.5 ms short."""
    packets = _silence_packets()
    out: list[tuple[bytes, int]] = []
    left = samples
    for size in SILENCE_SIZES:
        while left >= size:
            out.append((packets[size], size))
            left -= size
    return out


def opus_head(channels: int = CHANNELS, pre_skip: int = 0) -> bytes:
    """The OpusHead identification header (RFC 7845 section 5.1), mapping family 0."""
    return b"OpusHead" + struct.pack("<BBHIhB", 1, channels, pre_skip, SAMPLE_RATE, 0, 0)
