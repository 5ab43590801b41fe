"""Every change and every full-record read by an official leaves a row; residents see who looked at them."""

import logging
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select, text
from sqlalchemy.exc import DatabaseError
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from fangkong.app import create_app
from fangkong.auth.audit_models import AuditAction, AuditEvent
from fangkong.core.crypto import Keyring
from fangkong.core.errors import Forbidden, Invalid, NotFound
from fangkong.core.runtime import Runtime
from fangkong.people.access import Identity, reveal_identity

from ..support.factories import actor_of, build_city, city_with_tokens
from ..support.personas import CHEN, CITY_ACCOUNTS, LIU, PASSWORD, SUN, WANG, WANG_FANG, Persona
from ..support.web import as_, run


@pytest.fixture
def tokens(runtime: Runtime, keys: Keyring) -> dict[str, str]:
    return city_with_tokens(runtime, keys)


@pytest.fixture
def client(runtime: Runtime) -> Iterator[TestClient]:
    with TestClient(create_app(runtime)) as c:
        yield c


def events(runtime: Runtime, action: AuditAction) -> list[AuditEvent]:
    with runtime.database.unit_of_work() as db:
        return list(db.execute(select(AuditEvent).where(AuditEvent.action == action)).scalars())


def test_a_full_record_read_by_an_official_is_audited_with_role_region_and_purpose(
    client: TestClient, tokens: dict[str, str], runtime: Runtime
) -> None:
    response = client.get("/api/people/wang-fang", params={"purpose": "家访"}, headers=as_(tokens, LIU))
    assert response.status_code == 200
    (event,) = events(runtime, AuditAction.person_read)
    assert (event.actor_username, event.actor_role, event.actor_region_code) == (
        LIU.username,
        "grid_worker",
        "210802001001001",
    )
    assert (event.entity_ref, event.purpose, event.channel.value) == ("wang-fang", "家访", "token")
    assert event.address == "testclient"


def test_a_resident_reading_their_own_record_is_not_logged_as_a_look(
    client: TestClient, tokens: dict[str, str], runtime: Runtime
) -> None:
    assert client.get("/api/people/wang-fang", headers=as_(tokens, WANG)).status_code == 200
    assert events(runtime, AuditAction.person_read) == []


def reveal(runtime: Runtime, who: Persona, ref: str, purpose: str) -> Identity:
    with runtime.database.unit_of_work() as db:
        return reveal_identity(db, actor=actor_of(db, who), keys=runtime.keys, ref=ref, purpose=purpose)


def test_a_resident_sees_who_looked_at_their_data(client: TestClient, tokens: dict[str, str], runtime: Runtime) -> None:
    client.get("/api/people/wang-fang", params={"purpose": "流调核实"}, headers=as_(tokens, CHEN))
    reveal(runtime, LIU, "wang-fang", "电话随访")
    log = client.get("/api/me/access-log", headers=as_(tokens, WANG)).json()
    assert [(e["action"], e["role"], e["region_code"], e["region_name"], e["purpose"]) for e in log] == [
        ("person_identity_read", "grid_worker", "210802001001001", "第1网格", "电话随访"),
        ("person_read", "investigator", "210802", "站前区", "流调核实"),
    ]
    # Roles and regions, not who: the entries carry no username.
    assert all(set(e) == {"at", "action", "channel", "role", "region_code", "region_name", "purpose"} for e in log)


def test_clear_identity_needs_a_role_that_may_see_it_and_a_purpose(tokens: dict[str, str], runtime: Runtime) -> None:
    clear = reveal(runtime, LIU, "wang-fang", "电话随访")
    assert (clear.id_number, clear.phone) == (WANG_FANG.id_number, "13812345678")
    with pytest.raises(Invalid, match="purpose"):
        reveal(runtime, LIU, "wang-fang", "  ")
    with pytest.raises(Forbidden):
        reveal(runtime, SUN, "wang-fang", "curious")  # commanders read figures, not phone numbers
    with pytest.raises(NotFound):
        reveal(runtime, LIU, "zhang-wei", "call")  # outside the grid
    assert len(events(runtime, AuditAction.person_identity_read)) == 1


def test_no_api_route_returns_a_clear_id_number_or_phone(client: TestClient, tokens: dict[str, str]) -> None:
    paths = [route.path for route in client.app.routes if getattr(route, "path", "").startswith("/api/people")]  # type: ignore[attr-defined]
    assert not any("identity" in p for p in paths)


def test_a_change_needs_a_reason_and_is_audited(client: TestClient, tokens: dict[str, str], runtime: Runtime) -> None:
    no_reason = client.patch("/api/people/wang-fang", json={"phone": "13900002222"}, headers=as_(tokens, LIU))
    assert no_reason.status_code == 422
    changed = client.patch(
        "/api/people/wang-fang",
        json={"phone": "13900002222", "reason": "入户核实，电话已更换"},
        headers=as_(tokens, LIU),
    )
    assert changed.status_code == 200
    assert changed.json()["phone"] == "139****2222"
    (event,) = events(runtime, AuditAction.person_update)
    assert (event.purpose, event.details) == ("入户核实，电话已更换", "changed: phone")
    commander = client.patch("/api/people/wang-fang", json={"address": "x", "reason": "r"}, headers=as_(tokens, SUN))
    assert commander.status_code == 403


def test_each_exported_person_is_audited(client: TestClient, tokens: dict[str, str], runtime: Runtime) -> None:
    client.get("/api/people/export.csv", params={"purpose": "网格台账"}, headers=as_(tokens, CHEN))
    assert sorted(e.entity_ref for e in events(runtime, AuditAction.person_export)) == ["li-qiang", "wang-fang"]


def test_account_changes_and_logins_are_audited(runtime: Runtime, tokens: dict[str, str]) -> None:
    assert {e.entity_ref for e in events(runtime, AuditAction.user_create)} == {who.username for who in CITY_ACCOUNTS}
    assert len(events(runtime, AuditAction.token_create)) == 5


def test_the_cli_prints_who_looked_at_a_person(cli: CliRunner, client: TestClient, tokens: dict[str, str]) -> None:
    client.get("/api/people/wang-fang", params={"purpose": "流调核实"}, headers=as_(tokens, CHEN))
    result = run(cli, "audit", "--person", "wang-fang", "--json")
    assert result.exit_code == 0
    assert '"purpose": "流调核实"' in result.stdout
    assert '"role": "investigator"' in result.stdout


def test_the_audit_trail_refuses_updates_and_deletes(db: Session, keys: Keyring) -> None:
    build_city(db, keys)
    for statement in ("UPDATE audit_event SET purpose = 'forged'", "DELETE FROM audit_event"):
        with pytest.raises(DatabaseError, match="append-only"), db.begin_nested():
            db.execute(text(statement))


def test_secrets_never_reach_responses_or_logs(
    client: TestClient, tokens: dict[str, str], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    bodies = [
        client.get("/api/people", headers=as_(tokens, SUN)).text,
        client.get("/api/people/wang-fang", headers=as_(tokens, SUN)).text,
        client.get("/api/people/export.csv", params={"purpose": "x"}, headers=as_(tokens, SUN)).text,
        client.get("/api/me", headers=as_(tokens, SUN)).text,
    ]
    everything = "\n".join(bodies) + caplog.text
    for secret in (WANG_FANG.id_number, "13812345678", PASSWORD, *tokens.values()):
        assert secret not in everything


def test_the_access_log_includes_looks_at_the_health_code(
    client: TestClient, tokens: dict[str, str], runtime: Runtime
) -> None:
    client.get("/api/healthcode/people/wang-fang", headers=as_(tokens, CHEN))
    client.get("/api/healthcode/me", headers=as_(tokens, WANG))  # her own look is not logged
    log = client.get("/api/me/access-log", headers=as_(tokens, WANG)).json()
    assert [(e["action"], e["role"], e["purpose"]) for e in log] == [("code_read", "investigator", "health code")]
