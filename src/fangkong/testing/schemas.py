from __future__ import annotations

import datetime as dt

from pydantic import AwareDatetime, BaseModel, Field

from fangkong.core.inputs import Input
from fangkong.testing.models import TestOutcome, TestResult


class TestResultCreate(Input):
    __test__ = False

    person_ref: str
    sampled_at: AwareDatetime
    result: TestOutcome
    ct_n: float | None = Field(None, gt=0, lt=50, description="Ct value of the N gene")
    ct_orf: float | None = Field(None, gt=0, lt=50, description="Ct value of the ORF1ab gene")
    lab: str = Field("", max_length=200)


class TestResultWithdraw(Input):
    multiline = frozenset({"reason"})

    __test__ = False

    reason: str = Field(min_length=1, max_length=1000)


class TestResultRead(BaseModel):
    __test__ = False

    id: int
    person_ref: str
    sampled_at: dt.datetime
    result: TestOutcome
    ct_n: float | None
    ct_orf: float | None
    lab: str
    entered_by: str
    withdraws_id: int | None

    @classmethod
    def of(cls, row: TestResult, person_ref: str) -> TestResultRead:
        return cls(id=row.id, person_ref=person_ref, sampled_at=row.sampled_at, result=row.result, ct_n=row.ct_n,
                   ct_orf=row.ct_orf, lab=row.lab, entered_by=row.entered_by,
                   withdraws_id=row.withdraws_id)  # fmt: skip
