"""The web shell in a real browser: languages, error pages, the layout on a phone and on a desk."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

Shot = Callable[[Any, str], Path]

NO_SIDEWAYS_SCROLL = "document.scrollingElement.scrollWidth <= window.innerWidth"


def test_it_shows_the_404_page_in_chinese_to_a_chinese_browser(
    live_server: str, phone_page: Any, desktop_page: Any, screenshot: Shot
) -> None:
    for page, viewport in ((phone_page, "phone"), (desktop_page, "desktop")):
        response = page.goto(f"{live_server}/no-such-page")
        assert response.status == 404
        assert page.locator("h1").inner_text() == "页面不存在"
        assert page.locator("html").get_attribute("lang") == "zh-CN"
        assert page.get_by_role("link", name="返回首页").is_visible()
        screenshot(page, viewport)


def test_it_shows_the_404_page_in_english_to_an_english_browser(
    live_server: str, new_page: Callable[..., Any], screenshot: Shot
) -> None:
    for viewport in ("phone", "desktop"):
        page = new_page(viewport, locale="en-US")
        response = page.goto(f"{live_server}/no-such-page")
        assert response.status == 404
        assert page.locator("h1").inner_text() == "Page not found"
        assert page.locator("html").get_attribute("lang") == "en"
        screenshot(page, viewport)


def test_it_switches_language_and_remembers_it_on_the_next_page(live_server: str, phone_page: Any) -> None:
    phone_page.goto(f"{live_server}/first-missing-page")
    assert phone_page.locator("h1").inner_text() == "页面不存在"

    phone_page.get_by_role("navigation", name="语言").get_by_role("link", name="English").click()
    phone_page.wait_for_url(f"{live_server}/first-missing-page")
    assert phone_page.locator("h1").inner_text() == "Page not found"
    assert phone_page.get_by_role("link", name="English").get_attribute("aria-current") == "true"

    # The browser still says zh-CN; only the cookie keeps the page English.
    phone_page.goto(f"{live_server}/second-missing-page")
    assert phone_page.locator("h1").inner_text() == "Page not found"
    cookie = next(c for c in phone_page.context.cookies() if c["name"] == "lang")
    assert cookie["value"] == "en"
    assert cookie["sameSite"] == "Lax"

    phone_page.get_by_role("link", name="中文").click()
    phone_page.wait_for_url(f"{live_server}/second-missing-page")
    assert phone_page.locator("h1").inner_text() == "页面不存在"


@pytest.mark.parametrize("width", [360, 390, 414])
@pytest.mark.parametrize("path", ["/no-such-page", "/_test/shell"])
def test_it_never_scrolls_sideways_on_a_phone(
    live_server: str, new_page: Callable[..., Any], width: int, path: str
) -> None:
    page = new_page("phone")
    page.set_viewport_size({"width": width, "height": 800})
    page.goto(f"{live_server}{path}")
    assert page.evaluate(NO_SIDEWAYS_SCROLL)


def test_it_keeps_the_brand_and_the_language_switch_on_one_line_on_a_narrow_phone(
    live_server: str, new_page: Callable[..., Any]
) -> None:
    for locale in ("zh-CN", "en-US"):
        page = new_page("phone", locale=locale)
        page.set_viewport_size({"width": 360, "height": 740})
        page.goto(f"{live_server}/_test/shell")
        brand = page.locator(".brand").bounding_box()
        switch = page.locator(".lang-switch").bounding_box()
        assert brand is not None
        assert switch is not None
        assert switch["y"] < brand["y"] + brand["height"], locale


def test_it_lays_out_the_signed_in_shell_and_its_form_on_phone_and_desk(
    live_server: str, new_page: Callable[..., Any], screenshot: Shot
) -> None:
    for viewport, locale in (("phone", "zh-CN"), ("desktop", "zh-CN"), ("desktop", "en-US")):
        page = new_page(viewport, locale=locale)
        page.goto(f"{live_server}/_test/shell")
        assert page.locator(".account__name").inner_text() == "王芳"
        assert page.locator(".account__logout button").is_visible()
        assert page.locator("#field-password").get_attribute("aria-invalid") == "true"
        assert page.locator("#field-password").get_attribute("aria-describedby") == (
            "field-password-hint field-password-error"
        )
        assert page.evaluate(NO_SIDEWAYS_SCROLL)
        screenshot(page, f"{viewport}-{locale}")


def test_it_gives_phone_users_big_enough_tap_targets(live_server: str, phone_page: Any) -> None:
    phone_page.goto(f"{live_server}/_test/shell")
    for selector in (".lang-switch a", ".account__logout button", ".field__input", ".button--primary"):
        for box in (element.bounding_box() for element in phone_page.locator(selector).all()):
            assert box is not None
            assert box["height"] >= 44, selector


def test_it_loads_htmx_and_every_asset_from_its_own_server(live_server: str, desktop_page: Any) -> None:
    requested: list[str] = []
    desktop_page.on("request", lambda request: requested.append(request.url))
    failed: list[str] = []
    desktop_page.on("requestfailed", lambda request: failed.append(request.url))
    desktop_page.goto(f"{live_server}/_test/shell")
    desktop_page.wait_for_load_state("load")
    assert desktop_page.evaluate("typeof htmx") == "object"
    assert requested
    assert [url for url in requested if not url.startswith(live_server)] == []
    assert failed == []
