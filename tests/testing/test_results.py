"""Entering test results: who may, what is refused, withdrawal instead of editing, the audit trail."""

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select, text
from sqlalchemy.exc import DBAPIError
from typer.testing import CliRunner

from fangkong.app import create_app
from fangkong.auth.audit_models import AuditAction, AuditEvent
from fangkong.core.crypto import Keyring
from fangkong.core.runtime import Runtime
from fangkong.people.models import Person
from fangkong.testing.service import results_for

from ..support.factories import city_with_tokens
from ..support.web import bearer, run

SAMPLED = "2022-03-20T08:30:00+08:00"


@pytest.fixture
def tokens(runtime: Runtime, keys: Keyring) -> dict[str, str]:
    return city_with_tokens(runtime, keys)


@pytest.fixture
def client(runtime: Runtime) -> Iterator[TestClient]:
    with TestClient(create_app(runtime), headers={"accept-language": "en"}) as c:
        yield c


def standing(runtime: Runtime, ref: str) -> list[tuple[str, float | None]]:
    with runtime.database.unit_of_work() as db:
        person = db.execute(select(Person.id).where(Person.ref == ref)).scalar_one()
        return [(r.result.value, r.ct_n) for r in results_for(db, person_id=person)]


def test_the_cli_enters_a_result_with_its_ct_values(runtime: Runtime, cli: CliRunner, tokens: dict) -> None:
    result = run(cli, "test", "add", "--person", "wang-fang", "--sampled", SAMPLED, "--result", "negative",
                 "--ct-n", "36.5", "--ct-orf", "37", "--lab", "营口市疾控中心", "--as", "inv")  # fmt: skip
    assert result.exit_code == 0, result.output
    assert int(result.stdout) > 0
    assert standing(runtime, "wang-fang") == [("negative", 36.5)]


def test_bad_values_are_refused_with_what_to_write(cli: CliRunner, tokens: dict) -> None:
    result = run(cli, "test", "add", "--person", "wang-fang", "--sampled", SAMPLED, "--result", "maybe")
    assert (result.exit_code, "--result 'maybe' is neither negative nor positive" in result.output) == (2, True)
    result = run(cli, "test", "add", "--person", "wang-fang", "--sampled", "2022-03-20 08:30", "--result",
                 "negative")  # fmt: skip
    assert "is not an ISO 8601 time with offset" in result.output
    result = run(cli, "test", "add", "--person", "wang-fang", "--sampled", "2099-01-01T00:00:00+08:00", "--result",
                 "negative")  # fmt: skip
    assert "is in the future" in result.output
    result = run(cli, "test", "add", "--person", "wang-fang", "--sampled", SAMPLED, "--result", "positive",
                 "--ct-n", "80")  # fmt: skip
    assert "a Ct value lies between 0 and 50" in result.output


def test_who_may_enter_results(client: TestClient, tokens: dict) -> None:
    body = {"person_ref": "zhang-wei", "sampled_at": SAMPLED, "result": "positive", "ct_n": 24.1, "ct_orf": 25.0}
    # A lab reads nobody's record but enters results for anyone in the city, by ref.
    assert client.post("/api/tests", json=body, headers=bearer(tokens["lab"])).status_code == 201
    # The investigator of 站前区 does not see 张伟 of 大石桥市; a resident enters nothing.
    assert client.post("/api/tests", json=body, headers=bearer(tokens["inv"])).status_code == 404
    assert client.post("/api/tests", json=body, headers=bearer(tokens["wang"])).status_code == 403
    unknown = client.post("/api/tests", json={**body, "person_ref": "nobody"}, headers=bearer(tokens["lab"]))
    assert unknown.status_code == 404


def test_a_wrong_result_is_withdrawn_not_edited(runtime: Runtime, client: TestClient, tokens: dict) -> None:
    body = {"person_ref": "wang-fang", "sampled_at": SAMPLED, "result": "positive"}
    made = client.post("/api/tests", json=body, headers=bearer(tokens["lab"])).json()
    refused = client.post(f"/api/tests/{made['id']}/withdraw", json={"reason": ""}, headers=bearer(tokens["lab"]))
    assert refused.status_code == 422
    withdrawn = client.post(f"/api/tests/{made['id']}/withdraw", json={"reason": "tube mix-up"},
                            headers=bearer(tokens["lab"]))  # fmt: skip
    assert (withdrawn.status_code, withdrawn.json()["withdraws_id"]) == (201, made["id"])
    again = client.post(f"/api/tests/{made['id']}/withdraw", json={"reason": "twice"}, headers=bearer(tokens["lab"]))
    assert again.status_code == 409
    assert standing(runtime, "wang-fang") == []
    with pytest.raises(DBAPIError, match="append-only"), runtime.database.unit_of_work() as db:
        db.execute(text("UPDATE test_result SET result = 'negative'"))
    with runtime.database.unit_of_work() as db:
        purposes = db.execute(
            select(AuditEvent.purpose).where(AuditEvent.action == AuditAction.test_result).order_by(AuditEvent.id)
        ).scalars().all()  # fmt: skip
    assert purposes == ["test result", "tube mix-up"]
