"""Test results API: `POST /api/tests`, `POST /api/tests/{id}/withdraw`."""

from __future__ import annotations

from fastapi import APIRouter

from fangkong.auth.deps import CurrentActor
from fangkong.core.deps import DbSession
from fangkong.core.inputs import RowId
from fangkong.people.models import Person
from fangkong.testing import service
from fangkong.testing.schemas import TestResultCreate, TestResultRead, TestResultWithdraw

router = APIRouter(tags=["tests"])


@router.post("/tests", response_model=TestResultRead, status_code=201)
def add_result(db: DbSession, actor: CurrentActor, body: TestResultCreate) -> TestResultRead:
    """Enter one person's test result (labs, samplers, investigators); the person's health code follows."""
    row = service.add_result(db, actor=actor, person_ref=body.person_ref, sampled_at=body.sampled_at,
                             result=body.result, ct_n=body.ct_n, ct_orf=body.ct_orf, lab=body.lab)  # fmt: skip
    return TestResultRead.of(row, body.person_ref)


@router.post("/tests/{result_id}/withdraw", response_model=TestResultRead, status_code=201)
def withdraw_result(db: DbSession, actor: CurrentActor, result_id: RowId, body: TestResultWithdraw) -> TestResultRead:
    """Withdraw a wrong result with a reason; the wrong one stays on record."""
    row = service.withdraw_result(db, actor=actor, result_id=result_id, reason=body.reason)
    return TestResultRead.of(row, db.get_one(Person, row.person_id).ref)
