"""Lip-sync placement (recording/sync.py) and the mixer's slewing, with the real timing objects."""

from __future__ import annotations

import numpy as np
import pytest

from archivist.media.timing import TrackTiming
from archivist.recording.mixer import AudioMixer
from archivist.recording.sync import StreamSync, grid_residual


def tracks() -> tuple[TrackTiming, TrackTiming]:
    return TrackTiming("audio", 48_000, origin=lambda: 0), TrackTiming("video", 90_000, origin=lambda: 0)


def test_grid_residual() -> None:
    assert grid_residual(3.0) == 0.0
    assert grid_residual(3.4) == pytest.approx(0.4)
    assert grid_residual(3.6) == pytest.approx(-0.4)
    assert grid_residual(-0.25) == pytest.approx(-0.25)


def test_before_reports_tracks_are_placed_by_their_least_delayed_arrival() -> None:
    audio, video = tracks()
    # capture instant c on our clock = rtp / rate + 10; audio leaves 20 ms after its first sample
    for i in range(50):
        audio.packet(i * 960, arrival=10 + i * 0.02 + 0.020 + 0.004 + (0.03 if i % 7 == 0 else 0))
    for i in range(25):
        video.packet(i * 3000, arrival=10 + i / 30 + 0.004 + (0.02 if i % 5 == 0 else 0))
    sync = StreamSync({"audio": audio, "video": video}, t0=10.0)
    a = sync.place("audio", 30 * 960)
    v = sync.place("video", 18 * 3000)
    assert a is not None and v is not None
    assert a.t - sync.shift == pytest.approx(10 + 0.6 + 0.004)
    assert v.t - sync.shift == pytest.approx(10 + 0.6 + 0.004)
    assert sync.offset is None and sync.unsynced == 2


def test_a_report_keeps_the_synced_track_in_place_and_moves_the_other_to_it() -> None:
    audio, video = tracks()
    for i in range(50):
        audio.packet(i * 960, arrival=10 + i * 0.02 + 0.035)  # a packet's worth + 11 ms after video
        video.packet(i * 3000, arrival=10 + i / 30 + 0.004)
    sync = StreamSync({"audio": audio, "video": video}, t0=10.0)
    before = sync.place("video", 30 * 3000)
    assert before is not None
    # the video report: the sender's wall clock is ours + 1000 s (its capture instants)
    video.report(30 * 3000, ntp=1010 + 1.0, received_at=11.1)
    after = sync.place("video", 30 * 3000)
    assert after is not None and after.t == pytest.approx(before.t)  # no jump on the first report
    a_before = sync.place("audio", 50 * 960)
    audio.report(50 * 960, ntp=1010 + 1.0, received_at=11.2)
    a_after = sync.place("audio", 50 * 960)
    assert a_before is not None and a_after is not None
    # audio captured at the same sender instant as the video frame now lands where it does
    assert a_after.t == pytest.approx(after.t)
    assert a_after.t - a_before.t == pytest.approx(-0.011)
    assert sync.corrections["audio"] == pytest.approx(-0.011)
    assert sync.reanchors == 0


def test_frames_are_put_on_ticks_and_stay_there_through_jitter() -> None:
    audio, video = tracks()
    rng = np.random.default_rng(7)
    # frames captured half a tick off the grid: the worst case for nearest-tick snapping
    t0 = 10.0 - 0.5 / 30
    video.report(0, ntp=0.0, received_at=10.0)
    audio.report(0, ntp=0.0, received_at=10.0)
    sync = StreamSync({"audio": audio, "video": video}, t0=t0)
    ticks = []
    for i in range(300):
        jitter = float(rng.uniform(-0.004, 0.004)) if i else 0.0  # a real camera's capture jitter
        video.packet(i * 3000 + round(jitter * 90_000), arrival=10 + i / 30 + 0.005)
        audio.packet(i * 1600, arrival=10 + i / 30 + 0.025)
        placed = sync.place("video", i * 3000 + round(jitter * 90_000))
        assert placed is not None
        ticks.append((placed.t - t0) * 30)
    residuals = [grid_residual(x) for x in ticks]
    assert max(abs(r) for r in residuals) < 0.25  # never near the middle: no frame flips
    assert sorted(set(round(x) for x in ticks)) == list(range(round(ticks[0]), round(ticks[0]) + 300))
    audio_at = sync.place("audio", 48_000)
    assert audio_at is not None
    assert audio_at.t - sync.shift == pytest.approx(10 + 1.0 + 0.005)  # audio moved with the frames
    assert abs(sync.shift) <= 0.5 / 30


def test_an_audio_only_stream_is_not_shifted() -> None:
    audio = TrackTiming("audio", 48_000, origin=lambda: 0)
    audio.packet(0, arrival=5.0)
    sync = StreamSync({"audio": audio}, t0=4.987)
    placed = sync.place("audio", 0)
    assert placed is not None and placed.t == 5.0 and sync.shift == 0.0


def test_the_offset_follows_drift_past_the_reanchor_bound() -> None:
    audio, video = tracks()
    sync = StreamSync({"audio": audio, "video": video}, t0=0.0)
    video.report(0, ntp=100.0, received_at=0.0)
    for i in range(2400):  # 80 s; our clock gains 1 ms/s on the sender's (a bad crystal)
        video.packet(i * 3000, arrival=i / 30 * 1.001 + 0.003)
        sync.place("video", i * 3000)
    assert sync.reanchors >= 1
    assert sync.offset is not None
    assert abs(sync.offset - (80 * 0.001 + 0.003 - 100.0)) <= sync.reanchor_s + 0.011


# ---- the mixer ---------------------------------------------------------------------------------
def tone_block(start: int, n: int = 960) -> np.ndarray:
    k = np.arange(start, start + n)
    wave = (0.5 * np.sin(2 * np.pi * 440 * k / 48_000)).astype(np.float32)
    return np.stack([wave, wave])


def test_mixer_slews_a_drifting_stream_without_a_gap() -> None:
    mixer = AudioMixer()
    mixer.add_source("a")
    # the sender's audio clock runs 1000 ppm fast against its wall clock (Chromium's fake device
    # measured 400): each packet's place is ~1 sample earlier than the previous one's end
    out = []
    for i in range(400):  # 8 s
        media = i * 960
        place = 4800 + round(media * (1 - 1000e-6))
        mixer.offer_samples("a", tone_block(media), place, media)
        if i % 10 == 9:
            out.append(mixer.mix(i // 10 * 9600, 9600)[0])
    track = mixer._tracks["a"]
    assert track.next_pos is not None
    assert abs(track.next_pos - (4800 + round(400 * 960 * (1 - 1000e-6)))) <= 2
    sound = np.concatenate(out)[4800 + 10 :]
    assert np.abs(sound).max() > 0.3
    # continuous: no digital silence was inserted anywhere (a 440 Hz tone never rests 3 samples)
    quiet = np.abs(sound) < 1e-6
    assert not (quiet[:-2] & quiet[1:-1] & quiet[2:]).any()
    assert mixer.stats()["resyncs"] == 0 and mixer.stats()["slewed_samples"] >= 350


def test_mixer_places_a_frame_after_a_lost_packet_exactly() -> None:
    mixer = AudioMixer()
    mixer.add_source("a")
    mixer.offer_samples("a", tone_block(0), 0, media=0)
    mixer.offer_samples("a", tone_block(960), 960, media=960)
    mixer.offer_samples("a", tone_block(2880), 2880, media=2880)  # the packet at 1920 was lost
    out = mixer.mix(0, 4000)[0]
    assert np.abs(out[1930:2870]).max() < 1e-6  # the lost packet's place is silence
    assert np.abs(out[2890:3830]).max() > 0.3
    assert mixer.stats()["resyncs"] == 0  # it landed where the glue said: no re-placement


def test_mixer_takes_a_sync_correction_back_smoothly() -> None:
    mixer = AudioMixer()
    mixer.add_source("a")
    for i in range(200):
        media = i * 960
        place = media + (720 if i >= 50 else 0)  # from the 51st packet on, 15 ms later
        mixer.offer_samples("a", tone_block(media), place, media)
    track = mixer._tracks["a"]
    assert track.next_pos == 200 * 960 + 720  # caught up within 3 s
    assert mixer.stats()["resyncs"] == 0


def test_a_source_of_another_frame_rate_is_let_go_and_its_sound_stays() -> None:
    audio, video = tracks()
    video.report(0, ntp=0.0, received_at=10.0)
    audio.report(0, ntp=0.0, received_at=10.0)
    sync = StreamSync({"audio": audio, "video": video}, t0=10.0)
    fps = 29.7  # Chromium's canvas capture measured here: frames 30 and 35 ms apart, 29.8 fps
    for i in range(int(fps * 20)):  # 20 s: the frames walk across the 30 fps grid 6 times
        rtp = round(i * 90_000 / fps)
        video.packet(rtp, arrival=10 + i / fps + 0.005)
        assert sync.place("video", rtp) is not None
    assert abs(sync.shift) <= 1 / 30  # never dragged further than a frame (followed, 20 s: ~0.2 s)
    assert not sync.following and sync.recentres <= 3
