"""Co-presence: who was at the same venue as an index person, at the same time, for long enough.

The definition, which investigators and the tests rely on:

* A visit is the half-open interval [checked_in_at, checked_out_at) at a venue. Without a check-out it ends
  after the venue kind's default dwell. A visit whose end is not after its start is empty.
* The index person P's presence at a venue is the union of P's visits there, clipped to the window [A, B).
  Anyone else's presence is the union of their visits there, unclipped: clipping P's side already clips the
  intersection.
* Another person's overlap with P is the total length, over all venues, of the intersection of the two
  presences. Taking unions first means overlapping visits of one person (two scans, a re-entry) never count
  the same minutes twice.
* They are a co-present contact when the overlap is at least the minimum overlap and is not empty.

Pure: no database, no I/O. Datetimes are timezone-aware, so visits recorded in different zones compare by
instant.
"""

from __future__ import annotations

from bisect import bisect_right
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

Interval = tuple[datetime, datetime]

_ZERO = timedelta(0)
# The largest minimum overlap the API and the CLI take, in minutes: a year (nobody is traced over longer), far
# inside what a timedelta holds (10^12 minutes overflowed it, a 500 from GET /api/trace).
MAX_MIN_OVERLAP_MINUTES = 366 * 24 * 60


@dataclass(frozen=True, slots=True)
class Visit:
    person: int
    venue: int
    checked_in_at: datetime
    checked_out_at: datetime | None
    dwell: timedelta  # the venue kind's default stay, used only when nobody checked out

    @property
    def end(self) -> datetime:
        if self.checked_out_at is not None:
            return self.checked_out_at
        return self.checked_in_at + self.dwell


@dataclass(frozen=True, slots=True)
class Exposure:
    """One maximal stretch of time that a contact and the index person shared at one venue."""

    venue: int
    start: datetime
    end: datetime

    @property
    def duration(self) -> timedelta:
        return self.end - self.start


@dataclass(frozen=True, slots=True)
class Contact:
    person: int
    overlap: timedelta
    exposures: tuple[Exposure, ...]  # sorted by start, then venue

    @property
    def venues(self) -> tuple[int, ...]:
        """The distinct venues, in the order the contact first shared time there with the index person."""
        return tuple(dict.fromkeys(exposure.venue for exposure in self.exposures))


def _merge(intervals: list[Interval]) -> list[Interval]:
    """Sort and merge non-empty intervals; touching ones ([a, b) and [b, c)) become one."""
    intervals.sort()
    merged: list[Interval] = []
    for start, end in intervals:
        if merged and start <= merged[-1][1]:
            if end > merged[-1][1]:
                merged[-1] = (merged[-1][0], end)
        else:
            merged.append((start, end))
    return merged


def presence(visits: Iterable[Visit], *, start: datetime | None = None, end: datetime | None = None) -> list[Interval]:
    """The union of the visits' intervals, sorted, disjoint and non-empty, optionally clipped to [start, end).

    Venue and person are not looked at: pass the visits of one person at one venue.
    """
    spans: list[Interval] = []
    for visit in visits:
        lo, hi = visit.checked_in_at, visit.end
        if start is not None and lo < start:
            lo = start
        if end is not None and hi > end:
            hi = end
        if lo < hi:
            spans.append((lo, hi))
    return _merge(spans)


def _intersect(index: Sequence[Interval], index_ends: Sequence[datetime], other: Sequence[Interval]) -> list[Interval]:
    """The intersection of two merged interval lists, as maximal intervals in order.

    A two-pointer merge whose index pointer jumps ahead by bisection, so a contact with one short visit costs
    a logarithm rather than a walk over all of the index person's visits at a busy venue.
    Both inputs are merged (disjoint, not touching), so the pieces never touch and are already maximal.
    """
    shared: list[Interval] = []
    i = 0
    for lo, hi in other:
        i = bisect_right(index_ends, lo, lo=i)  # first index interval ending after lo
        while i < len(index) and index[i][0] < hi:
            start, end = index[i]
            shared.append((max(start, lo), min(end, hi)))
            if end > hi:
                break  # this index interval may also meet the next interval of `other`
            i += 1
    return shared


def co_present(
    *,
    index_person: int,
    index_visits: Iterable[Visit],
    others: Iterable[Visit],
    window_start: datetime,
    window_end: datetime,
    min_overlap: timedelta,
) -> list[Contact]:
    """The people who shared at least `min_overlap` with the index person at the same venues within the window.

    `others` may hold anyone's visits at the venues concerned, the index person's own included (skipped).
    Someone who shared no time at all is never a contact, even with a zero minimum.
    Sorted by overlap, longest first, then by person.
    """
    if window_end <= window_start:
        return []

    index_by_venue: dict[int, list[Visit]] = defaultdict(list)
    for visit in index_visits:
        if visit.person == index_person:  # callers' queries may be broader than one person
            index_by_venue[visit.venue].append(visit)
    index_presence: dict[int, tuple[list[Interval], list[datetime]]] = {}
    for venue, visits in index_by_venue.items():
        spans = presence(visits, start=window_start, end=window_end)
        if spans:
            index_presence[venue] = (spans, [end for _, end in spans])
    if not index_presence:
        return []

    other_visits: dict[tuple[int, int], list[Visit]] = defaultdict(list)
    for visit in others:
        if visit.person != index_person and visit.venue in index_presence:
            other_visits[visit.person, visit.venue].append(visit)

    exposures: dict[int, list[Exposure]] = defaultdict(list)
    for (person, venue), visits in other_visits.items():
        spans, ends = index_presence[venue]
        for start, end in _intersect(spans, ends, presence(visits)):
            exposures[person].append(Exposure(venue=venue, start=start, end=end))

    contacts: list[Contact] = []
    for person, found in exposures.items():
        overlap = sum((exposure.duration for exposure in found), _ZERO)
        if overlap >= min_overlap:
            found.sort(key=lambda exposure: (exposure.start, exposure.venue))
            contacts.append(Contact(person=person, overlap=overlap, exposures=tuple(found)))
    contacts.sort(key=lambda contact: (-contact.overlap, contact.person))
    return contacts
