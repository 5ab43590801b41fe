"""The runtime's resilience: a pooled connection the server dropped, the key file's place."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import Engine, text

from fangkong.core.config import Settings
from fangkong.core.db import make_engine
from fangkong.core.runtime import open_runtime


def test_a_connection_the_server_dropped_is_replaced_before_use(engine: Engine) -> None:
    if engine.dialect.name != "postgresql":
        pytest.skip("PostgreSQL only: SQLite has no server to drop a connection")
    pooled = make_engine(engine.url.render_as_string(hide_password=False), pool_size=1, max_overflow=0)
    try:
        with pooled.connect() as conn:
            pid = conn.execute(text("SELECT pg_backend_pid()")).scalar_one()
        with engine.connect() as admin:
            admin.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
            admin.commit()
        with pooled.connect() as conn:  # without pool_pre_ping: "terminating connection due to administrator command"
            assert conn.execute(text("SELECT 1")).scalar_one() == 1
    finally:
        pooled.dispose()


def test_two_runtimes_from_different_directories_share_the_key(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("FANGKONG_SECRET_KEY", raising=False)
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    url = f"sqlite:///{tmp_path / 'city.db'}"
    monkeypatch.chdir(tmp_path / "a")
    first = open_runtime(Settings(database_url=url))
    monkeypatch.chdir(tmp_path / "b")
    second = open_runtime(Settings(database_url=url))  # refused (another key) if the key file moved with the cwd
    assert first.keys.fingerprint == second.keys.fingerprint
    first.database.engine.dispose()
    second.database.engine.dispose()


def test_a_relative_database_and_its_key_are_fixed_when_the_settings_are_read(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    settings = Settings(database_url="sqlite:///city.db")
    monkeypatch.chdir("/")
    assert settings.default_secret_file() == tmp_path / "city.db.secret"
    assert settings.database_url == f"sqlite:///{tmp_path / 'city.db'}"


def test_a_database_server_s_key_file_does_not_depend_on_the_working_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    url = "postgresql://fangkong@db.example:5432/city"
    monkeypatch.chdir(tmp_path)
    here = Settings(database_url=url).default_secret_file()
    monkeypatch.chdir("/")
    assert Settings(database_url=url).default_secret_file() == here
    assert here == tmp_path / "config" / "fangkong" / "db.example_5432_city.secret"
