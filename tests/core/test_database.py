import os
import subprocess
import sys
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Connection, inspect, select

from fangkong import registry
from fangkong.core.config import Settings
from fangkong.core.db import Base, Database
from fangkong.core.errors import ConfigurationError
from fangkong.core.models import SystemSetting
from fangkong.core.runtime import open_runtime


def test_the_migrations_build_exactly_the_models_schema(connection: Connection) -> None:
    registry.import_models()
    diff = compare_metadata(MigrationContext.configure(connection), Base.metadata)
    assert diff == []


def write_then_fail(database: Database) -> None:
    with database.unit_of_work() as db:
        db.add(SystemSetting(key="probe", value="1"))
        db.flush()
        raise RuntimeError("boom")


def test_a_unit_of_work_rolls_back_when_its_block_fails(database: Database) -> None:
    with pytest.raises(RuntimeError, match="boom"):
        write_then_fail(database)
    with database.unit_of_work() as db:
        assert db.get(SystemSetting, "probe") is None


def test_a_unit_of_work_commits_when_its_block_ends(database: Database) -> None:
    with database.unit_of_work() as db:
        db.add(SystemSetting(key="probe", value="1"))
    with database.unit_of_work() as db:
        assert db.execute(select(SystemSetting.value).where(SystemSetting.key == "probe")).scalar_one() == "1"


def test_a_secret_key_is_generated_beside_a_new_sqlite_database_and_reused(tmp_path: Path) -> None:
    settings = Settings(database_url=f"sqlite:///{tmp_path}/city.db")
    first = open_runtime(settings)
    key_file = tmp_path / "city.db.secret"
    assert key_file.exists()
    assert key_file.stat().st_mode & 0o777 == 0o600
    assert "person" in inspect(first.database.engine).get_table_names()
    second = open_runtime(Settings(database_url=f"sqlite:///{tmp_path}/city.db"))
    assert second.keys.fingerprint == first.keys.fingerprint


def test_the_wrong_secret_key_for_a_database_is_refused(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/city.db"
    open_runtime(Settings(database_url=url, secret_key="the-original-secret-key"))
    with pytest.raises(ConfigurationError, match="not the key this database was created with"):
        open_runtime(Settings(database_url=url, secret_key="another-secret-key-entirely"))


def test_plain_postgresql_urls_use_psycopg_3() -> None:
    url = Settings(database_url="postgresql://postgres@127.0.0.1:5432/postgres").sqlalchemy_url()
    assert url.startswith("postgresql+psycopg://")


def test_any_command_on_a_new_database_creates_its_schema(tmp_path: Path) -> None:
    env = os.environ | {"FANGKONG_DATABASE_URL": f"sqlite:///{tmp_path}/new.db"}
    env.pop("FANGKONG_SECRET_KEY", None)
    result = subprocess.run(
        [sys.executable, "-m", "fangkong.cli", "person", "show", "nobody"],
        env=env,
        capture_output=True,
        text=True,
        cwd=tmp_path,
        check=False,
    )
    assert result.returncode == 1
    assert "no person with ref nobody" in result.stderr
    assert (tmp_path / "new.db").exists()
    assert (tmp_path / "new.db.secret").exists()
    upgrade = subprocess.run(
        [sys.executable, "-m", "fangkong.cli", "db", "upgrade"],
        env=env,
        capture_output=True,
        text=True,
        cwd=tmp_path,
        check=False,
    )
    assert upgrade.returncode == 0
    assert "already up to date" in upgrade.stdout


def test_the_connection_pool_covers_the_request_thread_pool(tmp_path: Path) -> None:
    from fangkong.core.db import make_engine

    # 40: anyio's default thread limit, where FastAPI runs synchronous routes.
    engine = make_engine(f"sqlite:///{tmp_path / 'pool.db'}")
    assert engine.pool.size() + engine.pool._max_overflow >= 40  # type: ignore[attr-defined]
