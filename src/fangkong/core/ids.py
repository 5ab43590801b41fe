"""Identity documents and phone numbers: validation, normalisation and masking.

The resident ID number follows GB 11643-1999: 6-digit address code, 8-digit birth date, 3-digit sequence
(odd = male), and a check character computed with ISO 7064 MOD 11-2 over the first 17 digits.
Everything here is pure so that the importers can call it a million times without I/O.
"""

from __future__ import annotations

import datetime as dt
import enum
import re
from dataclasses import dataclass
from operator import mul


class IdType(enum.StrEnum):
    resident_id = "resident_id"  # 居民身份证
    passport = "passport"  # 护照
    hk_macao_permit = "hk_macao_permit"  # 港澳居民来往内地通行证
    taiwan_permit = "taiwan_permit"  # 台湾居民来往大陆通行证
    foreign_permanent = "foreign_permanent"  # 外国人永久居留身份证
    other = "other"


class Sex(enum.StrEnum):
    male = "male"
    female = "female"


class InvalidIdentity(ValueError):
    """An ID number or phone that fails validation; the message says what is wrong and how to fix it."""


_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_CHECK_CHARS = "10X98765432"
# First two digits of GB/T 2260 address codes: the provinces, autonomous regions, municipalities, HK, Macao.
_PROVINCES = frozenset(
    {"11", "12", "13", "14", "15", "21", "22", "23", "31", "32", "33", "34", "35", "36", "37"}
    | {"41", "42", "43", "44", "45", "46", "50", "51", "52", "53", "54", "61", "62", "63", "64", "65"}
    | {"71", "81", "82", "83"}
)
# The standard's own worked example (440524188001010014) was born in 1880.
_EARLIEST_BIRTH = dt.date(1880, 1, 1)
_DOCUMENT_RE = re.compile(r"^[A-Z0-9]{5,20}$")


def id_check_char(first17: str) -> str:
    """The GB 11643 check character for the first 17 digits."""
    if len(first17) != 17 or not first17.isdigit():
        raise InvalidIdentity("the first 17 characters of a resident ID number must be digits")
    # map/mul rather than a generator: this runs once per row of million-row imports.
    return _CHECK_CHARS[sum(map(mul, map(int, first17), _WEIGHTS)) % 11]


@dataclass(frozen=True, slots=True)
class ResidentId:
    number: str  # normalised: 18 characters, upper-case X
    address_code: str
    birth_date: dt.date
    sex: Sex


def parse_resident_id(raw: str, *, today: dt.date | None = None) -> ResidentId:
    """Validate a resident ID number and return its parts. Accepts a lower-case x as the check character."""
    number = raw.strip().upper()
    if len(number) == 15 and number.isdigit():
        raise InvalidIdentity("15-digit first-generation ID numbers are no longer valid; give the 18-character number")
    if len(number) != 18:
        raise InvalidIdentity(f"a resident ID number has 18 characters, this one has {len(number)}")
    if not number[:17].isdigit() or not (number[17].isdigit() or number[17] == "X"):
        raise InvalidIdentity("a resident ID number is 17 digits followed by a digit or X")
    if number[:2] not in _PROVINCES:
        raise InvalidIdentity(f"address code {number[:6]} does not start with a province code")
    try:
        birth = dt.date(int(number[6:10]), int(number[10:12]), int(number[12:14]))
    except ValueError:
        raise InvalidIdentity(f"birth date {number[6:14]} in the ID number is not a real date") from None
    if today is None:
        today = dt.date.today()  # noqa: DTZ011 - a calendar date, not an instant
    if birth < _EARLIEST_BIRTH or birth > today:
        raise InvalidIdentity(f"birth date {birth.isoformat()} in the ID number is not possible")
    expected = id_check_char(number[:17])
    if number[17] != expected:
        raise InvalidIdentity(
            f"check character is {number[17]} but should be {expected}; the number was probably mistyped"
        )
    sex = Sex.male if int(number[16]) % 2 == 1 else Sex.female
    return ResidentId(number=number, address_code=number[:6], birth_date=birth, sex=sex)


def normalize_document(id_type: IdType, raw: str, *, today: dt.date | None = None) -> str:
    """Validate and normalise an identity document number of any type."""
    if id_type is IdType.resident_id:
        return parse_resident_id(raw, today=today).number
    number = re.sub(r"[\s-]", "", raw).upper()
    if not _DOCUMENT_RE.fullmatch(number):
        raise InvalidIdentity(f"a {id_type.value} number is 5 to 20 letters and digits")
    return number


def make_resident_id(address_code: str, birth_date: dt.date, sequence: int) -> str:
    """Build a valid resident ID number (used by the demo generator and the tests)."""
    if len(address_code) != 6 or not address_code.isdigit():
        raise InvalidIdentity("address code must be 6 digits")
    if not 0 <= sequence <= 999:
        raise InvalidIdentity("sequence must be 0..999")
    first17 = f"{address_code}{birth_date:%Y%m%d}{sequence:03d}"
    return first17 + id_check_char(first17)


_MOBILE_RE = re.compile(r"^1[3-9]\d{9}$")
_LANDLINE_RE = re.compile(r"^0\d{2,3}-?\d{7,8}$")


def normalize_phone(raw: str) -> str:
    """A mainland mobile number (11 digits, 1[3-9]…) or a landline with area code (0417-1234567).

    Spaces and a +86/0086 prefix are removed; landlines keep their hyphen after the area code.
    """
    if len(raw) == 11 and raw.isdigit() and raw[0] == "1" and raw[1] in "3456789":
        return raw  # the common case, without regular expressions
    phone = re.sub(r"[\s()]", "", raw)
    for prefix in ("+86", "0086"):
        if phone.startswith(prefix):
            phone = phone[len(prefix) :].lstrip("-")
    if _MOBILE_RE.fullmatch(phone.replace("-", "")):
        return phone.replace("-", "")
    if _LANDLINE_RE.fullmatch(phone):
        if "-" in phone:
            return phone
        # Without a hyphen the split is ambiguous; area codes of 2 digits are 010 and 02x.
        area = 3 if phone[1] in "12" else 4
        return f"{phone[:area]}-{phone[area:]}"
    raise InvalidIdentity(
        "phone is neither a mobile number (11 digits starting 13-19) nor a landline with area code (0417-1234567)"
    )


def mask_id_number(number: str) -> str:
    """210802********123X for a resident ID; other documents keep their first and last two characters."""
    if len(number) == 18:
        return number[:6] + "*" * 8 + number[-4:]
    if len(number) <= 4:
        return "*" * len(number)
    return number[:2] + "*" * (len(number) - 4) + number[-2:]


def mask_phone(phone: str) -> str:
    """138****5678 for a mobile; a landline keeps its area code and last four digits."""
    if "-" in phone:
        area, local = phone.split("-", 1)
        return f"{area}-{'*' * (len(local) - 4)}{local[-4:]}"
    if len(phone) == 11:
        return phone[:3] + "****" + phone[-4:]
    return "*" * max(len(phone) - 4, 0) + phone[-4:]
