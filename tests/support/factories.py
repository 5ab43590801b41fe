"""Small factories: the region tree, people through the real import path, and the city every access test starts
from (its people and accounts are in personas.py)."""

from __future__ import annotations

import io
from typing import Any

from sqlalchemy.orm import Session

from fangkong.auth.actor import Actor
from fangkong.auth.audit_models import Channel
from fangkong.auth.service import actor_for, create_token, create_user, get_user
from fangkong.core.crypto import Keyring
from fangkong.core.importing import ImportReport, read_csv
from fangkong.core.runtime import Runtime
from fangkong.people.models import Person
from fangkong.people.service import PEOPLE_COLUMNS, PEOPLE_OPTIONAL_COLUMNS, get_person, import_people
from fangkong.regions.service import REGION_COLUMNS, import_regions

from .personas import CITY_ACCOUNTS, LI_QIANG, PASSWORD, WANG_FANG, ZHANG_WEI, Persona

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
        "ref": WANG_FANG.ref,
        "name": WANG_FANG.name,
        "id_number": WANG_FANG.id_number,
        "phone": "13812345678",
        "region_code": WANG_FANG.region_code,
        "household_ref": "H-LONGSHAN-1",
        "address": "站前区建设街道龙山社区渤海大街12号",
    } | overrides
    text = people_csv(",".join(values[c] for c in PEOPLE_COLUMNS))
    report = load_people(db, keys, text)
    assert report.rejected == 0, report.errors
    return get_person(db, ref=values["ref"])


CITY_PEOPLE = people_csv(
    f"{WANG_FANG.ref},{WANG_FANG.name},{WANG_FANG.id_number},13812345678,{WANG_FANG.region_code},H1,渤海大街12号",
    f"{LI_QIANG.ref},{LI_QIANG.name},{LI_QIANG.id_number},13900001111,{LI_QIANG.region_code},H2,渤海大街14号",
    f"{ZHANG_WEI.ref},{ZHANG_WEI.name},{ZHANG_WEI.id_number},0417-5812345,{ZHANG_WEI.region_code},H3,钢都路3号",
)


def add_account(db: Session, who: Persona) -> None:
    create_user(db, actor=Actor.system(), username=who.username, password=PASSWORD,
                grants=[(who.role, who.region_code)], person_ref=who.person_ref)  # fmt: skip


def build_city(db: Session, keys: Keyring) -> None:
    """The regions, 王芳, 李强 and 张伟, and the accounts of 刘, 陈, 孙, 何 and 王芳 herself."""
    load_regions(db)
    load_people(db, keys, CITY_PEOPLE)
    for who in CITY_ACCOUNTS:
        add_account(db, who)
    db.flush()


def city_with_tokens(runtime: Runtime, keys: Keyring) -> dict[str, str]:
    """The city committed (a savepoint, in tests) so that the API sees it, and a bearer token per account, by
    username."""
    with runtime.database.unit_of_work() as db:
        build_city(db, keys)
        return tokens_for(db, *CITY_ACCOUNTS)


def tokens_for(db: Session, *people: Persona) -> dict[str, str]:
    """A new bearer token for each of these accounts, by username."""
    tokens = {}
    for who in people:
        _, tokens[who.username] = create_token(db, actor=Actor.system(), user=get_user(db, username=who.username))
    return tokens


def actor_of(db: Session, who: Persona, channel: Channel = Channel.api) -> Actor:
    """The persona as a service sees them."""
    return actor_for(db, user=get_user(db, username=who.username), channel=channel)
