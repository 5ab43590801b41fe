"""Pages: log in, log out, the home page of each role, and one's own API tokens."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response

from fangkong.auth import audit, service
from fangkong.auth.actor import Actor
from fangkong.auth.audit_models import AuditAction, Channel
from fangkong.auth.deps import client_address, device_codec, session_codec
from fangkong.auth.models import Role, User
from fangkong.auth.page_deps import FormActor, MaybeActor, PageActor, check_csrf, shell
from fangkong.auth.scope import PEOPLE_READERS
from fangkong.auth.sessions import (
    CSRF_COOKIE,
    DEVICE_COOKIE,
    DEVICE_MAX_AGE,
    SESSION_COOKIE,
    SESSION_MAX_AGE,
    new_csrf_nonce,
)
from fangkong.core.deps import DbSession
from fangkong.core.errors import Forbidden
from fangkong.core.inputs import RowId, control_problem, refuse_control
from fangkong.web.forms import refuse_form_problem
from fangkong.web.i18n import plural_translator, request_language, translator
from fangkong.web.pages import safe_local_path
from fangkong.web.templating import render

router = APIRouter(include_in_schema=False)


# --- login and logout ---------------------------------------------------------------------------------------


def _login_page(request: Request, *, username: str = "", error: str | None = None, status: int = 200) -> Response:
    nonce = request.cookies.get(CSRF_COOKIE) or new_csrf_nonce()
    response = render(
        request,
        "auth/login.html",
        {
            "username": username,
            "error": error,
            "csrf_token": session_codec(request).csrf_token(nonce),
            "next": safe_local_path(request.query_params.get("next")) or "/",
        },
        status_code=status,
    )
    response.set_cookie(CSRF_COOKIE, nonce, httponly=True, samesite="lax", secure=request.url.scheme == "https")
    return response


@router.get("/login")
def login_form(request: Request, actor: MaybeActor) -> Response:
    if actor is not None:
        return RedirectResponse("/", status_code=303)
    return _login_page(request)


@router.post("/login")
def login(
    request: Request,
    db: DbSession,
    username: Annotated[str, Form()] = "",
    password: Annotated[str, Form()] = "",
    csrf_token: Annotated[str, Form()] = "",
    next_path: Annotated[str, Form(alias="next")] = "/",
) -> Response:
    _ = translator(request_language(request))
    if not session_codec(request).csrf_valid(request.cookies.get(CSRF_COOKIE), csrf_token):
        raise Forbidden("the form was not sent from this site's page; reload the page and try again")
    if found := control_problem({"username": username, "password": password}):
        # Refused before the database sees it (PostgreSQL cannot even compare a text with U+0000 in it).
        refused = refuse_control(*found)
        return _login_page(request, username="", error=_(refused.template, **refused.params), status=422)
    devices = device_codec(request)
    device = devices.read(request.cookies.get(DEVICE_COOKIE))
    try:
        user = service.authenticate(
            db,
            username=username.strip(),
            password=password,
            address=client_address(request),
            channel=Channel.page,
            device=device,
        )
    except service.TooManyAttempts as wait:
        # A wait, not a lockout: the page says how long, and so does the header for scripts and proxies.
        n = wait.retry_after
        message = plural_translator(request_language(request))(
            "Too many failed attempts. Try again in %(num)d second.",
            "Too many failed attempts. Try again in %(num)d seconds.",
            n,
        )
        response = _login_page(request, username=username, error=message, status=429)
        response.headers["Retry-After"] = str(n)
        return response
    except service.LoginFailed:
        message = _("Wrong username or password.")
        return _login_page(request, username=username, error=message, status=401)
    response = RedirectResponse(safe_local_path(next_path) or "/", status_code=303)
    response.set_cookie(
        SESSION_COOKIE,
        session_codec(request).issue(user_id=user.id, epoch=user.session_epoch),
        max_age=SESSION_MAX_AGE,
        httponly=True,
        samesite="lax",
        secure=request.url.scheme == "https",
    )
    response.delete_cookie(CSRF_COOKIE)
    # This browser is now one of the account's known devices: strangers' failed logins will not slow it down.
    response.set_cookie(
        DEVICE_COOKIE,
        devices.issue(known=device, user_id=user.id),
        max_age=DEVICE_MAX_AGE,
        httponly=True,
        samesite="lax",
        secure=request.url.scheme == "https",
    )
    return response


@router.post("/logout")
def logout(request: Request, db: DbSession, actor: MaybeActor, csrf_token: Annotated[str, Form()] = "") -> Response:
    if actor is not None:
        check_csrf(request, csrf_token)
        # Sessions are stateless cookies: deleting ours would leave a copied cookie valid for hours. Bumping the
        # epoch ends every session of this user, on every device (a shared phone at a checkpoint included).
        user = db.get(User, actor.user_id) if actor.user_id is not None else None
        if user is not None:
            user.session_epoch += 1
        audit.record(db, actor=actor, action=AuditAction.logout, entity_type="user", entity_ref=actor.username)
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(SESSION_COOKIE)
    return response


# --- home ---------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Action:
    url: str
    title: str  # English msgid
    text: str  # English msgid


def actions_for(actor: Actor) -> list[Action]:
    """The things this user can do, in the order they most often need them. Only pages that exist."""
    actions = []
    if Role.resident in actor.roles and actor.person_id is not None:
        actions.append(Action("/code", "My health code", "Show it at doors; it refreshes itself and says why."))
        actions.append(Action("/me", "My record", "Your registration as the city holds it."))
        actions.append(
            Action("/me/access-log", "Who looked at my data", "Every time an official opened your record, and why.")
        )
    if actor.has(*PEOPLE_READERS):
        actions.append(Action("/people", "People in my area", "Search the residents of your region."))
    if actor.has(Role.investigator, Role.commander):
        actions.append(
            Action("/cases", "Cases", "Cases of your regions, their candidate contacts and transmission chains.")
        )
        actions.append(Action("/contacts", "Contacts", "Contacts in your regions and their follow-up."))
    if actor.has(Role.investigator):
        actions.append(Action("/assist", "Assistance requests", "Other regions asking you to confirm their contacts."))
        actions.append(Action("/appeals", "Appeals", "Residents asking for their code to be reviewed."))
    if Role.venue_operator in actor.roles:
        actions.append(Action("/venues", "My venues", "Register venues, print their place codes, see who is in."))
    if any(r is not Role.resident for r in actor.roles):
        actions.append(Action("/tokens", "API tokens", "Tokens for door devices, scanners and scripts."))
    actions.append(Action("/occupancy", "How full is it?", "People present now at places, fullest first."))
    return actions


@router.get("/")
def home(request: Request, actor: PageActor) -> Response:
    return render(request, "auth/home.html", {**shell(request, actor), "actions": actions_for(actor)})


# --- API tokens -----------------------------------------------------------------------------------------------


def _tokens_page(request: Request, db: DbSession, actor: Actor, new_token: str | None = None) -> Response:
    rows = service.my_tokens(db, actor=actor)
    return render(request, "auth/tokens.html", {**shell(request, actor), "tokens": rows, "new_token": new_token})


@router.get("/tokens")
def tokens(request: Request, db: DbSession, actor: PageActor) -> Response:
    return _tokens_page(request, db, actor)


@router.post("/tokens")
def create_token(request: Request, db: DbSession, actor: FormActor, label: Annotated[str, Form()] = "") -> Response:
    refuse_form_problem(request)
    user = db.get(User, actor.user_id) if actor.user_id is not None else None
    if user is None:
        raise Forbidden("API tokens are for officials' devices")
    _, token = service.create_token(db, actor=actor, user=user, label=label.strip())
    return _tokens_page(request, db, actor, new_token=token)


@router.post("/tokens/{token_id}/revoke")
def revoke_token(request: Request, token_id: RowId, db: DbSession, actor: FormActor) -> Response:
    service.revoke_token(db, actor=actor, token_id=token_id)
    return RedirectResponse("/tokens", status_code=303)
