"""A synthetic city modelled on Yingkou (营口市, 210800), reproducible from a seed.

The districts and county-level cities are Yingkou's real ones with their GB/T 2260 codes; the streets and towns
are real names where we know them (several come from the seed newspaper pages); communities, grids, households
and people are invented. Codes below the county follow the statistical convention: street/town = county + 3
digits (0xx 街道, 1xx 镇), community/village = street + 3 digits (0xx 社区, 2xx 村), grid = community + 3 digits.

The whole city goes through the same importers as a CSV file would, so the demo also exercises them.
"""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Iterator
from dataclasses import dataclass

from faker import Faker

from fangkong.core.ids import make_resident_id
from fangkong.core.importing import CsvRow

CITY = ("210800", "营口市")
# (code, name, share of the city's ~2.3 M people, streets/towns)
DISTRICTS: list[tuple[str, str, float, list[str]]] = [
    ("210802", "站前区", 0.10, ["建设街道", "跃进街道", "新兴街道", "八田地街道", "东风街道"]),
    ("210803", "西市区", 0.09, ["清华街道", "得胜街道", "渔市街道", "五台子街道", "胜利街道"]),
    ("210804", "鲅鱼圈区", 0.19, ["海星街道", "海东街道", "望海街道", "红旗街道", "熊岳镇", "芦屯镇"]),
    ("210811", "老边区", 0.07, ["老边街道", "城东街道", "柳树镇", "边城镇", "路南镇"]),
    (
        "210881",
        "盖州市",
        0.26,
        ["鼓楼街道", "西城街道", "东城街道", "太阳升街道", "团山街道", "团甸镇", "杨运镇", "双台镇"],
    ),
    (
        "210882",
        "大石桥市",
        0.29,
        ["石桥街道", "钢都街道", "青花街道", "金桥街道", "镁都街道", "永安镇", "水源镇", "周家镇", "高坎镇"],
    ),
]
_COMMUNITY_WORDS = list("龙山福安石桥兴隆建设新华光明和平胜利幸福长青青年团结民主振兴繁荣花园滨海向阳")
_VILLAGE_WORDS = list("贾屯王家李家张家前后东西南北大小高杨刘赵孙马")
_ROADS = [
    "渤海大街",
    "学府路",
    "盼盼路",
    "金牛山大街",
    "市府路",
    "新华路",
    "辽河大街",
    "西炮台路",
    "平安路",
    "哈大路",
]
# Birthplaces for ID numbers: mostly local, some from elsewhere in Liaoning (沈阳, 大连, 鞍山, 锦州, 盘锦).
_OTHER_BIRTHPLACES = ["210102", "210202", "210302", "210702", "211102"]
_MOBILE_PREFIXES = ["130", "131", "132", "135", "136", "137", "138", "139", "150", "151", "152", "158", "159"]
_MOBILE_PREFIXES += ["176", "180", "182", "185", "186", "187", "188", "189", "199"]


@dataclass(frozen=True, slots=True)
class RegionSpec:
    code: str
    name: str
    level: str
    parent_code: str


def city_regions(seed: int) -> list[RegionSpec]:
    """The region tree of the demo city; the same seed gives the same tree."""
    rng = random.Random(f"regions-{seed}")
    out = [RegionSpec(CITY[0], CITY[1], "city", "")]
    for code, name, _share, streets in DISTRICTS:
        out.append(RegionSpec(code, name, "district", CITY[0]))
        n_street = n_town = 0
        for street_name in streets:
            is_town = street_name.endswith("镇")
            if is_town:
                n_town += 1
                street_code = f"{code}{100 + n_town:03d}"
            else:
                n_street += 1
                street_code = f"{code}{n_street:03d}"
            out.append(RegionSpec(street_code, street_name, "street", code))
            used: set[str] = set()
            for i in range(rng.randint(3, 6)):
                words = _VILLAGE_WORDS if is_town else _COMMUNITY_WORDS
                while True:
                    stem = "".join(rng.sample(words, 2))
                    if stem not in used:
                        used.add(stem)
                        break
                community_code = f"{street_code}{(200 if is_town else 0) + i + 1:03d}"
                community_name = f"{stem}村" if is_town else f"{stem}社区"
                out.append(RegionSpec(community_code, community_name, "community", street_code))
                for g in range(rng.randint(2, 4)):
                    out.append(RegionSpec(f"{community_code}{g + 1:03d}", f"第{g + 1}网格", "grid", community_code))
    return out


def region_rows(specs: list[RegionSpec]) -> Iterator[CsvRow]:
    for line, s in enumerate(specs, start=2):
        yield CsvRow(line, {"code": s.code, "name": s.name, "level": s.level, "parent_code": s.parent_code})


def generate_people(count: int, seed: int, *, today: dt.date) -> Iterator[dict[str, str]]:
    """People in households, as rows of the people CSV. Deterministic for (count, seed, today)."""
    rng = random.Random(f"people-{seed}")
    fake = Faker("zh_CN")
    fake.seed_instance(seed)
    specs = city_regions(seed)
    names = {s.code: s.name for s in specs}
    grids_by_district: dict[str, list[RegionSpec]] = {}
    for s in specs:
        if s.level == "grid":
            grids_by_district.setdefault(s.code[:6], []).append(s)
    districts = [d[0] for d in DISTRICTS]
    weights = [d[2] for d in DISTRICTS]
    used_ids: set[str] = set()
    made = household_no = 0

    def id_number(district: str, birth: dt.date, male: bool) -> str:
        birthplace = district if rng.random() < 0.85 else rng.choice(_OTHER_BIRTHPLACES)
        while True:
            seq = rng.randrange(0, 500) * 2 + (1 if male else 0)  # odd sequence = male (GB 11643)
            number = make_resident_id(birthplace, birth, seq)
            if number not in used_ids:
                used_ids.add(number)
                return number

    while made < count:
        household_no += 1
        district = rng.choices(districts, weights)[0]
        grid = rng.choice(grids_by_district[district])
        community = grid.parent_code
        street = community[:9]
        address = (
            f"{names[district]}{names[street]}{names[community]}{rng.choice(_ROADS)}{rng.randint(1, 300)}号"
            f"{rng.randint(1, 6)}单元{rng.randint(1, 18)}{rng.randint(1, 4):02d}"
        )
        surname = fake.last_name()
        head_age = rng.randint(24, 82)
        size = rng.choices([1, 2, 3, 4, 5], [15, 30, 30, 15, 10])[0]
        members: list[tuple[str, int, bool]] = [(surname, head_age, rng.random() < 0.5)]
        if size >= 2:
            members.append((fake.last_name(), max(20, head_age + rng.randint(-5, 5)), not members[0][2]))
        for _ in range(size - len(members)):
            child_age = head_age - rng.randint(22, 36)
            if child_age >= 0:
                members.append((surname, child_age, rng.random() < 0.51))
            else:  # a parent living with the household
                members.append((fake.last_name(), min(100, head_age + rng.randint(22, 32)), rng.random() < 0.45))
        for family_name, age, male in members:
            if made >= count:
                break
            made += 1
            birth = today - dt.timedelta(days=age * 365 + rng.randint(0, 364))
            given = fake.first_name_male() if male else fake.first_name_female()
            phone = "" if age < 12 else rng.choice(_MOBILE_PREFIXES) + f"{rng.randrange(10**8):08d}"
            yield {
                "ref": f"P{made:07d}",
                "name": family_name + given,
                "id_number": id_number(district, birth, male),
                "phone": phone,
                "region_code": grid.code,
                "household_ref": f"H{household_no:07d}",
                "address": address,
            }
