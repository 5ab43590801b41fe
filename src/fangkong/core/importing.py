"""Shared plumbing for CSV imports: header checks, line numbers, per-row errors and the summary.

Every importer follows the same contract: each bad row is reported as ``line N: reason`` and skipped, good rows
are stored, re-running the same file changes nothing, and the summary reads ``imported X, updated Y, rejected Z``.
"""

from __future__ import annotations

import csv
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, TypeVar

from fangkong.core.errors import Invalid
from fangkong.core.inputs import control_problem

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class RowError:
    line: int
    reason: str

    def __str__(self) -> str:
        return f"line {self.line}: {self.reason}"


@dataclass
class ImportReport:
    imported: int = 0
    updated: int = 0
    unchanged: int = 0
    errors: list[RowError] = field(default_factory=list)

    @property
    def rejected(self) -> int:
        return len(self.errors)

    def reject(self, line: int, reason: str) -> None:
        self.errors.append(RowError(line, reason))

    def summary(self) -> str:
        return f"imported {self.imported}, updated {self.updated}, rejected {self.rejected}"


@dataclass(frozen=True, slots=True)
class CsvRow:
    line: int  # 1-based line number in the file, the header being line 1
    values: dict[str, str]


def _counting(inner: IO[str], on_progress: Callable[[int], None]) -> Iterator[str]:
    """The lines of a text file, reporting the bytes consumed every thousand lines, for progress bars."""
    pending = 0
    for n, line in enumerate(inner, start=1):
        pending += len(line.encode("utf-8"))
        if n % 1000 == 0:
            on_progress(pending)
            pending = 0
        yield line
    on_progress(pending)


def read_csv(
    source: IO[str],
    *,
    required: tuple[str, ...],
    optional: tuple[str, ...] = (),
    on_progress: Callable[[int], None] | None = None,
    where: str = "file",
) -> Iterator[CsvRow | RowError]:
    """Yield each data row as a dict of stripped strings, or a RowError for a malformed row (the wrong number of
    fields; a control character in a field, which PostgreSQL may refuse: see core/inputs.py).

    A header that lacks a required column or names an unknown one raises Invalid before any row is read:
    a misspelt column would otherwise drop a whole column of data silently.
    """
    reader = csv.reader(_counting(source, on_progress) if on_progress else source)
    try:
        header = next(reader)
    except StopIteration:
        raise Invalid(
            "%(where)s is empty; the first line must be the header %(header)s", where=where, header=",".join(required)
        ) from None
    header = [h.strip().lstrip("\ufeff").lower() for h in header]
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
    for cells in reader:
        line = reader.line_num
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


def open_csv(path: Path) -> IO[str]:
    """Open a CSV file as UTF-8, tolerating the BOM that spreadsheet programs write."""
    if not path.exists():
        raise Invalid("%(path)s: no such file", path=str(path))
    return path.open(encoding="utf-8-sig", newline="")


def chunks(items: list[T], size: int) -> Iterator[list[T]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]
