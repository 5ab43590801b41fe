"""Input at the edge (core/inputs.py): a control character or an id out of range is one request's (or one row's)
422, never a 500 and never the failure of other devices' work in a group commit. Both databases: PostgreSQL
refuses U+0000 in text and 2^31 in an INTEGER column."""

import asyncio
import datetime as dt
import uuid
from collections.abc import Coroutine, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from typer.testing import CliRunner

from fangkong.app import create_app
from fangkong.auth.service import token_hash
from fangkong.core import clock
from fangkong.core.crypto import Keyring
from fangkong.core.errors import Invalid
from fangkong.core.runtime import Runtime
from fangkong.healthcode.door.grouped import DoorScan, verify_scans
from fangkong.venues.checkin_import import CHECKIN_COLUMNS, import_checkins
from fangkong.venues.checkin_writer import DoorCheckin, DoorReceipt, checkin_writer
from fangkong.venues.checkins import Limits
from fangkong.venues.models import Checkin, CheckinSource

from .cases.test_pages import confirm_through_the_form, new_case
from .support.cases import outbreak
from .support.factories import csv_rows
from .support.venues import door_city
from .support.web import BROWSER, bearer, csrf, log_in, run

T = TypeVar("T")
NUL_REF = "P000\u00000005"
LIMITS = Limits(retention=dt.timedelta(days=28), future_skew=dt.timedelta(minutes=5))


def run_async(coroutine: Coroutine[Any, Any, T]) -> T:
    """asyncio.run in a thread of its own: the browser tests leave an event loop running in the main thread."""
    with ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, coroutine).result()


@pytest.fixture
def tokens(runtime: Runtime, keys: Keyring) -> dict[str, str]:
    return door_city(runtime, keys)


@pytest.fixture
def client(runtime: Runtime) -> Iterator[TestClient]:
    with TestClient(create_app(runtime), headers={"accept-language": "en"}) as c:
        yield c


def stored(runtime: Runtime, source: CheckinSource) -> int:
    with runtime.database.unit_of_work() as db:
        query = select(func.count()).select_from(Checkin).where(Checkin.source == source)
        return int(db.execute(query).scalar_one())


def batch_row(**overrides: object) -> dict[str, object]:
    at = clock.now() - dt.timedelta(hours=2)
    return {"client_id": str(uuid.uuid4()), "person_ref": "wang-fang", "venue_ref": "V-LONGSHAN",
            "checked_in_at": at.isoformat(), "checked_out_at": None} | overrides  # fmt: skip


# --- control characters --------------------------------------------------------------------------------------------


def test_a_batch_row_with_a_nul_is_rejected_alone_with_its_reason(
    client: TestClient, tokens: dict[str, str], runtime: Runtime
) -> None:
    rows = [batch_row(), batch_row(person_ref=NUL_REF), batch_row(person_ref="li-qiang"), batch_row(venue_ref="V\x7f")]
    response = client.post("/api/checkins/batch", json={"rows": rows}, headers=bearer(tokens["op1"]))
    assert response.status_code == 200, response.text
    result = response.json()
    assert (result["accepted"], result["duplicates"]) == (2, 0)
    assert [(r["index"], r["reason"]) for r in result["rejected"]] == [
        (1, "person_ref contains a control character (U+0000); remove it"),
        (3, "venue_ref contains a control character (U+007F); remove it"),
    ]
    assert stored(runtime, CheckinSource.batch) == 2


def test_concurrent_door_checkins_through_the_api_where_one_has_a_nul(runtime: Runtime, tokens: dict[str, str]) -> None:
    app = create_app(runtime)
    people = ["wang-fang", NUL_REF, "li-qiang", "zhang-wei"] * 5

    async def all_at_once() -> list[httpx.Response]:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as c:
            return await asyncio.gather(*(
                c.post("/api/checkins", json={"venue_ref": "V-LONGSHAN", "person_ref": p},
                       headers=bearer(tokens["op1"]) | {"accept-language": "en"})
                for p in people
            ))  # fmt: skip

    responses = run_async(all_at_once())
    assert [r.status_code for r in responses] == [422 if p == NUL_REF else 201 for p in people]
    refused = next(r for r, p in zip(responses, people, strict=True) if p == NUL_REF)
    assert "person_ref contains a control character (U+0000)" in refused.json()["error"]["message"]
    assert stored(runtime, CheckinSource.door) == 15


def test_the_check_in_writer_refuses_a_nul_before_the_transaction_and_stores_the_others(
    runtime: Runtime, tokens: dict[str, str]
) -> None:
    """Whoever hands the writer a ref with U+0000 (not the API: it refuses it) fails alone, not its group."""
    writer = checkin_writer(runtime.database)
    digest = token_hash(tokens["op1"])
    people = ["wang-fang", NUL_REF, "li-qiang"] * 10

    async def all_at_once() -> list[object]:
        checkins = [writer.run(DoorCheckin("V-LONGSHAN", p, clock.now(), token_hash=digest)) for p in people]
        return await asyncio.gather(*checkins, return_exceptions=True)

    outcomes = run_async(all_at_once())
    assert [isinstance(o, DoorReceipt) for o in outcomes] == [p != NUL_REF for p in people]
    assert all(isinstance(o, Invalid) for o, p in zip(outcomes, people, strict=True) if p == NUL_REF)
    assert stored(runtime, CheckinSource.door) == 20


@pytest.mark.parametrize("field", ["venue_ref", "person_ref", "token"])
def test_a_verification_with_a_nul_is_a_422_naming_the_field(
    client: TestClient, tokens: dict[str, str], field: str
) -> None:
    body = {"token": "not-a-code", "venue_ref": "V-LONGSHAN", "person_ref": "wang-fang"} | {field: "V\x00X"}
    response = client.post("/api/healthcode/verify", json=body, headers=bearer(tokens["op1"]))
    assert response.status_code == 422, response.text
    assert response.json()["error"]["message"] == f"{field} contains a control character (U+0000); remove it"


def test_the_grouped_verifier_refuses_a_nul_alone(runtime: Runtime, keys: Keyring, tokens: dict[str, str]) -> None:
    digest = token_hash(tokens["op1"])
    scans = [DoorScan(digest, "not-a-code", "V\x00", clock.now()), DoorScan(digest, "not-a-code", "V-LONGSHAN",
             clock.now(), person_ref="\x00")]  # fmt: skip
    with runtime.database.unit_of_work() as db:
        outcomes = verify_scans(db, scans, keys=keys)
    assert [(type(o), getattr(o, "params", {}).get("field")) for o in outcomes] == [
        (Invalid, "venue_ref"), (Invalid, "person_ref"),
    ]  # fmt: skip


@pytest.mark.parametrize(
    ("method", "url", "body"),
    [
        ("post", "/api/checkins", {"venue_ref": "V-LONGSHAN", "person_ref": "wang\x00"}),
        ("post", "/api/venues", {"ref": "V\x00", "name": "x", "kind": "shop", "region_code": "210802001"}),
        ("post", "/api/cases", {"person_ref": "wang-fang", "reason": "a\x00b"}),
        (
            "post",
            "/api/tests",
            {"person_ref": "wang\x01", "sampled_at": "2022-03-20T08:00:00+08:00", "result": "negative"},
        ),
        ("get", "/api/venues/V%00X", None),
        ("get", "/api/people?region=2108%00", None),
        ("get", "/api/cases?q=wang%1b", None),
    ],
)
def test_a_control_character_anywhere_in_the_api_is_a_422(
    client: TestClient, tokens: dict[str, str], method: str, url: str, body: object
) -> None:
    kwargs: dict[str, Any] = {"headers": bearer(tokens["op1"])} | ({"json": body} if body is not None else {})
    response = getattr(client, method)(url, **kwargs)
    assert response.status_code == 422, response.text
    assert "contains a control character" in response.json()["error"]["message"]


def test_multi_line_text_keeps_its_line_breaks_where_it_is_legitimate(client: TestClient) -> None:
    from fangkong.cases.schemas import CaseCreate, CaseUpdate

    assert CaseUpdate(reason="line one\r\nline two\tend").reason == "line one\r\nline two\tend"
    with pytest.raises(ValueError, match="control character"):
        CaseCreate(person_ref="wang\nfang")


def test_a_csv_row_with_a_nul_is_that_rows_rejection(db: Any, tokens: dict[str, str]) -> None:
    at = (clock.now() - dt.timedelta(hours=2)).isoformat()
    text = (
        "person_ref,venue_ref,checked_in_at,checked_out_at\n"
        f"wang-fang,V-LONGSHAN,{at},\n"
        f"{NUL_REF},V-LONGSHAN,{at},\n"
        f"li-qiang,V-LONG\x1fSHAN,{at},\n"
        f"li-qiang,V-LONGSHAN,{at},\n"
    )
    report = import_checkins(db, rows=csv_rows(text, required=CHECKIN_COLUMNS), limits=LIMITS)
    assert [str(e) for e in report.errors] == [
        "line 3: person_ref contains a control character (U+0000); remove it",
        "line 4: venue_ref contains a control character (U+001F); remove it",
    ]
    assert report.imported == 2


@pytest.fixture
def scene(runtime: Runtime, keys: Keyring) -> dict[str, str]:
    return outbreak(runtime, keys)


@pytest.fixture
def page_client(runtime: Runtime, scene: dict[str, str]) -> Iterator[TestClient]:
    with TestClient(create_app(runtime), headers=BROWSER, follow_redirects=False) as c:
        yield c


def test_a_form_with_a_control_character_comes_back_with_a_message(page_client: TestClient) -> None:
    log_in(page_client, "inv")
    case_id = new_case(page_client)
    token = csrf(page_client.get(f"/cases/{case_id}").text)
    data = {"severity": "mild", "reason": "CT\x00 scan", "csrf_token": token}
    refused = page_client.post(f"/cases/{case_id}/change", data=data)
    assert refused.status_code == 422
    assert "reason contains a control character (U+0000); remove it" in refused.text
    assert '<option value="mild" selected>' in refused.text  # the form, as it was sent
    assert "CT scan" not in page_client.get(f"/cases/{case_id}").text  # nothing of it stored
    multi_line = page_client.post(f"/cases/{case_id}/change", data=data | {"reason": "CT scan\r\nlab 0321"})
    assert multi_line.status_code == 303


# --- ids out of range ----------------------------------------------------------------------------------------------

ROUTES = [
    ("get", "/api/cases/{n}"),
    ("get", "/api/cases/{n}/chain"),
    ("post", "/api/cases/{n}/trace"),
    ("patch", "/api/cases/{n}"),
    ("get", "/api/contacts/{n}"),
    ("post", "/api/contacts/{n}/decision"),
    ("post", "/api/contacts/{n}/follow-up"),
    ("get", "/api/contacts?case={n}"),
    ("get", "/api/cases?offset={n}"),
    ("get", "/api/contacts?offset={n}"),
    ("get", "/api/people?offset={n}"),
    ("post", "/api/tests/{n}/withdraw"),
    ("post", "/api/healthcode/appeals/{n}/decision"),
]
BODIES = {
    "/api/cases/{n}": {"reason": "x"},
    "/api/contacts/{n}/decision": {"decision": "confirm"},
    "/api/tests/{n}/withdraw": {"reason": "x"},
    "/api/healthcode/appeals/{n}/decision": {"outcome": "upheld", "reason": "x"},
}


@pytest.mark.parametrize("n", [2**31, 2**63, 0])
@pytest.mark.parametrize(("method", "route"), ROUTES)
def test_an_id_or_offset_out_of_range_is_a_422(
    page_client: TestClient, scene: dict[str, str], method: str, route: str, n: int
) -> None:
    if n == 0 and "offset" in route:
        return  # offset 0 is the first page
    kwargs: dict[str, Any] = {"headers": bearer(scene["inv"]) | {"accept": "application/json"}}
    if method != "get":
        kwargs["json"] = BODIES.get(route, {})
    response = page_client.request(method.upper(), route.format(n=n), **kwargs)
    assert response.status_code == 422, response.text


@pytest.mark.parametrize("n", [2**31, 2**63])
@pytest.mark.parametrize("path", ["/cases/{n}", "/cases/{n}/chain", "/checkins/{n}", "/cases?page={n}"])
def test_a_page_with_an_id_out_of_range_is_not_a_500(page_client: TestClient, path: str, n: int) -> None:
    log_in(page_client, "inv")
    assert page_client.get(path.format(n=n)).status_code == 422


@pytest.mark.parametrize("n", [2**31, 2**63])
def test_a_body_id_out_of_range_is_a_422(page_client: TestClient, scene: dict[str, str], n: int) -> None:
    body = {"case_id": n, "person_ref": "li-qiang", "note": "met at dinner", "start": "2022-03-19T10:00:00+08:00"}
    response = page_client.post("/api/contacts", json=body, headers=bearer(scene["inv"]))
    assert response.status_code == 422, response.text


def test_forms_that_are_not_shown_again_refuse_a_control_character_before_any_service(
    page_client: TestClient,
) -> None:
    # The login form (before the database, which on PostgreSQL cannot compare a text holding U+0000), the people
    # search and a new API token: each answers 422 with the message, and nothing is stored.
    token = csrf(page_client.get("/login").text)
    refused = page_client.post("/login", data={"username": "inv\x00", "password": "x", "csrf_token": token})
    assert refused.status_code == 422
    assert "username contains a control character (U+0000); remove it" in refused.text
    log_in(page_client, "inv")
    token = csrf(page_client.get("/people").text)
    searched = page_client.post("/people", data={"q": "P\x0001", "csrf_token": token})
    assert searched.status_code == 422
    assert "q contains a control character (U+0000); remove it" in searched.text
    token = csrf(page_client.get("/tokens").text)
    made = page_client.post("/tokens", data={"label": "scanner-\x00-7", "csrf_token": token})
    assert made.status_code == 422
    assert "scanner-" not in page_client.get("/tokens").text


# --- times out of range --------------------------------------------------------------------------------------------

TIMED = [
    ("get", "/api/trace", {"person": "wang-fang", "from": "{t}", "to": "2022-03-21T08:00:00+08:00"}, "from"),
    ("get", "/api/trace", {"person": "wang-fang", "from": "2022-03-16T00:00:00+08:00", "to": "{t}"}, "to"),
    ("get", "/api/healthcode/people/wang-fang", {"at": "{t}"}, "at"),
    (
        "post",
        "/api/cases",
        {"person_ref": "li-qiang", "classification": "confirmed", "sampled_at": "{t}"},
        "sampled_at",
    ),
    ("post", "/api/tests", {"person_ref": "li-qiang", "sampled_at": "{t}", "result": "positive"}, "sampled_at"),
    (
        "post",
        "/api/healthcode/stays",
        {"person_ref": "li-qiang", "area": "上海", "level": "high", "start": "{t}"},
        "start",
    ),
]


@pytest.mark.parametrize("t", ["0001-01-01T00:00:00+08:00", "9999-12-31T23:59:59-08:00"])
@pytest.mark.parametrize(("method", "url", "values", "field"), TIMED)
def test_a_time_outside_the_years_1900_to_2099_is_a_422(
    page_client: TestClient, scene: dict[str, str], method: str, url: str, values: dict[str, str], field: str, t: str
) -> None:
    # Found by the fuzzer (test_schemathesis.py): year 1 or 9999 overflowed datetime arithmetic (a trace's look-back,
    # the change of offset to UTC) on several routes, a 500; elsewhere it was stored.
    filled = {name: value.format(t=t) for name, value in values.items()}
    where = "params" if method == "get" else "json"
    kwargs: dict[str, Any] = {where: filled, "headers": bearer(scene["inv"]) | {"accept-language": "en"}}
    response = page_client.request(method.upper(), url, **kwargs)
    assert response.status_code == 422, response.text
    assert response.json()["error"]["message"] == f"{field} must lie in the years 1900–2099"


@pytest.mark.parametrize("field", ["isolated_at", "sampled_at", "onset_date"])
def test_a_form_time_outside_the_years_1900_to_2099_comes_back_with_a_message(
    page_client: TestClient, field: str
) -> None:
    log_in(page_client, "inv")
    typed = "0001-01-01" if field == "onset_date" else "0001-01-01T00:00"
    refused = confirm_through_the_form(page_client, **{field: typed})
    assert refused.status_code == 422
    assert f"{typed} is outside the years 1900–2099" in refused.text


def test_a_command_time_outside_the_years_1900_to_2099_is_one_line(cli: CliRunner, scene: dict[str, str]) -> None:
    result = run(cli, "trace", "--person", "wang-fang", "--from", "0001-01-01T00:00:00+08:00",
                 "--to", "2022-03-21T08:00:00+08:00", "--as", "inv")  # fmt: skip
    assert result.exit_code == 2
    assert "--from '0001-01-01T00:00:00+08:00' is not in the years 1900–2099" in result.output
