"""The pure half of the people import: validate a row, normalise it, hash and encrypt its identity fields.

It needs no database, so a large file is read and prepared by a second process while the main process
writes (see `prepare_file_in_reader`); a million rows are mostly this work. Everything here must stay picklable.
"""

from __future__ import annotations

import datetime as dt
import multiprocessing
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from queue import Empty
from typing import Any

from fangkong.core.crypto import Keyring
from fangkong.core.ids import IdType, InvalidIdentity, Sex, normalize_document, normalize_phone, parse_resident_id
from fangkong.core.importing import CsvRow, RowError, batched, read_table
from fangkong.people import pii

_ID_TYPES = ", ".join(t.value for t in IdType)


@dataclass(slots=True)
class PreparedRow:
    line: int
    ref: str
    name: str
    id_type: IdType
    id_hash: bytes
    id_enc: bytes
    birth_date: dt.date | None
    sex: Sex | None
    phone_hash: bytes | None
    phone_enc: bytes | None
    region_code: str
    household_ref: str | None
    address: str
    region_id: int = 0
    household_id: int | None = None


@dataclass(frozen=True, slots=True)
class Rejected:
    line: int
    ref: str  # may be empty; the importer still needs it to spot repeated refs
    reason: str


Outcome = PreparedRow | Rejected


def prepare_row(row: CsvRow, *, keys: Keyring, today: dt.date) -> Outcome:
    v = row.values
    ref, name = v["ref"], v["name"]

    def reject(reason: str) -> Rejected:
        return Rejected(row.line, ref, reason)

    if not ref:
        return reject("ref is empty")
    if len(ref) > 64:
        return reject("ref is longer than 64 characters")
    if not name:
        return reject("name is empty")
    if len(name) > 100:
        return reject("name is longer than 100 characters")
    type_text = v.get("id_type") or IdType.resident_id.value
    try:
        id_type = IdType(type_text.lower())
    except ValueError:
        return reject(f"id_type {type_text!r} is not one of {_ID_TYPES}")
    raw_id = v["id_number"]
    if not raw_id:
        return reject("id_number is empty")
    birth: dt.date | None = None
    sex: Sex | None = None
    try:
        if id_type is IdType.resident_id:
            resident = parse_resident_id(raw_id, today=today)
            number, birth, sex = resident.number, resident.birth_date, resident.sex
        else:
            number = normalize_document(id_type, raw_id)
    except InvalidIdentity as exc:
        return reject(f"invalid ID number: {exc}")
    phone: str | None = None
    if v["phone"]:
        try:
            phone = normalize_phone(v["phone"])
        except InvalidIdentity as exc:
            return reject(f"invalid phone: {exc}")
    region_code = v["region_code"]
    if not region_code:
        return reject("region_code is empty")
    address = v["address"]
    if len(address) > 255:
        return reject("address is longer than 255 characters")
    household_ref = v["household_ref"] or None
    if household_ref and len(household_ref) > 64:
        return reject("household_ref is longer than 64 characters")
    return PreparedRow(
        line=row.line,
        ref=ref,
        name=name,
        id_type=id_type,
        id_hash=pii.id_lookup_hash(keys, number),
        id_enc=pii.encrypt_id_number(keys, number),
        birth_date=birth,
        sex=sex,
        phone_hash=pii.phone_lookup_hash(keys, phone) if phone else None,
        phone_enc=pii.encrypt_phone(keys, phone) if phone else None,
        region_code=region_code,
        household_ref=household_ref,
        address=address,
    )


def prepare_batch(items: list[CsvRow | RowError], *, keys: Keyring, today: dt.date) -> list[Outcome | RowError]:
    return [item if isinstance(item, RowError) else prepare_row(item, keys=keys, today=today) for item in items]


# --- between processes: plain tuples, because pickling dataclasses and enums costs as much as preparing them

_Wire = tuple[Any, ...]


def to_wire(outcome: Outcome | RowError) -> _Wire | Rejected | RowError:
    if not isinstance(outcome, PreparedRow):
        return outcome  # rare; pickled as they are
    o = outcome
    return (
        o.line, o.ref, o.name, o.id_type.value, o.id_hash, o.id_enc,
        o.birth_date.toordinal() if o.birth_date else None, o.sex.value if o.sex else None,
        o.phone_hash, o.phone_enc, o.region_code, o.household_ref, o.address,
    )  # fmt: skip


def from_wire(item: _Wire | Rejected | RowError) -> Outcome | RowError:
    if not isinstance(item, tuple):
        return item
    birth = dt.date.fromordinal(item[6]) if item[6] is not None else None
    sex = Sex(item[7]) if item[7] is not None else None
    return PreparedRow(
        item[0], item[1], item[2], IdType(item[3]), item[4], item[5], birth, sex,
        item[8], item[9], item[10], item[11], item[12],
    )  # fmt: skip


# --- the reader process ------------------------------------------------------------------------------------

PreparedBatch = tuple[list[Outcome | RowError], int]  # outcomes, bytes of the file they came from


def _read_and_prepare(
    path: str, columns: tuple[tuple[str, ...], tuple[str, ...]], secret: str, today: dt.date, size: int, queue: Any
) -> None:
    """Runs in the reader process: read the CSV, prepare it batch by batch, hand the batches over."""
    try:
        keys = Keyring.from_secret(secret)
        consumed = 0

        def count(n: int) -> None:
            nonlocal consumed
            consumed += n

        rows = read_table(Path(path), required=columns[0], optional=columns[1], on_progress=count, where=path)
        for batch in batched(rows, size):
            queue.put(("batch", [to_wire(o) for o in prepare_batch(batch, keys=keys, today=today)], consumed))
            consumed = 0
        queue.put(("batch", [], consumed))  # the bytes after the last row
        queue.put(("done", None, 0))
    except BaseException as exc:  # handed to the main process, which raises it
        queue.put(("error", exc, 0))


def prepare_file_in_reader(
    path: Path, *, required: tuple[str, ...], optional: tuple[str, ...], keys: Keyring, today: dt.date, size: int
) -> Iterator[PreparedBatch]:
    """Prepared batches of a CSV or .xlsx file, read and prepared by a second process while this one writes.

    The queue holds at most a few batches, so a huge file is never read far ahead of the database.
    """
    context = multiprocessing.get_context("spawn")  # fork is unsafe with the progress bar's thread
    queue = context.Queue(maxsize=4)
    reader = context.Process(
        target=_read_and_prepare,
        args=(str(path), (required, optional), keys.secret, today, size, queue),
        daemon=True,
    )
    reader.start()
    try:
        while True:
            try:
                kind, payload, consumed = queue.get(timeout=5)
            except Empty:
                if not reader.is_alive():
                    raise RuntimeError(f"the reader process of {path} died (exit code {reader.exitcode})") from None
                continue
            if kind == "done":
                return
            if kind == "error":
                raise payload
            yield [from_wire(item) for item in payload], consumed
    finally:
        if reader.is_alive():
            reader.terminate()
        reader.join()
