"""Venue pages through a test client: an operator registers, sees, prints and re-issues; others cannot."""

import re
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from fangkong.app import create_app
from fangkong.core.crypto import Keyring
from fangkong.core.runtime import Runtime

from ..support.venues import venue_city
from ..support.web import BROWSER, csrf, log_in


@pytest.fixture
def client(runtime: Runtime, keys: Keyring) -> Iterator[TestClient]:
    venue_city(runtime, keys)
    with TestClient(create_app(runtime), headers=BROWSER, follow_redirects=False) as c:
        yield c


def test_an_operator_registers_a_venue_and_gets_its_poster(client: TestClient) -> None:
    log_in(client, "op1")
    page = client.get("/venues")
    assert "龙山超市" in page.text
    assert "钢都农贸市场" not in page.text  # op2's
    created = client.post("/venues", data={"name": "跃进药店", "kind": "pharmacy", "region_code": "210802002001",
                                           "capacity": "20", "csrf_token": csrf(page.text)})  # fmt: skip
    assert created.status_code == 303
    venue_url = created.headers["location"]
    detail = client.get(venue_url)
    assert "跃进药店" in detail.text
    assert 'data-testid="present"' in detail.text
    printable = client.get(venue_url + "/poster")
    assert printable.status_code == 200
    assert "<svg" in printable.text
    assert "跃进药店" in printable.text
    svg = client.get(venue_url + "/poster.svg")
    assert svg.headers["content-type"].startswith("image/svg+xml")
    assert "跃进药店" in svg.text


def test_an_operator_cannot_open_or_reissue_another_operators_venue(client: TestClient) -> None:
    log_in(client, "op2")
    assert client.get("/venues/V-LONGSHAN").status_code == 404
    assert client.get("/venues/V-LONGSHAN/poster").status_code == 404
    token = csrf(client.get("/venues").text)
    assert client.post("/venues/V-LONGSHAN/rotate", data={"csrf_token": token}).status_code == 404


def test_reissuing_the_place_code_retires_the_old_poster(client: TestClient) -> None:
    log_in(client, "op1")
    detail = client.get("/venues/V-LONGSHAN").text
    old_url = re.search(r"<code>(http://testserver/v/[^<]+)</code>", detail)
    assert old_url
    done = client.post("/venues/V-LONGSHAN/rotate", data={"csrf_token": csrf(detail)})
    assert done.status_code == 303
    assert "New place code issued" in client.get(done.headers["location"]).text
    old = client.get(old_url.group(1).replace("http://testserver", ""))
    assert old.status_code == 410
    assert "this poster has been replaced" in old.text


def test_only_operators_manage_venues_but_anyone_sees_how_full_they_are(client: TestClient) -> None:
    log_in(client, "gw")
    assert client.get("/venues").status_code == 403
    client.cookies.clear()
    public = client.get("/occupancy")
    assert public.status_code == 200
    assert "龙山超市" in public.text  # it has a capacity
    assert "0 / 4" in public.text


def test_a_check_in_confirmation_is_only_its_owners(client: TestClient, runtime: Runtime) -> None:
    from sqlalchemy import select

    from fangkong.people.service import get_person
    from fangkong.venues.models import Checkin, CheckinSource, Venue

    with runtime.database.unit_of_work() as db:
        venue = db.execute(select(Venue).where(Venue.ref == "V-LONGSHAN")).scalar_one()
        wang = get_person(db, ref="wang-fang")
        checkin = Checkin(person_id=wang.id, venue_id=venue.id, checked_in_at=venue.created_at,
                          source=CheckinSource.scan)  # fmt: skip
        db.add(checkin)
        db.flush()
        checkin_id = checkin.id
    log_in(client, "wang")
    assert client.get(f"/checkins/{checkin_id}").status_code == 200
    client.cookies.clear()
    log_in(client, "gw")
    assert client.get(f"/checkins/{checkin_id}").status_code == 404


def test_a_failed_registration_keeps_what_was_typed_and_names_the_field(client: TestClient) -> None:
    log_in(client, "op1")
    page = client.get("/venues")
    failed = client.post("/venues", data={"name": "跃进药店", "kind": "pharmacy", "region_code": "210802002001",
                                          "capacity": "many", "csrf_token": csrf(page.text)})  # fmt: skip
    assert failed.status_code == 422
    assert 'value="跃进药店"' in failed.text
    assert 'value="many"' in failed.text
    assert "A capacity is a whole number above zero." in failed.text
    assert '<option value="pharmacy" selected>' in failed.text
