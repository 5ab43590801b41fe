"""The resident registry: lookups (by ref, by ID number, by phone), masked views, and the batched CSV import."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from fangkong.auth import audit
from fangkong.auth.actor import Actor
from fangkong.auth.audit_models import AuditAction
from fangkong.core.crypto import Keyring
from fangkong.core.errors import Invalid, NotFound
from fangkong.core.ids import InvalidIdentity, normalize_phone
from fangkong.core.importing import CsvRow, ImportReport, RowError, batched, read_table
from fangkong.people.importer import PeopleImporter
from fangkong.people.models import Person
from fangkong.people.pii import id_lookup_hash, phone_lookup_hash, reveal_id_number, reveal_phone
from fangkong.people.prepare import prepare_batch, prepare_file_in_reader
from fangkong.people.schemas import PersonRead, RegionRef
from fangkong.regions.models import Household, Region


def get_person(db: Session, *, ref: str) -> Person:
    person = db.execute(select(Person).where(Person.ref == ref)).scalar_one_or_none()
    if person is None:
        raise NotFound("no person with ref %(ref)s", ref=ref)
    return person


def find_by_id_number(db: Session, *, keys: Keyring, number: str) -> Person | None:
    """Exact lookup by ID number of any document type (the keyed hash is the index; nothing is decrypted)."""
    normalized = re.sub(r"[\s-]", "", number).upper()
    stmt = select(Person).where(Person.id_hash == id_lookup_hash(keys, normalized))
    return db.execute(stmt).scalars().first()


def find_by_phone(db: Session, *, keys: Keyring, phone: str) -> Sequence[Person]:
    try:
        normalized = normalize_phone(phone)
    except InvalidIdentity as exc:
        raise Invalid(str(exc)) from None
    stmt = select(Person).where(Person.phone_hash == phone_lookup_hash(keys, normalized)).order_by(Person.ref)
    return db.execute(stmt).scalars().all()


def read_person(db: Session, *, keys: Keyring, ref: str) -> PersonRead:
    """The masked view of a person: what screens, the API and `fangkong person show` print by default."""
    row = db.execute(
        select(Person, Region, Household.ref)
        .join(Region, Person.region_id == Region.id)
        .outerjoin(Household, Person.household_id == Household.id)
        .where(Person.ref == ref)
    ).first()
    if row is None:
        raise NotFound("no person with ref %(ref)s", ref=ref)
    person, region, household_ref = row
    return PersonRead.masked(
        person,
        id_number=reveal_id_number(person, keys=keys),
        phone=reveal_phone(person, keys=keys),
        region=RegionRef(code=region.code, name=region.name, level=region.level),
        household_ref=household_ref,
    )


# --- import ------------------------------------------------------------------------------------------------

PEOPLE_COLUMNS = ("ref", "name", "id_number", "phone", "region_code", "household_ref", "address")
PEOPLE_OPTIONAL_COLUMNS = ("id_type",)


def import_people(
    db: Session,
    *,
    keys: Keyring,
    rows: Iterable[CsvRow | RowError],
    batch_size: int = 5000,
    on_batch: Callable[[int], None] | None = None,
    report: ImportReport | None = None,
) -> ImportReport:
    """Upsert people by ref, in batches. Bad rows are reported and skipped; the rest are stored."""
    importer = PeopleImporter(db, report=report)
    today = importer.now.date()
    for batch in batched(rows, batch_size):
        importer.store_batch(prepare_batch(batch, keys=keys, today=today))
        if on_batch:
            on_batch(len(batch))
    return importer.finish()


def import_people_file(
    db: Session,
    *,
    keys: Keyring,
    path: Path,
    batch_size: int = 5000,
    reader_process: bool = False,
    on_progress: Callable[[int], None] | None = None,
    report: ImportReport | None = None,
) -> ImportReport:
    """`import_people` from a CSV (UTF-8 or GB18030) or .xlsx file (`core.importing.read_table`), read as a
    stream. With `reader_process`, a second process reads, validates and encrypts while this one writes: on two
    cores that halves the time of a large import."""
    if not reader_process:
        rows = read_table(
            path, required=PEOPLE_COLUMNS, optional=PEOPLE_OPTIONAL_COLUMNS, on_progress=on_progress, where=str(path)
        )
        return import_people(db, keys=keys, rows=rows, batch_size=batch_size, report=report)
    importer = PeopleImporter(db, report=report)
    batches = prepare_file_in_reader(
        path,
        required=PEOPLE_COLUMNS,
        optional=PEOPLE_OPTIONAL_COLUMNS,
        keys=keys,
        today=importer.now.date(),
        size=batch_size,
    )
    for outcomes, consumed in batches:
        importer.store_batch(outcomes)
        if on_progress:
            on_progress(consumed)
    return importer.finish()


def record_import(db: Session, *, actor: Actor, source: str, report: ImportReport, reason: str) -> None:
    """One audit row per import (who, from which file, what changed, why). Per-person rows would double the time
    of a million-row import; the counts and the source say what changed, and the file is the evidence."""
    audit.record(
        db,
        actor=actor,
        action=AuditAction.person_import,
        entity_type="import",
        entity_ref=source[-64:],
        purpose=reason,
        details=f"{report.summary()}, unchanged {report.unchanged}",
    )
