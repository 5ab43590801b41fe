"""Pages for investigators and commanders: the case list with the form that confirms a case, one case with its
timeline, candidates and contacts. Contacts' own pages and forms are in pages_contacts, the transmission chain in
pages_chain. Every read and change goes through the cases services, so the pages are scoped and audited like
the API; commanders see the same pages without the forms.

A form that fails shows its page again with the service's message and what was typed (fangkong.web.forms.act).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy.orm import Session

from fangkong.auth.actor import Actor
from fangkong.auth.models import Role
from fangkong.auth.page_deps import FormActor, PageActor, shell
from fangkong.cases import assist, contacts, page_reads, service
from fangkong.cases.labels import LABELS
from fangkong.cases.models import (
    Case,
    CaseChange,
    CaseEvent,
    CaseOutcome,
    Classification,
    ContactChange,
    ContactEvent,
    ContactEvidence,
    ContactStatus,
    ContactTier,
    EvidenceKind,
    FollowUp,
    Severity,
)
from fangkong.cases.scope import get_case, require_reader
from fangkong.core import causes
from fangkong.core.config import city_zone
from fangkong.core.deps import DbSession
from fangkong.core.errors import Conflict, DomainError, Invalid, NotFound
from fangkong.core.inputs import PageNumber, RowId
from fangkong.regions.models import Region
from fangkong.web import labels
from fangkong.web.forms import form_errors, parse_choice, parse_date, parse_local_time
from fangkong.web.i18n import request_language, translator
from fangkong.web.templating import local_time, render

router = APIRouter(include_in_schema=False)
PAGE_SIZE = 50
Translate = Callable[..., str]


def labeler(_: Translate) -> Callable[[object], str]:
    """label(value): a case or contact value in the reader's language; "—" for nothing."""
    return labels.labeler(_, LABELS)


def clock_span(start: dt.datetime | None, end: dt.datetime | None) -> str:
    """A short local interval, "03-20 10:20–10:30" or "03-16 00:00 – 03-21 08:00" across days."""
    if start is None or end is None:
        return ""
    zone = city_zone()
    a, b = start.astimezone(zone), end.astimezone(zone)
    if a.date() == b.date():
        return f"{a:%m-%d %H:%M}–{b:%H:%M}"
    return f"{a:%m-%d %H:%M} – {b:%m-%d %H:%M}"


def minutes_between(start: dt.datetime | None, end: dt.datetime | None) -> str:
    """Whole minutes, "<1" for less than a half (a shared minute on a bus is not "0 minutes")."""
    if start is None or end is None:
        return ""
    minutes = round((end - start).total_seconds() / 60)
    return str(minutes) if minutes else "<1"


@dataclass(frozen=True, slots=True)
class EvidenceGroup:
    """The evidence of one venue (or the household, or one interview note): a colleague has ten working days at
    the same factory, which read better as one line that opens onto its ten intervals."""

    kind: EvidenceKind
    venue_name: str
    items: list[ContactEvidence]

    @property
    def minutes(self) -> str:
        seconds = sum((e.end - e.start).total_seconds() for e in self.items if e.start and e.end)
        return str(round(seconds / 60)) if seconds >= 30 else "<1"


def group_evidence(items: Sequence[ContactEvidence]) -> list[EvidenceGroup]:
    groups: dict[tuple[str, str], EvidenceGroup] = {}
    for e in items:
        key = (e.kind.value, (e.venue_ref or e.venue_name or "") if e.kind is EvidenceKind.checkin else str(e.id))
        if key not in groups:
            groups[key] = EvidenceGroup(e.kind, e.venue_name or "", [])
        groups[key].items.append(e)
    return list(groups.values())


def page_context(request: Request, actor: Actor) -> dict[str, Any]:
    """The layout's context and the case pages' helpers."""
    _ = translator(request_language(request))
    return {
        **shell(request, actor),
        "label": labeler(_),
        "span": clock_span,
        "minutes": minutes_between,
        "group_evidence": group_evidence,
        "event_text": lambda event: contact_event_text(event, _),
    }


def can_change(db: Session, actor: Actor, case_id: int) -> bool:
    """Whether the actor may change the case (and decide on its contacts): an investigator of its region."""
    if not actor.has(Role.investigator):
        return False
    try:
        get_case(db, actor=actor, case_id=case_id, for_change=True)
    except DomainError:
        return False
    return True


# --- the case list and the confirm form -------------------------------------------------------------------------


def _cases_page(
    request: Request,
    db: Session,
    actor: Actor,
    filters: Mapping[str, str],
    page: int = 1,
    *,
    error: str | None = None,
    form: Mapping[str, str] | None = None,
    status: int = 200,
) -> Response:
    require_reader(actor)
    rows = service.list_cases(
        db, actor=actor, classification=parse_choice(Classification, filters.get("classification", "")),
        region_code=filters.get("region") or None, open_only=bool(filters.get("open")), query=filters.get("q"),
        limit=PAGE_SIZE + 1, offset=(page - 1) * PAGE_SIZE,
    )  # fmt: skip
    query = {k: v for k, v in filters.items() if v}
    context = {
        **page_context(request, actor),
        "rows": rows[:PAGE_SIZE],
        "filters": filters,
        "regions": page_reads.filter_regions(db, actor=actor),
        "classifications": list(Classification),
        "can_report": actor.has(Role.investigator),
        "previous_url": f"/cases?{urlencode({**query, 'page': page - 1})}" if page > 1 else None,
        "next_url": f"/cases?{urlencode({**query, 'page': page + 1})}" if len(rows) > PAGE_SIZE else None,
        "error": error,
        "form": form or {"classification": Classification.confirmed.value},
    }
    return render(request, "cases/list.html", context, status_code=status)


@router.get("/cases")
def cases(
    request: Request,
    db: DbSession,
    actor: PageActor,
    classification: Annotated[str, Query(max_length=20)] = "",
    open_only: Annotated[str, Query(alias="open", max_length=5)] = "",
    region: Annotated[str, Query(max_length=20)] = "",
    # A ref or the start of a name: the service matches nothing more sensitive, so a GET (a bookmarkable filter)
    # puts no ID number or phone into URLs and logs.
    q: Annotated[str, Query(max_length=100)] = "",
    page: PageNumber = 1,
) -> Response:
    filters = {"classification": classification, "open": open_only, "region": region, "q": q.strip()}
    return _cases_page(request, db, actor, filters, page)


@router.post("/cases")
def report_case(
    request: Request,
    db: DbSession,
    actor: FormActor,
    person_ref: Annotated[str, Form(max_length=64)] = "",
    classification: Annotated[str, Form(max_length=20)] = "",
    onset_date: Annotated[str, Form(max_length=20)] = "",
    sampled_at: Annotated[str, Form(max_length=30)] = "",
    isolated_at: Annotated[str, Form(max_length=30)] = "",
    reason: Annotated[str, Form(max_length=1000)] = "",
) -> Response:
    """Confirm (or report) a case; a confirmed or asymptomatic case is traced at once, and the case page shows its
    candidates."""
    typed = {"person_ref": person_ref, "classification": classification, "onset_date": onset_date,
             "sampled_at": sampled_at, "isolated_at": isolated_at, "reason": reason}  # fmt: skip

    with form_errors(request, db, catch=(Invalid, Conflict, NotFound)) as failed:  # NotFound: a mistyped ref
        change = service.CaseChangeRequest(
            classification=parse_choice(Classification, classification), onset_date=parse_date(onset_date),
            first_positive_at=parse_local_time(sampled_at), isolated_at=parse_local_time(isolated_at),
        )  # fmt: skip
        result = service.report_case(db, actor=actor, person_ref=person_ref.strip(), change=change,
                                     reason=reason.strip())  # fmt: skip
    if failed:
        return _cases_page(request, db, actor, {}, error=failed.message, form=typed, status=failed.status)
    return RedirectResponse(f"/cases/{result.case.id}", status_code=303)


# --- one case --------------------------------------------------------------------------------------------------


def _instant_text(value: str) -> str:
    try:
        return local_time(dt.datetime.fromisoformat(value))
    except ValueError:
        return value


def event_value(event: CaseEvent, _: Translate) -> str:
    """What an event changed, in the reader's language, from its stored parameters (see CaseEvent)."""
    label, p = labeler(_), causes.load_params(event.params)
    try:
        match event.change:
            case CaseChange.reported | CaseChange.classification:
                return label(Classification(p["classification"]))
            case CaseChange.severity:
                return label(Severity(p["severity"]))
            case CaseChange.onset:
                return str(p["date"])
            case CaseChange.sampled | CaseChange.isolated:
                return _instant_text(p["at"])
            case CaseChange.treated_at:
                return str(p["place"])
            case CaseChange.outcome:
                return f"{label(CaseOutcome(p['outcome']))} {p.get('date') or ''}".strip()
            case CaseChange.traced:
                start, end = (dt.datetime.fromisoformat(p[k]) for k in ("start", "end"))
                msgid = "window %(window)s (%(policy)s): %(new)s new candidates, %(old)s refreshed"
                return _(msgid, window=clock_span(start, end), policy=p["policy"], new=p["new"], old=p["refreshed"])
    except (KeyError, ValueError, TypeError):
        pass
    return str(p.get("text", ""))  # a row the migration could not read keeps its old text there


def contact_event_text(event: ContactEvent, _: Translate) -> str:
    """What a contact's event says beside its label: the investigator's words as written, or the case a contact
    became. A tracing proposal's parameters are left out: the evidence beside it says the same in full."""
    if event.change is ContactChange.became_case:
        case_id = causes.load_params(event.params).get("case")
        return _("Case #%(id)s", id=case_id) if case_id is not None else event.reason
    return event.reason


def contacts_context(db: Session, actor: Actor, case: Case) -> dict[str, Any]:
    """The case's candidates (longest overlap first), confirmed and dismissed contacts, with their history."""
    rows = service.list_contacts(db, actor=actor, case_id=case.id, limit=None)  # the page shows every one
    names = {r.contact.id: r.person_name for r in rows}
    confirmed = [r for r in rows if r.contact.status is ContactStatus.confirmed]
    return {
        "case": case,
        "candidates": [r for r in rows if r.contact.status is ContactStatus.candidate],
        "confirmed": confirmed,
        "dismissed": [r for r in rows if r.contact.status is ContactStatus.dismissed],
        "via_names": {r.contact.id: names.get(r.contact.via_contact_id) for r in rows if r.contact.via_contact_id},
        "history": contacts.events_for_contacts(db, contact_ids=[r.contact.id for r in confirmed]),
        "can_change": can_change(db, actor, case.id),
        "decisions": [ContactTier.close, ContactTier.secondary, ContactTier.companion],
        "follow_ups": list(FollowUp),
        "tiers": list(ContactTier),
    }


def case_page(
    request: Request,
    db: Session,
    actor: Actor,
    case_id: int,
    *,
    errors: Mapping[str, str] | None = None,
    forms: Mapping[str, Mapping[str, str]] | None = None,
    status: int = 200,
) -> Response:
    """The case page; `errors` and `forms` (what was typed) are keyed by form: change, trace, add, contact-<id>."""
    case, person, events = service.read_case(db, actor=actor, case_id=case_id)
    _ = translator(request_language(request))
    context = {
        **page_context(request, actor),
        **contacts_context(db, actor, case),
        "person": person,
        "region": db.get(Region, case.region_id),
        "timeline": [(e, event_value(e, _)) for e in events],
        "assist_sent": assist.sent(db, actor=actor, case_id=case.id, limit=None),
        "classifications": list(Classification),
        "severities": list(Severity),
        "outcomes": list(CaseOutcome),
        "errors": errors or {},
        "typed": forms or {},
    }
    return render(request, "cases/detail.html", context, status_code=status)


def contacts_fragment(
    request: Request, db: Session, actor: Actor, case_id: int, *, errors: Mapping[str, str] | None = None,
    forms: Mapping[str, Mapping[str, str]] | None = None, notice: str | None = None, status: int = 200,
) -> Response:  # fmt: skip
    """The candidates and contacts section alone, which htmx swaps in after a decision or a follow-up."""
    case = get_case(db, actor=actor, case_id=case_id)
    context = {**page_context(request, actor), **contacts_context(db, actor, case), "errors": errors or {},
               "typed": forms or {}, "notice": notice}  # fmt: skip
    return render(request, "cases/_contacts.html", context, status_code=status)


@router.get("/cases/{case_id}")
def case_detail(request: Request, case_id: RowId, db: DbSession, actor: PageActor) -> Response:
    return case_page(request, db, actor, case_id)


@router.post("/cases/{case_id}/change")
def change_case(
    request: Request,
    case_id: RowId,
    db: DbSession,
    actor: FormActor,
    classification: Annotated[str, Form(max_length=20)] = "",
    severity: Annotated[str, Form(max_length=20)] = "",
    isolated_at: Annotated[str, Form(max_length=30)] = "",
    outcome: Annotated[str, Form(max_length=20)] = "",
    outcome_date: Annotated[str, Form(max_length=20)] = "",
    reason: Annotated[str, Form(max_length=1000)] = "",
) -> Response:
    """Change a case with a reason; a new classification or isolation time traces it again."""
    typed = {"classification": classification, "severity": severity, "isolated_at": isolated_at,
             "outcome": outcome, "outcome_date": outcome_date, "reason": reason}  # fmt: skip

    with form_errors(request, db) as failed:
        change = service.CaseChangeRequest(
            classification=parse_choice(Classification, classification),
            severity=parse_choice(Severity, severity), isolated_at=parse_local_time(isolated_at),
            outcome=parse_choice(CaseOutcome, outcome), outcome_date=parse_date(outcome_date),
        )  # fmt: skip
        service.change_case(db, actor=actor, case_id=case_id, change=change, reason=reason)
    if failed:
        return case_page(request, db, actor, case_id, errors={"change": failed.message}, forms={"change": typed},
                         status=failed.status)  # fmt: skip
    return RedirectResponse(f"/cases/{case_id}", status_code=303)


@router.post("/cases/{case_id}/trace")
def retrace(request: Request, case_id: RowId, db: DbSession, actor: FormActor) -> Response:
    """Trace again: check-ins uploaded late by offline scanners may add candidates."""
    with form_errors(request, db) as failed:
        service.retrace(db, actor=actor, case_id=case_id)
    if failed:
        return case_page(request, db, actor, case_id, errors={"trace": failed.message}, status=failed.status)
    return RedirectResponse(f"/cases/{case_id}#contacts-title", status_code=303)
