"""Transmission chains: cases linked through the contact records they were found as.

A contact of case A whose person later became case B links A → B. A cluster is everything reachable from one case
along those links, in either direction, within the cases the actor may read. The graph holds the cluster's cases
and the contacts of each that the actor may read (dismissed candidates left out; so are the contacts another region
made in answer to an assistance request), with the evidence on each edge.
"""

from __future__ import annotations

import datetime as dt
from collections import deque
from dataclasses import dataclass, field

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from fangkong.auth import audit
from fangkong.auth.actor import Actor
from fangkong.auth.audit_models import AuditAction
from fangkong.cases.contacts import evidence_for
from fangkong.cases.models import Case, Contact, ContactEvidence, ContactStatus, EvidenceKind
from fangkong.cases.scope import get_case, readable_cases, readable_contacts
from fangkong.core.config import city_zone
from fangkong.people.models import Person

MAX_CASES = 500  # a cluster larger than this is cut; the page says so


@dataclass(frozen=True, slots=True)
class Node:
    id: str  # "case-12" or "person-345"
    kind: str  # "case" or "contact"
    label: str
    status: str  # case classification, or contact status/tier
    person_ref: str
    case_id: int | None = None
    contact_id: int | None = None


@dataclass(frozen=True, slots=True)
class EvidenceItem:
    kind: str  # EvidenceKind value
    venue_name: str | None
    start: dt.datetime | None
    end: dt.datetime | None
    note: str


@dataclass(frozen=True, slots=True)
class Edge:
    source: str
    target: str
    tier: str | None
    status: str
    evidence: str  # a one-line summary in English, city time (CLI, logs)
    minutes: int
    items: tuple[EvidenceItem, ...] = ()  # the same, structured, for pages to render in their language


@dataclass(slots=True)
class Chain:
    root_case_id: int
    nodes: list[Node] = field(default_factory=list)
    edges: list[Edge] = field(default_factory=list)
    truncated: bool = False

    @property
    def case_ids(self) -> list[int]:
        return [n.case_id for n in self.nodes if n.kind == "case" and n.case_id is not None]


def _describe(evidence: list[ContactEvidence]) -> str:
    zone = city_zone()
    parts = []
    for e in evidence:
        if e.kind is EvidenceKind.checkin and e.start and e.end:
            start, end = e.start.astimezone(zone), e.end.astimezone(zone)
            parts.append(f"{e.venue_name} {start:%m-%d %H:%M}–{end:%H:%M}")
        elif e.kind is EvidenceKind.household:
            parts.append("household")
        else:
            parts.append(f"interview: {e.note}")
    return "; ".join(parts)


def cluster_case_ids(db: Session, *, actor: Actor, case_id: int) -> tuple[list[int], bool]:
    """The readable cases linked to this one, breadth first; and whether the cluster was cut at MAX_CASES."""
    get_case(db, actor=actor, case_id=case_id)
    seen = {case_id}
    order = [case_id]
    queue = deque([case_id])
    while queue:
        current = queue.popleft()
        linked = db.execute(
            select(Contact.case_id, Contact.became_case_id).where(
                or_(Contact.case_id == current, Contact.became_case_id == current),
                Contact.became_case_id.is_not(None),
            )
        ).all()
        candidates = {c for pair in linked for c in pair if c is not None and c not in seen}
        if not candidates:
            continue
        visible = db.execute(select(Case.id).where(Case.id.in_(candidates), readable_cases(actor))).scalars()
        for other in sorted(visible):
            if len(order) >= MAX_CASES:
                return order, True
            seen.add(other)
            order.append(other)
            queue.append(other)
    return order, False


def chain(db: Session, *, actor: Actor, case_id: int) -> Chain:
    case_ids, truncated = cluster_case_ids(db, actor=actor, case_id=case_id)
    result = Chain(root_case_id=case_id, truncated=truncated)
    cases = db.execute(
        select(Case, Person.ref, Person.name).join(Person, Person.id == Case.person_id).where(Case.id.in_(case_ids))
    ).all()
    case_node: dict[int, str] = {}
    for case, ref, name in sorted(cases, key=lambda row: case_ids.index(row[0].id)):
        node_id = f"case-{case.id}"
        case_node[case.id] = node_id
        result.nodes.append(Node(node_id, "case", f"{name} #{case.id}", case.classification.value, ref, case.id))
    contacts = db.execute(
        select(Contact, Person.ref, Person.name)
        .join(Person, Person.id == Contact.person_id)
        .where(Contact.case_id.in_(case_ids), Contact.status != ContactStatus.dismissed, readable_contacts(actor))
        .order_by(Contact.id)
    ).all()
    evidence = evidence_for(db, contact_ids=[c.id for c, _, _ in contacts])
    by_contact: dict[int, str] = {}
    for contact, ref, name in contacts:
        # A contact who became a readable case is that case's node; others get a node of their own per case.
        target = case_node.get(contact.became_case_id) if contact.became_case_id else None
        if target is None:
            target = f"contact-{contact.id}"
            status = contact.tier.value if contact.tier else contact.status.value
            result.nodes.append(Node(target, "contact", name, status, ref, contact_id=contact.id))
        by_contact[contact.id] = target
    for contact, _, _ in contacts:
        source = by_contact.get(contact.via_contact_id) if contact.via_contact_id else case_node[contact.case_id]
        result.edges.append(
            Edge(
                source=source or case_node[contact.case_id],
                target=by_contact[contact.id],
                tier=contact.tier.value if contact.tier else None,
                status=contact.status.value,
                evidence=_describe(evidence.get(contact.id, [])),
                minutes=contact.overlap_seconds // 60,
                items=tuple(
                    EvidenceItem(e.kind.value, e.venue_name, e.start, e.end, e.note)
                    for e in evidence.get(contact.id, [])
                ),
            )
        )
    root = next(c for c, _, _ in cases if c.id == case_id)
    audit.record(db, actor=actor, action=AuditAction.case_read, entity_type="case", entity_ref=str(case_id),
                 person_id=root.person_id, purpose="transmission chain",
                 details=f"{len(case_ids)} cases, {len(contacts)} contacts")  # fmt: skip
    return result
