"""The tile of a stream whose video is muted: its name, centred on a grey placeholder.

No font library is needed (PyAV's FFmpeg has no ``drawtext``): the name is drawn with a 5x8
bitmap font of printable ASCII, scaled up by whole pixels to fit the tile. Other characters are
drawn as ``?``; a name too long for the tile is cut with ``...``.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

Plane = npt.NDArray[np.uint8]

PLACEHOLDER_YUV: tuple[int, int, int] = (52, 128, 128)
"""Dark grey (BT.601 limited range)."""
TEXT_Y = 235
"""White."""

# 5 columns per glyph, bit 0 the top row (the classic 5x8 LCD font), ' ' (0x20) to '~' (0x7e).
_FONT = bytes.fromhex(
    "0000000000" "00005f0000" "0007000700" "147f147f14" "242a7f2a12" "2313086462" "3649562050"
    "0008070300" "001c224100" "0041221c00" "2a1c7f1c2a" "08083e0808" "0080703000" "0808080808"
    "0000606000" "2010080402" "3e5149453e" "00427f4000" "7249494946" "2141494d33" "1814127f10"
    "2745454539" "3c4a494931" "4121110907" "3649494936" "464949291e" "0000140000" "0040340000"
    "0008142241" "1414141414" "0041221408" "0201590906" "3e415d594e" "7c1211127c" "7f49494936"
    "3e41414122" "7f4141413e" "7f49494941" "7f09090901" "3e41415173" "7f0808087f" "00417f4100"
    "2040413f01" "7f08142241" "7f40404040" "7f021c027f" "7f0408107f" "3e4141413e" "7f09090906"
    "3e4151215e" "7f09192946" "2649494932" "03017f0103" "3f4040403f" "1f2040201f" "3f4038403f"
    "6314081463" "0304780403" "61594d4543" "007f414141" "0204081020" "004141417f" "0402010204"
    "4040404040" "0003070800" "2054547840" "7f28444438" "3844444428" "384444287f" "3854545418"
    "00087e0902" "18a4a49c78" "7f08040478" "00447d4000" "2040403d00" "7f10284400" "00417f4000"
    "7c04780478" "7c08040478" "3844444438" "fc18242418" "18242418fc" "7c08040408" "4854545424"
    "04043f4424" "3c4040207c" "1c2040201c" "3c4030403c" "4428102844" "4c9090907c" "4464544c44"
    "0008364100" "0000770000" "0041360800" "0201020402"
)
GLYPH_W, GLYPH_H, ADVANCE = 5, 8, 6


def _glyph(ch: str) -> bytes:
    code = ord(ch) if 0x20 <= ord(ch) <= 0x7E else ord("?")
    i = (code - 0x20) * GLYPH_W
    return _FONT[i : i + GLYPH_W]


def text_mask(text: str) -> npt.NDArray[np.bool_]:
    """The text at 1 pixel per font pixel: ``GLYPH_H`` rows, ``ADVANCE`` columns a character."""
    mask = np.zeros((GLYPH_H, max(1, len(text) * ADVANCE - 1)), dtype=bool)
    for n, ch in enumerate(text):
        for col, bits in enumerate(_glyph(ch)):
            for row in range(GLYPH_H):
                if bits >> row & 1:
                    mask[row, n * ADVANCE + col] = True
    return mask


def _fitted(name: str, width: int, height: int) -> tuple[str, int]:
    """The text to draw and its scale: as large as fits 80 % of the width and a fifth of the
    height, at least 1; a name that does not fit at scale 1 is shortened."""
    text = name.strip() or "?"
    room = max(1, int(width * 0.8))
    while len(text) > 1 and len(text) * ADVANCE - 1 > room:
        text = text[: max(1, len(text) - 4)] + "..." if len(text) > 4 else text[:-1]
    scale = max(1, min(room // max(1, len(text) * ADVANCE - 1), height // 5 // GLYPH_H))
    return text, scale


def placeholder_planes(name: str, width: int, height: int) -> tuple[Plane, Plane, Plane]:
    """Y, U, V planes (4:2:0) of a ``width`` x ``height`` tile showing ``name``."""
    y0, u0, v0 = PLACEHOLDER_YUV
    y = np.full((height, width), y0, dtype=np.uint8)
    u = np.full((height // 2, width // 2), u0, dtype=np.uint8)
    v = np.full((height // 2, width // 2), v0, dtype=np.uint8)
    text, scale = _fitted(name, width, height)
    mask = text_mask(text).repeat(scale, axis=0).repeat(scale, axis=1)
    mh, mw = min(mask.shape[0], height), min(mask.shape[1], width)
    top, left = (height - mh) // 2, (width - mw) // 2
    region = y[top : top + mh, left : left + mw]
    region[mask[:mh, :mw]] = TEXT_Y
    return y, u, v
