"""`fangkong code`: a person's health code with its reasons, and its history."""

from __future__ import annotations

import datetime as dt
import json
from typing import Annotated

import typer
from rich.table import Table

from fangkong.auth.cli import acting
from fangkong.core import causes
from fangkong.core.cli import AsJson, AsUser, At, Lang, domain_errors, instant, language, out, runtime
from fangkong.core.config import city_zone

code_app = typer.Typer(help="Health codes (健康码): a person's color, why, and its history.", no_args_is_help=True)


def _iso(value: dt.datetime | None) -> str | None:
    return value.astimezone(dt.UTC).isoformat() if value else None


@code_app.command("show")
def code_show(
    ref: Annotated[str, typer.Argument(help="The person's ref.")],
    at: At = None,
    as_json: AsJson = False,
    lang: Lang = "en",
    as_user: AsUser = None,
) -> None:
    """A person's color, the reasons for it, and when it will next change with no new facts."""
    from fangkong.healthcode.reasons import render
    from fangkong.healthcode.service import show

    lang_code = language(lang)
    as_of = instant(at)
    rt = runtime()
    with domain_errors(), rt.database.unit_of_work() as db:
        view = show(db, actor=acting(db, as_user), person_ref=ref, at=as_of)
    zone = city_zone()
    reasons = [{"code": r.code, "text": render(r, lang_code, zone)} for r in view.reasons]
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
    as_json: AsJson = False,
    lang: Lang = "en",
    as_user: AsUser = None,
) -> None:
    """Every change of the person's code: from, to, why, under which edition, and who or which rule."""
    from fangkong.healthcode.reasons import render
    from fangkong.healthcode.service import parse_reasons, person_history
    from fangkong.web.i18n import translator

    lang_code = language(lang)
    _ = translator(lang_code)
    rt = runtime()
    with domain_errors(), rt.database.unit_of_work() as db:
        changes = [
            {"at": _iso(c.at), "from": c.from_color.value if c.from_color else None, "to": c.to_color.value,
             "reasons": [{"code": r.code, "text": render(r, lang_code, city_zone())} for r in parse_reasons(c.reasons)],
             "policy": c.policy, "actor": c.actor, "cause": causes.render(c.cause_kind, params, _),
             "cause_kind": c.cause_kind, "cause_params": params}
            for c in person_history(db, actor=acting(db, as_user), person_ref=ref)
            for params in [causes.load_params(c.cause_params)]
        ]  # fmt: skip
    if as_json:
        typer.echo(json.dumps(changes, ensure_ascii=False))
        return
    table = Table("at", "from", "to", "policy", "by", "cause", "reasons")
    for c in changes:
        texts = "; ".join(r["text"] for r in c["reasons"])  # type: ignore[union-attr, index]
        table.add_row(*(str(c[k] or "") for k in ("at", "from", "to", "policy", "actor", "cause")), texts)
    out.print(table)


def register(app: typer.Typer, imports: typer.Typer) -> None:
    app.add_typer(code_app, name="code")
