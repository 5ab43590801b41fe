"""venues and check-ins

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-22 14:28:28.933019
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:

    op.create_table(
        "venue",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("ref", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column(
            "kind",
            sa.Enum(
                "supermarket",
                "market",
                "restaurant",
                "hospital",
                "clinic",
                "pharmacy",
                "school",
                "office",
                "factory",
                "residential_gate",
                "station",
                "bus_line",
                "taxi",
                "other",
                name="venuekind",
                native_enum=False,
                create_constraint=True,
                length=24,
            ),
            nullable=False,
        ),
        sa.Column("region_id", sa.Integer(), nullable=False),
        sa.Column("address", sa.String(length=255), nullable=False),
        sa.Column("capacity", sa.Integer(), nullable=True),
        sa.Column("operator_user_id", sa.Integer(), nullable=True),
        sa.Column("token", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["operator_user_id"], ["app_user.id"], name=op.f("fk_venue_operator_user_id_app_user")),
        sa.ForeignKeyConstraint(
            ["region_id"], ["region.id"], name=op.f("fk_venue_region_id_region"), ondelete="RESTRICT"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_venue")),
        sa.UniqueConstraint("ref", name=op.f("uq_venue_ref")),
        sa.UniqueConstraint("token", name=op.f("uq_venue_token")),
    )
    with op.batch_alter_table("venue", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_venue_operator_user_id"), ["operator_user_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_venue_region_id"), ["region_id"], unique=False)

    op.create_table(
        "checkin",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("person_id", sa.Integer(), nullable=False),
        sa.Column("venue_id", sa.Integer(), nullable=False),
        sa.Column("checked_in_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("checked_out_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column(
            "source",
            sa.Enum(
                "scan",
                "door",
                "batch",
                "import",
                name="checkinsource",
                native_enum=False,
                create_constraint=True,
                length=8,
            ),
            nullable=False,
        ),
        sa.Column("client_id", sa.String(length=36), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["person_id"], ["person.id"], name=op.f("fk_checkin_person_id_person"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(["venue_id"], ["venue.id"], name=op.f("fk_checkin_venue_id_venue"), ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_checkin")),
        sa.UniqueConstraint("client_id", name=op.f("uq_checkin_client_id")),
        sa.UniqueConstraint("person_id", "checked_in_at", "venue_id", name="uq_checkin_person_time_venue"),
    )
    with op.batch_alter_table("checkin", schema=None) as batch_op:
        batch_op.create_index("ix_checkin_checked_in_at", ["checked_in_at"], unique=False)
        batch_op.create_index("ix_checkin_venue_id_checked_in_at", ["venue_id", "checked_in_at"], unique=False)

    op.create_table(
        "retired_venue_token",
        sa.Column("token", sa.String(length=64), nullable=False),
        sa.Column("venue_id", sa.Integer(), nullable=False),
        sa.Column("retired_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["venue_id"], ["venue.id"], name=op.f("fk_retired_venue_token_venue_id_venue"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("token", name=op.f("pk_retired_venue_token")),
    )
    with op.batch_alter_table("retired_venue_token", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_retired_venue_token_venue_id"), ["venue_id"], unique=False)
    _audit_actions_without_check()


def _audit_actions_without_check() -> None:
    """Audit actions grow with every release: drop the CHECK that lists them (the code validates them)."""
    if op.get_bind().dialect.name == "postgresql":
        op.execute("ALTER TABLE audit_event DROP CONSTRAINT IF EXISTS ck_audit_event_auditaction")
        return
    # SQLite rebuilds the table to drop a constraint, and the rebuild drops its triggers: put them back.
    with op.batch_alter_table("audit_event", recreate="always") as batch_op:
        batch_op.drop_constraint(op.f("ck_audit_event_auditaction"), type_="check")
    for event in ("UPDATE", "DELETE"):
        op.execute(
            f"CREATE TRIGGER IF NOT EXISTS audit_event_no_{event.lower()} BEFORE {event} ON audit_event "
            "BEGIN SELECT RAISE(ABORT, 'audit_event is append-only'); END"
        )


def downgrade() -> None:

    with op.batch_alter_table("retired_venue_token", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_retired_venue_token_venue_id"))

    op.drop_table("retired_venue_token")
    with op.batch_alter_table("checkin", schema=None) as batch_op:
        batch_op.drop_index("ix_checkin_venue_id_checked_in_at")
        batch_op.drop_index("ix_checkin_checked_in_at")

    op.drop_table("checkin")
    with op.batch_alter_table("venue", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_venue_region_id"))
        batch_op.drop_index(batch_op.f("ix_venue_operator_user_id"))

    op.drop_table("venue")
