"""Place codes in a real browser: an operator registers a venue and prints its poster, a resident scans it and
checks in, the live counts follow, and a replaced poster says so. Operators at a desk, residents on a phone.

Venues other than the one test 1 registers through the form are made with the `add_venue` fixture (the same
service the form calls), one per test, so the tests do not depend on each other's order.
"""

from __future__ import annotations

import datetime as dt
import io
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import httpx
import pytest

from fangkong.core.runtime import Runtime
from fangkong.venues.models import VenueKind

from ..support.browser import DemoCity, LiveVenue, box_of

Shot = Callable[..., Path]
SignIn = Callable[..., Any]
AddVenue = Callable[..., LiveVenue]

NO_SIDEWAYS_SCROLL = "document.scrollingElement.scrollWidth <= window.innerWidth"
POSTERS = Path(__file__).resolve().parents[2] / "test-output" / "posters"
REPLACED = "该场所码已更换，请扫描入口处的新场所码"
# How long the pages wait between polls (hx-trigger="every 10s" / "every 15s").
VENUE_POLL_MS = 10_000
OCCUPANCY_POLL_MS = 15_000


def _decode_qr(png: bytes) -> list[str]:
    zxingcpp = pytest.importorskip("zxingcpp")
    image = pytest.importorskip("PIL.Image")
    return [result.text for result in zxingcpp.read_barcodes(image.open(io.BytesIO(png)))]


def _checkin_url(operator: Any, live_server: str, venue: LiveVenue) -> str:
    """What the operator's venue page gives as the check-in link (the URL the poster's QR code carries)."""
    operator.goto(f"{live_server}/venues/{venue.ref}")
    return operator.locator(".record code").inner_text().strip()


def _present(page: Any) -> str:
    return page.get_by_test_id("present").locator(".present__number").inner_text().strip()


def _occupancy_count(page: Any, venue_name: str) -> str:
    item = page.get_by_test_id("occupancy").locator(".occupancy__item", has_text=venue_name)
    return item.locator(".occupancy__count").inner_text().strip()


def _log_in_on_the_form(page: Any, username: str, password: str) -> None:
    page.locator("#field-username").fill(username)
    page.locator("#field-password").fill(password)
    page.locator("form[action='/login'] button[type=submit]").click()


def test_it_lets_an_operator_register_a_venue_and_print_its_poster_on_one_a4_page(
    live_server: str, demo_city: DemoCity, desktop_page: Any, sign_in: SignIn, screenshot: Shot
) -> None:
    name = "兴隆大家庭超市（渤海大街店）"
    page = sign_in(desktop_page, "venue_operator")
    page.locator(".cards").get_by_text("我的场所", exact=True).click()
    page.wait_for_url(f"{live_server}/venues")
    assert page.locator("h1").inner_text() == "我的场所"

    # The register form: a name, a kind, a community of the operator's district, an address, a capacity.
    page.get_by_label("场所名称").fill(name)
    page.get_by_label("类型").select_option(label="超市")
    regions = page.locator("#field-region_code option")
    # Communities are indented under their street with a full-width space.
    community = next(i for i, label in enumerate(regions.all_text_contents()) if label.startswith("　"))
    region_code = regions.nth(community).get_attribute("value")
    assert region_code is not None
    page.locator("#field-region_code").select_option(value=region_code)
    page.get_by_label("场所地址").fill("渤海大街 88 号")
    page.get_by_label("容量").fill("3")
    screenshot(page, "desktop-1-form")
    page.get_by_role("button", name="登记", exact=True).click()

    # It lands on the new venue's page: nobody present yet, the check-in link, the print button.
    page.wait_for_url(re.compile(rf"^{re.escape(live_server)}/venues/V-[0-9A-F]{{8}}$"))
    ref = page.url.rsplit("/", 1)[1]
    assert page.locator("h1").inner_text() == name
    assert page.locator(".eyebrow").inner_text() == f"超市 · {ref}"
    record = page.locator(".record").inner_text()
    assert region_code in record
    assert "渤海大街 88 号" in record
    assert _present(page) == "0"
    assert "容量 3" in page.get_by_test_id("present").inner_text()
    checkin_url = page.locator(".record code").inner_text().strip()
    assert re.fullmatch(rf"{re.escape(live_server)}/v/[\w-]{{22}}", checkin_url), checkin_url
    # The two actions sit apart: printing, and (behind a warning) retiring every printed poster.
    print_box = box_of(page.get_by_role("link", name="打印场所码"))
    rotate_box = box_of(page.get_by_role("button", name="更换场所码"))
    gap = max(
        rotate_box["x"] - (print_box["x"] + print_box["width"]),
        rotate_box["y"] - (print_box["y"] + print_box["height"]),
    )
    assert gap >= 8, (print_box, rotate_box)
    assert page.evaluate(NO_SIDEWAYS_SCROLL)
    screenshot(page, "desktop-2-venue")

    page.get_by_role("link", name="打印场所码").click()
    page.wait_for_url(f"{live_server}/venues/{ref}/poster")
    page.evaluate("document.fonts.ready")
    sheet = page.locator(".sheet")
    assert sheet.locator("svg.qr").is_visible()
    assert sheet.locator(".sheet__name").inner_text() == name
    assert name in page.title()
    assert ref in sheet.inner_text()
    screenshot(page, "desktop-3-poster")
    # The printed code is the check-in link of the venue page.
    assert _decode_qr(sheet.locator(".sheet__qr").screenshot()) == [checkin_url]

    page.emulate_media(media="print")  # what goes on paper: the sheet alone, no toolbar
    assert not page.locator(".toolbar").is_visible()
    screenshot(page, "desktop-4-print")
    pdf = page.pdf(format="A4", print_background=True)
    POSTERS.mkdir(parents=True, exist_ok=True)
    (POSTERS / "registered-venue.pdf").write_bytes(pdf)
    assert pdf.startswith(b"%PDF")
    assert len(re.findall(rb"/Type\s*/Page\b", pdf)) == 1  # "/Type /Pages" is the page tree, not a page

    # Back in the list, with its count and capacity.
    page.goto(f"{live_server}/venues")
    row = page.locator("tbody tr", has_text=ref)
    assert row.get_by_role("link", name=name).is_visible()
    assert row.locator("td").nth(2).inner_text().strip() == "0 / 3"
    screenshot(page, "desktop-5-list")


def test_it_checks_in_a_resident_who_scans_the_poster_and_logs_in_first(
    live_server: str,
    live_runtime: Runtime,
    demo_city: DemoCity,
    new_page: Callable[..., Any],
    sign_in: SignIn,
    add_venue: AddVenue,
    screenshot: Shot,
) -> None:
    venue = add_venue("福安社区综合农贸市场", kind=VenueKind.market)
    checkin_url = _checkin_url(sign_in(new_page("desktop"), "venue_operator"), live_server, venue)
    assert checkin_url == f"{live_server}{venue.scan_path}"

    # The phone's camera opens the URL; nobody is signed in on this browser yet.
    phone = new_page("phone")
    phone.goto(checkin_url)
    assert phone.locator("h1").inner_text() == venue.name
    assert phone.locator(".eyebrow").inner_text() == f"场所码 · {venue.ref}"
    assert phone.get_by_role("button", name="扫码登记").count() == 0
    log_in = phone.get_by_role("link", name="登录后登记")
    assert log_in.is_visible()
    assert phone.evaluate(NO_SIDEWAYS_SCROLL)
    screenshot(phone, "phone-1-signed-out")

    log_in.click()
    phone.wait_for_url(re.compile(r"/login\?next="))
    assert phone.locator("h1").inner_text() == "登录"
    _log_in_on_the_form(phone, "resident", demo_city.password)

    # Back on the scan page, now with the button.
    phone.wait_for_url(checkin_url)
    assert phone.locator(".account__name").inner_text() == demo_city.resident_name
    button = phone.get_by_role("button", name="扫码登记")
    assert button.is_visible()
    assert box_of(button)["height"] >= 60  # a big target, for a thumb at the door
    screenshot(phone, "phone-2-signed-in")

    before = dt.datetime.now(dt.UTC).replace(second=0, microsecond=0)
    button.click()
    done = phone.get_by_test_id("checked-in")
    done.wait_for()
    assert done.locator("h1").inner_text() == "登记成功"
    assert done.locator(".confirmation__venue").inner_text() == venue.name
    assert done.locator(".confirmation__who").inner_text() == demo_city.resident_name
    when = dt.datetime.fromisoformat(done.locator("time").get_attribute("datetime") or "")
    assert before <= when <= dt.datetime.now(dt.UTC)
    assert re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d UTC\+8", done.locator("time").inner_text())
    days = live_runtime.settings.checkin_retention_days
    assert f"本次登记信息将在 {days} 天后自动删除" in done.inner_text()
    assert phone.evaluate(NO_SIDEWAYS_SCROLL)
    screenshot(phone, "phone-3-checked-in")


def test_it_updates_the_counts_on_the_occupancy_and_venue_pages_after_a_check_in(
    live_server: str,
    demo_city: DemoCity,
    new_page: Callable[..., Any],
    sign_in: SignIn,
    add_venue: AddVenue,
    operator_api_token: str,
    screenshot: Shot,
) -> None:
    venue = add_venue("鲅鱼圈渔家海鲜大排档", capacity=3, kind=VenueKind.restaurant)

    # The public page, open on a desk without signing in, and the operator's venue page. Their clocks are
    # Playwright's, so the test moves them past a poll instead of waiting 10 and 15 seconds.
    public = new_page("desktop")
    public.clock.install()
    # Found by name: the list is paged, and other tests' venues may fill its first page.
    public.goto(f"{live_server}/occupancy?{urlencode({'q': venue.name})}")
    assert public.locator("h1").inner_text() == "场所人流"
    assert _occupancy_count(public, venue.name) == "0 / 3"
    screenshot(public, "desktop-1-occupancy-before", full_page=False)

    operator = sign_in(new_page("desktop"), "venue_operator")
    operator.clock.install()
    operator.goto(f"{live_server}/venues/{venue.ref}")
    assert _present(operator) == "0"

    # A door device at the venue checks the resident in with its operator's token.
    answer = httpx.post(
        f"{live_server}/api/checkins",
        json={"venue_ref": venue.ref, "person_ref": demo_city.resident_ref},
        headers={"Authorization": f"Bearer {operator_api_token}"},
    )
    assert answer.status_code == 201, answer.text
    assert answer.json()["venue_ref"] == venue.ref

    # Nothing changes until the pages poll...
    assert _occupancy_count(public, venue.name) == "0 / 3"
    assert _present(operator) == "0"
    # ...and then both show the resident, without a reload.
    with operator.expect_response(lambda r: r.url == f"{live_server}/venues/{venue.ref}") as polled:
        operator.clock.run_for(VENUE_POLL_MS)
    assert polled.value.request.headers.get("hx-request") == "true"
    operator.wait_for_function("() => document.querySelector('.present__number').textContent.trim() === '1'")
    assert _present(operator) == "1"
    screenshot(operator, "desktop-2-venue-after")

    with public.expect_response(lambda r: r.url.startswith(f"{live_server}/occupancy?")) as polled:
        public.clock.run_for(OCCUPANCY_POLL_MS)
    assert polled.value.request.headers.get("hx-request") == "true"
    public.wait_for_function(
        "name => [...document.querySelectorAll('.occupancy__item')].some(i => i.textContent.includes(name)"
        " && i.querySelector('.occupancy__count').textContent.trim() === '1 / 3')",
        arg=venue.name,
    )
    assert _occupancy_count(public, venue.name) == "1 / 3"
    item = public.get_by_test_id("occupancy").locator(".occupancy__item", has_text=venue.name)
    assert item.locator(".meter").get_attribute("aria-label") == "已满 33%"
    screenshot(public, "desktop-3-occupancy-after", full_page=False)


def test_it_tells_whoever_scans_a_replaced_poster_to_scan_the_new_one(
    live_server: str,
    demo_city: DemoCity,
    new_page: Callable[..., Any],
    sign_in: SignIn,
    add_venue: AddVenue,
    screenshot: Shot,
) -> None:
    venue = add_venue("营口站候车大厅", capacity=800, kind=VenueKind.station)
    operator = sign_in(new_page("desktop"), "venue_operator")
    old_url = _checkin_url(operator, live_server, venue)
    rotate = operator.get_by_role("button", name="更换场所码")

    # Cancelling the warning changes nothing.
    operator.once("dialog", lambda dialog: dialog.dismiss())
    rotate.click()
    operator.wait_for_timeout(300)  # the form would have been sent by now
    assert operator.url == f"{live_server}/venues/{venue.ref}"
    assert operator.locator(".record code").inner_text().strip() == old_url

    warnings: list[str] = []

    def accept(dialog: Any) -> None:
        warnings.append(dialog.message)
        dialog.accept()

    operator.once("dialog", accept)
    rotate.click()
    operator.wait_for_url(f"{live_server}/venues/{venue.ref}?rotated=1")
    assert warnings == ["该场所已打印的所有场所码都将失效。确定继续吗？"]
    assert operator.get_by_role("status").inner_text() == "已更换场所码。请打印新的场所码，旧的已失效。"
    new_url = operator.locator(".record code").inner_text().strip()
    assert new_url != old_url
    assert new_url.startswith(f"{live_server}/v/")
    screenshot(operator, "desktop-rotated")

    # A resident's phone scans an old poster still on the wall.
    phone = sign_in(new_page("phone"), "resident")
    answer = phone.goto(old_url)
    assert answer is not None
    assert answer.status == 410
    assert phone.locator(".error-page__detail").inner_text() == REPLACED
    assert phone.get_by_role("button", name="扫码登记").count() == 0
    assert phone.evaluate(NO_SIDEWAYS_SCROLL)
    screenshot(phone, "phone-old-poster")

    # The new poster works.
    answer = phone.goto(new_url)
    assert answer is not None
    assert answer.status == 200
    assert phone.locator("h1").inner_text() == venue.name
    assert phone.get_by_role("button", name="扫码登记").is_visible()


@pytest.mark.parametrize("width", [360, 414])
def test_it_never_scrolls_sideways_on_a_phone_on_the_place_code_pages(
    live_server: str,
    demo_city: DemoCity,
    new_page: Callable[..., Any],
    sign_in: SignIn,
    add_venue: AddVenue,
    screenshot: Shot,
    width: int,
) -> None:
    # A long name without a space, as some venues have, and a long English one.
    venue = add_venue(
        "营口市站前区新兴街道渤海社区第二综合农贸市场东门（临时）核酸采样点", capacity=40, kind=VenueKind.other
    )
    add_venue(
        "Yingkou Bayuquan International Conference & Exhibition Center North Hall", capacity=2000, kind=VenueKind.other
    )

    def check(page: Any, what: str, *, shot: bool = True) -> None:
        assert page.evaluate(NO_SIDEWAYS_SCROLL), what
        if shot and width == 360:
            screenshot(page, f"phone-{what}", full_page=what != "occupancy")

    visitor = new_page("phone")
    visitor.set_viewport_size({"width": width, "height": 800})
    visitor.goto(f"{live_server}{venue.scan_path}")
    check(visitor, "scan-signed-out")
    visitor.goto(f"{live_server}/occupancy")
    check(visitor, "occupancy")

    resident = sign_in(new_page("phone"), "resident")
    resident.set_viewport_size({"width": width, "height": 800})
    resident.goto(f"{live_server}{venue.scan_path}")
    check(resident, "scan")
    resident.get_by_role("button", name="扫码登记").click()
    resident.get_by_test_id("checked-in").wait_for()
    check(resident, "checked-in")
    resident.goto(f"{live_server}/occupancy")
    check(resident, "occupancy-signed-in", shot=False)

    operator = sign_in(new_page("phone"), "venue_operator")
    operator.set_viewport_size({"width": width, "height": 800})
    for path, what in (
        ("/venues", "venues"),
        (f"/venues/{venue.ref}", "venue"),
        (f"/venues/{venue.ref}/poster", "poster"),
    ):
        operator.goto(f"{live_server}{path}")
        assert operator.url == f"{live_server}{path}"
        check(operator, what)
        if what == "venues":  # in the stacked list, the ref follows the name beside the label, not under it
            cell = operator.locator("tbody tr", has_text=venue.ref).locator("td").first
            label_right = cell.evaluate("td => td.getBoundingClientRect().left") + 6.5 * 16
            name, ref = box_of(cell.get_by_role("link")), box_of(cell.locator(".code"))
            assert name["x"] >= label_right
            assert ref["x"] >= label_right
            assert cell.locator(".code").evaluate("e => e.getClientRects().length") == 1  # not broken at its "-"
