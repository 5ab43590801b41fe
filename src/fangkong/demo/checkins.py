"""Check-ins for the demo city, following daily rhythms (see `fangkong.demo.venues` for the venues), and the writer
that puts the demo's venues and check-ins into the database.

Everything is pure except `fill_demo_venues`, the writer: venues upsert by ref, and check-ins are written only
into a database that has none yet. Their times depend on the clock, so a second run at another time would
otherwise add a second fortnight beside the first; re-running the demo therefore keeps the check-ins it made.
"""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import NamedTuple

from sqlalchemy import select
from sqlalchemy.orm import Session

from fangkong.auth import audit
from fangkong.auth.actor import Actor
from fangkong.auth.audit_models import AuditAction
from fangkong.core import clock
from fangkong.core.ids import parse_resident_id
from fangkong.core.importing import chunks
from fangkong.demo.population import RegionSpec
from fangkong.demo.venues import BEIJING, CHECKOUT_SHARE, WRITE_BATCH, Resident, VenueSpec, demo_venues
from fangkong.people.models import Person
from fangkong.regions.models import Region
from fangkong.venues.checkins import insert_checkins
from fangkong.venues.models import Checkin, CheckinSource, Venue, VenueKind
from fangkong.venues.service import new_token

_CHILD, _PUPIL, _WORKER, _HOME = 0, 1, 2, 3
_H = 3600
_M = 60


class _Person(NamedTuple):
    person: int  # index into the people
    age: int
    role: int
    gate: int
    work: int  # office or factory (workers), school (pupils), -1 otherwise
    work_start: int  # seconds after midnight
    work_hours: int  # seconds
    bus: int  # their commuting bus line, -1 when they walk, cycle or drive
    district: str
    work_district: str


@dataclass(slots=True)
class _Household:
    members: list[_Person]
    supermarket: int
    other_supermarket: int
    market: int
    restaurants: list[int]
    district: str


class _Places:
    """Venue indexes by kind and place, to pick the nearest one of a kind."""

    def __init__(self, venues: Sequence[VenueSpec]) -> None:
        self.by_community: dict[tuple[VenueKind, str], list[int]] = {}
        self.by_street: dict[tuple[VenueKind, str], list[int]] = {}
        self.by_district: dict[tuple[VenueKind, str], list[int]] = {}
        self.by_kind: dict[VenueKind, list[int]] = {}
        for i, v in enumerate(venues):
            code = v.region_code
            self.by_kind.setdefault(v.kind, []).append(i)
            self.by_district.setdefault((v.kind, code[:6]), []).append(i)
            if len(code) >= 12:
                self.by_street.setdefault((v.kind, code[:9]), []).append(i)
                self.by_community.setdefault((v.kind, code[:12]), []).append(i)

    def pool(self, kind: VenueKind, region: str) -> list[int]:
        """The venues of a kind in the narrowest of community, street, district, city that has any."""
        return (
            self.by_community.get((kind, region[:12]))
            or self.by_street.get((kind, region[:9]))
            or self.by_district.get((kind, region[:6]))
            or self.by_kind.get(kind, [])
        )

    def district(self, kind: VenueKind, district: str) -> list[int]:
        return self.by_district.get((kind, district)) or self.by_kind.get(kind, [])


def _birth_date(id_number: str) -> dt.date:
    # today=date.max: a fixed clock in tests may stand before a newborn's birth date; the age then counts as 0.
    return parse_resident_id(id_number, today=dt.date.max).birth_date


def _plan(
    people: Sequence[Resident], venues: Sequence[VenueSpec], places: _Places, on: dt.date, rng: random.Random
) -> list[_Household]:
    """Who does what: roles by age, workplaces, schools, buses, gates, each household's usual shops."""
    households: list[_Household] = []
    by_ref: dict[str, _Household] = {}
    gates: dict[str, int] = {}  # a household's gate
    for index, p in enumerate(people):
        birth = _birth_date(p.id_number)
        age = max(0, on.year - birth.year - ((on.month, on.day) < (birth.month, birth.day)))
        home = p.region_code
        district = home[:6]
        household = by_ref.get(p.household_ref)
        if household is None:
            supermarkets = places.pool(VenueKind.supermarket, home)
            nearby = places.district(VenueKind.supermarket, district)
            household = _Household(
                members=[],
                supermarket=rng.choice(supermarkets) if supermarkets else -1,
                other_supermarket=rng.choice(nearby) if nearby else -1,
                market=rng.choice(places.pool(VenueKind.market, home) or [-1]),
                restaurants=rng.sample(
                    places.district(VenueKind.restaurant, district),
                    min(3, len(places.district(VenueKind.restaurant, district))),
                ),
                district=district,
            )
            by_ref[p.household_ref] = household
            households.append(household)
            gates[p.household_ref] = rng.choice(places.pool(VenueKind.residential_gate, home) or [-1])
        work = bus = -1
        work_start = work_hours = 0
        work_district = district
        retired = age >= (60 if int(p.id_number[16]) % 2 == 1 else 55)  # China's retirement ages, men and women
        if age < 6:
            role = _CHILD
        elif age < 18:
            role = _PUPIL
            work = rng.choice(places.pool(VenueKind.school, home) or [-1])
            work_start = int(rng.triangular(7 * _H + 10 * _M, 7 * _H + 55 * _M, 7 * _H + 30 * _M))
            work_hours = int(rng.uniform(8.5, 10) * _H) if age >= 15 else int(rng.uniform(7.5, 9) * _H)
        elif not retired and rng.random() < (0.55 if age < 23 else 0.85):
            role = _WORKER
            kind = VenueKind.office if rng.random() < 0.55 else VenueKind.factory
            pool = places.pool(kind, home) if rng.random() < 0.3 else places.district(kind, district)
            if rng.random() < 0.2:  # commuting to another district (鲅鱼圈's port, 站前's offices)
                pool = places.by_kind.get(kind, [])
            work = rng.choice(pool) if pool else -1
            work_district = venues[work].region_code[:6] if work >= 0 else district
            mode = 8 * _H + 15 * _M if kind is VenueKind.office else 7 * _H + 45 * _M
            work_start = int(rng.triangular(7 * _H + 30 * _M, 9 * _H, mode))
            work_hours = int(rng.uniform(8.5, 10) * _H)
            if rng.random() < (0.45 if work_district != district else 0.3):
                bus = rng.choice(places.district(VenueKind.bus_line, district) or [-1])
        else:
            role = _HOME
        if work < 0 and role in (_PUPIL, _WORKER):
            role = _HOME
        household.members.append(
            _Person(
                index, age, role, gates[p.household_ref], work, work_start, work_hours, bus, district, work_district
            )
        )
    return households


def demo_checkins(
    people: Sequence[Resident],
    venues: Sequence[VenueSpec],
    *,
    days: int,
    seed: int,
    now: dt.datetime,
) -> Iterator[tuple[int, int, dt.datetime, dt.datetime | None]]:
    """(person index, venue index, checked in, checked out or None) over the `days` days ending at `now`.

    Households are the people's `household_ref`s; ages come from their ID numbers. The same inputs give the same
    check-ins. Yielded day by day, each day's in the order of the people: the order that keeps the check-in
    indexes' writes local.
    """
    if days <= 0 or not people or not venues:
        return
    rng = random.Random(f"checkins-{seed}")
    now = now.astimezone(dt.UTC)
    start = now - dt.timedelta(days=days)
    local_now = now.astimezone(BEIJING)
    places = _Places(venues)
    households = _plan(people, venues, places, local_now.date(), rng)
    kinds = [v.kind for v in venues]
    rnd, choice = rng.random, rng.choice

    def randint(low: int, high: int) -> int:  # random.randint's bookkeeping costs more than all the rest here
        return low + int(rnd() * (high - low + 1))

    delta = dt.timedelta
    gate_kind = VenueKind.residential_gate

    # A visit's length when it is checked out, in seconds (a range per kind).
    stay = {
        VenueKind.supermarket: (15 * _M, 60 * _M), VenueKind.market: (15 * _M, 50 * _M),
        VenueKind.restaurant: (40 * _M, 120 * _M), VenueKind.hospital: (50 * _M, 240 * _M),
        VenueKind.clinic: (15 * _M, 60 * _M), VenueKind.pharmacy: (4 * _M, 15 * _M),
        VenueKind.station: (20 * _M, 90 * _M), VenueKind.bus_line: (8 * _M, 40 * _M),
        VenueKind.taxi: (7 * _M, 30 * _M), VenueKind.other: (30 * _M, 120 * _M),
        VenueKind.school: (7 * _H, 9 * _H), VenueKind.office: (8 * _H, 10 * _H),
        VenueKind.factory: (8 * _H, 10 * _H), VenueKind.residential_gate: (0, 0),
    }  # fmt: skip
    pools_by_district = {
        kind: {d: places.district(kind, d) for d in {h.district for h in households}}
        for kind in (VenueKind.pharmacy, VenueKind.clinic, VenueKind.hospital, VenueKind.other, VenueKind.taxi,
                     VenueKind.station, VenueKind.restaurant, VenueKind.bus_line)
    }  # fmt: skip
    work_restaurants = {d: places.district(VenueKind.restaurant, d) for d in {v.region_code[:6] for v in venues}}

    first_day = start.astimezone(BEIJING).date()
    for day_no in range((local_now.date() - first_day).days + 1):
        day = first_day + delta(days=day_no)
        midnight = dt.datetime(day.year, day.month, day.day, tzinfo=BEIJING).astimezone(dt.UTC)
        weekday = day.weekday() < 5
        saturday_shift = day.weekday() == 5
        for h in households:
            members = h.members
            # trips[i]: (second of the day, venue, second of checking out if they do)
            trips: list[list[tuple[int, int, int]]] = [[] for _ in members]
            busy_until = [0] * len(members)
            # Work and school.
            for i, p in enumerate(members):
                if p.role == _WORKER and (weekday or (saturday_shift and rnd() < 0.15)) and rnd() < 0.94:
                    begin = p.work_start + randint(-600, 600)
                    end = begin + p.work_hours + randint(-900, 900)
                    if p.bus >= 0:
                        ride = randint(10 * _M, 35 * _M)
                        trips[i].append((begin - ride - randint(2 * _M, 8 * _M), p.bus, begin - randint(2, 8) * _M))
                        back = end + randint(3 * _M, 15 * _M)
                        trips[i].append((back, p.bus, back + ride))
                    trips[i].append((begin, p.work, end))
                    if rnd() < 0.12:  # lunch out, near work
                        lunch = choice(work_restaurants[p.work_district])
                        at = randint(11 * _H + 40 * _M, 12 * _H + 30 * _M)
                        trips[i].append((at, lunch, at + randint(25 * _M, 50 * _M)))
                    busy_until[i] = end + (45 * _M if p.bus >= 0 else 25 * _M)
                elif p.role == _PUPIL and weekday and rnd() < 0.97:
                    begin = p.work_start + randint(-300, 300)
                    end = begin + p.work_hours + randint(-600, 600)
                    trips[i].append((begin, p.work, end))
                    busy_until[i] = end + 20 * _M
            # The household's shopping, mostly at its usual supermarket, sometimes all together.
            if h.supermarket >= 0 and rnd() < (0.4 if weekday else 0.65):
                adults = [i for i, p in enumerate(members) if p.role in (_WORKER, _HOME)] or list(range(len(members)))
                at_home = [i for i in adults if busy_until[i] == 0]
                shoppers = [choice(at_home or adults)]
                if not weekday:  # the family goes together
                    shoppers += [i for i in range(len(members)) if i != shoppers[0] and rnd() < 0.5]
                if weekday and not at_home:
                    at = busy_until[shoppers[0]] + randint(10 * _M, 50 * _M)
                else:
                    at = randint(15 * _H, 19 * _H) if rnd() < 0.7 else randint(9 * _H, 11 * _H + 30 * _M)
                shop = h.supermarket if rnd() < 0.85 else h.other_supermarket
                out = at + randint(*stay[VenueKind.supermarket])
                for n, i in enumerate(shoppers):
                    trips[i].append((at + n * randint(3, 40), shop, out))
            # The morning market, for those at home (and some at weekends).
            if h.market >= 0:
                for i, p in enumerate(members):
                    if (p.role == _HOME and p.age >= 45 and rnd() < 0.2) or (
                        not weekday and p.age >= 18 and rnd() < 0.05
                    ):
                        at = randint(6 * _H, 8 * _H + 30 * _M)
                        trips[i].append((at, h.market, at + randint(*stay[VenueKind.market])))
            # Dinner out together.
            if h.restaurants and rnd() < (0.05 if weekday else 0.14):
                at = max(randint(17 * _H + 30 * _M, 19 * _H), max(busy_until) + 15 * _M)
                if at < 21 * _H:
                    place = (
                        choice(h.restaurants)
                        if rnd() < 0.7
                        else choice(pools_by_district[VenueKind.restaurant][h.district])
                    )
                    out = at + randint(*stay[VenueKind.restaurant])
                    for i in range(len(members)):
                        trips[i].append((at + i * randint(2, 30), place, out))
            # Errands of one's own.
            for i, p in enumerate(members):
                if p.role == _CHILD:
                    continue
                old = p.age >= 60
                d = p.district
                free_from = busy_until[i] or 8 * _H + 30 * _M
                free_to = 21 * _H if busy_until[i] else 19 * _H
                if free_from >= free_to:
                    continue
                for kind, chance in (
                    (VenueKind.pharmacy, 0.03 if old else 0.012),
                    (VenueKind.clinic, 0.02 if old else 0.006),
                    (VenueKind.hospital, 0.008 if old else 0.002),
                    (VenueKind.other, 0.035 if weekday else 0.08),
                    (VenueKind.taxi, 0.02 if p.age >= 18 else 0.0),
                    (VenueKind.bus_line, (0.08 if old else 0.03) if p.bus < 0 else 0.0),
                    (VenueKind.station, 0.0 if weekday else (0.012 if p.age >= 18 else 0.004)),
                ):
                    if rnd() < chance:
                        pool = pools_by_district[kind][d]
                        if kind is VenueKind.hospital and p.age >= 60 and rnd() < 0.3:
                            pool = places.by_kind[kind]  # the big hospitals in the city centre
                        if pool:
                            at = randint(free_from, free_to)
                            trips[i].append((at, choice(pool), at + randint(*stay[kind])))
            # Out through the gate before the first trip, back in after the last; then out they go.
            for i, p in enumerate(members):
                day_trips = trips[i]
                if not day_trips:
                    continue
                day_trips.sort()
                person = p.person
                if p.gate >= 0:
                    first = day_trips[0][0] - randint(5 * _M, 25 * _M)
                    last = max(out for _, _, out in day_trips) + randint(5 * _M, 25 * _M)
                    day_trips = [(first, p.gate, 0), *day_trips, (last, p.gate, 0)]
                for in_s, venue, out_s in day_trips:
                    checked_in = midnight + delta(seconds=in_s)
                    if checked_in < start or checked_in > now:
                        continue
                    checked_out = None
                    if kinds[venue] is not gate_kind and rnd() < CHECKOUT_SHARE:
                        checked_out = midnight + delta(seconds=out_s)
                        if checked_out > now:
                            checked_out = None
                    yield person, venue, checked_in, checked_out


# --- the writer -------------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class DemoVenuesReport:
    venues_created: int
    venues_updated: int
    venues_unchanged: int
    checkins: int
    checkins_kept: bool  # the database had check-ins already: none were generated

    def summary(self) -> str:
        venues = (
            f"venues created {self.venues_created}, updated {self.venues_updated}, unchanged {self.venues_unchanged}"
        )
        if self.checkins_kept:
            return f"{venues}; check-ins already present, none added"
        return f"{venues}; check-ins {self.checkins}"


def write_venues(db: Session, specs: Sequence[VenueSpec]) -> tuple[list[int], int, int]:
    """Upsert the venues by ref; returns their ids (in the order of `specs`), how many were created and updated."""
    codes = {s.region_code for s in specs}
    region_ids: dict[str, int] = dict(db.execute(select(Region.code, Region.id).where(Region.code.in_(codes))).all())
    existing: dict[str, Venue] = {}
    for batch in chunks([s.ref for s in specs], 2000):
        existing |= {v.ref: v for v in db.execute(select(Venue).where(Venue.ref.in_(batch))).scalars()}
    created = updated = 0
    rows: list[Venue] = []
    for s in specs:
        values = {"name": s.name, "kind": s.kind, "region_id": region_ids[s.region_code], "address": s.address,
                  "capacity": s.capacity}  # fmt: skip
        venue = existing.get(s.ref)
        if venue is None:
            venue = Venue(ref=s.ref, token=new_token(), **values)
            db.add(venue)
            created += 1
        elif any(getattr(venue, k) != v for k, v in values.items()):
            for k, v in values.items():
                setattr(venue, k, v)
            updated += 1
        rows.append(venue)
    db.flush()
    return [v.id for v in rows], created, updated


def write_checkins(
    db: Session,
    checkins: Iterable[tuple[int, int, dt.datetime, dt.datetime | None]],
    *,
    person_ids: Sequence[int],
    venue_ids: Sequence[int],
    on_batch: Callable[[int], None] | None = None,
) -> int:
    """Insert check-ins given by person and venue index, in batches through the driver's executemany;
    `on_batch(n)` after each batch (the progress bar)."""
    written = 0
    batch: list[tuple[int, int, dt.datetime, dt.datetime | None, str | None]] = []
    for person, venue, at, out in checkins:
        batch.append((person_ids[person], venue_ids[venue], at, out, None))
        if len(batch) >= WRITE_BATCH:
            insert_checkins(db, batch, CheckinSource.import_)
            written += len(batch)
            if on_batch is not None:
                on_batch(len(batch))
            batch = []
    insert_checkins(db, batch, CheckinSource.import_)
    if on_batch is not None and batch:
        on_batch(len(batch))
    return written + len(batch)


def fill_demo_venues(
    db: Session,
    *,
    regions: Sequence[RegionSpec],
    residents: Sequence[Resident],
    seed: int,
    days: int = 14,
    now: dt.datetime | None = None,
    on_checkins: Callable[[int], None] | None = None,
) -> DemoVenuesReport:
    """Write the demo's venues (upsert by ref) and, into a database without check-ins, `days` of check-ins."""
    now = now or clock.now()
    specs = demo_venues(regions, seed, people=len(residents))
    venue_ids, created, updated = write_venues(db, specs)
    if created or updated:
        details = f"demo seed {seed}: created {created}, updated {updated}"
        audit.record(db, actor=Actor.system(), action=AuditAction.venue_change, entity_type="import",
                     entity_ref="venues", details=details)  # fmt: skip
    kept = db.execute(select(Checkin.id).limit(1)).first() is not None
    written = 0
    if not kept and specs:
        by_ref: dict[str, int] = dict(db.execute(select(Person.ref, Person.id)).all())
        person_ids = [by_ref[r.ref] for r in residents]
        checkins = demo_checkins(residents, specs, days=days, seed=seed, now=now)
        written = write_checkins(db, checkins, person_ids=person_ids, venue_ids=venue_ids, on_batch=on_checkins)
    return DemoVenuesReport(created, updated, len(specs) - created - updated, written, kept)
