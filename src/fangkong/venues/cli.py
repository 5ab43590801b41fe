"""`fangkong import venues|checkins` and `fangkong checkins purge`."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Annotated

import typer

from fangkong.core.cli import domain_errors, out, run_csv_import, runtime
from fangkong.venues.checkins import Limits

checkins_app = typer.Typer(help="Check-ins (扫码登记).", no_args_is_help=True)


def import_venues_cmd(
    file: Annotated[
        Path, typer.Argument(help="CSV (UTF-8 or GBK) or .xlsx with ref,name,kind,region_code,address,capacity")
    ],
) -> None:
    """Import venues, upserting by ref."""
    from fangkong.auth.actor import Actor
    from fangkong.venues.service import VENUE_COLUMNS, import_venues

    run_csv_import(
        file, label="venues", required=VENUE_COLUMNS,
        importer=lambda db, rows, report: import_venues(db, actor=Actor.system(), rows=rows, report=report),
    )  # fmt: skip


def import_checkins_cmd(
    file: Annotated[
        Path, typer.Argument(help="CSV (UTF-8 or GBK) or .xlsx with person_ref,venue_ref,checked_in_at,checked_out_at")
    ],
) -> None:
    """Import check-ins (ISO 8601 times with offset). The same person, venue and time is the same check-in."""
    from fangkong.venues.checkin_import import CHECKIN_COLUMNS, import_checkins

    batch_size = runtime().settings.import_batch_size
    run_csv_import(
        file, label="check-ins", required=CHECKIN_COLUMNS,
        importer=lambda db, rows, report: import_checkins(
            db, rows=rows, limits=limits(), batch_size=batch_size, report=report
        ),
    )  # fmt: skip


def register(app: typer.Typer, imports: typer.Typer) -> None:
    imports.command("venues")(import_venues_cmd)
    imports.command("checkins")(import_checkins_cmd)
    app.add_typer(checkins_app, name="checkins")


def limits() -> Limits:
    settings = runtime().settings
    return Limits(
        retention=dt.timedelta(days=settings.checkin_retention_days),
        future_skew=dt.timedelta(seconds=settings.checkin_future_skew_seconds),
    )


@checkins_app.command("purge")
def purge_cmd() -> None:
    """Delete check-ins older than the retention period (FANGKONG_CHECKIN_RETENTION_DAYS, default 28), in
    transactions of 50,000 rows so that a running server keeps writing check-ins meanwhile."""
    from fangkong.auth.actor import Actor
    from fangkong.venues.checkins import purge_in_chunks

    rt = runtime()
    days = rt.settings.checkin_retention_days
    with domain_errors():
        deleted = purge_in_chunks(rt.database, actor=Actor.system(), retention=dt.timedelta(days=days))
    out.print(f"deleted {deleted} check-ins older than {days} days")
