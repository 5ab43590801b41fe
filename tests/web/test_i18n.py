"""Choosing the language of a request, and translating into it."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from babel.messages.pofile import read_po
from jinja2.ext import extract_from_ast
from starlette.requests import Request

from fangkong.web import errors, i18n, labels, templating
from fangkong.web.i18n import gettext, negotiate, ngettext, request_language, translator

PO_FILE = i18n.LOCALES_DIR / "zh_CN" / "LC_MESSAGES" / "messages.po"
PLACEHOLDER = re.compile(r"%\((\w+)\)")


def make_request(headers: dict[str, str]) -> Request:
    raw = [(name.lower().encode(), value.encode()) for name, value in headers.items()]
    return Request({"type": "http", "method": "GET", "path": "/", "headers": raw, "query_string": b""})


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("zh-CN,zh;q=0.9,en;q=0.8", "zh"),
        ("en-US,en;q=0.9", "en"),
        ("en-GB", "en"),
        ("zh", "zh"),
        ("zh-Hant-TW", "zh"),
        ("ZH-cn", "zh"),
        ("zh_CN", "zh"),
        ("EN", "en"),
    ],
)
def test_it_maps_language_tags_to_our_two_languages(header: str, expected: str) -> None:
    assert negotiate(header, None) == expected


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("zh;q=0.5, en;q=0.8", "en"),  # q decides, not position
        ("en;q=0.5, zh;q=0.5", "en"),  # equal q: the earlier one
        ("fr-FR, fr;q=0.9, en;q=0.3, zh;q=0.2", "en"),  # unsupported languages are passed over
        ("en;q=0, zh;q=0.1", "zh"),  # q=0 means "not this one"
        ("en;q=0", "zh"),
        ("en;q=1.0", "en"),
        ("en;q=0.001, de", "en"),
        ("en;q=2, zh;q=0.1", "zh"),  # q above 1 is malformed: the entry is ignored
        ("en;q=abc", "zh"),
        ("*;q=0.9, en;q=0.5", "zh"),  # "anything" at the top: our default
    ],
)
def test_it_weighs_accept_language_by_q_value(header: str, expected: str) -> None:
    assert negotiate(header, None) == expected


@pytest.mark.parametrize("header", [None, "", "fr-FR,de;q=0.9", ",,;;", "q=0.5", ";q=1"])
def test_it_falls_back_to_chinese_without_a_usable_preference(header: str | None) -> None:
    assert negotiate(header, None) == "zh"


def test_it_lets_a_valid_cookie_win_over_the_browser() -> None:
    assert negotiate("zh-CN,zh;q=0.9", "en") == "en"
    assert negotiate("en-US", "zh") == "zh"


@pytest.mark.parametrize("cookie", ["", "fr", "xx-YY", "../en", "*"])
def test_it_ignores_a_cookie_naming_no_language_of_ours(cookie: str) -> None:
    assert negotiate("en-US", cookie) == "en"


def test_it_bounds_the_work_on_a_huge_header() -> None:
    header = ",".join(["fr;q=0.9"] * 10_000) + ",en"
    assert negotiate(header, None) == "zh"


def test_it_reads_the_language_of_a_request_from_cookie_and_header() -> None:
    assert request_language(make_request({"Accept-Language": "en-US,en;q=0.9"})) == "en"
    assert request_language(make_request({"Accept-Language": "en-US", "Cookie": "lang=zh"})) == "zh"
    assert request_language(make_request({})) == "zh"


def test_it_translates_into_chinese() -> None:
    assert gettext("zh", "Page not found") == "页面不存在"
    assert translator("zh")("Log out") == "退出登录"


def test_it_leaves_english_as_written() -> None:
    assert gettext("en", "Page not found") == "Page not found"


def test_it_falls_back_to_the_english_msgid_when_a_translation_is_missing() -> None:
    assert gettext("zh", "A sentence nobody translated") == "A sentence nobody translated"
    assert gettext("zh", "Hello %(name)s", name="王芳") == "Hello 王芳"


def test_it_fills_named_parameters_after_translating() -> None:
    assert gettext("zh", "Version %(version)s", version="1.2") == "版本 1.2"
    assert translator("en")("Error %(status)s", status=404) == "Error 404"


def test_it_leaves_percent_signs_alone_without_parameters() -> None:
    assert gettext("en", "100% done") == "100% done"


def test_it_chooses_plural_forms_per_language() -> None:
    assert ngettext("en", "%(num)d person", "%(num)d people", 1) == "1 person"
    assert ngettext("en", "%(num)d person", "%(num)d people", 5) == "5 people"
    assert ngettext("zh", "%(num)d person", "%(num)d people", 1) == "1 人"
    assert ngettext("zh", "%(num)d person", "%(num)d people", 5) == "5 人"


def test_it_shows_english_when_a_translation_has_wrong_placeholders(monkeypatch: pytest.MonkeyPatch) -> None:
    broken = i18n.catalog("zh")
    monkeypatch.setattr(broken, "gettext", lambda msgid: "版本 %(vers)s")
    assert gettext("zh", "Version %(version)s", version="1.2") == "Version 1.2"


def test_it_refuses_an_unsupported_language() -> None:
    with pytest.raises(ValueError, match="unsupported language"):
        gettext("fr", "Page not found")


def _template_msgids() -> set[str]:
    found: set[str] = set()
    for path in Path(templating.TEMPLATES_DIR).rglob("*.html"):
        ast = templating.env.parse(path.read_text(encoding="utf-8"))
        for _line, _func, message in extract_from_ast(ast):
            found.update(m for m in ([message] if isinstance(message, str) else message or ()) if m)
    return found


def test_it_translates_every_string_the_pages_use() -> None:
    with PO_FILE.open("rb") as fh:
        catalog = read_po(fh)
    translated = {m.id if isinstance(m.id, str) else m.id[0] for m in catalog if m.id and m.string}
    runtime_chosen = {text for pair in [*errors.MESSAGES.values(), errors.GENERIC] for text in pair}
    needed = _template_msgids() | runtime_chosen | set(labels.ROLE_LABELS.values())
    assert "Skip to main content" in needed  # the template scan found something
    assert sorted(needed - translated) == []


def test_it_keeps_every_placeholder_of_the_msgid_in_the_translation() -> None:
    with PO_FILE.open("rb") as fh:
        catalog = read_po(fh)
    for message in catalog:
        if not message.id:
            continue
        ids = [message.id] if isinstance(message.id, str) else list(message.id)
        strings = [message.string] if isinstance(message.string, str) else list(message.string)
        expected = set(PLACEHOLDER.findall(ids[0]))
        for string in strings:
            assert set(PLACEHOLDER.findall(string)) == expected, message.id
