"""The co-presence engine: named cases for the edges of the definition, and properties against brute force."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fangkong.tracing.engine import Contact, Exposure, Visit, co_present, presence

CST = timezone(timedelta(hours=8))
BASE = datetime(2022, 4, 1, 8, 0, tzinfo=CST)

# Personas: alice is the index person unless a test says otherwise.
ALICE, BOB, CAROL, DAVE = 1, 2, 3, 4
MARKET, NOODLES, CLINIC = 10, 20, 30
TEN_MINUTES = timedelta(minutes=10)


def at(minute: int) -> datetime:
    return BASE + timedelta(minutes=minute)


def visit(person: int, venue: int, start: int, end: int | None, *, dwell: int = 30) -> Visit:
    """A visit in minutes after BASE; `end=None` is an open visit that lasts `dwell` minutes."""
    return Visit(
        person=person,
        venue=venue,
        checked_in_at=at(start),
        checked_out_at=None if end is None else at(end),
        dwell=timedelta(minutes=dwell),
    )


def trace(
    visits: list[Visit],
    *,
    window: tuple[int, int] = (0, 24 * 60),
    min_overlap: timedelta = TEN_MINUTES,
    index_person: int = ALICE,
) -> list[Contact]:
    return co_present(
        index_person=index_person,
        index_visits=[v for v in visits if v.person == index_person],
        others=visits,
        window_start=at(window[0]),
        window_end=at(window[1]),
        min_overlap=min_overlap,
    )


def overlaps(contacts: list[Contact]) -> dict[int, timedelta]:
    return {contact.person: contact.overlap for contact in contacts}


# --- Visits, exposures, contacts -------------------------------------------------------------------------


def test_a_visit_with_a_check_out_ends_at_the_check_out() -> None:
    assert visit(BOB, MARKET, 0, 45, dwell=30).end == at(45)


def test_an_open_visit_ends_after_the_venue_kinds_dwell() -> None:
    assert visit(BOB, MARKET, 0, None, dwell=30).end == at(30)


def test_an_exposure_lasts_from_its_start_to_its_end() -> None:
    assert Exposure(venue=MARKET, start=at(5), end=at(20)).duration == timedelta(minutes=15)


def test_a_contacts_venues_are_distinct_in_order_of_first_exposure() -> None:
    contact = Contact(
        person=BOB,
        overlap=timedelta(minutes=3),
        exposures=(
            Exposure(venue=NOODLES, start=at(0), end=at(1)),
            Exposure(venue=MARKET, start=at(5), end=at(6)),
            Exposure(venue=NOODLES, start=at(9), end=at(10)),
        ),
    )
    assert contact.venues == (NOODLES, MARKET)


# --- presence --------------------------------------------------------------------------------------------


def test_presence_merges_overlapping_and_touching_visits() -> None:
    visits = [
        visit(BOB, MARKET, 20, 30),
        visit(BOB, MARKET, 0, 10),
        visit(BOB, MARKET, 10, 15),
        visit(BOB, MARKET, 5, 12),
    ]
    assert presence(visits) == [(at(0), at(15)), (at(20), at(30))]


def test_presence_drops_empty_visits() -> None:
    visits = [visit(BOB, MARKET, 10, 10), visit(BOB, MARKET, 10, 5), visit(BOB, MARKET, 10, None, dwell=0)]
    assert presence(visits) == []


def test_presence_is_clipped_to_the_bounds_given() -> None:
    visits = [visit(BOB, MARKET, 0, 30), visit(BOB, MARKET, 50, 70), visit(BOB, MARKET, 80, 90)]
    assert presence(visits, start=at(10), end=at(60)) == [(at(10), at(30)), (at(50), at(60))]
    assert presence(visits, start=at(30), end=at(50)) == []


# --- co_present: the window ------------------------------------------------------------------------------


def test_an_index_visit_ending_exactly_at_the_window_start_contributes_nothing() -> None:
    visits = [visit(ALICE, MARKET, 0, 60), visit(BOB, MARKET, 0, 60)]
    assert trace(visits, window=(60, 120)) == []


def test_an_index_visit_starting_exactly_at_the_window_end_contributes_nothing() -> None:
    visits = [visit(ALICE, MARKET, 60, 120), visit(BOB, MARKET, 60, 120)]
    assert trace(visits, window=(0, 60)) == []


def test_only_the_index_persons_side_is_clipped_to_the_window() -> None:
    # Bob was there long before and after the window; only the part where alice counts (inside it) matters.
    visits = [visit(ALICE, MARKET, 30, 90), visit(BOB, MARKET, 0, 200)]
    [contact] = trace(visits, window=(40, 70))
    assert contact.overlap == timedelta(minutes=30)
    assert contact.exposures == (Exposure(venue=MARKET, start=at(40), end=at(70)),)


def test_a_contact_whose_visit_lies_outside_the_window_is_not_a_contact() -> None:
    visits = [visit(ALICE, MARKET, 0, 200), visit(BOB, MARKET, 150, 200)]
    assert trace(visits, window=(0, 100)) == []


@pytest.mark.parametrize("window", [(60, 60), (60, 30)])
def test_an_empty_window_gives_no_contacts(window: tuple[int, int]) -> None:
    visits = [visit(ALICE, MARKET, 0, 120), visit(BOB, MARKET, 0, 120)]
    assert trace(visits, window=window) == []


# --- co_present: visits --------------------------------------------------------------------------------


def test_open_visits_last_for_the_dwell() -> None:
    # Alice's open visit runs 0-30, bob's 20-60: ten minutes together.
    visits = [visit(ALICE, MARKET, 0, None, dwell=30), visit(BOB, MARKET, 20, None, dwell=40)]
    [contact] = trace(visits)
    assert contact.overlap == TEN_MINUTES
    assert contact.exposures == (Exposure(venue=MARKET, start=at(20), end=at(30)),)


def test_a_visit_that_ends_before_it_starts_is_empty() -> None:
    visits = [visit(ALICE, MARKET, 60, 0), visit(BOB, MARKET, 0, 60)]
    assert trace(visits, min_overlap=timedelta(0)) == []


def test_the_index_persons_overlapping_visits_are_not_double_counted() -> None:
    # Alice scanned twice (0-30 and 10-40); bob was there throughout: 40 minutes, not 50.
    visits = [visit(ALICE, MARKET, 0, 30), visit(ALICE, MARKET, 10, 40), visit(BOB, MARKET, 0, 60)]
    [contact] = trace(visits)
    assert contact.overlap == timedelta(minutes=40)
    assert contact.exposures == (Exposure(venue=MARKET, start=at(0), end=at(40)),)


def test_a_contacts_overlapping_visits_are_not_double_counted() -> None:
    visits = [visit(ALICE, MARKET, 0, 60), visit(BOB, MARKET, 0, 30), visit(BOB, MARKET, 10, 40)]
    [contact] = trace(visits)
    assert contact.overlap == timedelta(minutes=40)


def test_touching_visits_give_one_exposure() -> None:
    visits = [visit(ALICE, MARKET, 0, 20), visit(ALICE, MARKET, 20, 40), visit(BOB, MARKET, 10, 30)]
    [contact] = trace(visits)
    assert contact.exposures == (Exposure(venue=MARKET, start=at(10), end=at(30)),)


def test_visits_at_the_same_time_elsewhere_contribute_nothing() -> None:
    visits = [visit(ALICE, MARKET, 0, 60), visit(BOB, NOODLES, 0, 60), visit(CAROL, CLINIC, 0, 60)]
    assert trace(visits) == []


def test_being_at_the_same_venue_at_different_times_is_not_contact() -> None:
    visits = [visit(ALICE, MARKET, 0, 60), visit(BOB, MARKET, 60, 120)]
    assert trace(visits, min_overlap=timedelta(0)) == []


def test_visits_recorded_in_other_time_zones_compare_by_instant() -> None:
    utc_checkin = Visit(
        person=BOB,
        venue=MARKET,
        checked_in_at=at(0).astimezone(UTC),
        checked_out_at=at(20).astimezone(UTC),
        dwell=timedelta(0),
    )
    [contact] = trace([visit(ALICE, MARKET, 10, 60), utc_checkin])
    assert contact.overlap == TEN_MINUTES


# --- co_present: the minimum overlap ---------------------------------------------------------------------


def test_exactly_the_minimum_overlap_counts() -> None:
    visits = [visit(ALICE, MARKET, 0, 30), visit(BOB, MARKET, 20, 60)]
    assert overlaps(trace(visits, min_overlap=TEN_MINUTES)) == {BOB: TEN_MINUTES}


def test_one_second_less_than_the_minimum_overlap_does_not_count() -> None:
    late = Visit(
        person=BOB, venue=MARKET, checked_in_at=at(20) + timedelta(seconds=1), checked_out_at=at(60), dwell=TEN_MINUTES
    )
    visits = [visit(ALICE, MARKET, 0, 30), late]
    assert trace(visits, min_overlap=TEN_MINUTES) == []
    assert overlaps(trace(visits, min_overlap=TEN_MINUTES - timedelta(seconds=1))) == {
        BOB: timedelta(minutes=9, seconds=59)
    }


def test_overlap_is_summed_across_venues() -> None:
    # Six minutes at the market and six at the noodle shop: neither alone reaches ten, together they do.
    visits = [
        visit(ALICE, MARKET, 0, 30),
        visit(ALICE, NOODLES, 60, 90),
        visit(BOB, NOODLES, 84, 120),
        visit(BOB, MARKET, 24, 40),
    ]
    [contact] = trace(visits)
    assert contact.overlap == timedelta(minutes=12)
    assert contact.exposures == (
        Exposure(venue=MARKET, start=at(24), end=at(30)),
        Exposure(venue=NOODLES, start=at(84), end=at(90)),
    )
    assert contact.venues == (MARKET, NOODLES)


def test_exposures_at_the_same_moment_are_ordered_by_venue() -> None:
    # Implausible but possible with unreliable check-outs: both people "in" two venues at once.
    visits = [
        visit(ALICE, NOODLES, 0, 20),
        visit(ALICE, MARKET, 0, 20),
        visit(BOB, NOODLES, 0, 20),
        visit(BOB, MARKET, 0, 20),
    ]
    [contact] = trace(visits)
    assert [exposure.venue for exposure in contact.exposures] == [MARKET, NOODLES]
    assert contact.overlap == timedelta(minutes=40)


def test_a_zero_minimum_still_requires_shared_time() -> None:
    visits = [visit(ALICE, MARKET, 0, 30), visit(BOB, MARKET, 29, 60), visit(CAROL, MARKET, 30, 60)]
    assert overlaps(trace(visits, min_overlap=timedelta(0))) == {BOB: timedelta(minutes=1)}


# --- co_present: who is a contact, and in what order ---------------------------------------------------


def test_the_index_person_is_never_their_own_contact() -> None:
    visits = [visit(ALICE, MARKET, 0, 60), visit(ALICE, MARKET, 30, 90), visit(BOB, MARKET, 0, 60)]
    assert [contact.person for contact in trace(visits)] == [BOB]


def test_visits_of_others_given_as_the_index_persons_are_ignored() -> None:
    visits = [visit(ALICE, MARKET, 0, 10), visit(BOB, NOODLES, 0, 60), visit(CAROL, NOODLES, 0, 60)]
    contacts = co_present(
        index_person=ALICE,
        index_visits=visits,
        others=visits,
        window_start=at(0),
        window_end=at(120),
        min_overlap=TEN_MINUTES,
    )
    assert contacts == []


def test_contacts_are_sorted_by_longest_overlap_first() -> None:
    visits = [
        visit(ALICE, MARKET, 0, 60),
        visit(BOB, MARKET, 0, 15),
        visit(CAROL, MARKET, 0, 45),
        visit(DAVE, MARKET, 0, 30),
    ]
    assert [contact.person for contact in trace(visits)] == [CAROL, DAVE, BOB]


def test_contacts_with_equal_overlap_are_sorted_by_person() -> None:
    visits = [
        visit(ALICE, MARKET, 0, 60),
        visit(DAVE, MARKET, 0, 20),
        visit(BOB, NOODLES, 0, 20),
        visit(ALICE, NOODLES, 0, 60),
        visit(CAROL, MARKET, 40, 60),
    ]
    contacts = trace(visits)
    assert [contact.person for contact in contacts] == [BOB, CAROL, DAVE]
    assert {contact.overlap for contact in contacts} == {timedelta(minutes=20)}


def test_the_order_of_the_visits_given_does_not_matter() -> None:
    visits = [
        visit(ALICE, MARKET, 0, 30),
        visit(ALICE, NOODLES, 40, 90),
        visit(BOB, MARKET, 10, 50),
        visit(BOB, NOODLES, 60, 70),
        visit(CAROL, NOODLES, 30, 100),
    ]
    assert trace(visits) == trace(visits[::-1])


# --- Properties against a brute-force reference -----------------------------------------------------------
#
# Every generated time is a whole minute after BASE, so counting covered minutes in Python sets measures
# the same thing as the engine's interval arithmetic, exactly, by a route that shares no code with it.

PEOPLE = (ALICE, BOB, CAROL, DAVE)
VENUES = (MARKET, NOODLES, CLINIC)


@st.composite
def visits_strategy(draw: st.DrawFn) -> Visit:
    start = draw(st.integers(0, 180))
    if draw(st.booleans()):
        end: int | None = None
    else:
        end = start + draw(st.integers(-10, 90))  # zero-length and backwards visits included
    return visit(
        draw(st.sampled_from(PEOPLE)), draw(st.sampled_from(VENUES)), start, end, dwell=draw(st.integers(0, 60))
    )


def minutes_of(v: Visit, *, lo: int | None = None, hi: int | None = None) -> set[int]:
    start = (v.checked_in_at - BASE) // timedelta(minutes=1)
    if v.checked_out_at is not None:
        end = (v.checked_out_at - BASE) // timedelta(minutes=1)
    else:
        end = start + v.dwell // timedelta(minutes=1)
    if lo is not None:
        start = max(start, lo)
    if hi is not None:
        end = min(end, hi)
    return set(range(start, end))


def runs(minutes: set[int]) -> list[tuple[int, int]]:
    """Maximal runs of consecutive minutes, as half-open [first, last + 1)."""
    found: list[tuple[int, int]] = []
    for minute in sorted(minutes):
        if found and found[-1][1] == minute:
            found[-1] = (found[-1][0], minute + 1)
        else:
            found.append((minute, minute + 1))
    return found


def reference(visits: list[Visit], *, a: int, b: int, min_minutes: float) -> dict[int, list[tuple[int, int, int]]]:
    """Person -> exposures as (start minute, venue, end minute), for the contacts of alice."""
    mine = {venue: set[int]() for venue in VENUES}
    theirs = {(person, venue): set[int]() for person in PEOPLE for venue in VENUES}
    for v in visits:
        if v.person == ALICE:
            mine[v.venue] |= minutes_of(v, lo=a, hi=b)
        else:
            theirs[v.person, v.venue] |= minutes_of(v)
    result: dict[int, list[tuple[int, int, int]]] = {}
    for person in PEOPLE[1:]:
        shared = {venue: mine[venue] & theirs[person, venue] for venue in VENUES}
        total = sum(len(minutes) for minutes in shared.values())
        if total and total >= min_minutes:
            result[person] = sorted((s, venue, e) for venue in VENUES for s, e in runs(shared[venue]))
    return result


def as_minutes(instant: datetime) -> int:
    return (instant - BASE) // timedelta(minutes=1)


@settings(max_examples=300, deadline=None)
@given(
    visits=st.lists(visits_strategy(), max_size=25),
    a=st.integers(-10, 200),
    length=st.integers(-10, 200),
    min_seconds=st.integers(0, 90 * 60),
    broad_index_query=st.booleans(),
)
def test_co_present_agrees_with_counting_minutes(
    visits: list[Visit], a: int, length: int, min_seconds: int, broad_index_query: bool
) -> None:
    contacts = co_present(
        index_person=ALICE,
        index_visits=visits if broad_index_query else [v for v in visits if v.person == ALICE],
        others=visits,
        window_start=at(a),
        window_end=at(a + length),
        min_overlap=timedelta(seconds=min_seconds),
    )
    expected = reference(visits, a=a, b=a + length, min_minutes=min_seconds / 60)

    assert [contact.person for contact in contacts] == sorted(
        expected, key=lambda person: (-sum(e - s for s, _, e in expected[person]), person)
    )
    for contact in contacts:
        exposures = [(as_minutes(x.start), x.venue, as_minutes(x.end)) for x in contact.exposures]
        assert exposures == expected[contact.person]
        assert contact.overlap == timedelta(minutes=sum(e - s for s, _, e in exposures))
        assert contact.overlap == sum((x.duration for x in contact.exposures), timedelta(0))
        assert contact.overlap >= timedelta(seconds=min_seconds)
        assert all(a <= s < e <= a + length for s, _, e in exposures)


@settings(max_examples=300, deadline=None)
@given(
    visits=st.lists(visits_strategy(), max_size=12),
    lo=st.none() | st.integers(-10, 200),
    hi=st.none() | st.integers(-10, 300),
)
def test_presence_is_a_sorted_disjoint_cover_of_the_same_minutes(
    visits: list[Visit], lo: int | None, hi: int | None
) -> None:
    spans = presence(visits, start=None if lo is None else at(lo), end=None if hi is None else at(hi))

    assert all(start < end for start, end in spans)
    # Strictly increasing with a gap between neighbours: touching spans would have been merged.
    assert all(earlier[1] < later[0] for earlier, later in itertools.pairwise(spans))
    covered = set[int]().union(*(minutes_of(v, lo=lo, hi=hi) for v in visits))
    assert [(as_minutes(s), as_minutes(e)) for s, e in spans] == runs(covered)
