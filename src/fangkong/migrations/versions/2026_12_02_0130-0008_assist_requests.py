"""cross-region assistance requests (协查)

An investigator who names a person outside their regions for a case files a request to the person's own region
instead of making the contact: `assist_request` (current state) and `assist_event` (append-only history). A contact
made by the receiving region's answer, or traced from one, is marked with `contact.request_id`: the case's side
does not read it.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-02 01:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from fangkong.core.migrate_helpers import protect_append_only, unprotect_append_only

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_TIERS = ("close", "secondary", "companion")


def upgrade() -> None:
    op.create_table(
        "assist_request",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("from_region_id", sa.Integer(), nullable=False),
        sa.Column("to_region_id", sa.Integer(), nullable=False),
        sa.Column(
            "named_by",
            sa.Enum("ref", "id_number", name="namedby", native_enum=False, create_constraint=True, length=16),
            nullable=False,
        ),
        sa.Column("person_ref", sa.String(length=64), nullable=True),
        sa.Column("id_hash", sa.LargeBinary(length=16), nullable=True),
        sa.Column("id_masked", sa.String(length=32), nullable=True),
        sa.Column("person_id", sa.Integer(), nullable=True),
        sa.Column(
            "tier",
            sa.Enum(*_TIERS, name="contacttier", native_enum=False, create_constraint=True, length=16),
            nullable=False,
        ),
        sa.Column("exposure_start", sa.DateTime(timezone=True), nullable=True),
        sa.Column("exposure_end", sa.DateTime(timezone=True), nullable=True),
        sa.Column("venue", sa.String(length=200), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column(
            "status",
            sa.Enum(
                "pending",
                "confirmed",
                "dismissed",
                name="assiststatus",
                native_enum=False,
                create_constraint=True,
                length=16,
            ),
            nullable=False,
        ),
        sa.Column("filed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("requested_by_user_id", sa.Integer(), nullable=True),
        sa.Column("requested_by", sa.String(length=64), nullable=False),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column(
            "decided_tier",
            sa.Enum(*_TIERS, name="assistdecidedtier", native_enum=False, create_constraint=True, length=16),
            nullable=True,
        ),
        sa.Column("decided_region_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["case_id"], ["case_record.id"], name=op.f("fk_assist_request_case_id_case_record"), ondelete="RESTRICT"
        ),
        sa.ForeignKeyConstraint(
            ["from_region_id"],
            ["region.id"],
            name=op.f("fk_assist_request_from_region_id_region"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["to_region_id"], ["region.id"], name=op.f("fk_assist_request_to_region_id_region"), ondelete="RESTRICT"
        ),
        sa.ForeignKeyConstraint(
            ["decided_region_id"],
            ["region.id"],
            name=op.f("fk_assist_request_decided_region_id_region"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["person_id"], ["person.id"], name=op.f("fk_assist_request_person_id_person"), ondelete="RESTRICT"
        ),
        sa.ForeignKeyConstraint(
            ["requested_by_user_id"], ["app_user.id"], name=op.f("fk_assist_request_requested_by_user_id_app_user")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_assist_request")),
    )
    with op.batch_alter_table("assist_request", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_assist_request_case_id"), ["case_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_assist_request_person_id"), ["person_id"], unique=False)
        batch_op.create_index(
            "ix_assist_request_to_region_id_status_filed_at", ["to_region_id", "status", "filed_at"], unique=False
        )

    op.create_table(
        "assist_event",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("request_id", sa.Integer(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column(
            "change",
            sa.Enum("filed", "confirmed", "dismissed", name="assistchange", native_enum=False, length=16),
            nullable=False,
        ),
        sa.Column("params", sa.Text(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("actor_user_id", sa.Integer(), nullable=True),
        sa.Column("actor_username", sa.String(length=64), nullable=False),
        sa.Column("actor_region_code", sa.String(length=20), nullable=True),
        sa.ForeignKeyConstraint(
            ["actor_user_id"], ["app_user.id"], name=op.f("fk_assist_event_actor_user_id_app_user")
        ),
        sa.ForeignKeyConstraint(
            ["request_id"],
            ["assist_request.id"],
            name=op.f("fk_assist_event_request_id_assist_request"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_assist_event")),
    )
    with op.batch_alter_table("assist_event", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_assist_event_request_id"), ["request_id"], unique=False)
    protect_append_only("assist_event")

    # Not a batch block: on SQLite that would rebuild `contact`, and dropping the old table with foreign keys on
    # would cascade to its evidence. SQLite adds a nullable column with a REFERENCES clause in place.
    if op.get_bind().dialect.name == "sqlite":
        op.execute(
            "ALTER TABLE contact ADD COLUMN request_id INTEGER "
            "CONSTRAINT fk_contact_request_id_assist_request REFERENCES assist_request (id)"
        )
    else:
        op.add_column("contact", sa.Column("request_id", sa.Integer(), nullable=True))
        op.create_foreign_key(
            op.f("fk_contact_request_id_assist_request"), "contact", "assist_request", ["request_id"], ["id"]
        )
    op.create_index(op.f("ix_contact_request_id"), "contact", ["request_id"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_contact_request_id"), table_name="contact")
    if op.get_bind().dialect.name == "sqlite":
        op.execute("ALTER TABLE contact DROP COLUMN request_id")
    else:
        op.drop_constraint(op.f("fk_contact_request_id_assist_request"), "contact", type_="foreignkey")
        op.drop_column("contact", "request_id")
    unprotect_append_only("assist_event")
    op.drop_table("assist_event")
    op.drop_table("assist_request")
