"""A resident's health-code pages: the live code (/code, refreshed by /code/live), why it is its color
(/code/why) and appeals (/code/appeal). The investigators' appeal queue is in pages_appeals, the venue door in
door/pages.py; the helpers they share (colors in words, reasons in the reader's language, the QR image) are here.

The code page shows a QR of a signed token that lives 3 minutes; the page fetches a fresh one every minute, and
says plainly when it could not, since an old code is refused at the door.
"""

from __future__ import annotations

import datetime as dt
import io
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Annotated, Any, Literal

import segno
from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.orm import Session

from fangkong.auth.actor import Actor
from fangkong.auth.page_deps import FormActor, MaybeActor, PageActor, shell
from fangkong.core import causes
from fangkong.core.config import city_zone, get_settings
from fangkong.core.crypto import Keyring
from fangkong.core.deps import DbSession, Keys
from fangkong.healthcode import appeals, door, page_reads, service
from fangkong.healthcode.engine import Reason
from fangkong.healthcode.models import AppealStatus, CodeChange
from fangkong.healthcode.reasons import render as render_reason
from fangkong.policy.editions import EDITIONS, Color, load_policy
from fangkong.web.forms import form_errors
from fangkong.web.i18n import plural_translator, request_language, translator
from fangkong.web.labels import ROLE_LABELS
from fangkong.web.templating import render

router = APIRouter(include_in_schema=False)
Translate = Callable[..., str]

# English msgids of the values the pages show (tests/healthcode/test_pages.py checks they are translated).
COLOR_LABELS = {Color.green: "Green code", Color.yellow: "Yellow code", Color.red: "Red code"}
# A shape beside each color, so that the color is never the only sign (color-blind readers, grey screenshots).
COLOR_MARKS = {Color.green: "✓", Color.yellow: "!", Color.red: "✕"}
APPEAL_LABELS = {
    AppealStatus.open: "Under review",
    AppealStatus.upheld: "Upheld: the color stands",
    AppealStatus.corrected: "Corrected",
}

# The QR's dark modules in the code's color, each dark enough on white for a scanner (and 6:1 or more for eyes).
QR_INK = {Color.green: "#0a6e31", Color.yellow: "#7a5c00", Color.red: "#b3001b"}
POLL_SECONDS = 60  # tokens live 3 minutes: two refreshes may fail before the code on screen expires


def color_label(_: Translate, color: Color | None) -> str:
    return _(COLOR_LABELS[color]) if color is not None else "—"


def qr_svg(text: str, color: Color) -> str:
    """The token's QR code as an inline <svg> sized by CSS, dark modules in the code's color on white."""
    buffer = io.BytesIO()
    segno.make_qr(text, error="m", boost_error=False).save(
        buffer, kind="svg", border=4, dark=QR_INK[color], light="#fff", xmldecl=False, svgns=True, omitsize=True,
        nl=False, svgclass="hc-qr", lineclass="hc-qr__modules",
    )  # fmt: skip
    return buffer.getvalue().decode("utf-8")


def lang_of(request: Request) -> Literal["zh", "en"]:
    return "zh" if request_language(request).startswith("zh") else "en"


def reason_texts(request: Request, reasons: Iterable[Reason]) -> list[str]:
    lang, zone = lang_of(request), city_zone()
    return [render_reason(r, lang, zone) for r in reasons]


def policy_title(request: Request, name: str) -> str:
    if name not in EDITIONS:
        return name
    title = load_policy(name).title
    return title.zh if lang_of(request) == "zh" else title.en


def clock_time(instant: dt.datetime) -> str:
    """Wall-clock time in the city, to the second: what the live clock beside it also shows."""
    return f"{instant.astimezone(city_zone()):%H:%M:%S}"


def clock_date(instant: dt.datetime) -> str:
    return f"{instant.astimezone(city_zone()):%Y-%m-%d}"


def page_context(request: Request, actor: Actor) -> dict[str, Any]:
    _ = translator(request_language(request))
    return {
        **shell(request, actor),
        "color_label": lambda color: color_label(_, color),
        "color_marks": COLOR_MARKS,
        "appeal_label": lambda status: _(APPEAL_LABELS[status]),
        "clock_time": clock_time,
        "clock_date": clock_date,
    }


def no_store(response: Response) -> Response:
    # A code page must not come back from a cache (the back button, a proxy): its token would be stale.
    response.headers["Cache-Control"] = "no-store"
    return response


# --- the live code ------------------------------------------------------------------------------------------------


def live_context(request: Request, db: Session, keys: Keyring, actor: Actor) -> dict[str, Any]:
    person = page_reads.own_person(db, actor=actor)
    issued = door.issue_for(db, keys=keys, person_id=person.id)
    return {
        "color": issued.color,
        "token": issued.token,
        "qr": qr_svg(issued.token, issued.color),
        "masked_name": door.mask_name(person.name),
        "issued_at": issued.issued_at,
        "expires_at": issued.expires_at,
        "lifetime_minutes": int((issued.expires_at - issued.issued_at).total_seconds() // 60),
        "reasons": reason_texts(request, service.parse_reasons(issued.code.reasons)),
        "zone": get_settings().timezone,
    }


def _poll_seconds(request: Request) -> int:
    """Every minute; `?poll=N` (2 to 60 seconds) lets a test or a demonstration watch it change sooner."""
    try:
        return min(max(int(request.query_params.get("poll", POLL_SECONDS)), 2), POLL_SECONDS)
    except ValueError:
        return POLL_SECONDS


@router.get("/code")
def my_code(request: Request, db: DbSession, keys: Keys, actor: PageActor) -> Response:
    context = {**page_context(request, actor), **live_context(request, db, keys, actor),
               "poll_seconds": _poll_seconds(request)}  # fmt: skip
    return no_store(render(request, "healthcode/code.html", context))


@router.get("/code/live")
def my_code_live(request: Request, db: DbSession, keys: Keys, actor: MaybeActor) -> Response:
    """The fragment the code page polls: a fresh token, its QR and color, the reasons."""
    if actor is None:
        # Not a redirect: htmx would follow it and put the login page inside the code. The page shows the code
        # as not live, and its refresh link leads to the login.
        return no_store(HTMLResponse("", status_code=401))
    context = {**page_context(request, actor), **live_context(request, db, keys, actor)}
    return no_store(render(request, "healthcode/_live.html", context))


# --- why this color -----------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Change:
    at: dt.datetime
    from_color: Color | None
    to_color: Color
    reasons: list[str]
    policy: str
    who: str
    cause: str


def cause_text(_: Translate, change: CodeChange) -> str:
    """Why the code changed, in the reader's words, from the stored kind and parameters."""
    return causes.render(change.cause_kind, causes.load_params(change.cause_params), _)


def changes_for(
    request: Request, db: Session, actor: Actor, rows: Sequence[CodeChange]
) -> list[Change]:  # fmt: skip
    """The history, newest first, in the reader's words: who is an office (role and region) or the rules."""
    _ = translator(request_language(request))
    offices = page_reads.official_labels(
        db, user_ids=[c.actor_user_id for c in rows if c.actor_user_id and c.actor_user_id != actor.user_id]
    )

    def who(change: CodeChange) -> str:
        if change.actor == service.RULE:
            return _("the rules: a time limit passed")
        if change.actor_user_id is not None and change.actor_user_id == actor.user_id:
            return _("you")
        office = offices.get(change.actor_user_id or 0)
        if office is not None:
            return f"{_(ROLE_LABELS.get(office.role.value, office.role.value))} · {office.region_name}"
        return _("the system's operator")

    changes = []
    for c in reversed(rows):
        reasons = reason_texts(request, service.parse_reasons(c.reasons))
        changes.append(Change(c.at, c.from_color, c.to_color, reasons, c.policy, who(c), cause_text(_, c)))
    return changes


@dataclass(frozen=True, slots=True)
class NeededTests:
    count: int
    spacing_hours: int


def negatives_needed(reasons: Iterable[Reason]) -> NeededTests | None:
    """The most negative tests any reason still waits for (they count for every reason at once)."""
    found = None
    for reason in reasons:
        for count_key, spacing_key in (("tests_needed", "min_spacing_hours"),
                                       ("release_tests_needed", "release_spacing_hours")):  # fmt: skip
            count = int(reason.params.get(count_key, 0) or 0)
            if count > 0 and (found is None or count > found.count):
                found = NeededTests(count, int(reason.params.get(spacing_key, 0) or 0))
    return found


@router.get("/code/why")
def why(request: Request, db: DbSession, actor: PageActor) -> Response:
    person = page_reads.own_person(db, actor=actor)
    view = service.show(db, actor=actor, person_ref=person.ref)
    codes = {r.code for r in view.reasons}
    tests = negatives_needed(view.reasons)
    ngettext = plural_translator(request_language(request))
    singular, plural = "%(num)d more negative test is needed.", "%(num)d more negative tests are needed."
    context = {
        **page_context(request, actor),
        "view": view,
        "reasons": reason_texts(request, view.reasons),
        "tests": tests,
        "tests_text": ngettext(singular, plural, tests.count) if tests else "",
        "fever": "fever" in codes,
        "appeal_open": "appeal_open" in codes,
        "policy_title": policy_title(request, view.policy),
        "changes": changes_for(request, db, actor, service.person_history(db, actor=actor, person_ref=person.ref)),
        "policy_titles": {name: policy_title(request, name) for name in EDITIONS},
    }
    return render(request, "healthcode/why.html", context)


# --- appeals ------------------------------------------------------------------------------------------------------


def _appeal_page(
    request: Request, db: Session, actor: Actor, *, error: str | None = None, statement: str = "", status: int = 200
) -> Response:
    page_reads.own_person(db, actor=actor)
    mine = appeals.my_appeals(db, actor=actor)
    code = service.current(db, person_id=actor.person_id or 0)
    context = {
        **page_context(request, actor),
        "appeals": mine,
        "open_appeal": next((a for a in mine if a.status is AppealStatus.open), None),
        "color": code.color,
        "error": error,
        "statement": statement,
        "filed": request.query_params.get("filed") == "1",
    }
    return render(request, "healthcode/appeal.html", context, status_code=status)


@router.get("/code/appeal")
def appeal_page(request: Request, db: DbSession, actor: PageActor) -> Response:
    return _appeal_page(request, db, actor)


@router.post("/code/appeal")
def file_appeal(
    request: Request, db: DbSession, actor: FormActor, statement: Annotated[str, Form(max_length=4000)] = ""
) -> Response:
    with form_errors(request, db) as failed:
        appeals.file_appeal(db, actor=actor, statement=statement)
    if failed:
        return _appeal_page(request, db, actor, error=failed.message, statement=statement, status=failed.status)
    # Post/redirect/get: reloading the list must not file the appeal a second time.
    return RedirectResponse("/code/appeal?filed=1", status_code=303)


def labels_needing_translation() -> Mapping[str, Iterable[str]]:
    """The msgids chosen from tables rather than written as _("…") calls (the tests check they are translated)."""
    return {
        "colors": COLOR_LABELS.values(),
        "appeals": APPEAL_LABELS.values(),
        "causes": causes.msgids().values(),
    }
