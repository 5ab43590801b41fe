"""`fangkong policy` and `fangkong code`: the edition in force, and a person's health code with its reasons."""

from __future__ import annotations

import datetime as dt
import json
from typing import Annotated, Literal

import typer
from rich.table import Table

from fangkong.cli_common import AsUser, acting, domain_errors, fail, out, runtime
from fangkong.core import clock
from fangkong.core.config import city_zone

policy_app = typer.Typer(
    help="Policy editions (防控方案): which rules decide colors and tracing.", no_args_is_help=True
)
code_app = typer.Typer(help="Health codes (健康码): a person's color, why, and its history.", no_args_is_help=True)

Lang = Annotated[str, typer.Option("--lang", help="Language of the reason texts: en or zh.")]


def _lang(value: str) -> Literal["zh", "en"]:
    if value == "zh":
        return "zh"
    if value == "en":
        return "en"
    raise fail(f"--lang {value!r}: choose en or zh")


def _iso(value: dt.datetime | None) -> str | None:
    return value.astimezone(dt.UTC).isoformat() if value else None


@policy_app.command("list")
def policy_list() -> None:
    """The editions this installation knows, and the one in force."""
    from fangkong.healthcode.policy import EDITIONS, load_policy
    from fangkong.tracing.policy import edition_in_force

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
    from fangkong.healthcode.service import use_policy

    rt = runtime()
    with domain_errors(), rt.database.unit_of_work() as db:
        recomputed, changed = use_policy(db, actor=acting(db, as_user), name=name)
    out.print(f"{name} in force: {recomputed} codes recomputed, {changed} changed color")


@code_app.command("show")
def code_show(
    ref: Annotated[str, typer.Argument(help="The person's ref.")],
    at: Annotated[str | None, typer.Option("--at", help="Evaluate as of this instant (ISO 8601).")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
    lang: Lang = "en",
    as_user: AsUser = None,
) -> None:
    """A person's color, the reasons for it, and when it will next change with no new facts."""
    from fangkong.healthcode.reasons import render
    from fangkong.healthcode.service import show

    language = _lang(lang)
    try:
        as_of = clock.parse_instant(at) if at else None
    except ValueError:
        raise fail(f"--at {at!r} is not an ISO 8601 time with offset, like 2022-03-20T14:05:00+08:00") from None
    rt = runtime()
    with domain_errors(), rt.database.unit_of_work() as db:
        view = show(db, actor=acting(db, as_user), person_ref=ref, at=as_of)
    zone = city_zone()
    reasons = [{"code": r.code, "text": render(r, language, zone)} for r in view.reasons]
    if as_json:
        typer.echo(json.dumps({"person_ref": view.person_ref, "color": view.color.value, "reasons": reasons,
                               "valid_until": _iso(view.valid_until), "policy": view.policy},
                              ensure_ascii=False))  # fmt: skip
        return
    out.print(f"{view.person_ref}: {view.color.value} (policy {view.policy})")
    for reason in reasons:
        out.print(f"  - {reason['text']}")
    if view.valid_until:
        out.print(f"  next change: {view.valid_until.astimezone(zone):%Y-%m-%d %H:%M %Z}")


@code_app.command("history")
def code_history(
    ref: Annotated[str, typer.Argument(help="The person's ref.")],
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
    lang: Lang = "en",
    as_user: AsUser = None,
) -> None:
    """Every change of the person's code: from, to, why, under which edition, and who or which rule."""
    from fangkong.healthcode.reasons import render
    from fangkong.healthcode.service import parse_reasons, person_history

    language = _lang(lang)
    rt = runtime()
    with domain_errors(), rt.database.unit_of_work() as db:
        changes = [
            {"at": _iso(c.at), "from": c.from_color.value if c.from_color else None, "to": c.to_color.value,
             "reasons": [{"code": r.code, "text": render(r, language, city_zone())} for r in parse_reasons(c.reasons)],
             "policy": c.policy, "actor": c.actor, "cause": c.cause}
            for c in person_history(db, actor=acting(db, as_user), person_ref=ref)
        ]  # fmt: skip
    if as_json:
        typer.echo(json.dumps(changes, ensure_ascii=False))
        return
    table = Table("at", "from", "to", "policy", "by", "cause", "reasons")
    for c in changes:
        texts = "; ".join(r["text"] for r in c["reasons"])  # type: ignore[union-attr, index]
        table.add_row(*(str(c[k] or "") for k in ("at", "from", "to", "policy", "actor", "cause")), texts)
    out.print(table)


def register(app: typer.Typer) -> None:
    app.add_typer(policy_app, name="policy")
    app.add_typer(code_app, name="code")
