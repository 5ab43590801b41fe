"""Issuing the live QR token (制码) and verifying it at a venue's door (验码), one scan at a time.

Verification checks the signature and the expiry, finds the person behind the opaque handle, brings the color up
to date (a fever this scan measured is recorded first, a fact that recomputes the code; a color that time has
moved on is recomputed), reads when the latest standing negative test was sampled, and takes decision.decide_scan's
decision; it records the check-in of whoever is let in. `verify_holder` is that sequence for a code already found,
shared with the door devices' grouped path (grouped.py). Every refusal says why, in words the door staff can act on.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, replace
from functools import cache
from typing import cast

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from sqlalchemy import Table, bindparam, select
from sqlalchemy.orm import Session

from fangkong.auth.actor import Actor
from fangkong.core import clock
from fangkong.core.crypto import Keyring
from fangkong.core.db import UTCDateTime
from fangkong.core.errors import DomainError, Forbidden
from fangkong.core.facts import Cause
from fangkong.core.importing import chunks
from fangkong.healthcode import token as tokens
from fangkong.healthcode.door.decision import Entry, check_temperature, decide_scan, is_fever, is_stale, mask_name
from fangkong.healthcode.models import CodeCause, FeverRecord, HealthCode
from fangkong.healthcode.service import current, recompute
from fangkong.people.models import Person
from fangkong.policy.editions import Color
from fangkong.testing.queries import latest_negative_column, latest_negatives
from fangkong.venues.checkin_writer import insert_door_checkins
from fangkong.venues.models import Venue, VenueKind
from fangkong.venues.service import may_act_for_venue

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


@dataclass(slots=True)
class Holder:
    """A code's holder as the door needs them: the cached color and until when it holds, and when their latest
    standing negative test was sampled (as of the `until` it was read for)."""

    person_id: int
    color: Color
    valid_until: dt.datetime | None
    person_ref: str
    name: str
    negative_sampled: dt.datetime | None


_CODES, _PEOPLE = (cast(Table, m.__table__) for m in (HealthCode, Person))
# Built once: its compiled form and cache key are reused by every call. One query where reading the code, the
# person and the test apart would take three.
_HOLDERS_BY_HANDLE = (
    select(_CODES.c.handle, _CODES.c.person_id, _CODES.c.color, _CODES.c.valid_until, _PEOPLE.c.ref, _PEOPLE.c.name,
           latest_negative_column(_CODES.c.person_id, bindparam("until", type_=UTCDateTime())))
    .join(_PEOPLE, _PEOPLE.c.id == _CODES.c.person_id)
    .where(_CODES.c.handle.in_(bindparam("handles", expanding=True)))
)  # fmt: skip


def holders(db: Session, handles: set[bytes], until: dt.datetime) -> dict[bytes, Holder]:
    """Code handle → its holder, with their latest standing negative test sampled at or before `until`."""
    db.flush()  # the statement goes to the connection, past the session's autoflush
    found: dict[bytes, Holder] = {}
    for batch in chunks(sorted(handles), _QUERY_CHUNK):
        rows = db.connection().execute(_HOLDERS_BY_HANDLE, {"handles": batch, "until": until})
        found |= {handle: Holder(*rest) for handle, *rest in rows}
    return found


def verify_holder(
    db: Session,
    *,
    holder: Holder,
    venue: tuple[int, str, VenueKind],
    at: dt.datetime,
    now: dt.datetime,
    temperature: float | None,
    id_card_ref: str | None,
    by: Callable[[], tuple[int | None, str]],
) -> Verification:
    """The scan of `holder`'s code at `venue` (id, ref, kind) at `at`, up to the decision (no check-in yet): both
    paths' steps after the code was found. `by` names who records a fever (user id, name); `holder` is brought up
    to date in place, so a later scan of the same person in the same transaction sees the new color."""
    if id_card_ref is not None and id_card_ref != holder.person_ref:
        raise someone_elses()
    venue_id, venue_ref, kind = venue
    if temperature is not None and is_fever(temperature):
        stored = record_fever(db, person_id=holder.person_id, venue=(venue_id, venue_ref), at=at,
                              temperature=temperature, by=by())  # fmt: skip
        holder.color, holder.valid_until = stored.color, stored.valid_until
    elif is_stale(holder.valid_until, now):
        stored = current(db, person_id=holder.person_id)  # time moved the code on: recomputed by the rule
        holder.color, holder.valid_until = stored.color, stored.valid_until
    sampled = holder.negative_sampled
    if sampled is not None and sampled > at:  # a test sampled after this scan arrived: not yet known
        sampled = latest_negatives(db, [holder.person_id], until=at).get(holder.person_id)
    decision = decide_scan(kind=kind, color=holder.color, negative_sampled_at=sampled, temperature=temperature, at=at)
    return Verification(holder.person_ref, mask_name(holder.name), holder.color, decision.entry, decision.why,
                        decision.negative_test_age, None, decision.fever)  # fmt: skip


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
    if venue is None or not may_act_for_venue(actor, venue):
        raise not_the_operator()
    check_temperature(temperature)
    now = clock.now()
    claims = read_code(keys, code_token, now)
    holder = holders(db, {claims.handle}, now).get(claims.handle)
    if holder is None:
        raise not_ours()
    result = verify_holder(db, holder=holder, venue=(venue.id, venue.ref, venue.kind), at=now, now=now,
                           temperature=temperature, id_card_ref=person_ref,
                           by=lambda: (actor.user_id, actor.username))  # fmt: skip
    if result.entry is Entry.allow:
        # A double scan of one person at one venue in the same instant is one check-in, not a conflict.
        [checkin_id] = insert_door_checkins(db, [(holder.person_id, venue.id, now)])
        result = replace(result, checkin_id=checkin_id)
    return result
