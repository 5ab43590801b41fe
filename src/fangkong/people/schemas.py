"""API and CLI shapes of a person. The default view is masked; clear values need an audited, scoped read."""

from __future__ import annotations

import datetime as dt

from pydantic import BaseModel, ConfigDict, Field

from fangkong.auth.audit_models import AuditAction, Channel
from fangkong.core.ids import IdType, Sex, mask_id_number, mask_phone
from fangkong.core.inputs import MAX_OFFSET, Input
from fangkong.people.models import Person
from fangkong.regions.models import RegionLevel


class RegionRef(BaseModel):
    code: str
    name: str
    level: RegionLevel


class PersonRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    ref: str
    name: str
    id_type: IdType
    id_number: str  # masked: 210802********123X
    phone: str | None  # masked: 138****5678
    sex: Sex | None
    region: RegionRef
    household_ref: str | None
    address: str

    @classmethod
    def masked(
        cls,
        person: Person,
        *,
        id_number: str,
        phone: str | None,
        region: RegionRef,
        household_ref: str | None,
    ) -> PersonRead:
        return cls(
            ref=person.ref,
            name=person.name,
            id_type=person.id_type,
            id_number=mask_id_number(id_number),
            phone=mask_phone(phone) if phone else None,
            sex=person.sex,
            region=region,
            household_ref=household_ref,
            address=person.address,
        )


# The columns of `GET /api/people/export.csv` and `fangkong person export` (written by core.exporting.write_csv).
EXPORT_HEADER = ("ref", "name", "id_type", "id_number", "phone", "region_code", "household_ref", "address")


def export_row(r: PersonRead) -> tuple[str | None, ...]:
    return (r.ref, r.name, r.id_type, r.id_number, r.phone, r.region.code, r.household_ref, r.address)


class PersonSearch(Input):
    q: str = Field(min_length=1, max_length=100, description="ref, name prefix, or exact ID number or phone")
    region: str | None = Field(default=None, description="only this region's subtree")
    limit: int = Field(default=50, ge=1, le=500)
    offset: int = Field(default=0, ge=0, le=MAX_OFFSET)


class PersonUpdate(Input):
    multiline = frozenset({"reason"})

    phone: str | None = Field(default=None, description="new phone; empty string removes it")
    address: str | None = Field(default=None, max_length=255)
    reason: str = Field(min_length=1, max_length=255, description="why; recorded in the audit trail")


class AccessLogEntry(BaseModel):
    """One look at a person's data, as the person sees it: the official's role and region, not their name."""

    at: dt.datetime
    action: AuditAction
    channel: Channel
    role: str | None
    region_code: str | None
    region_name: str | None
    purpose: str
