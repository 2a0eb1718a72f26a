from __future__ import annotations

import av
import numpy as np

from archivist.recording.compositor import Compositor
from archivist.recording.mixer import AudioMixer, Limiter
from tests.recording.media import BLUE, GREEN, RED, close_to, mean_rgb, solid, tone


def rgb(canvas: np.ndarray) -> np.ndarray:
    return av.VideoFrame.from_ndarray(canvas, format="yuv420p").to_ndarray(format="rgb24")


def test_background_before_any_video() -> None:
    comp = Compositor(640, 480)
    comp.add_source("a", joined_at=0.0)
    canvas = comp.render().to_ndarray()
    h = 480
    assert (canvas[:h] == 16).all() and (canvas[h:] == 128).all()
    comp.offer("a", solid(320, 240, RED), t=5.0)
    comp.advance(4.9)  # not due yet: still clean background
    assert (comp.render().to_ndarray()[:h] == 16).all()
    comp.advance(5.0)
    assert close_to(mean_rgb(rgb(comp.render().to_ndarray()), 300, 220, 40, 40), RED)


def test_portrait_input_is_pillarboxed_not_stretched() -> None:
    comp = Compositor(640, 480)
    comp.add_source("p", joined_at=0.0)
    comp.offer("p", solid(480, 640, GREEN), t=0.0)
    comp.advance(0.0)
    img = rgb(comp.render().to_ndarray())
    # 480x640 fits as 360x480 at x=140: black bars left and right, green in the middle
    assert close_to(mean_rgb(img, 0, 0, 130, 480), (0, 0, 0), tol=20)
    assert close_to(mean_rgb(img, 510, 0, 130, 480), (0, 0, 0), tol=20)
    assert close_to(mean_rgb(img, 150, 0, 340, 480), GREEN)
    # the same stream turns landscape (rotation / resolution change): fills the picture again
    comp.offer("p", solid(1280, 720, BLUE), t=1.0)
    comp.advance(1.0)
    img = rgb(comp.render().to_ndarray())
    assert close_to(mean_rgb(img, 0, 0, 640, 50), (0, 0, 0), tol=20)  # 16:9 in 4:3: bars top/bottom
    assert close_to(mean_rgb(img, 0, 70, 640, 340), BLUE)


def test_late_joiner_reflows_and_repeats_last_frame() -> None:
    comp = Compositor(1280, 720)
    comp.add_source("a", joined_at=1.0)
    comp.offer("a", solid(640, 480, RED), t=1.0)
    comp.advance(1.0)
    comp.render().to_ndarray()
    redraws = comp.redraws
    comp.render().to_ndarray()
    comp.advance(2.0)  # nothing new: same picture, no redraw
    comp.render().to_ndarray()
    assert comp.redraws == redraws
    comp.add_source("b", joined_at=2.0)
    comp.offer("b", solid(640, 480, GREEN), t=2.0)
    comp.advance(2.0)
    img = rgb(comp.render().to_ndarray())
    assert comp.visible_ids == ["a", "b"]
    assert close_to(mean_rgb(img, 100, 300, 400, 100), RED)  # left tile
    assert close_to(mean_rgb(img, 740, 300, 400, 100), GREEN)  # right tile
    comp.remove_source("a")
    img = rgb(comp.render().to_ndarray())
    assert close_to(mean_rgb(img, 300, 300, 600, 100), GREEN)  # b alone, centred


def to_float(frame: av.AudioFrame) -> np.ndarray:
    return frame.to_ndarray().astype(np.float32) / 32768


def test_mixer_limits_two_loud_tones_and_is_silent_otherwise() -> None:
    mixer = AudioMixer()
    mixer.add_source("a")
    mixer.add_source("b")
    # 0..1 s silence, then two near-full-scale tones for 1 s, in 20 ms frames (16 kHz input for b)
    for k in range(50):
        pos = 48000 + k * 960
        mixer.offer("a", tone(440, 0.95, k * 960, 960), pos)
        mixer.offer("b", tone(660, 0.95, k * 320, 320, rate=16000), pos)
    out = np.concatenate([mixer.mix(s, 1024) for s in range(0, 48000 * 3, 1024)], axis=1)
    assert out.shape[0] == 2
    assert np.abs(out[:, :48000]).max() == 0.0  # silence before anybody speaks
    loud = out[:, 48000 + 2000 : 96000 - 2000]
    assert np.abs(loud).max() < 0.98  # never clipped
    assert np.abs(loud).max() > 0.6  # but still loud
    assert np.abs(out[:, 96000 + 2000 :]).max() < 1e-3  # silence after
    # both tones are in the mix
    spectrum = np.abs(np.fft.rfft(loud[0, :32768]))
    freqs = np.fft.rfftfreq(32768, 1 / 48000)
    for f in (440, 660):
        band = spectrum[(freqs > f - 5) & (freqs < f + 5)].max()
        assert band > 0.2 * spectrum.max()


def test_limiter_ceiling_for_any_input() -> None:
    lim = Limiter()
    rng = np.random.default_rng(1)
    for _ in range(50):
        block = (rng.standard_normal((2, 1024)) * 3).astype(np.float32)
        assert np.abs(lim.process(block)).max() < 0.98


def test_mixer_places_by_timestamp_and_fills_gaps() -> None:
    mixer = AudioMixer()
    mixer.add_source("a")
    mixer.offer("a", tone(1000, 0.5, 0, 960), 4800)
    # jitter smaller than the tolerance: glued to the previous frame
    mixer.offer("a", tone(1000, 0.5, 960, 960), 4800 + 960 + 300)
    # a real gap (0.5 s): re-anchored, silence in between
    mixer.offer("a", tone(1000, 0.5, 0, 960), 48000)
    out = mixer.mix(0, 48000 + 2000)[0]
    nz = np.flatnonzero(np.abs(out) > 1e-4)
    assert 4800 <= nz[0] <= 4802
    assert np.abs(out[4800 + 1920 + 10 : 48000 - 10]).max() < 1e-4
    assert np.abs(out[48000 + 10 : 48000 + 950]).max() > 0.3
    assert mixer.stats()["resyncs"] == 1
