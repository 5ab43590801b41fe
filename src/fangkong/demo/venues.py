"""Venues and check-ins for the demo city (`fangkong demo`), reproducible from the seed.

Venues of every kind are spread over the demo city's districts and communities roughly where its people live:
about one per 40 residents, plus a residential gate (小区门口) or more per community. Check-ins follow daily
rhythms in Beijing time: working adults pass their gate, maybe ride their bus, and check in at their office or
factory between 7:30 and 9:00 on weekdays, and go home in the evening; children of 6 to 17 go to school;
households shop together at their usual supermarket (so the members of one household meet at the same place,
which is what contact tracing looks for), eat out now and then, and visit clinics, pharmacies, hospitals,
stations, taxis and buses. 40% of the check-ins have a check-out; the others rely on the kind's default dwell.
Residential gates are passed, never checked out of (so overall fewer than one in five check-ins has a check-out).

Everything here is pure; `demo/venue_writer.py` writes it (`fill_demo_venues`).
"""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import NamedTuple

from fangkong.core.ids import parse_resident_id
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

_CHILD, _PUPIL, _WORKER, _HOME = 0, 1, 2, 3
_H = 3600
_M = 60


class _Person(NamedTuple):
    person: int  # index into the people
    age: int
    role: int
    gate: int
    work: int  # office or factory (workers), school (pupils), -1 otherwise
    work_start: int  # seconds after midnight
    work_hours: int  # seconds
    bus: int  # their commuting bus line, -1 when they walk, cycle or drive
    district: str
    work_district: str


@dataclass(slots=True)
class _Household:
    members: list[_Person]
    supermarket: int
    other_supermarket: int
    market: int
    restaurants: list[int]
    district: str


class _Places:
    """Venue indexes by kind and place, to pick the nearest one of a kind."""

    def __init__(self, venues: Sequence[VenueSpec]) -> None:
        self.by_community: dict[tuple[VenueKind, str], list[int]] = {}
        self.by_street: dict[tuple[VenueKind, str], list[int]] = {}
        self.by_district: dict[tuple[VenueKind, str], list[int]] = {}
        self.by_kind: dict[VenueKind, list[int]] = {}
        for i, v in enumerate(venues):
            code = v.region_code
            self.by_kind.setdefault(v.kind, []).append(i)
            self.by_district.setdefault((v.kind, code[:6]), []).append(i)
            if len(code) >= 12:
                self.by_street.setdefault((v.kind, code[:9]), []).append(i)
                self.by_community.setdefault((v.kind, code[:12]), []).append(i)

    def pool(self, kind: VenueKind, region: str) -> list[int]:
        """The venues of a kind in the narrowest of community, street, district, city that has any."""
        return (
            self.by_community.get((kind, region[:12]))
            or self.by_street.get((kind, region[:9]))
            or self.by_district.get((kind, region[:6]))
            or self.by_kind.get(kind, [])
        )

    def district(self, kind: VenueKind, district: str) -> list[int]:
        return self.by_district.get((kind, district)) or self.by_kind.get(kind, [])


def _birth_date(id_number: str) -> dt.date:
    # today=date.max: a fixed clock in tests may stand before a newborn's birth date; the age then counts as 0.
    return parse_resident_id(id_number, today=dt.date.max).birth_date


def _plan(
    people: Sequence[Resident], venues: Sequence[VenueSpec], places: _Places, on: dt.date, rng: random.Random
) -> list[_Household]:
    """Who does what: roles by age, workplaces, schools, buses, gates, each household's usual shops."""
    households: list[_Household] = []
    by_ref: dict[str, _Household] = {}
    gates: dict[str, int] = {}  # a household's gate
    for index, p in enumerate(people):
        birth = _birth_date(p.id_number)
        age = max(0, on.year - birth.year - ((on.month, on.day) < (birth.month, birth.day)))
        home = p.region_code
        district = home[:6]
        household = by_ref.get(p.household_ref)
        if household is None:
            supermarkets = places.pool(VenueKind.supermarket, home)
            nearby = places.district(VenueKind.supermarket, district)
            household = _Household(
                members=[],
                supermarket=rng.choice(supermarkets) if supermarkets else -1,
                other_supermarket=rng.choice(nearby) if nearby else -1,
                market=rng.choice(places.pool(VenueKind.market, home) or [-1]),
                restaurants=rng.sample(
                    places.district(VenueKind.restaurant, district),
                    min(3, len(places.district(VenueKind.restaurant, district))),
                ),
                district=district,
            )
            by_ref[p.household_ref] = household
            households.append(household)
            gates[p.household_ref] = rng.choice(places.pool(VenueKind.residential_gate, home) or [-1])
        work = bus = -1
        work_start = work_hours = 0
        work_district = district
        retired = age >= (60 if int(p.id_number[16]) % 2 == 1 else 55)  # China's retirement ages, men and women
        if age < 6:
            role = _CHILD
        elif age < 18:
            role = _PUPIL
            work = rng.choice(places.pool(VenueKind.school, home) or [-1])
            work_start = int(rng.triangular(7 * _H + 10 * _M, 7 * _H + 55 * _M, 7 * _H + 30 * _M))
            work_hours = int(rng.uniform(8.5, 10) * _H) if age >= 15 else int(rng.uniform(7.5, 9) * _H)
        elif not retired and rng.random() < (0.55 if age < 23 else 0.85):
            role = _WORKER
            kind = VenueKind.office if rng.random() < 0.55 else VenueKind.factory
            pool = places.pool(kind, home) if rng.random() < 0.3 else places.district(kind, district)
            if rng.random() < 0.2:  # commuting to another district (鲅鱼圈's port, 站前's offices)
                pool = places.by_kind.get(kind, [])
            work = rng.choice(pool) if pool else -1
            work_district = venues[work].region_code[:6] if work >= 0 else district
            mode = 8 * _H + 15 * _M if kind is VenueKind.office else 7 * _H + 45 * _M
            work_start = int(rng.triangular(7 * _H + 30 * _M, 9 * _H, mode))
            work_hours = int(rng.uniform(8.5, 10) * _H)
            if rng.random() < (0.45 if work_district != district else 0.3):
                bus = rng.choice(places.district(VenueKind.bus_line, district) or [-1])
        else:
            role = _HOME
        if work < 0 and role in (_PUPIL, _WORKER):
            role = _HOME
        household.members.append(
            _Person(
                index, age, role, gates[p.household_ref], work, work_start, work_hours, bus, district, work_district
            )
        )
    return households


def demo_checkins(
    people: Sequence[Resident],
    venues: Sequence[VenueSpec],
    *,
    days: int,
    seed: int,
    now: dt.datetime,
) -> Iterator[tuple[int, int, dt.datetime, dt.datetime | None]]:
    """(person index, venue index, checked in, checked out or None) over the `days` days ending at `now`.

    Households are the people's `household_ref`s; ages come from their ID numbers. The same inputs give the same
    check-ins. Yielded day by day, each day's in the order of the people: the order that keeps the check-in
    indexes' writes local.
    """
    if days <= 0 or not people or not venues:
        return
    rng = random.Random(f"checkins-{seed}")
    now = now.astimezone(dt.UTC)
    start = now - dt.timedelta(days=days)
    local_now = now.astimezone(BEIJING)
    places = _Places(venues)
    households = _plan(people, venues, places, local_now.date(), rng)
    kinds = [v.kind for v in venues]
    rnd, choice = rng.random, rng.choice

    def randint(low: int, high: int) -> int:  # random.randint's bookkeeping costs more than all the rest here
        return low + int(rnd() * (high - low + 1))

    delta = dt.timedelta
    gate_kind = VenueKind.residential_gate

    # A visit's length when it is checked out, in seconds (a range per kind).
    stay = {
        VenueKind.supermarket: (15 * _M, 60 * _M), VenueKind.market: (15 * _M, 50 * _M),
        VenueKind.restaurant: (40 * _M, 120 * _M), VenueKind.hospital: (50 * _M, 240 * _M),
        VenueKind.clinic: (15 * _M, 60 * _M), VenueKind.pharmacy: (4 * _M, 15 * _M),
        VenueKind.station: (20 * _M, 90 * _M), VenueKind.bus_line: (8 * _M, 40 * _M),
        VenueKind.taxi: (7 * _M, 30 * _M), VenueKind.other: (30 * _M, 120 * _M),
        VenueKind.school: (7 * _H, 9 * _H), VenueKind.office: (8 * _H, 10 * _H),
        VenueKind.factory: (8 * _H, 10 * _H), VenueKind.residential_gate: (0, 0),
    }  # fmt: skip
    pools_by_district = {
        kind: {d: places.district(kind, d) for d in {h.district for h in households}}
        for kind in (VenueKind.pharmacy, VenueKind.clinic, VenueKind.hospital, VenueKind.other, VenueKind.taxi,
                     VenueKind.station, VenueKind.restaurant, VenueKind.bus_line)
    }  # fmt: skip
    work_restaurants = {d: places.district(VenueKind.restaurant, d) for d in {v.region_code[:6] for v in venues}}

    first_day = start.astimezone(BEIJING).date()
    for day_no in range((local_now.date() - first_day).days + 1):
        day = first_day + delta(days=day_no)
        midnight = dt.datetime(day.year, day.month, day.day, tzinfo=BEIJING).astimezone(dt.UTC)
        weekday = day.weekday() < 5
        saturday_shift = day.weekday() == 5
        for h in households:
            members = h.members
            # trips[i]: (second of the day, venue, second of checking out if they do)
            trips: list[list[tuple[int, int, int]]] = [[] for _ in members]
            busy_until = [0] * len(members)
            # Work and school.
            for i, p in enumerate(members):
                if p.role == _WORKER and (weekday or (saturday_shift and rnd() < 0.15)) and rnd() < 0.94:
                    begin = p.work_start + randint(-600, 600)
                    end = begin + p.work_hours + randint(-900, 900)
                    if p.bus >= 0:
                        ride = randint(10 * _M, 35 * _M)
                        trips[i].append((begin - ride - randint(2 * _M, 8 * _M), p.bus, begin - randint(2, 8) * _M))
                        back = end + randint(3 * _M, 15 * _M)
                        trips[i].append((back, p.bus, back + ride))
                    trips[i].append((begin, p.work, end))
                    if rnd() < 0.12:  # lunch out, near work
                        lunch = choice(work_restaurants[p.work_district])
                        at = randint(11 * _H + 40 * _M, 12 * _H + 30 * _M)
                        trips[i].append((at, lunch, at + randint(25 * _M, 50 * _M)))
                    busy_until[i] = end + (45 * _M if p.bus >= 0 else 25 * _M)
                elif p.role == _PUPIL and weekday and rnd() < 0.97:
                    begin = p.work_start + randint(-300, 300)
                    end = begin + p.work_hours + randint(-600, 600)
                    trips[i].append((begin, p.work, end))
                    busy_until[i] = end + 20 * _M
            # The household's shopping, mostly at its usual supermarket, sometimes all together.
            if h.supermarket >= 0 and rnd() < (0.4 if weekday else 0.65):
                adults = [i for i, p in enumerate(members) if p.role in (_WORKER, _HOME)] or list(range(len(members)))
                at_home = [i for i in adults if busy_until[i] == 0]
                shoppers = [choice(at_home or adults)]
                if not weekday:  # the family goes together
                    shoppers += [i for i in range(len(members)) if i != shoppers[0] and rnd() < 0.5]
                if weekday and not at_home:
                    at = busy_until[shoppers[0]] + randint(10 * _M, 50 * _M)
                else:
                    at = randint(15 * _H, 19 * _H) if rnd() < 0.7 else randint(9 * _H, 11 * _H + 30 * _M)
                shop = h.supermarket if rnd() < 0.85 else h.other_supermarket
                out = at + randint(*stay[VenueKind.supermarket])
                for n, i in enumerate(shoppers):
                    trips[i].append((at + n * randint(3, 40), shop, out))
            # The morning market, for those at home (and some at weekends).
            if h.market >= 0:
                for i, p in enumerate(members):
                    if (p.role == _HOME and p.age >= 45 and rnd() < 0.2) or (
                        not weekday and p.age >= 18 and rnd() < 0.05
                    ):
                        at = randint(6 * _H, 8 * _H + 30 * _M)
                        trips[i].append((at, h.market, at + randint(*stay[VenueKind.market])))
            # Dinner out together.
            if h.restaurants and rnd() < (0.05 if weekday else 0.14):
                at = max(randint(17 * _H + 30 * _M, 19 * _H), max(busy_until) + 15 * _M)
                if at < 21 * _H:
                    place = (
                        choice(h.restaurants)
                        if rnd() < 0.7
                        else choice(pools_by_district[VenueKind.restaurant][h.district])
                    )
                    out = at + randint(*stay[VenueKind.restaurant])
                    for i in range(len(members)):
                        trips[i].append((at + i * randint(2, 30), place, out))
            # Errands of one's own.
            for i, p in enumerate(members):
                if p.role == _CHILD:
                    continue
                old = p.age >= 60
                d = p.district
                free_from = busy_until[i] or 8 * _H + 30 * _M
                free_to = 21 * _H if busy_until[i] else 19 * _H
                if free_from >= free_to:
                    continue
                for kind, chance in (
                    (VenueKind.pharmacy, 0.03 if old else 0.012),
                    (VenueKind.clinic, 0.02 if old else 0.006),
                    (VenueKind.hospital, 0.008 if old else 0.002),
                    (VenueKind.other, 0.035 if weekday else 0.08),
                    (VenueKind.taxi, 0.02 if p.age >= 18 else 0.0),
                    (VenueKind.bus_line, (0.08 if old else 0.03) if p.bus < 0 else 0.0),
                    (VenueKind.station, 0.0 if weekday else (0.012 if p.age >= 18 else 0.004)),
                ):
                    if rnd() < chance:
                        pool = pools_by_district[kind][d]
                        if kind is VenueKind.hospital and p.age >= 60 and rnd() < 0.3:
                            pool = places.by_kind[kind]  # the big hospitals in the city centre
                        if pool:
                            at = randint(free_from, free_to)
                            trips[i].append((at, choice(pool), at + randint(*stay[kind])))
            # Out through the gate before the first trip, back in after the last; then out they go.
            for i, p in enumerate(members):
                day_trips = trips[i]
                if not day_trips:
                    continue
                day_trips.sort()
                person = p.person
                if p.gate >= 0:
                    first = day_trips[0][0] - randint(5 * _M, 25 * _M)
                    last = max(out for _, _, out in day_trips) + randint(5 * _M, 25 * _M)
                    day_trips = [(first, p.gate, 0), *day_trips, (last, p.gate, 0)]
                for in_s, venue, out_s in day_trips:
                    checked_in = midnight + delta(seconds=in_s)
                    if checked_in < start or checked_in > now:
                        continue
                    checked_out = None
                    if kinds[venue] is not gate_kind and rnd() < CHECKOUT_SHARE:
                        checked_out = midnight + delta(seconds=out_s)
                        if checked_out > now:
                            checked_out = None
                    yield person, venue, checked_in, checked_out
