"""Causes and events are stored as structure and worded when read: a kind (a domain's StrEnum value, such as
"cases.case_reported") and JSON parameters ({"case": 12}). Nothing parses stored text back.

Each domain registers the English msgid of each of its cause kinds (`describe`) next to the enum, when the module
defining it is imported; `render` words a stored (kind, params) in the reader's language through the translator
it is given (`fangkong.web.i18n.translator`), so this module needs nothing above core. The Chinese translations are
in the web catalog, and `msgids()` lets a test check that each one has one.
"""

from __future__ import annotations

import enum
import json
from collections.abc import Callable, Mapping
from typing import Any

Translate = Callable[..., str]

# The kind a migrated row gets when its old English text matched no known shape; params {"text": the old text}.
UNKNOWN = "unknown"

_msgids: dict[str, str] = {}


def describe(msgids: Mapping[enum.StrEnum, str]) -> None:
    """Register how each cause kind reads: an English msgid with `%(param)s` placeholders for its parameters."""
    for kind, msgid in msgids.items():
        _msgids[kind.value] = msgid


def msgids() -> dict[str, str]:
    """Every registered kind's msgid (the tests check each one is translated)."""
    return dict(_msgids)


def render(kind: str, params: Mapping[str, Any], _: Translate) -> str:
    """The cause in the language of `_`. A kind nobody registered (or a parameter missing) shows what is known
    rather than failing the page: the old text kept by the migration, else the kind itself."""
    msgid = _msgids.get(kind)
    if msgid is not None:
        try:
            msgid % dict(params)  # every placeholder has its parameter (a translation may not use them all)
        except (KeyError, ValueError, TypeError):
            pass
        else:
            return _(msgid, **params) if params else _(msgid)
    return str(params.get("text") or kind)


def dump_params(params: Mapping[str, Any]) -> str:
    """The stored form of parameters: JSON with sorted keys, non-ASCII kept as written."""
    return json.dumps(dict(params), sort_keys=True, ensure_ascii=False)


def load_params(text: str | None) -> dict[str, Any]:
    loaded = json.loads(text) if text else {}
    return loaded if isinstance(loaded, dict) else {}
