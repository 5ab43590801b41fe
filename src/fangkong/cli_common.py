"""What every `fangkong` command shares: consoles, error handling, the runtime, acting as a user."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn, TimeRemainingColumn

from fangkong.core.audit_models import Channel
from fangkong.core.errors import DomainError
from fangkong.core.importing import CsvRow, ImportReport, RowError, open_csv, read_csv
from fangkong.core.runtime import Runtime, get_runtime

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from fangkong.auth.actor import Actor

out = Console(highlight=False, soft_wrap=True)
err = Console(stderr=True, highlight=False, soft_wrap=True)


def fail(message: str, code: int = 2) -> typer.Exit:
    err.print(f"[red]error:[/red] {message}")
    return typer.Exit(code)


@contextmanager
def domain_errors() -> Iterator[None]:
    """Domain errors become a one-line message and a non-zero exit, not a traceback."""
    try:
        yield
    except DomainError as exc:
        raise fail(exc.message, 1 if exc.status_code == 404 else 2) from None


def runtime() -> Runtime:
    with domain_errors():
        return get_runtime()


AsUser = Annotated[
    str | None,
    typer.Option("--as", help="Act as this user, within their regions (default: the system operator, unscoped)."),
]


def acting(db: Session, username: str | None) -> Actor:
    """The CLI's actor: the named user (scoped like on the web), or the machine's operator; both audited."""
    from fangkong.auth.actor import Actor
    from fangkong.auth.service import actor_for, get_user

    if username is None:
        return Actor.system()
    return actor_for(db, user=get_user(db, username=username), channel=Channel.cli)


import_app = typer.Typer(help="Import CSV files (UTF-8; re-running a file changes nothing).", no_args_is_help=True)


@contextmanager
def file_progress(path: Path, label: str) -> Iterator[Callable[[int], None]]:
    """A progress bar over the bytes of a file, shown only on a terminal."""
    progress = Progress(
        TextColumn(label),
        BarColumn(),
        DownloadColumn(),
        TimeRemainingColumn(),
        console=err,
        transient=True,
        disable=not err.is_terminal,
    )
    task = progress.add_task(label, total=path.stat().st_size if path.exists() else 0)
    with progress:
        yield lambda n: progress.advance(task, n)


def print_report(report: ImportReport) -> None:
    for error in report.errors:
        out.print(str(error), markup=False)
    if report.unchanged:
        out.print(f"unchanged {report.unchanged}")
    out.print(report.summary())


def run_csv_import(
    file: Path,
    *,
    label: str,
    required: tuple[str, ...],
    importer: Callable[[Session, Iterator[CsvRow | RowError]], ImportReport],
) -> None:
    """The shape every CSV import command shares: one unit of work, a progress bar, `line N: reason` for each
    rejected row, the summary, and exit status 1 when anything was rejected."""
    rt = runtime()
    with domain_errors(), open_csv(file) as fh, rt.database.unit_of_work() as db, file_progress(file, label) as go:
        report = importer(db, read_csv(fh, required=required, on_progress=go, where=str(file)))
    print_report(report)
    raise typer.Exit(1 if report.rejected else 0)
