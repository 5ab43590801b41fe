"""Schema migrations (Alembic) run from code: every command against a new database creates the schema first."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, Engine

MIGRATIONS = Path(__file__).resolve().parent.parent / "migrations"


def alembic_config(connection: Connection | None = None) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    # Date-prefixed revision files: 2026_11_22_1400-<rev>_<slug>.py
    cfg.set_main_option(
        "file_template", "%%(year)d_%%(month).2d_%%(day).2d_%%(hour).2d%%(minute).2d-%%(rev)s_%%(slug)s"
    )
    if connection is not None:
        cfg.attributes["connection"] = connection
    return cfg


def head_revision() -> str | None:
    return ScriptDirectory.from_config(alembic_config()).get_current_head()


def current_revision(connection: Connection) -> str | None:
    return MigrationContext.configure(connection).get_current_revision()


def upgrade_connection(connection: Connection) -> None:
    command.upgrade(alembic_config(connection), "head")


def upgrade(engine: Engine) -> bool:
    """Bring the schema to head. Returns True when migrations ran."""
    with engine.connect() as connection:
        if current_revision(connection) == head_revision():
            return False
    with engine.begin() as connection:
        upgrade_connection(connection)
    return True
