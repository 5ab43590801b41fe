"""Entering and reading test results. Labs, samplers and investigators enter them; a result changes the
person's health code (the health-code service recomputes it from the facts)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.orm import Session

from fangkong.auth import audit
from fangkong.auth.actor import Actor
from fangkong.auth.audit_models import AuditAction
from fangkong.auth.models import Role
from fangkong.core import clock, facts
from fangkong.core.errors import Conflict, Forbidden, Invalid, NotFound
from fangkong.people.models import Person
from fangkong.people.scope import get_readable_person, readable_people
from fangkong.testing import queries
from fangkong.testing.models import TestingCause, TestOutcome, TestResult

ENTRY_ROLES = (Role.lab, Role.sampler, Role.investigator)
_CT_RANGE = (0.0, 50.0)  # real-time PCR runs 40–45 cycles; anything outside is a typing error


def _person_for_entry(db: Session, actor: Actor, ref: str) -> Person:
    """Samplers and investigators enter results for people of their regions. A lab works on tubes from anywhere
    in its city and reads nobody's record: it names the person by ref and learns nothing more."""
    if actor.is_system or Role.lab in actor.roles:
        person = db.execute(select(Person).where(Person.ref == ref)).scalar_one_or_none()
        if person is None:
            raise NotFound("no person with ref %(ref)s", ref=ref)
        return person
    return get_readable_person(db, actor=actor, ref=ref)


def add_result(
    db: Session,
    *,
    actor: Actor,
    person_ref: str,
    sampled_at: dt.datetime,
    result: TestOutcome,
    ct_n: float | None = None,
    ct_orf: float | None = None,
    lab: str = "",
) -> TestResult:
    if not actor.has(*ENTRY_ROLES):
        raise Forbidden("only labs, samplers and investigators enter test results")
    if sampled_at.tzinfo is None:
        raise Invalid("give the sampling time with a UTC offset, like 2022-03-20T14:05:00+08:00")
    if sampled_at > clock.now() + dt.timedelta(minutes=5):
        raise Invalid("the sampling time %(value)s is in the future", value=sampled_at.isoformat())
    for value in (ct_n, ct_orf):
        if value is not None and not _CT_RANGE[0] < value < _CT_RANGE[1]:
            raise Invalid("a Ct value lies between 0 and 50; %(value)s is not one", value=value)
    person = _person_for_entry(db, actor, person_ref)
    row = TestResult(person_id=person.id, sampled_at=sampled_at.astimezone(dt.UTC), result=result, ct_n=ct_n,
                     ct_orf=ct_orf, lab=lab.strip()[:200], entered_by_user_id=actor.user_id,
                     entered_by=actor.username, created_at=clock.now())  # fmt: skip
    db.add(row)
    db.flush()
    audit.record(db, actor=actor, action=AuditAction.test_result, entity_type="test_result", entity_ref=str(row.id),
                 person_id=person.id, purpose=lab.strip() or "test result",
                 details=f"{result.value} sampled {row.sampled_at.isoformat()}")  # fmt: skip
    facts.person_facts_changed(
        db, person_ids=[row.person_id], cause=actor.cause(TestingCause.result_entered, result=row.id)
    )
    return row


def _may_withdraw(db: Session, actor: Actor, original: TestResult) -> bool:
    """A lab withdraws the results it entered itself; an investigator those of the people of their regions (the
    scope in which they enter results); the system's operator any. A lab is an account (a lab grant): the `lab`
    text of a result is whatever its enterer typed and proves nothing, so "its own" is "entered by this account"."""
    if actor.is_system:
        return True
    if Role.lab in actor.roles and actor.user_id is not None and original.entered_by_user_id == actor.user_id:
        return True
    if Role.investigator in actor.roles:
        readable = db.execute(select(Person.id).where(Person.id == original.person_id, readable_people(actor)))
        return readable.first() is not None
    return False


def withdraw_result(db: Session, *, actor: Actor, result_id: int, reason: str) -> TestResult:
    """Withdraw a wrong result by a new row pointing at it (the wrong one stays on record). A result the actor may
    not withdraw (another lab's, a person outside an investigator's regions) does not exist for them: the same 404
    as an id never used, so ids cannot be probed."""
    if not actor.has(Role.lab, Role.investigator):
        raise Forbidden("only labs and investigators withdraw test results")
    reason = reason.strip()
    if not reason:
        raise Invalid("give a reason for withdrawing a result, e.g. 'tube mix-up at the lab'")
    original = db.get(TestResult, result_id)
    if original is None or original.withdraws_id is not None or not _may_withdraw(db, actor, original):
        raise NotFound("no test result %(id)s", id=result_id)
    if db.execute(select(TestResult.id).where(TestResult.withdraws_id == original.id)).first() is not None:
        raise Conflict("test result %(id)s is already withdrawn", id=result_id)
    row = TestResult(person_id=original.person_id, sampled_at=original.sampled_at, result=original.result,
                     lab=original.lab, entered_by_user_id=actor.user_id, entered_by=actor.username,
                     withdraws_id=original.id, created_at=clock.now())  # fmt: skip
    db.add(row)
    db.flush()
    audit.record(db, actor=actor, action=AuditAction.test_result, entity_type="test_result",
                 entity_ref=str(original.id), person_id=original.person_id, purpose=reason,
                 details="withdrawn")  # fmt: skip
    cause = actor.cause(TestingCause.result_withdrawn, result=original.id)
    facts.person_facts_changed(db, person_ids=[row.person_id], cause=cause)
    return row


def results_for(db: Session, *, person_id: int) -> Sequence[TestResult]:
    """The person's standing results, oldest sample first: withdrawn ones and the withdrawals left out."""
    return db.execute(queries.standing_results(person_id)).scalars().all()
