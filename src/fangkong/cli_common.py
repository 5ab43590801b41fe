"""What every `fangkong` command shares: consoles, error handling, the runtime, acting as a user."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console

from fangkong.core.audit_models import Channel
from fangkong.core.errors import DomainError
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
