from sqlalchemy import select, text
from sqlalchemy.orm import Session

from fangkong.core.crypto import Keyring
from fangkong.people import pii
from fangkong.people.models import Person
from fangkong.people.service import find_by_id_number, find_by_phone, get_person, read_person
from fangkong.regions.models import Household

from ..support.factories import load_people, load_regions, make_person, people_csv
from ..support.personas import LI_QIANG, WANG_FANG, ZHANG_WEI

GOOD = people_csv(
    f"wang-fang,王芳,{WANG_FANG.id_number},13812345678,210802001001001,H1,渤海大街12号",
    f"li-qiang,李强,{LI_QIANG.id_number},,210802001001001,H1,渤海大街12号",
    f"zhang-wei,张伟,{ZHANG_WEI.id_number},0417-5812345,210882001001001,H2,钢都路3号",
)


def test_good_rows_are_imported_with_households(db: Session, keys: Keyring) -> None:
    load_regions(db)
    report = load_people(db, keys, GOOD)
    assert report.summary() == "imported 3, updated 0, rejected 0"
    wang, li = get_person(db, ref="wang-fang"), get_person(db, ref="li-qiang")
    assert wang.household_id == li.household_id is not None
    household = db.get(Household, wang.household_id)
    assert household is not None
    assert household.ref == "H1"
    assert li.phone_enc is None
    assert li.phone_hash is None
    assert wang.birth_date is not None
    assert wang.birth_date.isoformat() == "1990-03-07"


def test_id_numbers_and_phones_are_stored_only_encrypted(db: Session, keys: Keyring) -> None:
    load_regions(db)
    load_people(db, keys, GOOD)
    raw = db.execute(text("SELECT * FROM person")).all()
    dump = repr(raw).encode() + b"".join(v for row in raw for v in row if isinstance(v, bytes | memoryview))
    for secret in (WANG_FANG.id_number, ZHANG_WEI.id_number, "13812345678", "5812345"):
        assert secret.encode() not in dump
    wang = get_person(db, ref="wang-fang")
    assert pii.reveal_id_number(wang, keys=keys) == WANG_FANG.id_number
    assert pii.reveal_phone(wang, keys=keys) == "13812345678"


def test_people_are_found_by_id_number_and_phone(db: Session, keys: Keyring) -> None:
    load_regions(db)
    load_people(db, keys, GOOD)
    found = find_by_id_number(db, keys=keys, number=WANG_FANG.id_number.lower())
    assert found is not None
    assert found.ref == "wang-fang"
    assert find_by_id_number(db, keys=keys, number="11010519491231002X") is None
    assert [p.ref for p in find_by_phone(db, keys=keys, phone="+86 138 1234 5678")] == ["wang-fang"]


def test_the_default_view_is_masked(db: Session, keys: Keyring) -> None:
    load_regions(db)
    load_people(db, keys, GOOD)
    view = read_person(db, keys=keys, ref="wang-fang")
    assert view.id_number == "210802********1223"
    assert view.phone == "138****5678"
    assert view.region.code == "210802001001001"
    assert view.household_ref == "H1"


def test_bad_rows_are_rejected_with_their_line_and_reason(db: Session, keys: Keyring) -> None:
    load_regions(db)
    text_ = people_csv(
        f"wang-fang,王芳,{WANG_FANG.id_number},13812345678,210802001001001,H1,渤海大街12号",  # 2: good
        "p2,赵敏,210802199003071224,,210802001001001,,",  # 3: wrong check character
        f"p3,钱进,{ZHANG_WEI.id_number},,999999001001001,,",  # 4: unknown region
        f"wang-fang,王芳,{LI_QIANG.id_number},,210802001001001,,",  # 5: repeated ref
        "p5,孙丽,210802199002301227,,210802001001001,,",  # 6: impossible birth date
        f"p6,周杰,{LI_QIANG.id_number},12345,210802001001001,,",  # 7: bad phone
        f"p7,吴刚,{LI_QIANG.id_number},,210802001,,",  # 8: a street is not a residence
        f"p8,郑和,{WANG_FANG.id_number},,210802001001001,,",  # 9: ID number of wang-fang (line 2)
        f",无名,{LI_QIANG.id_number},,210802001001001,,",  # 10: no ref
        "p10,冯,only,two",  # 11: wrong number of fields
        f"p11,陈红,{LI_QIANG.id_number},,210882001001001,H1,",  # 12: household H1 lives in another region
        f"p12,楚云,{LI_QIANG.id_number.lower()},,210802001001002,,",  # 13: good
    )
    report = load_people(db, keys, text_, batch_size=3)
    assert [str(e) for e in report.errors] == [
        "line 3: invalid ID number: check character is 4 but should be 3; the number was probably mistyped",
        "line 4: region 999999001001001 does not exist",
        "line 5: ref wang-fang repeats line 2",
        "line 6: invalid ID number: birth date 19900230 in the ID number is not a real date",
        "line 7: invalid phone: phone is neither a mobile number (11 digits starting 13-19) "
        "nor a landline with area code (0417-1234567)",
        "line 8: region 210802001 is a street; people live in a community or grid",
        "line 9: ID number is already registered to ref wang-fang",
        "line 10: ref is empty",
        "line 11: expected 7 fields, found 4",
        "line 12: household H1 is registered in another region than 210882001001001",
    ]
    assert report.summary() == "imported 2, updated 0, rejected 10"
    assert {p.ref for p in db.execute(select(Person)).scalars()} == {"wang-fang", "p12"}


def test_reimporting_the_same_file_changes_nothing(db: Session, keys: Keyring) -> None:
    load_regions(db)
    load_people(db, keys, GOOD)
    before = {p.ref: (p.id_number_enc, p.phone_enc, p.updated_at) for p in db.execute(select(Person)).scalars()}
    report = load_people(db, keys, GOOD)
    assert report.summary() == "imported 0, updated 0, rejected 0"
    assert report.unchanged == 3
    db.expire_all()
    after = {p.ref: (p.id_number_enc, p.phone_enc, p.updated_at) for p in db.execute(select(Person)).scalars()}
    assert after == before  # not even re-encrypted


def test_a_changed_row_is_updated_in_place(db: Session, keys: Keyring) -> None:
    load_regions(db)
    load_people(db, keys, GOOD)
    changed = GOOD.replace("13812345678,210802001001001,H1", "13900001111,210802001001002,H3")
    report = load_people(db, keys, changed)
    assert report.summary() == "imported 0, updated 1, rejected 0"
    db.expire_all()
    wang = get_person(db, ref="wang-fang")
    assert pii.reveal_phone(wang, keys=keys) == "13900001111"
    assert find_by_phone(db, keys=keys, phone="13812345678") == []
    assert db.get(Household, wang.household_id).ref == "H3"  # type: ignore[union-attr]


def test_passports_and_other_documents_are_accepted(db: Session, keys: Keyring) -> None:
    load_regions(db)
    text_ = (
        "ref,name,id_number,phone,region_code,household_ref,address,id_type\n"
        "tourist,John Smith,E1234 5678,,210802001001001,,,passport\n"
        "bad,Jane Doe,X,,210802001001001,,,visa\n"
    )
    report = load_people(db, keys, text_)
    assert [str(e) for e in report.errors] == [
        "line 3: id_type 'visa' is not one of resident_id, passport, hk_macao_permit, taiwan_permit, "
        "foreign_permanent, other"
    ]
    tourist = get_person(db, ref="tourist")
    assert pii.reveal_id_number(tourist, keys=keys) == "E12345678"
    assert tourist.birth_date is None


def test_the_person_factory_uses_the_real_import_path(db: Session, keys: Keyring) -> None:
    load_regions(db)
    person = make_person(db, keys, ref="li-qiang", name="李强", id_number=LI_QIANG.id_number)
    assert person.name == "李强"
    assert find_by_id_number(db, keys=keys, number=LI_QIANG.id_number) == person


def test_imported_timestamps_compare_equal_in_sql(db: Session, keys: Keyring) -> None:
    # The bulk path writes through the driver: its timestamps must be stored exactly as SQLAlchemy writes them,
    # or equality queries on them silently find nothing (SQLite stores them as text).
    import datetime as dt

    from fangkong.core import clock

    load_regions(db)
    instant = dt.datetime(2026, 11, 22, 9, 38, tzinfo=dt.UTC)
    with clock.frozen_at(instant):
        load_people(db, keys, GOOD)
    assert db.execute(select(Person.ref).where(Person.created_at == instant)).scalars().all() != []
    assert len(db.execute(select(Person.ref).where(Person.created_at == instant)).scalars().all()) == 3
