"""Benchmark: peak memory of `fangkong import people` on a large file, on SQLite (and PostgreSQL when asked).

    .venv/bin/python bench/import_memory.py --people 1000000 --runs 3 [--postgres URL]

Each run imports the demo city's regions and then, into that registry:

- "empty": the people file into the empty registry (the first load);
- "re-import": the same file again, every row meeting its own ref (all unchanged);
- "updated": the same refs with every name changed, every row an update;
- "colliding": the same people under other refs (a second source's file), every row colliding with the registry
  on its ID number and rejected, with its line, as "already registered to ref ...".

Peak memory is measured twice per import: the whole command (`/usr/bin/time -f %M`, the largest process of the
tree: the writer or its reader process), and the writer alone (its VmHWM in /proc, read every 20 ms until it
exits). Figures are medians over the runs, in MB (10^6 bytes); the time is given as wall-clock seconds and as CPU
seconds of the command's processes (user + system), the steadier figure on a shared machine.
"""

from __future__ import annotations

import argparse
import csv
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from import_people import make_files
from pg import drop_postgres, fresh_postgres

FANGKONG = [sys.executable, "-m", "fangkong.cli"]
CASES = ("empty", "re-import", "updated", "colliding")


def derived_file(people_csv: Path, suffix: str, column: str, change: str) -> Path:
    """The file with `change` put before every value of `column`."""
    target = people_csv.with_name(f"{people_csv.stem}-{suffix}.csv")
    if target.exists():
        return target
    tmp = target.with_suffix(".tmp")
    with people_csv.open(newline="", encoding="utf-8") as src, tmp.open("w", newline="", encoding="utf-8") as dst:
        reader, writer = csv.reader(src), csv.writer(dst)
        header = next(reader)
        writer.writerow(header)
        index = header.index(column)
        for row in reader:
            row[index] = change + row[index]
            writer.writerow(row)
    tmp.rename(target)
    return target


def _writer_hwm_kb(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/status") as fh:
            for line in fh:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
    except (FileNotFoundError, ProcessLookupError):
        pass
    return 0


def measured(cmd: list[str], env: dict[str, str]) -> tuple[float, float, float, str, float]:
    """Run a command; (seconds, peak RSS of the largest process in MB, peak RSS of the writer in MB, its last line,
    CPU seconds of all its processes)."""
    with tempfile.NamedTemporaryFile("r", suffix=".time") as report:
        start = time.perf_counter()
        proc = subprocess.Popen(
            ["/usr/bin/time", "-f", "%U %S %M", "-o", report.name, *cmd],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        writer_kb = 0
        done = threading.Event()

        def watch() -> None:
            nonlocal writer_kb
            child: int | None = None
            while not done.is_set():
                if child is None:  # the writer is /usr/bin/time's one child
                    try:
                        with open(f"/proc/{proc.pid}/task/{proc.pid}/children") as fh:
                            child = int(fh.read().split()[0])
                    except (FileNotFoundError, IndexError, ValueError):
                        pass
                if child is not None:
                    writer_kb = max(writer_kb, _writer_hwm_kb(child))
                time.sleep(0.02)

        watcher = threading.Thread(target=watch, daemon=True)
        watcher.start()
        stdout, stderr = proc.communicate()
        done.set()
        watcher.join()
        elapsed = time.perf_counter() - start
        if proc.returncode not in (0, 1):  # 1: some rows were rejected, which the colliding case expects
            raise SystemExit(f"{' '.join(cmd)} failed ({proc.returncode}):\n{stdout[-2000:]}{stderr[-2000:]}")
        user, system, tree_kb = Path(report.name).read_text().split()[-3:]
    summary = stdout.strip().splitlines()[-1] if stdout.strip() else ""
    return elapsed, int(tree_kb) / 1000, writer_kb / 1000, summary, float(user) + float(system)


def run_cases(
    env: dict[str, str], regions: Path, files: tuple[Path, ...], results: dict[str, list[tuple]], cases: list[str]
) -> None:
    subprocess.run([*FANGKONG, "import", "regions", str(regions)], env=env, check=True, capture_output=True)
    for case, file in zip(CASES, files, strict=True):
        if case not in cases and case != "empty":  # the others need the registry the first import makes
            continue
        figures = measured([*FANGKONG, "import", "people", str(file)], env)
        print(f"  {case}: {figures[0]:.1f} s ({figures[4]:.1f} s CPU), tree {figures[1]:.0f} MB, "
              f"writer {figures[2]:.0f} MB; {figures[3]}", file=sys.stderr)  # fmt: skip
        results[case].append(figures)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--people", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--seed", type=int, default=2020)
    parser.add_argument("--postgres", help="admin URL of a PostgreSQL server to measure as well")
    parser.add_argument("--cases", default=",".join(CASES), help=f"some of {','.join(CASES)} (empty always runs)")
    parser.add_argument("--only-postgres", action="store_true", help="skip SQLite")
    args = parser.parse_args()
    regions, people = make_files(args.people, args.seed)
    # The same people and households under other refs: every ID number is already registered to someone else.
    other = derived_file(people, "other-refs", "ref", "X")
    files = (people, people, derived_file(people, "renamed", "name", "新"), other)
    cases = ["empty", *(c for c in args.cases.split(",") if c in CASES and c != "empty")]
    backends = ([] if args.only_postgres else ["sqlite"]) + (["postgresql"] if args.postgres else [])
    results: dict[str, dict[str, list[tuple]]] = {b: {c: [] for c in CASES if c in cases} for b in backends}
    with tempfile.TemporaryDirectory() as tmp:
        for run in range(args.runs):
            env = os.environ | {"FANGKONG_SECRET_KEY": "benchmark-secret-key-not-for-production"}
            if "sqlite" in backends:
                print(f"run {run + 1}/{args.runs}, sqlite", file=sys.stderr)
                env["FANGKONG_DATABASE_URL"] = f"sqlite:///{tmp}/run{run}.db"
                run_cases(env, regions, files, results["sqlite"], cases)
                for suffix in ("", "-wal", "-shm"):
                    Path(f"{tmp}/run{run}.db{suffix}").unlink(missing_ok=True)
            if args.postgres:
                print(f"run {run + 1}/{args.runs}, postgresql", file=sys.stderr)
                url, name = fresh_postgres(args.postgres)
                try:
                    env["FANGKONG_DATABASE_URL"] = url
                    run_cases(env, regions, files, results["postgresql"], cases)
                finally:
                    drop_postgres(args.postgres, name)
    size_mb = people.stat().st_size / 1e6
    print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
          f"Python {platform.python_version()}")  # fmt: skip
    print(f"file: {args.people:,} people, {size_mb:.0f} MB; runs: {args.runs}; medians (min–max)")
    print("| database | import | peak RSS, whole command, MB | peak RSS, writer, MB | wall s | CPU s |")
    print("| --- | --- | --- | --- | --- | --- |")
    for backend, cases in results.items():
        for case, figures in cases.items():
            secs, tree, writer, cpu = ([f[i] for f in figures] for i in (0, 1, 2, 4))
            print(
                f"| {backend} | {case} | {statistics.median(tree):,.0f} ({min(tree):,.0f}–{max(tree):,.0f}) "
                f"| {statistics.median(writer):,.0f} ({min(writer):,.0f}–{max(writer):,.0f}) "
                f"| {statistics.median(secs):.1f} | {statistics.median(cpu):.1f} |"
            )


if __name__ == "__main__":
    main()
