"""One recording clock for every stream.

Inputs hand frames with a timestamp ``t`` in seconds on a clock shared by all streams of a room
(arrival time from ``time.monotonic()``, or a time derived from RTP timestamps and RTCP sender
reports). :class:`RecordingClock` maps those onto the output timeline, which starts at the
recording's start instant ``t0``:

* video tick ``n`` is shown at recording time ``n / fps`` (pts ``n`` in time base ``1/fps``);
* audio sample ``k`` is played at recording time ``k / sample_rate``.

Both are integer counters that only ever grow, so output pts are monotonic by construction,
and a recording stopped at ``t_stop`` holds ``round((t_stop - t0) * fps)`` video ticks: its
duration equals the wall-clock recording time within half a frame.
:class:`StreamTimeline` keeps one stream's timestamps monotonic (a source whose clock steps
backwards never moves pictures back in time).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field


@dataclass
class RecordingClock:
    """Maps shared-clock seconds to output ticks and audio samples."""

    t0: float
    fps: int = 30
    sample_rate: int = 48000

    def __post_init__(self) -> None:
        if self.fps <= 0 or self.sample_rate <= 0:
            raise ValueError("fps and sample_rate must be positive")

    def elapsed(self, t: float) -> float:
        """Recording-relative seconds of shared-clock instant ``t``."""
        return t - self.t0

    def tick_time(self, n: int) -> float:
        """Shared-clock instant at which video tick ``n`` is shown."""
        return self.t0 + n / self.fps

    def ticks_before(self, t: float) -> int:
        """Number of ticks whose display instant is at or before ``t`` (0 before the start)."""
        if t < self.t0:
            return 0
        return math.floor((t - self.t0) * self.fps + 1e-9) + 1

    def ticks_for_duration(self, t_stop: float) -> int:
        """Video ticks of a recording that ends at ``t_stop`` (duration within half a frame)."""
        return max(0, round((t_stop - self.t0) * self.fps))

    def sample_at(self, t: float) -> int:
        """Audio sample index (may be negative before the start) of shared-clock instant ``t``."""
        return round((t - self.t0) * self.sample_rate)

    def samples_for_duration(self, t_stop: float) -> int:
        return max(0, round((t_stop - self.t0) * self.sample_rate))

    def tick_window_end(self, n: int) -> float:
        """Latest frame timestamp shown at tick ``n``: frames snap to the nearest tick."""
        return self.tick_time(n) + 0.5 / self.fps


@dataclass
class StreamTimeline:
    """Keeps one stream's timestamps monotonic and counts corrections."""

    last: float | None = None
    corrected: int = field(default=0)

    def map(self, t: float) -> float:
        if self.last is not None and t < self.last:
            self.corrected += 1
            t = self.last
        self.last = t
        return t
