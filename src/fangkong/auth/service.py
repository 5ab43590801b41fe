"""Accounts: users and their role grants, passwords, login (throttled: auth/throttle.py), API tokens, and
building an Actor."""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
from collections.abc import Sequence
from typing import cast

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import Table, column, func, or_, select, table, update
from sqlalchemy.orm import Session

from fangkong.auth import audit, throttle
from fangkong.auth.actor import Actor, Grant
from fangkong.auth.audit_models import AuditAction, Channel
from fangkong.auth.models import ApiToken, LoginAttempt, Role, RoleGrant, User
from fangkong.auth.sessions import KnownDevice
from fangkong.core import clock
from fangkong.core.errors import Conflict, DomainError, Forbidden, Invalid, NotFound
from fangkong.regions.models import Region
from fangkong.regions.service import get_region

_hasher = PasswordHasher()
# Verified against when the username is unknown, so that a wrong username costs as long as a wrong password.
_DUMMY_HASH = _hasher.hash("fangkong-dummy-password")

MIN_PASSWORD_LENGTH = 10
TOKEN_PREFIX = "fk_"  # noqa: S105 - a marker that makes leaked tokens easy to grep for, not a secret


class LoginFailed(DomainError):
    status_code = 401
    code = "login_failed"


class TooManyAttempts(DomainError):
    status_code = 429
    code = "too_many_attempts"

    def __init__(self, template: str, /, *, seconds: int) -> None:
        super().__init__(template, seconds=seconds)
        self.retry_after = seconds  # for a Retry-After header


class Unauthenticated(DomainError):
    status_code = 401
    code = "unauthenticated"


def use_password_hasher(hasher: PasswordHasher) -> None:
    """Swap the argon2 parameters. The test suite uses cheap ones, as Django's test settings do, so that
    hundreds of test logins take milliseconds; production keeps argon2-cffi's recommended defaults."""
    global _hasher, _DUMMY_HASH
    _hasher = hasher
    _DUMMY_HASH = hasher.hash("fangkong-dummy-password")


def hash_password(password: str) -> str:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise Invalid("a password needs at least %(n)s characters", n=MIN_PASSWORD_LENGTH)
    return _hasher.hash(password)


# --- users and grants -----------------------------------------------------------------------------------------


def create_user(
    db: Session,
    *,
    actor: Actor,
    username: str,
    password: str,
    grants: Sequence[tuple[Role, str]],
    display_name: str | None = None,
    person_ref: str | None = None,
) -> User:
    """A user with one or more (role, region code) grants. A resident is linked to their person record."""
    username = username.strip()
    if not username or len(username) > 64 or not username.replace("-", "").replace("_", "").replace(".", "").isalnum():
        raise Invalid("a username is 1 to 64 letters, digits, '-', '_' or '.'")
    if not grants:
        raise Invalid("a user needs at least one role with its region")
    if db.execute(select(User.id).where(User.username == username)).first():
        raise Conflict("user %(username)s already exists", username=username)
    person_id = None
    if person_ref is not None:
        person_id = _person_id(db, person_ref)
        if db.execute(select(User.id).where(User.person_id == person_id)).first():
            raise Conflict("person %(ref)s already has an account", ref=person_ref)
    elif any(role is Role.resident for role, _ in grants):
        raise Invalid("a resident account must be linked to a person record (--person REF)")
    user = User(
        username=username,
        display_name=display_name or username,
        password_hash=hash_password(password),
        person_id=person_id,
    )
    db.add(user)
    db.flush()
    for role, region_code in grants:
        grant_role(db, actor=actor, user=user, role=role, region_code=region_code)
    audit.record(db, actor=actor, action=AuditAction.user_create, entity_type="user", entity_ref=username)
    return user


# auth sits below people (people's reads are scoped and audited through auth), so an account names the person
# table it links to, as its foreign key does, rather than importing the people domain.
_PERSON = table("person", column("id"), column("ref"))


def _person_id(db: Session, ref: str) -> int:
    person_id = db.execute(select(_PERSON.c.id).where(_PERSON.c.ref == ref)).scalar_one_or_none()
    if person_id is None:
        raise NotFound("no person with ref %(ref)s", ref=ref)
    return int(person_id)


def grant_role(db: Session, *, actor: Actor, user: User, role: Role, region_code: str) -> RoleGrant:
    region = get_region(db, code=region_code)
    grant = RoleGrant(user_id=user.id, role=role, region_id=region.id)
    db.add(grant)
    db.flush()
    audit.record(
        db,
        actor=actor,
        action=AuditAction.role_grant,
        entity_type="user",
        entity_ref=user.username,
        details=f"{role.value}@{region.code}",
    )
    return grant


def get_user(db: Session, *, username: str) -> User:
    user = db.execute(select(User).where(User.username == username)).scalar_one_or_none()
    if user is None:
        raise NotFound("no user %(username)s", username=username)
    return user


def list_users(db: Session) -> Sequence[tuple[User, Sequence[tuple[Role, Region]]]]:
    users = db.execute(select(User).order_by(User.username)).scalars().all()
    rows = db.execute(
        select(RoleGrant.user_id, RoleGrant.role, Region).join(Region, RoleGrant.region_id == Region.id)
    ).all()
    by_user: dict[int, list[tuple[Role, Region]]] = {}
    for user_id, role, region in rows:
        by_user.setdefault(user_id, []).append((role, region))
    return [(u, by_user.get(u.id, [])) for u in users]


def actor_for(
    db: Session, *, user: User, channel: Channel, address: str | None = None, token_id: int | None = None
) -> Actor:
    rows = db.execute(
        select(RoleGrant.role, Region.id, Region.code, Region.name, Region.path)
        .join(Region, RoleGrant.region_id == Region.id)
        .where(RoleGrant.user_id == user.id)
        .order_by(Region.path, RoleGrant.role)
    ).all()
    return Actor(
        user_id=user.id,
        username=user.username,
        display_name=user.display_name,
        grants=tuple(Grant(role, rid, code, name, path) for role, rid, code, name, path in rows),
        channel=channel,
        address=address,
        person_id=user.person_id,
        token_id=token_id,
    )


# --- login ------------------------------------------------------------------------------------------------------


def _take_turns(db: Session, *, username: str, source: str) -> None:
    """Attempts on one account, or from one source, take turns until their transaction ends, so that the
    failures each one counts include every attempt before it: without this, 100 concurrent wrong passwords all
    read "no failures yet" on PostgreSQL and 44 of them were checked (issue 13).

    PostgreSQL: transaction-scoped advisory locks on a hash of the account's and the source's names, taken in
    one order so that two attempts never wait for each other; they exist for unknown usernames and addresses
    too, and leave no rows behind. SQLite: the transaction began IMMEDIATE (core/db.py), so it already holds the
    database's one write lock, across processes as well."""
    if db.get_bind().dialect.name != "postgresql":
        return
    for key in sorted({f"user:{username}", f"address:{source}"}):
        digest = hashlib.blake2b(f"fangkong.login:{key}".encode(), digest_size=8).digest()
        db.execute(select(func.pg_advisory_xact_lock(int.from_bytes(digest, "big", signed=True))))


_WAIT_MESSAGES = {
    throttle.Limit.account: "too many failed logins for this account; try again in %(seconds)s seconds",
    throttle.Limit.address: "too many failed logins from this address; try again in %(seconds)s seconds",
}


def authenticate(
    db: Session,
    *,
    username: str,
    password: str,
    address: str,
    channel: Channel,
    device: KnownDevice | None = None,
) -> User:
    """Check a password unless recent failures make this attempt wait (auth/throttle.py: growing delays per
    account and source, per account from unknown sources and per address; the account's own devices and
    addresses are not slowed by strangers). `device` is what the request's known-device cookie vouches for.

    The limits hold under concurrency: however many attempts arrive at once, an account is checked at most
    ACCOUNT_FREE_FAILURES times from unknown sources before the first wait (_take_turns)."""
    name, address = username[:64], address[:64]  # as stored and counted
    user = db.execute(select(User).where(User.username == username)).scalar_one_or_none()
    now = clock.now()
    device_id = device.device_id if device is not None and user is not None and device.knows(user.id) else None
    # A known device's source is not a row anyone else can make, so looking it up before taking turns is safe;
    # an address's known status only changes with a success, which a concurrent wrong password never is.
    source = throttle.source_of(db, username=name, address=address, device_id=device_id, now=now)
    _take_turns(db, username=name, source=source.key)
    if (wait := throttle.wait_for(db, username=name, source=source, now=now)) is not None:
        raise TooManyAttempts(_WAIT_MESSAGES[wait.limit], seconds=wait.seconds(now))
    ok = False
    try:
        ok = _hasher.verify(user.password_hash if user else _DUMMY_HASH, password)
    except (VerificationError, InvalidHashError):
        ok = False
    ok = ok and user is not None and user.is_active
    db.add(LoginAttempt(username=name, address=source.key, at=now, succeeded=ok))
    db.flush()
    if not ok or user is None:
        raise LoginFailed("wrong username or password")
    if _hasher.check_needs_rehash(user.password_hash):
        user.password_hash = _hasher.hash(password)
    audit.record(
        db,
        actor=actor_for(db, user=user, channel=channel, address=address),
        action=AuditAction.login,
        entity_type="user",
        entity_ref=user.username,
    )
    return user


# --- API tokens -----------------------------------------------------------------------------------------------


def token_hash(token: str) -> bytes:
    # Tokens carry 256 random bits, so a fast hash is enough (unlike passwords).
    return hashlib.sha256(token.encode()).digest()


def _may_hold_tokens(actor: Actor) -> None:
    """API tokens are for officials' devices: a resident's phone uses the pages."""
    if not actor.is_system and all(r is Role.resident for r in actor.roles):
        raise Forbidden("API tokens are for officials' devices")


def my_tokens(db: Session, *, actor: Actor) -> Sequence[ApiToken]:
    """The actor's own tokens, newest first."""
    _may_hold_tokens(actor)
    rows = db.execute(select(ApiToken).where(ApiToken.user_id == actor.user_id).order_by(ApiToken.id.desc()))
    return rows.scalars().all()


def create_token(db: Session, *, actor: Actor, user: User, label: str = "") -> tuple[ApiToken, str]:
    """Returns the row and the token itself, which is shown once and never stored. An official makes tokens for
    their own account; the system's operator (the CLI) and admins for anyone."""
    if not actor.has(Role.admin):
        _may_hold_tokens(actor)
        if user.id != actor.user_id:
            raise Forbidden("you can create tokens for your own account only")
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    row = ApiToken(user_id=user.id, label=label[:100], token_hash=token_hash(token), prefix=token[:11])
    db.add(row)
    db.flush()
    audit.record(
        db, actor=actor, action=AuditAction.token_create, entity_type="token", entity_ref=str(row.id),
        details=f"for {user.username}",
    )  # fmt: skip
    return row, token


def revoke_token(db: Session, *, actor: Actor, token_id: int) -> ApiToken:
    """A token is revoked by its owner, an admin or the system's operator (the CLI); anyone else is refused."""
    row, admin = db.get(ApiToken, token_id), actor.has(Role.admin)
    if row is None and admin:
        raise NotFound("no token %(id)s", id=token_id)
    if row is None or (row.user_id != actor.user_id and not admin):  # to others, an absent token is not theirs
        raise Forbidden("this is not your token")
    if row.revoked_at is None:
        row.revoked_at = clock.now()
        audit.record(db, actor=actor, action=AuditAction.token_revoke, entity_type="token", entity_ref=str(token_id))
    db.flush()
    return row


def users_for_token_hashes(db: Session, *, hashes: set[bytes]) -> dict[bytes, tuple[int, int]]:
    """For many requests at once (group commit): token hash → (user id, token id) of the valid ones. The same
    checks as user_for_token, in the same transaction as the work they authorize, so a revocation is obeyed at once."""
    if not hashes:
        return {}
    rows = db.execute(
        select(ApiToken.token_hash, ApiToken.user_id, ApiToken.id, ApiToken.last_used_at)
        .join(User, User.id == ApiToken.user_id)
        .where(ApiToken.token_hash.in_(hashes), ApiToken.revoked_at.is_(None), User.is_active.is_(True))
    ).all()
    now = clock.now()
    note_token_use(db, token_ids=[token_id for _, _, token_id, used in rows if _stale(used, now)], now=now)
    return {h: (user_id, token_id) for h, user_id, token_id, _ in rows}


USE_NOTED_EVERY = dt.timedelta(minutes=1)  # at most one write a minute per token: devices call many times a second


def _stale(last_used_at: dt.datetime | None, now: dt.datetime) -> bool:
    return last_used_at is None or now - last_used_at > USE_NOTED_EVERY


def note_token_use(db: Session, *, token_ids: Sequence[int], now: dt.datetime) -> None:
    """Note when tokens were last used, skipping a token whose row another transaction is noting right now.

    Waiting for that row lock would be a trap on PostgreSQL: the request holding it may be waiting for a
    thread of the pool that every waiter occupies (64 devices sharing one token stalled a process). The other
    transaction notes the time anyway. SQLite has no row locks: its requests take turns (core/deps.py)."""
    if not token_ids:
        return
    table = cast(Table, ApiToken.__table__)
    free = (
        select(table.c.id)
        .where(table.c.id.in_(token_ids),
               or_(table.c.last_used_at.is_(None), table.c.last_used_at < now - USE_NOTED_EVERY))
        .with_for_update(skip_locked=True)
    )  # fmt: skip
    db.execute(update(table).where(table.c.id.in_(free.scalar_subquery())).values(last_used_at=now))


def user_for_token(db: Session, *, token: str) -> tuple[User, ApiToken]:
    """The token's user; revoked tokens and inactive users are refused at once (no cache in between)."""
    return user_for_token_hash(db, digest=token_hash(token))


def user_for_token_hash(db: Session, *, digest: bytes) -> tuple[User, ApiToken]:
    row = db.execute(select(ApiToken).where(ApiToken.token_hash == digest)).scalar_one_or_none()
    if row is None or row.revoked_at is not None:
        raise Unauthenticated("invalid or revoked API token")
    user = db.get(User, row.user_id)
    if user is None or not user.is_active:
        raise Unauthenticated("the token's user is deactivated")
    now = clock.now()
    if _stale(row.last_used_at, now):
        note_token_use(db, token_ids=[row.id], now=now)
    return user, row
