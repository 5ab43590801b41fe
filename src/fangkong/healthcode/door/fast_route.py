"""`POST /api/healthcode/verify` for door devices: the city's hottest request, without FastAPI's machinery.

A door device sends a small JSON body with its operator's API token, thousands of times a second across the
city. FastAPI's handling of a request (matching through the nested routers, dependencies, validation,
serialization) costs about as much CPU as the verification itself, so this route is a plain ASGI endpoint,
placed before every other route (app.py) but inside the application's middleware and error handlers. It reads
the body, and when it is the plain case — `Authorization: Bearer`, `Content-Type: application/json`, a JSON
object whose fields have exactly the types views.VerifyIn declares — it hands the verification to the door
verifier (grouped.py: group commit) and answers with the bytes FastAPI would send for views.VerifyOut.
Refusals are raised, so the application's handlers render them as for any route.

Anything else (a session cookie instead of a token, another content type, a body FastAPI would coerce or refuse
with its validation message) is handed, unchanged, to the FastAPI route in views.py, which answers as it always
has (authentication first, then validation, then verify.verify_at_door in a request transaction). The API
documentation is that route's.
"""

from __future__ import annotations

import json
import math
from typing import Any

from fastapi.routing import APIRoute
from starlette.datastructures import State
from starlette.requests import Request
from starlette.routing import Route
from starlette.types import Message, Receive, Scope, Send

from fangkong.auth.service import token_hash
from fangkong.core import clock
from fangkong.core.inputs import control_problem
from fangkong.core.runtime import Runtime
from fangkong.healthcode import views
from fangkong.healthcode.door.grouped import DoorScan, DoorVerifier
from fangkong.web.edge import BodyTooLarge
from fangkong.web.i18n import request_language

PATH = "/api/healthcode/verify"
_TOKEN_MAX: int = next(m.max_length for m in views.VerifyIn.model_fields["token"].metadata if hasattr(m, "max_length"))
_JSON = [(b"content-type", b"application/json")]


def _plain_body(data: Any) -> tuple[str, str, float | None, str | None] | None:
    """(token, venue ref, temperature, person ref) when views.VerifyIn would take `data` as it is; None when only
    FastAPI can say what it makes of it."""
    if type(data) is not dict:
        return None
    token, venue_ref = data.get("token"), data.get("venue_ref")
    temperature, person_ref = data.get("temperature"), data.get("person_ref")
    if type(token) is not str or len(token) > _TOKEN_MAX or type(venue_ref) is not str:
        return None
    if person_ref is not None and type(person_ref) is not str:
        return None
    if control_problem({"token": token, "venue_ref": venue_ref, "person_ref": person_ref}):
        return None  # views.VerifyIn refuses it, saying which field
    if temperature is not None:
        if type(temperature) not in (int, float) or not -1e6 < temperature < 1e6:
            return None  # a bool, a string, NaN, ±inf or something absurd: the validating route decides
        temperature = float(temperature)
        if not math.isfinite(temperature):
            return None
    return token, venue_ref, temperature, person_ref


def _bearer(scope: Scope) -> tuple[str | None, bool]:
    """(the bearer token as FastAPI's HTTPBearer reads it, whether the body is declared as plain JSON)."""
    authorization = content_type = None
    for name, value in scope["headers"]:
        if name == b"authorization" and authorization is None:
            authorization = value.decode("latin-1")
        elif name == b"content-type" and content_type is None:
            content_type = value
    token = None
    if authorization:
        scheme, _, credentials = authorization.partition(" ")
        credentials = credentials.strip()
        if scheme and credentials and scheme.lower() == "bearer":
            token = credentials  # already stripped, as auth.deps.optional_actor strips it again
    return token, content_type is not None and content_type.lower() == b"application/json"


async def _read_body(receive: Receive, limit: int) -> bytes | None:
    """The request's body; None when the client went away before sending it. Longer than `limit`: 413 (the edge,
    web/edge.py, already refuses a Content-Length over it; this counts what arrives)."""
    parts = []
    size = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            return None
        part = message.get("body", b"")
        size += len(part)
        if size > limit:
            raise BodyTooLarge(limit)
        parts.append(part)
        if not message.get("more_body", False):
            return b"".join(parts)


def verifier(state: State) -> DoorVerifier:
    """The application's door verifier, made on first use (no await in between: no race)."""
    found: DoorVerifier | None = getattr(state, "door_verifier", None)
    if found is None:
        runtime: Runtime = state.runtime
        found = state.door_verifier = DoorVerifier(runtime.database, runtime.keys)
    return found


# The FastAPI route that answers everything but the plain case: views.verify, as registered in views.router.
_validating = next(r for r in views.router.routes if isinstance(r, APIRoute) and r.endpoint is views.verify)


class FastVerify:
    """The ASGI endpoint (a class instance, so that Starlette's Route passes it the raw scope)."""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        at = clock.now()
        body = await _read_body(receive, scope["app"].state.runtime.settings.body_limit_small)
        if body is None:
            return
        api_token, json_body = _bearer(scope)
        plain = None
        if api_token is not None and json_body:
            try:
                plain = _plain_body(json.loads(body))
            except Exception:  # not JSON, not UTF-8, nested too deep: FastAPI's own answer
                plain = None
        if plain is None:
            await _validating.handle(scope, _replay(body, receive), send)
            return
        token, venue_ref, temperature, person_ref = plain
        assert api_token is not None
        scan = DoorScan(token_hash(api_token), token, venue_ref, at, temperature, person_ref)
        result = await verifier(scope["app"].state).verify(scan)  # a refusal raises: the app's handler renders it
        payload = views.verify_out(request_language(Request(scope)), result).model_dump_json().encode()
        await send({"type": "http.response.start", "status": 200,
                    "headers": [(b"content-length", str(len(payload)).encode()), *_JSON]})  # fmt: skip
        await send({"type": "http.response.body", "body": payload})


def _replay(body: bytes, receive: Receive) -> Receive:
    sent = False

    async def replay() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return replay


def fast_verify_route() -> Route:
    """The route to place first in the application's routes."""
    return Route(PATH, FastVerify(), methods=["POST"], name="healthcode_verify_fast", include_in_schema=False)
