"""The public pages of venues: what a phone opens when it scans a poster, the confirmation shown at the door, and
how full places are (`/occupancy`).

`/occupancy` is open to anyone, so it is built to cost nothing to the city's hot paths however many ask at once:
it is an async view without the session dependencies (which run on the thread pool every hot path shares). The
board of every venue (one grouped query) is computed at most once in `occupancy_fresh_seconds` and shared; each
page of it (district, search, page number, language) is rendered once per board and shared too, and a flood of
the same page computes it once (web/limits.SharedAnswers). The work that is left (the board, a page not yet
rendered, the layout of a signed-in reader, who is read from the database) runs on the pages' own gate, two
threads with a short queue: when that is full, a reader gets 503 with Retry-After at once (web/limits.Gate).
Even a shared answer costs the event loop its parsing, routing and sending, so readers are answered at most
`occupancy_answers_per_second` times a second per process, the others waiting their moment on a timer
(web/limits.Pace): a flood is slowed to that pace instead of taking the loop from the code display and the door.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from fangkong.auth.actor import Actor
from fangkong.auth.deps import optional_actor, session_codec
from fangkong.auth.page_deps import FormActor, MaybeActor, PageActor, csrf_for, shell
from fangkong.auth.sessions import SESSION_COOKIE
from fangkong.core.deps import DbSession, database_turn, get_runtime
from fangkong.core.inputs import PageNumber, RowId
from fangkong.core.runtime import Runtime
from fangkong.venues import checkins, service
from fangkong.venues.operator_pages import KIND_LABELS
from fangkong.venues.service import OccupancyBoard
from fangkong.web.errors import error_page
from fangkong.web.i18n import request_language
from fangkong.web.limits import Busy, Gate, Pace, SharedAnswers
from fangkong.web.templating import env, render, template_context

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


# --- how full is it ---------------------------------------------------------------------------------------------

PAGE_SIZE = 20
PAGE_SLOTS, PAGE_QUEUE = 2, 32  # the pages' own threads, and how many may wait for one before 503
PACE_WAIT = 10  # seconds a reader may wait for their moment before 503
SEARCH_LENGTH = 50
District = Annotated[str, Query(pattern=r"^(\d{6})?$", description="a district's 6-digit code")]
Search = Annotated[str, Query(max_length=SEARCH_LENGTH)]


@dataclass(frozen=True, slots=True)
class _View:
    """What a reader asked for; with the language and the board, everything the page depends on."""

    district: str
    search: str
    page: int
    fragment: bool  # htmx's poll of the list, not the whole page

    def url(self, page: int | None = None) -> str:
        query = {"district": self.district, "q": self.search, "page": page or self.page}
        query = {k: v for k, v in query.items() if v and v != 1}
        return "/occupancy" + (f"?{urlencode(query)}" if query else "")


@dataclass(slots=True)
class _Public:
    pace: Pace  # every answer
    renders: Pace  # every page rendered
    gate: Gate
    boards: SharedAnswers[OccupancyBoard]
    pages: SharedAnswers[str]


def _public(request: Request) -> _Public:
    """The application's gate and shared answers for this page (one per application, made on first use)."""
    state = request.app.state
    public: _Public | None = getattr(state, "venues_public", None)
    if public is None:
        settings = get_runtime(request).settings
        fresh = settings.occupancy_fresh_seconds
        public = state.venues_public = _Public(
            pace=Pace(per_second=settings.occupancy_answers_per_second, max_wait=PACE_WAIT),
            renders=Pace(per_second=settings.occupancy_renders_per_second, max_wait=PACE_WAIT),
            gate=Gate("pages", slots=PAGE_SLOTS, queue=PAGE_QUEUE),
            boards=SharedAnswers(fresh_seconds=fresh, max_entries=1),
            pages=SharedAnswers(fresh_seconds=fresh, max_entries=512),
        )
    return public


def _read_board(runtime: Runtime) -> OccupancyBoard:
    with runtime.database.unit_of_work() as db:
        return service.occupancy_board(db)


async def _compute_board(public: _Public, runtime: Runtime) -> OccupancyBoard:
    async with public.gate.turn(), database_turn(runtime.database):
        return await public.gate.in_thread(_read_board, runtime)


def _row(board: OccupancyBoard, venue: service.PublicVenue) -> dict[str, Any]:
    return {"venue": venue, "kind_label": KIND_LABELS[venue.kind], "district": board.district_name(venue.district_code)}


def _page_html(request: Request, board: OccupancyBoard, view: _View, layout: dict[str, Any]) -> str:
    venues = board.matching(district=view.district, search=view.search)
    pages = max(1, math.ceil(len(venues) / PAGE_SIZE))
    shown = venues[(view.page - 1) * PAGE_SIZE : view.page * PAGE_SIZE]
    context = {
        **layout,
        "rows": [_row(board, v) for v in shown],
        "any_venue": bool(board.venues),
        "total": len(venues),
        "page": view.page,
        "pages": pages,
        "previous_url": view.url(view.page - 1) if view.page > 1 else None,
        "next_url": view.url(view.page + 1) if view.page < pages else None,
        "here": view.url(),
        "at": board.at,
        "districts": board.districts,
        "district": view.district,
        "q": view.search,
    }
    # The page as if asked for by its canonical address: the language links of a shared page point back to it.
    canonical = Request({**request.scope, "query_string": view.url().partition("?")[2].encode()})
    template = "venues/_occupancy_rows.html" if view.fragment else "venues/occupancy.html"
    return env.get_template(template).render(template_context(canonical, context))


def _layout_of(request: Request, runtime: Runtime) -> dict[str, Any]:
    """The layout of a signed-in reader (their name and role, the logout form)."""
    with runtime.database.unit_of_work() as db:
        actor: Actor | None = optional_actor(request, db, None)
    return shell(request, actor) if actor is not None else {}


async def _guests_page(request: Request, public: _Public, board: OccupancyBoard, view: _View) -> str:
    await public.renders.wait()
    return await public.gate.run(_page_html, request, board, view, {})


async def _signed_in_page(request: Request, public: _Public, runtime: Runtime, board: OccupancyBoard,
                          view: _View) -> str:  # fmt: skip
    await public.renders.wait()
    async with public.gate.turn():
        async with database_turn(runtime.database):
            layout = await public.gate.in_thread(_layout_of, request, runtime)
        return await public.gate.in_thread(_page_html, request, board, view, layout)


async def _busy_page(request: Request) -> str:
    return bytes(error_page(request, 503).body).decode()


@router.get("/occupancy")
async def public_occupancy(request: Request, page: PageNumber = 1, district: District = "", q: Search = "") -> Response:
    """How full places are now, fullest first, a page at a time, by district and by name: anyone can look before
    going (no sign-in, counts only)."""
    runtime, public = get_runtime(request), _public(request)
    view = _View(district=district, search=" ".join(q.split()), page=page, fragment="hx-request" in request.headers)
    lang = request_language(request)
    try:
        await public.pace.wait()
        board = await public.boards.get("board", functools.partial(_compute_board, public, runtime))
        cookie = request.cookies.get(SESSION_COOKIE)
        if cookie and session_codec(request).read(cookie) is not None:
            html = await _signed_in_page(request, public, runtime, board, view)
        else:  # the same for every guest: rendered once per board
            key = (board.at, lang, view)
            html = await public.pages.get(key, functools.partial(_guests_page, request, public, board, view))
    except Busy as busy:  # the answer of a flood: rendered once per language, not once per refusal
        html = await public.pages.get(("busy", lang), functools.partial(_busy_page, request))
        return HTMLResponse(html, status_code=busy.status_code, headers=busy.headers)
    response = HTMLResponse(html)
    response.headers.add_vary_header("Accept-Language")
    response.headers.add_vary_header("Cookie")
    return response
