"""The one way a page acts on a form: parse what was typed, run the service, and either go on (usually a redirect,
post/redirect/get) or show the form again with the domain error's message, in the reader's language and with the
error's own status:

    @router.post("/cases/{case_id}/trace")
    def retrace(request: Request, case_id: int, db: DbSession, actor: FormActor) -> Response:
        with form_errors(request, db) as failed:
            service.retrace(db, actor=actor, case_id=case_id)
        if failed:
            return case_page(request, db, actor, case_id, error=failed.message, status=failed.status)
        return RedirectResponse(f"/cases/{case_id}", status_code=303)

The service call runs in a SAVEPOINT: a domain error raised after the service had flushed part of a change would
otherwise be committed with the request that shows the error.
"""

from __future__ import annotations

import datetime as dt
import enum
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TypeVar

from sqlalchemy.orm import Session
from starlette.datastructures import FormData
from starlette.requests import Request

from fangkong.core import clock
from fangkong.core.config import city_zone
from fangkong.core.errors import Conflict, DomainError, Invalid
from fangkong.core.inputs import control_problem, refuse_control
from fangkong.web.i18n import request_language, translator

E = TypeVar("E", bound=enum.Enum)
T = TypeVar("T", bound=dt.date)

# The errors a form answers in place: what the reader typed is wrong (Invalid) or no longer fits (Conflict).
# Others (Forbidden, NotFound of the page's own subject) are the error page, as on any other request.
FORM_ERRORS: tuple[type[DomainError], ...] = (Invalid, Conflict)


@dataclass(slots=True)
class FormError:
    """What `form_errors` caught: false until a domain error was raised in its block."""

    message: str = ""
    status: int = 200
    error: DomainError | None = None

    def __bool__(self) -> bool:
        return self.error is not None


@contextmanager
def attempt(db: Session) -> Iterator[None]:
    """A SAVEPOINT around a service call: its domain error undoes what it had written (see the module's docstring)."""
    with db.begin_nested():
        yield


def message_of(request: Request, exc: DomainError) -> str:
    """The domain error's message in the reader's language."""
    return translator(request_language(request))(exc.template, **exc.params)


@contextmanager
def form_errors(
    request: Request, db: Session, *, catch: tuple[type[DomainError], ...] = FORM_ERRORS
) -> Iterator[FormError]:
    """Run the block in a savepoint; one of `catch` raised in it is kept (translated) in the yielded FormError
    instead of propagating, so the handler can show the form again with it."""
    failed = FormError()
    refused: Invalid | None = getattr(request.state, "form_problem", None)
    if refused is not None:
        # A control character in a field (note_form_problem): the block runs in a savepoint that is rolled back
        # whatever it did, and whatever it raised (PostgreSQL refuses U+0000) is the form's message instead.
        try:
            with attempt(db):
                yield failed
                raise _Undo
        except Exception:  # noqa: S110 - _Undo, or the database refusing the text: the message says why
            pass
        failed.message, failed.status, failed.error = message_of(request, refused), refused.status_code, refused
        return
    try:
        with attempt(db):
            yield failed
    except catch as exc:
        failed.message, failed.status, failed.error = message_of(request, exc), exc.status_code, exc


class _Undo(Exception):
    """Rolls the savepoint of a refused form back."""


MULTILINE_FIELDS = frozenset({"reason", "note", "statement"})  # the pages' textareas


def note_form_problem(request: Request, form: FormData) -> None:
    """Keep (in request.state) the refusal of a form with a control character in a field (core/inputs.py): tab, LF
    and CR only in a textarea. `form_errors` then shows the form again with it; FormActor calls this."""
    for name, value in form.multi_items():
        if found := control_problem({name: value}, multiline=MULTILINE_FIELDS):
            request.state.form_problem = refuse_control(*found)
            return


def refuse_form_problem(request: Request) -> None:
    """For a form handler that does not show its form again through `form_errors`: a control character in a field
    (noted by FormActor) is refused here, before any service sees it, as the error page with the message (422)."""
    refused: Invalid | None = getattr(request.state, "form_problem", None)
    if refused is not None:
        raise refused


# --- what was typed -----------------------------------------------------------------------------------------------


def parse_date(value: str) -> dt.date | None:
    value = value.strip()
    if not value:
        return None
    try:
        parsed = dt.date.fromisoformat(value)
    except ValueError:
        raise Invalid("%(value)s is not a date like 2022-03-20", value=value) from None
    return _in_years(parsed, value)


def _in_years(parsed: T, value: str) -> T:
    if not clock.in_years(parsed):
        raise Invalid("%(value)s is outside the years %(years)s", value=value, years=clock.YEARS)
    return parsed


def parse_local_time(value: str) -> dt.datetime | None:
    """A datetime-local field ("2022-03-20T10:15") is the city's wall clock: made an instant in the city's zone."""
    value = value.strip()
    if not value:
        return None
    try:
        parsed = dt.datetime.fromisoformat(value)
    except ValueError:
        raise Invalid("%(value)s is not a time like 2022-03-20 10:15", value=value) from None
    _in_years(parsed, value)
    return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=city_zone())


def parse_choice(kind: type[E], value: str) -> E | None:
    value = value.strip()
    if not value:
        return None
    try:
        return kind(value)
    except ValueError:
        raise Invalid("%(value)s is not one of the choices", value=value) from None
