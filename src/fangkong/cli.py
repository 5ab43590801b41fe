"""The `fangkong` command. Each command is one unit of work against the configured database
(FANGKONG_DATABASE_URL, default sqlite:///fangkong.db); a new database gets its schema first."""

from __future__ import annotations

import csv
import json
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table

from fangkong import cli_access, cli_cases, cli_healthcode, cli_testing, cli_tracing, cli_venues
from fangkong.cli_common import (
    AsUser,
    acting,
    domain_errors,
    err,
    file_progress,
    import_app,
    out,
    print_report,
    run_csv_import,
    runtime,
)
from fangkong.core import migrate
from fangkong.core.config import get_settings
from fangkong.core.db import make_engine
from fangkong.people.schemas import PersonRead

if TYPE_CHECKING:
    pass

app = typer.Typer(
    name="fangkong",
    help=(
        "fangkong (防控): a city's epidemic prevention and control platform.\n\n"
        "Works on the database named by FANGKONG_DATABASE_URL (default sqlite:///fangkong.db); "
        "a new database gets its schema on first use."
    ),
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
db_app = typer.Typer(help="Database schema.", no_args_is_help=True)
person_app = typer.Typer(help="The resident registry.", no_args_is_help=True)
app.add_typer(db_app, name="db")
app.add_typer(import_app, name="import")
app.add_typer(person_app, name="person")


def use_reader_process(path: Path) -> bool:
    """A second process reads and encrypts large files while this one writes; for a small file, starting it
    would cost more than it saves (about 30,000 people break even)."""
    return path.exists() and path.stat().st_size >= 4_000_000 and (os.cpu_count() or 1) > 1


# --- commands ---------------------------------------------------------------------------------------------


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8000,
    workers: Annotated[
        int,
        typer.Option(
            min=1,
            help="Server processes. One process runs Python on one core at a time; on a machine with more cores, "
            "one worker per core serves more requests (each has its own check-in writer).",
        ),
    ] = 1,
) -> None:
    """Serve the pages and the JSON API with uvicorn (API documentation at /api/docs)."""
    import uvicorn

    from fangkong.app import create_app

    rt = runtime()  # creates or upgrades the schema and checks the key once, before any worker starts
    out.print(f"fangkong serving on http://{host}:{port} with {workers} worker(s)  (API documentation at /api/docs)")
    if workers == 1:
        uvicorn.run(create_app(rt), host=host, port=port, log_level="info", access_log=False)
    else:  # each worker process builds its own application (and opens its own runtime) from the same settings
        uvicorn.run("fangkong.app:create_app", factory=True, workers=workers, host=host, port=port,
                    log_level="info", access_log=False)  # fmt: skip


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Create the schema, or bring it to the newest revision."""
    settings = get_settings()
    engine = make_engine(settings.sqlalchemy_url())
    ran = migrate.upgrade(engine)
    out.print(f"database at revision {migrate.head_revision()}" + ("" if ran else " (already up to date)"))


@import_app.command("regions")
def import_regions_cmd(
    file: Annotated[Path, typer.Argument(help="CSV with code,name,level,parent_code")],
) -> None:
    """Import the region tree (city → district → street → community → grid), upserting by code."""
    from fangkong.regions.service import REGION_COLUMNS, import_regions

    run_csv_import(
        file, label="regions", required=REGION_COLUMNS, importer=lambda db, rows: import_regions(db, rows=rows)
    )


@import_app.command("people")
def import_people_cmd(
    file: Annotated[
        Path, typer.Argument(help="CSV with ref,name,id_number,phone,region_code,household_ref,address[,id_type]")
    ],
    reason: Annotated[str, typer.Option(help="Why; recorded in the audit trail.")] = "registry import",
) -> None:
    """Import residents, upserting by ref. ID numbers and phones are stored encrypted. Audited."""
    from fangkong.auth.actor import Actor
    from fangkong.people.service import import_people_file, record_import

    rt = runtime()
    with domain_errors(), rt.database.unit_of_work() as db, file_progress(file, "people") as advance:
        report = import_people_file(
            db,
            keys=rt.keys,
            path=file,
            batch_size=rt.settings.import_batch_size,
            reader_process=use_reader_process(file),
            on_progress=advance,
        )
        record_import(db, actor=Actor.system(), source=str(file), report=report, reason=reason)
    print_report(report)
    raise typer.Exit(1 if report.rejected else 0)


def print_person(person: PersonRead, as_json: bool) -> None:
    if as_json:
        out.print(person.model_dump_json(indent=2), markup=False)
        return
    table = Table(show_header=False, box=None)
    for key, value in person.model_dump(mode="json").items():
        if isinstance(value, dict):
            value = f"{value['name']} ({value['code']}, {value['level']})"
        table.add_row(key, "" if value is None else str(value))
    out.print(table)


@person_app.command("show")
def person_show(
    ref: str,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")] = False,
    as_user: AsUser = None,
    purpose: Annotated[str, typer.Option(help="Why you look; recorded in the audit trail.")] = "view record",
) -> None:
    """Show a person, with the ID number and phone masked. The read is audited."""
    from fangkong.people.access import read_full_record

    rt = runtime()
    with domain_errors(), rt.database.unit_of_work() as db:
        person = read_full_record(db, actor=acting(db, as_user), keys=rt.keys, ref=ref, purpose=purpose)
    print_person(person, as_json)


@person_app.command("list")
def person_list(
    region: Annotated[str | None, typer.Option(help="Only this region's subtree.")] = None,
    query: Annotated[str | None, typer.Option("--query", "-q", help="Ref, name prefix, ID number or phone.")] = None,
    limit: Annotated[int, typer.Option(min=1)] = 50,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")] = False,
    as_user: AsUser = None,
) -> None:
    """List people (masked) within the acting user's regions."""
    from fangkong.people.access import search_people

    rt = runtime()
    with domain_errors(), rt.database.unit_of_work() as db:
        rows = search_people(db, actor=acting(db, as_user), keys=rt.keys, region_code=region, query=query, limit=limit)
    if as_json:
        out.print(json.dumps([r.model_dump(mode="json") for r in rows], ensure_ascii=False, indent=2), markup=False)
        return
    table = Table("ref", "name", "id_number", "phone", "region")
    for r in rows:
        table.add_row(r.ref, r.name, r.id_number, r.phone or "", f"{r.region.name} ({r.region.code})")
    out.print(table)


@person_app.command("export")
def person_export(
    purpose: Annotated[str, typer.Option(help="Why; recorded for every exported person.")],
    region: Annotated[str | None, typer.Option(help="Only this region's subtree.")] = None,
    as_user: AsUser = None,
) -> None:
    """Write people (masked) within the acting user's regions as CSV to standard output. Audited per person."""
    from fangkong.people.access import export_people

    rt = runtime()
    with domain_errors(), rt.database.unit_of_work() as db:
        rows = export_people(db, actor=acting(db, as_user), keys=rt.keys, region_code=region, purpose=purpose)
    writer = csv.writer(sys.stdout)
    writer.writerow(["ref", "name", "id_type", "id_number", "phone", "region_code", "household_ref", "address"])
    for r in rows:
        writer.writerow(
            [r.ref, r.name, r.id_type, r.id_number, r.phone or "", r.region.code, r.household_ref or "", r.address]
        )


@app.command()
def demo(
    people: Annotated[int, typer.Option(help="How many residents to generate.", min=0)] = 2000,
    seed: Annotated[int, typer.Option(help="Random seed: the same seed gives the same city.")] = 2020,
    if_empty: Annotated[
        bool, typer.Option("--if-empty", help="Do nothing when the database already holds people.")
    ] = False,
    outbreak: Annotated[
        bool,
        typer.Option(
            "--outbreak/--no-outbreak",
            help="Add a small outbreak: test results, two cases, their contacts, codes of every color.",
        ),
    ] = True,
) -> None:
    """Fill the database with a synthetic city modelled on Yingkou (营口, 210800)."""
    from fangkong.demo import DEMO_PASSWORD, create_demo_accounts, database_is_empty, fill_demo_city

    rt = runtime()
    with domain_errors(), rt.database.unit_of_work() as db:
        if if_empty and not database_is_empty(db):
            out.print("the database already holds people; demo city not generated")
            return
        progress = Progress(
            TextColumn("demo city"),
            BarColumn(),
            TextColumn("{task.description}"),
            TimeRemainingColumn(),
            console=err,
            transient=True,
            disable=not err.is_terminal,
        )
        with progress:
            task = progress.add_task(f"0/{people} people", total=people)
            # How many check-ins the rhythms produce is known only at the end: the bar pulses, the count runs.
            visits = progress.add_task("check-ins", total=None, start=False)
            counts = {"people": 0, "check-ins": 0}

            def on_people(n: int) -> None:
                counts["people"] += n
                progress.update(task, advance=n, description=f"{counts['people']}/{people} people")

            def on_checkins(n: int) -> None:
                counts["check-ins"] += n
                progress.start_task(visits)
                progress.update(visits, advance=n, description=f"{counts['check-ins']:,} check-ins")

            summary = fill_demo_city(db, keys=rt.keys, people=people, seed=seed, on_people=on_people,
                                     on_checkins=on_checkins, with_outbreak=outbreak)  # fmt: skip
        accounts = create_demo_accounts(db) if people else []
    out.print(summary)
    if accounts:
        table = Table("username", "password", "role", "region", title="demo accounts, one per role")
        for a in accounts:
            table.add_row(a.username, DEMO_PASSWORD, a.role, f"{a.region_name} ({a.region_code})")
        out.print(table)


cli_access.register(app)
cli_venues.register(app)
cli_tracing.register(app)
cli_cases.register(app)
cli_testing.register(app)
cli_healthcode.register(app)


def main() -> None:
    try:
        app()
    except KeyboardInterrupt:  # nothing was committed: the unit of work rolled back
        err.print("interrupted; nothing from this command was saved")
        sys.exit(130)


if __name__ == "__main__":
    main()
