"""Verification at the door: a fresh code of a green person enters and is checked in; expired, altered and
borrowed codes are refused with the reason; colors and the venue's rule decide entry; fever becomes a fact."""

import base64
import datetime as dt
from collections.abc import Iterator

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from fastapi.testclient import TestClient
from sqlalchemy import select

from fangkong.app import create_app
from fangkong.auth.actor import Actor
from fangkong.auth.audit_models import Channel
from fangkong.auth.service import actor_for, get_user
from fangkong.cases.models import Classification
from fangkong.cases.service import CaseChangeRequest, report_case
from fangkong.core import clock
from fangkong.core.crypto import Keyring
from fangkong.core.runtime import Runtime
from fangkong.healthcode.door import issue_for, verify_at_door
from fangkong.healthcode.token import verify
from fangkong.people.models import Person
from fangkong.venues.models import Checkin

from ..support.venues import door_city
from ..support.web import bearer

NOW = dt.datetime(2022, 3, 21, 2, 0, tzinfo=dt.UTC)


@pytest.fixture
def tokens(runtime: Runtime, keys: Keyring) -> Iterator[dict[str, str]]:
    found = door_city(runtime, keys)
    with clock.frozen_at(NOW):
        yield found


@pytest.fixture
def client(runtime: Runtime) -> Iterator[TestClient]:
    with TestClient(create_app(runtime), headers={"accept-language": "en"}) as c:
        yield c


def live_code(client: TestClient, tokens: dict) -> str:
    response = client.get("/api/healthcode/me", headers=bearer(tokens["wang"]))
    assert response.status_code == 200, response.text
    assert response.json()["person_ref"] == "wang-fang"
    return str(response.json()["token"])


def at_door(client: TestClient, tokens: dict, code: str, venue: str = "V-LONGSHAN", **extra: object) -> dict:
    response = client.post("/api/healthcode/verify", json={"token": code, "venue_ref": venue, **extra},
                           headers=bearer(tokens["op1"]))  # fmt: skip
    return {"status": response.status_code, **response.json()}


def test_a_scanner_verifies_codes_offline_with_the_published_key(client: TestClient, tokens: dict) -> None:
    published = client.get("/api/healthcode/public-key").json()
    raw = base64.urlsafe_b64decode(published["public_key"] + "=" * (-len(published["public_key"]) % 4))
    key = Ed25519PublicKey.from_public_bytes(raw)
    claims = verify(live_code(client, tokens), keys={bytes.fromhex(published["key_id"]): key}, now=NOW)
    assert (claims.color, claims.expires_at - claims.issued_at) == ("green", dt.timedelta(minutes=3))


def test_a_fresh_green_code_enters_and_is_checked_in(runtime: Runtime, client: TestClient, tokens: dict) -> None:
    result = at_door(client, tokens, live_code(client, tokens))
    assert (result["status"], result["entry"], result["color"], result["masked_name"]) == (200, "allow", "green", "王*")
    with runtime.database.unit_of_work() as db:
        checkin = db.get(Checkin, result["checkin_id"])
        assert checkin is not None
        assert checkin.checked_in_at == NOW


def test_a_screenshot_from_four_minutes_ago_is_refused(client: TestClient, tokens: dict) -> None:
    code = live_code(client, tokens)
    with clock.frozen_at(NOW + dt.timedelta(minutes=4)):
        result = at_door(client, tokens, code)
    assert result["status"] == 422
    assert "this code has expired" in result["error"]["message"]


def test_an_altered_or_borrowed_code_is_refused(client: TestClient, tokens: dict) -> None:
    code = live_code(client, tokens)
    altered = code[:40] + ("A" if code[40] != "A" else "B") + code[41:]
    assert "altered or made up" in at_door(client, tokens, altered)["error"]["message"]
    assert "not a fangkong health code" in at_door(client, tokens, "hello")["error"]["message"]
    borrowed = at_door(client, tokens, code, person_ref="li-qiang")
    assert "this code belongs to someone else" in borrowed["error"]["message"]


def test_only_the_venues_operator_verifies_at_its_door(client: TestClient, tokens: dict) -> None:
    body = {"token": live_code(client, tokens), "venue_ref": "V-LONGSHAN"}
    response = client.post("/api/healthcode/verify", json=body, headers=bearer(tokens["op2"]))
    assert response.status_code == 403


def test_a_red_code_is_refused_and_not_checked_in(runtime: Runtime, client: TestClient, tokens: dict) -> None:
    with runtime.database.unit_of_work() as db:
        change = CaseChangeRequest(classification=Classification.confirmed, onset_date=dt.date(2022, 3, 20))
        report_case(db, actor=Actor.system(), person_ref="wang-fang", change=change)
    result = at_door(client, tokens, live_code(client, tokens))
    assert (result["entry"], result["color"], result["checkin_id"]) == ("refuse", "red", None)


def test_a_fever_at_the_door_turns_the_code_yellow_and_refuses_entry(client: TestClient, tokens: dict) -> None:
    result = at_door(client, tokens, live_code(client, tokens), temperature=38.2)
    assert (result["fever"], result["color"], result["entry"]) == (True, "yellow", "refuse")
    reasons = client.get("/api/healthcode/me", headers=bearer(tokens["wang"])).json()["reasons"]
    assert reasons[0]["code"] == "fever"
    assert at_door(client, tokens, live_code(client, tokens), temperature=52)["status"] == 422


def test_a_hospital_also_wants_a_negative_test_from_the_last_48_hours(
    client: TestClient, tokens: dict, runtime: Runtime
) -> None:
    refused = at_door(client, tokens, live_code(client, tokens), venue="V-HOSPITAL")
    assert (refused["entry"], refused["negative_test_hours"]) == ("refuse", None)
    assert "negative test from the last 48 hours" in refused["why"]
    sampled = (NOW - dt.timedelta(hours=30)).isoformat()
    body = {"person_ref": "wang-fang", "sampled_at": sampled, "result": "negative"}
    assert client.post("/api/tests", json=body, headers=bearer(tokens["inv"])).status_code == 201
    allowed = at_door(client, tokens, live_code(client, tokens), venue="V-HOSPITAL")
    assert (allowed["entry"], allowed["negative_test_hours"]) == ("allow", 30)
    with runtime.database.unit_of_work() as db:
        assert db.execute(select(Checkin.id).where(Checkin.id == allowed["checkin_id"])).scalar_one()


def test_a_declared_stay_in_a_risk_area_makes_the_code_yellow_for_seven_days(client: TestClient, tokens: dict) -> None:
    body = {"person_ref": "wang-fang", "area": "西安市雁塔区", "level": "high",
            "start": "2022-03-18T09:00:00+08:00", "end": "2022-03-20T18:00:00+08:00"}  # fmt: skip
    assert client.post("/api/healthcode/stays", json=body, headers=bearer(tokens["wang"])).status_code == 201
    code = client.get("/api/healthcode/me", headers=bearer(tokens["wang"])).json()
    assert (code["color"], code["reasons"][0]["code"]) == ("yellow", "risk_area_stay")
    assert code["valid_until"] == "2022-03-27T10:00:00Z"  # 7 days after leaving
    assert "西安市雁塔区" in code["reasons"][0]["text"]
    # Someone else's stay is recorded by officials of their region, not by another resident.
    other = client.post(
        "/api/healthcode/stays", json={**body, "person_ref": "li-qiang"}, headers=bearer(tokens["wang"])
    )
    assert other.status_code == 404
    future = client.post("/api/healthcode/stays", json={**body, "start": "2030-01-01T00:00:00+08:00", "end": None},
                         headers=bearer(tokens["wang"]))  # fmt: skip
    assert future.status_code == 422


def test_a_double_scan_in_the_same_instant_is_one_check_in(runtime: Runtime, keys: Keyring, tokens: dict) -> None:
    # The door page's path (a signed-in operator, not the devices' fast route): a scanner that reads the same code
    # twice under one clock reading must answer twice with the same check-in, not fail on the unique constraint.
    with runtime.database.unit_of_work() as db:
        wang = db.execute(select(Person).where(Person.ref == "wang-fang")).scalar_one()
        code = issue_for(db, keys=keys, person_id=wang.id).token
    answers = []
    for _ in range(2):
        with runtime.database.unit_of_work() as db:
            op1 = actor_for(db, user=get_user(db, username="op1"), channel=Channel.page)
            answers.append(verify_at_door(db, actor=op1, keys=keys, code_token=code, venue_ref="V-LONGSHAN"))
    assert answers[0].checkin_id is not None
    assert answers[0].checkin_id == answers[1].checkin_id
    with runtime.database.unit_of_work() as db:
        assert db.execute(select(Checkin.id).where(Checkin.person_id == wang.id)).scalars().all() == [
            answers[0].checkin_id
        ]
