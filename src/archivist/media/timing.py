"""What a published track's packets say about its clock, observed for as long as it is published.

A publisher stamps each track with RTP timestamps on a clock of its own (random origin; 90 kHz
video, 48 kHz audio). Two relations tie that clock to the others, and both are straight lines
of slope one (``time = rtp / rate + intercept``), so each is kept as one intercept:

* the **report intercept**, ``ntp - rtp / rate`` of its RTCP sender reports: where the sender's
  wall clock puts the track (the same wall clock for audio and video: this is what lip sync
  rests on);
* the **arrival intercept**, ``arrival - rtp / rate`` of its packets on our monotonic clock:
  the least-delayed packet bounds when the media can be placed on our clock.

Each intercept is the minimum over a sliding window (``WINDOW_S``), not the latest value: a
late packet only raises ``arrival - rtp / rate``, and a sender that stamps its report at send
time (aiortc does, after encoding) only raises ``ntp - rtp / rate``, so the minimum is the
estimate nearest the truth, it is the same whichever packet came first, and the window lets it
follow a clock that drifts. Observation starts when the track is published, so a recording that
starts later finds both intercepts already settled.

Pure arithmetic, no I/O: fed on the event loop from the receive seams.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable

RTP_MOD = 1 << 32
HALF = 1 << 31

WINDOW_S = 10.0
"""How long an observation counts towards an intercept's minimum."""
DURATIONS_KEPT = 16


def rtp_delta(rtp: int, ref: int) -> int:
    """Signed distance ``rtp - ref`` in RTP ticks, across the 32-bit wrap."""
    return (rtp - ref + HALF) % RTP_MOD - HALF


class WindowMin:
    """The minimum of the values observed during the last ``window_s`` seconds."""

    def __init__(self, window_s: float = WINDOW_S) -> None:
        self.window_s = window_s
        self._samples: deque[tuple[float, float]] = deque()  # (at, value), values increasing

    def observe(self, at: float, value: float) -> None:
        samples = self._samples
        while samples and samples[-1][1] >= value:  # monotonic deque: sliding-window minimum
            samples.pop()
        samples.append((at, value))
        while samples[0][0] < at - self.window_s and len(samples) > 1:
            samples.popleft()

    @property
    def value(self) -> float | None:
        return self._samples[0][1] if self._samples else None


class TrackTiming:
    """One received track's clock relations (see the module docstring).

    RTP timestamps come in two forms: raw 32-bit values (packets and sender reports, off the
    network) and the receiver's frame timestamps (``pts`` of the pass-through packets), which
    count from the receiver's first frame (``origin()``, the raw value of ``pts == 0``). Both
    are unwrapped here onto one 64-bit timeline (``extended``) near the latest value seen.
    """

    def __init__(
        self, kind: str, clock_rate: int, origin: Callable[[], int | None], window_s: float = WINDOW_S
    ) -> None:
        if clock_rate <= 0:
            raise ValueError("clock rate must be positive")
        self.kind = kind
        self.clock_rate = clock_rate
        self._origin = origin
        self._last: int | None = None  # the latest extended timestamp (packets and reports)
        self.latest: int | None = None
        """The extended timestamp of the latest media packet."""
        self._arrival = WindowMin(window_s)
        self._report = WindowMin(window_s)
        self._steps: deque[int] = deque(maxlen=DURATIONS_KEPT)
        self.packets = 0
        self.reports = 0

    # ---- timestamps ------------------------------------------------------------------------
    def extended(self, raw: int) -> int:
        """A raw RTP timestamp on the unwrapped timeline (near the latest one seen)."""
        raw %= RTP_MOD
        if self._last is None:
            self._last = raw
            return raw
        ext = self._last + rtp_delta(raw, self._last % RTP_MOD)
        self._last = max(self._last, ext)
        return ext

    def extended_pts(self, pts: int) -> int | None:
        """The extended timestamp of a pass-through packet's ``pts`` (None before the receiver
        has mapped its first frame)."""
        origin = self._origin()
        if origin is None:
            return None
        return self.extended(pts + origin)

    # ---- observations ----------------------------------------------------------------------
    def packet(self, raw_rtp: int, arrival: float) -> None:
        """A media packet (not a retransmission) came off the network at ``arrival``."""
        previous = self._last
        ext = self.extended(raw_rtp)
        if previous is not None and 0 < ext - previous <= self.clock_rate // 4:
            self._steps.append(ext - previous)
        self._arrival.observe(arrival, arrival - ext / self.clock_rate)
        self.latest = ext if self.latest is None else max(self.latest, ext)
        self.packets += 1

    def report(self, raw_rtp: int, ntp: float, received_at: float) -> None:
        """An RTCP sender report: the sender's wall clock read ``ntp`` (seconds) at ``raw_rtp``."""
        ext = self.extended(raw_rtp)
        self._report.observe(received_at, ntp - ext / self.clock_rate)
        self.reports += 1

    # ---- estimates -------------------------------------------------------------------------
    @property
    def arrival_intercept(self) -> float | None:
        """``min(arrival - rtp / rate)``: our-clock seconds of RTP timestamp 0 (extended) at the
        least delay seen; None before the first packet."""
        return self._arrival.value

    @property
    def report_intercept(self) -> float | None:
        """``min(ntp - rtp / rate)``: the sender's wall-clock seconds of RTP timestamp 0
        (extended); None before the first sender report."""
        return self._report.value

    @property
    def packet_duration(self) -> float:
        """Seconds of media one audio packet carries (the typical timestamp step; 0 for video,
        whose packets carry instants). An audio packet cannot leave its sender before its last
        sample is captured, so its arrival says its first sample (its timestamp) is older by
        at least this much."""
        if self.kind != "audio" or not self._steps:
            return 0.0
        steps = sorted(self._steps)
        return steps[len(steps) // 2] / self.clock_rate
