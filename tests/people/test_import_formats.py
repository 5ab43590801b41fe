"""`fangkong import people` of what spreadsheets save (issue 13, defect 9): GBK and UTF-8 with a BOM are read
with their Chinese intact, .xlsx gives what its CSV gives, a binary file is refused whole (exit 2, nothing
stored), and a line that cannot be decoded is that line's rejection while every other line is stored."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from openpyxl import Workbook  # type: ignore[import-untyped]
from sqlalchemy import func, select
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from fangkong.core.crypto import Keyring
from fangkong.people import pii
from fangkong.people.models import Person
from fangkong.people.service import get_person
from fangkong.regions.models import Region

from ..core.test_importing_files import exact_integers
from ..support.factories import REGIONS_CSV, people_csv
from ..support.personas import LI_QIANG, WANG_FANG, ZHANG_WEI
from ..support.web import run

HEADER = ["ref", "name", "id_number", "phone", "region_code", "household_ref", "address"]
ROWS = [
    ["wang-fang", "王芳", WANG_FANG.id_number, "13812345678", "210802001001001", "H1", "站前区渤海大街12号"],
    ["zhao-min", "赵敏", "210802199003071224", "", "210802001001001", "", ""],
    ["li-qiang", "李强", LI_QIANG.id_number, "", "999999", "", ""],
    ["wang-fang", "王芳", LI_QIANG.id_number, "", "210802001001001", "", ""],
    ["zhang-wei", "张伟", ZHANG_WEI.id_number, "0417-5812345", "210882001001001", "H2", "大石桥市钢都路3号"],
]
EXPECTED_OUTPUT = [
    "line 3: invalid ID number: check character is 4 but should be 3; the number was probably mistyped",
    "line 4: region 999999 does not exist",
    "line 5: ref wang-fang repeats line 2",
    "imported 2, updated 0, rejected 3",
]


def csv_file(tmp_path: Path, encoding: str, rows: list[list[str]] = ROWS) -> Path:
    path = tmp_path / "people.csv"
    path.write_bytes(people_csv(*(",".join(r) for r in rows)).encode(encoding))
    return path


def xlsx_file(tmp_path: Path, rows: list[list[Any]] = ROWS) -> Path:
    book = Workbook()
    sheet = book.active
    sheet.append(HEADER)
    for row in rows:
        sheet.append(row)
    path = tmp_path / "people.xlsx"
    book.save(path)
    return path


@pytest.fixture
def regions(cli: CliRunner, tmp_path: Path) -> None:
    path = tmp_path / "regions.csv"
    path.write_text(REGIONS_CSV, encoding="utf-8")
    assert run(cli, "import", "regions", str(path)).exit_code == 0


def people_count(db: Session) -> int:
    return int(db.execute(select(func.count()).select_from(Person)).scalar_one())


@pytest.mark.parametrize("encoding", ["gbk", "utf-8-sig", "utf-8"], ids=["gbk", "utf8-bom", "utf8"])
def test_a_csv_that_excel_saved_imports_with_its_chinese_intact(
    cli: CliRunner, db: Session, tmp_path: Path, regions: None, encoding: str
) -> None:
    result = run(cli, "import", "people", str(csv_file(tmp_path, encoding)))
    assert result.stdout.splitlines() == EXPECTED_OUTPUT
    assert result.exit_code == 1
    wang = get_person(db, ref="wang-fang")
    assert (wang.name, wang.address) == ("王芳", "站前区渤海大街12号")
    assert get_person(db, ref="zhang-wei").address == "大石桥市钢都路3号"


def test_an_xlsx_gives_the_same_result_as_its_csv(
    cli: CliRunner, db: Session, keys: Keyring, tmp_path: Path, regions: None
) -> None:
    result = run(cli, "import", "people", str(xlsx_file(tmp_path)))
    assert result.stdout.splitlines() == EXPECTED_OUTPUT
    assert result.exit_code == 1
    assert {p.ref for p in db.execute(select(Person)).scalars()} == {"wang-fang", "zhang-wei"}
    zhang = get_person(db, ref="zhang-wei")
    assert (zhang.name, zhang.address) == ("张伟", "大石桥市钢都路3号")
    assert pii.reveal_phone(zhang, keys=keys) == "0417-5812345"
    again = run(cli, "import", "people", str(xlsx_file(tmp_path)))
    assert again.stdout.splitlines()[-2:] == ["unchanged 2", "imported 0, updated 0, rejected 3"]


def test_an_id_number_and_a_phone_stored_as_numbers_in_xlsx_lose_nothing(
    cli: CliRunner, db: Session, keys: Keyring, tmp_path: Path, regions: None
) -> None:
    rows: list[list[Any]] = [
        ["wang-fang", "王芳", 1234.5, 13812345678, "210802001001001", "", ""],  # 1234.5: see exact_integers
        ["li-qiang", "李强", float(LI_QIANG.id_number), "", "210802001001002", "", ""],  # as Excel keeps it
    ]
    path = exact_integers(xlsx_file(tmp_path, rows), {1234.5: int(WANG_FANG.id_number)})
    result = run(cli, "import", "people", str(path))
    rounded = repr(float(LI_QIANG.id_number))  # 2.108021988051240e+17: its last digits are gone
    assert result.stdout.splitlines() == [
        f"line 3: id_number: the number {rounded} has more digits than a spreadsheet keeps (15), so its last ones "
        "are lost; format the column as Text and type it again",
        "imported 1, updated 0, rejected 1",
    ]
    wang = get_person(db, ref="wang-fang")
    assert pii.reveal_id_number(wang, keys=keys) == WANG_FANG.id_number
    assert pii.reveal_phone(wang, keys=keys) == "13812345678"


def test_a_binary_file_is_refused_whole_and_nothing_is_stored(
    cli: CliRunner, db: Session, tmp_path: Path, regions: None
) -> None:
    good = people_csv(",".join(ROWS[0])).encode()
    path = tmp_path / "people.csv"
    path.write_bytes(good + b"\x00\x1f\x8b" * 100)
    result = run(cli, "import", "people", str(path))
    assert result.exit_code == 2
    message = f"error: {path}: not a text file (binary at byte {len(good)}); save it as CSV UTF-8 or .xlsx"
    assert result.stderr.replace("\n", "") == message
    assert people_count(db) == 0


def test_one_undecodable_line_among_good_ones_is_that_lines_rejection(
    cli: CliRunner, db: Session, tmp_path: Path, regions: None
) -> None:
    # Many good lines, in several batches (the test runtime's batch is 3 rows), and one line in another encoding.
    lines = [
        f"p{i},居民{i},{make_id(i)},,210802001001001,,渤海大街{i}号".encode() for i in range(10)
    ]  # fmt: skip
    lines.insert(7, f"bad,赵敏,{make_id(99)},,210802001001001,,".encode("gbk"))
    path = tmp_path / "people.csv"
    path.write_bytes(people_csv().encode() + b"\n".join(lines) + b"\n")
    result = run(cli, "import", "people", str(path))
    assert result.exit_code == 1
    assert result.stdout.splitlines() == [
        "line 9: bytes not valid in UTF-8, the encoding of the rest of the file; correct the line or save it as CSV "
        "UTF-8 or .xlsx",
        "imported 10, updated 0, rejected 1",
    ]
    assert people_count(db) == 10
    assert get_person(db, ref="p9").name == "居民9"


def make_id(i: int) -> str:
    import datetime as dt

    from fangkong.core.ids import make_resident_id

    return make_resident_id("210802", dt.date(1980, 1, 1) + dt.timedelta(days=i), 10 + i)


def test_the_regions_import_takes_an_xlsx(cli: CliRunner, db: Session, tmp_path: Path) -> None:
    book = Workbook()
    sheet = book.active
    for line in REGIONS_CSV.splitlines():
        cells: list[Any] = line.split(",")
        sheet.append([int(c) if c.isdigit() else c for c in cells])  # codes typed as numbers
    path = tmp_path / "regions.xlsx"
    book.save(path)
    result = run(cli, "import", "regions", str(path))
    assert result.stdout.strip() == "imported 12, updated 0, rejected 0"
    assert db.execute(select(Region.name).where(Region.code == "210802001001001")).scalar_one() == "第1网格"


def test_the_venues_import_takes_a_gbk_csv(cli: CliRunner, db: Session, tmp_path: Path, regions: None) -> None:
    from fangkong.venues.models import Venue

    path = tmp_path / "venues.csv"
    text = "ref,name,kind,region_code,address,capacity\nV-1,龙山超市,supermarket,210802001001,渤海大街1号,200\n"
    path.write_bytes(text.encode("gbk"))
    result = run(cli, "import", "venues", str(path))
    assert result.stdout.strip() == "imported 1, updated 0, rejected 0"
    assert db.execute(select(Venue.name).where(Venue.ref == "V-1")).scalar_one() == "龙山超市"
