"""A track's clock relations (media/timing.py): sliding minima over what its packets and sender
reports say, unwrapped RTP timestamps."""

from __future__ import annotations

import pytest

from archivist.media.timing import TrackTiming, WindowMin, rtp_delta


def test_rtp_delta_across_the_wrap() -> None:
    assert rtp_delta(5, 2**32 - 5) == 10
    assert rtp_delta(2**32 - 5, 5) == -10
    assert rtp_delta(90_000, 0) == 90_000


def test_window_min_forgets_what_left_the_window() -> None:
    m = WindowMin(window_s=10)
    assert m.value is None
    for at, value in [(0, 5.0), (1, 3.0), (2, 4.0), (3, 6.0)]:
        m.observe(at, value)
    assert m.value == 3.0
    m.observe(12.5, 7.0)  # 3.0 (at 1) and 4.0 (at 2) are older than 10 s now
    assert m.value == 6.0
    m.observe(30, 9.0)
    assert m.value == 9.0


def test_timestamps_unwrap_across_the_32_bit_wrap() -> None:
    timing = TrackTiming("video", 90_000, origin=lambda: 2**32 - 3000)
    assert timing.extended_pts(0) == 2**32 - 3000
    assert timing.extended_pts(6000) == 2**32 + 3000  # the raw value wrapped to 3000
    timing.packet(3000 + 90_000, arrival=1.0)  # raw, one second later
    assert timing.latest == 2**32 + 93_000
    assert TrackTiming("audio", 48_000, origin=lambda: None).extended_pts(0) is None


def test_arrival_intercept_is_the_least_delayed_packet() -> None:
    timing = TrackTiming("audio", 48_000, origin=lambda: 0)
    for i, delay in enumerate([0.050, 0.020, 0.080, 0.030, 0.020]):
        timing.packet(i * 960, arrival=100.0 + i * 0.02 + delay)
    assert timing.arrival_intercept == pytest.approx(100.020)
    assert timing.packet_duration == pytest.approx(0.020)
    # a route change to 40 ms: once the old minimum has left the window, the intercept follows
    for i in range(5, 700):
        timing.packet(i * 960, arrival=100.0 + i * 0.02 + 0.040)
    assert timing.arrival_intercept == pytest.approx(100.040)


def test_report_intercept_ignores_send_time_stamping() -> None:
    # aiortc stamps a report with the time its last packet was sent, after encoding: 3..25 ms late
    timing = TrackTiming("video", 90_000, origin=lambda: 0)
    assert timing.report_intercept is None
    for i, late in enumerate([0.012, 0.003, 0.025, 0.007]):
        rtp = 1000 + i * 90_000
        timing.report(rtp, ntp=5000.0 + i + late, received_at=float(i))
    assert timing.report_intercept == pytest.approx(5000.003 - 1000 / 90_000)
    assert timing.packet_duration == 0.0  # video packets carry instants
