"""The case pages through a test client: an investigator confirms a case, decides on its candidates and follows
the contacts up; commanders read without forms; grid workers are refused. The scene is in support/cases.py.
"""

import json
import re
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from httpx import Response
from sqlalchemy import select
from typer.testing import CliRunner

from fangkong.app import create_app
from fangkong.auth.audit_models import AuditAction, AuditEvent
from fangkong.cases.models import Case, CaseChange, CaseEvent, ContactChange, ContactEvent
from fangkong.core.crypto import Keyring
from fangkong.core.runtime import Runtime

from ..support.cases import ONSET, outbreak
from ..support.web import csrf, log_in, run

BROWSER = {"accept": "text/html,application/xhtml+xml,*/*;q=0.8", "accept-language": "en"}
HTMX = {"hx-request": "true"}


@pytest.fixture
def client(runtime: Runtime, keys: Keyring) -> Iterator[TestClient]:
    outbreak(runtime, keys)
    with TestClient(create_app(runtime), headers=BROWSER, follow_redirects=False) as c:
        yield c


def confirm_through_the_form(client: TestClient, person: str = "wang-fang", **fields: str) -> Response:
    # The form's times are the city's wall clock: 08:00 in Yingkou is 00:00 UTC.
    data = {"person_ref": person, "classification": "confirmed", "onset_date": ONSET, "sampled_at": "",
            "isolated_at": "2022-03-21T08:00", "reason": "positive PCR, lab report 0321-17"}  # fmt: skip
    return client.post("/cases", data=data | fields | {"csrf_token": csrf(client.get("/cases").text)})


def new_case(client: TestClient, person: str = "wang-fang") -> int:
    response = confirm_through_the_form(client, person)
    assert response.status_code == 303, response.text
    match = re.fullmatch(r"/cases/(\d+)", response.headers["location"])
    assert match
    return int(match.group(1))


def row_of(html: str, ref: str) -> str:
    """The table row (or list item) of one person on a page."""
    match = re.search(rf'<tr id="contact-\d+"[^>]*data-person-ref="{ref}".*?</tr>', html, re.S)
    assert match, f"no row of {ref}"
    return match.group(0)


def contact_id(html: str, ref: str) -> int:
    match = re.search(r'id="contact-(\d+)"', row_of(html, ref))
    assert match
    return int(match.group(1))


def section(html: str, testid: str) -> str:
    match = re.search(rf'data-testid="{testid}".*?</table>', html, re.S)
    return match.group(0) if match else ""


def decide(client: TestClient, case_id: int, ref: str, decision: str, reason: str = "", **headers: str) -> Response:
    page = client.get(f"/cases/{case_id}").text
    data = {"decision": decision, "reason": reason, "csrf_token": csrf(page)}
    return client.post(f"/contacts/{contact_id(page, ref)}/decision", data=data, headers=headers)


def test_the_case_list_shows_only_the_cases_of_the_investigators_regions(client: TestClient, cli: CliRunner) -> None:
    log_in(client, "inv")
    new_case(client)
    outside = run(cli, "case", "confirm", "--person", "zhang-wei", "--onset", ONSET, "--as", "inv2")
    assert outside.exit_code == 0, outside.output  # 张伟's case, in 大石桥市
    listed = client.get("/cases").text
    assert "王芳" in listed
    assert "wang-fang" in listed
    assert "张伟" not in listed
    assert "Confirm a case" in listed
    assert "王芳" in client.get("/cases", params={"q": "王", "classification": "confirmed", "open": "1"}).text
    assert "王芳" not in client.get("/cases", params={"classification": "asymptomatic"}).text
    assert "王芳" not in client.get("/cases", params={"q": "li-qiang"}).text


def test_a_refused_confirmation_keeps_what_was_typed_and_leaves_no_half_made_case(
    client: TestClient, runtime: Runtime
) -> None:
    log_in(client, "inv")
    refused = confirm_through_the_form(client, onset_date="", isolated_at="")
    assert refused.status_code == 422
    assert "needs a symptom onset date or a first positive sampling time" in refused.text
    assert 'value="wang-fang"' in refused.text
    assert "positive PCR, lab report 0321-17" in refused.text
    # The service had written the case before it found the dates missing: the page rolled that back.
    with runtime.database.unit_of_work() as db:
        assert db.execute(select(Case)).first() is None
    unknown = confirm_through_the_form(client, "nobody")
    assert unknown.status_code == 404
    assert "no person with ref nobody" in unknown.text
    assert "Confirm a case" in unknown.text  # the form again, not an error page


def test_confirming_a_case_shows_its_candidates_with_their_evidence_and_audits_the_read(
    client: TestClient, runtime: Runtime
) -> None:
    log_in(client, "inv")
    case_id = new_case(client)
    page = client.get(f"/cases/{case_id}")
    assert page.status_code == 200
    html = page.text
    assert "王芳" in html
    assert "2022-03-16 00:00 UTC+8 – 2022-03-21 08:00 UTC+8" in html  # the window: onset − 4 days, to isolation
    assert "policy edition cn-9" in html
    candidates = section(html, "candidates")
    li = row_of(candidates, "li-qiang")  # the longest overlap first: 李强's 10 minutes, then the household
    assert candidates.index("li-qiang") < candidates.index("wang-lei")
    for shown in ("李强", "Companion", "龙山超市", "03-20 10:20–10:30", "10 min", 'value="close"', 'value="dismiss"'):
        assert shown in li
    lei = row_of(candidates, "wang-lei")
    assert "Same household" in lei
    assert "Close contact" in lei
    assert "zhang-wei" not in html  # 5 minutes: below the minimum
    assert "positive PCR, lab report 0321-17" in html  # the timeline keeps the reason
    with runtime.database.unit_of_work() as db:
        reads = db.execute(
            select(AuditEvent.purpose).where(AuditEvent.action == AuditAction.case_read,
                                             AuditEvent.entity_ref == str(case_id))
        ).scalars().all()  # fmt: skip
    assert {"case record", "contact list"} <= set(reads)


def test_dismissing_without_a_reason_shows_the_error_and_keeps_the_candidate(client: TestClient) -> None:
    log_in(client, "inv")
    case_id = new_case(client)
    refused = decide(client, case_id, "wang-lei", "dismiss")
    assert refused.status_code == 422
    assert "give a reason for dismissing a candidate" in row_of(refused.text, "wang-lei")
    assert "wang-lei" in section(refused.text, "candidates")
    assert "li-qiang" in section(refused.text, "candidates")  # the rest of the page is still there
    by_htmx = decide(client, case_id, "wang-lei", "dismiss", **HTMX)
    assert by_htmx.status_code == 422
    assert by_htmx.text.lstrip().startswith('<div id="case-contacts"')  # only the section, for htmx to swap
    assert "give a reason for dismissing a candidate" in by_htmx.text

    done = decide(client, case_id, "wang-lei", "dismiss", "moved out in 2021")
    assert done.status_code == 303
    page = client.get(f"/cases/{case_id}").text
    assert "wang-lei" not in section(page, "candidates")
    assert re.search(r"王磊.*?moved out in 2021", page, re.S)


def test_confirming_a_close_contact_through_the_form_brings_secondary_candidates(client: TestClient) -> None:
    log_in(client, "inv")
    case_id = new_case(client)
    done = decide(client, case_id, "li-qiang", "close")
    assert done.status_code == 303
    assert re.fullmatch(rf"/cases/{case_id}#contact-\d+", done.headers["location"])
    page = client.get(f"/cases/{case_id}").text
    li = row_of(section(page, "confirmed"), "li-qiang")
    assert "Close contact" in li
    assert "To trace" in li
    zhao = row_of(section(page, "candidates"), "zhao-min")  # met 李强 at the market that afternoon
    assert "via 李强" in zhao
    assert "钢都农贸市场" in zhao

    by_htmx = decide(client, case_id, "wang-lei", "companion", **HTMX)
    assert by_htmx.status_code == 200
    assert "王磊 confirmed: Spatiotemporal companion." in by_htmx.text
    assert "wang-lei" in section(by_htmx.text, "confirmed")


def test_a_confirmed_contact_is_followed_up_with_dated_notes(client: TestClient) -> None:
    log_in(client, "inv")
    case_id = new_case(client)
    decide(client, case_id, "li-qiang", "close")
    page = client.get(f"/cases/{case_id}").text
    li_id = contact_id(page, "li-qiang")
    form = {"status": "under_observation", "note": "home observation, phone call done", "next": f"/cases/{case_id}",
            "csrf_token": csrf(page)}  # fmt: skip
    done = client.post(f"/contacts/{li_id}/follow-up", data=form)
    assert done.status_code == 303
    assert done.headers["location"] == f"/cases/{case_id}#contact-{li_id}"
    li = row_of(section(client.get(f"/cases/{case_id}").text, "confirmed"), "li-qiang")
    assert "Under medical observation" in li
    assert "home observation, phone call done" in li
    assert re.search(r"\d{4}-\d\d-\d\d \d\d:\d\d UTC\+8 · inv", li)  # dated, with who wrote it

    empty = client.post(f"/contacts/{li_id}/follow-up", data=form | {"status": "", "note": ""})
    assert empty.status_code == 422
    assert "give a follow-up status, a note, or both" in row_of(empty.text, "li-qiang")


def test_the_contact_list_filters_and_follows_up_where_it_stands(client: TestClient) -> None:
    log_in(client, "inv")
    case_id = new_case(client)
    decide(client, case_id, "li-qiang", "companion")
    everyone = client.get("/contacts").text
    assert "li-qiang" in everyone
    assert "wang-lei" in everyone
    assert f'href="/cases/{case_id}#contact-' in everyone
    confirmed = client.get("/contacts", params={"status": "confirmed"}).text
    assert "li-qiang" in confirmed
    assert "wang-lei" not in confirmed
    li_id = contact_id(confirmed, "li-qiang")
    back = "/contacts?status=confirmed"
    done = client.post(f"/contacts/{li_id}/follow-up", data={"status": "traced", "note": "", "next": back,
                                                             "csrf_token": csrf(confirmed)})  # fmt: skip
    assert done.status_code == 303
    assert done.headers["location"] == f"{back}#contact-{li_id}"
    assert "Reached" in row_of(client.get(back).text, "li-qiang")
    refused = client.post(f"/contacts/{li_id}/follow-up", data={"next": back, "csrf_token": csrf(confirmed)})
    assert refused.status_code == 422
    assert "give a follow-up status, a note, or both" in row_of(refused.text, "li-qiang")
    assert "wang-lei" not in refused.text  # the list again, with its filter
    log_in(client, "inv2")
    assert "No contact in your regions matches." in client.get("/contacts").text


def test_a_contact_from_an_interview_is_added_with_its_evidence(client: TestClient) -> None:
    log_in(client, "inv")
    case_id = new_case(client)
    page = client.get(f"/cases/{case_id}").text
    form = {"person_ref": "zhao-min", "tier": "close", "note": "dinner at her home", "venue": "赵敏家",
            "start": "2022-03-19T18:00", "end": "2022-03-19T20:00", "csrf_token": csrf(page)}  # fmt: skip
    refused = client.post(f"/cases/{case_id}/contacts", data=form | {"end": "2022-03-19T17:00"})
    assert refused.status_code == 422
    assert "give both the start and the end of the exposure, the end after the start" in refused.text
    assert 'value="赵敏家"' in refused.text
    added = client.post(f"/cases/{case_id}/contacts", data=form)
    assert added.status_code == 303
    zhao = row_of(section(client.get(f"/cases/{case_id}").text, "confirmed"), "zhao-min")
    for shown in ("Interview · 赵敏家", "03-19 18:00–20:00", "dinner at her home", "Close contact"):
        assert shown in zhao


def test_a_change_needs_a_reason_and_joins_the_timeline(client: TestClient) -> None:
    log_in(client, "inv")
    case_id = new_case(client)
    token = csrf(client.get(f"/cases/{case_id}").text)
    refused = client.post(f"/cases/{case_id}/change", data={"severity": "mild", "csrf_token": token})
    assert refused.status_code == 422
    assert "give a reason for the change" in refused.text
    assert '<option value="mild" selected>' in refused.text
    done = client.post(f"/cases/{case_id}/change", data={"severity": "mild", "reason": "CT scan", "csrf_token": token})
    assert done.status_code == 303
    page = client.get(f"/cases/{case_id}").text
    assert re.search(r"<strong>Severity</strong>: Mild</p>\s*<p class=\"timeline__reason\">CT scan</p>", page)
    retraced = client.post(f"/cases/{case_id}/trace", data={"csrf_token": token})
    assert retraced.status_code == 303
    assert "0 new candidates, 2 refreshed" in client.get(f"/cases/{case_id}").text


def test_the_chain_page_lists_the_links_it_draws(client: TestClient) -> None:
    log_in(client, "inv")
    first = new_case(client)
    decide(client, first, "li-qiang", "close")
    second = new_case(client, "li-qiang")
    page = client.get(f"/cases/{second}/chain")
    assert page.status_code == 200
    links = section(page.text, "chain-links")
    link = re.search(rf'<tr data-source="case-{first}" data-target="case-{second}">.*?</tr>', links, re.S)
    assert link
    for shown in ("王芳", "李强", "Close contact", "Confirmed", "<td data-label=\"Minutes\">10</td>",
                  "龙山超市 03-20 10:20–10:30"):  # fmt: skip
        assert shown in link.group(0)
    data = re.search(r'<script type="application/json" id="chain-data">(.*?)</script>', page.text, re.S)
    assert data
    graph = json.loads(data.group(1))
    assert {n["id"] for n in graph["nodes"] if n["kind"] == "case"} == {f"case-{first}", f"case-{second}"}
    assert len(graph["edges"]) == links.count("<tr data-source=")
    assert "/static/vendor/cytoscape/cytoscape.min.js" in page.text
    assert "/static/js/chain.js" in page.text


def test_a_commander_sees_cases_and_contacts_but_gets_no_forms(client: TestClient) -> None:
    log_in(client, "inv")
    case_id = new_case(client)
    lei = contact_id(client.get(f"/cases/{case_id}").text, "wang-lei")
    log_in(client, "cmd")
    listed = client.get("/cases").text
    assert "王芳" in listed
    assert "Confirm a case" not in listed
    page = client.get(f"/cases/{case_id}").text
    assert "li-qiang" in section(page, "candidates")
    assert "/decision" not in page
    assert "/follow-up" not in page
    assert f'action="/cases/{case_id}/change"' not in page
    assert client.get(f"/cases/{case_id}/chain").status_code == 200
    refused = client.post(f"/contacts/{lei}/decision", data={"decision": "close", "csrf_token": csrf(page)})
    assert refused.status_code == 403


def test_a_grid_worker_cannot_open_the_case_pages(client: TestClient) -> None:
    log_in(client, "inv")
    case_id = new_case(client)
    home = client.get("/").text
    assert 'href="/cases"' in home
    assert 'href="/contacts"' in home
    log_in(client, "gw")
    assert 'href="/cases"' not in client.get("/").text
    for path in ("/cases", "/contacts", f"/cases/{case_id}", f"/cases/{case_id}/chain"):
        assert client.get(path).status_code == 403, path
    client.cookies.clear()
    assert client.get("/cases").headers["location"] == "/login?next=%2Fcases"


def test_the_timeline_and_the_contact_history_are_worded_in_the_readers_language(
    client: TestClient, runtime: Runtime
) -> None:
    log_in(client, "inv")
    case_id = new_case(client)
    decide(client, case_id, "li-qiang", "close")
    second = new_case(client, "li-qiang")  # 李强's contact record now points at his own case
    with runtime.database.unit_of_work() as db:
        events = db.execute(select(CaseEvent.change, CaseEvent.params).where(CaseEvent.case_id == case_id)).all()
        traced = [json.loads(params) for change, params in events if change is CaseChange.traced]
        became = db.execute(
            select(ContactEvent.params).where(ContactEvent.change == ContactChange.became_case)
        ).scalar_one()  # fmt: skip
    assert traced == [{"start": "2022-03-15T16:00:00+00:00", "end": "2022-03-21T00:00:00+00:00", "policy": "cn-9",
                       "new": 2, "refreshed": 0}]  # fmt: skip
    assert json.loads(became) == {"case": second}

    english = client.get(f"/cases/{case_id}").text
    assert "<strong>Reported</strong>: Confirmed" in english
    assert "window 03-16 00:00 – 03-21 08:00 (cn-9): 2 new candidates, 0 refreshed" in english
    assert f"Case #{second}" in row_of(section(english, "confirmed"), "li-qiang")
    chinese = client.get(f"/cases/{case_id}", headers={"accept-language": "zh-CN"}).text
    assert "流调时段 03-16 00:00 – 03-21 08:00（cn-9）：新增候选 2 人，更新 0 人" in chinese
    assert f"病例 #{second}" in row_of(section(chinese, "confirmed"), "li-qiang")
