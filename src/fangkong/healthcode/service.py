"""Health codes from the facts: gather a person's facts, run the pure engine, cache the status, record changes.

Every service that changes a fact (a case, a contact decision, a test result, a fever, a review, an appeal)
calls `recompute` in the same transaction, so a color and the fact it rests on are committed together. Time
alone also moves codes on (a quarantine phase ends): a cached status past its `valid_until` is recomputed when
it is next read, recorded as a change by the rule.
"""

from __future__ import annotations

import datetime as dt
import json
import secrets
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from sqlalchemy import select, union
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from fangkong.auth import audit
from fangkong.auth.actor import Actor
from fangkong.auth.audit_models import AuditAction
from fangkong.auth.models import Role
from fangkong.cases.models import Case, Contact, ContactEvidence, ContactStatus, EvidenceKind
from fangkong.cases.scope import get_case, get_contact
from fangkong.core import causes, clock
from fangkong.core.config import city_zone
from fangkong.core.errors import Forbidden, Invalid
from fangkong.core.facts import Cause, PersonFactsChanged
from fangkong.healthcode import engine
from fangkong.healthcode.models import (
    Appeal,
    AppealStatus,
    CodeCause,
    CodeChange,
    CodeReview,
    DeclaredStay,
    FeverRecord,
    HealthCode,
)
from fangkong.people.scope import get_readable_person
from fangkong.policy.editions import Color, Policy, RiskLevel
from fangkong.policy.service import EditionChanged, EditionReport, edition_in_force
from fangkong.testing.models import TestResult
from fangkong.testing.service import results_for

RULE = "rule"  # the actor of a change that time alone made


def _released_at(case: Case) -> dt.datetime | None:
    # Discharge releases a case from the start of its day in the city; a death never does (the engine knows).
    if case.outcome is not None and case.outcome.value == "discharged" and case.outcome_date is not None:
        return dt.datetime.combine(case.outcome_date, dt.time(), tzinfo=city_zone()).astimezone(dt.UTC)
    return None


def _case_facts(db: Session, person_id: int) -> engine.CaseFacts | None:
    case = db.execute(select(Case).where(Case.person_id == person_id)).scalar_one_or_none()
    if case is None:
        return None
    return engine.CaseFacts(
        classification=engine.Classification(case.classification.value),
        onset_date=case.onset_date,
        first_positive_at=case.first_positive_at,
        isolated_at=case.isolated_at,
        outcome=engine.CaseOutcome(case.outcome.value) if case.outcome else None,
        outcome_date=case.outcome_date,
        released_at=_released_at(case),
    )


def _contact_facts(db: Session, person_id: int) -> tuple[engine.ContactFacts, ...]:
    contacts = db.execute(
        select(Contact).where(Contact.person_id == person_id, Contact.status == ContactStatus.confirmed)
    ).scalars().all()  # fmt: skip
    facts = []
    for contact in contacts:
        if contact.tier is None:
            continue
        # An interview contact may have no times: the decision is then the last moment known to be exposed.
        last = contact.last_exposure_at or contact.decided_at or contact.created_at
        shown = db.execute(
            select(ContactEvidence)
            .where(ContactEvidence.contact_id == contact.id, ContactEvidence.kind == EvidenceKind.checkin)
        ).scalars().all()  # fmt: skip
        facts.append(engine.ContactFacts(engine.Tier(contact.tier.value), last, telling_exposure(shown)))
    return tuple(facts)


def telling_exposure(evidence: Sequence[ContactEvidence]) -> engine.Evidence | None:
    """The exposure a resident's reason names: the longest of the last day exposed. The very last one can be a
    35-second overlap on a bus after a shared working day; the phases still count from the last exposure."""
    timed = [engine.Evidence(venue=e.venue_name, start=e.start, end=e.end) for e in evidence
             if e.start is not None and e.end is not None and e.venue_name]  # fmt: skip
    if not timed:
        return None
    last = max(e.end for e in timed)
    recent = [e for e in timed if e.end >= last - dt.timedelta(days=1)]
    return max(recent, key=lambda e: (e.end - e.start, e.end))


def facts_for(db: Session, *, person_id: int, now: dt.datetime) -> engine.Facts:
    tests = tuple(
        engine.LabTest(r.sampled_at, engine.LabResult(r.result.value), r.ct_n, r.ct_orf)
        for r in results_for(db, person_id=person_id)
    )
    stays = tuple(
        # A stay with no end yet is a stay until now: re-read at each evaluation.
        engine.RiskAreaStay(s.level, s.start, s.end or max(now, s.start), s.area)
        for s in db.execute(select(DeclaredStay).where(DeclaredStay.person_id == person_id)).scalars()
    )
    fevers = tuple(
        engine.Fever(f.at, f.temperature)
        for f in db.execute(select(FeverRecord).where(FeverRecord.person_id == person_id)).scalars()
    )
    reviews = tuple(
        engine.Review(
            r.color, r.start, r.until, f"case {r.case_id}" if r.case_id else f"contact {r.contact_id}", r.reason
        )
        for r in db.execute(select(CodeReview).where(CodeReview.person_id == person_id)).scalars()
    )
    appeal_open = (
        db.execute(
            select(Appeal.id).where(Appeal.person_id == person_id, Appeal.status == AppealStatus.open).limit(1)
        ).first()
        is not None
    )
    return engine.Facts(case=_case_facts(db, person_id), contacts=_contact_facts(db, person_id), tests=tests,
                        risk_stays=stays, fevers=fevers, reviews=reviews, appeal_open=appeal_open)  # fmt: skip


def reasons_json(status: engine.CodeStatus) -> str:
    return json.dumps(
        [{"code": r.code, "params": r.params, "color": r.color.value if r.color else None} for r in status.reasons],
        ensure_ascii=False,
        sort_keys=True,
    )


def parse_reasons(text: str) -> list[engine.Reason]:
    return [
        engine.Reason(item["code"], item["params"], Color(item["color"]) if item.get("color") else None)
        for item in json.loads(text)
    ]


def evaluate_person(db: Session, *, person_id: int, now: dt.datetime, policy: Policy) -> engine.CodeStatus:
    return engine.evaluate(facts_for(db, person_id=person_id, now=now), policy, now)


def recompute(db: Session, *, person_id: int, cause: Cause, policy: Policy | None = None) -> HealthCode:
    """Evaluate the person's code now and cache it; a change of color or of the rules behind it is recorded."""
    now = clock.now()
    policy = policy or edition_in_force(db)
    status = evaluate_person(db, person_id=person_id, now=now, policy=policy)
    reasons = reasons_json(status)
    code = db.get(HealthCode, person_id)
    raced = code is None
    if code is None:
        code, made = _first_code(db, person_id=person_id, status=status, reasons=reasons, policy=policy, now=now)
        if made:
            # Everyone starts green with no reasons: a first status that is green is no change.
            if status.color is not Color.green:
                _record_change(db, person_id=person_id, previous=None, status=status, reasons=reasons,
                               policy=policy, cause=cause, now=now)  # fmt: skip
            return code
        # Another transaction made the first code since we looked (and recorded its first status): it is the
        # status before this one.
    codes_before = [r.code for r in parse_reasons(code.reasons)]
    codes_now = [r.code for r in status.reasons]
    changed = code.color != status.color or codes_before != codes_now or code.policy != policy.name
    if raced and not changed and code.valid_until == status.valid_until:
        # The other transaction's code is this one: rewriting it would only make the next reader that raced
        # for it wait for this transaction's row lock.
        return code
    if changed:
        _record_change(db, person_id=person_id, previous=code.color, status=status, reasons=reasons,
                       policy=policy, cause=cause, now=now)  # fmt: skip
    code.color, code.reasons, code.valid_until = status.color, reasons, status.valid_until
    code.policy, code.computed_at = policy.name, now
    db.flush()
    return code


def _first_code(
    db: Session, *, person_id: int, status: engine.CodeStatus, reasons: str, policy: Policy, now: dt.datetime
) -> tuple[HealthCode, bool]:
    """The person's first code, inserted unless another transaction made it since we looked; whether we made it.

    A plain INSERT failed with a duplicate key when first reads raced: 64 phones asking for one resident's new
    code at once got 500s on PostgreSQL (issue 13). INSERT … ON CONFLICT DO NOTHING takes the other one's row
    instead, and a fresh read then sees it (READ COMMITTED). PostgreSQL still waits for the other transaction to
    end to know whether it conflicts: a request that makes a first code must reach its commit without waiting for
    a thread of the pool the waiters hold (healthcode/views.py, my_code). SQLite's units of work take turns."""
    insert = postgresql.insert if db.get_bind().dialect.name == "postgresql" else sqlite.insert
    stmt = (
        insert(HealthCode)
        .values(person_id=person_id, handle=secrets.token_bytes(16), color=status.color, reasons=reasons,
                valid_until=status.valid_until, policy=policy.name, computed_at=now)
        .on_conflict_do_nothing(index_elements=[HealthCode.person_id])
        .returning(HealthCode.person_id)
    )  # fmt: skip
    made = db.execute(stmt).first() is not None
    return db.get_one(HealthCode, person_id, populate_existing=True), made


def _record_change(
    db: Session,
    *,
    person_id: int,
    previous: Color | None,
    status: engine.CodeStatus,
    reasons: str,
    policy: Policy,
    cause: Cause,
    now: dt.datetime,
) -> None:
    db.add(CodeChange(person_id=person_id, at=now, from_color=previous, to_color=status.color, reasons=reasons,
                      policy=policy.name, actor_user_id=cause.actor_user_id, actor=cause.actor,
                      cause_kind=cause.kind.value, cause_params=causes.dump_params(cause.params)))  # fmt: skip


def recompute_many(db: Session, *, person_ids: Iterable[int], cause: Cause) -> None:
    policy = edition_in_force(db)
    for person_id in sorted(set(person_ids)):
        recompute(db, person_id=person_id, cause=cause, policy=policy)


def current(db: Session, *, person_id: int) -> HealthCode:
    """The person's code as of now: the cache while it holds, recomputed (by the rule) once time has moved it."""
    code = db.get(HealthCode, person_id)
    now = clock.now()
    if code is None or (code.valid_until is not None and code.valid_until <= now):
        return recompute(db, person_id=person_id, cause=Cause(CodeCause.phase_ended if code else CodeCause.first_use))
    return code


def history(db: Session, *, person_id: int) -> Sequence[CodeChange]:
    stmt = select(CodeChange).where(CodeChange.person_id == person_id)
    return db.execute(stmt.order_by(CodeChange.at, CodeChange.id)).scalars().all()


def people_with_facts(db: Session) -> list[int]:
    """Everyone whose code is not plain green by default: cached codes and anyone with a fact on record."""
    stmt = union(
        select(HealthCode.person_id),
        select(Case.person_id),
        select(Contact.person_id).where(Contact.status == ContactStatus.confirmed),
        select(TestResult.person_id),
        select(DeclaredStay.person_id),
        select(FeverRecord.person_id),
        select(CodeReview.person_id),
    )
    return sorted(db.execute(stmt).scalars())


def on_person_facts_changed(db: Session, fact: PersonFactsChanged) -> None:
    """Subscribed through core.facts: a domain below changed these people's facts."""
    recompute_many(db, person_ids=fact.person_ids, cause=fact.cause)


def on_edition_changed(db: Session, fact: EditionChanged) -> EditionReport:
    """Subscribed through core.facts: every code is recomputed under the new edition, each change recorded with
    the edition change as its cause."""
    people = people_with_facts(db)
    colors = dict(db.execute(select(HealthCode.person_id, HealthCode.color)).all())
    changed = 0
    for person_id in people:
        code = recompute(db, person_id=person_id, cause=fact.cause, policy=fact.policy)
        changed += code.color != colors.get(person_id, Color.green)
    return EditionReport("codes", len(people), changed)


def review(
    db: Session,
    *,
    actor: Actor,
    person_ref: str,
    color: Color,
    reason: str,
    until: dt.datetime,
    case_id: int | None = None,
    contact_id: int | None = None,
) -> CodeReview:
    """The only hand change of a color: an investigator's review decision, resting on the person's own case or
    contact record, with a written reason, until a given time. Audited; recomputes the code. Since the worst color
    wins, it can add a color the rules do not see, never lift one they do."""
    if not actor.has(Role.investigator):
        raise Forbidden("only investigators make review decisions on health codes")
    reason = reason.strip()
    if not reason:
        raise Invalid("a review decision needs a written reason")
    if (case_id is None) == (contact_id is None):
        raise Invalid("a review decision rests on one record: give the case or the contact record it is about")
    person = get_readable_person(db, actor=actor, ref=person_ref)
    if case_id is not None:
        record = get_case(db, actor=actor, case_id=case_id)
        if record.person_id != person.id:
            raise Invalid("case %(id)s is not %(ref)s's case", id=case_id, ref=person_ref)
    else:
        contact = get_contact(db, actor=actor, contact_id=contact_id or 0)
        if contact.person_id != person.id or contact.status is not ContactStatus.confirmed:
            raise Invalid("contact record %(id)s is not a confirmed contact of %(ref)s", id=contact_id, ref=person_ref)
    now = clock.now()
    if until.tzinfo is None or until <= now:
        raise Invalid("a review decision lasts until a time in the future, given with its UTC offset")
    row = CodeReview(person_id=person.id, color=color, case_id=case_id, contact_id=contact_id, reason=reason,
                     start=now, until=until, reviewed_by=actor.username, reviewed_by_user_id=actor.user_id)  # fmt: skip
    db.add(row)
    db.flush()
    audit.record(db, actor=actor, action=AuditAction.code_review, entity_type="person", entity_ref=person.ref,
                 person_id=person.id, purpose=reason, details=f"{color.value} until {until.isoformat()}")  # fmt: skip
    recompute(db, person_id=person.id, cause=actor.cause(CodeCause.review, review=row.id))
    return row


@dataclass(frozen=True, slots=True)
class CodeView:
    person_id: int
    person_ref: str
    color: Color
    reasons: list[engine.Reason]
    valid_until: dt.datetime | None
    policy: str


def show(db: Session, *, actor: Actor, person_ref: str, at: dt.datetime | None = None) -> CodeView:
    """A person's code with its reasons: one's own, or, for officials, people of their regions (audited). With
    `at`, evaluated as of that instant under the edition in force, without touching the cache."""
    person = get_readable_person(db, actor=actor, ref=person_ref)
    if at is not None:
        policy = edition_in_force(db)
        status = evaluate_person(db, person_id=person.id, now=at, policy=policy)
        view = CodeView(person.id, person.ref, status.color, list(status.reasons), status.valid_until, policy.name)
    else:
        code = current(db, person_id=person.id)
        view = CodeView(person.id, person.ref, code.color, parse_reasons(code.reasons), code.valid_until, code.policy)
    if actor.person_id != person.id:
        audit.record(db, actor=actor, action=AuditAction.code_read, entity_type="person", entity_ref=person.ref,
                     person_id=person.id, purpose="health code", details=view.color.value)  # fmt: skip
    return view


def person_history(db: Session, *, actor: Actor, person_ref: str) -> Sequence[CodeChange]:
    person = get_readable_person(db, actor=actor, ref=person_ref)
    if actor.person_id != person.id:
        audit.record(db, actor=actor, action=AuditAction.code_read, entity_type="person", entity_ref=person.ref,
                     person_id=person.id, purpose="health code history")  # fmt: skip
    return history(db, person_id=person.id)


def declare_stay(
    db: Session,
    *,
    actor: Actor,
    person_ref: str,
    area: str,
    level: RiskLevel,
    start: dt.datetime,
    end: dt.datetime | None = None,
) -> DeclaredStay:
    """A stay in (or residence in) a risk area: declared by the resident, or recorded by a grid worker or an
    investigator of their region (the returnee registration of grid screening). Recomputes the code."""
    if not actor.has(Role.resident, Role.grid_worker, Role.investigator):
        raise Forbidden("stays in risk areas are declared by residents, grid workers and investigators")
    person = get_readable_person(db, actor=actor, ref=person_ref)
    area = area.strip()
    if not area:
        raise Invalid("name the area, e.g. '西安市雁塔区'")
    now = clock.now()
    if start.tzinfo is None or (end is not None and end.tzinfo is None):
        raise Invalid("give the stay's times with a UTC offset, like 2022-03-20T14:05:00+08:00")
    if start > now or (end is not None and (end < start or end > now + dt.timedelta(minutes=5))):
        raise Invalid("a stay starts in the past and ends after it starts, by now at the latest")
    stay = DeclaredStay(person_id=person.id, area=area[:200], level=level, start=start, end=end,
                        declared_by=actor.username, created_at=now)  # fmt: skip
    db.add(stay)
    db.flush()
    audit.record(db, actor=actor, action=AuditAction.person_update, entity_type="person", entity_ref=person.ref,
                 person_id=person.id, purpose="risk-area stay", details=f"{level.value} {area}")  # fmt: skip
    recompute(db, person_id=person.id, cause=actor.cause(CodeCause.stay_declared, area=area))
    return stay
