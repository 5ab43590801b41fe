"""Venues and check-ins API. Occupancy is public (counts only); everything else needs a token or a session."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.security import HTTPAuthorizationCredentials
from starlette.concurrency import run_in_threadpool

from fangkong.auth.actor import Actor
from fangkong.auth.deps import CurrentActor, bearer_scheme, client_address, session_user
from fangkong.auth.service import Unauthenticated, token_hash
from fangkong.core import clock
from fangkong.core.deps import DbSession, get_runtime
from fangkong.venues import checkins, service
from fangkong.venues.checkin_writer import BatchUpload, CheckinWriter, DoorCheckin, DoorReceipt
from fangkong.venues.models import Venue
from fangkong.venues.schemas import (
    BatchIn,
    BatchResult,
    CheckinCreate,
    CheckinRead,
    Occupancy,
    VenueCreate,
    VenueRead,
    VenueUpdate,
)
from fangkong.web.i18n import request_language

router = APIRouter(tags=["venues"])
# The door check-in is the busiest route of the city: its router is matched first (matching walks the routes).
door_router = APIRouter(tags=["venues"])


def limits(request: Request) -> checkins.Limits:
    settings = get_runtime(request).settings
    return checkins.Limits(
        retention=dt.timedelta(days=settings.checkin_retention_days),
        future_skew=dt.timedelta(seconds=settings.checkin_future_skew_seconds),
    )


def venue_read(request: Request, venue: Venue, region_code: str, actor: Actor | None) -> VenueRead:
    own = actor is not None and (actor.is_system or venue.operator_user_id == actor.user_id)
    return VenueRead(
        ref=venue.ref,
        name=venue.name,
        kind=venue.kind,
        region_code=region_code,
        address=venue.address,
        capacity=venue.capacity,
        checkin_url=str(request.url_for("scan_page", token=venue.token)) if own else None,
    )


def _region_code(db: DbSession, venue: Venue) -> str:
    from fangkong.regions.models import Region

    region = db.get(Region, venue.region_id)
    return region.code if region else ""


@router.post("/venues", response_model=VenueRead, status_code=201)
def create_venue(request: Request, venue_in: VenueCreate, db: DbSession, actor: CurrentActor) -> VenueRead:
    venue = service.create_venue(db, actor=actor, venue_in=venue_in)
    return venue_read(request, venue, venue_in.region_code, actor)


@router.get("/venues", response_model=list[VenueRead])
def list_my_venues(request: Request, db: DbSession, actor: CurrentActor) -> list[VenueRead]:
    """The venues you operate."""
    return [venue_read(request, v, _region_code(db, v), actor) for v in service.my_venues(db, actor=actor)]


@router.get("/venues/{ref}", response_model=VenueRead)
def get_venue(request: Request, ref: str, db: DbSession, actor: CurrentActor) -> VenueRead:
    venue = service.managed_venue(db, actor=actor, ref=ref)
    return venue_read(request, venue, _region_code(db, venue), actor)


@router.patch("/venues/{ref}", response_model=VenueRead)
def patch_venue(request: Request, ref: str, change: VenueUpdate, db: DbSession, actor: CurrentActor) -> VenueRead:
    venue = service.update_venue(db, actor=actor, ref=ref, change=change)
    return venue_read(request, venue, _region_code(db, venue), actor)


@router.post("/venues/{ref}/rotate-token", response_model=VenueRead)
def rotate(request: Request, ref: str, db: DbSession, actor: CurrentActor) -> VenueRead:
    """Issue a new place code: every printed poster of this venue stops working."""
    venue = service.rotate_token(db, actor=actor, ref=ref)
    return venue_read(request, venue, _region_code(db, venue), actor)


@router.get("/venues/{ref}/occupancy", response_model=Occupancy)
def occupancy(ref: str, db: DbSession) -> Occupancy:
    """How many people are in the venue now. Public: a count tells nothing about anyone."""
    venue = service.get_venue(db, ref=ref)
    now = clock.now()
    present = service.occupancy(db, venue=venue, now=now)
    ratio = round(present / venue.capacity, 3) if venue.capacity else None
    return Occupancy(ref=venue.ref, name=venue.name, present=present, capacity=venue.capacity, ratio=ratio, at=now)


def _session_user_id(request: Request) -> int | None:
    with get_runtime(request).database.unit_of_work() as db:
        user = session_user(request, db)
        return user.id if user is not None else None


async def _caller(
    request: Request, credentials: HTTPAuthorizationCredentials | None
) -> tuple[bytes | None, int | None]:
    """Who calls, as the writer checks it in its transaction: (a token's hash, None) or (None, a signed-in user)."""
    if credentials is not None:
        return token_hash(credentials.credentials.strip()), None
    user_id = await run_in_threadpool(_session_user_id, request)
    if user_id is None:
        raise Unauthenticated("log in, or send an API token as 'Authorization: Bearer …'")
    return None, user_id


def _writer(request: Request) -> CheckinWriter:
    writer: CheckinWriter = request.app.state.checkin_writer
    return writer


Credentials = Annotated[HTTPAuthorizationCredentials | None, Depends(bearer_scheme)]


@door_router.post("/checkins", response_model=CheckinRead, status_code=201)
async def door_checkin(request: Request, checkin_in: CheckinCreate, credentials: Credentials = None) -> CheckinRead:
    """A device at the door checks a person in now (by person ref until health codes can be scanned).

    Answered once the check-in is committed; it shares that commit with the check-ins of other devices that
    arrived meanwhile (group commit), which is what lets one server take thousands a second."""
    at = clock.now()
    digest, user_id = await _caller(request, credentials)
    checkin = DoorCheckin(checkin_in.venue_ref, checkin_in.person_ref, at, token_hash=digest, user_id=user_id)
    receipt = await _writer(request).run(checkin)
    assert isinstance(receipt, DoorReceipt)
    return CheckinRead(id=receipt.id, venue_ref=receipt.venue_ref, checked_in_at=receipt.checked_in_at,
                       checked_out_at=None)  # fmt: skip


@door_router.post("/checkins/batch", response_model=BatchResult)
async def batch(request: Request, batch_in: BatchIn, credentials: Credentials = None) -> BatchResult:
    """An offline scanner's upload: one UUID per row makes re-sending safe; bad rows are rejected one by one."""
    digest, user_id = await _caller(request, credentials)
    upload = BatchUpload(batch_in.rows, limits(request), client_address(request), token_hash=digest, user_id=user_id)
    result = await _writer(request).run(upload)
    assert isinstance(result, BatchResult)
    lang = request_language(request)
    return result.model_copy(update={"rejected": [r.in_language(lang) for r in result.rejected]})
