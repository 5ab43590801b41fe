"""API shapes of cases and contacts. Times are ISO 8601 with an offset; a time without one is refused."""

from __future__ import annotations

import datetime as dt
from dataclasses import asdict

from pydantic import AwareDatetime, BaseModel, Field

from fangkong.cases.assist import Incoming, Sent
from fangkong.cases.chains import Chain
from fangkong.cases.contacts import Decision, TraceSummary
from fangkong.cases.models import (
    AssistStatus,
    Case,
    CaseOutcome,
    Classification,
    ContactEvidence,
    ContactStatus,
    ContactTier,
    EvidenceKind,
    FollowUp,
    NamedBy,
    Severity,
)
from fangkong.cases.service import CaseChangeRequest, CaseRow, ContactRow
from fangkong.core.inputs import BodyId, Input


class CaseCreate(Input):
    """Report a case, or change the person's existing one (one case per person)."""

    multiline = frozenset({"reason"})

    person_ref: str
    classification: Classification = Classification.confirmed
    onset_date: dt.date | None = Field(None, description="symptom onset (confirmed cases)")
    sampled_at: AwareDatetime | None = Field(None, description="first positive sampling (asymptomatic cases)")
    isolated_at: AwareDatetime | None = None
    severity: Severity | None = None
    treated_at: str | None = Field(None, max_length=200)
    reason: str = Field("", max_length=1000)

    def change(self) -> CaseChangeRequest:
        return CaseChangeRequest(classification=self.classification, severity=self.severity,
                                 onset_date=self.onset_date, first_positive_at=self.sampled_at,
                                 isolated_at=self.isolated_at, treated_at=self.treated_at)  # fmt: skip


class CaseUpdate(Input):
    """Change a case; fields left out stay as they are. The reason is required and kept with the change."""

    multiline = frozenset({"reason"})

    classification: Classification | None = None
    severity: Severity | None = None
    onset_date: dt.date | None = None
    sampled_at: AwareDatetime | None = None
    isolated_at: AwareDatetime | None = None
    treated_at: str | None = Field(None, max_length=200)
    outcome: CaseOutcome | None = None
    outcome_date: dt.date | None = None
    reason: str = Field(min_length=1, max_length=1000)

    def change(self) -> CaseChangeRequest:
        return CaseChangeRequest(classification=self.classification, severity=self.severity,
                                 onset_date=self.onset_date, first_positive_at=self.sampled_at,
                                 isolated_at=self.isolated_at, treated_at=self.treated_at, outcome=self.outcome,
                                 outcome_date=self.outcome_date)  # fmt: skip


class TraceRead(BaseModel):
    window_start: dt.datetime
    window_end: dt.datetime
    proposed: int
    refreshed: int
    policy: str

    @classmethod
    def of(cls, summary: TraceSummary | None) -> TraceRead | None:
        if summary is None:
            return None
        return cls(window_start=summary.window_start, window_end=summary.window_end, proposed=summary.proposed,
                   refreshed=summary.refreshed, policy=summary.policy)  # fmt: skip


class CaseRead(BaseModel):
    id: int
    person_ref: str
    person_name: str
    classification: Classification
    severity: Severity | None
    onset_date: dt.date | None
    first_positive_at: dt.datetime | None
    isolated_at: dt.datetime | None
    treated_at: str
    outcome: CaseOutcome | None
    outcome_date: dt.date | None
    reported_at: dt.datetime
    traced_from: dt.datetime | None
    traced_to: dt.datetime | None
    trace_policy: str | None

    @classmethod
    def of(cls, case: Case, person_ref: str, person_name: str) -> CaseRead:
        return cls(id=case.id, person_ref=person_ref, person_name=person_name, classification=case.classification,
                   severity=case.severity, onset_date=case.onset_date, first_positive_at=case.first_positive_at,
                   isolated_at=case.isolated_at, treated_at=case.treated_at, outcome=case.outcome,
                   outcome_date=case.outcome_date, reported_at=case.reported_at, traced_from=case.traced_from,
                   traced_to=case.traced_to, trace_policy=case.trace_policy)  # fmt: skip


class CaseListItem(CaseRead):
    region_name: str
    candidates: int
    contacts: int

    @classmethod
    def of_row(cls, row: CaseRow) -> CaseListItem:
        base = CaseRead.of(row.case, row.person_ref, row.person_name).model_dump()
        return cls(**base, region_name=row.region_name, candidates=row.candidates, contacts=row.contacts)


class CaseReported(BaseModel):
    case: CaseRead
    created: bool
    trace: TraceRead | None


class EvidenceOut(BaseModel):
    kind: EvidenceKind
    venue_ref: str | None
    venue_name: str | None
    start: dt.datetime | None
    end: dt.datetime | None
    minutes: float | None
    note: str

    @classmethod
    def of(cls, e: ContactEvidence) -> EvidenceOut:
        minutes = round((e.end - e.start).total_seconds() / 60, 1) if e.start and e.end else None
        return cls(kind=e.kind, venue_ref=e.venue_ref, venue_name=e.venue_name, start=e.start, end=e.end,
                   minutes=minutes, note=e.note)  # fmt: skip


class ContactRead(BaseModel):
    id: int
    case_id: int
    person_ref: str
    person_name: str
    proposed_tier: ContactTier
    tier: ContactTier | None
    status: ContactStatus
    follow_up: FollowUp | None
    overlap_seconds: int
    first_exposure_at: dt.datetime | None
    last_exposure_at: dt.datetime | None
    via_contact_id: int | None
    became_case_id: int | None
    decision_reason: str
    evidence: list[EvidenceOut]

    @classmethod
    def of(cls, row: ContactRow) -> ContactRead:
        c = row.contact
        return cls(id=c.id, case_id=c.case_id, person_ref=row.person_ref, person_name=row.person_name,
                   proposed_tier=c.proposed_tier, tier=c.tier, status=c.status, follow_up=c.follow_up,
                   overlap_seconds=c.overlap_seconds, first_exposure_at=c.first_exposure_at,
                   last_exposure_at=c.last_exposure_at, via_contact_id=c.via_contact_id,
                   became_case_id=c.became_case_id, decision_reason=c.decision_reason,
                   evidence=[EvidenceOut.of(e) for e in row.evidence])  # fmt: skip


class ContactCreate(Input):
    """A contact named in an interview, by ref or by ID number: confirmed at once with its evidence when the
    person lives in the investigator's regions (201), otherwise an assistance request to the person's region
    (202), answered the same whether the ref or number matches anyone."""

    multiline = frozenset({"note"})

    case_id: BodyId
    person_ref: str = Field("", max_length=64)
    id_number: str = Field("", max_length=32, description="instead of a ref: the ID number the case gave")
    tier: ContactTier = ContactTier.close
    note: str = Field(min_length=1, max_length=2000, description="what the interview found")
    start: AwareDatetime | None = None
    end: AwareDatetime | None = None
    venue: str = Field("", max_length=200, description="where, in words (a home, a car, a venue)")


class DecisionIn(Input):
    multiline = frozenset({"reason"})

    decision: Decision
    reason: str = Field("", max_length=2000, description="required to dismiss")


class FollowUpIn(Input):
    multiline = frozenset({"note"})

    status: FollowUp | None = None
    note: str = Field("", max_length=4000)
    at: AwareDatetime | None = Field(None, description="when it happened, if not now")


class ChainNode(BaseModel):
    id: str
    kind: str
    label: str
    status: str
    person_ref: str
    case_id: int | None
    contact_id: int | None


class ChainEvidence(BaseModel):
    kind: EvidenceKind
    venue_name: str | None
    start: dt.datetime | None
    end: dt.datetime | None
    note: str


class ChainEdge(BaseModel):
    source: str
    target: str
    tier: str | None
    status: str
    evidence: str
    minutes: int
    items: list[ChainEvidence]


class ChainRead(BaseModel):
    root_case_id: int
    case_ids: list[int]
    truncated: bool
    nodes: list[ChainNode]
    edges: list[ChainEdge]

    @classmethod
    def of(cls, chain: Chain) -> ChainRead:
        return cls(
            root_case_id=chain.root_case_id,
            case_ids=chain.case_ids,
            truncated=chain.truncated,
            nodes=[ChainNode(**asdict(n)) for n in chain.nodes],
            edges=[ChainEdge(**asdict(e)) for e in chain.edges],
        )


class AssistFiled(BaseModel):
    """An assistance request filed (202): its id and "pending", whoever the ref or number names, if anyone."""

    id: int
    status: AssistStatus


class AssistSent(BaseModel):
    """A request as its requester sees it: what they supplied (an ID number masked) and the decision."""

    id: int
    case_id: int
    named_by: NamedBy
    person_ref: str | None = Field(description="the ref as typed")
    id_number_masked: str | None = Field(description="the ID number as typed, masked")
    tier: ContactTier
    exposure_start: dt.datetime | None
    exposure_end: dt.datetime | None
    venue: str
    note: str
    status: AssistStatus
    filed_at: dt.datetime
    decided_at: dt.datetime | None
    decided_tier: ContactTier | None
    decided_by_region_code: str | None
    decided_by_region_name: str | None

    @classmethod
    def of(cls, row: Sent) -> AssistSent:
        r = row.request
        return cls(id=r.id, case_id=r.case_id, named_by=r.named_by, person_ref=r.person_ref,
                   id_number_masked=r.id_masked, tier=r.tier, exposure_start=r.exposure_start,
                   exposure_end=r.exposure_end, venue=r.venue, note=r.note, status=r.status, filed_at=r.filed_at,
                   decided_at=r.decided_at, decided_tier=r.decided_tier, decided_by_region_code=row.decided_by_code,
                   decided_by_region_name=row.decided_by)  # fmt: skip


class AssistIncoming(BaseModel):
    """A request as the receiving region sees it: the requester's words, whom the registry matched, the wait."""

    id: int
    case_id: int
    from_region_name: str
    requested_by: str
    named_by: NamedBy
    typed_ref: str | None
    id_number_masked: str | None
    matched: bool
    person_ref: str | None
    person_name: str | None
    tier: ContactTier
    exposure_start: dt.datetime | None
    exposure_end: dt.datetime | None
    venue: str
    note: str
    status: AssistStatus
    filed_at: dt.datetime
    waited_seconds: int = Field(description="since it was filed, until it was answered or now")
    decided_at: dt.datetime | None
    decided_tier: ContactTier | None

    @classmethod
    def of(cls, row: Incoming) -> AssistIncoming:
        r = row.request
        return cls(id=r.id, case_id=r.case_id, from_region_name=row.from_region, requested_by=r.requested_by,
                   named_by=r.named_by, typed_ref=r.person_ref, id_number_masked=r.id_masked,
                   matched=row.person_ref is not None, person_ref=row.person_ref, person_name=row.person_name,
                   tier=r.tier, exposure_start=r.exposure_start, exposure_end=r.exposure_end, venue=r.venue,
                   note=r.note, status=r.status, filed_at=r.filed_at,
                   waited_seconds=int(row.waited.total_seconds()), decided_at=r.decided_at,
                   decided_tier=r.decided_tier)  # fmt: skip
