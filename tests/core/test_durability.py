"""Durability: a real server under batch load is killed with SIGKILL and restarted; every acknowledged row is
stored, exactly once (issue 13).

A server answers a check-in batch only after the group commit that stored it (core/group_commit.py). This runs
`fangkong serve` as a process of its own on a brand-new database, posts offline scanners' batches to it from
several client threads, kills it with SIGKILL in the middle of the load, starts it again on the same database,
re-sends every batch that got no answer (as a scanner does: the rows' UUIDs make that safe) and then counts the
rows by their UUID.

The server's commits are slowed down, as by a slow disk (SLOW_COMMIT, through SQLAlchemy's commit event in the
server process), and the client that receives the acknowledgement that completes the load kills the server at
once. A writer that answered before its commit then has acknowledged rows not yet stored every time, instead of
only when the kill happens to fall within a commit of a millisecond.
"""

from __future__ import annotations

import datetime as dt
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from fangkong.core.config import Settings
from fangkong.core.runtime import open_runtime
from fangkong.venues.models import Checkin

from ..support.databases import BACKENDS, own_database
from ..support.factories import tokens_for
from ..support.personas import LI_QIANG, WANG_FANG, WU, ZHANG_WEI
from ..support.venues import build_venues

SECRET = "durability-test-" + "k" * 32
CLIENTS = 4
ROWS_PER_BATCH = 100
KILL_AFTER_ROWS = 2000  # acknowledged rows before the kill: the load is well under way
SLOW_COMMIT = 0.1  # seconds added before each of the server's commits
PEOPLE = [WANG_FANG.ref, LI_QIANG.ref, ZHANG_WEI.ref]
VENUE = "V-LONGSHAN"  # 吴's


@dataclass
class Server:
    process: subprocess.Popen[bytes]
    url: str


@dataclass
class Ledger:
    """What the clients were told: the rows of acknowledged batches, and the batches that got no answer."""

    acknowledged: set[str] = field(default_factory=set)
    unanswered: list[list[dict[str, Any]]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    killed: bool = False


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


# `fangkong serve`, with every commit of the server process slowed down first (the commit event comes before the
# database's commit).
SLOW_SERVE = f"""
import time
from sqlalchemy import event
from sqlalchemy.engine import Engine
event.listen(Engine, "commit", lambda connection: time.sleep({SLOW_COMMIT}))
from fangkong.cli import main
main()
"""


def _serve(database_url: str, log: Path) -> Server:
    """`fangkong serve` in a process of its own, on a free port of 127.0.0.1, once it answers."""
    port = _free_port()
    env = os.environ | {"FANGKONG_DATABASE_URL": database_url, "FANGKONG_SECRET_KEY": SECRET}
    with log.open("ab") as out:
        process = subprocess.Popen(
            [sys.executable, "-c", SLOW_SERVE, "serve", "--host", "127.0.0.1", "--port", str(port)],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"the server exited with {process.returncode}:\n{log.read_text()}")
        try:
            if httpx.get(f"{url}/api/ping", timeout=1).status_code == 200:
                return Server(process, url)
        except httpx.TransportError:
            time.sleep(0.1)
    process.kill()
    raise AssertionError(f"the server did not answer within a minute:\n{log.read_text()}")


class _Rows:
    """Rows with their own UUIDs and times (no two alike, so none is a duplicate of another by content)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._next = 0
        self._start = dt.datetime.now(dt.UTC) - dt.timedelta(hours=2)

    def batch(self) -> list[dict[str, Any]]:
        with self._lock:
            first, self._next = self._next, self._next + ROWS_PER_BATCH
        return [
            {
                "client_id": str(uuid.uuid4()),
                "person_ref": PEOPLE[n % len(PEOPLE)],
                "venue_ref": VENUE,
                "checked_in_at": (self._start + dt.timedelta(milliseconds=n)).isoformat(),
            }
            for n in range(first, first + ROWS_PER_BATCH)
        ]


def _post(client: httpx.Client, url: str, token: str, rows: list[dict[str, Any]]) -> dict[str, Any] | None:
    """The server's answer to a batch, or None when there was none (the server died before answering)."""
    try:
        response = client.post(
            f"{url}/api/checkins/batch", json={"rows": rows}, headers={"Authorization": f"Bearer {token}"}
        )
    except httpx.TransportError:
        return None
    assert response.status_code == 200, response.text  # anything but an answer or silence is a failure
    answer: dict[str, Any] = response.json()
    assert answer["rejected"] == [], answer["rejected"]  # every row is valid: none may be refused
    return answer


def _load(server: Server, token: str, rows: _Rows, ledger: Ledger) -> None:
    """One scanner: batch after batch until one gets no answer (after the kill: every client ends that way). The
    client whose answer brings the acknowledged rows to KILL_AFTER_ROWS kills the server at once: right after
    an answer is when a writer that answers before its commit has the most acknowledged rows not yet stored."""
    with httpx.Client(timeout=30) as client:
        while True:
            batch = rows.batch()
            answer = _post(client, server.url, token, batch)
            with ledger.lock:
                if answer is None:
                    ledger.unanswered.append(batch)
                    return
                ledger.acknowledged.update(row["client_id"] for row in batch)
                if len(ledger.acknowledged) >= KILL_AFTER_ROWS and not ledger.killed:
                    os.kill(server.process.pid, signal.SIGKILL)  # the process this test started
                    ledger.killed = True


@pytest.fixture(params=BACKENDS)
def city(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[str, str]]:
    """A brand-new database with the venue city in it: its URL, and an API token of 吴, who runs the venue."""
    with own_database(request.param, tmp_path, "durability") as url:
        runtime = open_runtime(Settings(database_url=url, secret_key=SECRET))
        try:
            with runtime.database.unit_of_work() as db:
                build_venues(db, runtime.keys)
                token = tokens_for(db, WU)[WU.username]
        finally:
            runtime.database.engine.dispose()
        yield url, token


@pytest.mark.slow
def test_every_acknowledged_batch_row_survives_a_sigkill_exactly_once(city: tuple[str, str], tmp_path: Path) -> None:
    database_url, token = city
    log = tmp_path / "server.log"
    ledger, rows = Ledger(), _Rows()
    server = _serve(database_url, log)
    try:
        clients = [threading.Thread(target=_load, args=(server, token, rows, ledger)) for _ in range(CLIENTS)]
        for client in clients:
            client.start()
        for client in clients:
            client.join(timeout=120)
        assert not any(client.is_alive() for client in clients), f"the load never ended:\n{log.read_text()}"
    finally:
        if server.process.poll() is None:
            server.process.kill()
            server.process.wait()
    assert ledger.killed, f"the server stopped before the load was under way:\n{log.read_text()}"
    assert server.process.wait() == -signal.SIGKILL
    assert len(ledger.unanswered) == CLIENTS  # each client's last batch went unanswered: the kill came mid-load

    # The scanners send what got no answer again, to the restarted server on the same database.
    server = _serve(database_url, log)
    try:
        with httpx.Client(timeout=30) as client:
            for batch in ledger.unanswered:
                answer = _post(client, server.url, token, batch)
                assert answer is not None
                assert answer["accepted"] + answer["duplicates"] == len(batch)
    finally:
        server.process.send_signal(signal.SIGTERM)
        server.process.wait(timeout=30)

    sent = ledger.acknowledged | {row["client_id"] for batch in ledger.unanswered for row in batch}
    engine = open_runtime(Settings(database_url=database_url, secret_key=SECRET)).database.engine
    try:
        with engine.connect() as conn:
            stored = dict(conn.execute(select(Checkin.client_id, func.count()).group_by(Checkin.client_id)).all())
    finally:
        engine.dispose()
    lost = ledger.acknowledged - stored.keys()
    assert not lost, f"{len(lost)} of {len(ledger.acknowledged)} acknowledged rows were lost"
    assert {client_id for client_id, count in stored.items() if count != 1} == set()
    assert stored.keys() == sent  # nothing stored that was not sent, and every re-sent row is stored too
    assert len(ledger.acknowledged) >= KILL_AFTER_ROWS
