"""Benchmark: health-code verification at the door (验码) through `fangkong serve` on 127.0.0.1.

    flock /tmp/fk-bench.lock .venv/bin/python bench/verify_load.py --verifications 20000 --workers 1,2 \\
        [--postgres postgresql://postgres@127.0.0.1:5432/postgres] [--runs 3] [--people 10000] [--devices 64] \\
        [--route lean|fastapi] [--profile DIR [--py-spy-option=--gil]]

Builds a city on a fresh database the way checkins_load.py does (the demo city, an operator with an API token),
then, inside the runtime, gives people the facts a city has (negative tests of the last days, a few positives),
registers the operator's venues (supermarkets, markets, restaurants, a station; hospitals and clinics, which also
want a negative test from the last 48 hours), and computes everyone's code once (`door.issue_for`).

Each run (per `--workers` value, `--runs` times) issues a fresh live token for every resident with
`door.issue_for` (not timed; a token lives 3 minutes), starts `fangkong serve --workers N`, uses the operator's
token once (devices in use all day: the server notes a token's use at most once a minute), and sends from
`--devices` keep-alive connections (door devices, one request in flight each; the lean client of lean_http.py):
first `--verifications` requests to `GET /api/ping` (the bare endpoint: the ceiling of this server and this client
on this machine, in the same run), then `--verifications` requests to `POST /api/healthcode/verify`. Every
resident's token is scanned about verifications/people times, at venues in turn; half the scans carry a normal
temperature, `--fevers` carry a fever (people scanned once, whose code must turn), 10% an ID card's person ref,
and a few are refusals on purpose: a forged token, a borrowed code (another person's ref).

Afterwards it checks the answers against the database: every request got the status it should (200, or 422 for
the refusals), every 'allow' names a check-in row of that person at that venue from the door (and there are
exactly as many new door check-ins as allows: nothing acknowledged is missing, nothing unanswered was written),
every 'refuse' has none, every fever is recorded, and for a sample of answers the color, the masked name, the
latest negative test's age and the entry decision are what the engine and the venue's rule give from the stored
facts. Any mismatch, failed request or stalled server (no answer within 30 s ends the phase) is reported in the
table and fails the command. Verifications per second count every answered verification (refusals included: a
refusal is an answer). Beside them it reports the CPU time the server process (and, on PostgreSQL, every
PostgreSQL process) spent per verification, from /proc: on a machine shared with other work, a steadier figure
for comparing two versions than the rate. With --profile, py-spy records the server's processes during the
verifications (raw collapsed stacks, one file per run).
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import os
import platform
import random
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import uvloop
from sqlalchemy import func, select

sys.path.insert(0, str(Path(__file__).resolve().parent))
from checkins_load import FANGKONG, SECRET, free_port, pct, prepare
from lean_http import LoadResult, Request, encode, read_response, run_load
from pg import drop_postgres, fresh_postgres

from fangkong import registry
from fangkong.auth.actor import Actor
from fangkong.auth.audit_models import Channel
from fangkong.auth.service import actor_for, get_user
from fangkong.core.config import Settings
from fangkong.core.runtime import Runtime, open_runtime
from fangkong.healthcode import door
from fangkong.healthcode.models import FeverRecord
from fangkong.healthcode.service import evaluate_person
from fangkong.people.models import Person
from fangkong.policy.editions import Color
from fangkong.policy.service import edition_in_force
from fangkong.testing.models import TestOutcome
from fangkong.testing.service import add_result, results_for
from fangkong.venues.models import Checkin, CheckinSource, Venue, VenueKind
from fangkong.venues.schemas import VenueCreate
from fangkong.venues.service import create_venue

VENUE_KINDS = [VenueKind.supermarket, VenueKind.market, VenueKind.restaurant, VenueKind.station] * 4 + [
    VenueKind.hospital, VenueKind.clinic, VenueKind.hospital, VenueKind.clinic,
]  # fmt: skip
HOUR = dt.timedelta(hours=1)
CONNECTION_CLOSED = 599  # no answer: the server closed the connection
NO_ANSWER = 598  # no answer within ANSWER_TIMEOUT seconds
ANSWER_TIMEOUT = 30.0
NOT_SENT = 0  # left unsent after the server stopped answering
SAMPLE = 1500  # answers whose color, name, test age and decision are recomputed from the facts


@dataclass(frozen=True, slots=True)
class Scan:
    """One verification request and what it must get."""

    person_ref: str
    venue_ref: str
    body: dict[str, object]
    expect: int  # 200, or 422 for a refusal on purpose
    fever: bool = False


@dataclass
class City:
    url: str
    env: dict[str, str]
    operator_token: str
    runtime: Runtime
    people: dict[str, int]  # ref → id
    venues: dict[str, VenueKind]
    used_for_fever: set[str] = field(default_factory=set)


def build_city(url: str, args: argparse.Namespace, workdir: Path) -> City:
    registry.install()  # the facts' subscribers, as the CLI and the application install them
    env = os.environ | {"FANGKONG_DATABASE_URL": url, "FANGKONG_SECRET_KEY": SECRET}
    started = time.perf_counter()
    token = prepare(env, args.people, workdir)
    runtime = open_runtime(Settings(database_url=url, secret_key=SECRET))
    rng = random.Random(11)
    now = dt.datetime.now(dt.UTC)
    with runtime.database.unit_of_work() as db:
        people = {ref: int(pid) for ref, pid in db.execute(select(Person.ref, Person.id))}
        operator = actor_for(db, user=get_user(db, username="bench-op"), channel=Channel.cli)
        venues = {}
        for i, kind in enumerate(VENUE_KINDS):
            venue_in = VenueCreate(name=f"验码{kind.value}{i}", kind=kind, region_code="210802")
            venues[create_venue(db, actor=operator, venue_in=venue_in).ref] = kind  # the server gives the ref
    # Facts: 40% tested negative in the last 2 days, 20% 2.5 to 4 days ago, 1% positive (a code that is not green).
    refs = sorted(people)
    with runtime.database.unit_of_work() as db:
        for ref in refs:
            draw = rng.random()
            if draw < 0.01:
                add_result(db, actor=Actor.system(), person_ref=ref, result=TestOutcome.positive,
                           sampled_at=now - dt.timedelta(hours=rng.uniform(6, 30)))  # fmt: skip
            elif draw < 0.41:
                add_result(db, actor=Actor.system(), person_ref=ref, result=TestOutcome.negative,
                           sampled_at=now - dt.timedelta(hours=rng.uniform(4, 44)))  # fmt: skip
            elif draw < 0.61:
                add_result(db, actor=Actor.system(), person_ref=ref, result=TestOutcome.negative,
                           sampled_at=now - dt.timedelta(hours=rng.uniform(60, 96)))  # fmt: skip
    # Everyone has opened their code page once: a cached code (its first computation is not the door's work).
    with runtime.database.unit_of_work() as db:
        for person_id in people.values():
            door.issue_for(db, keys=runtime.keys, person_id=person_id)
    print(f"  city of {len(people):,} people built in {time.perf_counter() - started:.0f} s", file=sys.stderr)
    return City(url, env, token, runtime, people, venues)


def issue_tokens(city: City) -> dict[str, str]:
    """A live token for every resident, as their code page would fetch it."""
    started = time.perf_counter()
    with city.runtime.database.unit_of_work() as db:
        issued = {
            ref: door.issue_for(db, keys=city.runtime.keys, person_id=pid).token for ref, pid in city.people.items()
        }
    print(f"  {len(issued):,} live tokens issued in {time.perf_counter() - started:.1f} s", file=sys.stderr)
    return issued


def forge(token: str) -> str:
    i = 60  # inside the signed header's handle: the signature no longer matches
    return token[:i] + ("A" if token[i] != "A" else "B") + token[i + 1 :]


def plan_scans(city: City, tokens: dict[str, str], n: int, fevers: int, seed: int) -> list[Scan]:
    rng = random.Random(seed)
    refs = sorted(city.people)
    fresh = [r for r in refs if r not in city.used_for_fever]
    fever_people = rng.sample(fresh, fevers)
    city.used_for_fever.update(fever_people)
    others = [r for r in refs if r not in set(fever_people)]
    rng.shuffle(others)
    venues = sorted(city.venues)
    fever_at = set(rng.sample(range(n), fevers))
    scans = []
    for i in range(n):
        venue = venues[i % len(venues)]
        if i in fever_at:
            ref = fever_people.pop()
            body: dict[str, object] = {"token": tokens[ref], "venue_ref": venue, "temperature": 38.1}
            scans.append(Scan(ref, venue, body, 200, fever=True))
            continue
        ref = others[i % len(others)]
        body = {"token": tokens[ref], "venue_ref": venue}
        draw = rng.random()
        expect = 200
        if draw < 0.005:
            body["token"] = forge(tokens[ref])
            expect = 422
        elif draw < 0.01:
            body["person_ref"] = others[(i + 1) % len(others)]  # a borrowed phone
            expect = 422
        elif draw < 0.11:
            body["person_ref"] = ref
        if rng.random() < 0.5:
            body["temperature"] = round(rng.uniform(36.0, 37.2), 1)
        scans.append(Scan(ref, venue, body, expect))
    return scans


@dataclass(slots=True)
class Answers:
    load: LoadResult
    replies: list[tuple[int, bytes]]


# The lean route takes exactly `application/json`; with a charset the FastAPI route answers (door/fast_route.py).
CONTENT_TYPES = {"lean": "application/json", "fastapi": "application/json; charset=utf-8"}


async def verify_all(
    port: int, scans: list[Scan], *, concurrency: int, headers: dict[str, str], route: str = "lean"
) -> Answers:
    """run_load's loop (lean_http), keeping every answer for the checks afterwards."""
    host, path, kind = "127.0.0.1", "/api/healthcode/verify", CONTENT_TYPES[route]
    wire = [encode(Request("POST", path, s.body), f"{host}:{port}", headers, kind) for s in scans]
    result = LoadResult(seconds=0.0)
    replies: list[tuple[int, bytes]] = [(NOT_SENT, b"")] * len(wire)
    next_index = 0
    stalled = False

    async def connection() -> None:
        nonlocal next_index, stalled
        reader, writer = await asyncio.open_connection(host, port)
        try:
            while next_index < len(wire) and not stalled:
                i = next_index
                next_index += 1
                start = time.perf_counter()
                writer.write(wire[i])
                try:
                    async with asyncio.timeout(ANSWER_TIMEOUT):
                        status, body = await read_response(reader)
                except (ConnectionError, asyncio.IncompleteReadError, TimeoutError) as error:
                    # The server closed the connection instead of answering (after an unhandled error), or did not
                    # answer in time: counted as a failure; the device connects again.
                    status, body = NO_ANSWER if isinstance(error, TimeoutError) else CONNECTION_CLOSED, b""
                    stalled = stalled or status == NO_ANSWER  # a server that stopped answering: the phase ends
                    writer.close()
                    reader, writer = await asyncio.open_connection(host, port)
                result.latencies.append(time.perf_counter() - start)
                result.statuses[status] = result.statuses.get(status, 0) + 1
                replies[i] = (status, body)
        finally:
            writer.close()

    start = time.perf_counter()
    await asyncio.gather(*(connection() for _ in range(concurrency)))
    result.seconds = time.perf_counter() - start
    return Answers(result, replies)


def door_checkins(city: City) -> int:
    with city.runtime.database.unit_of_work() as db:
        stmt = select(func.count()).select_from(Checkin).where(Checkin.source == CheckinSource.door)
        return int(db.execute(stmt).scalar_one())


def fever_records(city: City) -> int:
    with city.runtime.database.unit_of_work() as db:
        return int(db.execute(select(func.count()).select_from(FeverRecord)).scalar_one())


def check(
    city: City, scans: list[Scan], answers: Answers, before: tuple[int, int], started: dt.datetime, seed: int
) -> tuple[dict[str, int], list[str]]:
    """Everything the answers claim, against the database: counts of the answers, and every mismatch found."""
    problems: list[str] = []
    allowed: dict[int, Scan] = {}
    decided = Counter[str]()
    answered: list[tuple[Scan, dict[str, object]]] = []
    for scan, (status, raw) in zip(scans, answers.replies, strict=True):
        if status == NOT_SENT:
            decided["not sent"] += 1
            continue
        if status != scan.expect:
            problems.append(
                f"{scan.person_ref} at {scan.venue_ref}: status {status}, expected {scan.expect}: {raw[:200]!r}"
            )
            continue
        reply = json.loads(raw)
        if status == 422:
            if reply["error"]["code"] != "code_refused":
                problems.append(f"refusal with code {reply['error']['code']}")
            decided["refused code"] += 1
            continue
        decided[str(reply["entry"])] += 1
        if reply["person_ref"] != scan.person_ref or reply["fever"] != scan.fever:
            problems.append(f"answer {reply} for {scan}")
        if reply["entry"] == "allow":
            if not isinstance(reply["checkin_id"], int) or reply["checkin_id"] in allowed:
                problems.append(f"allow without a check-in of its own: {reply}")
            allowed[int(reply["checkin_id"] or 0)] = scan
        elif reply["checkin_id"] is not None:
            problems.append(f"refuse with a check-in: {reply}")
        answered.append((scan, reply))
    with city.runtime.database.unit_of_work() as db:
        ids = sorted(allowed)
        rows: dict[int, tuple[str, str, CheckinSource]] = {}
        for start in range(0, len(ids), 500):
            stmt = (
                select(Checkin.id, Person.ref, Venue.ref, Checkin.source)
                .join(Person, Person.id == Checkin.person_id)
                .join(Venue, Venue.id == Checkin.venue_id)
                .where(Checkin.id.in_(ids[start : start + 500]))
            )
            rows |= {i: (p, v, s) for i, p, v, s in db.execute(stmt)}
        for checkin_id, scan in allowed.items():
            if rows.get(checkin_id) != (scan.person_ref, scan.venue_ref, CheckinSource.door):
                problems.append(f"check-in {checkin_id} answered for {scan.person_ref} at {scan.venue_ref}: "
                                f"stored {rows.get(checkin_id)}")  # fmt: skip
    new_checkins = door_checkins(city) - before[0]
    if new_checkins != len(allowed):
        problems.append(f"{len(allowed)} allows answered, {new_checkins} door check-ins stored")
    fevers = sum(s.fever for s in scans)
    if fever_records(city) - before[1] != fevers:
        problems.append(f"{fevers} fevers answered, {fever_records(city) - before[1]} recorded")
    # A sample (every fever among it) recomputed from the stored facts.
    rng = random.Random(seed)
    sample = [a for a in answered if a[0].fever] + rng.sample(answered, min(SAMPLE, len(answered)))
    now = dt.datetime.now(dt.UTC)
    with city.runtime.database.unit_of_work() as db:
        policy = edition_in_force(db)
        for scan, reply in sample:
            person_id = city.people[scan.person_ref]
            person = db.get_one(Person, person_id)
            color = evaluate_person(db, person_id=person_id, now=now, policy=policy).color
            negatives = [r.sampled_at for r in results_for(db, person_id=person_id)
                         if r.result is TestOutcome.negative and r.sampled_at <= now]  # fmt: skip
            age = now - max(negatives) if negatives else None
            # The answer came between the start of the phase and now: its age in whole hours is one of these.
            hours = set(range(int((age - (now - started)) / HOUR), int(age / HOUR) + 1)) if age is not None else {None}
            rule = door.ENTRY_RULES[city.venues[scan.venue_ref]]
            tested = rule.negative_within is None or (age is not None and age <= rule.negative_within)
            entry = "allow" if color in rule.colors and tested else "refuse"
            expected = (color.value, door.mask_name(person.name), entry)
            got = (reply["color"], reply["masked_name"], reply["entry"])
            if got != expected or reply["negative_test_hours"] not in hours:
                problems.append(f"{scan.person_ref}: answered {got} {reply['negative_test_hours']} h, "
                                f"the facts give {expected} {hours} h")  # fmt: skip
            if scan.fever and color is Color.green:
                problems.append(f"{scan.person_ref}: a fever left the code green")
    return dict(decided) | {"checked against the facts": len(sample), "check-ins stored": new_checkins}, problems


def profile(args: argparse.Namespace, pid: int, workers: int, workdir: Path) -> subprocess.Popen[bytes] | None:
    """py-spy recording the server's processes during the verifications, as collapsed stacks (--profile DIR)."""
    if not args.profile:
        return None
    out = Path(args.profile) / f"verify-{int(time.time())}-{workers}w.txt"
    out.parent.mkdir(parents=True, exist_ok=True)
    command = [args.py_spy, "record", "--pid", str(pid), "--subprocesses", "--threads", "--rate", "250",
               "--format", "raw", "--output", str(out), *args.py_spy_option]  # fmt: skip
    profiler = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=(workdir / "py-spy.log").open("w"))
    time.sleep(1.0)  # py-spy attaches
    print(f"  profiling into {out}", file=sys.stderr)
    return profiler


def cpu_seconds(pid: int) -> float:
    """CPU time (user + system) used so far by a process and its children's live processes, from /proc (Linux)."""
    ticks = os.sysconf("SC_CLK_TCK")
    total = 0.0
    pids = [pid]
    for child in Path(f"/proc/{pid}/task/{pid}/children").read_text().split() if Path(f"/proc/{pid}").exists() else []:
        pids.append(int(child))
    for one in pids:
        try:
            fields = Path(f"/proc/{one}/stat").read_text().rsplit(")", 1)[1].split()
        except FileNotFoundError:
            continue
        total += (int(fields[11]) + int(fields[12])) / ticks
    return total


def database_cpu_seconds() -> float:
    """CPU time of every PostgreSQL process on this machine (the server's backends do the queries)."""
    total = 0.0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            text = stat.read_text()
        except (FileNotFoundError, ProcessLookupError, PermissionError):
            continue
        if "(postgres)" in text:
            fields = text.rsplit(")", 1)[1].split()
            total += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return total


async def one_run(city: City, args: argparse.Namespace, workers: int, run: int, workdir: Path) -> dict[str, object]:
    tokens = issue_tokens(city)
    seed = 1000 * workers + run
    scans = plan_scans(city, tokens, args.verifications, args.fevers, seed)
    before = (door_checkins(city), fever_records(city))
    port = free_port()
    log_path = workdir / f"server-{port}.log"
    serve = [*FANGKONG, "serve", "--port", str(port), "--workers", str(workers)]
    with log_path.open("w") as log:
        server = subprocess.Popen(serve, env=city.env, stdout=log, stderr=log)
        try:
            headers = {"Authorization": f"Bearer {city.operator_token}", "Accept-Language": "en"}
            async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=60) as client:
                for _ in range(200):
                    try:
                        if (await client.get("/api/health")).status_code == 200:
                            break
                    except httpx.TransportError:
                        await asyncio.sleep(0.1)
                # The operator's devices are in use all day: their token was used a moment ago (the server notes a
                # token's use at most once a minute, and that write is not what this run measures).
                (await client.get("/api/venues", headers=headers)).raise_for_status()
            pings = [Request("GET", "/api/ping")] * args.verifications
            ping = await run_load("127.0.0.1", port, pings, concurrency=args.devices, headers=headers)
            profiler = profile(args, server.pid, workers, workdir)
            started = dt.datetime.now(dt.UTC)
            cpu_before = (cpu_seconds(server.pid), database_cpu_seconds())
            answers = await verify_all(port, scans, concurrency=args.devices, headers=headers, route=args.route)
            cpu_after = (cpu_seconds(server.pid), database_cpu_seconds())
            if profiler is not None:
                profiler.send_signal(signal.SIGINT)
                profiler.wait(timeout=60)
        except Exception:
            print(log_path.read_text()[-12000:], file=sys.stderr)
            raise
        finally:
            server.terminate()
            try:
                server.wait(timeout=30)
            except subprocess.TimeoutExpired:
                server.kill()
                server.wait()
    if set(ping.statuses) != {200}:
        raise SystemExit(f"pings failed: {ping.statuses}")
    checked, problems = check(city, scans, answers, before, started, seed)
    if problems:
        print("  PROBLEMS:\n  " + "\n  ".join(problems[:10]), file=sys.stderr)
    failed = {str(s): n for s, n in answers.load.statuses.items() if s not in (200, 422)}
    if checked.get("not sent"):
        failed["not sent"] = checked["not sent"]
    bare = sum(ping.statuses.values()) / ping.seconds
    rate = (answers.load.statuses.get(200, 0) + answers.load.statuses.get(422, 0)) / answers.load.seconds
    answered = answers.load.statuses.get(200, 0) + answers.load.statuses.get(422, 0)
    server_us = (cpu_after[0] - cpu_before[0]) / max(answered, 1) * 1e6
    database_us = (cpu_after[1] - cpu_before[1]) / max(answered, 1) * 1e6
    print(
        f"  {workers} worker(s), run {run + 1}: server CPU {server_us:,.0f} µs, "
        f"PostgreSQL CPU {database_us:,.0f} µs per verification",
        file=sys.stderr,
    )
    print(f"  {workers} worker(s), run {run + 1}: {rate:,.0f} verifications/s, ceiling {bare:,.0f}/s, "
          f"p99 {pct(answers.load.latencies, 99):.1f} ms; {checked}", file=sys.stderr)  # fmt: skip
    return {
        "bare requests/s (ceiling)": bare,
        "bare p50 / p99 ms": (pct(ping.latencies, 50), pct(ping.latencies, 99)),
        "verifications/s": rate,
        "verifications / bare": rate / bare,
        "verify p50 / p99 ms": (pct(answers.load.latencies, 50), pct(answers.load.latencies, 99)),
        "server CPU µs per verification": server_us,
        "PostgreSQL CPU µs per verification (all its processes)": database_us,
        "answers allow / refuse / refused code (all runs)": (
            checked.get("allow", 0),
            checked.get("refuse", 0),
            checked.get("refused code", 0),
        ),
        "door check-ins stored (all runs)": checked["check-ins stored"],
        "answers recomputed from the facts (all runs)": checked["checked against the facts"],
        "failed requests (status: count)": ", ".join(f"{s}: {n}" for s, n in failed.items()) or "none",
        "mismatches with the database": len(problems),
    }


def summarize(runs: list[dict[str, object]]) -> dict[str, str]:
    """Median (min–max) of the runs' figures."""
    out = {}
    for key, first in runs[0].items():
        values = [r[key] for r in runs]
        if isinstance(first, float):
            floats = [float(v) for v in values if isinstance(v, float)]
            text = (
                f"{statistics.median(floats):,.2f}"
                if key == "verifications / bare"
                else f"{statistics.median(floats):,.0f}"
            )
            if len(floats) > 1 and key != "verifications / bare":
                text += f" ({min(floats):,.0f}–{max(floats):,.0f})"
        elif isinstance(first, tuple) and isinstance(first[0], float):
            text = " / ".join(f"{statistics.median([float(v[i]) for v in values]):.1f}" for i in range(len(first)))  # type: ignore[index]
        elif isinstance(first, tuple):  # counts: summed over the runs
            text = " / ".join(str(sum(int(v[i]) for v in values)) for i in range(len(first)))  # type: ignore[index]
        elif isinstance(first, int):
            text = str(sum(int(v) for v in values if isinstance(v, int)))
        else:
            text = "; ".join(dict.fromkeys(str(v) for v in values))
        out[key] = text
    return out


async def measure(url: str, args: argparse.Namespace, workdir: Path) -> dict[str, dict[str, str]]:
    city = build_city(url, args, workdir)
    try:
        results = {}
        for workers in args.workers:
            runs = [await one_run(city, args, workers, run, workdir) for run in range(args.runs)]
            results[f"{workers} worker{'s' if workers > 1 else ''}"] = summarize(runs)
        return results
    finally:
        city.runtime.database.engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--verifications", type=int, default=20000)
    parser.add_argument(
        "--devices", type=int, default=64, help="connections (door devices), one request in flight each"
    )
    parser.add_argument("--workers", default="1,2", help="server processes to measure with, e.g. 1,2")
    parser.add_argument("--runs", type=int, default=1, help="runs per worker count (medians reported)")
    parser.add_argument("--route", choices=sorted(CONTENT_TYPES), default="lean",
                        help="lean: the devices' route (default); fastapi: the same requests through the FastAPI "
                             "route, by declaring a charset")  # fmt: skip
    parser.add_argument("--people", type=int, default=10000)
    parser.add_argument("--fevers", type=int, default=20, help="scans with a fever, each of a different person")
    parser.add_argument("--postgres", help="admin URL of a PostgreSQL server to measure as well")
    parser.add_argument("--skip-sqlite", action="store_true")
    parser.add_argument("--workdir", help="keep the SQLite database and the server logs here (an empty directory)")
    parser.add_argument("--profile", metavar="DIR", help="record the server with py-spy during the verifications")
    parser.add_argument("--py-spy-option", action="append", default=[], help="e.g. --gil or --idle (repeatable)")
    parser.add_argument("--py-spy", default=shutil.which("py-spy") or str(Path(sys.executable).parent / "py-spy"))
    args = parser.parse_args()
    args.workers = [int(w) for w in str(args.workers).split(",")]
    results: dict[str, dict[str, str]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(args.workdir or tmp)
        if not args.skip_sqlite:
            for label, figures in uvloop.run(measure(f"sqlite:///{workdir}/bench.db", args, workdir)).items():
                results[f"SQLite, {label}"] = figures
        if args.postgres:
            url, name = fresh_postgres(args.postgres)
            try:
                for label, figures in uvloop.run(measure(url, args, workdir)).items():
                    results[f"PostgreSQL, {label}"] = figures
            finally:
                drop_postgres(args.postgres, name)
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}")
    print(f"{args.verifications} verifications ({args.route} route) from {args.devices} devices, {args.people} people, "
          f"{args.runs} run(s) each, median")  # fmt: skip
    print("| figure | " + " | ".join(results) + " |")
    print("| --- |" + " --- |" * len(results))
    for key in next(iter(results.values())):
        print(f"| {key} | " + " | ".join(r[key] for r in results.values()) + " |")
    if any(r["mismatches with the database"] != "0" or r["failed requests (status: count)"] != "none"
           for r in results.values()):  # fmt: skip
        raise SystemExit("some verifications failed or did not match the database (see above)")


if __name__ == "__main__":
    main()
