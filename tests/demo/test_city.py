import datetime as dt

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from fangkong.cases.models import Case, Classification, Contact, ContactStatus
from fangkong.core import clock
from fangkong.core.crypto import Keyring
from fangkong.core.ids import parse_resident_id
from fangkong.demo.city import fill_demo_city
from fangkong.demo.outbreak import DEMO_RESIDENT, fill_demo_outbreak
from fangkong.demo.population import DISTRICTS, city_regions, generate_people
from fangkong.healthcode.engine import ReasonCode
from fangkong.healthcode.models import Appeal, AppealStatus
from fangkong.healthcode.service import current, parse_reasons
from fangkong.people.models import Person
from fangkong.policy.editions import Color
from fangkong.regions.models import Household, Region
from fangkong.regions.service import get_region

TODAY = dt.date(2026, 11, 22)


def test_the_same_seed_gives_the_same_city() -> None:
    assert city_regions(7) == city_regions(7)
    assert list(generate_people(300, 7, today=TODAY)) == list(generate_people(300, 7, today=TODAY))


def test_another_seed_gives_another_city() -> None:
    assert list(generate_people(50, 7, today=TODAY)) != list(generate_people(50, 8, today=TODAY))


def test_the_city_has_yingkous_real_districts() -> None:
    regions = city_regions(1)
    districts = {r.code: r.name for r in regions if r.level == "district"}
    assert districts == {
        "210802": "站前区",
        "210803": "西市区",
        "210804": "鲅鱼圈区",
        "210811": "老边区",
        "210881": "盖州市",
        "210882": "大石桥市",
    }
    assert {r.level for r in regions} == {"city", "district", "street", "community", "grid"}


def test_generated_people_are_valid_and_distinct() -> None:
    people = list(generate_people(2000, 11, today=TODAY))
    assert len({p["ref"] for p in people}) == 2000
    assert len({p["id_number"] for p in people}) == 2000
    for p in people:
        parsed = parse_resident_id(p["id_number"], today=TODAY)
        assert 0 <= (TODAY - parsed.birth_date).days // 365 <= 115
        assert 2 <= len(p["name"]) <= 4
    households = {p["household_ref"] for p in people}
    assert 400 < len(households) < 1500  # households of 1 to 5
    # People are spread over every district, roughly by population.
    by_district = {code: 0 for code, *_ in DISTRICTS}
    for p in people:
        by_district[p["region_code"][:6]] += 1
    assert all(count > 50 for count in by_district.values())


def test_filling_the_demo_city_goes_through_the_importers(db: Session, keys: Keyring) -> None:
    summary = fill_demo_city(db, keys=keys, people=120, seed=5, today=TODAY)
    assert "people imported 120" in summary
    assert db.execute(select(func.count()).select_from(Person)).scalar_one() == 120
    assert db.execute(select(func.count()).select_from(Household)).scalar_one() > 20
    assert get_region(db, code="210800").name == "营口市"
    regions = db.execute(select(func.count()).select_from(Region)).scalar_one()
    assert regions == len(city_regions(5))


def test_the_demo_has_an_outbreak_with_codes_of_every_color_each_with_its_reason(db: Session, keys: Keyring) -> None:
    summary = fill_demo_city(db, keys=keys, people=300, seed=2020, today=TODAY)
    assert "outbreak:" in summary
    # Every resident's code as it is now (computed on first use, like the code page does).
    codes = [(person.ref, current(db, person_id=person.id)) for person in db.execute(select(Person)).scalars()]
    by_color: dict[Color, set[str]] = {}
    for ref, code in codes:
        by_color.setdefault(code.color, set()).add(ref)
        first = parse_reasons(code.reasons)[0]
        assert (first.code == ReasonCode.all_clear) == (code.color is Color.green), (ref, code.reasons)
    assert set(by_color) == {Color.green, Color.yellow, Color.red}
    assert DEMO_RESIDENT in by_color[Color.green]  # the demo's resident account shows a green code
    cases = db.execute(select(Case.classification)).scalars().all()
    assert sorted(cases) == [Classification.asymptomatic, Classification.confirmed]
    statuses = set(db.execute(select(Contact.status)).scalars())
    assert statuses == {ContactStatus.candidate, ContactStatus.confirmed, ContactStatus.dismissed}
    reasons = {r.code for _, code in codes for r in parse_reasons(code.reasons)}
    expected = {ReasonCode.case_confirmed, ReasonCode.case_asymptomatic, ReasonCode.close_contact_quarantine,
                ReasonCode.companion_tests_needed, ReasonCode.risk_area_stay, ReasonCode.fever}  # fmt: skip
    assert expected <= reasons
    assert db.execute(select(Appeal.status)).scalars().all() == [AppealStatus.open]
    # A second run leaves the outbreak as it is.
    assert fill_demo_outbreak(db, seed=2020).endswith("kept as it is")
    assert len(db.execute(select(Case.id)).all()) == 2


def test_a_tiny_city_whose_contacts_take_in_everyone_still_gets_its_outbreak(db: Session, keys: Keyring) -> None:
    # At this instant the 40 people of seed 3 are all contacts of the two cases; the demo once crashed choosing
    # a fever patient from nobody (at 10 of 48 instants of a day), so `make test` failed by the clock.
    with clock.frozen_at(dt.datetime(2026, 12, 1, 10, 17, tzinfo=dt.UTC)):
        summary = fill_demo_city(db, keys=keys, people=40, seed=3)
    assert "an asymptomatic case" in summary
    assert db.execute(select(func.count()).select_from(Case)).scalar_one() == 2
