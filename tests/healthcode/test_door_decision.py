"""The door's decision for one scan (healthcode/door/decision.py), pure: the entry rule by venue kind, the age of
the latest standing negative test, the fever. Both verification paths take their decision from it (the grouped
path's answers are compared with the single path's in test_door_speed.py)."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given
from hypothesis import strategies as st

from fangkong.healthcode.door.decision import (
    ALLOWED,
    ENTRY_RULES,
    NEEDS_NEGATIVE_TEST,
    REFUSED_COLOR,
    Decision,
    Entry,
    decide_scan,
    is_fever,
    is_stale,
)
from fangkong.policy.editions import Color
from fangkong.venues.models import VenueKind

AT = dt.datetime(2022, 3, 21, 2, 0, tzinfo=dt.UTC)
HOURS = dt.timedelta(hours=1)


def test_a_green_code_enters_a_supermarket_without_a_test() -> None:
    decision = decide_scan(kind=VenueKind.supermarket, color=Color.green, negative_sampled_at=None,
                           temperature=None, at=AT)  # fmt: skip
    assert decision == Decision(Entry.allow, ALLOWED, None, False)


@pytest.mark.parametrize("color", [Color.yellow, Color.red])
def test_a_yellow_or_red_code_enters_nowhere(color: Color) -> None:
    for kind in VenueKind:
        decision = decide_scan(kind=kind, color=color, negative_sampled_at=AT - HOURS, temperature=36.5, at=AT)
        assert (decision.entry, decision.why) == (Entry.refuse, REFUSED_COLOR[color])


def test_a_hospital_wants_a_negative_test_of_the_last_48_hours_to_the_microsecond() -> None:
    def entry(sampled: dt.datetime | None) -> tuple[Entry, str]:
        decision = decide_scan(kind=VenueKind.hospital, color=Color.green, negative_sampled_at=sampled,
                               temperature=None, at=AT)  # fmt: skip
        return decision.entry, decision.why

    assert entry(AT - 48 * HOURS) == (Entry.allow, ALLOWED)
    assert entry(AT - 48 * HOURS - dt.timedelta(microseconds=1)) == (Entry.refuse, NEEDS_NEGATIVE_TEST)
    assert entry(None) == (Entry.refuse, NEEDS_NEGATIVE_TEST)


def test_the_test_s_age_is_as_of_the_scan_and_a_later_test_is_not_known_yet() -> None:
    decision = decide_scan(kind=VenueKind.clinic, color=Color.green, negative_sampled_at=AT - 30 * HOURS,
                           temperature=None, at=AT)  # fmt: skip
    assert decision.negative_test_age == 30 * HOURS
    with pytest.raises(ValueError, match="not known at the scan"):
        decide_scan(kind=VenueKind.clinic, color=Color.green, negative_sampled_at=AT + HOURS, temperature=None, at=AT)


def test_a_fever_starts_at_37_3_degrees() -> None:
    assert not is_fever(None)
    assert not is_fever(37.2)
    assert is_fever(37.3)
    assert decide_scan(kind=VenueKind.market, color=Color.yellow, negative_sampled_at=None, temperature=38.5,
                       at=AT).fever  # fmt: skip


def test_a_cached_color_is_stale_from_its_valid_until_on() -> None:
    assert not is_stale(None, AT)
    assert not is_stale(AT + dt.timedelta(microseconds=1), AT)
    assert is_stale(AT, AT)


@given(
    kind=st.sampled_from(VenueKind),
    color=st.sampled_from(Color),
    age=st.none() | st.timedeltas(min_value=dt.timedelta(0), max_value=dt.timedelta(days=10)),
    temperature=st.none() | st.floats(min_value=30.0, max_value=45.0),
)
def test_the_decision_is_the_venue_kind_s_entry_rule(
    kind: VenueKind, color: Color, age: dt.timedelta | None, temperature: float | None
) -> None:
    sampled = AT - age if age is not None else None
    decision = decide_scan(kind=kind, color=color, negative_sampled_at=sampled, temperature=temperature, at=AT)
    rule = ENTRY_RULES[kind]
    test_ok = rule.negative_within is None or (age is not None and age <= rule.negative_within)
    assert (decision.entry is Entry.allow) == (color in rule.colors and test_ok)
    assert decision.negative_test_age == age
    assert decision.fever == (temperature is not None and temperature >= 37.3)
