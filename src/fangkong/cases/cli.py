"""`fangkong case confirm|add-contact`, `fangkong contacts` and `fangkong assist list|decide`: cases, their contacts
and cross-region assistance requests (协查) from the command line, through the same services as the API."""

from __future__ import annotations

import datetime as dt
import json
from contextlib import nullcontext
from typing import Annotated

import typer
from rich.table import Table

from fangkong.auth.cli import acting
from fangkong.core import clock
from fangkong.core.cli import AsJson, AsUser, At, domain_errors, fail, instant, out, runtime

case_app = typer.Typer(help="Cases (病例): confirm one, which traces its contacts.", no_args_is_help=True)


@case_app.command("confirm")
def confirm(
    person: Annotated[str, typer.Option("--person", help="The person's ref.")],
    onset: Annotated[str | None, typer.Option("--onset", help="Symptom onset date, YYYY-MM-DD.")] = None,
    sampled: Annotated[
        str | None, typer.Option("--sampled", help="First positive sampling time, ISO 8601 with offset.")
    ] = None,
    isolated: Annotated[str | None, typer.Option("--isolated", help="When the case was isolated (ISO 8601).")] = None,
    at: At = None,
    asymptomatic: Annotated[
        bool, typer.Option("--asymptomatic", help="An asymptomatic infection (无症状感染者) rather than confirmed.")
    ] = False,
    reason: Annotated[str, typer.Option("--reason", help="Kept with the case's history.")] = "confirmed",
    as_user: AsUser = None,
) -> None:
    """Confirm a case for a person (a new case, or their suspected one), trace it over its infectious window, and
    print the case id. Candidates: people co-present at venues and the household."""
    from fangkong.cases.models import Classification
    from fangkong.cases.service import CaseChangeRequest, report_case

    if (onset is None) == (sampled is None):
        raise fail("give exactly one of --onset (symptom onset date) and --sampled (first positive sampling time)")
    onset_date = None
    if onset is not None:
        try:
            onset_date = dt.date.fromisoformat(onset)
        except ValueError:
            raise fail(f"--onset {onset!r} is not a date like 2022-03-18") from None
    change = CaseChangeRequest(
        classification=Classification.asymptomatic if asymptomatic else Classification.confirmed,
        onset_date=onset_date,
        first_positive_at=instant(sampled, "--sampled"),
        isolated_at=instant(isolated, "--isolated"),
    )
    as_of = instant(at, "--at")
    rt = runtime()
    with domain_errors(), clock.frozen_at(as_of) if as_of else nullcontext(), rt.database.unit_of_work() as db:
        result = report_case(db, actor=acting(db, as_user), person_ref=person, change=change, reason=reason)
        case_id, trace = result.case.id, result.trace
    typer.echo(case_id)
    if trace is not None:
        typer.echo(f"traced [{trace.window_start.isoformat()}, {trace.window_end.isoformat()}) under {trace.policy}: "
            f"{trace.proposed} new candidates, {trace.refreshed} refreshed", err=True)  # fmt: skip


def contacts(
    case: Annotated[int, typer.Option("--case", help="The case id.")],
    as_json: AsJson = False,
    as_user: AsUser = None,
) -> None:
    """A case's candidates and contacts with tier, status, follow-up and evidence (the read is audited)."""
    from fangkong.cases.schemas import ContactRead
    from fangkong.cases.service import list_contacts

    rt = runtime()
    with domain_errors(), rt.database.unit_of_work() as db:
        rows = [ContactRead.of(r) for r in list_contacts(db, actor=acting(db, as_user), case_id=case)]
    if as_json:
        typer.echo(json.dumps([r.model_dump(mode="json") for r in rows], ensure_ascii=False))
        return
    table = Table("id", "person", "status", "tier", "follow-up", "minutes", "evidence")
    for r in rows:
        evidence = "; ".join(e.venue_ref or e.kind.value for e in r.evidence)
        table.add_row(str(r.id), f"{r.person_ref} {r.person_name}", r.status.value, (r.tier or r.proposed_tier).value,
                      r.follow_up.value if r.follow_up else "", str(r.overlap_seconds // 60), evidence)  # fmt: skip
    out.print(table)
    out.print(f"{len(rows)} candidates and contacts")


@case_app.command("add-contact")
def add_contact(
    case: Annotated[int, typer.Option("--case", help="The case id.")],
    note: Annotated[str, typer.Option("--note", help="What the interview found.")],
    person: Annotated[str, typer.Option("--person", help="The person's ref.")] = "",
    id_number: Annotated[str, typer.Option("--id-number", help="Instead of --person: their ID number.")] = "",
    tier: Annotated[str, typer.Option("--tier", help="close, secondary or companion.")] = "close",
    start: Annotated[str | None, typer.Option("--from", help="Exposure start (ISO 8601 with offset).")] = None,
    end: Annotated[str | None, typer.Option("--until", help="Exposure end (ISO 8601 with offset).")] = None,
    venue: Annotated[str, typer.Option("--venue", help="Where, in words.")] = "",
    as_user: AsUser = None,
) -> None:
    """Name a contact of a case from an interview. A person of your regions becomes a confirmed contact (its id is
    printed); anyone else is an assistance request to their region (its id and "pending" are printed, the same
    whether the ref or number matches anyone)."""
    from fangkong.cases.assist import Named, name_contact
    from fangkong.cases.contacts import Interview
    from fangkong.cases.models import AssistRequest, ContactTier

    try:
        chosen = ContactTier(tier)
    except ValueError:
        raise fail(f"--tier {tier!r} is not one of close, secondary, companion") from None
    interview = Interview(note, instant(start, "--from"), instant(end, "--until"), venue)
    rt = runtime()
    with domain_errors(), rt.database.unit_of_work() as db:
        made = name_contact(db, actor=acting(db, as_user), keys=rt.keys, case_id=case,
                            named=Named(person, id_number), tier=chosen, interview=interview)  # fmt: skip
        line = f"assistance request {made.id}: pending" if isinstance(made, AssistRequest) else f"contact {made.id}"
    typer.echo(line)


assist_app = typer.Typer(
    help="Cross-region assistance requests (协查): people of your regions named by other regions' investigators.",
    no_args_is_help=True,
)


@assist_app.command("list")
def assist_list(
    sent: Annotated[
        bool, typer.Option("--sent", help="The requests of your regions' cases, and their answers.")
    ] = False,
    status: Annotated[str, typer.Option("--status", help="pending (the inbox's default), confirmed, dismissed.")] = "",
    as_json: AsJson = False,
    as_user: AsUser = None,
) -> None:
    """The requests addressed to your regions, oldest first with how long each has waited (each shown is
    audited); or, with --sent, those your regions filed, with the decision only."""
    from fangkong.cases import assist
    from fangkong.cases.models import AssistStatus
    from fangkong.cases.schemas import AssistIncoming, AssistSent

    try:
        chosen = AssistStatus(status) if status else None
    except ValueError:
        raise fail(f"--status {status!r} is not one of pending, confirmed, dismissed") from None
    rt = runtime()
    with domain_errors(), rt.database.unit_of_work() as db:
        actor = acting(db, as_user)
        if sent:
            outgoing = [AssistSent.of(r) for r in assist.sent(db, actor=actor, status=chosen)]
        else:
            incoming = [
                AssistIncoming.of(r) for r in assist.inbox(db, actor=actor, status=chosen or AssistStatus.pending)
            ]
    rows: list[AssistSent] | list[AssistIncoming] = outgoing if sent else incoming
    if as_json:
        typer.echo(json.dumps([r.model_dump(mode="json") for r in rows], ensure_ascii=False))
        return
    if sent:
        table = Table("id", "case", "named", "tier", "filed", "status", "answered by")
        for o in outgoing:
            table.add_row(str(o.id), str(o.case_id), o.person_ref or o.id_number_masked or "", o.tier.value,
                          o.filed_at.isoformat(), (o.decided_tier or o.status).value,
                          o.decided_by_region_name or "")  # fmt: skip
    else:
        table = Table("id", "waited", "from", "case", "person", "tier", "note")
        for i in incoming:
            who = f"{i.person_ref} {i.person_name}" if i.matched else "(matches nobody)"
            table.add_row(str(i.id), f"{i.waited_seconds // 3600} h {i.waited_seconds % 3600 // 60} min",
                          i.from_region_name, str(i.case_id), who, i.tier.value, i.note)  # fmt: skip
    out.print(table)
    out.print(f"{len(rows)} requests")


@assist_app.command("decide")
def assist_decide(
    request: Annotated[int, typer.Argument(help="The request id.")],
    decision: Annotated[str, typer.Option("--decision", help="close, secondary, companion or dismiss.")],
    reason: Annotated[str, typer.Option("--reason", help="Required to dismiss; kept with the decision.")] = "",
    as_user: AsUser = None,
) -> None:
    """Answer a request addressed to your regions: confirm the person as a contact of the requester's case (their
    code changes now), or dismiss it with a reason."""
    from fangkong.cases import assist
    from fangkong.cases.contacts import Decision

    try:
        chosen = Decision(decision)
    except ValueError:
        raise fail(f"--decision {decision!r} is not one of close, secondary, companion, dismiss") from None
    rt = runtime()
    with domain_errors(), rt.database.unit_of_work() as db:
        answered = assist.decide(db, actor=acting(db, as_user), request_id=request, decision=chosen, reason=reason)
        line = f"assistance request {answered.id}: {(answered.decided_tier or answered.status).value}"
    typer.echo(line)


def register(app: typer.Typer, imports: typer.Typer) -> None:
    app.add_typer(case_app, name="case")
    app.command("contacts")(contacts)
    app.add_typer(assist_app, name="assist")
