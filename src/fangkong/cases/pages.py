"""Pages for investigators and commanders: the case list with the form that confirms a case, one case with its
timeline, candidates and contacts. Contacts' own pages and forms are in pages_contacts, the transmission chain in
pages_chain. Every read and change goes through the cases services, so the pages are scoped and audited like
the API; commanders see the same pages without the forms.

A form that fails shows its page again with the service's message and what was typed. The service call runs in a
SAVEPOINT (`attempt`): a domain error raised after the service had flushed part of a change would otherwise be
committed with the request that shows the error.
"""

from __future__ import annotations

import datetime as dt
import enum
import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Annotated, Any, TypeVar
from urllib.parse import urlencode

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy.orm import Session

from fangkong.auth.actor import Actor
from fangkong.auth.models import Role
from fangkong.auth.pages import PageActor, check_csrf, login_redirect, shell
from fangkong.cases import contacts, page_reads, service
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
from fangkong.core.config import city_zone
from fangkong.core.deps import DbSession
from fangkong.core.errors import Conflict, DomainError, Invalid, NotFound
from fangkong.regions.models import Region
from fangkong.web.i18n import request_language, translator
from fangkong.web.templating import local_time, render

router = APIRouter(include_in_schema=False)
PAGE_SIZE = 50
Translate = Callable[..., str]
E = TypeVar("E", bound=enum.Enum)

# The English msgids of the values shown on the pages (tests/web/test_i18n_runtime.py checks they are translated).
LABELS: dict[type[enum.Enum], dict[str, str]] = {
    Classification: {
        "suspected": "Suspected case",
        "confirmed": "Confirmed case",
        "asymptomatic": "Asymptomatic infection",
    },
    Severity: {"mild": "Mild", "ordinary": "Ordinary", "severe": "Severe", "critical": "Critical"},
    CaseOutcome: {"discharged": "Discharged, cured", "died": "Died"},
    ContactTier: {
        "close": "Close contact",
        "secondary": "Secondary close contact",
        "companion": "Spatiotemporal companion",
    },
    ContactStatus: {"candidate": "Candidate", "confirmed": "Confirmed", "dismissed": "Dismissed"},
    FollowUp: {
        "to_trace": "To trace",
        "traced": "Reached",
        "under_observation": "Under medical observation",
        "released": "Released",
    },
    EvidenceKind: {"checkin": "Check-in", "household": "Same household", "interview": "Interview"},
    CaseChange: {
        "reported": "Reported",
        "classification": "Classification",
        "severity": "Severity",
        "onset": "Symptom onset",
        "sampled": "First positive sampling",
        "isolated": "Isolated",
        "treated_at": "Treated at",
        "outcome": "Outcome",
        "traced": "Traced",
    },
    ContactChange: {
        "proposed": "Proposed",
        "confirmed": "Confirmed",
        "dismissed": "Dismissed",
        "follow_up": "Follow-up",
        "note": "Note",
        "became_case": "Became a case",
    },
}


def labeler(_: Translate) -> Callable[[object], str]:
    """label(value): an enum value in the reader's language; "—" for nothing."""

    def label(value: object) -> str:
        if value is None or value == "":
            return "—"
        if isinstance(value, enum.Enum):
            msgid = LABELS.get(type(value), {}).get(str(value.value))
            return _(msgid) if msgid else str(value.value)
        return str(value)

    return label


def parse_date(value: str) -> dt.date | None:
    value = value.strip()
    if not value:
        return None
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise Invalid("%(value)s is not a date like 2022-03-20", value=value) from None


def parse_local_time(value: str) -> dt.datetime | None:
    """A datetime-local field ("2022-03-20T10:15") is the city's wall clock: made an instant in the city's zone."""
    value = value.strip()
    if not value:
        return None
    try:
        parsed = dt.datetime.fromisoformat(value)
    except ValueError:
        raise Invalid("%(value)s is not a time like 2022-03-20 10:15", value=value) from None
    return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=city_zone())


def parse_choice(kind: type[E], value: str) -> E | None:
    value = value.strip()
    if not value:
        return None
    try:
        return kind(value)
    except ValueError:
        raise Invalid("%(value)s is not one of the choices", value=value) from None


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


@contextmanager
def attempt(db: Session) -> Iterator[None]:
    """A service call whose domain error undoes what it had written (see the module's docstring)."""
    with db.begin_nested():
        yield


def message_of(request: Request, exc: DomainError) -> str:
    return translator(request_language(request))(exc.template, **exc.params)


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
    page: Annotated[int, Query(ge=1)] = 1,
) -> Response:
    if actor is None:
        return login_redirect(request)
    filters = {"classification": classification, "open": open_only, "region": region, "q": q.strip()}
    return _cases_page(request, db, actor, filters, page)


@router.post("/cases")
def report_case(
    request: Request,
    db: DbSession,
    actor: PageActor,
    person_ref: Annotated[str, Form(max_length=64)] = "",
    classification: Annotated[str, Form(max_length=20)] = "",
    onset_date: Annotated[str, Form(max_length=20)] = "",
    sampled_at: Annotated[str, Form(max_length=30)] = "",
    isolated_at: Annotated[str, Form(max_length=30)] = "",
    reason: Annotated[str, Form(max_length=1000)] = "",
    csrf_token: Annotated[str, Form()] = "",
) -> Response:
    """Confirm (or report) a case; a confirmed or asymptomatic case is traced at once, and the case page shows its
    candidates."""
    if actor is None:
        return login_redirect(request)
    check_csrf(request, csrf_token)
    typed = {"person_ref": person_ref, "classification": classification, "onset_date": onset_date,
             "sampled_at": sampled_at, "isolated_at": isolated_at, "reason": reason}  # fmt: skip
    try:
        with attempt(db):
            change = service.CaseChangeRequest(
                classification=parse_choice(Classification, classification), onset_date=parse_date(onset_date),
                first_positive_at=parse_local_time(sampled_at), isolated_at=parse_local_time(isolated_at),
            )  # fmt: skip
            result = service.report_case(db, actor=actor, person_ref=person_ref.strip(), change=change,
                                         reason=reason.strip())  # fmt: skip
    except (Invalid, Conflict, NotFound) as exc:  # NotFound: no person with that ref in the investigator's regions
        return _cases_page(request, db, actor, {}, error=message_of(request, exc), form=typed, status=exc.status_code)
    return RedirectResponse(f"/cases/{result.case.id}", status_code=303)


# --- one case --------------------------------------------------------------------------------------------------

# contacts.trace_case's summary of a run: "[start, end) policy: 3 new, 1 refreshed".
_TRACED = re.compile(r"^\[(?P<start>[^,]+), (?P<end>[^)]+)\) (?P<policy>\S+): (?P<new>\d+) new, (?P<old>\d+) refreshed")


def _instant_text(value: str) -> str:
    try:
        return local_time(dt.datetime.fromisoformat(value))
    except ValueError:
        return value


def event_value(event: CaseEvent, _: Translate) -> str:
    """An event's new value in the reader's language (events keep it as text: enum values, ISO instants)."""
    label, value = labeler(_), event.value
    kinds: dict[CaseChange, type[enum.Enum]] = {
        CaseChange.reported: Classification, CaseChange.classification: Classification, CaseChange.severity: Severity,
    }  # fmt: skip
    try:
        if event.change in kinds:
            return label(kinds[event.change](value))
        if event.change in (CaseChange.sampled, CaseChange.isolated):
            return _instant_text(value)
        if event.change is CaseChange.outcome:
            outcome, _sep, date = value.partition(" ")
            return f"{label(CaseOutcome(outcome))} {date}".strip()
    except ValueError:
        return value
    if event.change is CaseChange.traced and (match := _TRACED.match(value)):
        start, end = (dt.datetime.fromisoformat(match[k]) for k in ("start", "end"))
        return _("window %(window)s (%(policy)s): %(new)s new candidates, %(old)s refreshed",
                 window=clock_span(start, end), policy=match["policy"], new=match["new"], old=match["old"])  # fmt: skip
    return value


def contact_event_text(event: ContactEvent, _: Translate) -> str:
    """What a contact's event says beside its label: the investigator's words as written; a proposal's machine
    summary ("checkin; 12 min co-present") is left out, since the evidence beside it says the same in full."""
    if event.change is ContactChange.proposed:
        return event.text.removeprefix("interview: ") if event.text.startswith("interview: ") else ""
    if event.change is ContactChange.became_case and (match := re.fullmatch(r"case (\d+)", event.text)):
        return _("Case #%(id)s", id=match[1])
    return event.text


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
def case_detail(request: Request, case_id: int, db: DbSession, actor: PageActor) -> Response:
    if actor is None:
        return login_redirect(request)
    return case_page(request, db, actor, case_id)


@router.post("/cases/{case_id}/change")
def change_case(
    request: Request,
    case_id: int,
    db: DbSession,
    actor: PageActor,
    classification: Annotated[str, Form(max_length=20)] = "",
    severity: Annotated[str, Form(max_length=20)] = "",
    isolated_at: Annotated[str, Form(max_length=30)] = "",
    outcome: Annotated[str, Form(max_length=20)] = "",
    outcome_date: Annotated[str, Form(max_length=20)] = "",
    reason: Annotated[str, Form(max_length=1000)] = "",
    csrf_token: Annotated[str, Form()] = "",
) -> Response:
    """Change a case with a reason; a new classification or isolation time traces it again."""
    if actor is None:
        return login_redirect(request)
    check_csrf(request, csrf_token)
    typed = {"classification": classification, "severity": severity, "isolated_at": isolated_at,
             "outcome": outcome, "outcome_date": outcome_date, "reason": reason}  # fmt: skip
    try:
        with attempt(db):
            change = service.CaseChangeRequest(
                classification=parse_choice(Classification, classification),
                severity=parse_choice(Severity, severity), isolated_at=parse_local_time(isolated_at),
                outcome=parse_choice(CaseOutcome, outcome), outcome_date=parse_date(outcome_date),
            )  # fmt: skip
            service.change_case(db, actor=actor, case_id=case_id, change=change, reason=reason)
    except (Invalid, Conflict) as exc:
        return case_page(request, db, actor, case_id, errors={"change": message_of(request, exc)},
                         forms={"change": typed}, status=exc.status_code)  # fmt: skip
    return RedirectResponse(f"/cases/{case_id}", status_code=303)


@router.post("/cases/{case_id}/trace")
def retrace(
    request: Request, case_id: int, db: DbSession, actor: PageActor, csrf_token: Annotated[str, Form()] = ""
) -> Response:
    """Trace again: check-ins uploaded late by offline scanners may add candidates."""
    if actor is None:
        return login_redirect(request)
    check_csrf(request, csrf_token)
    try:
        with attempt(db):
            service.retrace(db, actor=actor, case_id=case_id)
    except (Invalid, Conflict) as exc:
        return case_page(request, db, actor, case_id, errors={"trace": message_of(request, exc)},
                         status=exc.status_code)  # fmt: skip
    return RedirectResponse(f"/cases/{case_id}#contacts-title", status_code=303)
