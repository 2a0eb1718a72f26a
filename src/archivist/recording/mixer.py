"""Audio mixer: every stream resampled to 48 kHz stereo float, summed, limited.

Each stream has a timeline in recording samples, and each frame comes with its place on it
(from RTP timestamps through :mod:`archivist.recording.sync`) and, for live streams, its
timestamp on the stream's own media timeline. A frame that directly follows the previous one
in media time is glued to it, so the sound is continuous; when the place the clock gives drifts
away from the glued one (a sender whose audio clock runs off its wall clock, a sync correction),
the stream is slewed back: the frame is stretched or squeezed by at most ``slew`` (1 %, about a
sixth of a semitone, inaudible on voices), so sync is restored without a click and kept within
a millisecond. A frame that does not follow (a lost packet, a sender that paused) or that is
more than ``max_slew_error`` off is placed exactly where the clock says, silence filling a gap.
Nobody speaking is digital silence.

The limiter never lets a sample reach full scale: a block gain follows the block peak (attack
within the block, slow release), then a soft knee bends anything above ``knee`` smoothly towards
``ceiling`` (< 1.0). Two loud voices at once are turned down, not clipped.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import av
import numpy as np
import numpy.typing as npt

from archivist import logs

log = logs.get(__name__)

SAMPLE_RATE = 48000
LAYOUT = "stereo"
SLEW_GAIN = 0.2
"""Part of a stream's sync error taken back per frame (bounded by the mixer's ``slew``)."""
CHANNELS = 2
Samples = npt.NDArray[np.float32]


class Limiter:
    """Block gain (instant-looking attack, ~0.3 s release) followed by a soft knee."""

    def __init__(
        self,
        threshold: float = 0.80,
        knee: float = 0.85,
        ceiling: float = 0.97,
        release_s: float = 0.3,
        sample_rate: int = SAMPLE_RATE,
    ) -> None:
        if not 0 < threshold <= knee < ceiling < 1.0:
            raise ValueError("need 0 < threshold <= knee < ceiling < 1")
        self.threshold = threshold
        self.knee = knee
        self.ceiling = ceiling
        self.release_per_sample = 1.0 / (release_s * sample_rate)
        self.gain = 1.0

    def process(self, block: Samples) -> Samples:
        n = block.shape[-1]
        if n == 0:
            return block
        peak = float(np.max(np.abs(block)))
        needed = 1.0 if peak <= self.threshold else self.threshold / peak
        start = self.gain
        end = min(needed, start + self.release_per_sample * n)
        if end < 1.0 or start < 1.0:
            # Ramp from the previous gain to the new one. When the gain must drop, the ramp
            # reaches its target in the first eighth of the block; the soft knee below
            # catches what the ramp lets through.
            if end < start:
                k = max(1, n // 8)
                ramp = np.full(n, end, dtype=np.float32)
                ramp[:k] = np.linspace(start, end, k, dtype=np.float32)
            else:
                ramp = np.linspace(start, end, n, dtype=np.float32)
            block = block * ramp
        self.gain = end
        return self._soft_knee(block)

    def _soft_knee(self, block: Samples) -> Samples:
        mag = np.abs(block)
        over = mag > self.knee
        if not over.any():
            return block
        room = self.ceiling - self.knee
        bent = self.knee + room * np.tanh((mag[over] - self.knee) / room)
        out = block.copy()
        out[over] = np.sign(block[over]) * bent
        return out.astype(np.float32, copy=False)


def stretch(data: Samples, length: int) -> Samples:
    """``data`` (channels x n) resampled to ``length`` samples by linear interpolation."""
    n = int(data.shape[1])
    if length == n:
        return data
    x = np.linspace(0.0, n - 1, length)
    xp = np.arange(n, dtype=np.float64)
    return np.stack([np.interp(x, xp, channel) for channel in data]).astype(np.float32)


@dataclass
class _Track:
    stream_id: str
    resampler: Any = None
    resampler_key: tuple[str, str, int] | None = None
    buf: Samples = field(default_factory=lambda: np.zeros((CHANNELS, 0), dtype=np.float32))
    buf_start: int = 0  # recording sample index of buf[:, 0]
    next_pos: int | None = None  # where the next frame goes if it follows the previous one
    next_media: int | None = None  # the media timestamp of a frame that follows the previous one
    resyncs: int = 0
    slewed_samples: int = 0
    dropped_samples: int = 0

    @property
    def buf_end(self) -> int:
        return self.buf_start + int(self.buf.shape[1])


class AudioMixer:
    """Mixes on demand; the caller asks for sample ranges in order (see ``pipeline``)."""

    def __init__(
        self,
        max_slew_error_s: float = 0.1,
        slew: float = 0.01,
        max_buffer_s: float = 10.0,
        limiter: Limiter | None = None,
    ) -> None:
        self.max_slew_error = round(max_slew_error_s * SAMPLE_RATE)
        self.slew = slew
        self.max_buffer = round(max_buffer_s * SAMPLE_RATE)
        self.limiter = limiter or Limiter()
        self._tracks: dict[str, _Track] = {}
        self._consumed = 0  # every sample before this was already mixed

    def add_source(self, stream_id: str) -> None:
        self._tracks.setdefault(stream_id, _Track(stream_id))

    def remove_source(self, stream_id: str) -> None:
        self._tracks.pop(stream_id, None)

    @property
    def source_ids(self) -> list[str]:
        return list(self._tracks)

    def _resample(self, track: _Track, frame: Any) -> Samples:
        key = (str(frame.format.name), str(frame.layout.name), int(frame.sample_rate))
        if track.resampler is None or track.resampler_key != key:
            if track.resampler is not None:
                log.info("audio format changed", stream_id=track.stream_id, format=key)
            track.resampler = av.AudioResampler(format="fltp", layout=LAYOUT, rate=SAMPLE_RATE)
            track.resampler_key = key
        chunks = [f.to_ndarray() for f in track.resampler.resample(frame)]
        if not chunks:
            return np.zeros((CHANNELS, 0), dtype=np.float32)
        out = np.concatenate(chunks, axis=1) if len(chunks) > 1 else chunks[0]
        return np.ascontiguousarray(out, dtype=np.float32)

    def offer(self, stream_id: str, frame: Any, position: int, media: int | None = None) -> None:
        """Add a decoded frame whose first sample plays at recording sample ``position``;
        ``media``: its timestamp on the stream's media timeline, in 48 kHz samples (None:
        unknown; then a frame follows the previous one when it is placed within slewing reach)."""
        track = self._tracks.get(stream_id)
        if track is None:
            return
        self.offer_samples(stream_id, self._resample(track, frame), position, media)

    def offer_samples(self, stream_id: str, data: Samples, position: int, media: int | None = None) -> None:
        """Add 48 kHz stereo float samples, shape ``(2, n)``, starting at ``position``."""
        track = self._tracks.get(stream_id)
        if track is None or data.shape[1] == 0:
            return
        n = int(data.shape[1])
        if track.next_pos is None:
            pos = position
        else:
            error = position - track.next_pos
            if media is not None and track.next_media is not None:
                follows = abs(media - track.next_media) <= 1
            else:
                follows = media is None and track.next_media is None
            if follows and abs(error) <= self.max_slew_error:
                pos = track.next_pos
                if error:
                    limit = max(1, int(n * self.slew))
                    change = min(limit, max(1, round(abs(error) * SLEW_GAIN)))
                    data = stretch(data, n + (change if error > 0 else -change))
                    track.slewed_samples += change
            else:
                pos = position
                # a gap in the media (a lost packet) lands where the glue puts it; anything else
                # is a re-placement
                glued = track.next_pos + (media - track.next_media) if media is not None and \
                    track.next_media is not None else track.next_pos
                if abs(position - glued) > 1:
                    track.resyncs += 1
                    log.debug("audio re-placed", stream_id=stream_id, jump=position - glued)
        track.next_pos = pos + int(data.shape[1])
        track.next_media = media + n if media is not None else None
        if pos < self._consumed:  # already mixed: keep only the part still to come
            cut = self._consumed - pos
            track.dropped_samples += min(cut, data.shape[1])
            data = data[:, cut:]
            pos = self._consumed
            if data.shape[1] == 0:
                return
        if track.buf.shape[1] == 0:
            track.buf = data
            track.buf_start = pos
        elif pos >= track.buf_end:
            gap = np.zeros((CHANNELS, pos - track.buf_end), dtype=np.float32)
            track.buf = np.concatenate([track.buf, gap, data], axis=1)
        else:  # re-anchored backwards: the new samples replace the overlapped tail
            keep = max(0, pos - track.buf_start)
            track.buf = np.concatenate([track.buf[:, :keep], data], axis=1)
            track.buf_start = min(track.buf_start, pos)
        excess = track.buf.shape[1] - self.max_buffer
        if excess > 0:
            track.dropped_samples += excess
            track.buf = track.buf[:, excess:]
            track.buf_start += excess

    def mix(self, start: int, count: int) -> Samples:
        """Mixed, limited samples ``[start, start + count)``, shape ``(2, count)``."""
        out = np.zeros((CHANNELS, count), dtype=np.float32)
        end = start + count
        for track in self._tracks.values():
            if track.buf.shape[1] == 0:
                continue
            lo = max(start, track.buf_start)
            hi = min(end, track.buf_end)
            if hi > lo:
                out[:, lo - start : hi - start] += track.buf[:, lo - track.buf_start : hi - track.buf_start]
            drop = min(track.buf.shape[1], max(0, end - track.buf_start))
            if drop:
                track.buf = track.buf[:, drop:]
                track.buf_start += drop
        self._consumed = max(self._consumed, end)
        return self.limiter.process(out)

    def stats(self) -> dict[str, int]:
        return {
            "sources": len(self._tracks),
            "resyncs": sum(t.resyncs for t in self._tracks.values()),
            "slewed_samples": sum(t.slewed_samples for t in self._tracks.values()),
            "dropped_samples": sum(t.dropped_samples for t in self._tracks.values()),
        }
