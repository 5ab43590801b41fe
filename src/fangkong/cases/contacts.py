"""Contacts of a case: candidates proposed by tracing (co-presence from check-ins, the household), the
investigator's decisions, manual contacts from interviews, secondary tracing and follow-up.

A contact named in an interview is made here only for a person of the investigator's own regions; anyone else
is an assistance request to their region (assist.py), whose answer makes the contact here in that region's hands.

Tracing proposes; only an investigator decides. A new tracing run refreshes the evidence of candidates nobody has
decided on yet and adds new ones; it never touches a decided contact.
"""

from __future__ import annotations

import datetime as dt
import enum
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from fangkong.auth import audit
from fangkong.auth.actor import Actor
from fangkong.auth.audit_models import AuditAction
from fangkong.cases.models import (
    AssistRequest,
    Case,
    CaseCause,
    CaseChange,
    CaseEvent,
    Contact,
    ContactChange,
    ContactEvent,
    ContactEvidence,
    ContactStatus,
    ContactTier,
    EvidenceKind,
    FollowUp,
)
from fangkong.cases.scope import get_contact
from fangkong.core import causes, clock, facts
from fangkong.core.errors import Conflict, Invalid
from fangkong.people.models import Person
from fangkong.policy.service import TracingPolicy, policy_in_force
from fangkong.tracing.service import traced_contacts


class Decision(enum.StrEnum):
    close = "close"
    secondary = "secondary"
    companion = "companion"
    dismiss = "dismiss"


@dataclass(slots=True)
class _Proposal:
    person_id: int
    tier: ContactTier
    evidence: list[ContactEvidence] = field(default_factory=list)
    overlap_seconds: int = 0


@dataclass(frozen=True, slots=True)
class TraceSummary:
    window_start: dt.datetime
    window_end: dt.datetime
    proposed: int  # new candidates
    refreshed: int  # candidates whose evidence was renewed
    policy: str


def _event(
    db: Session, contact: Contact, actor: Actor, change: ContactChange, *, reason: str = "",
    params: Mapping[str, object] | None = None,
) -> None:  # fmt: skip
    """An event of the contact: its kind and parameters (worded when shown) and the investigator's own words."""
    db.add(ContactEvent(contact_id=contact.id, at=clock.now(), change=change, tier=contact.tier,
                        follow_up=contact.follow_up, params=causes.dump_params(params or {}), reason=reason,
                        actor_user_id=actor.user_id, actor_username=actor.username))  # fmt: skip


def _audit(db: Session, contact: Contact, actor: Actor, action: AuditAction, purpose: str, details: str) -> None:
    audit.record(db, actor=actor, action=action, entity_type="contact", entity_ref=str(contact.id),
                 person_id=contact.person_id, purpose=purpose, details=details)  # fmt: skip


def household_members(db: Session, *, person_id: int) -> list[Person]:
    """The other people registered in the person's household."""
    household = db.execute(select(Person.household_id).where(Person.id == person_id)).scalar_one_or_none()
    if household is None:
        return []
    stmt = select(Person).where(Person.household_id == household, Person.id != person_id).order_by(Person.ref)
    return list(db.execute(stmt).scalars())


def _proposals(
    db: Session, *, person_id: int, start: dt.datetime, end: dt.datetime, policy: TracingPolicy, tier: ContactTier
) -> dict[int, _Proposal]:
    """Co-present people (proposed as `tier`, or companions for a case) and household members over [start, end)."""
    found: dict[int, _Proposal] = {}
    checkin_tier = ContactTier.companion if tier is ContactTier.close else tier
    for traced in traced_contacts(db, person_id=person_id, start=start, end=end, min_overlap=policy.min_overlap):
        proposal = found[traced.person_id] = _Proposal(traced.person_id, checkin_tier)
        proposal.overlap_seconds = int(traced.overlap.total_seconds())
        proposal.evidence = [
            ContactEvidence(
                kind=EvidenceKind.checkin,
                venue_id=e.venue_id,
                venue_ref=e.venue_ref,
                venue_name=e.venue_name,
                start=e.start,
                end=e.end,
            )
            for e in traced.evidence
        ]
    for member in household_members(db, person_id=person_id):
        proposal = found.setdefault(member.id, _Proposal(member.id, tier))
        proposal.tier = tier  # living together outweighs a shared venue
        proposal.evidence.append(
            ContactEvidence(kind=EvidenceKind.household, start=start, end=end, note="same household")
        )
    return found


def _set_exposure(contact: Contact, evidence: Sequence[ContactEvidence]) -> None:
    starts = [e.start for e in evidence if e.start is not None]
    ends = [e.end for e in evidence if e.end is not None]
    contact.first_exposure_at = min(starts) if starts else None
    contact.last_exposure_at = max(ends) if ends else None


def _summary(proposal: _Proposal) -> dict[str, object]:
    """A tracing proposal's parameters: which kinds of evidence, how long co-present."""
    evidence = sorted({e.kind.value for e in proposal.evidence})
    return {"source": "tracing", "evidence": evidence, "overlap_minutes": proposal.overlap_seconds // 60}


def _apply(
    db: Session, *, actor: Actor, case: Case, proposals: dict[int, _Proposal], via: Contact | None
) -> tuple[int, int]:
    """Create new candidates, refresh undecided ones; returns (new, refreshed)."""
    proposals.pop(case.person_id, None)
    if not proposals:
        return 0, 0
    ids = sorted(proposals)
    existing: dict[int, Contact] = {}
    regions: dict[int, int] = {}
    for i in range(0, len(ids), 1000):
        chunk = ids[i : i + 1000]
        stmt = select(Contact).where(Contact.case_id == case.id, Contact.person_id.in_(chunk))
        existing |= {c.person_id: c for c in db.execute(stmt).scalars()}
        regions |= dict(db.execute(select(Person.id, Person.region_id).where(Person.id.in_(chunk))).all())
    created: list[tuple[Contact, _Proposal]] = []
    refreshed: list[tuple[Contact, _Proposal]] = []
    now = clock.now()
    for person_id in ids:
        proposal, contact = proposals[person_id], existing.get(person_id)
        if contact is None:
            # Traced from a contact the case's side does not read: neither are these.
            contact = Contact(case_id=case.id, person_id=person_id, region_id=regions[person_id],
                              via_contact_id=via.id if via else None, proposed_tier=proposal.tier,
                              status=ContactStatus.candidate, overlap_seconds=proposal.overlap_seconds,
                              created_at=now, request_id=via.request_id if via else None)  # fmt: skip
            db.add(contact)
            created.append((contact, proposal))
        elif contact.status is ContactStatus.candidate and contact.via_contact_id == (via.id if via else None):
            db.execute(delete(ContactEvidence).where(ContactEvidence.contact_id == contact.id,
                                                     ContactEvidence.kind != EvidenceKind.interview))  # fmt: skip
            contact.proposed_tier, contact.overlap_seconds = proposal.tier, proposal.overlap_seconds
            refreshed.append((contact, proposal))
        # else: decided, or found through another contact: the investigator's view stands
    db.flush()  # one round of INSERTs gives the new contacts their ids
    for contact, proposal in created:
        _event(db, contact, actor, ContactChange.proposed, params=_summary(proposal))
    renewed = {contact.id for contact, _ in refreshed}
    for contact, proposal in created + refreshed:
        for evidence in proposal.evidence:
            evidence.contact_id = contact.id
        db.add_all(proposal.evidence)
        interviews = _interview_evidence(db, contact) if contact.id in renewed else []
        _set_exposure(contact, proposal.evidence + interviews)
    db.flush()
    return len(created), len(refreshed)


def _interview_evidence(db: Session, contact: Contact) -> list[ContactEvidence]:
    stmt = select(ContactEvidence).where(
        ContactEvidence.contact_id == contact.id, ContactEvidence.kind == EvidenceKind.interview
    )
    return list(db.execute(stmt).scalars())


def infectious_window(case: Case, *, lookback: dt.timedelta, zone: dt.tzinfo) -> tuple[dt.datetime, dt.datetime]:
    """[onset day's midnight in the city, or first positive sampling] − look-back, until isolation or now."""
    if case.onset_date is not None:
        start = dt.datetime.combine(case.onset_date, dt.time(), tzinfo=zone).astimezone(dt.UTC)
    elif case.first_positive_at is not None:
        start = case.first_positive_at
    else:
        raise Invalid("case %(id)s has neither an onset date nor a first positive sampling time", id=case.id)
    return start - lookback, case.isolated_at or clock.now()


def trace_case(db: Session, *, actor: Actor, case: Case, zone: dt.tzinfo) -> TraceSummary:
    """Propose the case's contacts over its infectious window: co-present people as companions, household members
    as close contacts. The caller has checked that the actor may change the case."""
    policy = policy_in_force(db)
    start, end = infectious_window(case, lookback=policy.lookback, zone=zone)
    proposals = _proposals(db, person_id=case.person_id, start=start, end=end, policy=policy,
                           tier=ContactTier.close) if end > start else {}  # fmt: skip
    new, refreshed = _apply(db, actor=actor, case=case, proposals=proposals, via=None)
    case.traced_at, case.traced_from, case.traced_to, case.trace_policy = clock.now(), start, end, policy.name
    params = {"start": start.isoformat(), "end": end.isoformat(), "policy": policy.name, "new": new,
              "refreshed": refreshed}  # fmt: skip
    db.add(CaseEvent(case_id=case.id, at=clock.now(), change=CaseChange.traced, params=causes.dump_params(params),
                     actor_user_id=actor.user_id, actor_username=actor.username))  # fmt: skip
    text = f"[{start.isoformat()}, {end.isoformat()}) {policy.name}: {new} new, {refreshed} refreshed"
    audit.record(db, actor=actor, action=AuditAction.contact_trace, entity_type="case", entity_ref=str(case.id),
                 person_id=case.person_id, purpose="case tracing", details=text)  # fmt: skip
    db.flush()
    return TraceSummary(start, end, new, refreshed, policy.name)


def trace_secondary(db: Session, *, actor: Actor, contact: Contact) -> int:
    """Secondary candidates of a close contact over [first exposure, put under observation or now), when the
    policy in force still identifies secondary close contacts. Returns how many are new."""
    policy = policy_in_force(db)
    if not policy.secondary_contacts or contact.first_exposure_at is None:
        return 0
    start, end = contact.first_exposure_at, contact.quarantined_at or clock.now()
    if end <= start:
        return 0
    case = db.get_one(Case, contact.case_id)
    proposals = _proposals(db, person_id=contact.person_id, start=start, end=end, policy=policy,
                           tier=ContactTier.secondary)  # fmt: skip
    new, _ = _apply(db, actor=actor, case=case, proposals=proposals, via=contact)
    audit.record(db, actor=actor, action=AuditAction.contact_trace, entity_type="contact",
                 entity_ref=str(contact.id), person_id=contact.person_id, purpose="secondary tracing",
                 details=f"[{start.isoformat()}, {end.isoformat()}) {policy.name}: {new} new")  # fmt: skip
    return new


def decide(db: Session, *, actor: Actor, contact_id: int, decision: Decision, reason: str = "") -> Contact:
    """Confirm a candidate (or re-tier a contact) as close, secondary or companion, or dismiss it with a reason.
    Confirming a close contact traces their own contacts as secondary candidates."""
    contact = get_contact(db, actor=actor, contact_id=contact_id, for_change=True)
    return decide_contact(db, actor=actor, contact=contact, decision=decision, reason=reason)


def decide_contact(db: Session, *, actor: Actor, contact: Contact, decision: Decision, reason: str = "") -> Contact:
    """`decide` for a contact the caller has checked the actor may decide on; the code changes here, through
    PersonFactsChanged."""
    reason = reason.strip()
    was_close = contact.status is ContactStatus.confirmed and contact.tier is ContactTier.close
    if decision is Decision.dismiss:
        if not reason:
            raise Invalid("give a reason for dismissing a candidate, e.g. 'wore protection, different hall'")
        contact.status, contact.tier, contact.follow_up = ContactStatus.dismissed, None, None
        change = ContactChange.dismissed
    else:
        contact.status, contact.tier = ContactStatus.confirmed, ContactTier(decision.value)
        contact.follow_up = contact.follow_up or FollowUp.to_trace
        change = ContactChange.confirmed
    contact.decided_at, contact.decision_reason = clock.now(), reason
    _link_existing_case(db, contact)
    db.flush()
    _event(db, contact, actor, change, reason=reason)
    _audit(db, contact, actor, AuditAction.contact_decision, reason or decision.value,
           f"{decision.value} (proposed {contact.proposed_tier.value})")  # fmt: skip
    if decision is Decision.close and not was_close:
        trace_secondary(db, actor=actor, contact=contact)
    if decision is Decision.dismiss:
        cause = actor.cause(CaseCause.contact_dismissed, contact=contact.id)
    else:
        cause = actor.cause(CaseCause.contact_confirmed, contact=contact.id, tier=decision.value)
    facts.person_facts_changed(db, person_ids=[contact.person_id], cause=cause)
    return contact


def follow_up(
    db: Session, *, actor: Actor, contact_id: int, status: FollowUp | None = None, note: str = "",
    at: dt.datetime | None = None,
) -> Contact:  # fmt: skip
    """Move a confirmed contact's follow-up on and/or add a dated note. Putting them under observation marks the
    end of their own exposure window (for secondary tracing)."""
    contact = get_contact(db, actor=actor, contact_id=contact_id, for_change=True)
    note = note.strip()
    if status is None and not note:
        raise Invalid("give a follow-up status, a note, or both")
    if status is not None:
        if contact.status is not ContactStatus.confirmed:
            if contact.status is ContactStatus.dismissed:
                raise Conflict("only a confirmed contact is followed up; contact %(id)s was dismissed", id=contact.id)
            raise Conflict("only a confirmed contact is followed up; contact %(id)s is still a candidate",
                           id=contact.id)  # fmt: skip
        contact.follow_up = status
        if status is FollowUp.under_observation and contact.quarantined_at is None:
            contact.quarantined_at = at or clock.now()
    db.flush()
    _event(db, contact, actor, ContactChange.follow_up if status else ContactChange.note, reason=note)
    _audit(db, contact, actor, AuditAction.contact_change, note or "follow-up",
           f"follow-up {contact.follow_up.value if contact.follow_up else '-'}")  # fmt: skip
    return contact


@dataclass(frozen=True, slots=True)
class Interview:
    """What an investigator typed about a contact named in an interview: the note and, if known, when and where."""

    note: str
    start: dt.datetime | None = None
    end: dt.datetime | None = None
    venue: str = ""

    def checked(self) -> Interview:
        note = self.note.strip()
        if not note:
            raise Invalid("say what the interview found, e.g. 'dinner together at home on 3-18'")
        start, end = self.start, self.end
        if (start is None) != (end is None) or (start is not None and end is not None and end <= start):
            raise Invalid("give both the start and the end of the exposure, the end after the start, or neither")
        return Interview(note, start, end, self.venue.strip())


def interview_contact(
    db: Session, *, actor: Actor, case: Case, person: Person, interview: Interview, tier: ContactTier,
    decision: Decision, reason: str, request: AssistRequest | None = None,
) -> Contact:  # fmt: skip
    """A contact named in an interview, decided at once with the interview as its evidence. A person already
    proposed for the case is decided with the new evidence added. The caller has checked that the actor may: an
    investigator of the case's region naming a person of their own regions, or (`request`) the person's region
    answering an assistance request, whose new contact the case's side does not read."""
    if person.id == case.person_id:
        raise Invalid("a case is not their own contact")
    contact = db.execute(
        select(Contact).where(Contact.case_id == case.id, Contact.person_id == person.id)
    ).scalar_one_or_none()
    if contact is None:
        contact = Contact(case_id=case.id, person_id=person.id, region_id=person.region_id, proposed_tier=tier,
                          status=ContactStatus.candidate, overlap_seconds=0, created_at=clock.now(),
                          request_id=request.id if request else None)  # fmt: skip
        db.add(contact)
        db.flush()
        if request is None:
            _event(db, contact, actor, ContactChange.proposed, reason=interview.note, params={"source": "interview"})
        else:  # proposed by the requester, in their words
            db.add(ContactEvent(contact_id=contact.id, at=clock.now(), change=ContactChange.proposed,
                                params=causes.dump_params({"source": "assist", "request": request.id}),
                                reason=interview.note, actor_user_id=request.requested_by_user_id,
                                actor_username=request.requested_by))  # fmt: skip
    db.add(ContactEvidence(contact_id=contact.id, kind=EvidenceKind.interview, start=interview.start,
                           end=interview.end, venue_name=interview.venue or None, note=interview.note))  # fmt: skip
    db.flush()
    _set_exposure(contact, evidence_for(db, contact_ids=[contact.id]).get(contact.id, []))
    return decide_contact(db, actor=actor, contact=contact, decision=decision, reason=reason)


def _link_existing_case(db: Session, contact: Contact) -> None:
    if contact.became_case_id is None:
        contact.became_case_id = db.execute(
            select(Case.id).where(Case.person_id == contact.person_id)
        ).scalar_one_or_none()


def link_new_case(db: Session, *, actor: Actor, case: Case) -> int:
    """A person just reported as a case: point their contact records (of other cases) at it, which makes the
    transmission chain. Dismissed candidates are linked too: the chain shows that the dismissal was wrong."""
    contacts = db.execute(select(Contact).where(Contact.person_id == case.person_id, Contact.became_case_id.is_(None)))
    linked = 0
    for contact in contacts.scalars():
        contact.became_case_id = case.id
        _event(db, contact, actor, ContactChange.became_case, params={"case": case.id})
        linked += 1
    return linked


def evidence_for(db: Session, *, contact_ids: Iterable[int]) -> dict[int, list[ContactEvidence]]:
    found: dict[int, list[ContactEvidence]] = {}
    ids = sorted(set(contact_ids))
    for i in range(0, len(ids), 1000):
        stmt = select(ContactEvidence).where(ContactEvidence.contact_id.in_(ids[i : i + 1000]))
        for e in db.execute(stmt.order_by(ContactEvidence.start, ContactEvidence.id)).scalars():
            found.setdefault(e.contact_id, []).append(e)
    return found


def events_for(db: Session, *, contact_id: int) -> Sequence[ContactEvent]:
    return events_for_contacts(db, contact_ids=[contact_id]).get(contact_id, [])


def events_for_contacts(db: Session, *, contact_ids: Iterable[int]) -> dict[int, list[ContactEvent]]:
    """The history of many contacts, oldest first, in one query per thousand contacts."""
    found: dict[int, list[ContactEvent]] = {}
    ids = sorted(set(contact_ids))
    for i in range(0, len(ids), 1000):
        stmt = select(ContactEvent).where(ContactEvent.contact_id.in_(ids[i : i + 1000]))
        for event in db.execute(stmt.order_by(ContactEvent.at, ContactEvent.id)).scalars():
            found.setdefault(event.contact_id, []).append(event)
    return found
