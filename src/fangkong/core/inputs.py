"""Input at the edge: what the API, the pages and the imports accept as text and as ids.

Text: no control characters. U+0000 to U+001F and U+007F never mean anything in a ref, a name or a reason, and
PostgreSQL refuses U+0000 in text: one such value in a group-committed transaction would fail everyone's work in
it. Tab, LF and CR are allowed in the fields where multi-line text is legitimate (a reason, a note, a
statement); nowhere else. Pydantic models that read a request inherit `Input`; a batch's rows are checked one
by one (`control_problem`) so that a bad row is that row's rejection, not the batch's.

Ids: a row id is 1 … 2^31−1 (the columns are INTEGER on PostgreSQL); an id out of that range in a path, a query
or a body is refused with 422, like any other value the schema does not admit, before it reaches the database.

Times and dates: in the years 1900 to 2099. Year 1 or 9999 means nothing here, and arithmetic on it (a window's
look-back, a change of offset to UTC) overflowed Python's datetime: a 500 on several routes. Request bodies
(`Input`) check every date and time field; query parameters use `Instant`.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable, Mapping
from typing import Annotated, Any, ClassVar
from urllib.parse import unquote

from fastapi import Path, Query, Request
from pydantic import AfterValidator, BaseModel, Field, ValidationInfo, field_validator
from pydantic_core import PydanticCustomError

from fangkong.core import clock
from fangkong.core.errors import Invalid

MAX_ROW_ID = 2**31 - 1  # PostgreSQL INTEGER
MAX_OFFSET = 2**31 - 1
MAX_PAGE = 1_000_000  # pages of a listing: offset = (page - 1) × page size stays far below MAX_OFFSET

RowId = Annotated[int, Path(ge=1, le=MAX_ROW_ID)]
"""A row id in a path: /api/cases/{case_id}."""
BodyId = Annotated[int, Field(ge=1, le=MAX_ROW_ID)]
"""A row id in a request body."""
Offset = Annotated[int, Query(ge=0, le=MAX_OFFSET)]
PageNumber = Annotated[int, Query(ge=1, le=MAX_PAGE)]


def _in_years(value: Any) -> Any:
    if isinstance(value, dt.date) and not clock.in_years(value):  # datetimes are dates too
        raise PydanticCustomError("time_out_of_range", "must lie in the years {years}", {"years": clock.YEARS})
    return value


InYears = AfterValidator(_in_years)
Instant = Annotated[dt.datetime, InYears]
"""A time in a query: /api/trace?from=…"""

_SINGLE_LINE = re.compile("[\x00-\x1f\x7f]")
_MULTI_LINE = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")  # tab, LF and CR allowed


def control_character(value: str, *, multiline: bool = False) -> str | None:
    """The first control character of `value` that is not allowed there, as "U+0000"; None when there is none."""
    found = (_MULTI_LINE if multiline else _SINGLE_LINE).search(value)
    return f"U+{ord(found.group()):04X}" if found else None


def control_problem(fields: Mapping[str, object], *, multiline: Iterable[str] = ()) -> tuple[str, str] | None:
    """(field, "U+0000") for the first text field of `fields` with a control character not allowed in it."""
    allowed = set(multiline)
    for name, value in fields.items():
        if isinstance(value, str) and (character := control_character(value, multiline=name in allowed)):
            return name, character
    return None


CONTROL_MESSAGE = "%(field)s contains a control character (%(limit)s); remove it"  # validation_messages' too


def refuse_control(field: str, character: str) -> Invalid:
    return Invalid(CONTROL_MESSAGE, field=field, limit=character)


def _scan(value: object, multiline: bool) -> str | None:
    if isinstance(value, str):
        return control_character(value, multiline=multiline)
    if isinstance(value, (list, tuple, set, frozenset)):
        return next((c for item in value if (c := _scan(item, multiline))), None)
    if isinstance(value, dict):
        return next((c for k, v in value.items() if (c := _scan(k, False) or _scan(v, multiline))), None)
    return None  # numbers, times, enums; nested models check their own fields


class Input(BaseModel):
    """The base of every request body's model: no field admits a control character, except tab, LF and CR in the
    fields named in `multiline`."""

    multiline: ClassVar[frozenset[str]] = frozenset()

    @field_validator("*", mode="after")
    @classmethod
    def _times_in_range(cls, value: Any) -> Any:
        return _in_years(value)

    @field_validator("*", mode="after")
    @classmethod
    def _no_control_characters(cls, value: Any, info: ValidationInfo) -> Any:
        character = _scan(value, info.field_name in cls.multiline)
        if character is not None:
            raise PydanticCustomError(
                "control_character", "contains a control character ({character})", {"character": character}
            )
        return value


async def check_url(request: Request) -> None:
    """Every route's dependency: a path or query string that decodes to a control character is refused (422)
    before any parameter reaches a service."""
    character = control_character(request.scope["path"])  # already percent-decoded
    if character is not None:
        raise refuse_control("path", character)
    query: bytes = request.scope.get("query_string", b"")
    if query:
        character = control_character(unquote(query.decode("latin-1"), errors="replace"))
        if character is not None:
            raise refuse_control("query", character)
