"""The door page of a venue (验码): its operator, on a phone or tablet at the entrance, scans visitors' health codes
with the camera (jsQR in static/js/door.js) or a handheld scanner that types into the code field, optionally with
a temperature, and reads a big answer: may enter or not, in the code's color, with the masked name and why.

Verification is healthcode.door.verify_at_door, the same as the API's: it records the check-in when the visitor
may enter and a fever when one is measured. The form posts with the session and its CSRF token like every page;
with htmx only the answer is swapped, so the cursor stays in the code field for the next visitor."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import Response
from sqlalchemy.orm import Session

from fangkong.auth.actor import Actor
from fangkong.auth.models import Role
from fangkong.auth.page_deps import FormActor, PageActor
from fangkong.core import clock
from fangkong.core.deps import DbSession, Keys
from fangkong.core.errors import Forbidden, Invalid
from fangkong.healthcode import door
from fangkong.healthcode.pages import page_context
from fangkong.policy.editions import Color
from fangkong.venues import service as venues
from fangkong.venues.models import Venue
from fangkong.web.forms import attempt, message_of, refuse_form_problem
from fangkong.web.i18n import plural_translator, request_language, translator
from fangkong.web.templating import render

router = APIRouter(include_in_schema=False)


@dataclass(frozen=True, slots=True)
class Answer:
    """What the door staff read: `entry` None when the code itself was refused (not a code, expired, someone
    else's), so there is no color to show."""

    entry: door.Entry | None
    color: Color | None
    masked_name: str
    why: str
    negative_test: str
    fever: bool
    temperature: float | None
    checked_in_at: dt.datetime | None

    @property
    def tone(self) -> str:
        return self.color.value if self.color is not None else "refused"


def _venue(db: Session, actor: Actor, ref: str) -> Venue:
    if not actor.has(Role.venue_operator):
        raise Forbidden("only venue operators manage venues")
    return venues.managed_venue(db, actor=actor, ref=ref)


def _temperature(text: str) -> float | None:
    text = text.strip().replace(",", ".").removesuffix("℃").removesuffix("°C").strip()
    if not text:
        return None
    try:
        return float(text)
    except ValueError:
        raise Invalid("%(value)s is not a temperature like 36.5", value=text) from None


def negative_test_text(request: Request, age: dt.timedelta | None) -> str:
    _ = translator(request_language(request))
    ngettext = plural_translator(request_language(request))
    if age is None:
        return _("No negative test on record")
    hours = int(age.total_seconds() // 3600)
    if hours < 1:
        return _("Negative test sampled less than an hour ago")
    if hours < 72:
        return ngettext("Negative test sampled %(num)d hour ago", "Negative test sampled %(num)d hours ago", hours)
    days = hours // 24
    return ngettext("Negative test sampled %(num)d day ago", "Negative test sampled %(num)d days ago", days)


def _door_page(
    request: Request,
    db: Session,
    actor: Actor,
    venue: Venue,
    *,
    answer: Answer | None = None,
    error: str | None = None,
    status: int = 200,
) -> Response:
    context: dict[str, Any] = {
        **page_context(request, actor),
        "venue": venue,
        "answer": answer,
        "error": error,
        "present": venues.occupancy(db, venue=venue),
    }
    template = "healthcode/_door_result.html" if request.headers.get("hx-request") else "healthcode/door.html"
    response = render(request, template, context, status_code=status)
    response.headers["Cache-Control"] = "no-store"
    return response


@router.get("/venues/{ref}/door")
def door_page(request: Request, ref: str, db: DbSession, actor: PageActor) -> Response:
    return _door_page(request, db, actor, _venue(db, actor, ref))


@router.post("/venues/{ref}/door")
def verify_at_door(
    request: Request,
    ref: str,
    db: DbSession,
    keys: Keys,
    actor: FormActor,
    token: Annotated[str, Form(max_length=400)] = "",
    temperature: Annotated[str, Form(max_length=20)] = "",
) -> Response:
    refuse_form_problem(request)
    venue = _venue(db, actor, ref)
    _ = translator(request_language(request))
    try:
        celsius = _temperature(temperature)
        if not token.strip():
            raise Invalid("scan the code, or type it, first")
        with attempt(db):
            result = door.verify_at_door(db, actor=actor, keys=keys, code_token=token.strip(), venue_ref=venue.ref,
                                         temperature=celsius)  # fmt: skip
    except door.CodeRefused as exc:
        refused = Answer(None, None, "", message_of(request, exc), "", False, None, None)
        return _door_page(request, db, actor, venue, answer=refused, status=exc.status_code)
    except Invalid as exc:
        return _door_page(request, db, actor, venue, error=message_of(request, exc), status=exc.status_code)
    answer = Answer(
        entry=result.entry,
        color=result.color,
        masked_name=result.masked_name,
        why=_(result.why),
        negative_test=negative_test_text(request, result.negative_test_age),
        fever=result.fever,
        temperature=celsius,
        checked_in_at=clock.now() if result.checkin_id is not None else None,
    )
    return _door_page(request, db, actor, venue, answer=answer)
