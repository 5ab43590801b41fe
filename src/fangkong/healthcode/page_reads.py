"""Small reads the health-code pages need beside the services: a resident's own record, the appellants of an
investigator's appeals, the facts an appeal may correct, and how to name the officials who changed a code.

Read-only and scoped like the services they sit beside: the appeals given here were already scoped to the
investigator by `appeals.appeals_to_review`, and the contacts offered for dismissal are those the investigator
may decide on (`cases.scope.get_contact(for_change=True)` has the same clause)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from fangkong.auth.actor import Actor
from fangkong.auth.models import Role, RoleGrant
from fangkong.auth.scope import in_regions
from fangkong.cases.models import Case, Contact, ContactStatus
from fangkong.core.errors import Forbidden
from fangkong.healthcode.models import Appeal, AppealStatus
from fangkong.people.models import Person
from fangkong.regions.models import Region
from fangkong.testing.models import TestResult
from fangkong.testing.service import results_for


def own_person(db: Session, *, actor: Actor) -> Person:
    """The resident's own record: only an account linked to a person has a health code."""
    if actor.person_id is None:
        raise Forbidden("only a resident's own account has a health code")
    return db.get_one(Person, actor.person_id)


def people_by_id(db: Session, *, person_ids: Iterable[int]) -> dict[int, Person]:
    ids = sorted(set(person_ids))
    if not ids:
        return {}
    return {p.id: p for p in db.execute(select(Person).where(Person.id.in_(ids))).scalars()}


def recently_decided(db: Session, *, actor: Actor, limit: int) -> Sequence[Appeal]:
    """The latest decided appeals of the investigator's regions (the scope of appeals.appeals_to_review)."""
    stmt = select(Appeal).where(
        in_regions(Appeal.region_id, actor, Role.investigator), Appeal.status != AppealStatus.open
    )
    return db.execute(stmt.order_by(Appeal.decided_at.desc(), Appeal.id.desc()).limit(limit)).scalars().all()


def standing_results(db: Session, *, person_id: int) -> Sequence[TestResult]:
    """The appellant's test results that still count, newest first: the ones an investigator may withdraw."""
    return list(reversed(results_for(db, person_id=person_id)))


def dismissable_contacts(db: Session, *, actor: Actor, person_id: int) -> Sequence[Contact]:
    """The appellant's confirmed contact records that this investigator may dismiss, latest exposure first."""
    if not actor.has(Role.investigator):
        return []
    scope = or_(
        in_regions(Contact.region_id, actor, Role.investigator),
        Contact.case_id.in_(select(Case.id).where(in_regions(Case.region_id, actor, Role.investigator))),
    )
    stmt = select(Contact).where(Contact.person_id == person_id, Contact.status == ContactStatus.confirmed, scope)
    return db.execute(stmt.order_by(Contact.last_exposure_at.desc(), Contact.id.desc())).scalars().all()


@dataclass(frozen=True, slots=True)
class OfficialLabel:
    role: Role
    region_name: str


def official_labels(db: Session, *, user_ids: Iterable[int]) -> dict[int, OfficialLabel]:
    """The role and region of each official who changed a code, for a resident's history: a resident reads which
    kind of office decided, as on the access log, not the official's account name."""
    ids = sorted(set(user_ids))
    if not ids:
        return {}
    rows = db.execute(
        select(RoleGrant.user_id, RoleGrant.role, Region.name, Region.path)
        .join(Region, Region.id == RoleGrant.region_id)
        .where(RoleGrant.user_id.in_(ids), RoleGrant.role != Role.resident)
    ).all()
    found: dict[int, tuple[int, OfficialLabel]] = {}
    for user_id, role, region_name, path in rows:
        # The widest grant names the office, as Actor.primary does for the audit trail.
        if user_id not in found or len(path) < found[user_id][0]:
            found[user_id] = (len(path), OfficialLabel(role, region_name))
    return {user_id: label for user_id, (_, label) in found.items()}
