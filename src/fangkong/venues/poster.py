"""The printable place-code poster (场所码): its QR code as SVG, the A4 poster as SVG, and the page's context.

Pure: no I/O, no database. Lengths on the poster are tenths of a millimetre: the viewBox of an A4 sheet is
2100 × 2970. SVG has no text wrapping: names and addresses are measured, wrapped and shrunk to fit by
fangkong.web.svg_text.

The instructions are always printed in Chinese and in English, whatever the reader's language: a poster on a
wall is read by everyone who passes. The language chosen only decides which of the two comes first and larger.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from typing import Final

import segno

from fangkong.web import svg_text
from fangkong.web.svg_text import ELLIPSIS, TextBlock, fit_text, number, one_line, text_width_em, xml_text

__all__ = [
    "A4_HEIGHT",
    "A4_WIDTH",
    "FONT_FAMILY",
    "NAME_MAX_LINES",
    "NAME_WIDTH",
    "QR_BORDER",
    "QR_SIZE",
    "RETENTION_EN",
    "RETENTION_ZH",
    "SCAN_EN",
    "SCAN_ZH",
    "PosterData",
    "fit_venue_name",
    "make_qr",
    "poster_context",
    "poster_svg",
    "qr_svg",
]

# ---------------------------------------------------------------- the QR code

# Q restores a quarter of the symbol: posters get scratched, wet, half covered by a door or a sticker.
QR_ERROR: Final = "q"
QR_BORDER: Final = 4  # the quiet zone, in modules, that ISO/IEC 18004 requires around the symbol
QR_DARK: Final = "#000"
QR_LIGHT: Final = "#fff"


def make_qr(url: str) -> segno.QRCode:
    """The QR symbol of a check-in URL: always a full QR code (never Micro QR), error correction exactly Q."""
    return segno.make_qr(url, error=QR_ERROR, boost_error=False)


def qr_svg(url: str) -> str:
    """The QR code as an `<svg>` element to inline in HTML or nest in SVG.

    No XML declaration and no width or height: only a viewBox in modules, so CSS (or the parent SVG) sizes it.
    The quiet zone of 4 modules is painted white, so the code scans on a coloured background too.
    """
    buffer = io.BytesIO()
    make_qr(url).save(
        buffer,
        kind="svg",
        border=QR_BORDER,
        dark=QR_DARK,
        light=QR_LIGHT,
        xmldecl=False,
        svgns=True,
        omitsize=True,
        nl=False,
        svgclass="qr",
        lineclass="qr__modules",
    )
    return buffer.getvalue().decode("utf-8")


# ---------------------------------------------------------------- the poster's layout (tenths of a millimetre)

A4_WIDTH: Final = 2100
A4_HEIGHT: Final = 2970
MARGIN: Final = 150
CENTRE: Final = A4_WIDTH // 2
CONTENT_WIDTH: Final = A4_WIDTH - 2 * MARGIN

HEADER_HEIGHT: Final = 220
KIND_TOP: Final = 256
KIND_HEIGHT: Final = 80
KIND_SIZE: Final = 46

NAME_TOP: Final = 356  # the name is centred vertically in NAME_TOP..NAME_BOTTOM
NAME_BOTTOM: Final = 746
NAME_WIDTH: Final = CONTENT_WIDTH
NAME_LINE_HEIGHT: Final = 1.2
NAME_MAX_LINES: Final = 3
NAME_SIZES: Final = (150, 132, 116, 104, 92, 80, 72)

# The QR with its quiet zone: 150 mm. The symbol itself is 150 × N / (N + 8) mm, 120.7 mm or more for every URL
# long enough to carry a 22-character token (QR version 4 and up), which phones read from 1–2 m.
QR_SIZE: Final = 1500
QR_TOP: Final = 810
QR_LEFT: Final = (A4_WIDTH - QR_SIZE) // 2

FOOTER_TOP: Final = 2840

INK: Final = "#1a2433"
INK_MUTED: Final = "#4a5668"
BRAND: Final = "#0b2545"
ACCENT: Final = "#1657b8"
TINT: Final = "#e8f0fc"
TINT_INK: Final = "#123f82"
ON_BRAND_MUTED: Final = "#c3d3ec"

FONT_FAMILY: Final = "'Noto Sans CJK SC', 'Source Han Sans SC', 'PingFang SC', 'Microsoft YaHei', sans-serif"
HTML_LANG: Final = {"zh": "zh-CN", "en": "en"}

# Always printed in both languages, so not in the gettext catalog (which picks one).
TITLE_ZH: Final = "场所码"
TITLE_EN: Final = "Place code"
SCAN_ZH: Final = "用手机扫码登记"
SCAN_EN: Final = "Scan with your phone to check in"
RETENTION_ZH: Final = "每次进入请扫码；登记信息保存 %(days)s 天后自动删除"
RETENTION_EN: Final = "Scan every time you enter; check-ins are deleted after %(days)s days"
REF_LABEL: Final = "场所编号 Ref"
ADDRESS_LABEL: Final = "地址 Address"
BRAND_ZH: Final = "防控"
BRAND_EN: Final = "fangkong"

# The shield of the site's header (base.html), in a 32 × 32 box.
_SHIELD: Final = "M16 2 4 6.5v8.7c0 7.3 5 13.4 12 14.8 7-1.4 12-7.5 12-14.8V6.5z"
_CROSS: Final = "M14.5 9h3v5.5H23v3h-5.5V23h-3v-5.5H9v-3h5.5z"


@dataclass(frozen=True, slots=True)
class PosterData:
    """What a poster shows. `kind_label` is already in the reader's language; `url` carries the venue's token."""

    venue_name: str
    venue_ref: str
    kind_label: str
    address: str
    url: str
    retention_days: int


def fit_venue_name(name: str) -> TextBlock:
    """The venue's name as the poster sets it: as large as fits, in up to three lines across the sheet."""
    return fit_text(
        name,
        width=NAME_WIDTH,
        sizes=NAME_SIZES,
        max_lines=NAME_MAX_LINES,
        height=NAME_BOTTOM - NAME_TOP,
        line_height=NAME_LINE_HEIGHT,
    )


def poster_context(data: PosterData, *, svg_url: str | None = None) -> dict[str, object]:
    """The context of templates/venues/poster.html (documented at the top of the template).

    `svg_url` is where the page links the SVG download; without it the page shows no such link. `name_size` is
    the size the SVG poster gives the name, so that both set it alike.
    """
    return {
        "venue_name": data.venue_name,
        "venue_ref": data.venue_ref,
        "kind_label": data.kind_label,
        "address": data.address,
        "url": data.url,
        "qr": qr_svg(data.url),
        "retention_days": data.retention_days,
        "svg_url": svg_url,
        "name_size": fit_venue_name(data.venue_name).size,
    }


# ---------------------------------------------------------------- the SVG poster


def _text(
    x: float,
    y: float,
    text: str,
    *,
    size: float,
    fill: str = INK,
    weight: int = 400,
    anchor: str = "middle",
    lang: str | None = None,
    css_class: str | None = None,
) -> str:
    return svg_text.text_element(x, y, text, size=size, fill=fill, weight=weight, anchor=anchor, lang=lang,
                                 css_class=css_class)  # fmt: skip


def _lines(
    block: TextBlock, *, first_baseline: float, line_height: float, css_class: str, fill: str, weight: int = 400
) -> str:
    """A multi-line text centred across the sheet."""
    return svg_text.lines_element(block, x=CENTRE, first_baseline=first_baseline, line_height=line_height,
                                  css_class=css_class, fill=fill, weight=weight)  # fmt: skip


def _nested_qr(url: str) -> str:
    """The QR's own <svg>, placed and sized inside the poster."""
    svg = qr_svg(url)
    assert svg.startswith("<svg ")
    placement = f'<svg x="{QR_LEFT}" y="{QR_TOP}" width="{QR_SIZE}" height="{QR_SIZE}" '
    return placement + svg.removeprefix("<svg ")


_LABEL_GAP: Final = 24


def _fit_after_label(label: str, text: str, *, sizes: tuple[float, ...]) -> tuple[float, str]:
    """One line of `label` then `text` across the sheet: the largest size that shows all of it, else cut."""
    for size in sizes:
        room = CONTENT_WIDTH - text_width_em(label) * size - _LABEL_GAP
        block = fit_text(text, width=room, sizes=(size,), max_lines=1)
        if not block.lines[0].endswith(ELLIPSIS) or size == sizes[-1]:
            return size, block.lines[0]
    raise AssertionError("unreachable")  # pragma: no cover


def _bilingual(primary_zh: bool, zh: str, en: str) -> tuple[tuple[str, str], tuple[str, str]]:
    """(text, lang) of the first and the second line: the reader's language first."""
    pair = ((zh, "zh-CN"), (en, "en"))
    return pair if primary_zh else (pair[1], pair[0])


def poster_svg(data: PosterData, *, lang: str) -> str:
    """The A4 poster as a standalone SVG document (210 × 297 mm), to download and print at 100 %.

    `lang` ("zh" or "en") is the language of the reader who asked for it: it comes first and larger; the other
    language is always printed too.
    """
    if lang not in HTML_LANG:
        raise ValueError(f"unsupported language {lang!r}; expected one of {', '.join(HTML_LANG)}")
    zh_first = lang == "zh"
    days = str(data.retention_days)
    parts: list[str] = []
    add = parts.append

    # Header band: what this is, in both languages.
    add(f'<rect width="{A4_WIDTH}" height="{HEADER_HEIGHT}" fill="{BRAND}"/>')
    add(
        f'<text x="{CENTRE}" y="146" text-anchor="middle" fill="#fff" class="poster-title">'
        f'<tspan font-size="104" font-weight="700" xml:lang="zh-CN">{TITLE_ZH}</tspan>'
        f'<tspan font-size="64" fill="{ON_BRAND_MUTED}" xml:lang="en"> · {TITLE_EN}</tspan></text>'
    )

    # What kind of place, as a tag above its name.
    kind = one_line(data.kind_label)
    if kind:
        kind_block = fit_text(kind, width=CONTENT_WIDTH - 120, sizes=(KIND_SIZE, 38), max_lines=1)
        label = kind_block.lines[0]
        pill = text_width_em(label) * kind_block.size + 100
        add(
            f'<rect x="{number(CENTRE - pill / 2)}" y="{KIND_TOP}" width="{number(pill)}" height="{KIND_HEIGHT}" '
            f'rx="{KIND_HEIGHT // 2}" fill="{TINT}"/>'
        )
        baseline = KIND_TOP + KIND_HEIGHT / 2 + kind_block.size * 0.36
        add(_text(CENTRE, baseline, label, size=kind_block.size, fill=TINT_INK, weight=700, css_class="venue-kind"))

    # The venue's name, as large as fits, centred in its band.
    name = fit_venue_name(data.venue_name)
    line_height = name.size * NAME_LINE_HEIGHT
    top = (NAME_TOP + NAME_BOTTOM) / 2 - len(name.lines) * line_height / 2
    first = top + (line_height - name.size) / 2 + name.size * 0.88
    add(_lines(name, first_baseline=first, line_height=line_height, css_class="venue-name", fill=INK, weight=700))

    # The QR code, framed.
    frame = 14
    add(
        f'<rect x="{QR_LEFT - frame}" y="{QR_TOP - frame}" width="{QR_SIZE + 2 * frame}" '
        f'height="{QR_SIZE + 2 * frame}" rx="36" fill="#fff" stroke="{BRAND}" stroke-width="8"/>'
    )
    add(_nested_qr(data.url))

    # What to do, in both languages: the reader's first and larger.
    (scan1, lang1), (scan2, lang2) = _bilingual(zh_first, SCAN_ZH, SCAN_EN)
    add(_text(CENTRE, 2428, scan1, size=84 if zh_first else 74, fill=BRAND, weight=700, lang=lang1, css_class="scan"))
    add(_text(CENTRE, 2498, scan2, size=48 if zh_first else 54, fill=BRAND, lang=lang2, css_class="scan"))
    (keep1, lang1), (keep2, lang2) = _bilingual(zh_first, RETENTION_ZH % {"days": days}, RETENTION_EN % {"days": days})
    for y, text, text_lang, sizes in ((2576, keep1, lang1, (42, 38, 34)), (2626, keep2, lang2, (36, 32, 28))):
        block = fit_text(text, width=CONTENT_WIDTH, sizes=sizes, max_lines=1)
        add(_text(CENTRE, y, block.lines[0], size=block.size, fill=INK_MUTED, lang=text_lang, css_class="retention"))

    # Which venue this is for the staff: the reference and the address.
    add(f'<line x1="{MARGIN}" y1="2666" x2="{A4_WIDTH - MARGIN}" y2="2666" stroke="#d5dbe3" stroke-width="3"/>')
    add(
        f'<text x="{CENTRE}" y="2726" text-anchor="middle" font-size="38" fill="{INK_MUTED}" class="venue-ref">'
        f'{xml_text(REF_LABEL)}<tspan dx="{_LABEL_GAP}" fill="{INK}" font-weight="700" letter-spacing="4">'
        f"{xml_text(data.venue_ref)}</tspan></text>"
    )
    if one_line(data.address):
        size, address = _fit_after_label(ADDRESS_LABEL, data.address, sizes=(36, 32, 28))
        add(
            f'<text x="{CENTRE}" y="2788" text-anchor="middle" font-size="{size}" fill="{INK_MUTED}" '
            f'class="venue-address">{xml_text(ADDRESS_LABEL)}'
            f'<tspan dx="{_LABEL_GAP}" fill="{INK}">{xml_text(address)}</tspan>'
            "</text>"
        )

    # Footer band: whose poster this is.
    footer_height = A4_HEIGHT - FOOTER_TOP
    add(f'<rect y="{FOOTER_TOP}" width="{A4_WIDTH}" height="{footer_height}" fill="{BRAND}"/>')
    brand_width = (text_width_em(BRAND_ZH) * 52 + text_width_em(" " + BRAND_EN) * 44) + 80
    mark_x = CENTRE - brand_width / 2
    add(
        f'<g transform="translate({number(mark_x)} {FOOTER_TOP + 33}) scale(2)">'
        f'<path fill="#fff" d="{_SHIELD}"/><path fill="{BRAND}" d="{_CROSS}"/></g>'
    )
    add(
        f'<text x="{number(mark_x + 80)}" y="{FOOTER_TOP + 84}" fill="#fff" class="brand">'
        f'<tspan font-size="52" font-weight="700" xml:lang="zh-CN">{BRAND_ZH}</tspan>'
        f'<tspan font-size="44" fill="{ON_BRAND_MUTED}" xml:lang="en"> {BRAND_EN}</tspan></text>'
    )

    title = f"{TITLE_ZH} · {TITLE_EN}: {one_line(data.venue_name)}"
    return (
        '<svg xmlns="http://www.w3.org/2000/svg" version="1.1" '
        f'width="210mm" height="297mm" viewBox="0 0 {A4_WIDTH} {A4_HEIGHT}" '
        f'xml:lang="{HTML_LANG[lang]}" font-family="{FONT_FAMILY}" role="img">'
        f"<title>{xml_text(title)}</title>"
        f'<rect width="{A4_WIDTH}" height="{A4_HEIGHT}" fill="#fff"/>' + "".join(parts) + "</svg>\n"
    )
