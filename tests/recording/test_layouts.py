"""Layouts of composed archives: the stylesheet subset, every predefined layout's geometry, and
what the compositor draws (synthetic coloured frames, pixels checked)."""

from __future__ import annotations

from typing import Any

import av
import numpy as np
import pytest

from archivist.recording.compositor import Compositor
from archivist.recording.decoder import TrackDecoder
from archivist.recording.layout import (
    ArchiveLayout,
    LayoutError,
    LayoutSpec,
    LayoutStream,
    Placement,
    Rect,
    compose_layout,
    prioritize,
)
from archivist.recording.stylesheet import Stylesheet
from tests.recording.encoded import coloured, encode_video
from tests.recording.media import BLACK, BLUE, GREEN, RED, WHITE, close_to, mean_rgb, solid

YELLOW = (230, 220, 30)

# The stylesheets of the hosted service's documentation ("Defining custom layouts"), verbatim.
DOCS_MAIN_LOWER_LEFT = """
stream.main {
  position: absolute;
  left: 0;
  top: 0;
  width: 100%;
  height: 100%;
  z-index: 100;
}
stream.lower-left {
  position: absolute;
  left: 10%;
  bottom: 10%;
  width: 20%;
  height: 20%;
  z-index: 200;
}
"""
DOCS_BEST_FIT = """
stream {
  float: left;
}
stream:first-child:nth-last-child(1) {
  width: 100%;
  height: 100%;
}

stream:first-child:nth-last-child(2),
stream:first-child:nth-last-child(2) ~ stream {
  width: 50%;
  height: 100%;
}
stream:first-child:nth-last-child(3),
stream:first-child:nth-last-child(3) ~ stream,
stream:first-child:nth-last-child(4),
stream:first-child:nth-last-child(4) ~ stream {
  width: 50%;
  height: 50%;
}
stream:first-child:nth-last-child(5),
stream:first-child:nth-last-child(5) ~ stream,
stream:first-child:nth-last-child(6),
stream:first-child:nth-last-child(6) ~ stream,
stream:first-child:nth-last-child(7),
stream:first-child:nth-last-child(7) ~ stream,
stream:first-child:nth-last-child(8),
stream:first-child:nth-last-child(8) ~ stream,
stream:first-child:nth-last-child(9),
stream:first-child:nth-last-child(9) ~ stream
{
  width: 33.33%;
  height: 33.33%;
}
"""
DOCS_HORIZONTAL = """
stream {
  float:left;
  margin-top: 60%;
  width: 20%;
  height: 20%;
}
stream.focus {
  position: absolute;
  top: 0;
  left: 0;
  margin-top: 0px;
  height: 80%;
  width: 100%;
}
"""
DOCS_VERTICAL = """
stream {
  float: left;
  left: 0px;
  clear: left;
  width: 20%;
  height: 20%;
}
stream.focus {
  position: absolute;
  top: 0;
  left: 0;
  margin: 0px;
  left: 20%;
  height: 100%;
  width: 80%;
}
"""
DOCS_PIP = """
stream.full {
  position: absolute;
  top: 0;
  right: 0;
  width: 100%;
  height: 100%;
  z-index: 100;
}
stream {
  position: absolute;
  right: 10%;
  top: 10%;
  width: 20%;
  height: 20%;
  z-index: 200;
}
"""


def boxes(spec: LayoutSpec, streams: list[LayoutStream], w: int = 640, h: int = 480) -> list[tuple[str, Rect]]:
    return [(p.stream_id, p.box) for p in compose_layout(spec, streams, w, h)]


def custom(css: str) -> LayoutSpec:
    return LayoutSpec("custom", css)


def s(sid: str, *classes: str, video: str = "camera", owner: str | None = None) -> LayoutStream:
    return LayoutStream(sid, tuple(classes), video, owner)


# ---- the stylesheet language ------------------------------------------------------------------------
def test_docs_stylesheets_lay_out_as_documented() -> None:
    # main / lower-left: the overlay is painted last (z-index 200)
    assert boxes(custom(DOCS_MAIN_LOWER_LEFT), [s("a", "main"), s("b", "lower-left")]) == [
        ("a", Rect(0, 0, 640, 480)), ("b", Rect(64, 336, 128, 96))]
    # best fit: 3 streams in 2x2 floats (left to right, top to bottom)
    three = boxes(custom(DOCS_BEST_FIT), [s("a"), s("b"), s("c")])
    assert three == [("a", Rect(0, 0, 320, 240)), ("b", Rect(320, 0, 320, 240)), ("c", Rect(0, 240, 320, 240))]
    five = dict(boxes(custom(DOCS_BEST_FIT), [s(f"s{i}") for i in range(5)]))
    assert five["s3"] == Rect(0, 160, 214, 160) and five["s4"] == Rect(214, 160, 212, 160)
    # horizontal presentation at 4:3 (margin-top: 60% of the width = 384 px): the row at the bottom
    horizontal = dict(boxes(custom(DOCS_HORIZONTAL), [s("f", "focus"), s("a"), s("b")]))
    assert horizontal == {"f": Rect(0, 0, 640, 384), "a": Rect(0, 384, 128, 96), "b": Rect(128, 384, 128, 96)}
    vertical = dict(boxes(custom(DOCS_VERTICAL), [s("f", "focus"), s("a"), s("b")]))
    assert vertical == {"f": Rect(128, 0, 512, 480), "a": Rect(0, 0, 128, 96), "b": Rect(0, 96, 128, 96)}
    pip = boxes(custom(DOCS_PIP), [s("full", "full"), s("small")])
    assert pip == [("full", Rect(0, 0, 640, 480)), ("small", Rect(448, 48, 128, 96))]


def test_flow_floats_lines_positioning_and_the_cascade() -> None:
    css = """
    /* a comment */ stream { display: inline-block; width: 30%; height: 25%; }
    stream.big { display: block; width: 50%; height: 50%; margin: 0 auto; }
    stream.right { float: right; width: 10%; height: 10%; }
    stream.moved { position: relative; left: 10px; top: -20px; }
    stream.capped { width: 90% !important; max-width: 100px; min-height: 200px; }
    stream + stream.next { z-index: 7; position: absolute; left: 5%; right: 5%; bottom: 0; width: auto; height: 10px; }
    .hidden { display: none }
    stream:nth-child(even).pad { margin-left: 20px }
    """
    # every stream has a class, so the DOM is in join order (classed streams rank first)
    placed = dict(boxes(custom(css), [
        s("r", "right"), s("big", "big"), s("a", "x"), s("m", "moved"), s("c", "capped"), s("n", "next"),
        s("h", "hidden"), s("p", "pad"),
    ]))
    assert placed["r"] == Rect(576, 0, 64, 48)  # floats right
    assert placed["big"] == Rect(128, 0, 320, 240)  # beside the float, centred in what is left
    assert placed["c"] == Rect(384, 240, 100, 200)  # max-width over the !important width; min-height
    assert placed["a"] == Rect(0, 320, 192, 120)  # inline-blocks in a line below, bottom-aligned
    assert placed["m"] == Rect(202, 300, 192, 120)  # and shifted from its place in the line
    assert placed["n"] == Rect(32, 470, 576, 10)  # absolute, sized by left + right, at the bottom
    assert "h" not in placed
    assert placed["p"] == Rect(20, 440, 192, 120)  # the 8th child (even): a margin; wrapped to a new line
    # the painting order: inline streams, then positioned ones (by z-index)
    order = [p.stream_id for p in compose_layout(custom(css), [s("n", "next"), s("x", "x"), s("m", "moved")],
                                                 640, 480)]
    assert order == ["n", "x", "m"]  # "n" is not after a stream: "stream + stream.next" does not match it
    order = [p.stream_id for p in compose_layout(custom(css), [s("x", "x"), s("n", "next")], 640, 480)]
    assert order == ["x", "n"]


@pytest.mark.parametrize(("css", "message"), [
    ("stream { border: 1px solid red; }", "unsupported property 'border'"),
    ("div { width: 10px; }", "only stream elements can be selected, not 'div'"),
    ("stream .a { width: 10px; }", "descendant selectors"),
    ("stream > stream { width: 10px; }", "child selectors"),
    ("#main { width: 10px; }", "id selectors"),
    ("* { width: 10px; }", "universal selector"),
    ("stream[data-x] { width: 10px; }", "attribute selectors"),
    ("stream::before { width: 10px; }", "pseudo-elements"),
    ("stream:hover { width: 10px; }", "pseudo-class :hover is not supported"),
    ("stream:nth-child(3x) { width: 10px; }", "not an nth-child argument"),
    ("stream { width: 50; }", "needs a unit"),
    ("stream { width: 5em; }", "is not a length"),
    ("stream { height: -5px; }", "cannot be negative"),
    ("stream { position: fixed; }", "position: 'fixed' is not one of"),
    ("stream { object-fit: fill; }", "object-fit: 'fill' is not one of contain, cover"),
    ("stream { z-index: 1.5; }", "z-index: '1.5' is not an integer"),
    ("stream { width 50%; }", "expected 'property: value'"),
    ("stream { width: 50%;", "never closed"),
    ("stream { width: 50%; }}", "unexpected '}'"),
    ("@media screen { stream { width: 50%; } }", "at-rules"),
    ("stream {}\n\n  /* unterminated", "line 3: unterminated comment"),
    ("stream {\n  width: 50%;\n  colour: red;\n}", "line 3: unsupported property 'colour'"),
    ("stream ~ { width: 1px; }", "ends with a combinator"),
    ("stream { margin: 1px 2px 3px 4px 5px; }", "margin takes 1 to 4 lengths"),
])
def test_bad_stylesheets_are_refused_with_a_clear_message(css: str, message: str) -> None:
    with pytest.raises(LayoutError, match=message.replace("(", r"\(").replace(")", r"\)").replace("*", r"\*")):
        LayoutSpec("custom", css)


def test_layout_spec_from_the_rest_body() -> None:
    assert LayoutSpec.from_json(None) == LayoutSpec()
    assert LayoutSpec.from_json({"type": "pip", "stylesheet": None, "screenshareType": None}) == LayoutSpec("pip")
    spec = LayoutSpec.from_json({"type": "bestFit", "screenshareType": "horizontalPresentation"})
    assert spec.to_json() == {"type": "bestFit", "screenshareType": "horizontalPresentation"}
    css = "stream.instructor {position: absolute; width: 100%;  height:50%;}"  # the REST docs' example
    assert LayoutSpec.from_json({"type": "custom", "stylesheet": css}).stylesheet == css
    for body, message in [
        ({"type": "grid"}, "layout type 'grid' is not one of"),
        ({"type": "custom"}, "needs a stylesheet"),
        ({"type": "custom", "stylesheet": "  "}, "needs a stylesheet"),
        ({"type": "pip", "stylesheet": "stream {}"}, "only used with the custom layout type"),
        ({"type": "pip", "screenshareType": "pip"}, "screenshareType needs the layout type bestFit"),
        ({"type": "bestFit", "screenshareType": "custom"}, "screenshareType 'custom' is not one of"),
        ({"type": 3}, "must be a string"),
        ("bestFit", "must be an object"),
    ]:
        with pytest.raises(LayoutError, match=message):
            LayoutSpec.from_json(body)  # type: ignore[arg-type]


# ---- the predefined layouts -----------------------------------------------------------------------------
def test_pip_geometry_and_two_streams_at_most() -> None:
    streams = [s("a"), s("b"), s("main", "full")]
    assert boxes(LayoutSpec("pip"), streams) == [("main", Rect(0, 0, 640, 480)), ("a", Rect(448, 48, 128, 96))]
    assert boxes(LayoutSpec("pip"), streams, 1280, 720) == [
        ("main", Rect(0, 0, 1280, 720)), ("a", Rect(896, 72, 256, 144))]
    assert boxes(LayoutSpec("pip"), streams, 480, 640)[1] == ("a", Rect(336, 64, 96, 128))


@pytest.mark.parametrize(("w", "h", "others"), [(640, 480, 5), (1280, 720, 5), (1920, 1080, 7), (480, 640, 8),
                                                 (720, 1280, 8), (1080, 1920, 10)])
def test_vertical_presentation(w: int, h: int, others: int) -> None:
    streams = [s(f"s{i}") for i in range(others + 2)] + [s("f", "focus")]
    placed = boxes(LayoutSpec("verticalPresentation"), streams, w, h)
    assert placed[-1] == ("f", Rect(_e(w * 0.2), 0, w - _e(w * 0.2), h))  # the right 80%, painted last
    column = placed[:-1]
    assert [sid for sid, _ in column] == [f"s{i}" for i in range(others)]  # the extra ones are not shown
    for k, (_sid, r) in enumerate(column):
        assert (r.x, r.w) == (0, _e(w * 0.2))
        assert abs(r.y - k * h / others) <= 2 and abs(r.h - h / others) <= 2


@pytest.mark.parametrize(("w", "h", "others"), [(640, 480, 5), (1280, 720, 5), (1920, 1080, 7), (480, 640, 3),
                                                 (1080, 1920, 3)])
def test_horizontal_presentation(w: int, h: int, others: int) -> None:
    streams = [s("f", "focus")] + [s(f"s{i}") for i in range(others + 1)]
    placed = dict(boxes(LayoutSpec("horizontalPresentation"), streams, w, h))
    assert placed.pop("f") == Rect(0, 0, w, _e(h * 0.8))  # the top 80%
    assert sorted(placed) == [f"s{i}" for i in range(others)]
    for k in range(others):
        r = placed[f"s{k}"]
        assert (r.y, r.h) == (_e(h * 0.8), h - _e(h * 0.8))
        assert abs(r.x - k * w / others) <= 2 and abs(r.w - w / others) <= 2


def test_focus_layout_and_bestfit_ignores_classes() -> None:
    assert boxes(LayoutSpec("focus"), [s("a"), s("b", "focus"), s("c")]) == [("b", Rect(0, 0, 640, 480))]
    assert boxes(LayoutSpec("focus"), [s("a"), s("b")]) == [("a", Rect(0, 0, 640, 480))]
    two = boxes(LayoutSpec(), [s("a", "full"), s("b", "focus")])
    assert two == [("a", Rect(0, 0, 320, 480)), ("b", Rect(320, 0, 320, 480))]
    sixteen = boxes(LayoutSpec(), [s(f"s{i}") for i in range(17)], 1280, 720)
    assert len(sixteen) == 16 and {r.w for _, r in sixteen} == {320}  # 4x4, the 17th left out


def test_prioritization_rules() -> None:
    streams = [
        s("cam1", owner="c1"), s("cam2", "x", owner="c2"), s("cam3", owner="c2"), s("scr", video="screen", owner="c3"),
        s("cam4", owner="c3"), s("scr2", "y", video="screen", owner="c4"), s("cam5", owner="c5"),
    ]
    order = [p.stream_id for p in prioritize(streams)]
    # classed: screens first, then join order; unclassed: screens, cameras of screen sharers,
    # streams of publishers with a classed stream, then everyone in join order
    assert order == ["scr2", "cam2", "scr", "cam4", "cam3", "cam1", "cam5"]


def test_screenshare_types() -> None:
    streams = [s("cam1", owner="c1"), s("cam2", "focus", owner="c2"), s("scr", video="screen", owner="c1")]
    assert boxes(LayoutSpec("bestFit", screenshare_type="pip"), streams) == [
        ("scr", Rect(0, 0, 640, 480)), ("cam2", Rect(448, 48, 128, 96))]  # a classed camera ranks higher
    horizontal = dict(boxes(LayoutSpec("bestFit", screenshare_type="horizontalPresentation"), streams))
    assert horizontal["scr"] == Rect(0, 0, 640, 384)  # the screen takes the focus place, not "cam2"
    assert horizontal["cam2"].y == 384 and horizontal["cam1"].y == 384
    assert boxes(LayoutSpec("bestFit", screenshare_type="bestFit"), streams) == [("scr", Rect(0, 0, 640, 480))]
    # without a screen: best fit
    assert len(boxes(LayoutSpec("bestFit", screenshare_type="pip"), streams[:2])) == 2


def _e(v: float) -> int:
    return int(v // 2 * 2) if (v / 2) % 1 < 0.5 else int(v // 2 * 2 + 2)


# ---- what the compositor draws ----------------------------------------------------------------------------
def rgb(comp: Compositor) -> Any:
    return comp.render().to_ndarray(format="rgb24")


Sources = dict[str, tuple[Any, tuple[str, ...], str]]  # stream id -> (frame, classes, video type)


def compositor(layout: ArchiveLayout, w: int, h: int, sources: Sources) -> Compositor:
    comp = Compositor(w, h, layout)
    for k, (sid, (frame, classes, video)) in enumerate(sources.items()):
        layout.set_stream(sid, classes=classes, video_type=video, owner=sid)
        comp.add_source(sid, joined_at=float(k))
        comp.offer(sid, frame, 0.0)
    comp.advance(0.0)
    return comp


def centre(img: Any, r: Rect, size: int = 16) -> tuple[float, float, float]:
    return mean_rgb(img, r.x + r.w // 2 - size // 2, r.y + r.h // 2 - size // 2, size, size)


@pytest.mark.parametrize("kind", ["bestFit", "pip", "verticalPresentation", "horizontalPresentation", "focus",
                                  "custom"])
@pytest.mark.parametrize(("w", "h"), [(640, 480), (720, 1280)])
def test_every_layout_draws_each_stream_in_its_box(kind: str, w: int, h: int) -> None:
    css = ("stream { position: absolute; top: 5%; width: 40%; height: 40%; } "
           "stream.a { left: 5% } stream.b { right: 5% }")
    spec = LayoutSpec(kind, css if kind == "custom" else None)
    layout = ArchiveLayout(spec)
    lead = {"pip": "full", "custom": "a"}.get(kind, "focus")
    sources = {
        "red": (solid(w, h, RED), (lead,), "camera"),  # the picture's own shape: fills its box exactly
        "green": (solid(320, 240, GREEN), ("b",) if kind == "custom" else (), "camera"),
        "blue": (solid(320, 240, BLUE), (), "camera"),
    }
    comp = compositor(layout, w, h, sources)
    img = rgb(comp)
    placed = comp.placements()
    assert placed, kind
    colours = {"red": RED, "green": GREEN, "blue": BLUE}
    for p in placed:  # painted last: nothing covers its centre
        if p is placed[-1] or not any(q.box.intersect(p.box) for q in placed if q is not p):
            assert close_to(centre(img, p.box), colours[p.stream_id]), (kind, p)
    drawn = {p.stream_id for p in placed}
    expected = {"bestFit": {"red", "green", "blue"}, "pip": {"red", "green"}, "focus": {"red"},
                }.get(kind, {"red", "green", "blue"})
    assert drawn == expected
    if kind == "pip":  # the corner is above the full picture
        corner = next(p for p in placed if p.stream_id == "green")
        assert close_to(centre(img, corner.box), GREEN)
        assert close_to(mean_rgb(img, 4, 4, 16, 16), RED)


def test_contain_letterboxes_and_cover_crops() -> None:
    css = ("stream { position: absolute; top: 0; width: 240px; height: 240px; } "
           "stream.c { left: 0; object-fit: cover } stream.k { left: 320px; object-fit: contain }")
    layout = ArchiveLayout(LayoutSpec("custom", css))
    comp = compositor(layout, 640, 480, {"c": (solid(320, 240, RED), ("c",), "camera"),
                                         "k": (solid(320, 240, GREEN), ("k",), "camera")})
    img = rgb(comp)
    assert close_to(mean_rgb(img, 2, 2, 236, 236), RED)  # cover: the whole square, no bars
    assert close_to(mean_rgb(img, 322, 2, 236, 26), BLACK, tol=20)  # contain: 240x180 centred, bars above
    assert close_to(mean_rgb(img, 322, 32, 236, 176), GREEN)
    assert close_to(mean_rgb(img, 322, 214, 236, 24), BLACK, tol=20)  # and below
    assert close_to(mean_rgb(img, 0, 250, 640, 200), BLACK, tol=20)  # nothing else drawn


def test_live_layout_and_class_changes_take_effect_at_the_next_tick() -> None:
    layout = ArchiveLayout()
    comp = compositor(layout, 640, 480, {"a": (solid(320, 240, RED), (), "camera"),
                                         "b": (solid(320, 240, GREEN), (), "camera")})
    img = rgb(comp)
    assert close_to(mean_rgb(img, 100, 200, 100, 80), RED) and close_to(mean_rgb(img, 420, 200, 100, 80), GREEN)
    layout.set(LayoutSpec.from_json({"type": "pip"}))  # PUT .../layout, from another thread in real life
    layout.set_stream("b", classes=["full"])  # PUT .../session/{id}/stream
    img = rgb(comp)
    assert close_to(mean_rgb(img, 100, 200, 200, 100), GREEN)  # b fills the picture
    assert close_to(centre(img, Rect(448, 48, 128, 96)), RED)  # a in the corner, above
    layout.set_stream("b", classes=[])
    layout.set_stream("a", classes=["full"])
    img = rgb(comp)
    assert close_to(mean_rgb(img, 100, 200, 200, 100), RED) and close_to(centre(img, Rect(448, 48, 128, 96)), GREEN)


def test_overlapping_streams_redraw_in_painting_order() -> None:
    layout = ArchiveLayout(LayoutSpec("pip"))
    comp = compositor(layout, 640, 480, {"full": (solid(640, 480, RED), ("full",), "camera"),
                                         "small": (solid(480, 640, GREEN), (), "camera")})  # portrait
    corner = Rect(448, 48, 128, 96)
    rgb(comp)
    for colour in (BLUE, WHITE, YELLOW):  # only the full picture changes: the corner stays on top
        comp.offer("full", solid(640, 480, colour), 1.0)
        comp.advance(1.0)
        img = rgb(comp)
        assert close_to(mean_rgb(img, 40, 300, 100, 100), colour)
        assert close_to(centre(img, corner), GREEN)
        # the corner's pillarbox bars are part of its box: opaque, not the picture below
        assert close_to(mean_rgb(img, corner.x + 2, corner.y + 10, 8, 76), BLACK, tol=20)
    assert comp.redraws == 4


def decoded(codec: str, frames: list[Any]) -> list[Any]:
    decoder = TrackDecoder(f"video/{codec.upper()}")
    out = []
    for e in encode_video(codec, frames):
        p = av.Packet(e.data)
        p.is_keyframe = e.keyframe
        out += decoder.decode(p)
    return out


@pytest.mark.parametrize("kind", ["bestFit", "pip", "verticalPresentation", "horizontalPresentation", "focus"])
def test_a_stream_turning_portrait_is_letterboxed_never_stretched_or_frozen(kind: str) -> None:
    # real decoded frames: 640x480 red, then (a new keyframe) 480x640 green: a phone turned
    land = decoded("vp8", coloured(640, 480, lambda i: RED, 3))
    port = decoded("vp8", coloured(480, 640, lambda i: GREEN, 3))
    layout = ArchiveLayout(LayoutSpec(kind))
    lead = "full" if kind == "pip" else "focus"
    comp = compositor(layout, 1280, 720, {"turn": (land[0], (lead,), "camera"),
                                          "other": (solid(320, 240, BLUE), (), "camera")})
    box = next(p.box for p in comp.placements() if p.stream_id == "turn")
    before = rgb(comp)
    for i, frame in enumerate([*land[1:], *port]):
        comp.offer("turn", frame, 1.0 + i)
        comp.advance(1.0 + i)
        img = rgb(comp)
    assert close_to(centre(before, box), RED)
    assert close_to(centre(img, box), GREEN)  # the new picture is shown
    # the portrait picture keeps its 3:4 shape inside the box: bars left and right, none cut off
    scale = min(box.w / 480, box.h / 640)
    pw = 480 * scale
    left_bar = Rect(box.x, box.y + box.h // 4, max(2, int((box.w - pw) / 2) - 4), box.h // 2)
    if left_bar.w > 4:
        assert close_to(mean_rgb(img, left_bar.x, left_bar.y, left_bar.w, left_bar.h), BLACK, tol=20)
    inner = Rect(int(box.x + (box.w - pw) / 2) + 4, box.y + 4, int(pw) - 8, box.h - 8)
    assert close_to(mean_rgb(img, inner.x, inner.y, inner.w, inner.h), GREEN)
    top = np.asarray(img[box.y + 2, inner.x : inner.x + inner.w], dtype=np.float64).mean(axis=0)
    assert close_to((float(top[0]), float(top[1]), float(top[2])), GREEN)  # not cropped at the top


def test_placement_order_is_painting_order() -> None:
    placed = compose_layout(custom("stream { position: absolute; width: 50%; height: 50% } "
                                   ".top { z-index: 5 } .back { z-index: -1 }"),
                            [s("t", "top"), s("m"), s("b", "back")], 640, 480)
    assert [p.stream_id for p in placed] == ["b", "m", "t"]
    assert all(isinstance(p, Placement) for p in placed)
    assert Stylesheet.parse("").rules == ()
