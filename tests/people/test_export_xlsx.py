"""`fangkong person export --format xlsx`: the workbook's cells are text, neutralised as the CSV's are (issue 13)."""

from __future__ import annotations

import io

from openpyxl import load_workbook  # type: ignore[import-untyped]
from typer.testing import CliRunner

from ..support.personas import CHEN
from ..support.web import run
from .test_export import CMD, HYPERLINK, tokens  # noqa: F401 (the fixture: a city with formula-like names)


def test_the_xlsx_export_writes_formulas_as_neutralised_text(cli: CliRunner, tokens: dict[str, str]) -> None:  # noqa: F811
    exported = run(cli, "person", "export", "--as", CHEN.username, "--purpose", "ledger", "--format", "xlsx")
    assert exported.exit_code == 0
    sheet = load_workbook(io.BytesIO(exported.stdout_bytes)).worksheets[0]
    table = [[cell.value for cell in row] for row in sheet.iter_rows()]
    header = table[0]
    rows = {row[header.index("ref")]: dict(zip(header, row, strict=True)) for row in table[1:]}
    assert (rows["li-qiang"]["name"], rows["li-qiang"]["address"]) == ("'" + HYPERLINK, "'" + CMD)
    assert (rows["wang-fang"]["name"], rows["wang-fang"]["address"]) == ("'@SUM(1+1)", "'-2+3")
    assert all(cell.data_type == "s" for row in sheet.iter_rows(min_row=2) for cell in row if cell.value is not None)


def test_an_unknown_export_format_is_refused(cli: CliRunner, tokens: dict[str, str]) -> None:  # noqa: F811
    exported = run(cli, "person", "export", "--as", CHEN.username, "--purpose", "ledger", "--format", "pdf")
    assert exported.exit_code == 2
    assert "--format 'pdf': choose csv or xlsx" in exported.stderr
