"""Domain errors. Services raise these; one handler in app.py renders them as {"error": {"code", "message"}}.

Each error carries its HTTP status, so services never import web code and views never translate exceptions.
"""

from __future__ import annotations

from typing import ClassVar


class DomainError(Exception):
    status_code: ClassVar[int] = 400
    code: ClassVar[str] = "bad_request"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class NotFound(DomainError):
    status_code = 404
    code = "not_found"


class Invalid(DomainError):
    status_code = 422
    code = "invalid"


class Conflict(DomainError):
    status_code = 409
    code = "conflict"


class Forbidden(DomainError):
    status_code = 403
    code = "forbidden"


class ConfigurationError(DomainError):
    """The installation is misconfigured (e.g. the secret key does not match the database)."""

    status_code = 500
    code = "configuration"
