"""The one clock. Every rule reads time from here so that it can be evaluated "as of" any instant."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from contextlib import contextmanager

UTC = dt.UTC
_frozen: dt.datetime | None = None

# The years a time given to the platform may lie in (API, pages, commands): year 1 or 9999 means nothing here, and
# arithmetic on it (a look-back, a change of offset to UTC) overflows Python's datetime.
EARLIEST_YEAR, LATEST_YEAR = 1900, 2099
YEARS = f"{EARLIEST_YEAR}–{LATEST_YEAR}"


def in_years(value: dt.date) -> bool:
    """Whether a date or time (datetimes are dates) lies in EARLIEST_YEAR … LATEST_YEAR."""
    return EARLIEST_YEAR <= value.year <= LATEST_YEAR


class OutOfYears(ValueError):
    """A well-formed time outside EARLIEST_YEAR … LATEST_YEAR."""


def now() -> dt.datetime:
    """The current instant, timezone-aware UTC."""
    return _frozen if _frozen is not None else dt.datetime.now(UTC)


@contextmanager
def frozen_at(instant: dt.datetime) -> Iterator[None]:
    """Evaluate everything inside as of `instant` (tests, and CLI commands with --at)."""
    global _frozen
    if instant.tzinfo is None:
        raise ValueError("frozen_at needs a timezone-aware datetime")
    previous, _frozen = _frozen, instant.astimezone(UTC)
    try:
        yield
    finally:
        _frozen = previous


def parse_instant(text: str) -> dt.datetime:
    """ISO 8601 with an offset, e.g. 2022-03-20T14:05:00+08:00; a missing offset is an error, not a guess."""
    value = dt.datetime.fromisoformat(text.strip())
    if value.tzinfo is None:
        raise ValueError(f"{text!r} has no UTC offset; write it like 2022-03-20T14:05:00+08:00")
    if not in_years(value):
        raise OutOfYears(f"{text!r} is not in the years {YEARS}")
    return value.astimezone(UTC)
