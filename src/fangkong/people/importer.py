"""The people import, batch by batch: validate rows, resolve regions and households, upsert by ref.

A million rows must go in well under a minute on SQLite, so each batch costs a handful of queries (regions,
existing refs, ID-number hashes, households) and two executemany statements, never a query per row.
Unchanged rows are not rewritten: comparing keyed hashes tells whether an ID number or phone changed without
decrypting anything.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any, cast

from sqlalchemy import Table, insert, select, update
from sqlalchemy.orm import Session

from fangkong.core import clock
from fangkong.core.crypto import Keyring
from fangkong.core.ids import (
    IdType,
    InvalidIdentity,
    Sex,
    normalize_document,
    normalize_phone,
    parse_resident_id,
)
from fangkong.core.importing import CsvRow, ImportReport, RowError, chunks
from fangkong.people import pii
from fangkong.people.models import Person
from fangkong.regions.models import RESIDENCE_LEVELS, Household, Region, RegionLevel

_ID_TYPES = ", ".join(t.value for t in IdType)
_QUERY_CHUNK = 2000  # stays far below SQLite's and PostgreSQL's bound-parameter limits


@dataclass(slots=True)
class _Row:
    line: int
    ref: str
    name: str
    id_type: IdType
    id_number: str
    id_hash: bytes
    birth_date: dt.date | None
    sex: Sex | None
    phone: str | None
    phone_hash: bytes | None
    region_code: str
    household_ref: str | None
    address: str
    region_id: int = 0
    household_id: int | None = None


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


class PeopleImporter:
    def __init__(self, db: Session, *, keys: Keyring) -> None:
        self.db = db
        self.keys = keys
        self.report = ImportReport()
        self.now = clock.now()
        self.today = self.now.date()
        self._first_line_of_ref: dict[str, int] = {}
        self._regions: dict[str, tuple[int, RegionLevel] | None] = {}
        self._households: dict[str, tuple[int, int]] = {}  # ref -> (household id, region id)

    def finish(self) -> ImportReport:
        self.report.errors.sort(key=lambda e: e.line)
        return self.report

    def import_batch(self, items: list[CsvRow | RowError]) -> None:
        rows: list[_Row] = []
        for item in items:
            if isinstance(item, RowError):
                self.report.errors.append(item)
                continue
            ref = item.values["ref"]
            if ref:
                first = self._first_line_of_ref.setdefault(ref, item.line)
                if first != item.line:
                    self.report.reject(item.line, f"ref {ref} repeats line {first}")
                    continue
            parsed = self._parse(item)
            if isinstance(parsed, str):
                self.report.reject(item.line, parsed)
            else:
                rows.append(parsed)
        rows = self._resolve_regions(rows)
        rows = self._check_households(rows)
        # Last check before writing, so that only rows that will be stored claim their ID number.
        rows = self._check_id_numbers(rows)
        self._create_households(rows)
        self._write(rows, self._existing_by_ref(rows))

    # -- validation of one row (pure) --

    def _parse(self, row: CsvRow) -> _Row | str:
        v = row.values
        ref, name = v["ref"], v["name"]
        if not ref:
            return "ref is empty"
        if len(ref) > 64:
            return "ref is longer than 64 characters"
        if not name:
            return "name is empty"
        if len(name) > 100:
            return "name is longer than 100 characters"
        type_text = v.get("id_type") or IdType.resident_id.value
        try:
            id_type = IdType(type_text.lower())
        except ValueError:
            return f"id_type {type_text!r} is not one of {_ID_TYPES}"
        raw_id = v["id_number"]
        if not raw_id:
            return "id_number is empty"
        birth: dt.date | None = None
        sex: Sex | None = None
        try:
            if id_type is IdType.resident_id:
                resident = parse_resident_id(raw_id, today=self.today)
                number, birth, sex = resident.number, resident.birth_date, resident.sex
            else:
                number = normalize_document(id_type, raw_id)
        except InvalidIdentity as exc:
            return f"invalid ID number: {exc}"
        phone: str | None = None
        if v["phone"]:
            try:
                phone = normalize_phone(v["phone"])
            except InvalidIdentity as exc:
                return f"invalid phone: {exc}"
        region_code = v["region_code"]
        if not region_code:
            return "region_code is empty"
        address = v["address"]
        if len(address) > 255:
            return "address is longer than 255 characters"
        household_ref = v["household_ref"] or None
        if household_ref and len(household_ref) > 64:
            return "household_ref is longer than 64 characters"
        return _Row(
            line=row.line,
            ref=ref,
            name=name,
            id_type=id_type,
            id_number=number,
            id_hash=pii.id_lookup_hash(self.keys, number),
            birth_date=birth,
            sex=sex,
            phone=phone,
            phone_hash=pii.phone_lookup_hash(self.keys, phone) if phone else None,
            region_code=region_code,
            household_ref=household_ref,
            address=address,
        )

    # -- checks against the database, a few queries per batch --

    def _resolve_regions(self, rows: list[_Row]) -> list[_Row]:
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
                    r.line,
                    f"region {r.region_code} is a {region[1].value}; people live in a community or grid",
                )
            else:
                r.region_id = region[0]
                kept.append(r)
        return kept

    def _existing_by_ref(self, rows: list[_Row]) -> dict[str, _Existing]:
        existing: dict[str, _Existing] = {}
        p = Person
        columns = (p.ref, p.id, p.name, p.id_type, p.id_hash, p.id_number_enc, p.phone_hash, p.phone_enc)
        for batch in chunks([r.ref for r in rows], _QUERY_CHUNK):
            stmt = select(*columns, p.region_id, p.household_id, p.address).where(p.ref.in_(batch))
            for ref, *rest in self.db.execute(stmt):
                existing[ref] = _Existing(*rest)
        return existing

    def _check_id_numbers(self, rows: list[_Row]) -> list[_Row]:
        """One document, one person: an ID number already held by another ref is refused."""
        holder: dict[tuple[bytes, IdType], str] = {}
        for batch in chunks([r.id_hash for r in rows], _QUERY_CHUNK):
            stmt = select(Person.id_hash, Person.id_type, Person.ref).where(Person.id_hash.in_(batch))
            for id_hash, id_type, ref in self.db.execute(stmt):
                holder[(id_hash, id_type)] = ref
        in_batch: dict[tuple[bytes, IdType], _Row] = {}
        kept = []
        for r in rows:
            key = (r.id_hash, r.id_type)
            other = in_batch.get(key)
            if other is not None:
                self.report.reject(r.line, f"ID number repeats line {other.line} (ref {other.ref})")
                continue
            owner = holder.get(key)
            if owner is not None and owner != r.ref:
                self.report.reject(r.line, f"ID number is already registered to ref {owner}")
                continue
            in_batch[key] = r
            kept.append(r)
        return kept

    def _check_households(self, rows: list[_Row]) -> list[_Row]:
        """A household lives in one region: members registered elsewhere are refused."""
        refs = sorted({r.household_ref for r in rows if r.household_ref} - self._households.keys())
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

    def _create_households(self, rows: list[_Row]) -> None:
        """New households take the region and address of their first member in the file."""
        founders: dict[str, _Row] = {}
        for r in rows:
            if r.household_ref and r.household_ref not in self._households:
                founders.setdefault(r.household_ref, r)
        for batch in chunks(list(founders.values()), _QUERY_CHUNK):
            values = [
                {"ref": r.household_ref, "region_id": r.region_id, "address": r.address, "created_at": self.now}
                for r in batch
            ]
            self.db.execute(insert(Household), values)
            stmt = select(Household.ref, Household.id, Household.region_id).where(
                Household.ref.in_([r.household_ref for r in batch])
            )
            for ref, household_id, region_id in self.db.execute(stmt):
                self._households[ref] = (household_id, region_id)
        for r in rows:
            if r.household_ref:
                r.household_id = self._households[r.household_ref][0]

    # -- writes: one executemany for the new rows, one for the changed ones --

    def _write(self, rows: list[_Row], existing: dict[str, _Existing]) -> None:
        inserts: list[dict[str, Any]] = []
        updates: list[dict[str, Any]] = []
        for r in rows:
            old = existing.get(r.ref)
            if old is None:
                inserts.append(self._values(r, None))
                continue
            same = (
                old.name == r.name
                and old.id_type is r.id_type
                and old.id_hash == r.id_hash
                and old.phone_hash == r.phone_hash
                and old.region_id == r.region_id
                and old.household_id == r.household_id
                and old.address == r.address
            )
            if same:
                self.report.unchanged += 1
            else:
                values = self._values(r, old)
                values["id"] = old.id
                del values["created_at"]
                updates.append(values)
        if inserts:
            self.db.execute(insert(cast(Table, Person.__table__)), inserts)
            self.report.imported += len(inserts)
        if updates:
            # ORM bulk UPDATE by primary key: one executemany.
            self.db.execute(update(Person), updates)
            self.report.updated += len(updates)

    def _values(self, r: _Row, old: _Existing | None) -> dict[str, Any]:
        # Keep the old ciphertext when the value did not change: no needless re-encryption.
        if old is not None and old.id_hash == r.id_hash:
            id_enc = old.id_number_enc
        else:
            id_enc = pii.encrypt_id_number(self.keys, r.id_number)
        if r.phone is None:
            phone_enc = None
        elif old is not None and old.phone_hash == r.phone_hash:
            phone_enc = old.phone_enc
        else:
            phone_enc = pii.encrypt_phone(self.keys, r.phone)
        return {
            "ref": r.ref,
            "name": r.name,
            "id_type": r.id_type,
            "id_number_enc": id_enc,
            "id_hash": r.id_hash,
            "birth_date": r.birth_date,
            "sex": r.sex,
            "phone_enc": phone_enc,
            "phone_hash": r.phone_hash,
            "region_id": r.region_id,
            "household_id": r.household_id,
            "address": r.address,
            "created_at": self.now,
            "updated_at": self.now,
        }
