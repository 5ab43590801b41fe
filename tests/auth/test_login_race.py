"""Login throttling under concurrency, against a database of its own that the attempts really commit to.

100 concurrent wrong passwords against one account had 44 of them checked on PostgreSQL (issue 13): every
attempt counted the recent failures before any of the others had committed one. At most the limit's number of
passwords may be checked, however many attempts arrive at once: the failures an account may have from unknown
addresses before the first wait, from one address before its first wait, or from one address across accounts.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from argon2 import PasswordHasher
from sqlalchemy import func, select

from fangkong.auth import service, throttle
from fangkong.auth.audit_models import Channel
from fangkong.auth.models import LoginAttempt, User
from fangkong.core import clock, migrate
from fangkong.core.db import Database, make_engine
from fangkong.core.errors import DomainError

from ..support.databases import BACKENDS, own_database

ATTEMPTS = 30


@pytest.fixture(params=BACKENDS)
def fresh(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Database]:
    """A migrated, brand-new database: a SQLite file, or a database of its own on PostgreSQL."""
    with own_database(request.param, tmp_path, "race") as url:
        engine = make_engine(url)
        try:
            migrate.upgrade(engine)
            yield Database(engine)
        finally:
            engine.dispose()


class CountingHasher(PasswordHasher):
    """Cheap argon2 that counts its verifications and takes a while over each, as the real parameters do."""

    def __init__(self) -> None:
        super().__init__(time_cost=1, memory_cost=1024, parallelism=1)
        self.verified = 0
        self._lock = threading.Lock()

    def verify(self, hash: str | bytes, password: str | bytes) -> bool:
        with self._lock:
            self.verified += 1
        time.sleep(0.02)
        return super().verify(hash, password)


@pytest.fixture
def hasher(cheap_password_hashing: None) -> Iterator[CountingHasher]:
    before = service._hasher
    counting = CountingHasher()
    service.use_password_hasher(counting)
    counting.verified = 0  # use_password_hasher hashes the dummy password; only verifications count
    try:
        yield counting
    finally:
        service.use_password_hasher(before)


def _attempt_all(database: Database, attempts: list[tuple[str, str]]) -> list[str]:
    """Each (username, address) in a thread and a transaction of its own, all released at once, on a clock that
    stands still: the waits count from the last failure, so the outcome does not depend on how fast they run."""
    start = threading.Barrier(len(attempts))

    def attempt(username: str, address: str) -> str:
        start.wait()
        with database.unit_of_work() as db:
            try:
                service.authenticate(
                    db, username=username, password="wrong guess", address=address, channel=Channel.api
                )
            except DomainError as error:  # committed, as the login page does
                return error.code
        return "ok"

    with clock.frozen_at(clock.now()), ThreadPoolExecutor(len(attempts)) as pool:
        return list(pool.map(lambda a: attempt(*a), attempts))


def test_concurrent_wrong_passwords_check_at_most_the_account_limit(fresh: Database, hasher: CountingHasher) -> None:
    with fresh.unit_of_work() as db:
        db.add(User(username="target", display_name="target", password_hash=hasher.hash("the right password")))
    outcomes = _attempt_all(fresh, [("target", f"10.1.{i // 200}.{i % 200}") for i in range(ATTEMPTS)])
    assert hasher.verified == throttle.ACCOUNT_FREE_FAILURES
    assert outcomes.count("login_failed") == throttle.ACCOUNT_FREE_FAILURES
    assert outcomes.count("too_many_attempts") == ATTEMPTS - throttle.ACCOUNT_FREE_FAILURES
    with fresh.unit_of_work() as db:
        assert db.execute(select(func.count()).select_from(LoginAttempt)).scalar_one() == throttle.ACCOUNT_FREE_FAILURES


def test_concurrent_wrong_passwords_from_one_address_check_at_most_the_address_limit(
    fresh: Database, hasher: CountingHasher
) -> None:
    outcomes = _attempt_all(fresh, [(f"user{i}", "203.0.113.9") for i in range(ATTEMPTS)])
    assert hasher.verified == throttle.MAX_FAILURES_PER_ADDRESS
    assert outcomes.count("too_many_attempts") == ATTEMPTS - throttle.MAX_FAILURES_PER_ADDRESS


def test_concurrent_wrong_passwords_from_one_address_on_one_account_check_at_most_the_pair_allowance(
    fresh: Database, hasher: CountingHasher
) -> None:
    with fresh.unit_of_work() as db:
        db.add(User(username="target", display_name="target", password_hash=hasher.hash("the right password")))
    outcomes = _attempt_all(fresh, [("target", "198.51.100.4")] * ATTEMPTS)
    assert hasher.verified == throttle.PAIR_FREE_FAILURES
    assert outcomes.count("too_many_attempts") == ATTEMPTS - throttle.PAIR_FREE_FAILURES
