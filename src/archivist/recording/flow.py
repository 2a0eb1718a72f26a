"""CSS visual formatting of the ``<stream>`` boxes inside the ``<archive>`` picture.

The subset of CSS 2.1 layout that the documented properties need, applied to one block
formatting context (the archive, ``position: relative``, fixed size):

* **normal flow**: block streams stack downwards (adjacent vertical margins collapse); inline and
  inline-block streams sit side by side in line boxes that wrap, bottom-aligned (the baseline of
  a replaced element). A stream is a replaced element: its box never overlaps a float, it moves
  beside or below it.
* **floats** (``float: left|right``) go as high and as far to their side as the earlier floats
  allow (CSS 2.1 section 9.5.1), ``clear`` moves a box below earlier floats.
* **positioning**: ``relative`` shifts the box from its place in the flow; ``absolute`` places it
  against the archive from ``left``/``right``/``top``/``bottom`` (auto margins centre it when
  both sides and the size are given), out of the flow.
* sizes: percentages of the archive's width (``width``, ``left``, ``right`` and, as in CSS, every
  margin) or height (``height``, ``top``, ``bottom``); ``min-``/``max-`` bounds. A stream whose
  ``width`` or ``height`` is ``auto`` fills what its container leaves in that direction (a video
  has no intrinsic size here; this is our documented rule).
* painting order (CSS appendix E): negative ``z-index``, blocks, floats, inline streams,
  positioned streams with ``z-index`` auto/0, then positive ``z-index``; document order within.

Boxes are in floating-point pixels and may lie partly or wholly outside the picture (the archive
clips: ``overflow: hidden``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from archivist.recording.stylesheet import Fit, Length, LengthValue, Style


@dataclass(frozen=True)
class Box:
    index: int  # the element's position in the DOM
    x: float
    y: float
    w: float
    h: float
    fit: Fit
    paint: tuple[int, int, int]  # sort key: lower is painted first (further back)


@dataclass
class _Float:
    x: float  # outer (margin) box
    y: float
    w: float
    h: float

    @property
    def bottom(self) -> float:
        return self.y + self.h

    @property
    def right(self) -> float:
        return self.x + self.w


def _px(value: LengthValue, reference: float, default: float = 0.0) -> float:
    return default if value is None else value.resolve(reference)


def _clamp(v: float, low: Length, high: LengthValue, reference: float) -> float:
    if high is not None:
        v = min(v, high.resolve(reference))
    return max(v, low.resolve(reference))


def _collapse(a: float, b: float) -> float:
    """Two adjoining vertical margins collapse into one (CSS 2.1 section 8.3.1)."""
    positive = max(a, b, 0.0)
    negative = min(a, b, 0.0)
    return positive + negative


class _Context:
    def __init__(self, width: float, height: float) -> None:
        self.W = width
        self.H = height
        self.lefts: list[_Float] = []
        self.rights: list[_Float] = []
        self.cursor = 0.0  # top of the next block's margin edge (below the last in-flow content)
        self.pending_margin = 0.0  # bottom margin of the last block (collapses with the next top)
        self.float_floor = 0.0  # a float's top is never above an earlier float's top
        # the open line box
        self.line: list[tuple[int, float, float, float]] = []  # index, x, height, bottom margin
        self.line_top = 0.0
        self.line_x = 0.0
        self.line_height = 0.0

    # -- floats ----------------------------------------------------------------------------------
    def band(self, y: float, h: float) -> tuple[float, float, list[_Float]]:
        """Free horizontal span at ``[y, y + h)`` between the floats, and the floats in the way."""
        h = max(h, 1e-6)
        blocking = [f for f in (*self.lefts, *self.rights) if f.y < y + h and f.bottom > y]
        left = max((f.right for f in self.lefts if f in blocking), default=0.0)
        right = min((f.x for f in self.rights if f in blocking), default=self.W)
        return left, right, blocking

    def fit_at(self, y: float, w: float, h: float) -> tuple[float, float, float]:
        """Lowest band at or below ``y`` where ``w`` fits; (y, left, right). When nothing is in the
        way and it is still too wide, it goes there anyway (it overflows)."""
        while True:
            left, right, blocking = self.band(y, h)
            if right - left >= w - 1e-6 or not blocking:
                return y, left, right
            y = min(f.bottom for f in blocking if f.bottom > y)

    def clearance(self, clear: str) -> float:
        floats: list[_Float] = []
        if clear in ("left", "both"):
            floats += self.lefts
        if clear in ("right", "both"):
            floats += self.rights
        return max((f.bottom for f in floats), default=0.0)

    # -- lines -----------------------------------------------------------------------------------
    def close_line(self, out: dict[int, tuple[float, float]]) -> None:
        if not self.line:
            return
        for index, x, h, mb in self.line:  # bottom-aligned: a replaced element sits on the baseline
            out[index] = (x, self.line_top + self.line_height - mb - h)
        self.cursor = self.line_top + self.line_height
        self.pending_margin = 0.0
        self.line = []
        self.line_height = 0.0


def layout_boxes(styles: Sequence[Style], width: int, height: int) -> list[Box]:
    """The box of every displayed stream, in painting order."""
    W, H = float(width), float(height)
    ctx = _Context(W, H)
    sizes: dict[int, tuple[float, float, float, float, float, float]] = {}  # w, h, ml, mr, mt, mb
    placed: dict[int, tuple[float, float]] = {}  # index -> border-box top-left
    inline_pos: dict[int, tuple[float, float]] = {}
    kinds: dict[int, int] = {}  # painting layer without z-index: 1 block, 2 float, 3 inline
    absolutes: list[int] = []

    for i, st in enumerate(styles):
        if st.display == "none":
            continue
        ml, mr = st.margin_left, st.margin_right
        mt, mb = st.margin_top, st.margin_bottom
        out_of_flow = st.position == "absolute"
        if out_of_flow:
            absolutes.append(i)
            continue
        ml_px, mr_px = _px(ml, W), _px(mr, W)
        mt_px, mb_px = _px(mt, W), _px(mb, W)  # vertical margins: % of the width, as in CSS
        w = _clamp(_px(st.width, W, W - ml_px - mr_px), st.min_width, st.max_width, W)
        h = _clamp(_px(st.height, H, H - mt_px - mb_px), st.min_height, st.max_height, H)
        sizes[i] = (w, h, ml_px, mr_px, mt_px, mb_px)
        ow, oh = w + ml_px + mr_px, h + mt_px + mb_px
        if st.float != "none":
            kinds[i] = 2
            top = max(ctx.float_floor, ctx.line_top if ctx.line else ctx.cursor + ctx.pending_margin)
            if st.clear != "none":
                top = max(top, ctx.clearance(st.clear))
            y, left, right = ctx.fit_at(top, ow, oh)
            x = left if st.float == "left" else right - ow
            f = _Float(x, y, ow, oh)
            (ctx.lefts if st.float == "left" else ctx.rights).append(f)
            ctx.float_floor = y
            placed[i] = (x + ml_px, y + mt_px)
        elif st.display in ("inline", "inline-block"):
            kinds[i] = 3
            if st.clear != "none":
                ctx.close_line(inline_pos)
                ctx.cursor = max(ctx.cursor, ctx.clearance(st.clear))
            x = ctx.line_x
            if ctx.line:
                left, right, _ = ctx.band(ctx.line_top, max(ctx.line_height, oh))
                x = max(x, left)
                if x + ow > right + 1e-6:  # does not fit on this line: wrap
                    ctx.close_line(inline_pos)
            if not ctx.line:
                ctx.line_top, x, _ = ctx.fit_at(ctx.cursor + ctx.pending_margin, ow, oh)
                ctx.pending_margin = 0.0
            ctx.line.append((i, x + ml_px, h, mb_px))
            ctx.line_x = x + ow
            ctx.line_height = max(ctx.line_height, oh)
        else:
            kinds[i] = 1
            ctx.close_line(inline_pos)
            top = ctx.cursor + _collapse(ctx.pending_margin, mt_px)
            if st.clear != "none":
                top = max(top, ctx.clearance(st.clear) + mt_px)
            y, left, right = ctx.fit_at(top - mt_px, ow, oh)
            avail = right - left
            x = left + ml_px
            if ml is None and mr is None:  # margin: auto centres a block of a given width
                x = left + max(0.0, (avail - w) / 2)
            elif ml is None:
                x = right - mr_px - w
            placed[i] = (x, y + mt_px)
            ctx.cursor = y + mt_px + h
            ctx.pending_margin = mb_px
    ctx.close_line(inline_pos)
    placed.update(inline_pos)
    static_y = ctx.cursor + ctx.pending_margin

    boxes: list[Box] = []
    for i, st in enumerate(styles):
        if st.display == "none":
            continue
        if st.position == "absolute":
            x, y, w, h = _absolute(st, W, H, static_y)
        else:
            w, h = sizes[i][0], sizes[i][1]
            x, y = placed[i]
            if st.position == "relative":
                if st.left is not None:
                    x += st.left.resolve(W)
                elif st.right is not None:
                    x -= st.right.resolve(W)
                if st.top is not None:
                    y += st.top.resolve(H)
                elif st.bottom is not None:
                    y -= st.bottom.resolve(H)
        z = st.z_index if st.positioned else None
        if z is not None and z < 0:
            paint = (0, z, i)
        elif z is not None and z > 0:
            paint = (5, z, i)
        elif st.positioned:
            paint = (4, 0, i)
        else:
            paint = (kinds[i], 0, i)
        boxes.append(Box(i, x, y, w, h, st.object_fit, paint))
    boxes.sort(key=lambda b: b.paint)
    return boxes


def _absolute(st: Style, W: float, H: float, static_y: float) -> tuple[float, float, float, float]:
    x, w = _axis(st.left, st.right, st.width, st.margin_left, st.margin_right, st.min_width, st.max_width,
                 W, W, static=0.0)
    y, h = _axis(st.top, st.bottom, st.height, st.margin_top, st.margin_bottom, st.min_height, st.max_height,
                 H, W, static=static_y)
    return x, y, w, h


def _axis(
    start: LengthValue, end: LengthValue, size: LengthValue, m_start: LengthValue, m_end: LengthValue,
    low: Length, high: LengthValue, extent: float, margin_ref: float, static: float,
) -> tuple[float, float]:
    """One axis of an absolutely positioned box (CSS 2.1 section 10.3.7 / 10.6.4, simplified):
    the position and size of its border box."""
    ms, me = _px(m_start, margin_ref), _px(m_end, margin_ref)
    s = None if start is None else start.resolve(extent)
    e = None if end is None else end.resolve(extent)
    if size is None:
        room = extent - (s or 0.0) - (e or 0.0) - ms - me
        length = _clamp(room, low, high, extent)
    else:
        length = _clamp(size.resolve(extent), low, high, extent)
    if s is not None and e is not None and size is not None and m_start is None and m_end is None:
        return s + max(0.0, (extent - s - e - length) / 2), length  # auto margins centre it
    if s is not None:
        return s + ms, length
    if e is not None:
        return extent - e - me - length, length
    return static + ms, length
