"""The web shell: pages for people (templates, static files, languages), beside the JSON API under /api."""

from __future__ import annotations

import os
from typing import Any

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles
from starlette.responses import Response
from starlette.types import Scope

from fangkong.web import i18n
from fangkong.web.pages import RedirectTo, redirect_to, router
from fangkong.web.templating import STATIC_DIR


class VersionedStaticFiles(StaticFiles):
    """Static files; those asked for with ?v=<hash> (templating.static_url) are cached for a year.

    The hash changes with the content, so a phone on a slow network loads htmx and the CSS once, not per page.
    """

    def file_response(
        self, full_path: Any, stat_result: os.stat_result, scope: Scope, status_code: int = 200
    ) -> Response:
        response = super().file_response(full_path, stat_result, scope, status_code)
        if b"v=" in scope.get("query_string", b""):
            response.headers["Cache-Control"] = "public, max-age=31536000, immutable"
        else:
            response.headers["Cache-Control"] = "no-cache"
        return response


def install(app: FastAPI) -> None:
    """Mount /static and the shell's routes on `app`, answer pages' `RedirectTo`, and read the catalogs now so a
    broken one fails startup."""
    i18n.load_catalogs()
    app.add_exception_handler(RedirectTo, redirect_to)
    app.mount("/static", VersionedStaticFiles(directory=STATIC_DIR), name="static")
    app.include_router(router)
