"""Routes of the web shell itself (not of any domain): choosing the language; and `RedirectTo`, with which a page's
dependency answers with a redirect instead of the page (the login page, for a reader who is not signed in)."""

from __future__ import annotations

from typing import Annotated
from urllib.parse import urlsplit

from fastapi import APIRouter, HTTPException, Query, Request
from fastapi.responses import RedirectResponse

from fangkong.web import i18n

router = APIRouter(include_in_schema=False)

LANG_COOKIE_MAX_AGE = 365 * 24 * 3600


class RedirectTo(Exception):
    """Raised by a page's dependency: the request is answered by a 303 to `location` (web.install's handler)."""

    def __init__(self, location: str) -> None:
        super().__init__(location)
        self.location = location


async def redirect_to(_request: Request, exc: Exception) -> RedirectResponse:
    assert isinstance(exc, RedirectTo)
    return RedirectResponse(exc.location, status_code=303)


def safe_local_path(target: str | None) -> str | None:
    """`target` if it is a path on this site, else None.

    Refuses anything a browser could read as another origin: absolute URLs, scheme-relative `//host`, and
    backslashes or control characters (browsers turn `/\\host` into `//host` and drop tabs and newlines).
    """
    if not target or not target.startswith("/") or target.startswith("//") or len(target) > 2048:
        return None
    if "\\" in target or any(ord(c) < 0x20 or ord(c) == 0x7F for c in target):
        return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not parts.path.startswith("/"):
        return None
    if parts.path.startswith("/lang/"):
        return None  # going back to the switch itself would loop
    return parts.path + (f"?{parts.query}" if parts.query else "")


def return_path(request: Request, next_param: str | None) -> str:
    """Where to go after switching language: `next`, else the page we came from on this site, else home."""
    if path := safe_local_path(next_param):
        return path
    # Only a page of this site: another site's path would mean nothing here.
    referer = urlsplit(request.headers.get("referer", ""))
    if referer.netloc == request.url.netloc and (
        path := safe_local_path(referer.path + (f"?{referer.query}" if referer.query else ""))
    ):
        return path
    return "/"


@router.get("/lang/{code}")
def choose_language(
    request: Request, code: str, next_path: Annotated[str | None, Query(alias="next")] = None
) -> RedirectResponse:
    """Remember the reader's language for a year and send them back where they were."""
    if code not in i18n.SUPPORTED:
        raise HTTPException(status_code=404, detail=f"no language {code!r}")
    response = RedirectResponse(return_path(request, next_path), status_code=303)
    response.set_cookie(
        i18n.COOKIE,
        code,
        max_age=LANG_COOKIE_MAX_AGE,
        path="/",
        samesite="lax",
        httponly=True,
        secure=request.url.scheme == "https",
    )
    return response
