"""Confirming a case proposes its contacts with evidence; investigators decide; scoping, policy and history.
The scene is described in support/cases.py."""

import json
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select, text
from sqlalchemy.exc import DBAPIError
from typer.testing import CliRunner

from fangkong.app import create_app
from fangkong.auth.audit_models import AuditAction, AuditEvent
from fangkong.cases.models import CaseEvent
from fangkong.core.crypto import Keyring
from fangkong.core.models import SystemSetting
from fangkong.core.runtime import Runtime

from ..support.cases import ISOLATED, ONSET, add_visit, at, outbreak
from ..support.personas import CHEN, LIU, SUN, ZHOU
from ..support.web import as_, run


@pytest.fixture
def tokens(runtime: Runtime, keys: Keyring) -> dict[str, str]:
    return outbreak(runtime, keys)


@pytest.fixture
def client(runtime: Runtime) -> Iterator[TestClient]:
    with TestClient(create_app(runtime), headers={"accept-language": "en"}) as c:
        yield c


def confirm(cli: CliRunner, person: str = "wang-fang", *extra: str) -> int:
    result = run(cli, "case", "confirm", "--person", person, "--onset", ONSET, "--isolated", ISOLATED,
                 "--as", CHEN.username, *extra)  # fmt: skip
    assert result.exit_code == 0, result.output
    return int(result.stdout.splitlines()[0])


def contacts(cli: CliRunner, case_id: int) -> dict[str, dict[str, Any]]:
    result = run(cli, "contacts", "--case", str(case_id), "--json", "--as", CHEN.username)
    assert result.exit_code == 0, result.output
    return {c["person_ref"]: c for c in json.loads(result.stdout)}


def decide(client: TestClient, headers: dict[str, str], contact_id: int, decision: str, reason: str = "") -> Any:
    return client.post(f"/api/contacts/{contact_id}/decision", json={"decision": decision, "reason": reason},
                       headers=headers)  # fmt: skip


def test_confirming_a_case_proposes_co_present_people_and_the_household_with_evidence(
    cli: CliRunner, tokens: dict
) -> None:
    found = contacts(cli, confirm(cli))
    assert set(found) == {"li-qiang", "wang-lei"}  # 张伟's 5 minutes are below the 10-minute minimum
    li, lei = found["li-qiang"], found["wang-lei"]
    assert (li["status"], li["proposed_tier"], li["overlap_seconds"]) == ("candidate", "companion", 600)
    assert [(e["kind"], e["venue_ref"], e["start"], e["end"]) for e in li["evidence"]] == [
        ("checkin", "V-LONGSHAN", "2022-03-20T02:20:00Z", "2022-03-20T02:30:00Z")
    ]
    assert (lei["status"], lei["proposed_tier"]) == ("candidate", "close")
    assert [(e["kind"], e["start"], e["end"]) for e in lei["evidence"]] == [
        ("household", "2022-03-15T16:00:00Z", "2022-03-21T00:00:00Z")  # the infectious window: onset − 4 days
    ]


def test_the_look_back_is_the_policy_editions(runtime: Runtime, cli: CliRunner, tokens: dict) -> None:
    # Three days before onset 王芳 and 张伟 shared an hour at the market: inside the 9th edition's 4-day look-back,
    # outside the 8th's 2 days.
    add_visit(runtime, "wang-fang", "V-GANGDU", at("09:00", day=17), at("10:00", day=17))
    add_visit(runtime, "zhang-wei", "V-GANGDU", at("09:00", day=17), at("10:00", day=17))
    assert "zhang-wei" in contacts(cli, confirm(cli))
    with runtime.database.unit_of_work() as db:
        db.add(SystemSetting(key="policy_edition", value="cn-8"))
    result = run(cli, "case", "confirm", "--person", "li-qiang", "--onset", ONSET, "--as", CHEN.username)
    assert "cn-8" in result.output
    with runtime.database.unit_of_work() as db:
        window = db.execute(text("SELECT traced_from FROM case_record WHERE id = :id"),
                            {"id": int(result.stdout.splitlines()[0])}).scalar_one()  # fmt: skip
    assert str(window).startswith("2022-03-17 16:00")  # 03-18 00:00 Beijing time


def test_a_confirmed_close_contact_brings_secondary_candidates_from_their_first_exposure(
    cli: CliRunner, client: TestClient, tokens: dict
) -> None:
    case_id = confirm(cli)
    li = contacts(cli, case_id)["li-qiang"]
    response = decide(client, as_(tokens, CHEN), li["id"], "close")
    assert response.status_code == 200, response.text
    assert (response.json()["tier"], response.json()["follow_up"]) == ("close", "to_trace")
    zhao = contacts(cli, case_id)["zhao-min"]
    assert (zhao["status"], zhao["proposed_tier"], zhao["via_contact_id"]) == ("candidate", "secondary", li["id"])
    assert zhao["overlap_seconds"] == 30 * 60


def test_under_the_20_measures_no_secondary_contacts_are_traced(
    runtime: Runtime, cli: CliRunner, client: TestClient, tokens: dict
) -> None:
    with runtime.database.unit_of_work() as db:
        db.add(SystemSetting(key="policy_edition", value="cn-20m"))
    case_id = confirm(cli)
    decide(client, as_(tokens, CHEN), contacts(cli, case_id)["li-qiang"]["id"], "close")
    assert "zhao-min" not in contacts(cli, case_id)


def test_dismissing_needs_a_reason_and_every_decision_is_audited(
    runtime: Runtime, cli: CliRunner, client: TestClient, tokens: dict
) -> None:
    lei = contacts(cli, confirm(cli))["wang-lei"]
    refused = decide(client, as_(tokens, CHEN), lei["id"], "dismiss")
    assert refused.status_code == 422
    assert "give a reason for dismissing" in refused.json()["error"]["message"]
    assert decide(client, as_(tokens, CHEN), lei["id"], "dismiss", "moved out in 2021").json()["status"] == "dismissed"
    with runtime.database.unit_of_work() as db:
        events = db.execute(
            select(AuditEvent).where(AuditEvent.action == AuditAction.contact_decision)
        ).scalars().all()  # fmt: skip
        assert [(e.actor_username, e.entity_ref, e.purpose) for e in events] == [
            (CHEN.username, str(lei["id"]), "moved out in 2021")
        ]


def test_an_investigator_sees_and_decides_only_within_their_region(
    cli: CliRunner, client: TestClient, tokens: dict
) -> None:
    case_id = confirm(cli)  # 王芳's, in 站前区, by 陈
    li = contacts(cli, case_id)["li-qiang"]
    # 周 investigates 大石桥市: the case and its contacts do not exist for him.
    assert client.get(f"/api/cases/{case_id}", headers=as_(tokens, ZHOU)).status_code == 404
    assert client.get("/api/cases", headers=as_(tokens, ZHOU)).json() == []
    assert client.get("/api/contacts", params={"case": case_id}, headers=as_(tokens, ZHOU)).status_code == 404
    assert decide(client, as_(tokens, ZHOU), li["id"], "close").status_code == 404
    # 孙 commands the city: reads everything, decides nothing.
    assert client.get(f"/api/cases/{case_id}", headers=as_(tokens, SUN)).json()["person_ref"] == "wang-fang"
    assert decide(client, as_(tokens, SUN), li["id"], "close").status_code == 403
    # 刘 is a grid worker: cases are not his work.
    assert client.get("/api/cases", headers=as_(tokens, LIU)).status_code == 403


def test_case_and_contact_history_cannot_be_rewritten(runtime: Runtime, cli: CliRunner, tokens: dict) -> None:
    confirm(cli)
    for table in ("case_event", "contact_event"):
        with pytest.raises(DBAPIError, match="append-only"), runtime.database.unit_of_work() as db:
            db.execute(text(f"UPDATE {table} SET actor_username = 'someone else'"))  # noqa: S608
        with pytest.raises(DBAPIError, match="append-only"), runtime.database.unit_of_work() as db:
            db.execute(text(f"DELETE FROM {table}"))  # noqa: S608


def test_changes_are_kept_as_events_and_re_dating_traces_again(
    runtime: Runtime, cli: CliRunner, client: TestClient, tokens: dict
) -> None:
    case_id = confirm(cli)
    # Isolated earlier than first reported: 10:15 on 03-20, before 李强 arrived. Tracing runs again over the
    # shorter window; his candidacy from the first run stays for the investigator to dismiss (nothing is removed).
    body = {"isolated_at": "2022-03-20T10:15:00+08:00", "severity": "mild", "reason": "hospital record"}
    response = client.patch(f"/api/cases/{case_id}", json=body, headers=as_(tokens, CHEN))
    assert response.status_code == 200, response.text
    assert response.json()["trace"]["window_end"] == "2022-03-20T02:15:00Z"
    assert client.patch(f"/api/cases/{case_id}", json={"reason": "x"}, headers=as_(tokens, CHEN)).status_code == 422
    with runtime.database.unit_of_work() as db:
        changes = db.execute(
            select(CaseEvent.change, CaseEvent.reason).where(CaseEvent.case_id == case_id).order_by(CaseEvent.id)
        ).all()
    assert [c.value for c, _ in changes] == ["reported", "onset", "isolated", "traced", "severity", "isolated",
                                             "traced"]  # fmt: skip
    assert ("severity", "hospital record") in [(c.value, r) for c, r in changes]


def test_follow_up_moves_on_with_dated_notes(cli: CliRunner, client: TestClient, tokens: dict) -> None:
    li = contacts(cli, confirm(cli))["li-qiang"]
    auth = as_(tokens, CHEN)
    early = client.post(f"/api/contacts/{li['id']}/follow-up", json={"status": "traced"}, headers=auth)
    assert early.status_code == 409  # still a candidate
    decide(client, as_(tokens, CHEN), li["id"], "companion")
    body = {"status": "under_observation", "note": "home observation, phone call done",
            "at": "2022-03-21T12:00:00+08:00"}  # fmt: skip
    followed = client.post(f"/api/contacts/{li['id']}/follow-up", json=body, headers=auth)
    assert followed.json()["follow_up"] == "under_observation"
    assert client.post(f"/api/contacts/{li['id']}/follow-up", json={}, headers=auth).status_code == 422


def test_a_contact_from_an_interview_is_confirmed_with_its_evidence(
    cli: CliRunner, client: TestClient, tokens: dict
) -> None:
    case_id = confirm(cli)
    body = {"case_id": case_id, "person_ref": "zhao-min", "tier": "close", "note": "dinner at her home",
            "start": "2022-03-19T18:00:00+08:00", "end": "2022-03-19T20:00:00+08:00", "venue": "赵敏家"}  # fmt: skip
    response = client.post("/api/contacts", json=body, headers=as_(tokens, CHEN))
    assert response.status_code == 201, response.text
    made = response.json()
    assert (made["status"], made["tier"], made["first_exposure_at"]) == ("confirmed", "close", "2022-03-19T10:00:00Z")
    assert [(e["kind"], e["venue_name"], e["note"]) for e in made["evidence"]] == [
        ("interview", "赵敏家", "dinner at her home")
    ]


def test_a_contact_who_becomes_a_case_links_the_transmission_chain(
    cli: CliRunner, client: TestClient, tokens: dict
) -> None:
    first = confirm(cli)
    li = contacts(cli, first)["li-qiang"]
    decide(client, as_(tokens, CHEN), li["id"], "close")
    second = confirm(cli, "li-qiang")
    graph = client.get(f"/api/cases/{second}/chain", headers=as_(tokens, CHEN)).json()
    assert graph["case_ids"] == [second, first]
    edges = {(e["source"], e["target"]): e for e in graph["edges"]}
    link = edges[(f"case-{first}", f"case-{second}")]
    assert (link["tier"], link["minutes"]) == ("close", 10)
    assert "龙山超市 03-20 10:20–10:30" in link["evidence"]
    assert link["items"] == [{"kind": "checkin", "venue_name": "龙山超市", "start": "2022-03-20T02:20:00Z",
                              "end": "2022-03-20T02:30:00Z", "note": ""}]  # fmt: skip


def test_reading_a_chain_is_audited(runtime: Runtime, cli: CliRunner, client: TestClient, tokens: dict) -> None:
    case_id = confirm(cli)
    client.get(f"/api/cases/{case_id}/chain", headers=as_(tokens, SUN))
    with runtime.database.unit_of_work() as db:
        event = db.execute(
            select(AuditEvent).where(AuditEvent.action == AuditAction.case_read).order_by(AuditEvent.id.desc())
        ).scalars().first()  # fmt: skip
        assert event is not None
        assert (event.actor_username, event.entity_ref) == (SUN.username, str(case_id))
        assert event.purpose == "transmission chain"


def test_a_confirmed_case_needs_a_date_and_a_suspected_one_is_not_traced(
    cli: CliRunner, client: TestClient, tokens: dict
) -> None:
    auth = as_(tokens, CHEN)
    refused = client.post("/api/cases", json={"person_ref": "wang-fang"}, headers=auth)
    assert refused.status_code == 422
    assert "needs a symptom onset date or a first positive sampling time" in refused.json()["error"]["message"]
    suspected = client.post("/api/cases", json={"person_ref": "wang-fang", "classification": "suspected"},
                            headers=auth)  # fmt: skip
    assert (suspected.status_code, suspected.json()["trace"]) == (201, None)
    result = run(cli, "case", "confirm", "--person", "wang-fang", "--as", CHEN.username)
    assert result.exit_code == 2
    assert "give exactly one of --onset" in result.output


def test_confirming_as_of_a_past_instant_traces_until_then_when_not_isolated(cli: CliRunner, tokens: dict) -> None:
    # Without an isolation time the window runs until "now"; with --at, now is 03-20 10:25, so 李强 shared only
    # the 5 minutes since 10:20 and is below the minimum, while the household is proposed.
    result = run(cli, "case", "confirm", "--person", "wang-fang", "--sampled", "2022-03-20T09:00:00+08:00",
                 "--asymptomatic", "--at", "2022-03-20T10:25:00+08:00", "--as", CHEN.username)  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "[2022-03-16T01:00:00+00:00, 2022-03-20T02:25:00+00:00)" in result.output
    assert set(contacts(cli, int(result.stdout.splitlines()[0]))) == {"wang-lei"}
