"""Pages: the people of one's region (search, full record with a purpose), a resident's own record and the
list of who looked at it. Every read goes through people.access, so pages are scoped and audited like the API."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import RedirectResponse, Response

from fangkong.auth.actor import Actor
from fangkong.auth.page_deps import FormActor, PageActor, shell
from fangkong.auth.scope import PEOPLE_READERS
from fangkong.core.deps import DbSession, Keys
from fangkong.core.errors import Forbidden, NotFound
from fangkong.core.inputs import MAX_PAGE, PageNumber
from fangkong.people import access
from fangkong.web.forms import refuse_form_problem
from fangkong.web.templating import render

router = APIRouter(include_in_schema=False)
PAGE_SIZE = 50


def _people_page(request: Request, db: DbSession, keys: Keys, actor: Actor, q: str, page: int) -> Response:
    if not actor.has(*PEOPLE_READERS):
        raise Forbidden("your role does not work with the resident registry")
    rows = access.search_people(
        db, actor=actor, keys=keys, query=q or None, limit=PAGE_SIZE + 1, offset=(page - 1) * PAGE_SIZE
    )
    context = {"rows": rows[:PAGE_SIZE], "q": q, "page": page, "has_next": len(rows) > PAGE_SIZE}
    template = "people/_rows.html" if request.headers.get("hx-request") else "people/list.html"
    return render(request, template, {**shell(request, actor), **context})


@router.get("/people")
def people(request: Request, db: DbSession, keys: Keys, actor: PageActor, page: PageNumber = 1) -> Response:
    """Everyone in the official's regions, by ref, a page at a time."""
    return _people_page(request, db, keys, actor, "", page)


@router.post("/people")
def search(
    request: Request,
    db: DbSession,
    keys: Keys,
    actor: FormActor,
    q: Annotated[str, Form(max_length=100)] = "",
    page: Annotated[int, Form(ge=1, le=MAX_PAGE)] = 1,
) -> Response:
    """A search is posted, so ID numbers and phones never appear in URLs, server logs or browser history."""
    refuse_form_problem(request)
    return _people_page(request, db, keys, actor, q.strip(), page)


@router.get("/people/{ref}")
def person(
    request: Request,
    ref: str,
    db: DbSession,
    keys: Keys,
    actor: PageActor,
    purpose: Annotated[str, Query(max_length=255)] = "",
) -> Response:
    """Opening a full record asks for its purpose first; the read is audited with it."""
    if not actor.has(*PEOPLE_READERS):
        if actor.person_id is not None:
            return RedirectResponse("/me", status_code=303)  # a resident's own record has its own page
        raise Forbidden("your role does not work with the resident registry")
    purpose = purpose.strip()
    if not purpose:
        # Show who it is (masked row, not audited: it is what the list shows) and ask why.
        preview = access.search_people(db, actor=actor, keys=keys, query=ref, limit=1)
        if not preview or preview[0].ref != ref:
            raise NotFound("no person with ref %(ref)s", ref=ref)
        return render(request, "people/purpose.html", {**shell(request, actor), "person": preview[0]})
    record = access.read_full_record(db, actor=actor, keys=keys, ref=ref, purpose=purpose)
    return render(request, "people/detail.html", {**shell(request, actor), "person": record, "purpose": purpose})


@router.get("/me")
def my_record(request: Request, db: DbSession, keys: Keys, actor: PageActor) -> Response:
    record = access.read_own_record(db, actor=actor, keys=keys)
    return render(request, "people/me.html", {**shell(request, actor), "person": record})


@router.get("/me/access-log")
def my_access_log(request: Request, db: DbSession, actor: PageActor) -> Response:
    entries = access.access_log(db, actor=actor)
    return render(request, "people/access_log.html", {**shell(request, actor), "entries": entries})
