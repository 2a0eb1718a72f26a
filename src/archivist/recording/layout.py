"""Layouts of composed archives: where each stream goes in the picture, and how it is drawn.

One engine for every layout type: each predefined layout *is* a stylesheet (``stylesheet``),
laid out by ``flow`` over the virtual DOM the hosted service documents (``<archive>`` with one
``<stream class="...">`` per stream, in priority order). ``custom`` is the caller's stylesheet.

* ``bestFit`` (the default): equal tiles in a grid, 1, 2 (side by side; stacked on a portrait
  picture), 2x2 for 3-4, 3x3 for 5-9, 4x4 for 10-16 streams, as the hosted service's
  stylesheet; a last, partial row is centred. Layout classes have no effect.
* ``pip``: the stream with class ``full`` fills the picture, the first other stream sits in the
  top-right corner (20% x 20%, 10% in from the right and the top) above it; two streams at most.
* ``verticalPresentation``: the ``focus`` stream fills the right 80%, the others stack in the
  left 20% column: up to 5 of them (7 at 1920x1080; on portrait pictures 8, 10 at 1080x1920).
* ``horizontalPresentation``: the ``focus`` stream fills the top 80%, the others sit side by
  side in the bottom 20% row: up to 5 (7 at 1920x1080; 3 on portrait pictures).
* ``focus`` (this server's): one stream fills the picture, the ``focus`` one (else the stream of
  highest priority).
* ``custom``: a stylesheet (``stylesheet`` module for the supported subset), up to 16 streams.
* ``screenshareType`` (with ``bestFit`` only): while a stream of video type ``screen`` is in the
  picture, the layout becomes that type with the screen in the ``focus``/``full`` place (for
  ``bestFit``: only the screen-sharing streams are shown). Without a screen it is ``bestFit``.

Stream order (the DOM order) follows the hosted service's prioritization rules: streams with
layout classes first, then the others; within each tier screen shares, then streams of
publishers that share a screen (then, for the lower tier, streams of publishers that have a
classed stream), then everyone by the time they joined.

Every stream is drawn inside its box with ``object-fit``: ``contain`` (the default; the whole
picture, letterboxed) or ``cover`` (the box filled, the picture cropped, centred); never
stretched. Boxes have even coordinates and sizes (YUV 4:2:0) and may overlap (``z-index``);
a box partly outside the picture is clipped.

:class:`ArchiveLayout` is the live layout of one archive: its type and stylesheet and its
streams' classes may change at any time, from any thread; the compositor reads it every tick.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Literal, Protocol

from archivist.recording.flow import layout_boxes
from archivist.recording.stylesheet import Element, LayoutError, Stylesheet

__all__ = [
    "DEFAULT_RESOLUTION",
    "LAYOUT_TYPES",
    "MAX_VIDEO_STREAMS",
    "RESOLUTIONS",
    "SCREENSHARE_TYPES",
    "ArchiveLayout",
    "BestFit",
    "Layout",
    "LayoutError",
    "LayoutSpec",
    "LayoutStream",
    "Placement",
    "Rect",
    "compose_layout",
    "cover_rect",
    "fit_inside",
    "parse_resolution",
    "predefined_stylesheet",
    "prioritize",
]

RESOLUTIONS: dict[str, tuple[int, int]] = {
    "640x480": (640, 480),
    "1280x720": (1280, 720),
    "1920x1080": (1920, 1080),
    "480x640": (480, 640),
    "720x1280": (720, 1280),
    "1080x1920": (1080, 1920),
}
DEFAULT_RESOLUTION = "640x480"
LAYOUT_TYPES = ("bestFit", "pip", "verticalPresentation", "horizontalPresentation", "focus", "custom")
SCREENSHARE_TYPES = ("bestFit", "pip", "verticalPresentation", "horizontalPresentation", "focus")
MAX_VIDEO_STREAMS = 16
VIDEO_TYPES = ("camera", "screen", "custom")


def parse_resolution(value: str | None) -> tuple[int, int]:
    """``"1280x720"`` -> ``(1280, 720)``; ``None`` gives the default 640x480."""
    key = DEFAULT_RESOLUTION if value is None else value.strip().lower()
    try:
        return RESOLUTIONS[key]
    except KeyError:
        raise ValueError(f"unsupported resolution {value!r}; one of {', '.join(RESOLUTIONS)}") from None


def _even(v: float) -> int:
    return max(2, int(v) // 2 * 2)


def _edge(v: float) -> int:
    """A box edge snapped to the nearest even pixel (so adjacent boxes stay adjacent)."""
    return math.floor(v / 2 + 0.5) * 2


@dataclass(frozen=True)
class Rect:
    x: int
    y: int
    w: int
    h: int

    def contains(self, other: Rect) -> bool:
        return (
            other.x >= self.x
            and other.y >= self.y
            and other.x + other.w <= self.x + self.w
            and other.y + other.h <= self.y + self.h
        )

    def intersect(self, other: Rect) -> Rect | None:
        x0, y0 = max(self.x, other.x), max(self.y, other.y)
        x1, y1 = min(self.x + self.w, other.x + other.w), min(self.y + self.h, other.y + other.h)
        if x1 <= x0 or y1 <= y0:
            return None
        return Rect(x0, y0, x1 - x0, y1 - y0)


def fit_inside(src_w: int, src_h: int, box: Rect) -> Rect:
    """The largest rectangle of the source's aspect ratio centred in ``box`` (letterbox).

    Never stretches and never crops; sizes and offsets are even.
    """
    if src_w <= 0 or src_h <= 0:
        raise ValueError("source size must be positive")
    scale = min(box.w / src_w, box.h / src_h)
    w = min(box.w, _even(round(src_w * scale)))
    h = min(box.h, _even(round(src_h * scale)))
    x = box.x + ((box.w - w) // 2) // 2 * 2
    y = box.y + ((box.h - h) // 2) // 2 * 2
    return Rect(x, y, w, h)


def cover_rect(src_w: int, src_h: int, box: Rect) -> Rect:
    """The smallest rectangle of the source's aspect ratio that covers ``box``, centred on it
    (``object-fit: cover``: drawn clipped to the box). Never stretches; sizes and offsets even."""
    if src_w <= 0 or src_h <= 0:
        raise ValueError("source size must be positive")
    scale = max(box.w / src_w, box.h / src_h)
    w = max(box.w, _even(math.ceil(src_w * scale - 1e-9) + 1))
    h = max(box.h, _even(math.ceil(src_h * scale - 1e-9) + 1))
    return Rect(box.x - ((w - box.w) // 2) // 2 * 2, box.y - ((h - box.h) // 2) // 2 * 2, w, h)


# ---- what the layout engine is given and gives back --------------------------------------------
@dataclass(frozen=True)
class LayoutStream:
    """A stream as layouts see it."""

    stream_id: str
    classes: tuple[str, ...] = ()  # its layoutClassList
    video_type: str = "camera"  # camera | screen | custom
    owner: str | None = None  # the publishing connection (prioritization groups its streams)


@dataclass(frozen=True)
class Placement:
    """Where one stream is drawn: ``box`` (may extend past the picture; clipped) and ``fit``.
    A list of placements is in painting order: later ones are drawn over earlier ones."""

    stream_id: str
    box: Rect
    fit: Literal["contain", "cover"] = "contain"


class Layout(Protocol):
    """Places the streams on screen (given in the order they joined) on a ``width`` x ``height``
    picture. Called by the compositor's worker thread every tick: it must be cheap (cache)."""

    def place(self, stream_ids: Sequence[str], width: int, height: int) -> list[Placement]: ...


# ---- the layout a REST request asks for ----------------------------------------------------------
@dataclass(frozen=True)
class LayoutSpec:
    type: str = "bestFit"
    stylesheet: str | None = None
    screenshare_type: str | None = None

    def __post_init__(self) -> None:
        if self.type not in LAYOUT_TYPES:
            raise LayoutError(f"layout type {self.type!r} is not one of {', '.join(LAYOUT_TYPES)}")
        if self.type == "custom":
            if not isinstance(self.stylesheet, str) or not self.stylesheet.strip():
                raise LayoutError("a custom layout needs a stylesheet")
            _parse_custom(self.stylesheet)  # refuse a bad one now, with its message
        elif self.stylesheet is not None:
            raise LayoutError(f"stylesheet is only used with the custom layout type, not {self.type!r}")
        if self.screenshare_type is not None:
            if self.type != "bestFit":
                raise LayoutError(f"screenshareType needs the layout type bestFit, not {self.type!r}")
            if self.screenshare_type not in SCREENSHARE_TYPES:
                raise LayoutError(f"screenshareType {self.screenshare_type!r} is not one of "
                                  f"{', '.join(SCREENSHARE_TYPES)}")

    @classmethod
    def from_json(cls, body: Mapping[str, Any] | None) -> LayoutSpec:
        """The ``layout`` object of ``POST /archive`` or the body of ``PUT /archive/{id}/layout``
        (``type``, ``stylesheet``, ``screenshareType``; nulls are absent). :class:`LayoutError`
        (answer 400 with its message) when it is not usable."""
        if body is None:
            return cls()
        if not isinstance(body, Mapping):
            raise LayoutError("layout must be an object")
        ltype = body.get("type")
        if ltype is None:
            ltype = "bestFit"
        if not isinstance(ltype, str):
            raise LayoutError("layout type must be a string")
        stylesheet = body.get("stylesheet")
        if stylesheet is not None and not isinstance(stylesheet, str):
            raise LayoutError("stylesheet must be a string")
        screenshare = body.get("screenshareType")
        if screenshare is not None and not isinstance(screenshare, str):
            raise LayoutError("screenshareType must be a string")
        return cls(ltype, stylesheet, screenshare)

    def to_json(self) -> dict[str, Any]:
        body: dict[str, Any] = {"type": self.type}
        if self.stylesheet is not None:
            body["stylesheet"] = self.stylesheet
        if self.screenshare_type is not None:
            body["screenshareType"] = self.screenshare_type
        return body


@lru_cache(maxsize=64)
def _parse_custom(text: str) -> Stylesheet:
    return Stylesheet.parse(text)


# ---- the predefined layouts, as stylesheets -------------------------------------------------------
def bestfit_grid(n: int, width: int, height: int) -> tuple[int, int]:
    """(columns, rows) of bestFit for ``n`` streams: 1x1, 2x1 (1x2 on a portrait picture), then
    the smallest square grid (2x2, 3x3, 4x4), as the hosted service's stylesheet."""
    if n <= 0:
        return (0, 0)
    if n == 1:
        return (1, 1)
    if n == 2:
        return (2, 1) if width >= height else (1, 2)
    side = math.ceil(math.sqrt(n))
    return (side, side)


def _bestfit_css(width: int, height: int) -> str:
    """Exact pixel tiles for 1..16 streams: ``stream:nth-child(i):nth-last-child(n - i + 1)``
    selects the i-th of n streams (the hosted service's own sheet uses the same selectors)."""
    rules = ["stream { position: absolute; }"]
    for n in range(1, MAX_VIDEO_STREAMS + 1):
        cols, rows = bestfit_grid(n, width, height)
        tile_w, tile_h = _even(width / cols), _even(height / rows)
        used_rows = math.ceil(n / cols)
        off_y = ((height - used_rows * tile_h) // 2) // 2 * 2
        for i in range(n):
            row, col = divmod(i, cols)
            in_row = min(cols, n - row * cols)
            off_x = ((width - in_row * tile_w) // 2) // 2 * 2
            rules.append(
                f"stream:nth-child({i + 1}):nth-last-child({n - i}) {{ left: {off_x + col * tile_w}px; "
                f"top: {off_y + row * tile_h}px; width: {tile_w}px; height: {tile_h}px; }}"
            )
    return "\n".join(rules)


def _presentation_others(kind: str, width: int, height: int) -> int:
    if kind == "verticalPresentation":
        if width >= height:
            return 7 if (width, height) == (1920, 1080) else 5
        return 10 if (width, height) == (1080, 1920) else 8
    if width >= height:
        return 7 if (width, height) == (1920, 1080) else 5
    return 3


def _percent(n: int) -> str:
    return f"{100 / n:.4f}%"


@lru_cache(maxsize=32)
def predefined_stylesheet(kind: str, width: int, height: int) -> Stylesheet:
    """The stylesheet that *is* the predefined layout ``kind`` on a ``width`` x ``height`` picture."""
    if kind == "bestFit":
        css = _bestfit_css(width, height)
    elif kind == "pip":  # the hosted service's documented stylesheet
        css = """
            stream.full { position: absolute; top: 0; right: 0; width: 100%; height: 100%; z-index: 100; }
            stream { position: absolute; right: 10%; top: 10%; width: 20%; height: 20%; z-index: 200; }
        """
    elif kind == "verticalPresentation":  # the documented sheet; row count by picture size
        others = _presentation_others(kind, width, height)
        css = f"""
            stream {{ float: left; left: 0px; clear: left; width: 20%; height: {_percent(others)}; }}
            stream.focus {{ position: absolute; top: 0; left: 20%; margin: 0px; height: 100%; width: 80%; }}
        """
    elif kind == "horizontalPresentation":
        # The documented sheet pushes the row down with "margin-top: 60%" (of the width, as CSS
        # margins are): right for 4:3 pictures only. "top: 80%" (of the height) on a relatively
        # positioned stream puts the row at the bottom of every picture.
        others = _presentation_others(kind, width, height)
        css = f"""
            stream {{ float: left; position: relative; top: 80%; width: {_percent(others)}; height: 20%; }}
            stream.focus {{ position: absolute; top: 0; left: 0; height: 80%; width: 100%; }}
        """
    elif kind == "focus":
        css = "stream { position: absolute; left: 0; top: 0; width: 100%; height: 100%; }"
    else:
        raise LayoutError(f"{kind!r} is not a predefined layout")
    return Stylesheet.parse(css)


_LEAD_CLASS = {"pip": "full", "verticalPresentation": "focus", "horizontalPresentation": "focus", "focus": "focus"}


def _capacity(kind: str, width: int, height: int) -> int:
    if kind == "pip":
        return 2
    if kind == "focus":
        return 1
    if kind in ("verticalPresentation", "horizontalPresentation"):
        return 1 + _presentation_others(kind, width, height)
    return MAX_VIDEO_STREAMS


# ---- prioritization ---------------------------------------------------------------------------------
def prioritize(streams: Sequence[LayoutStream]) -> list[LayoutStream]:
    """The hosted service's stream prioritization rules (``streams`` in join order)."""
    screen_owners = {s.owner for s in streams if s.video_type == "screen" and s.owner is not None}
    classed_owners = {s.owner for s in streams if s.classes and s.owner is not None}

    def rank(s: LayoutStream) -> tuple[int, int]:
        if s.video_type == "screen":
            sub = 0
        elif s.owner is not None and s.owner in screen_owners:
            sub = 1
        elif not s.classes and s.owner is not None and s.owner in classed_owners:
            sub = 2
        else:
            sub = 3
        return (0 if s.classes else 1, sub)

    return sorted(streams, key=rank)  # stable: join order within a rank


def _screenshare(kind: str, streams: list[LayoutStream]) -> list[LayoutStream]:
    """The streams as the screen-share layout ``kind`` sees them: the first screen takes the
    lead class (``focus``/``full``) from everyone else; bestFit keeps only the screens."""
    if kind == "bestFit":
        return [s for s in streams if s.video_type == "screen"]
    lead = _LEAD_CLASS[kind]
    screen = next(s for s in streams if s.video_type == "screen")
    out: list[LayoutStream] = []
    for s in streams:
        classes = tuple(c for c in s.classes if c != lead)
        if s is screen:
            classes = (lead, *classes)
        out.append(LayoutStream(s.stream_id, classes, s.video_type, s.owner))
    return out


def compose_layout(spec: LayoutSpec, streams: Sequence[LayoutStream], width: int, height: int) -> list[Placement]:
    """Placements (painting order) of ``streams`` (join order) for ``spec`` on the picture."""
    kind = spec.type
    dom = list(streams)
    if kind == "bestFit" and spec.screenshare_type is not None and any(s.video_type == "screen" for s in dom):
        kind = spec.screenshare_type
        dom = _screenshare(kind, dom)
    dom = prioritize(dom)
    lead = _LEAD_CLASS.get(kind)
    if lead is not None:  # the stream that takes the big place is never left out
        dom = [s for s in dom if lead in s.classes] + [s for s in dom if lead not in s.classes]
    dom = dom[: _capacity(kind, width, height)]
    if not dom:
        return []
    sheet = _parse_custom(spec.stylesheet or "") if kind == "custom" else predefined_stylesheet(kind, width, height)
    styles = sheet.compute([Element(frozenset(s.classes)) for s in dom])
    canvas = Rect(0, 0, width, height)
    out: list[Placement] = []
    for box in layout_boxes(styles, width, height):
        x0, y0 = _edge(box.x), _edge(box.y)
        rect = Rect(x0, y0, _edge(box.x + box.w) - x0, _edge(box.y + box.h) - y0)
        if rect.w <= 0 or rect.h <= 0 or rect.intersect(canvas) is None:
            continue  # not visible
        out.append(Placement(dom[box.index].stream_id, rect, box.fit))
    return out


# ---- layouts the compositor uses ----------------------------------------------------------------------
class BestFit:
    """The default layout (no classes, no screen shares): equal tiles, see ``bestfit_grid``."""

    _spec = LayoutSpec()

    def place(self, stream_ids: Sequence[str], width: int, height: int) -> list[Placement]:
        return list(_cached_compose(self._spec, tuple(LayoutStream(s) for s in stream_ids), width, height))

    def grid(self, n: int, width: int, height: int) -> tuple[int, int]:
        return bestfit_grid(n, width, height)

    def arrange(self, stream_ids: Sequence[str], width: int, height: int) -> dict[str, Rect]:
        """Each stream's tile (convenience: BestFit tiles never overlap)."""
        return {p.stream_id: p.box for p in self.place(stream_ids, width, height)}


@lru_cache(maxsize=256)
def _cached_compose(
    spec: LayoutSpec, streams: tuple[LayoutStream, ...], width: int, height: int
) -> tuple[Placement, ...]:
    return tuple(compose_layout(spec, streams, width, height))


@dataclass
class _StreamInfo:
    classes: tuple[str, ...] = ()
    video_type: str = "camera"
    owner: str | None = None


class ArchiveLayout:
    """The live layout of one composed archive (a :class:`Layout`).

    The owner (the event loop) calls :meth:`set` for ``PUT /archive/{id}/layout`` and
    :meth:`set_stream` when a stream joins or its classes change (``PUT /session/{id}/stream``);
    both are thread-safe and take effect at the compositor's next tick.
    """

    def __init__(self, spec: LayoutSpec | None = None) -> None:
        self._spec = spec or LayoutSpec()
        self._streams: dict[str, _StreamInfo] = {}
        self._lock = threading.Lock()

    @property
    def spec(self) -> LayoutSpec:
        return self._spec

    def set(self, spec: LayoutSpec) -> None:
        with self._lock:
            self._spec = spec

    def set_stream(
        self,
        stream_id: str,
        *,
        classes: Sequence[str] | None = None,
        video_type: str | None = None,
        owner: str | None = None,
    ) -> None:
        """Describe a stream (fields left ``None`` keep their value)."""
        if classes is not None and (isinstance(classes, str) or not all(isinstance(c, str) for c in classes)):
            raise LayoutError("layoutClassList must be an array of strings")
        if video_type is not None and video_type not in VIDEO_TYPES:
            raise LayoutError(f"videoType {video_type!r} is not one of {', '.join(VIDEO_TYPES)}")
        with self._lock:
            info = self._streams.setdefault(stream_id, _StreamInfo())
            if classes is not None:
                info.classes = tuple(dict.fromkeys(c for c in classes if c))
            if video_type is not None:
                info.video_type = video_type
            if owner is not None:
                info.owner = owner

    def forget_stream(self, stream_id: str) -> None:
        with self._lock:
            self._streams.pop(stream_id, None)

    def stream(self, stream_id: str) -> LayoutStream:
        with self._lock:
            info = self._streams.get(stream_id, _StreamInfo())
            return LayoutStream(stream_id, info.classes, info.video_type, info.owner)

    def place(self, stream_ids: Sequence[str], width: int, height: int) -> list[Placement]:
        with self._lock:
            spec = self._spec
            streams = tuple(
                LayoutStream(sid, info.classes, info.video_type, info.owner)
                for sid in stream_ids
                for info in (self._streams.get(sid) or _StreamInfo(),)
            )
        return list(_cached_compose(spec, streams, width, height))
