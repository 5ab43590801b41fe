"""Migration 0008 adds `contact.request_id` in place. On SQLite a batch rebuild of `contact` would drop the old
table with foreign keys on (as the application's engine runs migrations), and that drop cascades to every
contact's evidence; this test keeps that from coming back."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from alembic import command
from sqlalchemy import Connection, Engine, create_engine, text

from fangkong.core.db import make_engine
from fangkong.core.migrate import alembic_config, current_revision
from tests.support.databases import BACKENDS, own_database

AT = "2022-03-20 10:00:00"


@pytest.fixture(params=BACKENDS)
def engine(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    with own_database(request.param, tmp_path, "assist") as url:
        eng = make_engine(url)  # as the application migrates: foreign keys on
        try:
            yield eng
        finally:
            eng.dispose()


def put_a_contact_with_evidence(connection: Connection) -> None:
    """One contact with its evidence and history; the people and case behind them are not needed, so the
    foreign keys are off while they go in."""
    if connection.dialect.name == "postgresql":
        connection.execute(text("SET session_replication_role = replica"))
    connection.execute(text(
        "INSERT INTO contact (id, case_id, person_id, region_id, proposed_tier, status, overlap_seconds, "
        "decision_reason, created_at, updated_at) VALUES (1, 1, 1, 1, 'close', 'confirmed', 600, '', :at, :at)"
    ), {"at": AT})  # fmt: skip
    connection.execute(text(
        "INSERT INTO contact_evidence (id, contact_id, kind, note, created_at) VALUES (1, 1, 'household', '', :at)"
    ), {"at": AT})  # fmt: skip
    connection.execute(text(
        "INSERT INTO contact_event (id, contact_id, at, change, params, reason, actor_username) "
        "VALUES (1, 1, :at, 'confirmed', '{}', '同住', 'inv')"
    ), {"at": AT})  # fmt: skip
    if connection.dialect.name == "postgresql":
        connection.execute(text("SET session_replication_role = DEFAULT"))


def test_0008_keeps_every_contact_and_its_evidence(engine: Engine) -> None:
    with engine.begin() as connection:
        command.upgrade(alembic_config(connection), "0007")
    plain = create_engine(engine.url)  # without the application's foreign-key pragma on SQLite
    try:
        with plain.begin() as connection:
            put_a_contact_with_evidence(connection)
    finally:
        plain.dispose()
    with engine.begin() as connection:
        command.upgrade(alembic_config(connection), "0008")
        assert current_revision(connection) == "0008"
        assert connection.execute(text("SELECT id, request_id FROM contact")).all() == [(1, None)]
        assert connection.execute(text("SELECT contact_id FROM contact_evidence")).scalars().all() == [1]
    with engine.begin() as connection:
        command.downgrade(alembic_config(connection), "0007")
        assert connection.execute(text("SELECT contact_id FROM contact_evidence")).scalars().all() == [1]
        assert connection.execute(text("SELECT reason FROM contact_event")).scalars().all() == ["同住"]
