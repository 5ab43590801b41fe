"""The public "how full is it" page in a real browser: a visitor on a phone finds a place by name, a reader at a desk
filters by district and turns pages, in Chinese and in English; nothing scrolls sideways."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ..support.browser import DemoCity, LiveVenue

NO_SIDEWAYS_SCROLL = "document.scrollingElement.scrollWidth <= window.innerWidth"


def _names(page: Any) -> list[str]:
    return [
        n.strip()
        for n in page.locator(".occupancy__name").evaluate_all("els => els.map(e => e.firstChild.textContent)")
    ]


def test_a_visitor_finds_a_place_by_name_on_a_phone_and_by_district_at_a_desk(
    live_server: str,
    demo_city: DemoCity,
    new_page: Callable[..., Any],
    add_venue: Callable[..., LiveVenue],
    screenshot: Callable[..., Path],
) -> None:
    venue = add_venue("西市区金牛山大街社区药房", capacity=12)
    for n in range(1, 24):  # enough places for a second page whatever the demo city holds
        add_venue(f"营口老街便民超市{n:02d}号店", capacity=30)
    district = demo_city.accounts["venue_operator"].region_code[:6]

    phone = new_page("phone")
    phone.goto(f"{live_server}/occupancy")
    assert phone.locator("h1").inner_text() == "场所人流"
    assert len(_names(phone)) == 20
    assert phone.get_by_role("navigation", name="分页").get_by_text("下一页").is_visible()
    phone.get_by_label("场所名称").fill("金牛山")
    phone.get_by_role("button", name="查找").click()
    phone.wait_for_url(re.compile(r"/occupancy\?q="))
    assert _names(phone) == [venue.name]
    assert "0 / 12" in phone.locator(".occupancy__count").inner_text()
    assert phone.evaluate(NO_SIDEWAYS_SCROLL)
    screenshot(phone, "phone-search")

    desk = new_page("desktop", locale="en-US")
    desk.goto(f"{live_server}/occupancy")
    assert desk.locator("h1").inner_text() == "How full is it?"
    desk.get_by_label("District").select_option(district)
    desk.get_by_role("button", name="Find").click()
    desk.wait_for_url(re.compile(rf"/occupancy\?.*district={district}"))
    first = _names(desk)
    assert len(first) == 20
    assert desk.get_by_text(re.compile(r"Page 1 of \d")).is_visible()
    screenshot(desk, "desktop-district", full_page=False)
    desk.get_by_role("link", name="Next").click()
    desk.wait_for_url(f"{live_server}/occupancy?district={district}&page=2")
    assert desk.get_by_label("District").input_value() == district  # the filter stays as the pages turn
    assert not set(_names(desk)) & set(first)
    screenshot(desk, "desktop-page-2")
