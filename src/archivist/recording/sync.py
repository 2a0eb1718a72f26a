"""Lip sync: every packet of a recorded stream placed on the recording's clock.

A publisher's audio and video each carry RTP timestamps on a clock of their own; its RTCP sender
reports tie both to one wall clock (``media/timing.py`` keeps, per track, the report intercept
``ntp - rtp/rate`` and the arrival intercept ``arrival - rtp/rate`` from the moment the track is
published). A :class:`StreamSync` turns one stream's timestamps into instants on our monotonic
clock, the clock the recording's output grid is laid on (``recording/clock.py``):

* **Synced** (the track has sender reports): ``rtp/rate + report intercept + offset``, with one
  ``offset`` (our clock minus the sender's wall clock) for both tracks, so audio and video keep
  the relation their sender reports give them, whatever our receive path adds to either.
* **Before the track's first report** (Chromium sends its first audio report ~2.2 s after it
  starts publishing, video after 0.5 s): ``rtp/rate + arrival intercept - packet duration`` (an
  audio packet leaves its sender no earlier than its last sample is captured; a video frame is
  stamped at capture). The ``offset`` is first taken when a report arrives so that the synced
  track stays exactly where the arrival placed it; the other track then moves to its true place
  (a few milliseconds, which the mixer slews without a click).
* The ``offset`` is held: it is the least ``arrival - pts/rate - packet duration - report
  intercept`` of the tracks when first taken and moves only when that estimate has moved by more
  than ``REANCHOR_S`` (clock drift, a route change), so a recording does not carry the jitter of
  which packet happened to be the least delayed.
* **On the grid**: the output is a 30 fps grid and a frame is shown at the nearest tick. A
  stream whose frames sit near the middle between two ticks would flip between them from frame
  to frame (an offset that jumps by a frame); instead the whole stream, audio with it, is shifted
  by at most half a frame so its frames land on ticks (``shift``), and the shift follows the
  frames' phase with hysteresis (re-centred only past ``RECENTRE``). A stream of another frame
  rate (a canvas captured at 29 fps) walks across the grid: it is let go once following it has
  moved it ``MAX_FOLLOW`` of a frame, so its sound is not dragged along for ever.

Every estimate it reads was gathered from the first packet the track sent, so the same stream
gives the same placement whichever archive records it and whenever the archive starts.

Pure arithmetic, no I/O: called on the event loop for every packet.
"""

from __future__ import annotations

import cmath
import math
from collections.abc import Mapping
from dataclasses import dataclass

from archivist.media.timing import TrackTiming

REANCHOR_S = 0.030
"""How far the offset estimate may move before the held offset follows it."""
PHASE_ALPHA = 0.05
"""Weight of one frame in the running mean of the frames' phase (~20 frames)."""
RECENTRE = 0.2
"""Re-centre the frames on the grid when their mean phase is this far (in frames) off a tick."""
COHERENT = 0.5
"""The frames' phases must agree this much (mean resultant length) to be locked to the grid."""
MAX_FOLLOW = 0.5
"""How far (in frames) following the frames may move a stream from where it was put on the grid."""
SETTLE_FRAMES = 30
"""Frames after a lock during which following is free: the lock itself is taken from one frame,
whose capture jitter (a starting browser) may put it a fair part of a frame off the stream's
true phase; ``MAX_FOLLOW`` counts from where the first second of frames put it."""


def grid_residual(position: float) -> float:
    """Distance, in ticks, from ``position`` (in ticks) to the nearest tick: [-0.5, 0.5)."""
    return (position + 0.5) % 1.0 - 0.5


@dataclass(frozen=True)
class Placement:
    t: float
    """The instant on our clock (seconds) of the packet's first sample or frame."""
    media: int | None
    """The packet's timestamp on the track's unwrapped RTP timeline (None: unknown)."""


class StreamSync:
    def __init__(
        self,
        timings: Mapping[str, TrackTiming],
        t0: float,
        fps: int = 30,
        *,
        reanchor_s: float = REANCHOR_S,
    ) -> None:
        self.timings = dict(timings)
        self.t0 = t0
        self.fps = fps
        self.reanchor_s = reanchor_s
        self.offset: float | None = None
        """Our clock minus the sender's wall clock, held (None before any sender report)."""
        self.shift = 0.0
        """Seconds every track of the stream is moved by, to put its frames on ticks."""
        self._phase: complex | None = None  # running mean of e^(2 pi i residual); None: not locked
        self._locked_at = 0.0  # the shift when the frames were last put on the grid
        self._since_lock = 0  # frames followed since then
        self.following = True
        """False once the frames have shown another frame rate than the grid's."""
        self.unsynced = 0
        self.corrections: dict[str, float] = {}
        """Per track: synced place minus the arrival estimate at its first synced packet."""
        self.reanchors = 0
        self.recentres = 0

    # ---- placement -----------------------------------------------------------------------------
    def place(self, kind: str, pts: int) -> Placement | None:
        """Where the packet of ``kind`` with receiver timestamp ``pts`` goes on our clock; None
        when the track's timing is not known yet (its receiver has not mapped a frame)."""
        timing = self.timings[kind]
        media = timing.extended_pts(pts)
        if media is None:
            return None
        raw = self._raw(timing, media)
        if raw is None:
            return None
        if self.offset is None or timing.report_intercept is None:
            self.unsynced += 1
        if self._phase is None:
            self._lock()
        if kind == "video" and self._phase is not None:
            self._follow_phase(raw)
        return Placement(raw + self.shift, media)

    def _raw(self, timing: TrackTiming, media: int) -> float | None:
        """The instant before the grid shift: synced through the held offset, or by arrival."""
        base = media / timing.clock_rate
        offset = self._offset()
        report = timing.report_intercept
        arrival = timing.arrival_intercept
        if report is not None and offset is not None:
            if timing.kind not in self.corrections and arrival is not None:
                # how far the arrival estimate was from the synced place (a diagnostic)
                self.corrections[timing.kind] = report + offset - (arrival - timing.packet_duration)
            return base + report + offset
        if arrival is None:
            return None
        return base + arrival - timing.packet_duration

    def _offset(self) -> float | None:
        estimates = [
            arrival - t.packet_duration - report
            for t in self.timings.values()
            if (arrival := t.arrival_intercept) is not None and (report := t.report_intercept) is not None
        ]
        if estimates:
            current = min(estimates)
            if self.offset is None:
                self.offset = current
            elif abs(current - self.offset) > self.reanchor_s:
                self.offset = current
                self.reanchors += 1
                self._locked_at = self.shift  # the frames may sit anywhere on the grid now
                self._since_lock = 0
                self.following = True
        return self.offset

    # ---- the grid --------------------------------------------------------------------------
    def _lock(self) -> None:
        """Put the stream's latest video frame on a tick (before any packet is placed, when the
        stream already sends video: then audio starts shifted too)."""
        video = self.timings.get("video")
        latest = video.latest if video is not None else None
        if video is None or latest is None:
            return
        raw = self._raw(video, latest)
        if raw is None:
            return
        self.shift = -grid_residual((raw - self.t0) * self.fps) / self.fps
        self._locked_at = self.shift
        self._since_lock = 0
        self._phase = complex(1.0, 0.0)

    def _follow_phase(self, raw: float) -> None:
        assert self._phase is not None
        if not self.following:
            return
        residual = grid_residual((raw + self.shift - self.t0) * self.fps)
        self._phase = (1 - PHASE_ALPHA) * self._phase + PHASE_ALPHA * cmath.exp(2j * math.pi * residual)
        strength = abs(self._phase)
        mean = cmath.phase(self._phase) / (2 * math.pi)
        self._since_lock += 1
        settling = self._since_lock <= SETTLE_FRAMES
        if self._since_lock == SETTLE_FRAMES:  # where the first second of frames puts the stream
            self._locked_at = self.shift - mean / self.fps
        if strength >= COHERENT and abs(mean) > RECENTRE:
            shift = self.shift - mean / self.fps
            if settling:
                self._locked_at = shift
            elif abs(shift - self._locked_at) > MAX_FOLLOW / self.fps:
                # the frames keep walking across the grid: a source of another frame rate (a
                # canvas captured at 29 fps). Following it would move its sound too, for ever;
                # its frames are converted to the grid as they come instead.
                self.following = False
                return
            self.shift = shift
            self._phase = complex(strength, 0.0)
            self.recentres += 1

    def stats(self) -> dict[str, object]:
        return {
            "synced": self.offset is not None,
            "unsynced_packets": self.unsynced,
            "reanchors": self.reanchors,
            "recentres": self.recentres,
            "following": self.following,
            "shift_ms": round(self.shift * 1000, 1),
            "correction_ms": {kind: round(c * 1000, 1) for kind, c in self.corrections.items()},
        }
