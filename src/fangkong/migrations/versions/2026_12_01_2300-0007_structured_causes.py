"""structured causes and events

A code change's cause, a case event's value and a contact event's text were English text written by the services
and read back with regular expressions. They become a kind plus JSON parameters, worded when shown
(fangkong.core.causes); the investigator's own words stay as they were, in `reason`. This migration is the one
place that parses the old texts, once.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-01 23:00:00
"""

import json
import re
from collections.abc import Callable, Iterable, Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op

from fangkong.core.migrate_helpers import protect_append_only, unprotect_append_only

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TABLES = ("code_change", "case_event", "contact_event")
UNKNOWN = "unknown"  # core.causes.UNKNOWN: an old text of no known shape, kept as {"text": ...}

# The causes the services wrote before 0007 (healthcode.service.Cause.what) → the kind that replaces each.
_OLD_CAUSES: list[tuple[re.Pattern[str], str]] = [
    (re.compile(r"case (?P<case>\d+) reported"), "cases.case_reported"),
    (re.compile(r"case (?P<case>\d+) changed"), "cases.case_changed"),
    (re.compile(r"contact (?P<contact>\d+) dismiss(?:ed)?"), "cases.contact_dismissed"),
    (re.compile(r"contact (?P<contact>\d+) (?P<tier>close|secondary|companion)"), "cases.contact_confirmed"),
    (re.compile(r"test result (?P<result>\d+) withdrawn"), "testing.result_withdrawn"),
    (re.compile(r"test result (?P<result>\d+)"), "testing.result_entered"),
    (re.compile(r"appeal (?P<appeal>\d+) filed"), "healthcode.appeal_filed"),
    (re.compile(r"appeal (?P<appeal>\d+) upheld"), "healthcode.appeal_upheld"),
    (re.compile(r"appeal (?P<appeal>\d+) corrected"), "healthcode.appeal_corrected"),
    (re.compile(r"review (?P<review>\d+)"), "healthcode.review"),
    (re.compile(r"fever (?P<celsius>\d+(?:\.\d+)?) °C at (?P<venue>.+)", re.DOTALL), "healthcode.fever"),
    (re.compile(r"stay in (?P<area>.+) declared", re.DOTALL), "healthcode.stay_declared"),
    (re.compile(r"policy (?P<old>\S+) → (?P<new>\S+)"), "policy.edition_changed"),
    (re.compile(r"a phase ended"), "healthcode.phase_ended"),
    (re.compile(r"first use"), "healthcode.first_use"),
]
_IDS = {"case", "contact", "result", "appeal", "review"}

# contacts.trace_case's summary of a run: "[start, end) policy: 3 new, 1 refreshed".
_TRACED = re.compile(
    r"\[(?P<start>[^,]+), (?P<end>[^)]+)\) (?P<policy>\S+): (?P<new>\d+) new, (?P<refreshed>\d+) refreshed"
)
# contacts._summary of a tracing proposal: "checkin, household; 12 min co-present".
_PROPOSED = re.compile(r"(?P<evidence>[a-z, ]*); (?P<minutes>\d+) min co-present")
_BECAME_CASE = re.compile(r"case (?P<case>\d+)")


def _dump(params: dict[str, Any]) -> str:
    return json.dumps(params, sort_keys=True, ensure_ascii=False)


def cause_of(text: str) -> tuple[str, dict[str, Any]]:
    """An old code-change cause → (kind, params)."""
    for pattern, kind in _OLD_CAUSES:
        if match := pattern.fullmatch(text):
            params: dict[str, Any] = match.groupdict()
            for key in params.keys() & _IDS:
                params[key] = int(params[key])
            if "celsius" in params:
                params["celsius"] = float(params["celsius"])
            return kind, params
    return UNKNOWN, {"text": text}


def case_event_params(change: str, value: str) -> dict[str, Any]:
    """An old case event's value → its params (see cases.models.CaseEvent)."""
    single = {"reported": "classification", "classification": "classification", "severity": "severity",
              "onset": "date", "sampled": "at", "isolated": "at", "treated_at": "place"}  # fmt: skip
    if change in single:
        return {single[change]: value}
    if change == "outcome":
        outcome, _sep, date = value.partition(" ")
        return {"outcome": outcome, "date": date}
    if change == "traced" and (match := _TRACED.fullmatch(value)):
        return {**match.groupdict(), "new": int(match["new"]), "refreshed": int(match["refreshed"])}
    return {"text": value} if value else {}


def contact_event_parts(change: str, text: str) -> tuple[dict[str, Any], str]:
    """An old contact event's text → (params, reason): the investigator's words move to the reason."""
    if change == "proposed":
        if text.startswith("interview: "):
            return {"source": "interview"}, text.removeprefix("interview: ")
        if match := _PROPOSED.fullmatch(text):
            evidence = [kind for kind in match["evidence"].split(", ") if kind]
            return {"source": "tracing", "evidence": evidence, "overlap_minutes": int(match["minutes"])}, ""
    if change == "became_case" and (match := _BECAME_CASE.fullmatch(text)):
        return {"case": int(match["case"])}, ""
    return {}, text


def _convert(select: str, update: str, convert: Callable[[Any], dict[str, Any]]) -> None:
    connection = op.get_bind()
    rows: Iterable[Any] = connection.execute(sa.text(select)).all()
    updates = [convert(row) for row in rows]
    for i in range(0, len(updates), 5000):
        connection.execute(sa.text(update), updates[i : i + 5000])


def upgrade() -> None:
    for table in TABLES:
        unprotect_append_only(table)

    op.add_column("code_change", sa.Column("cause_kind", sa.String(length=64), nullable=True))
    op.add_column("code_change", sa.Column("cause_params", sa.Text(), nullable=True))
    op.add_column("case_event", sa.Column("params", sa.Text(), nullable=True))
    op.add_column("contact_event", sa.Column("params", sa.Text(), nullable=True))
    op.add_column("contact_event", sa.Column("reason", sa.Text(), nullable=True))

    def code_change(row: Any) -> dict[str, Any]:
        kind, params = cause_of(row.cause)
        return {"id": row.id, "kind": kind, "params": _dump(params)}

    def case_event(row: Any) -> dict[str, Any]:
        return {"id": row.id, "params": _dump(case_event_params(row.change, row.value))}

    def contact_event(row: Any) -> dict[str, Any]:
        params, reason = contact_event_parts(row.change, row.text)
        return {"id": row.id, "params": _dump(params), "reason": reason}

    _convert(
        "SELECT id, cause FROM code_change",
        "UPDATE code_change SET cause_kind = :kind, cause_params = :params WHERE id = :id",
        code_change,
    )
    _convert(
        "SELECT id, change, value FROM case_event", "UPDATE case_event SET params = :params WHERE id = :id", case_event
    )
    _convert("SELECT id, change, text FROM contact_event",
             "UPDATE contact_event SET params = :params, reason = :reason WHERE id = :id", contact_event)  # fmt: skip

    with op.batch_alter_table("code_change", schema=None) as batch_op:
        batch_op.alter_column("cause_kind", existing_type=sa.String(length=64), nullable=False)
        batch_op.alter_column("cause_params", existing_type=sa.Text(), nullable=False)
        batch_op.drop_column("cause")
    with op.batch_alter_table("case_event", schema=None) as batch_op:
        batch_op.alter_column("params", existing_type=sa.Text(), nullable=False)
        batch_op.drop_column("value")
    with op.batch_alter_table("contact_event", schema=None) as batch_op:
        batch_op.alter_column("params", existing_type=sa.Text(), nullable=False)
        batch_op.alter_column("reason", existing_type=sa.Text(), nullable=False)
        batch_op.drop_column("text")

    # After the batch blocks: on SQLite they rebuilt the tables, without triggers.
    for table in TABLES:
        protect_append_only(table)


# --- downgrade: the structure worded as the old English texts (formatting, no parsing) ----------------------------

_OLD_TEXT = {
    "cases.case_reported": "case {case} reported",
    "cases.case_changed": "case {case} changed",
    "cases.contact_dismissed": "contact {contact} dismiss",
    "cases.contact_confirmed": "contact {contact} {tier}",
    "testing.result_entered": "test result {result}",
    "testing.result_withdrawn": "test result {result} withdrawn",
    "policy.edition_changed": "policy {old} → {new}",
    "healthcode.first_use": "first use",
    "healthcode.phase_ended": "a phase ended",
    "healthcode.fever": "fever {celsius} °C at {venue}",
    "healthcode.review": "review {review}",
    "healthcode.stay_declared": "stay in {area} declared",
    "healthcode.appeal_filed": "appeal {appeal} filed",
    "healthcode.appeal_upheld": "appeal {appeal} upheld",
    "healthcode.appeal_corrected": "appeal {appeal} corrected",
}


def old_cause(kind: str, params: dict[str, Any]) -> str:
    try:
        return _OLD_TEXT[kind].format(**params)[:255]
    except KeyError:
        return str(params.get("text", kind))[:255]


def old_case_value(change: str, params: dict[str, Any]) -> str:
    if change == "traced" and "start" in params:
        value = "[{start}, {end}) {policy}: {new} new, {refreshed} refreshed".format(**params)
    elif change == "outcome" and "outcome" in params:
        value = f"{params['outcome']} {params.get('date', '')}"
    else:
        value = " ".join(str(v) for v in params.values())
    return value[:255]


def old_contact_text(change: str, params: dict[str, Any], reason: str) -> str:
    if params.get("source") == "interview":
        return f"interview: {reason}"
    if params.get("source") == "tracing":
        return f"{', '.join(params.get('evidence', []))}; {params.get('overlap_minutes', 0)} min co-present"
    if change == "became_case" and "case" in params:
        return f"case {params['case']}"
    return reason


def downgrade() -> None:
    for table in TABLES:
        unprotect_append_only(table)
    op.add_column("code_change", sa.Column("cause", sa.String(length=255), nullable=True))
    op.add_column("case_event", sa.Column("value", sa.String(length=255), nullable=True))
    op.add_column("contact_event", sa.Column("text", sa.Text(), nullable=True))
    _convert(
        "SELECT id, cause_kind, cause_params FROM code_change",
        "UPDATE code_change SET cause = :cause WHERE id = :id",
        lambda r: {"id": r.id, "cause": old_cause(r.cause_kind, json.loads(r.cause_params))},
    )
    _convert(
        "SELECT id, change, params FROM case_event",
        "UPDATE case_event SET value = :value WHERE id = :id",
        lambda r: {"id": r.id, "value": old_case_value(r.change, json.loads(r.params))},
    )
    _convert(
        "SELECT id, change, params, reason FROM contact_event",
        "UPDATE contact_event SET text = :text WHERE id = :id",
        lambda r: {"id": r.id, "text": old_contact_text(r.change, json.loads(r.params), r.reason)},
    )
    with op.batch_alter_table("code_change", schema=None) as batch_op:
        batch_op.alter_column("cause", existing_type=sa.String(length=255), nullable=False)
        batch_op.drop_column("cause_params")
        batch_op.drop_column("cause_kind")
    with op.batch_alter_table("case_event", schema=None) as batch_op:
        batch_op.alter_column("value", existing_type=sa.String(length=255), nullable=False)
        batch_op.drop_column("params")
    with op.batch_alter_table("contact_event", schema=None) as batch_op:
        batch_op.alter_column("text", existing_type=sa.Text(), nullable=False)
        batch_op.drop_column("reason")
        batch_op.drop_column("params")
    for table in TABLES:
        protect_append_only(table)
