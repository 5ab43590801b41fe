"""Text in SVG, laid out here: SVG has no text wrapping, so text is measured by estimated width (`text_width_em`,
deliberately generous), wrapped in lines balanced over as few lines as fit, shrunk when they do not, and cut with
"…" only when even the smallest size would need more lines than there is room for; then written as SVG <text>.

Pure: no I/O. Lengths are in whatever unit the caller's viewBox uses.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from html import escape
from typing import Final

__all__ = [
    "ELLIPSIS",
    "TextBlock",
    "fit_text",
    "lines_element",
    "number",
    "one_line",
    "text_element",
    "text_width_em",
    "xml_text",
]

# Widths in em of the usual CJK sans-serif fonts (Noto Sans CJK SC and its peers), rounded up: an overestimate
# only wraps a line earlier, an underestimate would run it off the paper.
_SPACE_EM: Final = 0.3
_NARROW: Final = frozenset("iIjlft.,:;'|!`()[]{}\"")
_BROAD: Final = frozenset("MWmw@%&")
# Never at the start of a line (closing punctuation) or at its end (opening punctuation): 禁则 of CJK typesetting.
_CLOSING: Final = frozenset("）］｝〕】》〉」』”’，。、；：？！…·・％,.;:?!%)]}")
_OPENING: Final = frozenset("（［｛〔【《〈「『“‘([{")
ELLIPSIS: Final = "…"
# Characters XML 1.0 cannot carry at all; a name pasted from elsewhere might hold one.
NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


def _char_em(ch: str) -> float:
    if unicodedata.combining(ch):
        return 0.0
    if unicodedata.east_asian_width(ch) in ("W", "F"):
        return 1.0
    if ch == " ":
        return _SPACE_EM
    if ch in _NARROW:
        return 0.4
    if ch in _BROAD:
        return 1.0
    if ch.isascii():
        return 0.75 if ch.isupper() else 0.62
    return 1.0  # "ambiguous" width and other scripts: as wide as a Chinese character


def text_width_em(text: str) -> float:
    """The estimated width of `text`, in em (multiply by the font size)."""
    return sum(_char_em(ch) for ch in text)


def one_line(text: str) -> str:
    """One line of text: no characters XML refuses, runs of white space (newlines, tabs) as one space."""
    return " ".join(NOT_XML.sub("", text).split())


def _units(text: str) -> list[str]:
    """Units a line may break between: each Chinese character, each Latin word (never split), and spaces."""
    units: list[str] = []
    word = ""
    for ch in text:
        wide = unicodedata.east_asian_width(ch) in ("W", "F")
        if ch == " " or wide:
            if word:
                units.append(word)
                word = ""
            units.append(ch)
        else:
            word += ch
    if word:
        units.append(word)
    merged: list[str] = []
    for unit in units:
        glue = (
            merged
            and unit != " "
            and merged[-1] != " "
            and (unit[0] in _CLOSING or merged[-1][-1] in _OPENING or unicodedata.combining(unit[0]))
        )
        if glue:
            merged[-1] += unit
        else:
            merged.append(unit)
    return merged


def _greedy(units: list[str], width_em: float) -> list[str]:
    lines: list[str] = []
    line, used, space = "", 0.0, False
    for unit in units:
        if unit == " ":
            space = bool(line)
            continue
        width = text_width_em(unit)
        gap = _SPACE_EM if space else 0.0
        if line and used + gap + width > width_em + 1e-9:
            lines.append(line)
            line, used = unit, width
        else:
            line += (" " if space else "") + unit
            used += gap + width
        space = False
    if line:
        lines.append(line)
    return lines


def _balanced(units: list[str], width_em: float) -> list[str]:
    """As few lines as the greedy fill at `width_em`, but as even as possible: 9 + 9 characters, not 15 + 3."""
    lines = _greedy(units, width_em)
    if len(lines) <= 1:
        return lines
    low = max(text_width_em(t) for t in units if t != " ")
    high = width_em
    for _ in range(30):
        middle = (low + high) / 2
        if len(_greedy(units, middle)) <= len(lines):
            high = middle
        else:
            low = middle
    return _greedy(units, high)


def _split_word(unit: str, width_em: float) -> list[str]:
    """Only for a single word wider than a whole line at the smallest size: cut it where the line ends."""
    if text_width_em(unit) <= width_em:
        return [unit]
    pieces, piece = [], ""
    for ch in unit:
        if piece and text_width_em(piece + ch) > width_em:
            pieces.append(piece)
            piece = ""
        piece += ch
    return [*pieces, piece]


def _ellipsize(line: str, width_em: float) -> str:
    while line and text_width_em(line + ELLIPSIS) > width_em:
        line = line[:-1]
    return line.rstrip() + ELLIPSIS


@dataclass(frozen=True, slots=True)
class TextBlock:
    """Text laid out: the font size chosen and its lines, each within the width given."""

    size: float
    lines: tuple[str, ...]


def fit_text(
    text: str,
    *,
    width: float,
    sizes: tuple[float, ...],
    max_lines: int,
    height: float | None = None,
    line_height: float = 1.2,
) -> TextBlock:
    """The largest of `sizes` at which `text` fits in `max_lines` lines of `width`, with balanced lines.

    With `height`, a size may use only as many lines (of `line_height` × size) as fit in it. Chinese may break
    between any two characters (but not before closing or after opening punctuation); Latin words are never
    broken, except a single word longer than a whole line at the smallest size. What does not fit at the smallest
    size is cut at the end of its last line with "…".
    """
    units = _units(one_line(text))
    if not units:
        return TextBlock(sizes[0], ())

    def lines_allowed(size: float) -> int:
        if height is None:
            return max_lines
        return max(1, min(max_lines, int(height // (size * line_height))))

    for size in sizes:
        width_em = width / size
        lines = _greedy(units, width_em)
        if len(lines) <= lines_allowed(size) and all(text_width_em(line) <= width_em + 1e-9 for line in lines):
            return TextBlock(size, tuple(_balanced(units, width_em)))
    size = sizes[-1]
    width_em = width / size
    allowed = lines_allowed(size)
    pieces = [piece for unit in units for piece in _split_word(unit, width_em)]
    lines = _greedy(pieces, width_em)
    if len(lines) > allowed:
        lines = [*lines[: allowed - 1], _ellipsize(lines[allowed - 1], width_em)]
    return TextBlock(size, tuple(lines))


# ---------------------------------------------------------------- writing it as SVG


def xml_text(text: str) -> str:
    """Text or attribute value safe in XML: escaped (& < > " '), without characters XML cannot hold."""
    return escape(NOT_XML.sub("", text), quote=True)


def number(value: float) -> str:
    """A length or size as SVG writes it: one decimal at most, no trailing zeros."""
    return f"{value:.1f}".rstrip("0").rstrip(".")


def text_element(
    x: float,
    y: float,
    text: str,
    *,
    size: float,
    fill: str,
    weight: int = 400,
    anchor: str = "middle",
    lang: str | None = None,
    css_class: str | None = None,
) -> str:
    """One line of text as an SVG <text> element."""
    attrs = f'x="{number(x)}" y="{number(y)}" font-size="{number(size)}" fill="{fill}"'
    if weight != 400:
        attrs += f' font-weight="{weight}"'
    if anchor != "start":
        attrs += f' text-anchor="{anchor}"'
    if lang:
        attrs += f' xml:lang="{lang}"'
    if css_class:
        attrs += f' class="{css_class}"'
    return f"<text {attrs}>{xml_text(text)}</text>"


def lines_element(
    block: TextBlock,
    *,
    x: float,
    first_baseline: float,
    line_height: float,
    css_class: str,
    fill: str,
    weight: int = 400,
) -> str:
    """A multi-line text: one <text> with a <tspan> per line, each centred on `x`."""
    spans = "".join(
        f'<tspan x="{number(x)}" y="{number(first_baseline + i * line_height)}">{xml_text(line)}</tspan>'
        for i, line in enumerate(block.lines)
    )
    bold = f' font-weight="{weight}"' if weight != 400 else ""
    return (
        f'<text class="{css_class}" font-size="{number(block.size)}" fill="{fill}"{bold} text-anchor="middle">'
        f"{spans}</text>"
    )
