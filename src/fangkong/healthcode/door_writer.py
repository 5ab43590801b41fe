"""Verification at the door for many door devices at once: the group-committed path behind the API.

The same checks, answers and writes as `door.verify_at_door`, in the same order, for every verification that
arrived while the previous group was being committed: group commit as in core/group_commit.py, which the door's
check-ins use (venues/door.py). A verification passes through two threads of the server process, which hand
work to each other directly:

- the code checker verifies the Ed25519 signature and the expiry of every code that queued up while it was
  busy. No database; the cryptography releases the GIL, so the checks run beside the event loop and beside the
  writer's commit of the previous group;
- the writer takes everything checked meanwhile as one group, in one transaction: the callers' API tokens, the
  venues with their operators' grants, and the codes with their people and each one's latest negative test are
  read with one query each for the whole group, inside the transaction that stores the check-ins, so a token
  revoked a moment ago is refused as on any other path. A cached color that is still valid is used as it is; a
  code that time has moved on is recomputed (by the rule), and a fever is recorded and recomputes the code, one
  at a time, exactly as on the single path (a later verification of the same person in the same group sees the
  new color). The check-ins of everyone let in are inserted with one statement; every answer is given once the
  commit that stored them is done, with one event-loop wake-up per group.

Each verification gets its own answer or its own error (401, 403, 422), as it would alone: an unexpected failure
of the transaction fails every verification of its group, and nothing of it is stored.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import queue
import threading
from collections.abc import Callable, Sequence
from contextlib import suppress
from dataclasses import dataclass, replace
from typing import cast

from sqlalchemy import Table, bindparam, exists, select
from sqlalchemy.orm import Session

from fangkong.auth import service as auth
from fangkong.auth.models import Role, RoleGrant, User
from fangkong.core import clock
from fangkong.core.crypto import Keyring
from fangkong.core.db import Database, UTCDateTime
from fangkong.core.errors import DomainError
from fangkong.core.importing import chunks
from fangkong.healthcode import door
from fangkong.healthcode import token as tokens
from fangkong.healthcode.models import HealthCode
from fangkong.healthcode.service import current
from fangkong.people.models import Person
from fangkong.policy.editions import Color
from fangkong.venues.door import insert_door_checkins
from fangkong.venues.models import Venue, VenueKind

log = logging.getLogger(__name__)

_QUERY_CHUNK = 1000
Claim = tokens.Claims | door.CodeRefused


@dataclass(frozen=True, slots=True)
class DoorScan:
    """One verification request: who asks (the hash of their API token), the scanned code, where, the optional
    temperature and ID card, and when it arrived (the server's clock: the code's expiry, the test's age and the
    check-in are as of then)."""

    token_hash: bytes
    code_token: str
    venue_ref: str
    at: dt.datetime
    temperature: float | None = None
    person_ref: str | None = None


@dataclass(slots=True)
class _Code:
    person_id: int
    color: Color
    valid_until: dt.datetime | None
    person_ref: str
    name: str
    negative_sampled: dt.datetime | None  # the latest standing negative test, as of the group's latest scan


# Statements built once: their compiled form and cache key are reused by every group.
_GRANTS, _VENUES, _CODES, _PEOPLE = (cast(Table, m.__table__) for m in (RoleGrant, Venue, HealthCode, Person))
# A venue, and whether its operator holds the venue-operator role (checkins.may_check_in_at's two conditions).
_VENUES_BY_REF = select(
    _VENUES.c.ref,
    _VENUES.c.id,
    _VENUES.c.kind,
    _VENUES.c.operator_user_id,
    exists().where(_GRANTS.c.user_id == _VENUES.c.operator_user_id, _GRANTS.c.role == Role.venue_operator),
).where(_VENUES.c.ref.in_(bindparam("refs", expanding=True)))
# A code, its person, and when their latest standing negative test was sampled (at or before the group's latest
# scan): one query, where the single path needs three.
_CODES_BY_HANDLE = (
    select(_CODES.c.handle, _CODES.c.person_id, _CODES.c.color, _CODES.c.valid_until, _PEOPLE.c.ref, _PEOPLE.c.name,
           door.latest_negative_column(_CODES.c.person_id, bindparam("until", type_=UTCDateTime())))
    .join(_PEOPLE, _PEOPLE.c.id == _CODES.c.person_id)
    .where(_CODES.c.handle.in_(bindparam("handles", expanding=True)))
)  # fmt: skip


def read_claim(keys: Keyring, scan: DoorScan) -> Claim:
    try:
        return door.read_code(keys, scan.code_token, scan.at)
    except door.CodeRefused as refused:
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


def _venues(db: Session, refs: set[str]) -> dict[str, tuple[int, VenueKind, int | None]]:
    """Venue ref → (id, kind, the operator's user id when that user holds the venue-operator role)."""
    found: dict[str, tuple[int, VenueKind, int | None]] = {}
    for batch in chunks(sorted(refs), _QUERY_CHUNK):
        rows = db.connection().execute(_VENUES_BY_REF, {"refs": batch})
        found |= {ref: (venue_id, kind, user if operates else None) for ref, venue_id, kind, user, operates in rows}
    return found


def _codes(db: Session, handles: set[bytes], until: dt.datetime) -> dict[bytes, _Code]:
    found: dict[bytes, _Code] = {}
    for batch in chunks(sorted(handles), _QUERY_CHUNK):
        rows = db.connection().execute(_CODES_BY_HANDLE, {"handles": batch, "until": until})
        found |= {handle: _Code(*rest) for handle, *rest in rows}
    return found


def verify_scans(
    db: Session, scans: Sequence[DoorScan], *, keys: Keyring, claims: Sequence[Claim] | None = None
) -> list[door.Verification | DomainError]:
    """Verify a group of scans in `db`; one outcome per scan, in order (see the module's docstring). `claims` are
    the code checker's readings of the scans' codes; without them the codes are read here, before the first
    query (the transaction has not begun)."""
    if claims is None:
        claims = [read_claim(keys, scan) for scan in scans]
    users = _users(db, scans)
    venues = _venues(db, {s.venue_ref for s in scans})
    until = max(s.at for s in scans)
    codes = _codes(db, {c.handle for c in claims if isinstance(c, tokens.Claims)}, until)
    now = clock.now()
    outcomes: list[door.Verification | DomainError] = []
    admitted: list[tuple[int, int, int, dt.datetime]] = []  # index, person id, venue id, time
    for index, (scan, claim) in enumerate(zip(scans, claims, strict=True)):
        user_id = users.get(scan.token_hash)
        if user_id is None:  # the API's authentication, before anything else
            outcomes.append(_refused_token(db, scan.token_hash))
            continue
        venue = venues.get(scan.venue_ref)
        # Then door.verify_at_door's checks, in its order: checkins.may_check_in_at first.
        if venue is None or venue[2] != user_id:
            outcomes.append(door.not_the_operator())
            continue
        venue_id, kind, _ = venue
        try:
            door.check_temperature(scan.temperature)
        except DomainError as error:
            outcomes.append(error)
            continue
        if isinstance(claim, door.CodeRefused):
            outcomes.append(claim)
            continue
        code = codes.get(claim.handle)
        if code is None:
            outcomes.append(door.not_ours())
            continue
        if scan.person_ref is not None and scan.person_ref != code.person_ref:
            outcomes.append(door.someone_elses())
            continue
        fever = scan.temperature is not None and scan.temperature >= door.FEVER_CELSIUS
        if scan.temperature is not None and fever:
            user = db.get_one(User, user_id)
            stored = door.record_fever(db, person_id=code.person_id, venue=(venue_id, scan.venue_ref), at=scan.at,
                                       temperature=scan.temperature, by=(user.id, user.username))  # fmt: skip
            code.color, code.valid_until = stored.color, stored.valid_until  # later scans in the group see it
        elif code.valid_until is not None and code.valid_until <= now:
            stored = current(db, person_id=code.person_id)  # time moved the code on: recomputed by the rule
            code.color, code.valid_until = stored.color, stored.valid_until
        sampled = code.negative_sampled
        if sampled is not None and sampled > scan.at:  # a test sampled after this scan arrived: not yet known
            age = door.latest_negative_age(db, code.person_id, scan.at)
        else:
            age = scan.at - sampled if sampled is not None else None
        entry, why = door.decide(kind, code.color, age)
        if entry is door.Entry.allow:
            admitted.append((index, code.person_id, venue_id, scan.at))
        outcomes.append(door.Verification(code.person_ref, door.mask_name(code.name), code.color, entry, why, age,
                                          None, fever))  # fmt: skip
    ids = insert_door_checkins(db, [(person_id, venue_id, at) for _, person_id, venue_id, at in admitted])
    for (index, *_), checkin_id in zip(admitted, ids, strict=True):
        verification = outcomes[index]
        assert isinstance(verification, door.Verification)
        outcomes[index] = replace(verification, checkin_id=checkin_id)
    return outcomes


_Pending = tuple[DoorScan, Claim | None, "asyncio.Future[door.Verification]"]
MAX_GROUP = 2000  # verifications in one transaction at most


class _Stage:
    """A thread that takes everything queued while it was busy (up to MAX_GROUP) and hands it to `work`. It starts
    on the first submission and ends after `idle_seconds` with nothing to do, so an idle server (or a test's
    application) holds no thread."""

    def __init__(self, name: str, work: Callable[[list[_Pending]], None], idle_seconds: float) -> None:
        self._name = name
        self._work = work
        self._idle_seconds = idle_seconds
        self._queue: queue.SimpleQueue[list[_Pending]] = queue.SimpleQueue()
        self._lock = threading.Lock()
        self._running = False

    def submit(self, pending: list[_Pending]) -> None:
        with self._lock:
            self._queue.put(pending)
            if not self._running:
                self._running = True
                threading.Thread(target=self._run, name=self._name, daemon=True).start()

    def _run(self) -> None:
        while True:
            try:
                pending = self._queue.get(timeout=self._idle_seconds)
            except queue.Empty:
                with self._lock:  # submit() puts under the lock: an empty queue stays empty until a new thread
                    if self._queue.empty():
                        self._running = False
                        return
                continue
            while len(pending) < MAX_GROUP:
                try:
                    pending.extend(self._queue.get_nowait())
                except queue.Empty:
                    break
            try:
                self._work(pending)
            except Exception as exc:  # a bug, not a refusal: every waiting request gets it (a 500), none hangs
                log.exception("door verification: %s failed for %d scans", self._name, len(pending))
                _answer(pending, [exc] * len(pending))


class DoorVerifier:
    """The door's verifications for one server process: the code checker's thread, then the writer's (see the
    module's docstring). While the writer commits a group, the checker reads the codes of the next one."""

    def __init__(self, database: Database, keys: Keyring, *, idle_seconds: float = 1.0) -> None:
        self._database = database
        self._keys = keys
        self._writer = _Stage("door-writer", self._write, idle_seconds)
        self._checker = _Stage("door-codes", self._check, idle_seconds)
        self.groups = 0  # transactions committed, for the curious (and the tests)

    async def verify(self, scan: DoorScan) -> door.Verification:
        """The scan's verification, once the commit that stored its check-in (if any) is done; a refusal raises."""
        future: asyncio.Future[door.Verification] = asyncio.get_running_loop().create_future()
        self._checker.submit([(scan, None, future)])
        return await future

    def _check(self, pending: list[_Pending]) -> None:
        self._writer.submit([(scan, read_claim(self._keys, scan), future) for scan, _, future in pending])

    def _write(self, pending: list[_Pending]) -> None:
        scans = [scan for scan, _, _ in pending]
        claims = [claim for _, claim, _ in pending]
        outcomes: Sequence[door.Verification | Exception]
        try:
            with self._database.unit_of_work() as db:
                outcomes = verify_scans(db, scans, keys=self._keys, claims=cast(list[Claim], claims))
        except Exception as exc:  # the transaction is rolled back: nobody in it was stored
            log.exception("door verification of %d scans failed", len(scans))
            outcomes = [exc] * len(scans)
        else:
            self.groups += 1
        _answer(pending, outcomes)


def _answer(pending: list[_Pending], outcomes: Sequence[door.Verification | Exception]) -> None:
    """Settle each request's future with its outcome: one wake-up per event loop for the whole group."""
    by_loop: dict[asyncio.AbstractEventLoop, list[tuple[asyncio.Future[door.Verification], object]]] = {}
    for (_, _, future), outcome in zip(pending, outcomes, strict=True):
        by_loop.setdefault(future.get_loop(), []).append((future, outcome))
    for loop, settled in by_loop.items():
        with suppress(RuntimeError):  # that loop has closed: nobody waits for these answers any more
            loop.call_soon_threadsafe(_settle, settled)


def _settle(settled: list[tuple[asyncio.Future[door.Verification], object]]) -> None:
    for future, outcome in settled:
        if future.cancelled():  # the client went away; its check-in is stored all the same
            continue
        if isinstance(outcome, BaseException):
            future.set_exception(outcome)
        else:
            future.set_result(cast(door.Verification, outcome))
