"""The investigators' appeal queue (流调复核): the open appeals of their regions with the appellant's statement and
current reasons, and a form to decide each: uphold the color with a reason, or correct the one wrong fact (withdraw
a test result, dismiss a contact record), which recomputes the code. Every change goes through
healthcode.appeals; reading an appellant's code goes through healthcode.service.show, which audits it."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy.orm import Session

from fangkong.auth.actor import Actor
from fangkong.auth.models import Role
from fangkong.auth.page_deps import FormActor, PageActor
from fangkong.cases.labels import LABELS as CASE_LABELS
from fangkong.cases.models import Contact
from fangkong.core.deps import DbSession
from fangkong.core.errors import Conflict, Forbidden, Invalid, NotFound
from fangkong.core.inputs import RowId
from fangkong.healthcode import appeals, page_reads, service
from fangkong.healthcode.models import Appeal
from fangkong.healthcode.pages import page_context, reason_texts
from fangkong.people.models import Person
from fangkong.policy.editions import Color
from fangkong.testing.models import TestOutcome, TestResult
from fangkong.web.forms import form_errors, parse_choice
from fangkong.web.i18n import request_language, translator
from fangkong.web.templating import render

router = APIRouter(include_in_schema=False)
RECENT = 10  # decided appeals shown below the queue, so the investigator sees what they just did

RESULT_LABELS = {TestOutcome.negative: "Negative", TestOutcome.positive: "Positive"}


@dataclass(frozen=True, slots=True)
class OpenAppeal:
    """One open appeal with what the investigator decides on."""

    appeal: Appeal
    person: Person
    color: Color
    reasons: list[str]
    results: list[TestResult]
    contacts: list[Contact]


def _investigator(actor: Actor) -> Actor:
    if not actor.has(Role.investigator):
        raise Forbidden("only investigators review appeals")
    return actor


def _queue_page(
    request: Request,
    db: Session,
    actor: Actor,
    *,
    errors: Mapping[int, str] | None = None,
    typed: Mapping[int, Mapping[str, str]] | None = None,
    status: int = 200,
) -> Response:
    _investigator(actor)
    _ = translator(request_language(request))
    open_rows = appeals.appeals_to_review(db, actor=actor)
    decided = page_reads.recently_decided(db, actor=actor, limit=RECENT)
    people = page_reads.people_by_id(db, person_ids=[a.person_id for a in [*open_rows, *decided]])
    queue: list[OpenAppeal] = []
    for appeal in open_rows:
        person = people[appeal.person_id]
        view = service.show(db, actor=actor, person_ref=person.ref)  # audited: an official reads a code
        results = list(page_reads.standing_results(db, person_id=person.id))
        contacts = list(page_reads.dismissable_contacts(db, actor=actor, person_id=person.id))
        queue.append(OpenAppeal(appeal, person, view.color, reason_texts(request, view.reasons), results, contacts))
    context = {
        **page_context(request, actor),
        "queue": queue,
        "decided": [(a, people[a.person_id]) for a in decided],
        "result_label": lambda outcome: _(RESULT_LABELS[outcome]),
        "tier_label": lambda tier: _(CASE_LABELS[type(tier)][tier.value]) if tier is not None else "—",
        "errors": errors or {},
        # An error about an appeal no longer in the queue (decided meanwhile, or never ours) goes on top.
        "stray_errors": [m for i, m in (errors or {}).items() if i not in {a.id for a in open_rows}],
        "typed": typed or {},
        "just_decided": request.query_params.get("decided", ""),
    }
    return render(request, "healthcode/appeals.html", context, status_code=status)


@router.get("/appeals")
def appeal_queue(request: Request, db: DbSession, actor: PageActor) -> Response:
    return _queue_page(request, db, actor)


def _correction(fact: str) -> appeals.Correction:
    """The wrong fact the form names: "result:12" (withdraw) or "contact:7" (dismiss)."""
    kind, _sep, number = fact.strip().partition(":")
    if not number.isdigit() or kind not in ("result", "contact"):
        raise Invalid("choose the wrong fact: one of the person's test results or contact records")
    if kind == "result":
        return appeals.Correction(withdraw_result_id=int(number))
    return appeals.Correction(dismiss_contact_id=int(number))


@router.post("/appeals/{appeal_id}/decision")
def decide(
    request: Request,
    appeal_id: RowId,
    db: DbSession,
    actor: FormActor,
    outcome: Annotated[str, Form(max_length=20)] = "",
    fact: Annotated[str, Form(max_length=40)] = "",
    reason: Annotated[str, Form(max_length=4000)] = "",
) -> Response:
    _investigator(actor)
    with form_errors(request, db, catch=(Invalid, Conflict, NotFound)) as failed:
        chosen = parse_choice(appeals.AppealDecision, outcome)
        if chosen is None:
            raise Invalid("choose a decision: uphold the color, or correct a wrong fact")
        correction = _correction(fact) if chosen is appeals.AppealDecision.corrected else None
        appeals.decide_appeal(db, actor=actor, appeal_id=appeal_id, outcome=chosen, reason=reason,
                              correction=correction)  # fmt: skip
    if failed:
        typed = {"outcome": outcome, "fact": fact, "reason": reason}
        return _queue_page(request, db, actor, errors={appeal_id: failed.message}, typed={appeal_id: typed},
                           status=failed.status)  # fmt: skip
    return RedirectResponse(f"/appeals?decided={appeal_id}#decided-title", status_code=303)
