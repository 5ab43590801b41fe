"""Health-code API: the public key, one's own live code, officials' view of a person's code and its history,
verification at the door, review decisions."""

from __future__ import annotations

import base64
import datetime as dt
from typing import Annotated, Literal

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from pydantic import AwareDatetime, BaseModel, Field

from fangkong.auth.deps import CurrentActor
from fangkong.auth.models import Role
from fangkong.core import causes
from fangkong.core.config import city_zone
from fangkong.core.deps import DbSession, Keys
from fangkong.core.errors import Forbidden
from fangkong.core.inputs import BodyId, Input, InYears, RowId
from fangkong.healthcode import appeals, door, service
from fangkong.healthcode.engine import Reason
from fangkong.healthcode.models import Appeal, AppealStatus
from fangkong.healthcode.reasons import render
from fangkong.people.models import Person
from fangkong.policy.editions import Color, RiskLevel
from fangkong.web.i18n import request_language, translator

router = APIRouter(prefix="/healthcode", tags=["health codes"])


class PublicKey(BaseModel):
    algorithm: Literal["Ed25519"] = "Ed25519"
    key_id: str = Field(description="hex; the token's bytes 1–4")
    public_key: str = Field(description="raw 32-byte key, base64url without padding")
    token_layout: str = "version(1) key_id(4) handle(16) issued_at(4, unix s) lifetime(2, s) color(1) signature(64)"  # noqa: S105
    signed_message: str = "b'fangkong-healthcode' + the token's first 28 bytes"


class ReasonOut(BaseModel):
    code: str
    text: str


class CodeOut(BaseModel):
    person_ref: str
    color: Color
    reasons: list[ReasonOut]
    valid_until: dt.datetime | None
    policy: str


class LiveCode(CodeOut):
    token: str
    issued_at: dt.datetime
    expires_at: dt.datetime


class ChangeOut(BaseModel):
    at: dt.datetime
    from_color: Color | None
    to_color: Color
    reasons: list[ReasonOut]
    policy: str
    actor: str
    cause: str = Field(description="why, in the request's language")
    cause_kind: str = Field(description='why, as a kind such as "testing.result_entered"')
    cause_params: dict[str, str | int | float | None] = Field(description='the kind\'s parameters, e.g. {"result": 12}')


class VerifyIn(Input):
    token: str = Field(max_length=400, description="the scanned QR text")
    venue_ref: str
    temperature: float | None = Field(None, description="°C; 37.3 or more is recorded as fever")
    person_ref: str | None = Field(None, description="the holder, when an ID card was read too")


class VerifyOut(BaseModel):
    person_ref: str
    masked_name: str
    color: Color
    entry: door.Entry
    why: str
    negative_test_hours: int | None
    checkin_id: int | None
    fever: bool


class ReviewIn(Input):
    multiline = frozenset({"reason"})

    person_ref: str
    color: Color
    reason: str = Field(max_length=2000)
    until: AwareDatetime
    case_id: BodyId | None = None
    contact_id: BodyId | None = None


def _reasons(request: Request, reasons: list[Reason]) -> list[ReasonOut]:
    lang: Literal["zh", "en"] = "zh" if request_language(request).startswith("zh") else "en"
    return [ReasonOut(code=r.code, text=render(r, lang, city_zone())) for r in reasons]


@router.get("/public-key", response_model=PublicKey)
def public_key(keys: Keys) -> PublicKey:
    """What an offline scanner needs to verify codes: no secret, safe to publish."""
    kid, raw = door.public_key(keys)
    return PublicKey(key_id=kid.hex(), public_key=base64.urlsafe_b64encode(raw).decode().rstrip("="))


@router.get("/me", response_model=LiveCode)
def my_code(request: Request, db: DbSession, actor: CurrentActor, keys: Keys) -> JSONResponse:
    """One's own code with a fresh signed token (valid 3 minutes): the resident's code page polls this."""
    if actor.person_id is None:
        raise Forbidden("only a resident's own account has a health code")
    issued = door.issue_for(db, keys=keys, person_id=actor.person_id)
    code = issued.code
    live = LiveCode(
        person_ref=db.get_one(Person, actor.person_id).ref,
        color=code.color,
        reasons=_reasons(request, service.parse_reasons(code.reasons)),
        valid_until=code.valid_until,
        policy=code.policy,
        token=issued.token,
        issued_at=issued.issued_at,
        expires_at=issued.expires_at,
    )
    # Serialized here, in this thread, not by FastAPI: it checks a synchronous route's answer against
    # response_model in one more turn of the thread pool, after the view and before the commit. A first read
    # holds the new code's row until that commit, and the other first reads of the same code wait for it, each
    # in a thread; 64 of them at once left no thread for that turn, and the server stalled until the connection
    # pool's timeout (issue 13). The commit itself runs outside the pool's limit (FastAPI's own exit limiter).
    return JSONResponse(live.model_dump(mode="json"))


@router.get("/people/{ref}", response_model=CodeOut)
def person_code(
    request: Request, db: DbSession, actor: CurrentActor, ref: str, at: Annotated[AwareDatetime | None, InYears] = None
) -> CodeOut:
    """A person's code and reasons, for officials of their region (audited) or themself; `at` evaluates as of then."""
    view = service.show(db, actor=actor, person_ref=ref, at=at)
    return CodeOut(person_ref=view.person_ref, color=view.color, reasons=_reasons(request, view.reasons),
                   valid_until=view.valid_until, policy=view.policy)  # fmt: skip


@router.get("/people/{ref}/history", response_model=list[ChangeOut])
def person_history(request: Request, db: DbSession, actor: CurrentActor, ref: str) -> list[ChangeOut]:
    changes = service.person_history(db, actor=actor, person_ref=ref)
    _ = translator(request_language(request))
    return [
        ChangeOut(
            at=c.at,
            from_color=c.from_color,
            to_color=c.to_color,
            reasons=_reasons(request, service.parse_reasons(c.reasons)),
            policy=c.policy,
            actor=c.actor,
            cause=causes.render(c.cause_kind, params, _),
            cause_kind=c.cause_kind,
            cause_params=params,
        )
        for c in changes
        for params in [causes.load_params(c.cause_params)]
    ]


@router.post("/verify", response_model=VerifyOut)
def verify(request: Request, db: DbSession, actor: CurrentActor, keys: Keys, body: VerifyIn) -> VerifyOut:
    """Verify a scanned code at one of the operator's venues: signature, expiry, current color, latest negative
    test, the venue's entry rule; records the check-in when allowed and a fever when measured.

    A JSON body with a bearer token, the devices' request, is answered by healthcode/door/fast_route.py,
    group-committed with the other door devices' verifications; this view answers every other request (a
    signed-in session, a body that needs FastAPI's validation messages), the same way."""
    result = door.verify_at_door(db, actor=actor, keys=keys, code_token=body.token, venue_ref=body.venue_ref,
                                 temperature=body.temperature, person_ref=body.person_ref)  # fmt: skip
    return verify_out(request_language(request), result)


def verify_out(lang: str, result: door.Verification) -> VerifyOut:
    hours = int(result.negative_test_age.total_seconds() // 3600) if result.negative_test_age is not None else None
    return VerifyOut(person_ref=result.person_ref, masked_name=result.masked_name, color=result.color,
                     entry=result.entry, why=translator(lang)(result.why), negative_test_hours=hours,
                     checkin_id=result.checkin_id, fever=result.fever)  # fmt: skip


@router.post("/reviews", status_code=201, response_model=CodeOut)
def review(request: Request, db: DbSession, actor: CurrentActor, body: ReviewIn) -> CodeOut:
    """A review decision on a person's code, resting on their case or confirmed contact record, with a reason."""
    service.review(db, actor=actor, person_ref=body.person_ref, color=body.color, reason=body.reason,
                   until=body.until, case_id=body.case_id, contact_id=body.contact_id)  # fmt: skip
    view = service.show(db, actor=actor, person_ref=body.person_ref)
    return CodeOut(person_ref=view.person_ref, color=view.color, reasons=_reasons(request, view.reasons),
                   valid_until=view.valid_until, policy=view.policy)  # fmt: skip


class AppealIn(Input):
    multiline = frozenset({"statement"})

    statement: str = Field(max_length=4000)


class AppealOut(BaseModel):
    id: int
    color_when_filed: Color
    statement: str
    status: AppealStatus
    filed_at: dt.datetime
    decided_at: dt.datetime | None
    decided_by: str | None
    decision: str

    @classmethod
    def of(cls, a: Appeal) -> AppealOut:
        return cls(id=a.id, color_when_filed=a.color_when_filed, statement=a.statement, status=a.status,
                   filed_at=a.filed_at, decided_at=a.decided_at, decided_by=a.decided_by,
                   decision=a.decision)  # fmt: skip


class AppealDecisionIn(Input):
    multiline = frozenset({"reason"})

    outcome: appeals.AppealDecision
    reason: str = Field(max_length=4000)
    withdraw_result_id: BodyId | None = Field(None, description="corrected: the wrong test result to withdraw")
    dismiss_contact_id: BodyId | None = Field(None, description="corrected: the wrong contact record to dismiss")


@router.post("/appeals", status_code=201, response_model=AppealOut)
def file_appeal(db: DbSession, actor: CurrentActor, body: AppealIn) -> AppealOut:
    """A resident asks for their code to be reviewed (流调复核)."""
    return AppealOut.of(appeals.file_appeal(db, actor=actor, statement=body.statement))


@router.get("/appeals", response_model=list[AppealOut])
def list_appeals(db: DbSession, actor: CurrentActor, status: AppealStatus | None = None) -> list[AppealOut]:
    """A resident's own appeals; for investigators, the appeals of their regions (open ones unless asked)."""
    if actor.has(Role.investigator):
        rows = appeals.appeals_to_review(db, actor=actor, status=status or AppealStatus.open)
    else:
        rows = appeals.my_appeals(db, actor=actor)
    return [AppealOut.of(a) for a in rows]


@router.post("/appeals/{appeal_id}/decision", response_model=AppealOut)
def decide_appeal(db: DbSession, actor: CurrentActor, appeal_id: RowId, body: AppealDecisionIn) -> AppealOut:
    correction = appeals.Correction(body.withdraw_result_id, body.dismiss_contact_id)
    return AppealOut.of(appeals.decide_appeal(db, actor=actor, appeal_id=appeal_id, outcome=body.outcome,
                                              reason=body.reason, correction=correction))  # fmt: skip


class StayIn(Input):
    person_ref: str
    area: str = Field(max_length=200)
    level: RiskLevel
    start: AwareDatetime
    end: AwareDatetime | None = Field(None, description="left; empty while still there (residence)")


class StayOut(BaseModel):
    id: int
    person_ref: str
    area: str
    level: RiskLevel
    start: dt.datetime
    end: dt.datetime | None


@router.post("/stays", status_code=201, response_model=StayOut)
def declare_stay(db: DbSession, actor: CurrentActor, body: StayIn) -> StayOut:
    """A stay in a high- or medium-risk area, declared by the resident or recorded by a grid worker."""
    stay = service.declare_stay(db, actor=actor, person_ref=body.person_ref, area=body.area, level=body.level,
                                start=body.start, end=body.end)  # fmt: skip
    return StayOut(id=stay.id, person_ref=body.person_ref, area=stay.area, level=stay.level, start=stay.start,
                   end=stay.end)  # fmt: skip
