import datetime as dt
import uuid
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from fangkong.app import create_app
from fangkong.core import clock
from fangkong.core.crypto import Keyring
from fangkong.core.runtime import Runtime
from fangkong.venues.checkin_import import CHECKIN_COLUMNS, import_checkins
from fangkong.venues.checkins import Limits
from fangkong.venues.models import Checkin

from ..support.factories import csv_rows
from ..support.personas import PASSWORD
from ..support.venues import build_venues, venue_city
from ..support.web import bearer, csrf

LIMITS = Limits(retention=dt.timedelta(days=28), future_skew=dt.timedelta(minutes=5))


@pytest.fixture
def city(runtime: Runtime, keys: Keyring) -> tuple[dict[str, str], dict[str, str]]:
    return venue_city(runtime, keys)


@pytest.fixture
def client(runtime: Runtime) -> Iterator[TestClient]:
    with TestClient(create_app(runtime), headers={"accept-language": "en"}) as c:
        yield c


def row(**overrides: object) -> dict[str, object]:
    at = clock.now() - dt.timedelta(hours=2)
    return {"client_id": str(uuid.uuid4()), "person_ref": "wang-fang", "venue_ref": "V-LONGSHAN",
            "checked_in_at": at.isoformat(), "checked_out_at": None} | overrides  # fmt: skip


def count(runtime: Runtime) -> int:
    with runtime.database.unit_of_work() as db:
        return int(db.execute(select(func.count()).select_from(Checkin)).scalar_one())


def test_a_batch_stores_good_rows_and_rejects_each_bad_one_with_its_reason(
    client: TestClient, city: tuple, runtime: Runtime
) -> None:
    tokens, _ = city
    now = clock.now()
    same = str(uuid.uuid4())
    rows = [
        row(),
        row(client_id="not-a-uuid"),
        row(venue_ref="V-NOWHERE"),
        row(venue_ref="V-GANGDU"),
        row(person_ref="nobody"),
        row(checked_in_at=(now + dt.timedelta(minutes=30)).isoformat()),
        row(checked_in_at=(now - dt.timedelta(days=29)).isoformat()),
        row(checked_in_at=now.replace(tzinfo=None).isoformat()),
        row(checked_out_at=(now - dt.timedelta(hours=3)).isoformat()),
        row(client_id=same, person_ref="li-qiang"),
        row(client_id=same, person_ref="zhang-wei"),
        row(
            checked_in_at=(now - dt.timedelta(hours=26)).isoformat(),
            checked_out_at=(now - dt.timedelta(hours=1)).isoformat(),
        ),
    ]
    result = client.post("/api/checkins/batch", json={"rows": rows}, headers=bearer(tokens["op1"])).json()
    assert [(r["index"], r["reason"]) for r in result["rejected"]] == [
        (1, "client_id is not a UUID; give every row its own UUID"),
        (2, "no venue V-NOWHERE of yours"),
        (3, "no venue V-GANGDU of yours"),
        (4, "unknown person nobody"),
        (5, "checked_in_at is in the future; check the scanner's clock"),
        (6, "checked_in_at is older than the retention period of 28 days"),
        (7, "checked_in_at has no UTC offset; write it like 2022-03-20T14:05:00+08:00"),
        (8, "checked_out_at is before checked_in_at"),
        (10, "client_id repeats an earlier row of this batch"),
        (11, "checked_out_at is more than 24 hours after checked_in_at; check the scanner's clock"),
    ]
    assert (result["accepted"], result["duplicates"]) == (2, 0)
    assert count(runtime) == 2


def test_a_resent_batch_creates_nothing_twice(client: TestClient, city: tuple, runtime: Runtime) -> None:
    tokens, _ = city
    rows = [row(), row(person_ref="li-qiang")]
    first = client.post("/api/checkins/batch", json={"rows": rows}, headers=bearer(tokens["op1"])).json()
    again = client.post("/api/checkins/batch", json={"rows": rows}, headers=bearer(tokens["op1"])).json()
    assert (first["accepted"], first["duplicates"]) == (2, 0)
    assert (again["accepted"], again["duplicates"]) == (0, 2)
    # Another scanner reporting the same person, venue and moment under its own id is the same check-in.
    other = [{**rows[0], "client_id": str(uuid.uuid4())}]
    assert (
        client.post("/api/checkins/batch", json={"rows": other}, headers=bearer(tokens["op1"])).json()["duplicates"]
        == 1
    )
    assert count(runtime) == 2


def test_a_batch_s_rejections_come_in_the_scanner_s_language(client: TestClient, city: tuple) -> None:
    tokens, _ = city
    rows = [row(venue_ref="V-NOWHERE"), row(client_id="not-a-uuid"), row()]
    headers = {**bearer(tokens["op1"]), "accept-language": "zh-CN"}
    result = client.post("/api/checkins/batch", json={"rows": rows}, headers=headers).json()
    assert [(r["index"], r["reason"]) for r in result["rejected"]] == [
        (0, "您名下没有场所 V-NOWHERE"),
        (1, "client_id 不是 UUID，请为每一行生成各自的 UUID"),
    ]
    assert result["accepted"] == 1


def test_only_operators_may_upload_batches_for_their_venues(client: TestClient, city: tuple) -> None:
    tokens, _ = city
    result = client.post("/api/checkins/batch", json={"rows": [row()]}, headers=bearer(tokens["gw"])).json()
    assert result["rejected"][0]["reason"] == "no venue V-LONGSHAN of yours"
    assert client.post("/api/checkins/batch", json={"rows": [row()]}).status_code == 401


def test_the_csv_import_rejects_each_bad_row_and_is_idempotent(db: Session, keys: Keyring) -> None:
    build_venues(db, keys)
    now = clock.now().astimezone(dt.timezone(dt.timedelta(hours=8))).replace(microsecond=0)
    t = (now - dt.timedelta(hours=5)).isoformat()
    out = (now - dt.timedelta(hours=4)).isoformat()
    text = (
        "person_ref,venue_ref,checked_in_at,checked_out_at\n"
        f"wang-fang,V-LONGSHAN,{t},{out}\n"  # 2 good
        f"li-qiang,V-LONGSHAN,{t},\n"  # 3 good, no check-out
        f"nobody,V-LONGSHAN,{t},\n"  # 4
        f"wang-fang,V-NOWHERE,{t},\n"  # 5
        "wang-fang,V-LONGSHAN,yesterday,\n"  # 6
        f"wang-fang,V-LONGSHAN,{t[:19]},\n"  # 7 no offset
        f"wang-fang,V-LONGSHAN,{(now + dt.timedelta(hours=1)).isoformat()},\n"  # 8
        f"wang-fang,V-LONGSHAN,{(now - dt.timedelta(days=30)).isoformat()},\n"  # 9
        f"zhang-wei,V-LONGSHAN,{out},{t}\n"  # 10
        f"wang-fang,V-LONGSHAN,{t},{out}\n"  # 11 same as line 2
        f"li-qiang,V-LONGSHAN,{(now - dt.timedelta(hours=27)).isoformat()},{out}\n"  # 12 a 23-hour stay: fine
        f"li-qiang,V-LONGSHAN,{(now - dt.timedelta(hours=29)).isoformat()},{out}\n"  # 13 a 25-hour stay
    )
    report = import_checkins(db, rows=csv_rows(text, required=CHECKIN_COLUMNS), limits=LIMITS, batch_size=4)
    reasons = [str(e) for e in report.errors]
    assert reasons[:4] == [
        "line 4: unknown person nobody",
        "line 5: unknown venue V-NOWHERE",
        "line 6: checked_in_at 'yesterday' is not an ISO 8601 time like 2022-03-20T14:05:00+08:00",
        f"line 7: checked_in_at '{t[:19]}' has no UTC offset; write it like 2022-03-20T14:05:00+08:00",
    ]
    assert reasons[4:8] == [
        "line 8: checked_in_at is in the future; check the scanner's clock",
        "line 9: checked_in_at is older than the retention period of 28 days",
        "line 10: checked_out_at is before checked_in_at",
        "line 13: checked_out_at is more than 24 hours after checked_in_at; check the scanner's clock",
    ]
    # Line 11 repeats line 2 in another batch: it is the same check-in, already stored, so nothing changes.
    assert report.summary() == "imported 3, updated 0, rejected 8"
    assert report.unchanged == 1
    again = import_checkins(db, rows=csv_rows(text, required=CHECKIN_COLUMNS), limits=LIMITS)
    assert again.summary() == "imported 0, updated 0, rejected 9"  # line 11 now repeats line 2 in the same batch
    later = text.replace(f"li-qiang,V-LONGSHAN,{t},\n", f"li-qiang,V-LONGSHAN,{t},{out}\n")
    updated = import_checkins(db, rows=csv_rows(later, required=CHECKIN_COLUMNS), limits=LIMITS)
    assert (updated.imported, updated.updated) == (0, 1)


def test_a_resident_scans_a_poster_and_checks_in_with_one_tap(
    client: TestClient, city: tuple, runtime: Runtime
) -> None:
    _, posters = city
    browser = {"accept": "text/html"}
    anonymous = client.get(f"/v/{posters['shop']}", headers=browser)
    assert "龙山超市" in anonymous.text
    assert "deleted after 28 days" in anonymous.text
    assert "/login?next=/v/" in anonymous.text
    login = client.get("/login", headers=browser)
    client.post("/login", data={"username": "wang", "password": PASSWORD, "csrf_token": csrf(login.text)},
                headers=browser, follow_redirects=False)  # fmt: skip
    page = client.get(f"/v/{posters['shop']}", headers=browser)
    done = client.post(f"/v/{posters['shop']}", data={"csrf_token": csrf(page.text)}, headers=browser)
    assert done.status_code == 200
    assert done.url.path.startswith("/checkins/")  # post/redirect/get
    assert client.get(done.url.path, headers=browser).status_code == 200  # reloading adds nothing
    assert 'data-testid="checked-in"' in done.text
    assert ">wang<" in done.text  # the account's display name, for the door staff
    assert count(runtime) == 1
    forged = client.post(f"/v/{posters['shop']}", data={"csrf_token": "forged"}, headers=browser)
    assert forged.status_code == 403
    assert count(runtime) == 1
