"""Issuing the live QR token (制码) and verifying it at a venue's door (验码).

Verification checks the signature and the expiry, finds the person behind the opaque handle, reads the current
color (recomputed if time has moved it), the age of the latest negative test, and decides entry by the venue's
kind; it records the check-in, and a temperature of 37.3 °C or more as a fever, which is a fact that recomputes
the code. Every refusal says why, in words the door staff can act on.
"""

from __future__ import annotations

import datetime as dt
import enum
from dataclasses import dataclass
from functools import cache

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from sqlalchemy import select
from sqlalchemy.orm import Session

from fangkong.auth.actor import Actor
from fangkong.core import clock
from fangkong.core.crypto import Keyring
from fangkong.core.errors import DomainError, Forbidden, Invalid
from fangkong.healthcode import token as tokens
from fangkong.healthcode.models import FeverRecord, HealthCode
from fangkong.healthcode.policy import Color
from fangkong.healthcode.service import Cause, current, recompute
from fangkong.people.models import Person
from fangkong.testing.models import TestOutcome
from fangkong.testing.service import results_for
from fangkong.venues import checkins
from fangkong.venues.models import Checkin, CheckinSource, Venue, VenueKind

FEVER_CELSIUS = 37.3


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


def _latest_negative(db: Session, person_id: int, now: dt.datetime) -> dt.timedelta | None:
    negatives = [r.sampled_at for r in results_for(db, person_id=person_id) if r.result is TestOutcome.negative]
    past = [at for at in negatives if at <= now]
    return now - max(past) if past else None


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
        raise Forbidden("only the venue's operator verifies codes at its door")
    if temperature is not None and not 30.0 <= temperature <= 45.0:
        raise Invalid("a body temperature lies between 30 and 45 °C; %(value)s is not one", value=temperature)
    now = clock.now()
    _, public = _keypair(keys.signing_seed)
    try:
        claims = tokens.verify(code_token, keys=public, now=now)
    except tokens.TokenError as refused:
        raise CodeRefused(REFUSALS[refused.problem]) from None
    code = db.execute(select(HealthCode).where(HealthCode.handle == claims.handle)).scalar_one_or_none()
    if code is None:
        raise CodeRefused("this code was not issued by this city's system")
    person = db.get_one(Person, code.person_id)
    if person_ref is not None and person_ref != person.ref:
        raise CodeRefused("this code belongs to someone else; ask for the holder's own code")
    fever = temperature is not None and temperature >= FEVER_CELSIUS
    if fever:
        db.add(FeverRecord(person_id=person.id, venue_id=venue.id, at=now, temperature=temperature,
                           recorded_by=actor.username))  # fmt: skip
        db.flush()
        code = recompute(db, person_id=person.id, cause=Cause.of(actor, f"fever {temperature} °C at {venue.ref}"))
    else:
        code = current(db, person_id=person.id)
    age = _latest_negative(db, person.id, now)
    rule = ENTRY_RULES[venue.kind]
    if code.color not in rule.colors:
        entry, why = Entry.refuse, REFUSED_COLOR[code.color]
    elif rule.negative_within is not None and (age is None or age > rule.negative_within):
        entry, why = Entry.refuse, NEEDS_NEGATIVE_TEST
    else:
        entry, why = Entry.allow, ALLOWED
    checkin_id = None
    if entry is Entry.allow:
        checkin = Checkin(person_id=person.id, venue_id=venue.id, checked_in_at=now, source=CheckinSource.door)
        db.add(checkin)
        db.flush()
        checkin_id = checkin.id
    return Verification(person.ref, mask_name(person.name), code.color, entry, why, age, checkin_id, fever)
