"""Databases of a test's own: the suite's shared one (conftest) and the brand-new ones that tests needing real
concurrency, a live server or an old schema build. On PostgreSQL each is a database of its own on the server, so
parallel or earlier runs never see its rows, dropped afterwards."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from fangkong.core.config import Settings

PG_URL = os.environ.get("FANGKONG_TEST_DATABASE_URL", "")
BACKENDS = ["sqlite"] + (["postgresql"] if PG_URL.startswith("postgres") else [])


@contextmanager
def own_database(backend: str, directory: Path, label: str) -> Iterator[str]:
    """The URL of a brand-new, empty database: a SQLite file in `directory`, or a database of its own on the
    PostgreSQL server of FANGKONG_TEST_DATABASE_URL, dropped (with whatever still holds it) afterwards."""
    if backend == "sqlite":
        yield f"sqlite:///{directory}/{label}.db"
        return
    name = f"fangkong_{label}_{uuid.uuid4().hex[:12]}"
    admin_url = Settings(database_url=PG_URL).sqlalchemy_url()
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield make_url(admin_url).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()
