"""Appeals (流调复核): a resident who thinks their color is wrong asks for a review; an investigator of their
region decides against the evidence: uphold the color with a reason, or correct the wrong fact (withdraw a
test result, dismiss a contact record), which recomputes the code. The resident sees the outcome and the reason.
"""

from __future__ import annotations

import enum
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from fangkong.auth import audit
from fangkong.auth.actor import Actor
from fangkong.auth.audit_models import AuditAction
from fangkong.auth.models import Role
from fangkong.auth.scope import in_regions
from fangkong.cases.contacts import Decision, decide
from fangkong.cases.scope import get_contact
from fangkong.core import clock
from fangkong.core.errors import Conflict, Forbidden, Invalid, NotFound
from fangkong.healthcode.models import Appeal, AppealStatus, CodeCause
from fangkong.healthcode.service import current, recompute
from fangkong.people.models import Person
from fangkong.testing.models import TestResult
from fangkong.testing.service import withdraw_result


class AppealDecision(enum.StrEnum):
    upheld = "upheld"
    corrected = "corrected"


@dataclass(frozen=True, slots=True)
class Correction:
    """The wrong fact an investigator corrects when an appeal is right: one of these."""

    withdraw_result_id: int | None = None
    dismiss_contact_id: int | None = None


def file_appeal(db: Session, *, actor: Actor, statement: str) -> Appeal:
    if actor.person_id is None or Role.resident not in actor.roles:
        raise Forbidden("only a resident appeals their own code")
    statement = statement.strip()
    if not statement:
        raise Invalid("say why you think your color is wrong, e.g. 'I was not at that market on 3-20'")
    open_one = db.execute(
        select(Appeal.id).where(Appeal.person_id == actor.person_id, Appeal.status == AppealStatus.open)
    ).first()  # fmt: skip
    if open_one is not None:
        raise Conflict("you have an appeal under review already; its decision comes first")
    person = db.get_one(Person, actor.person_id)
    code = current(db, person_id=person.id)
    appeal = Appeal(person_id=person.id, region_id=person.region_id, color_when_filed=code.color,
                    statement=statement[:4000], status=AppealStatus.open, filed_at=clock.now())  # fmt: skip
    db.add(appeal)
    db.flush()
    audit.record(db, actor=actor, action=AuditAction.appeal, entity_type="appeal", entity_ref=str(appeal.id),
                 person_id=person.id, purpose="filed", details=statement[:255])  # fmt: skip
    recompute(db, person_id=person.id, cause=actor.cause(CodeCause.appeal_filed, appeal=appeal.id))
    return appeal


def _appeal_for_investigator(db: Session, actor: Actor, appeal_id: int) -> Appeal:
    if not actor.has(Role.investigator):
        raise Forbidden("only investigators review appeals")
    appeal = db.execute(
        select(Appeal).where(Appeal.id == appeal_id, in_regions(Appeal.region_id, actor, Role.investigator))
    ).scalar_one_or_none()  # fmt: skip
    if appeal is None:
        raise NotFound("no appeal %(id)s", id=appeal_id)
    return appeal


def decide_appeal(
    db: Session,
    *,
    actor: Actor,
    appeal_id: int,
    outcome: AppealDecision,
    reason: str,
    correction: Correction | None = None,
) -> Appeal:
    appeal = _appeal_for_investigator(db, actor, appeal_id)
    if appeal.status is not AppealStatus.open:
        raise Conflict("appeal %(id)s was decided already", id=appeal_id)
    reason = reason.strip()
    if not reason:
        raise Invalid("give the reason for the decision; the resident reads it")
    if outcome is AppealDecision.corrected:
        fixes = correction or Correction()
        if (fixes.withdraw_result_id is None) == (fixes.dismiss_contact_id is None):
            raise Invalid("a correction names the one wrong fact: a test result to withdraw or a contact to dismiss")
        if fixes.withdraw_result_id is not None:
            result = db.get(TestResult, fixes.withdraw_result_id)
            if result is None or result.person_id != appeal.person_id:
                raise Invalid("test result %(id)s is not the appellant's", id=fixes.withdraw_result_id)
            withdraw_result(db, actor=actor, result_id=fixes.withdraw_result_id, reason=f"appeal {appeal.id}: {reason}")
        else:
            contact_id = fixes.dismiss_contact_id or 0
            if get_contact(db, actor=actor, contact_id=contact_id, for_change=True).person_id != appeal.person_id:
                raise Invalid("contact %(id)s is not the appellant's", id=contact_id)
            decide(db, actor=actor, contact_id=contact_id, decision=Decision.dismiss,
                   reason=f"appeal {appeal.id}: {reason}")  # fmt: skip
    appeal.status = AppealStatus.corrected if outcome is AppealDecision.corrected else AppealStatus.upheld
    appeal.decided_at, appeal.decided_by, appeal.decision = clock.now(), actor.username, reason
    db.flush()
    audit.record(db, actor=actor, action=AuditAction.appeal, entity_type="appeal", entity_ref=str(appeal.id),
                 person_id=appeal.person_id, purpose=reason, details=outcome.value)  # fmt: skip
    kind = CodeCause.appeal_corrected if outcome is AppealDecision.corrected else CodeCause.appeal_upheld
    recompute(db, person_id=appeal.person_id, cause=actor.cause(kind, appeal=appeal.id))
    return appeal


def appeals_to_review(
    db: Session, *, actor: Actor, status: AppealStatus | None = AppealStatus.open
) -> Sequence[Appeal]:
    if not actor.has(Role.investigator):
        raise Forbidden("only investigators review appeals")
    stmt = select(Appeal).where(in_regions(Appeal.region_id, actor, Role.investigator))
    if status is not None:
        stmt = stmt.where(Appeal.status == status)
    return db.execute(stmt.order_by(Appeal.filed_at, Appeal.id)).scalars().all()


def my_appeals(db: Session, *, actor: Actor) -> Sequence[Appeal]:
    if actor.person_id is None:
        raise Forbidden("only a resident appeals their own code")
    stmt = select(Appeal).where(Appeal.person_id == actor.person_id)
    return db.execute(stmt.order_by(Appeal.filed_at.desc(), Appeal.id.desc())).scalars().all()
