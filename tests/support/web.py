"""Personas for access tests. People (from helpers): 王芳 (wang-fang) in 站前区 龙山社区 第1网格, 李强 (li-qiang)
in 第2网格 of the same community, 张伟 (zhang-wei) in 大石桥市. Officials:
- gw: grid worker of 第1网格 (sees 王芳 only)
- inv: investigator of 站前区 (sees 王芳 and 李强, not 张伟)
- cmd: commander of 营口市 (everyone)
- lab: lab of 营口市 (nobody: labs work on tubes)
Resident account `wang` is 王芳 herself.
"""

from __future__ import annotations

import re

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from fangkong.auth.actor import Actor
from fangkong.auth.models import Role
from fangkong.auth.service import create_token, create_user, get_user
from fangkong.core.crypto import Keyring
from fangkong.core.runtime import Runtime

from .helpers import LI_QIANG_ID, WANG_FANG_ID, ZHANG_WEI_ID, load_people, load_regions, people_csv

PASSWORD = "correct horse battery"

CITY_PEOPLE = people_csv(
    f"wang-fang,王芳,{WANG_FANG_ID},13812345678,210802001001001,H1,渤海大街12号",
    f"li-qiang,李强,{LI_QIANG_ID},13900001111,210802001001002,H2,渤海大街14号",
    f"zhang-wei,张伟,{ZHANG_WEI_ID},0417-5812345,210882001001001,H3,钢都路3号",
)

ACCOUNTS: dict[str, tuple[Role, str, str | None]] = {
    "gw": (Role.grid_worker, "210802001001001", None),
    "inv": (Role.investigator, "210802", None),
    "cmd": (Role.commander, "210800", None),
    "lab": (Role.lab, "210800", None),
    "wang": (Role.resident, "210802001001001", "wang-fang"),
}


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def city_with_tokens(runtime: Runtime, keys: Keyring) -> dict[str, str]:
    """The city committed (a savepoint, in tests) so that the API sees it, and a bearer token per persona."""
    tokens = {}
    with runtime.database.unit_of_work() as db:
        build_city(db, keys)
        for username in ACCOUNTS:
            _, tokens[username] = create_token(db, actor=Actor.system(), user=get_user(db, username=username))
    return tokens


def build_city(db: Session, keys: Keyring) -> None:
    load_regions(db)
    load_people(db, keys, CITY_PEOPLE)
    for username, (role, region, person) in ACCOUNTS.items():
        create_user(
            db, actor=Actor.system(), username=username, password=PASSWORD, grants=[(role, region)], person_ref=person
        )
    db.flush()


def csrf(html: str) -> str:
    """The CSRF token of the first form in a page."""
    match = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert match, "no CSRF token in the page"
    return match.group(1)


def log_in(client: TestClient, username: str) -> None:
    """Sign in through the login form, as whoever was signed in before leaves."""
    client.cookies.clear()
    token = csrf(client.get("/login").text)
    response = client.post("/login", data={"username": username, "password": PASSWORD, "csrf_token": token})
    assert response.status_code == 303, response.text
