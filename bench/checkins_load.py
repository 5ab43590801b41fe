"""Benchmark: check-ins through `fangkong serve` on 127.0.0.1, single and batched, plus the CSV import rate.

    .venv/bin/python bench/checkins_load.py --singles 20000 --batches 200 --batch-size 500 \\
        [--postgres postgresql://postgres@127.0.0.1:5432/postgres] [--csv-rows 1000000]

A bounded load generator (a fixed number of requests over keep-alive connections, see lean_http.py) against a
server it starts itself on a fresh database (SQLite, and PostgreSQL when given). `--devices` connections send
single check-ins, each with one request in flight, as door devices do; `--uploaders` connections send batches.
Before the check-ins it measures the same number of requests to `GET /api/ping`, the server's bare endpoint (no
database, no authentication): the ceiling this server and this load generator reach together on this machine,
measured in the same run. It reports acknowledged check-ins per second and p50/p99 latency per request, then
counts the rows in the database: every acknowledged check-in must be there (durability), otherwise the run
fails. The load generator runs on the same machine as the server, as the target demands.
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import datetime as dt
import os
import platform
import re
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import httpx
import uvloop
from sqlalchemy import create_engine, text

sys.path.insert(0, str(Path(__file__).resolve().parent))
from lean_http import LoadResult, Request, run_load
from pg import drop_postgres, fresh_postgres

ROOT = Path(__file__).resolve().parent.parent
FANGKONG = [sys.executable, "-m", "fangkong.cli"]
SECRET = "benchmark-secret-key-not-for-production"
PASSWORD = "benchmark-password"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def run(args: list[str], env: dict[str, str], stdin: str | None = None) -> str:
    result = subprocess.run([*FANGKONG, *args], env=env, input=stdin, capture_output=True, text=True, check=False)
    if result.returncode not in (0,):
        raise SystemExit(f"fangkong {' '.join(args)} failed:\n{result.stdout}{result.stderr}")
    return result.stdout


def prepare(env: dict[str, str], people: int, workdir: Path) -> str:
    """A demo city, an operator and their bearer token. Returns the token."""
    run(["demo", "--people", str(people), "--seed", "7", "--no-outbreak"], env)
    run(
        ["user", "add", "bench-op", "--role", "venue_operator", "--region", "210800", "--password-stdin"], env, PASSWORD
    )
    out = run(["token", "create", "--user", "bench-op", "--label", "benchmark"], env)
    match = re.search(r"(fk_[A-Za-z0-9_-]+)", out)
    if not match:
        raise SystemExit(f"no token in: {out}")
    return match.group(1)


async def create_venues(client: httpx.AsyncClient, n: int) -> list[str]:
    refs = []
    for i in range(n):
        body = {"name": f"压测超市{i}", "kind": "supermarket", "region_code": "210802", "capacity": 500}
        response = await client.post("/api/venues", json=body)
        response.raise_for_status()
        refs.append(response.json()["ref"])  # the server gives the ref
    return refs


def pct(values: list[float], q: float) -> float:
    return statistics.quantiles(values, n=100)[int(q) - 1] * 1000 if len(values) >= 2 else values[0] * 1000


def count_checkins(url: str) -> int:
    engine = create_engine(url.replace("postgresql://", "postgresql+psycopg://"))
    with engine.connect() as conn:
        n = int(conn.execute(text("SELECT count(*) FROM checkin")).scalar_one())
    engine.dispose()
    return n


def rate(result: LoadResult, *, requests: bool = False) -> float:
    return (sum(result.statuses.values()) if requests else result.acknowledged) / result.seconds


async def measure(url: str, args: argparse.Namespace, workdir: Path) -> dict[str, object]:
    env = os.environ | {"FANGKONG_DATABASE_URL": url, "FANGKONG_SECRET_KEY": SECRET}
    token = prepare(env, args.people, workdir)
    before = count_checkins(url)  # the demo city comes with check-ins of its own
    port = free_port()
    log_path = workdir / f"server-{port}.log"
    log = log_path.open("w")
    serve = [*FANGKONG, "serve", "--port", str(port), "--workers", str(args.workers)]
    server = subprocess.Popen(serve, env=env, stdout=log, stderr=log)
    try:
        base = f"http://127.0.0.1:{port}"
        headers = {"Authorization": f"Bearer {token}"}
        async with httpx.AsyncClient(base_url=base, headers=headers, timeout=60) as client:
            for _ in range(100):
                try:
                    if (await client.get("/api/health")).status_code == 200:
                        break
                except httpx.TransportError:
                    await asyncio.sleep(0.1)
            venues = await create_venues(client, 20)
        people = [f"P{i:07d}" for i in range(1, args.people + 1)]
        pings = [Request("GET", "/api/ping")] * args.singles
        singles = [
            Request(
                "POST", "/api/checkins", {"venue_ref": venues[i % len(venues)], "person_ref": people[i % len(people)]}
            )
            for i in range(args.singles)
        ]
        now = dt.datetime.now(dt.UTC)
        batches = []
        for b in range(args.batches):
            rows = []
            for i in range(args.batch_size):
                k = b * args.batch_size + i
                at = now - dt.timedelta(seconds=(k % 86_400) + 60, microseconds=k % 997)
                rows.append({"client_id": str(uuid.uuid4()), "person_ref": people[k % len(people)],
                             "venue_ref": venues[k % len(venues)], "checked_in_at": at.isoformat()})  # fmt: skip
            batches.append(Request("POST", "/api/checkins/batch", {"rows": rows}, units=args.batch_size))
        ping = await run_load("127.0.0.1", port, pings, concurrency=args.devices, headers=headers)
        single = await run_load("127.0.0.1", port, singles, concurrency=args.devices, headers=headers)
        batch = await run_load("127.0.0.1", port, batches, concurrency=args.uploaders, headers=headers)
    except Exception:
        print(log_path.read_text()[-12000:], file=sys.stderr)
        raise
    finally:
        server.terminate()
        server.wait(timeout=30)
        log.close()
    failures = {s: n for r in (ping, single, batch) for s, n in r.statuses.items() if s not in (200, 201)}
    if failures:
        raise SystemExit(f"requests failed with statuses {failures}; server log: {log_path}")
    stored = count_checkins(url) - before
    if stored != single.acknowledged + batch.acknowledged:
        raise SystemExit(f"durability: {single.acknowledged + batch.acknowledged} acknowledged but {stored} stored")
    result: dict[str, object] = {
        "bare requests/s (ceiling)": rate(ping, requests=True),
        "bare p50 ms": pct(ping.latencies, 50),
        "singles/s": rate(single),
        "singles / bare": rate(single) / rate(ping, requests=True),
        "single p50 ms": pct(single.latencies, 50),
        "single p99 ms": pct(single.latencies, 99),
        "batched/s": rate(batch),
        "batch p50 ms": pct(batch.latencies, 50),
        "batch p99 ms": pct(batch.latencies, 99),
        "stored": stored,
    }
    if args.csv_rows:
        result["csv rows/s"] = csv_import_rate(url, env, args, workdir)
    return result


def csv_import_rate(url: str, env: dict[str, str], args: argparse.Namespace, workdir: Path) -> float:
    """`fangkong import checkins` of `--csv-rows` rows spread over the last 20 days; checks they were all stored."""
    path = workdir / "checkins.csv"
    engine = create_engine(url.replace("postgresql://", "postgresql+psycopg://"))
    with engine.connect() as conn:
        venues = list(conn.execute(text("SELECT ref FROM venue ORDER BY id LIMIT 50")).scalars())
    engine.dispose()
    start_at = dt.datetime.now(dt.UTC) - dt.timedelta(days=20)
    step = dt.timedelta(days=19) / args.csv_rows
    with path.open("w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["person_ref", "venue_ref", "checked_in_at", "checked_out_at"])
        for k in range(args.csv_rows):
            w.writerow(
                [f"P{(k % args.people) + 1:07d}", venues[k % len(venues)], (start_at + k * step).isoformat(), ""]
            )
    before = count_checkins(url)
    start = time.perf_counter()
    run(["import", "checkins", str(path)], env)
    seconds = time.perf_counter() - start
    if (stored := count_checkins(url) - before) != args.csv_rows:
        raise SystemExit(f"the CSV import stored {stored} of {args.csv_rows} rows")
    print(f"  CSV import: {args.csv_rows:,} rows in {seconds:.1f} s", file=sys.stderr)
    return args.csv_rows / seconds


async def measure_csv_only(url: str, args: argparse.Namespace, workdir: Path) -> dict[str, object]:
    env = os.environ | {"FANGKONG_DATABASE_URL": url, "FANGKONG_SECRET_KEY": SECRET}
    prepare(env, args.people, workdir)
    return {"csv rows/s": csv_import_rate(url, env, args, workdir)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--singles", type=int, default=5000)
    parser.add_argument("--batches", type=int, default=100)
    parser.add_argument("--batch-size", type=int, default=500)
    parser.add_argument("--devices", type=int, default=64, help="connections sending single check-ins")
    parser.add_argument("--workers", type=int, default=1, help="server processes (fangkong serve --workers)")
    parser.add_argument("--uploaders", type=int, default=4, help="connections sending batches")
    parser.add_argument("--people", type=int, default=2000)
    parser.add_argument("--csv-rows", type=int, default=0)
    parser.add_argument("--csv-only", action="store_true", help="measure only the CSV import (e.g. of 10M rows)")
    parser.add_argument("--postgres", help="admin URL of a PostgreSQL server to measure as well")
    args = parser.parse_args()
    results = {}
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        one = measure_csv_only if args.csv_only else measure
        results["SQLite"] = uvloop.run(one(f"sqlite:///{workdir}/bench.db", args, workdir))
        if args.postgres:
            url, name = fresh_postgres(args.postgres)
            try:
                results["PostgreSQL"] = uvloop.run(one(url, args, workdir))
            finally:
                drop_postgres(args.postgres, name)
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}")
    if args.csv_only:
        print(f"CSV import of {args.csv_rows:,} rows")
    else:
        print(f"singles {args.singles} from {args.devices} devices, batches {args.batches} x {args.batch_size} "
          f"from {args.uploaders} uploaders, {args.workers} server worker(s)")  # fmt: skip
    keys = list(next(iter(results.values())).keys())
    print("| figure | " + " | ".join(results) + " |")
    print("| --- |" + " --- |" * len(results))
    for key in keys:
        cells = [f"{v[key]:,.1f}" if isinstance(v.get(key), float) else str(v.get(key)) for v in results.values()]
        print(f"| {key} | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
