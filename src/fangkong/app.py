"""The ASGI application: the JSON API under /api, and (from the access issue on) the pages."""

from __future__ import annotations

import asyncio
import gc
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, suppress

from fastapi import APIRouter, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse, JSONResponse, Response
from sqlalchemy import text
from starlette.exceptions import HTTPException as StarletteHTTPException

from fangkong import __version__
from fangkong.auth.pages import router as auth_pages
from fangkong.auth.views import router as auth_router
from fangkong.cases.pages import router as case_pages
from fangkong.cases.pages_chain import router as chain_pages
from fangkong.cases.pages_contacts import router as contact_pages
from fangkong.cases.views import router as cases_router
from fangkong.core.deps import DbSession
from fangkong.core.errors import DomainError
from fangkong.core.runtime import Runtime, get_runtime
from fangkong.core.validation_messages import describe
from fangkong.healthcode.door_views import fast_verify_route
from fangkong.healthcode.jobs import refresh_periodically
from fangkong.healthcode.pages import router as healthcode_pages
from fangkong.healthcode.pages_appeals import router as appeal_pages
from fangkong.healthcode.pages_door import router as door_pages
from fangkong.healthcode.views import router as healthcode_router
from fangkong.people.pages import router as people_pages
from fangkong.people.views import router as people_router
from fangkong.regions.views import router as regions_router
from fangkong.testing.views import router as testing_router
from fangkong.tracing.views import router as tracing_router
from fangkong.venues.door import checkin_writer
from fangkong.venues.jobs import purge_periodically
from fangkong.venues.operator_pages import router as operator_pages
from fangkong.venues.pages import router as venue_pages
from fangkong.venues.views import door_router
from fangkong.venues.views import router as venues_router
from fangkong.web import install as install_web
from fangkong.web.errors import error_page, wants_html_error
from fangkong.web.i18n import gettext, request_language, translator
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
        if wants_html_error(request):
            return error_page(request, exc.status_code, headers=exc.headers)
        code = {404: "not_found", 405: "method_not_allowed"}.get(exc.status_code, "http_error")
        return JSONResponse(error_body(code, str(exc.detail)), status_code=exc.status_code)

    @app.exception_handler(Exception)
    async def unexpected(request: Request, exc: Exception) -> Response:
        log.exception("unhandled error", exc_info=exc)
        if wants_html_error(request):
            return error_page(request, 500)
        return JSONResponse(error_body("internal", "internal error; it has been logged"), status_code=500)


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    runtime: Runtime = app.state.runtime
    jobs = []
    if runtime.settings.checkin_purge_interval_seconds > 0:
        jobs.append(asyncio.create_task(purge_periodically(runtime)))
    if runtime.settings.code_refresh_interval_seconds > 0:
        jobs.append(asyncio.create_task(refresh_periodically(runtime)))
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


def create_app(runtime: Runtime | None = None) -> FastAPI:
    app = FastAPI(
        lifespan=lifespan,
        title="fangkong",
        version=__version__,
        description="防控 — a city's epidemic prevention and control platform.",
        docs_url=None,  # served below from vendored files: FastAPI's default page loads them from a CDN
        redoc_url=None,
        openapi_url="/api/openapi.json",
    )
    app.state.runtime = runtime or get_runtime()
    app.state.checkin_writer = checkin_writer(app.state.runtime.database)
    _install_error_handlers(app)
    # The door devices' health-code verification is matched before every other route, outside FastAPI's nested
    # routers (healthcode/door_views.py); what it does not answer itself goes to the FastAPI route in views.py.
    app.router.routes.insert(0, fast_verify_route())

    api = APIRouter(prefix="/api")
    api.include_router(door_router)

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

    api.include_router(regions_router)
    api.include_router(auth_router)
    api.include_router(people_router)
    api.include_router(venues_router)
    api.include_router(tracing_router)
    api.include_router(cases_router)
    api.include_router(testing_router)
    api.include_router(healthcode_router)
    app.include_router(api)
    install_web(app)

    @app.get("/api/docs", include_in_schema=False)
    def api_docs() -> HTMLResponse:
        return get_swagger_ui_html(
            openapi_url="/api/openapi.json",
            title="fangkong API",
            swagger_js_url=static_url("vendor/swagger-ui/swagger-ui-bundle.js"),
            swagger_css_url=static_url("vendor/swagger-ui/swagger-ui.css"),
            swagger_favicon_url=static_url("img/favicon.svg"),
        )

    app.include_router(auth_pages)
    app.include_router(people_pages)
    app.include_router(venue_pages)
    app.include_router(operator_pages)
    app.include_router(case_pages)
    app.include_router(contact_pages)
    app.include_router(chain_pages)
    app.include_router(healthcode_pages)
    app.include_router(appeal_pages)
    app.include_router(door_pages)

    return app
