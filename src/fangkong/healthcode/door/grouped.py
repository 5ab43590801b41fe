"""Verification at the door for many door devices at once: the group-committed path behind the API.

The same checks, answers and writes as `verify.verify_at_door`, in the same order (and the same `verify_holder`
once the code is found), for every verification that arrived while the previous group was being committed:
core/group_commit.py's GroupCommitter, as the door's check-ins (venues/checkin_writer.py). A verification passes
through two threads of the server process:

- the committer's prepare step verifies the Ed25519 signature and the expiry of every code that queued up while
  it was busy. No database; the cryptography releases the GIL, so the checks run beside the event loop and beside the
  writer's commit of the previous group;
- the writer takes everything checked meanwhile as one group, in one transaction: the callers' API tokens, the
  venues with their operators' grants, and the codes with their people and each one's latest negative test are
  read with one query each for the whole group, inside the transaction that stores the check-ins, so a token
  revoked a moment ago is refused as on any other path. A cached color that is still valid is used as it is; a
  code that time has moved on is recomputed (by the rule), and a fever is recorded and recomputes the code, one
  at a time, exactly as on the single path (a later verification of the same person in the same group sees the
  new color). The decision is decision.decide_scan's. The check-ins of everyone let in are inserted with one
  statement; every answer is given once the commit that stored them is done, with one event-loop wake-up per
  group.

Each verification gets its own answer or its own error (401, 403, 422), as it would alone: an unexpected failure
of the transaction fails every verification of its group, and nothing of it is stored.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, replace
from functools import partial

from sqlalchemy.orm import Session

from fangkong.auth import service as auth
from fangkong.auth.models import User
from fangkong.core import clock
from fangkong.core.crypto import Keyring
from fangkong.core.db import Database
from fangkong.core.errors import DomainError
from fangkong.core.group_commit import GroupCommitter
from fangkong.core.inputs import control_problem, refuse_control
from fangkong.healthcode import token as tokens
from fangkong.healthcode.door.decision import Entry, check_temperature
from fangkong.healthcode.door.verify import (
    CodeRefused,
    Verification,
    holders,
    not_ours,
    not_the_operator,
    read_code,
    verify_holder,
)
from fangkong.venues.checkin_writer import insert_door_checkins
from fangkong.venues.service import door_venues

Claim = tokens.Claims | CodeRefused
MAX_GROUP = 2000  # verifications in one transaction at most


@dataclass(frozen=True, slots=True)
class DoorScan:
    """One verification request: who asks (the hash of their API token), the scanned code, where, the optional
    temperature and ID card, and when it arrived (the server's clock: the code's expiry, the test's age and the
    check-in are as of then). `claim` is the code's reading, once the prepare step has made it."""

    token_hash: bytes
    code_token: str
    venue_ref: str
    at: dt.datetime
    temperature: float | None = None
    person_ref: str | None = None
    claim: Claim | None = None


def read_claim(keys: Keyring, scan: DoorScan) -> Claim:
    try:
        return read_code(keys, scan.code_token, scan.at)
    except CodeRefused as refused:
        return refused


def _users(db: Session, scans: Sequence[DoorScan]) -> dict[bytes, int]:
    """Token hash → user id, for the valid tokens (auth.service's checks, in this transaction)."""
    users = auth.users_for_token_hashes(db, hashes={s.token_hash for s in scans})
    return {digest: user_id for digest, (user_id, _) in users.items()}


def _refused_token(db: Session, digest: bytes) -> DomainError:
    """The error the single path gives for a token that is not valid (unknown, revoked, or its user deactivated)."""
    try:
        auth.user_for_token_hash(db, digest=digest)
    except DomainError as error:
        return error
    return auth.Unauthenticated("invalid or revoked API token")  # valid after all: never, in one transaction


def _recorder(db: Session, user_id: int) -> tuple[int | None, str]:
    user = db.get_one(User, user_id)
    return user.id, user.username


def _refs(scan: DoorScan) -> dict[str, object]:
    return {"venue_ref": scan.venue_ref, "person_ref": scan.person_ref}


def verify_scans(db: Session, scans: Sequence[DoorScan], *, keys: Keyring) -> list[Verification | DomainError]:
    """Verify a group of scans in `db`; one outcome per scan, in order (see the module's docstring). A scan's code
    is read here, before the first query (the transaction has not begun), unless the prepare step read it."""
    claims = [scan.claim if scan.claim is not None else read_claim(keys, scan) for scan in scans]
    # A ref with a control character is refused before the first query (the API refuses it already): PostgreSQL
    # refuses U+0000 in text, and the error would fail the whole group's transaction.
    bad = {i: problem for i, s in enumerate(scans) if (problem := control_problem(_refs(s)))}
    users = _users(db, [s for i, s in enumerate(scans) if i not in bad])
    venues = door_venues(db, {s.venue_ref for i, s in enumerate(scans) if i not in bad})
    until = max(s.at for s in scans)
    found = holders(db, {c.handle for c in claims if isinstance(c, tokens.Claims)}, until)
    now = clock.now()
    outcomes: list[Verification | DomainError] = []
    admitted: list[tuple[int, int, int, dt.datetime]] = []  # index, person id, venue id, time
    for index, (scan, claim) in enumerate(zip(scans, claims, strict=True)):
        if index in bad:
            outcomes.append(refuse_control(*bad[index]))
            continue
        user_id = users.get(scan.token_hash)
        if user_id is None:  # the API's authentication, before anything else
            outcomes.append(_refused_token(db, scan.token_hash))
            continue
        venue = venues.get(scan.venue_ref)
        # Then verify.verify_at_door's checks, in its order: venues.service.may_act_for_venue first.
        if venue is None or not venue.lets(user_id):
            outcomes.append(not_the_operator())
            continue
        try:
            check_temperature(scan.temperature)
            if isinstance(claim, CodeRefused):
                raise claim
            holder = found.get(claim.handle)
            if holder is None:
                raise not_ours()
            verification = verify_holder(db, holder=holder, venue=(venue.id, venue.ref, venue.kind), at=scan.at,
                                         now=now, temperature=scan.temperature, id_card_ref=scan.person_ref,
                                         by=partial(_recorder, db, user_id))  # fmt: skip
        except DomainError as error:
            outcomes.append(error)
            continue
        if verification.entry is Entry.allow:
            admitted.append((index, holder.person_id, venue.id, scan.at))
        outcomes.append(verification)
    ids = insert_door_checkins(db, [(person_id, venue_id, at) for _, person_id, venue_id, at in admitted])
    for (index, *_), checkin_id in zip(admitted, ids, strict=True):
        admitted_one = outcomes[index]
        assert isinstance(admitted_one, Verification)
        outcomes[index] = replace(admitted_one, checkin_id=checkin_id)
    return outcomes


class DoorVerifier:
    """The door's verifications for one server process, group-committed: the prepare step reads the codes of
    everything that queued up (no database) while the writer commits the previous group."""

    def __init__(self, database: Database, keys: Keyring, *, idle_seconds: float = 1.0) -> None:
        self._keys = keys
        self._committer: GroupCommitter[DoorScan, Verification] = GroupCommitter(
            database, self._write, prepare=self._read_codes, name="door-verify", max_batch=MAX_GROUP,
            idle_seconds=idle_seconds,
        )  # fmt: skip

    @property
    def groups(self) -> int:
        """Transactions committed, for the curious (and the tests)."""
        return self._committer.batches

    async def verify(self, scan: DoorScan) -> Verification:
        """The scan's verification, once the commit that stored its check-in (if any) is done; a refusal raises."""
        return await self._committer.run(scan)

    def _read_codes(self, scans: Sequence[DoorScan]) -> list[DoorScan]:
        return [replace(scan, claim=read_claim(self._keys, scan)) for scan in scans]

    def _write(self, db: Session, scans: Sequence[DoorScan]) -> list[Verification | DomainError]:
        return verify_scans(db, scans, keys=self._keys)
