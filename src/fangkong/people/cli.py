"""`fangkong import people`, `fangkong person show|list|export` and `fangkong audit`: the resident registry and
who looked at a person's data."""

from __future__ import annotations

import io
import json
import os
import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from fangkong.auth.cli import acting
from fangkong.core.cli import (
    AsJson,
    AsUser,
    domain_errors,
    fail,
    file_progress,
    out,
    print_report,
    runtime,
    streamed_report,
)
from fangkong.core.exporting import write_csv, write_xlsx
from fangkong.people.schemas import EXPORT_HEADER, PersonRead, export_row

person_app = typer.Typer(help="The resident registry.", no_args_is_help=True)


def use_reader_process(path: Path) -> bool:
    """A second process reads and encrypts large files while this one writes; for a small file, starting it
    would cost more than it saves (about 30,000 people break even)."""
    return path.exists() and path.stat().st_size >= 4_000_000 and (os.cpu_count() or 1) > 1


def import_people_cmd(
    file: Annotated[
        Path,
        typer.Argument(
            help="CSV (UTF-8 or GBK) or .xlsx with ref,name,id_number,phone,region_code,household_ref,address[,id_type]"
        ),
    ],
    reason: Annotated[str, typer.Option(help="Why; recorded in the audit trail.")] = "registry import",
) -> None:
    """Import residents, upserting by ref. ID numbers and phones are stored encrypted. Audited.

    Rejected rows are printed as `line N: reason` while the import runs; the others are stored. A file that is not
    CSV text or an .xlsx workbook is refused as a whole (exit status 2)."""
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
            report=streamed_report(),
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
    as_json: AsJson = False,
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
    as_json: AsJson = False,
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
    file_format: Annotated[str, typer.Option("--format", help="csv, or xlsx (redirect it to a file).")] = "csv",
) -> None:
    """Write people (masked) within the acting user's regions as CSV or .xlsx to standard output. Audited per
    person.

    The CSV starts with a UTF-8 byte order mark (for Excel on Chinese Windows), and cells a spreadsheet would
    take for a formula (starting with = + - @) are prefixed with a single quote, as the API's download; the
    workbook's cells are all text, neutralised the same way."""
    if file_format not in ("csv", "xlsx"):
        raise fail(f"--format {file_format!r}: choose csv or xlsx")
    from fangkong.people.access import export_people

    rt = runtime()
    with domain_errors(), rt.database.unit_of_work() as db:
        rows = export_people(db, actor=acting(db, as_user), keys=rt.keys, region_code=region, purpose=purpose)
    if file_format == "xlsx":
        buffer = io.BytesIO()
        write_xlsx(buffer, EXPORT_HEADER, map(export_row, rows))
        sys.stdout.buffer.write(buffer.getvalue())
        sys.stdout.buffer.flush()
    else:
        write_csv(sys.stdout, EXPORT_HEADER, map(export_row, rows))


def audit_cmd(
    person: Annotated[str, typer.Option(help="The person's ref.")],
    as_json: AsJson = False,
    as_user: AsUser = None,
) -> None:
    """Who looked at a person's data: every read of their record by an official, newest first."""
    from fangkong.people.access import access_log

    rt = runtime()
    with domain_errors(), rt.database.unit_of_work() as db:
        entries = access_log(db, actor=acting(db, as_user), ref=person)
    if as_json:
        out.print(json.dumps([e.model_dump(mode="json") for e in entries], ensure_ascii=False, indent=2), markup=False)
        return
    table = Table("time (UTC)", "what", "role", "region", "purpose", "via")
    for e in entries:
        region = f"{e.region_name} ({e.region_code})" if e.region_code else ""
        table.add_row(f"{e.at:%Y-%m-%d %H:%M}", e.action.value, e.role or "", region, e.purpose, e.channel.value)
    out.print(table)
    out.print(f"{len(entries)} read(s)")


def register(app: typer.Typer, imports: typer.Typer) -> None:
    imports.command("people")(import_people_cmd)
    app.add_typer(person_app, name="person")
    app.command("audit")(audit_cmd)
