"""Login throttling delays guessers without locking the owner out (issue 13, defect 10).

Five wrong passwords used to lock an account for 15 minutes: anyone who knew the commander's username could keep
them out. A guesser now waits longer and longer; the account's own devices and addresses do not wait for them.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from fangkong.app import create_app
from fangkong.auth import service, throttle
from fangkong.auth.audit_models import Channel
from fangkong.auth.models import User
from fangkong.auth.sessions import DEVICE_COOKIE, SESSION_COOKIE
from fangkong.core import clock
from fangkong.core.crypto import Keyring
from fangkong.core.runtime import Runtime

from ..support.factories import build_city
from ..support.personas import PASSWORD, SUN
from ..support.web import BROWSER, csrf

ATTACKER = "203.0.113.66"
OFFICE = "10.20.0.5"  # where the commander logs in every day
T0 = dt.datetime(2026, 12, 2, 8, 0, tzinfo=dt.UTC)


def _login(db: Session, username: str, password: str, address: str) -> User:
    return service.authenticate(db, username=username, password=password, address=address, channel=Channel.page)


def _attack(
    db: Session, *, failures: int, address: str = ATTACKER, start: dt.datetime = T0
) -> tuple[list[int], dt.datetime]:
    """Wrong passwords for the commander from one address, each sent as soon as the last answer allows: the
    waits the attacker was told, and the instant of the last failure."""
    at, failed, waits = start, 0, []
    while failed < failures:
        with clock.frozen_at(at):
            try:
                _login(db, SUN.username, f"guess {failed}", address)
            except service.LoginFailed:
                failed += 1
                continue
            except service.TooManyAttempts as wait:
                waits.append(wait.retry_after)
                at += dt.timedelta(seconds=wait.retry_after)
    return waits, at


@pytest.fixture
def city(db: Session, keys: Keyring) -> Session:
    build_city(db, keys)
    return db


def test_an_attackers_fifty_failures_do_not_stop_the_owner_at_an_address_they_logged_in_from(city: Session) -> None:
    with clock.frozen_at(T0 - dt.timedelta(days=1)):
        _login(city, SUN.username, PASSWORD, OFFICE)  # yesterday, at the office
    _, last_failure = _attack(city, failures=50)
    with clock.frozen_at(last_failure):  # the very instant of the 50th failure
        assert _login(city, SUN.username, PASSWORD, OFFICE).username == SUN.username


def test_the_attackers_waits_grow_and_stop_at_the_cap(city: Session) -> None:
    waits, last_failure = _attack(city, failures=50)
    cap = int(throttle.MAX_DELAY.total_seconds())
    assert waits[:9] == [1, 2, 4, 8, 16, 32, 64, 128, 256]  # after PAIR_FREE_FAILURES free tries
    assert max(waits) == cap
    assert waits.count(cap) >= 30  # at the cap it stays: the failures it counts are kept long enough
    assert last_failure - T0 > dt.timedelta(hours=3)  # 50 guesses take hours, not seconds
    with clock.frozen_at(last_failure), pytest.raises(service.TooManyAttempts, match=f"try again in {cap} seconds"):
        _login(city, SUN.username, PASSWORD, ATTACKER)  # the right password waits too: no free oracle


def test_the_owner_on_a_new_network_waits_at_most_the_cap_not_a_lockout(city: Session) -> None:
    _, last_failure = _attack(city, failures=50)
    with clock.frozen_at(last_failure), pytest.raises(service.TooManyAttempts) as refused:
        _login(city, SUN.username, PASSWORD, "198.51.100.20")
    assert refused.value.retry_after <= throttle.MAX_DELAY.total_seconds()
    with clock.frozen_at(last_failure + dt.timedelta(seconds=refused.value.retry_after)):
        assert _login(city, SUN.username, PASSWORD, "198.51.100.20").username == SUN.username


def test_strangers_spread_over_many_addresses_get_a_few_free_tries_then_waits(city: Session) -> None:
    with clock.frozen_at(T0 - dt.timedelta(days=1)):
        _login(city, SUN.username, PASSWORD, OFFICE)
    with clock.frozen_at(T0):
        for i in range(throttle.ACCOUNT_FREE_FAILURES):
            with pytest.raises(service.LoginFailed):
                _login(city, SUN.username, "guess", f"192.0.2.{i}")
        with pytest.raises(service.TooManyAttempts, match="for this account"):
            _login(city, SUN.username, "guess", "192.0.2.200")
        assert _login(city, SUN.username, PASSWORD, OFFICE).username == SUN.username  # the owner is not held up


def test_an_address_spraying_many_accounts_is_throttled_across_them(city: Session) -> None:
    with clock.frozen_at(T0):
        for i in range(throttle.MAX_FAILURES_PER_ADDRESS):
            with pytest.raises(service.LoginFailed):
                _login(city, f"user{i}", "Spring2022!", ATTACKER)
        with pytest.raises(service.TooManyAttempts, match="from this address") as refused:
            _login(city, "inv", "Spring2022!", ATTACKER)
        assert refused.value.retry_after == throttle.ADDRESS_WINDOW.total_seconds()
        assert _login(city, "inv", PASSWORD, OFFICE).username == "inv"  # from elsewhere, no wait
    # The oldest failure leaves the window first, and with it the address's turn comes back.
    with clock.frozen_at(T0 + throttle.ADDRESS_WINDOW):
        assert _login(city, "gw", PASSWORD, ATTACKER).username == "gw"


def test_an_address_that_logged_in_to_an_account_is_not_held_by_its_spraying_of_others(city: Session) -> None:
    with clock.frozen_at(T0 - dt.timedelta(days=2)):
        _login(city, "inv", PASSWORD, OFFICE)
    with clock.frozen_at(T0):
        for i in range(throttle.MAX_FAILURES_PER_ADDRESS):
            with pytest.raises(service.LoginFailed):
                _login(city, f"user{i}", "guess", OFFICE)  # a colleague's script behind the same address
        with pytest.raises(service.TooManyAttempts):
            _login(city, "gw", PASSWORD, OFFICE)
        assert _login(city, "inv", PASSWORD, OFFICE).username == "inv"


def test_a_known_address_is_forgotten_after_its_period(city: Session) -> None:
    with clock.frozen_at(T0 - throttle.KNOWN_ADDRESS_PERIOD - dt.timedelta(days=1)):
        _login(city, SUN.username, PASSWORD, OFFICE)
    _, last_failure = _attack(city, failures=10)
    with clock.frozen_at(last_failure), pytest.raises(service.TooManyAttempts):
        _login(city, SUN.username, PASSWORD, OFFICE)


# --- through the login page: the known-device cookie, the wait in the page and the Retry-After header ----------


@pytest.fixture
def client(runtime: Runtime, keys: Keyring) -> Iterator[TestClient]:
    with runtime.database.unit_of_work() as db:
        build_city(db, keys)
    with TestClient(create_app(runtime), headers=BROWSER, follow_redirects=False) as c:
        yield c


def _post_login(client: TestClient, password: str, language: str = "en") -> httpx.Response:
    token = csrf(client.get("/login").text)
    return client.post(
        "/login",
        data={"username": SUN.username, "password": password, "csrf_token": token},
        headers={"accept-language": language},
    )


def _attack_from_the_owners_own_address(runtime: Runtime, failures: int) -> dt.datetime:
    """The test client's address is "testclient": the attacker shares it, as a whole office or a carrier's NAT
    shares one address, so only the cookie tells the owner apart."""
    with runtime.database.unit_of_work() as db:
        _, last_failure = _attack(db, failures=failures, address="testclient", start=clock.now())
    return last_failure


def test_the_owner_with_the_known_device_cookie_logs_in_through_fifty_failures_from_their_own_address(
    client: TestClient, runtime: Runtime
) -> None:
    assert _post_login(client, PASSWORD).status_code == 303  # a previous login on this browser
    assert DEVICE_COOKIE in client.cookies
    client.cookies.delete(SESSION_COOKIE)
    last_failure = _attack_from_the_owners_own_address(runtime, 50)
    with clock.frozen_at(last_failure):
        response = _post_login(client, PASSWORD)
        assert response.status_code == 303
        assert SESSION_COOKIE in response.cookies
        client.cookies.clear()  # the same browser without its cookie is just another stranger there
        assert _post_login(client, PASSWORD).status_code == 429


def test_a_forged_known_device_cookie_is_a_stranger(client: TestClient, runtime: Runtime) -> None:
    last_failure = _attack_from_the_owners_own_address(runtime, 10)
    client.cookies.set(DEVICE_COOKIE, "eyJkIjoiZm9yZ2VkIiwidSI6WzFdfQ.forged.signature")
    with clock.frozen_at(last_failure):
        assert _post_login(client, PASSWORD).status_code == 429


def test_a_known_devices_own_wrong_passwords_wait_too(client: TestClient) -> None:
    with clock.frozen_at(T0):
        assert _post_login(client, PASSWORD).status_code == 303
        client.cookies.delete(SESSION_COOKIE)
        for _ in range(throttle.PAIR_FREE_FAILURES):
            assert _post_login(client, "a stolen cookie's guess").status_code == 401
        assert _post_login(client, PASSWORD).status_code == 429


def test_the_login_page_says_how_long_to_wait_in_english_and_chinese(client: TestClient) -> None:
    with clock.frozen_at(T0):
        for _ in range(throttle.PAIR_FREE_FAILURES):
            assert _post_login(client, "guess").status_code == 401
        english = _post_login(client, PASSWORD)
        chinese = _post_login(client, PASSWORD, language="zh-CN")
    assert english.status_code == chinese.status_code == 429
    assert english.headers["Retry-After"] == chinese.headers["Retry-After"] == "1"
    assert "Too many failed attempts. Try again in 1 second." in english.text
    assert "失败次数过多，请 1 秒后再试。" in chinese.text
    with clock.frozen_at(T0 + dt.timedelta(seconds=1)):
        assert _post_login(client, "guess").status_code == 401  # the wait is over; a fourth failure doubles it
        assert "Try again in 2 seconds." in _post_login(client, PASSWORD).text
