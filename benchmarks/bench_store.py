"""Benchmark: what journaling costs, against raw sqlite3 inserts of the same rows.

Two workloads of ``--jobs`` jobs on one queue with room for all of them:

* submissions: ``submit()`` each job (New -> Preparing -> Ready -> Active, one
  journal entry per call);
* transitions: ``complete()`` each job (Active -> Complete, one entry per call).

The clock reads a 2026 Unix time and moves 1 ms before each call, so entries
carry timestamps like a real clock's (which cost JSON far more than 0.0).

Each runs on a scheduler without a store (the floor), on a ``MemoryStore``
(the cost of encoding entries), and on a ``SQLiteStore`` with ``"full"`` and
``"batched"`` durability. The baselines insert the very same entries
(captured from the memory run) with plain ``sqlite3`` into a table of the same
schema, with the same pragmas and the same commit pattern: one autocommitted
INSERT per entry, synced every commit (``raw full``) or checkpointed every
``batch_size`` commits (``raw batched``: the way plain ``sqlite3`` bounds the
commits a power loss may take). ``raw unsynced`` never syncs at all: the
floor, for reference. ``"batched"`` syncs as often as ``raw batched``, but
from a background thread. Automatic compaction is off, so only journaling is
measured. ``"full"`` syncs every call, so it runs on at most ``--full-jobs``
jobs.

The ratio column is the store's rate over the raw rate of the same durability,
from the same run (median of ``--repeat`` runs). The target is ``"batched"`` >=
50 % of ``raw batched``.

Run from the repository root::

    python benchmarks/bench_store.py                    # 20k jobs, median of 3
    python benchmarks/bench_store.py --jobs 100000 --full-jobs 5000
"""

from __future__ import annotations

import argparse
import gc
import os
import platform
import sqlite3
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path

from jobqueue import ManualClock, Scheduler
from jobqueue.store import MemoryStore, SQLiteStore, Store

BATCH_SIZE = 1000
# Times as a real clock gives them: a 2026 Unix time, moving a millisecond
# per call. (A clock at 0.0 would flatter the encoding: JSON writes 0.0 in a
# few nanoseconds and 1790000000.123 in a few hundred.)
EPOCH = 1_790_000_000.0
TICK = 0.001
MODES = ("none", "memory", "full", "batched", "raw full", "raw batched", "raw unsynced")


Timing = tuple[float, float]  # (wall-clock seconds, CPU seconds of this process)


def now() -> Timing:
    return time.perf_counter(), time.process_time()


def since(start: Timing) -> Timing:
    wall, cpu = now()
    return wall - start[0], cpu - start[1]


def scheduler_run(make_store: Callable[[], Store | None], n: int) -> tuple[Timing, Timing]:
    """Time for ``n`` submissions and for ``n`` completions."""
    gc.collect()  # the garbage of earlier runs is theirs to pay for, not this one's
    store = make_store()
    clock = ManualClock(EPOCH)
    sched = Scheduler(clock) if store is None else Scheduler.open(store, clock)
    sched.update_queue("default", slots=n + 1, max_waiting=n + 1, deferred_share=1.0)
    tick = clock.advance
    start = now()
    ids = []
    for _ in range(n):
        tick(TICK)
        ids.append(sched.submit().id)
    submitted = since(start)
    start = now()
    for job_id in ids:
        tick(TICK)
        sched.complete(job_id)
    completed = since(start)
    if store is not None:
        store.close()
    return submitted, completed


def captured_rows(n: int) -> tuple[list[bytes], list[bytes]]:
    """The entries the store writes for the two workloads."""
    store = MemoryStore(compact_every=None)
    clock = ManualClock(EPOCH)
    sched = Scheduler.open(store, clock)
    sched.update_queue("default", slots=n + 1, max_waiting=n + 1, deferred_share=1.0)
    setup = len(store)
    ids = []
    for _ in range(n):
        clock.advance(TICK)
        ids.append(sched.submit().id)
    middle = len(store)
    for job_id in ids:
        clock.advance(TICK)
        sched.complete(job_id)
    entries = [entry for _, entry in store.load().entries]
    return entries[setup:middle], entries[middle:]


def raw_run(path: Path, rows: Sequence[bytes], durability: str) -> Timing:
    """Time to insert ``rows`` with plain sqlite3, committed (and synced) like the store."""
    gc.collect()
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA locking_mode=EXCLUSIVE")
    conn.execute("CREATE TABLE journal (number INTEGER PRIMARY KEY, entry TEXT NOT NULL)")
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute(f"PRAGMA synchronous={'FULL' if durability == 'full' else 'NORMAL'}")
    if durability == "unsynced":
        conn.execute("PRAGMA wal_autocheckpoint=0")  # SQLite would sync when it checkpoints
    insert = "INSERT INTO journal (number, entry) VALUES (?, ?)"
    execute = conn.cursor().execute  # one cursor: Connection.execute makes one per call
    start = now()
    if durability in ("full", "unsynced"):  # synced by every commit, or never
        for number, row in enumerate(rows, 1):
            execute(insert, (number, row))
    else:
        for number, row in enumerate(rows, 1):
            execute(insert, (number, row))
            if number % BATCH_SIZE == 0:
                conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
    spent = since(start)
    conn.close()
    return spent


def fresh(directory: Path, name: str) -> Path:
    path = directory / name
    for suffix in ("", "-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)
    return path


Result = dict[str, tuple[Timing, Timing]]  # mode -> per-call (wall, CPU) seconds, both workloads


def measure(n: int, full_n: int, repeat: int, directory: Path) -> Result:
    """Median wall-clock and CPU seconds per call, per mode and workload."""
    samples: dict[str, list[tuple[Timing, Timing]]] = {mode: [] for mode in MODES}
    submit_rows, complete_rows = captured_rows(n)
    full_rows = captured_rows(full_n)

    def batched_store() -> Store:
        path = fresh(directory, "batched.db")
        return SQLiteStore(path, durability="batched", batch_size=BATCH_SIZE, compact_every=None)

    for _ in range(repeat):
        runs: dict[str, tuple[int, tuple[Timing, Timing]]] = {
            "none": (n, scheduler_run(lambda: None, n)),
            "memory": (n, scheduler_run(lambda: MemoryStore(compact_every=None), n)),
            "full": (
                full_n,
                scheduler_run(
                    lambda: SQLiteStore(fresh(directory, "full.db"), compact_every=None), full_n
                ),
            ),
            "batched": (n, scheduler_run(batched_store, n)),
            "raw full": (
                full_n,
                (
                    raw_run(fresh(directory, "raw-full-s.db"), full_rows[0], "full"),
                    raw_run(fresh(directory, "raw-full-c.db"), full_rows[1], "full"),
                ),
            ),
            "raw batched": (
                n,
                (
                    raw_run(fresh(directory, "raw-batched-s.db"), submit_rows, "batched"),
                    raw_run(fresh(directory, "raw-batched-c.db"), complete_rows, "batched"),
                ),
            ),
            "raw unsynced": (
                n,
                (
                    raw_run(fresh(directory, "raw-unsynced-s.db"), submit_rows, "unsynced"),
                    raw_run(fresh(directory, "raw-unsynced-c.db"), complete_rows, "unsynced"),
                ),
            ),
        }
        for mode, (count, (submit, complete)) in runs.items():
            samples[mode].append(
                ((submit[0] / count, submit[1] / count), (complete[0] / count, complete[1] / count))
            )
    return {
        mode: tuple(  # type: ignore[misc]
            (
                statistics.median(v[w][0] for v in values),
                statistics.median(v[w][1] for v in values),
            )
            for w in (0, 1)
        )
        for mode, values in samples.items()
    }


def table(result: Result) -> list[str]:
    """Rates (wall clock) and CPU microseconds per call, with ratios to raw inserts."""
    raws = {"full": "raw full", "batched": "raw batched"}
    lines = [
        "| mode | submissions/s | transitions/s | vs raw (submit) | vs raw (transition) "
        "| CPU µs/submit | CPU µs/transition |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for mode in MODES:
        (submit, submit_cpu), (complete, complete_cpu) = result[mode]
        raw = raws.get(mode)
        ratio = "|  |  |"
        if raw is not None:
            (raw_submit, _), (raw_complete, _) = result[raw]
            ratio = f"| {100 * raw_submit / submit:.0f} % | {100 * raw_complete / complete:.0f} % |"
        lines.append(
            f"| {mode} | {1 / submit:,.0f} | {1 / complete:,.0f} {ratio}"
            f" {1e6 * submit_cpu:.1f} | {1e6 * complete_cpu:.1f} |"
        )
    return lines


def main(argv: Sequence[str] | None = None) -> int:
    """Run the benchmark and print the table; returns the exit status."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--jobs", type=int, default=20_000, help="jobs per workload")
    parser.add_argument(
        "--full-jobs", type=int, default=2000, help="jobs for the syncing modes (at most --jobs)"
    )
    parser.add_argument("--repeat", type=int, default=3, help="runs per measurement (median)")
    parser.add_argument("--dir", help="directory for the database files (default: a temporary one)")
    args = parser.parse_args(argv)
    if args.jobs < 1 or args.full_jobs < 1 or args.repeat < 1:
        parser.error("--jobs, --full-jobs and --repeat must be >= 1")
    n = args.jobs
    full_n = min(args.full_jobs, n)
    shown = " ".join(sys.argv[1:] if argv is None else argv)
    print(f"command: python benchmarks/bench_store.py {shown}".rstrip())
    print(
        f"Python {platform.python_version()}, SQLite {sqlite3.sqlite_version}, "
        f"{platform.machine()}, {n} jobs ({full_n} for full), batch {BATCH_SIZE}, "
        f"median of {args.repeat}"
    )
    print()
    with tempfile.TemporaryDirectory(dir=args.dir) as tmp:
        result = measure(n, full_n, args.repeat, Path(tmp))
    for line in table(result):
        print(line)
    (batched_s, batched_s_cpu), (batched_c, batched_c_cpu) = result["batched"]
    (raw_s, raw_s_cpu), (raw_c, raw_c_cpu) = result["raw batched"]
    wall = min(raw_s / batched_s, raw_c / batched_c)
    cpu = min(raw_s_cpu / batched_s_cpu, raw_c_cpu / batched_c_cpu)
    none_s_cpu, none_c_cpu = result["none"][0][1], result["none"][1][1]
    print()
    print(
        "journaling adds per call (batched - none, CPU): "
        f"{1e6 * (batched_s_cpu - none_s_cpu):.1f} µs per submission, "
        f"{1e6 * (batched_c_cpu - none_c_cpu):.1f} µs per transition; "
        f"a raw insert costs {1e6 * raw_s_cpu:.1f} / {1e6 * raw_c_cpu:.1f} µs"
    )
    verdict = "met" if wall >= 0.5 else "NOT met"
    print(
        f"target: batched >= 50 % of raw batched inserts: {verdict} "
        f"(worse workload: {100 * wall:.0f} % wall clock, {100 * cpu:.0f} % CPU)"
    )
    (floor_s, _), (floor_c, _) = result["raw unsynced"]
    print(
        "batched against raw inserts that never sync: "
        f"{100 * floor_s / batched_s:.0f} % (submissions), "
        f"{100 * floor_c / batched_c:.0f} % (transitions)"
    )
    return 0


if __name__ == "__main__":
    os.environ.setdefault("PYTHONHASHSEED", "0")
    sys.exit(main())
