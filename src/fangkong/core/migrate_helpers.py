"""Helpers for migration scripts (call them inside an Alembic `upgrade()` or `downgrade()`).

Append-only tables (audit_event, case_event, contact_event, test_result, code_change) are protected by triggers
that refuse UPDATE and DELETE, on both databases, so history cannot be rewritten by accident. A migration that
must change such a table's rows or rebuild it does:

    unprotect_append_only("code_change")   # drop the triggers
    ...                                    # add columns, convert rows, batch_alter_table(...)
    protect_append_only("code_change")     # create them again

On SQLite a `batch_alter_table` that recreates the table (dropping or altering a column) drops its triggers with
it, so `protect_append_only` must come after the batch block. The names are those the first migrations used
(0002, 0004, 0005, 0006 wrote this SQL out by hand): PostgreSQL has one function `<table>_append_only()` and one
trigger `<table>_no_change`; SQLite has the triggers `<table>_no_update` and `<table>_no_delete`. The error says
"<table> is append-only" on both.
"""

from __future__ import annotations

from alembic import op


def _is_postgresql() -> bool:
    return op.get_bind().dialect.name == "postgresql"


def protect_append_only(table: str) -> None:
    """Create the triggers that refuse UPDATE and DELETE on `table`."""
    if _is_postgresql():
        op.execute(
            f"CREATE FUNCTION {table}_append_only() RETURNS trigger LANGUAGE plpgsql AS "
            f"$$ BEGIN RAISE EXCEPTION '{table} is append-only'; END $$"
        )
        op.execute(
            f"CREATE TRIGGER {table}_no_change BEFORE UPDATE OR DELETE ON {table} "
            f"FOR EACH ROW EXECUTE FUNCTION {table}_append_only()"
        )
    else:
        for event in ("UPDATE", "DELETE"):
            op.execute(
                f"CREATE TRIGGER {table}_no_{event.lower()} BEFORE {event} ON {table} "
                f"BEGIN SELECT RAISE(ABORT, '{table} is append-only'); END"
            )


def unprotect_append_only(table: str) -> None:
    """Drop those triggers (and PostgreSQL's function), so that a migration may rewrite rows; idempotent."""
    if _is_postgresql():
        op.execute(f"DROP TRIGGER IF EXISTS {table}_no_change ON {table}")
        op.execute(f"DROP FUNCTION IF EXISTS {table}_append_only()")
    else:
        for event in ("update", "delete"):
            op.execute(f"DROP TRIGGER IF EXISTS {table}_no_{event}")
