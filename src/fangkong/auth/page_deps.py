"""Who acts on a page: the dependencies every page handler starts from, and what the layout needs about them.

- `PageActor`: the signed-in actor; a reader who is not signed in goes to the login page, with ?next= this page
  (the home page itself needs no next: it is where the login goes by default).
- `FormActor`: the same, for a form post: the form's csrf_token must be this session's, else 403.
- `MaybeActor`: the actor or None, for the few pages anyone may open (the login page, a place code). The public
  occupancy page reads its reader without it, on its own threads (venues/pages.py, web/limits.py).

    @router.post("/venues/{ref}/rotate")
    def rotate(request: Request, ref: str, db: DbSession, actor: FormActor) -> Response:
        service.rotate_token(db, actor=actor, ref=ref)
        return RedirectResponse(f"/venues/{ref}?rotated=1", status_code=303)
"""

from __future__ import annotations

from typing import Annotated
from urllib.parse import urlencode

from fastapi import Depends, Form, Request

from fangkong.auth.actor import Actor
from fangkong.auth.deps import optional_actor, session_codec
from fangkong.auth.sessions import SESSION_COOKIE
from fangkong.core.errors import Forbidden
from fangkong.web.forms import note_form_problem
from fangkong.web.i18n import request_language, translator
from fangkong.web.labels import role_label
from fangkong.web.pages import RedirectTo

MaybeActor = Annotated[Actor | None, Depends(optional_actor)]


def login_url(request: Request) -> str:
    """The login page, coming back here (path and query) once signed in."""
    here = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    return "/login" if here == "/" else "/login?" + urlencode({"next": here})


async def page_actor(request: Request, actor: MaybeActor) -> Actor:
    # async: no I/O here, and FastAPI would run a plain function on the thread pool, one more step per request.
    if actor is None:
        raise RedirectTo(login_url(request))
    return actor


PageActor = Annotated[Actor, Depends(page_actor)]


def csrf_for(request: Request) -> str:
    """The form token of this session (empty without one); forms post it back as csrf_token."""
    codec = session_codec(request)
    data = codec.read(request.cookies.get(SESSION_COOKIE))
    return codec.csrf_token(data.nonce) if data else ""


def check_csrf(request: Request, token: str | None) -> None:
    codec = session_codec(request)
    data = codec.read(request.cookies.get(SESSION_COOKIE))
    if not codec.csrf_valid(data.nonce if data else None, token):
        raise Forbidden("the form was not sent from this site's page; reload the page and try again")


async def form_actor(request: Request, actor: PageActor, csrf_token: Annotated[str, Form()] = "") -> Actor:
    """The signed-in actor of a form post whose CSRF token is this session's (checked after the sign-in, so a
    reader whose session ended goes to the login page rather than to a 403)."""
    check_csrf(request, csrf_token)
    note_form_problem(request, await request.form())
    return actor


FormActor = Annotated[Actor, Depends(form_actor)]


def shell(request: Request, actor: Actor) -> dict[str, object]:
    """What the layout needs about the signed-in user."""
    _ = translator(request_language(request))
    grant = actor.primary
    role = role_label(_, grant.role) + " · " + grant.region_name if grant else ""
    return {"user": actor, "user_role": role, "csrf_token": csrf_for(request)}
