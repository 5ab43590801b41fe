"""Cases and contacts API: `/api/cases`, `/api/contacts`, `/api/assist` (cross-region assistance requests).
Investigators change, commanders read, both within their regions; the services scope and audit everything."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from fastapi.responses import JSONResponse

from fangkong.auth.deps import CurrentActor
from fangkong.cases import assist, chains, contacts, service
from fangkong.cases.models import AssistRequest, AssistStatus, Classification, ContactStatus, ContactTier, FollowUp
from fangkong.cases.schemas import (
    AssistFiled,
    AssistIncoming,
    AssistSent,
    CaseCreate,
    CaseListItem,
    CaseRead,
    CaseReported,
    CaseUpdate,
    ChainRead,
    ContactCreate,
    ContactRead,
    DecisionIn,
    FollowUpIn,
    TraceRead,
)
from fangkong.cases.scope import get_contact
from fangkong.core.deps import DbSession, Keys
from fangkong.core.inputs import MAX_ROW_ID, Offset, RowId
from fangkong.people.models import Person

router = APIRouter(tags=["cases"])


def _case_read(db: DbSession, case_id: int, actor: CurrentActor) -> CaseRead:
    case, person, _ = service.read_case(db, actor=actor, case_id=case_id)
    return CaseRead.of(case, person.ref, person.name)


def _contact_read(db: DbSession, actor: CurrentActor, contact_id: int) -> ContactRead:
    contact = get_contact(db, actor=actor, contact_id=contact_id)
    person = db.get_one(Person, contact.person_id)
    evidence = contacts.evidence_for(db, contact_ids=[contact.id]).get(contact.id, [])
    return ContactRead.of(service.ContactRow(contact, person.ref, person.name, evidence))


@router.get("/cases", response_model=list[CaseListItem])
def list_cases(
    db: DbSession,
    actor: CurrentActor,
    classification: Classification | None = None,
    region: Annotated[str | None, Query(description="region code: cases in its subtree")] = None,
    open_only: Annotated[bool, Query(alias="open", description="only cases without an outcome")] = False,
    q: Annotated[str | None, Query(description="a person ref or a name prefix")] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    offset: Offset = 0,
) -> list[CaseListItem]:
    rows = service.list_cases(db, actor=actor, classification=classification, region_code=region,
                              open_only=open_only, query=q, limit=limit, offset=offset)  # fmt: skip
    return [CaseListItem.of_row(r) for r in rows]


@router.post("/cases", response_model=CaseReported, status_code=201)
def report_case(db: DbSession, actor: CurrentActor, body: CaseCreate) -> CaseReported:
    """Report a case (or change the person's existing case); a confirmed or asymptomatic case is traced at once
    and its candidate contacts proposed."""
    result = service.report_case(db, actor=actor, person_ref=body.person_ref, change=body.change(),
                                 reason=body.reason)  # fmt: skip
    person = db.get_one(Person, result.case.person_id)
    return CaseReported(case=CaseRead.of(result.case, person.ref, person.name), created=result.created,
                        trace=TraceRead.of(result.trace))  # fmt: skip


@router.get("/cases/{case_id}", response_model=CaseRead)
def read_case(db: DbSession, actor: CurrentActor, case_id: RowId) -> CaseRead:
    return _case_read(db, case_id, actor)


@router.patch("/cases/{case_id}", response_model=CaseReported)
def change_case(db: DbSession, actor: CurrentActor, case_id: RowId, body: CaseUpdate) -> CaseReported:
    case, summary = service.change_case(db, actor=actor, case_id=case_id, change=body.change(), reason=body.reason)
    person = db.get_one(Person, case.person_id)
    return CaseReported(case=CaseRead.of(case, person.ref, person.name), created=False, trace=TraceRead.of(summary))


@router.post("/cases/{case_id}/trace", response_model=TraceRead)
def retrace(db: DbSession, actor: CurrentActor, case_id: RowId) -> TraceRead | None:
    """Trace again: check-ins uploaded late by offline scanners may add candidates."""
    return TraceRead.of(service.retrace(db, actor=actor, case_id=case_id))


@router.get("/cases/{case_id}/chain", response_model=ChainRead)
def case_chain(db: DbSession, actor: CurrentActor, case_id: RowId) -> ChainRead:
    """The transmission cluster of the case: cases linked through contacts, with their contacts and evidence."""
    return ChainRead.of(chains.chain(db, actor=actor, case_id=case_id))


@router.get("/contacts", response_model=list[ContactRead])
def list_contacts(
    db: DbSession,
    actor: CurrentActor,
    case: Annotated[int | None, Query(ge=1, le=MAX_ROW_ID, description="one case's candidates and contacts")] = None,
    status: ContactStatus | None = None,
    follow_up: FollowUp | None = None,
    tier: ContactTier | None = None,
    limit: Annotated[int, Query(ge=1, le=5000)] = 500,
    offset: Offset = 0,
) -> list[ContactRead]:
    rows = service.list_contacts(db, actor=actor, case_id=case, status=status, follow_up=follow_up, tier=tier,
                                 limit=limit, offset=offset)  # fmt: skip
    return [ContactRead.of(r) for r in rows]


@router.post(
    "/contacts", response_model=ContactRead, status_code=201,
    responses={202: {"model": AssistFiled, "description": "The person is not of your regions: an assistance "
                     "request was filed to their region (the same answer when the ref or number matches nobody)"}},
)  # fmt: skip
def add_contact(db: DbSession, keys: Keys, actor: CurrentActor, body: ContactCreate) -> ContactRead | JSONResponse:
    """Name a contact of a case from an interview, by ref or by ID number."""
    made = assist.name_contact(
        db, actor=actor, keys=keys, case_id=body.case_id, named=assist.Named(body.person_ref, body.id_number),
        tier=body.tier, interview=contacts.Interview(body.note, body.start, body.end, body.venue),
    )  # fmt: skip
    if isinstance(made, AssistRequest):
        filed = AssistFiled(id=made.id, status=made.status)
        return JSONResponse(
            filed.model_dump(mode="json"), status_code=202, headers={"Location": f"/api/assist/sent/{made.id}"}
        )
    return _contact_read(db, actor, made.id)


@router.get("/contacts/{contact_id}", response_model=ContactRead)
def read_contact(db: DbSession, actor: CurrentActor, contact_id: RowId) -> ContactRead:
    return _contact_read(db, actor, contact_id)


@router.post("/contacts/{contact_id}/decision", response_model=ContactRead)
def decide(db: DbSession, actor: CurrentActor, contact_id: RowId, body: DecisionIn) -> ContactRead:
    """Confirm a candidate as close, secondary or companion, or dismiss it with a reason."""
    contacts.decide(db, actor=actor, contact_id=contact_id, decision=body.decision, reason=body.reason)
    return _contact_read(db, actor, contact_id)


@router.post("/contacts/{contact_id}/follow-up", response_model=ContactRead)
def follow_up(db: DbSession, actor: CurrentActor, contact_id: RowId, body: FollowUpIn) -> ContactRead:
    contacts.follow_up(db, actor=actor, contact_id=contact_id, status=body.status, note=body.note, at=body.at)
    return _contact_read(db, actor, contact_id)


# --- cross-region assistance requests (协查) -------------------------------------------------------------------


@router.get("/assist/inbox", response_model=list[AssistIncoming])
def assist_inbox(
    db: DbSession,
    actor: CurrentActor,
    status: Annotated[AssistStatus | None, Query(description="pending when left out")] = AssistStatus.pending,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    offset: Offset = 0,
) -> list[AssistIncoming]:
    """Requests addressed to your regions, oldest first, with how long each has waited. Each one shown is audited."""
    rows = assist.inbox(db, actor=actor, status=status, limit=limit, offset=offset)
    return [AssistIncoming.of(r) for r in rows]


@router.get("/assist/inbox/{request_id}", response_model=AssistIncoming)
def assist_incoming(db: DbSession, actor: CurrentActor, request_id: RowId) -> AssistIncoming:
    return AssistIncoming.of(assist.read_incoming(db, actor=actor, request_id=request_id))


@router.post("/assist/inbox/{request_id}/decision", response_model=AssistIncoming)
def assist_decide(db: DbSession, actor: CurrentActor, request_id: RowId, body: DecisionIn) -> AssistIncoming:
    """Confirm the named person as a contact of the requester's case (their code changes now), or dismiss the
    request with a reason."""
    assist.decide(db, actor=actor, request_id=request_id, decision=body.decision, reason=body.reason)
    return AssistIncoming.of(assist.read_incoming(db, actor=actor, request_id=request_id))


@router.get("/assist/sent", response_model=list[AssistSent])
def assist_sent(
    db: DbSession,
    actor: CurrentActor,
    case: Annotated[int | None, Query(ge=1, le=MAX_ROW_ID, description="one case's requests")] = None,
    status: AssistStatus | None = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    offset: Offset = 0,
) -> list[AssistSent]:
    """Requests filed for cases of your regions, newest first: what you supplied and the decision."""
    rows = assist.sent(db, actor=actor, case_id=case, status=status, limit=limit, offset=offset)
    return [AssistSent.of(r) for r in rows]


@router.get("/assist/sent/{request_id}", response_model=AssistSent)
def assist_sent_one(db: DbSession, actor: CurrentActor, request_id: RowId) -> AssistSent:
    return AssistSent.of(assist.read_sent(db, actor=actor, request_id=request_id))
