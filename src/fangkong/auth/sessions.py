"""Signed, expiring session cookies (stateless, so any API node can read them) and CSRF tokens for forms."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass

from itsdangerous import BadSignature, URLSafeTimedSerializer

SESSION_COOKIE = "fk_session"
CSRF_COOKIE = "fk_csrf"  # before login there is no session to bind the form token to
SESSION_MAX_AGE = 12 * 3600  # one working shift
# A browser where an account logged in before: strangers' failed logins do not slow that account down there.
DEVICE_COOKIE = "fk_device"
DEVICE_MAX_AGE = 90 * 24 * 3600  # renewed at every successful login
DEVICE_ACCOUNTS = 8  # a checkpoint's shared phone: the most recent accounts it knows


@dataclass(frozen=True, slots=True)
class SessionData:
    user_id: int
    epoch: int  # must equal the user's session_epoch: bumping it ends every session at once
    nonce: str  # binds CSRF tokens to this session


class SessionCodec:
    def __init__(self, secret: bytes) -> None:
        self._serializer = URLSafeTimedSerializer(secret, salt="fangkong.session")
        self._csrf_key = hmac.digest(secret, b"fangkong.csrf", hashlib.sha256)

    def issue(self, *, user_id: int, epoch: int) -> str:
        return self._serializer.dumps({"u": user_id, "e": epoch, "n": secrets.token_hex(16)})

    def read(self, value: str | None) -> SessionData | None:
        if not value:
            return None
        try:
            data = self._serializer.loads(value, max_age=SESSION_MAX_AGE)
            return SessionData(user_id=int(data["u"]), epoch=int(data["e"]), nonce=str(data["n"]))
        except (BadSignature, KeyError, TypeError, ValueError):
            return None

    def csrf_token(self, nonce: str) -> str:
        return hmac.new(self._csrf_key, nonce.encode(), hashlib.sha256).hexdigest()

    def csrf_valid(self, nonce: str | None, token: str | None) -> bool:
        return bool(nonce and token) and hmac.compare_digest(self.csrf_token(nonce or ""), token or "")


@dataclass(frozen=True, slots=True)
class KnownDevice:
    """What a device's signed cookie vouches for: its own random id, and the accounts that logged in on it."""

    device_id: str
    user_ids: tuple[int, ...]

    def knows(self, user_id: int) -> bool:
        return user_id in self.user_ids


class DeviceCodec:
    """The known-device cookie: set at a successful login, it lets the owner past the delays that strangers'
    failed passwords put on their account. Signed (a stranger cannot make one) and expiring; it proves only that
    this browser once held the account's password, so its own wrong passwords are still delayed."""

    def __init__(self, secret: bytes) -> None:
        self._serializer = URLSafeTimedSerializer(secret, salt="fangkong.known-device")

    def read(self, value: str | None) -> KnownDevice | None:
        if not value:
            return None
        try:
            data = self._serializer.loads(value, max_age=DEVICE_MAX_AGE)
            return KnownDevice(device_id=str(data["d"])[:32], user_ids=tuple(int(u) for u in data["u"]))
        except (BadSignature, KeyError, TypeError, ValueError):
            return None

    def issue(self, *, known: KnownDevice | None, user_id: int) -> str:
        """The cookie after `user_id` logged in on this device: the same device id, this account the newest."""
        device_id = known.device_id if known else secrets.token_urlsafe(12)
        others = [u for u in (known.user_ids if known else ()) if u != user_id]
        return self._serializer.dumps({"d": device_id, "u": [user_id, *others][:DEVICE_ACCOUNTS]})


def new_csrf_nonce() -> str:
    return secrets.token_hex(16)
