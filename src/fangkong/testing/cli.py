"""`fangkong test add` and `fangkong test withdraw`: one person's test result from the command line."""

from __future__ import annotations

from typing import Annotated

import typer

from fangkong.auth.cli import acting
from fangkong.core.cli import AsUser, domain_errors, fail, instant, runtime
from fangkong.core.inputs import MAX_ROW_ID

test_app = typer.Typer(help="Test results (核酸检测结果).", no_args_is_help=True)


@test_app.command("add")
def add(
    person: Annotated[str, typer.Option("--person", help="The person's ref.")],
    sampled: Annotated[str, typer.Option("--sampled", help="Sampling time, ISO 8601 with offset.")],
    result: Annotated[str, typer.Option("--result", help="negative or positive.")],
    ct_n: Annotated[float | None, typer.Option("--ct-n", help="Ct value of the N gene.")] = None,
    ct_orf: Annotated[float | None, typer.Option("--ct-orf", help="Ct value of the ORF1ab gene.")] = None,
    lab: Annotated[str, typer.Option("--lab", help="The lab that ran the test.")] = "",
    as_user: AsUser = None,
) -> None:
    """Enter a test result and print its id; the person's health code follows it."""
    from fangkong.testing.models import TestOutcome
    from fangkong.testing.service import add_result

    try:
        outcome = TestOutcome(result)
    except ValueError:
        raise fail(f"--result {result!r} is neither negative nor positive") from None
    sampled_at = instant(sampled, "--sampled")
    rt = runtime()
    with domain_errors(), rt.database.unit_of_work() as db:
        row = add_result(db, actor=acting(db, as_user), person_ref=person, sampled_at=sampled_at, result=outcome,
                         ct_n=ct_n, ct_orf=ct_orf, lab=lab)  # fmt: skip
        result_id = row.id
    typer.echo(result_id)


@test_app.command("withdraw")
def withdraw(
    result_id: Annotated[
        int, typer.Argument(min=1, max=MAX_ROW_ID, help="The wrong result's id, as `test add` printed it.")
    ],
    reason: Annotated[str, typer.Option("--reason", help="Why it is wrong, e.g. 'tube mix-up at the lab'.")],
    as_user: AsUser = None,
) -> None:
    """Withdraw a wrong result (the wrong one stays on record) and print the withdrawal's id. A lab withdraws only
    what its own account entered; an investigator, results of the people of their regions."""
    from fangkong.testing.service import withdraw_result

    rt = runtime()
    with domain_errors(), rt.database.unit_of_work() as db:
        row = withdraw_result(db, actor=acting(db, as_user), result_id=result_id, reason=reason)
        withdrawal_id = row.id
    typer.echo(withdrawal_id)


def register(app: typer.Typer, imports: typer.Typer) -> None:
    app.add_typer(test_app, name="test")
