from __future__ import annotations

import itertools

import pytest

from archivist.recording.clock import RecordingClock, StreamTimeline
from archivist.recording.layout import RESOLUTIONS, BestFit, Rect, fit_inside, parse_resolution


def test_parse_resolution() -> None:
    assert parse_resolution(None) == (640, 480)
    assert parse_resolution("1080x1920") == (1080, 1920)
    with pytest.raises(ValueError):
        parse_resolution("800x600")


@pytest.mark.parametrize("resolution", list(RESOLUTIONS))
@pytest.mark.parametrize("n", range(1, 11))
def test_bestfit_tiles_are_inside_disjoint_and_even(resolution: str, n: int) -> None:
    w, h = RESOLUTIONS[resolution]
    ids = [f"s{i}" for i in range(n)]
    rects = BestFit().arrange(ids, w, h)
    assert list(rects) == ids
    canvas = Rect(0, 0, w, h)
    for r in rects.values():
        assert canvas.contains(r)
        assert r.x % 2 == r.y % 2 == r.w % 2 == r.h % 2 == 0
    for a, b in itertools.combinations(rects.values(), 2):
        assert a.x + a.w <= b.x or b.x + b.w <= a.x or a.y + a.h <= b.y or b.y + b.h <= a.y
    # equal tiles covering a good part of the picture
    assert len({(r.w, r.h) for r in rects.values()}) == 1
    assert sum(r.w * r.h for r in rects.values()) >= 0.4 * w * h


def test_bestfit_grids() -> None:
    bf = BestFit()
    assert bf.arrange(["a"], 640, 480) == {"a": Rect(0, 0, 640, 480)}
    assert bf.arrange(["a", "b"], 640, 480) == {"a": Rect(0, 0, 320, 480), "b": Rect(320, 0, 320, 480)}
    assert bf.arrange(["a", "b"], 480, 640) == {"a": Rect(0, 0, 480, 320), "b": Rect(0, 320, 480, 320)}
    three = bf.arrange(["a", "b", "c"], 1280, 720)
    assert three["a"] == Rect(0, 0, 640, 360) and three["b"] == Rect(640, 0, 640, 360)
    assert three["c"] == Rect(320, 360, 640, 360)  # last row centred
    assert bf.grid(5, 1920, 1080) == (3, 3)  # the hosted service: 5-9 streams in a 3x3 grid
    assert bf.grid(9, 1920, 1080) == (3, 3)
    assert bf.grid(10, 1080, 1920) == (4, 4)


def test_fit_inside_keeps_aspect_never_crops() -> None:
    # portrait 480x640 in a 640x480 picture: pillarbox 360x480 centred
    assert fit_inside(480, 640, Rect(0, 0, 640, 480)) == Rect(140, 0, 360, 480)
    # landscape in a portrait tile: letterbox
    r = fit_inside(1280, 720, Rect(0, 0, 480, 640))
    assert (r.w, r.h) == (480, 270) and r.y == 184
    # odd sizes still give even rectangles inside the box
    box = Rect(10, 20, 300, 200)
    r = fit_inside(333, 211, box)
    assert box.contains(r) and r.w % 2 == r.h % 2 == r.x % 2 == r.y % 2 == 0
    assert abs(r.w / r.h - 333 / 211) < 0.02


def test_recording_clock() -> None:
    c = RecordingClock(t0=100.0, fps=30)
    assert c.ticks_before(99.0) == 0
    assert c.ticks_before(100.0) == 1
    assert c.ticks_before(101.0) == 31
    assert c.ticks_for_duration(110.0) == 300
    assert c.ticks_for_duration(110.016) == 300  # within half a frame
    assert c.sample_at(100.5) == 24000
    assert c.tick_window_end(3) == pytest.approx(100.0 + 3.5 / 30)


def test_stream_timeline_is_monotonic() -> None:
    tl = StreamTimeline()
    out = [tl.map(t) for t in (1.0, 1.1, 1.05, 1.2, 0.5, 1.3)]
    assert out == sorted(out)
    assert tl.corrected == 2
