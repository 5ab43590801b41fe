"""Test results (核酸检测结果): one row per person and sample. Single-person tests are entered here; the pooled
testing module (10合1) will write the individual results it resolves into the same table.

Append-only: a result is a fact from a lab. A wrong entry is not edited away; it is withdrawn by a later row
(`withdraws_id`), so the health code's history can still say what it was computed from.
"""

from __future__ import annotations

import datetime as dt
import enum

from sqlalchemy import Float, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from fangkong.core import causes, clock
from fangkong.core.db import Base, UTCDateTime, enum_type


class TestOutcome(enum.StrEnum):
    __test__ = False  # not a pytest class

    negative = "negative"  # 阴性
    positive = "positive"  # 阳性


class TestingCause(enum.StrEnum):
    """What this domain announces through core.facts (stored by value in change records, worded by core.causes)."""

    result_entered = "testing.result_entered"  # params: result
    result_withdrawn = "testing.result_withdrawn"  # params: result


causes.describe({
    TestingCause.result_entered: "test result #%(result)s entered",
    TestingCause.result_withdrawn: "test result #%(result)s withdrawn",
})  # fmt: skip


class TestResult(Base):
    __test__ = False
    __tablename__ = "test_result"
    __table_args__ = (Index("ix_test_result_person_id_sampled_at", "person_id", "sampled_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("person.id", ondelete="RESTRICT"))
    sampled_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    result: Mapped[TestOutcome] = mapped_column(enum_type(TestOutcome, 16))
    # Cycle thresholds of the N and ORF1ab genes; Ct ≥ 35 twice 24 h apart releases a case (9th edition).
    ct_n: Mapped[float | None] = mapped_column(Float)
    ct_orf: Mapped[float | None] = mapped_column(Float)
    lab: Mapped[str] = mapped_column(String(200), default="")
    entered_by_user_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"))
    entered_by: Mapped[str] = mapped_column(String(64))
    # A later row that withdraws an earlier wrong one (the earlier row stays, for the record).
    withdraws_id: Mapped[int | None] = mapped_column(ForeignKey("test_result.id", ondelete="RESTRICT"))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=clock.now)
