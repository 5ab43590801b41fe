"""Benchmark: does a plain DELETE keep up with retention, or do check-ins need day partitions?

    .venv/bin/python bench/purge.py --rows-per-day 300000 --runs 3 \\
        [--postgres postgresql://postgres@127.0.0.1:5432/postgres]

For each database: a demo city, then `--days` (29) days of synthetic check-ins, `--rows-per-day` a day, written
straight into the table by SQL (generate_series / a recursive CTE) so that filling is fast. Then
`fangkong checkins purge` with the default retention of 28 days deletes the oldest day, in transactions of
50,000 rows as the server's hourly job does. Each run deletes a fresh day: the runs move the retention back a
day at a time (FANGKONG_CHECKIN_RETENTION_DAYS 28, 27, ...). Reported: rows deleted, seconds, rows a second
(medians over the runs), and the same command with nothing to delete as the baseline (start-up cost).

A day is `rows-per-day` rows at a steady rate; whether DELETE keeps up is then simple arithmetic: a city whose
residents make R check-ins a day needs R / (rows a second) seconds of purging a day.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from sqlalchemy import create_engine, text

sys.path.insert(0, str(Path(__file__).resolve().parent))
from pg import drop_postgres, fresh_postgres

FANGKONG = [sys.executable, "-m", "fangkong.cli"]
SECRET = "benchmark-secret-key-not-for-production"
DAY = 86_400


def run(args: list[str], env: dict[str, str]) -> float:
    start = time.perf_counter()
    result = subprocess.run([*FANGKONG, *args], env=env, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise SystemExit(f"fangkong {' '.join(args)} failed:\n{result.stdout}{result.stderr}")
    return time.perf_counter() - start


def fill(url: str, days: int, per_day: int) -> int:
    """`days` × `per_day` check-ins, evenly spread over the `days` days before now. Returns the row count."""
    engine = create_engine(url.replace("postgresql://", "postgresql+psycopg://"))
    n = days * per_day
    step_us = DAY * 1_000_000 // per_day
    with engine.begin() as c:
        people = int(c.execute(text("SELECT count(*) FROM person")).scalar_one())
        first_person = int(c.execute(text("SELECT min(id) FROM person")).scalar_one())
        venues = int(c.execute(text("SELECT count(*) FROM venue")).scalar_one())
        first_venue = int(c.execute(text("SELECT min(id) FROM venue")).scalar_one())
        if int(c.execute(text("SELECT max(id) FROM person")).scalar_one()) - first_person + 1 != people:
            raise SystemExit("person ids are not contiguous; the fill assumes they are")
        params = {"n": n, "p": people, "p0": first_person, "v": venues, "v0": first_venue, "step": step_us,
                  "back": days * DAY}  # fmt: skip
        if engine.dialect.name == "postgresql":
            c.execute(
                text(
                    "INSERT INTO checkin (person_id, venue_id, checked_in_at, source, created_at) "
                    "SELECT :p0 + g % :p, :v0 + g % :v, "
                    "now() - make_interval(secs => :back) + make_interval(secs => g::bigint * :step / 1e6), "
                    "'import', now() "
                    "FROM generate_series(0, :n - 1) g"
                ),
                params,
            )
        else:  # SQLite stores UTC as 'YYYY-MM-DD HH:MM:SS.ffffff' text, which is what this writes
            c.execute(
                text(
                    "WITH RECURSIVE g(x) AS (SELECT 0 UNION ALL SELECT x + 1 FROM g WHERE x < :n - 1) "
                    "INSERT INTO checkin (person_id, venue_id, checked_in_at, source, created_at) "
                    "SELECT :p0 + x % :p, :v0 + x % :v, "
                    "strftime('%Y-%m-%d %H:%M:%S', unixepoch('now') - :back + (x * :step) / 1000000, 'unixepoch')"
                    " || printf('.%06d', (x * :step) % 1000000), 'import', datetime('now') FROM g"
                ),
                params,
            )
        total = int(c.execute(text("SELECT count(*) FROM checkin")).scalar_one())
    engine.dispose()
    return total


def measure(url: str, args: argparse.Namespace) -> dict[str, float]:
    env = os.environ | {"FANGKONG_DATABASE_URL": url, "FANGKONG_SECRET_KEY": SECRET}
    run(["demo", "--people", "2000", "--seed", "7", "--no-outbreak"], env)
    start = time.perf_counter()
    total = fill(url, args.days, args.rows_per_day)
    print(f"  filled {total:,} check-ins in {time.perf_counter() - start:.0f} s", file=sys.stderr)
    engine = create_engine(url.replace("postgresql://", "postgresql+psycopg://"))
    seconds, deleted, baseline = [], [], []
    for r in range(args.runs):
        retention = {"FANGKONG_CHECKIN_RETENTION_DAYS": str(args.days - 1 - r)}
        with engine.connect() as c:
            before = int(c.execute(text("SELECT count(*) FROM checkin")).scalar_one())
        seconds.append(run(["checkins", "purge"], env | retention))
        with engine.connect() as c:
            deleted.append(before - int(c.execute(text("SELECT count(*) FROM checkin")).scalar_one()))
        baseline.append(run(["checkins", "purge"], env | retention))  # nothing left to delete: start-up cost
        print(f"  run {r + 1}: {deleted[-1]:,} rows in {seconds[-1]:.1f} s", file=sys.stderr)
    engine.dispose()
    purge_s = statistics.median(seconds) - statistics.median(baseline)
    return {
        "table size before (rows)": float(total),
        "rows deleted per run (a day)": float(statistics.median(deleted)),
        "purge command (s)": statistics.median(seconds),
        "same command, nothing to delete (s)": statistics.median(baseline),
        "rows deleted per second": statistics.median(deleted) / purge_s,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--days", type=int, default=29)
    parser.add_argument("--rows-per-day", type=int, default=300_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--postgres", help="admin URL of a PostgreSQL server to measure as well")
    args = parser.parse_args()
    results = {}
    with tempfile.TemporaryDirectory() as tmp:
        print("SQLite", file=sys.stderr)
        results["SQLite"] = measure(f"sqlite:///{tmp}/bench.db", args)
        if args.postgres:
            print("PostgreSQL", file=sys.stderr)
            url, name = fresh_postgres(args.postgres)
            try:
                results["PostgreSQL"] = measure(url, args)
            finally:
                drop_postgres(args.postgres, name)
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}")
    print(f"{args.days} days x {args.rows_per_day:,} check-ins, medians of {args.runs} runs")
    print("| figure | " + " | ".join(results) + " |")
    print("| --- |" + " --- |" * len(results))
    for key in next(iter(results.values())):
        print(f"| {key} | " + " | ".join(f"{v[key]:,.1f}" for v in results.values()) + " |")


if __name__ == "__main__":
    main()
