"""Tracing from check-ins: fetch only the visits that can matter, then let the pure engine decide.

Two steps, both on indexes, never a scan of the check-in table:
1. the index person's visits that can reach into the window, through the unique (person, time, venue) index;
2. at each venue where they were present, the visits that can overlap that presence, through the
   (venue, time) index: those starting in [presence start − LONGEST_VISIT, presence end). No visit lasts longer
   than LONGEST_VISIT (the check-in paths refuse longer ones), so nothing that overlaps is missed.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import ColumnElement, DateTime, and_, or_, select, type_coerce
from sqlalchemy.orm import Session

from fangkong.auth import audit
from fangkong.auth.actor import Actor
from fangkong.auth.audit_models import AuditAction
from fangkong.auth.models import Role
from fangkong.core.errors import Forbidden, Invalid
from fangkong.people.models import Person
from fangkong.people.scope import get_readable_person
from fangkong.tracing.engine import Contact, Visit, co_present, presence
from fangkong.venues.models import DEFAULT_DWELL, LONGEST_VISIT, Checkin, Venue

# 10 minutes at the same venue at the same time: the default minimum co-presence until the policy files of the
# health-code issue make it a policy value.
DEFAULT_MIN_OVERLAP = dt.timedelta(minutes=10)
_RANGES_PER_QUERY = 200  # OR-ed (venue, time range) conditions in one statement


@dataclass(frozen=True, slots=True)
class Evidence:
    venue_ref: str
    venue_name: str
    start: dt.datetime
    end: dt.datetime
    venue_id: int = 0

    @property
    def minutes(self) -> float:
        return (self.end - self.start).total_seconds() / 60


@dataclass(frozen=True, slots=True)
class TracedContact:
    person_id: int
    person_ref: str
    overlap: dt.timedelta
    evidence: tuple[Evidence, ...]

    @property
    def venue_refs(self) -> list[str]:
        return list(dict.fromkeys(e.venue_ref for e in self.evidence))


def _visits(db: Session, condition: ColumnElement[bool]) -> list[Visit]:
    rows = db.execute(
        select(Checkin.person_id, Checkin.venue_id, Checkin.checked_in_at, Checkin.checked_out_at, Venue.kind)
        .join(Venue, Venue.id == Checkin.venue_id)
        .where(condition)
    )
    return [Visit(person, venue, at, out, DEFAULT_DWELL[kind]) for person, venue, at, out, kind in rows]


def _others(db: Session, condition: ColumnElement[bool], dwell: dict[int, dt.timedelta]) -> list[Visit]:
    """The hot query: thousands of rows a case. The venues' dwells are known from the spans, so no join; and the
    times skip the UTCDateTime decorator, a Python call per value: PostgreSQL's driver already gives aware
    datetimes, and SQLite's naive UTC ones get their zone here, in one step."""
    sqlite = db.get_bind().dialect.name == "sqlite"
    raw = DateTime(timezone=not sqlite)
    rows = db.execute(
        select(Checkin.person_id, Checkin.venue_id, type_coerce(Checkin.checked_in_at, raw),
               type_coerce(Checkin.checked_out_at, raw)).where(condition)
    )  # fmt: skip
    if sqlite:
        utc = dt.UTC
        return [
            Visit(person, venue, at.replace(tzinfo=utc), out.replace(tzinfo=utc) if out else None, dwell[venue])
            for person, venue, at, out in rows
        ]
    return [Visit(person, venue, at, out, dwell[venue]) for person, venue, at, out in rows]


def index_visits(db: Session, *, person_id: int, start: dt.datetime, end: dt.datetime) -> list[Visit]:
    """The person's visits that can reach into [start, end)."""
    return _visits(
        db,
        and_(
            Checkin.person_id == person_id,
            Checkin.checked_in_at >= start - LONGEST_VISIT,
            Checkin.checked_in_at < end,
        ),
    )


Span = tuple[int, dt.datetime, dt.datetime, dt.timedelta]  # venue, presence start, presence end, the kind's dwell


def visits_overlapping(db: Session, spans: Sequence[Span]) -> list[Visit]:
    """Everyone's visits that can overlap any of the (venue, start, end, dwell) spans.

    The index range (check-ins from LONGEST_VISIT before the span until its end) bounds what the database reads;
    the end condition keeps it from sending visits that ended before the span began, two thirds of the range at
    a busy venue (bench/tracing.py), which Python would otherwise convert and throw away."""
    ranges = [
        and_(
            Checkin.venue_id == venue,
            Checkin.checked_in_at >= lo - LONGEST_VISIT,
            Checkin.checked_in_at < hi,
            or_(
                Checkin.checked_out_at > lo,
                and_(Checkin.checked_out_at.is_(None), Checkin.checked_in_at > lo - dwell),
            ),
        )
        for venue, lo, hi, dwell in spans
    ]
    dwell = {venue: venue_dwell for venue, _, _, venue_dwell in spans}
    found: list[Visit] = []
    for i in range(0, len(ranges), _RANGES_PER_QUERY):
        found.extend(_others(db, or_(*ranges[i : i + _RANGES_PER_QUERY]), dwell))
    return found


def co_present_contacts(
    db: Session, *, person_id: int, start: dt.datetime, end: dt.datetime, min_overlap: dt.timedelta
) -> list[Contact]:
    """The engine's contacts of a person over [start, end), from the visits that can matter."""
    mine = index_visits(db, person_id=person_id, start=start, end=end)
    by_venue: dict[int, list[Visit]] = {}
    for visit in mine:
        by_venue.setdefault(visit.venue, []).append(visit)
    # Everyone at one venue shares its kind's dwell: the index person's visit there says what it is.
    spans = [
        (venue, lo, hi, visits[0].dwell)
        for venue, visits in by_venue.items()
        for lo, hi in presence(visits, start=start, end=end)
    ]
    others = visits_overlapping(db, spans) if spans else []
    return co_present(index_person=person_id, index_visits=mine, others=others, window_start=start,
                      window_end=end, min_overlap=min_overlap)  # fmt: skip


def trace(
    db: Session,
    *,
    actor: Actor,
    person_ref: str,
    start: dt.datetime,
    end: dt.datetime,
    min_overlap: dt.timedelta = DEFAULT_MIN_OVERLAP,
) -> list[TracedContact]:
    """Who was co-present with the person over [start, end): read-only, for investigators in the person's region.
    Sorted by overlap, longest first, then by person ref. The read of the person's movements is audited."""
    if not actor.has(Role.investigator):
        raise Forbidden("only investigators trace contacts")
    if start.tzinfo is None or end.tzinfo is None:
        raise Invalid("give times with a UTC offset, like 2022-03-20T14:05:00+08:00")
    if end <= start:
        raise Invalid("the end of the window must be after its start")
    if min_overlap < dt.timedelta(0):
        raise Invalid("the minimum overlap cannot be negative")
    person = get_readable_person(db, actor=actor, ref=person_ref)
    traced = traced_contacts(db, person_id=person.id, start=start, end=end, min_overlap=min_overlap)
    audit.record(db, actor=actor, action=AuditAction.contact_trace, entity_type="person", entity_ref=person.ref,
                 person_id=person.id, purpose="co-presence trace",
                 details=f"[{start.isoformat()}, {end.isoformat()}): {len(traced)} contacts")  # fmt: skip
    return traced


def traced_contacts(
    db: Session, *, person_id: int, start: dt.datetime, end: dt.datetime, min_overlap: dt.timedelta
) -> list[TracedContact]:
    """The co-present contacts with refs and venue evidence, longest overlap first, then by person ref. No
    scoping and no audit: callers check the actor and record the read."""
    contacts = co_present_contacts(db, person_id=person_id, start=start, end=end, min_overlap=min_overlap)
    refs = _person_refs(db, {c.person for c in contacts})
    venue_ids = {e.venue for c in contacts for e in c.exposures}
    venues = {v.id: v for v in db.execute(select(Venue).where(Venue.id.in_(venue_ids))).scalars()}
    traced = [
        TracedContact(
            person_id=c.person,
            person_ref=refs[c.person],
            overlap=c.overlap,
            evidence=tuple(
                # In UTC whatever the PostgreSQL session's time zone: the raw times of the hot query keep it.
                Evidence(
                    venues[e.venue].ref,
                    venues[e.venue].name,
                    e.start.astimezone(dt.UTC),
                    e.end.astimezone(dt.UTC),
                    venue_id=e.venue,
                )
                for e in c.exposures
            ),
        )
        for c in contacts
    ]
    traced.sort(key=lambda t: (-t.overlap, t.person_ref))
    return traced


def _person_refs(db: Session, ids: set[int]) -> dict[int, str]:
    found: dict[int, str] = {}
    id_list = sorted(ids)
    for i in range(0, len(id_list), 1000):
        found |= dict(db.execute(select(Person.id, Person.ref).where(Person.id.in_(id_list[i : i + 1000]))).all())
    return found
