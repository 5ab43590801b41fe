"""Benchmark: `fangkong import people` of a large CSV on SQLite (and PostgreSQL when asked).

    .venv/bin/python bench/import_people.py --people 1000000 --runs 3 [--postgres URL]

Each run imports the file into a new, empty database (first import), then imports it again (re-import: every
row unchanged). The baseline, measured in the same run on the same file, is the floor any importer pays:
read the CSV with Python's csv module and insert the raw columns into SQLite with executemany, no validation,
no encryption. Figures are medians over the runs; the ratio is fangkong's time over the baseline's.
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import os
import platform
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from pg import drop_postgres, fresh_postgres

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "bench" / "out"
FANGKONG = [sys.executable, "-m", "fangkong.cli"]


def make_files(people: int, seed: int) -> tuple[Path, Path]:
    from fangkong.demo.population import city_regions, generate_people

    OUT.mkdir(parents=True, exist_ok=True)
    regions = OUT / f"regions-{seed}.csv"
    target = OUT / f"people-{people}-{seed}.csv"
    with regions.open("w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(["code", "name", "level", "parent_code"])
        for r in city_regions(seed):
            w.writerow([r.code, r.name, r.level, r.parent_code])
    if not target.exists():
        print(f"generating {people} people into {target} ...", file=sys.stderr)
        tmp = target.with_suffix(".tmp")
        with tmp.open("w", newline="", encoding="utf-8") as fh:
            w = csv.writer(fh)
            cols = ["ref", "name", "id_number", "phone", "region_code", "household_ref", "address"]
            w.writerow(cols)
            for p in generate_people(people, seed, today=dt.date(2026, 11, 22)):
                w.writerow([p[c] for c in cols])
        tmp.rename(target)
    return regions, target


def timed(cmd: list[str], env: dict[str, str]) -> float:
    start = time.perf_counter()
    result = subprocess.run(cmd, env=env, capture_output=True, text=True, check=False)
    elapsed = time.perf_counter() - start
    if result.returncode != 0:
        raise SystemExit(
            f"{' '.join(cmd)} failed ({result.returncode}):\n{result.stdout[-2000:]}{result.stderr[-2000:]}"
        )
    return elapsed


def baseline(people_csv: Path, workdir: Path) -> float:
    """Plain csv + sqlite3 executemany of the raw text columns: the floor for any importer."""
    path = workdir / f"baseline-{uuid.uuid4().hex}.db"
    start = time.perf_counter()
    conn = sqlite3.connect(path)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute(
        "CREATE TABLE person (id INTEGER PRIMARY KEY, ref TEXT UNIQUE, name TEXT, id_number TEXT, phone TEXT,"
        " region_code TEXT, household_ref TEXT, address TEXT)"
    )
    with people_csv.open(newline="", encoding="utf-8") as fh:
        reader = csv.reader(fh)
        next(reader)
        batch: list[list[str]] = []
        for row in reader:
            batch.append(row)
            if len(batch) == 5000:
                conn.executemany("INSERT INTO person VALUES (NULL,?,?,?,?,?,?,?)", batch)
                batch = []
        if batch:
            conn.executemany("INSERT INTO person VALUES (NULL,?,?,?,?,?,?,?)", batch)
    conn.commit()
    conn.close()
    elapsed = time.perf_counter() - start
    path.unlink()
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--people", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--seed", type=int, default=2020)
    parser.add_argument("--postgres", help="admin URL of a PostgreSQL server to measure as well")
    args = parser.parse_args()
    regions, people = make_files(args.people, args.seed)
    size_mb = people.stat().st_size / 1e6
    results: dict[str, list[float]] = {"baseline": [], "sqlite first": [], "sqlite re-import": []}
    if args.postgres:
        results |= {"postgresql first": [], "postgresql re-import": []}
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        for run in range(args.runs):
            results["baseline"].append(baseline(people, workdir))
            env = os.environ | {"FANGKONG_DATABASE_URL": f"sqlite:///{workdir}/run{run}.db"}
            env["FANGKONG_SECRET_KEY"] = "benchmark-secret-key-not-for-production"
            timed([*FANGKONG, "import", "regions", str(regions)], env)
            results["sqlite first"].append(timed([*FANGKONG, "import", "people", str(people)], env))
            results["sqlite re-import"].append(timed([*FANGKONG, "import", "people", str(people)], env))
            for suffix in ("", "-wal", "-shm"):
                Path(f"{workdir}/run{run}.db{suffix}").unlink(missing_ok=True)
            if args.postgres:
                url, name = fresh_postgres(args.postgres)
                try:
                    env["FANGKONG_DATABASE_URL"] = url
                    timed([*FANGKONG, "import", "regions", str(regions)], env)
                    results["postgresql first"].append(timed([*FANGKONG, "import", "people", str(people)], env))
                    results["postgresql re-import"].append(timed([*FANGKONG, "import", "people", str(people)], env))
                finally:
                    drop_postgres(args.postgres, name)
            print(f"run {run + 1}/{args.runs} done", file=sys.stderr)
    base = statistics.median(results["baseline"])
    machine = platform.processor() or platform.machine()
    print(f"machine: {machine}, {os.cpu_count()} cores, Python {platform.python_version()}")
    print(f"file: {args.people} people, {size_mb:.0f} MB; runs: {args.runs} (median, min–max)")
    print("| step | median s | min–max s | rows/s | × baseline |")
    print("| --- | --- | --- | --- | --- |")
    for label, times in results.items():
        med = statistics.median(times)
        print(
            f"| {label} | {med:.1f} | {min(times):.1f}–{max(times):.1f} | {args.people / med:,.0f} | {med / base:.1f} |"
        )


if __name__ == "__main__":
    main()
