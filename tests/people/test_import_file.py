"""The file import gives the same outcome whether a reader process prepares the rows or this process does."""

from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from fangkong.core.crypto import Keyring
from fangkong.core.errors import Invalid
from fangkong.people import pii
from fangkong.people.models import Person
from fangkong.people.service import get_person, import_people_file

from ..support.factories import load_regions, people_csv
from ..support.personas import LI_QIANG, WANG_FANG, ZHANG_WEI

TEXT = people_csv(
    f"wang-fang,王芳,{WANG_FANG.id_number},13812345678,210802001001001,H1,渤海大街12号",
    "bad-check,赵敏,210802199003071224,,210802001001001,,",
    f"li-qiang,李强,{LI_QIANG.id_number},,210802001001001,H1,渤海大街12号",
    f"wang-fang,王芳,{ZHANG_WEI.id_number},,210802001001001,,",
    f"zhang-wei,张伟,{ZHANG_WEI.id_number},0417-5812345,210882001001001,H2,钢都路3号",
    f"dup-id,郑和,{LI_QIANG.id_number},,210802001001001,,",
)
EXPECTED_ERRORS = [
    "line 3: invalid ID number: check character is 4 but should be 3; the number was probably mistyped",
    "line 5: ref wang-fang repeats line 2",
    "line 7: ID number is already registered to ref li-qiang",
]


@pytest.mark.parametrize("reader_process", [False, True], ids=["inline", "reader-process"])
def test_a_file_imports_the_same_either_way(db: Session, keys: Keyring, tmp_path: Path, reader_process: bool) -> None:
    load_regions(db)
    path = tmp_path / "people.csv"
    path.write_text(TEXT, encoding="utf-8")
    report = import_people_file(db, keys=keys, path=path, batch_size=2, reader_process=reader_process)
    assert [str(e) for e in report.errors] == EXPECTED_ERRORS
    assert report.summary() == "imported 3, updated 0, rejected 3"
    assert {p.ref for p in db.execute(select(Person)).scalars()} == {"wang-fang", "li-qiang", "zhang-wei"}
    zhang = get_person(db, ref="zhang-wei")
    assert pii.reveal_phone(zhang, keys=keys) == "0417-5812345"
    assert zhang.birth_date is not None
    assert zhang.birth_date.isoformat() == "1975-11-23"
    again = import_people_file(db, keys=keys, path=path, batch_size=2, reader_process=reader_process)
    assert again.summary() == "imported 0, updated 0, rejected 3"
    assert again.unchanged == 3


def test_a_bad_header_is_refused_by_the_reader_process_too(db: Session, keys: Keyring, tmp_path: Path) -> None:
    path = tmp_path / "people.csv"
    path.write_text("ref,name\nx,y\n", encoding="utf-8")
    with pytest.raises(Invalid, match="missing column"):
        import_people_file(db, keys=keys, path=path, reader_process=True)


@pytest.mark.parametrize("reader_process", [False, True], ids=["inline", "reader-process"])
def test_an_xlsx_imports_the_same_either_way(db: Session, keys: Keyring, tmp_path: Path, reader_process: bool) -> None:
    from openpyxl import Workbook  # type: ignore[import-untyped]

    load_regions(db)
    book = Workbook()
    for line in TEXT.splitlines():
        book.active.append(line.split(","))
    path = tmp_path / "people.xlsx"
    book.save(path)
    report = import_people_file(db, keys=keys, path=path, batch_size=2, reader_process=reader_process)
    assert [str(e) for e in report.errors] == EXPECTED_ERRORS
    assert report.summary() == "imported 3, updated 0, rejected 3"
    assert get_person(db, ref="zhang-wei").name == "张伟"
