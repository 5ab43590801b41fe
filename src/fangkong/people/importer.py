"""The database half of the people import: resolve regions and households, upsert by ref, batch by batch.

A million rows must go in well under a minute on SQLite, so a batch costs a handful of queries and two
executemany statements, never a query per row:
- rows are inserted optimistically inside a SAVEPOINT; the unique index on the ID-number hash refuses a number
  that another person already holds, and only then is the batch redone with an explicit check that names the
  holder (so the common case pays no lookup of ID numbers at all);
- unchanged rows are not rewritten: comparing keyed hashes tells whether an ID number or phone changed without
  decrypting anything, and the old ciphertext is kept.

Memory is bounded whatever the file's length or the registry's size: the writer holds one batch, existing people
and ID-number holders are looked up per batch (IN (...) on the ref and on the keyed hash, never the whole
registry), the caches of households and refs already met are bounded (`FirstLines`, `HOUSEHOLD_CACHE`), and
rejections go to the report's sink at the end of each batch.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, cast

from sqlalchemy import Table, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from fangkong.core import clock
from fangkong.core.db import bulk_insert, driver_processor, driver_value
from fangkong.core.ids import IdType
from fangkong.core.importing import FirstLines, ImportReport, RowError, chunks
from fangkong.people.models import Person
from fangkong.people.prepare import Outcome, PreparedRow, Rejected
from fangkong.regions.models import RESIDENCE_LEVELS, Household, Region, RegionLevel

_QUERY_CHUNK = 2000  # stays far below SQLite's and PostgreSQL's bound-parameter limits
HOUSEHOLD_CACHE = 200_000  # households remembered between batches; beyond, they are looked up again
_PERSON = cast(Table, Person.__table__)
_HOUSEHOLD = cast(Table, Household.__table__)
_PERSON_INSERT_COLUMNS = (
    "ref", "name", "id_type", "id_number_enc", "id_hash", "birth_date", "sex", "phone_enc", "phone_hash",
    "region_id", "household_id", "address", "created_at", "updated_at",
)  # fmt: skip


@dataclass(slots=True)
class _Existing:
    id: int
    name: str
    id_type: IdType
    id_hash: bytes
    id_number_enc: bytes
    phone_hash: bytes | None
    phone_enc: bytes | None
    region_id: int
    household_id: int | None
    address: str


@dataclass(slots=True)
class _Counts:
    imported: int = 0
    updated: int = 0
    unchanged: int = 0


class PeopleImporter:
    def __init__(self, db: Session, *, report: ImportReport | None = None) -> None:
        self.db = db
        self.report = report if report is not None else ImportReport()
        self.now = clock.now()
        dialect = db.get_bind().dialect
        self._now_driver = driver_value(_PERSON.c.created_at, self.now, dialect)
        self._date_driver = driver_processor(_PERSON.c.birth_date, dialect)
        self._first_lines = FirstLines()
        self._regions: dict[str, tuple[int, RegionLevel] | None] = {}
        self._households: dict[str, tuple[int, int]] = {}  # ref -> (household id, region id)
        # A first load into an empty registry (the million-row case) needs no lookups of existing people or
        # households: every ref met for the first time is new, and everything else is in memory.
        self._people_started_empty = db.execute(select(Person.id).limit(1)).first() is None
        self._households_started_empty = db.execute(select(Household.id).limit(1)).first() is None

    def finish(self) -> ImportReport:
        self._first_lines.close()
        self.report.flush()
        return self.report

    def store_batch(self, outcomes: list[Outcome | RowError]) -> None:
        self._store(outcomes)
        self.report.flush()

    def _store(self, outcomes: list[Outcome | RowError]) -> None:
        rows: list[PreparedRow] = []
        # A ref is taken by its first appearance, valid or not.
        repeats = self._first_lines.claim((o.ref, o.line) for o in outcomes if not isinstance(o, RowError) and o.ref)
        for item in outcomes:
            if isinstance(item, RowError):
                self.report.errors.append(item)
                continue
            if (first := repeats.get(item.line)) is not None:
                self.report.reject(item.line, f"ref {item.ref} repeats line {first}")
                continue
            if isinstance(item, Rejected):
                self.report.reject(item.line, item.reason)
            else:
                rows.append(item)
        rows = self._resolve_regions(rows)
        rows = self._check_households(rows)
        rows = self._drop_repeated_ids(rows)
        try:
            self._write_in_savepoint(rows, trust_empty_start=True)
        except IntegrityError:
            # Some ID number is held by a person outside this batch (or a concurrent writer added a ref): find
            # who, report it, and store the rest, this time looking everything up.
            self._write_in_savepoint(self._check_id_holders(rows), trust_empty_start=False)

    def _write_in_savepoint(self, rows: list[PreparedRow], *, trust_empty_start: bool) -> None:
        created: list[str] = []
        try:
            with self.db.begin_nested():
                self._create_households(rows, created)
                if trust_empty_start and self._people_started_empty:
                    existing: dict[str, _Existing] = {}
                else:
                    existing = self._existing_by_ref(rows)
                counts = self._write(rows, existing)
        except IntegrityError:
            for ref in created:  # those created in the savepoint are gone
                self._households.pop(ref, None)
            raise
        self.report.imported += counts.imported
        self.report.updated += counts.updated
        self.report.unchanged += counts.unchanged

    # -- checks against the database, a few queries per batch --

    def _resolve_regions(self, rows: list[PreparedRow]) -> list[PreparedRow]:
        missing = sorted({r.region_code for r in rows} - self._regions.keys())
        for batch in chunks(missing, _QUERY_CHUNK):
            found = self.db.execute(select(Region.code, Region.id, Region.level).where(Region.code.in_(batch)))
            for code, region_id, level in found:
                self._regions[code] = (region_id, level)
            for code in batch:
                self._regions.setdefault(code, None)
        kept = []
        for r in rows:
            region = self._regions[r.region_code]
            if region is None:
                self.report.reject(r.line, f"region {r.region_code} does not exist")
            elif region[1] not in RESIDENCE_LEVELS:
                self.report.reject(
                    r.line, f"region {r.region_code} is a {region[1].value}; people live in a community or grid"
                )
            else:
                r.region_id = region[0]
                kept.append(r)
        return kept

    def _check_households(self, rows: list[PreparedRow]) -> list[PreparedRow]:
        """A household lives in one region: members registered elsewhere are refused."""
        if len(self._households) > HOUSEHOLD_CACHE:
            # Forget them: from now on households are looked up, including those this import created.
            self._households = {}
            self._households_started_empty = False
        refs = sorted({r.household_ref for r in rows if r.household_ref} - self._households.keys())
        if self._households_started_empty:
            refs = []  # every household is in self._households once this import created it
        for batch in chunks(refs, _QUERY_CHUNK):
            stmt = select(Household.ref, Household.id, Household.region_id).where(Household.ref.in_(batch))
            for ref, household_id, region_id in self.db.execute(stmt):
                self._households[ref] = (household_id, region_id)
        first_seen: dict[str, int] = {}  # new household ref -> region of its first member in this batch
        kept = []
        for r in rows:
            if r.household_ref is not None:
                known = self._households.get(r.household_ref)
                home = known[1] if known else first_seen.setdefault(r.household_ref, r.region_id)
                if home != r.region_id:
                    self.report.reject(
                        r.line, f"household {r.household_ref} is registered in another region than {r.region_code}"
                    )
                    continue
            kept.append(r)
        return kept

    def _drop_repeated_ids(self, rows: list[PreparedRow]) -> list[PreparedRow]:
        """One document, one person, within the batch (the unique index covers the rest)."""
        first: dict[tuple[bytes, IdType], PreparedRow] = {}
        kept = []
        for r in rows:
            other = first.setdefault((r.id_hash, r.id_type), r)
            if other is not r:
                self.report.reject(r.line, f"ID number repeats line {other.line} (ref {other.ref})")
            else:
                kept.append(r)
        return kept

    def _check_id_holders(self, rows: list[PreparedRow]) -> list[PreparedRow]:
        holder: dict[tuple[bytes, IdType], str] = {}
        for batch in chunks([r.id_hash for r in rows], _QUERY_CHUNK):
            stmt = select(Person.id_hash, Person.id_type, Person.ref).where(Person.id_hash.in_(batch))
            for id_hash, id_type, ref in self.db.execute(stmt):
                holder[(id_hash, id_type)] = ref
        kept = []
        for r in rows:
            owner = holder.get((r.id_hash, r.id_type))
            if owner is not None and owner != r.ref:
                self.report.reject(r.line, f"ID number is already registered to ref {owner}")
            else:
                kept.append(r)
        return kept

    def _existing_by_ref(self, rows: list[PreparedRow]) -> dict[str, _Existing]:
        existing: dict[str, _Existing] = {}
        p = Person
        columns = (p.ref, p.id, p.name, p.id_type, p.id_hash, p.id_number_enc, p.phone_hash, p.phone_enc)
        for batch in chunks([r.ref for r in rows], _QUERY_CHUNK):
            stmt = select(*columns, p.region_id, p.household_id, p.address).where(p.ref.in_(batch))
            for ref, *rest in self.db.execute(stmt):
                existing[ref] = _Existing(*rest)
        return existing

    # -- writes: one executemany for the new rows, one for the changed ones --

    def _create_households(self, rows: list[PreparedRow], created: list[str]) -> None:
        """New households take the region and address of their first member in the file; their refs are added
        to `created`."""
        founders: dict[str, PreparedRow] = {}
        for r in rows:
            if r.household_ref and r.household_ref not in self._households:
                founders.setdefault(r.household_ref, r)
        for batch in chunks(list(founders.values()), _QUERY_CHUNK):
            values = [(r.household_ref, r.region_id, r.address, self._now_driver) for r in batch]
            bulk_insert(self.db, _HOUSEHOLD, ("ref", "region_id", "address", "created_at"), values)
            stmt = select(Household.ref, Household.id, Household.region_id).where(
                Household.ref.in_([r.household_ref for r in batch])
            )
            for ref, household_id, region_id in self.db.execute(stmt):
                self._households[ref] = (household_id, region_id)
                created.append(ref)
        for r in rows:
            if r.household_ref:
                r.household_id = self._households[r.household_ref][0]

    def _write(self, rows: list[PreparedRow], existing: dict[str, _Existing]) -> _Counts:
        counts = _Counts()
        inserts: list[tuple[Any, ...]] = []
        updates: list[dict[str, Any]] = []
        now, to_date = self._now_driver, self._date_driver
        for r in rows:
            old = existing.get(r.ref)
            if old is None:
                birth = to_date(r.birth_date) if to_date and r.birth_date else r.birth_date
                sex = r.sex.value if r.sex else None
                inserts.append(
                    (
                        r.ref, r.name, r.id_type.value, r.id_enc, r.id_hash, birth, sex, r.phone_enc,
                        r.phone_hash, r.region_id, r.household_id, r.address, now, now,
                    )
                )  # fmt: skip
            elif (
                old.name == r.name
                and old.id_type is r.id_type
                and old.id_hash == r.id_hash
                and old.phone_hash == r.phone_hash
                and old.region_id == r.region_id
                and old.household_id == r.household_id
                and old.address == r.address
            ):
                counts.unchanged += 1
            else:
                updates.append(
                    {
                        "id": old.id,
                        "name": r.name,
                        "id_type": r.id_type,
                        # Keep the old ciphertext when the value did not change.
                        "id_number_enc": old.id_number_enc if old.id_hash == r.id_hash else r.id_enc,
                        "id_hash": r.id_hash,
                        "birth_date": r.birth_date,
                        "sex": r.sex,
                        "phone_enc": old.phone_enc if old.phone_hash == r.phone_hash else r.phone_enc,
                        "phone_hash": r.phone_hash,
                        "region_id": r.region_id,
                        "household_id": r.household_id,
                        "address": r.address,
                        "updated_at": self.now,
                    }
                )
        bulk_insert(self.db, _PERSON, _PERSON_INSERT_COLUMNS, inserts)
        counts.imported = len(inserts)
        if updates:
            self.db.execute(update(Person), updates)  # ORM bulk UPDATE by primary key: one executemany
            counts.updated = len(updates)
        return counts
