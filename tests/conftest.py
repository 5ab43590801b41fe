"""Test fixtures.

Every database test runs on SQLite, and again on PostgreSQL when FANGKONG_TEST_DATABASE_URL names a server.
Each backend gets a database of its own, built by running the migrations, and each test runs inside a
transaction that is rolled back (services and commands that "commit" only release a SAVEPOINT).
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Connection, Engine, create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker
from typer.testing import CliRunner

from fangkong import registry
from fangkong.core import migrate
from fangkong.core.config import Settings
from fangkong.core.crypto import Keyring
from fangkong.core.db import Database, make_engine
from fangkong.core.runtime import Runtime, set_runtime

# The domains' models and fact subscriptions, as the application and the CLI install them.
registry.install()

PG_URL = os.environ.get("FANGKONG_TEST_DATABASE_URL", "")
BACKENDS = ["sqlite"] + (["postgresql"] if PG_URL.startswith("postgres") else [])
TEST_SECRET = "test-secret-key-for-fangkong-tests"


@pytest.fixture(scope="session", autouse=True)
def cheap_password_hashing() -> None:
    from argon2 import PasswordHasher

    from fangkong.auth.service import use_password_hasher

    use_password_hasher(PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1))


@pytest.fixture(scope="session", params=BACKENDS)
def engine(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Engine]:
    if request.param == "sqlite":
        path = tmp_path_factory.mktemp("db") / "test.db"
        eng = make_engine(f"sqlite:///{path}")
        migrate.upgrade(eng)
        yield eng
        eng.dispose()
        return
    # A database of our own on the PostgreSQL server, so parallel or earlier runs never see our rows.
    name = f"fangkong_test_{uuid.uuid4().hex[:12]}"
    admin_url = Settings(database_url=PG_URL).sqlalchemy_url()
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    eng = make_engine(make_url(admin_url).set(database=name).render_as_string(hide_password=False))
    try:
        migrate.upgrade(eng)
        yield eng
    finally:
        eng.dispose()
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture
def backend(engine: Engine) -> str:
    return engine.dialect.name


@pytest.fixture
def connection(engine: Engine) -> Iterator[Connection]:
    with engine.connect() as conn:
        outer = conn.begin()
        try:
            yield conn
        finally:
            outer.rollback()


@pytest.fixture
def database(engine: Engine, connection: Connection) -> Database:
    factory = sessionmaker(bind=connection, join_transaction_mode="create_savepoint", expire_on_commit=False)
    return Database(engine, factory)


@pytest.fixture
def db(database: Database) -> Iterator[Session]:
    session = database.factory()
    try:
        yield session
    finally:
        session.close()


@pytest.fixture(scope="session")
def keys() -> Keyring:
    return Keyring.from_secret(TEST_SECRET)


@pytest.fixture
def runtime(database: Database, keys: Keyring, tmp_path: Path) -> Iterator[Runtime]:
    settings = Settings(database_url=str(database.engine.url), secret_key=TEST_SECRET, import_batch_size=3)
    rt = Runtime(settings=settings, database=database, keys=keys)
    set_runtime(rt)
    try:
        yield rt
    finally:
        set_runtime(None)


@pytest.fixture
def cli(runtime: Runtime) -> CliRunner:
    """Runs `fangkong ...` in-process against the test database (see tests/support/web.run)."""
    return CliRunner()
