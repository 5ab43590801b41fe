"""Venues: registration by their operators, place-code tokens, occupancy, and the CSV import."""

from __future__ import annotations

import datetime as dt
import secrets
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import cast

from pydantic import ValidationError
from sqlalchemy import Select, Table, and_, bindparam, case, exists, func, or_, select
from sqlalchemy.orm import Session

from fangkong.auth import audit
from fangkong.auth.actor import Actor
from fangkong.auth.audit_models import AuditAction
from fangkong.auth.models import Role, RoleGrant
from fangkong.core import clock
from fangkong.core.errors import Conflict, DomainError, Forbidden, Invalid, NotFound
from fangkong.core.importing import CsvRow, FirstLines, ImportReport, RowError, chunks
from fangkong.regions.models import Region, RegionLevel
from fangkong.regions.service import get_region
from fangkong.venues.models import DEFAULT_DWELL, LONGEST_VISIT, Checkin, RetiredVenueToken, Venue, VenueKind
from fangkong.venues.schemas import VenueCreate, VenueUpdate

VENUE_COLUMNS = ("ref", "name", "kind", "region_code", "address", "capacity")
# Looking back this far bounds the occupancy query to an index range: no visit lasts longer.
OCCUPANCY_HORIZON = LONGEST_VISIT
_QUERY_CHUNK = 1000


class PosterReplaced(DomainError):
    """An old poster: its token was rotated. 410 Gone says it will not come back."""

    status_code = 410
    code = "poster_replaced"


def new_token() -> str:
    return secrets.token_urlsafe(16)  # 128 bits: nobody guesses a poster they have not seen


def _covers(actor: Actor, region: Region) -> bool:
    return any(region.path.startswith(g.region_path) for g in actor.grants_for(Role.venue_operator))


def may_act_for_venue(actor: Actor, venue: Venue) -> bool:
    """Who acts at a venue's door (verifies codes, records check-ins): its operator, while they hold the
    venue-operator role, or the system. `DoorVenue.lets` is the same rule for many requests at once."""
    return actor.is_system or (
        Role.venue_operator in actor.roles
        and venue.operator_user_id is not None
        and venue.operator_user_id == actor.user_id
    )


@dataclass(frozen=True, slots=True)
class DoorVenue:
    """A venue as the group-committed door paths see it: `acting_user_id` is its operator's user id while that
    user holds the venue-operator role (may_act_for_venue), else None."""

    id: int
    ref: str
    kind: VenueKind
    acting_user_id: int | None

    def lets(self, user_id: int | None) -> bool:
        """may_act_for_venue for a token's user (never the system)."""
        return user_id is not None and user_id == self.acting_user_id


_VENUES, _GRANTS = (cast(Table, m.__table__) for m in (Venue, RoleGrant))
# Built once: the statement's compiled form and cache key are reused by every group.
_DOOR_VENUES = select(
    _VENUES.c.id,
    _VENUES.c.ref,
    _VENUES.c.kind,
    case(
        (exists().where(_GRANTS.c.user_id == _VENUES.c.operator_user_id, _GRANTS.c.role == Role.venue_operator),
         _VENUES.c.operator_user_id),
        else_=None,
    ),
).where(_VENUES.c.ref.in_(bindparam("refs", expanding=True)))  # fmt: skip


def door_venues(db: Session, refs: set[str]) -> dict[str, DoorVenue]:
    """Venue ref → the venue with who may act for it, one query per thousand refs; unknown refs are left out."""
    found: dict[str, DoorVenue] = {}
    for batch in chunks(sorted(refs), _QUERY_CHUNK):
        rows = db.connection().execute(_DOOR_VENUES, {"refs": batch})
        found |= {ref: DoorVenue(venue_id, ref, VenueKind(kind), user) for venue_id, ref, kind, user in rows}
    return found


def new_ref(db: Session) -> str:
    """An unused venue ref, V- and 8 random hex digits: what the server gives every venue an operator registers."""
    while True:
        ref = f"V-{secrets.token_hex(4).upper()}"
        if db.execute(select(Venue.id).where(Venue.ref == ref)).first() is None:
            return ref


def create_venue(db: Session, *, actor: Actor, venue_in: VenueCreate) -> Venue:
    """An operator registers a venue in their region; it is theirs to manage. Its ref is assigned here: were an
    operator to choose it, "taken" (409) against "created" would tell them which refs exist, whoever's they are.
    Only the system's operator (the command centre's imports and CLI) gives refs of its own."""
    if venue_in.ref is not None and not actor.is_system:
        raise Invalid("a venue's ref is assigned by the server: leave ref out, and the answer carries the new ref")
    region = get_region(db, code=venue_in.region_code)
    if not actor.is_system and not _covers(actor, region):
        raise Forbidden("you can register venues only in your own region")
    if venue_in.ref is not None and db.execute(select(Venue.id).where(Venue.ref == venue_in.ref)).first():
        raise Conflict("venue %(ref)s already exists", ref=venue_in.ref)
    venue = Venue(
        ref=venue_in.ref or new_ref(db),
        name=venue_in.name,
        kind=venue_in.kind,
        region_id=region.id,
        address=venue_in.address,
        capacity=venue_in.capacity,
        operator_user_id=None if actor.is_system else actor.user_id,
        token=new_token(),
    )
    db.add(venue)
    db.flush()
    audit.record(db, actor=actor, action=AuditAction.venue_change, entity_type="venue", entity_ref=venue.ref,
                 purpose="registered")  # fmt: skip
    return venue


def get_venue(db: Session, *, ref: str) -> Venue:
    venue = db.execute(select(Venue).where(Venue.ref == ref)).scalar_one_or_none()
    if venue is None:
        raise NotFound("no venue %(ref)s", ref=ref)
    return venue


def managed_venue(db: Session, *, actor: Actor, ref: str) -> Venue:
    """A venue the actor may change: their own, or any for the system operator. Others' venues look absent."""
    venue = get_venue(db, ref=ref)
    if actor.is_system or (venue.operator_user_id is not None and venue.operator_user_id == actor.user_id):
        return venue
    raise NotFound("no venue %(ref)s", ref=ref)


def my_venues(db: Session, *, actor: Actor) -> Sequence[Venue]:
    stmt = select(Venue).order_by(Venue.ref)
    if not actor.is_system:
        stmt = stmt.where(Venue.operator_user_id == actor.user_id)
    return db.execute(stmt).scalars().all()


def update_venue(db: Session, *, actor: Actor, ref: str, change: VenueUpdate) -> Venue:
    venue = managed_venue(db, actor=actor, ref=ref)
    for field in ("name", "kind", "address", "capacity"):
        value = getattr(change, field)
        if value is not None:
            setattr(venue, field, value)
    audit.record(db, actor=actor, action=AuditAction.venue_change, entity_type="venue", entity_ref=ref,
                 purpose="updated")  # fmt: skip
    db.flush()
    return venue


def rotate_token(db: Session, *, actor: Actor, ref: str) -> Venue:
    """Retire the printed posters (say, one was copied to another place) and issue a new token."""
    venue = managed_venue(db, actor=actor, ref=ref)
    db.add(RetiredVenueToken(token=venue.token, venue_id=venue.id, retired_at=clock.now()))
    venue.token = new_token()
    audit.record(db, actor=actor, action=AuditAction.venue_change, entity_type="venue", entity_ref=ref,
                 purpose="place code rotated")  # fmt: skip
    db.flush()
    return venue


def venue_for_token(db: Session, *, token: str) -> Venue:
    venue = db.execute(select(Venue).where(Venue.token == token)).scalar_one_or_none()
    if venue is not None:
        return venue
    if db.get(RetiredVenueToken, token) is not None:
        raise PosterReplaced("this poster has been replaced; scan the new poster at the entrance")
    raise NotFound("this place code is not known; scan the poster at the entrance again")


def _present_counts(now: dt.datetime) -> Select[int, int]:
    """(venue id, people present now) per venue: the one definition of presence. Checked in, not checked out,
    and without a check-out still within the venue kind's dwell (each kind's dwell becomes a condition)."""
    within_dwell = or_(
        *(and_(Venue.kind == kind, Checkin.checked_in_at > now - dwell) for kind, dwell in DEFAULT_DWELL.items())
    )
    return (
        select(Checkin.venue_id.label("venue_id"), func.count(func.distinct(Checkin.person_id)).label("n"))
        .join(Venue, Venue.id == Checkin.venue_id)
        .where(Checkin.checked_in_at > now - OCCUPANCY_HORIZON, Checkin.checked_in_at <= now)
        .where(or_(Checkin.checked_out_at > now, Checkin.checked_out_at.is_(None) & within_dwell))
        .group_by(Checkin.venue_id)
    )


def occupancy(db: Session, *, venue: Venue, now: dt.datetime | None = None) -> int:
    """People present now at one venue."""
    return occupancy_all(db, now=now, venue_ids=[venue.id]).get(venue.id, 0)


def occupancy_all(
    db: Session, *, now: dt.datetime | None = None, venue_ids: Sequence[int] | None = None
) -> dict[int, int]:
    """People present now at many venues, with one grouped query."""
    stmt = _present_counts(now or clock.now())
    if venue_ids is not None:
        stmt = stmt.where(Checkin.venue_id.in_(list(venue_ids)))
    return {venue_id: int(n) for venue_id, n in db.execute(stmt)}


@dataclass(frozen=True, slots=True)
class PublicVenue:
    """A venue as the public sees it: a name, a kind, a district and how full it is (no operator, no token)."""

    ref: str
    name: str
    kind: VenueKind
    district_code: str
    capacity: int
    present: int

    @property
    def ratio(self) -> float:
        return self.present / self.capacity


@dataclass(frozen=True, slots=True)
class OccupancyBoard:
    """How full every venue with a capacity is at `at`, fullest first, and the city's districts: what the public
    page shows, read with one grouped query and then paged, searched and filtered without the database."""

    at: dt.datetime
    venues: tuple[PublicVenue, ...]
    districts: tuple[tuple[str, str], ...]  # (code, name) by code

    def matching(self, *, district: str = "", search: str = "") -> list[PublicVenue]:
        """Venues of one district ("" for all) whose name contains `search` (any case), fullest first."""
        needle = search.casefold()
        return [
            v for v in self.venues
            if (not district or v.district_code == district) and (not needle or needle in v.name.casefold())
        ]  # fmt: skip

    def district_name(self, code: str) -> str | None:
        return next((name for c, name in self.districts if c == code), None)


def _district_of(path: str) -> str:
    # "/210800/210882/210882001/": the city's code, then the district's (a venue's region is a street or below).
    codes = path.strip("/").split("/")
    return codes[1] if len(codes) > 1 else codes[0]


def occupancy_board(db: Session, *, now: dt.datetime | None = None) -> OccupancyBoard:
    """Every venue with a capacity, fullest first, with the people present now: one grouped query over the
    check-ins of the last `OCCUPANCY_HORIZON` through the (venue, time) index."""
    at = now or clock.now()
    present = _present_counts(at).subquery()
    n = func.coalesce(present.c.n, 0)
    stmt = (
        select(Venue.ref, Venue.name, Venue.kind, Venue.capacity, Region.path, n)
        .join(Region, Region.id == Venue.region_id)
        .outerjoin(present, present.c.venue_id == Venue.id)
        .where(Venue.capacity.is_not(None))
        .order_by((n * 1.0 / Venue.capacity).desc(), Venue.ref)
    )
    venues = tuple(
        PublicVenue(ref, name, kind, _district_of(path), int(capacity), int(count))
        for ref, name, kind, capacity, path, count in db.execute(stmt)
    )
    districts = db.execute(
        select(Region.code, Region.name).where(Region.level == RegionLevel.district).order_by(Region.code)
    ).all()
    return OccupancyBoard(at=at, venues=venues, districts=tuple((code, name) for code, name in districts))


# --- import ---------------------------------------------------------------------------------------------------


def _parse_venue(row: CsvRow) -> VenueCreate | str:
    v = row.values
    if not v["ref"]:
        return "ref is empty"
    try:
        kind = VenueKind(v["kind"].lower())
    except ValueError:
        return f"kind {v['kind']!r} is not one of {', '.join(k.value for k in VenueKind)}"
    capacity: int | None = None
    if v["capacity"]:
        if not v["capacity"].isdigit() or int(v["capacity"]) <= 0:
            return f"capacity {v['capacity']!r} is not a positive whole number"
        capacity = int(v["capacity"])
    try:
        return VenueCreate(
            ref=v["ref"], name=v["name"], kind=kind, region_code=v["region_code"], address=v["address"],
            capacity=capacity,
        )  # fmt: skip
    except ValidationError as exc:  # lengths and emptiness
        first = exc.errors()[0]
        return f"{'.'.join(str(p) for p in first['loc'])}: {first['msg']}"


def import_venues(
    db: Session, *, actor: Actor, rows: Iterable[CsvRow | RowError], report: ImportReport | None = None
) -> ImportReport:
    """Upsert venues by ref (the command centre's list of venues). Imported venues have no operator yet."""
    report = report if report is not None else ImportReport()
    first_lines = FirstLines()
    regions: dict[str, int | None] = {}
    for n, item in enumerate(rows, start=1):
        if n % 1000 == 0:  # new venues are held by the session until flushed
            db.flush()
            report.flush()
        if isinstance(item, RowError):
            report.errors.append(item)
            continue
        ref = item.values["ref"]
        if ref and (first := first_lines.claim([(ref, item.line)]).get(item.line)) is not None:
            report.reject(item.line, f"ref {ref} repeats line {first}")
            continue
        parsed = _parse_venue(item)
        if isinstance(parsed, str):
            report.reject(item.line, parsed)
            continue
        if parsed.region_code not in regions:
            regions[parsed.region_code] = db.execute(
                select(Region.id).where(Region.code == parsed.region_code)
            ).scalar_one_or_none()
        region_id = regions[parsed.region_code]
        if region_id is None:
            report.reject(item.line, f"region {parsed.region_code} does not exist")
            continue
        venue = db.execute(select(Venue).where(Venue.ref == parsed.ref)).scalar_one_or_none()
        values = {"name": parsed.name, "kind": parsed.kind, "region_id": region_id, "address": parsed.address,
                  "capacity": parsed.capacity}  # fmt: skip
        if venue is None:
            db.add(Venue(ref=parsed.ref, token=new_token(), **values))
            report.imported += 1
        elif any(getattr(venue, k) != val for k, val in values.items()):
            for k, val in values.items():
                setattr(venue, k, val)
            report.updated += 1
        else:
            report.unchanged += 1
    first_lines.close()
    db.flush()
    if report.imported or report.updated:
        audit.record(db, actor=actor, action=AuditAction.venue_change, entity_type="import", entity_ref="venues",
                     details=report.summary())  # fmt: skip
    report.flush()
    return report
