"""An operator cannot tell another operator's venue from a venue that does not exist: registering never says a
ref is taken (the server assigns refs), and every route that takes a venue ref answers the same for "not yours"
and "not there". A place code (/v/<token>) has one spelling: a re-spelled token is an unknown one."""

import datetime as dt
import re
import uuid
from collections.abc import Callable, Iterator

import httpx
import pytest
from fastapi.testclient import TestClient

from fangkong.app import create_app
from fangkong.core import clock
from fangkong.core.crypto import Keyring
from fangkong.core.runtime import Runtime

from ..support.personas import WU
from ..support.venues import venue_city
from ..support.web import BROWSER, as_, csrf, log_in

THEIRS, NOWHERE = "V-GANGDU", "V-NOWHERE"  # 郑's market in 大石桥市, and a ref nobody has
ROW_ID = str(uuid.uuid4())


@pytest.fixture
def city(runtime: Runtime, keys: Keyring) -> tuple[dict[str, str], dict[str, str]]:
    return venue_city(runtime, keys)


@pytest.fixture
def client(runtime: Runtime) -> Iterator[TestClient]:
    with TestClient(create_app(runtime), headers={"accept-language": "en"}, follow_redirects=False) as c:
        yield c


def answer(response: httpx.Response, ref: str) -> tuple[int, str]:
    return response.status_code, response.text.replace(ref, "<ref>")


def new_venue(ref: str | None) -> dict[str, object]:
    venue = {"name": "跃进药店", "kind": "pharmacy", "region_code": "210802002001"}
    return venue if ref is None else {**venue, "ref": ref}


def test_registering_a_venue_never_tells_whether_a_ref_is_taken(client: TestClient, city: tuple) -> None:
    tokens, _ = city
    register: Callable[[str], httpx.Response] = lambda ref: client.post(  # noqa: E731
        "/api/venues", json=new_venue(ref), headers=as_(tokens, WU)
    )
    # 郑's venue, 吴's own, and a ref nobody has: one answer, which names none of them.
    answers = {answer(register(ref), ref) for ref in (THEIRS, "V-LONGSHAN", NOWHERE)}
    assert len(answers) == 1
    [(status, body)] = answers
    assert status == 422
    assert "a venue's ref is assigned by the server" in body
    assert "<ref>" not in body


def test_the_server_gives_a_registered_venue_its_ref(client: TestClient, city: tuple) -> None:
    tokens, _ = city
    created = client.post("/api/venues", json=new_venue(None), headers=as_(tokens, WU))
    assert created.status_code == 201
    ref = created.json()["ref"]
    assert re.fullmatch(r"V-[0-9A-F]{8}", ref)
    assert client.get(f"/api/venues/{ref}", headers=as_(tokens, WU)).json()["name"] == "跃进药店"


def batch_row(venue_ref: str) -> dict[str, object]:
    at = clock.now() - dt.timedelta(hours=2)
    return {"client_id": ROW_ID, "person_ref": "wang-fang", "venue_ref": venue_ref,
            "checked_in_at": at.isoformat(), "checked_out_at": None}  # fmt: skip


API: dict[str, Callable[[TestClient, dict[str, str], str], httpx.Response]] = {
    "read": lambda c, h, ref: c.get(f"/api/venues/{ref}", headers=h),
    "change": lambda c, h, ref: c.patch(f"/api/venues/{ref}", json={"capacity": 9}, headers=h),
    "reissue the place code": lambda c, h, ref: c.post(f"/api/venues/{ref}/rotate-token", headers=h),
    "check a person in": lambda c, h, ref: c.post(
        "/api/checkins", json={"venue_ref": ref, "person_ref": "wang-fang"}, headers=h
    ),
    "upload a batch": lambda c, h, ref: c.post("/api/checkins/batch", json={"rows": [batch_row(ref)]}, headers=h),
    "verify a code": lambda c, h, ref: c.post(
        "/api/healthcode/verify", json={"token": "x" * 123, "venue_ref": ref}, headers=h
    ),
}


@pytest.mark.parametrize("route", list(API))
def test_another_operators_venue_answers_as_one_that_does_not_exist(
    client: TestClient, city: tuple, route: str
) -> None:
    tokens, _ = city
    call = API[route]
    theirs = answer(call(client, as_(tokens, WU), THEIRS), THEIRS)
    assert theirs == answer(call(client, as_(tokens, WU), NOWHERE), NOWHERE)
    assert theirs[0] in {200, 403, 404}
    assert theirs[0] != 200 or "<ref>" in theirs[1]  # a batch answers 200 with the row's rejection


PAGES = ["/venues/{ref}", "/venues/{ref}/poster", "/venues/{ref}/poster.svg", "/venues/{ref}/door"]


@pytest.mark.parametrize("page", PAGES)
def test_another_operators_venue_page_answers_as_one_that_does_not_exist(
    runtime: Runtime, city: tuple, page: str
) -> None:
    with TestClient(create_app(runtime), headers=BROWSER, follow_redirects=False) as browser:
        log_in(browser, WU)
        theirs = browser.get(page.format(ref=THEIRS))
        nowhere = browser.get(page.format(ref=NOWHERE))
    assert theirs.status_code == nowhere.status_code == 404
    assert answer(theirs, THEIRS)[1] == answer(nowhere, NOWHERE)[1]


def test_reissuing_another_operators_place_code_answers_as_for_no_venue(runtime: Runtime, city: tuple) -> None:
    with TestClient(create_app(runtime), headers=BROWSER, follow_redirects=False) as browser:
        log_in(browser, WU)
        token = csrf(browser.get("/venues").text)
        theirs = browser.post(f"/venues/{THEIRS}/rotate", data={"csrf_token": token})
        nowhere = browser.post(f"/venues/{NOWHERE}/rotate", data={"csrf_token": token})
    assert theirs.status_code == nowhere.status_code == 404
    assert answer(theirs, THEIRS)[1] == answer(nowhere, NOWHERE)[1]


def scan(client: TestClient, token: str) -> tuple[int, str]:
    """The answer to opening /v/<token>, with the echoed path (the language links' `next`) left out."""
    response = client.get(f"/v/{token}", headers=BROWSER)
    return response.status_code, re.sub(r'next=[^"]*"', 'next=<path>"', response.text)


def test_a_place_code_spelled_another_way_is_an_unknown_one(client: TestClient, city: tuple) -> None:
    _, posters = city
    token = posters["shop"]
    unknown = scan(client, "A" * len(token))
    assert unknown[0] == 404
    # '/' of the standard alphabet cannot reach the route at all (a 404 of its own); '+' can.
    assert client.get(f"/v/{token.replace('_', '/')}/x", headers=BROWSER).status_code == 404
    respelled = [token.replace("-", "+").replace("_", "+"), token + "=", token + "==", token[:5] + "." + token[5:],
                 token + "%20", "%20" + token, token.swapcase()]  # fmt: skip
    for variant in (v for v in respelled if v != token):  # a token without '-' or '_' reads the same in both
        assert scan(client, variant) == unknown, variant
    assert scan(client, token)[0] == 200
