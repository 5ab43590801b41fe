"""Issuing the live QR token (制码) and verifying it at a venue's door (验码).

Verification checks the signature and the expiry, finds the person behind the opaque handle, reads the current
color (recomputed if time has moved it), the age of the latest negative test, and decides entry by the venue's
kind; it records the check-in, and a temperature of 37.3 °C or more as a fever, which is a fact that recomputes
the code. Every refusal says why, in words the door staff can act on.
"""

from __future__ import annotations

import datetime as dt
import enum
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache
from typing import Any, cast

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from sqlalchemy import ColumnElement, Table, bindparam, exists, func, select
from sqlalchemy.orm import Session

from fangkong.auth.actor import Actor
from fangkong.core import clock
from fangkong.core.crypto import Keyring
from fangkong.core.db import UTCDateTime
from fangkong.core.errors import DomainError, Forbidden, Invalid
from fangkong.core.facts import Cause
from fangkong.core.importing import chunks
from fangkong.healthcode import token as tokens
from fangkong.healthcode.models import CodeCause, FeverRecord, HealthCode
from fangkong.healthcode.service import current, recompute
from fangkong.people.models import Person
from fangkong.policy.editions import Color
from fangkong.testing.models import TestOutcome, TestResult
from fangkong.venues import checkins
from fangkong.venues.door import insert_door_checkins
from fangkong.venues.models import Venue, VenueKind

FEVER_CELSIUS = 37.3
_QUERY_CHUNK = 1000


class CodeRefused(DomainError):
    """A code that cannot be accepted at all: not a code, forged, expired, someone else's."""

    status_code = 422
    code = "code_refused"


REFUSALS = {
    tokens.TokenProblem.malformed: "this is not a fangkong health code; ask for the code page to be opened again",
    tokens.TokenProblem.unknown_key: "this code was not issued by this city's system",
    tokens.TokenProblem.forged: "this code has been altered or made up; it does not pass",
    tokens.TokenProblem.expired: "this code has expired (a screenshot?); ask for the live code page",
    tokens.TokenProblem.not_yet_valid: "this code's time is ahead of the server's; check the phone's clock",
}


@dataclass(frozen=True, slots=True)
class EntryRule:
    colors: frozenset[Color]  # colors let in
    negative_within: dt.timedelta | None = None  # a negative test sampled this recently is also needed


# Who may enter, by venue kind. Green everywhere; hospitals and clinics also want a negative test from the last
# 48 hours, as hospitals asked in 2022 (the issue's example). Yellow and red go to a fever clinic or stay home.
GREEN = EntryRule(frozenset({Color.green}))
ENTRY_RULES: dict[VenueKind, EntryRule] = dict.fromkeys(VenueKind, GREEN) | {
    VenueKind.hospital: EntryRule(frozenset({Color.green}), dt.timedelta(hours=48)),
    VenueKind.clinic: EntryRule(frozenset({Color.green}), dt.timedelta(hours=48)),
}


ALLOWED = "may enter"
NEEDS_NEGATIVE_TEST = "this place also needs a negative test from the last 48 hours"
REFUSED_COLOR = {color: f"a {color.value} code does not enter here" for color in Color}


class Entry(enum.StrEnum):
    allow = "allow"
    refuse = "refuse"


@cache
def _keypair(seed: bytes) -> tuple[Ed25519PrivateKey, dict[bytes, Ed25519PublicKey]]:
    private = tokens.signing_key(seed)
    public = private.public_key()
    return private, {tokens.key_id(public): public}


def public_key(keys: Keyring) -> tuple[bytes, bytes]:
    """(key id, raw public key): what scanners need to verify codes offline."""
    _, public = _keypair(keys.signing_seed)
    [(kid, key)] = public.items()
    return kid, tokens.public_bytes(key)


@dataclass(frozen=True, slots=True)
class IssuedCode:
    token: str
    color: Color
    issued_at: dt.datetime
    expires_at: dt.datetime
    code: HealthCode


def issue_for(db: Session, *, keys: Keyring, person_id: int) -> IssuedCode:
    """A fresh token for the person's current code (the resident's page asks for one every minute or so)."""
    code = current(db, person_id=person_id)
    now = clock.now().replace(microsecond=0)
    private, _ = _keypair(keys.signing_seed)
    text = tokens.issue(private, handle=code.handle, color=code.color.value, issued_at=now)
    return IssuedCode(text, code.color, now, now + tokens.DEFAULT_LIFETIME, code)


@dataclass(frozen=True, slots=True)
class Verification:
    person_ref: str
    masked_name: str
    color: Color
    entry: Entry
    why: str  # the rule that decided, in English msgid form (translated by the caller)
    negative_test_age: dt.timedelta | None
    checkin_id: int | None
    fever: bool


def mask_name(name: str) -> str:
    """王芳 → 王*, 欧阳娜娜 → 欧***: enough for door staff to match a face, not to learn who it is."""
    return name[:1] + "*" * max(len(name) - 1, 1)


_TESTS = cast(Table, TestResult.__table__)
_LATER = _TESTS.alias("later")


def _standing_negative(until: ColumnElement[dt.datetime]) -> tuple[ColumnElement[bool], ...]:
    """A test_result row that is a negative sampled at or before `until`, standing as in testing.service.
    results_for: neither a withdrawal row nor a result that a later row of the same person withdraws."""
    withdrawn = exists().where(_LATER.c.person_id == _TESTS.c.person_id, _LATER.c.withdraws_id == _TESTS.c.id)
    return (_TESTS.c.result == TestOutcome.negative, _TESTS.c.sampled_at <= until, _TESTS.c.withdraws_id.is_(None),
            ~withdrawn)  # fmt: skip


# Built once: the statement's compiled form and cache key are then reused on every call.
_LATEST_NEGATIVES = (
    select(_TESTS.c.person_id, func.max(_TESTS.c.sampled_at))
    .where(_TESTS.c.person_id.in_(bindparam("people", expanding=True)),
           *_standing_negative(bindparam("until", type_=UTCDateTime())))
    .group_by(_TESTS.c.person_id)
)  # fmt: skip


def latest_negative_column(person_id: ColumnElement[int], until: ColumnElement[dt.datetime]) -> ColumnElement[Any]:
    """The same reading as latest_negatives, as a column of another query (correlated on `person_id`; the
    (person, sampled_at) index serves it): when the person's latest standing negative was sampled, or NULL."""
    return (
        select(func.max(_TESTS.c.sampled_at))
        .where(_TESTS.c.person_id == person_id, *_standing_negative(until))
        .scalar_subquery()
    )


def latest_negatives(db: Session, person_ids: Iterable[int], *, until: dt.datetime) -> dict[int, dt.datetime]:
    """person id → when their latest standing negative test was sampled, at or before `until`; people with none
    are left out. One grouped query on the (person, sampled_at) index for many people: the door answers with the
    test's age for everyone (door_writer reads it with latest_negative_column instead, in the codes' query)."""
    found: dict[int, dt.datetime] = {}
    connection = db.connection()
    for batch in chunks(sorted(set(person_ids)), _QUERY_CHUNK):
        rows = connection.execute(_LATEST_NEGATIVES, {"people": batch, "until": until})
        found |= {person_id: at for person_id, at in rows if at is not None}
    return found


def latest_negative_age(db: Session, person_id: int, now: dt.datetime) -> dt.timedelta | None:
    """How long ago the person's latest standing negative test was sampled, as of `now`; None without one."""
    at = latest_negatives(db, [person_id], until=now).get(person_id)
    return now - at if at is not None else None


def check_temperature(temperature: float | None) -> None:
    if temperature is not None and not 30.0 <= temperature <= 45.0:
        raise Invalid("a body temperature lies between 30 and 45 °C; %(value)s is not one", value=temperature)


def read_code(keys: Keyring, code_token: str, now: dt.datetime) -> tokens.Claims:
    """The claims of a genuine live code, or CodeRefused saying why not (the signature is always checked)."""
    _, public = _keypair(keys.signing_seed)
    try:
        return tokens.verify(code_token, keys=public, now=now)
    except tokens.TokenError as refused:
        raise CodeRefused(REFUSALS[refused.problem]) from None


def not_the_operator() -> Forbidden:
    return Forbidden("only the venue's operator verifies codes at its door")


def not_ours() -> CodeRefused:
    return CodeRefused("this code was not issued by this city's system")


def someone_elses() -> CodeRefused:
    return CodeRefused("this code belongs to someone else; ask for the holder's own code")


def record_fever(
    db: Session,
    *,
    person_id: int,
    venue: tuple[int, str],
    at: dt.datetime,
    temperature: float,
    by: tuple[int | None, str],
) -> HealthCode:
    """A fever measured at a venue's door (its id and ref) by a user (id and name): recorded as a fact, which
    recomputes the person's code."""
    (venue_id, venue_ref), (user_id, username) = venue, by
    db.add(FeverRecord(person_id=person_id, venue_id=venue_id, at=at, temperature=temperature, recorded_by=username))
    db.flush()
    cause = Cause(CodeCause.fever, {"celsius": temperature, "venue": venue_ref}, username, user_id)
    return recompute(db, person_id=person_id, cause=cause)


def decide(kind: VenueKind, color: Color, negative_test_age: dt.timedelta | None) -> tuple[Entry, str]:
    """The venue's entry rule applied to a code's color and the age of the latest negative test."""
    rule = ENTRY_RULES[kind]
    if color not in rule.colors:
        return Entry.refuse, REFUSED_COLOR[color]
    if rule.negative_within is not None and (negative_test_age is None or negative_test_age > rule.negative_within):
        return Entry.refuse, NEEDS_NEGATIVE_TEST
    return Entry.allow, ALLOWED


def verify_at_door(
    db: Session,
    *,
    actor: Actor,
    keys: Keyring,
    code_token: str,
    venue_ref: str,
    temperature: float | None = None,
    person_ref: str | None = None,
) -> Verification:
    """Verify a scanned code at a venue of the operator's and decide entry. `person_ref`, when the door also read
    an ID card, must be the code's owner: another person's code (a forwarded screenshot, a borrowed phone) is
    refused."""
    venue = db.execute(select(Venue).where(Venue.ref == venue_ref)).scalar_one_or_none()
    if venue is None or not checkins.may_check_in_at(actor, venue):
        raise not_the_operator()
    check_temperature(temperature)
    now = clock.now()
    claims = read_code(keys, code_token, now)
    code = db.execute(select(HealthCode).where(HealthCode.handle == claims.handle)).scalar_one_or_none()
    if code is None:
        raise not_ours()
    person = db.get_one(Person, code.person_id)
    if person_ref is not None and person_ref != person.ref:
        raise someone_elses()
    fever = temperature is not None and temperature >= FEVER_CELSIUS
    if temperature is not None and fever:
        code = record_fever(db, person_id=person.id, venue=(venue.id, venue.ref), at=now, temperature=temperature,
                            by=(actor.user_id, actor.username))  # fmt: skip
    else:
        code = current(db, person_id=person.id)
    age = latest_negative_age(db, person.id, now)
    entry, why = decide(venue.kind, code.color, age)
    checkin_id = None
    if entry is Entry.allow:
        # A double scan of one person at one venue in the same instant is one check-in, not a conflict.
        [checkin_id] = insert_door_checkins(db, [(person.id, venue.id, now)])
    return Verification(person.ref, mask_name(person.name), code.color, entry, why, age, checkin_id, fever)
