"""Error pages for people: a browser navigating outside /api gets a translated page, everything else the JSON."""

from __future__ import annotations

import logging
from collections.abc import Mapping

from fastapi import Request
from fastapi.responses import HTMLResponse

from fangkong.web import i18n
from fangkong.web.templating import render

log = logging.getLogger("fangkong.web")

# status → (title, explanation), English msgids; other statuses get the generic pair.
MESSAGES = {
    403: ("Access denied", "Your account is not allowed to open this page."),
    404: (
        "Page not found",
        "The page you asked for does not exist or has moved. Check the address, or start again from the home page.",
    ),
    410: (
        "Replaced",
        "What you opened has been replaced by something new, for example a place code by a new poster.",
    ),
    503: ("Busy", "Many people are asking at the same moment. Please try again in a few seconds."),
    500: (
        "Something went wrong",
        "The server could not complete your request. The error has been logged; please try again in a moment.",
    ),
}
GENERIC = ("Request not completed", "The server could not handle this request.")

_HTML_TYPES = ("text/html", "application/xhtml+xml")


def _accept_q(accept: str) -> dict[str, float]:
    """Media range → q from an Accept header (the highest q when a range is repeated)."""
    qs: dict[str, float] = {}
    for part in accept[:2048].split(",")[:64]:
        media, *params = (p.strip() for p in part.split(";"))
        q = 1.0
        for param in params:
            name, _, value = param.partition("=")
            if name.strip().lower() == "q":
                try:
                    q = float(value)
                except ValueError:
                    q = 0.0
        if media:
            qs[media.lower()] = max(q, qs.get(media.lower(), 0.0))
    return qs


def prefers_html(request: Request) -> bool:
    """True when the client names HTML explicitly and likes it at least as much as JSON.

    Browsers name text/html when they navigate; curl, fetch() and API clients send */* or application/json and
    keep getting JSON.
    """
    qs = _accept_q(request.headers.get("accept", ""))
    html = max(qs.get(t, 0.0) for t in _HTML_TYPES)
    return html > 0 and html >= qs.get("application/json", 0.0)


def is_api_path(path: str) -> bool:
    return path == "/api" or path.startswith("/api/")


def wants_html_error(request: Request) -> bool:
    return not is_api_path(request.url.path) and prefers_html(request)


def error_page(
    request: Request, status_code: int, headers: Mapping[str, str] | None = None, detail: str | None = None
) -> HTMLResponse:
    """The translated error page for `status_code`, with the domain error's own (translated) message as `detail`;
    never raises, since it runs while handling another error."""
    title, explanation = MESSAGES.get(status_code, GENERIC)
    context = {"status_code": status_code, "title": title, "explanation": explanation, "detail": detail}
    try:
        return render(request, "error.html", context, status_code=status_code, headers=headers)
    except Exception:
        log.exception("the error page itself failed")
        _ = i18n.translator(i18n.DEFAULT)
        return HTMLResponse(f"<h1>{status_code}</h1><p>{_(title)}</p>", status_code=status_code, headers=headers)
