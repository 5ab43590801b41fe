"""The ASGI application: the JSON API under /api, and (from the access issue on) the pages."""

from __future__ import annotations

import logging

from fastapi import APIRouter, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, RedirectResponse
from sqlalchemy import text
from starlette.exceptions import HTTPException as StarletteHTTPException

from fangkong import __version__
from fangkong.core.deps import DbSession
from fangkong.core.errors import DomainError
from fangkong.core.runtime import Runtime, get_runtime
from fangkong.regions.views import router as regions_router

log = logging.getLogger("fangkong")


def error_body(code: str, message: str) -> dict[str, dict[str, str]]:
    return {"error": {"code": code, "message": message}}


def _install_error_handlers(app: FastAPI) -> None:
    """One rendering of every error: {"error": {"code", "message"}} with the error's own HTTP status."""

    @app.exception_handler(DomainError)
    async def domain_error(_request: Request, exc: DomainError) -> JSONResponse:
        return JSONResponse(error_body(exc.code, exc.message), status_code=exc.status_code)

    @app.exception_handler(RequestValidationError)
    async def validation_error(_request: Request, exc: RequestValidationError) -> JSONResponse:
        parts = []
        for err in exc.errors():
            where = ".".join(str(p) for p in err.get("loc", ()) if p != "body")
            parts.append(f"{where}: {err.get('msg', 'invalid')}" if where else str(err.get("msg")))
        return JSONResponse(error_body("invalid", "; ".join(parts)), status_code=422)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(_request: Request, exc: StarletteHTTPException) -> JSONResponse:
        code = {404: "not_found", 405: "method_not_allowed"}.get(exc.status_code, "http_error")
        return JSONResponse(error_body(code, str(exc.detail)), status_code=exc.status_code)

    @app.exception_handler(Exception)
    async def unexpected(_request: Request, exc: Exception) -> JSONResponse:
        log.exception("unhandled error", exc_info=exc)
        return JSONResponse(error_body("internal", "internal error; it has been logged"), status_code=500)


def create_app(runtime: Runtime | None = None) -> FastAPI:
    app = FastAPI(
        title="fangkong",
        version=__version__,
        description="防控 — a city's epidemic prevention and control platform.",
        docs_url="/api/docs",
        redoc_url=None,
        openapi_url="/api/openapi.json",
    )
    app.state.runtime = runtime or get_runtime()
    _install_error_handlers(app)

    api = APIRouter(prefix="/api")

    @api.get("/health", tags=["system"])
    def health(db: DbSession) -> dict[str, str]:
        """Liveness and database reachability."""
        db.execute(text("SELECT 1"))
        return {"status": "ok"}

    api.include_router(regions_router)
    app.include_router(api)

    @app.get("/", include_in_schema=False)
    def root() -> RedirectResponse:
        # The web shell (login, role homes) arrives with the access issue; until then the API is the product.
        return RedirectResponse("/api/docs")

    return app
