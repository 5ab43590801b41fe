"""Errors and logs never quote the personal data being handled (issue 13): SQLAlchemy's errors leave out the
statement's parameters (core/db.py), and a command's unexpected error is one line without its message (cli.main)."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Column, MetaData, String, Table, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from fangkong import cli as fangkong_cli
from fangkong.core import db as core_db
from fangkong.core.crypto import Keyring
from fangkong.core.db import make_engine
from fangkong.core.runtime import Runtime
from fangkong.people import importer

from ..support.factories import city_with_tokens
from ..support.personas import ZHAO_MIN

ID_NUMBER = ZHAO_MIN.id_number
PHONE = "13987654321"
ADDRESS = "站前区龙山社区幸福路8号3单元"


def test_every_engine_hides_statement_parameters(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path}/x.db")
    assert engine.hide_parameters
    engine.dispose()


def test_a_database_error_neither_raises_nor_logs_its_parameters(db: Session, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    with pytest.raises(DBAPIError) as raised, db.begin_nested():
        db.execute(text("INSERT INTO no_such_table (id_number, phone) VALUES (:n, :p)"), {"n": ID_NUMBER, "p": PHONE})
    logging.getLogger("fangkong").exception("unhandled error", exc_info=raised.value)  # as app.py logs it
    assert "no_such_table" in caplog.text
    for secret in (ID_NUMBER, PHONE):
        assert secret not in str(raised.value)
        assert secret not in caplog.text


def test_an_import_failing_unexpectedly_prints_one_line_without_the_rows(
    runtime: Runtime, keys: Keyring, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    city_with_tokens(runtime, keys)
    file = tmp_path / "people.csv"
    file.write_text(
        "ref,name,id_number,phone,region_code,household_ref,address\n"
        f"{ZHAO_MIN.ref},{ZHAO_MIN.name},{ID_NUMBER},{PHONE},{ZHAO_MIN.region_code},,{ADDRESS}\n",
        encoding="utf-8",
    )

    def failing_insert(session: Session, table: Table, columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
        # The database refuses the rows (say, a disk full or a lost connection) with the rows as parameters.
        elsewhere = Table("no_such_table", MetaData(), *(Column(c, String) for c in columns))
        core_db.bulk_insert(session, elsewhere, columns, rows)

    monkeypatch.setattr(importer, "bulk_insert", failing_insert)
    monkeypatch.setattr("sys.argv", ["fangkong", "import", "people", str(file)])
    with pytest.raises(SystemExit) as exited:
        fangkong_cli.main()
    assert exited.value.code == 1
    printed = capsys.readouterr()
    assert printed.err.strip().count("\n") == 0
    assert printed.err.startswith("error: unexpected ")
    assert "Traceback" not in printed.err
    for secret in (ZHAO_MIN.name, ADDRESS, PHONE, ID_NUMBER):
        assert secret not in printed.out + printed.err


def test_a_file_that_is_not_text_is_refused_in_one_line(
    runtime: Runtime, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # A GBK file is read since issue 13 (tests/core/test_importing_files.py); a binary one is refused, and the
    # message quotes no byte of it.
    file = tmp_path / "people.csv"
    header = "ref,name,id_number,phone,region_code,household_ref,address\n"
    row = f"zm,{ZHAO_MIN.name},{ID_NUMBER},{PHONE},210802001001002,,{ADDRESS}\n"
    file.write_bytes(header.encode() + b"\x00\x01" + row.encode("utf-8"))
    monkeypatch.setattr("sys.argv", ["fangkong", "import", "people", str(file)])
    with pytest.raises(SystemExit) as exited:
        fangkong_cli.main()
    assert exited.value.code == 2
    printed = capsys.readouterr()
    offset = len(header)
    expected = f"error: {file}: not a text file (binary at byte {offset}); save it as CSV UTF-8 or .xlsx"
    assert printed.err.replace("\n", "") == expected
