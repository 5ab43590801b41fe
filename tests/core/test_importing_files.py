"""Reading import files (core/importing.py, issue 13): what spreadsheets save, CSV in UTF-8 or GB18030 and .xlsx,
is read as it was meant; anything else is refused whole; a bad line is that line's rejection. No database."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest
from openpyxl import Workbook  # type: ignore[import-untyped]

from fangkong.core.errors import Invalid
from fangkong.core.importing import CsvRow, FirstLines, ImportReport, RowError, read_table

COLUMNS = ("ref", "name", "phone")
TEXT = "ref,name,phone\nwang-fang,王芳,13812345678\nli-qiang,李强,\n"


def rows(path: Path, **kwargs: Any) -> list[tuple[int, dict[str, str]] | str]:
    """What read_table yields, as (line, values) for rows and "line N: reason" for rejections."""
    out: list[tuple[int, dict[str, str]] | str] = []
    for item in read_table(path, required=COLUMNS, **kwargs):
        out.append(str(item) if isinstance(item, RowError) else (item.line, item.values))
    return out


EXPECTED = [
    (2, {"ref": "wang-fang", "name": "王芳", "phone": "13812345678"}),
    (3, {"ref": "li-qiang", "name": "李强", "phone": ""}),
]


@pytest.mark.parametrize(
    "encoding", ["utf-8", "utf-8-sig", "gbk", "gb18030"], ids=["utf8", "utf8-bom", "gbk", "gb18030"]
)
def test_a_csv_is_read_in_the_encoding_spreadsheets_save(tmp_path: Path, encoding: str) -> None:
    path = tmp_path / "people.csv"
    path.write_bytes(TEXT.encode(encoding))
    assert rows(path) == EXPECTED


def test_a_gb18030_four_byte_character_is_read(tmp_path: Path) -> None:
    path = tmp_path / "people.csv"
    path.write_bytes("ref,name,phone\nyan,王䶮𠀀,\n".encode("gb18030"))  # outside GBK: four bytes in GB18030
    assert rows(path) == [(2, {"ref": "yan", "name": "王䶮𠀀", "phone": ""})]


def test_a_line_not_valid_in_the_files_encoding_is_that_lines_rejection(tmp_path: Path) -> None:
    lines = [f"p{i},王{i},".encode() for i in range(5)]
    lines.insert(3, "p-bad,李强,".encode("gbk"))  # a line pasted in from a GBK file
    path = tmp_path / "people.csv"
    path.write_bytes(b"ref,name,phone\r\n" + b"\r\n".join(lines) + b"\r\n")
    read = rows(path)
    assert read[3] == (
        "line 5: bytes not valid in UTF-8, the encoding of the rest of the file; "
        "correct the line or save it as CSV UTF-8 or .xlsx"
    )
    assert [r[0] for r in read if isinstance(r, tuple)] == [2, 3, 4, 6, 7]  # the line numbers stay right
    assert read[4] == (6, {"ref": "p3", "name": "王3", "phone": ""})


def test_a_line_valid_in_neither_encoding_is_rejected_when_nothing_else_decides(tmp_path: Path) -> None:
    path = tmp_path / "people.csv"
    path.write_bytes(b"ref,name,phone\nok,ok,\nbad,\xff\xff,\nalso-ok,x,\n")
    assert rows(path) == [
        (2, {"ref": "ok", "name": "ok", "phone": ""}),
        "line 3: bytes not valid in UTF-8 or GB18030; correct the line or save it as CSV UTF-8 or .xlsx",
        (4, {"ref": "also-ok", "name": "x", "phone": ""}),
    ]


RESAVE = "save it as CSV UTF-8 or .xlsx"


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"ref,name,phone\n\x89PNG\x00\x00", f"x.csv: not a text file (binary at byte 19); {RESAVE}"),
        (
            b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1\x00",
            "x.csv: an Excel 97-2003 workbook (.xls); save it as .xlsx or CSV UTF-8",
        ),
        ("ref,name\n".encode("utf-16"), f"x.csv: UTF-16 text (Excel's Unicode Text); {RESAVE}"),
        (b"PK\x03\x04not really a zip", f"x.csv: a ZIP file but not an .xlsx workbook (BadZipFile); {RESAVE}"),
    ],
    ids=["binary", "xls", "utf16", "zip"],
)
def test_a_file_that_is_neither_csv_text_nor_xlsx_is_refused_whole(
    tmp_path: Path, content: bytes, message: str
) -> None:
    path = tmp_path / "x.csv"
    path.write_bytes(content)
    with pytest.raises(Invalid) as refused:
        rows(path, where="x.csv")
    assert refused.value.message == message


def test_a_csv_error_is_that_lines_rejection(tmp_path: Path) -> None:
    path = tmp_path / "people.csv"
    huge = "x" * 200_000  # over the csv module's field limit
    path.write_text(f"ref,name,phone\nbig,{huge},\nok,王芳,\n", encoding="utf-8")
    read = rows(path)
    assert read[0] == "line 2: not readable as CSV (field larger than field limit (131072))"
    assert read[1:] == [(3, {"ref": "ok", "name": "王芳", "phone": ""})]


# --- xlsx ------------------------------------------------------------------------------------------------


def workbook(tmp_path: Path, *table: list[Any], name: str = "people.xlsx") -> Path:
    book = Workbook()
    sheet = book.active
    for row in table:
        sheet.append(row)
    path = tmp_path / name
    book.save(path)
    return path


def exact_integers(path: Path, numbers: dict[float, int]) -> Path:
    """The workbook with the cells holding these floats holding these whole numbers instead, written exactly as
    some programs write them (openpyxl, like Excel, writes a number of more than 15 digits as a float)."""
    import zipfile

    source = zipfile.ZipFile(path)
    items = {name: source.read(name) for name in source.namelist()}
    source.close()
    sheet = "xl/worksheets/sheet1.xml"
    for placeholder, number in numbers.items():
        items[sheet] = items[sheet].replace(f"<v>{placeholder}</v>".encode(), f"<v>{number}</v>".encode())
    with zipfile.ZipFile(path, "w") as target:
        for name, data in items.items():
            target.writestr(name, data)
    return path


def test_an_xlsx_gives_the_rows_its_csv_would(tmp_path: Path) -> None:
    path = workbook(tmp_path, ["ref", "name", "phone"], ["wang-fang", "王芳", "13812345678"], ["li-qiang", "李强"])
    assert rows(path) == EXPECTED


def test_an_xlsx_is_recognised_by_its_content_whatever_its_name(tmp_path: Path) -> None:
    path = workbook(tmp_path, ["ref", "name", "phone"], ["wang-fang", "王芳", 13812345678], name="people.csv")
    assert rows(path) == [(2, {"ref": "wang-fang", "name": "王芳", "phone": "13812345678"})]


def test_numbers_and_times_in_cells_become_the_text_the_csv_path_expects(tmp_path: Path) -> None:
    path = workbook(
        tmp_path,
        ["ref", "name", "phone", "at", "day", "ratio"],
        [
            1234.5,
            42.0,
            13812345678.0,
            dt.datetime(2022, 3, 20, 14, 5),  # noqa: DTZ001 (a spreadsheet's time)
            dt.date(2022, 3, 20),
            0.5,
        ],
    )
    exact_integers(path, {1234.5: 210802199003071223})
    read = list(read_table(path, required=COLUMNS, optional=("at", "day", "ratio")))
    assert read == [
        CsvRow(
            2,
            {
                "ref": "210802199003071223",  # a whole number keeps every digit
                "name": "42",
                "phone": "13812345678",  # a phone typed as a number
                "at": "2022-03-20T14:05:00+08:00",  # a spreadsheet's time is the city's clock
                "day": "2022-03-20T00:00:00+08:00",  # a date cell is a time at midnight to a spreadsheet
                "ratio": "0.5",
            },
        )
    ]


def test_an_id_number_that_excel_rounded_is_refused_saying_why(tmp_path: Path) -> None:
    # Excel keeps 15 significant digits: 210802199003071223 typed as a number is stored as 2.10802199003071e17.
    path = workbook(tmp_path, ["ref", "name", "phone"], [2.10802199003071e17, "王芳", ""], ["ok", "李强", ""])
    assert rows(path) == [
        "line 2: ref: the number 2.10802199003071e+17 has more digits than a spreadsheet keeps (15), so its last ones "
        "are lost; format the column as Text and type it again",
        (3, {"ref": "ok", "name": "李强", "phone": ""}),
    ]


def test_an_xlsx_with_a_wrong_header_is_refused_like_a_csv(tmp_path: Path) -> None:
    path = workbook(tmp_path, ["ref", "name", "phonne"], ["x", "y", "z"])
    with pytest.raises(Invalid, match="missing column"):
        rows(path)


# --- bounded memory --------------------------------------------------------------------------------------


def test_first_lines_remember_every_key_while_holding_only_the_latest() -> None:
    seen = FirstLines(limit=2)
    assert seen.claim([("a", 2), ("b", 3), ("c", 4)]) == {}
    assert len(seen._recent) == 0  # spilled to disk
    assert seen.claim([("d", 5), ("a", 6), ("d", 7)]) == {6: 2, 7: 5}
    assert seen.claim([("e", 8), ("c", 9), ("d", 10)]) == {9: 4, 10: 5}
    assert len(seen._recent) <= 2
    seen.close()


def test_a_report_with_a_sink_hands_rejections_over_in_order_and_keeps_none() -> None:
    received: list[str] = []
    report = ImportReport(sink=lambda e: received.append(str(e)))
    report.reject(5, "b")
    report.reject(3, "a")
    report.flush()
    report.reject(9, "c")
    report.flush()
    assert received == ["line 3: a", "line 5: b", "line 9: c"]
    assert report.errors == []
    assert report.summary() == "imported 0, updated 0, rejected 3"
