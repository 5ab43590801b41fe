"""The one way to write a page action: PageActor and FormActor (auth/page_deps.py) and form_errors
(web/forms.py)."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from fastapi.responses import PlainTextResponse
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session
from starlette.requests import Request

from fangkong.app import create_app
from fangkong.auth import service
from fangkong.auth.actor import Actor
from fangkong.auth.audit_models import Channel
from fangkong.auth.models import Role
from fangkong.auth.page_deps import FormActor, PageActor
from fangkong.core.crypto import Keyring
from fangkong.core.errors import Conflict, Forbidden, Invalid, NotFound
from fangkong.core.models import SystemSetting
from fangkong.core.runtime import Runtime
from fangkong.web.forms import form_errors

from ..support.factories import build_city
from ..support.web import csrf, log_in

BROWSER = {"Accept": "text/html", "Accept-Language": "en"}


@pytest.fixture
def client(runtime: Runtime, keys: Keyring) -> Iterator[TestClient]:
    with runtime.database.unit_of_work() as db:
        build_city(db, keys)
    app = create_app(runtime)

    @app.get("/probe")
    def probe(actor: PageActor) -> PlainTextResponse:
        return PlainTextResponse(actor.username)

    @app.post("/probe")
    def probe_form(actor: FormActor) -> PlainTextResponse:
        return PlainTextResponse(actor.username)

    with TestClient(app, headers=BROWSER, follow_redirects=False) as c:
        yield c


def test_a_page_sends_a_stranger_to_the_login_page_and_back(client: TestClient) -> None:
    response = client.get("/probe?q=li&page=2")
    assert response.status_code == 303
    assert response.headers["location"] == "/login?next=%2Fprobe%3Fq%3Dli%26page%3D2"
    assert client.get("/").headers["location"] == "/login"  # home is where the login goes anyway


def test_a_form_post_of_a_stranger_goes_to_the_login_page_before_any_csrf_check(client: TestClient) -> None:
    response = client.post("/probe", data={"csrf_token": "forged"})
    assert response.status_code == 303
    assert response.headers["location"] == "/login?next=%2Fprobe"


def test_a_signed_in_reader_gets_the_actor(client: TestClient) -> None:
    log_in(client, "inv")
    assert client.get("/probe").text == "inv"


def test_a_form_post_needs_this_sessions_csrf_token(client: TestClient) -> None:
    log_in(client, "inv")
    for data in ({"csrf_token": "forged"}, {"csrf_token": ""}, {}):
        refused = client.post("/probe", data=data)
        assert refused.status_code == 403
        assert "reload the page and try again" in refused.text
    token = csrf(client.get("/tokens").text)
    accepted = client.post("/probe", data={"csrf_token": token})
    assert accepted.status_code == 200
    assert accepted.text == "inv"
    log_in(client, "gw")  # another session: the old token is no longer valid
    assert client.post("/probe", data={"csrf_token": token}).status_code == 403


def test_an_htmx_poll_of_the_live_code_is_not_redirected(client: TestClient) -> None:
    """htmx would put the login page inside the code: the fragment answers 401 instead (healthcode/pages.py)."""
    response = client.get("/code/live", headers={"HX-Request": "true"})
    assert response.status_code == 401
    assert response.headers["cache-control"] == "no-store"


# --- form_errors ------------------------------------------------------------------------------------------------


def request_in(lang: str) -> Request:
    return Request({"type": "http", "headers": [(b"accept-language", lang.encode())], "query_string": b""})


def _setting(db: Session) -> SystemSetting | None:
    return db.get(SystemSetting, "page-action-test")


def test_form_errors_keeps_what_succeeded(db: Session) -> None:
    with form_errors(request_in("en"), db) as failed:
        db.add(SystemSetting(key="page-action-test", value="kept"))
    assert not failed
    assert _setting(db) is not None


def test_form_errors_catches_invalid_and_conflict(db: Session) -> None:
    for error, status in ((Invalid("%(value)s is not one of the choices", value="x"), 422),
                          (Conflict("venue %(ref)s already exists", ref="V-1"), 409)):  # fmt: skip
        with form_errors(request_in("en"), db) as failed:
            db.add(SystemSetting(key="page-action-test", value="half a change"))
            db.flush()
            raise error
        assert failed
        assert failed.status == status
        assert failed.message == error.message
        assert _setting(db) is None  # the savepoint undid the flushed write


def test_form_errors_translates_and_catches_what_it_is_told(db: Session) -> None:
    with form_errors(request_in("zh-CN"), db, catch=(NotFound,)) as failed:
        raise NotFound("no person with ref %(ref)s", ref="P-1")
    assert failed.message == "没有编号为 P-1 的人员"
    assert failed.status == 404


def test_form_errors_lets_other_errors_through(db: Session) -> None:
    with pytest.raises(Forbidden), form_errors(request_in("en"), db):
        raise Forbidden("this is not your token")


# --- token rules live in the service ------------------------------------------------------------------------------


def _actor(db: Session, username: str) -> Actor:
    return service.actor_for(db, user=service.get_user(db, username=username), channel=Channel.page)


def test_a_token_is_revoked_by_its_owner_an_admin_or_the_system_only(db: Session, keys: Keyring) -> None:
    build_city(db, keys)
    service.create_user(db, actor=Actor.system(), username="root", password="correct horse battery",
                        grants=[(Role.admin, "210800")])  # fmt: skip
    inv = service.get_user(db, username="inv")
    tokens = [service.create_token(db, actor=Actor.system(), user=inv)[0] for _ in range(3)]
    with pytest.raises(Forbidden, match="this is not your token"):
        service.revoke_token(db, actor=_actor(db, "gw"), token_id=tokens[0].id)
    with pytest.raises(Forbidden, match="this is not your token"):  # an absent token is not theirs either
        service.revoke_token(db, actor=_actor(db, "gw"), token_id=tokens[-1].id + 1000)
    assert tokens[0].revoked_at is None
    assert service.revoke_token(db, actor=_actor(db, "inv"), token_id=tokens[0].id).revoked_at is not None
    assert service.revoke_token(db, actor=_actor(db, "root"), token_id=tokens[1].id).revoked_at is not None
    assert service.revoke_token(db, actor=Actor.system(), token_id=tokens[2].id).revoked_at is not None
    with pytest.raises(NotFound):  # the CLI is told a number is wrong
        service.revoke_token(db, actor=Actor.system(), token_id=tokens[-1].id + 1000)


def test_tokens_are_made_by_officials_for_themselves(db: Session, keys: Keyring) -> None:
    build_city(db, keys)
    inv, wang = service.get_user(db, username="inv"), service.get_user(db, username="wang")
    with pytest.raises(Forbidden, match="officials' devices"):
        service.create_token(db, actor=_actor(db, "wang"), user=wang)
    with pytest.raises(Forbidden, match="officials' devices"):
        service.my_tokens(db, actor=_actor(db, "wang"))
    with pytest.raises(Forbidden, match="your own account"):
        service.create_token(db, actor=_actor(db, "gw"), user=inv)
    row, _token = service.create_token(db, actor=_actor(db, "inv"), user=inv)
    assert [t.id for t in service.my_tokens(db, actor=_actor(db, "inv"))] == [row.id]
    assert service.create_token(db, actor=Actor.system(), user=wang)[0].user_id == wang.id  # the CLI may


def test_the_token_page_revokes_through_the_service(client: TestClient) -> None:
    log_in(client, "inv")
    page = client.get("/tokens").text
    created = client.post("/tokens", data={"label": "east gate", "csrf_token": csrf(page)})
    token_id = int(re.findall(r"/tokens/(\d+)/revoke", created.text)[0])
    log_in(client, "gw")
    refused = client.post(f"/tokens/{token_id}/revoke", data={"csrf_token": csrf(client.get("/tokens").text)})
    assert refused.status_code == 403
    log_in(client, "inv")
    done = client.post(f"/tokens/{token_id}/revoke", data={"csrf_token": csrf(client.get("/tokens").text)})
    assert done.status_code == 303
