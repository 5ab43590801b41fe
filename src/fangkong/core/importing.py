"""Shared plumbing for imports: reading a CSV or .xlsx file, header checks, line numbers, per-row errors and the
summary.

Every importer follows the same contract: each bad row is reported as ``line N: reason`` and skipped, good rows
are stored, re-running the same file changes nothing, and the summary reads ``imported X, updated Y, rejected Z``.

Files are what people exchange, so `read_table` takes what spreadsheets save:
- CSV in UTF-8 (with or without the BOM Excel's "CSV UTF-8" writes) or in GB18030, the superset of GBK that Excel
  on Chinese Windows writes as plain "CSV". The encoding is chosen by the non-ASCII lines of the file's first
  megabyte (a line of Chinese in GBK is almost never valid UTF-8, while UTF-8 often decodes as GB18030 nonsense,
  so UTF-8 wins a tie). A line that is not valid in the file's encoding is that line's rejection, never the file's.
- .xlsx workbooks (recognised by their content, whatever the name), the first sheet, read as a stream
  (`openpyxl` read-only mode, so memory stays flat); a row's number is its "line".
- Anything else is refused as a whole before a row is read (exit status 2 on the command line): a binary file
  (a NUL byte in its first 8 KB, as git decides), an Excel 97–2003 .xls, UTF-16 text.
"""

from __future__ import annotations

import csv
import datetime as dt
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any, TypeVar

from fangkong.core.errors import Invalid
from fangkong.core.inputs import control_problem

T = TypeVar("T")

_SNIFF = 8192  # bytes looked at for a binary file's NUL, as git does
_SAMPLE = 1 << 20  # bytes whose non-ASCII lines choose the encoding
_ENCODING_NAMES = {"utf-8": "UTF-8", "gb18030": "GB18030"}
_RESAVE = "save it as CSV UTF-8 or .xlsx"
# Excel keeps 15 significant digits of a number: an 18-digit ID number typed as a number has lost its last ones.
_EXACT_FLOAT = 10**15


@dataclass(frozen=True, slots=True)
class RowError:
    line: int
    reason: str

    def __str__(self) -> str:
        return f"line {self.line}: {self.reason}"


@dataclass
class ImportReport:
    """Counts and rejections. With a `sink`, rejections are handed over (in line order) each time the importer
    calls `flush`, at the end of each batch, instead of being kept: a file of a million bad rows costs no memory.
    """

    imported: int = 0
    updated: int = 0
    unchanged: int = 0
    errors: list[RowError] = field(default_factory=list)
    sink: Callable[[RowError], None] | None = field(default=None, repr=False, compare=False)
    _passed: int = field(default=0, repr=False, compare=False)

    @property
    def rejected(self) -> int:
        return self._passed + len(self.errors)

    def reject(self, line: int, reason: str) -> None:
        self.errors.append(RowError(line, reason))

    def flush(self) -> None:
        """Sort the rejections gathered since the last flush; hand them to the sink, if any."""
        self.errors.sort(key=lambda e: e.line)
        if self.sink is not None:
            for error in self.errors:
                self.sink(error)
            self._passed += len(self.errors)
            self.errors.clear()

    def summary(self) -> str:
        return f"imported {self.imported}, updated {self.updated}, rejected {self.rejected}"


@dataclass(frozen=True, slots=True)
class CsvRow:
    line: int  # 1-based line number in the file, the header being line 1 (the row number in a workbook)
    values: dict[str, str]


_Record = tuple[int, list[str]]  # (line, cells) before the header is applied


# --- the public readers ------------------------------------------------------------------------------------


def read_table(
    path: Path,
    *,
    required: tuple[str, ...],
    optional: tuple[str, ...] = (),
    on_progress: Callable[[int], None] | None = None,
    where: str | None = None,
) -> Iterator[CsvRow | RowError]:
    """The rows of a CSV or .xlsx file, as `read_csv` yields them. The file is refused as a whole (Invalid) when
    it is not one of those, before any row is read; the generator raises it at its first step."""
    name = where or str(path)
    if not path.exists():
        raise Invalid("%(path)s: no such file", path=name)
    with path.open("rb") as fh:
        head = fh.read(_SNIFF)
        kind = _sniff(head, name)
        fh.seek(0)
        if kind == "xlsx":
            records: Iterator[_Record | RowError] = _xlsx_records(fh, name)
            if on_progress:
                records = _report_at_end(records, on_progress, path.stat().st_size)
        else:
            sample = fh.read(_SAMPLE)
            fh.seek(0)
            pending: list[RowError] = []
            decoded = _decoded_lines(fh, _choose_encoding(sample), pending, on_progress, name)
            records = _csv_records(decoded, pending)
        yield from _table(records, required=required, optional=optional, where=name)


def read_csv(
    source: IO[str],
    *,
    required: tuple[str, ...],
    optional: tuple[str, ...] = (),
    on_progress: Callable[[int], None] | None = None,
    where: str = "file",
) -> Iterator[CsvRow | RowError]:
    """Yield each data row of CSV text as a dict of stripped strings, or a RowError for a malformed row (the wrong
    number of fields; a control character in a field, which PostgreSQL may refuse: see core/inputs.py).

    A header that lacks a required column or names an unknown one raises Invalid before any row is read:
    a misspelt column would otherwise drop a whole column of data silently.
    """
    lines: Iterable[str] = _counting(source, on_progress) if on_progress else source
    return _table(_csv_records(lines, []), required=required, optional=optional, where=where)


def chunks(items: list[T], size: int) -> Iterator[list[T]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def batched(items: Iterable[T], size: int) -> Iterator[list[T]]:
    """Lists of `size` items (the last one shorter) from a stream that is never held whole."""
    batch: list[T] = []
    for item in items:
        batch.append(item)
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch


# --- what kind of file ---------------------------------------------------------------------------------------


def _sniff(head: bytes, where: str) -> str:
    if head.startswith(b"PK\x03\x04"):
        return "xlsx"
    if head.startswith(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"):
        raise Invalid("%(where)s: an Excel 97-2003 workbook (.xls); save it as .xlsx or CSV UTF-8", where=where)
    if head.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise Invalid("%(where)s: UTF-16 text (Excel's Unicode Text); save it as CSV UTF-8 or .xlsx", where=where)
    if (nul := head.find(b"\x00")) >= 0:
        raise Invalid(
            "%(where)s: not a text file (binary at byte %(offset)s); save it as CSV UTF-8 or .xlsx",
            where=where, offset=nul,
        )  # fmt: skip
    return "csv"


def _valid(raw: bytes, encoding: str) -> bool:
    try:
        raw.decode(encoding)
    except UnicodeDecodeError:
        return False
    return True


def _choose_encoding(sample: bytes) -> str | None:
    """The encoding of a CSV file, from the non-ASCII lines of its first megabyte; None when they are all ASCII
    (the first non-ASCII line met later decides)."""
    if sample.startswith(b"\xef\xbb\xbf"):
        return "utf-8"
    lines = sample.split(b"\n")
    if len(sample) == _SAMPLE and len(lines) > 1:
        lines.pop()  # cut off mid-line, maybe mid-character
    utf8 = gb = 0
    for raw in lines:
        if raw.isascii():
            continue
        if _valid(raw, "utf-8"):
            utf8 += 1
        elif _valid(raw, "gb18030"):
            gb += 1
    if utf8 == gb == 0:
        return None
    return "utf-8" if utf8 >= gb else "gb18030"


# --- CSV -------------------------------------------------------------------------------------------------


def _decoded_lines(
    fh: IO[bytes],
    encoding: str | None,
    pending: list[RowError],
    on_progress: Callable[[int], None] | None,
    where: str,
) -> Iterator[str]:
    """The file's lines as text. A line not valid in the file's encoding becomes an empty line (so the CSV
    reader's line numbers stay right) and a RowError in `pending`, which `_csv_records` yields in its place.

    Splitting bytes at LF is safe in both encodings: no byte of a GB18030 multi-byte character is below 0x30.
    """
    consumed = 0
    for number, raw in enumerate(fh, start=1):
        if number == 1 and raw.startswith(b"\xef\xbb\xbf"):
            raw = raw[3:]
        consumed += len(raw)
        if on_progress and number % 1000 == 0:
            on_progress(consumed)
            consumed = 0
        if encoding is not None:
            try:
                yield raw.decode(encoding)
                continue
            except UnicodeDecodeError:
                reason = f"bytes not valid in {_ENCODING_NAMES[encoding]}, the encoding of the rest of the file"
        else:
            if raw.isascii():
                yield raw.decode("ascii")
                continue
            for candidate in ("utf-8", "gb18030"):
                try:
                    text = raw.decode(candidate)
                except UnicodeDecodeError:
                    continue
                encoding = candidate
                break
            else:
                reason = "bytes not valid in UTF-8 or GB18030"
            if encoding is not None:
                yield text
                continue
        if number == 1:
            raise Invalid("%(where)s: not a text file (the first line is neither UTF-8 nor GB18030); " + _RESAVE,
                          where=where)  # fmt: skip
        pending.append(RowError(number, f"{reason}; correct the line or {_RESAVE}"))
        yield "\n"
    if on_progress:
        on_progress(consumed)


def _csv_records(lines: Iterable[str], pending: list[RowError]) -> Iterator[_Record | RowError]:
    reader = csv.reader(lines)
    while True:
        try:
            cells = next(reader)
        except StopIteration:
            break
        except csv.Error as exc:  # a field over the size limit, a stray quote before the end of the file
            yield from _drain(pending)
            yield RowError(reader.line_num, f"not readable as CSV ({exc})")
            continue
        yield from _drain(pending)
        yield reader.line_num, cells
    yield from _drain(pending)


def _drain(pending: list[RowError]) -> Iterator[RowError]:
    if pending:
        yield from pending
        pending.clear()


def _counting(inner: Iterable[str], on_progress: Callable[[int], None]) -> Iterator[str]:
    """The lines of a text stream, reporting the bytes consumed every thousand lines, for progress bars."""
    pending = 0
    for n, line in enumerate(inner, start=1):
        pending += len(line.encode("utf-8"))
        if n % 1000 == 0:
            on_progress(pending)
            pending = 0
        yield line
    on_progress(pending)


# --- xlsx ------------------------------------------------------------------------------------------------


def _xlsx_records(fh: IO[bytes], where: str) -> Iterator[_Record | RowError]:
    from zipfile import BadZipFile

    from openpyxl import load_workbook  # type: ignore[import-untyped]  # no stubs; one call

    try:
        # data_only: a formula cell gives the value Excel computed, not its formula (which could be anything).
        book = load_workbook(fh, read_only=True, data_only=True)
    except (BadZipFile, KeyError, OSError, ValueError) as exc:
        raise Invalid("%(where)s: a ZIP file but not an .xlsx workbook (%(problem)s); " + _RESAVE,
                      where=where, problem=type(exc).__name__) from None  # fmt: skip
    try:
        if not book.worksheets:
            return
        sheet = book.worksheets[0]
        sheet.reset_dimensions()  # the size a writer recorded may be wrong; read the rows as they are
        header: list[str] | None = None
        for number, values in enumerate(sheet.iter_rows(values_only=True), start=1):
            cells = list(values)
            while cells and (cells[-1] is None or cells[-1] == ""):
                cells.pop()  # formatted but empty cells to the right
            if header is None:
                header = ["" if v is None else str(v) for v in cells]
                yield number, header
                continue
            if not cells:
                continue  # an empty row
            cells += [None] * (len(header) - len(cells))  # empty cells at the end of a row are not stored
            texts: list[str] = []
            for column, value in enumerate(cells):
                text = _cell_text(value)
                if text is None:
                    name = header[column] if column < len(header) else f"column {column + 1}"
                    yield RowError(number, f"{name.strip().lower()}: the number {value!r} has more digits than a "
                                           "spreadsheet keeps (15), so its last ones are lost; format the column as "
                                           "Text and type it again")  # fmt: skip
                    break
                texts.append(text)
            else:
                yield number, texts
    finally:
        book.close()


def _cell_text(value: Any) -> str | None:
    """A cell as the text its CSV would hold; None for a number that cannot be what was typed (an ID number or
    phone typed as a number and kept as a float of more than 15 digits)."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, int):
        return str(value)  # exact, however long: an ID number stored as a whole number loses nothing
    if isinstance(value, float):
        if value.is_integer():
            return str(int(value)) if abs(value) < _EXACT_FLOAT else None
        return repr(value)
    if isinstance(value, dt.datetime):
        if value.tzinfo is None:  # a spreadsheet's time has no zone: it is the city's clock
            from fangkong.core.config import city_zone

            value = value.replace(tzinfo=city_zone())
        return str(value.isoformat())
    if isinstance(value, dt.date | dt.time):
        return str(value.isoformat())
    return str(value)


def _report_at_end(
    records: Iterator[_Record | RowError], on_progress: Callable[[int], None], size: int
) -> Iterator[_Record | RowError]:
    yield from records  # a compressed workbook's bytes do not map onto its rows
    on_progress(size)


# --- the header and the rows -------------------------------------------------------------------------------


def _table(
    records: Iterable[_Record | RowError], *, required: tuple[str, ...], optional: tuple[str, ...], where: str
) -> Iterator[CsvRow | RowError]:
    iterator = iter(records)
    header: list[str] | None = None
    for item in iterator:
        if isinstance(item, RowError):
            yield item
            continue
        header = [h.strip().lstrip("\ufeff").lower() for h in item[1]]
        break
    if header is None:
        raise Invalid(
            "%(where)s is empty; the first line must be the header %(header)s", where=where, header=",".join(required)
        )
    missing = [c for c in required if c not in header]
    unknown = [c for c in header if c not in required and c not in optional]
    if missing or unknown:
        parts = []
        if missing:
            parts.append(f"missing column(s) {', '.join(missing)}")
        if unknown:
            parts.append(f"unknown column(s) {', '.join(unknown)}")
        expected = ",".join(required + optional)
        raise Invalid(
            "%(where)s: header %(problems)s; expected the columns %(expected)s",
            where=where, problems="; ".join(parts), expected=expected,
        )  # fmt: skip
    width = len(header)
    for item in iterator:
        if isinstance(item, RowError):
            yield item
            continue
        line, cells = item
        if not cells or (len(cells) == 1 and not cells[0].strip()):
            continue  # blank lines are harmless
        if len(cells) != width:
            yield RowError(line, f"expected {width} fields, found {len(cells)}")
            continue
        values = {name: cell.strip() for name, cell in zip(header, cells, strict=True)}
        if found := control_problem(values):
            yield RowError(line, f"{found[0]} contains a control character ({found[1]}); remove it")
            continue
        yield CsvRow(line, values)


# --- what a file has met already, in bounded memory ---------------------------------------------------------


class FirstLines:
    """The first line of each key (a ref) met in a file, for "ref X repeats line N", in bounded memory.

    The latest `limit` keys are kept in a dict; older ones go to a private temporary SQLite database on disk
    (deleted when closed), looked up once per batch. A file of ten million rows costs the same memory as one of
    a hundred thousand.
    """

    def __init__(self, limit: int = 200_000) -> None:
        self.limit = limit
        self._recent: dict[str, int] = {}
        self._disk: Any = None  # sqlite3.Connection, opened when first needed

    def claim(self, items: Iterable[tuple[str, int]]) -> dict[int, int]:
        """Claim each (key, line) for its line; answer {line: first line} for the lines whose key an earlier line
        claimed (in this call or before)."""
        items = list(items)
        older = self._on_disk([key for key, _ in items]) if self._disk is not None else {}
        repeats: dict[int, int] = {}
        for key, line in items:
            first = older.get(key)
            if first is None:
                first = self._recent.setdefault(key, line)
            if first != line:
                repeats[line] = first
        if len(self._recent) > self.limit:
            self._spill()
        return repeats

    def _on_disk(self, keys: list[str]) -> dict[str, int]:
        found: dict[str, int] = {}
        for batch in chunks(sorted(set(keys)), 500):
            marks = ",".join("?" * len(batch))
            query = f"SELECT key, line FROM first_line WHERE key IN ({marks})"  # noqa: S608 (only placeholders)
            found.update(self._disk.execute(query, batch))
        return found

    def _spill(self) -> None:
        if self._disk is None:
            import sqlite3

            self._disk = sqlite3.connect("", isolation_level=None)  # "": a private file, deleted on close
            self._disk.execute("PRAGMA journal_mode=OFF")
            self._disk.execute("PRAGMA synchronous=OFF")
            self._disk.execute("PRAGMA cache_size=-16000")  # 16 MB
            self._disk.execute("CREATE TABLE first_line (key TEXT PRIMARY KEY, line INTEGER NOT NULL) WITHOUT ROWID")
        self._disk.execute("BEGIN")
        self._disk.executemany("INSERT OR IGNORE INTO first_line VALUES (?, ?)", self._recent.items())
        self._disk.execute("COMMIT")
        self._recent = {}

    def close(self) -> None:
        if self._disk is not None:
            self._disk.close()
            self._disk = None
        self._recent = {}
