"""`fangkong user …`, `fangkong token …` and `fangkong audit`: accounts, API tokens, the audit trail."""

from __future__ import annotations

import json
import sys
from typing import TYPE_CHECKING, Annotated

import typer
from rich.table import Table

from fangkong.auth.actor import Actor
from fangkong.auth.audit_models import Channel
from fangkong.auth.models import Role
from fangkong.auth.service import actor_for, get_user
from fangkong.core.cli import domain_errors, fail, out, runtime

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

user_app = typer.Typer(help="User accounts, their roles and regions.", no_args_is_help=True)
token_app = typer.Typer(help="API tokens for devices and scripts.", no_args_is_help=True)


def read_password(from_stdin: bool) -> str:
    if from_stdin:
        return sys.stdin.readline().rstrip("\n")
    password: str = typer.prompt("password", hide_input=True, confirmation_prompt=True)
    return password


@user_app.command("add")
def user_add(
    name: Annotated[str, typer.Argument(help="The login name.")],
    role: Annotated[list[Role], typer.Option(help="A role; repeat --role/--region for several.")],
    region: Annotated[list[str], typer.Option(help="The region code the matching --role covers (its subtree).")],
    person: Annotated[str | None, typer.Option(help="Link to this person's record (residents must).")] = None,
    display_name: Annotated[str | None, typer.Option(help="The name shown on pages.")] = None,
    password_stdin: Annotated[bool, typer.Option("--password-stdin", help="Read the password from stdin.")] = False,
) -> None:
    """Create a user with one or more roles, each bound to a region subtree."""
    from fangkong.auth.actor import Actor
    from fangkong.auth.service import create_user

    if len(role) != len(region):
        raise fail(f"give one --region per --role ({len(role)} roles, {len(region)} regions)")
    password = read_password(password_stdin)
    rt = runtime()
    with domain_errors(), rt.database.unit_of_work() as db:
        user = create_user(
            db,
            actor=Actor.system(),
            username=name,
            password=password,
            grants=list(zip(role, region, strict=True)),
            display_name=display_name,
            person_ref=person,
        )
        out.print(
            f"user {user.username} created: " + ", ".join(f"{r.value}@{c}" for r, c in zip(role, region, strict=True))
        )


@user_app.command("list")
def user_list(as_json: Annotated[bool, typer.Option("--json")] = False) -> None:
    """Every user with their roles and regions."""
    from fangkong.auth.service import list_users

    rt = runtime()
    with domain_errors(), rt.database.unit_of_work() as db:
        rows = [
            {
                "username": u.username,
                "display_name": u.display_name,
                "active": u.is_active,
                "roles": [{"role": r.value, "region_code": g.code, "region_name": g.name} for r, g in grants],
            }
            for u, grants in list_users(db)
        ]
    if as_json:
        out.print(json.dumps(rows, ensure_ascii=False, indent=2), markup=False)
        return
    table = Table("username", "name", "roles", "active")
    for row in rows:
        grants: list[dict[str, str]] = row["roles"]  # type: ignore[assignment]
        roles = ", ".join(f"{g['role']}@{g['region_name']}({g['region_code']})" for g in grants)
        table.add_row(str(row["username"]), str(row["display_name"]), roles, "yes" if row["active"] else "no")
    out.print(table)


@token_app.command("create")
def token_create(
    user: Annotated[str, typer.Option(help="The user the token acts as.")],
    label: Annotated[str, typer.Option(help="What it is for, e.g. the device at gate 3.")] = "",
) -> None:
    """Create an API token. It is printed once; only its hash is kept."""
    from fangkong.auth.actor import Actor
    from fangkong.auth.service import create_token, get_user

    rt = runtime()
    with domain_errors(), rt.database.unit_of_work() as db:
        row, token = create_token(db, actor=Actor.system(), user=get_user(db, username=user), label=label)
    out.print(f"token {row.id} for {user}: {token}", markup=False)
    out.print("keep it now: it cannot be shown again")


@token_app.command("revoke")
def token_revoke(token_id: Annotated[int, typer.Argument(help="The token's id, as printed when created.")]) -> None:
    """Revoke a token; it stops working at once."""
    from fangkong.auth.actor import Actor
    from fangkong.auth.service import revoke_token

    rt = runtime()
    with domain_errors(), rt.database.unit_of_work() as db:
        revoke_token(db, actor=Actor.system(), token_id=token_id)
    out.print(f"token {token_id} revoked")


def register(app: typer.Typer, imports: typer.Typer) -> None:
    app.add_typer(user_app, name="user")
    app.add_typer(token_app, name="token")


def acting(db: Session, username: str | None) -> Actor:
    """The CLI's actor: the named user (scoped like on the web), or the machine's operator; both audited."""
    if username is None:
        return Actor.system()
    return actor_for(db, user=get_user(db, username=username), channel=Channel.cli)
