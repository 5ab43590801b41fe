"""`fangkong import checkins`: person_ref,venue_ref,checked_in_at,checked_out_at.

The same person, venue and check-in time is the same check-in: re-running a file changes nothing, and a row
that now has a check-out updates it. Batched for tens of millions of rows: refs are cached, existing check-ins
of a batch are found with one query on the unique index (person, time window), writes are executemany.
Memory stays flat whatever the file's length: rows are read as a stream, batch by batch, the cache of person refs
is bounded, and rejections are handed to the report's sink at the end of each batch.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from fangkong.core import clock
from fangkong.core.importing import CsvRow, ImportReport, RowError, batched, chunks
from fangkong.people.models import Person
from fangkong.venues.checkins import Limits, insert_checkins, stay_problem
from fangkong.venues.models import Checkin, CheckinSource, Venue

CHECKIN_COLUMNS = ("person_ref", "venue_ref", "checked_in_at", "checked_out_at")
PEOPLE_CACHE = 200_000  # person refs remembered between batches (a city has millions; a batch needs thousands)


@dataclass(slots=True)
class _Row:
    line: int
    person_id: int
    venue_id: int
    checked_in_at: dt.datetime
    checked_out_at: dt.datetime | None


def _instant(text: str, name: str) -> dt.datetime | str:
    try:
        value = dt.datetime.fromisoformat(text)
    except ValueError:
        return f"{name} {text!r} is not an ISO 8601 time like 2022-03-20T14:05:00+08:00"
    if value.tzinfo is None:
        return f"{name} {text!r} has no UTC offset; write it like 2022-03-20T14:05:00+08:00"
    return value.astimezone(dt.UTC)


class CheckinImporter:
    def __init__(self, db: Session, *, limits: Limits, report: ImportReport | None = None) -> None:
        self.db = db
        self.limits = limits
        self.now = clock.now()
        self.report = report if report is not None else ImportReport()
        self.venues: dict[str, int] = dict(db.execute(select(Venue.ref, Venue.id)).all())
        self.people: dict[str, int | None] = {}

    def _resolve_people(self, refs: set[str]) -> None:
        if len(self.people) > PEOPLE_CACHE:
            self.people = {ref: self.people[ref] for ref in refs if ref in self.people}
        missing = sorted(refs - self.people.keys())
        for batch in chunks(missing, 2000):
            self.people |= dict(self.db.execute(select(Person.ref, Person.id).where(Person.ref.in_(batch))).all())
            for ref in batch:
                self.people.setdefault(ref, None)

    def _parse(self, row: CsvRow) -> _Row | str:
        v = row.values
        venue_id = self.venues.get(v["venue_ref"])
        if venue_id is None:
            return f"unknown venue {v['venue_ref']}"
        person_id = self.people.get(v["person_ref"])
        if person_id is None:
            return f"unknown person {v['person_ref']}"
        checked_in = _instant(v["checked_in_at"], "checked_in_at")
        if isinstance(checked_in, str):
            return checked_in
        if problem := self.limits.problem(checked_in, self.now):
            return str(problem)  # the command's report is in English
        checked_out: dt.datetime | None = None
        if v["checked_out_at"]:
            out = _instant(v["checked_out_at"], "checked_out_at")
            if isinstance(out, str):
                return out
            if problem := stay_problem(checked_in, out):
                return str(problem)
            checked_out = out
        return _Row(row.line, person_id, venue_id, checked_in, checked_out)

    def import_batch(self, items: list[CsvRow | RowError]) -> None:
        rows = [i for i in items if isinstance(i, CsvRow)]
        self.report.errors.extend(i for i in items if isinstance(i, RowError))
        self._resolve_people({r.values["person_ref"] for r in rows})
        parsed: dict[tuple[int, dt.datetime, int], _Row] = {}
        for item in rows:
            result = self._parse(item)
            if isinstance(result, str):
                self.report.reject(item.line, result)
                continue
            key = (result.person_id, result.checked_in_at, result.venue_id)
            if key in parsed:
                self.report.reject(item.line, f"the same check-in as line {parsed[key].line}")
                continue
            parsed[key] = result
        existing = self._existing(list(parsed.values()))
        new: list[tuple[int, int, dt.datetime, dt.datetime | None, str | None]] = []
        changed = []
        for key, r in parsed.items():
            old = existing.get(key)
            if old is None:
                new.append((r.person_id, r.venue_id, r.checked_in_at, r.checked_out_at, None))
            elif old[1] != r.checked_out_at:
                changed.append({"id": old[0], "checked_out_at": r.checked_out_at})
            else:
                self.report.unchanged += 1
        insert_checkins(self.db, new, CheckinSource.import_)
        if changed:
            self.db.execute(update(Checkin), changed)
        self.report.imported += len(new)
        self.report.updated += len(changed)
        self.report.flush()

    def _existing(self, rows: list[_Row]) -> dict[tuple[int, dt.datetime, int], tuple[int, dt.datetime | None]]:
        """Check-ins of these people within the batch's time window: served by the unique index."""
        if not rows:
            return {}
        low = min(r.checked_in_at for r in rows)
        high = max(r.checked_in_at for r in rows)
        found: dict[tuple[int, dt.datetime, int], tuple[int, dt.datetime | None]] = {}
        for batch in chunks(sorted({r.person_id for r in rows}), 2000):
            stmt = select(Checkin.person_id, Checkin.checked_in_at, Checkin.venue_id, Checkin.id,
                          Checkin.checked_out_at).where(
                Checkin.person_id.in_(batch), Checkin.checked_in_at >= low, Checkin.checked_in_at <= high
            )  # fmt: skip
            for person_id, at, venue_id, checkin_id, out in self.db.execute(stmt):
                found[(person_id, at, venue_id)] = (checkin_id, out)
        return found

    def finish(self) -> ImportReport:
        self.report.flush()
        return self.report


def import_checkins(
    db: Session,
    *,
    rows: Iterable[CsvRow | RowError],
    limits: Limits,
    batch_size: int = 5000,
    on_batch: Callable[[int], None] | None = None,
    report: ImportReport | None = None,
) -> ImportReport:
    importer = CheckinImporter(db, limits=limits, report=report)
    for batch in batched(rows, batch_size):
        importer.import_batch(batch)
        if on_batch:
            on_batch(len(batch))
    return importer.finish()
