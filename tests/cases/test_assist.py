"""Naming a person of another region for a case files an assistance request (协查) to their region instead of
making the contact (issue 13, defect 3). The scene is support/cases.py: 陈 investigates 王芳's case in 站前区; 张伟
lives in 大石桥市, whose investigator is 周; 孙 commands the city; 刘 is a grid worker."""

import datetime as dt
import json
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select, text
from sqlalchemy.exc import DBAPIError
from typer.testing import CliRunner

from fangkong.app import create_app
from fangkong.auth.audit_models import AuditAction, AuditEvent
from fangkong.cases.models import AssistEvent, AssistRequest, Contact
from fangkong.core import clock
from fangkong.core.crypto import Keyring
from fangkong.core.ids import make_resident_id
from fangkong.core.runtime import Runtime
from fangkong.healthcode.models import CodeChange
from fangkong.people.models import Person

from ..support.cases import BJ, ISOLATED, ONSET, outbreak
from ..support.factories import load_people, people_csv
from ..support.personas import CHEN, LI_QIANG, LIU, SUN, ZHANG_WEI, ZHOU
from ..support.web import as_, run

FILED = dt.datetime(2022, 3, 21, 9, 0, tzinfo=BJ)
LATER = dt.datetime(2022, 3, 21, 11, 30, tzinfo=BJ)  # 2 h 30 min after filing
NOBODY_ID = make_resident_id("210881", dt.date(1980, 1, 1), 7)  # a valid number nobody in the registry holds


@pytest.fixture
def tokens(runtime: Runtime, keys: Keyring) -> dict[str, str]:
    return outbreak(runtime, keys)


@pytest.fixture
def client(runtime: Runtime) -> Iterator[TestClient]:
    with TestClient(create_app(runtime), headers={"accept-language": "en"}) as c:
        yield c


@pytest.fixture
def case_id(cli: CliRunner, tokens: dict) -> int:
    """王芳's case, confirmed by 陈 (站前区)."""
    result = run(cli, "case", "confirm", "--person", "wang-fang", "--onset", ONSET, "--isolated", ISOLATED,
                 "--as", CHEN.username)  # fmt: skip
    assert result.exit_code == 0, result.output
    return int(result.stdout.splitlines()[0])


def name(client: TestClient, tokens: dict, case_id: int, who: dict[str, str], by: Any = CHEN) -> Any:
    """陈 (or `by`) names someone for the case from an interview: {"person_ref": …} or {"id_number": …}."""
    body = {"case_id": case_id, "tier": "close", "note": "同桌吃饭两小时", "venue": "老边饺子馆",
            "start": "2022-03-19T18:00:00+08:00", "end": "2022-03-19T20:00:00+08:00"} | who  # fmt: skip
    with clock.frozen_at(FILED):
        return client.post("/api/contacts", json=body, headers=as_(tokens, by))


def code_of(client: TestClient, tokens: dict, ref: str) -> str:
    with clock.frozen_at(LATER):
        response = client.get(f"/api/healthcode/people/{ref}", headers=as_(tokens, ZHOU))
    assert response.status_code == 200, response.text
    color: str = response.json()["color"]
    return color


def contacts_of(runtime: Runtime, ref: str) -> list[Contact]:
    with runtime.database.unit_of_work() as db:
        person = db.execute(select(Person.id).where(Person.ref == ref)).scalar_one()
        return list(db.execute(select(Contact).where(Contact.person_id == person)).scalars())


def test_naming_a_person_of_another_district_leaks_no_name_and_changes_no_code(
    runtime: Runtime, client: TestClient, tokens: dict, case_id: int
) -> None:
    before = code_of(client, tokens, ZHANG_WEI.ref)
    response = name(client, tokens, case_id, {"person_ref": ZHANG_WEI.ref})
    assert response.status_code == 202, response.text
    assert response.json() == {"id": response.json()["id"], "status": "pending"}
    assert ZHANG_WEI.name not in response.text
    assert contacts_of(runtime, ZHANG_WEI.ref) == []
    assert code_of(client, tokens, ZHANG_WEI.ref) == before == "green"
    with runtime.database.unit_of_work() as db:
        zhang = db.execute(select(Person.id).where(Person.ref == ZHANG_WEI.ref)).scalar_one()
        assert db.execute(select(func.count()).where(CodeChange.person_id == zhang)).scalar_one() <= 1  # first use


def test_the_answer_is_the_same_for_someone_elsewhere_and_for_nobody(
    client: TestClient, tokens: dict, case_id: int
) -> None:
    answers = [
        name(client, tokens, case_id, who)
        for who in ({"person_ref": ZHANG_WEI.ref}, {"person_ref": "P9999999"},
                    {"id_number": ZHANG_WEI.id_number}, {"id_number": NOBODY_ID})
    ]  # fmt: skip
    ids = [a.json()["id"] for a in answers]
    assert [a.status_code for a in answers] == [202] * 4
    assert [a.content for a in answers] == [json.dumps({"id": i, "status": "pending"}, separators=(",", ":")).encode()
                                           for i in ids]  # fmt: skip
    assert [a.headers["location"] for a in answers] == [f"/api/assist/sent/{i}" for i in ids]
    assert len({tuple(sorted(a.headers.keys())) for a in answers}) == 1
    # What the requester reads of them afterwards differs only in what they typed.
    sent = {r["id"]: r for r in client.get("/api/assist/sent", headers=as_(tokens, CHEN)).json()}
    shapes = [{k: v for k, v in sent[i].items() if k not in ("id", "named_by", "person_ref", "id_number_masked")}
              for i in ids]  # fmt: skip
    assert all(shape == shapes[0] for shape in shapes)
    assert sent[ids[2]]["id_number_masked"] == "210882********0035"  # as typed, masked; never kept in clear


def test_the_id_number_is_kept_only_as_its_lookup_hash_and_masked(
    runtime: Runtime, client: TestClient, tokens: dict, case_id: int
) -> None:
    request_id = name(client, tokens, case_id, {"id_number": ZHANG_WEI.id_number}).json()["id"]
    with runtime.database.unit_of_work() as db:
        row = db.execute(text("SELECT * FROM assist_request WHERE id = :id"), {"id": request_id}).mappings().one()
    stored = " ".join(str(v) for v in row.values())
    assert ZHANG_WEI.id_number not in stored
    assert row["id_masked"] == "210882********0035"
    assert row["id_hash"] is not None


def test_a_person_of_ones_own_regions_is_added_at_once_by_ref_or_by_id_number(
    client: TestClient, tokens: dict, case_id: int
) -> None:
    made = name(client, tokens, case_id, {"id_number": LI_QIANG.id_number})
    assert made.status_code == 201, made.text
    assert (made.json()["person_name"], made.json()["status"], made.json()["tier"]) == ("李强", "confirmed", "close")
    both = name(client, tokens, case_id, {"person_ref": LI_QIANG.ref, "id_number": LI_QIANG.id_number})
    assert both.status_code == 422
    assert "by their ref or by their ID number" in both.json()["error"]["message"]


def test_the_receiving_investigator_sees_the_requests_oldest_first_with_their_wait(
    client: TestClient, tokens: dict, case_id: int
) -> None:
    first = name(client, tokens, case_id, {"person_ref": ZHANG_WEI.ref}).json()["id"]
    with clock.frozen_at(FILED + dt.timedelta(hours=1)):
        body = {"case_id": case_id, "person_ref": ZHANG_WEI.ref, "tier": "secondary", "note": "同一辆出租车"}
        second = client.post("/api/contacts", json=body, headers=as_(tokens, CHEN)).json()["id"]
    with clock.frozen_at(LATER):
        inbox = client.get("/api/assist/inbox", headers=as_(tokens, ZHOU)).json()
    assert [(r["id"], r["waited_seconds"]) for r in inbox] == [(first, 9000), (second, 5400)]
    shown = inbox[0]
    assert (shown["person_ref"], shown["person_name"], shown["matched"]) == (ZHANG_WEI.ref, "张伟", True)
    assert (shown["from_region_name"], shown["case_id"], shown["tier"]) == ("站前区", case_id, "close")
    assert (shown["note"], shown["venue"], shown["exposure_start"]) == ("同桌吃饭两小时", "老边饺子馆",
                                                                        "2022-03-19T10:00:00Z")  # fmt: skip


def test_confirming_makes_the_contact_in_the_receiving_region_and_only_then_changes_the_code(
    runtime: Runtime, client: TestClient, tokens: dict, case_id: int
) -> None:
    request_id = name(client, tokens, case_id, {"person_ref": ZHANG_WEI.ref}).json()["id"]
    assert code_of(client, tokens, ZHANG_WEI.ref) == "green"
    with clock.frozen_at(LATER):
        answer = client.post(f"/api/assist/inbox/{request_id}/decision", json={"decision": "close"},
                             headers=as_(tokens, ZHOU))  # fmt: skip
    assert answer.status_code == 200, answer.text
    assert (answer.json()["status"], answer.json()["decided_tier"], answer.json()["waited_seconds"]) == (
        "confirmed", "close", 9000,
    )  # fmt: skip
    assert code_of(client, tokens, ZHANG_WEI.ref) != "green"
    [contact] = contacts_of(runtime, ZHANG_WEI.ref)
    assert (contact.case_id, contact.status.value, contact.tier, contact.request_id) == (
        case_id, "confirmed", "close", request_id,
    )  # fmt: skip
    mine = client.get(f"/api/contacts/{contact.id}", headers=as_(tokens, ZHOU))
    assert [(e["kind"], e["note"]) for e in mine.json()["evidence"]] == [("interview", "同桌吃饭两小时")]
    with runtime.database.unit_of_work() as db:
        causes = db.execute(select(CodeChange.cause_kind).where(CodeChange.person_id == contact.person_id)).scalars()
        assert "cases.contact_confirmed" in list(causes)


def test_the_requester_sees_only_the_decision(runtime: Runtime, client: TestClient, tokens: dict, case_id: int) -> None:
    request_id = name(client, tokens, case_id, {"person_ref": ZHANG_WEI.ref}).json()["id"]
    pending = client.get(f"/api/assist/sent/{request_id}", headers=as_(tokens, CHEN)).json()
    assert (pending["status"], pending["decided_at"], pending["decided_by_region_name"]) == ("pending", None, None)
    with clock.frozen_at(LATER):
        client.post(f"/api/assist/inbox/{request_id}/decision", json={"decision": "close"}, headers=as_(tokens, ZHOU))
    answered = client.get(f"/api/assist/sent/{request_id}", headers=as_(tokens, CHEN))
    assert answered.json() | {"filed_at": None} == {
        "id": request_id, "case_id": case_id, "named_by": "ref", "person_ref": ZHANG_WEI.ref,
        "id_number_masked": None, "tier": "close", "exposure_start": "2022-03-19T10:00:00Z",
        "exposure_end": "2022-03-19T12:00:00Z", "venue": "老边饺子馆", "note": "同桌吃饭两小时", "status": "confirmed",
        "filed_at": None, "decided_at": "2022-03-21T03:30:00Z", "decided_tier": "close",
        "decided_by_region_code": "210882", "decided_by_region_name": "大石桥市",
    }  # fmt: skip
    # The contact made in 大石桥市 is not the case's side's to read: not in its list, its record, its chain.
    [contact] = contacts_of(runtime, ZHANG_WEI.ref)
    listed = client.get("/api/contacts", params={"case": case_id}, headers=as_(tokens, CHEN)).text
    chain = client.get(f"/api/cases/{case_id}/chain", headers=as_(tokens, CHEN)).text
    for shown in (listed, chain):
        assert ZHANG_WEI.name not in shown
        assert ZHANG_WEI.ref not in shown
    assert client.get(f"/api/contacts/{contact.id}", headers=as_(tokens, CHEN)).status_code == 404
    assert client.post(f"/api/contacts/{contact.id}/decision", json={"decision": "dismiss", "reason": "x"},
                       headers=as_(tokens, CHEN)).status_code == 404  # fmt: skip


def test_contacts_traced_from_an_answered_request_stay_with_the_receiving_side(
    runtime: Runtime, keys: Keyring, client: TestClient, tokens: dict, case_id: int
) -> None:
    # 张伟's wife shares his household in 大石桥市: confirming him as a close contact proposes her as secondary.
    wife = make_resident_id("210882", dt.date(1977, 4, 2), 24)
    with runtime.database.unit_of_work() as db:
        load_people(db, keys, people_csv(f"liu-yan,刘燕,{wife},,{ZHANG_WEI.region_code},H3,钢都路3号"))
    request_id = name(client, tokens, case_id, {"person_ref": ZHANG_WEI.ref}).json()["id"]
    with clock.frozen_at(LATER):
        client.post(f"/api/assist/inbox/{request_id}/decision", json={"decision": "close"}, headers=as_(tokens, ZHOU))
    [secondary] = contacts_of(runtime, "liu-yan")
    assert (secondary.case_id, secondary.proposed_tier, secondary.request_id) == (case_id, "secondary", request_id)
    assert "刘燕" not in client.get("/api/contacts", params={"case": case_id}, headers=as_(tokens, CHEN)).text
    assert "刘燕" in client.get("/api/contacts", headers=as_(tokens, ZHOU)).text


def test_dismissing_needs_a_reason_and_a_request_is_answered_once(
    client: TestClient, tokens: dict, case_id: int
) -> None:
    request_id = name(client, tokens, case_id, {"person_ref": ZHANG_WEI.ref}).json()["id"]
    url = f"/api/assist/inbox/{request_id}/decision"
    assert client.post(url, json={"decision": "dismiss"}, headers=as_(tokens, ZHOU)).status_code == 422
    done = client.post(
        url, json={"decision": "dismiss", "reason": "当晚在外地出差，有酒店记录"}, headers=as_(tokens, ZHOU)
    )
    assert done.json()["status"] == "dismissed"
    again = client.post(url, json={"decision": "close"}, headers=as_(tokens, ZHOU))
    assert again.status_code == 409
    sent = client.get(f"/api/assist/sent/{request_id}", headers=as_(tokens, CHEN)).json()
    assert (sent["status"], sent["decided_by_region_name"]) == ("dismissed", "大石桥市")
    assert "出差" not in json.dumps(sent, ensure_ascii=False)  # the reason is the receiving side's
    assert code_of(client, tokens, ZHANG_WEI.ref) == "green"


def test_requests_are_scoped_on_both_sides(client: TestClient, tokens: dict, case_id: int) -> None:
    request_id = name(client, tokens, case_id, {"person_ref": ZHANG_WEI.ref}).json()["id"]
    # 陈 filed it: he reads its answer, not its inbox entry, and cannot answer it himself.
    assert client.get("/api/assist/inbox", headers=as_(tokens, CHEN)).json() == []
    assert client.get(f"/api/assist/inbox/{request_id}", headers=as_(tokens, CHEN)).status_code == 404
    refused = client.post(f"/api/assist/inbox/{request_id}/decision", json={"decision": "close"},
                          headers=as_(tokens, CHEN))  # fmt: skip
    assert refused.status_code == 404
    # 周 answers it: he reads the inbox entry, not the requester's side, and names nobody for 陈's case.
    assert client.get(f"/api/assist/sent/{request_id}", headers=as_(tokens, ZHOU)).status_code == 404
    assert client.get("/api/assist/sent", headers=as_(tokens, ZHOU)).json() == []
    assert name(client, tokens, case_id, {"person_ref": "wang-fang"}, by=ZHOU).status_code == 404
    # 孙 commands the city: reads both sides, answers nothing. 刘, a grid worker, has no business here.
    assert [r["id"] for r in client.get("/api/assist/inbox", headers=as_(tokens, SUN)).json()] == [request_id]
    refused = client.post(f"/api/assist/inbox/{request_id}/decision", json={"decision": "close"},
                          headers=as_(tokens, SUN))  # fmt: skip
    assert refused.status_code == 403
    assert client.get("/api/assist/inbox", headers=as_(tokens, LIU)).status_code == 403
    assert client.get("/api/assist/sent", headers=as_(tokens, LIU)).status_code == 403


def test_a_name_that_matches_nobody_goes_to_the_city_and_can_only_be_dismissed(
    cli: CliRunner, client: TestClient, tokens: dict, case_id: int
) -> None:
    request_id = name(client, tokens, case_id, {"person_ref": "P9999999"}).json()["id"]
    assert client.get("/api/assist/inbox", headers=as_(tokens, ZHOU)).json() == []  # no district's
    [shown] = client.get("/api/assist/inbox", headers=as_(tokens, SUN)).json()
    assert (shown["id"], shown["matched"], shown["person_name"], shown["typed_ref"]) == (
        request_id, False, None, "P9999999",
    )  # fmt: skip
    refused = run(cli, "assist", "decide", str(request_id), "--decision", "close")
    assert refused.exit_code == 2  # a conflict
    assert "matches nobody" in refused.output
    done = run(cli, "assist", "decide", str(request_id), "--decision", "dismiss", "--reason", "全市人口库查无此人")
    assert done.exit_code == 0, done.output
    assert done.stdout.strip() == f"assistance request {request_id}: dismissed"
    sent = client.get(f"/api/assist/sent/{request_id}", headers=as_(tokens, CHEN)).json()
    assert sent["status"] == "dismissed"


def test_the_command_line_names_lists_and_answers_through_the_same_service(
    runtime: Runtime, cli: CliRunner, tokens: dict, case_id: int
) -> None:
    filed = run(cli, "case", "add-contact", "--case", str(case_id), "--person", ZHANG_WEI.ref, "--note", "同车",
                "--as", CHEN.username)  # fmt: skip
    assert filed.exit_code == 0, filed.output
    request_id = int(filed.stdout.split()[2].rstrip(":"))
    assert filed.stdout.strip() == f"assistance request {request_id}: pending"
    listed = run(cli, "assist", "list", "--json", "--as", ZHOU.username)
    assert [(r["id"], r["person_name"]) for r in json.loads(listed.stdout)] == [(request_id, "张伟")]
    sent = run(cli, "assist", "list", "--sent", "--json", "--as", CHEN.username)
    assert "张伟" not in sent.stdout
    assert json.loads(sent.stdout)[0]["status"] == "pending"
    answered = run(cli, "assist", "decide", str(request_id), "--decision", "secondary", "--as", ZHOU.username)
    assert answered.stdout.strip() == f"assistance request {request_id}: secondary"
    assert [c.tier for c in contacts_of(runtime, ZHANG_WEI.ref)] == ["secondary"]
    own = run(cli, "case", "add-contact", "--case", str(case_id), "--person", "zhao-min", "--note", "同住",
              "--as", CHEN.username)  # fmt: skip
    assert own.stdout.startswith("contact ")


def test_filing_answering_and_reading_are_audited_and_the_history_is_append_only(
    runtime: Runtime, client: TestClient, tokens: dict, case_id: int
) -> None:
    request_id = name(client, tokens, case_id, {"person_ref": ZHANG_WEI.ref}).json()["id"]
    client.get(f"/api/assist/inbox/{request_id}", headers=as_(tokens, ZHOU))
    client.post(f"/api/assist/inbox/{request_id}/decision", json={"decision": "dismiss", "reason": "查无接触"},
                headers=as_(tokens, ZHOU))  # fmt: skip
    with runtime.database.unit_of_work() as db:
        audited = db.execute(
            select(AuditEvent.actor_username, AuditEvent.action).where(
                AuditEvent.entity_type == "assist_request", AuditEvent.entity_ref == str(request_id)
            ).order_by(AuditEvent.id)
        ).all()  # fmt: skip
        events = db.execute(select(AssistEvent.change, AssistEvent.actor_username, AssistEvent.reason)
                            .where(AssistEvent.request_id == request_id).order_by(AssistEvent.id)).all()  # fmt: skip
    assert (CHEN.username, AuditAction.assist_request) == audited[0]
    assert (ZHOU.username, AuditAction.case_read) in audited
    assert (ZHOU.username, AuditAction.contact_decision) in audited
    assert [(c.value, who, why) for c, who, why in events] == [
        ("filed", CHEN.username, "同桌吃饭两小时"), ("dismissed", ZHOU.username, "查无接触"),
    ]  # fmt: skip
    for statement in ("UPDATE assist_event SET reason = 'x'", "DELETE FROM assist_event"):
        with pytest.raises(DBAPIError, match="append-only"), runtime.database.unit_of_work() as db:
            db.execute(text(statement))
    with runtime.database.unit_of_work() as db:
        assert db.get_one(AssistRequest, request_id).status.value == "dismissed"


@pytest.mark.parametrize("ask", ["report a case", "trace", "read a code"])
def test_other_routes_answer_the_same_for_a_person_elsewhere_and_for_nobody(
    client: TestClient, tokens: dict, ask: str
) -> None:
    """周 (大石桥市) asks about 王芳 (站前区) and about a ref that names nobody: one answer, the ref aside."""

    def asking(ref: str) -> Any:
        headers = as_(tokens, ZHOU)
        if ask == "report a case":
            body = {"person_ref": ref, "classification": "suspected"}
            return client.post("/api/cases", json=body, headers=headers)
        if ask == "trace":
            params = {"person": ref, "from": "2022-03-20T00:00:00+08:00", "to": "2022-03-21T00:00:00+08:00"}
            return client.get("/api/trace", params=params, headers=headers)
        return client.get(f"/api/healthcode/people/{ref}", headers=headers)

    elsewhere, nobody = asking("wang-fang"), asking("P9999999")
    assert elsewhere.status_code == nobody.status_code == 404
    assert elsewhere.text.replace("wang-fang", "P9999999") == nobody.text
