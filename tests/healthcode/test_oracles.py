"""Appeals are found by id only within one's regions: an investigator of another region, and a correction naming
a test result that is not the appellant's, get the answer of an id never used."""

import datetime as dt
from collections.abc import Iterator

import httpx
import pytest
from fastapi.testclient import TestClient

from fangkong.app import create_app
from fangkong.core import clock
from fangkong.core.crypto import Keyring
from fangkong.core.runtime import Runtime

from ..support.factories import add_account, city_with_tokens, tokens_for
from ..support.personas import CHEN, HE, WANG, ZHOU
from ..support.web import as_

NOW = dt.datetime(2022, 3, 21, 2, 0, tzinfo=dt.UTC)
NEVER_USED = 2_000_000_000


@pytest.fixture
def tokens(runtime: Runtime, keys: Keyring) -> Iterator[dict[str, str]]:
    found = city_with_tokens(runtime, keys)
    with runtime.database.unit_of_work() as db:
        add_account(db, ZHOU)
        found |= tokens_for(db, ZHOU)
    with clock.frozen_at(NOW):
        yield found


@pytest.fixture
def client(runtime: Runtime) -> Iterator[TestClient]:
    with TestClient(create_app(runtime), headers={"accept-language": "en"}) as c:
        yield c


def positive(client: TestClient, tokens: dict, ref: str) -> int:
    body = {"person_ref": ref, "sampled_at": "2022-03-20T08:00:00+08:00", "result": "positive"}
    return int(client.post("/api/tests", json=body, headers=as_(tokens, HE)).json()["id"])


def decide(client: TestClient, headers: dict, appeal_id: int, **correction: int) -> httpx.Response:
    body = {"outcome": "corrected" if correction else "upheld", "reason": "checked the lab's records", **correction}
    return client.post(f"/api/healthcode/appeals/{appeal_id}/decision", json=body, headers=headers)


def without(response: httpx.Response, number: int) -> tuple[int, str]:
    return response.status_code, response.text.replace(str(number), "<id>")


def test_another_regions_appeal_answers_as_one_never_filed(client: TestClient, tokens: dict) -> None:
    positive(client, tokens, "wang-fang")
    appeal_id = client.post("/api/healthcode/appeals", json={"statement": "never tested"},
                            headers=as_(tokens, WANG)).json()["id"]  # fmt: skip
    theirs = decide(client, as_(tokens, ZHOU), appeal_id)  # 王芳 lives in 站前区, not 周's 大石桥市
    assert theirs.status_code == 404
    assert without(theirs, appeal_id) == without(decide(client, as_(tokens, ZHOU), NEVER_USED), NEVER_USED)


def test_a_correction_naming_someone_elses_result_answers_as_for_no_result(client: TestClient, tokens: dict) -> None:
    positive(client, tokens, "wang-fang")
    zhang_weis = positive(client, tokens, "zhang-wei")  # outside 陈's regions
    appeal_id = client.post("/api/healthcode/appeals", json={"statement": "never tested"},
                            headers=as_(tokens, WANG)).json()["id"]  # fmt: skip
    other = decide(client, as_(tokens, CHEN), appeal_id, withdraw_result_id=zhang_weis)
    assert other.status_code == 422
    assert without(other, zhang_weis) == without(
        decide(client, as_(tokens, CHEN), appeal_id, withdraw_result_id=NEVER_USED), NEVER_USED
    )
