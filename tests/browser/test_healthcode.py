"""The health-code issue's acceptance in a real browser: a resident's code page shows the right color and refreshes
itself; a door page verifies a fresh code, refuses an expired one, and the check-in appears; an appeal goes from
filing to decision. On phones (the resident, the door) and at a desk (the investigator).

The residents are demo people of the investigator's district with nothing on record, given accounts here, so that
what other browser tests do to the demo resident (a case, a contact) does not change the colors these tests expect.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from fangkong.auth.actor import Actor
from fangkong.auth.audit_models import Channel
from fangkong.auth.models import Role, User
from fangkong.auth.service import actor_for, create_user, get_user
from fangkong.cases.models import Case, Contact
from fangkong.core import clock
from fangkong.core.runtime import Runtime
from fangkong.demo import city as demo
from fangkong.healthcode import service as codes
from fangkong.healthcode import token as tokens
from fangkong.people.models import Person
from fangkong.regions.models import Region
from fangkong.regions.service import get_region, subtree_clause
from fangkong.testing.models import TestOutcome
from fangkong.testing.service import add_result
from fangkong.venues.models import Checkin, CheckinSource, Venue

from ..support.browser import DemoCity, LiveVenue

Shot = Callable[..., Path]
SignIn = Callable[..., Any]

NO_SIDEWAYS_SCROLL = "document.scrollingElement.scrollWidth <= window.innerWidth"
STATEMENT = "那天上午我一直在单位上班，没有去采样点，这份阳性结果不是我的"
DECISION = "采样点试管标签贴错，已与检测机构核实"

# Draws the code page's QR (an <svg> sized by CSS) on a canvas and reads it with the vendored jsQR, the reader
# the door page uses: the colored code must scan.
READ_QR = """async () => {
  const svg = document.querySelector('#live-code svg.hc-qr').cloneNode(true);
  const size = 480;
  svg.setAttribute('width', size);
  svg.setAttribute('height', size);
  const image = new Image();
  image.src = 'data:image/svg+xml;charset=utf-8,' + encodeURIComponent(new XMLSerializer().serializeToString(svg));
  await image.decode();
  const canvas = document.createElement('canvas');
  canvas.width = size;
  canvas.height = size;
  const context = canvas.getContext('2d');
  context.drawImage(image, 0, 0, size, size);
  const pixels = context.getImageData(0, 0, size, size);
  const code = window.jsQR(pixels.data, size, size, {inversionAttempts: 'dontInvert'});
  return code ? code.data : null;
}"""


@dataclass(frozen=True)
class Resident:
    username: str
    ref: str
    name: str
    person_id: int

    @property
    def masked(self) -> str:
        return self.name[:1] + "*" * max(len(self.name) - 1, 1)


def _quiet_people(runtime: Runtime, district_code: str) -> list[tuple[int, str, str, str]]:
    """People of the district with nothing on record, no account, and never a contact: (id, ref, name, grid)."""
    with runtime.database.unit_of_work() as db:
        district = get_region(db, code=district_code)
        taken = set(codes.people_with_facts(db))
        taken |= set(db.execute(select(User.person_id).where(User.person_id.is_not(None))).scalars())
        taken |= set(db.execute(select(Contact.person_id)).scalars())
        taken |= set(db.execute(select(Case.person_id)).scalars())
        rows = db.execute(
            select(Person.id, Person.ref, Person.name, Region.code)
            .join(Region, Region.id == Person.region_id)
            .where(subtree_clause(Region.path, district.path))
            .order_by(Person.ref.desc())
        ).all()
    return [(pid, ref, name, grid) for pid, ref, name, grid in rows if pid not in taken]


@pytest.fixture(scope="module")
def residents(live_runtime: Runtime, demo_city: DemoCity) -> dict[str, Resident]:
    """Resident accounts: `hc-green` for the code and the door, `hc-fever` who has a fever at the door,
    `hc-appellant` for the appeal."""
    usernames = ("hc-green", "hc-fever", "hc-appellant")
    people = _quiet_people(live_runtime, demo_city.accounts["investigator"].region_code)
    assert len(people) >= len(usernames), "the demo city has too few people with nothing on record"
    found = {}
    with live_runtime.database.unit_of_work() as db:
        for username, (pid, ref, name, grid) in zip(usernames, people, strict=False):
            create_user(db, actor=Actor.system(), username=username, password=demo.DEMO_PASSWORD,
                        grants=[(Role.resident, grid)], display_name=name, person_ref=ref)  # fmt: skip
            found[username] = Resident(username, ref, name, pid)
    return found


def _live_token(page: Any) -> str:
    token = page.locator("[data-testid=health-code]").get_attribute("data-token")
    assert token
    return str(token)


def _read_qr(page: Any, live_server: str) -> str:
    page.add_script_tag(url=f"{live_server}/static/vendor/jsqr/jsQR.js")
    return str(page.evaluate(READ_QR))


def test_a_residents_code_page_shows_the_color_and_refreshes_itself(
    live_server: str, residents: dict[str, Resident], new_page: Callable[..., Any], sign_in: SignIn, screenshot: Shot
) -> None:
    resident = residents["hc-green"]
    page = sign_in(new_page("phone"), resident.username)
    page.locator(".cards").get_by_text("我的健康码", exact=True).click()
    page.wait_for_url(f"{live_server}/code")
    assert page.locator("h1").inner_text() == "我的健康码"
    card = page.get_by_test_id("health-code")
    assert card.get_attribute("data-color") == "green"
    assert page.get_by_test_id("color-name").inner_text() == "绿码"  # in words, not only in color
    assert page.locator(".hc-card__name").inner_text() == resident.masked
    assert page.get_by_test_id("reasons").inner_text() == "无风险记录"
    assert _read_qr(page, live_server) == _live_token(page)
    # The clock ticks, so a screenshot of the code is recognisably not live.
    assert re.fullmatch(r"\d{4}-\d\d-\d\d", page.locator(".hc-clock__date").inner_text())
    clock_text = page.locator(".hc-clock__time").inner_text()
    assert re.fullmatch(r"\d\d:\d\d:\d\d", clock_text)
    page.wait_for_function("t => document.querySelector('.hc-clock__time').textContent !== t", arg=clock_text)
    assert page.get_by_test_id("not-live").is_hidden()
    assert page.evaluate(NO_SIDEWAYS_SCROLL)
    screenshot(page, "phone")

    # It fetches a fresh code by itself (every minute; every 2 seconds here), and says when it cannot.
    page.goto(f"{live_server}/code?poll=2")
    first = _live_token(page)
    page.wait_for_function(
        "t => document.querySelector('[data-testid=health-code]').dataset.token !== t", arg=first, timeout=8000
    )
    assert page.get_by_test_id("health-code").get_attribute("data-color") == "green"
    page.context.set_offline(True)
    page.get_by_test_id("not-live").wait_for(state="visible", timeout=8000)
    assert page.locator("#live-code").get_attribute("data-live") == "false"
    assert "此码未能刷新" in page.get_by_test_id("not-live").inner_text()
    screenshot(page, "phone-offline", full_page=False)
    page.context.set_offline(False)
    page.get_by_test_id("not-live").wait_for(state="hidden", timeout=8000)
    assert page.locator("#live-code").get_attribute("data-live") == "true"

    # The refresh button gets a new code at once.
    token = _live_token(page)
    page.wait_for_timeout(1100)  # tokens carry whole seconds
    page.get_by_role("link", name="刷新").click()
    page.wait_for_function("t => document.querySelector('[data-testid=health-code]').dataset.token !== t", arg=token)
    assert page.url == f"{live_server}/code?poll=2"  # no reload: htmx swapped the code in

    english = sign_in(new_page("phone", locale="en-US"), resident.username)
    english.goto(f"{live_server}/code")
    assert english.get_by_test_id("color-name").inner_text() == "Green code"
    assert english.get_by_test_id("reasons").inner_text() == "No risk on record"
    assert english.evaluate(NO_SIDEWAYS_SCROLL)
    screenshot(english, "phone-en")

    desk = sign_in(new_page("desktop"), resident.username)
    desk.goto(f"{live_server}/code")
    assert desk.get_by_test_id("health-code").get_attribute("data-color") == "green"
    assert desk.evaluate(NO_SIDEWAYS_SCROLL)
    screenshot(desk, "desktop")


def _expired_token(runtime: Runtime, person_id: int) -> str:
    """What a screenshot taken four minutes ago carries: a genuine token whose 3 minutes are over."""
    with runtime.database.unit_of_work() as db:
        code = codes.current(db, person_id=person_id)
        key = tokens.signing_key(runtime.keys.signing_seed)
        issued = clock.now().replace(microsecond=0) - dt.timedelta(minutes=4)
        return tokens.issue(key, handle=code.handle, color=code.color.value, issued_at=issued)


def _verify(door: Any, token: str, temperature: str = "") -> Any:
    """Types the code as a handheld scanner does (text, then Enter) and waits for the answer."""
    door.get_by_label("体温 ℃（可不填）").fill(temperature)
    field = door.get_by_label("健康码（扫码枪扫入或粘贴）")
    field.fill(token)
    with door.expect_response(lambda r: r.request.method == "POST" and r.url.endswith("/door")):
        field.press("Enter")
    answer = door.get_by_test_id("door-answer")
    answer.wait_for()
    return answer


def test_a_door_page_verifies_a_fresh_code_refuses_an_expired_one_and_the_checkin_appears(
    live_server: str,
    live_runtime: Runtime,
    residents: dict[str, Resident],
    add_venue: Callable[..., LiveVenue],
    new_page: Callable[..., Any],
    sign_in: SignIn,
    screenshot: Shot,
) -> None:
    resident = residents["hc-green"]
    venue = add_venue("渤海大街便民超市", capacity=30)
    phone = sign_in(new_page("phone"), resident.username)
    phone.goto(f"{live_server}/code")
    fresh = _live_token(phone)

    door = sign_in(new_page("phone"), "venue_operator")
    door.goto(f"{live_server}/venues/{venue.ref}")
    door.get_by_role("link", name="门口验码").click()
    door.wait_for_url(f"{live_server}/venues/{venue.ref}/door")
    assert door.locator("h1").inner_text() == "门口验码"
    assert door.get_by_test_id("door-waiting").is_visible()
    # A headless browser has no camera: the button says so and the field stays ready for a scanner.
    camera = door.locator("[data-camera]")
    door.wait_for_function("() => document.querySelector('[data-camera]').dataset.camera !== 'maybe'")
    if camera.get_attribute("data-camera") != "unavailable":  # a browser that only finds out when asked
        door.get_by_role("button", name="用摄像头扫码").click()
        door.wait_for_function("() => document.querySelector('[data-camera]').dataset.camera === 'unavailable'")
    assert door.get_by_role("button", name="用摄像头扫码").is_disabled()
    assert "没有可用的摄像头" in door.locator("[data-camera-status]").inner_text()
    assert door.evaluate("document.activeElement.id") == "field-token"
    screenshot(door, "phone-door")

    allowed = _verify(door, fresh)
    assert allowed.get_attribute("data-entry") == "allow"
    assert allowed.get_attribute("data-color") == "green"
    text = allowed.inner_text()
    assert "准予进入" in text
    assert f"{resident.masked} · ✓ 绿码" in text
    assert "无核酸阴性记录" in text
    assert re.search(r"已于 \d\d:\d\d:\d\d 登记入场", text)
    assert door.get_by_test_id("present").locator(".present__number").inner_text() == "1"
    # Ready for the next visitor: the field is empty and keeps the cursor.
    assert door.get_by_label("健康码（扫码枪扫入或粘贴）").input_value() == ""
    assert door.evaluate("document.activeElement.id") == "field-token"
    assert door.evaluate(NO_SIDEWAYS_SCROLL)
    screenshot(door, "phone-allowed")

    refused = _verify(door, _expired_token(live_runtime, resident.person_id))
    assert refused.get_attribute("data-entry") == "refused"
    assert "不得进入" in refused.inner_text()
    assert "此码已过期（可能是截图）；请出示实时健康码页面" in refused.inner_text()
    assert door.get_by_test_id("present").locator(".present__number").inner_text() == "1"
    screenshot(door, "phone-expired")

    # A fever turns the code yellow at once: not let in, not checked in; the visitor's own page shows it.
    feverish = residents["hc-fever"]
    visitor = sign_in(new_page("phone"), feverish.username)
    visitor.goto(f"{live_server}/code")
    fever = _verify(door, _live_token(visitor), temperature="38.5")
    assert (fever.get_attribute("data-entry"), fever.get_attribute("data-color")) == ("refuse", "yellow")
    assert "黄码不得进入本场所" in fever.inner_text()
    assert "体温 38.5 ℃：发热，已记录" in fever.inner_text()
    assert door.get_by_test_id("present").locator(".present__number").inner_text() == "1"
    screenshot(door, "phone-fever")
    visitor.reload()
    assert visitor.get_by_test_id("health-code").get_attribute("data-color") == "yellow"
    assert visitor.get_by_test_id("color-name").inner_text() == "黄码"
    assert "发热38.5℃" in visitor.get_by_test_id("reasons").inner_text()
    assert _read_qr(visitor, live_server) == _live_token(visitor)
    screenshot(visitor, "phone-yellow")

    # The check-in appears where the operator looks, and in the records tracing reads.
    door.get_by_role("link", name=venue.name).click()
    door.wait_for_url(f"{live_server}/venues/{venue.ref}")
    assert door.get_by_test_id("present").locator(".present__number").inner_text() == "1"
    with live_runtime.database.unit_of_work() as db:
        rows = db.execute(
            select(Checkin.person_id, Checkin.source).join(Venue, Venue.id == Checkin.venue_id)
            .where(Venue.ref == venue.ref)
        ).all()  # fmt: skip
    assert [tuple(r) for r in rows] == [(resident.person_id, CheckinSource.door)]

    tablet = sign_in(new_page("desktop"), "venue_operator")
    tablet.goto(f"{live_server}/venues/{venue.ref}/door")
    assert tablet.evaluate(NO_SIDEWAYS_SCROLL)
    screenshot(tablet, "desktop-door")


def test_an_appeal_goes_from_filing_to_decision(
    live_server: str,
    live_runtime: Runtime,
    residents: dict[str, Resident],
    new_page: Callable[..., Any],
    sign_in: SignIn,
    screenshot: Shot,
) -> None:
    resident = residents["hc-appellant"]
    with live_runtime.database.unit_of_work() as db:
        lab = actor_for(db, user=get_user(db, username="lab"), channel=Channel.page)
        result_id = add_result(db, actor=lab, person_ref=resident.ref, result=TestOutcome.positive,
                               sampled_at=clock.now() - dt.timedelta(hours=3), lab="营口市疾控中心").id  # fmt: skip

    # The resident sees red, and why.
    phone = sign_in(new_page("phone"), resident.username)
    phone.goto(f"{live_server}/code")
    assert phone.get_by_test_id("health-code").get_attribute("data-color") == "red"
    assert phone.get_by_test_id("color-name").inner_text() == "红码"
    assert "核酸检测阳性" in phone.get_by_test_id("reasons").inner_text()
    assert _read_qr(phone, live_server) == _live_token(phone)
    screenshot(phone, "phone-1-red")
    phone.get_by_role("link", name="为什么是这个颜色？").click()
    phone.wait_for_url(f"{live_server}/code/why")
    history = phone.get_by_test_id("history")
    assert f"录入检测结果 #{result_id}" in history.inner_text()
    assert "检测机构 · " in history.inner_text()
    assert "没有自动变更的时间" in phone.get_by_test_id("what-next").inner_text()
    assert phone.evaluate(NO_SIDEWAYS_SCROLL)
    screenshot(phone, "phone-2-why")

    # The appeal, filed.
    phone.get_by_role("link", name="申诉", exact=True).click()
    phone.wait_for_url(f"{live_server}/code/appeal")
    phone.get_by_label("您认为哪里有误？").fill(STATEMENT)
    phone.get_by_role("button", name="提交申诉").click()
    phone.wait_for_url(f"{live_server}/code/appeal?filed=1")
    mine = phone.get_by_test_id("my-appeals").locator("li").first
    assert mine.get_attribute("data-status") == "open"
    assert "复核中" in mine.inner_text()
    assert STATEMENT in mine.inner_text()
    assert phone.get_by_role("button", name="提交申诉").count() == 0  # one at a time
    assert phone.evaluate(NO_SIDEWAYS_SCROLL)
    screenshot(phone, "phone-3-filed")

    # The investigator of the district decides: the test result was someone else's.
    desk = sign_in(new_page("desktop"), "investigator")
    desk.locator(".cards").get_by_text("申诉复核", exact=True).click()
    desk.wait_for_url(f"{live_server}/appeals")
    assert desk.locator("h1").inner_text() == "申诉复核"
    item = desk.locator(f"[data-testid=open-appeals] li[data-person-ref='{resident.ref}']")
    assert resident.name in item.locator("h2").inner_text()
    assert STATEMENT in item.inner_text()
    assert "核酸检测阳性" in item.inner_text()
    assert desk.evaluate(NO_SIDEWAYS_SCROLL)
    screenshot(desk, "desktop-4-queue")
    item.get_by_label("更正错误信息").check()
    item.get_by_label(re.compile(rf"撤销检测结果 #{result_id}：阳性")).check()
    item.get_by_label("理由（申诉人会看到）").fill(DECISION)
    item.get_by_role("button", name="提交决定").click()
    desk.wait_for_url(re.compile(rf"{re.escape(live_server)}/appeals\?decided=\d+"))
    assert "决定已记录" in desk.get_by_role("status").first.inner_text()
    assert desk.locator(f"[data-testid=open-appeals] li[data-person-ref='{resident.ref}']").count() == 0
    decided = desk.get_by_test_id("decided-appeals")
    assert DECISION in decided.inner_text()
    assert "已更正" in decided.inner_text()
    screenshot(desk, "desktop-5-decided")
    on_the_go = sign_in(new_page("phone"), "investigator")
    on_the_go.goto(f"{live_server}/appeals")
    assert on_the_go.evaluate(NO_SIDEWAYS_SCROLL)
    screenshot(on_the_go, "phone-5-decided")

    # The resident reads the outcome and the reason; the code is green again.
    phone.goto(f"{live_server}/code/appeal")
    mine = phone.get_by_test_id("my-appeals").locator("li").first
    assert mine.get_attribute("data-status") == "corrected"
    assert "已更正" in mine.inner_text()
    assert DECISION in mine.inner_text()
    screenshot(phone, "phone-6-answer")
    phone.goto(f"{live_server}/code")
    assert phone.get_by_test_id("health-code").get_attribute("data-color") == "green"
    assert phone.get_by_test_id("reasons").inner_text() == "无风险记录"
