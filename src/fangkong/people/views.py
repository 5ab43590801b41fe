"""People API: scoped to the caller's regions (auth.scope), masked by default, audited on full reads."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from fastapi.responses import StreamingResponse

from fangkong.auth.deps import CurrentActor
from fangkong.core.deps import DbSession, Keys
from fangkong.core.exporting import csv_text
from fangkong.core.inputs import Offset
from fangkong.people import access
from fangkong.people.schemas import EXPORT_HEADER, AccessLogEntry, PersonRead, PersonSearch, PersonUpdate, export_row

router = APIRouter(tags=["people"])


@router.get("/people", response_model=list[PersonRead])
def list_people(
    db: DbSession,
    keys: Keys,
    actor: CurrentActor,
    region: Annotated[str | None, Query(description="only this region's subtree")] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    offset: Offset = 0,
) -> list[PersonRead]:
    """People within your regions, masked, by ref."""
    return access.search_people(db, actor=actor, keys=keys, region_code=region, limit=limit, offset=offset)


@router.post("/people/search", response_model=list[PersonRead])
def search_people(search: PersonSearch, db: DbSession, keys: Keys, actor: CurrentActor) -> list[PersonRead]:
    """Search within your regions by ref, name prefix, or exactly by ID number or phone. A POST, so that ID
    numbers and phones never travel in URLs (which proxies log and browsers keep in their history)."""
    return access.search_people(
        db, actor=actor, keys=keys, region_code=search.region, query=search.q, limit=search.limit, offset=search.offset
    )


@router.get("/people/export.csv", response_class=StreamingResponse)
def export_people(
    db: DbSession,
    keys: Keys,
    actor: CurrentActor,
    purpose: Annotated[str, Query(min_length=1, description="why; recorded for every exported person")],
    region: str | None = None,
) -> StreamingResponse:
    rows = access.export_people(db, actor=actor, keys=keys, region_code=region, purpose=purpose)
    # With a BOM, cells that a spreadsheet would evaluate neutralised (core/exporting.py).
    return StreamingResponse(
        iter([csv_text(EXPORT_HEADER, map(export_row, rows))]),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": 'attachment; filename="people.csv"'},
    )


@router.get("/people/{ref}", response_model=PersonRead)
def get_person(ref: str, db: DbSession, keys: Keys, actor: CurrentActor, purpose: str = "view record") -> PersonRead:
    return access.read_full_record(db, actor=actor, keys=keys, ref=ref, purpose=purpose)


@router.patch("/people/{ref}", response_model=PersonRead)
def patch_person(ref: str, change: PersonUpdate, db: DbSession, keys: Keys, actor: CurrentActor) -> PersonRead:
    return access.update_person(db, actor=actor, keys=keys, ref=ref, change=change)


@router.get("/me/access-log", response_model=list[AccessLogEntry])
def my_access_log(db: DbSession, actor: CurrentActor) -> list[AccessLogEntry]:
    """Who looked at my data: every read of my record by an official, newest first."""
    return list(access.access_log(db, actor=actor))
