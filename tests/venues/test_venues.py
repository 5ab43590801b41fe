import datetime as dt
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from fangkong.app import create_app
from fangkong.auth.actor import Actor
from fangkong.core import clock
from fangkong.core.crypto import Keyring
from fangkong.core.runtime import Runtime
from fangkong.venues import checkins, service
from fangkong.venues.models import Checkin, CheckinSource

from ..support.factories import csv_rows
from ..support.venues import build_venues, venue_city
from ..support.web import bearer

EN = {"accept-language": "en"}


@pytest.fixture
def city(runtime: Runtime, keys: Keyring) -> tuple[dict[str, str], dict[str, str]]:
    return venue_city(runtime, keys)


@pytest.fixture
def client(runtime: Runtime) -> Iterator[TestClient]:
    with TestClient(create_app(runtime), headers=EN) as c:
        yield c


def test_an_operator_registers_a_venue_in_their_region_only(client: TestClient, city: tuple) -> None:
    tokens, _ = city
    new = {"name": "跃进药店", "kind": "pharmacy", "region_code": "210802002001"}
    created = client.post("/api/venues", json=new, headers=bearer(tokens["op1"]))
    assert created.status_code == 201
    assert created.json()["checkin_url"].startswith("http://testserver/v/")
    outside = {**new, "region_code": "210882001"}
    refused = client.post("/api/venues", json=outside, headers=bearer(tokens["op1"]))
    assert refused.status_code == 403
    assert refused.json()["error"]["message"] == "you can register venues only in your own region"
    assert client.post("/api/venues", json=new, headers=bearer(tokens["gw"])).status_code == 403


def test_an_operator_cannot_touch_another_operators_venue(client: TestClient, city: tuple) -> None:
    tokens, _ = city
    op2 = bearer(tokens["op2"])
    assert client.get("/api/venues/V-LONGSHAN", headers=op2).status_code == 404
    assert client.patch("/api/venues/V-LONGSHAN", json={"name": "x"}, headers=op2).status_code == 404
    assert client.post("/api/venues/V-LONGSHAN/rotate-token", headers=op2).status_code == 404
    door = client.post("/api/checkins", json={"venue_ref": "V-LONGSHAN", "person_ref": "wang-fang"}, headers=op2)
    assert door.status_code == 404
    assert [v["ref"] for v in client.get("/api/venues", headers=op2).json()] == ["V-GANGDU"]
    mine = client.patch("/api/venues/V-LONGSHAN", json={"capacity": 10}, headers=bearer(tokens["op1"]))
    assert mine.json()["capacity"] == 10


def test_a_rotated_token_retires_the_old_poster_with_a_clear_message(
    client: TestClient, city: tuple, runtime: Runtime
) -> None:
    tokens, posters = city
    rotated = client.post("/api/venues/V-LONGSHAN/rotate-token", headers=bearer(tokens["op1"]))
    assert not rotated.json()["checkin_url"].endswith(posters["shop"])
    with runtime.database.unit_of_work() as db:
        with pytest.raises(service.PosterReplaced, match="this poster has been replaced"):
            service.venue_for_token(db, token=posters["shop"])
        with pytest.raises(service.NotFound):
            service.venue_for_token(db, token="never-issued")
    page = client.get(f"/v/{posters['shop']}", headers={"accept": "text/html"})
    assert page.status_code == 410
    assert "this poster has been replaced" in page.text


def test_a_door_device_checks_a_person_in_now(client: TestClient, city: tuple) -> None:
    tokens, _ = city
    done = client.post("/api/checkins", json={"venue_ref": "V-LONGSHAN", "person_ref": "wang-fang"},
                       headers=bearer(tokens["op1"]))  # fmt: skip
    assert done.status_code == 201
    assert done.json()["venue_ref"] == "V-LONGSHAN"
    unknown = client.post("/api/checkins", json={"venue_ref": "V-LONGSHAN", "person_ref": "nobody"},
                          headers=bearer(tokens["op1"]))  # fmt: skip
    assert unknown.status_code == 404
    assert "wang-fang" not in done.text  # nothing about the person comes back


def _checkin(db: Session, venue_id: int, person_id: int, at: dt.datetime, out: dt.datetime | None = None) -> None:
    db.add(Checkin(person_id=person_id, venue_id=venue_id, checked_in_at=at, checked_out_at=out,
                   source=CheckinSource.door))  # fmt: skip
    db.flush()


def test_occupancy_counts_people_present_now(db: Session, keys: Keyring) -> None:
    from fangkong.people.service import get_person

    venues = build_venues(db, keys)
    shop = venues["shop"]  # a supermarket: 45 minutes without check-out
    wang, li, zhang = (get_person(db, ref=r).id for r in ("wang-fang", "li-qiang", "zhang-wei"))
    now = clock.now()
    _checkin(db, shop.id, wang, now - dt.timedelta(minutes=10))  # present
    _checkin(db, shop.id, wang, now - dt.timedelta(minutes=5))  # the same person twice counts once
    _checkin(db, shop.id, li, now - dt.timedelta(minutes=60))  # past the dwell: gone
    _checkin(db, shop.id, zhang, now - dt.timedelta(minutes=20), out=now - dt.timedelta(minutes=1))  # left
    assert service.occupancy(db, venue=shop, now=now) == 1
    _checkin(db, shop.id, li, now - dt.timedelta(hours=3), out=now + dt.timedelta(hours=1))  # a long stay
    assert service.occupancy(db, venue=shop, now=now) == 2


def test_occupancy_is_public_and_relative_to_capacity(client: TestClient, city: tuple) -> None:
    tokens, _ = city
    client.post(
        "/api/checkins", json={"venue_ref": "V-LONGSHAN", "person_ref": "wang-fang"}, headers=bearer(tokens["op1"])
    )
    body = client.get("/api/venues/V-LONGSHAN/occupancy").json()
    assert (body["present"], body["capacity"], body["ratio"]) == (1, 4, 0.25)


def test_purge_deletes_only_check_ins_past_retention(db: Session, keys: Keyring) -> None:
    from fangkong.people.service import get_person

    venues = build_venues(db, keys)
    wang = get_person(db, ref="wang-fang").id
    now = clock.now()
    _checkin(db, venues["shop"].id, wang, now - dt.timedelta(days=29))
    _checkin(db, venues["shop"].id, wang, now - dt.timedelta(days=27))
    assert checkins.purge(db, actor=Actor.system(), retention=dt.timedelta(days=28)) == 1
    assert db.query(Checkin).count() == 1


def test_the_venue_import_reports_each_bad_row_and_is_idempotent(db: Session, keys: Keyring) -> None:
    build_venues(db, keys)
    text = (
        "ref,name,kind,region_code,address,capacity\n"
        "V1,福安药店,pharmacy,210802002001,跃进街,30\n"
        "V2,某某,spa,210802002001,,\n"
        "V3,某某,clinic,999999,,\n"
        "V4,某某,clinic,210802002001,,-3\n"
        "V1,福安药店,pharmacy,210802002001,跃进街,30\n"
    )
    rows = csv_rows(text, required=service.VENUE_COLUMNS)
    report = service.import_venues(db, actor=Actor.system(), rows=rows)
    assert [str(e) for e in report.errors] == [
        "line 3: kind 'spa' is not one of supermarket, market, restaurant, hospital, clinic, pharmacy, school, "
        "office, factory, residential_gate, station, bus_line, taxi, other",
        "line 4: region 999999 does not exist",
        "line 5: capacity '-3' is not a positive whole number",
        "line 6: ref V1 repeats line 2",
    ]
    assert report.summary() == "imported 1, updated 0, rejected 4"
    again = service.import_venues(db, actor=Actor.system(), rows=csv_rows(text, required=service.VENUE_COLUMNS))
    assert (again.imported, again.updated, again.unchanged) == (0, 0, 1)


def test_the_servers_purge_job_deletes_what_retention_no_longer_allows(runtime: Runtime, keys: Keyring) -> None:
    from fangkong.people.service import get_person
    from fangkong.venues.jobs import purge_once

    with runtime.database.unit_of_work() as db:
        venues = build_venues(db, keys)
        wang = get_person(db, ref="wang-fang").id
        _checkin(db, venues["shop"].id, wang, clock.now() - dt.timedelta(days=40))
    assert purge_once(runtime) == 1
    assert purge_once(runtime) == 0


def test_the_server_starts_and_stops_its_purge_job(runtime: Runtime) -> None:
    with TestClient(create_app(runtime)) as client:
        assert client.get("/api/health").status_code == 200


def test_occupancy_of_many_venues_agrees_with_one_by_one(db: Session, keys: Keyring) -> None:
    from fangkong.people.service import get_person

    venues = build_venues(db, keys)
    now = clock.now()
    wang, li = (get_person(db, ref=r).id for r in ("wang-fang", "li-qiang"))
    _checkin(db, venues["shop"].id, wang, now - dt.timedelta(minutes=30))  # supermarket dwell 45 min: present
    _checkin(db, venues["market"].id, li, now - dt.timedelta(minutes=50))  # market dwell 60 min: present
    _checkin(db, venues["shop"].id, li, now - dt.timedelta(minutes=50))  # past the supermarket's dwell
    together = service.occupancy_all(db, now=now)
    assert together == {venues["shop"].id: 1, venues["market"].id: 1}
    for venue in venues.values():
        assert service.occupancy(db, venue=venue, now=now) == together.get(venue.id, 0)
    board = service.occupancy_board(db, now=now)
    assert [(v.ref, v.present) for v in board.venues] == [("V-LONGSHAN", 1)]  # only it has a capacity
