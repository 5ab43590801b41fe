"""`fangkong case confirm` and `fangkong contacts`: cases and their contacts from the command line."""

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


def register(app: typer.Typer, imports: typer.Typer) -> None:
    app.add_typer(case_app, name="case")
    app.command("contacts")(contacts)
