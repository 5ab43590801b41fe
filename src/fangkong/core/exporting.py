"""Writing CSV for people to open in a spreadsheet: every export goes through `write_csv`.

- Formula injection (OWASP "CSV Injection"): a cell starting with = + - @, a tab or a carriage return is prefixed
  with a single quote, so that a name like `=HYPERLINK(...)` or `+cmd|' /C calc'!A0` is shown as text by Excel,
  LibreOffice and WPS instead of being evaluated. Phones written `+86...` and negative numbers get the quote too:
  the quote is visible in a text editor, and a file read back by a program should strip it.
- A UTF-8 byte order mark first, so that Excel on Chinese Windows (which otherwise assumes GBK) reads the
  Chinese names; our own imports read UTF-8 with or without it (core.importing.read_table).

`write_xlsx` writes the same table as a workbook: every cell a text cell (an ID number stays 18 characters, never
a rounded number) and neutralised the same way, so a file that is later saved as CSV is still harmless.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence
from typing import BinaryIO, TextIO

UTF8_BOM = "\ufeff"
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def safe_cell(value: object) -> str:
    """The text of one cell, neutralised when a spreadsheet would take it for a formula."""
    # A str subclass (an enum's value) is taken as the text it is, not its str() that may name its class.
    text = "" if value is None else str.__str__(value) if isinstance(value, str) else str(value)
    return "'" + text if text.startswith(_FORMULA_STARTS) else text


def write_csv(stream: TextIO, header: Sequence[str], rows: Iterable[Sequence[object]]) -> None:
    """The BOM, the header and the rows, every cell through `safe_cell`. None is written as an empty cell."""
    stream.write(UTF8_BOM)
    writer = csv.writer(stream)
    writer.writerow([safe_cell(h) for h in header])
    writer.writerows([safe_cell(v) for v in row] for row in rows)


def csv_text(header: Sequence[str], rows: Iterable[Sequence[object]]) -> str:
    buffer = io.StringIO()
    write_csv(buffer, header, rows)
    return buffer.getvalue()


def write_xlsx(stream: BinaryIO, header: Sequence[str], rows: Iterable[Sequence[object]]) -> None:
    """The header and the rows as the one sheet of an .xlsx workbook, every cell text through `safe_cell`."""
    from openpyxl import Workbook  # type: ignore[import-untyped]  # no stubs; a few calls
    from openpyxl.cell import WriteOnlyCell  # type: ignore[import-untyped]

    book = Workbook(write_only=True)
    sheet = book.create_sheet()

    def text_cells(values: Sequence[object]) -> list[object]:
        cells = []
        for value in values:
            cell = WriteOnlyCell(sheet, value=safe_cell(value))
            cell.data_type = "s"  # text, never a formula or a number, whatever it looks like
            cells.append(cell)
        return cells

    sheet.append(text_cells(header))
    for row in rows:
        sheet.append(text_cells(row))
    book.save(stream)
