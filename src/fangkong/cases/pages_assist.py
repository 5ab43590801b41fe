"""The assistance inbox (协查): requests from other regions to confirm, as a contact of their case, a person of the
reader's regions. Oldest first, each with how long it has waited; investigators decide each as they decide a
candidate (confirm its tier, or dismiss it with a reason), commanders read. Every request shown is audited by
the service. What the requesting side sees of its own requests is on its case page."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy.orm import Session

from fangkong.auth.actor import Actor
from fangkong.auth.models import Role
from fangkong.auth.page_deps import FormActor, PageActor
from fangkong.cases import assist, contacts
from fangkong.cases.models import AssistStatus, ContactTier
from fangkong.cases.pages import Translate, page_context
from fangkong.core.deps import DbSession
from fangkong.core.errors import Invalid
from fangkong.core.inputs import RowId
from fangkong.web.forms import form_errors, parse_choice
from fangkong.web.i18n import request_language, translator
from fangkong.web.templating import render

router = APIRouter(include_in_schema=False)
SHOWN = 200  # the oldest this many; a region with more waiting has a bigger problem than paging


def waited_text(waited: dt.timedelta, _: Translate) -> str:
    """ "3 d 4 h", "2 h 15 min", "5 min": precise enough to see which request has waited too long."""
    minutes = max(int(waited.total_seconds()) // 60, 0)
    days, rest = divmod(minutes, 24 * 60)
    hours, minutes = divmod(rest, 60)
    if days:
        return _("%(d)s d %(h)s h", d=days, h=hours)
    if hours:
        return _("%(h)s h %(m)s min", h=hours, m=minutes)
    return _("%(n)s min", n=minutes)


def _inbox_page(
    request: Request, db: Session, actor: Actor, status: AssistStatus, *,
    errors: Mapping[int, str] | None = None, typed: Mapping[int, Mapping[str, str]] | None = None,
    code: int = 200,
) -> Response:  # fmt: skip
    _ = translator(request_language(request))
    rows = assist.inbox(db, actor=actor, status=status, limit=SHOWN)
    context = {
        **page_context(request, actor),
        "rows": rows,
        "status": status,
        "statuses": list(AssistStatus),
        "status_urls": {s: "/assist?" + urlencode({"status": s.value}) for s in AssistStatus},
        "can_decide": actor.has(Role.investigator),
        "decisions": [ContactTier.close, ContactTier.secondary, ContactTier.companion],
        "waited": lambda row: waited_text(row.waited, _),
        "errors": errors or {},
        "typed": typed or {},
        "just_decided": request.query_params.get("decided", ""),
    }
    return render(request, "cases/assist.html", context, status_code=code)


@router.get("/assist")
def inbox(
    request: Request,
    db: DbSession,
    actor: PageActor,
    status: Annotated[str, Query(max_length=20)] = "",
) -> Response:
    """Requests addressed to the reader's regions: the waiting ones, or those answered."""
    return _inbox_page(request, db, actor, parse_choice(AssistStatus, status) or AssistStatus.pending)


@router.post("/assist/{request_id}/decision")
def decide(
    request: Request,
    request_id: RowId,
    db: DbSession,
    actor: FormActor,
    decision: Annotated[str, Form(max_length=20)] = "",
    reason: Annotated[str, Form(max_length=2000)] = "",
) -> Response:
    """Confirm the named person as a contact of the requester's case, or dismiss the request with a reason."""
    with form_errors(request, db) as failed:
        chosen = parse_choice(contacts.Decision, decision)
        if chosen is None:
            raise Invalid("%(value)s is not one of the choices", value=decision)
        assist.decide(db, actor=actor, request_id=request_id, decision=chosen, reason=reason)
    if failed:
        return _inbox_page(request, db, actor, AssistStatus.pending, errors={request_id: failed.message},
                           typed={request_id: {"reason": reason}}, code=failed.status)  # fmt: skip
    return RedirectResponse(f"/assist?{urlencode({'decided': request_id})}", status_code=303)
