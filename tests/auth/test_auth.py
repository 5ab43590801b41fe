import datetime as dt
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from fangkong.app import create_app
from fangkong.auth import service, throttle
from fangkong.auth.actor import Actor
from fangkong.auth.audit_models import Channel
from fangkong.auth.models import Role, User
from fangkong.auth.sessions import SessionCodec
from fangkong.core import clock
from fangkong.core.crypto import Keyring
from fangkong.core.errors import Conflict, Invalid
from fangkong.core.runtime import Runtime

from ..support.factories import build_city
from ..support.personas import PASSWORD


def login(db: Session, username: str, password: str, address: str = "10.0.0.1") -> User:
    return service.authenticate(db, username=username, password=password, address=address, channel=Channel.page)


def test_passwords_are_stored_as_argon2_hashes(db: Session, keys: Keyring) -> None:
    build_city(db, keys)
    user = service.get_user(db, username="inv")
    assert user.password_hash.startswith("$argon2id$")
    assert PASSWORD not in user.password_hash
    assert login(db, "inv", PASSWORD).username == "inv"


def test_a_wrong_password_and_an_unknown_user_fail_alike(db: Session, keys: Keyring) -> None:
    build_city(db, keys)
    with pytest.raises(service.LoginFailed, match="wrong username or password"):
        login(db, "inv", "not the password")
    with pytest.raises(service.LoginFailed, match="wrong username or password"):
        login(db, "nobody", PASSWORD)


def test_strangers_failures_make_an_account_wait_even_with_the_right_password_but_not_for_long(
    db: Session, keys: Keyring
) -> None:
    build_city(db, keys)
    start = clock.now()
    with clock.frozen_at(start):  # the waits are measured from the failures, not from how fast the test runs
        for i in range(throttle.ACCOUNT_FREE_FAILURES):
            with pytest.raises(service.LoginFailed):
                login(db, "inv", f"guess {i}", address=f"10.0.0.{i}")
        with pytest.raises(service.TooManyAttempts, match="too many failed logins for this account") as refused:
            login(db, "inv", PASSWORD, address="10.9.9.9")
        assert refused.value.retry_after == 1  # a delay that starts small, not a 15-minute lockout
        assert login(db, "gw", PASSWORD).username == "gw"  # other accounts are unaffected
    with clock.frozen_at(start + dt.timedelta(seconds=refused.value.retry_after)):
        assert login(db, "inv", PASSWORD, address="10.9.9.9").username == "inv"


def test_an_address_is_throttled_after_failures_across_accounts(db: Session, keys: Keyring) -> None:
    build_city(db, keys)
    for i in range(throttle.MAX_FAILURES_PER_ADDRESS):
        with pytest.raises(service.LoginFailed):
            login(db, f"user{i}", "guess", address="203.0.113.7")
    with pytest.raises(service.TooManyAttempts, match="from this address"):
        login(db, "gw", PASSWORD, address="203.0.113.7")
    assert login(db, "gw", PASSWORD, address="203.0.113.8").username == "gw"


def test_a_deactivated_user_cannot_log_in(db: Session, keys: Keyring) -> None:
    build_city(db, keys)
    service.get_user(db, username="gw").is_active = False
    with pytest.raises(service.LoginFailed):
        login(db, "gw", PASSWORD)


def test_users_need_valid_names_passwords_grants_and_residents_a_person(db: Session, keys: Keyring) -> None:
    build_city(db, keys)
    system = Actor.system()
    with pytest.raises(Invalid, match="at least 10 characters"):
        service.create_user(db, actor=system, username="x", password="short", grants=[(Role.lab, "210800")])
    with pytest.raises(Invalid, match="linked to a person record"):
        service.create_user(db, actor=system, username="r", password=PASSWORD, grants=[(Role.resident, "210800")])
    with pytest.raises(Conflict, match="already exists"):
        service.create_user(db, actor=system, username="gw", password=PASSWORD, grants=[(Role.lab, "210800")])
    with pytest.raises(Conflict, match="already has an account"):
        service.create_user(
            db, actor=system, username="wang2", password=PASSWORD,
            grants=[(Role.resident, "210802")], person_ref="wang-fang",
        )  # fmt: skip


@pytest.fixture
def client(runtime: Runtime) -> Iterator[TestClient]:
    with TestClient(create_app(runtime)) as c:
        yield c


def test_a_revoked_token_stops_working_at_once(client: TestClient, runtime: Runtime, keys: Keyring) -> None:
    with runtime.database.unit_of_work() as db:
        build_city(db, keys)
        row, token = service.create_token(db, actor=Actor.system(), user=service.get_user(db, username="inv"))
    headers = {"Authorization": f"Bearer {token}", "Accept-Language": "en"}
    me = client.get("/api/me", headers=headers)
    assert me.status_code == 200
    assert me.json()["grants"] == [{"role": "investigator", "region_code": "210802", "region_name": "站前区"}]
    with runtime.database.unit_of_work() as db:
        service.revoke_token(db, actor=Actor.system(), token_id=row.id)
    refused = client.get("/api/me", headers=headers)
    assert refused.status_code == 401
    assert refused.json()["error"] == {"code": "unauthenticated", "message": "invalid or revoked API token"}


def test_only_a_hash_of_a_token_is_stored(db: Session, keys: Keyring) -> None:
    build_city(db, keys)
    row, token = service.create_token(db, actor=Actor.system(), user=service.get_user(db, username="gw"))
    assert token.startswith("fk_")
    assert token.encode() not in row.token_hash
    assert len(row.token_hash) == 32
    assert service.user_for_token(db, token=token)[0].username == "gw"


def test_a_tokens_use_is_noted_at_most_once_a_minute(db: Session, keys: Keyring) -> None:
    build_city(db, keys)
    row, token = service.create_token(db, actor=Actor.system(), user=service.get_user(db, username="gw"))
    start = dt.datetime(2026, 11, 22, 8, 0, tzinfo=dt.UTC)

    def used_at(at: dt.datetime) -> dt.datetime | None:
        with clock.frozen_at(at):
            service.user_for_token(db, token=token)
        db.expire(row)
        return row.last_used_at

    assert row.last_used_at is None
    assert used_at(start) == start
    assert used_at(start + dt.timedelta(seconds=50)) == start  # a device calling all the time: no write
    assert used_at(start + dt.timedelta(seconds=61)) == start + dt.timedelta(seconds=61)
    # The group-commit path notes it the same way.
    with clock.frozen_at(start + dt.timedelta(minutes=3)):
        service.users_for_token_hashes(db, hashes={service.token_hash(token)})
    db.expire(row)
    assert row.last_used_at == start + dt.timedelta(minutes=3)


def test_session_cookies_are_signed_and_tied_to_the_session_epoch(db: Session, keys: Keyring) -> None:
    codec = SessionCodec(keys.signing_seed)
    value = codec.issue(user_id=7, epoch=2)
    data = codec.read(value)
    assert data is not None
    assert (data.user_id, data.epoch) == (7, 2)
    assert codec.read(value[:-2] + ("A" if value[-2] != "A" else "B") + value[-1]) is None
    assert SessionCodec(b"another key entirely, 32 bytes!").read(value) is None
    assert codec.csrf_valid(data.nonce, codec.csrf_token(data.nonce))
    assert not codec.csrf_valid(data.nonce, codec.csrf_token("another-nonce"))
    assert not codec.csrf_valid(data.nonce, None)


def test_login_attempts_are_recorded_for_throttling_across_processes(db: Session, keys: Keyring) -> None:
    from fangkong.auth.models import LoginAttempt

    build_city(db, keys)
    with pytest.raises(service.LoginFailed):
        login(db, "gw", "wrong")
    login(db, "gw", PASSWORD)
    attempts = db.execute(select(LoginAttempt.succeeded).where(LoginAttempt.username == "gw")).scalars().all()
    assert sorted(attempts) == [False, True]
