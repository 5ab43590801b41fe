"""Policy editions: the versioned rules that decide health-code colors, quarantine durations and tracing values.

Each edition is a TOML file in `policies/` named after the edition (`cn-9.toml`); every value in it cites its
source in a comment. Loading validates the whole file into frozen dataclasses, so a typo or a missing value fails
at start-up with the file and the key in the message, never later in the middle of a color.

Pure: reads the package's own files through importlib.resources, nothing else.
"""

from __future__ import annotations

import difflib
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from enum import StrEnum
from functools import cache
from importlib import resources
from typing import Any, NoReturn, TypeVar

EDITIONS: tuple[str, ...] = ("cn-8", "cn-9", "cn-20m")
DEFAULT_EDITION = "cn-9"


class PolicyError(ValueError):
    """A policy file that cannot be used; the message names the file and the key."""


class Color(StrEnum):
    # Declared from best to worst: the order is the ranking ("the worst color wins").
    green = "green"
    yellow = "yellow"
    red = "red"

    @property
    def rank(self) -> int:
        return _COLOR_ORDER.index(self)


_COLOR_ORDER = tuple(Color)


class Tier(StrEnum):
    """Mirrors fangkong.cases.models.ContactTier, kept separate so that policies and the engine need no ORM."""

    close = "close"  # 密切接触者
    secondary = "secondary"  # 次密接
    companion = "companion"  # 时空伴随者


class Care(StrEnum):
    """What a contact is asked to do during a phase; decides the reason shown, not the color."""

    centralized_quarantine = "centralized_quarantine"  # 集中隔离
    home_quarantine = "home_quarantine"  # 居家隔离
    home_monitoring = "home_monitoring"  # 居家健康监测


class RiskLevel(StrEnum):
    high = "high"  # 高风险地区
    medium = "medium"  # 中风险地区


@dataclass(frozen=True, slots=True)
class Title:
    zh: str
    en: str


@dataclass(frozen=True, slots=True)
class TracingRules:
    lookback: timedelta  # the infectious window starts this long before onset or first positive sampling
    min_overlap: timedelta  # co-presence shorter than this is not proposed
    secondary_contacts: bool  # whether close contacts' own contacts (次密接) are traced


@dataclass(frozen=True, slots=True)
class Phase:
    care: Care
    color: Color
    duration: timedelta


@dataclass(frozen=True, slots=True)
class TierRule:
    """A contact's colors: the phases in order from the last exposure, then `hold_color` until enough negative
    tests sampled after the last exposure (spaced at least `min_spacing`) are on record."""

    phases: tuple[Phase, ...]
    negative_tests: int  # 0: the phases alone decide
    min_spacing: timedelta
    hold_color: Color | None  # None exactly when no tests are needed

    @property
    def duration(self) -> timedelta:
        return sum((phase.duration for phase in self.phases), timedelta(0))


@dataclass(frozen=True, slots=True)
class CaseRules:
    color: Color  # an infectious case until release, and a suspected case
    release_tests: int  # consecutive qualifying tests
    release_spacing: timedelta  # between the first and the last of them
    release_min_ct: float | None  # N and ORF Ct both at least this also qualifies; None: only negatives do
    monitoring: timedelta  # after release
    monitoring_color: Color


@dataclass(frozen=True, slots=True)
class RiskAreaRule:
    levels: frozenset[RiskLevel]
    window: timedelta  # a stay that ended less than this long ago counts
    color: Color


@dataclass(frozen=True, slots=True)
class FeverRule:
    min_celsius: float
    color: Color  # until a negative test sampled after the fever


@dataclass(frozen=True, slots=True)
class Policy:
    name: str
    title: Title
    effective: date
    tracing: TracingRules
    case: CaseRules
    positive_test_color: Color  # a positive test that no case explains
    close: TierRule
    secondary: TierRule | None  # None: secondary contacts are not identified under this edition
    companion: TierRule
    risk_area: RiskAreaRule
    fever: FeverRule
    checkin_retention: timedelta

    def tier(self, tier: Tier) -> TierRule | None:
        return {Tier.close: self.close, Tier.secondary: self.secondary, Tier.companion: self.companion}[tier]


# --- Loading -----------------------------------------------------------------------------------------------


@cache
def load_policy(name: str) -> Policy:
    """The edition `name`, one of EDITIONS. Cached: policies are immutable."""
    if name not in EDITIONS:
        raise PolicyError(f"unknown policy edition {name!r}; choose one of {', '.join(EDITIONS)}")
    source = f"{name}.toml"
    text = resources.files("fangkong.policy").joinpath("editions_data", source).read_text(encoding="utf-8")
    return parse_policy(text, source=source, expected_name=name)


def parse_policy(text: str, *, source: str, expected_name: str | None = None) -> Policy:
    """Validate a policy file's text; `source` names the file in error messages."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise PolicyError(f"{source}: not valid TOML: {error}") from None
    root = _Table(source, "", data)

    name = root.text("name")
    if expected_name is not None and name != expected_name:
        root.fail("name", f"{name!r} does not match the file's edition {expected_name!r}")
    title_table = root.table("title")
    title = Title(zh=title_table.text("zh"), en=title_table.text("en"))
    title_table.close()
    effective = root.day("effective")
    tracing = _tracing(root.table("tracing"))
    case = _case(root.table("case"))

    positive = root.table("positive_test")
    positive_test_color = positive.choice("color", Color)
    positive.close()

    contacts = root.table("contacts")
    close = _tier(contacts.table("close"))
    companion = _tier(contacts.table("companion"))
    secondary_table = contacts.optional_table("secondary")
    # The two keys say the same thing twice on purpose (tracing reads one, colors the other); they must agree.
    if tracing.secondary_contacts and secondary_table is None:
        contacts.fail("secondary", "missing, but tracing.secondary_contacts is true")
    if not tracing.secondary_contacts and secondary_table is not None:
        contacts.fail("secondary", "present, but tracing.secondary_contacts is false")
    secondary = _tier(secondary_table) if secondary_table is not None else None
    contacts.close()

    risk = root.table("risk_area")
    risk_area = RiskAreaRule(
        levels=frozenset(risk.choices("levels", RiskLevel)),
        window=timedelta(days=risk.whole("days", minimum=1)),
        color=risk.choice("color", Color),
    )
    risk.close()

    fever_table = root.table("fever")
    fever = FeverRule(
        min_celsius=fever_table.number("min_celsius", minimum=35.0), color=fever_table.choice("color", Color)
    )
    fever_table.close()

    checkins = root.table("checkins")
    checkin_retention = timedelta(days=checkins.whole("retention_days", minimum=1))
    checkins.close()
    root.close()

    return Policy(
        name=name,
        title=title,
        effective=effective,
        tracing=tracing,
        case=case,
        positive_test_color=positive_test_color,
        close=close,
        secondary=secondary,
        companion=companion,
        risk_area=risk_area,
        fever=fever,
        checkin_retention=checkin_retention,
    )


def _tracing(table: _Table) -> TracingRules:
    rules = TracingRules(
        lookback=timedelta(days=table.whole("lookback_days", minimum=0)),
        min_overlap=timedelta(minutes=table.whole("min_overlap_minutes", minimum=0)),
        secondary_contacts=table.flag("secondary_contacts"),
    )
    table.close()
    return rules


def _case(table: _Table) -> CaseRules:
    release = table.table("release")
    rules = CaseRules(
        color=table.choice("color", Color),
        release_tests=release.whole("tests", minimum=1),
        release_spacing=timedelta(hours=release.whole("min_spacing_hours", minimum=0)),
        release_min_ct=release.optional_number("min_ct", minimum=0.0),
        monitoring=timedelta(days=release.whole("monitoring_days", minimum=0)),
        monitoring_color=release.choice("monitoring_color", Color),
    )
    release.close()
    table.close()
    return rules


def _tier(table: _Table) -> TierRule:
    phases = []
    for phase in table.tables("phases"):
        phases.append(
            Phase(
                care=phase.choice("care", Care),
                color=phase.choice("color", Color),
                duration=timedelta(days=phase.whole("days", minimum=1)),
            )
        )
        phase.close()
    negative_tests = table.whole("negative_tests", minimum=0)
    min_spacing = timedelta(hours=table.whole("min_spacing_hours", minimum=0))
    hold_color = table.choice("hold_color", Color) if negative_tests else None
    if not negative_tests and "hold_color" in table:
        table.fail("hold_color", "given, but no negative tests are needed")
    if not phases and not negative_tests:
        table.fail("phases", "empty and no negative tests needed: the tier would never be colored")
    table.close()
    return TierRule(phases=tuple(phases), negative_tests=negative_tests, min_spacing=min_spacing, hold_color=hold_color)


_E = TypeVar("_E", bound=StrEnum)
_MISSING: Any = object()


class _Table:
    """One TOML table being read: typed getters that fail with the file and the dotted key, and `close()`,
    which rejects keys nobody asked for (a misspelt optional key would otherwise be silently ignored)."""

    def __init__(self, source: str, path: str, data: Mapping[str, Any]) -> None:
        self._source = source
        self._path = path
        self._data = data
        self._seen: set[str] = set()

    def __contains__(self, key: str) -> bool:
        return key in self._data

    def _key(self, key: str) -> str:
        return f"{self._path}.{key}" if self._path else key

    def fail(self, key: str, problem: str) -> NoReturn:
        raise PolicyError(f"{self._source}: {self._key(key)}: {problem}")

    def _get(self, key: str, default: Any = _MISSING) -> Any:
        self._seen.add(key)
        if key not in self._data:
            if default is _MISSING:
                near = difflib.get_close_matches(key, list(self._data), n=1)
                self.fail(key, f"missing; is {near[0]!r} a misspelling?" if near else "missing")
            return default
        return self._data[key]

    def text(self, key: str) -> str:
        value = self._get(key)
        if not isinstance(value, str) or not value.strip():
            self.fail(key, f"expected non-empty text, got {value!r}")
        return value

    def whole(self, key: str, *, minimum: int) -> int:
        value = self._get(key)
        # bool is an int in Python; `days = true` is a mistake, not 1.
        if not isinstance(value, int) or isinstance(value, bool) or value < minimum:
            self.fail(key, f"expected a whole number of at least {minimum}, got {value!r}")
        return value

    def optional_number(self, key: str, *, minimum: float) -> float | None:
        if key not in self._data:
            self._seen.add(key)
            return None
        return self.number(key, minimum=minimum)

    def number(self, key: str, *, minimum: float) -> float:
        value = self._get(key)
        if not isinstance(value, int | float) or isinstance(value, bool) or not value >= minimum:
            self.fail(key, f"expected a number of at least {minimum:g}, got {value!r}")
        return float(value)

    def flag(self, key: str) -> bool:
        value = self._get(key)
        if not isinstance(value, bool):
            self.fail(key, f"expected true or false, got {value!r}")
        return value

    def day(self, key: str) -> date:
        value = self._get(key)
        # tomllib gives a datetime for a date with a time; a policy takes effect on a day.
        if type(value) is not date:
            self.fail(key, f"expected a date such as 2022-06-28, got {value!r}")
        return value

    def choice(self, key: str, enum: type[_E]) -> _E:
        return self._member(key, self._get(key), enum)

    def choices(self, key: str, enum: type[_E]) -> list[_E]:
        values = self._get(key)
        if not isinstance(values, list) or not values:
            self.fail(key, f"expected a non-empty list, got {values!r}")
        return [self._member(key, value, enum) for value in values]

    def _member(self, key: str, value: Any, enum: type[_E]) -> _E:
        try:
            return enum(value)
        except ValueError:
            self.fail(key, f"expected one of {', '.join(enum)}, got {value!r}")

    def table(self, key: str) -> _Table:
        value = self._get(key)
        if not isinstance(value, dict):
            self.fail(key, f"expected a table, got {value!r}")
        return _Table(self._source, self._key(key), value)

    def optional_table(self, key: str) -> _Table | None:
        return self.table(key) if key in self._data else None

    def tables(self, key: str) -> list[_Table]:
        """An array of tables, possibly empty or absent (`[[key]]` cannot spell an empty array)."""
        values = self._get(key, [])
        if not isinstance(values, list) or not all(isinstance(value, dict) for value in values):
            self.fail(key, f"expected an array of tables, got {values!r}")
        return [_Table(self._source, f"{self._key(key)}[{i}]", value) for i, value in enumerate(values)]

    def close(self) -> None:
        unknown = sorted(set(self._data) - self._seen)
        if unknown:
            self.fail(unknown[0], "unknown key")
