"""The edge (web/edge.py): body limits, security headers, TRACE; and the proxy settings of `fangkong serve`."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from fangkong.app import create_app
from fangkong.cli import proxy_options
from fangkong.core.crypto import Keyring
from fangkong.core.runtime import Runtime

from ..support.personas import PASSWORD
from ..support.venues import venue_city
from ..support.web import BROWSER, bearer, csrf

SMALL = 16 * 1024
DEFAULT = 1024 * 1024


@pytest.fixture
def client(runtime: Runtime) -> Iterator[TestClient]:
    with TestClient(create_app(runtime), headers={"accept-language": "en"}) as c:
        yield c


@pytest.fixture
def city(runtime: Runtime, keys: Keyring) -> tuple[dict[str, str], dict[str, str]]:
    return venue_city(runtime, keys)


def chunks(size: int) -> Iterator[bytes]:
    """A body sent without Content-Length (chunked)."""
    for _ in range(size // 4096 + 1):
        yield b" " * 4096


def assert_too_large(response: object) -> None:
    assert response.status_code == 413, response.text  # type: ignore[attr-defined]
    assert response.json()["error"]["code"] == "too_large"  # type: ignore[attr-defined]


def test_a_verification_body_over_the_small_limit_is_refused_before_it_is_read(client: TestClient) -> None:
    headers = {"content-type": "application/json", "authorization": "Bearer x"}
    assert_too_large(client.post("/api/healthcode/verify", content=b" " * (SMALL + 1), headers=headers))
    assert_too_large(client.post("/api/healthcode/verify", content=chunks(SMALL + 1), headers=headers))
    # Unauthenticated too: refused for its size before the 401.
    assert_too_large(client.post("/api/healthcode/verify", content=b" " * (SMALL + 1)))


def test_a_check_in_body_over_the_small_limit_is_refused(client: TestClient) -> None:
    headers = {"content-type": "application/json", "authorization": "Bearer x"}
    assert_too_large(client.post("/api/checkins", content=b" " * (SMALL + 1), headers=headers))
    assert_too_large(client.post("/api/checkins", content=chunks(SMALL + 1), headers=headers))


def test_a_batch_may_be_larger_but_not_from_a_caller_without_credentials(client: TestClient) -> None:
    body = b'{"rows": []' + b" " * (SMALL * 2) + b"}"
    assert client.post("/api/checkins/batch", content=body).status_code == 401
    answer = client.post("/api/checkins/batch", content=body, headers={"content-type": "application/json",
                                                                       **bearer("nobody")})  # fmt: skip
    assert answer.status_code == 401  # read, then refused by the route's own authentication
    assert_too_large(client.post("/api/checkins/batch", content=b" " * (4 * DEFAULT + 1), headers=bearer("x")))


def test_a_page_form_over_the_default_limit_is_refused(client: TestClient) -> None:
    form = {"content-type": "application/x-www-form-urlencoded"}
    assert_too_large(client.post("/login", content=b"a" * (DEFAULT + 1), headers=form))
    too_large = client.post("/login", content=chunks(DEFAULT + 1), headers={**form, **BROWSER})
    assert too_large.status_code == 413  # a browser gets the error page


def test_a_normal_request_passes_and_a_verification_of_normal_size_gets_its_answer(client: TestClient) -> None:
    response = client.post("/api/healthcode/verify", json={"token": "x", "venue_ref": "V"}, headers=bearer("nope"))
    assert response.status_code == 401  # through the edge to the route's authentication
    assert client.get("/login").status_code == 200


SECURITY = {"x-frame-options": "DENY", "x-content-type-options": "nosniff", "referrer-policy": "same-origin"}


def assert_secured(response: object) -> None:
    headers = response.headers  # type: ignore[attr-defined]
    for name, value in SECURITY.items():
        assert headers[name] == value
    policy = headers["content-security-policy"]
    assert "default-src 'self'" in policy
    assert "frame-ancestors 'none'" in policy
    assert "'unsafe-inline'" not in policy.replace("style-src-attr 'unsafe-inline'", "")
    assert "strict-transport-security" not in headers  # plain http


def test_pages_and_api_answers_carry_the_security_headers_and_no_store(client: TestClient, city: tuple) -> None:
    tokens, posters = city
    for response in (
        client.get("/login", headers=BROWSER),
        client.get(f"/v/{posters['shop']}", headers=BROWSER),  # the one-tap check-in: no framing
        client.get("/api/people/wang-fang", headers=bearer(tokens["gw"])),
        client.get("/api/ping"),
        client.get("/no/such/page", headers=BROWSER),
    ):
        assert_secured(response)
        assert response.headers["cache-control"] == "no-store"


def test_a_signed_in_person_s_pages_are_not_stored(client: TestClient, city: tuple) -> None:
    login = client.get("/login", headers=BROWSER)
    client.post("/login", data={"username": "wang", "password": PASSWORD, "csrf_token": csrf(login.text)},
                headers=BROWSER)  # fmt: skip
    for path in ("/", "/me", "/code"):
        response = client.get(path, headers=BROWSER)
        assert_secured(response)
        assert response.headers["cache-control"] == "no-store", path


def test_static_files_keep_their_own_caching(client: TestClient) -> None:
    response = client.get("/static/css/app.css?v=1")
    assert response.headers["cache-control"] == "public, max-age=31536000, immutable"
    assert response.headers["x-content-type-options"] == "nosniff"


def test_hsts_only_over_https(runtime: Runtime) -> None:
    with TestClient(create_app(runtime), base_url="https://testserver") as secure:
        assert secure.get("/api/ping").headers["strict-transport-security"].startswith("max-age=")


def test_trace_is_refused_with_405_and_allow(client: TestClient) -> None:
    for path in ("/", "/api/ping", "/no/such/thing"):
        response = client.request("TRACE", path)
        assert response.status_code == 405
        assert "GET" in response.headers["allow"]
        assert "TRACE" not in response.headers["allow"]


def test_serve_believes_forwarded_headers_only_from_configured_proxies() -> None:
    assert proxy_options("") == {"proxy_headers": False}
    assert proxy_options("10.0.0.5") == {"proxy_headers": True, "forwarded_allow_ips": "10.0.0.5"}
