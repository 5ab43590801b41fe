"""The ASGI application: the JSON API under /api and the pages, each domain's parts read from the registry."""

from __future__ import annotations

import asyncio
import gc
import logging
from collections.abc import AsyncIterator, Iterator, Sequence
from contextlib import asynccontextmanager, suppress
from typing import Any

from fastapi import APIRouter, Depends, FastAPI, Request
from fastapi.dependencies.models import Dependant
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse, Response
from fastapi.routing import APIRoute, RouteContext, iter_route_contexts
from sqlalchemy import text
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import BaseRoute
from starlette.types import ASGIApp

from fangkong import __version__, registry
from fangkong.auth.deps import bearer_scheme
from fangkong.auth.sessions import SESSION_COOKIE, SessionCodec
from fangkong.core.config import Settings
from fangkong.core.deps import DbSession
from fangkong.core.domains import job_enabled, resolve, run_periodically
from fangkong.core.errors import ERROR_STATUSES, DomainError, ErrorBody
from fangkong.core.inputs import check_url
from fangkong.core.runtime import Runtime, get_runtime
from fangkong.core.validation_messages import describe
from fangkong.web import install as install_web
from fangkong.web.edge import Edge
from fangkong.web.errors import error_page, wants_html_error
from fangkong.web.i18n import gettext, request_language, translator
from fangkong.web.limits import GuestLimit
from fangkong.web.templating import static_url

log = logging.getLogger("fangkong")


def error_body(code: str, message: str) -> dict[str, dict[str, str]]:
    return {"error": {"code": code, "message": message}}


def _install_error_handlers(app: FastAPI) -> None:
    """One rendering of every error: {"error": {"code", "message"}} with the error's own HTTP status."""

    @app.exception_handler(DomainError)
    async def domain_error(request: Request, exc: DomainError) -> Response:
        # Messages are English msgids with parameters: the caller reads them in their own language.
        message = gettext(request_language(request), exc.template, **exc.params)
        if wants_html_error(request):
            return error_page(request, exc.status_code, detail=message)
        return JSONResponse(error_body(exc.code, message), status_code=exc.status_code)

    @app.exception_handler(RequestValidationError)
    async def validation_error(request: Request, exc: RequestValidationError) -> JSONResponse:
        message = describe(exc.errors(), translator(request_language(request)))
        return JSONResponse(error_body("invalid", message), status_code=422)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> Response:
        # A person's browser navigating outside /api gets a page; programs keep the JSON shape.
        if exc.status_code == 400 and isinstance(exc.__cause__, ValueError):
            # FastAPI's answer to a JSON body it cannot decode (not UTF-8): refused like any invalid JSON.
            message = gettext(request_language(request), "the request body is not valid JSON")
            return JSONResponse(error_body("invalid", message), status_code=422)
        if wants_html_error(request):
            return error_page(request, exc.status_code, headers=exc.headers)
        code = {404: "not_found", 405: "method_not_allowed", 413: "too_large"}.get(exc.status_code, "http_error")
        return JSONResponse(error_body(code, str(exc.detail)), status_code=exc.status_code, headers=exc.headers)

    @app.exception_handler(Exception)
    async def unexpected(request: Request, exc: Exception) -> Response:
        log.exception("unhandled error", exc_info=exc)
        if wants_html_error(request):
            return error_page(request, 500)
        return JSONResponse(error_body("internal", "internal error; it has been logged"), status_code=500)


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    runtime: Runtime = app.state.runtime
    # One runner for every domain's periodic jobs (the registry's list), each in its own task.
    jobs = [asyncio.create_task(run_periodically(job, runtime)) for job in registry.jobs() if job_enabled(job, runtime)]
    # Everything loaded so far lives as long as the process: keep it out of the collector's full passes, which
    # otherwise walk it every few thousand allocations (a quarter of a slow trace's time, bench/tracing.py).
    gc.freeze()
    try:
        yield
    finally:
        for job in jobs:
            job.cancel()
            with suppress(asyncio.CancelledError):
                await job


class _Application(FastAPI):
    """FastAPI with the edge (web/edge.py) outside everything, even the handler of unexpected errors, so that
    every answer carries the security headers and no body is read past its limit."""

    edge: dict[str, Any]
    guests: dict[str, Any]

    def build_middleware_stack(self) -> ASGIApp:
        return Edge(GuestLimit(super().build_middleware_stack(), **self.guests), **self.edge)

    _declared: dict[str, Any] | None = None

    def openapi(self) -> dict[str, Any]:
        schema = super().openapi()  # cached by FastAPI until the routes change
        if schema is not self._declared:
            declare_errors(schema, self.routes)
            self._declared = schema
        return schema


_WRITES = frozenset({"POST", "PUT", "PATCH", "DELETE"})


def _calls(dependant: Dependant) -> Iterator[object]:
    for dependency in dependant.dependencies:
        yield dependency.call
        yield from _calls(dependency)


def error_statuses(route: RouteContext) -> set[int]:
    """The error statuses an operation can answer, from what it depends on and what it takes.

    422 everywhere: every route checks its URL (core/inputs.check_url) and FastAPI its parameters. 413 where there
    is a body (web/edge.py). 401 and 403 where credentials are read (auth.deps.bearer_scheme: an unknown or revoked
    token, or roles that do not allow it). 404 where the operation names something: a path parameter, or for an
    authenticated caller any query or body (refs, ids, regions; outside one's scope a thing "does not exist").
    409 for authenticated writes (a duplicate, a decision made already). 503 everywhere but the guests' exempt
    paths (web/limits.py: a caller without credentials may find the guests' turns taken). What a route answers
    besides, it declares itself (core.errors.error_responses).
    """
    dependant = route.dependant
    authenticated = bearer_scheme in set(_calls(dependant))
    methods = route.methods or set()
    statuses = {422}
    if route.body_field is not None:
        statuses.add(413)
    if authenticated:
        statuses |= {401, 403}
        if methods & _WRITES:
            statuses.add(409)
    if dependant.path_params or (authenticated and (dependant.query_params or route.body_field is not None)):
        statuses.add(404)
    if route.path_format not in GUEST_EXEMPT:
        statuses.add(503)  # a caller without credentials may find the guests' turns taken (web/limits.py)
    return statuses


def declare_errors(schema: dict[str, Any], routes: Sequence[BaseRoute]) -> None:
    """Declare on every operation the errors it can answer, with the one shape app.py renders them in
    ({"error": {"code", "message"}}), in place of FastAPI's HTTPValidationError that the API never sends."""
    components = schema.setdefault("components", {}).setdefault("schemas", {})
    for name in ("HTTPValidationError", "ValidationError"):
        components.pop(name, None)
    body = ErrorBody.model_json_schema(ref_template="#/components/schemas/{model}")
    components.update(body.pop("$defs", {}))
    components[ErrorBody.__name__] = body
    content = {"application/json": {"schema": {"$ref": f"#/components/schemas/{ErrorBody.__name__}"}}}
    for route in iter_route_contexts(routes):  # the routes as included: with their prefixes and dependencies
        if not isinstance(route.original_route, APIRoute) or not route.include_in_schema:
            continue
        for method in route.methods or ():
            responses = schema["paths"][route.path_format][method.lower()]["responses"]
            for status in sorted(error_statuses(route)):
                responses[str(status)] = {"description": ERROR_STATUSES[status], "content": content}


def _edge_settings(settings: Settings) -> dict[str, Any]:
    # The door's requests are a few hundred bytes; an offline scanner's batch is the one large body, and only
    # from a caller with credentials (its route authenticates, but reads the body first).
    small, batch = settings.body_limit_small, settings.body_limit_batch
    limits = {"/api/healthcode/verify": small, "/api/checkins": small, "/api/checkins/batch": batch}
    return {"default_limit": settings.body_limit_default, "limits": limits,
            "authenticated": ["/api/checkins/batch"], "session_cookie": SESSION_COOKIE}  # fmt: skip


def _guest_settings(runtime: Runtime) -> dict[str, Any]:
    # Requests without credentials hold at most 8 of the pool's 40 threads (web/limits.py). Exempt: what holds no
    # thread of the pool (the probe, static files) and /occupancy, which has its own gate (venues/pages.py).
    codec = SessionCodec(runtime.keys.signing_seed)
    return {"slots": 8, "queue": 64, "session_cookie": SESSION_COOKIE, "signed_in": lambda v: codec.read(v) is not None,
            "exempt": GUEST_EXEMPT}  # fmt: skip


# Paths (a prefix when ending with "/") outside the guests' limit: they hold no thread of the pool (the probe,
# static files) or have a gate of their own (/occupancy, venues/pages.py).
GUEST_EXEMPT = ("/api/ping", "/static/", "/occupancy")


def create_app(runtime: Runtime | None = None) -> FastAPI:
    app = _Application(
        lifespan=lifespan,
        title="fangkong",
        version=__version__,
        description="防控 — a city's epidemic prevention and control platform.",
        docs_url=None,  # served below from vendored files: FastAPI's default page loads them from a CDN
        redoc_url=None,
        openapi_url="/api/openapi.json",
        dependencies=[Depends(check_url)],  # no control characters in a path or a query string (core/inputs.py)
    )
    registry.install()
    app.state.runtime = runtime or get_runtime()
    app.edge = _edge_settings(app.state.runtime.settings)
    app.guests = _guest_settings(app.state.runtime)
    _install_error_handlers(app)
    for domain in registry.DOMAINS:
        if domain.setup:
            resolve(domain.setup)(app, app.state.runtime)
    # Hot paths (the door devices' health-code verification) are matched before every other route, outside
    # FastAPI's nested routers (healthcode/door/fast_route.py); what they do not answer goes on to the FastAPI routes.
    for factory in (f for domain in registry.DOMAINS for f in domain.first_routes):
        app.router.routes.insert(0, resolve(factory)())

    api = APIRouter(prefix="/api")
    # FastAPI walks its route list in order: the check-in routes come first (matching cost 15% at the end of it).
    for router in (r for domain in registry.DOMAINS for r in domain.first_api):
        api.include_router(resolve(router))

    @api.get("/ping", tags=["system"])
    async def ping() -> dict[str, str]:
        """Liveness only: no database, no authentication. A load balancer's probe, and the benchmarks' ceiling
        (the fastest answer this server can give)."""
        return {"status": "ok"}

    @api.get("/health", tags=["system"])
    def health(db: DbSession) -> dict[str, str]:
        """Readiness: the database answers."""
        db.execute(text("SELECT 1"))
        return {"status": "ok"}

    for router in (r for domain in registry.DOMAINS for r in domain.api):
        api.include_router(resolve(router))
    app.include_router(api)
    install_web(app)

    @app.get("/api/docs", include_in_schema=False)
    def api_docs() -> HTMLResponse:
        # FastAPI's get_swagger_ui_html starts Swagger UI with an inline script, which the Content-Security-Policy
        # refuses: the same page, started by a file of ours.
        return HTMLResponse(f"""<!doctype html>
<html>
<head>
<meta name="viewport" content="width=device-width, initial-scale=1.0">
<link type="text/css" rel="stylesheet" href="{static_url("vendor/swagger-ui/swagger-ui.css")}">
<link rel="shortcut icon" href="{static_url("img/favicon.svg")}">
<title>fangkong API</title>
</head>
<body>
<div id="swagger-ui" data-openapi="/api/openapi.json"></div>
<script src="{static_url("vendor/swagger-ui/swagger-ui-bundle.js")}"></script>
<script src="{static_url("js/api-docs.js")}"></script>
</body>
</html>
""")

    for router in (r for domain in registry.DOMAINS for r in domain.pages):
        app.include_router(resolve(router))

    return app
