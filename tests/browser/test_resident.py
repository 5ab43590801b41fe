"""The registry pages in a real browser: an official opens a record for a purpose, the resident sees who did."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest

from ..support.browser import DemoCity, box_of

Shot = Callable[..., Path]
SignIn = Callable[..., Any]

NO_SIDEWAYS_SCROLL = "document.scrollingElement.scrollWidth <= window.innerWidth"
PURPOSE = "流调核实"


def search(page: Any, query: str) -> None:
    """Types into the search field and waits until htmx has put the answer in place of the rows."""
    with page.expect_response(lambda r: r.request.method == "POST" and r.url.endswith("/people")) as answer:
        page.get_by_label("搜索").fill(query)  # no need to press Enter: htmx searches as one types
    assert answer.value.status == 200
    page.wait_for_function(
        "q => [...document.querySelectorAll('#people-rows td:first-child a')].every(a => a.textContent.startsWith(q))",
        arg=query,
    )


def test_it_shows_a_resident_which_official_opened_their_record_and_why(
    live_server: str, demo_city: DemoCity, new_page: Callable[..., Any], sign_in: SignIn, screenshot: Shot
) -> None:
    ref, name = demo_city.resident_ref, demo_city.resident_name
    district = demo_city.accounts["investigator"].region_name

    # The investigator, at a desk, finds the resident and opens their record, saying why.
    official = sign_in(new_page("desktop"), "investigator")
    official.locator(".cards").get_by_text("辖区人员", exact=True).click()
    official.wait_for_url(f"{live_server}/people")
    assert official.locator("h1").inner_text() == "辖区人员"
    search(official, name)
    names = official.locator("#people-rows tbody td:first-child a").all_inner_texts()
    assert names
    assert all(n.startswith(name) for n in names)
    row = official.locator("#people-rows tbody tr", has_text=ref)
    assert "*" in row.locator("td").nth(1).inner_text()  # the list shows ID numbers masked
    screenshot(official, "desktop-list")
    row.get_by_role("link", name=name).click()

    official.wait_for_url(f"{live_server}/people/{ref}")
    assert official.locator("h1").inner_text() == "您为什么要查看这条信息？"
    official.get_by_label("事由").fill(PURPOSE)
    screenshot(official, "desktop-purpose")
    official.get_by_role("button", name="查看信息").click()

    official.wait_for_url(f"{live_server}/people/{ref}?purpose={quote(PURPOSE)}")
    assert official.locator("h1").inner_text() == name
    assert official.locator(".eyebrow").inner_text() == f"查看事由：{PURPOSE}"
    record = official.locator(".record")
    assert ref in record.inner_text()
    assert demo_city.accounts["resident"].region_name in record.inner_text()
    screenshot(official, "desktop-record")

    # The resident, on a phone, opens "who looked at my data" from their home page.
    resident = sign_in(new_page("phone"), "resident")
    resident.locator(".cards").get_by_text("谁查看了我的信息", exact=True).click()
    resident.wait_for_url(f"{live_server}/me/access-log")
    assert resident.locator("h1").inner_text() == "谁查看了我的信息"
    entry = resident.get_by_test_id("access-log").locator(".timeline__item", has_text=PURPOSE).first
    assert entry.locator(".timeline__who").inner_text() == f"流调人员 · {district}"
    assert entry.locator(".timeline__what").inner_text() == f"查看了您的信息 — 事由：{PURPOSE}"
    assert entry.locator("time").get_attribute("datetime")
    assert "流调员（演示）" not in resident.content()  # the official's name is not shown
    assert resident.evaluate(NO_SIDEWAYS_SCROLL)
    screenshot(resident, "phone-access-log")


def test_it_shows_a_resident_their_own_record_without_logging_it_as_a_look(
    live_server: str, demo_city: DemoCity, phone_page: Any, sign_in: SignIn, screenshot: Shot
) -> None:
    sign_in(phone_page, "resident")
    phone_page.goto(f"{live_server}/me/access-log")
    looks = phone_page.locator(".timeline__item").count()

    phone_page.goto(f"{live_server}/")
    phone_page.locator(".cards").get_by_text("我的信息", exact=True).click()
    phone_page.wait_for_url(f"{live_server}/me")
    record = phone_page.locator(".record").inner_text()
    assert demo_city.resident_name in record
    assert demo_city.resident_ref in record
    assert "*" in record  # ID number and phone masked even for oneself
    assert phone_page.evaluate(NO_SIDEWAYS_SCROLL)
    screenshot(phone_page, "phone")

    phone_page.get_by_role("link", name="谁查看了我的信息").click()
    phone_page.wait_for_url(f"{live_server}/me/access-log")
    assert phone_page.locator(".timeline__item").count() == looks


PHONE_WIDTHS = [360, 390, 414]


@pytest.mark.parametrize("width", PHONE_WIDTHS)
def test_it_never_scrolls_sideways_on_a_phone_when_signed_in(
    live_server: str, demo_city: DemoCity, new_page: Callable[..., Any], sign_in: SignIn, screenshot: Shot, width: int
) -> None:
    ref = demo_city.resident_ref
    pages = {  # the investigator's district holds a long list of people
        "investigator": [
            "/",
            "/people",
            f"/people/{ref}",
            f"/people/{ref}?purpose={quote('入户走访')}",
            "/tokens",
        ],
        "resident": ["/", "/me", "/me/access-log"],
    }
    for username, paths in pages.items():
        page = sign_in(new_page("phone"), username)
        page.set_viewport_size({"width": width, "height": 800})
        for path in paths:
            page.goto(f"{live_server}{path}")
            assert page.url == f"{live_server}{path}"
            assert page.evaluate(NO_SIDEWAYS_SCROLL), path
            if width == 390 and path == "/people":
                screenshot(page, "phone-list", full_page=False)
            if width == 390 and path.startswith(f"/people/{ref}?"):
                screenshot(page, "phone-record")
            if path == "/people":  # the name and its ref share a line, beside their label
                cell = page.locator("#people-rows tbody tr").first.locator("td").first
                label_right = cell.evaluate("td => td.getBoundingClientRect().left") + 6.5 * 16
                name, code = box_of(cell.locator("a")), box_of(cell.locator(".code"))
                assert name["x"] >= label_right
                assert code["x"] > name["x"]
                assert abs((code["y"] + code["height"] / 2) - (name["y"] + name["height"] / 2)) < name["height"] / 2
                # and so does the list that a search leaves
                search(page, demo_city.resident_name)
                assert page.evaluate(NO_SIDEWAYS_SCROLL), "/people search"
