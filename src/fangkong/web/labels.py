"""Values shown on pages in the reader's language: tables of English msgids (tests/web/test_i18n_runtime.py
checks they are translated) and `labeler`, which reads an enum value through them.

A domain keeps its own enums' table beside its models (e.g. fangkong.cases.labels) so that the pages of a higher
domain can show them without importing another domain's pages; the web shell knows no domain's enums.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Mapping

from fangkong.web.i18n import Translate

EnumLabels = Mapping[type[enum.Enum], Mapping[str, str]]  # enum class -> value -> English msgid

# Role values (fangkong.auth.models.Role) to their English msgids; kept as strings so the web shell does not
# import the auth package. Unknown roles show their raw value.
ROLE_LABELS = {
    "resident": "Resident",
    "venue_operator": "Venue operator",
    "grid_worker": "Grid worker",
    "investigator": "Investigator",
    "quarantine_staff": "Quarantine staff",
    "sampler": "Sampler",
    "lab": "Laboratory",
    "commander": "Commander",
    "admin": "Administrator",
}


def role_label(_: Translate, role: object) -> str:
    """A role (the enum or its value) in the reader's language."""
    value = str(getattr(role, "value", role))
    msgid = ROLE_LABELS.get(value)
    return _(msgid) if msgid else value


def labeler(_: Translate, labels: EnumLabels) -> Callable[[object], str]:
    """label(value): an enum value in the reader's language; "—" for nothing; the raw value of an enum (or the
    text of anything else) without a label."""

    def label(value: object) -> str:
        if value is None or value == "":
            return "—"
        if isinstance(value, enum.Enum):
            msgid = labels.get(type(value), {}).get(str(value.value))
            return _(msgid) if msgid else str(value.value)
        return str(value)

    return label
