"""Small factories and helpers shared by the tests. Personas: 王芳 (Wang Fang) and 李强 (Li Qiang) live in
站前区; 张伟 (Zhang Wei) lives in 大石桥市."""

from __future__ import annotations

import io
from typing import Any

from click.testing import Result
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from fangkong.cli import app
from fangkong.core.crypto import Keyring
from fangkong.core.importing import ImportReport, read_csv
from fangkong.people.models import Person
from fangkong.people.service import PEOPLE_COLUMNS, PEOPLE_OPTIONAL_COLUMNS, get_person, import_people
from fangkong.regions.service import REGION_COLUMNS, import_regions

# A small city: 营口市 with two districts, each down to grids.
REGIONS_CSV = """code,name,level,parent_code
210800,营口市,city,
210802,站前区,district,210800
210802001,建设街道,street,210802
210802001001,龙山社区,community,210802001
210802001001001,第1网格,grid,210802001001
210802001001002,第2网格,grid,210802001001
210802002,跃进街道,street,210802
210802002001,福安社区,community,210802002
210882,大石桥市,district,210800
210882001,石桥街道,street,210882
210882001001,石桥社区,community,210882001
210882001001001,第1网格,grid,210882001001
"""

WANG_FANG_ID = "210802199003071223"
LI_QIANG_ID = "210802198805124011"
ZHANG_WEI_ID = "210882197511230035"


def csv_rows(text: str, *, required: tuple[str, ...], optional: tuple[str, ...] = ()) -> Any:
    return read_csv(io.StringIO(text), required=required, optional=optional)


def load_regions(db: Session, text: str = REGIONS_CSV) -> ImportReport:
    report = import_regions(db, rows=csv_rows(text, required=REGION_COLUMNS))
    db.flush()
    return report


def people_csv(*rows: str) -> str:
    return "ref,name,id_number,phone,region_code,household_ref,address\n" + "".join(r + "\n" for r in rows)


def load_people(db: Session, keys: Keyring, text: str, batch_size: int = 2) -> ImportReport:
    rows = csv_rows(text, required=PEOPLE_COLUMNS, optional=PEOPLE_OPTIONAL_COLUMNS)
    report = import_people(db, keys=keys, rows=rows, batch_size=batch_size)
    db.flush()
    return report


def make_person(db: Session, keys: Keyring, **overrides: str) -> Person:
    """One person through the real import path; defaults are 王芳 in 站前区 龙山社区 第1网格."""
    values = {
        "ref": "wang-fang",
        "name": "王芳",
        "id_number": WANG_FANG_ID,
        "phone": "13812345678",
        "region_code": "210802001001001",
        "household_ref": "H-LONGSHAN-1",
        "address": "站前区建设街道龙山社区渤海大街12号",
    } | overrides
    text = people_csv(",".join(values[c] for c in PEOPLE_COLUMNS))
    report = load_people(db, keys, text)
    assert report.rejected == 0, report.errors
    return get_person(db, ref=values["ref"])


def run(runner: CliRunner, *args: str) -> Result:
    return runner.invoke(app, list(args), catch_exceptions=False)
