"""Benchmark: contact tracing from check-ins, against the naive SQL self-join, on SQLite and PostgreSQL.

    flock /tmp/fk-bench.lock .venv/bin/python bench/tracing.py --rows 1000000 10000000 \\
        [--postgres postgresql://postgres@127.0.0.1:5432/postgres | --no-postgres] [--with-100m]

Run it under `flock` (as above) so that it never measures while another benchmark holds the machine.

For each size, a synthetic city is written straight into a fresh database by SQL (SQLite in a temporary
directory, then a throw-away PostgreSQL database; the same rows on both): `--days` (28) days of check-ins, about
1.5 visits a person a day, so rows / 42 people; rows / 2,500 venues (at least 1,000). A quarter of the visits
are to the person's workplace (offices, factories, schools: arrive 07:30-09:30, stay 8-10 h), 15 % through the
gate of their residential compound (06:00-23:00), the rest errands (supermarkets, markets, restaurants,
stations, buses, taxis, pharmacies, clinics, hospitals) picked with a skewed popularity (the busiest venue gets
1/sqrt(errand venues) of all errands) at a daytime rhythm peaking mid-afternoon. About half the visits have no
check-out, so they last the venue kind's default dwell. The schema is the project's own (`fangkong db upgrade`);
then ANALYZE (VACUUM ANALYZE on PostgreSQL).

Cases: an index person drawn at random with an infectious window of 5-7 days ending 0-2 days before the end of
the data, at 04:00 local time (nobody is inside a venue then, so windows cut no visit in two and the naive
join sees the same visits as the service). Measured, same run, same data, on both databases:

* one case: `fangkong.tracing.service.co_present_contacts` for 200 cases, each timed alone (median, p99), after
  the check-in table and its indexes were read once into the operating system's file cache (as a running
  server would have them) and 20 warm-up cases; and before that read, the very first call on a new connection
  ("cold": statement compilation, empty caches, pages wherever the fill left them; the file cache is not
  dropped, which would disturb the rest of the machine);
* a batch of 1,000 cases: 1,000 calls one after the other in one session, total seconds;
* the naive join an analyst would write (check-ins joined to check-ins on venue and overlapping time, the
  default dwell from the venue kind, summed per person, at least 10 minutes), for at most `--naive-cases`
  (10) of the same cases within `--naive-budget` (120) seconds, each query cancelled after the time left; the
  naive figure for 1,000 cases is extrapolated from its per-case median (said so in the output);
* correctness: for `--check-cases` (3) cases, the naive join's contacts (any overlap, and >= 10 min) against
  the service's, and the service's contacts on SQLite against the same cases on PostgreSQL.

Targets (the issue): one case under 50 ms at 10 M check-ins, 1,000 cases under 10 s, at least 100x the naive
join. `--with-100m` adds 100 M rows if the disk has room (checked first). Results are printed as a markdown
table for docs/benchmarks.md.
"""

# ruff: noqa: S608 -- the SQL is assembled from this file's own integers and constants, never from input

from __future__ import annotations

import argparse
import datetime as dt
import gc
import hashlib
import os
import platform
import random
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, create_engine, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from fangkong.core.db import make_engine
from fangkong.tracing.engine import Contact, Visit, presence
from fangkong.tracing.service import DEFAULT_MIN_OVERLAP, co_present_contacts, index_visits, visits_overlapping
from fangkong.venues.models import DEFAULT_DWELL, VenueKind

sys.path.insert(0, str(Path(__file__).resolve().parent))
from pg import drop_postgres, fresh_postgres

FANGKONG = [sys.executable, "-m", "fangkong.cli"]
SECRET = "benchmark-secret-key-not-for-production"
DEFAULT_PG = "postgresql://postgres@127.0.0.1:5432/postgres"
DAY = 86_400
LOCAL = dt.timezone(dt.timedelta(hours=8), "CST")  # the city's clock: daily rhythm and case windows
DATA_END = dt.datetime(2026, 11, 22, tzinfo=LOCAL)  # fixed, so that runs are reproducible
VISITS_PER_DAY = 1.5
WORK, GATE = 25, 15  # per cent of visits: to the workplace, through the residential gate; the rest are errands
# Errand venues by popularity rank, repeating: the busiest is a station, then a supermarket, a hospital...
ERRAND_KINDS = [
    VenueKind.station, VenueKind.supermarket, VenueKind.hospital, VenueKind.market, VenueKind.supermarket,
    VenueKind.restaurant, VenueKind.bus_line, VenueKind.restaurant, VenueKind.pharmacy, VenueKind.taxi,
    VenueKind.restaurant, VenueKind.supermarket, VenueKind.clinic, VenueKind.restaurant, VenueKind.pharmacy,
    VenueKind.bus_line, VenueKind.restaurant, VenueKind.taxi, VenueKind.other, VenueKind.restaurant,
]  # fmt: skip
WORK_KINDS = [VenueKind.office] * 10 + [VenueKind.factory] * 4 + [VenueKind.school] * 3
# Pseudo-random numbers in SQL: integer arithmetic only, so that SQLite and PostgreSQL compute the same rows.
# h = ((x + 1) * M mod p)^2 mod p, top 16 bits: not cryptographic, but without the lattice of a plain LCG.
PRIME = 2_147_483_647
MULTIPLIERS = [742938285, 950706376, 1226874159, 62089911, 1343714438, 630360016, 397204094, 1058580, 48271]
# For the disk check: at 10 M, SQLite's file takes 232 bytes a row and PostgreSQL's table and indexes 224; SQLite
# holds the whole fill in its WAL before the checkpoint, so twice that at the peak. One database at a time.
BYTES_PER_ROW = 500


@dataclass(frozen=True)
class City:
    rows: int  # check-ins
    days: int
    people: int
    visits_per_person: int
    venues: int
    gates: int
    workplaces: int

    @property
    def errand_venues(self) -> int:
        return self.venues - self.gates - self.workplaces

    @property
    def start(self) -> dt.datetime:
        return DATA_END - dt.timedelta(days=self.days)


def city_for(rows: int, days: int) -> City:
    k = round(days * VISITS_PER_DAY)
    people = rows // k
    venues = min(max(rows // 2_500, 1_000), 40_000)
    return City(people * k, days, people, k, venues, venues * 15 // 100, venues * 17 // 100)


def venue_rows(city: City) -> list[tuple[int, VenueKind]]:
    """(index, kind) of every venue: gates, then workplaces, then errand venues from the busiest down."""
    kinds = [VenueKind.residential_gate] * city.gates
    kinds += [WORK_KINDS[i % len(WORK_KINDS)] for i in range(city.workplaces)]
    kinds += [ERRAND_KINDS[i % len(ERRAND_KINDS)] for i in range(city.errand_venues)]
    return list(enumerate(kinds))


def _h(expr: str, i: int) -> str:
    """A pseudo-random integer in [0, 65536) from the integer SQL expression `expr`, stream `i`."""
    v = f"((({expr}) + 1) * {MULTIPLIERS[i]} % {PRIME})"
    return f"(({v} * {v}) % {PRIME} / 32768)"


def checkin_select(city: City, dialect: str, p0: int, v0: int) -> str:
    """The SELECT list producing check-in number x (0 <= x < rows): person x mod people, their (x div people)-th
    visit. The same integers on both databases; only the timestamp formatting differs."""
    t0 = int(city.start.timestamp())
    p, k = f"(x % {city.people})", f"(x / {city.people})"
    typ = f"({_h('x', 0)} % 100)"
    day = f"(({k} * {city.days} / {city.visits_per_person} + {_h(p, 6)} % {city.days}) % {city.days})"
    venue = (
        f"CASE WHEN {typ} < {WORK} THEN {city.gates} + {_h(p, 7)} % {city.workplaces} "
        f"WHEN {typ} < {WORK + GATE} THEN {_h(p, 8)} % {city.gates} "
        f"ELSE {city.gates + city.workplaces} + {city.errand_venues} * {_h('x', 2)} * {_h('x', 2)} / 4294967296 END"
    )
    time_of_day = (
        f"CASE WHEN {typ} < {WORK} THEN 27000 + {_h('x', 1)} % 7200 "  # 07:30-09:30
        f"WHEN {typ} < {WORK + GATE} THEN 21600 + {_h('x', 1)} % 61200 "  # 06:00-23:00
        f"ELSE 25200 + {_h('x', 1)} % 27000 + {_h('x', 5)} % 27000 END"  # 07:00-22:00, peak 14:30
    )
    seconds = f"({t0} + {day} * {DAY} + {time_of_day})"
    stay = (
        f"CASE WHEN {typ} < {WORK} THEN CASE WHEN {_h('x', 3)} % 2 = 0 THEN 28800 + {_h('x', 4)} % 7200 END "
        f"WHEN {typ} < {WORK + GATE} THEN CASE WHEN {_h('x', 3)} % 10 = 0 THEN 60 + {_h('x', 4)} % 540 END "
        f"ELSE CASE WHEN {_h('x', 3)} % 2 = 0 THEN 300 + {_h('x', 4)} % 6900 END END"
    )
    out = f"({seconds} + {stay})"  # NULL without a check-out
    if dialect == "postgresql":  # k microseconds make (person, time, venue) unique: a person's k differ
        at = f"to_timestamp({seconds}) + {k} * interval '1 microsecond'"
        out_at = f"to_timestamp({out}) + {k} * interval '1 microsecond'"
        now = "now()"
    else:  # SQLite stores naive UTC as 'YYYY-MM-DD HH:MM:SS.ffffff' text
        at = f"strftime('%Y-%m-%d %H:%M:%S', {seconds}, 'unixepoch') || printf('.%06d', {k})"
        out_at = f"strftime('%Y-%m-%d %H:%M:%S', {out}, 'unixepoch') || printf('.%06d', {k})"
        now = "strftime('%Y-%m-%d %H:%M:%f', 'now')"
    return f"{p0} + {p}, {v0} + ({venue}), {at}, {out_at}, 'import', {now}"


def _sa_url(url: str) -> str:
    return url.replace("postgresql://", "postgresql+psycopg://", 1)


def create_schema(url: str) -> None:
    env = os.environ | {"FANGKONG_DATABASE_URL": url, "FANGKONG_SECRET_KEY": SECRET}
    result = subprocess.run([*FANGKONG, "db", "upgrade"], env=env, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise SystemExit(f"fangkong db upgrade failed:\n{result.stdout}{result.stderr}")


def fill(url: str, city: City) -> dict[str, float]:
    """Region, venues, people and check-ins, then statistics. Returns a fingerprint of the check-ins."""
    dialect = "postgresql" if url.startswith("postgresql") else "sqlite"
    # SQLite: autocommit at the driver so that the PRAGMAs work, transactions by hand; PostgreSQL: VACUUM too.
    engine = create_engine(_sa_url(url), isolation_level="AUTOCOMMIT")
    now = dt.datetime.now(dt.UTC)
    stamp: Any = now if dialect == "postgresql" else now.strftime("%Y-%m-%d %H:%M:%S.%f")
    with engine.connect() as c:
        if dialect == "sqlite":  # bulk-load settings for this connection only; the file stays in WAL mode
            for pragma in ("foreign_keys=OFF", "synchronous=OFF", "cache_size=-1048576", "temp_store=MEMORY"):
                c.exec_driver_sql(f"PRAGMA {pragma}")
        c.exec_driver_sql("BEGIN")
        if dialect == "postgresql":  # no per-row foreign-key triggers during the load (the rows are valid)
            c.exec_driver_sql("SET LOCAL session_replication_role = replica")
        region = c.execute(
            text(
                "INSERT INTO region (code, name, level, parent_id, path, created_at, updated_at) "
                "VALUES ('210800', '营口市', 'city', NULL, '/210800/', :now, :now) RETURNING id"
            ),
            {"now": stamp},
        ).scalar_one()
        c.execute(
            text(
                "INSERT INTO venue (ref, name, kind, region_id, address, token, created_at, updated_at) "
                "VALUES (:ref, :name, :kind, :region, '', :token, :now, :now)"
            ),
            [
                {"ref": f"BV{i:06d}", "name": f"{kind.value} {i}", "kind": kind.value, "region": region,
                 "token": f"bench-token-{i:06d}", "now": stamp}
                for i, kind in venue_rows(city)
            ],
        )  # fmt: skip
        if dialect == "postgresql":
            series = f"generate_series(0::bigint, {city.people - 1}) AS g(x)"
            id_bytes = "convert_to(lpad(x::text, 16, '0'), 'UTF8')"
            head = ""
        else:
            series = "g"
            id_bytes = "CAST(printf('%016d', x) AS BLOB)"
            head = f"WITH RECURSIVE g(x) AS (SELECT 0 UNION ALL SELECT x + 1 FROM g WHERE x < {city.people - 1}) "
        c.execute(
            text(
                f"{head}INSERT INTO person (ref, name, id_type, id_number_enc, id_hash, region_id, address, "
                f"created_at, updated_at) SELECT 'BP' || x, 'bench ' || x, 'other', {id_bytes}, {id_bytes}, "
                f":region, '', :now, :now FROM {series}"
            ),
            {"region": region, "now": stamp},
        )
        p0, p1 = c.execute(text("SELECT min(id), max(id) FROM person")).one()
        v0, v1 = c.execute(text("SELECT min(id), max(id) FROM venue")).one()
        if p1 - p0 + 1 != city.people or v1 - v0 + 1 != city.venues:
            raise SystemExit("person or venue ids are not contiguous; the fill assumes they are")
        select = checkin_select(city, dialect, p0, v0)
        columns = "person_id, venue_id, checked_in_at, checked_out_at, source, created_at"
        if dialect == "postgresql":
            sql = f"INSERT INTO checkin ({columns}) SELECT {select} FROM generate_series(0::bigint, {city.rows - 1}) AS g(x)"  # noqa: E501
        else:
            sql = (
                f"WITH RECURSIVE g(x) AS (SELECT 0 UNION ALL SELECT x + 1 FROM g WHERE x < {city.rows - 1}) "
                f"INSERT INTO checkin ({columns}) SELECT {select} FROM g"
            )
        c.execute(text(sql))
        c.exec_driver_sql("COMMIT")
        c.exec_driver_sql("VACUUM ANALYZE" if dialect == "postgresql" else "ANALYZE")
        n, venue_sum, open_visits = c.execute(
            text("SELECT count(*), sum(venue_id), count(*) - count(checked_out_at) FROM checkin")
        ).one()
    engine.dispose()
    if n != city.rows:
        raise SystemExit(f"expected {city.rows:,} check-ins, found {n:,}")
    return {"rows": float(n), "venue_sum": float(venue_sum), "open_visits": float(open_visits)}


@dataclass(frozen=True)
class Case:
    person: int  # index in 0 .. people - 1; the id is p0 + person
    start: dt.datetime
    end: dt.datetime


@dataclass
class Plan:
    warmup: list[Case]
    single: list[Case]
    batch: list[Case]


def plan_cases(city: City, seed: int, n_single: int, n_batch: int, n_warmup: int) -> Plan:
    rng = random.Random(seed)
    people = rng.sample(range(city.people), n_warmup + n_single + n_batch)
    cases = []
    for person in people:
        end = DATA_END - dt.timedelta(days=rng.randrange(3)) + dt.timedelta(hours=4)
        cases.append(Case(person, end - dt.timedelta(days=rng.choice((5, 6, 7))), end))
    return Plan(cases[:n_warmup], cases[n_warmup : n_warmup + n_single], cases[n_warmup + n_single :])


def contacts_of(db: Session, p0: int, case: Case, min_overlap: dt.timedelta = DEFAULT_MIN_OVERLAP) -> list[Contact]:
    return co_present_contacts(db, person_id=p0 + case.person, start=case.start, end=case.end, min_overlap=min_overlap)


def fingerprint(contacts: list[Contact]) -> str:
    text_ = ";".join(f"{c.person}:{c.overlap.total_seconds():.6f}" for c in contacts)
    return hashlib.sha256(text_.encode()).hexdigest()[:16]


def _dwell_case(column: str) -> str:
    whens = " ".join(f"WHEN '{kind.value}' THEN {int(d.total_seconds())}" for kind, d in DEFAULT_DWELL.items())
    return f"CASE {column} {whens} END"


def naive_sql(dialect: str) -> str:
    """The self-join an analyst would write: every visit of the index person in the window, joined to every
    other person's visit at the same venue whose interval overlaps it, overlaps summed per person."""
    dwell = _dwell_case("v.kind")
    if dialect == "postgresql":
        a_end = f"COALESCE(a.checked_out_at, a.checked_in_at + ({dwell}) * interval '1 second')"
        b_end = f"COALESCE(b.checked_out_at, b.checked_in_at + ({dwell}) * interval '1 second')"
        overlap = f"EXTRACT(EPOCH FROM LEAST({a_end}, {b_end}) - GREATEST(a.checked_in_at, b.checked_in_at))"
    else:
        a_end = f"COALESCE(a.checked_out_at, strftime('%Y-%m-%d %H:%M:%f', a.checked_in_at, '+' || ({dwell}) || ' seconds'))"  # noqa: E501
        b_end = f"COALESCE(b.checked_out_at, strftime('%Y-%m-%d %H:%M:%f', b.checked_in_at, '+' || ({dwell}) || ' seconds'))"  # noqa: E501
        overlap = f"(julianday(MIN({a_end}, {b_end})) - julianday(MAX(a.checked_in_at, b.checked_in_at))) * 86400.0"
    return (
        f"SELECT b.person_id, SUM({overlap}) FROM checkin a "
        "JOIN venue v ON v.id = a.venue_id "
        "JOIN checkin b ON b.venue_id = a.venue_id AND b.person_id <> a.person_id "
        f"AND b.checked_in_at < {a_end} AND a.checked_in_at < {b_end} "
        "WHERE a.person_id = :p AND a.checked_in_at >= :t0 AND a.checked_in_at < :t1 "
        f"GROUP BY b.person_id HAVING SUM({overlap}) >= :least"
    )


class Timeout(Exception):
    pass


@contextmanager
def time_limit(conn: Connection, seconds: float) -> Iterator[None]:
    """Cancel the statement after `seconds`: statement_timeout on PostgreSQL, a progress handler on SQLite."""
    if conn.dialect.name == "postgresql":
        conn.exec_driver_sql(f"SET statement_timeout = {max(1, int(seconds * 1000))}")
        try:
            yield
        except DBAPIError as e:
            if "statement timeout" in str(e.orig):
                conn.rollback()
                raise Timeout from e
            raise
        finally:
            if conn.in_transaction():
                conn.rollback()
        return
    raw: Any = conn.connection.dbapi_connection
    deadline = time.perf_counter() + seconds
    raw.set_progress_handler(lambda: int(time.perf_counter() > deadline), 20_000)
    try:
        yield
    except DBAPIError as e:
        if isinstance(e.orig, sqlite3.OperationalError) and "interrupted" in str(e.orig):
            conn.rollback()
            raise Timeout from e
        raise
    finally:
        raw.set_progress_handler(None, 0)
        if conn.in_transaction():
            conn.rollback()


def run_naive(conn: Connection, p0: int, case: Case, least: float, seconds: float) -> dict[int, float]:
    t0, t1 = case.start.astimezone(dt.UTC), case.end.astimezone(dt.UTC)
    bounds: tuple[Any, Any] = (t0, t1)
    if conn.dialect.name == "sqlite":
        bounds = (t0.strftime("%Y-%m-%d %H:%M:%S.%f"), t1.strftime("%Y-%m-%d %H:%M:%S.%f"))
    params = {"p": p0 + case.person, "t0": bounds[0], "t1": bounds[1], "least": least}
    with time_limit(conn, seconds):
        rows = conn.execute(text(naive_sql(conn.dialect.name)), params).all()
    return {int(person): float(overlap) for person, overlap in rows}


def quantile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


@dataclass
class Result:
    fill_s: float = 0.0
    fill: dict[str, float] = field(default_factory=dict)
    cold_ms: float = 0.0
    prewarm_gb: float = 0.0
    prewarm_s: float = 0.0
    single_ms: list[float] = field(default_factory=list)
    batch_s: float = 0.0
    naive_ms: list[float] = field(default_factory=list)  # cases that finished
    naive_ours_ms: list[float] = field(default_factory=list)  # the service on the same cases
    naive_timeouts: int = 0
    naive_timeout_s: float = 0.0
    checks: list[str] = field(default_factory=list)
    check_failed: bool = False
    fingerprints: list[str] = field(default_factory=list)
    stats: dict[str, list[float]] = field(default_factory=dict)


def fetch_stats(db: Session, p0: int, case: Case) -> dict[str, float]:
    """What one trace reads: the index person's visits, the others' visits fetched, how many of those can
    overlap at all, and the contacts found. Untimed."""
    mine = index_visits(db, person_id=p0 + case.person, start=case.start, end=case.end)
    by_venue: dict[int, list[Visit]] = {}
    for visit in mine:
        by_venue.setdefault(visit.venue, []).append(visit)
    window = {"start": case.start, "end": case.end}
    spans = [(v, lo, hi, vs[0].dwell) for v, vs in by_venue.items() for lo, hi in presence(vs, **window)]
    others = visits_overlapping(db, spans) if spans else []
    by_span: dict[int, list[tuple[dt.datetime, dt.datetime]]] = {}
    for v, lo, hi, _ in spans:
        by_span.setdefault(v, []).append((lo, hi))
    useful = sum(
        1
        for o in others
        if o.person != p0 + case.person and any(o.checked_in_at < hi and lo < o.end for lo, hi in by_span[o.venue])
    )
    return {"index visits": len(mine), "spans": len(spans), "rows fetched": len(others), "rows that overlap": useful}


def prewarm(url: str, db: Session) -> float:
    """Read the check-ins' table and indexes once, so that the timings see them in the operating system's file
    cache (a server keeps its recent check-ins there; right after the fill they may or may not be). GB read."""
    if url.startswith("sqlite"):
        path = Path(url.removeprefix("sqlite:///"))
        size = 0
        for file in (path, path.with_name(path.name + "-wal")):
            if file.exists():
                with file.open("rb") as f:
                    while chunk := f.read(1 << 22):
                        size += len(chunk)
        return size / 1e9
    db.execute(text("CREATE EXTENSION IF NOT EXISTS pg_prewarm"))
    relations = (
        "SELECT oid FROM pg_class WHERE relname IN ('checkin', 'venue') UNION "
        "SELECT indexrelid FROM pg_index WHERE indrelid IN ('checkin'::regclass, 'venue'::regclass)"
    )
    size = db.execute(text(f"SELECT sum(pg_relation_size(oid)) FROM ({relations}) r")).scalar_one()
    db.execute(text(f"SELECT pg_prewarm(oid, 'read') FROM ({relations}) r"))
    db.commit()
    return float(size) / 1e9


def measure(url: str, city: City, plan: Plan, args: argparse.Namespace, log: Callable[[str], None]) -> Result:
    result = Result()
    create_schema(url)
    start = time.perf_counter()
    result.fill = fill(url, city)
    result.fill_s = time.perf_counter() - start
    log(f"  filled {city.rows:,} check-ins ({city.people:,} people, {city.venues:,} venues) in {result.fill_s:.0f} s")
    engine: Engine = make_engine(_sa_url(url))
    with engine.connect() as c:
        p0 = int(c.execute(text("SELECT min(id) FROM person")).scalar_one())
    engine.dispose()

    engine = make_engine(_sa_url(url))  # a new pool: the first call below is on a new connection
    with Session(engine) as db:
        db.execute(text("SELECT 1"))
        t = time.perf_counter()
        contacts_of(db, p0, plan.single[0])
        result.cold_ms = (time.perf_counter() - t) * 1000
        db.rollback()
        t = time.perf_counter()
        result.prewarm_gb = prewarm(url, db)
        result.prewarm_s = time.perf_counter() - t
        log(f"  first call {result.cold_ms:.1f} ms; read {result.prewarm_gb:.1f} GB in {result.prewarm_s:.0f} s")
        for case in plan.warmup:
            contacts_of(db, p0, case)
        # As the server does after start-up (app.lifespan): what is loaded stays out of full collections.
        gc.freeze()
        for case in plan.single:
            t = time.perf_counter()
            found = contacts_of(db, p0, case)
            result.single_ms.append((time.perf_counter() - t) * 1000)
            result.fingerprints.append(fingerprint(found))
        log(
            f"  one case: median {statistics.median(result.single_ms):.1f} ms, "
            f"p99 {quantile(result.single_ms, 0.99):.1f} ms"
        )
        t = time.perf_counter()
        for case in plan.batch:
            contacts_of(db, p0, case)
        result.batch_s = time.perf_counter() - t
        log(f"  {len(plan.batch):,} cases: {result.batch_s:.2f} s")
        stats = [fetch_stats(db, p0, case) for case in plan.single]
        result.stats = {key: [s[key] for s in stats] for key in stats[0]}
        result.stats["contacts"] = [float(len(contacts_of(db, p0, case))) for case in plan.single]
        db.rollback()

    # The naive join, on cases of the one-case set, within the budget.
    with engine.connect() as conn:
        budget_end = time.perf_counter() + args.naive_budget
        for i, case in enumerate(plan.single[: args.naive_cases]):
            left = budget_end - time.perf_counter()
            if left <= 1:
                break
            t = time.perf_counter()
            try:
                run_naive(conn, p0, case, DEFAULT_MIN_OVERLAP.total_seconds(), left)
            except Timeout:
                result.naive_timeouts += 1
                result.naive_timeout_s = time.perf_counter() - t
                log(f"  naive join: case {i + 1} cancelled after {result.naive_timeout_s:.0f} s")
                break
            result.naive_ms.append((time.perf_counter() - t) * 1000)
            result.naive_ours_ms.append(result.single_ms[i])
            log(f"  naive join: case {i + 1} in {result.naive_ms[-1]:,.0f} ms (service {result.single_ms[i]:.1f} ms)")

        # Correctness: the naive join's contacts against the service's, for any overlap and for >= 10 minutes.
        budget_end = time.perf_counter() + args.naive_budget
        with Session(engine) as db:
            for case in plan.single[: args.check_cases]:
                left = budget_end - time.perf_counter()
                if left <= 1:
                    result.checks.append("correctness: budget spent, remaining cases not checked")
                    break
                try:
                    naive = run_naive(conn, p0, case, 0.0, left)
                except Timeout:
                    result.checks.append("correctness: naive join cancelled, case not checked")
                    break
                ours = {c.person: c.overlap.total_seconds() for c in contacts_of(db, p0, case, dt.timedelta(0))}
                db.rollback()
                result.checks.append(compare(ours, naive))
                result.check_failed |= result.checks[-1].startswith("MISMATCH")
                log(f"  check: {result.checks[-1]}")
    engine.dispose()
    return result


def compare(ours: dict[int, float], naive: dict[int, float]) -> str:
    """The service's contacts (person -> overlap s, any overlap) against the naive join's (person -> summed
    pairwise overlap s). With windows that cut no visit, the sets of people with any overlap must be equal,
    up to overlaps under a second (SQLite's date functions work in milliseconds, visits differ by microseconds);
    the naive sum can only be larger (it counts twice the minutes where a person's own visits overlap)."""
    tolerance = 0.01
    only_ours = [p for p in ours.keys() - naive.keys() if ours[p] >= 1]
    only_naive = [p for p in naive.keys() - ours.keys() if naive[p] >= 1]
    less = [p for p in ours.keys() & naive.keys() if naive[p] < ours[p] - tolerance]
    least = DEFAULT_MIN_OVERLAP.total_seconds()
    ours_10 = {p for p, s in ours.items() if s >= least}
    naive_10 = {p for p, s in naive.items() if s >= least}
    summary = (
        f"any overlap: service {len(ours):,}, naive {len(naive):,}; >= 10 min: service {len(ours_10):,}, "
        f"naive {len(naive_10):,}, both {len(ours_10 & naive_10):,}, naive only {len(naive_10 - ours_10):,} "
        f"(its double counting)"
    )
    if only_ours or only_naive or less or not ours_10 <= naive_10:
        return (
            f"MISMATCH {summary}; only service {len(only_ours)}, only naive {len(only_naive)}, "
            f"naive smaller {len(less)}"
        )
    return f"agree: {summary}"


def machine(pg_url: str | None) -> str:
    cpu = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    memory = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    parts = [
        f"{platform.system()} {platform.release()} {platform.machine()}",
        f"{cpu or 'CPU'} x {os.cpu_count()}",
        f"{memory:.0f} GiB",
        f"Python {platform.python_version()}",
        f"SQLite {sqlite3.sqlite_version}",
    ]
    if pg_url:
        engine = create_engine(_sa_url(pg_url))
        with engine.connect() as c:
            parts.append(f"PostgreSQL {c.execute(text('SHOW server_version')).scalar_one()}")
        engine.dispose()
    return ", ".join(parts)


def check_disk(rows: int, tmp: str, pg_url: str | None) -> None:
    need = rows * BYTES_PER_ROW * 1.1
    places = [tmp]
    if pg_url:
        engine = create_engine(_sa_url(pg_url))
        with engine.connect() as c:
            places.append(str(c.execute(text("SHOW data_directory")).scalar_one()))
        engine.dispose()
    for place in places:
        if Path(place).exists() and (free := shutil.disk_usage(place).free) < need:
            raise SystemExit(
                f"{rows:,} check-ins need about {need / 1e9:.0f} GB free at {place}; there are {free / 1e9:.0f} GB. "
                "Run without --with-100m, or free some disk."
            )


def fmt_size(rows: int) -> str:
    return f"{round(rows / 1e6):,} M" if rows >= 1_000_000 else f"{rows:,}"


def table(results: dict[tuple[int, str], Result], cities: dict[int, City], n_batch: int) -> list[str]:
    cols = list(results)
    lines = [
        "| figure | " + " | ".join(f"{db} {fmt_size(rows)}" for rows, db in cols) + " |",
        "| --- |" + " ---: |" * len(cols),
    ]

    def row(name: str, cell: Callable[[City, Result], str]) -> None:
        lines.append(f"| {name} | " + " | ".join(cell(cities[rows], results[rows, db]) for rows, db in cols) + " |")

    def naive_median(r: Result) -> float | None:
        return statistics.median(r.naive_ms) if r.naive_ms else None

    def naive_cell(r: Result) -> str:
        m = naive_median(r)
        if m is None:
            return f"> {r.naive_timeout_s * 1000:,.0f} (cancelled)"
        cancelled = f", {r.naive_timeouts} cancelled" if r.naive_timeouts else ""
        return f"{ms(m)} ({len(r.naive_ms)} cases{cancelled})"

    def ratio_cell(r: Result) -> str:
        m = naive_median(r)
        if m is None:
            return f"> {r.naive_timeout_s * 1000 / statistics.median(r.single_ms):,.0f}"
        ratio = m / statistics.median(r.naive_ours_ms)
        return f"{ratio:,.1f}" if ratio < 10 else f"{ratio:,.0f}"

    def ms(x: float) -> str:
        return f"{x:,.1f}" if x < 100 else f"{x:,.0f}"

    row("check-ins", lambda c, r: f"{c.rows:,}")
    row("people / venues", lambda c, r: f"{c.people:,} / {c.venues:,}")
    row("fill, incl. ANALYZE (s)", lambda c, r: f"{r.fill_s:,.0f}")
    row("one case, median (ms)", lambda c, r: ms(statistics.median(r.single_ms)))
    row("one case, p99 (ms)", lambda c, r: ms(quantile(r.single_ms, 0.99)))
    row("one case, mean (ms)", lambda c, r: ms(statistics.mean(r.single_ms)))
    row("cases over 50 ms (%)", lambda c, r: f"{100 * sum(t > 50 for t in r.single_ms) / len(r.single_ms):.1f}")
    row("one case, first call on a new connection, before the reads below (ms)", lambda c, r: ms(r.cold_ms))
    row("read table and indexes into the file cache (GB, s)", lambda c, r: f"{r.prewarm_gb:.2f}, {r.prewarm_s:.1f}")
    row(f"{n_batch:,} cases, one after the other (s)", lambda c, r: f"{r.batch_s:,.2f}")
    row("naive join, one case, median (ms)", lambda c, r: naive_cell(r))
    row("naive / service, same cases", lambda c, r: ratio_cell(r))
    row(
        f"naive join, {n_batch:,} cases (s, extrapolated)",
        lambda c, r: f"{(naive_median(r) or r.naive_timeout_s * 1000) * n_batch / 1000:,.0f}",
    )

    def spread(key: str) -> Callable[[City, Result], str]:
        return lambda c, r: f"{statistics.median(r.stats[key]):,.0f} ({quantile(r.stats[key], 0.99):,.0f})"

    for key in ("index visits", "rows fetched", "rows that overlap", "contacts"):
        row(f"{key} per case, median (p99)", spread(key))
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, nargs="+", default=[1_000_000, 10_000_000], help="check-ins per city")
    parser.add_argument("--with-100m", action="store_true", help="also 100,000,000 check-ins (disk permitting)")
    parser.add_argument("--days", type=int, default=28)
    parser.add_argument("--postgres", default=DEFAULT_PG, help=f"admin URL of PostgreSQL (default {DEFAULT_PG})")
    parser.add_argument("--no-postgres", action="store_true", help="SQLite only")
    parser.add_argument("--cases", type=int, default=200, help="one-case timings (median, p99)")
    parser.add_argument("--batch", type=int, default=1000, help="cases in the batch")
    parser.add_argument("--naive-cases", type=int, default=10)
    parser.add_argument("--naive-budget", type=float, default=120.0, help="seconds for the naive join, per database")
    parser.add_argument("--check-cases", type=int, default=3, help="cases checked against the naive join")
    parser.add_argument("--seed", type=int, default=2020)
    args = parser.parse_args()
    sizes = sorted(set(args.rows + ([100_000_000] if args.with_100m else [])))
    pg_url = None if args.no_postgres else args.postgres

    def log(message: str) -> None:
        print(message, file=sys.stderr, flush=True)

    check_disk(max(sizes), tempfile.gettempdir(), pg_url)  # before any work: refuse at once if the disk is short
    about = machine(pg_url)
    log(about)
    results: dict[tuple[int, str], Result] = {}
    cities: dict[int, City] = {}
    for rows in sizes:
        city = city_for(rows, args.days)
        cities[city.rows] = city
        plan = plan_cases(city, args.seed, args.cases, args.batch, 20)
        with tempfile.TemporaryDirectory(prefix="fk-tracing-") as tmp:
            log(f"SQLite, {city.rows:,} check-ins")
            results[city.rows, "SQLite"] = measure(f"sqlite:///{tmp}/bench.db", city, plan, args, log)
        if pg_url:
            log(f"PostgreSQL, {city.rows:,} check-ins")
            url, name = fresh_postgres(pg_url)
            try:
                results[city.rows, "PostgreSQL"] = measure(url, city, plan, args, log)
            finally:
                drop_postgres(pg_url, name)
            lite, pg = results[city.rows, "SQLite"], results[city.rows, "PostgreSQL"]
            same_rows = lite.fill == pg.fill
            same_contacts = lite.fingerprints == pg.fingerprints
            for r in (lite, pg):
                r.checks.append(f"same check-ins on both databases: {same_rows}")
                r.checks.append(
                    f"same contacts on both databases for the {len(lite.fingerprints)} cases: {same_contacts}"
                )
                r.check_failed |= not (same_rows and same_contacts)
            log(f"  same rows on both: {same_rows}; same contacts for all {args.cases} cases: {same_contacts}")

    print(f"machine: {about}")
    print(f"city: {args.days} days, {VISITS_PER_DAY} visits a person a day; windows of 5-7 days, min overlap 10 min")
    print(
        f"one case: {args.cases} cases after 20 warm-up; batch: {args.batch} cases in one session; naive join: "
        f"up to {args.naive_cases} of the same cases within {args.naive_budget:.0f} s per database, "
        f"its {args.batch:,}-case figure extrapolated from its median"
    )
    print()
    print("\n".join(table(results, cities, args.batch)))
    print()
    for (rows, db), r in results.items():
        for check in r.checks:
            print(f"- {db} {fmt_size(rows)}: {check}")
    if any(r.check_failed for r in results.values()):
        raise SystemExit("a correctness check failed (see above)")


if __name__ == "__main__":
    main()
