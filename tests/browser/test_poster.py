"""The place-code poster in a real browser: one A4 page when printed, a QR code that reads back from the rendering,
and names that stay inside the sheet. PDFs and pictures go to test-output/posters/ for a person to look at.

No server is needed: the page is served to chromium by Playwright's request routing, with its stylesheet read
from the package's static directory.
"""

from __future__ import annotations

import io
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from starlette.requests import Request

from fangkong.venues import poster
from fangkong.web import templating

POSTERS = Path(__file__).resolve().parents[2] / "test-output" / "posters"
ORIGIN = "http://poster.test"
URL = "http://127.0.0.1:8000/v/Zk3vQ9pX2mRt7LwYc4NbHs"  # a token of secrets.token_urlsafe(16)
# How many lines the name would take without the three-line limit.
NAME_LINES = """(() => {
  const name = document.querySelector('.sheet__name');
  const lineHeight = parseFloat(getComputedStyle(name).lineHeight);
  name.style.webkitLineClamp = 'unset';
  name.style.maxHeight = 'none';
  const lines = Math.round(name.getBoundingClientRect().height / lineHeight);
  name.style.webkitLineClamp = '';
  name.style.maxHeight = '';
  return lines;
})()"""
A4_PX = {"width": 794, "height": 1123}  # 210 × 297 mm at 96 px per inch

VENUES = {
    "market": poster.PosterData(
        venue_name="大石桥市钢都街道福安社区综合农贸市场",
        venue_ref="V0001234",
        kind_label="农贸市场",
        address="辽宁省营口市大石桥市钢都街道福安社区青花大街 118 号",
        url=URL,
        retention_days=14,
    ),
    "long-en": poster.PosterData(
        venue_name="Yingkou Bayuquan International Conference & Exhibition Center <North Hall>",
        venue_ref="V0009876",
        kind_label="Exhibition centre",
        address="No. 1 Haiyun Road, Bayuquan District, Yingkou, Liaoning",
        url="http://127.0.0.1:8000/v/" + "Ab3_-" * 8 + "xyz",  # 43 characters: token_urlsafe(32)
        retention_days=21,
    ),
    "three-lines": poster.PosterData(
        venue_name="营口市鲅鱼圈区海星街道山海广场社区第二综合农贸市场东门（临时）核酸采样点",
        venue_ref="V0000042",
        kind_label="核酸采样点",
        address="辽宁省营口市鲅鱼圈区海星街道山海广场社区平安大街与海滨路交叉口东北角第二综合农贸市场东门外停车场",
        url=URL,
        retention_days=14,
    ),
}


def _decode(png: bytes) -> list[str]:
    zxingcpp = pytest.importorskip("zxingcpp")
    image = pytest.importorskip("PIL.Image")
    return [result.text for result in zxingcpp.read_barcodes(image.open(io.BytesIO(png)))]


def _page_html(data: poster.PosterData, lang: str) -> str:
    header = "en-US,en;q=0.9" if lang == "en" else "zh-CN,zh;q=0.9"
    request = Request(
        {"type": "http", "method": "GET", "path": "/", "headers": [(b"accept-language", header.encode())]}
    )
    context = poster.poster_context(data, svg_url="/venues/V0001234/poster.svg")
    return templating.render(request, "venues/poster.html", context).body.decode()


def _serve(page: Any, html: str) -> None:
    """Answers chromium's requests for this origin: the page at /, files of web/static under /static/."""

    def handle(route: Any) -> None:
        path = route.request.url.removeprefix(ORIGIN).split("?", 1)[0]
        if path == "/":
            route.fulfill(status=200, content_type="text/html; charset=utf-8", body=html)
        elif path.startswith("/static/") and (templating.STATIC_DIR / path.removeprefix("/static/")).is_file():
            file = templating.STATIC_DIR / path.removeprefix("/static/")
            kind = {".css": "text/css", ".svg": "image/svg+xml"}.get(file.suffix, "application/octet-stream")
            route.fulfill(status=200, content_type=kind, body=file.read_bytes())
        else:
            route.fulfill(status=404, body="not here")

    page.route(f"{ORIGIN}/**", handle)
    page.goto(f"{ORIGIN}/")
    page.evaluate("document.fonts.ready")


@pytest.fixture
def sheet_page(browser: Any) -> Any:
    """A page as large as one A4 sheet, at twice the pixels (print-like resolution for the pictures)."""
    context = browser.new_context(viewport=A4_PX, device_scale_factor=2, locale="zh-CN")
    context.set_default_timeout(10_000)
    yield context.new_page()
    context.close()


@pytest.mark.parametrize(("venue", "lang"), [("market", "zh"), ("long-en", "en")])
def test_it_prints_the_poster_page_on_one_a4_sheet_with_a_qr_code_that_reads_back(
    sheet_page: Any, new_page: Callable[..., Any], venue: str, lang: str
) -> None:
    data = VENUES[venue]
    html = _page_html(data, lang)
    POSTERS.mkdir(parents=True, exist_ok=True)

    # On screen: the toolbar above the sheet, on a desk and on a phone.
    for viewport in ("desktop", "phone"):
        screen = new_page(viewport, locale="en-US" if lang == "en" else "zh-CN")
        _serve(screen, html)
        assert screen.get_by_role("button", name="打印" if lang == "zh" else "Print").is_visible()
        assert screen.evaluate("document.scrollingElement.scrollWidth <= window.innerWidth")
        screen.screenshot(path=str(POSTERS / f"page-{venue}-{lang}-screen-{viewport}.png"), full_page=True)

    # On paper: the sheet alone.
    _serve(sheet_page, html)
    sheet_page.emulate_media(media="print")
    assert not sheet_page.locator(".toolbar").is_visible()
    box = sheet_page.locator(".sheet").bounding_box()
    assert (round(box["x"]), round(box["y"]), round(box["width"]), round(box["height"])) == (0, 0, 794, 1123)
    # The whole name is shown: it needs no more than the three lines the sheet shows.
    assert sheet_page.evaluate(NAME_LINES) <= 3
    assert sheet_page.evaluate(
        "[...document.querySelectorAll('.sheet__fact dd, .sheet__kind span')]"
        ".every(e => e.scrollWidth <= e.clientWidth + 1)"
    )
    png = sheet_page.screenshot(path=str(POSTERS / f"page-{venue}-{lang}-print.png"))
    assert _decode(png) == [data.url]

    pdf = sheet_page.pdf(format="A4", print_background=True, prefer_css_page_size=True)
    (POSTERS / f"page-{venue}-{lang}.pdf").write_bytes(pdf)
    assert len(re.findall(rb"/Type\s*/Page\b", pdf)) == 1


@pytest.mark.parametrize(("venue", "lang"), [("market", "zh"), ("long-en", "en"), ("three-lines", "zh")])
def test_it_draws_the_svg_poster_inside_the_sheet_with_a_qr_code_that_reads_back(
    sheet_page: Any, venue: str, lang: str
) -> None:
    data = VENUES[venue]
    svg = poster.poster_svg(data, lang=lang)
    POSTERS.mkdir(parents=True, exist_ok=True)
    (POSTERS / f"poster-{venue}-{lang}.svg").write_text(svg, encoding="utf-8")
    page_html = (
        "<!doctype html><html><head><style>html,body{margin:0}svg{display:block;width:100vw;height:auto}</style>"
        f"</head><body>{svg}</body></html>"
    )
    _serve(sheet_page, page_html)

    png = sheet_page.screenshot(path=str(POSTERS / f"poster-{venue}-{lang}.png"))
    assert _decode(png) == [data.url]

    # Every text, measured with the real font, stays inside the sheet's margins.
    widths = sheet_page.evaluate(
        "[...document.querySelectorAll('svg text')].map(t => ({cls: t.getAttribute('class'),"
        " x: t.getBBox().x, right: t.getBBox().x + t.getBBox().width}))"
    )
    for text in widths:
        assert text["x"] >= poster.MARGIN - 1, text
        assert text["right"] <= poster.A4_WIDTH - poster.MARGIN + 1, text
    name_lengths = sheet_page.evaluate(
        "[...document.querySelectorAll('.venue-name tspan')].map(t => t.getComputedTextLength())"
    )
    assert name_lengths
    assert max(name_lengths) <= poster.NAME_WIDTH
