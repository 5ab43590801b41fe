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


def new_csrf_nonce() -> str:
    return secrets.token_hex(16)
