"""Alembic environment, run through `fangkong db upgrade` (fangkong.core.migrate), which passes the connection."""

from __future__ import annotations

from alembic import context
from sqlalchemy import Connection

from fangkong import registry
from fangkong.core.db import Base

config = context.config
registry.import_models()  # every domain's tables in the metadata
target_metadata = Base.metadata


def _configure(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        # SQLite cannot ALTER most things; batch mode recreates the table instead.
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )


connection = config.attributes.get("connection")
if connection is None:
    raise RuntimeError("run migrations through `fangkong db upgrade`, which provides the connection")
_configure(connection)
with context.begin_transaction():
    context.run_migrations()
