"""The public "how full is it" page: fullest first, a page at a time, by name and by district, in Chinese and
English; one board read from the database while it is fresh, shared by every reader and every page of it."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from fangkong.app import create_app
from fangkong.auth.actor import Actor
from fangkong.core import clock
from fangkong.core.crypto import Keyring
from fangkong.core.runtime import Runtime
from fangkong.people.service import get_person
from fangkong.venues import service
from fangkong.venues.models import Checkin, CheckinSource, Venue, VenueKind
from fangkong.venues.schemas import VenueCreate

from ..support.personas import LI_QIANG, WANG_FANG
from ..support.venues import venue_city
from ..support.web import BROWSER, log_in

SHOPS = 25  # in 大石桥市, beside 龙山超市 of 站前区: 26 places with a capacity, two pages of 20


@pytest.fixture
def client(runtime: Runtime, keys: Keyring) -> Iterator[TestClient]:
    venue_city(runtime, keys)
    with runtime.database.unit_of_work() as db:
        for n in range(1, SHOPS + 1):
            service.create_venue(db, actor=Actor.system(), venue_in=VenueCreate(
                ref=f"V-SHOP{n:02d}", name=f"石桥便利店{n:02d}号", kind=VenueKind.supermarket, region_code="210882001",
                capacity=10,
            ))  # fmt: skip
    with TestClient(create_app(runtime), headers=BROWSER, follow_redirects=False) as c:
        yield c


def check_in(runtime: Runtime, venue_ref: str, *person_refs: str) -> None:
    with runtime.database.unit_of_work() as db:
        venue = db.execute(select(Venue).where(Venue.ref == venue_ref)).scalar_one()
        for ref in person_refs:
            db.add(Checkin(person_id=get_person(db, ref=ref).id, venue_id=venue.id,
                           checked_in_at=clock.now() - dt.timedelta(minutes=5), source=CheckinSource.scan))  # fmt: skip


def names(html: str) -> list[str]:
    return re.findall(r'<p class="occupancy__name">([^<]+?) <span', html)


def count_of(html: str, name: str) -> str:
    found = re.search(re.escape(name) + r'.*?<p class="occupancy__count">([^<]+)</p>', html, re.S)
    assert found, f"{name} is not on the page"
    return found.group(1)


def zh(client: TestClient, url: str) -> str:
    response = client.get(url, headers={"accept-language": "zh-CN"})
    assert response.status_code == 200, response.text
    return response.text


def test_it_shows_places_fullest_first_a_page_at_a_time(client: TestClient, runtime: Runtime) -> None:
    check_in(runtime, "V-SHOP07", WANG_FANG.ref, LI_QIANG.ref)  # 2 of 10
    check_in(runtime, "V-LONGSHAN", WANG_FANG.ref)  # 1 of 4: fuller still
    first = zh(client, "/occupancy")
    assert names(first)[:2] == ["龙山超市", "石桥便利店07号"]
    assert len(names(first)) == 20
    assert count_of(first, "龙山超市") == "1 / 4"
    assert "共 26 个场所" in first
    assert "第 1 / 2 页" in first
    assert 'href="/occupancy?page=2"' in first
    second = zh(client, "/occupancy?page=2")
    assert len(names(second)) == 6
    assert not set(names(second)) & set(names(first))
    assert 'href="/occupancy"' in second  # back to the first page
    assert "大石桥市" in second  # each place's district


def test_it_finds_places_by_name_and_by_district_and_the_pages_keep_the_filter(client: TestClient) -> None:
    assert names(zh(client, "/occupancy?q=龙山")) == ["龙山超市"]
    assert names(zh(client, "/occupancy?q=%20%20便利店03")) == ["石桥便利店03号"]  # spaces around are dropped
    in_dashiqiao = zh(client, "/occupancy?district=210882")
    assert "龙山超市" not in names(in_dashiqiao)
    assert len(names(in_dashiqiao)) == 20
    assert 'href="/occupancy?district=210882&amp;page=2"' in in_dashiqiao
    assert '<option value="210882" selected>大石桥市</option>' in in_dashiqiao
    assert len(names(zh(client, "/occupancy?district=210882&page=2"))) == 5
    none = zh(client, "/occupancy?district=210802&q=便利店")
    assert names(none) == []
    assert "没有符合条件的场所" in none


def test_it_speaks_english_to_an_english_reader(client: TestClient) -> None:
    page = client.get("/occupancy?district=210802").text
    assert "How full is it?" in page
    assert "Places: 1" in page
    assert "Supermarket" in page
    assert "All districts" in page
    assert "Page 1 of" not in page  # one page: no pager


def test_a_page_out_of_range_a_district_that_is_no_code_or_a_long_search_is_a_422(client: TestClient) -> None:
    for query in ("page=0", "page=9223372036854775808", "district=abc", "district=2108821", "q=" + "长" * 51):
        assert client.get(f"/occupancy?{query}").status_code == 422, query


def test_the_board_is_read_once_while_fresh_and_shared_by_every_reader_page_and_language(
    client: TestClient, runtime: Runtime, monkeypatch: pytest.MonkeyPatch
) -> None:
    reads = []
    board = service.occupancy_board

    def counted(db: object, **kwargs: object) -> service.OccupancyBoard:
        reads.append(1)
        return board(db, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(service, "occupancy_board", counted)
    assert count_of(zh(client, "/occupancy?q=龙山"), "龙山超市") == "0 / 4"
    check_in(runtime, "V-LONGSHAN", WANG_FANG.ref)
    for url in ("/occupancy", "/occupancy?page=2", "/occupancy?district=210802"):
        zh(client, url)
    assert count_of(zh(client, "/occupancy?q=龙山"), "龙山超市") == "0 / 4"  # the check-in is not counted yet
    assert count_of(client.get("/occupancy?q=龙山", headers={"hx-request": "true"}).text, "龙山超市") == "0 / 4"
    assert count_of(client.get("/occupancy?q=龙山").text, "龙山超市") == "0 / 4"  # English, the same board
    assert len(reads) == 1
    # Once the board is older than occupancy_fresh_seconds, the next reader reads it again.
    boards = client.app.state.venues_public.boards  # type: ignore[attr-defined]
    later = boards.clock() + runtime.settings.occupancy_fresh_seconds + 1
    monkeypatch.setattr(boards, "clock", lambda: later)
    assert count_of(zh(client, "/occupancy?q=龙山"), "龙山超市") == "1 / 4"
    assert len(reads) == 2


def test_a_signed_in_reader_keeps_their_name_and_logout_on_the_page(client: TestClient) -> None:
    log_in(client, "wang")
    page = client.get("/occupancy").text
    assert "account__name" in page
    assert "Log out" in page
    client.cookies.clear()
    assert "Log out" not in client.get("/occupancy").text
