"""The issue's acceptance test in a real browser: an investigator confirms a case in the demo city, sees candidates
with evidence, confirms two and dismisses one with a reason, and sees the chain graph. At a desk, then the same
pages on a phone.

The index person is chosen from the demo's own check-ins (no rows are added): the resident of the investigator's
district with the most people co-present over the last 14 days, the span of the demo's check-ins. The onset date is
set so that the infectious window (onset's midnight minus the policy's look-back, until now: nobody isolated yet)
starts at the first of those days.
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

from fangkong.cases.contacts import household_members
from fangkong.cases.models import Case, Contact, ContactStatus
from fangkong.core import clock
from fangkong.core.config import city_zone
from fangkong.core.runtime import Runtime
from fangkong.people.models import Person
from fangkong.policy.service import policy_in_force
from fangkong.regions.models import Region
from fangkong.regions.service import get_region, subtree_clause
from fangkong.tracing.service import traced_contacts

from ..support.browser import DemoCity, box_of

Shot = Callable[..., Path]
SignIn = Callable[..., Any]

NO_SIDEWAYS_SCROLL = "document.scrollingElement.scrollWidth <= window.innerWidth"
DEMO_DAYS = 14
DISMISS_REASON = "全程佩戴口罩，不在同一区域"


@dataclass(frozen=True)
class IndexPerson:
    ref: str
    name: str
    onset: dt.date
    candidates: int  # co-present people and household members the tracing will propose


def _index_person(runtime: Runtime, district_code: str) -> IndexPerson:
    with runtime.database.unit_of_work() as db:
        policy = policy_in_force(db)
        zone = city_zone()
        today = clock.now().astimezone(zone).date()
        onset = today - dt.timedelta(days=DEMO_DAYS) + policy.lookback
        start = dt.datetime.combine(onset, dt.time(), tzinfo=zone) - policy.lookback
        district = get_region(db, code=district_code)
        people = db.execute(
            select(Person)
            .join(Region, Region.id == Person.region_id)
            .where(subtree_clause(Region.path, district.path), Person.id.not_in(select(Case.person_id)))
            .order_by(Person.ref)
        ).scalars()
        # A case links to the cases its candidates already are, and to the cases whose contact its person is (the
        # earlier browser tests of the session make some: tests/browser/test_assist.py confirms a contact); the
        # chain would then show those cases and their contacts too. The expectations below are a lone case's, so
        # the index person is no contact of a case and has no case among its candidates.
        cases = set(db.execute(select(Case.person_id)).scalars())
        contacts_of_cases = set(
            db.execute(select(Contact.person_id).where(Contact.status != ContactStatus.dismissed)).scalars()
        )
        found = []
        for person in people:
            traced = traced_contacts(db, person_id=person.id, start=start, end=clock.now(),
                                     min_overlap=policy.min_overlap)  # fmt: skip
            co_present = {c.person_id for c in traced}
            household = {m.id for m in household_members(db, person_id=person.id)}
            if person.id in contacts_of_cases or (co_present | household) & cases:
                continue
            found.append((len(co_present), len(co_present | household), person.ref, person.name))
        best = max(found)
    assert best[1] >= 3, f"the demo city is too sparse for this test: {best}"
    return IndexPerson(ref=best[2], name=best[3], onset=onset, candidates=best[1])


def _chain_nodes_expected(runtime: Runtime, case_id: int) -> tuple[int, int]:
    """The nodes chains.chain() gives a lone case (itself and its contacts not dismissed), and how many of them
    are candidates nobody has decided on."""
    with runtime.database.unit_of_work() as db:
        statuses = db.execute(
            select(Contact.status).where(Contact.case_id == case_id, Contact.status != ContactStatus.dismissed)
        ).scalars().all()  # fmt: skip
    return 1 + len(statuses), sum(1 for s in statuses if s is ContactStatus.candidate)


def _candidate_refs(page: Any) -> list[str]:
    return [r or "" for r in page.locator("[data-testid=candidates] tbody tr").evaluate_all(
        "rows => rows.map(r => r.dataset.personRef)")]  # fmt: skip


def _decide(page: Any, ref: str, button: str) -> None:
    """Clicks a decision button of the candidate and waits until htmx has put the new section in place."""
    row = page.locator(f"[data-testid=candidates] tr[data-person-ref='{ref}']")
    with page.expect_response(lambda r: "/decision" in r.url) as answer:
        row.get_by_role("button", name=button, exact=True).click()
    assert answer.value.status in (200, 422), answer.value.status
    page.wait_for_load_state()


@pytest.fixture(scope="module")
def index_person(live_runtime: Runtime, demo_city: DemoCity) -> IndexPerson:
    return _index_person(live_runtime, demo_city.accounts["investigator"].region_code)


def test_an_investigator_confirms_a_case_decides_on_its_candidates_and_sees_the_chain(
    live_server: str,
    live_runtime: Runtime,
    demo_city: DemoCity,
    index_person: IndexPerson,
    new_page: Callable[..., Any],
    sign_in: SignIn,
    screenshot: Shot,
) -> None:
    page = sign_in(new_page("desktop"), "investigator")
    page.locator(".cards").get_by_text("病例", exact=True).click()
    page.wait_for_url(f"{live_server}/cases")
    assert page.locator("h1").inner_text() == "病例"

    # The confirm form: the person, the classification, the onset date; the reason goes into the history.
    form = page.locator("form[action='/cases'][method=post]")
    form.get_by_label("人员编号").fill(index_person.ref)
    form.get_by_label("病例分类").select_option(label="确诊病例")
    form.get_by_label("发病日期").fill(index_person.onset.isoformat())
    form.get_by_label("理由").fill("核酸检测阳性，市疾控复核")
    screenshot(page, "desktop-1-confirm-form")
    form.get_by_role("button", name="确认并流调").click()

    page.wait_for_url(re.compile(rf"^{re.escape(live_server)}/cases/\d+$"))
    case_id = int(page.url.rsplit("/", 1)[1])
    assert index_person.name in page.locator("h1").inner_text()
    assert "确诊病例" in page.locator(".case__badges").inner_text()
    assert "cn-" in page.get_by_test_id("window").inner_text()

    # Candidates with their evidence: venues with local times and minutes, or the household.
    refs = _candidate_refs(page)
    assert len(refs) == index_person.candidates
    venue_evidence = page.locator("[data-testid=candidates] .evidence__item--checkin")
    assert venue_evidence.count() >= 1
    first_venue = venue_evidence.first
    if first_venue.locator("details").count():  # many visits to one venue: one line that opens onto them
        assert re.search(r" \d+ 次，共 \d+ 分钟$", first_venue.locator("summary").inner_text())
        first_venue.locator("summary").click()
    assert re.search(r"\d\d-\d\d \d\d:\d\d–\d\d:\d\d · (\d+|<1) 分钟", first_venue.inner_text())
    assert page.evaluate(NO_SIDEWAYS_SCROLL)
    screenshot(page, "desktop-2-candidates")

    # Two confirmed (the first as a close contact, which may bring secondary candidates), one dismissed.
    first, second, third = refs[:3]
    _decide(page, first, "密接")
    assert page.get_by_role("status").inner_text().startswith("已确认")
    assert page.locator(f"[data-testid=confirmed] tr[data-person-ref='{first}']").is_visible()
    _decide(page, second, "时空伴随")
    confirmed = page.locator("[data-testid=confirmed] tbody tr")
    assert confirmed.count() == 2
    assert "时空伴随者" in page.locator(f"[data-testid=confirmed] tr[data-person-ref='{second}']").inner_text()

    # Dismissing without a reason is refused, beside the candidate; with a reason it goes.
    _decide(page, third, "排除")
    row = page.locator(f"[data-testid=candidates] tr[data-person-ref='{third}']")
    assert "排除候选人须说明理由" in row.get_by_role("alert").inner_text()
    row.get_by_placeholder("排除理由").fill(DISMISS_REASON)
    _decide(page, third, "排除")
    assert page.locator(f"[data-testid=candidates] tr[data-person-ref='{third}']").count() == 0
    dismissed = page.locator("details.dismissed")
    dismissed.locator("summary").click()
    assert DISMISS_REASON in dismissed.inner_text()
    screenshot(page, "desktop-3-decided")

    # The chain: drawn by Cytoscape.js, and the same links as a table.
    page.get_by_role("link", name="传播链").click()
    page.wait_for_url(f"{live_server}/cases/{case_id}/chain")
    graph = page.locator("#chain-graph[data-ready=true]")
    graph.wait_for()
    expected, undecided = _chain_nodes_expected(live_runtime, case_id)
    assert graph.get_attribute("data-nodes") == str(expected)
    assert page.evaluate("window.cy.nodes().length") == expected
    assert graph.get_attribute("data-edges") == str(expected - 1)
    assert graph.locator("canvas").count() >= 1
    links = page.get_by_test_id("chain-links").locator("tbody tr")
    assert links.count() == expected - 1
    assert page.get_by_test_id("chain-links").get_by_text(DISMISS_REASON).count() == 0
    # Past 30 undecided candidates the graph shows the cases and decided contacts until asked for the rest.
    toggle = page.get_by_label(re.compile(r"显示尚未研判的候选人"))
    assert toggle.is_checked() == (undecided <= 30)
    if undecided > 30:
        assert graph.get_attribute("data-visible") == str(expected - undecided)
        screenshot(page, "desktop-4-chain-decided", full_page=False)
        toggle.check()
        page.wait_for_function("n => document.getElementById('chain-graph').dataset.visible === String(n)",
                               arg=expected)  # fmt: skip
    # A tap on the case shows its details in the panel.
    at = page.evaluate("id => Object.values(window.cy.$id(id).renderedPosition())", f"case-{case_id}")
    box = box_of(graph)
    page.mouse.click(box["x"] + at[0], box["y"] + at[1])
    panel = page.locator("#chain-panel")
    assert index_person.name in panel.locator("h2").inner_text()
    assert "确诊病例" in panel.inner_text()
    assert page.evaluate(NO_SIDEWAYS_SCROLL)
    screenshot(page, "desktop-4-chain")

    # The lists: the case with its counts, and its contacts with the follow-up form of the confirmed ones.
    page.goto(f"{live_server}/cases")
    row = page.locator("tbody tr", has_text=index_person.ref)
    assert row.locator("td").nth(6).inner_text().strip() == str(undecided)
    assert row.locator("td").nth(7).inner_text().strip() == "2"
    assert page.evaluate(NO_SIDEWAYS_SCROLL)
    screenshot(page, "desktop-5-cases")
    page.goto(f"{live_server}/contacts?status=confirmed")
    assert page.locator("tbody tr").count() == 2
    assert page.locator("tbody tr form[action$='/follow-up']").count() == 2
    assert page.evaluate(NO_SIDEWAYS_SCROLL)
    screenshot(page, "desktop-6-contacts")

    # The same pages on a phone.
    phone = sign_in(new_page("phone"), "investigator")
    for path, what in (("/cases", "cases"), (f"/cases/{case_id}", "case"), (f"/cases/{case_id}/chain", "chain"),
                       ("/contacts", "contacts")):  # fmt: skip
        phone.goto(f"{live_server}{path}")
        if what == "chain":
            phone.locator("#chain-graph[data-ready=true]").wait_for()
        assert phone.evaluate(NO_SIDEWAYS_SCROLL), what
        screenshot(phone, f"phone-{what}")
