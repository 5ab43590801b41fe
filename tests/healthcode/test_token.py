"""The signed QR token: genuine live tokens verify; any altered bit, another key, an expired or future token is
refused with the reason; nothing identifying is inside."""

import base64
import datetime as dt
import os

import pytest
from hypothesis import given
from hypothesis import strategies as st

from fangkong.core.ids import make_resident_id
from fangkong.healthcode.token import (
    CLOCK_SKEW,
    DEFAULT_LIFETIME,
    TOKEN_BYTES,
    TokenError,
    TokenProblem,
    issue,
    key_id,
    signing_key,
    verify,
)

KEY = signing_key(b"\x01" * 32)
KEYS = {key_id(KEY.public_key()): KEY.public_key()}
NOON = dt.datetime(2022, 3, 20, 4, 0, tzinfo=dt.UTC)
HANDLE = bytes(range(16))


def token_at(at: dt.datetime = NOON, color: str = "green") -> str:
    return issue(KEY, handle=HANDLE, color=color, issued_at=at)


def raw(token: str) -> bytes:
    return base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))


def encode(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def problem(token: str, now: dt.datetime = NOON) -> TokenProblem:
    with pytest.raises(TokenError) as refused:
        verify(token, keys=KEYS, now=now)
    return refused.value.problem


def test_a_fresh_token_verifies_with_its_claims() -> None:
    claims = verify(token_at(color="yellow"), keys=KEYS, now=NOON + dt.timedelta(minutes=1))
    assert (claims.handle, claims.color, claims.issued_at) == (HANDLE, "yellow", NOON)
    assert claims.expires_at == NOON + DEFAULT_LIFETIME


def test_the_token_fits_a_qr_code_and_is_the_same_size_every_time() -> None:
    token = token_at()
    assert len(raw(token)) == TOKEN_BYTES == 92
    assert len(token) == 123


def test_expiry_is_honoured_to_the_second() -> None:
    assert verify(token_at(), keys=KEYS, now=NOON + DEFAULT_LIFETIME - dt.timedelta(seconds=1))
    assert problem(token_at(), now=NOON + DEFAULT_LIFETIME) is TokenProblem.expired
    assert problem(token_at(), now=NOON + dt.timedelta(days=1)) is TokenProblem.expired  # yesterday's screenshot


def test_a_token_from_the_future_is_refused_beyond_the_clock_skew() -> None:
    assert verify(token_at(NOON + CLOCK_SKEW), keys=KEYS, now=NOON)
    assert problem(token_at(NOON + CLOCK_SKEW + dt.timedelta(seconds=1))) is TokenProblem.not_yet_valid


def test_another_installations_key_is_unknown_and_a_reused_key_id_is_forged() -> None:
    other = signing_key(b"\x02" * 32)
    foreign = issue(other, handle=HANDLE, color="green", issued_at=NOON)
    assert problem(foreign) is TokenProblem.unknown_key
    # Someone who copies our key id into their own token does not get past the signature.
    data = bytearray(raw(foreign))
    data[1:5] = key_id(KEY.public_key())
    assert problem(encode(bytes(data))) is TokenProblem.forged


@pytest.mark.parametrize("text", ["", "hello", "!!!!", "a" * 123, "健康码", encode(b"\x01" * 91)])
def test_anything_else_is_malformed(text: str) -> None:
    assert problem(text) is TokenProblem.malformed


@given(bit=st.integers(min_value=0, max_value=TOKEN_BYTES * 8 - 1))
def test_any_bit_flipped_fails_verification(bit: int) -> None:
    data = bytearray(raw(token_at()))
    data[bit // 8] ^= 1 << (bit % 8)
    with pytest.raises(TokenError) as refused:
        verify(encode(bytes(data)), keys=KEYS, now=NOON)
    assert refused.value.problem in {TokenProblem.forged, TokenProblem.unknown_key, TokenProblem.malformed}


@given(
    handle=st.binary(min_size=16, max_size=16),
    color=st.sampled_from(["green", "yellow", "red"]),
    seconds=st.integers(min_value=0, max_value=2**31),
)
def test_genuine_tokens_round_trip(handle: bytes, color: str, seconds: int) -> None:
    at = dt.datetime.fromtimestamp(seconds, dt.UTC)
    claims = verify(issue(KEY, handle=handle, color=color, issued_at=at), keys=KEYS, now=at)
    assert (claims.handle, claims.color, claims.issued_at) == (handle, color, at)


@given(sequence=st.integers(min_value=0, max_value=999))
def test_no_id_number_or_its_digits_are_inside(sequence: int) -> None:
    # The handle is random and opaque: whatever person it stands for, the bytes carry no trace of them.
    number = make_resident_id("210802", dt.date(1990, 3, 7), sequence)
    token = issue(KEY, handle=os.urandom(16), color="green", issued_at=NOON)
    assert number not in token
    assert number.encode() not in raw(token)
    assert number[-8:].encode() not in raw(token)


def standard_alphabet(token: str) -> str:
    return token.replace("-", "+").replace("_", "/")


def a_token_with_a_url_safe_letter() -> str:
    """A live token whose spelling uses '-' or '_' (so that the standard alphabet spells it differently)."""
    for seconds in range(1000):
        token = token_at(NOON - dt.timedelta(seconds=seconds))
        if "-" in token or "_" in token:
            return token
    raise AssertionError("no token with '-' or '_' in a thousand")


def variants(token: str) -> dict[str, str]:
    """Spellings of the same 92 bytes that a lenient base64 decoder reads as the token itself."""
    spare_bits = token[:-1] + encode(raw(token))[-1:].translate(str.maketrans("AEIMQUYcgkosw048", "BFJNRVZdhlptx159"))
    return {
        "standard alphabet": standard_alphabet(token),
        "padding": token + "=",
        "two paddings": token + "==",
        "a space inside": token[:40] + " " + token[40:],
        "a dot inside": token[:61] + "." + token[61:],
        "a newline at the end": token + "\n",
        "spaces around": f"  {token}  ",
        "a tab at the start": "\t" + token,
        "a full-width character inside": token[:10] + "。" + token[10:],
        "the last character's spare bits set": spare_bits,
    }


@pytest.mark.parametrize("name", list(variants(token_at())))
def test_a_token_spelled_any_other_way_is_refused_like_a_forged_one(name: str) -> None:
    token = a_token_with_a_url_safe_letter()
    variant = variants(token)[name]
    assert variant != token
    assert raw_leniently(variant) == raw(token)  # the same bytes: an old decoder accepted it
    forged = bytearray(raw(token))
    forged[-1] ^= 1
    assert problem(variant) is problem(encode(bytes(forged))) is TokenProblem.forged
    assert verify(token, keys=KEYS, now=NOON).handle == HANDLE  # the one canonical spelling still passes


def raw_leniently(text: str) -> bytes:
    """What Python's default decoder makes of a text: other alphabets and characters outside it dropped."""
    letters = "".join(c for c in text.replace("+", "-").replace("/", "_") if c.isascii() and (c.isalnum() or c in "-_"))
    return base64.urlsafe_b64decode(letters + "=" * (-len(letters) % 4))
