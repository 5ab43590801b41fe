"""Venues and check-ins API. Occupancy is public (counts only); everything else needs a token or a session."""

from __future__ import annotations

import datetime as dt

from fastapi import APIRouter, Request

from fangkong.auth.actor import Actor
from fangkong.auth.deps import CurrentActor
from fangkong.core import clock
from fangkong.core.deps import DbSession, get_runtime
from fangkong.venues import checkins, service
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

router = APIRouter(tags=["venues"])


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


@router.post("/checkins", response_model=CheckinRead, status_code=201)
def door_checkin(checkin_in: CheckinCreate, db: DbSession, actor: CurrentActor) -> CheckinRead:
    """A device at the door checks a person in now (by person ref until health codes can be scanned)."""
    checkin = checkins.record_door(db, actor=actor, venue_ref=checkin_in.venue_ref, person_ref=checkin_in.person_ref)
    return CheckinRead(id=checkin.id, venue_ref=checkin_in.venue_ref, checked_in_at=checkin.checked_in_at,
                       checked_out_at=None)  # fmt: skip


@router.post("/checkins/batch", response_model=BatchResult)
def batch(request: Request, batch_in: BatchIn, db: DbSession, actor: CurrentActor) -> BatchResult:
    """An offline scanner's upload: one UUID per row makes re-sending safe; bad rows are rejected one by one."""
    return checkins.record_batch(db, actor=actor, rows=batch_in.rows, limits=limits(request))
