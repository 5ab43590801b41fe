"""The web pages through a test client: login with CSRF, throttling, sessions, scoping and auditing."""

import re
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from fangkong.app import create_app
from fangkong.auth.audit_models import AuditAction, AuditEvent
from fangkong.auth.models import User
from fangkong.auth.sessions import SESSION_COOKIE
from fangkong.core.crypto import Keyring
from fangkong.core.runtime import Runtime

from ..support.factories import build_city
from ..support.personas import CHEN, HE, LI_QIANG, LIU, PASSWORD, SUN, WANG, ZHANG_WEI
from ..support.web import BROWSER, csrf, log_in


@pytest.fixture
def client(runtime: Runtime, keys: Keyring) -> Iterator[TestClient]:
    with runtime.database.unit_of_work() as db:
        build_city(db, keys)
    with TestClient(create_app(runtime), headers=BROWSER, follow_redirects=False) as c:
        yield c


def test_the_home_page_sends_strangers_to_the_login_page(client: TestClient) -> None:
    response = client.get("/")
    assert response.status_code == 303
    assert response.headers["location"] == "/login"


def test_logging_in_lands_on_the_role_home(client: TestClient) -> None:
    log_in(client, CHEN)
    home = client.get("/")
    assert home.status_code == 200
    assert "Investigator" in home.text
    assert "站前区" in home.text
    assert 'href="/people"' in home.text
    assert 'href="/me/access-log"' not in home.text  # a resident's action, not an official's


def test_a_resident_home_offers_their_record_and_who_looked(client: TestClient) -> None:
    log_in(client, WANG)
    home = client.get("/").text
    assert 'href="/me"' in home
    assert 'href="/me/access-log"' in home
    assert 'href="/people"' not in home


def test_a_wrong_password_is_refused_with_a_clear_message(client: TestClient) -> None:
    token = csrf(client.get("/login").text)
    response = client.post("/login", data={"username": CHEN.username, "password": "nope", "csrf_token": token})
    assert response.status_code == 401
    assert "Wrong username or password." in response.text
    assert f'value="{CHEN.username}"' in response.text
    assert SESSION_COOKIE not in response.cookies


def test_a_forged_login_form_is_rejected(client: TestClient) -> None:
    client.get("/login")
    response = client.post("/login", data={"username": CHEN.username, "password": PASSWORD, "csrf_token": "forged"})
    assert response.status_code == 403
    assert "reload the page and try again" in response.text
    assert SESSION_COOKIE not in response.cookies


def test_forged_forms_of_a_signed_in_user_are_rejected(client: TestClient, runtime: Runtime) -> None:
    log_in(client, LIU)
    assert client.post("/logout", data={"csrf_token": "forged"}).status_code == 403
    assert client.post("/tokens", data={"label": "x", "csrf_token": ""}).status_code == 403
    assert client.get("/").status_code == 200  # still signed in: the forged logout did nothing
    token = csrf(client.get("/tokens").text)
    created = client.post("/tokens", data={"label": "east gate", "csrf_token": token})
    assert created.status_code == 200
    assert re.search(r"fk_[A-Za-z0-9_-]{20,}", created.text)


def test_logging_out_ends_the_session(client: TestClient) -> None:
    log_in(client, LIU)
    token = csrf(client.get("/").text)
    response = client.post("/logout", data={"csrf_token": token})
    assert response.status_code == 303
    assert client.get("/").headers["location"] == "/login"


def test_login_is_throttled_through_the_page_too(client: TestClient) -> None:
    for _ in range(5):
        token = csrf(client.get("/login").text)
        client.post("/login", data={"username": SUN.username, "password": "guess", "csrf_token": token})
    token = csrf(client.get("/login").text)
    response = client.post("/login", data={"username": SUN.username, "password": PASSWORD, "csrf_token": token})
    assert response.status_code == 429
    assert "Too many failed attempts" in response.text


def test_bumping_the_session_epoch_ends_every_session(client: TestClient, runtime: Runtime) -> None:
    log_in(client, LIU)
    assert client.get("/").status_code == 200
    with runtime.database.unit_of_work() as db:
        db.execute(select(User).where(User.username == LIU.username)).scalar_one().session_epoch += 1
    assert client.get("/").status_code == 303


def test_the_people_page_is_scoped_and_opening_a_record_is_audited(client: TestClient, runtime: Runtime) -> None:
    log_in(client, LIU)
    listing = client.get("/people").text
    assert "wang-fang" in listing
    assert "li-qiang" not in listing
    assert "zhang-wei" not in listing
    assert "210802********1223" in listing  # masked
    assert client.get("/people/zhang-wei").status_code == 404
    assert client.get("/people/zhang-wei", params={"purpose": "x"}).status_code == 404
    ask = client.get("/people/wang-fang")
    assert "Why do you open this record?" in ask.text
    record = client.get("/people/wang-fang", params={"purpose": "home visit"})
    assert record.status_code == 200
    with runtime.database.unit_of_work() as db:
        events = db.execute(select(AuditEvent).where(AuditEvent.action == AuditAction.person_read)).scalars().all()
    assert [(e.actor_username, e.purpose, e.channel.value) for e in events] == [(LIU.username, "home visit", "page")]


def test_roles_without_the_registry_are_refused_the_people_page(client: TestClient) -> None:
    log_in(client, HE)
    assert client.get("/people").status_code == 403


def test_a_resident_sees_who_looked_at_their_data_on_a_page(client: TestClient) -> None:
    log_in(client, CHEN)
    client.get("/people/wang-fang", params={"purpose": "流调核实"})
    client.cookies.clear()
    log_in(client, WANG)
    page = client.get("/me/access-log").text
    assert "Investigator" in page
    assert "站前区" in page
    assert "流调核实" in page
    assert re.search(rf"\b{CHEN.username}\b", page.split("<main")[1]) is None  # the official's role, not their username


def test_searching_the_people_page_is_posted_scoped_and_protected(client: TestClient) -> None:
    log_in(client, CHEN)
    token = csrf(client.get("/people").text)
    found = client.post("/people", data={"q": LI_QIANG.id_number, "csrf_token": token})
    assert found.status_code == 200
    assert "li-qiang" in found.text
    assert "wang-fang" not in found.text
    results = found.text.split('id="people-rows"')[1]
    assert LI_QIANG.id_number not in results  # results show the number masked, even to the one who typed it
    outside = client.post("/people", data={"q": ZHANG_WEI.id_number, "csrf_token": token})
    assert "zhang-wei" not in outside.text
    fragment = client.post("/people", data={"q": "李", "csrf_token": token}, headers={"HX-Request": "true"})
    assert fragment.text.lstrip().startswith("<table")
    assert client.post("/people", data={"q": "李", "csrf_token": "forged"}).status_code == 403


def test_a_copied_session_cookie_stops_working_after_logout(client: TestClient) -> None:
    log_in(client, LIU)
    stolen = client.cookies.get(SESSION_COOKIE)
    client.post("/logout", data={"csrf_token": csrf(client.get("/").text)})
    client.cookies.set(SESSION_COOKIE, stolen or "")
    assert client.get("/").status_code == 303


def test_a_resident_opening_a_record_page_is_sent_to_their_own(client: TestClient) -> None:
    log_in(client, WANG)
    response = client.get("/people/wang-fang", params={"purpose": "x"})
    assert response.status_code == 303
    assert response.headers["location"] == "/me"
