"""At the door a code has one spelling: the same code re-spelled (standard base64 alphabet, padding, characters
inserted) is refused with exactly the answer an altered code gets, and the code as issued still enters."""

import datetime as dt
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from fangkong.app import create_app
from fangkong.core import clock
from fangkong.core.crypto import Keyring
from fangkong.core.runtime import Runtime

from ..support.venues import door_city
from ..support.web import bearer

NOW = dt.datetime(2022, 3, 21, 2, 0, tzinfo=dt.UTC)


@pytest.fixture
def tokens(runtime: Runtime, keys: Keyring) -> Iterator[dict[str, str]]:
    found = door_city(runtime, keys)
    with clock.frozen_at(NOW):
        yield found


@pytest.fixture
def client(runtime: Runtime) -> Iterator[TestClient]:
    with TestClient(create_app(runtime), headers={"accept-language": "en"}) as c:
        yield c


def code_with_a_url_safe_letter(client: TestClient, tokens: dict) -> str:
    """王芳's live code, issued in the last two minutes, spelled with '-' or '_' (which the standard alphabet
    spells '+' and '/')."""
    for seconds in range(120):
        with clock.frozen_at(NOW - dt.timedelta(seconds=seconds)):
            code = str(client.get("/api/healthcode/me", headers=bearer(tokens["wang"])).json()["token"])
        if "-" in code or "_" in code:
            return code
    raise AssertionError("no code with '-' or '_' in 120 issues")


def at_door(client: TestClient, tokens: dict, code: str) -> tuple[int, dict]:
    response = client.post("/api/healthcode/verify", json={"token": code, "venue_ref": "V-LONGSHAN"},
                           headers=bearer(tokens["op1"]))  # fmt: skip
    return response.status_code, response.json()


RESPELLINGS = {
    "standard alphabet": lambda code: code.replace("-", "+").replace("_", "/"),
    "padding": lambda code: code + "=",
    "a dot inside": lambda code: code[:60] + "." + code[60:],
    "a space inside": lambda code: code[:30] + " " + code[30:],
    "a space after it": lambda code: code + " ",
}


@pytest.mark.parametrize("respelling", list(RESPELLINGS))
def test_a_respelled_code_is_refused_at_the_door_as_an_altered_one(
    client: TestClient, tokens: dict, respelling: str
) -> None:
    code = code_with_a_url_safe_letter(client, tokens)
    altered = code[:40] + ("A" if code[40] != "A" else "B") + code[41:]
    refused = at_door(client, tokens, altered)
    assert refused[0] == 422
    assert "altered or made up" in refused[1]["error"]["message"]
    assert at_door(client, tokens, RESPELLINGS[respelling](code)) == refused
    status, allowed = at_door(client, tokens, code)
    assert (status, allowed["entry"]) == (200, "allow")
