"""Tracing from stored check-ins: the CLI, the API, scoping and the audit trail.

The scene, at 龙山超市 (a supermarket: 45 minutes' dwell without check-out) on 2022-03-20, Beijing time:
- 王芳 (the index person) 10:00–10:30;
- 李强 10:20–11:00: 10 minutes together, a contact at the default minimum;
- 张伟 10:25 with no check-out (until 11:10): 5 minutes together, a contact only with a 5-minute minimum;
- 李强 was also at 钢都农贸市场 with nobody else, which must not count.
"""

import datetime as dt
import json
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select, text
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from fangkong.app import create_app
from fangkong.auth.audit_models import AuditAction, AuditEvent
from fangkong.core.crypto import Keyring
from fangkong.core.runtime import Runtime
from fangkong.people.models import Person
from fangkong.venues.models import Checkin, CheckinSource, Venue

from ..support.cases import at
from ..support.venues import venue_city
from ..support.web import bearer, run

FROM, TO = "2022-03-18T00:00:00+08:00", "2022-03-21T00:00:00+08:00"


@pytest.fixture
def scene(runtime: Runtime, keys: Keyring) -> dict[str, str]:
    tokens, _ = venue_city(runtime, keys)
    with runtime.database.unit_of_work() as db:
        person = dict(db.execute(select(Person.ref, Person.id)).all())
        venue = dict(db.execute(select(Venue.ref, Venue.id)).all())

        def visit(ref: str, where: str, start: dt.datetime, end: dt.datetime | None) -> None:
            db.add(Checkin(person_id=person[ref], venue_id=venue[where], checked_in_at=start, checked_out_at=end,
                           source=CheckinSource.import_))  # fmt: skip

        visit("wang-fang", "V-LONGSHAN", at("10:00"), at("10:30"))
        visit("li-qiang", "V-LONGSHAN", at("10:20"), at("11:00"))
        visit("zhang-wei", "V-LONGSHAN", at("10:25"), None)
        visit("li-qiang", "V-GANGDU", at("09:00"), at("09:40"))
    return tokens


@pytest.fixture
def client(runtime: Runtime) -> Iterator[TestClient]:
    with TestClient(create_app(runtime), headers={"accept-language": "en"}) as c:
        yield c


def test_trace_prints_each_co_present_contact_as_json_longest_first(cli: CliRunner, scene: dict) -> None:
    result = run(cli, "trace", "--person", "wang-fang", "--from", FROM, "--to", TO, "--min-overlap", "5", "--json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.output) == [
        {"person_ref": "li-qiang", "overlap_seconds": 600, "venues": ["V-LONGSHAN"]},
        {"person_ref": "zhang-wei", "overlap_seconds": 300, "venues": ["V-LONGSHAN"]},
    ]


def test_the_default_minimum_overlap_is_ten_minutes(cli: CliRunner, scene: dict) -> None:
    result = run(cli, "trace", "--person", "wang-fang", "--from", FROM, "--to", TO, "--json")
    assert [c["person_ref"] for c in json.loads(result.output)] == ["li-qiang"]


def test_a_window_that_ends_before_the_visit_finds_nobody(cli: CliRunner, scene: dict) -> None:
    result = run(cli, "trace", "--person", "wang-fang", "--from", FROM, "--to", "2022-03-20T10:20:00+08:00", "--json")
    assert json.loads(result.output) == []


def test_a_stay_that_began_the_day_before_is_found(runtime: Runtime, cli: CliRunner, scene: dict) -> None:
    # A night-shift worker checked in 23 hours before 王芳 arrived and left at 10:15: 15 minutes together.
    with runtime.database.unit_of_work() as db:
        li = db.execute(select(Person.id).where(Person.ref == "li-qiang")).scalar_one()
        shop = db.execute(select(Venue.id).where(Venue.ref == "V-LONGSHAN")).scalar_one()
        db.add(Checkin(person_id=li, venue_id=shop, checked_in_at=at("11:00", day=19), checked_out_at=at("10:15"),
                       source=CheckinSource.import_))  # fmt: skip
    result = run(cli, "trace", "--person", "wang-fang", "--from", FROM, "--to", TO, "--json")
    assert json.loads(result.output)[0] == {"person_ref": "li-qiang", "overlap_seconds": 1500, "venues": ["V-LONGSHAN"]}


def test_bad_times_are_refused_with_the_expected_form(cli: CliRunner, scene: dict) -> None:
    result = run(cli, "trace", "--person", "wang-fang", "--from", "yesterday", "--to", TO)
    assert result.exit_code == 2
    assert "--from 'yesterday' is not an ISO 8601 time with offset, like 2022-03-20T14:05:00+08:00" in result.output
    result = run(cli, "trace", "--person", "wang-fang", "--from", TO, "--to", FROM)
    assert "the end of the window must be after its start" in result.output


def test_the_api_gives_the_evidence_for_each_contact(client: TestClient, scene: dict) -> None:
    params = {"person": "wang-fang", "from": FROM, "to": TO, "min_overlap": 5}
    response = client.get("/api/trace", params=params, headers=bearer(scene["inv"]))
    assert response.status_code == 200, response.text
    first = response.json()[0]
    assert (first["person_ref"], first["overlap_seconds"]) == ("li-qiang", 600)
    assert first["evidence"] == [
        {"venue_ref": "V-LONGSHAN", "venue_name": "龙山超市", "start": "2022-03-20T02:20:00Z",
         "end": "2022-03-20T02:30:00Z", "minutes": 10.0},
    ]  # fmt: skip


def test_a_minimum_overlap_beyond_a_year_is_refused_rather_than_overflowing(
    client: TestClient, cli: CliRunner, scene: dict
) -> None:
    # Found by the fuzzer (test_schemathesis.py): 10^12 minutes overflowed the timedelta, a 500.
    for minutes in ("1440000000000", "inf"):
        params = {"person": "wang-fang", "from": FROM, "to": TO, "min_overlap": minutes}
        response = client.get("/api/trace", params=params, headers=bearer(scene["inv"]))
        assert response.status_code == 422
        assert response.json()["error"]["message"] == "min_overlap must be at most 527040.0"
    result = run(cli, "trace", "--person", "wang-fang", "--from", FROM, "--to", TO, "--min-overlap", "1440000000000")
    assert result.exit_code == 2
    assert "--min-overlap" in result.output


def test_only_investigators_of_the_persons_region_may_trace(client: TestClient, scene: dict) -> None:
    params = {"person": "wang-fang", "from": FROM, "to": TO}
    assert client.get("/api/trace", params=params, headers=bearer(scene["gw"])).status_code == 403
    assert client.get("/api/trace", params=params, headers=bearer(scene["op1"])).status_code == 403
    outside = {**params, "person": "zhang-wei"}  # 大石桥市, outside the investigator's 站前区
    assert client.get("/api/trace", params=outside, headers=bearer(scene["inv"])).status_code == 404


def test_every_trace_is_in_the_audit_trail(client: TestClient, scene: dict, runtime: Runtime) -> None:
    params = {"person": "wang-fang", "from": FROM, "to": TO}
    client.get("/api/trace", params=params, headers=bearer(scene["inv"]))
    with runtime.database.unit_of_work() as db:
        event = _last_trace(db)
    assert (event.actor_username, event.entity_ref) == ("inv", "wang-fang")
    assert event.details is not None
    assert event.details.endswith("1 contacts")


def _last_trace(db: Session) -> AuditEvent:
    stmt = select(AuditEvent).where(AuditEvent.action == AuditAction.contact_trace).order_by(AuditEvent.id.desc())
    return db.execute(stmt).scalars().first()  # type: ignore[return-value]


def test_evidence_is_in_utc_whatever_the_database_sessions_time_zone(
    runtime: Runtime, client: TestClient, scene: dict, backend: str
) -> None:
    if backend == "postgresql":  # the hot query reads raw times, which PostgreSQL gives in the session's zone
        with runtime.database.unit_of_work() as db:
            db.execute(text("SET TIME ZONE 'Asia/Shanghai'"))
    params = {"person": "wang-fang", "from": FROM, "to": TO, "min_overlap": 5}
    first = client.get("/api/trace", params=params, headers=bearer(scene["inv"])).json()[0]
    assert (first["evidence"][0]["start"], first["evidence"][0]["end"]) == (
        "2022-03-20T02:20:00Z",
        "2022-03-20T02:30:00Z",
    )
