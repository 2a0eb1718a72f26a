"""The stylesheet language of custom layouts: the documented subset of CSS, parsed and cascaded.

A composed archive's layout is CSS applied to a virtual DOM, as the hosted service describes it::

    <archive>                      (the picture: width x height pixels, position: relative)
      <stream class="{layoutClassList}"/>   one per stream, in priority order (see ``layout``)
      ...
    </archive>

Supported (everything the hosted service's documentation lists):

* selectors: the type selector ``stream`` (no other element can be selected), class selectors
  (``.focus``, ``stream.a.b``), the pseudo-classes ``:first-child``, ``:last-child``,
  ``:nth-child(an+b | odd | even)`` and ``:nth-last-child(...)``, the sibling combinators
  ``a + b`` and ``a ~ b``, and selector lists (``a, b``);
* properties: ``position`` (static, relative, absolute), ``left`` ``top`` ``right`` ``bottom``,
  ``width`` ``height`` (and their ``min-``/``max-`` bounds), ``margin`` (1-4 values) and
  ``margin-left|right|top|bottom``, ``z-index``, ``object-fit`` (contain, cover), ``float`` (none,
  left, right), ``clear``, ``display`` (block, inline, inline-block, none) and ``overflow``
  (hidden); lengths in ``px`` or ``%`` (unitless ``0``), ``auto`` where CSS has it, ``!important``
  and ``/* comments */``.

Anything else is refused with a :class:`LayoutError` that names it and its line, never ignored:
the universal, id, attribute, descendant and child selectors, pseudo-elements, other
pseudo-classes, at-rules, other properties and values. The REST layer answers it with a 400.

The cascade is CSS's: for each stream the declarations of every matching selector, ordered by
``!important``, specificity and source order. Values stay symbolic (``Length``); ``flow`` turns
them into pixels.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Literal

MAX_STYLESHEET_CHARS = 100_000
MAX_COMPOUNDS = 16  # per selector: keeps sibling matching cheap whatever the input


class LayoutError(ValueError):
    """A layout that cannot be used; the message says what and where (the REST answer is 400)."""


@dataclass(frozen=True)
class Length:
    value: float
    unit: Literal["px", "%"]

    def resolve(self, reference: float) -> float:
        """Pixels, percentages taken of ``reference``."""
        return self.value * reference / 100.0 if self.unit == "%" else self.value


AUTO: None = None
LengthValue = Length | None  # None is ``auto`` (or ``none`` for max-width/max-height)


@dataclass(frozen=True)
class Nth:
    """``an+b``: matches 1-based positions ``a*k + b`` for some k >= 0."""

    a: int
    b: int

    def matches(self, position: int) -> bool:
        if self.a == 0:
            return position == self.b
        k, rest = divmod(position - self.b, self.a)
        return rest == 0 and k >= 0


@dataclass(frozen=True)
class Pseudo:
    name: Literal["first-child", "last-child", "nth-child", "nth-last-child"]
    nth: Nth | None = None

    def matches(self, index: int, count: int) -> bool:
        if self.name == "first-child":
            return index == 0
        if self.name == "last-child":
            return index == count - 1
        assert self.nth is not None
        return self.nth.matches(index + 1 if self.name == "nth-child" else count - index)


@dataclass(frozen=True)
class Compound:
    """One element test: ``stream``, classes and pseudo-classes, all required."""

    typed: bool
    classes: frozenset[str]
    pseudos: tuple[Pseudo, ...]

    def matches(self, element: Element, index: int, count: int) -> bool:
        return self.classes <= element.classes and all(p.matches(index, count) for p in self.pseudos)


@dataclass(frozen=True)
class Selector:
    compounds: tuple[Compound, ...]  # left to right
    combinators: tuple[str, ...]  # between compounds: "+" or "~"
    text: str

    @property
    def specificity(self) -> tuple[int, int, int]:
        classes = sum(len(c.classes) + len(c.pseudos) for c in self.compounds)
        types = sum(1 for c in self.compounds if c.typed)
        return (0, classes, types)

    def matches(self, elements: Sequence[Element], index: int) -> bool:
        return self._match_from(elements, index, len(self.compounds) - 1)

    def _match_from(self, elements: Sequence[Element], index: int, part: int) -> bool:
        if not self.compounds[part].matches(elements[index], index, len(elements)):
            return False
        if part == 0:
            return True
        if self.combinators[part - 1] == "+":
            return index > 0 and self._match_from(elements, index - 1, part - 1)
        return any(self._match_from(elements, j, part - 1) for j in range(index - 1, -1, -1))


@dataclass(frozen=True)
class Element:
    """A ``<stream>`` of the virtual DOM, as selectors see it."""

    classes: frozenset[str] = frozenset()


@dataclass(frozen=True)
class Declaration:
    prop: str
    value: object
    important: bool


@dataclass(frozen=True)
class Rule:
    selectors: tuple[Selector, ...]
    declarations: tuple[Declaration, ...]


Position = Literal["static", "relative", "absolute"]
Display = Literal["block", "inline", "inline-block", "none"]
Float = Literal["none", "left", "right"]
Clear = Literal["none", "left", "right", "both"]
Fit = Literal["contain", "cover"]


@dataclass
class Style:
    """The computed style of one stream element (CSS initial values, then the cascade)."""

    position: Position = "static"
    display: Display = "block"
    float: Float = "none"
    clear: Clear = "none"
    left: LengthValue = AUTO
    right: LengthValue = AUTO
    top: LengthValue = AUTO
    bottom: LengthValue = AUTO
    width: LengthValue = AUTO
    height: LengthValue = AUTO
    min_width: Length = field(default_factory=lambda: Length(0, "px"))
    min_height: Length = field(default_factory=lambda: Length(0, "px"))
    max_width: LengthValue = None  # none
    max_height: LengthValue = None
    margin_left: LengthValue = field(default_factory=lambda: Length(0, "px"))
    margin_right: LengthValue = field(default_factory=lambda: Length(0, "px"))
    margin_top: LengthValue = field(default_factory=lambda: Length(0, "px"))
    margin_bottom: LengthValue = field(default_factory=lambda: Length(0, "px"))
    z_index: int | None = None  # auto
    object_fit: Fit = "contain"

    @property
    def positioned(self) -> bool:
        return self.position != "static"


# ---- values ------------------------------------------------------------------------------------
_NUMBER = r"[+-]?(?:\d+\.?\d*|\.\d+)"
_LENGTH_RE = re.compile(rf"^({_NUMBER})(px|%)?$", re.IGNORECASE)
_KEYWORDS: dict[str, tuple[str, ...]] = {
    "position": ("static", "relative", "absolute"),
    "display": ("block", "inline", "inline-block", "none"),
    "float": ("none", "left", "right"),
    "clear": ("none", "left", "right", "both", "initial", "inherit"),
    "object-fit": ("contain", "cover"),
    "overflow": ("hidden", "visible"),
}
_LENGTH_PROPS = {
    # property: (auto keyword allowed, "none" allowed, negative allowed)
    "left": ("auto", False, True), "right": ("auto", False, True),
    "top": ("auto", False, True), "bottom": ("auto", False, True),
    "width": ("auto", False, False), "height": ("auto", False, False),
    "min-width": (None, False, False), "min-height": (None, False, False),
    "max-width": (None, True, False), "max-height": (None, True, False),
    "margin-left": ("auto", False, True), "margin-right": ("auto", False, True),
    "margin-top": ("auto", False, True), "margin-bottom": ("auto", False, True),
}
SUPPORTED_PROPERTIES = tuple(sorted({*_KEYWORDS, *_LENGTH_PROPS, "margin", "z-index"}))


def _length(prop: str, text: str, where: str) -> LengthValue:
    auto, none_ok, negative_ok = _LENGTH_PROPS[prop]
    low = text.lower()
    if auto is not None and low == "auto":
        return AUTO
    if none_ok and low == "none":
        return None
    m = _LENGTH_RE.match(low)
    if m is None:
        raise LayoutError(f"{where}: {prop}: {text!r} is not a length (a number with px or %)")
    value, unit = float(m.group(1)), m.group(2)
    if unit is None:
        if value != 0:
            raise LayoutError(f"{where}: {prop}: {text!r} needs a unit (px or %)")
        unit = "px"
    if value < 0 and not negative_ok:
        raise LayoutError(f"{where}: {prop} cannot be negative ({text!r})")
    return Length(value, "%" if unit == "%" else "px")


def _declarations(prop: str, text: str, important: bool, where: str) -> list[Declaration]:
    if prop in _KEYWORDS:
        value = text.lower()
        if value not in _KEYWORDS[prop]:
            raise LayoutError(f"{where}: {prop}: {text!r} is not one of {', '.join(_KEYWORDS[prop])}")
        if prop == "clear" and value in ("initial", "inherit"):
            value = "none"  # the archive element's clear is none
        if prop == "overflow":
            return []  # streams are always clipped to the picture
        return [Declaration(prop, value, important)]
    if prop in _LENGTH_PROPS:
        return [Declaration(prop, _length(prop, text, where), important)]
    if prop == "margin":
        parts = text.split()
        if not 1 <= len(parts) <= 4:
            raise LayoutError(f"{where}: margin takes 1 to 4 lengths, not {text!r}")
        values = [_length("margin-top", p, where) for p in parts]
        top, right, bottom, left = {
            1: lambda v: (v[0], v[0], v[0], v[0]),
            2: lambda v: (v[0], v[1], v[0], v[1]),
            3: lambda v: (v[0], v[1], v[2], v[1]),
            4: lambda v: (v[0], v[1], v[2], v[3]),
        }[len(values)](values)
        return [Declaration("margin-top", top, important), Declaration("margin-right", right, important),
                Declaration("margin-bottom", bottom, important), Declaration("margin-left", left, important)]
    if prop == "z-index":
        if text.lower() == "auto":
            return [Declaration(prop, None, important)]
        if not re.fullmatch(r"[+-]?\d+", text):
            raise LayoutError(f"{where}: z-index: {text!r} is not an integer")
        return [Declaration(prop, int(text), important)]
    raise LayoutError(f"{where}: unsupported property {prop!r} (supported: {', '.join(SUPPORTED_PROPERTIES)})")


# ---- selectors -----------------------------------------------------------------------------------
_IDENT = r"-?[A-Za-z_][A-Za-z0-9_-]*"
_COMPOUND_RE = re.compile(rf"(stream)?((?:\.{_IDENT}|:{_IDENT}(?:\([^)]*\))?)*)$", re.IGNORECASE)
_PART_RE = re.compile(rf"\.({_IDENT})|:({_IDENT})(?:\(([^)]*)\))?")
_NTH_RE = re.compile(r"^([+-]?\d*)n\s*(?:([+-])\s*(\d+))?$|^([+-]?\d+)$")


def _nth(arg: str, where: str) -> Nth:
    text = arg.strip().lower()
    if text == "odd":
        return Nth(2, 1)
    if text == "even":
        return Nth(2, 0)
    m = _NTH_RE.match(text)
    if m is None:
        raise LayoutError(f"{where}: {arg!r} is not an nth-child argument (an+b, odd or even)")
    if m.group(4) is not None:
        return Nth(0, int(m.group(4)))
    a_text = m.group(1)
    a = -1 if a_text == "-" else 1 if a_text in ("", "+") else int(a_text)
    b = int(m.group(3)) * (-1 if m.group(2) == "-" else 1) if m.group(3) else 0
    return Nth(a, b)


def _compound(text: str, where: str) -> Compound:
    if not text:
        raise LayoutError(f"{where}: empty selector")
    if text.startswith("*"):
        raise LayoutError(f"{where}: the universal selector (*) is not supported")
    if "#" in text:
        raise LayoutError(f"{where}: id selectors ({text}) are not supported")
    if "[" in text:
        raise LayoutError(f"{where}: attribute selectors ({text}) are not supported")
    if "::" in text:
        raise LayoutError(f"{where}: pseudo-elements ({text}) are not supported")
    m = _COMPOUND_RE.match(text)
    if m is None:
        name = re.match(_IDENT, text)
        if name is not None and not text.lower().startswith("stream"):
            raise LayoutError(f"{where}: only stream elements can be selected, not {name.group(0)!r}")
        raise LayoutError(f"{where}: cannot parse selector {text!r}")
    classes: set[str] = set()
    pseudos: list[Pseudo] = []
    for cls, pseudo, arg in _PART_RE.findall(m.group(2)):
        if cls:
            classes.add(cls)
            continue
        name = pseudo.lower()
        if name in ("first-child", "last-child"):
            if arg:
                raise LayoutError(f"{where}: :{name} takes no argument")
            pseudos.append(Pseudo(name))  # type: ignore[arg-type]
        elif name in ("nth-child", "nth-last-child"):
            pseudos.append(Pseudo(name, _nth(arg, where)))  # type: ignore[arg-type]
        else:
            raise LayoutError(f"{where}: the pseudo-class :{pseudo} is not supported "
                              "(:first-child, :last-child, :nth-child(), :nth-last-child())")
    return Compound(typed=m.group(1) is not None, classes=frozenset(classes), pseudos=tuple(pseudos))


def _selector_tokens(text: str) -> list[str]:
    """Compounds, combinators ("+", "~") and " " (whitespace) at parenthesis depth 0."""
    tokens: list[str] = []
    buf = ""
    depth = 0
    for ch in text:
        if ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
        if depth == 0 and (ch.isspace() or ch in "+~"):
            if buf:
                tokens.append(buf)
                buf = ""
            if ch in "+~":
                tokens.append(ch)
            elif tokens and tokens[-1] != " ":
                tokens.append(" ")
            continue
        buf += ch
    if buf:
        tokens.append(buf)
    # whitespace around a combinator is not a combinator itself
    return [t for i, t in enumerate(tokens)
            if t != " " or not ((i > 0 and tokens[i - 1] in "+~") or (i + 1 < len(tokens) and tokens[i + 1] in "+~"))]


def _selector(text: str, where: str) -> Selector:
    text = text.strip()
    if not text:
        raise LayoutError(f"{where}: empty selector")
    if ">" in text:
        raise LayoutError(f"{where}: child selectors (a > b) are not supported")
    compounds: list[Compound] = []
    combinators: list[str] = []
    expect_compound = True
    for tok in _selector_tokens(text):
        if tok == " ":
            raise LayoutError(f"{where}: descendant selectors ({text}) are not supported")
        if tok in ("+", "~"):
            if expect_compound:
                raise LayoutError(f"{where}: selector {text!r} has a combinator without an element before it")
            combinators.append(tok)
            expect_compound = True
            continue
        compounds.append(_compound(tok, where))
        expect_compound = False
    if expect_compound:
        raise LayoutError(f"{where}: selector {text!r} ends with a combinator")
    if len(compounds) > MAX_COMPOUNDS:
        raise LayoutError(f"{where}: selector {text!r} is too long (at most {MAX_COMPOUNDS} parts)")
    return Selector(tuple(compounds), tuple(combinators), text)


# ---- the sheet -------------------------------------------------------------------------------------
def _strip_comments(text: str) -> str:
    out: list[str] = []
    pos = 0
    while True:
        start = text.find("/*", pos)
        if start < 0:
            out.append(text[pos:])
            return "".join(out)
        end = text.find("*/", start + 2)
        if end < 0:
            line = text.count("\n", 0, start) + 1
            raise LayoutError(f"stylesheet line {line}: unterminated comment")
        out.append(text[pos:start])
        out.append(re.sub(r"[^\n]", " ", text[start : end + 2]))  # keep line numbers
        pos = end + 2


@dataclass(frozen=True)
class Stylesheet:
    rules: tuple[Rule, ...]
    source: str = ""

    @classmethod
    def parse(cls, text: str) -> Stylesheet:
        if not isinstance(text, str):
            raise LayoutError("the stylesheet must be a string")
        if len(text) > MAX_STYLESHEET_CHARS:
            raise LayoutError(f"the stylesheet is too long ({len(text)} characters, at most {MAX_STYLESHEET_CHARS})")
        body = _strip_comments(text)
        rules: list[Rule] = []
        pos = 0
        while True:
            while pos < len(body) and body[pos].isspace():
                pos += 1
            if pos >= len(body):
                break
            line = body.count("\n", 0, pos) + 1
            where = f"stylesheet line {line}"
            if body[pos] == "@":
                raise LayoutError(f"{where}: at-rules ({body[pos:].split()[0]}) are not supported")
            if body[pos] == "}":
                raise LayoutError(f"{where}: unexpected '}}'")
            open_at = body.find("{", pos)
            close_at = body.find("}", pos)
            if open_at < 0 or (0 <= close_at < open_at):
                raise LayoutError(f"{where}: expected '{{' after the selector {body[pos:].strip()[:40]!r}")
            end = body.find("}", open_at + 1)
            nested = body.find("{", open_at + 1)
            if end < 0:
                raise LayoutError(f"{where}: the block opened here is never closed with '}}'")
            if 0 <= nested < end:
                raise LayoutError(f"stylesheet line {body.count(chr(10), 0, nested) + 1}: unexpected '{{'")
            selectors = tuple(_selector(s, where) for s in body[pos:open_at].split(","))
            declarations: list[Declaration] = []
            block_line = body.count("\n", 0, open_at) + 1
            offset = open_at + 1
            for chunk in body[open_at + 1 : end].split(";"):
                decl_start = offset + len(chunk) - len(chunk.lstrip())
                chunk_line = block_line + body.count("\n", open_at, decl_start)
                offset += len(chunk) + 1
                text_decl = chunk.strip()
                if not text_decl:
                    continue
                dwhere = f"stylesheet line {chunk_line}"
                if ":" not in text_decl:
                    raise LayoutError(f"{dwhere}: expected 'property: value', got {text_decl!r}")
                prop, _, value = text_decl.partition(":")
                prop = prop.strip().lower()
                value = value.strip()
                important = False
                m = re.search(r"!\s*important\s*$", value, re.IGNORECASE)
                if m is not None:
                    important = True
                    value = value[: m.start()].strip()
                if not re.fullmatch(r"-?[a-z][a-z-]*", prop):
                    raise LayoutError(f"{dwhere}: {prop!r} is not a property name")
                if not value:
                    raise LayoutError(f"{dwhere}: {prop} has no value")
                declarations.extend(_declarations(prop, value, important, dwhere))
            rules.append(Rule(selectors, tuple(declarations)))
            pos = end + 1
        return cls(tuple(rules), text)

    def compute(self, elements: Sequence[Element]) -> list[Style]:
        """The computed style of each element (siblings in DOM order)."""
        styles: list[Style] = []
        for index in range(len(elements)):
            matched: list[tuple[tuple[bool, tuple[int, int, int], int, int], Declaration]] = []
            for order, rule in enumerate(self.rules):
                best: tuple[int, int, int] | None = None
                for selector in rule.selectors:
                    if selector.matches(elements, index):
                        spec = selector.specificity
                        best = spec if best is None or spec > best else best
                if best is None:
                    continue
                for k, decl in enumerate(rule.declarations):
                    matched.append(((decl.important, best, order, k), decl))
            matched.sort(key=lambda item: item[0])
            style = Style()
            for _key, decl in matched:
                setattr(style, decl.prop.replace("-", "_"), decl.value)
            styles.append(style)
        return styles
