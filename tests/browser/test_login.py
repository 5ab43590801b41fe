"""Logging in and out in a real browser: each role's home, a refused password, the language of a signed-in page."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from fangkong.demo.city import DEMO_TITLES

from ..support.browser import DemoCity, box_of

Shot = Callable[[Any, str], Path]
SignIn = Callable[..., Any]

NO_SIDEWAYS_SCROLL = "document.scrollingElement.scrollWidth <= window.innerWidth"

RESIDENT_CARDS = ["我的健康码", "我的信息", "谁查看了我的信息", "场所人流"]
READER_CARDS = ["辖区人员", "API 令牌", "场所人流"]
CASE_CARDS = ["辖区人员", "病例", "接触者", "API 令牌", "场所人流"]  # commanders
INVESTIGATOR_CARDS = ["辖区人员", "病例", "接触者", "协查请求", "申诉复核", "API 令牌", "场所人流"]
OFFICIAL_CARDS = ["API 令牌", "场所人流"]
OPERATOR_CARDS = ["我的场所", "API 令牌", "场所人流"]

# username (= role value) -> (role badge in Chinese, the action cards of the home page, in order)
HOMES: dict[str, tuple[str, list[str]]] = {
    "resident": ("居民", RESIDENT_CARDS),
    "venue_operator": ("场所负责人", OPERATOR_CARDS),
    "grid_worker": ("网格员", READER_CARDS),
    "investigator": ("流调人员", INVESTIGATOR_CARDS),
    "quarantine_staff": ("隔离点工作人员", READER_CARDS),
    "sampler": ("采样员", READER_CARDS),
    "lab": ("检测机构", OFFICIAL_CARDS),
    "commander": ("指挥部", CASE_CARDS),
    "admin": ("管理员", OFFICIAL_CARDS),
}
ALSO_ON_A_DESK = {"resident", "grid_worker", "commander"}


def _card_titles(page: Any) -> list[str]:
    return [title.strip() for title in page.locator(".cards .card__title").all_inner_texts()]


@pytest.mark.parametrize("username", list(HOMES))
def test_it_lands_each_role_on_its_own_home_after_logging_in(
    live_server: str,
    demo_city: DemoCity,
    new_page: Callable[..., Any],
    sign_in: SignIn,
    screenshot: Shot,
    username: str,
) -> None:
    badge, cards = HOMES[username]
    account = demo_city.accounts[username]
    display_name = demo_city.resident_name if username == "resident" else f"{DEMO_TITLES[username]}（演示）"
    viewports = ["phone", "desktop"] if username in ALSO_ON_A_DESK else ["phone"]
    for viewport in viewports:
        page = new_page(viewport)  # a context of its own: no cookie left from another role
        page.goto(f"{live_server}/")
        page.wait_for_url(f"{live_server}/login")
        sign_in(page, username)

        assert page.locator("h1").inner_text() == display_name
        assert page.locator(".account__name").inner_text() == display_name
        grant = page.locator(".grants .grant")
        assert grant.count() == 1
        assert grant.locator(".grant__role").inner_text() == badge
        assert account.region_name in grant.locator(".grant__region").inner_text()
        assert page.locator(".account__role").inner_text() == f"{badge} · {account.region_name}"
        assert _card_titles(page) == cards
        if viewport == "desktop":  # cards side by side are equally tall, whatever their text
            heights = {round(box["height"]) for box in map(box_of, page.locator(".card__link").all())}
            assert len(heights) == 1, heights
        assert page.evaluate(NO_SIDEWAYS_SCROLL)
        screenshot(page, viewport)

    # The cards lead to pages that open for this role.
    page.locator(".cards").get_by_text(cards[0], exact=True).click()
    page.wait_for_load_state()
    assert page.url != f"{live_server}/"
    assert page.locator("h1").inner_text() == cards[0]


def test_it_refuses_a_wrong_password_with_a_clear_message_in_chinese_and_english(
    live_server: str, demo_city: DemoCity, new_page: Callable[..., Any], screenshot: Shot
) -> None:
    # One wrong attempt per account (the first few cost no wait), so the other tests can still log in as them.
    for viewport, locale, username, message in (
        ("phone", "zh-CN", "venue_operator", "用户名或密码错误。"),
        ("phone", "en-US", "lab", "Wrong username or password."),
        ("desktop", "zh-CN", "admin", "用户名或密码错误。"),
    ):
        page = new_page(viewport, locale=locale)
        page.goto(f"{live_server}/login")
        page.locator("#field-username").fill(username)
        page.locator("#field-password").fill(demo_city.password + "-wrong")
        with page.expect_response(lambda r: r.request.method == "POST" and r.url.endswith("/login")) as answer:
            page.locator("form[action='/login'] button[type=submit]").click()
        assert answer.value.status == 401
        page.wait_for_load_state()

        assert page.url == f"{live_server}/login"
        assert page.get_by_role("alert").inner_text().strip() == message
        assert page.locator("#field-username").input_value() == username
        assert page.locator("#field-password").input_value() == ""
        # The cursor waits in the password field, the one to retype.
        assert page.evaluate("document.activeElement.id") == "field-password"
        assert not [c for c in page.context.cookies() if c["name"] == "fk_session"]
        assert page.evaluate(NO_SIDEWAYS_SCROLL)
        screenshot(page, f"{viewport}-{locale}")


def test_it_switches_a_signed_in_page_to_english_and_keeps_it_on_the_next_page(
    live_server: str, phone_page: Any, sign_in: SignIn, screenshot: Shot
) -> None:
    sign_in(phone_page, "grid_worker")
    assert phone_page.get_by_role("button", name="退出登录").is_visible()

    phone_page.get_by_role("navigation", name="语言").get_by_role("link", name="English").click()
    phone_page.wait_for_url(f"{live_server}/")
    assert phone_page.locator("html").get_attribute("lang") == "en"
    assert phone_page.get_by_role("button", name="Log out").is_visible()
    assert _card_titles(phone_page) == ["People in my area", "API tokens", "How full is it?"]
    assert phone_page.locator(".grant__role").inner_text() == "Grid worker"
    screenshot(phone_page, "phone-en")

    phone_page.locator(".cards").get_by_text("People in my area", exact=True).click()
    phone_page.wait_for_url(f"{live_server}/people")
    assert phone_page.locator("h1").inner_text() == "People in my area"
    assert phone_page.get_by_role("button", name="Log out").is_visible()

    phone_page.get_by_role("navigation", name="Language").get_by_role("link", name="中文").click()
    phone_page.wait_for_url(f"{live_server}/people")
    assert phone_page.locator("h1").inner_text() == "辖区人员"
    assert phone_page.get_by_role("button", name="退出登录").is_visible()


def test_it_logs_out_to_the_login_page_and_then_asks_to_log_in_again(
    live_server: str, demo_city: DemoCity, phone_page: Any, sign_in: SignIn
) -> None:
    sign_in(phone_page, "sampler")
    phone_page.get_by_role("button", name="退出登录").click()
    phone_page.wait_for_url(f"{live_server}/login")
    assert phone_page.locator("h1").inner_text() == "登录"
    assert not [c for c in phone_page.context.cookies() if c["name"] == "fk_session"]

    phone_page.goto(f"{live_server}/")
    assert phone_page.url == f"{live_server}/login"
    phone_page.goto(f"{live_server}/people")
    assert phone_page.url == f"{live_server}/login?next=%2Fpeople"

    # Logging in again goes back to the page that asked for it.
    phone_page.locator("#field-username").fill("sampler")
    phone_page.locator("#field-password").fill(demo_city.password)
    phone_page.locator("form[action='/login'] button[type=submit]").click()
    phone_page.wait_for_url(f"{live_server}/people")
    assert phone_page.locator("h1").inner_text() == "辖区人员"


def test_it_ends_the_session_on_the_server_when_logging_out(live_server: str, phone_page: Any, sign_in: SignIn) -> None:
    sign_in(phone_page, "quarantine_staff")
    copied = [c for c in phone_page.context.cookies() if c["name"] == "fk_session"]
    assert copied
    phone_page.get_by_role("button", name="退出登录").click()
    phone_page.wait_for_url(f"{live_server}/login")

    # Whoever copied the cookie before (a shared phone at a checkpoint, a proxy log) tries it afterwards.
    phone_page.context.add_cookies([{k: c[k] for k in ("name", "value", "domain", "path")} for c in copied])
    phone_page.goto(f"{live_server}/")
    assert phone_page.url == f"{live_server}/login"
