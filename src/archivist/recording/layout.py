"""Layouts: where each stream goes in the composed picture.

A :class:`Layout` is replaceable (pip, focus, custom ... later); :class:`BestFit` is the
OpenTok default: an equal-tile grid that reflows as streams come and go, in a stable order (the
order streams joined). Every rectangle has even coordinates and sizes, as YUV 4:2:0 needs.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

RESOLUTIONS: dict[str, tuple[int, int]] = {
    "640x480": (640, 480),
    "1280x720": (1280, 720),
    "1920x1080": (1920, 1080),
    "480x640": (480, 640),
    "720x1280": (720, 1280),
    "1080x1920": (1080, 1920),
}
DEFAULT_RESOLUTION = "640x480"


def parse_resolution(value: str | None) -> tuple[int, int]:
    """``"1280x720"`` -> ``(1280, 720)``; ``None`` gives the default 640x480."""
    key = DEFAULT_RESOLUTION if value is None else value.strip().lower()
    try:
        return RESOLUTIONS[key]
    except KeyError:
        raise ValueError(f"unsupported resolution {value!r}; one of {', '.join(RESOLUTIONS)}") from None


def _even(v: float) -> int:
    return max(2, int(v) // 2 * 2)


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


class Layout(Protocol):
    """Places streams (given in join order) on a ``width`` x ``height`` picture."""

    def arrange(self, stream_ids: Sequence[str], width: int, height: int) -> dict[str, Rect]: ...


class BestFit:
    """Equal tiles in a grid: 1 -> full picture; 2 -> side by side (above each other when the
    output is portrait); 3-4 -> 2x2; 5-9 -> 3x3; ... A last, partial row is centred."""

    def grid(self, n: int, width: int, height: int) -> tuple[int, int]:
        """(columns, rows) for ``n`` streams."""
        if n <= 0:
            return (0, 0)
        side = math.ceil(math.sqrt(n))
        other = math.ceil(n / side)
        return (side, other) if width >= height else (other, side)

    def arrange(self, stream_ids: Sequence[str], width: int, height: int) -> dict[str, Rect]:
        n = len(stream_ids)
        if n == 0:
            return {}
        cols, rows = self.grid(n, width, height)
        tile_w = _even(width / cols)
        tile_h = _even(height / rows)
        off_y = ((height - rows * tile_h) // 2) // 2 * 2
        out: dict[str, Rect] = {}
        for i, sid in enumerate(stream_ids):
            row, col = divmod(i, cols)
            in_row = min(cols, n - row * cols)
            off_x = ((width - in_row * tile_w) // 2) // 2 * 2
            out[sid] = Rect(off_x + col * tile_w, off_y + row * tile_h, tile_w, tile_h)
        return out
