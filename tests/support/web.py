"""Talking to the application as a client does: bearer tokens for the API, CSRF tokens and the login form for pages,
the CLI in-process."""

from __future__ import annotations

import re
from collections.abc import Mapping

from click.testing import Result
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from fangkong.cli import app

from .personas import PASSWORD, Persona

# What a browser sends: the pages answer in HTML, in English.
BROWSER = {"accept": "text/html,application/xhtml+xml,*/*;q=0.8", "accept-language": "en"}


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def as_(tokens: Mapping[str, str], who: Persona) -> dict[str, str]:
    """The headers of an API call by this persona, from a scene's tokens by username."""
    return bearer(tokens[who.username])


def csrf(html: str) -> str:
    """The CSRF token of the first form in a page."""
    match = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert match, "no CSRF token in the page"
    return match.group(1)


def log_in(client: TestClient, who: Persona | str) -> None:
    """Sign in through the login form, as whoever was signed in before leaves."""
    username = who.username if isinstance(who, Persona) else who
    client.cookies.clear()
    token = csrf(client.get("/login").text)
    response = client.post("/login", data={"username": username, "password": PASSWORD, "csrf_token": token})
    assert response.status_code == 303, response.text


def run(runner: CliRunner, *args: str) -> Result:
    """`fangkong ...` in-process, against the test database (the `cli` fixture)."""
    return runner.invoke(app, list(args), catch_exceptions=False)
