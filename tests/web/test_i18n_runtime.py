"""Every message chosen in Python (domain errors, validation errors, page messages) has a Chinese translation."""

import ast
from pathlib import Path

from babel.messages.pofile import read_po

import fangkong
from fangkong.auth.actor import Actor, Grant
from fangkong.auth.audit_models import Channel
from fangkong.auth.models import Role
from fangkong.auth.pages import actions_for
from fangkong.core import validation_messages

PO_FILE = Path(fangkong.__file__).parent / "web/locales/zh_CN/LC_MESSAGES/messages.po"
SOURCE = Path(fangkong.__file__).parent
ERRORS = {
    "NotFound",
    "Invalid",
    "Conflict",
    "Forbidden",
    "LoginFailed",
    "TooManyAttempts",
    "Unauthenticated",
    "CodeRefused",
    "Problem",  # a check-in row's rejection (venues/schemas.py)
}
# Only printed by commands on the operator's terminal, which speak English (the demo city, start-up, imports, and
# the registry's wiring, which fails before any request is served).
CLI_ONLY = {
    *(SOURCE / "demo").glob("*.py"),
    SOURCE / "core/runtime.py",
    SOURCE / "core/importing.py",
    SOURCE / "core/facts.py",
}


def translated() -> set[str]:
    with PO_FILE.open("rb") as fh:
        return {m.id for m in read_po(fh) if isinstance(m.id, str) and m.string}


def python_msgids() -> set[str]:
    found = set()
    for path in SOURCE.rglob("*.py"):
        if path in CLI_ONLY:
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not isinstance(node, ast.Call):
                continue
            # A scoped fetch's NotFound message: auth.scope.one_in_scope(..., missing="no case %(id)s").
            found.update(
                k.value.value
                for k in node.keywords
                if k.arg == "missing" and isinstance(k.value, ast.Constant) and isinstance(k.value.value, str)
            )
            if not node.args:
                continue
            name = node.func.attr if isinstance(node.func, ast.Attribute) else getattr(node.func, "id", "")
            first = node.args[0]
            if (name in ERRORS or name == "_") and isinstance(first, ast.Constant) and isinstance(first.value, str):
                found.add(first.value)
    return found


def test_it_translates_every_domain_error_and_page_message() -> None:
    needed = python_msgids()
    assert "no person with ref %(ref)s" in needed  # the scan found something
    assert "no case %(id)s" in needed  # and the messages of scoped fetches
    assert sorted(needed - translated()) == []


def test_it_translates_every_validation_message() -> None:
    needed = {msgid for msgid, _ in validation_messages.MESSAGES.values()} | {validation_messages.FALLBACK}
    assert sorted(needed - translated()) == []


def test_it_translates_every_home_page_action() -> None:
    grants = tuple(Grant(role, 1, "210800", "营口市", "/210800/") for role in Role)
    everyone = Actor(1, "all", "all", grants, Channel.page, person_id=1)
    needed = {text for action in actions_for(everyone) for text in (action.title, action.text)}
    assert len(needed) >= 6
    assert sorted(needed - translated()) == []


def test_it_translates_every_venue_kind() -> None:
    from fangkong.venues.models import VenueKind
    from fangkong.venues.operator_pages import KIND_LABELS

    assert set(KIND_LABELS) == set(VenueKind)
    assert sorted(set(KIND_LABELS.values()) - translated()) == []


def test_it_translates_every_value_the_case_pages_show() -> None:
    from fangkong.cases.labels import LABELS

    for kind, labels in LABELS.items():
        assert set(labels) == {member.value for member in kind}, kind
    needed = {msgid for labels in LABELS.values() for msgid in labels.values()}
    assert sorted(needed - translated()) == []


def test_it_translates_every_answer_at_the_door() -> None:
    from fangkong.healthcode import door

    needed = set(door.REFUSALS.values()) | {door.ALLOWED, door.NEEDS_NEGATIVE_TEST} | set(door.REFUSED_COLOR.values())
    assert sorted(needed - translated()) == []
