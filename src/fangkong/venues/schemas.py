from __future__ import annotations

import datetime as dt

from pydantic import BaseModel, ConfigDict, Field

from fangkong.venues.models import VenueKind


class VenueCreate(BaseModel):
    ref: str = Field(min_length=1, max_length=64)
    name: str = Field(min_length=1, max_length=200)
    kind: VenueKind
    region_code: str = Field(min_length=6, max_length=20)
    address: str = Field(default="", max_length=255)
    capacity: int | None = Field(default=None, gt=0)


class VenueUpdate(BaseModel):
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


class CheckinCreate(BaseModel):
    """A door device checks a person in now."""

    venue_ref: str = Field(min_length=1, max_length=64)
    person_ref: str = Field(min_length=1, max_length=64)


class CheckinRead(BaseModel):
    id: int
    venue_ref: str
    checked_in_at: dt.datetime
    checked_out_at: dt.datetime | None


class BatchRow(BaseModel):
    client_id: str = Field(min_length=1, max_length=64, description="a UUID made by the scanner for this row")
    person_ref: str = Field(min_length=1, max_length=64)
    venue_ref: str = Field(min_length=1, max_length=64)
    checked_in_at: dt.datetime
    checked_out_at: dt.datetime | None = None


class BatchIn(BaseModel):
    rows: list[BatchRow] = Field(max_length=10_000)


class RowRejection(BaseModel):
    index: int
    client_id: str
    reason: str


class BatchResult(BaseModel):
    accepted: int  # stored now
    duplicates: int  # sent before (same client_id, or the same person, venue and time): nothing new stored
    rejected: list[RowRejection]
