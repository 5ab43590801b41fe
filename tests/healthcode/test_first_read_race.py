"""A person's first code is made once, however many first reads race for it (issue 13).

A resident with no cached code yet: 64 phones (or one page polling from several tabs) ask for `/api/healthcode/me`
at once. Before, every request's transaction inserted the same `health_code` row: on PostgreSQL the 2nd..Nth
waited on the first one's uncommitted row, each in a thread of the pool of 40 and with a connection, and failed
with a duplicate key once it committed (500). And it could not commit: FastAPI checks a synchronous route's answer
in one more turn of that pool before the commit, and the threads the waiters did not hold were waiting for a
connection, so a live server stalled until the connection pool's 30 s timeout."""

from __future__ import annotations

import datetime as dt
import secrets
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import anyio.from_thread
import anyio.to_thread
import httpx
import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from fangkong.core import clock
from fangkong.core.config import Settings
from fangkong.core.facts import Cause
from fangkong.core.runtime import Runtime, open_runtime
from fangkong.healthcode import service
from fangkong.healthcode.door import verify
from fangkong.healthcode.models import CodeCause, CodeChange, FeverRecord, HealthCode
from fangkong.people.models import Person
from fangkong.policy.editions import Color

from ..support.databases import BACKENDS, own_database
from ..support.factories import build_city, tokens_for
from ..support.live import serving
from ..support.personas import WANG, WANG_FANG
from ..support.web import bearer

READERS = 64
PILE_UP = 10  # seconds at most
ANSWER = 60  # seconds: far beyond any answer here; a stalled server answers none within it


@pytest.fixture(params=BACKENDS)
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    with own_database(request.param, tmp_path, "firstread") as url:
        yield url


@pytest.fixture
def runtime(database_url: str, cheap_password_hashing: None) -> Iterator[Runtime]:
    runtime = open_runtime(Settings(database_url=database_url, secret_key=secrets.token_urlsafe(32)))
    try:
        yield runtime
    finally:
        runtime.database.engine.dispose()


@pytest.fixture
def server(runtime: Runtime) -> Iterator[str]:
    with serving(runtime) as url:
        yield url


def _feverish_resident_without_a_code(runtime: Runtime) -> tuple[int, str]:
    """王芳 with a fever on record (so her first code is not plain green, and its first status is a change) and no
    cached code yet; her person id and an API token of hers."""
    with runtime.database.unit_of_work() as db:
        build_city(db, runtime.keys)
        token = tokens_for(db, WANG)[WANG.username]
        person_id = db.execute(select(Person.id).where(Person.ref == WANG_FANG.ref)).scalar_one()
        at = clock.now() - dt.timedelta(hours=1)
        db.add(FeverRecord(person_id=person_id, at=at, temperature=38.6, recorded_by="test"))
    with runtime.database.unit_of_work() as db:
        assert db.get(HealthCode, person_id) is None
    return person_id, token


def _first_changes(runtime: Runtime, person_id: int) -> list[CodeChange]:
    with runtime.database.unit_of_work() as db:
        stmt = select(CodeChange).where(CodeChange.person_id == person_id, CodeChange.from_color.is_(None))
        changes = list(db.execute(stmt).scalars())
        db.expunge_all()
        return changes


class PiledUp:
    """The first request to have its code waits (at most PILE_UP seconds) until every other thread of the pool
    is stuck, as on a loaded server: in a first read of the same code, or waiting for a connection. No timing:
    the window such a server leaves open by chance is held open."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch, runtime: Runtime) -> None:
        self.stuck = 0  # threads in a first read of the code or waiting for a connection
        self.first_done = False
        self.count = threading.Lock()
        real_current = verify.current
        pool = runtime.database.engine.pool
        real_connect = pool._do_get  # where a thread waits for a connection

        def stuck_in(call: Any, *args: Any, **kwargs: Any) -> Any:
            with self.count:
                self.stuck += 1
            try:
                return call(*args, **kwargs)
            finally:
                with self.count:
                    self.stuck -= 1

        def current(db: Session, *, person_id: int) -> HealthCode:
            code = stuck_in(real_current, db, person_id=person_id)
            with self.count:
                first, self.first_done = not self.first_done, True
            if first:
                threads = anyio.from_thread.run_sync(anyio.to_thread.current_default_thread_limiter)
                deadline = time.monotonic() + PILE_UP
                while self.stuck < threads.total_tokens - 1 and time.monotonic() < deadline:
                    time.sleep(0.01)
            return code

        monkeypatch.setattr(verify, "current", current)
        monkeypatch.setattr(pool, "_do_get", lambda: stuck_in(real_connect))


def test_sixty_four_simultaneous_first_reads_of_one_code_all_get_the_same_code(
    runtime: Runtime, server: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    person_id, token = _feverish_resident_without_a_code(runtime)
    if runtime.database.dialect == "postgresql":  # SQLite's requests take turns (core/deps.py): none piles up
        PiledUp(monkeypatch, runtime)
    start = threading.Barrier(READERS)

    def first_read(_: int) -> httpx.Response:
        with httpx.Client(base_url=server, timeout=ANSWER) as client:
            start.wait(ANSWER)
            return client.get("/api/healthcode/me", headers=bearer(token))

    with ThreadPoolExecutor(READERS) as phones:
        answers = list(phones.map(first_read, range(READERS)))

    assert [a.status_code for a in answers] == [200] * READERS, {a.status_code: a.text for a in answers}
    colors = {a.json()["color"] for a in answers}
    assert len(colors) == 1, colors
    assert colors != {Color.green.value}
    with httpx.Client(base_url=server, timeout=ANSWER) as client:  # and the server still answers
        again = client.get("/api/healthcode/me", headers=bearer(token))
        assert again.status_code == 200
        assert again.json()["color"] in colors
    with runtime.database.unit_of_work() as db:
        assert db.execute(select(func.count()).select_from(HealthCode)
                          .where(HealthCode.person_id == person_id)).scalar_one() == 1  # fmt: skip
    assert len(_first_changes(runtime, person_id)) == 1


def test_a_first_code_another_transaction_made_meanwhile_is_taken_not_made_again(
    runtime: Runtime, monkeypatch: pytest.MonkeyPatch
) -> None:
    """PostgreSQL only: SQLite's units of work take turns (BEGIN IMMEDIATE), so none can commit between another
    one's look and its insert. Here one looks, finds no code, and another commits the first code right then: the
    first takes that code (one row, one handle) with no duplicate key, and the first status is recorded once."""
    if runtime.database.dialect == "sqlite":
        pytest.skip("SQLite's units of work take turns: no other one commits in the middle of one")
    person_id, _ = _feverish_resident_without_a_code(runtime)
    made: list[HealthCode] = []
    with runtime.database.unit_of_work() as late:
        look = late.get

        def look_then_another_makes_it(entity: Any, ident: Any, **kwargs: Any) -> Any:
            found = look(entity, ident, **kwargs)
            if entity is HealthCode and found is None and not made:
                with runtime.database.unit_of_work() as early:
                    made.append(service.current(early, person_id=person_id))
            return found

        monkeypatch.setattr(late, "get", look_then_another_makes_it)
        code = service.recompute(late, person_id=person_id, cause=Cause(CodeCause.first_use))
        assert made, "the other transaction never ran"
        assert (code.handle, code.color) == (made[0].handle, made[0].color)
    assert code.color is not Color.green
    assert len(_first_changes(runtime, person_id)) == 1
