"""Cross-region assistance requests (协查): naming, for a case, a person outside one's own regions.

An investigator may name a contact of their case from an interview by ref or by ID number. When the person lives
in the investigator's own regions, the contact is made at once (`contacts.interview_contact`). Otherwise nothing
about the person is made or shown: a request is filed, addressed server-side to the person's own region, carrying
only what the requester supplied (the case, the tier, the exposure's time, place and note). The requester's answer
is the same whether the ref or number matches someone elsewhere or nobody at all, so naming cannot be used to
look people up or to turn anyone's code red; a name that matches nobody is addressed to the top of the
requester's region tree (the city), whose officials answer it like any other.

The receiving region's investigators see their requests oldest first with how long each has waited, and decide
them as they decide any candidate: confirming makes the contact in their hands (its code changes then, through
PersonFactsChanged), dismissing needs a reason. The requester sees the decision, when, and which region made it.
Every filing and decision is an `assist_event` row and an audit row; every read of an incoming request, which
shows a person, is audited.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

from sqlalchemy import ColumnElement, select
from sqlalchemy.orm import Session, aliased

from fangkong.auth import audit
from fangkong.auth.actor import Actor
from fangkong.auth.audit_models import AuditAction
from fangkong.auth.models import Role
from fangkong.cases.contacts import Decision, Interview, interview_contact
from fangkong.cases.models import (
    AssistChange,
    AssistEvent,
    AssistRequest,
    AssistStatus,
    Case,
    Contact,
    ContactTier,
    NamedBy,
)
from fangkong.cases.scope import (
    get_case,
    incoming_requests,
    investigated_regions,
    outgoing_requests,
    require_investigator,
    require_reader,
)
from fangkong.core import causes, clock
from fangkong.core.crypto import Keyring
from fangkong.core.errors import Conflict, Invalid, NotFound
from fangkong.core.ids import mask_id_number
from fangkong.people.models import Person
from fangkong.people.pii import id_lookup_hash
from fangkong.regions.models import Region

_DOCUMENT = re.compile(r"[0-9A-Z]{5,20}")


@dataclass(frozen=True, slots=True)
class Named:
    """Who an investigator named: a person ref, or an ID number of any document (never kept in clear)."""

    person_ref: str = ""
    id_number: str = ""


def _normalized_number(raw: str) -> str:
    number = re.sub(r"[\s-]", "", raw).upper()  # as people.service.find_by_id_number
    if not _DOCUMENT.fullmatch(number):
        raise Invalid("an ID number is 5 to 20 letters and digits")
    return number


def name_contact(
    db: Session, *, actor: Actor, keys: Keyring, case_id: int, named: Named, tier: ContactTier,
    interview: Interview,
) -> Contact | AssistRequest:  # fmt: skip
    """A contact named in an interview for a case of the actor's regions: the contact itself, decided as `tier`,
    when the person lives in the actor's regions; otherwise an assistance request to the person's region, which
    tells the actor nothing about who (or whether anyone) was named."""
    case = get_case(db, actor=actor, case_id=case_id, for_change=True)
    interview = interview.checked()
    ref, raw_number = named.person_ref.strip(), named.id_number.strip()
    if bool(ref) == bool(raw_number):
        raise Invalid("name the person by their ref or by their ID number, one of the two")
    id_hash = id_masked = None
    if ref:
        person = db.execute(select(Person).where(Person.ref == ref)).scalar_one_or_none()
    else:
        number = _normalized_number(raw_number)
        id_hash, id_masked = id_lookup_hash(keys, number), mask_id_number(number)
        person = db.execute(select(Person).where(Person.id_hash == id_hash)).scalars().first()
    if person is not None and _investigates(db, actor, person):
        return interview_contact(db, actor=actor, case=case, person=person, interview=interview, tier=tier,
                                 decision=Decision(tier.value), reason=interview.note)  # fmt: skip
    request = AssistRequest(
        case_id=case.id, from_region_id=_unit(db, actor, case.region_id) or _top_region_id(db, case.region_id),
        to_region_id=person.region_id if person is not None else _top_region_id(db, case.region_id),
        named_by=NamedBy.ref if ref else NamedBy.id_number, person_ref=ref or None, id_hash=id_hash,
        id_masked=id_masked, person_id=person.id if person is not None else None, tier=tier,
        exposure_start=interview.start, exposure_end=interview.end, venue=interview.venue, note=interview.note,
        status=AssistStatus.pending, filed_at=clock.now(), requested_by_user_id=actor.user_id,
        requested_by=actor.username,
    )  # fmt: skip
    db.add(request)
    db.flush()
    _event(db, request, actor, AssistChange.filed, reason=interview.note)
    audit.record(db, actor=actor, action=AuditAction.assist_request, entity_type="assist_request",
                 entity_ref=str(request.id), person_id=request.person_id, purpose=interview.note,
                 details=f"filed for case {case.id}, {tier.value}")  # fmt: skip
    return request


def _investigates(db: Session, actor: Actor, person: Person) -> bool:
    stmt = select(Person.id).where(Person.id == person.id, investigated_regions(Person.region_id, actor))
    return db.execute(stmt).first() is not None


def _top_region_id(db: Session, region_id: int) -> int:
    """The root of the tree the region lies in (the city): who answers for a name that matches nobody."""
    path = db.execute(select(Region.path).where(Region.id == region_id)).scalar_one()
    top = path.strip("/").split("/")[0]
    return db.execute(select(Region.id).where(Region.code == top)).scalar_one()


def _event(
    db: Session, request: AssistRequest, actor: Actor, change: AssistChange, *, reason: str,
    params: dict[str, object] | None = None,
) -> None:  # fmt: skip
    grant = actor.primary
    db.add(AssistEvent(request_id=request.id, at=clock.now(), change=change, params=causes.dump_params(params or {}),
                       reason=reason, actor_user_id=actor.user_id, actor_username=actor.username,
                       actor_region_code=grant.region_code if grant else None))  # fmt: skip
    db.flush()


# --- the receiving side ------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Incoming:
    """A request as its receiving region sees it: what the requester supplied, who it matched, how long it has
    waited (until it was decided, or until now)."""

    request: AssistRequest
    from_region: str
    person_ref: str | None  # the registry's match, None when the name matches nobody
    person_name: str | None
    waited: dt.timedelta


def _incoming(db: Session, actor: Actor, *where: ColumnElement[bool], limit: int | None, offset: int) -> list[Incoming]:
    source = aliased(Region)
    stmt = (
        select(AssistRequest, source.name, Person.ref, Person.name)
        .join(source, source.id == AssistRequest.from_region_id)
        .outerjoin(Person, Person.id == AssistRequest.person_id)
        .where(incoming_requests(actor), *where)
        .order_by(AssistRequest.filed_at, AssistRequest.id)
        .limit(limit)
        .offset(offset)
    )
    now = clock.now()
    rows = []
    for request, region, ref, name in db.execute(stmt).all():
        rows.append(Incoming(request, region, ref, name, (request.decided_at or now) - request.filed_at))
        audit.record(db, actor=actor, action=AuditAction.case_read, entity_type="assist_request",
                     entity_ref=str(request.id), person_id=request.person_id,
                     purpose="assistance request")  # fmt: skip
    return rows


def inbox(
    db: Session, *, actor: Actor, status: AssistStatus | None = AssistStatus.pending, limit: int | None = 500,
    offset: int = 0,
) -> list[Incoming]:  # fmt: skip
    """Requests addressed to the actor's regions, oldest first (the longest waiting on top). Each shown request
    is audited: it shows a person to an official."""
    require_reader(actor)
    where = [AssistRequest.status == status] if status is not None else []
    return _incoming(db, actor, *where, limit=limit, offset=offset)


def read_incoming(db: Session, *, actor: Actor, request_id: int) -> Incoming:
    require_reader(actor)
    found = _incoming(db, actor, AssistRequest.id == request_id, limit=None, offset=0)
    if not found:
        raise NotFound("no assistance request %(id)s", id=request_id)
    return found[0]


def decide(db: Session, *, actor: Actor, request_id: int, decision: Decision, reason: str = "") -> AssistRequest:
    """Answer a request addressed to the actor's regions: confirm the person as a contact of the requester's case
    (made here, in the person's region's hands; their code changes now), or dismiss it with a reason."""
    require_investigator(actor)
    stmt = select(AssistRequest).where(AssistRequest.id == request_id, incoming_requests(actor, for_decision=True))
    request = db.execute(stmt.with_for_update()).scalar_one_or_none()  # two answers at once: one wins
    if request is None:
        raise NotFound("no assistance request %(id)s", id=request_id)
    if request.status is not AssistStatus.pending:
        raise Conflict("assistance request %(id)s has been answered already", id=request_id)
    reason = reason.strip()
    params: dict[str, object] = {}
    if decision is Decision.dismiss:
        if not reason:
            raise Invalid("give a reason for dismissing a request, e.g. 'no such person in our district'")
        request.status = AssistStatus.dismissed
    else:
        person = db.get(Person, request.person_id) if request.person_id is not None else None
        if person is None:
            raise Conflict("assistance request %(id)s matches nobody in the registry; dismiss it with a reason",
                           id=request_id)  # fmt: skip
        interview = Interview(request.note, request.exposure_start, request.exposure_end, request.venue)
        contact = interview_contact(db, actor=actor, case=db.get_one(Case, request.case_id), person=person,
                                    interview=interview, tier=request.tier, decision=decision,
                                    reason=reason or request.note, request=request)  # fmt: skip
        request.status, request.decided_tier = AssistStatus.confirmed, ContactTier(decision.value)
        params = {"contact": contact.id, "tier": decision.value}
    request.decided_at, request.decided_region_id = clock.now(), _unit(db, actor, request.to_region_id)
    _event(db, request, actor, AssistChange(request.status.value), reason=reason, params=params)
    audit.record(db, actor=actor, action=AuditAction.contact_decision, entity_type="assist_request",
                 entity_ref=str(request.id), person_id=request.person_id, purpose=reason or decision.value,
                 details=f"{decision.value} (requested {request.tier.value})")  # fmt: skip
    return request


def _unit(db: Session, actor: Actor, region_id: int) -> int | None:
    """The region of the actor's investigator grant that covers `region_id` (the narrowest): the unit that asks or
    answers, as the other side is told (a district, not the grid of the case or of the person)."""
    path = db.execute(select(Region.path).where(Region.id == region_id)).scalar_one()
    covering = [g for g in actor.grants_for(Role.investigator) if path.startswith(g.region_path)]
    return max(covering, key=lambda g: len(g.region_path)).region_id if covering else None


# --- the requesting side -----------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Sent:
    """A request as its requester sees it: what they supplied and the decision, never whom it matched."""

    request: AssistRequest
    decided_by: str | None  # the name of the region that answered
    decided_by_code: str | None


def sent(
    db: Session, *, actor: Actor, case_id: int | None = None, request_id: int | None = None,
    status: AssistStatus | None = None, limit: int | None = 500, offset: int = 0,
) -> list[Sent]:  # fmt: skip
    """Requests filed for cases of the actor's regions (one case's, or one), newest first."""
    require_reader(actor)
    if case_id is not None:
        get_case(db, actor=actor, case_id=case_id)
    decider = aliased(Region)
    stmt = (
        select(AssistRequest, decider.name, decider.code)
        .outerjoin(decider, decider.id == AssistRequest.decided_region_id)
        .where(outgoing_requests(actor))
    )
    if case_id is not None:
        stmt = stmt.where(AssistRequest.case_id == case_id)
    if request_id is not None:
        stmt = stmt.where(AssistRequest.id == request_id)
    if status is not None:
        stmt = stmt.where(AssistRequest.status == status)
    stmt = stmt.order_by(AssistRequest.filed_at.desc(), AssistRequest.id.desc()).limit(limit).offset(offset)
    return [Sent(request, name, code) for request, name, code in db.execute(stmt).all()]


def read_sent(db: Session, *, actor: Actor, request_id: int) -> Sent:
    found = sent(db, actor=actor, request_id=request_id)
    if not found:
        raise NotFound("no assistance request %(id)s", id=request_id)
    return found[0]
