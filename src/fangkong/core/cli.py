"""What every `fangkong` command shares, whichever domain owns it: consoles, error handling, the runtime, the
options every domain uses the same way (--as, --json, --at, --lang) and the shape of a CSV import."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Literal, overload

import typer
from rich.console import Console
from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn, TimeRemainingColumn

from fangkong.core import clock
from fangkong.core.errors import DomainError
from fangkong.core.importing import CsvRow, ImportReport, RowError, read_table
from fangkong.core.runtime import Runtime, get_runtime

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

out = Console(highlight=False, soft_wrap=True)
err = Console(stderr=True, highlight=False, soft_wrap=True)


def fail(message: str, code: int = 2) -> typer.Exit:
    err.print(f"[red]error:[/red] {message}")
    return typer.Exit(code)


@contextmanager
def domain_errors() -> Iterator[None]:
    """Domain errors become a one-line message and a non-zero exit, not a traceback. Any other error is rendered
    by `fangkong.cli.main` as one line without its message (which may quote the rows being handled)."""
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


AsJson = Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")]
At = Annotated[str | None, typer.Option("--at", help="As of this instant instead of now (ISO 8601 with offset).")]
Lang = Annotated[str, typer.Option("--lang", help="Language of the texts: en or zh.")]


@overload
def instant(value: str, option: str = ...) -> dt.datetime: ...
@overload
def instant(value: None, option: str = ...) -> None: ...
@overload
def instant(value: str | None, option: str = ...) -> dt.datetime | None: ...
def instant(value: str | None, option: str = "--at") -> dt.datetime | None:
    """An option's ISO 8601 instant (with its UTC offset, never guessed), or a one-line error naming the option."""
    if value is None:
        return None
    try:
        return clock.parse_instant(value)
    except clock.OutOfYears as exc:
        raise fail(f"{option} {exc}") from None
    except ValueError:
        raise fail(f"{option} {value!r} is not an ISO 8601 time with offset, like 2022-03-20T14:05:00+08:00") from None


def language(value: str) -> Literal["zh", "en"]:
    if value == "zh":
        return "zh"
    if value == "en":
        return "en"
    raise fail(f"--lang {value!r}: choose en or zh")


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


def print_error(error: RowError) -> None:
    out.print(str(error), markup=False)


def streamed_report() -> ImportReport:
    """A report that prints each rejected row as its batch ends instead of keeping it (a million bad rows would
    otherwise be held until the end)."""
    return ImportReport(sink=print_error)


def print_report(report: ImportReport) -> None:
    report.flush()  # what a report without a sink kept, or what its importer did not flush yet
    for error in report.errors:
        print_error(error)
    if report.unchanged:
        out.print(f"unchanged {report.unchanged}")
    out.print(report.summary())


def run_csv_import(
    file: Path,
    *,
    label: str,
    required: tuple[str, ...],
    importer: Callable[[Session, Iterator[CsvRow | RowError], ImportReport], ImportReport],
    optional: tuple[str, ...] = (),
) -> None:
    """The shape every import command shares: a CSV (UTF-8 or GB18030) or .xlsx file read as a stream, one unit of
    work, a progress bar, `line N: reason` for each rejected row as it is found, the summary, and exit status 1
    when anything was rejected (2 when the file as a whole is refused, and then nothing is stored)."""
    rt = runtime()
    report = streamed_report()
    with domain_errors(), rt.database.unit_of_work() as db, file_progress(file, label) as go:
        rows = read_table(file, required=required, optional=optional, on_progress=go, where=str(file))
        report = importer(db, rows, report)
    print_report(report)
    raise typer.Exit(1 if report.rejected else 0)
