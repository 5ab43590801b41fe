"""The health-code pages through a test client: the resident's live code, why it is its color and their appeals;
the investigators' appeal queue; the venue door. The scene is support/cases.py's outbreak (王芳 is the
resident `wang`, `inv` investigates 站前区, `op1` runs 龙山超市 there), on 2022-03-21 at noon, Beijing time."""

import datetime as dt
import re
from collections.abc import Iterator
from html import unescape

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from typer.testing import CliRunner

from fangkong.app import create_app
from fangkong.auth.actor import Actor
from fangkong.auth.audit_models import Channel
from fangkong.auth.models import Role
from fangkong.auth.service import actor_for, create_user, get_user
from fangkong.core import causes, clock
from fangkong.core.crypto import Keyring
from fangkong.core.runtime import Runtime
from fangkong.healthcode.door import verify as door_verify
from fangkong.healthcode.engine import Reason
from fangkong.healthcode.pages import POLL_SECONDS, labels_needing_translation, negatives_needed, qr_svg
from fangkong.healthcode.pages_appeals import RESULT_LABELS
from fangkong.healthcode.token import verify
from fangkong.policy.editions import Color
from fangkong.testing.models import TestOutcome
from fangkong.testing.service import add_result
from fangkong.venues.models import Checkin, CheckinSource
from fangkong.web.i18n import gettext

from ..support.cases import at, confirm_case_and_close_contact, outbreak
from ..support.personas import PASSWORD
from ..support.web import csrf, log_in

BROWSER = {"accept": "text/html,application/xhtml+xml,*/*;q=0.8", "accept-language": "en"}
HTMX = {"hx-request": "true"}
NOW = at("12:00", day=21)


@pytest.fixture
def scene(runtime: Runtime, keys: Keyring) -> Iterator[dict[str, str]]:
    tokens = outbreak(runtime, keys)
    with clock.frozen_at(NOW):
        yield tokens


def browser(runtime: Runtime) -> TestClient:
    return TestClient(create_app(runtime), headers=BROWSER, follow_redirects=False)


@pytest.fixture
def client(runtime: Runtime, scene: dict) -> Iterator[TestClient]:
    with browser(runtime) as c:
        yield c


@pytest.fixture
def operator(runtime: Runtime, scene: dict) -> Iterator[TestClient]:
    """A second browser, at the door of 龙山超市."""
    with browser(runtime) as c:
        log_in(c, "op1")
        yield c


def positive_test(runtime: Runtime, ref: str = "wang-fang") -> int:
    with runtime.database.unit_of_work() as db:
        lab = actor_for(db, user=get_user(db, username="lab"), channel=Channel.api)
        return add_result(db, actor=lab, person_ref=ref, sampled_at=at("08:00", day=21), result=TestOutcome.positive,
                          lab="营口市疾控中心").id  # fmt: skip


def live_token(html: str) -> str:
    match = re.search(r'data-token="([^"]+)"', html)
    assert match, "no token on the page"
    return match.group(1)


def verify_now(runtime: Runtime, token: str) -> str:
    _, public = door_verify._keypair(runtime.keys.signing_seed)
    return verify(token, keys=public, now=clock.now()).color


def text_of(html: str) -> str:
    """The page's words without tags, on one line: what a reader sees."""
    return re.sub(r"\s+", " ", unescape(re.sub(r"<[^>]+>", " ", html))).strip()


# --- the live code -------------------------------------------------------------------------------------------------


def test_the_code_page_shows_the_residents_color_and_reasons(client: TestClient, runtime: Runtime) -> None:
    log_in(client, "wang")
    page = client.get("/code")
    assert page.status_code == 200
    assert page.headers["cache-control"] == "no-store"
    shown = text_of(page.text)
    assert "Green code" in shown
    assert "No risk on record" in shown
    assert "王*" in shown
    assert "王芳" not in page.text.split("<main", 1)[1].split("</main>", 1)[0]  # only the header names her
    assert 'data-color="green"' in page.text
    assert f'hx-trigger="every {POLL_SECONDS}s, refresh"' in page.text
    assert 'href="/code/why"' in page.text
    assert 'href="/code/appeal"' in page.text
    assert 'href="/me/access-log"' in page.text

    positive_test(runtime)
    red = client.get("/code", headers={"accept-language": "zh-CN"})
    assert 'data-color="red"' in red.text
    assert "红码" in red.text
    assert "核酸检测阳性（3月21日 08:00采样），待流调复核" in red.text


def test_others_are_sent_to_log_in_and_officials_without_a_person_are_refused(client: TestClient) -> None:
    assert client.get("/code").headers["location"] == "/login?next=%2Fcode"
    assert client.get("/code/why").headers["location"] == "/login?next=%2Fcode%2Fwhy"
    assert client.get("/code/live", headers=HTMX).status_code == 401  # the page says "not live", no login inside
    log_in(client, "inv")
    for path in ("/code", "/code/live", "/code/why", "/code/appeal"):
        refused = client.get(path)
        assert refused.status_code == 403, path
        assert "only a resident&#39;s own account has a health code" in refused.text


def test_the_live_fragment_carries_a_qr_of_a_token_that_verifies(client: TestClient, runtime: Runtime) -> None:
    log_in(client, "wang")
    first = client.get("/code/live", headers=HTMX)
    assert first.status_code == 200
    assert "<html" not in first.text
    token = live_token(first.text)
    assert verify_now(runtime, token) == "green"
    # The QR is the token's, drawn server-side in the code's color.
    assert qr_svg(token, Color.green) in first.text
    assert 'stroke="#0a6e31"' in first.text
    assert 'data-expires-at="2022-03-21T04:03:00+00:00"' in first.text  # 12:00 Beijing time + 3 minutes
    with clock.frozen_at(NOW + dt.timedelta(minutes=1)):
        again = client.get("/code/live", headers=HTMX)
        assert live_token(again.text) != token
        assert verify_now(runtime, live_token(again.text)) == "green"
    # The poll can be quickened for a demonstration, never slowed or stopped.
    assert 'hx-trigger="every 5s, refresh"' in client.get("/code?poll=5").text
    assert f'hx-trigger="every {POLL_SECONDS}s, refresh"' in client.get("/code?poll=3600").text
    assert 'hx-trigger="every 2s, refresh"' in client.get("/code?poll=0").text


# --- why this color -----------------------------------------------------------------------------------------------


def li_qiang_as_a_resident(runtime: Runtime, cli: CliRunner) -> int:
    """王芳 confirmed; 李强, her close contact, gets a resident account `li`. Returns his contact record's id."""
    contact_id = confirm_case_and_close_contact(runtime, cli)
    with runtime.database.unit_of_work() as db:
        create_user(db, actor=Actor.system(), username="li", password=PASSWORD,
                    grants=[(Role.resident, "210802001001002")], person_ref="li-qiang")  # fmt: skip
    return contact_id


def test_the_why_page_says_when_the_code_changes_and_lists_its_history(
    client: TestClient, runtime: Runtime, cli: CliRunner
) -> None:
    contact_id = li_qiang_as_a_resident(runtime, cli)
    log_in(client, "li")
    page = client.get("/code/why")
    assert page.status_code == 200
    shown = text_of(page.text)
    assert "Red code" in shown
    assert "Close contact, same place and time as a case: 龙山超市" in shown
    # 7 days of centralized quarantine from the last exposure, 03-20 10:30, under the 9th edition.
    assert "If nothing new is recorded, your code changes by itself at 2022-03-27 10:30 UTC+8." in shown
    assert "6 more negative tests are needed." in shown  # days 1, 2, 3, 5 and 7 centralized, day 3 at home
    assert "COVID-19 prevention and control protocol, 9th edition" in shown
    history = page.text.split('data-testid="history"', 1)[1]
    assert f"contact record #{contact_id} confirmed" in history
    assert "Investigator · 站前区" in history  # an office, not the investigator's account name
    assert ">inv<" not in history
    assert 'href="/me/access-log"' in page.text

    chinese = text_of(client.get("/code/why", headers={"accept-language": "zh-CN"}).text)
    assert "新型冠状病毒肺炎防控方案（第九版）" in chinese
    assert "还需 6 次核酸阴性。" in chinese
    assert f"接触者记录 #{contact_id} 已确认" in chinese
    assert "流调人员 · 站前区" in chinese


def test_a_code_that_was_always_green_says_so(client: TestClient) -> None:
    log_in(client, "wang")
    shown = text_of(client.get("/code/why").text)
    assert "Your code is green: nothing is needed." in shown
    assert "Your code has always been green." in shown


# --- appeals ------------------------------------------------------------------------------------------------------


def file_appeal(client: TestClient, statement: str) -> TestClient:
    page = client.get("/code/appeal").text
    return client.post("/code/appeal", data={"statement": statement, "csrf_token": csrf(page)})


def decide_appeal(client: TestClient, appeal_id: int, **fields: str) -> TestClient:
    page = client.get("/appeals").text
    return client.post(f"/appeals/{appeal_id}/decision", data={"csrf_token": csrf(page), **fields})


def open_appeal_id(html: str) -> int:
    match = re.search(r'id="appeal-(\d+)"', html)
    assert match, "no open appeal on the page"
    return int(match.group(1))


def test_a_resident_appeals_and_an_investigator_corrects_the_wrong_fact(
    runtime: Runtime, scene: dict, client: TestClient
) -> None:
    result_id = positive_test(runtime)
    log_in(client, "wang")
    empty = file_appeal(client, "  ")
    assert empty.status_code == 422
    assert "say why you think your color is wrong" in empty.text
    filed = file_appeal(client, "That tube was not mine: I was at work all morning")
    assert (filed.status_code, filed.headers["location"]) == (303, "/code/appeal?filed=1")
    mine = client.get("/code/appeal?filed=1").text
    assert "Your appeal has been sent." in mine
    assert "Under review" in mine
    assert 'action="/code/appeal"' not in mine  # one appeal at a time: no form while it is open
    assert file_appeal(client, "again").status_code == 409
    assert "Appeal under review" in text_of(client.get("/code").text)  # the note under the reasons

    with browser(runtime) as official:
        log_in(official, "inv")
        queue = official.get("/appeals").text
        shown = text_of(queue)
        assert "王芳" in shown
        assert "wang-fang" in shown
        assert 'href="/people/wang-fang"' in queue
        assert "That tube was not mine" in shown
        assert "Positive test sampled 21 Mar 08:00, awaiting review" in shown
        assert f"Withdraw test result #{result_id}: Positive" in shown
        appeal_id = open_appeal_id(queue)
        no_fact = decide_appeal(official, appeal_id, outcome="corrected", reason="the tubes were swapped")
        assert no_fact.status_code == 422
        assert "choose the wrong fact" in no_fact.text
        assert "the tubes were swapped" in no_fact.text  # what was typed stays
        decided = decide_appeal(official, appeal_id, outcome="corrected", fact=f"result:{result_id}",
                                reason="the tubes were swapped at the sampling point")  # fmt: skip
        assert decided.status_code == 303, decided.text
        after = official.get(decided.headers["location"]).text
        assert "No appeal of your regions is waiting for review." in after
        assert "the tubes were swapped at the sampling point" in after.split('data-testid="decided-appeals"')[1]

    answer = text_of(client.get("/code/appeal").text)
    assert "Corrected" in answer
    assert "The investigator's reason: the tubes were swapped at the sampling point" in answer
    assert 'data-color="green"' in client.get("/code").text
    history = text_of(client.get("/code/why").text)
    assert f"appeal #{appeal_id} filed" in history
    assert f"test result #{result_id} withdrawn" in history


def test_an_investigator_upholds_an_appeal_with_a_reason_and_the_color_stands(
    runtime: Runtime, client: TestClient
) -> None:
    positive_test(runtime)
    log_in(client, "wang")
    assert file_appeal(client, "I feel fine").status_code == 303
    with browser(runtime) as official:
        log_in(official, "inv")
        appeal_id = open_appeal_id(official.get("/appeals").text)
        assert decide_appeal(official, appeal_id, reason="no choice made").status_code == 422
        assert decide_appeal(official, appeal_id, outcome="upheld", reason="  ").status_code == 422
        upheld = decide_appeal(official, appeal_id, outcome="upheld", reason="the lab confirmed it twice")
        assert upheld.status_code == 303
        late = decide_appeal(official, appeal_id, outcome="upheld", reason="again")
        assert late.status_code == 409
        assert "was decided already" in late.text
    mine = text_of(client.get("/code/appeal").text)
    assert "Upheld: the color stands" in mine
    assert "the lab confirmed it twice" in mine
    assert 'data-color="red"' in client.get("/code").text


def test_only_investigators_of_the_appellants_region_see_the_appeal(runtime: Runtime, client: TestClient) -> None:
    log_in(client, "wang")
    assert file_appeal(client, "why?").status_code == 303
    log_in(client, "inv2")  # 大石桥市
    assert "No appeal of your regions is waiting for review." in client.get("/appeals").text
    for username in ("cmd", "gw", "wang"):
        log_in(client, username)
        assert client.get("/appeals").status_code == 403, username
    assert client.get("/appeals").status_code == 403
    client.cookies.clear()
    assert client.get("/appeals").headers["location"] == "/login?next=%2Fappeals"


# --- the door -----------------------------------------------------------------------------------------------------


def at_door(operator: TestClient, token: str, temperature: str = "", **headers: str) -> TestClient:
    page = operator.get("/venues/V-LONGSHAN/door").text
    data = {"token": token, "temperature": temperature, "csrf_token": csrf(page)}
    return operator.post("/venues/V-LONGSHAN/door", data=data, headers=headers)


def test_the_door_page_lets_a_fresh_code_in_and_checks_it_in(
    runtime: Runtime, client: TestClient, operator: TestClient
) -> None:
    page = operator.get("/venues/V-LONGSHAN/door")
    assert page.status_code == 200
    assert "Check codes at the door" in page.text
    assert "/static/vendor/jsqr/jsQR.js?v=" in page.text  # read by the camera; no CDN
    assert 'href="/venues/V-LONGSHAN/door"' in operator.get("/venues/V-LONGSHAN").text
    log_in(client, "wang")
    token = live_token(client.get("/code/live").text)

    answer = at_door(operator, token)
    assert answer.status_code == 200
    shown = text_of(answer.text)
    assert "May enter" in shown
    assert "王* · ✓ Green code" in shown
    assert "No negative test on record" in shown
    assert "Checked in at 12:00:00" in shown
    with runtime.database.unit_of_work() as db:
        [checkin] = db.execute(select(Checkin).where(Checkin.source == CheckinSource.door)).scalars()
        assert checkin.checked_in_at == NOW

    # With htmx only the answer comes back, in the page's language. (A second later: one check-in per instant.)
    with clock.frozen_at(NOW + dt.timedelta(seconds=1)):
        fragment = at_door(operator, live_token(client.get("/code/live").text), **HTMX, **{"accept-language": "zh-CN"})
    assert "<html" not in fragment.text
    assert "准予进入" in fragment.text
    assert 'data-entry="allow"' in fragment.text


def test_the_door_page_refuses_an_expired_or_altered_code_with_the_reason(
    client: TestClient, operator: TestClient
) -> None:
    log_in(client, "wang")
    token = live_token(client.get("/code/live").text)
    with clock.frozen_at(NOW + dt.timedelta(minutes=4)):  # a screenshot from four minutes ago
        expired = at_door(operator, token)
    assert expired.status_code == 422
    shown = text_of(expired.text)
    assert "Do not let in" in shown
    assert "this code has expired (a screenshot?); ask for the live code page" in shown
    assert 'data-entry="refused"' in expired.text
    chinese = at_door(operator, token[:40] + ("A" if token[40] != "A" else "B") + token[41:],
                      **{"accept-language": "zh-CN"})  # fmt: skip
    assert "不得进入" in chinese.text
    assert "此码" in text_of(chinese.text.split('data-testid="door-answer"', 1)[1])
    assert at_door(operator, "").status_code == 422


def test_a_fever_at_the_door_refuses_entry_and_a_wrong_temperature_is_asked_again(
    client: TestClient, operator: TestClient
) -> None:
    log_in(client, "wang")
    fever = at_door(operator, live_token(client.get("/code/live").text), temperature="38,2")
    shown = text_of(fever.text)
    assert "Do not let in" in shown
    assert "Yellow code" in shown
    assert "a yellow code does not enter here" in shown
    assert "Temperature 38.2 °C: fever, recorded" in shown
    wrong = at_door(operator, live_token(client.get("/code/live").text), temperature="hot")
    assert wrong.status_code == 422
    assert "hot is not a temperature like 36.5" in wrong.text
    assert 'data-testid="door-answer"' not in wrong.text  # a typing slip is not a verdict


def test_only_the_venues_operator_opens_its_door_page(runtime: Runtime, client: TestClient) -> None:
    assert client.get("/venues/V-LONGSHAN/door").headers["location"] == "/login?next=%2Fvenues%2FV-LONGSHAN%2Fdoor"
    log_in(client, "op2")
    assert client.get("/venues/V-LONGSHAN/door").status_code == 404
    log_in(client, "wang")
    assert client.get("/venues/V-LONGSHAN/door").status_code == 403


# --- home cards and words ----------------------------------------------------------------------------------------


def test_the_home_page_offers_the_code_to_residents_and_appeals_to_investigators(client: TestClient) -> None:
    log_in(client, "wang")
    cards = re.findall(r'class="card__link" href="([^"]+)"', client.get("/").text)
    assert cards[0] == "/code"
    assert "/appeals" not in cards
    log_in(client, "inv")
    assert "/appeals" in re.findall(r'class="card__link" href="([^"]+)"', client.get("/").text)
    log_in(client, "cmd")
    assert "/appeals" not in re.findall(r'class="card__link" href="([^"]+)"', client.get("/").text)


def test_it_words_every_cause_the_services_write() -> None:
    def en(msgid: str, **params: object) -> str:
        return gettext("en", msgid, **params)

    def zh(msgid: str, **params: object) -> str:
        return gettext("zh", msgid, **params)

    assert (
        causes.render("cases.contact_confirmed", {"contact": 7, "tier": "close"}, en) == "contact record #7 confirmed"
    )
    assert causes.render("cases.contact_dismissed", {"contact": 7}, en) == "contact record #7 dismissed"
    assert causes.render("testing.result_withdrawn", {"result": 12}, en) == "test result #12 withdrawn"
    assert causes.render("healthcode.fever", {"celsius": 38.2, "venue": "V-LONGSHAN"}, en) == (
        "fever of 38.2 °C at V-LONGSHAN"
    )
    assert causes.render("policy.edition_changed", {"old": "cn-9", "new": "cn-8"}, en) == (
        "policy edition changed: cn-9 → cn-8"
    )
    assert causes.render("healthcode.appeal_corrected", {"appeal": 3}, zh) == "申诉 #3：已更正错误信息"
    assert causes.render("healthcode.phase_ended", {}, zh) == "期限已到"
    assert causes.render("healthcode.stay_declared", {"area": "上海市浦东新区"}, zh) == "申报曾在上海市浦东新区停留"
    # A migrated text of no known shape is shown as written rather than lost; a missing parameter shows the kind.
    assert causes.render(causes.UNKNOWN, {"text": "something new"}, en) == "something new"
    assert causes.render("cases.case_reported", {}, en) == "cases.case_reported"


def test_every_cause_kind_of_every_domain_has_words() -> None:
    from fangkong.cases.models import CaseCause
    from fangkong.healthcode.models import CodeCause
    from fangkong.policy.service import PolicyCause
    from fangkong.testing.models import TestingCause

    kinds = {k.value for enum in (CaseCause, CodeCause, PolicyCause, TestingCause) for k in enum}
    assert kinds <= set(causes.msgids())


def test_it_counts_the_tests_a_code_still_waits_for() -> None:
    reasons = [
        Reason("close_contact_quarantine", {"tests_needed": 4, "min_spacing_hours": 24}, Color.red),
        Reason("companion_tests_needed", {"tests_needed": 2, "min_spacing_hours": 24}, Color.yellow),
    ]
    needed = negatives_needed(reasons)
    assert needed is not None
    assert (needed.count, needed.spacing_hours) == (4, 24)
    assert negatives_needed([Reason("all_clear", {}, Color.green)]) is None


def test_every_label_the_health_code_pages_choose_is_translated() -> None:
    chosen = {m for values in labels_needing_translation().values() for m in values} | set(RESULT_LABELS.values())
    untranslated = sorted(m for m in chosen if gettext("zh", m) == m)
    assert untranslated == []
