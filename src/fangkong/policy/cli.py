"""`fangkong policy list|use`: the policy editions (防控方案) this installation knows, and the one in force."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table

from fangkong.auth.cli import acting
from fangkong.core.cli import AsUser, domain_errors, out, runtime

policy_app = typer.Typer(
    help="Policy editions (防控方案): which rules decide colors and tracing.", no_args_is_help=True
)


@policy_app.command("list")
def policy_list() -> None:
    """The editions this installation knows, and the one in force."""
    from fangkong.policy.editions import EDITIONS, load_policy
    from fangkong.policy.service import edition_in_force

    rt = runtime()
    with domain_errors(), rt.database.unit_of_work() as db:
        in_force = edition_in_force(db).name
    table = Table("edition", "title", "effective", "in force")
    for name in EDITIONS:
        policy = load_policy(name)
        table.add_row(name, f"{policy.title.zh} ({policy.title.en})", policy.effective.isoformat(),
                      "yes" if name == in_force else "")  # fmt: skip
    out.print(table)


@policy_app.command("use")
def policy_use(
    name: Annotated[str, typer.Argument(help="The edition to put in force, e.g. cn-9.")],
    as_user: AsUser = None,
) -> None:
    """Put an edition in force: every code is recomputed under it and each change is recorded."""
    from fangkong.policy.service import use_edition

    rt = runtime()
    with domain_errors(), rt.database.unit_of_work() as db:
        reports = use_edition(db, actor=acting(db, as_user), name=name)
    done = ", ".join(f"{r.recomputed} {r.what} recomputed, {r.changed} changed color" for r in reports)
    out.print(f"{name} in force: {done or 'nothing depends on it'}")


def register(app: typer.Typer, imports: typer.Typer) -> None:
    app.add_typer(policy_app, name="policy")
