"""Database: declarative base, portable column types, engines and the unit of work.

One transaction per request or command: `Database.unit_of_work()` commits when the block ends normally and rolls
back otherwise; services only flush. The same code runs on SQLite (WAL) and PostgreSQL (psycopg 3).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from sqlalchemy import Column, DateTime, Engine, MetaData, String, Table, create_engine, event
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker
from sqlalchemy.types import TypeDecorator

# Explicit constraint names: Alembic's batch mode on SQLite needs them to alter tables.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class UTCDateTime(TypeDecorator[dt.datetime]):
    """Timezone-aware UTC datetimes on both databases (SQLite has no time zones; we store naive UTC there)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: dt.datetime | None, dialect: Dialect) -> dt.datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTCDateTime column; use fangkong.core.clock")
        value = value.astimezone(dt.UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: dt.datetime | None, dialect: Dialect) -> dt.datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=dt.UTC) if value.tzinfo is None else value.astimezone(dt.UTC)


def path_string(length: int) -> Any:
    """A string compared byte by byte on both databases, so that prefix ranges on materialized paths use the
    index (PostgreSQL's default locale collation would reorder '/' and digits)."""
    return String(length).with_variant(String(length, collation="C"), "postgresql")


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    # Take transaction control away from pysqlite, which would otherwise commit implicitly before DDL and
    # break SAVEPOINTs; SQLAlchemy emits BEGIN itself (see _sqlite_begin). The SQLAlchemy docs' own recipe.
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=10000")
    # WAL lets readers go on while one writer writes; synchronous=FULL so an acknowledged commit survives
    # a power cut as well as a crash.
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=FULL")
    # 64 MiB page cache (the default is 2 MiB): the keyed-hash indexes receive keys in random order, and
    # bulk imports slow down fivefold when their pages keep falling out of the cache.
    cursor.execute("PRAGMA cache_size=-65536")
    cursor.execute("PRAGMA temp_store=MEMORY")
    cursor.close()


def _sqlite_begin(connection: Any) -> None:
    # IMMEDIATE takes the write lock at BEGIN, where busy_timeout makes writers queue. A deferred BEGIN reads
    # first and upgrades later, and in WAL mode an upgrade after another connection's commit fails at once with
    # "database is locked" (no waiting can fix a stale snapshot): that is what concurrent check-ins hit. Almost
    # every request writes (audit rows, token use), and SQLite has one writer anyway.
    connection.exec_driver_sql("BEGIN IMMEDIATE")


# Synchronous routes run in a thread pool of 40 (anyio's default), and a request holds its session from the
# authentication dependency on. With fewer connections than threads, 64 concurrent requests deadlocked one
# process (bench/verify_load.py): every thread waited for a connection held by a thread waiting for the lock.
POOL_SIZE, POOL_OVERFLOW = 10, 30


def make_engine(url: str, **kwargs: Any) -> Engine:
    # Statement parameters carry ID numbers, phones, names and addresses: SQLAlchemy would otherwise quote them
    # in every database error's message ("[parameters: ...]"), which our error log and tracebacks print, and in
    # its statement log. Errors name the statement only.
    kwargs.setdefault("hide_parameters", True)
    if not url.startswith("sqlite") or ":memory:" not in url:
        kwargs.setdefault("pool_size", POOL_SIZE)
        kwargs.setdefault("max_overflow", POOL_OVERFLOW)
    if not url.startswith("sqlite"):  # a server may drop a pooled connection (restart, failover, idle timeout)
        kwargs.setdefault("pool_pre_ping", True)
    engine = create_engine(url, **kwargs)
    if engine.dialect.name == "sqlite":
        event.listen(engine, "connect", _sqlite_pragmas)
        event.listen(engine, "begin", _sqlite_begin)
    return engine


class Database:
    """An engine and its session factory. Tests bind the factory to one connection and roll it back."""

    def __init__(self, engine: Engine, factory: sessionmaker[Session] | None = None) -> None:
        self.engine = engine
        self.factory = factory or sessionmaker(bind=engine, expire_on_commit=False)

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    @contextmanager
    def unit_of_work(self) -> Iterator[Session]:
        session = self.factory()
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise
        finally:
            session.close()


def driver_value(column: Column[Any], value: Any, dialect: Dialect) -> Any:
    """`value` as the database driver wants it for `column` (e.g. a UTC datetime for SQLite). Compute it once
    per batch for values that repeat, such as the batch's timestamp."""
    processor = driver_processor(column, dialect)
    return processor(value) if processor else value


def driver_processor(column: Column[Any], dialect: Dialect) -> Any:
    """The function turning a Python value into what the driver stores for `column`, or None.

    Through dialect_impl: a TypeDecorator's own bind_processor skips the dialect's processor, and SQLite would get
    a datetime that its default adapter writes in another format than SQLAlchemy compares against.
    """
    return column.type.dialect_impl(dialect).bind_processor(dialect)


def bulk_insert(session: Session, table: Table, columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
    """INSERT many rows through the driver's executemany, skipping SQLAlchemy's per-value processing.

    For the hot import paths only (a million rows a minute). Every value must already be driver-ready:
    str, int, bytes, None, date, or the output of `driver_value`; enums as their `.value`.
    """
    if not rows:
        return
    connection = session.connection()
    dialect = connection.dialect
    quote = dialect.identifier_preparer.quote
    marker = "?" if dialect.paramstyle == "qmark" else "%s"
    # Identifiers come from our own table metadata, quoted; values travel as bound parameters.
    sql = (
        f"INSERT INTO {quote(table.name)} ({', '.join(quote(c) for c in columns)}) "  # noqa: S608
        f"VALUES ({', '.join([marker] * len(columns))})"
    )
    connection.exec_driver_sql(sql, list(rows))


def enum_type(enum_cls: type[Any], length: int = 32, *, constraint: bool = True, name: str | None = None) -> Any:
    """Enums stored as their string values in a VARCHAR with a CHECK, identical on both databases. Enums that
    grow with every release (audit actions) go without the CHECK: changing one costs a table rebuild on SQLite.
    `name` names the CHECK when one table has two columns of the same enum (constraint names are per schema on
    PostgreSQL)."""
    from sqlalchemy import Enum

    return Enum(
        enum_cls,
        native_enum=False,
        length=length,
        values_callable=lambda members: [m.value for m in members],
        validate_strings=True,
        create_constraint=constraint,
        name=name or enum_cls.__name__.lower(),
    )
