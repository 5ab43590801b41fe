"""Domain errors. Services raise these; one handler in app.py renders them as {"error": {"code", "message"}}.

Each error carries its HTTP status, so services never import web code and views never translate exceptions.
The message is an English msgid with %(name)s parameters, e.g. NotFound("no person with ref %(ref)s", ref=ref):
the handler translates it into the request's language; `.message` is the English text (logs, CLI).
"""

from __future__ import annotations

from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict


class DomainError(Exception):
    status_code: ClassVar[int] = 400
    code: ClassVar[str] = "bad_request"

    def __init__(self, template: str, /, **params: object) -> None:
        self.template = template
        self.params = params
        self.message = template % params if params else template
        super().__init__(self.message)


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


# --- the shape, as the OpenAPI document declares it -------------------------------------------------------------


class ErrorDetail(BaseModel):
    model_config = ConfigDict(extra="forbid")

    code: str
    """What kind of error, for programs: "not_found", "invalid", "conflict", "forbidden", "unauthenticated", …"""
    message: str
    """What is wrong, where and how to fix it, in the caller's language (Accept-Language)."""


class ErrorBody(BaseModel):
    """Every error the API answers: domain errors, invalid requests, unknown routes, bodies over the limit."""

    model_config = ConfigDict(extra="forbid")

    error: ErrorDetail


# What each error status means to a caller of the API (app.py declares them on the operations that can answer them).
ERROR_STATUSES: dict[int, str] = {
    401: "Not authenticated: no API token or session, or one that is unknown, expired or revoked.",
    403: "Authenticated, but the account's roles do not allow this.",
    404: "Not found, or outside the caller's scope: both answer alike.",
    409: "The request conflicts with the current state (a duplicate, or something decided already).",
    410: "Gone: replaced by something new and not coming back.",
    413: "The request body is larger than this route accepts.",
    422: "Invalid input: the message names the field, what is wrong and how to fix it.",
    429: "Too many attempts: wait, then try again.",
    503: "Busy: too many requests without credentials at once; try again after the Retry-After seconds.",
}


def error_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """FastAPI `responses=` for error statuses a route answers beyond those app.py infers from its dependencies
    (e.g. 410, 429): each with the error shape."""
    return {status: {"model": ErrorBody, "description": ERROR_STATUSES[status]} for status in statuses}
