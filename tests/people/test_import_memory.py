"""The imports' memory is bounded (issue 13, defect 11): the file is read one batch at a time, and what the
importers remember between batches (refs met, households, people) is bounded without changing any outcome. The
figures at a million rows are in docs/benchmarks.md (bench/import_memory.py)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from fangkong.core.crypto import Keyring
from fangkong.core.ids import make_resident_id
from fangkong.core.importing import CsvRow, FirstLines, RowError
from fangkong.core.runtime import Runtime
from fangkong.people import importer
from fangkong.people.models import Person
from fangkong.people.service import import_people
from fangkong.regions.models import Household
from fangkong.venues import checkin_import
from fangkong.venues.checkin_import import CHECKIN_COLUMNS, import_checkins
from fangkong.venues.checkins import Limits

from ..support.factories import csv_rows, load_regions
from ..support.venues import venue_city


def person_rows(count: int, *, household_every: int = 3) -> list[dict[str, str]]:
    return [
        {"ref": f"p{i}", "name": f"居民{i}",
         "id_number": make_resident_id("210802", dt.date(1980, 1, 1) + dt.timedelta(days=i), 10 + i),
         "phone": "", "region_code": "210802001001001", "household_ref": f"H{i // household_every}",
         "address": f"渤海大街{i}号"}
        for i in range(count)
    ]  # fmt: skip


class Counted:
    """A stream of rows that counts how many were taken from it."""

    def __init__(self, values: list[dict[str, str]]) -> None:
        self.values = values
        self.taken = 0

    def __iter__(self) -> Iterator[CsvRow | RowError]:
        for line, values in enumerate(self.values, start=2):
            self.taken += 1
            yield CsvRow(line, values)


def test_the_people_import_takes_the_file_one_batch_at_a_time(
    db: Session, keys: Keyring, monkeypatch: pytest.MonkeyPatch
) -> None:
    load_regions(db)
    rows = Counted(person_rows(10))
    taken_at_each_batch: list[int] = []
    store = importer.PeopleImporter.store_batch

    def counting(self: importer.PeopleImporter, outcomes: list) -> None:
        taken_at_each_batch.append(rows.taken)
        store(self, outcomes)

    monkeypatch.setattr(importer.PeopleImporter, "store_batch", counting)
    report = import_people(db, keys=keys, rows=rows, batch_size=4)
    assert taken_at_each_batch == [4, 8, 10]  # never more than the batch being stored
    assert report.summary() == "imported 10, updated 0, rejected 0"


def test_refs_and_households_met_long_ago_are_still_known_when_the_caches_are_bounded(
    db: Session, keys: Keyring, monkeypatch: pytest.MonkeyPatch
) -> None:
    load_regions(db)
    monkeypatch.setattr(importer, "HOUSEHOLD_CACHE", 1)
    monkeypatch.setattr(importer, "FirstLines", lambda: FirstLines(limit=2))
    values = person_rows(9)
    values.append(values[0] | {"name": "又一个"})  # line 11 repeats p0's ref (line 2), long forgotten in memory
    values.append(person_rows(12)[11] | {"household_ref": "H0"})  # joins H0, created in the first batch
    report = import_people(db, keys=keys, rows=iter(Counted(values)), batch_size=2)
    assert [str(e) for e in report.errors] == ["line 11: ref p0 repeats line 2"]
    assert report.summary() == "imported 10, updated 0, rejected 1"
    households = db.execute(select(Household.ref)).scalars().all()
    assert sorted(households) == ["H0", "H1", "H2"]  # no household made twice
    h0 = db.execute(select(Household.id).where(Household.ref == "H0")).scalar_one()
    members = db.execute(select(Person.ref).where(Person.household_id == h0)).scalars().all()
    assert sorted(members) == ["p0", "p1", "p11", "p2"]


def test_rows_colliding_with_the_registry_are_rejected_batch_by_batch_and_the_rest_stored(
    db: Session, keys: Keyring
) -> None:
    load_regions(db)
    import_people(db, keys=keys, rows=Counted(person_rows(6)), batch_size=4)
    # The same people under other refs (a second source's file), and two new ones among them.
    others = [r | {"ref": "X" + r["ref"]} for r in person_rows(6)] + person_rows(8)[6:]
    received: list[str] = []
    from fangkong.core.importing import ImportReport

    report = import_people(
        db, keys=keys, rows=Counted(others), batch_size=4, report=ImportReport(sink=lambda e: received.append(str(e)))
    )
    assert received == [f"line {i + 2}: ID number is already registered to ref p{i}" for i in range(6)]
    assert report.errors == []  # handed over batch by batch, not kept
    assert report.summary() == "imported 2, updated 0, rejected 6"


def test_the_checkin_import_takes_the_file_one_batch_at_a_time_with_a_bounded_cache(
    runtime: Runtime, keys: Keyring, monkeypatch: pytest.MonkeyPatch
) -> None:
    venue_city(runtime, keys)
    monkeypatch.setattr(checkin_import, "PEOPLE_CACHE", 1)
    at = (dt.datetime.now(dt.UTC) - dt.timedelta(hours=3)).replace(microsecond=0)
    text = "person_ref,venue_ref,checked_in_at,checked_out_at\n" + "".join(
        f"{ref},V-LONGSHAN,{(at + dt.timedelta(minutes=i)).isoformat()},\n"
        for i, ref in enumerate(["wang-fang", "li-qiang", "zhang-wei", "nobody", "wang-fang", "li-qiang", "li-qiang"])
    )
    taken = 0

    def counted() -> Iterator[CsvRow | RowError]:
        nonlocal taken
        for item in csv_rows(text, required=CHECKIN_COLUMNS):
            taken += 1
            yield item

    taken_at_each_batch: list[int] = []
    batch = checkin_import.CheckinImporter.import_batch

    def counting(self: checkin_import.CheckinImporter, items: list) -> None:
        taken_at_each_batch.append(taken)
        batch(self, items)

    monkeypatch.setattr(checkin_import.CheckinImporter, "import_batch", counting)
    limits = Limits(retention=dt.timedelta(days=28), future_skew=dt.timedelta(minutes=5))
    with runtime.database.unit_of_work() as db:
        report = import_checkins(db, rows=counted(), limits=limits, batch_size=3)
    assert taken_at_each_batch == [3, 6, 7]
    assert [str(e) for e in report.errors] == ["line 5: unknown person nobody"]
    assert report.imported == 6
