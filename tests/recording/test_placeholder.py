"""A stream whose video is muted: its tile shows its name on a grey placeholder."""

from __future__ import annotations

import av
import numpy as np

from archivist.recording.compositor import Compositor
from archivist.recording.placeholder import PLACEHOLDER_YUV, TEXT_Y, placeholder_planes, text_mask
from tests.recording.media import GREEN, RED, close_to, mean_rgb, solid


def rgb(canvas: np.ndarray) -> np.ndarray:
    return av.VideoFrame.from_ndarray(canvas, format="yuv420p").to_ndarray(format="rgb24")


def test_text_mask_draws_glyphs() -> None:
    mask = text_mask("Hi")
    assert mask.shape == (8, 11)
    assert mask[:, 0].sum() == 7  # H: a full left stem (rows 0-6)
    assert not text_mask(" ").any()
    assert (text_mask("é") == text_mask("?")).all()  # outside ASCII: '?'


def test_placeholder_planes_centre_the_name() -> None:
    y, u, v = placeholder_planes("Alice", 320, 240)
    assert y.shape == (240, 320) and u.shape == (120, 160)
    assert (u == 128).all() and (v == 128).all()
    text = np.argwhere(y == TEXT_Y)
    assert len(text) > 100
    top, left = text.min(axis=0)
    bottom, right = text.max(axis=0)
    assert abs((top + bottom) / 2 - 120) < 10 and abs((left + right) / 2 - 160) < 10
    assert (y[:20] == PLACEHOLDER_YUV[0]).all()
    # a name longer than the tile is shortened, never drawn outside it
    y, _, _ = placeholder_planes("x" * 500, 64, 48)
    assert (y == TEXT_Y).any()


def test_muted_tile_shows_the_placeholder_then_the_video_again() -> None:
    comp = Compositor(640, 240)
    comp.add_source("a", joined_at=0.0)
    comp.add_source("b", joined_at=0.0)
    comp.offer("a", solid(320, 240, RED), t=0.0)
    comp.offer("b", solid(320, 240, GREEN), t=0.0)
    comp.advance(0.0)
    img = rgb(comp.render().to_ndarray())
    assert close_to(mean_rgb(img, 20, 20, 280, 60), RED) and close_to(mean_rgb(img, 340, 20, 280, 60), GREEN)

    comp.set_placeholder("a", "Alice")
    comp.offer("a", solid(320, 240, (0, 0, 0)), t=1.0)  # a muted camera sends black frames
    comp.advance(1.0)
    canvas = comp.render().to_ndarray()
    tile_a, tile_b = canvas[:240, :320], canvas[:240, 320:]
    assert (tile_a[:40] == PLACEHOLDER_YUV[0]).all()  # grey, not the black frames
    assert (tile_a == TEXT_Y).sum() > 100  # the name
    assert close_to(mean_rgb(rgb(canvas), 340, 20, 280, 60), GREEN)  # the other stream untouched
    assert not (tile_b == TEXT_Y).any()

    # back at instant 2.0: the black frames before it stay hidden
    comp.set_placeholder("a", None, at=2.0)
    comp.offer("a", solid(320, 240, (0, 0, 0)), t=1.5)
    comp.offer("a", solid(320, 240, RED), t=2.0)
    comp.advance(1.5)
    assert (comp.render().to_ndarray()[:40, :320] == PLACEHOLDER_YUV[0]).all()
    comp.advance(2.0)
    img = rgb(comp.render().to_ndarray())
    assert close_to(mean_rgb(img, 20, 20, 280, 200), RED)


def test_a_stream_muted_from_the_start_is_shown_by_its_placeholder() -> None:
    comp = Compositor(320, 240)
    comp.add_source("a", joined_at=0.0)
    comp.set_placeholder("a", "Bob")
    assert comp.visible_ids == ["a"]
    canvas = comp.render().to_ndarray()
    assert (canvas[:240] == TEXT_Y).sum() > 50
