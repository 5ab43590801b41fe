"""The application's edge: request body limits and security headers, as one pure ASGI middleware.

Pure ASGI rather than Starlette's BaseHTTPMiddleware (which runs every request through a task and a stream):
on the door's hot paths this costs one scan of the request's headers and two appended lists.

- Bodies: each path has a limit (app.py: small for verification and single check-ins, larger for batches, a
  default for everything else). A declared Content-Length over it is refused with 413 before anything is read;
  a body without one (chunked) is counted as it streams, and refused as soon as it passes the limit. Routes with a
  large limit that need authentication are refused with 401 before their body is read when the request carries
  no credentials at all (neither `Authorization` nor the session cookie).
- Headers on every answer: a Content-Security-Policy that allows only the application's own files, no framing
  (frame-ancestors and X-Frame-Options), nosniff, a same-origin referrer, `Cache-Control: no-store` unless the
  answer set its own (static files do), and Strict-Transport-Security when the request came over HTTPS.
- TRACE (and TRACK) are refused with 405 and an Allow header: nothing here echoes a request back.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping

from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

# Scripts, styles, images and fonts from this origin only; style attributes (a meter's width, the poster's name
# size) are allowed, <style> elements and inline scripts are not. data: images are the QR codes' and Swagger UI's.
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; style-src-attr 'unsafe-inline'; "
    "img-src 'self' data:; object-src 'none'; base-uri 'self'; form-action 'self'; frame-ancestors 'none'"
)
_COMMON = [
    (b"content-security-policy", CONTENT_SECURITY_POLICY.encode()),
    (b"x-frame-options", b"DENY"),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"same-origin"),
]
_NO_STORE = (b"cache-control", b"no-store")
_HSTS = (b"strict-transport-security", b"max-age=31536000")
_REFUSED_METHODS = frozenset({"TRACE", "TRACK"})
ALLOWED_METHODS = "GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS"


class BodyTooLarge(HTTPException):
    """A request body over its route's limit: 413, in the application's error shape."""

    def __init__(self, limit: int) -> None:
        super().__init__(413, f"request body larger than {limit} bytes")


def _error(code: str, message: str) -> bytes:
    return json.dumps({"error": {"code": code, "message": message}}).encode()


async def _answer(
    send: Send, status: int, code: str, message: str, headers: Iterable[tuple[bytes, bytes]] = ()
) -> None:
    body = _error(code, message)
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()),
                            (b"connection", b"close"), *_COMMON, _NO_STORE, *headers]})  # fmt: skip
    await send({"type": "http.response.body", "body": body})


class Edge:
    """The middleware. `limits` maps exact paths to their body limit; `authenticated` names the paths whose large
    bodies are read only from callers that present credentials; `session_cookie` is the session cookie's name."""

    def __init__(self, app: ASGIApp, *, default_limit: int, limits: Mapping[str, int],
                 authenticated: Iterable[str] = (), session_cookie: str = "") -> None:  # fmt: skip
        self.app = app
        self.default_limit = default_limit
        self.limits = dict(limits)
        self.authenticated = frozenset(authenticated)
        self.cookie = session_cookie.encode() + b"="

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if scope["method"] in _REFUSED_METHODS:
            await _answer(send, 405, "method_not_allowed", "Method Not Allowed", [(b"allow", ALLOWED_METHODS.encode())])
            return
        path: str = scope["path"]
        limit = self.limits.get(path, self.default_limit)
        length = None
        credentials = False
        for name, value in scope["headers"]:
            if name == b"content-length":
                length = value
            elif name == b"authorization" or (name == b"cookie" and self.cookie in value):
                credentials = True
        declared = -1
        if length is not None:
            try:
                declared = int(length)
            except ValueError:
                declared = -1
            if declared < 0:
                await _answer(send, 400, "http_error", "invalid Content-Length")
                return
            if declared > limit:
                await _answer(send, 413, "too_large", f"request body larger than {limit} bytes")
                return
        if not credentials and path in self.authenticated and declared != 0:
            await _answer(send, 401, "unauthenticated", "log in, or send an API token as 'Authorization: Bearer …'")
            return
        if length is None and scope["method"] not in ("GET", "HEAD"):
            receive = _counted(receive, limit)
        headers = _COMMON
        if not path.startswith("/static/"):
            headers = [*_COMMON, _NO_STORE]
        if scope.get("scheme") == "https":
            headers = [*headers, _HSTS]
        started = False

        async def send_with_headers(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
                own = message.get("headers", [])
                extra = headers
                if _NO_STORE in headers and any(name.lower() == b"cache-control" for name, _ in own):
                    extra = [h for h in headers if h is not _NO_STORE]
                message["headers"] = [*own, *extra]
            await send(message)

        try:
            await self.app(scope, receive, send_with_headers)
        except BodyTooLarge as exc:  # a streamed body passed the limit where no handler renders it
            if started:
                raise
            await _answer(send, 413, "too_large", str(exc.detail))


def _counted(receive: Receive, limit: int) -> Receive:
    """`receive` that refuses a body without Content-Length once more than `limit` bytes have arrived."""
    received = 0

    async def counted() -> Message:
        nonlocal received
        message = await receive()
        if message["type"] == "http.request":
            received += len(message.get("body", b""))
            if received > limit:
                raise BodyTooLarge(limit)
        return message

    return counted
