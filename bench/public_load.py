"""Benchmark: the resident's code display (`GET /api/healthcode/me`) alone and during a flood of the public
`/occupancy` page, for two source trees (before and after a change) in the same run, through `fangkong serve` on
127.0.0.1.

    flock /tmp/fk-bench.lock .venv/bin/python bench/public_load.py --tree before=/path/to/main/src --tree after=src \\
        [--postgres postgresql://postgres@127.0.0.1:5432/postgres] [--runs 3] [--people 5000] [--requests 3000] \\
        [--flood 512] [--seconds 20] [--connections 64]

One database per backend (the demo city of `--people` residents, with its two weeks of check-ins, built once with
the first tree's code; both trees share the schema), and the demo's resident account with an API token. Each run
starts `fangkong serve` with each tree in turn (the order alternates between runs) and measures, bounded in
requests and in time:

1. `GET /api/ping` (no database, no authentication), `--requests` requests from `--connections` keep-alive
   connections: the ceiling of this server and this client on this machine, in the same run;
2. one reader's `GET /occupancy`, 30 times in a row: the page's own latency (median);
3. the code display, `--requests` requests from `--connections` connections;
4. the same while `--flood` connections (another process) ask for `/occupancy` as fast as they are answered: the
   code display's rate over at most `--requests` requests or `--seconds` seconds, `/api/health`'s latency (a load
   balancer's probe, one request at a time), and how the flood was answered (200, or 503 when the pages' gate is
   full);
5. the same with a flood of searches, each a different page (`/occupancy?q=<random>`), which no shared answer
   serves: the worst a flood of public pages can do.

It prints, per tree, the medians over runs of each rate and the ratios to `/api/ping` of the same run.
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import os
import platform
import random
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

import httpx
import uvloop

sys.path.insert(0, str(Path(__file__).resolve().parent))
from checkins_load import SECRET, free_port, run
from lean_http import Request, encode, read_response
from pg import drop_postgres, fresh_postgres

HOST = "127.0.0.1"
PAGE_HEADERS = {"Accept-Language": "zh-CN", "Accept": "text/html"}


def build(url: str, tree: Path, people: int) -> str:
    """The demo city and an API token of its resident account; returns the token."""
    env = _env(url, tree)
    run(["demo", "--people", str(people), "--seed", "7", "--no-outbreak"], env)
    out = run(["token", "create", "--user", "resident", "--label", "benchmark"], env)
    token = next((w for w in out.split() if w.startswith("fk_")), None)
    if token is None:
        raise SystemExit(f"no token in: {out}")
    return token


def _env(url: str, tree: Path) -> dict[str, str]:
    return os.environ | {"FANGKONG_DATABASE_URL": url, "FANGKONG_SECRET_KEY": SECRET, "PYTHONPATH": str(tree)}


def _flood(port: int, kind: str, connections: int, seconds: float, ready: Any, out: Any) -> None:
    """A process of its own: `connections` connections ask for the page until `seconds` have passed."""

    async def main() -> None:
        statuses: Counter[int | str] = Counter()
        rng = random.Random(port)
        deadline = time.monotonic() + seconds
        opened = 0

        async def connection() -> None:
            nonlocal opened
            reader, writer = await asyncio.open_connection(HOST, port)
            opened += 1
            if opened == connections:
                ready.set()
            try:
                while time.monotonic() < deadline:
                    path = "/occupancy" if kind == "same" else f"/occupancy?q={rng.randrange(10**9)}"
                    writer.write(encode(Request("GET", path), f"{HOST}:{port}", PAGE_HEADERS))
                    try:
                        status, _ = await asyncio.wait_for(read_response(reader), max(0.1, deadline - time.monotonic()))
                    except TimeoutError:
                        statuses["unanswered"] += 1
                        return
                    statuses[status] += 1
            except (ConnectionError, asyncio.IncompleteReadError):
                statuses["reset"] += 1
            finally:
                writer.close()

        started = time.monotonic()
        await asyncio.gather(*(connection() for _ in range(connections)))
        out.put((dict(statuses), time.monotonic() - started))

    uvloop.run(main())


async def _rate_within(
    port: int, path: str, n: int, connections: int, headers: dict[str, str], seconds: float
) -> float:
    """Answers per second to `n` requests from `connections` connections, or to those answered within `seconds`."""
    answered = 0
    deadline = time.monotonic() + seconds
    todo = iter(range(n))
    wire = encode(Request("GET", path), f"{HOST}:{port}", headers)
    started = time.perf_counter()

    async def connection() -> None:
        nonlocal answered
        reader, writer = await asyncio.open_connection(HOST, port)
        try:
            for _ in todo:
                writer.write(wire)
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return
                try:
                    status, _ = await asyncio.wait_for(read_response(reader), remaining)
                except TimeoutError:
                    return
                if status != 200:
                    raise Failed(f"{path}: {status}")
                answered += 1
        finally:
            writer.close()

    await asyncio.gather(*(connection() for _ in range(connections)))
    return answered / (time.perf_counter() - started)


async def _latencies(client: httpx.AsyncClient, path: str, n: int, seconds: float) -> list[float]:
    found = []
    deadline = time.monotonic() + seconds
    for _ in range(n):
        if time.monotonic() > deadline:
            break
        start = time.perf_counter()
        try:
            response = await client.get(path, timeout=max(0.1, deadline - time.monotonic()))
        except httpx.TimeoutException:
            found.append(float("inf"))
            break
        found.append(time.perf_counter() - start)
        if response.status_code != 200:
            raise Failed(f"{path}: {response.status_code}")
    return found


class Failed(Exception):
    """An answer that should not have been given (the server's log is printed)."""


def _ms(values: list[float]) -> float:
    return statistics.median(values) * 1000 if values else float("nan")


async def one_run(url: str, tree: Path, token: str, args: argparse.Namespace, workdir: Path) -> dict[str, Any]:
    port = free_port()
    log = (workdir / f"server-{port}.log").open("w")
    serve = [sys.executable, "-m", "fangkong.cli", "serve", "--port", str(port)]
    server = subprocess.Popen(serve, env=_env(url, tree), stdout=log, stderr=log)
    me = {"Authorization": f"Bearer {token}"}
    figures: dict[str, Any] = {}
    try:
        async with httpx.AsyncClient(base_url=f"http://{HOST}:{port}", headers=PAGE_HEADERS, timeout=60) as client:
            deadline = time.monotonic() + 120  # a loaded machine starts a server slowly
            while True:
                try:
                    if (await client.get("/api/health")).status_code == 200:
                        break
                except httpx.TransportError:
                    if time.monotonic() > deadline or server.poll() is not None:
                        raise Failed("the server did not start") from None
                    await asyncio.sleep(0.2)
            await _rate_within(port, "/api/ping", 200, 8, {}, 30)  # warm up
            # The resident's code, computed and stored once before the load: 64 first reads of one person's code
            # at once stall a server on PostgreSQL (see docs/benchmarks.md), which is not what this measures.
            await _rate_within(port, "/api/healthcode/me", 1, 1, me, 30)
            figures["ping/s"] = await _rate_within(port, "/api/ping", args.requests, args.connections, {}, args.seconds)
            figures["occupancy ms"] = _ms(await _latencies(client, "/occupancy", 30, args.seconds))
            figures["me/s"] = await _rate_within(port, "/api/healthcode/me", args.requests, args.connections, me,
                                                 args.seconds)  # fmt: skip
            for kind in ("same", "search"):
                ctx = multiprocessing.get_context("spawn")
                ready, out = ctx.Event(), ctx.Queue()
                flood = ctx.Process(target=_flood, args=(port, kind, args.flood, args.seconds + 5, ready, out))
                flood.start()
                ready.wait(30)
                await asyncio.sleep(1)  # the flood under way
                me_rate, health = await asyncio.gather(
                    _rate_within(port, "/api/healthcode/me", args.requests, args.connections, me, args.seconds),
                    _latencies(client, "/api/health", 20, args.seconds),
                )
                figures[f"me/s, flood {kind}"] = me_rate
                figures[f"health ms, flood {kind}"] = _ms(health)
                statuses, seconds = out.get(timeout=args.seconds + 60)
                flood.join()
                answered = sum(v for k, v in statuses.items() if isinstance(k, int))
                figures[f"flood {kind}/s"] = answered / seconds
                figures[f"flood {kind} statuses"] = dict(sorted(statuses.items(), key=str))
    except Failed as failed:
        log.flush()
        print(f"server log ({tree}):\n" + "\n".join((workdir / f"server-{port}.log").read_text().splitlines()[-60:]))
        raise SystemExit(str(failed)) from failed
    finally:
        server.send_signal(signal.SIGINT)
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()
        log.close()
    return figures


def _median(runs: list[dict[str, Any]], key: str) -> float:
    return statistics.median(r[key] for r in runs)


def report(backend: str, results: dict[str, list[dict[str, Any]]]) -> None:
    print(f"\n{backend}")
    trees = list(results)
    print("| figure (median of runs) | " + " | ".join(trees) + " |")
    print("| --- |" + " --- |" * len(trees))
    keys = [k for k in results[trees[0]][0] if "statuses" not in k]
    for key in keys:
        print(f"| {key} | " + " | ".join(f"{_median(results[t], key):,.1f}" for t in trees) + " |")
    for key in [k for k in keys if k.startswith("me/s") or (k.startswith("flood") and k.endswith("/s"))]:
        ratios = [statistics.median(r[key] / r["ping/s"] for r in results[t]) for t in trees]
        print(f"| {key} ÷ ping/s | " + " | ".join(f"{x:.3f}" for x in ratios) + " |")
    for key in [k for k in results[trees[0]][0] if "statuses" in k]:
        print(f"| {key} (each run) | " + " | ".join("; ".join(str(r[key]) for r in results[t]) for t in trees) + " |")


def measure(
    url: str, args: argparse.Namespace, trees: dict[str, Path], workdir: Path
) -> dict[str, list[dict[str, Any]]]:
    token = build(url, next(iter(trees.values())), args.people)
    results: dict[str, list[dict[str, Any]]] = {name: [] for name in trees}
    for i in range(args.runs):
        order = list(trees) if i % 2 == 0 else list(reversed(trees))
        for name in order:
            figures = uvloop.run(one_run(url, trees[name], token, args, workdir))
            print(f"run {i + 1} {name}: {figures}", flush=True)
            results[name].append(figures)
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tree", action="append", required=True, help="NAME=PATH of a source tree (its src/)")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--people", type=int, default=5000)
    parser.add_argument("--requests", type=int, default=3000)
    parser.add_argument("--connections", type=int, default=64, help="connections of the code display")
    parser.add_argument("--flood", type=int, default=512, help="connections of the flood of /occupancy")
    parser.add_argument("--seconds", type=float, default=20, help="the longest any phase may last")
    parser.add_argument("--postgres", help="admin URL of a PostgreSQL server to measure as well")
    parser.add_argument("--no-sqlite", action="store_true", help="measure PostgreSQL only")
    args = parser.parse_args()
    trees = {name: Path(path).resolve() for name, _, path in (t.partition("=") for t in args.tree)}
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}; "
          f"load average before: {os.getloadavg()[0]:.1f}")  # fmt: skip
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        if not args.no_sqlite:
            report("SQLite", measure(f"sqlite:///{workdir}/bench.db", args, trees, workdir))
        if args.postgres:
            url, name = fresh_postgres(args.postgres)
            try:
                report("PostgreSQL", measure(url, args, trees, workdir))
            finally:
                drop_postgres(args.postgres, name)


if __name__ == "__main__":
    main()
