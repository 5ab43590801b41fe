"""The `fangkong` command. Each command is one unit of work against the configured database
(FANGKONG_DATABASE_URL, default sqlite:///fangkong.db); a new database gets its schema first.

The commands of each domain live in its own `cli.py` and are added here from the registry; this file holds only
what belongs to the installation as a whole: serving, the schema, the demo city."""

from __future__ import annotations

import sys
import traceback
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table

from fangkong import registry
from fangkong.core import migrate
from fangkong.core.cli import domain_errors, err, out, runtime
from fangkong.core.config import get_settings
from fangkong.core.db import make_engine
from fangkong.core.domains import resolve

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
import_app = typer.Typer(
    help="Import CSV (UTF-8 or GBK) or .xlsx files; re-running a file changes nothing.", no_args_is_help=True
)
app.add_typer(db_app, name="db")
app.add_typer(import_app, name="import")


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
    options: dict[str, Any] = {"host": host, "port": port, "log_level": "info", "access_log": False,
                               **proxy_options(rt.settings.forwarded_allow_ips)}  # fmt: skip
    if workers == 1:
        uvicorn.run(create_app(rt), **options)
    else:  # each worker process builds its own application (and opens its own runtime) from the same settings
        uvicorn.run("fangkong.app:create_app", factory=True, workers=workers, **options)


def proxy_options(forwarded_allow_ips: str) -> dict[str, Any]:
    """uvicorn's proxy settings: X-Forwarded-For/-Proto are believed only from the configured proxies (uvicorn on
    its own believes them from 127.0.0.1, so anything on the machine could choose the address audits record)."""
    if not forwarded_allow_ips.strip():
        return {"proxy_headers": False}
    return {"proxy_headers": True, "forwarded_allow_ips": forwarded_allow_ips}


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Create the schema, or bring it to the newest revision."""
    settings = get_settings()
    engine = make_engine(settings.sqlalchemy_url())
    ran = migrate.upgrade(engine)
    out.print(f"database at revision {migrate.head_revision()}" + ("" if ran else " (already up to date)"))


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
    from fangkong.demo.city import DEMO_PASSWORD, create_demo_accounts, database_is_empty, fill_demo_city

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


for _domain in registry.DOMAINS:
    if _domain.cli:
        resolve(_domain.cli)(app, import_app)


def main() -> None:
    registry.install()
    try:
        app()
    except KeyboardInterrupt:  # nothing was committed: the unit of work rolled back
        err.print("interrupted; nothing from this command was saved")
        sys.exit(130)
    except Exception as exc:  # rendered without what it was handling
        err.print(unexpected_error_line(exc), markup=False)
        sys.exit(1)


def unexpected_error_line(exc: BaseException) -> str:
    """One line for an error no command expected: its kind and the line of code that raised it, never its message
    or a traceback, which quote the rows being handled (names, addresses, ID numbers). Whatever the command's
    unit of work had not committed was rolled back."""
    frames = traceback.extract_tb(exc.__traceback__)
    ours = [f for f in frames if "fangkong" in Path(f.filename).parts] or frames  # the last line of our code
    where = ""
    if ours:
        path = Path(ours[-1].filename)
        parts = path.parts[path.parts.index("fangkong") :] if "fangkong" in path.parts else (path.name,)
        where = f" at {'/'.join(parts)}:{ours[-1].lineno}"
    return (
        f"error: unexpected {type(exc).__name__}{where}; its message is not shown, as it may quote personal data. "
        "Nothing uncommitted was saved."
    )


if __name__ == "__main__":
    main()
