"""Pages of the place code: what a phone opens when it scans a poster, and the confirmation shown at the door."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response

from fangkong.auth.page_deps import FormActor, MaybeActor, PageActor, csrf_for, shell
from fangkong.core.deps import DbSession, get_runtime
from fangkong.core.inputs import RowId
from fangkong.venues import checkins, service
from fangkong.web.templating import render

router = APIRouter(include_in_schema=False)


@router.get("/v/{token}", name="scan_page")
def scan_page(request: Request, token: str, db: DbSession, actor: MaybeActor) -> Response:
    """The poster's URL: the venue, how long check-ins are kept, and one button."""
    venue = service.venue_for_token(db, token=token)
    context = {
        "venue": venue,
        "kind": venue.kind,
        "retention_days": get_runtime(request).settings.checkin_retention_days,
        "signed_in": actor is not None,
        "can_check_in": actor is not None and actor.person_id is not None,
        "login_url": f"/login?next=/v/{token}",
        "token": token,
    }
    if actor is not None:
        context |= shell(request, actor)
    else:
        context["csrf_token"] = csrf_for(request)
    return render(request, "venues/scan.html", context)


@router.post("/v/{token}")
def scan_checkin(request: Request, token: str, db: DbSession, actor: FormActor) -> Response:
    checkin = checkins.record_scan(db, actor=actor, venue=service.venue_for_token(db, token=token))
    # Post/redirect/get: reloading the confirmation must not check in a second time (tracing would see two visits).
    return RedirectResponse(f"/checkins/{checkin.id}", status_code=303)


@router.get("/checkins/{checkin_id}")
def checked_in(request: Request, checkin_id: RowId, db: DbSession, actor: PageActor) -> Response:
    """The confirmation the door staff look at: one's own check-in only."""
    checkin, venue = checkins.own_checkin(db, actor=actor, checkin_id=checkin_id)
    return render(
        request,
        "venues/checked_in.html",
        {**shell(request, actor), "venue": venue, "checkin": checkin,
         "retention_days": get_runtime(request).settings.checkin_retention_days},
    )  # fmt: skip
