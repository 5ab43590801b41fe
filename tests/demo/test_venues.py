"""The demo city's venues and check-ins (fangkong.demo.venues), and `fill_demo_city` writing them."""

import datetime as dt
import re
from collections import Counter, defaultdict
from functools import cache

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from fangkong.core.crypto import Keyring
from fangkong.core.ids import parse_resident_id
from fangkong.demo.checkins import demo_checkins
from fangkong.demo.city import fill_demo_city
from fangkong.demo.population import city_regions, generate_people
from fangkong.demo.venues import BEIJING, Resident, VenueSpec, demo_venues, keep_residents
from fangkong.people.models import Person
from fangkong.venues.models import Checkin, Venue, VenueKind

TODAY = dt.date(2026, 11, 22)
NOW = dt.datetime(2026, 11, 22, 6, 30, tzinfo=dt.UTC)  # 14:30 in Beijing, a Sunday
SEED = 7
PEOPLE = 1500

Visit = tuple[int, int, dt.datetime, dt.datetime | None]


@cache
def residents(count: int = PEOPLE, seed: int = SEED) -> tuple[Resident, ...]:
    kept: list[Resident] = []
    for _ in keep_residents(generate_people(count, seed, today=TODAY), kept):
        pass
    return tuple(kept)


@cache
def venues(count: int = PEOPLE, seed: int = SEED) -> tuple[VenueSpec, ...]:
    return tuple(demo_venues(city_regions(seed), seed, people=count))


@cache
def checkins(days: int = 14) -> tuple[Visit, ...]:
    return tuple(demo_checkins(residents(), venues(), days=days, seed=SEED, now=NOW))


def age(person: Resident) -> int:
    birth = parse_resident_id(person.id_number, today=TODAY).birth_date
    return TODAY.year - birth.year - ((TODAY.month, TODAY.day) < (birth.month, birth.day))


def test_it_creates_venues_of_every_kind_with_a_fitting_capacity() -> None:
    specs = venues()
    assert {v.kind for v in specs} == set(VenueKind)
    assert all(re.fullmatch(r"V\d{6}", v.ref) for v in specs)
    assert len({v.ref for v in specs}) == len(specs)
    assert len({v.name for v in specs}) == len(specs)
    assert all(v.name and v.address for v in specs)
    capacities: dict[VenueKind, list[int | None]] = defaultdict(list)
    for v in specs:
        capacities[v.kind].append(v.capacity)
    assert set(capacities[VenueKind.taxi]) == {4}
    assert all(c is not None and 50 <= c <= 70 for c in capacities[VenueKind.bus_line])
    assert set(capacities[VenueKind.residential_gate]) == {None}  # passed, not filled
    assert all(c is not None and c >= 600 for c in capacities[VenueKind.school])
    assert all(c is not None and c >= 150 for c in capacities[VenueKind.supermarket])
    assert all(re.fullmatch(r"辽H·T\d{4} 出租车", v.name) for v in specs if v.kind is VenueKind.taxi)
    assert all(re.fullmatch(r"\d+路公交", v.name) for v in specs if v.kind is VenueKind.bus_line)
    assert "营口站" in {v.name for v in specs if v.kind is VenueKind.station}


def test_it_puts_venues_in_every_district_and_a_gate_in_every_community() -> None:
    regions = city_regions(SEED)
    codes = {r.code for r in regions}
    specs = venues()
    assert all(v.region_code in codes for v in specs)
    assert {v.region_code[:6] for v in specs} == {r.code for r in regions if r.level == "district"}
    gated = {v.region_code for v in specs if v.kind is VenueKind.residential_gate}
    assert gated == {r.code for r in regions if r.level == "community"}


def test_it_scales_the_venues_with_the_people() -> None:
    small, large = (
        demo_venues(city_regions(SEED), SEED, people=40),
        demo_venues(city_regions(SEED), SEED, people=40_000),
    )
    assert {v.kind for v in small} == set(VenueKind)  # at least one of each kind, however few people
    non_gates = sum(1 for v in large if v.kind is not VenueKind.residential_gate)
    assert 900 <= non_gates <= 1100  # about one per 40 residents
    assert demo_venues(city_regions(SEED), SEED, people=0) == []


def test_it_gives_the_same_venues_and_checkins_for_the_same_seed() -> None:
    assert demo_venues(city_regions(SEED), SEED, people=300) == demo_venues(city_regions(SEED), SEED, people=300)
    people, places = residents()[:300], venues()
    first = list(demo_checkins(people, places, days=5, seed=SEED, now=NOW))
    assert first == list(demo_checkins(people, places, days=5, seed=SEED, now=NOW))
    assert first != list(demo_checkins(people, places, days=5, seed=SEED + 1, now=NOW))
    assert demo_venues(city_regions(SEED), SEED, people=300) != demo_venues(city_regions(8), 8, people=300)


def test_it_keeps_every_checkin_inside_the_window() -> None:
    visits = checkins()
    assert len(visits) > 2 * PEOPLE * 14 * 0.8  # people go out most days, through their gate and back
    earliest = NOW - dt.timedelta(days=14)
    assert all(earliest <= at <= NOW for _, _, at, _ in visits)
    assert all(out is None or at <= out <= NOW for _, _, at, out in visits)
    # The whole fortnight is covered, up to the last hours.
    assert min(at for _, _, at, _ in visits) < earliest + dt.timedelta(hours=12)
    assert max(at for _, _, at, _ in visits) > NOW - dt.timedelta(hours=3)
    assert list(demo_checkins(residents(), venues(), days=0, seed=SEED, now=NOW)) == []


def test_it_checks_some_visits_out_and_never_a_gate() -> None:
    specs = venues()
    kinds_out: Counter[bool] = Counter()
    for _, venue, _, out in checkins():
        if specs[venue].kind is VenueKind.residential_gate:
            assert out is None
        else:
            kinds_out[out is not None] += 1
    share = kinds_out[True] / (kinds_out[True] + kinds_out[False])
    assert 0.35 < share < 0.45


def test_it_sends_a_household_to_its_usual_supermarket() -> None:
    people, specs = residents(), venues()
    by_household: dict[str, Counter[int]] = defaultdict(Counter)
    by_member: dict[int, Counter[int]] = defaultdict(Counter)
    for person, venue, _, _ in checkins():
        if specs[venue].kind is VenueKind.supermarket:
            by_household[people[person].household_ref][venue] += 1
            by_member[person][venue] += 1
    busy = {ref: visits for ref, visits in by_household.items() if visits.total() >= 5}
    assert len(busy) > 100
    concentrated = [ref for ref, visits in busy.items() if visits.most_common(1)[0][1] / visits.total() >= 0.7]
    assert len(concentrated) >= 0.9 * len(busy)
    # Members of one household mostly shop at the same place as each other.
    usual = {ref: visits.most_common(1)[0][0] for ref, visits in by_household.items()}
    assert len(set(usual.values())) >= 3  # households differ in which one is theirs
    shared = [usual[people[p].household_ref] == visits.most_common(1)[0][0] for p, visits in by_member.items()]
    assert sum(shared) >= 0.85 * len(shared)


def test_it_has_workers_check_in_on_weekday_mornings() -> None:
    specs = venues()
    workplaces = [
        at.astimezone(BEIJING)
        for _, venue, at, _ in checkins()
        if specs[venue].kind in (VenueKind.office, VenueKind.factory)
    ]
    assert len(workplaces) > 1000
    weekday = [at for at in workplaces if at.weekday() < 5]
    assert len(weekday) >= 0.9 * len(workplaces)  # a few factories work on Saturdays
    morning = [at for at in weekday if dt.time(7, 15) <= at.time() <= dt.time(9, 15)]
    assert len(morning) >= 0.98 * len(weekday)


def test_it_has_commuters_pass_their_gate_morning_and_evening() -> None:
    specs = venues()
    days: dict[tuple[int, dt.date], list[tuple[dt.datetime, VenueKind]]] = defaultdict(list)
    for person, venue, at, _ in checkins():
        local = at.astimezone(BEIJING)
        days[person, local.date()].append((local, specs[venue].kind))
    work_days = [sorted(day) for day in days.values() if any(k is VenueKind.office for _, k in day)]
    assert len(work_days) > 100
    complete = [d for d in work_days if d[0][0].date() != NOW.astimezone(BEIJING).date()]
    framed = [d for d in complete if d[0][1] is VenueKind.residential_gate and d[-1][1] is VenueKind.residential_gate]
    assert len(framed) >= 0.95 * len(complete)
    assert all(d[0][0].hour < 9 and d[-1][0].hour >= 15 for d in framed)


def test_it_sends_only_school_age_children_to_school() -> None:
    people, specs = residents(), venues()
    pupils = {person for person, venue, _, _ in checkins() if specs[venue].kind is VenueKind.school}
    assert len(pupils) > 50
    assert all(6 <= age(people[p]) <= 17 for p in pupils)
    school_age = {i for i, p in enumerate(people) if 6 <= age(p) <= 17}
    assert len(pupils) >= 0.9 * len(school_age)


def test_filling_the_demo_city_twice_duplicates_nothing(db: Session, keys: Keyring) -> None:
    def counts() -> tuple[int, int, int]:
        return (
            db.execute(select(func.count()).select_from(Person)).scalar_one(),
            db.execute(select(func.count()).select_from(Venue)).scalar_one(),
            db.execute(select(func.count()).select_from(Checkin)).scalar_one(),
        )

    summary = fill_demo_city(db, keys=keys, people=150, seed=5, today=TODAY, now=NOW)
    people, venue_count, checkin_count = counts()
    assert people == 150
    assert venue_count == len(demo_venues(city_regions(5), 5, people=150))
    assert checkin_count > 150 * 14
    assert f"venues created {venue_count}, updated 0, unchanged 0; check-ins {checkin_count}" in summary

    again = fill_demo_city(db, keys=keys, people=150, seed=5, today=TODAY, now=NOW)
    assert counts() == (people, venue_count, checkin_count)
    assert f"venues created 0, updated 0, unchanged {venue_count}; check-ins already present" in again
    # Check-in times follow the clock: a run a day later still adds no second fortnight.
    fill_demo_city(db, keys=keys, people=150, seed=5, today=TODAY, now=NOW + dt.timedelta(days=1))
    assert counts() == (people, venue_count, checkin_count)


def test_the_stored_checkins_are_the_generated_ones(db: Session, keys: Keyring) -> None:
    fill_demo_city(db, keys=keys, people=120, seed=5, today=TODAY, now=NOW, checkin_days=3)
    people: list[Resident] = []
    for _ in keep_residents(generate_people(120, 5, today=TODAY), people):
        pass
    specs = demo_venues(city_regions(5), 5, people=120)
    expected = {
        (people[p].ref, specs[v].ref, at, out)
        for p, v, at, out in demo_checkins(people, specs, days=3, seed=5, now=NOW)
    }
    stored = db.execute(
        select(Person.ref, Venue.ref, Checkin.checked_in_at, Checkin.checked_out_at)
        .join(Person, Person.id == Checkin.person_id)
        .join(Venue, Venue.id == Checkin.venue_id)
    ).all()
    assert {tuple(row) for row in stored} == expected
    tokens = db.execute(select(Venue.token)).scalars().all()
    assert len(set(tokens)) == len(tokens) == len(specs)
    assert db.execute(select(func.count()).select_from(Venue).where(Venue.operator_user_id.is_not(None))).scalar() == 0
