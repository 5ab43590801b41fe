"""Server-rendered pages: one Jinja2 environment, and `render` which fills in what every template may use.

Every template gets `request`, `lang`, `_` and `ngettext` bound to the request's language, `static_url` and
`role_label`. Undefined variables raise (StrictUndefined) so a misspelt name fails the tests, not a user; optional
context is tested with `{% if user is defined %}`.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Mapping
from functools import lru_cache
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode
from zoneinfo import ZoneInfo

from fastapi import Request
from fastapi.responses import HTMLResponse
from jinja2 import Environment, FileSystemLoader, StrictUndefined

from fangkong import __version__
from fangkong.core.config import get_settings
from fangkong.web import i18n
from fangkong.web.labels import role_label

WEB_DIR = Path(__file__).parent
TEMPLATES_DIR = WEB_DIR / "templates"
STATIC_DIR = WEB_DIR / "static"

# Shown in their own language, never translated: a reader must find their language in a page they cannot read.
LANGUAGE_NAMES = {"zh": "中文", "en": "English"}
# The <html lang> value for each language; the browser picks CJK glyphs (Simplified) and hyphenation from it.
HTML_LANG = {"zh": "zh-CN", "en": "en"}

env = Environment(
    loader=FileSystemLoader(TEMPLATES_DIR),
    autoescape=True,
    undefined=StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
)


@lru_cache(maxsize=8)
def _zone(name: str) -> ZoneInfo:
    return ZoneInfo(name)


def local_time(value: dt.datetime) -> str:
    """A stored UTC instant as the city's wall-clock time with its offset: "2026-11-22 21:59 UTC+8"."""
    local = value.astimezone(_zone(get_settings().timezone))
    offset = local.utcoffset() or dt.timedelta(0)
    hours, rest = divmod(int(offset.total_seconds()), 3600)
    suffix = f"UTC{hours:+d}" + (f":{abs(rest) // 60:02d}" if rest else "")
    return f"{local:%Y-%m-%d %H:%M} {suffix}"


env.filters["local_time"] = local_time


@lru_cache(maxsize=256)
def static_url(path: str) -> str:
    """/static/<path>?v=<content hash>: browsers may cache assets for ever and still see every change."""
    file = (STATIC_DIR / path).resolve()
    if not file.is_relative_to(STATIC_DIR.resolve()) or not file.is_file():
        raise FileNotFoundError(f"no static file {path!r}")
    digest = hashlib.sha256(file.read_bytes()).hexdigest()[:10]
    return f"/static/{quote(path)}?v={digest}"


def current_path(request: Request) -> str:
    """Path and query of this request, the `next` target that brings the reader back here."""
    query = request.url.query
    return request.url.path + (f"?{query}" if query else "")


def language_links(request: Request) -> list[dict[str, Any]]:
    here = current_path(request)
    lang = i18n.request_language(request)
    return [
        {
            "code": code,
            "name": LANGUAGE_NAMES[code],
            "html_lang": HTML_LANG[code],
            "url": f"/lang/{code}?{urlencode({'next': here})}",
            "current": code == lang,
        }
        for code in i18n.SUPPORTED
    ]


def template_context(request: Request, context: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """The variables every page gets, overlaid by the page's own context."""
    lang = i18n.request_language(request)
    _ = i18n.translator(lang)

    return {
        "request": request,
        "lang": lang,
        "html_lang": HTML_LANG[lang],
        "_": _,
        "ngettext": i18n.plural_translator(lang),
        "static_url": static_url,
        "role_label": lambda role: role_label(_, role),
        "languages": language_links(request),
        "version": __version__,
        **(context or {}),
    }


def render(
    request: Request,
    template_name: str,
    context: Mapping[str, Any] | None = None,
    status_code: int = 200,
    headers: Mapping[str, str] | None = None,
) -> HTMLResponse:
    """Render templates/<template_name> in the request's language into an HTML response."""
    html = env.get_template(template_name).render(template_context(request, context))
    response = HTMLResponse(html, status_code=status_code, headers=dict(headers) if headers else None)
    # The same URL answers in different languages: caches must key on what chose it.
    response.headers.add_vary_header("Accept-Language")
    response.headers.add_vary_header("Cookie")
    return response
