"""Appeals: a resident files one, an investigator of their region upholds it or corrects the wrong fact, which
recomputes the code; the resident reads the outcome and the reason."""

import datetime as dt
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from fangkong.app import create_app
from fangkong.core import clock
from fangkong.core.crypto import Keyring
from fangkong.core.runtime import Runtime

from ..support.factories import city_with_tokens
from ..support.web import bearer

NOW = dt.datetime(2022, 3, 21, 2, 0, tzinfo=dt.UTC)


@pytest.fixture
def tokens(runtime: Runtime, keys: Keyring) -> Iterator[dict[str, str]]:
    found = city_with_tokens(runtime, keys)
    with clock.frozen_at(NOW):
        yield found


@pytest.fixture
def client(runtime: Runtime) -> Iterator[TestClient]:
    with TestClient(create_app(runtime), headers={"accept-language": "en"}) as c:
        yield c


def positive_for_wang(client: TestClient, tokens: dict) -> int:
    body = {"person_ref": "wang-fang", "sampled_at": "2022-03-20T08:00:00+08:00", "result": "positive"}
    response = client.post("/api/tests", json=body, headers=bearer(tokens["lab"]))
    assert response.status_code == 201, response.text
    return int(response.json()["id"])


def color(client: TestClient, tokens: dict) -> str:
    return str(client.get("/api/healthcode/me", headers=bearer(tokens["wang"])).json()["color"])


def test_an_appeal_goes_from_filing_to_a_correction_that_turns_the_code_green(client: TestClient, tokens: dict) -> None:
    result_id = positive_for_wang(client, tokens)
    assert color(client, tokens) == "red"
    filed = client.post("/api/healthcode/appeals", json={"statement": "I was never tested that day"},
                        headers=bearer(tokens["wang"]))  # fmt: skip
    assert (filed.status_code, filed.json()["color_when_filed"], filed.json()["status"]) == (201, "red", "open")
    reasons = client.get("/api/healthcode/me", headers=bearer(tokens["wang"])).json()["reasons"]
    assert reasons[-1]["code"] == "appeal_open"  # a note: the color stands until the decision
    again = client.post("/api/healthcode/appeals", json={"statement": "again"}, headers=bearer(tokens["wang"]))
    assert again.status_code == 409
    queue = client.get("/api/healthcode/appeals", headers=bearer(tokens["inv"])).json()
    assert [a["id"] for a in queue] == [filed.json()["id"]]
    decision = {
        "outcome": "corrected",
        "reason": "the tube was 李强's; swapped labels",
        "withdraw_result_id": result_id,
    }
    decided = client.post(f"/api/healthcode/appeals/{filed.json()['id']}/decision", json=decision,
                          headers=bearer(tokens["inv"]))  # fmt: skip
    assert decided.status_code == 200, decided.text
    assert color(client, tokens) == "green"
    mine = client.get("/api/healthcode/appeals", headers=bearer(tokens["wang"])).json()
    assert (mine[0]["status"], mine[0]["decision"], mine[0]["decided_by"]) == (
        "corrected", "the tube was 李强's; swapped labels", "inv"
    )  # fmt: skip
    history = client.get("/api/healthcode/people/wang-fang/history", headers=bearer(tokens["inv"])).json()
    appeal_id = filed.json()["id"]
    assert [(c["cause_kind"], c["cause_params"]) for c in history] == [
        ("testing.result_entered", {"result": result_id}),
        ("healthcode.appeal_filed", {"appeal": appeal_id}),  # the note that an appeal is open
        ("testing.result_withdrawn", {"result": result_id}),
        ("healthcode.appeal_corrected", {"appeal": appeal_id}),
    ]
    assert history[-1]["cause"] == f"appeal #{appeal_id}: a wrong fact corrected"
    chinese = client.get("/api/healthcode/people/wang-fang/history",
                         headers={**bearer(tokens["inv"]), "accept-language": "zh-CN"}).json()  # fmt: skip
    assert chinese[0]["cause"] == f"录入检测结果 #{result_id}"


def test_an_upheld_appeal_keeps_the_color_and_says_why(client: TestClient, tokens: dict) -> None:
    positive_for_wang(client, tokens)
    appeal = client.post("/api/healthcode/appeals", json={"statement": "feel fine"}, headers=bearer(tokens["wang"]))
    url = f"/api/healthcode/appeals/{appeal.json()['id']}/decision"
    no_reason = client.post(url, json={"outcome": "upheld", "reason": " "}, headers=bearer(tokens["inv"]))
    assert no_reason.status_code == 422
    no_fact = client.post(url, json={"outcome": "corrected", "reason": "x"}, headers=bearer(tokens["inv"]))
    assert "names the one wrong fact" in no_fact.json()["error"]["message"]
    upheld = client.post(url, json={"outcome": "upheld", "reason": "lab confirmed the positive twice"},
                         headers=bearer(tokens["inv"]))  # fmt: skip
    assert upheld.json()["status"] == "upheld"
    assert color(client, tokens) == "red"
    assert (
        client.post(url, json={"outcome": "upheld", "reason": "again"}, headers=bearer(tokens["inv"])).status_code
        == 409
    )


def test_only_investigators_of_the_residents_region_review(client: TestClient, tokens: dict) -> None:
    appeal = client.post("/api/healthcode/appeals", json={"statement": "why yellow?"}, headers=bearer(tokens["wang"]))
    url = f"/api/healthcode/appeals/{appeal.json()['id']}/decision"
    body = {"outcome": "upheld", "reason": "no"}
    assert client.post(url, json=body, headers=bearer(tokens["gw"])).status_code == 403
    assert client.post(url, json=body, headers=bearer(tokens["cmd"])).status_code == 403
    assert (
        client.post("/api/healthcode/appeals", json={"statement": "x"}, headers=bearer(tokens["inv"])).status_code
        == 403
    )
