"""Who lives in the test city and who works in it. Every test city is 营口市 with two districts, 站前区 (210802)
and 大石桥市 (210882) (factories.REGIONS_CSV); the same people and officials appear in every scene, so a permission
test reads as a story: "陈 (investigator, 站前区) cannot read 张伟 (大石桥市)".

Officials keep the short login names the tests and the CLI's `--as` have always used (`inv`, `gw`, …): a test
names the persona (`CHEN`) and passes `CHEN.username` where a login is wanted.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from fangkong.auth.models import Role
from fangkong.core.ids import make_resident_id

PASSWORD = "correct horse battery"


@dataclass(frozen=True)
class Resident:
    """A person in the registry (not an account)."""

    ref: str
    name: str
    id_number: str
    region_code: str
    about: str


@dataclass(frozen=True)
class Persona:
    """An account: one grant (role over a region) and, for a resident, their own person record."""

    username: str
    role: Role
    region_code: str
    about: str
    person_ref: str | None = None


# People. The first three are in every city (factories.build_city); 王磊 and 赵敏 join in the outbreak (cases.py).
WANG_FANG = Resident(
    "wang-fang", "王芳", "210802199003071223", "210802001001001",
    "站前区 龙山社区 第1网格; the index case of the outbreak",
)  # fmt: skip
LI_QIANG = Resident(
    "li-qiang", "李强", "210802198805124011", "210802001001002",
    "站前区 龙山社区 第2网格: 王芳's community, another grid; her close contact at 龙山超市",
)  # fmt: skip
ZHANG_WEI = Resident(
    "zhang-wei", "张伟", "210882197511230035", "210882001001001",
    "大石桥市: outside every 站前区 official's reach",
)  # fmt: skip
WANG_LEI = Resident(
    "wang-lei", "王磊", make_resident_id("210802", dt.date(2015, 5, 1), 12), "210802001001001",
    "王芳's child, same household: a close-contact candidate without any check-in",
)  # fmt: skip
ZHAO_MIN = Resident(
    "zhao-min", "赵敏", make_resident_id("210802", dt.date(1992, 8, 9), 21), "210802001001002",
    "met 李强 at 钢都农贸市场: a secondary candidate once he is a close contact",
)  # fmt: skip

# Officials, and 王芳's own account.
LIU = Persona(
    "gw", Role.grid_worker, "210802001001001",
    "刘, grid worker of 站前区 龙山社区 第1网格: sees 王芳 only (李强 lives in the next grid)",
)  # fmt: skip
CHEN = Persona(
    "inv", Role.investigator, "210802",
    "陈, investigator of 站前区: sees 王芳 and 李强, never 张伟; confirms cases, decides contacts",
)  # fmt: skip
ZHOU = Persona(
    "inv2", Role.investigator, "210882",
    "周, investigator of 大石桥市: the outbreak in 站前区 is outside his region",
)  # fmt: skip
SUN = Persona(
    "cmd", Role.commander, "210800",
    "孙, commander of 营口市: reads everyone and every case, decides no contact, sees no clear ID",
)  # fmt: skip
HE = Persona(
    "lab", Role.lab, "210800",
    "何, the city's lab: enters and withdraws test results by ref, reads nobody's record",
)  # fmt: skip
XU = Persona(
    "lab2", Role.lab, "210800",
    "许, another lab of the city (a hospital's): enters results for anyone, withdraws only its own, never 何's",
)  # fmt: skip
WU = Persona(
    "op1", Role.venue_operator, "210802",
    "吴, venue operator in 站前区: runs 龙山超市 (and, in the door tests, 站前区人民医院)",
)  # fmt: skip
ZHENG = Persona(
    "op2", Role.venue_operator, "210882",
    "郑, venue operator in 大石桥市: runs 钢都农贸市场",
)  # fmt: skip
MA = Persona(
    "admin", Role.admin, "210800",
    "马, the installation's administrator: accounts and grants; reads nobody's record",
)  # fmt: skip
WANG = Persona(
    "wang", Role.resident, WANG_FANG.region_code,
    "王芳's own resident account: her record, her code, who looked at her",
    person_ref=WANG_FANG.ref,
)  # fmt: skip

# The accounts of every city (factories.build_city); the venue operators come with venues.build_venues, 周 with
# the outbreak (cases.outbreak).
CITY_ACCOUNTS = (LIU, CHEN, SUN, HE, WANG)
