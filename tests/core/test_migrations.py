"""Migrations that convert rows: a database built at the revision before, old rows put in, upgraded, checked.

Each test builds its own database (a SQLite file, or a database of its own on the PostgreSQL server), since the
shared test database is already at head. Foreign keys are not enforced while the old rows go in: the tests need
the rows' text, not the people and cases behind them.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from alembic import command
from sqlalchemy import Connection, Engine, create_engine, text
from sqlalchemy.exc import DBAPIError

from fangkong.core.migrate import alembic_config, current_revision
from tests.support.databases import BACKENDS, own_database


@pytest.fixture(params=BACKENDS)
def empty_engine(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    with own_database(request.param, tmp_path, "migrate") as url:
        engine = create_engine(url)  # no foreign-key pragma on SQLite: see the module's doc
        try:
            yield engine
        finally:
            engine.dispose()


def migrate_to(connection: Connection, revision: str) -> None:
    command.upgrade(alembic_config(connection), revision)


def without_foreign_keys(connection: Connection) -> None:
    if connection.dialect.name == "postgresql":
        connection.execute(text("SET session_replication_role = replica"))


def with_foreign_keys(connection: Connection) -> None:
    if connection.dialect.name == "postgresql":
        connection.execute(text("SET session_replication_role = DEFAULT"))


OLD_CAUSES = {
    "case 3 reported": ("cases.case_reported", {"case": 3}),
    "case 3 changed": ("cases.case_changed", {"case": 3}),
    "contact 7 close": ("cases.contact_confirmed", {"contact": 7, "tier": "close"}),
    "contact 8 dismiss": ("cases.contact_dismissed", {"contact": 8}),
    "test result 12": ("testing.result_entered", {"result": 12}),
    "test result 12 withdrawn": ("testing.result_withdrawn", {"result": 12}),
    "policy cn-9 → cn-8": ("policy.edition_changed", {"old": "cn-9", "new": "cn-8"}),
    "first use": ("healthcode.first_use", {}),
    "a phase ended": ("healthcode.phase_ended", {}),
    "fever 38.2 °C at V-龙山": ("healthcode.fever", {"celsius": 38.2, "venue": "V-龙山"}),
    "review 4": ("healthcode.review", {"review": 4}),
    "stay in 上海市浦东新区 declared": ("healthcode.stay_declared", {"area": "上海市浦东新区"}),
    "appeal 5 filed": ("healthcode.appeal_filed", {"appeal": 5}),
    "appeal 5 upheld": ("healthcode.appeal_upheld", {"appeal": 5}),
    "appeal 5 corrected": ("healthcode.appeal_corrected", {"appeal": 5}),
    "something nobody wrote": ("unknown", {"text": "something nobody wrote"}),
}
TRACED = "[2022-03-16T00:00:00+00:00, 2022-03-21T08:00:00+00:00) cn-9: 3 new, 1 refreshed"
OLD_CASE_EVENTS = [
    ("reported", "confirmed", {"classification": "confirmed"}),
    ("severity", "mild", {"severity": "mild"}),
    ("onset", "2022-03-18", {"date": "2022-03-18"}),
    ("sampled", "2022-03-20T02:00:00+00:00", {"at": "2022-03-20T02:00:00+00:00"}),
    ("treated_at", "营口市传染病医院", {"place": "营口市传染病医院"}),
    ("outcome", "discharged 2022-04-02", {"outcome": "discharged", "date": "2022-04-02"}),
    ("traced", TRACED, {"start": "2022-03-16T00:00:00+00:00", "end": "2022-03-21T08:00:00+00:00",
                        "policy": "cn-9", "new": 3, "refreshed": 1}),
]  # fmt: skip
OLD_CONTACT_EVENTS = [
    ("proposed", "checkin, household; 12 min co-present",
     {"source": "tracing", "evidence": ["checkin", "household"], "overlap_minutes": 12}, ""),
    ("proposed", "interview: 3月18日在家聚餐", {"source": "interview"}, "3月18日在家聚餐"),
    ("confirmed", "同一包间就餐", {}, "同一包间就餐"),
    ("note", "电话已通知", {}, "电话已通知"),
    ("became_case", "case 9", {"case": 9}, ""),
]  # fmt: skip
AT = "2022-03-20 10:00:00"


def old_database(engine: Engine) -> None:
    """A database at 0006 holding old rows, committed (PostgreSQL checks the foreign keys of a row updated in the
    transaction that inserted it)."""
    with engine.begin() as connection:
        migrate_to(connection, "0006")
        put_old_rows(connection)


def put_old_rows(connection: Connection) -> None:
    without_foreign_keys(connection)
    for i, cause in enumerate(OLD_CAUSES, start=1):
        connection.execute(
            text("INSERT INTO code_change (id, person_id, at, from_color, to_color, reasons, policy, actor, cause) "
                 "VALUES (:id, 1, :at, NULL, 'red', '[]', 'cn-9', 'inv', :cause)"),
            {"id": i, "at": AT, "cause": cause},
        )  # fmt: skip
    for i, (change, value, _params) in enumerate(OLD_CASE_EVENTS, start=1):
        connection.execute(
            text("INSERT INTO case_event (id, case_id, at, change, value, reason, actor_username) "
                 "VALUES (:id, 1, :at, :change, :value, '发热门诊就诊', 'inv')"),
            {"id": i, "at": AT, "change": change, "value": value},
        )  # fmt: skip
    for i, (change, old_text, _params, _reason) in enumerate(OLD_CONTACT_EVENTS, start=1):
        connection.execute(
            text("INSERT INTO contact_event (id, contact_id, at, change, text, actor_username) "
                 "VALUES (:id, 1, :at, :change, :text, 'inv')"),
            {"id": i, "at": AT, "change": change, "text": old_text},
        )  # fmt: skip
    with_foreign_keys(connection)


def test_0007_turns_old_english_causes_and_events_into_kinds_and_parameters(empty_engine: Engine) -> None:
    old_database(empty_engine)
    with empty_engine.begin() as connection:
        migrate_to(connection, "0007")
        assert current_revision(connection) == "0007"

        rows = connection.execute(text("SELECT cause_kind, cause_params FROM code_change ORDER BY id")).all()
        assert [(kind, json.loads(params)) for kind, params in rows] == list(OLD_CAUSES.values())
        assert rows[9].cause_params == '{"celsius": 38.2, "venue": "V-龙山"}'  # sorted keys, non-ASCII as written

        rows = connection.execute(text("SELECT change, params, reason FROM case_event ORDER BY id")).all()
        assert [(r.change, json.loads(r.params)) for r in rows] == [(c, p) for c, _v, p in OLD_CASE_EVENTS]
        assert {r.reason for r in rows} == {"发热门诊就诊"}  # the investigator's words stay as typed

        rows = connection.execute(text("SELECT change, params, reason FROM contact_event ORDER BY id")).all()
        assert [(r.change, json.loads(r.params), r.reason) for r in rows] == [
            (c, p, reason) for c, _t, p, reason in OLD_CONTACT_EVENTS
        ]


@pytest.mark.parametrize("table", ["code_change", "case_event", "contact_event"])
def test_0007_leaves_the_tables_append_only(empty_engine: Engine, table: str) -> None:
    old_database(empty_engine)
    with empty_engine.begin() as connection:
        migrate_to(connection, "head")
    for statement in (f"UPDATE {table} SET actor_user_id = NULL", f"DELETE FROM {table}"):  # noqa: S608 (our names)
        with pytest.raises(DBAPIError, match="append-only"), empty_engine.begin() as connection:
            connection.execute(text(statement))


def test_0007_downgrades_to_the_old_texts(empty_engine: Engine) -> None:
    old_database(empty_engine)
    with empty_engine.begin() as connection:
        migrate_to(connection, "0007")
    with empty_engine.begin() as connection:
        command.downgrade(alembic_config(connection), "0006")
        causes = connection.execute(text("SELECT cause FROM code_change ORDER BY id")).scalars().all()
        values = connection.execute(text("SELECT value FROM case_event ORDER BY id")).scalars().all()
        texts = connection.execute(text("SELECT text FROM contact_event ORDER BY id")).scalars().all()
    assert causes == list(OLD_CAUSES)
    assert values == [v for _c, v, _p in OLD_CASE_EVENTS]
    assert texts == [t for _c, t, _p, _r in OLD_CONTACT_EVENTS]
    with pytest.raises(DBAPIError, match="append-only"), empty_engine.begin() as connection:
        connection.execute(text("DELETE FROM code_change"))
