"""Login throttling by growing delays, never by a lockout of the account's owner (issue 13).

Five wrong passwords used to lock an account for 15 minutes, so anyone could lock the commander out. Now every
rule is a wait that grows with recent failures (the failed rows of LoginAttempt), and strangers' failures never
slow down a source the account knows:

- the pair, one account from one source: after PAIR_FREE_FAILURES within FAILURE_MEMORY, each further try
  waits 1 s, 2 s, 4 s … up to MAX_DELAY after the pair's last failure. Someone who mistypes twice never
  waits; a guesser from one place gets about a dozen tries an hour.
- the account from unknown sources: after ACCOUNT_FREE_FAILURES failures from sources the account does not
  know, an attempt from an unknown source waits the same way after the last of them (a botnet spread over many
  addresses gets a few tries a window, and the owner on a new network waits at most MAX_DELAY).
- the address, across accounts: MAX_FAILURES_PER_ADDRESS failures from one address within ADDRESS_WINDOW
  (spraying one password over many accounts) refuse its attempts on accounts it does not know until enough of
  them leave the window.

A source the account knows obeys only its own pair's delay: a browser holding the signed known-device cookie
of a previous successful login of the account (auth/sessions.py; its attempts count under "device:<id>" rather
than the address, so strangers behind the same address do not delay it either), or an address from which the
account logged in successfully within KNOWN_ADDRESS_PERIOD. The cookie needs no captcha and no phone; the
address covers the owner's office after they cleared their cookies. Neither can be made without the password.
"""

from __future__ import annotations

import datetime as dt
import enum
import math
from dataclasses import dataclass

from sqlalchemy import ColumnElement, and_, func, select
from sqlalchemy.orm import Session

from fangkong.auth.models import LoginAttempt

MAX_DELAY = dt.timedelta(minutes=5)  # no wait is longer: the longest the owner on a new device and network waits
# Failures older than this no longer make a wait grow. It holds the dozen failures that reach MAX_DELAY at that
# pace (2**9 s > 5 min): with a shorter memory, a guesser at the cap would see the count, and the wait, fall.
FAILURE_MEMORY = dt.timedelta(hours=1)
ADDRESS_WINDOW = dt.timedelta(minutes=15)
PAIR_FREE_FAILURES = 3
ACCOUNT_FREE_FAILURES = 5
MAX_FAILURES_PER_ADDRESS = 20
KNOWN_ADDRESS_PERIOD = dt.timedelta(days=30)
DEVICE_SOURCE = "device:"  # the prefix of a known device's source, which no network address has


class Limit(enum.StrEnum):
    account = "account"
    address = "address"


@dataclass(frozen=True, slots=True)
class Source:
    """Where an attempt counts: `key` is stored as LoginAttempt.address (an address, or "device:<id>")."""

    key: str
    known: bool  # the account logged in from here before: strangers' failures do not delay it


@dataclass(frozen=True, slots=True)
class Wait:
    until: dt.datetime
    limit: Limit

    def seconds(self, now: dt.datetime) -> int:
        return max(1, math.ceil((self.until - now).total_seconds()))


def growing_delay(failures: int, free: int) -> dt.timedelta | None:
    """The wait after `failures` recent failures: none for the first `free`, then 1 s, 2 s, 4 s … up to MAX_DELAY."""
    if failures < free:
        return None
    exponent = min(failures - free, 30)  # 2**30 s is far past any cap
    return min(dt.timedelta(seconds=2**exponent), MAX_DELAY)


def source_of(db: Session, *, username: str, address: str, device_id: str | None, now: dt.datetime) -> Source:
    """`device_id` only when the request holds a valid known-device cookie naming this account."""
    if device_id is not None:
        return Source(key=f"{DEVICE_SOURCE}{device_id}", known=True)
    known = db.execute(
        select(LoginAttempt.id)
        .where(
            LoginAttempt.username == username,
            LoginAttempt.address == address,
            LoginAttempt.succeeded.is_(True),
            LoginAttempt.at >= now - KNOWN_ADDRESS_PERIOD,
        )
        .limit(1)
    ).first()
    return Source(key=address, known=known is not None)


def _failures(db: Session, since: dt.datetime, *where: ColumnElement[bool]) -> tuple[int, dt.datetime | None]:
    """How many failures match, and the last one's time."""
    count, last = db.execute(
        select(func.count(), func.max(LoginAttempt.at)).where(
            LoginAttempt.at >= since, LoginAttempt.succeeded.is_(False), *where
        )
    ).one()
    return int(count), last


def _strangers(username: str, now: dt.datetime) -> ColumnElement[bool]:
    """Failures on the account from sources it does not know (neither a device nor an address it logged in from)."""
    known_addresses = select(LoginAttempt.address).where(
        LoginAttempt.username == username,
        LoginAttempt.succeeded.is_(True),
        LoginAttempt.at >= now - KNOWN_ADDRESS_PERIOD,
    )
    return and_(
        LoginAttempt.username == username,
        LoginAttempt.address.not_like(f"{DEVICE_SOURCE}%"),
        LoginAttempt.address.not_in(known_addresses),
    )


def _address_frees_at(db: Session, address: str, since: dt.datetime) -> dt.datetime | None:
    """When fewer than MAX_FAILURES_PER_ADDRESS failures from the address remain in the window (None: already)."""
    count, _ = _failures(db, since, LoginAttempt.address == address)
    if count < MAX_FAILURES_PER_ADDRESS:
        return None
    # The failure whose expiry brings the count under the cap: the (count - cap + 1)-th oldest.
    oldest = db.execute(
        select(LoginAttempt.at)
        .where(LoginAttempt.address == address, LoginAttempt.at >= since, LoginAttempt.succeeded.is_(False))
        .order_by(LoginAttempt.at, LoginAttempt.id)
        .offset(count - MAX_FAILURES_PER_ADDRESS)
        .limit(1)
    ).scalar_one()
    return oldest + ADDRESS_WINDOW


def wait_for(db: Session, *, username: str, source: Source, now: dt.datetime) -> Wait | None:
    """How long this attempt must wait, if at all: the longest of the rules that apply to its source."""
    since = now - FAILURE_MEMORY
    waits = []
    count, last = _failures(db, since, LoginAttempt.username == username, LoginAttempt.address == source.key)
    if last is not None and (delay := growing_delay(count, PAIR_FREE_FAILURES)) is not None:
        waits.append(Wait(last + delay, Limit.account))
    if not source.known:
        count, last = _failures(db, since, _strangers(username, now))
        if last is not None and (delay := growing_delay(count, ACCOUNT_FREE_FAILURES)) is not None:
            waits.append(Wait(last + delay, Limit.account))
        if (frees_at := _address_frees_at(db, source.key, now - ADDRESS_WINDOW)) is not None:
            waits.append(Wait(frees_at, Limit.address))
    return max((w for w in waits if w.until > now), key=lambda w: w.until, default=None)
