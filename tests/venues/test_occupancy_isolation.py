"""The city's hot paths never wait behind the public pages: on a real server (SQLite file, and PostgreSQL), with
every thread of the pages' gate stuck in a page and its queue full, the resident's code display, the door's
verification and a check-in are still answered, and the next page request is refused at once with 503 and
Retry-After instead of queueing. No timing: a stuck page is one whose rendering waits for an event the test sets
last. Before the gate, /occupancy rendered on the pool every hot path shares (and on SQLite inside its
transaction): 42 stuck pages held the pool, and the code display never answered (issue 13, defect 4)."""

from __future__ import annotations

import secrets
import threading
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from pathlib import Path
from typing import Any

import httpx
import pytest

from fangkong.core.config import Settings
from fangkong.core.runtime import Runtime, open_runtime
from fangkong.web import templating

from ..support.databases import BACKENDS, own_database
from ..support.live import serving
from ..support.personas import WANG_FANG
from ..support.venues import door_city
from ..support.web import bearer

SLOTS, QUEUE = 2, 32  # venues.pages.PAGE_SLOTS and PAGE_QUEUE
EXTRA = 8  # page requests beyond what the gate holds and queues
ANSWER = 20  # seconds: far beyond any answer here; a request that waits for a stuck page never gets one


@pytest.fixture(params=BACKENDS)
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    with own_database(request.param, tmp_path, "pages") as url:
        yield url


@pytest.fixture
def server(database_url: str, cheap_password_hashing: None) -> Iterator[tuple[str, Runtime]]:
    runtime = open_runtime(Settings(database_url=database_url, secret_key=secrets.token_urlsafe(32)))
    try:
        with serving(runtime) as url:
            yield url, runtime
    finally:
        runtime.database.engine.dispose()


class StuckPages:
    """Rendering the occupancy page waits for `release`; `entered` counts the renders that began."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.release = threading.Event()
        self.entered = threading.Semaphore(0)
        get_template = templating.env.get_template

        def stuck(name: Any, *args: Any, **kwargs: Any) -> Any:
            if name == "venues/occupancy.html":
                self.entered.release()
                self.release.wait(120)
            return get_template(name, *args, **kwargs)

        monkeypatch.setattr(templating.env, "get_template", stuck)


def test_the_code_display_verification_and_check_ins_are_answered_while_the_pages_are_stuck(
    server: tuple[str, Runtime], monkeypatch: pytest.MonkeyPatch
) -> None:
    base, runtime = server
    tokens = door_city(runtime, runtime.keys)
    stuck = StuckPages(monkeypatch)
    guests = ThreadPoolExecutor(SLOTS + QUEUE + EXTRA)
    try:
        # Each a page of its own (a search), so none shares another's answer: each needs a turn of the gate.
        urls = [f"{base}/occupancy?q=p{i}" for i in range(SLOTS + QUEUE + EXTRA)]
        pages = [guests.submit(httpx.get, url, timeout=120) for url in urls]
        assert stuck.entered.acquire(timeout=ANSWER), "no page started"

        with httpx.Client(base_url=base, timeout=ANSWER) as hot:
            code = hot.get("/api/healthcode/me", headers=bearer(tokens["wang"]))
            assert code.status_code == 200, code.text
            scan = {"token": code.json()["token"], "venue_ref": "V-LONGSHAN"}
            verified = hot.post("/api/healthcode/verify", json=scan, headers=bearer(tokens["op1"]))
            assert verified.status_code == 200, verified.text
            checkin = {"venue_ref": "V-LONGSHAN", "person_ref": WANG_FANG.ref}
            assert hot.post("/api/checkins", json=checkin, headers=bearer(tokens["op1"])).status_code == 201
            assert hot.get("/api/health").status_code == 200  # guests' other routes have turns of their own

        # The pages beyond the gate's threads and queue were answered while the stuck ones still wait.
        refused = _first_answers(pages, EXTRA)
        assert [r.status_code for r in refused] == [503] * EXTRA
        assert all(r.headers["retry-after"] == "1" for r in refused)
        for _ in range(SLOTS - 1):
            assert stuck.entered.acquire(timeout=ANSWER)
        assert stuck.entered.acquire(blocking=False) is False  # only the gate's threads ever began a page
    finally:
        stuck.release.set()
        guests.shutdown(wait=True)
    statuses = Counter(f.result().status_code for f in pages)
    assert statuses == Counter({200: SLOTS + QUEUE, 503: EXTRA})


def _first_answers(pending: list[Future[httpx.Response]], n: int) -> list[httpx.Response]:
    done: set[Future[httpx.Response]] = set()
    waiting = set(pending)
    while len(done) < n:
        finished, waiting = wait(waiting, timeout=ANSWER, return_when=FIRST_COMPLETED)
        assert finished, f"{n - len(done)} page requests were neither answered nor refused"
        done |= finished
    return [f.result() for f in done]
