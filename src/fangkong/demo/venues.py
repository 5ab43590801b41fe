"""Venues and check-ins for the demo city (`fangkong demo`), reproducible from the seed.

Venues of every kind are spread over the demo city's districts and communities roughly where its people live:
about one per 40 residents, plus a residential gate (小区门口) or more per community. Check-ins follow daily
rhythms in Beijing time: working adults pass their gate, maybe ride their bus, and check in at their office or
factory between 7:30 and 9:00 on weekdays, and go home in the evening; children of 6 to 17 go to school;
households shop together at their usual supermarket (so the members of one household meet at the same place,
which is what contact tracing looks for), eat out now and then, and visit clinics, pharmacies, hospitals,
stations, taxis and buses. 40% of the check-ins have a check-out; the others rely on the kind's default dwell.
Residential gates are passed, never checked out of (so overall fewer than one in five check-ins has a check-out).

Pure: the check-in rhythms are in `fangkong.demo.checkins`, with the writer.
"""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import NamedTuple

from fangkong.demo.population import DISTRICTS, RegionSpec
from fangkong.venues.models import VenueKind

BEIJING = dt.timezone(dt.timedelta(hours=8), "CST")  # China keeps no daylight saving time
PEOPLE_PER_VENUE = 40
PEOPLE_PER_GATE = 400  # a community of 1,000 residents gets two or three gates
CHECKOUT_SHARE = 0.4
WRITE_BATCH = 10_000

# What share of the venues (other than gates and stations) is of each kind.
_KIND_SHARES: dict[VenueKind, float] = {
    VenueKind.restaurant: 0.24,
    VenueKind.supermarket: 0.08,
    VenueKind.market: 0.04,
    VenueKind.pharmacy: 0.09,
    VenueKind.clinic: 0.07,
    VenueKind.hospital: 0.015,
    VenueKind.school: 0.045,
    VenueKind.office: 0.09,
    VenueKind.factory: 0.06,
    VenueKind.bus_line: 0.03,
    VenueKind.taxi: 0.09,
    VenueKind.other: 0.14,
}
# Offices gather in the city centre and 鲅鱼圈; factories in 大石桥 (magnesite), 老边 and 鲅鱼圈's port zone.
_DISTRICT_BIAS: dict[VenueKind, dict[str, float]] = {
    VenueKind.office: {"210802": 2.5, "210803": 1.8, "210804": 1.5},
    VenueKind.factory: {"210882": 1.6, "210811": 1.8, "210804": 1.3},
    VenueKind.hospital: {"210802": 2.0, "210803": 1.5},
}
_SHOPS = {VenueKind.supermarket, VenueKind.restaurant, VenueKind.pharmacy, VenueKind.other}
# Kinds placed at district level (they move or serve the whole district), the rest in a community.
_DISTRICT_LEVEL = {VenueKind.bus_line, VenueKind.taxi, VenueKind.station}
_CAPACITY: dict[VenueKind, tuple[int, int]] = {
    VenueKind.supermarket: (150, 600),
    VenueKind.market: (200, 800),
    VenueKind.restaurant: (20, 160),
    VenueKind.hospital: (600, 2500),
    VenueKind.clinic: (15, 60),
    VenueKind.pharmacy: (8, 30),
    VenueKind.school: (600, 2500),
    VenueKind.office: (200, 1500),
    VenueKind.factory: (150, 2000),
    VenueKind.station: (800, 4000),
    VenueKind.bus_line: (50, 70),
    VenueKind.taxi: (4, 4),
    VenueKind.other: (20, 300),
}
# Yingkou's stations: (name, district, address).
_STATIONS = [
    ("营口站", "210802", "站前区新兴街道车站路1号"),
    ("营口东站", "210811", "老边区城东街道营口东站站前广场"),
    ("鲅鱼圈站", "210804", "鲅鱼圈区海东街道站前路"),
    ("大石桥站", "210882", "大石桥市石桥街道站前街"),
    ("盖州站", "210881", "盖州市鼓楼街道站前路"),
    ("盖州西站", "210881", "盖州市西城街道高铁站前路"),
    ("营口汽车客运站", "210802", "站前区跃进街道渤海大街"),
    ("鲅鱼圈汽车站", "210804", "鲅鱼圈区红旗街道平安路"),
    ("熊岳城站", "210804", "鲅鱼圈区熊岳镇站前街"),
    ("营口兰旗机场", "210811", "老边区柳树镇兰旗机场"),
]
_SUPERMARKET_BRANDS = ["大润发", "华润万家", "兴隆大家庭超市", "新玛特超市", "永辉超市", "家乐福", "百姓超市"]
_PHARMACY_BRANDS = ["成大方圆大药房", "国大药房", "益丰大药房", "老百姓大药房", "海王星辰药房", "天士力大药房"]
_DISHES = ["饺子馆", "海鲜烧烤", "麻辣烫", "牛肉拉面", "家常菜馆", "锅包肉馆", "烤肉店", "火锅店", "包子铺",
           "鲅鱼水饺", "海鲜大排档", "砂锅居", "朝鲜冷面", "羊汤馆", "快餐店"]  # fmt: skip
_RESTAURANT_STEMS = ["老", "福满", "海味", "鑫", "宏运", "金", "顺发", "渔家", "老街", "好再来"]
_OFFICE_NAMES = ["国际商务大厦", "金融中心", "财富中心", "科技大厦", "港城大厦", "万达广场写字楼", "政务服务中心",
                 "电力大厦", "创业大厦", "世纪大厦"]  # fmt: skip
_INDUSTRIES = ["耐火材料有限公司", "镁制品有限公司", "钢铁有限公司", "化工有限公司", "服装厂", "食品有限公司",
               "机械制造有限公司", "汽车配件有限公司", "水产品加工厂", "造纸厂", "港务物流有限公司"]  # fmt: skip
_FACTORY_STEMS = ["华丰", "金鼎", "青花", "镁都", "盛达", "海鑫", "东方", "辽南", "恒信", "兴业", "宏达", "北海"]
_OTHER_PLACES = ["健身中心", "万达影城", "中国工商银行", "中国建设银行", "理发店", "洗浴中心", "网吧", "体育馆",
                 "图书馆", "邮政所", "移动营业厅", "棋牌室", "KTV"]  # fmt: skip
_SURNAMES = list("王李张刘陈杨赵黄周吴徐孙马朱胡郭何高林罗郑梁谢宋唐")
_CHINESE_NUMBERS = "一二三四五六七八九十"
_GATE_SIDES = ["东门", "西门", "南门", "北门", "正门", "二号门", "三号门", "侧门"]
_ROADS = ["渤海大街", "学府路", "盼盼路", "金牛山大街", "市府路", "新华路", "辽河大街", "西炮台路", "平安路", "哈大路"]
_BUS_NUMBER_START = {"210802": 1, "210803": 31, "210811": 61, "210804": 101, "210881": 201, "210882": 301}
_BUS_ENDS = ["营口站", "西炮台", "市政府", "北海公园", "营口港", "辽河广场", "开发区", "望儿山", "熊岳", "鼓楼",
             "经济技术开发区", "镁都广场", "高铁站", "大学城", "老边", "柳树"]  # fmt: skip


@dataclass(frozen=True, slots=True)
class VenueSpec:
    ref: str
    name: str
    kind: VenueKind
    region_code: str  # a community's code, or a district's for buses, taxis and stations
    address: str
    capacity: int | None  # None for gates: they are passed, not filled


class Resident(NamedTuple):
    """What the check-ins need of a generated person (a row of `fangkong.demo.population.generate_people`)."""

    ref: str
    region_code: str  # their grid
    household_ref: str
    id_number: str  # carries the birth date


def keep_residents(rows: Iterable[dict[str, str]], into: list[Resident]) -> Iterator[dict[str, str]]:
    """Pass people rows through unchanged, keeping what the check-ins need (a fraction of each row)."""
    for row in rows:
        into.append(Resident(row["ref"], row["region_code"], row["household_ref"], row["id_number"]))
        yield row


# --- venues -----------------------------------------------------------------------------------------------------


def _kind_counts(people: int) -> dict[VenueKind, int]:
    total = max(len(_KIND_SHARES), round(people / PEOPLE_PER_VENUE))
    share_sum = sum(_KIND_SHARES.values())
    counts = {kind: max(1, round(total * share / share_sum)) for kind, share in _KIND_SHARES.items()}
    counts[VenueKind.station] = min(len(_STATIONS), 2 + people // 10_000)
    return counts


def _allocate(count: int, weights: dict[str, float]) -> dict[str, int]:
    """Split `count` over keys in proportion to weights (largest remainder), deterministically."""
    total = sum(weights.values())
    exact = {k: count * w / total for k, w in weights.items()}
    out = {k: int(v) for k, v in exact.items()}
    for k in sorted(exact, key=lambda k: (out[k] - exact[k], k))[: count - sum(out.values())]:
        out[k] += 1
    return out


def _taxi_plate(rng: random.Random, taken: int) -> str:
    # Yingkou's plates are 辽H; taxis' start with T. Past 8,000 taxis, a letter takes the place of a digit.
    if taken < 8000:
        return f"辽H·T{rng.randrange(10_000):04d}"
    return f"辽H·T{rng.choice('ABCDEFGHJKLMNPQRSTUVWXYZ')}{rng.randrange(1000):03d}"


def demo_venues(regions: Sequence[RegionSpec], seed: int, *, people: int) -> list[VenueSpec]:
    """Venues of every kind for a demo city of `people` residents; the same inputs give the same list.

    `regions` is `fangkong.demo.population.city_regions(seed)`. About one venue per 40 residents (at least one of each
    kind), spread over the districts by population (offices and hospitals lean to the centre, factories to the
    industrial districts), plus gates per community by its expected residents. No residents, no venues.
    """
    if people <= 0:
        return []
    rng = random.Random(f"venues-{seed}")
    names = {r.code: r.name for r in regions}
    grids_per_community: dict[str, int] = {}
    communities_by_district: dict[str, list[str]] = {}
    for r in regions:
        if r.level == "grid":
            grids_per_community[r.parent_code] = grids_per_community.get(r.parent_code, 0) + 1
        elif r.level == "community":
            communities_by_district.setdefault(r.code[:6], []).append(r.code)
    district_share = {code: share for code, _name, share, _streets in DISTRICTS if code in communities_by_district}
    grids_per_district = {
        d: sum(grids_per_community.get(c, 0) for c in cs) for d, cs in communities_by_district.items()
    }

    out: list[VenueSpec] = []
    used_names: set[str] = set()

    def add(kind: VenueKind, name: str, region_code: str, address: str, community: str) -> None:
        if name in used_names:  # the same name elsewhere: shops are branches, other places say where they are
            street = names[community[:9]]
            shop = kind in _SHOPS
            candidates = [f"{name}（{_CHINESE_NUMBERS[n - 1]}店）" for n in range(2, 11)] if shop else []
            candidates += [f"{street}{name}" if kind is VenueKind.residential_gate else f"{name}（{street}）"]
            candidates += [f"{name}（{street}{n}）" for n in range(2, 1000)]
            name = next(c for c in candidates if c not in used_names)
        used_names.add(name)
        capacity = None if kind is VenueKind.residential_gate else rng.randint(*_CAPACITY[kind])
        out.append(VenueSpec(f"V{len(out) + 1:06d}", name, kind, region_code, address, capacity))

    def street_address(community: str) -> str:
        place = names[community[:6]] + names[community[:9]] + names[community]
        return f"{place}{rng.choice(_ROADS)}{rng.randint(1, 400)}号"

    # A gate or more per community, by its expected number of residents (people live evenly over grids).
    for district, communities in communities_by_district.items():
        for community in communities:
            expected = people * district_share[district] * grids_per_community[community] / grids_per_district[district]
            village = names[community].endswith("村")
            for i in range(max(1, round(expected / PEOPLE_PER_GATE))):
                side = "村口" if village and i == 0 else _GATE_SIDES[i % len(_GATE_SIDES)]
                name = f"{names[community]}{side}"
                add(VenueKind.residential_gate, name, community, street_address(community), community)

    counts = _kind_counts(people)
    for station_name, district, address in _STATIONS[: counts[VenueKind.station]]:
        add(VenueKind.station, station_name, district, address, communities_by_district[district][0])

    taxi_plates: set[str] = set()
    for kind in _KIND_SHARES:
        bias = _DISTRICT_BIAS.get(kind, {})
        weights = {d: share * bias.get(d, 1.0) for d, share in district_share.items()}
        bus_no = dict(_BUS_NUMBER_START)
        for district, n in _allocate(counts[kind], weights).items():
            communities = communities_by_district[district]
            community_weights = [grids_per_community[c] for c in communities]
            for _ in range(n):
                community = rng.choices(communities, community_weights)[0]
                street, dname = names[community[:9]], names[district]
                address = street_address(community)
                region = district if kind in _DISTRICT_LEVEL else community
                if kind is VenueKind.supermarket:
                    if rng.random() < 0.5:
                        name = f"{rng.choice(_SUPERMARKET_BRANDS)}（{street}店）"
                    else:
                        name = f"{dname}{street}{names[community]}综合超市"
                elif kind is VenueKind.market:
                    name = rng.choice([f"{street}农贸市场", f"{names[community]}早市", f"{street}菜市场"])
                elif kind is VenueKind.restaurant:
                    stem = rng.choice([*_RESTAURANT_STEMS, *(s + "记" for s in _SURNAMES)])
                    name = f"{stem}{rng.choice(_DISHES)}"
                elif kind is VenueKind.hospital:
                    kinds = ["人民医院", "中医院", "妇幼保健院", "中心医院", "第二人民医院", "骨科医院"]
                    name = f"{dname}{rng.choice(kinds)}"
                elif kind is VenueKind.clinic:
                    name = rng.choice(
                        [f"{street}社区卫生服务中心", f"{names[community]}卫生室", f"{rng.choice(_SURNAMES)}氏诊所",
                         f"{street}口腔诊所"]
                    )  # fmt: skip
                elif kind is VenueKind.pharmacy:
                    name = f"{rng.choice(_PHARMACY_BRANDS)}（{street}店）"
                elif kind is VenueKind.school:
                    grade = rng.choice(
                        ["小学", "实验小学", "第一初级中学", "第二初级中学", "高级中学", "九年一贯制学校"]
                    )
                    name = f"{dname}{street}{grade}" if rng.random() < 0.5 else f"{names[community][:2]}{grade}"
                elif kind is VenueKind.office:
                    name = f"{dname}{rng.choice(_OFFICE_NAMES)}"
                elif kind is VenueKind.factory:
                    town = dname.removesuffix("市").removesuffix("区")
                    name = f"{town}{rng.choice(_FACTORY_STEMS)}{rng.choice(_INDUSTRIES)}"
                elif kind is VenueKind.bus_line:
                    number = bus_no[district]
                    bus_no[district] += rng.randint(1, 3)
                    name = f"{number}路公交"
                    first, last = rng.sample(_BUS_ENDS, 2)
                    address = f"{dname}：{first}—{last}"
                elif kind is VenueKind.taxi:
                    while (plate := _taxi_plate(rng, len(taxi_plates))) in taxi_plates:
                        pass
                    taxi_plates.add(plate)
                    name = f"{plate} 出租车"
                    address = f"{dname}巡游出租车"
                else:
                    place = rng.choice(_OTHER_PLACES)
                    name = f"{place}{street}支行" if place.endswith("银行") else f"{street}{place}"
                add(kind, name, region, address, community)
    return out


# --- check-ins --------------------------------------------------------------------------------------------------
