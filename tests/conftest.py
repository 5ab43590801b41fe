"""Test fixtures.

Every database test runs on SQLite, and again on PostgreSQL when FANGKONG_TEST_DATABASE_URL names a server.
Each backend gets a database of its own, built by running the migrations, and each test runs inside a
transaction that is rolled back (services and commands that "commit" only release a SAVEPOINT).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Connection, Engine
from sqlalchemy.orm import Session, sessionmaker
from typer.testing import CliRunner

from fangkong import registry
from fangkong.core import migrate
from fangkong.core.config import Settings
from fangkong.core.crypto import Keyring
from fangkong.core.db import Database, make_engine
from fangkong.core.runtime import Runtime, set_runtime

from .support.databases import BACKENDS, own_database

# The domains' models and fact subscriptions, as the application and the CLI install them.
registry.install()

TEST_SECRET = "test-secret-key-for-fangkong-tests"


@pytest.fixture(scope="session", autouse=True)
def cheap_password_hashing() -> None:
    from argon2 import PasswordHasher

    from fangkong.auth.service import use_password_hasher

    use_password_hasher(PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1))


@pytest.fixture(scope="session", params=BACKENDS)
def engine(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Engine]:
    with own_database(request.param, tmp_path_factory.mktemp("db"), "test") as url:
        eng = make_engine(url)
        try:
            migrate.upgrade(eng)
            yield eng
        finally:
            eng.dispose()


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
