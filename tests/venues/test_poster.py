"""The place-code poster: a QR code that reads back as the check-in URL, an A4 SVG poster, and its HTML page."""

from __future__ import annotations

import io
import re
import xml.etree.ElementTree as ET

import pytest
import segno
import zxingcpp
from hypothesis import given, settings
from hypothesis import strategies as st
from PIL import Image
from starlette.requests import Request

from fangkong.venues import poster
from fangkong.venues.poster import PosterData, fit_venue_name, poster_context, poster_svg, qr_svg
from fangkong.web import templating
from fangkong.web.svg_text import TextBlock, text_width_em

SVG = "{http://www.w3.org/2000/svg}"
XML_LANG = "{http://www.w3.org/XML/1998/namespace}lang"
URL = "http://127.0.0.1:8000/v/Zk3vQ9pX2mRt7LwYc4NbHs"
LONG_NAME = "大石桥市钢都街道福安社区综合农贸市场"


def make_data(**changes: object) -> PosterData:
    values: dict[str, object] = {
        "venue_name": LONG_NAME,
        "venue_ref": "V0001234",
        "kind_label": "农贸市场",
        "address": "辽宁省营口市大石桥市钢都街道福安社区青花大街 118 号",
        "url": URL,
        "retention_days": 14,
    }
    values.update(changes)
    return PosterData(**values)  # type: ignore[arg-type]


def parse(svg: str) -> ET.Element:
    """Our own output, not untrusted input: the stdlib parser is fine (and is what the test is about)."""
    return ET.fromstring(svg)  # noqa: S314


def decode_png(qr: segno.QRCode) -> list[str]:
    buffer = io.BytesIO()
    qr.save(buffer, kind="png", scale=8, border=poster.QR_BORDER)
    buffer.seek(0)
    return [result.text for result in zxingcpp.read_barcodes(Image.open(buffer))]


def all_text(element: ET.Element) -> str:
    return "".join(element.itertext())


def texts_of_class(root: ET.Element, css_class: str) -> list[ET.Element]:
    return [e for e in root.iter(f"{SVG}text") if e.get("class") == css_class]


def name_lines(root: ET.Element) -> list[str]:
    (name,) = texts_of_class(root, "venue-name")
    return [span.text or "" for span in name.iter(f"{SVG}tspan")]


def make_request(lang: str) -> Request:
    header = b"en-US,en;q=0.9" if lang == "en" else b"zh-CN,zh;q=0.9"
    return Request({"type": "http", "method": "GET", "path": "/", "headers": [(b"accept-language", header)]})


def render_page(context: dict[str, object], lang: str = "zh") -> str:
    return templating.render(make_request(lang), "venues/poster.html", context).body.decode()


# ---------------------------------------------------------------- the QR code


@pytest.mark.parametrize(
    "url",
    [
        URL,  # secrets.token_urlsafe(16): 22 characters
        "http://127.0.0.1:8000/v/" + "Ab3_-9xQ" * 5 + "zZ0",  # 43 characters: token_urlsafe(32)
        "https://fangkong.yingkou.gov.cn/v/Zk3vQ9pX2mRt7LwYc4NbHs-_x",
    ],
)
def test_it_encodes_the_check_in_url_in_a_qr_code_that_decodes_back(url: str) -> None:
    qr = poster.make_qr(url)

    assert decode_png(qr) == [url]
    assert qr.error == "Q"
    assert not qr.is_micro


def test_it_makes_an_inline_scalable_qr_svg_with_a_quiet_zone() -> None:
    svg = qr_svg(URL)
    root = parse(svg)
    modules = poster.make_qr(URL).symbol_size(border=0)[0]

    assert svg.startswith("<svg ")  # no XML declaration: it goes inside HTML
    assert root.tag == f"{SVG}svg"
    assert root.get("viewBox") == f"0 0 {modules + 8} {modules + 8}"
    assert root.get("width") is None
    assert root.get("height") is None  # CSS decides the size
    # The quiet zone: four light modules on every side of the symbol (segno's matrix is the symbol itself).
    matrix = [list(row) for row in poster.make_qr(URL).matrix_iter(border=poster.QR_BORDER)]
    edge = [*matrix[:4], *matrix[-4:], *[row[:4] + row[-4:] for row in matrix]]
    assert not any(any(row) for row in edge)
    assert any(matrix[4])


def test_it_makes_the_same_qr_svg_for_the_same_url() -> None:
    assert qr_svg(URL) == qr_svg(URL)
    assert qr_svg(URL) != qr_svg(URL + "x")


# ---------------------------------------------------------------- the SVG poster


def test_it_draws_a_well_formed_a4_svg_poster_with_everything_on_it() -> None:
    svg = poster_svg(make_data(), lang="zh")
    root = parse(svg)
    text = all_text(root)

    assert not svg.startswith("<?xml")
    assert root.tag == f"{SVG}svg"
    assert (root.get("width"), root.get("height"), root.get("viewBox")) == ("210mm", "297mm", "0 0 2100 2970")
    assert "".join(name_lines(root)) == LONG_NAME
    assert "场所码" in text
    assert "Place code" in text
    assert "V0001234" in text
    assert "农贸市场" in text
    assert "辽宁省营口市大石桥市钢都街道福安社区青花大街 118 号" in text
    assert "用手机扫码登记" in text
    assert "Scan with your phone to check in" in text
    assert "每次进入请扫码；登记信息保存 14 天后自动删除" in text
    assert "Scan every time you enter; check-ins are deleted after 14 days" in text
    assert "防控" in text
    assert "fangkong" in text
    assert "Noto Sans CJK SC" in (root.get("font-family") or "")


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_it_prints_the_instructions_in_both_languages_with_the_readers_first(lang: str) -> None:
    root = parse(poster_svg(make_data(retention_days=21), lang=lang))
    scan = texts_of_class(root, "scan")
    retention = texts_of_class(root, "retention")
    first, second = ("zh-CN", "en") if lang == "zh" else ("en", "zh-CN")

    assert root.get(XML_LANG) == first
    assert [t.get(XML_LANG) for t in scan] == [first, second]
    assert [t.get(XML_LANG) for t in retention] == [first, second]
    assert float(scan[0].get("font-size") or 0) > float(scan[1].get("font-size") or 0)
    assert {all_text(t) for t in scan} == {"用手机扫码登记", "Scan with your phone to check in"}
    assert {all_text(t) for t in retention} == {
        "每次进入请扫码；登记信息保存 21 天后自动删除",
        "Scan every time you enter; check-ins are deleted after 21 days",
    }


def test_it_refuses_a_language_it_does_not_have() -> None:
    with pytest.raises(ValueError, match="unsupported language"):
        poster_svg(make_data(), lang="fr")


@pytest.mark.parametrize("token_length", [22, 32, 43])
def test_it_makes_the_qr_symbol_at_least_120_mm_wide_on_the_poster(token_length: int) -> None:
    url = "http://127.0.0.1:8000/v/" + "x" * token_length
    root = parse(poster_svg(make_data(url=url), lang="zh"))
    (qr,) = [e for e in root.iter(f"{SVG}svg") if e is not root]
    width_mm = float(qr.get("width") or 0) / 10
    modules = poster.make_qr(url).symbol_size(border=0)[0]
    quiet = poster.QR_BORDER * 2

    assert qr.get("viewBox") == f"0 0 {modules + quiet} {modules + quiet}"
    assert width_mm * modules / (modules + quiet) >= 120
    assert float(qr.get("x") or 0) + width_mm * 10 <= poster.A4_WIDTH
    assert float(qr.get("y") or 0) + width_mm * 10 <= poster.A4_HEIGHT


def test_it_escapes_markup_in_everything_the_venue_wrote() -> None:
    name = 'Tom & Jerry\'s <b>"Bar"</b>'
    svg = poster_svg(make_data(venue_name=name, venue_ref="V<1>&", kind_label="<i>", address="1 & 2 <Road>"), lang="en")
    root = parse(svg)

    assert "<b>" not in svg
    assert "<i>" not in svg
    assert "&amp;" in svg
    assert "&lt;b&gt;" in svg
    assert " ".join(name_lines(root)) == name
    assert "V<1>&" in all_text(root)
    assert "1 & 2 <Road>" in all_text(root)
    title = root.find(f"{SVG}title")
    assert title is not None
    assert name in (title.text or "")


def test_it_drops_characters_that_xml_cannot_carry() -> None:
    root = parse(poster_svg(make_data(venue_name="福安\x00超市\x1b\x0c"), lang="zh"))

    assert name_lines(root) == ["福安超市"]


@settings(max_examples=60, deadline=None)
@given(name=st.text(max_size=60), address=st.text(max_size=40), kind=st.text(max_size=12))
def test_it_always_draws_well_formed_xml(name: str, address: str, kind: str) -> None:
    parse(poster_svg(make_data(venue_name=name, address=address, kind_label=kind), lang="zh"))


# ---------------------------------------------------------------- wrapping the name


@pytest.mark.parametrize(
    "name",
    [
        "站前区人民医院",
        LONG_NAME,
        "营口市鲅鱼圈区海星街道山海广场社区第二综合农贸市场东门临时核酸采样点",
        "营口市站前区（建设街道）“好邻居”超市 Good Neighbour Supermarket No. 3 Branch",
        "Yingkou Bayuquan International Conference & Exhibition Center <North Hall>",
        "WWWWWWWW MMMMMMMM WWWWWWWW MMMMMMMM WWWWWWWW",
        "超" * 80,
        "A" * 120,
    ],
)
def test_it_wraps_any_name_into_at_most_three_lines_within_the_width(name: str) -> None:
    block = fit_venue_name(name)
    root = parse(poster_svg(make_data(venue_name=name), lang="zh"))

    assert 1 <= len(block.lines) <= poster.NAME_MAX_LINES
    assert all(text_width_em(line) * block.size <= poster.NAME_WIDTH for line in block.lines)
    assert len(block.lines) * block.size * poster.NAME_LINE_HEIGHT <= poster.NAME_BOTTOM - poster.NAME_TOP
    assert name_lines(root) == list(block.lines)


def test_it_sets_a_long_chinese_name_large_in_two_even_lines() -> None:
    block = fit_venue_name(LONG_NAME)

    assert block.lines == ("大石桥市钢都街道福", "安社区综合农贸市场")
    assert block.size == max(poster.NAME_SIZES)


def test_it_sets_a_short_name_on_one_line_at_the_largest_size() -> None:
    assert fit_venue_name("站前区人民医院") == TextBlock(max(poster.NAME_SIZES), ("站前区人民医院",))


def test_it_never_breaks_a_latin_word() -> None:
    name = "Yingkou Bayuquan International Conference & Exhibition Center <North Hall>"
    block = fit_venue_name(name)

    assert len(block.lines) > 1
    assert " ".join(block.lines) == name
    assert [word for line in block.lines for word in line.split(" ")] == name.split(" ")


def test_it_keeps_closing_punctuation_off_the_start_of_a_line() -> None:
    for name in ["营口市站前区（建设街道）“好邻居”超市，东门、西门", "福安社区综合农贸市场（东门）" * 3]:
        for line in fit_venue_name(name).lines[1:]:
            assert line[0] not in "）”，、。；：？！", line
        for line in fit_venue_name(name).lines:
            assert line[-1] not in "（“", line


def test_it_shrinks_before_it_cuts_and_cuts_only_what_cannot_fit() -> None:
    fits = "营口市鲅鱼圈区海星街道山海广场社区第二综合农贸市场东门临时核酸采样点"
    too_long = "超" * 80

    assert "".join(fit_venue_name(fits).lines) == fits
    assert fit_venue_name(fits).size < max(poster.NAME_SIZES)
    cut = fit_venue_name(too_long)
    assert cut.size == min(poster.NAME_SIZES)
    assert len(cut.lines) == poster.NAME_MAX_LINES
    assert cut.lines[-1].endswith("…")


def test_it_measures_chinese_wider_than_latin() -> None:
    assert text_width_em("福安") == 2
    assert text_width_em("ab") < 2
    assert text_width_em("W") >= text_width_em("i")


# ---------------------------------------------------------------- the HTML page


def test_it_gives_the_template_every_value_it_documents() -> None:
    context = poster_context(make_data(), svg_url="/venues/V0001234/poster.svg")

    assert context == {
        "venue_name": LONG_NAME,
        "venue_ref": "V0001234",
        "kind_label": "农贸市场",
        "address": "辽宁省营口市大石桥市钢都街道福安社区青花大街 118 号",
        "url": URL,
        "qr": qr_svg(URL),
        "retention_days": 14,
        "svg_url": "/venues/V0001234/poster.svg",
        "name_size": fit_venue_name(LONG_NAME).size,
    }


def test_it_renders_the_printable_page_with_the_inline_qr_and_the_print_stylesheet() -> None:
    page = render_page(poster_context(make_data(), svg_url="/venues/V0001234/poster.svg"))

    assert page.startswith("<!doctype html>")
    assert '<html lang="zh-CN">' in page
    assert "<title>场所码海报 · 大石桥市钢都街道福安社区综合农贸市场</title>" in page
    assert qr_svg(URL) in page
    assert re.search(r'<link rel="stylesheet" href="/static/css/poster\.css\?v=[0-9a-f]{10}">', page)
    assert "data-print>打印</button>" in page  # bound by js/poster.js: the Content-Security-Policy allows no onclick
    assert re.search(r'<script src="/static/js/poster\.js\?v=[0-9a-f]{10}" defer></script>', page)
    assert "onclick" not in page
    assert '<a class="toolbar__button" href="/venues/V0001234/poster.svg" download>下载 SVG</a>' in page
    assert "V0001234" in page
    for line in (
        poster.SCAN_ZH,
        poster.SCAN_EN,
        poster.RETENTION_ZH % {"days": 14},
        poster.RETENTION_EN % {"days": 14},
    ):
        assert line in page


def test_it_styles_the_page_for_exactly_one_a4_sheet_in_print() -> None:
    css = (templating.STATIC_DIR / "css" / "poster.css").read_text(encoding="utf-8")
    print_rules = css[css.index("@media print") :]

    assert "@page { size: A4; margin: 0; }" in css
    assert ".toolbar { display: none; }" in print_rules
    assert "width: 210mm;" in print_rules
    assert "height: 297mm;" in print_rules
    assert "box-shadow: none;" in print_rules


def test_it_renders_the_page_in_english_with_both_languages_on_the_sheet() -> None:
    page = render_page(poster_context(make_data()), lang="en")

    assert '<html lang="en">' in page
    assert ">Print</button>" in page
    assert page.index(poster.SCAN_EN) < page.index(poster.SCAN_ZH)
    assert "Download SVG" not in page  # no svg_url, no link


def test_it_escapes_the_venue_texts_in_the_page() -> None:
    page = render_page(poster_context(make_data(venue_name="<script>alert(1)</script> & Co", address='"x"')))

    assert "<script>" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt; &amp; Co" in page
    assert "&#34;x&#34;" in page


def test_it_renders_with_only_the_context_the_template_documents_as_required() -> None:
    context = poster_context(make_data(venue_name="站前区人民医院"))
    del context["name_size"]

    page = render_page(context)

    assert 'style="--size: 150"' in page
