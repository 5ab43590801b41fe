"""Languages of the web pages: choosing one per request, and translating English msgids into it.

Catalogs are gettext .po files under locales/<locale>/LC_MESSAGES/messages.po, read once with Babel and turned
into stdlib `gettext` translations in memory, so there is no compile step and nothing generated to commit.
English is the source language: its msgids are the English text, so it needs no catalog.
"""

from __future__ import annotations

import gettext as stdlib_gettext
import io
import logging
import re
from functools import cache
from pathlib import Path
from typing import Protocol

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from starlette.requests import Request

log = logging.getLogger("fangkong.web")

SUPPORTED = ("zh", "en")
# The city's own language comes first when the browser expresses no usable preference.
DEFAULT = "zh"
COOKIE = "lang"
LOCALES_DIR = Path(__file__).parent / "locales"
# Our short codes to the catalog directory names (gettext locale names).
CATALOG_LOCALES = {"zh": "zh_CN"}

# Accept-Language comes from the client: bound the work spent on it.
_MAX_HEADER = 1024
_MAX_ENTRIES = 32
_QVALUE = re.compile(r"^(?:0(?:\.\d{0,3})?|1(?:\.0{0,3})?)$")


class Translate(Protocol):
    def __call__(self, msgid: str, /, **params: object) -> str: ...


class TranslatePlural(Protocol):
    def __call__(self, singular: str, plural: str, n: int, /, **params: object) -> str: ...


def _primary(tag: str) -> str | None:
    """The supported language a tag belongs to: zh, zh-CN, zh-Hant-TW → zh; en-GB → en; others → None."""
    primary = tag.strip().replace("_", "-").split("-", 1)[0].lower()
    return primary if primary in SUPPORTED else None


def parse_accept_language(header: str) -> list[tuple[str, float]]:
    """(tag, q) pairs in order of preference; malformed entries are skipped, q=0 means "not this one"."""
    entries: list[tuple[str, float, int]] = []
    for index, part in enumerate(header[:_MAX_HEADER].split(",")[:_MAX_ENTRIES]):
        tag, *params = (p.strip() for p in part.split(";"))
        if not tag:
            continue
        q = 1.0
        for param in params:
            name, _, value = param.partition("=")
            if name.strip().lower() == "q":
                value = value.strip()
                q = float(value) if _QVALUE.match(value) else -1.0
        if q > 0:
            entries.append((tag, q, index))
    # Stable by position for equal q: the header's order is the tie-breaker.
    entries.sort(key=lambda e: (-e[1], e[2]))
    return [(tag, q) for tag, q, _ in entries]


def negotiate(accept_language: str | None, cookie: str | None) -> str:
    """The page language: a valid cookie (the user's explicit choice), else the browser's best match, else zh."""
    if cookie and (chosen := _primary(cookie)):
        return chosen
    for tag, _q in parse_accept_language(accept_language or ""):
        if tag == "*":
            return DEFAULT
        if lang := _primary(tag):
            return lang
    return DEFAULT


def request_language(request: Request) -> str:
    """The language of this request; usable as a FastAPI dependency (`lang: str = Depends(request_language)`)."""
    cached = getattr(request.state, "lang", None)
    if isinstance(cached, str):
        return cached
    lang = negotiate(request.headers.get("accept-language"), request.cookies.get(COOKIE))
    request.state.lang = lang
    return lang


@cache
def catalog(lang: str) -> stdlib_gettext.NullTranslations:
    """The translations for a supported language, read from its .po once per process."""
    if lang not in SUPPORTED:
        raise ValueError(f"unsupported language {lang!r}; expected one of {', '.join(SUPPORTED)}")
    locale = CATALOG_LOCALES.get(lang)
    if locale is None:
        return stdlib_gettext.NullTranslations()
    with (LOCALES_DIR / locale / "LC_MESSAGES" / "messages.po").open("rb") as fh:
        po = read_po(fh, locale=locale)
    # Babel writes the binary form in memory; the stdlib then gives us gettext's exact semantics
    # (fuzzy and empty entries fall back to the msgid, plural forms from the catalog's header).
    buffer = io.BytesIO()
    write_mo(buffer, po)
    buffer.seek(0)
    return stdlib_gettext.GNUTranslations(buffer)


def load_catalogs() -> None:
    """Read every catalog now, so a broken .po stops the server at startup rather than on a first request."""
    for lang in SUPPORTED:
        catalog(lang)


def _format(lang: str, text: str, fallback: str, params: dict[str, object]) -> str:
    if not params:
        return text
    try:
        return text % params
    except (KeyError, ValueError, TypeError):
        # A translation with a wrong placeholder must not break the page: show the English instead.
        log.warning("bad placeholders in the %s translation of %r", lang, fallback)
        return fallback % params


def gettext(lang: str, msgid: str, /, **params: object) -> str:
    """`msgid` in `lang`, with `%(name)s` placeholders filled from params (only when params are given)."""
    return _format(lang, catalog(lang).gettext(msgid), msgid, params)


def ngettext(lang: str, singular: str, plural: str, n: int, /, **params: object) -> str:
    """The form for `n` in `lang`; `%(num)d` in the text is `n` unless params say otherwise."""
    fallback = singular if n == 1 else plural
    return _format(lang, catalog(lang).ngettext(singular, plural, n), fallback, {"num": n, **params})


def translator(lang: str) -> Translate:
    """`_` bound to one language: `_("Hello %(name)s", name=user.display_name)`."""

    def _(msgid: str, /, **params: object) -> str:
        return gettext(lang, msgid, **params)

    return _


def plural_translator(lang: str) -> TranslatePlural:
    def ngettext_(singular: str, plural: str, n: int, /, **params: object) -> str:
        return ngettext(lang, singular, plural, n, **params)

    return ngettext_
