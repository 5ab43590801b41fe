"""Cases: report or confirm one (which runs tracing), change it with a reason, list and read them.

The `case_record` row is the current state; each change is also a `case_event` row with actor and reason, and an
audit event. Confirming or re-dating a case (onset, first positive sampling, isolation) traces it again.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from fangkong.auth import audit
from fangkong.auth.actor import Actor
from fangkong.auth.audit_models import AuditAction
from fangkong.cases.contacts import TraceSummary, evidence_for, link_new_case, trace_case
from fangkong.cases.models import (
    Case,
    CaseCause,
    CaseChange,
    CaseEvent,
    CaseOutcome,
    Classification,
    Contact,
    ContactEvidence,
    ContactStatus,
    ContactTier,
    FollowUp,
    Severity,
)
from fangkong.cases.scope import get_case, readable_cases, readable_contacts, require_investigator, require_reader
from fangkong.core import causes, clock, facts
from fangkong.core.config import city_zone
from fangkong.core.errors import Invalid
from fangkong.people.models import Person
from fangkong.people.scope import get_readable_person
from fangkong.regions.models import Region
from fangkong.regions.service import get_region, subtree_ids


@dataclass(frozen=True, slots=True)
class CaseChangeRequest:
    """What an investigator changes; None leaves a field as it is."""

    classification: Classification | None = None
    severity: Severity | None = None
    onset_date: dt.date | None = None
    first_positive_at: dt.datetime | None = None
    isolated_at: dt.datetime | None = None
    treated_at: str | None = None
    outcome: CaseOutcome | None = None
    outcome_date: dt.date | None = None


@dataclass(frozen=True, slots=True)
class ReportResult:
    case: Case
    created: bool
    trace: TraceSummary | None


def _check_times(change: CaseChangeRequest, now: dt.datetime, zone: ZoneInfo) -> None:
    # One message per field rather than a field-name parameter: a parameter is not translated, and "onset date"
    # in the middle of a Chinese sentence helps nobody.
    today = now.astimezone(zone).date()
    if change.onset_date is not None and change.onset_date > today:
        raise Invalid("the onset date %(value)s is in the future", value=change.onset_date.isoformat())
    if change.outcome_date is not None and change.outcome_date > today:
        raise Invalid("the outcome date %(value)s is in the future", value=change.outcome_date.isoformat())
    for at, naive, future in (
        (change.first_positive_at, "give the first positive sampling time with a UTC offset, like "
         "2022-03-20T14:05:00+08:00", "the first positive sampling time %(value)s is in the future"),
        (change.isolated_at, "give the isolation time with a UTC offset, like 2022-03-20T14:05:00+08:00",
         "the isolation time %(value)s is in the future"),
    ):  # fmt: skip
        if at is None:
            continue
        if at.tzinfo is None:
            raise Invalid(naive)
        if at > now + dt.timedelta(minutes=5):
            raise Invalid(future, value=at.astimezone(zone).isoformat())
    if (change.outcome is None) != (change.outcome_date is None):
        raise Invalid("an outcome needs its date, and a date its outcome")


def _record(db: Session, case: Case, actor: Actor, change: CaseChange, params: dict[str, str], reason: str) -> None:
    db.add(CaseEvent(case_id=case.id, at=clock.now(), change=change, params=causes.dump_params(params),
                     reason=reason, actor_user_id=actor.user_id, actor_username=actor.username))  # fmt: skip
    audit.record(db, actor=actor, action=AuditAction.case_change, entity_type="case", entity_ref=str(case.id),
                 person_id=case.person_id, purpose=reason,
                 details=f"{change.value}: {' '.join(params.values())}")  # fmt: skip


def _text(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, dt.datetime):
        return value.astimezone(dt.UTC).isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    return str(value)


# Each field of a case, the kind of event that changes it, and the name of the new value in the event's params.
_FIELDS: tuple[tuple[str, CaseChange, str], ...] = (
    ("classification", CaseChange.classification, "classification"),
    ("severity", CaseChange.severity, "severity"),
    ("onset_date", CaseChange.onset, "date"),
    ("first_positive_at", CaseChange.sampled, "at"),
    ("isolated_at", CaseChange.isolated, "at"),
    ("treated_at", CaseChange.treated_at, "place"),
    ("outcome", CaseChange.outcome, "outcome"),
)
_RETRACE = {CaseChange.classification, CaseChange.onset, CaseChange.sampled, CaseChange.isolated}


def _apply_change(db: Session, *, actor: Actor, case: Case, change: CaseChangeRequest, reason: str) -> set[CaseChange]:
    changed: set[CaseChange] = set()
    for name, kind, key in _FIELDS:
        value = getattr(change, name)
        if isinstance(value, dt.datetime):
            value = value.astimezone(dt.UTC)
        if value is None or value == getattr(case, name):
            continue
        setattr(case, name, value)
        params = {key: _text(value)}
        if name == "outcome":
            case.outcome_date = change.outcome_date
            params["date"] = _text(change.outcome_date)
        _record(db, case, actor, kind, params, reason)
        changed.add(kind)
    return changed


def report_case(
    db: Session,
    *,
    actor: Actor,
    person_ref: str,
    change: CaseChangeRequest,
    reason: str = "",
) -> ReportResult:
    """Report a case for a person, or change the person's existing case (one case per person). A confirmed or
    asymptomatic case needs an onset date or a first positive sampling time, and is traced at once."""
    require_investigator(actor)
    if change.classification is None:
        raise Invalid("say whether the case is suspected, confirmed or asymptomatic")
    zone = city_zone()
    _check_times(change, clock.now(), zone)
    person = get_readable_person(db, actor=actor, ref=person_ref)
    case = db.execute(select(Case).where(Case.person_id == person.id)).scalar_one_or_none()
    created = case is None
    if case is None:
        case = Case(person_id=person.id, region_id=person.region_id, classification=change.classification,
                    reported_at=clock.now())  # fmt: skip
        db.add(case)
        db.flush()
        _record(db, case, actor, CaseChange.reported, {"classification": change.classification.value},
                reason or "reported")  # fmt: skip
    # The person is readable, but the case must also lie in the investigator's own regions.
    case = get_case(db, actor=actor, case_id=case.id, for_change=True)
    changed = _apply_change(db, actor=actor, case=case, change=change, reason=reason or "reported")
    _require_dates(case)
    db.flush()
    if created:
        link_new_case(db, actor=actor, case=case)
    summary = None
    if case.classification.infectious and (created or changed & _RETRACE):
        summary = trace_case(db, actor=actor, case=case, zone=zone)
    facts.person_facts_changed(db, person_ids=[case.person_id], cause=actor.cause(CaseCause.reported, case=case.id))
    return ReportResult(case, created, summary)


def _require_dates(case: Case) -> None:
    if case.classification.infectious and case.onset_date is None and case.first_positive_at is None:
        raise Invalid("a confirmed or asymptomatic case needs a symptom onset date or a first positive sampling time")


def change_case(
    db: Session, *, actor: Actor, case_id: int, change: CaseChangeRequest, reason: str
) -> tuple[Case, TraceSummary | None]:
    """Change a case with a reason; a change of classification or dates traces it again."""
    case = get_case(db, actor=actor, case_id=case_id, for_change=True)
    reason = reason.strip()
    if not reason:
        raise Invalid("give a reason for the change, e.g. 'CT scan confirmed pneumonia'")
    _check_times(change, clock.now(), city_zone())
    changed = _apply_change(db, actor=actor, case=case, change=change, reason=reason)
    if not changed:
        raise Invalid("nothing to change: every value given is the case's current one")
    _require_dates(case)
    db.flush()
    summary = None
    if case.classification.infectious and changed & _RETRACE:
        summary = trace_case(db, actor=actor, case=case, zone=city_zone())
    facts.person_facts_changed(db, person_ids=[case.person_id], cause=actor.cause(CaseCause.changed, case=case.id))
    return case, summary


def retrace(db: Session, *, actor: Actor, case_id: int) -> TraceSummary:
    """Run tracing again (new check-ins may have arrived from offline scanners)."""
    case = get_case(db, actor=actor, case_id=case_id, for_change=True)
    if not case.classification.infectious:
        raise Invalid("only confirmed and asymptomatic cases are traced; case %(id)s is suspected", id=case.id)
    summary = trace_case(db, actor=actor, case=case, zone=city_zone())
    db.flush()
    return summary


@dataclass(frozen=True, slots=True)
class CaseRow:
    case: Case
    person_ref: str
    person_name: str
    region_name: str
    candidates: int
    contacts: int


def list_cases(
    db: Session,
    *,
    actor: Actor,
    classification: Classification | None = None,
    region_code: str | None = None,
    open_only: bool = False,
    query: str | None = None,
    limit: int = 100,
    offset: int = 0,
) -> list[CaseRow]:
    """Newest first. `query` matches a person ref or a name prefix; open cases have no outcome yet."""
    require_reader(actor)
    stmt = (
        select(Case, Person.ref, Person.name, Region.name)
        .join(Person, Person.id == Case.person_id)
        .join(Region, Region.id == Case.region_id)
        .where(readable_cases(actor))
    )
    if classification is not None:
        stmt = stmt.where(Case.classification == classification)
    if region_code:
        stmt = stmt.where(Case.region_id.in_(subtree_ids(get_region(db, code=region_code))))
    if open_only:
        stmt = stmt.where(Case.outcome.is_(None))
    if query and query.strip():
        q = query.strip()
        stmt = stmt.where((Person.ref == q) | Person.name.startswith(q, autoescape=True))
    rows = db.execute(stmt.order_by(Case.reported_at.desc(), Case.id.desc()).limit(limit).offset(offset)).all()
    counts = _contact_counts(db, [r[0].id for r in rows])
    return [
        CaseRow(
            case,
            ref,
            name,
            region,
            counts.get((case.id, ContactStatus.candidate), 0),
            counts.get((case.id, ContactStatus.confirmed), 0),
        )
        for case, ref, name, region in rows
    ]


def _contact_counts(db: Session, case_ids: Sequence[int]) -> dict[tuple[int, ContactStatus], int]:
    if not case_ids:
        return {}
    stmt = (
        select(Contact.case_id, Contact.status, func.count())
        .where(Contact.case_id.in_(case_ids))
        .group_by(Contact.case_id, Contact.status)
    )
    return {(case_id, status): n for case_id, status, n in db.execute(stmt).all()}


def read_case(db: Session, *, actor: Actor, case_id: int) -> tuple[Case, Person, Sequence[CaseEvent]]:
    """A case with its person and history; the read is audited (it shows a person's health record)."""
    case = get_case(db, actor=actor, case_id=case_id)
    person = db.get_one(Person, case.person_id)
    events = db.execute(
        select(CaseEvent).where(CaseEvent.case_id == case.id).order_by(CaseEvent.at, CaseEvent.id)
    ).scalars().all()  # fmt: skip
    audit.record(db, actor=actor, action=AuditAction.case_read, entity_type="case", entity_ref=str(case.id),
                 person_id=case.person_id, purpose="case record")  # fmt: skip
    return case, person, events


@dataclass(frozen=True, slots=True)
class ContactRow:
    contact: Contact
    person_ref: str
    person_name: str
    evidence: list[ContactEvidence]


def list_contacts(
    db: Session,
    *,
    actor: Actor,
    case_id: int | None = None,
    status: ContactStatus | None = None,
    follow_up: FollowUp | None = None,
    tier: ContactTier | None = None,
    limit: int | None = 500,
    offset: int = 0,
) -> list[ContactRow]:
    """Contacts with their evidence: of one case (candidates first by overlap, longest first), or across the
    actor's regions (newest first), filtered by status, follow-up and tier. `limit=None`: all of them."""
    require_reader(actor)
    stmt = select(Contact, Person.ref, Person.name).join(Person, Person.id == Contact.person_id)
    if case_id is not None:
        case = get_case(db, actor=actor, case_id=case_id)
        # readable_contacts: not those another region made in answer to this case's assistance requests
        stmt = stmt.where(Contact.case_id == case.id, readable_contacts(actor)).order_by(
            Contact.status, Contact.overlap_seconds.desc(), Person.ref
        )
    else:
        stmt = stmt.where(readable_contacts(actor)).order_by(Contact.created_at.desc(), Contact.id.desc())
    if status is not None:
        stmt = stmt.where(Contact.status == status)
    if follow_up is not None:
        stmt = stmt.where(Contact.follow_up == follow_up)
    if tier is not None:
        stmt = stmt.where(Contact.tier == tier)
    rows = db.execute(stmt.limit(limit).offset(offset)).all()
    evidence = evidence_for(db, contact_ids=[c.id for c, _, _ in rows])
    if case_id is not None:
        audit.record(db, actor=actor, action=AuditAction.case_read, entity_type="case", entity_ref=str(case_id),
                     purpose="contact list", details=f"{len(rows)} contacts")  # fmt: skip
    return [ContactRow(c, ref, name, evidence.get(c.id, [])) for c, ref, name in rows]
