"""Decoding untrusted JSON text (REST bodies, signaling frames) without surprises.

``json.loads`` alone lets through what breaks later: nesting deep enough to exhaust the C
decoder's recursion (``RecursionError``, a 500) and ``"\\ud800"``, a lone UTF-16 surrogate that
decodes to a ``str`` no UTF-8 encoder accepts (``UnicodeEncodeError`` when it is stored, logged
or sent). :func:`loads` refuses both with :class:`InvalidJson` (a ``ValueError``), whose message
says what was wrong, so callers answer a 400.
"""

from __future__ import annotations

import json
import math
from typing import Any

MAX_DEPTH = 32
"""Nesting levels accepted (``{"a": [1]}`` is 2). Every body and frame we take is 1 to 3 deep."""


class InvalidJson(ValueError):
    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def has_surrogate(text: str) -> bool:
    """Whether ``text`` holds a lone surrogate (U+D800..U+DFFF), which UTF-8 cannot encode."""
    if text.isascii():
        return False
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


def loads(text: str | bytes, *, max_depth: int = MAX_DEPTH, surrogates: bool = False) -> Any:
    """Decode ``text``; :class:`InvalidJson` if it is not JSON (Python's decoder also takes
    ``NaN``, ``Infinity`` and reads ``1e999`` as infinity: refused here), nests deeper than
    ``max_depth``, or (unless ``surrogates``) has a lone surrogate in any string, key or value."""
    try:
        value = json.loads(text, parse_constant=_no_constant, parse_float=_finite)
    except RecursionError:
        raise InvalidJson(f"JSON nested deeper than {max_depth} levels") from None
    except (ValueError, UnicodeDecodeError):  # JSONDecodeError is a ValueError
        raise InvalidJson("not valid JSON") from None
    _check(value, max_depth, surrogates)
    return value


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")  # json.loads takes NaN, Infinity, -Infinity


def _finite(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise ValueError(f"{text} is too large")
    return value


def _check(value: Any, max_depth: int, surrogates: bool) -> None:
    """Walk ``value`` iteratively (no recursion of our own to exhaust)."""
    pending: list[tuple[Any, int]] = [(value, 0)]
    while pending:
        item, depth = pending.pop()
        if isinstance(item, str):
            if not surrogates and has_surrogate(item):
                raise InvalidJson("a JSON string holds a lone surrogate (\\ud800-\\udfff): not valid Unicode")
            continue
        if not isinstance(item, dict | list):
            continue
        if depth >= max_depth:
            raise InvalidJson(f"JSON nested deeper than {max_depth} levels")
        if isinstance(item, dict):
            pending.extend((key, depth) for key in item)
            pending.extend((child, depth + 1) for child in item.values())
        else:
            pending.extend((child, depth + 1) for child in item)
