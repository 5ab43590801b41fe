"""The check-in writer: door devices' single check-ins and offline scanners' batches, group-committed.

These are the city's hottest write paths. Each request is authenticated, checked and answered on its own, but
its write shares one transaction (and one disk flush) with every other check-in request that arrived meanwhile:
see core/group_commit.py. One writer also means that on SQLite no request ever waits for the write lock.

The token, the venue and the person of every single check-in in the group are resolved with one query each,
inside the transaction that stores them, so a token revoked a moment ago is refused as on any other path. Each
batch runs in its own savepoint: a batch that fails takes nobody else's check-ins with it.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select, tuple_
from sqlalchemy.orm import Session

from fangkong.auth import service as auth
from fangkong.auth.audit_models import Channel
from fangkong.auth.models import User
from fangkong.core.db import Database, driver_processor
from fangkong.core.errors import DomainError, NotFound
from fangkong.core.group_commit import GroupCommitter
from fangkong.core.inputs import control_problem, refuse_control
from fangkong.core.runtime import Runtime
from fangkong.venues.checkins import CHECKIN, Limits, insert_returning, people_by_ref, record_batch
from fangkong.venues.models import Checkin, CheckinSource
from fangkong.venues.schemas import BatchResult, BatchRow
from fangkong.venues.service import door_venues


@dataclass(frozen=True, slots=True)
class DoorCheckin:
    """One request: who asks (a token's hash, or a user already known from their session), for whom, where, when
    (the server's clock when the request arrived)."""

    venue_ref: str
    person_ref: str
    at: dt.datetime
    token_hash: bytes | None = None
    user_id: int | None = None


@dataclass(frozen=True, slots=True)
class BatchUpload:
    """An offline scanner's upload, from a token's holder or a signed-in user."""

    rows: Sequence[BatchRow]
    limits: Limits
    address: str
    token_hash: bytes | None = None
    user_id: int | None = None


@dataclass(frozen=True, slots=True)
class DoorReceipt:
    id: int
    venue_ref: str
    checked_in_at: dt.datetime


def record_door_checkins(db: Session, requests: Sequence[DoorCheckin]) -> list[DoorReceipt | DomainError]:
    """Store the valid requests' check-ins; give the others their own error. One outcome per request, in order."""
    # A ref with a control character (the API refuses it; any other caller too) is refused before the first query:
    # PostgreSQL refuses U+0000 in text, and the error would fail the whole group's transaction.
    bad = {i: problem for i, r in enumerate(requests) if (problem := control_problem(_refs(r)))}
    clean = [r for i, r in enumerate(requests) if i not in bad]
    users = auth.users_for_token_hashes(db, hashes={r.token_hash for r in clean if r.token_hash is not None})
    venues = door_venues(db, {r.venue_ref for r in clean})
    people = people_by_ref(db, {r.person_ref for r in clean})
    outcomes: list[DoorReceipt | DomainError] = []
    accepted: list[tuple[int, DoorCheckin, int, int]] = []  # index, request, person id, venue id
    for index, request in enumerate(requests):
        if index in bad:
            outcomes.append(refuse_control(*bad[index]))
            continue
        user_id = request.user_id
        if request.token_hash is not None:
            user_id = users.get(request.token_hash, (None, None))[0]
            if user_id is None:
                outcomes.append(auth.Unauthenticated("invalid or revoked API token"))
                continue
        venue = venues.get(request.venue_ref)
        if venue is None or not venue.lets(user_id):
            # The same answer for "no such venue" and "not yours": a token must not probe other venues.
            outcomes.append(NotFound("no venue %(ref)s of yours", ref=request.venue_ref))
            continue
        person_id = people.get(request.person_ref)
        if person_id is None:
            outcomes.append(NotFound("no person with ref %(ref)s", ref=request.person_ref))
            continue
        outcomes.append(DoorReceipt(0, request.venue_ref, request.at))  # its id comes with the insert
        accepted.append((index, request, person_id, venue.id))
    ids = insert_door_checkins(db, [(p, v, r.at) for _, r, p, v in accepted])
    for (index, request, _, _), checkin_id in zip(accepted, ids, strict=True):
        outcomes[index] = DoorReceipt(checkin_id, request.venue_ref, request.at)
    return outcomes


def _refs(request: DoorCheckin) -> dict[str, object]:
    return {"venue_ref": request.venue_ref, "person_ref": request.person_ref}


def insert_door_checkins(db: Session, rows: list[tuple[int, int, dt.datetime]]) -> list[int]:
    """Insert (person id, venue id, time) door check-ins; their ids, in order. Ids are matched back by the
    unique (person, time, venue); a row that was already there (the same person at the same venue in the same
    microsecond) answers with the existing id."""
    if not rows:
        return []
    to_driver = driver_processor(CHECKIN.c.checked_in_at, db.get_bind().dialect)

    def key(person_id: int, venue_id: int, at: Any) -> tuple[int, int, Any]:
        return person_id, venue_id, (to_driver(at) if to_driver else at)

    inserted = insert_returning(db, [(p, v, at, None, None) for p, v, at in rows], CheckinSource.door,
                                returning="id, person_id, venue_id, checked_in_at")  # fmt: skip
    found = {(r[1], r[2], r[3]): r[0] for r in inserted}  # (person, venue, time as the driver returns it) → id
    missing = [(p, at, v) for p, v, at in rows if key(p, v, at) not in found]
    if missing:
        cols = tuple_(Checkin.person_id, Checkin.checked_in_at, Checkin.venue_id)
        for checkin_id, p, v, at in db.execute(
            select(Checkin.id, Checkin.person_id, Checkin.venue_id, Checkin.checked_in_at).where(cols.in_(missing))
        ):
            found[key(p, v, at)] = checkin_id
    return [found[key(p, v, at)] for p, v, at in rows]


def _upload(db: Session, upload: BatchUpload) -> BatchResult:
    if upload.token_hash is not None:
        user, token = auth.user_for_token_hash(db, digest=upload.token_hash)
        actor = auth.actor_for(db, user=user, channel=Channel.token, address=upload.address, token_id=token.id)
    else:
        signed_in = db.get(User, upload.user_id)
        if signed_in is None or not signed_in.is_active:
            raise auth.Unauthenticated("log in, or send an API token as 'Authorization: Bearer …'")
        actor = auth.actor_for(db, user=signed_in, channel=Channel.api, address=upload.address)
    return record_batch(db, actor=actor, rows=upload.rows, limits=upload.limits)


def write_checkins(
    db: Session, items: Sequence[DoorCheckin | BatchUpload]
) -> list[DoorReceipt | BatchResult | DomainError]:
    """The writer's work for one group: all single check-ins together, then each batch in its savepoint."""
    singles = iter(record_door_checkins(db, [item for item in items if isinstance(item, DoorCheckin)]))
    outcomes: list[DoorReceipt | BatchResult | DomainError] = []
    for item in items:
        if isinstance(item, DoorCheckin):
            outcomes.append(next(singles))
            continue
        try:
            with db.begin_nested():
                outcomes.append(_upload(db, item))
        except DomainError as error:
            outcomes.append(error)
    return outcomes


CheckinWriter = GroupCommitter[DoorCheckin | BatchUpload, DoorReceipt | BatchResult]


def checkin_writer(database: Database) -> CheckinWriter:
    return GroupCommitter(database, write_checkins)


def install_writer(app: Any, runtime: Runtime) -> None:
    """Per server process: the writer thread that the check-in routes hand their work to (venues/views.py)."""
    app.state.checkin_writer = checkin_writer(runtime.database)
