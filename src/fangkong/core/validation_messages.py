"""Request validation errors (pydantic's) as catalog msgids, so that a 422 speaks the caller's language too.

Only the common kinds have their own sentence; anything else falls back to pydantic's English text.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

# pydantic error type -> (English msgid, the context key that fills %(limit)s or %(expected)s)
MESSAGES: dict[str, tuple[str, str | None]] = {
    "missing": ("%(field)s is required", None),
    "string_too_short": ("%(field)s is too short (at least %(limit)s characters)", "min_length"),
    "string_too_long": ("%(field)s is too long (at most %(limit)s characters)", "max_length"),
    "enum": ("%(field)s must be one of %(limit)s", "expected"),
    "literal_error": ("%(field)s must be one of %(limit)s", "expected"),
    "int_parsing": ("%(field)s must be a whole number", None),
    "int_type": ("%(field)s must be a whole number", None),
    "greater_than_equal": ("%(field)s must be at least %(limit)s", "ge"),
    "less_than_equal": ("%(field)s must be at most %(limit)s", "le"),
    "control_character": ("%(field)s contains a control character (%(limit)s); remove it", "character"),
    "time_out_of_range": ("%(field)s must lie in the years %(limit)s", "years"),
    "json_invalid": ("the request body is not valid JSON", None),
    "model_attributes_type": ("the request body must be a JSON object", None),
}
FALLBACK = "%(field)s: %(detail)s"


def describe(errors: Sequence[Mapping[str, Any]], translate: Callable[..., str]) -> str:
    """One sentence per error, joined; `translate(msgid, **params)` chooses the language."""
    parts = []
    for err in errors:
        field = ".".join(str(p) for p in err.get("loc", ()) if p not in ("body", "query", "path", "header"))
        msgid, context_key = MESSAGES.get(str(err.get("type")), (FALLBACK, None))
        limit = (err.get("ctx") or {}).get(context_key, "") if context_key else ""
        parts.append(translate(msgid, field=field or "request", limit=limit, detail=err.get("msg", "")))
    return "; ".join(parts)
