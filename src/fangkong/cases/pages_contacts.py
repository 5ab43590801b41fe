"""Pages for contacts: the list across the reader's regions, and the forms of the case page that act on contacts
(decide on a candidate, follow a contact up, add one from an interview, which for a person of another region files
an assistance request instead). Decisions and follow-ups posted by htmx answer with the case page's contacts
section alone; posted as plain forms they redirect back (post/redirect/get). The assistance inbox is pages_assist.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated
from urllib.parse import parse_qsl, urlencode, urlsplit

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy.orm import Session

from fangkong.auth.actor import Actor
from fangkong.auth.models import Role
from fangkong.auth.page_deps import FormActor, PageActor
from fangkong.cases import assist, contacts, page_reads, service
from fangkong.cases.models import AssistRequest, ContactStatus, ContactTier, FollowUp
from fangkong.cases.pages import PAGE_SIZE, case_page, contacts_fragment, labeler, page_context
from fangkong.cases.scope import get_case, get_contact
from fangkong.core.deps import DbSession, Keys
from fangkong.core.errors import Conflict, Invalid, NotFound
from fangkong.core.inputs import PageNumber, RowId
from fangkong.people.models import Person
from fangkong.web.forms import form_errors, parse_choice, parse_local_time
from fangkong.web.i18n import request_language, translator
from fangkong.web.pages import safe_local_path
from fangkong.web.templating import render

router = APIRouter(include_in_schema=False)
FILTERS = ("status", "follow_up", "tier")


def _is_htmx(request: Request) -> bool:
    return request.headers.get("hx-request") == "true"


# --- the contact list -------------------------------------------------------------------------------------------


def _contacts_page(
    request: Request,
    db: Session,
    actor: Actor,
    filters: Mapping[str, str],
    page: int = 1,
    *,
    errors: Mapping[str, str] | None = None,
    forms: Mapping[str, Mapping[str, str]] | None = None,
    status: int = 200,
) -> Response:
    rows = service.list_contacts(
        db, actor=actor, status=parse_choice(ContactStatus, filters.get("status", "")),
        follow_up=parse_choice(FollowUp, filters.get("follow_up", "")),
        tier=parse_choice(ContactTier, filters.get("tier", "")), limit=PAGE_SIZE + 1, offset=(page - 1) * PAGE_SIZE,
    )  # fmt: skip
    query = {k: v for k, v in filters.items() if v}
    here = "/contacts" + (f"?{urlencode({**query, 'page': page})}" if query or page > 1 else "")
    context = {
        **page_context(request, actor),
        "rows": rows[:PAGE_SIZE],
        "filters": filters,
        "statuses": list(ContactStatus),
        "follow_ups": list(FollowUp),
        "tiers": list(ContactTier),
        "readable_cases": page_reads.readable_case_ids(db, actor=actor, case_ids=[r.contact.case_id for r in rows]),
        "can_follow_up": actor.has(Role.investigator),
        "here": here,
        "previous_url": f"/contacts?{urlencode({**query, 'page': page - 1})}" if page > 1 else None,
        "next_url": f"/contacts?{urlencode({**query, 'page': page + 1})}" if len(rows) > PAGE_SIZE else None,
        "errors": errors or {},
        "typed": forms or {},
    }
    return render(request, "cases/contacts.html", context, status_code=status)


@router.get("/contacts")
def contact_list(
    request: Request,
    db: DbSession,
    actor: PageActor,
    status: Annotated[str, Query(max_length=20)] = "",
    follow_up: Annotated[str, Query(max_length=20)] = "",
    tier: Annotated[str, Query(max_length=20)] = "",
    page: PageNumber = 1,
) -> Response:
    """Candidates and contacts of the reader's regions (a contact's own region, or its case's), newest first."""
    return _contacts_page(request, db, actor, {"status": status, "follow_up": follow_up, "tier": tier}, page)


# --- decisions and follow-up ------------------------------------------------------------------------------------


def _back_to(next_path: str, case_id: int, contact_id: int) -> str:
    path = safe_local_path(next_path) or f"/cases/{case_id}"
    return f"{path.split('#', 1)[0]}#contact-{contact_id}"


def _show_again(
    request: Request, db: Session, actor: Actor, case_id: int, next_path: str, key: str, message: str,
    typed: Mapping[str, str], status: int,
) -> Response:  # fmt: skip
    """The page the form came from, with its error beside the contact and what was typed."""
    errors, forms = {key: message}, {key: typed}
    target = urlsplit(safe_local_path(next_path) or "")
    if target.path == "/contacts":
        query = dict(parse_qsl(target.query))
        page = int(query["page"]) if query.get("page", "").isdigit() and int(query["page"]) > 0 else 1
        filters = {k: query.get(k, "") for k in FILTERS}
        return _contacts_page(request, db, actor, filters, page, errors=errors, forms=forms, status=status)
    if _is_htmx(request):
        return contacts_fragment(request, db, actor, case_id, errors=errors, forms=forms, status=status)
    return case_page(request, db, actor, case_id, errors=errors, forms=forms, status=status)


@router.post("/contacts/{contact_id}/decision")
def decide(
    request: Request,
    contact_id: RowId,
    db: DbSession,
    actor: FormActor,
    decision: Annotated[str, Form(max_length=20)] = "",
    reason: Annotated[str, Form(max_length=2000)] = "",
) -> Response:
    """Confirm a candidate as close, secondary or companion, or dismiss it with a reason."""
    contact = get_contact(db, actor=actor, contact_id=contact_id)
    with form_errors(request, db) as failed:
        chosen = parse_choice(contacts.Decision, decision)
        if chosen is None:
            raise Invalid("%(value)s is not one of the choices", value=decision)
        contacts.decide(db, actor=actor, contact_id=contact_id, decision=chosen, reason=reason)
    if failed:
        return _show_again(request, db, actor, contact.case_id, "", f"contact-{contact_id}", failed.message,
                           {"reason": reason}, failed.status)  # fmt: skip
    if _is_htmx(request):
        _ = translator(request_language(request))
        name = db.get_one(Person, contact.person_id).name
        if chosen is contacts.Decision.dismiss:
            notice = _("%(name)s dismissed.", name=name)
        else:
            notice = _("%(name)s confirmed: %(tier)s.", name=name, tier=labeler(_)(ContactTier(chosen.value)))
        return contacts_fragment(request, db, actor, contact.case_id, notice=notice)
    return RedirectResponse(_back_to("", contact.case_id, contact_id), status_code=303)


@router.post("/contacts/{contact_id}/follow-up")
def follow_up(
    request: Request,
    contact_id: RowId,
    db: DbSession,
    actor: FormActor,
    status: Annotated[str, Form(max_length=24)] = "",
    note: Annotated[str, Form(max_length=4000)] = "",
    next_path: Annotated[str, Form(alias="next", max_length=2048)] = "",
) -> Response:
    """Move a confirmed contact's follow-up on and/or add a dated note, from the case page or the contact list."""
    contact = get_contact(db, actor=actor, contact_id=contact_id)
    with form_errors(request, db) as failed:
        chosen = parse_choice(FollowUp, status)
        contacts.follow_up(db, actor=actor, contact_id=contact_id, status=chosen, note=note)
    if failed:
        return _show_again(request, db, actor, contact.case_id, next_path, f"contact-{contact_id}", failed.message,
                           {"status": status, "note": note}, failed.status)  # fmt: skip
    if _is_htmx(request) and urlsplit(next_path).path != "/contacts":
        _ = translator(request_language(request))
        notice = _("Follow-up of %(name)s saved.", name=db.get_one(Person, contact.person_id).name)
        return contacts_fragment(request, db, actor, contact.case_id, notice=notice)
    return RedirectResponse(_back_to(next_path, contact.case_id, contact_id), status_code=303)


@router.post("/cases/{case_id}/contacts")
def add_contact(
    request: Request,
    case_id: RowId,
    db: DbSession,
    keys: Keys,
    actor: FormActor,
    person_ref: Annotated[str, Form(max_length=64)] = "",
    id_number: Annotated[str, Form(max_length=32)] = "",
    tier: Annotated[str, Form(max_length=20)] = "",
    note: Annotated[str, Form(max_length=2000)] = "",
    start: Annotated[str, Form(max_length=30)] = "",
    end: Annotated[str, Form(max_length=30)] = "",
    venue: Annotated[str, Form(max_length=200)] = "",
) -> Response:
    """A contact named in an interview, confirmed at once with the investigator's note as its evidence; or, for a
    person outside the investigator's regions, an assistance request to their region (the case page lists it)."""
    # The ID number is not shown again: the form comes back without it.
    typed = {"person_ref": person_ref, "tier": tier, "note": note, "start": start, "end": end, "venue": venue}
    get_case(db, actor=actor, case_id=case_id, for_change=True)  # so that a NotFound below is the person's
    with form_errors(request, db, catch=(Invalid, Conflict, NotFound)) as failed:
        made = assist.name_contact(
            db, actor=actor, keys=keys, case_id=case_id, named=assist.Named(person_ref, id_number),
            tier=parse_choice(ContactTier, tier) or ContactTier.close,
            interview=contacts.Interview(note, parse_local_time(start), parse_local_time(end), venue),
        )  # fmt: skip
    if failed:
        return case_page(request, db, actor, case_id, errors={"add": failed.message}, forms={"add": typed},
                         status=failed.status)  # fmt: skip
    if isinstance(made, AssistRequest):
        return RedirectResponse(f"/cases/{case_id}#assist-{made.id}", status_code=303)
    return RedirectResponse(f"/cases/{case_id}#contact-{made.id}", status_code=303)
