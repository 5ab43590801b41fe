"""Which test results stand, as SQL: the one place that says it.

A wrong result is not edited away; a later row withdraws it (testing/models.py). A result stands when it is not a
withdrawal row itself and no row withdraws it. The health codes read the standing results (their facts) and, at the
door, when each person's latest standing negative test was sampled, for one person or many at once.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import Any, cast

from sqlalchemy import ColumnElement, Select, Table, bindparam, exists, func, select
from sqlalchemy.orm import Session

from fangkong.core.db import UTCDateTime
from fangkong.core.importing import chunks
from fangkong.testing.models import TestOutcome, TestResult

_QUERY_CHUNK = 1000
_TESTS = cast(Table, TestResult.__table__)
_LATER = _TESTS.alias("later")


def standing() -> tuple[ColumnElement[bool], ...]:
    """A test_result row that stands: neither a withdrawal row nor a result that a later row withdraws (a withdrawal
    row copies its result's person, so the (person, …) index serves the lookup)."""
    withdrawn = exists().where(_LATER.c.person_id == _TESTS.c.person_id, _LATER.c.withdraws_id == _TESTS.c.id)
    return _TESTS.c.withdraws_id.is_(None), ~withdrawn


def standing_results(person_id: int) -> Select[TestResult]:
    """The person's standing results, oldest sample first."""
    return (
        select(TestResult)
        .where(TestResult.person_id == person_id, *standing())
        .order_by(TestResult.sampled_at, TestResult.id)
    )


def _standing_negative(until: ColumnElement[dt.datetime]) -> tuple[ColumnElement[bool], ...]:
    return _TESTS.c.result == TestOutcome.negative, _TESTS.c.sampled_at <= until, *standing()


# Built once: the statement's compiled form and cache key are then reused on every call.
_LATEST_NEGATIVES = (
    select(_TESTS.c.person_id, func.max(_TESTS.c.sampled_at))
    .where(_TESTS.c.person_id.in_(bindparam("people", expanding=True)),
           *_standing_negative(bindparam("until", type_=UTCDateTime())))
    .group_by(_TESTS.c.person_id)
)  # fmt: skip


def latest_negative_column(person_id: ColumnElement[int], until: ColumnElement[dt.datetime]) -> ColumnElement[Any]:
    """When the person's latest standing negative test was sampled, at or before `until`, or NULL: a column of
    another query, correlated on `person_id` (the (person, sampled_at) index serves it)."""
    return (
        select(func.max(_TESTS.c.sampled_at))
        .where(_TESTS.c.person_id == person_id, *_standing_negative(until))
        .scalar_subquery()
    )


def latest_negatives(db: Session, person_ids: Iterable[int], *, until: dt.datetime) -> dict[int, dt.datetime]:
    """person id → when their latest standing negative test was sampled, at or before `until`; people with none
    are left out. One grouped query on the (person, sampled_at) index for many people."""
    found: dict[int, dt.datetime] = {}
    connection = db.connection()
    for batch in chunks(sorted(set(person_ids)), _QUERY_CHUNK):
        rows = connection.execute(_LATEST_NEGATIVES, {"people": batch, "until": until})
        found |= {person_id: at for person_id, at in rows if at is not None}
    return found
