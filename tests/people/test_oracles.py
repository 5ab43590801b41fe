"""A person outside one's scope and a person who does not exist get the same answer on every route that takes a
person's ref: the same status and the same body but for the ref itself, so refs cannot be probed to learn who is
in the registry. Labs and door devices, who serve the whole city, are the documented exceptions
(docs/architecture.md); contacts are the cases domain's (assistance requests)."""

from collections.abc import Callable, Iterator

import httpx
import pytest
from fastapi.testclient import TestClient

from fangkong.app import create_app
from fangkong.core.crypto import Keyring
from fangkong.core.runtime import Runtime

from ..support.factories import city_with_tokens
from ..support.personas import CHEN, LIU, WANG, ZHANG_WEI
from ..support.web import BROWSER, as_, log_in

NOBODY = "nobody-at-all"
WINDOW = {"from": "2022-03-18T00:00:00+08:00", "to": "2022-03-21T00:00:00+08:00"}


@pytest.fixture
def tokens(runtime: Runtime, keys: Keyring) -> dict[str, str]:
    return city_with_tokens(runtime, keys)


@pytest.fixture
def client(runtime: Runtime) -> Iterator[TestClient]:
    with TestClient(create_app(runtime), headers={"accept-language": "en"}) as c:
        yield c


Call = Callable[[TestClient, dict[str, str], str], httpx.Response]

ROUTES: dict[str, Call] = {
    "read a record": lambda c, h, ref: c.get(f"/api/people/{ref}", headers=h),
    "change a record": lambda c, h, ref: c.patch(
        f"/api/people/{ref}", json={"address": "x", "reason": "grid check"}, headers=h
    ),
    "read a health code": lambda c, h, ref: c.get(f"/api/healthcode/people/{ref}", headers=h),
    "read a code's history": lambda c, h, ref: c.get(f"/api/healthcode/people/{ref}/history", headers=h),
    "review a code": lambda c, h, ref: c.post(
        "/api/healthcode/reviews",
        headers=h,
        json={
            "person_ref": ref,
            "color": "red",
            "reason": "seen at the market",
            "until": "2099-01-01T00:00:00+08:00",
            "case_id": 1,
        },
    ),
    "record a stay": lambda c, h, ref: c.post(
        "/api/healthcode/stays",
        headers=h,
        json={"person_ref": ref, "area": "西安市雁塔区", "level": "high", "start": "2022-03-10T00:00:00+08:00"},
    ),
    "enter a test result": lambda c, h, ref: c.post(
        "/api/tests",
        headers=h,
        json={"person_ref": ref, "sampled_at": "2022-03-20T08:30:00+08:00", "result": "negative"},
    ),
    "trace contacts": lambda c, h, ref: c.get("/api/trace", params={"person": ref, **WINDOW}, headers=h),
    "report a case": lambda c, h, ref: c.post(
        "/api/cases",
        headers=h,
        json={"person_ref": ref, "classification": "confirmed", "onset_date": "2022-03-19", "reason": "PCR"},
    ),
    "search by ref": lambda c, h, ref: c.post("/api/people/search", json={"q": ref}, headers=h),
}


def answer(response: httpx.Response, ref: str) -> tuple[int, str]:
    return response.status_code, response.text.replace(ref, "<ref>")


@pytest.mark.parametrize("route", list(ROUTES))
def test_an_investigator_cannot_tell_a_person_of_another_region_from_nobody(
    client: TestClient, tokens: dict, route: str
) -> None:
    call = ROUTES[route]
    # 张伟 lives in 大石桥市, outside 陈's 站前区.
    hidden = answer(call(client, as_(tokens, CHEN), ZHANG_WEI.ref), ZHANG_WEI.ref)
    assert hidden == answer(call(client, as_(tokens, CHEN), NOBODY), NOBODY)
    assert hidden[0] in {200, 404}


@pytest.mark.parametrize("route", ["read a record", "change a record", "read a health code", "record a stay"])
def test_a_grid_worker_and_a_resident_cannot_tell_a_neighbour_from_nobody(
    client: TestClient, tokens: dict, route: str
) -> None:
    call = ROUTES[route]
    for who in (LIU, WANG):  # 李强 lives in the next grid; to 王芳's own account he is nobody
        hidden = answer(call(client, as_(tokens, who), "li-qiang"), "li-qiang")
        assert hidden == answer(call(client, as_(tokens, who), NOBODY), NOBODY)


def test_the_record_page_answers_the_same_for_another_regions_person_and_nobody(runtime: Runtime, tokens: dict) -> None:
    with TestClient(create_app(runtime), headers=BROWSER, follow_redirects=False) as browser:
        log_in(browser, CHEN)
        hidden = browser.get(f"/people/{ZHANG_WEI.ref}")
        missing = browser.get(f"/people/{NOBODY}")
    assert hidden.status_code == missing.status_code == 404
    assert answer(hidden, ZHANG_WEI.ref)[1] == answer(missing, NOBODY)[1]
