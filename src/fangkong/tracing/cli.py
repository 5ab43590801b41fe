"""`fangkong trace`: who was co-present with a person, from check-ins (read-only)."""

from __future__ import annotations

import datetime as dt
import json
from typing import Annotated

import typer
from rich.table import Table

from fangkong.auth.cli import acting
from fangkong.core.cli import AsJson, AsUser, domain_errors, instant, out, runtime
from fangkong.tracing.engine import MAX_MIN_OVERLAP_MINUTES


def trace(
    person: Annotated[str, typer.Option("--person", help="The index person's ref.")],
    start: Annotated[str, typer.Option("--from", help="Start of the window, ISO 8601 with offset (included).")],
    end: Annotated[str, typer.Option("--to", help="End of the window, ISO 8601 with offset (excluded).")],
    min_overlap: Annotated[
        float,
        typer.Option(
            "--min-overlap", min=0, max=MAX_MIN_OVERLAP_MINUTES, help="Minutes together, summed over venues, to count."
        ),
    ] = 10,
    as_json: AsJson = False,
    as_user: AsUser = None,
) -> None:
    """Co-present contacts of a person over [--from, --to): everyone whose presence at the same venues overlapped
    theirs for at least --min-overlap minutes, longest first. Read-only (the read is audited)."""
    from fangkong.tracing.service import trace as run_trace

    window = instant(start, "--from"), instant(end, "--to")
    rt = runtime()
    with domain_errors(), rt.database.unit_of_work() as db:
        contacts = run_trace(db, actor=acting(db, as_user), person_ref=person, start=window[0], end=window[1],
                             min_overlap=dt.timedelta(minutes=min_overlap))  # fmt: skip
    if as_json:
        rows = [{"person_ref": c.person_ref, "overlap_seconds": int(c.overlap.total_seconds()),
                 "venues": c.venue_refs} for c in contacts]  # fmt: skip
        typer.echo(json.dumps(rows, ensure_ascii=False))
        return
    table = Table("person", "minutes", "venues", "evidence")
    for c in contacts:
        evidence = "; ".join(
            f"{e.venue_ref} {e.start.astimezone(window[0].tzinfo):%m-%d %H:%M}–"
            f"{e.end.astimezone(window[0].tzinfo):%H:%M}"
            for e in c.evidence
        )
        table.add_row(c.person_ref, f"{c.overlap.total_seconds() / 60:.0f}", ", ".join(c.venue_refs), evidence)
    out.print(table)
    out.print(f"{len(contacts)} co-present contacts")


def register(app: typer.Typer, imports: typer.Typer) -> None:
    app.command("trace")(trace)
