"""Browser tests: Debian's chromium driven by Playwright against a real server on 127.0.0.1.

The server runs in a thread of this process on a brand-new SQLite database with its own secret key. It cannot
use the rolled-back `runtime` fixture of the other tests: the server thread has its own connections and only
sees committed rows.
"""

from __future__ import annotations

import re
import secrets
import socket
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import uvicorn
from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse

from fangkong.app import create_app
from fangkong.auth.actor import Actor
from fangkong.auth.audit_models import Channel
from fangkong.auth.service import actor_for, create_token, get_user
from fangkong.core.config import Settings
from fangkong.core.runtime import Runtime, open_runtime
from fangkong.demo import city as demo
from fangkong.people.service import get_person
from fangkong.venues import service as venue_service
from fangkong.venues.models import VenueKind
from fangkong.venues.schemas import VenueCreate
from fangkong.web.templating import env, template_context

from ..support.browser import DemoCity, LiveVenue

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]
SCREENSHOTS = Path(__file__).resolve().parents[2] / "test-output" / "screenshots"
VIEWPORTS: dict[str, dict[str, Any]] = {
    "phone": {
        "viewport": {"width": 390, "height": 844},
        "is_mobile": True,
        "has_touch": True,
        "device_scale_factor": 2,
    },
    "desktop": {"viewport": {"width": 1440, "height": 900}},
}

# A page that shows every part of the shell the login pages will use: the signed-in header, messages, a form.
SHELL_SAMPLE = """{% extends "base.html" %}
{% block title %}Sample{% endblock %}
{% block content %}
<section class="panel panel--narrow">
  <h1>Sign in</h1>
  <p class="lead">A sample of the form styles; not a real page.</p>
  <form class="form" method="post" action="/nowhere" novalidate>
    {{ forms.field("username", "Username", value="wangfang", autocomplete="username", required=True) }}
    {{ forms.field("password", "Password", type="password", error="Wrong username or password",
                   autocomplete="current-password", required=True, hint="At least 12 characters") }}
    <button class="button button--primary button--block" type="submit">Sign in</button>
  </form>
</section>
{% endblock %}
"""


def _sample_shell_route(app: FastAPI) -> None:
    template = env.from_string(SHELL_SAMPLE)

    @app.get("/_test/shell", include_in_schema=False)
    def shell(request: Request) -> HTMLResponse:
        context = {
            "user": {"display_name": "王芳"},
            "user_role": "网格员" if template_context(request)["lang"] == "zh" else "Grid worker",
            "csrf_token": "sample-token",
            "flashes": [
                {"kind": "success", "text": "Saved."},
                {"kind": "error", "text": "Wrong username or password"},
            ],
        }
        return HTMLResponse(template.render(template_context(request, context)))


@pytest.fixture(scope="session")
def live_runtime(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Runtime]:
    """The runtime the live server uses: a brand-new SQLite database with its own secret key. The occupancy board
    is read afresh for each reader: the pages poll on Playwright's clock, and tests add venues one after another,
    where a shared board would hold the counts for 10 real seconds (tests/venues/test_occupancy.py tests that)."""
    db_path = tmp_path_factory.mktemp("live") / "live.db"
    settings = Settings(database_url=f"sqlite:///{db_path}", secret_key=secrets.token_urlsafe(32),
                        occupancy_fresh_seconds=0)  # fmt: skip
    runtime = open_runtime(settings)
    try:
        yield runtime
    finally:
        runtime.database.engine.dispose()


@pytest.fixture(scope="session")
def live_server(live_runtime: Runtime) -> Iterator[str]:
    """Base URL of `fangkong serve` running in a background thread on a free port."""
    app = create_app(live_runtime)
    _sample_shell_route(app)
    # Bound here and handed over, so no other process can take the port between choosing and listening.
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", access_log=False, lifespan="on"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 15
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("the test server did not start")
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()


@pytest.fixture(scope="session")
def demo_city(cheap_password_hashing: None, live_runtime: Runtime) -> DemoCity:
    """Fills the live server's database once per session, through the same code as `fangkong demo`.

    Rows are committed, so the server thread sees them. Accounts are hashed with the cheap argon2 parameters."""
    with live_runtime.database.unit_of_work() as db:
        if demo.database_is_empty(db):
            # Without the demo's outbreak (demo_outbreak.py, tested in tests/demo/test_city.py): these tests start
            # from a city where nobody has a case, a contact or a test, and make their own.
            demo.fill_demo_city(db, keys=live_runtime.keys, people=200, seed=2020, with_outbreak=False)
        accounts = {a.username: a for a in demo.create_demo_accounts(db)}
        resident_ref = accounts["resident"].person_ref
        assert resident_ref is not None
        resident_name = get_person(db, ref=resident_ref).name
    return DemoCity(accounts=accounts, resident_ref=resident_ref, resident_name=resident_name)


@pytest.fixture
def sign_in(live_server: str, demo_city: DemoCity) -> Callable[..., Any]:
    """sign_in(page, "grid_worker") logs in through the login form and waits for the home page."""

    def log_in(page: Any, username: str, password: str = demo_city.password) -> Any:
        page.goto(f"{live_server}/login")
        page.locator("#field-username").fill(username)
        page.locator("#field-password").fill(password)
        page.locator("form[action='/login'] button[type=submit]").click()
        page.wait_for_url(f"{live_server}/")
        return page

    return log_in


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    if not CHROMIUM.exists():
        reason = "chromium not installed: apt-get install -y chromium"
        print(reason)
        pytest.skip(reason)
    sync_playwright = pytest.importorskip("playwright.sync_api").sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS)
        try:
            yield chromium
        finally:
            chromium.close()


@pytest.fixture
def new_page(browser: Any) -> Iterator[Callable[..., Any]]:
    """Opens a page in a fresh context (own cookies): new_page("phone" | "desktop", locale="zh-CN")."""
    contexts: list[Any] = []

    def open_page(viewport: str, locale: str = "zh-CN") -> Any:
        context = browser.new_context(locale=locale, **VIEWPORTS[viewport])
        context.set_default_timeout(10_000)
        contexts.append(context)
        return context.new_page()

    yield open_page
    for context in contexts:
        context.close()


@pytest.fixture
def phone_page(new_page: Callable[..., Any]) -> Any:
    return new_page("phone", locale="zh-CN")


@pytest.fixture
def desktop_page(new_page: Callable[..., Any]) -> Any:
    return new_page("desktop", locale="zh-CN")


@pytest.fixture
def screenshot(request: pytest.FixtureRequest) -> Callable[..., Path]:
    """screenshot(page, "phone") saves test-output/screenshots/<test name>-phone.png, the whole page
    (full_page=False: only what the viewport shows, for long lists)."""

    def save(page: Any, viewport: str, *, full_page: bool = True) -> Path:
        name = re.sub(r"[^\w.-]+", "_", request.node.name).strip("_")
        path = SCREENSHOTS / f"{name}-{viewport}.png"
        path.parent.mkdir(parents=True, exist_ok=True)
        # A screenshot is a record for people to look at, not a check: a long page on a loaded machine may take
        # longer to paint than the 10 s an interaction is allowed, and that must not fail the test.
        page.screenshot(path=str(path), full_page=full_page, timeout=60_000)
        return path

    return save


@pytest.fixture
def add_venue(live_runtime: Runtime, demo_city: DemoCity) -> Callable[..., LiveVenue]:
    """add_venue("name", capacity=3) registers a venue of the demo `venue_operator` in their district, committed,
    through the same service as the register form (for tests whose subject is not the form)."""

    def add(name: str, *, capacity: int | None = 3, kind: VenueKind = VenueKind.supermarket) -> LiveVenue:
        with live_runtime.database.unit_of_work() as db:
            operator = actor_for(db, user=get_user(db, username="venue_operator"), channel=Channel.page)
            venue_in = VenueCreate(
                name=name,
                kind=kind,
                region_code=demo_city.accounts["venue_operator"].region_code,
                address=f"{demo_city.accounts['venue_operator'].region_name}渤海大街 1 号",
                capacity=capacity,
            )
            venue = venue_service.create_venue(db, actor=operator, venue_in=venue_in)
            return LiveVenue(ref=venue.ref, name=venue.name, token=venue.token, capacity=venue.capacity)

    return add


@pytest.fixture(scope="session")
def operator_api_token(live_runtime: Runtime, demo_city: DemoCity) -> str:
    """A bearer token of the demo `venue_operator`, as a door device at their venues would hold."""
    with live_runtime.database.unit_of_work() as db:
        user = get_user(db, username="venue_operator")
        _row, token = create_token(db, actor=Actor.system(), user=user, label="browser tests: door device")
    return token
