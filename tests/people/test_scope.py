"""No official reads, lists, searches or exports a person outside their region, through any route."""

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from fangkong.app import create_app
from fangkong.core.crypto import Keyring
from fangkong.core.runtime import Runtime

from ..support.factories import actor_of, build_city, city_with_tokens
from ..support.personas import CHEN, HE, LIU, SUN, WANG, ZHANG_WEI, Persona
from ..support.web import as_, bearer, run

# Who sees whom (the personas are in tests/support/personas.py).
VISIBLE = {
    LIU: {"wang-fang"},  # grid worker of 王芳's grid
    CHEN: {"wang-fang", "li-qiang"},  # investigator of 站前区
    SUN: {"wang-fang", "li-qiang", "zhang-wei"},  # commander of the city
    HE: set(),  # the lab reads tubes, not people
    WANG: {"wang-fang"},  # 王芳 herself
}
EVERYONE = {"wang-fang", "li-qiang", "zhang-wei"}


@pytest.fixture
def city(runtime: Runtime, keys: Keyring) -> dict[str, str]:
    return city_with_tokens(runtime, keys)


@pytest.fixture
def client(runtime: Runtime) -> Iterator[TestClient]:
    with TestClient(create_app(runtime)) as c:
        yield c


@pytest.mark.parametrize("who", list(VISIBLE), ids=lambda p: p.username)
def test_the_api_lists_and_reads_only_people_in_scope(client: TestClient, city: dict[str, str], who: Persona) -> None:
    listed = client.get("/api/people", headers=as_(city, who))
    assert listed.status_code == 200
    assert {p["ref"] for p in listed.json()} == VISIBLE[who]
    for ref in EVERYONE:
        response = client.get(f"/api/people/{ref}", headers=as_(city, who))
        if ref in VISIBLE[who]:
            assert response.status_code == 200
        else:
            assert response.status_code == 404
            assert response.json()["error"]["code"] == "not_found"


@pytest.mark.parametrize("who", [LIU, CHEN, HE], ids=lambda p: p.username)
def test_searching_by_id_number_does_not_reach_outside(client: TestClient, city: dict[str, str], who: Persona) -> None:
    found = client.post("/api/people/search", json={"q": ZHANG_WEI.id_number}, headers=as_(city, who))
    assert found.json() == []
    in_city = client.post("/api/people/search", json={"q": ZHANG_WEI.id_number}, headers=as_(city, SUN))
    assert [p["ref"] for p in in_city.json()] == ["zhang-wei"]


@pytest.mark.parametrize("who", [LIU, CHEN], ids=lambda p: p.username)
def test_export_and_changes_stay_inside(client: TestClient, city: dict[str, str], who: Persona) -> None:
    export = client.get("/api/people/export.csv", params={"purpose": "grid ledger"}, headers=as_(city, who))
    assert export.status_code == 200
    exported = {line.split(",")[0] for line in export.text.strip().splitlines()[1:]}
    assert exported == VISIBLE[who]
    patch = client.patch("/api/people/zhang-wei", json={"address": "x", "reason": "moved"}, headers=as_(city, who))
    assert patch.status_code == 404


def test_an_export_by_region_outside_scope_is_empty(client: TestClient, city: dict[str, str]) -> None:
    export = client.get(
        "/api/people/export.csv", params={"purpose": "ledger", "region": "210882"}, headers=as_(city, CHEN)
    )
    assert export.text.strip().splitlines()[1:] == []


def test_without_credentials_nothing_is_served(client: TestClient, city: dict[str, str]) -> None:
    response = client.get("/api/people")
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "unauthenticated"
    assert client.get("/api/people", headers=bearer("fk_forged")).status_code == 401


def test_the_cli_as_a_user_is_scoped_like_the_api(cli: CliRunner, city: dict[str, str]) -> None:
    shown = run(cli, "person", "show", "zhang-wei", "--as", CHEN.username, "--json")
    assert shown.exit_code == 1
    assert "no person with ref zhang-wei" in shown.stderr
    assert run(cli, "person", "show", "li-qiang", "--as", CHEN.username, "--json").exit_code == 0
    listed = run(cli, "person", "list", "--as", LIU.username, "--json")
    assert '"wang-fang"' in listed.stdout
    assert "li-qiang" not in listed.stdout
    exported = run(cli, "person", "export", "--as", CHEN.username, "--purpose", "ledger")
    assert "li-qiang" in exported.stdout
    assert "zhang-wei" not in exported.stdout
    assert run(cli, "audit", "--person", "zhang-wei", "--as", LIU.username).exit_code == 1


def test_the_scope_helper_is_the_only_filter(db: Session, keys: Keyring) -> None:
    # A user without any people-reading role sees nobody even in their own region.
    build_city(db, keys)
    from fangkong.people.scope import people_query

    assert db.execute(people_query(actor_of(db, HE))).scalars().all() == []
