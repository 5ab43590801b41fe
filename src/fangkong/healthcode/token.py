"""The health code's QR payload: a compact token signed with Ed25519, verifiable offline with the public key.

Layout (92 bytes, then base64url without padding: 123 characters, a version-10 QR code in byte mode):

    version (1) | key id (4) | person handle (16) | issued at (4, unix seconds) | lifetime (2, seconds) |
    color (1) | Ed25519 signature (64) over "fangkong-healthcode" + everything before it

The handle is an opaque random value the server maps to a person; the token holds no name, ID number or phone.
The key id is the start of the SHA-256 of the public key, so scanners holding several keys (after a rotation)
pick the right one. The color is what the code showed when issued, for offline scanners; the server always
answers with the current color. Pure: no database, no clock of its own.

A token has exactly one spelling: the url-safe alphabet, no padding, nothing inserted, and the two bits the last
character carries beyond the 92 bytes zero. Python's decoder also takes the standard alphabet, padding, and drops
any character outside the alphabet; a token is therefore checked against the re-encoding of its bytes, and a
variant of a token (which a genuine scanner never produces) is refused as an altered one.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import enum
import hashlib
import re
import struct
from dataclasses import dataclass

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

VERSION = 1
HANDLE_BYTES = 16
_HEADER = struct.Struct(">B4s16sIHB")  # version, key id, handle, issued at, lifetime, color
_SIGNATURE_BYTES = 64
TOKEN_BYTES = _HEADER.size + _SIGNATURE_BYTES
_TOKEN_CHARACTERS = -(-TOKEN_BYTES * 4 // 3)  # 123: base64 without padding
_CANONICAL = re.compile(f"[A-Za-z0-9_-]{{{_TOKEN_CHARACTERS}}}")
_NOT_BASE64 = re.compile(r"[^A-Za-z0-9_+/-]")
_CONTEXT = b"fangkong-healthcode"
DEFAULT_LIFETIME = dt.timedelta(minutes=3)
# A phone's clock may run a little ahead of the server's: a token issued this far in the future is accepted.
CLOCK_SKEW = dt.timedelta(seconds=30)
_COLORS = ("green", "yellow", "red")


class TokenProblem(enum.StrEnum):
    malformed = "malformed"  # not a fangkong health code at all, or cut short
    unknown_key = "unknown_key"  # signed with a key this server does not know
    forged = "forged"  # the signature does not match: altered or made up
    expired = "expired"  # older than its lifetime: a screenshot, not a live code
    not_yet_valid = "not_yet_valid"  # issued in the future: a clock far ahead


class TokenError(Exception):
    def __init__(self, problem: TokenProblem) -> None:
        super().__init__(problem.value)
        self.problem = problem


@dataclass(frozen=True, slots=True)
class Claims:
    handle: bytes
    issued_at: dt.datetime
    expires_at: dt.datetime
    color: str
    key_id: bytes


def signing_key(seed: bytes) -> Ed25519PrivateKey:
    """The installation's health-code key, derived from its signing seed (so it survives restarts and is shared
    by every server process without a key file of its own)."""
    raw = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=b"fangkong/healthcode-ed25519").derive(seed)
    return Ed25519PrivateKey.from_private_bytes(raw)


def public_bytes(key: Ed25519PublicKey) -> bytes:
    return key.public_bytes(Encoding.Raw, PublicFormat.Raw)


def key_id(key: Ed25519PublicKey) -> bytes:
    return hashlib.sha256(public_bytes(key)).digest()[:4]


def _b64encode(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode("ascii").rstrip("=")


def _decode(text: str) -> bytes | None:
    """The token's bytes when `text` is their one canonical spelling, else None."""
    if _CANONICAL.fullmatch(text) is None:
        return None
    data = base64.urlsafe_b64decode(text + "=")
    return data if _b64encode(data) == text else None  # else the last character's spare bits were set


def _is_a_variant(text: str) -> bool:
    """Whether a lenient decoder (any base64 alphabet, padding, other characters dropped) would read a token's
    bytes from `text`: a token re-spelled or with characters inserted, as opposed to something else entirely."""
    letters = _NOT_BASE64.sub("", text).replace("+", "-").replace("/", "_")
    try:
        data = base64.urlsafe_b64decode(letters + "=" * (-len(letters) % 4))
    except (binascii.Error, ValueError):
        return False
    return len(data) == TOKEN_BYTES and data[0] == VERSION


def issue(
    key: Ed25519PrivateKey,
    *,
    handle: bytes,
    color: str,
    issued_at: dt.datetime,
    lifetime: dt.timedelta = DEFAULT_LIFETIME,
) -> str:
    if len(handle) != HANDLE_BYTES:
        raise ValueError(f"a person handle is {HANDLE_BYTES} bytes")
    if color not in _COLORS:
        raise ValueError(f"unknown color {color!r}")
    seconds = int(lifetime.total_seconds())
    if not 0 < seconds < 2**16:
        raise ValueError("a token lives between 1 second and 18 hours")
    header = _HEADER.pack(VERSION, key_id(key.public_key()), handle, int(issued_at.timestamp()), seconds,
                          _COLORS.index(color))  # fmt: skip
    return _b64encode(header + key.sign(_CONTEXT + header))


def verify(token: str, *, keys: dict[bytes, Ed25519PublicKey], now: dt.datetime) -> Claims:
    """The claims of a genuine, live token; otherwise TokenError saying what is wrong with it."""
    data = _decode(token)
    if data is None:
        # A re-spelled token is an altered one: the same answer as a token whose signature does not match.
        raise TokenError(TokenProblem.forged if _is_a_variant(token) else TokenProblem.malformed)
    if data[0] != VERSION:
        raise TokenError(TokenProblem.malformed)
    header, signature = data[: _HEADER.size], data[_HEADER.size :]
    _, kid, handle, issued, lifetime, color = _HEADER.unpack(header)
    public = keys.get(kid)
    if public is None:
        raise TokenError(TokenProblem.unknown_key)
    try:
        public.verify(signature, _CONTEXT + header)
    except InvalidSignature:
        raise TokenError(TokenProblem.forged) from None
    if color >= len(_COLORS) or lifetime == 0:  # signed by us, so never; kept for a key that leaked
        raise TokenError(TokenProblem.malformed)
    issued_at = dt.datetime.fromtimestamp(issued, dt.UTC)
    expires_at = issued_at + dt.timedelta(seconds=lifetime)
    if issued_at > now + CLOCK_SKEW:
        raise TokenError(TokenProblem.not_yet_valid)
    if now >= expires_at:
        raise TokenError(TokenProblem.expired)
    return Claims(handle, issued_at, expires_at, _COLORS[color], kid)
