"""Lip sync: every packet of a live stream mapped onto our one monotonic clock.

A publisher stamps each track with RTP timestamps on a clock of its own (random start, 90 kHz
video, 48 kHz audio) and, in its RTCP sender reports, says which wall-clock instant (NTP) an
RTP timestamp was captured or sent at. Audio and video of one publisher share that wall clock,
so mapping both through it keeps them in sync whatever our receive path adds to one of them
(the audio jitter buffer alone adds ~80 ms).

* :class:`TrackClock` turns one track's RTP timestamps into sender-NTP seconds, from its
  latest sender report (32-bit wrap handled). Before the first report it anchors the RTP
  timeline at the first packet's arrival, which keeps the track continuous but not in sync.
* :class:`SenderClock` turns sender-NTP seconds into our monotonic clock with one offset per
  publisher: the smallest ``arrival - ntp`` seen over a sliding window (the least-delayed
  packet of either track is the best estimate of the clock difference plus the fixed transit;
  the window follows drift between the two clocks).

Pure arithmetic, no I/O: called on the event loop for every packet.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass

RTP_MOD = 1 << 32
HALF = 1 << 31

OFFSET_WINDOW_S = 10.0
"""How long an ``arrival - ntp`` sample counts towards the offset's minimum."""


def rtp_delta(rtp: int, ref: int) -> int:
    """Signed distance ``rtp - ref`` in RTP ticks, across the 32-bit wrap."""
    return (rtp - ref + HALF) % RTP_MOD - HALF


@dataclass(frozen=True)
class Report:
    ntp: float  # sender wall clock, seconds
    rtp: int


class TrackClock:
    """One track's RTP timestamps -> sender-NTP seconds (or arrival-anchored seconds)."""

    def __init__(self, clock_rate: int) -> None:
        if clock_rate <= 0:
            raise ValueError("clock rate must be positive")
        self.clock_rate = clock_rate
        self.report: Report | None = None
        self._anchor: tuple[int, float] | None = None  # (rtp, local arrival) of the first packet
        self.fallback_pending = False
        """Packets were placed by the arrival fallback and none by reports since."""

    @property
    def synced(self) -> bool:
        return self.report is not None

    def update(self, ntp: float, rtp: int) -> None:
        self.report = Report(ntp, rtp)

    def ntp_of(self, rtp: int) -> float | None:
        """The sender's wall-clock instant of ``rtp``; None before any sender report."""
        if self.report is None:
            return None
        return self.report.ntp + rtp_delta(rtp, self.report.rtp) / self.clock_rate

    def anchored(self, rtp: int, arrival: float) -> float:
        """Fallback without reports: the first packet's arrival plus RTP progression."""
        self.fallback_pending = True
        if self._anchor is None:
            self._anchor = (rtp, arrival)
        ref_rtp, ref_t = self._anchor
        return ref_t + rtp_delta(rtp, ref_rtp) / self.clock_rate


class SenderClock:
    """Sender-NTP seconds -> our clock, one offset for all tracks of one publisher."""

    def __init__(self, window_s: float = OFFSET_WINDOW_S) -> None:
        self.window_s = window_s
        self._samples: deque[tuple[float, float]] = deque()  # (arrival, offset), offsets increasing

    @property
    def ready(self) -> bool:
        return bool(self._samples)

    def observe(self, ntp: float, arrival: float) -> None:
        """A packet captured at sender instant ``ntp`` reached us at ``arrival``."""
        offset = arrival - ntp
        samples = self._samples
        while samples and samples[-1][1] >= offset:  # monotonic deque: sliding-window minimum
            samples.pop()
        samples.append((arrival, offset))
        while samples[0][0] < arrival - self.window_s and len(samples) > 1:
            samples.popleft()

    @property
    def offset(self) -> float:
        if not self._samples:
            raise RuntimeError("no packet observed yet")
        return self._samples[0][1]

    def to_local(self, ntp: float) -> float:
        return ntp + self.offset


class StreamSync:
    """Both tracks of one published stream: ``time_of(kind, rtp, arrival)`` on our clock."""

    def __init__(self, clock_rates: dict[str, int], window_s: float = OFFSET_WINDOW_S) -> None:
        self.tracks = {kind: TrackClock(rate) for kind, rate in clock_rates.items()}
        self.sender = SenderClock(window_s)
        self.unsynced_packets = 0

    def sender_report(self, kind: str, ntp: float, rtp: int) -> None:
        track = self.tracks.get(kind)
        if track is not None:
            track.update(ntp, rtp)

    def time_of(self, kind: str, rtp: int, arrival: float) -> tuple[float, bool]:
        """The packet's instant on our clock, and whether the track's mapping just changed
        reference (from arrival-anchored to sender-report-synced: a jump to be taken as is)."""
        track = self.tracks[kind]
        ntp = track.ntp_of(rtp)
        if ntp is None:
            self.unsynced_packets += 1
            return track.anchored(rtp, arrival), False
        self.sender.observe(ntp, arrival)
        switched, track.fallback_pending = track.fallback_pending, False
        return self.sender.to_local(ntp), switched
