"""Domain errors. Services raise these; one handler in app.py renders them as {"error": {"code", "message"}}.

Each error carries its HTTP status, so services never import web code and views never translate exceptions.
The message is an English msgid with %(name)s parameters, e.g. NotFound("no person with ref %(ref)s", ref=ref):
the handler translates it into the request's language; `.message` is the English text (logs, CLI).
"""

from __future__ import annotations

from typing import ClassVar


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
