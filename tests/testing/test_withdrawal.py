"""Withdrawing a wrong result: a lab enters results for anyone in the city but withdraws only what its own account
entered; another lab's result is as absent as an id never used. Investigators keep withdrawing the results of
their regions' people, the system's operator any."""

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from fangkong.app import create_app
from fangkong.core.crypto import Keyring
from fangkong.core.runtime import Runtime

from ..support.factories import add_account, city_with_tokens, tokens_for
from ..support.personas import CHEN, HE, XU, ZHOU
from ..support.web import bearer, run

SAMPLED = "2022-03-20T08:30:00+08:00"
NEVER_USED = 2_000_000_000


@pytest.fixture
def tokens(runtime: Runtime, keys: Keyring) -> dict[str, str]:
    """The city's tokens, with a second lab (许) and the investigator of 大石桥市 (周)."""
    found = city_with_tokens(runtime, keys)
    with runtime.database.unit_of_work() as db:
        add_account(db, XU)
        add_account(db, ZHOU)
        return found | tokens_for(db, XU, ZHOU)


@pytest.fixture
def client(runtime: Runtime) -> Iterator[TestClient]:
    with TestClient(create_app(runtime), headers={"accept-language": "en"}) as c:
        yield c


def entered(client: TestClient, token: str, person_ref: str = "wang-fang") -> int:
    body = {"person_ref": person_ref, "sampled_at": SAMPLED, "result": "positive", "lab": "营口市疾控中心"}
    made = client.post("/api/tests", json=body, headers=bearer(token))
    assert made.status_code == 201, made.text
    return int(made.json()["id"])


def withdraw(client: TestClient, token: str, result_id: int) -> tuple[int, dict]:
    answer = client.post(f"/api/tests/{result_id}/withdraw", json={"reason": "tube mix-up"}, headers=bearer(token))
    return answer.status_code, answer.json()


def absent(result_id: int) -> tuple[int, dict]:
    """The answer for a result that does not exist."""
    return 404, {"error": {"code": "not_found", "message": f"no test result {result_id}"}}


def test_a_lab_may_not_withdraw_another_labs_result(client: TestClient, tokens: dict) -> None:
    result_id = entered(client, tokens[HE.username])
    assert withdraw(client, tokens[XU.username], result_id) == absent(result_id)
    assert withdraw(client, tokens[XU.username], NEVER_USED) == absent(NEVER_USED)
    assert withdraw(client, tokens[HE.username], result_id)[0] == 201  # still there, for its own lab


def test_another_labs_withdrawn_result_is_absent_not_already_withdrawn(client: TestClient, tokens: dict) -> None:
    result_id = entered(client, tokens[HE.username])
    assert withdraw(client, tokens[HE.username], result_id)[0] == 201
    assert withdraw(client, tokens[HE.username], result_id)[0] == 409  # its own lab learns it is withdrawn
    assert withdraw(client, tokens[XU.username], result_id) == absent(result_id)


def test_a_lab_enters_results_for_anyone_and_withdraws_its_own(client: TestClient, tokens: dict) -> None:
    # 张伟 lives in 大石桥市; the lab serves the whole city.
    result_id = entered(client, tokens[XU.username], person_ref="zhang-wei")
    status, withdrawal = withdraw(client, tokens[XU.username], result_id)
    assert (status, withdrawal["withdraws_id"], withdrawal["person_ref"]) == (201, result_id, "zhang-wei")


def test_investigators_withdraw_any_lab_result_of_their_regions_only(client: TestClient, tokens: dict) -> None:
    in_zhanqian = entered(client, tokens[HE.username], person_ref="wang-fang")
    # 周 (大石桥市) does not see 王芳: her result is absent to him; 陈 (站前区) withdraws it though 何 entered it.
    assert withdraw(client, tokens[ZHOU.username], in_zhanqian) == absent(in_zhanqian)
    assert withdraw(client, tokens[CHEN.username], in_zhanqian)[0] == 201


def test_a_result_entered_by_the_systems_operator_is_no_labs(runtime: Runtime, cli: CliRunner, tokens: dict) -> None:
    made = run(cli, "test", "add", "--person", "wang-fang", "--sampled", SAMPLED, "--result", "positive")
    result_id = int(made.stdout)
    refused = run(cli, "test", "withdraw", str(result_id), "--reason", "tube mix-up", "--as", HE.username)
    assert (refused.exit_code, f"no test result {result_id}" in refused.output) == (1, True)
    done = run(cli, "test", "withdraw", str(result_id), "--reason", "tube mix-up")
    assert done.exit_code == 0, done.output
    assert int(done.stdout) > result_id


def test_the_cli_withdraws_as_the_lab_that_entered_it(cli: CliRunner, tokens: dict) -> None:
    made = run(cli, "test", "add", "--person", "li-qiang", "--sampled", SAMPLED, "--result", "positive",
               "--as", XU.username)  # fmt: skip
    result_id = int(made.stdout)
    other = run(cli, "test", "withdraw", str(result_id), "--reason", "tube mix-up", "--as", HE.username)
    assert (other.exit_code, f"no test result {result_id}" in other.output) == (1, True)
    own = run(cli, "test", "withdraw", str(result_id), "--reason", "tube mix-up", "--as", XU.username)
    assert own.exit_code == 0, own.output
    too_large = run(cli, "test", "withdraw", str(2**63), "--reason", "x", "--as", XU.username)
    assert too_large.exit_code == 2
