"""The web shell over HTTP: the language switch, error pages for browsers, static files, rendering."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi import Request
from fastapi.responses import HTMLResponse
from fastapi.testclient import TestClient

from fangkong.app import create_app
from fangkong.core.runtime import Runtime
from fangkong.web.errors import prefers_html
from fangkong.web.pages import safe_local_path
from fangkong.web.templating import render, static_url

BROWSER_ACCEPT = "text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,*/*;q=0.8"


@pytest.fixture
def client(runtime: Runtime) -> Iterator[TestClient]:
    app = create_app(runtime)

    @app.get("/_test/boom", include_in_schema=False)
    def boom() -> None:
        raise RuntimeError("kaboom")

    @app.get("/api/_test/boom", include_in_schema=False)
    def api_boom() -> None:
        raise RuntimeError("kaboom")

    @app.get("/_test/render", include_in_schema=False)
    def rendered(request: Request) -> HTMLResponse:
        return render(request, "error.html", {"status_code": 418, "title": "Log out", "explanation": "x"}, 418)

    with TestClient(app, raise_server_exceptions=False) as c:
        yield c


def test_it_remembers_the_chosen_language_for_a_year_and_goes_back(client: TestClient) -> None:
    response = client.get("/lang/en", params={"next": "/people?page=2"}, follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"] == "/people?page=2"
    cookie = response.headers["set-cookie"].lower()
    assert cookie.startswith("lang=en;")
    for part in ("max-age=31536000", "path=/", "samesite=lax", "httponly"):
        assert part in cookie


def test_it_goes_back_to_the_referring_page_of_this_site(client: TestClient) -> None:
    here = client.get("/lang/zh", headers={"referer": "http://testserver/a/b?c=1"}, follow_redirects=False)
    assert here.headers["location"] == "/a/b?c=1"
    elsewhere = client.get("/lang/zh", headers={"referer": "https://evil.example/a"}, follow_redirects=False)
    assert elsewhere.headers["location"] == "/"
    assert client.get("/lang/zh", follow_redirects=False).headers["location"] == "/"


@pytest.mark.parametrize(
    "target",
    [
        "https://evil.example/",
        "//evil.example/",
        "/\\evil.example",
        "\\\\evil.example",
        "/\t/evil.example",
        "/\n/evil.example",
        "javascript:alert(1)",
        "evil.example",
        "",
        "///evil.example",
    ],
)
def test_it_never_redirects_off_the_site(client: TestClient, target: str) -> None:
    response = client.get("/lang/en", params={"next": target}, follow_redirects=False)
    if any(c in target for c in "\t\n"):  # a control character in a query string is refused (core/inputs.py)
        assert response.status_code == 422
        assert "location" not in response.headers
        return
    assert response.status_code == 303
    assert response.headers["location"] == "/"


def test_it_accepts_only_local_paths_as_return_targets() -> None:
    assert safe_local_path("/a/b?x=1#frag") == "/a/b?x=1"
    assert safe_local_path("/") == "/"
    assert safe_local_path("/lang/en") is None  # the switch itself would loop
    assert safe_local_path("/a\x7fb") is None
    assert safe_local_path("/\t/evil.example") is None  # browsers drop the tab and see //evil.example
    assert safe_local_path("///evil.example") is None


def test_it_answers_404_for_an_unknown_language(client: TestClient) -> None:
    response = client.get("/lang/fr", follow_redirects=False)
    assert response.status_code == 404
    assert "set-cookie" not in response.headers


def test_it_shows_a_browser_a_translated_404_page(client: TestClient) -> None:
    zh = client.get("/nowhere", headers={"accept": BROWSER_ACCEPT, "accept-language": "zh-CN"})
    assert zh.status_code == 404
    assert zh.headers["content-type"].startswith("text/html")
    assert "页面不存在" in zh.text
    assert '<html lang="zh-CN">' in zh.text
    en = client.get("/nowhere", headers={"accept": BROWSER_ACCEPT, "cookie": "lang=en"})
    assert "Page not found" in en.text
    assert '<a class="button button--primary" href="/">Back to the home page</a>' in en.text


def test_it_keeps_json_errors_for_programs_and_for_the_api(client: TestClient) -> None:
    plain = client.get("/nowhere")
    assert plain.status_code == 404
    assert plain.json() == {"error": {"code": "not_found", "message": "Not Found"}}
    api = client.get("/api/nowhere", headers={"accept": BROWSER_ACCEPT})
    assert api.json()["error"]["code"] == "not_found"
    wants_json = client.get("/nowhere", headers={"accept": "application/json, text/html;q=0.5"})
    assert wants_json.json()["error"]["code"] == "not_found"


def test_it_shows_a_browser_a_500_page_and_programs_the_json(client: TestClient) -> None:
    page = client.get("/_test/boom", headers={"accept": BROWSER_ACCEPT, "accept-language": "en"})
    assert page.status_code == 500
    assert "Something went wrong" in page.text
    assert "kaboom" not in page.text
    api = client.get("/api/_test/boom", headers={"accept": BROWSER_ACCEPT})
    assert api.status_code == 500
    assert api.json() == {"error": {"code": "internal", "message": "internal error; it has been logged"}}


def test_it_keeps_the_allow_header_on_a_405_page(client: TestClient) -> None:
    response = client.post("/lang/en", headers={"accept": BROWSER_ACCEPT, "accept-language": "en"})
    assert response.status_code == 405
    assert response.headers["allow"] == "GET"
    assert "Request not completed" in response.text


def test_it_renders_templates_in_the_request_language_with_escaping(client: TestClient) -> None:
    response = client.get("/_test/render", headers={"accept-language": "zh-CN"})
    assert response.status_code == 418
    assert '<h1 id="error-title">退出登录</h1>' in response.text
    assert "Accept-Language" in response.headers["vary"]


def test_it_serves_versioned_static_files_with_long_caching(client: TestClient) -> None:
    url = static_url("css/app.css")
    assert url.startswith("/static/css/app.css?v=")
    assert client.get(url).headers["cache-control"] == "public, max-age=31536000, immutable"
    htmx = client.get("/static/vendor/htmx/htmx.min.js")
    assert htmx.status_code == 200
    assert htmx.headers["cache-control"] == "no-cache"
    with pytest.raises(FileNotFoundError):
        static_url("../templates/base.html")


@pytest.mark.parametrize(
    ("accept", "expected"),
    [
        (BROWSER_ACCEPT, True),
        ("*/*", False),
        ("", False),
        ("application/json", False),
        ("text/html;q=0", False),
        ("application/json;q=0.5, text/html", True),
        ("application/xhtml+xml", True),
    ],
)
def test_it_tells_browsers_from_programs_by_the_accept_header(accept: str, expected: bool) -> None:
    scope = {"type": "http", "method": "GET", "path": "/", "headers": [(b"accept", accept.encode())]}
    assert prefers_html(Request(scope)) is expected


def test_it_shows_times_in_the_citys_time_zone() -> None:
    import datetime as dt

    from fangkong.web.templating import local_time

    assert local_time(dt.datetime(2022, 3, 20, 6, 5, tzinfo=dt.UTC)) == "2022-03-20 14:05 UTC+8"
