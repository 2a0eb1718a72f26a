"""Lip-sync arithmetic (recording/sync.py): RTP -> sender NTP -> our clock."""

from __future__ import annotations

import numpy as np

from archivist.recording.mixer import AudioMixer
from archivist.recording.sync import SenderClock, StreamSync, TrackClock, rtp_delta


def test_rtp_delta_across_the_wrap() -> None:
    assert rtp_delta(5, 2**32 - 5) == 10
    assert rtp_delta(2**32 - 5, 5) == -10
    assert rtp_delta(90_000, 0) == 90_000


def test_track_clock_maps_through_the_latest_report() -> None:
    track = TrackClock(90_000)
    assert track.ntp_of(1234) is None
    track.update(ntp=1000.0, rtp=2**32 - 45_000)  # half a second before the wrap
    assert track.ntp_of(45_000) == 1001.0
    track.update(ntp=1001.0, rtp=45_000)
    assert abs(track.ntp_of(45_000 + 9_000) - 1001.1) < 1e-9  # type: ignore[operator]


def test_sender_clock_takes_the_least_delayed_packet_and_follows_drift() -> None:
    clock = SenderClock(window_s=10)
    for i, delay in enumerate([0.050, 0.020, 0.080, 0.030]):
        clock.observe(ntp=100.0 + i, arrival=500.0 + i + delay)
    assert abs(clock.offset - 400.020) < 1e-9
    # 20 s later the old minimum has left the window: the offset follows the new delays
    clock.observe(ntp=124.0, arrival=524.0 + 0.040)
    assert abs(clock.offset - 400.040) < 1e-9


def test_both_tracks_share_one_offset_and_the_switch_is_reported() -> None:
    sync = StreamSync({"audio": 48_000, "video": 90_000})
    # before any report: arrival-anchored and continuous
    t0, switched = sync.time_of("audio", 0, arrival=10.0)
    t1, _ = sync.time_of("audio", 960, arrival=10.5)  # late arrival does not move it
    assert (t0, t1, switched) == (10.0, 10.02, False)
    # reports: audio rtp 0 and video rtp 0 were captured at the same sender instant
    sync.sender_report("audio", ntp=2000.0, rtp=0)
    sync.sender_report("video", ntp=2000.0, rtp=0)
    _, switched = sync.time_of("audio", 48_000, arrival=11.100)  # audio comes 80 ms later
    assert switched
    tv, switched = sync.time_of("video", 90_000, arrival=11.020)
    assert not switched
    ta2, switched = sync.time_of("audio", 48_000, arrival=11.100)
    assert not switched
    assert abs(ta2 - tv) < 1e-9  # the same captured instant lands on the same instant


def test_mixer_places_a_resynced_frame_exactly() -> None:
    mixer = AudioMixer()
    mixer.add_source("a")
    block = np.full((2, 960), 0.5, dtype=np.float32)
    mixer.offer_samples("a", block, 0)
    mixer.offer_samples("a", block, 960 + 500)  # 10 ms off: glued to the previous frame
    mixer.offer_samples("a", block, 3 * 960 + 500, resync=True)  # a new reference: taken as is
    out = mixer.mix(0, 5 * 960)[0]
    assert np.abs(out[2 * 960 + 10 : 3 * 960 + 490]).max() < 1e-6  # the gap before the resync
    assert np.abs(out[3 * 960 + 510 : 4 * 960 + 490]).min() > 0.1
    assert mixer.stats()["resyncs"] == 1
