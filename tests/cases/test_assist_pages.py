"""The assistance requests (协查) on the pages: 陈 names 张伟 (大石桥市) on 王芳's case page and sees only the request
and, later, its decision; 周 finds it in his inbox, linked from his home page, with how long it has waited, and
confirms it. The scene is in support/cases.py."""

import datetime as dt
import re
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from fangkong.app import create_app
from fangkong.cases.models import AssistRequest
from fangkong.core import clock
from fangkong.core.crypto import Keyring
from fangkong.core.runtime import Runtime

from ..support.cases import BJ, outbreak
from ..support.personas import CHEN, ZHANG_WEI, ZHOU
from ..support.web import BROWSER, csrf, log_in
from .test_pages import new_case

FILED = dt.datetime(2022, 3, 21, 9, 0, tzinfo=BJ)


@pytest.fixture
def client(runtime: Runtime, keys: Keyring) -> Iterator[TestClient]:
    outbreak(runtime, keys)
    with TestClient(create_app(runtime), headers=BROWSER, follow_redirects=False) as c:
        yield c


def name_on_the_case_page(client: TestClient, case_id: int, **who: str) -> int:
    page = client.get(f"/cases/{case_id}").text
    form = {"person_ref": "", "id_number": "", "tier": "close", "note": "同桌吃饭两小时", "venue": "老边饺子馆",
            "start": "2022-03-19T18:00", "end": "2022-03-19T20:00", "csrf_token": csrf(page)} | who  # fmt: skip
    with clock.frozen_at(FILED):
        response = client.post(f"/cases/{case_id}/contacts", data=form)
    assert response.status_code == 303, response.text
    match = re.fullmatch(rf"/cases/{case_id}#assist-(\d+)", response.headers["location"])
    assert match, response.headers["location"]
    return int(match.group(1))


def sent_row(html: str, request_id: int) -> str:
    match = re.search(rf'<tr id="assist-{request_id}".*?</tr>', html, re.S)
    assert match, f"no row of request {request_id}"
    return match.group(0)


def test_naming_someone_elsewhere_on_the_case_page_shows_the_request_not_the_person(client: TestClient) -> None:
    log_in(client, CHEN)
    case_id = new_case(client)
    by_ref = name_on_the_case_page(client, case_id, person_ref=ZHANG_WEI.ref)
    by_number = name_on_the_case_page(client, case_id, id_number=ZHANG_WEI.id_number)
    nobody = name_on_the_case_page(client, case_id, person_ref="P9999999")
    page = client.get(f"/cases/{case_id}").text
    assert ZHANG_WEI.name not in page
    assert ZHANG_WEI.id_number not in page
    for request_id in (by_ref, by_number, nobody):
        row = sent_row(page, request_id)
        assert "Waiting" in row
    assert "ID number 210882********0035" in sent_row(page, by_number)


def test_the_receiving_investigator_finds_the_inbox_at_home_and_answers_it(
    client: TestClient, runtime: Runtime
) -> None:
    log_in(client, CHEN)
    case_id = new_case(client)
    request_id = name_on_the_case_page(client, case_id, person_ref=ZHANG_WEI.ref)
    log_in(client, ZHOU)
    assert 'href="/assist"' in client.get("/").text
    with clock.frozen_at(FILED + dt.timedelta(days=1, hours=3, minutes=20)):
        inbox = client.get("/assist").text
    item = re.search(rf'<li class="assist" id="assist-{request_id}".*?</li>', inbox, re.S)
    assert item
    for shown in ("张伟", ZHANG_WEI.ref, "1 d 3 h", "同桌吃饭两小时", "老边饺子馆", "Case #"):
        assert shown in item.group(0)
    refused = client.post(f"/assist/{request_id}/decision", data={"decision": "dismiss", "csrf_token": csrf(inbox)})
    assert refused.status_code == 422
    assert "give a reason for dismissing a request" in refused.text
    done = client.post(f"/assist/{request_id}/decision", data={"decision": "close", "csrf_token": csrf(inbox)})
    assert done.status_code == 303
    assert "No assistance request of your regions here." in client.get("/assist").text
    assert "张伟" in client.get("/assist", params={"status": "confirmed"}).text
    with runtime.database.unit_of_work() as db:
        assert db.execute(select(AssistRequest.status)).scalar_one().value == "confirmed"
    log_in(client, CHEN)
    row = sent_row(client.get(f"/cases/{case_id}").text, request_id)
    assert "Confirmed: Close contact" in row
    assert "大石桥市" in row
    assert "张伟" not in client.get(f"/cases/{case_id}").text
    assert client.get("/assist").status_code == 200  # his own inbox: empty
    assert "张伟" not in client.get("/assist", params={"status": "confirmed"}).text
