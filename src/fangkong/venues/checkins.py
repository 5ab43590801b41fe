"""Check-ins (扫码登记): by a resident's scan, by a door device, by an offline scanner's batch, by CSV import;
and their deletion when the retention period ends.

Check-ins are the heaviest writes the city makes, so every path writes with the driver's executemany and
resolves refs with one query per batch. An acknowledged check-in is committed before the answer goes out
(the unit of work commits when the request's work is done).
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, cast

from sqlalchemy import CursorResult, Table, delete, select
from sqlalchemy.orm import Session

from fangkong.auth import audit
from fangkong.auth.actor import Actor
from fangkong.auth.audit_models import AuditAction
from fangkong.core import clock
from fangkong.core.db import Database, driver_processor, driver_value
from fangkong.core.errors import Forbidden, Invalid, NotFound
from fangkong.core.importing import chunks
from fangkong.core.inputs import CONTROL_MESSAGE, control_problem
from fangkong.people.models import Person
from fangkong.venues.models import LONGEST_VISIT, Checkin, CheckinSource, Venue
from fangkong.venues.schemas import BatchResult, BatchRow, Problem, RowRejection
from fangkong.venues.service import may_act_for_venue

CHECKIN = cast(Table, Checkin.__table__)
_QUERY_CHUNK = 2000


@dataclass(frozen=True, slots=True)
class Limits:
    retention: dt.timedelta
    future_skew: dt.timedelta

    def problem(self, at: dt.datetime, now: dt.datetime) -> Problem | None:
        """Why a check-in time cannot be stored, or None."""
        if at.tzinfo is None:
            return Problem("checked_in_at has no UTC offset; write it like 2022-03-20T14:05:00+08:00")
        if at > now + self.future_skew:
            return Problem("checked_in_at is in the future; check the scanner's clock")
        if at < now - self.retention:
            return Problem("checked_in_at is older than the retention period of %(days)s days",
                           {"days": self.retention.days})  # fmt: skip
        return None


def record_scan(db: Session, *, actor: Actor, venue: Venue) -> Checkin:
    """A signed-in resident scanned the poster and tapped: present from now (server clock)."""
    if actor.person_id is None:
        raise Forbidden("only a resident's own account can check in by scanning")
    return _insert_one(db, person_id=actor.person_id, venue=venue, source=CheckinSource.scan)


def own_checkin(db: Session, *, actor: Actor, checkin_id: int) -> tuple[Checkin, Venue]:
    """One of the actor's own check-ins and its venue (the confirmation at the door); anyone else's is absent."""
    checkin = db.get(Checkin, checkin_id)
    if checkin is None or actor.person_id is None or checkin.person_id != actor.person_id:
        raise NotFound("no check-in %(id)s of yours", id=checkin_id)
    return checkin, db.get_one(Venue, checkin.venue_id)


def _insert_one(db: Session, *, person_id: int, venue: Venue, source: CheckinSource) -> Checkin:
    checkin = Checkin(person_id=person_id, venue_id=venue.id, checked_in_at=clock.now(), source=source)
    db.add(checkin)
    db.flush()
    return checkin


def record_batch(db: Session, *, actor: Actor, rows: Sequence[BatchRow], limits: Limits) -> BatchResult:
    """An offline scanner's upload. Each bad row is rejected with its reason; the rest are stored once."""
    now = clock.now()
    rejected: list[RowRejection] = []
    # A row with a control character is rejected before the first query: PostgreSQL refuses U+0000 in text, and
    # one such value in a query or an insert would fail the whole transaction (a group commit's, everyone's).
    bad_text = {index: problem for index, row in enumerate(rows) if (problem := text_problem(row))}
    clean = [row for index, row in enumerate(rows) if index not in bad_text]
    venues = venues_by_ref(db, {r.venue_ref for r in clean})
    people = people_by_ref(db, {r.person_ref for r in clean})
    seen_client_ids: set[str] = set()
    candidates: list[tuple[int, BatchRow, int, int]] = []  # index, row, person id, venue id
    for index, row in enumerate(rows):
        reason = bad_text.get(index) or _row_problem(actor, row, venues, people, limits, now)
        if reason is None and row.client_id in seen_client_ids:
            reason = Problem("client_id repeats an earlier row of this batch")
        if reason is not None:
            rejected.append(RowRejection.of(index, row.client_id, reason))
            continue
        seen_client_ids.add(row.client_id)
        candidates.append((index, row, people[row.person_ref], venues[row.venue_ref].id))
    # Rows stored before (the same client_id: a re-sent batch; or the same person, venue and time) are skipped by
    # the insert itself, which answers with the client ids it did store.
    to_store = [(pid, vid, r.checked_in_at, r.checked_out_at, r.client_id) for _, r, pid, vid in candidates]
    stored = insert_returning(db, to_store, CheckinSource.batch, returning="client_id")
    return BatchResult(accepted=len(stored), duplicates=len(candidates) - len(stored), rejected=rejected)


def text_problem(row: BatchRow) -> Problem | None:
    """Why a row's text cannot be stored: a control character in one of its fields (core/inputs.py)."""
    found = control_problem({"client_id": row.client_id, "person_ref": row.person_ref, "venue_ref": row.venue_ref})
    if found is None:
        return None
    return Problem(CONTROL_MESSAGE, {"field": found[0], "limit": found[1]})


def _row_problem(
    actor: Actor, row: BatchRow, venues: dict[str, Venue], people: dict[str, int], limits: Limits, now: dt.datetime
) -> Problem | None:
    try:
        uuid.UUID(row.client_id)
    except ValueError:
        return Problem("client_id is not a UUID; give every row its own UUID")
    venue = venues.get(row.venue_ref)
    if venue is None or not may_act_for_venue(actor, venue):
        # One answer for "no such venue" and "not yours", as on the single door check-in: no probing of refs.
        return Problem("no venue %(ref)s of yours", {"ref": row.venue_ref})
    if row.person_ref not in people:
        return Problem("unknown person %(ref)s", {"ref": row.person_ref})
    if problem := limits.problem(row.checked_in_at, now):
        return problem
    return stay_problem(row.checked_in_at, row.checked_out_at)


def stay_problem(checked_in_at: dt.datetime, checked_out_at: dt.datetime | None) -> Problem | None:
    """Why a check-out cannot be stored with this check-in, or None."""
    if checked_out_at is None:
        return None
    if checked_out_at < checked_in_at:
        return Problem("checked_out_at is before checked_in_at")
    if checked_out_at - checked_in_at > LONGEST_VISIT:
        return Problem("checked_out_at is more than 24 hours after checked_in_at; check the scanner's clock")
    return None


def venues_by_ref(db: Session, refs: set[str]) -> dict[str, Venue]:
    found: dict[str, Venue] = {}
    for batch in chunks(sorted(refs), _QUERY_CHUNK):
        found |= {v.ref: v for v in db.execute(select(Venue).where(Venue.ref.in_(batch))).scalars()}
    return found


def people_by_ref(db: Session, refs: set[str]) -> dict[str, int]:
    found: dict[str, int] = {}
    for batch in chunks(sorted(refs), _QUERY_CHUNK):
        found |= dict(db.execute(select(Person.ref, Person.id).where(Person.ref.in_(batch))).all())
    return found


def insert_checkins(
    db: Session,
    rows: Sequence[tuple[int, int, dt.datetime, dt.datetime | None, str | None]],
    source: CheckinSource,
) -> None:
    """Insert (person id, venue id, checked in, checked out, client id) rows with one executemany; rows that
    already exist (unique person/time/venue or client id) are skipped by ON CONFLICT DO NOTHING."""
    if not rows:
        return
    dialect = db.get_bind().dialect
    now = driver_value(CHECKIN.c.created_at, clock.now(), dialect)
    to_driver = driver_processor(CHECKIN.c.checked_in_at, dialect)

    def t(value: dt.datetime | None) -> Any:
        return to_driver(value) if (to_driver and value is not None) else value

    values = [(pid, vid, t(at), t(out), source.value, cid, now) for pid, vid, at, out, cid in rows]
    columns = "person_id, venue_id, checked_in_at, checked_out_at, source, client_id, created_at"
    marker = "?" if dialect.paramstyle == "qmark" else "%s"
    # ON CONFLICT DO NOTHING (SQLite ≥ 3.24, PostgreSQL): a concurrent upload of the same rows stores them once.
    sql = f"INSERT INTO checkin ({columns}) VALUES ({', '.join([marker] * 7)}) ON CONFLICT DO NOTHING"  # noqa: S608
    db.connection().exec_driver_sql(sql, values)


_ROWS_PER_STATEMENT = 500  # 7 parameters a row: well under every SQLite build's limit of bound parameters


def insert_returning(
    db: Session,
    rows: Sequence[tuple[int, int, dt.datetime, dt.datetime | None, str | None]],
    source: CheckinSource,
    *,
    returning: str,
) -> list[tuple[Any, ...]]:
    """Insert (person id, venue id, checked in, checked out, client id) rows with multi-row INSERTs, skipping
    those already stored (unique person/time/venue or client id), and return `returning` of those inserted.

    Unlike executemany, one statement per 500 rows can say which rows it inserted, and it is also the fastest
    way to PostgreSQL. RETURNING promises no order: callers match the returned rows by their columns. Times are
    returned as the driver stores them (text on SQLite): compare them with `driver_processor`'s output.
    """
    if not rows:
        return []
    dialect = db.get_bind().dialect
    now = driver_value(CHECKIN.c.created_at, clock.now(), dialect)
    to_driver = driver_processor(CHECKIN.c.checked_in_at, dialect)

    def t(value: dt.datetime | None) -> Any:
        return to_driver(value) if (to_driver and value is not None) else value

    marker = "?" if dialect.paramstyle == "qmark" else "%s"
    connection = db.connection()
    inserted: list[tuple[Any, ...]] = []
    for start in range(0, len(rows), _ROWS_PER_STATEMENT):
        chunk = rows[start : start + _ROWS_PER_STATEMENT]
        values = ", ".join([f"({', '.join([marker] * 7)})"] * len(chunk))
        params = tuple(x for pid, vid, at, out, cid in chunk for x in (pid, vid, t(at), t(out), source.value, cid, now))
        sql = (
            "INSERT INTO checkin (person_id, venue_id, checked_in_at, checked_out_at, source, client_id, created_at) "  # noqa: S608
            f"VALUES {values} ON CONFLICT DO NOTHING RETURNING {returning}"
        )
        inserted.extend(tuple(row) for row in connection.exec_driver_sql(sql, params))
    return inserted


PURGE_CHUNK = 50_000  # rows per transaction: a long DELETE would hold up the check-in writer on SQLite


def purge(
    db: Session, *, actor: Actor, retention: dt.timedelta, now: dt.datetime | None = None, limit: int | None = None
) -> int:
    """Delete check-ins older than the retention period, the oldest first and at most `limit` of them.
    Returns how many went."""
    if retention <= dt.timedelta(0):
        raise Invalid("the retention period must be positive")
    cutoff = (now or clock.now()) - retention
    condition = Checkin.checked_in_at < cutoff
    if limit is not None:
        oldest = select(Checkin.id).where(condition).order_by(Checkin.checked_in_at).limit(limit)
        condition = Checkin.id.in_(oldest.scalar_subquery())
    result = db.execute(delete(Checkin).where(condition))
    deleted = cast(CursorResult[Any], result).rowcount
    if deleted:
        audit.record(db, actor=actor, action=AuditAction.checkin_purge, entity_type="checkin", entity_ref="*",
                     details=f"{deleted} check-ins before {cutoff.isoformat()}")  # fmt: skip
    return int(deleted or 0)


def purge_in_chunks(database: Database, *, actor: Actor, retention: dt.timedelta, chunk: int = PURGE_CHUNK) -> int:
    """Purge in transactions of `chunk` rows, so that check-ins keep being written in between. The cut-off is
    fixed at the start: a purge that runs for a while does not chase the clock."""
    now = clock.now()
    total = 0
    while True:
        with database.unit_of_work() as db:
            deleted = purge(db, actor=actor, retention=retention, now=now, limit=chunk)
        total += deleted
        if deleted < chunk:
            return total
