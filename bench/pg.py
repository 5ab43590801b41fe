"""A throw-away PostgreSQL database per benchmark run, so runs never see each other's rows."""

from __future__ import annotations

import uuid

from sqlalchemy import Engine, create_engine, text


def _admin(admin_url: str) -> Engine:
    return create_engine(admin_url.replace("postgresql://", "postgresql+psycopg://"), isolation_level="AUTOCOMMIT")


def fresh_postgres(admin_url: str) -> tuple[str, str]:
    """Create a database; returns its URL and name."""
    name = f"fangkong_bench_{uuid.uuid4().hex[:10]}"
    admin = _admin(admin_url)
    with admin.connect() as c:
        c.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return admin_url.rsplit("/", 1)[0] + f"/{name}", name


def drop_postgres(admin_url: str, name: str) -> None:
    admin = _admin(admin_url)
    with admin.connect() as c:
        c.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()
