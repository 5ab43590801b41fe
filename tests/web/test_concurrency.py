"""Many requests at once to synchronous routes, on a real server over a SQLite file: every one is answered.

A request runs in several steps on the thread pool (its session's dependencies, the view, the commit), and on
SQLite its transaction holds the one write lock from its first query on. With the waiting requests parked in
the pool's 40 threads, 64 devices at once left no thread for the lock holder's next step: one process stalled
until SQLite's busy timeout failed the waiters with 500. Waiters now queue on the event loop (core/deps.py).
"""

from __future__ import annotations

import asyncio
import secrets
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest

from fangkong.core.config import Settings
from fangkong.core.runtime import Runtime, open_runtime

from ..support.databases import BACKENDS, own_database
from ..support.factories import city_with_tokens
from ..support.live import serving
from ..support.web import bearer

DEVICES = 64  # more than the thread pool's 40 threads
REQUESTS = 320


@pytest.fixture(params=BACKENDS)
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A brand-new database the server commits to: a SQLite file, or a database of its own on PostgreSQL."""
    with own_database(request.param, tmp_path, "live") as url:
        yield url


@pytest.fixture
def server(database_url: str, cheap_password_hashing: None) -> Iterator[tuple[str, Runtime]]:
    runtime = open_runtime(Settings(database_url=database_url, secret_key=secrets.token_urlsafe(32)))
    try:
        with serving(runtime) as url:
            yield url, runtime
    finally:
        runtime.database.engine.dispose()


async def _hammer(url: str, headers: dict[str, str]) -> Counter[int | str]:
    """REQUESTS requests from DEVICES connections, each with one request in flight; statuses counted."""
    outcomes: Counter[int | str] = Counter()
    todo = iter(range(REQUESTS))
    limits = httpx.Limits(max_connections=DEVICES, max_keepalive_connections=DEVICES)
    # 30 s: far beyond a healthy answer, and beyond the 10 s busy timeout that ended a stall with 500s.
    async with httpx.AsyncClient(limits=limits, timeout=30) as client:

        async def device() -> None:
            for _ in todo:
                try:
                    outcomes[(await client.get(url, headers=headers)).status_code] += 1
                except httpx.HTTPError as error:
                    outcomes[type(error).__name__] += 1

        await asyncio.gather(*(device() for _ in range(DEVICES)))
    return outcomes


def test_sixty_four_devices_at_once_through_synchronous_routes_are_all_answered(server: tuple[str, Runtime]) -> None:
    base, runtime = server
    tokens = city_with_tokens(runtime, runtime.keys)
    # GET /api/me: the bearer token's check, the actor, the view and the commit, each a step on the thread pool.
    # In a thread of its own: other tests (Playwright's sync API) may leave an event loop running in this one.
    with ThreadPoolExecutor(1) as pool:
        outcomes = pool.submit(asyncio.run, _hammer(f"{base}/api/me", bearer(tokens["cmd"]))).result()
    assert outcomes == Counter({200: REQUESTS})
