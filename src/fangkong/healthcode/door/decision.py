"""The door's decision for one scan, pure: who enters a venue of a kind, with what color and which test.

Both ways of verifying at the door (verify.verify_at_door for pages and the FastAPI route, grouped.verify_scans for
the door devices' group-committed route) bring the facts (the code's color once brought up to date, when the
latest standing negative test was sampled, the temperature measured) and take their decision from `decide_scan`,
so the two cannot drift apart.
"""

from __future__ import annotations

import datetime as dt
import enum
from dataclasses import dataclass

from fangkong.core.errors import Invalid
from fangkong.policy.editions import Color
from fangkong.venues.models import VenueKind

FEVER_CELSIUS = 37.3


@dataclass(frozen=True, slots=True)
class EntryRule:
    colors: frozenset[Color]  # colors let in
    negative_within: dt.timedelta | None = None  # a negative test sampled this recently is also needed


# Who may enter, by venue kind. Green everywhere; hospitals and clinics also want a negative test from the last
# 48 hours, as hospitals asked in 2022 (the example). Yellow and red go to a fever clinic or stay home.
GREEN = EntryRule(frozenset({Color.green}))
ENTRY_RULES: dict[VenueKind, EntryRule] = dict.fromkeys(VenueKind, GREEN) | {
    VenueKind.hospital: EntryRule(frozenset({Color.green}), dt.timedelta(hours=48)),
    VenueKind.clinic: EntryRule(frozenset({Color.green}), dt.timedelta(hours=48)),
}

# The reasons, as English msgids (translated by whoever shows them).
ALLOWED = "may enter"
NEEDS_NEGATIVE_TEST = "this place also needs a negative test from the last 48 hours"
REFUSED_COLOR = {color: f"a {color.value} code does not enter here" for color in Color}


class Entry(enum.StrEnum):
    allow = "allow"
    refuse = "refuse"


@dataclass(frozen=True, slots=True)
class Decision:
    entry: Entry
    why: str  # the rule that decided, in English msgid form
    negative_test_age: dt.timedelta | None
    fever: bool


def mask_name(name: str) -> str:
    """王芳 → 王*, 欧阳娜娜 → 欧***: enough for door staff to match a face, not to learn who it is."""
    return name[:1] + "*" * max(len(name) - 1, 1)


def check_temperature(temperature: float | None) -> None:
    if temperature is not None and not 30.0 <= temperature <= 45.0:
        raise Invalid("a body temperature lies between 30 and 45 °C; %(value)s is not one", value=temperature)


def is_fever(temperature: float | None) -> bool:
    """A fever is a fact: it is recorded, and the code recomputed, before the decision."""
    return temperature is not None and temperature >= FEVER_CELSIUS


def is_stale(valid_until: dt.datetime | None, now: dt.datetime) -> bool:
    """Whether time has moved a cached code on: its color must be recomputed (by the rule) before the decision."""
    return valid_until is not None and valid_until <= now


def decide(kind: VenueKind, color: Color, negative_test_age: dt.timedelta | None) -> tuple[Entry, str]:
    """The venue's entry rule applied to a code's color and the age of the latest negative test."""
    rule = ENTRY_RULES[kind]
    if color not in rule.colors:
        return Entry.refuse, REFUSED_COLOR[color]
    if rule.negative_within is not None and (negative_test_age is None or negative_test_age > rule.negative_within):
        return Entry.refuse, NEEDS_NEGATIVE_TEST
    return Entry.allow, ALLOWED


def decide_scan(
    *,
    kind: VenueKind,
    color: Color,
    negative_sampled_at: dt.datetime | None,
    temperature: float | None,
    at: dt.datetime,
) -> Decision:
    """One scan at a venue of `kind` at `at`: `color` is the holder's code as it stands then (brought up to date
    by the caller: recomputed when stale, and after recording a fever this scan measured), `negative_sampled_at`
    when their latest standing negative test known at `at` was sampled."""
    if negative_sampled_at is not None and negative_sampled_at > at:
        raise ValueError("a negative test sampled after the scan is not known at the scan")
    age = at - negative_sampled_at if negative_sampled_at is not None else None
    entry, why = decide(kind, color, age)
    return Decision(entry, why, age, is_fever(temperature))
