from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr

from fangkong.core.inputs import Input
from fangkong.venues.models import VenueKind
from fangkong.web.i18n import gettext


class VenueCreate(Input):
    """A venue to register. Operators leave `ref` out: the server assigns it (and answers with it), so that
    registering cannot tell whether a ref is taken. The command centre's imports give their own refs."""

    ref: str | None = Field(
        default=None, min_length=1, max_length=64, description="leave out: the server assigns the venue's ref"
    )
    name: str = Field(min_length=1, max_length=200)
    kind: VenueKind
    region_code: str = Field(min_length=6, max_length=20)
    address: str = Field(default="", max_length=255)
    capacity: int | None = Field(default=None, gt=0)


class VenueUpdate(Input):
    name: str | None = Field(default=None, min_length=1, max_length=200)
    kind: VenueKind | None = None
    address: str | None = Field(default=None, max_length=255)
    capacity: int | None = Field(default=None, gt=0)


class VenueRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    ref: str
    name: str
    kind: VenueKind
    region_code: str
    address: str
    capacity: int | None
    checkin_url: str | None = None  # only for the venue's operator: the poster's URL


class Occupancy(BaseModel):
    ref: str
    name: str
    present: int
    capacity: int | None
    ratio: float | None  # present / capacity
    at: dt.datetime


class CheckinCreate(Input):
    """A door device checks a person in now."""

    venue_ref: str = Field(min_length=1, max_length=64)
    person_ref: str = Field(min_length=1, max_length=64)


class CheckinRead(BaseModel):
    id: int
    venue_ref: str
    checked_in_at: dt.datetime
    checked_out_at: dt.datetime | None


class BatchRow(BaseModel):
    """Not an `Input`: a row with a control character is that row's rejection (venues.checkins.text_problem), not
    the batch's."""

    client_id: str = Field(min_length=1, max_length=64, description="a UUID made by the scanner for this row")
    person_ref: str = Field(min_length=1, max_length=64)
    venue_ref: str = Field(min_length=1, max_length=64)
    checked_in_at: dt.datetime
    checked_out_at: dt.datetime | None = None


class BatchIn(Input):
    rows: list[BatchRow] = Field(max_length=10_000)


@dataclass(frozen=True, slots=True)
class Problem:
    """Why a row cannot be stored: an English msgid with its parameters, put in the reader's language where it is
    answered (a batch's rows, in the API's view) or left in English (the CSV import's command-line report)."""

    msgid: str
    params: dict[str, object] = field(default_factory=dict)

    def __str__(self) -> str:
        return self.msgid % self.params if self.params else self.msgid


class RowRejection(BaseModel):
    index: int
    client_id: str
    reason: str
    _problem: Problem | None = PrivateAttr(default=None)

    @classmethod
    def of(cls, index: int, client_id: str, problem: Problem) -> RowRejection:
        rejection = cls(index=index, client_id=client_id, reason=str(problem))
        rejection._problem = problem
        return rejection

    def in_language(self, lang: str) -> RowRejection:
        if self._problem is None:
            return self
        return self.model_copy(update={"reason": gettext(lang, self._problem.msgid, **self._problem.params)})


class BatchResult(BaseModel):
    accepted: int  # stored now
    duplicates: int  # sent before (same client_id, or the same person, venue and time): nothing new stored
    rejected: list[RowRejection]
