import datetime as dt

import pytest
from hypothesis import given
from hypothesis import strategies as st

from fangkong.core.ids import (
    IdType,
    InvalidIdentity,
    Sex,
    id_check_char,
    make_resident_id,
    mask_id_number,
    mask_phone,
    normalize_document,
    normalize_phone,
    parse_resident_id,
)

TODAY = dt.date(2026, 11, 22)


def test_the_standards_own_examples_are_valid() -> None:
    # The two worked examples printed in GB 11643-1999.
    assert parse_resident_id("11010519491231002X", today=TODAY).number == "11010519491231002X"
    assert parse_resident_id("440524188001010014", today=TODAY).birth_date == dt.date(1880, 1, 1)


def test_it_reads_birth_date_sex_and_address_code() -> None:
    parsed = parse_resident_id("210802199003071223", today=TODAY)
    assert parsed.address_code == "210802"
    assert parsed.birth_date == dt.date(1990, 3, 7)
    assert parsed.sex is Sex.female  # sequence 122: even
    assert parse_resident_id("210802198805124011", today=TODAY).sex is Sex.male


def test_a_lower_case_x_is_accepted_and_stored_upper_case() -> None:
    assert parse_resident_id("11010519491231002x", today=TODAY).number == "11010519491231002X"


def test_a_wrong_check_character_is_rejected_naming_the_right_one() -> None:
    with pytest.raises(InvalidIdentity, match="check character is 4 but should be 3"):
        parse_resident_id("210802199003071224", today=TODAY)


@pytest.mark.parametrize(
    ("number", "reason"),
    [
        ("210802199002301227", "birth date 19900230 in the ID number is not a real date"),
        ("210802199013071226", "birth date 19901307 in the ID number is not a real date"),
        ("210802203001011228", "birth date 2030-01-01 in the ID number is not possible"),
        ("210802185001011221", "birth date 1850-01-01 in the ID number is not possible"),
        ("990802199003071223", "does not start with a province code"),
        ("210802900307122", "15-digit first-generation ID numbers are no longer valid"),
        ("2108021990030712", "has 18 characters, this one has 16"),
        ("21080219900307122Y", "17 digits followed by a digit or X"),
    ],
)
def test_impossible_numbers_are_rejected_with_a_reason(number: str, reason: str) -> None:
    with pytest.raises(InvalidIdentity, match=reason):
        parse_resident_id(number, today=TODAY)


@given(
    address=st.sampled_from(["210802", "210882", "110105", "440524"]),
    birth=st.dates(min_value=dt.date(1880, 1, 1), max_value=TODAY),
    sequence=st.integers(min_value=0, max_value=999),
)
def test_generated_numbers_are_valid_and_any_single_digit_typo_is_caught(
    address: str, birth: dt.date, sequence: int
) -> None:
    number = make_resident_id(address, birth, sequence)
    assert parse_resident_id(number, today=TODAY).birth_date == birth
    # MOD 11-2 detects every single-digit substitution in the first 17 digits.
    for i in range(17):
        typo = number[:i] + str((int(number[i]) + 1) % 10) + number[i + 1 :]
        assert id_check_char(typo[:17]) != typo[17]


def test_other_documents_are_normalised_and_checked_for_shape() -> None:
    assert normalize_document(IdType.passport, " e1234 5678 ") == "E12345678"
    with pytest.raises(InvalidIdentity, match="5 to 20 letters and digits"):
        normalize_document(IdType.passport, "E1#")


def test_id_numbers_are_masked_keeping_region_and_last_four() -> None:
    assert mask_id_number("21080219900307123X") == "210802********123X"
    assert mask_id_number("E12345678") == "E1*****78"


@pytest.mark.parametrize(
    ("raw", "normalized"),
    [
        ("13812345678", "13812345678"),
        ("+86 138 1234 5678", "13812345678"),
        ("0086-13812345678", "13812345678"),
        ("0417-2812345", "0417-2812345"),
        ("04172812345", "0417-2812345"),
        ("01062345678", "010-62345678"),
    ],
)
def test_phones_are_normalised(raw: str, normalized: str) -> None:
    assert normalize_phone(raw) == normalized


@pytest.mark.parametrize("raw", ["12345678901", "1381234567", "138123456789", "hello", "0417-12"])
def test_invalid_phones_are_rejected(raw: str) -> None:
    with pytest.raises(InvalidIdentity, match="neither a mobile number"):
        normalize_phone(raw)


def test_phones_are_masked() -> None:
    assert mask_phone("13812345678") == "138****5678"
    assert mask_phone("0417-2812345") == "0417-***2345"
