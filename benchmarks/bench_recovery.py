"""Benchmark: what ``Scheduler.open`` spends per job rebuilding a scheduler, and checking it.

A journal of ``--jobs`` jobs (each with tags and a manifest of two tasks; a
third of them finished, the rest waiting in a FIFO and a priority queue) is
compacted into a snapshot, and ``Scheduler.open`` rebuilds a scheduler from a
copy of it, on a ``MemoryStore`` (no disk, so only recovery is timed). Every
field of every row is checked before it is used (``jobqueue.store._checks``);
the rows of the shape the journal writes are recognised at a glance by a fast
path. The table times recovery as shipped, with the fast path off (every
field checked one by one), with no checks at all (what checking costs), and,
alone, the scheduler's invariant check that recovery runs once at the end;
best of ``--repeat``.

Run from the repository root::

    python benchmarks/bench_recovery.py                 # 100k jobs, best of 3
    python benchmarks/bench_recovery.py --jobs 20000 --repeat 5
"""

from __future__ import annotations

import argparse
import gc
import platform
import sys
import time
from collections.abc import Callable, Sequence
from unittest import mock

from jobqueue import ManualClock, Scheduler
from jobqueue._core import invariants
from jobqueue.store import MemoryStore, _checks, _recovery

EPOCH = 1_790_000_000.0  # a 2026 Unix time, as a real clock gives it


def journal(n: int) -> tuple[MemoryStore, ManualClock]:
    """A compacted store of ``n`` jobs, and a clock that continues its timeline."""
    clock = ManualClock(EPOCH)
    store = MemoryStore(compact_every=None)
    sched = Scheduler.open(store, clock, retention=1e9)
    sched.update_queue("default", max_waiting=n + 1)
    sched.create_queue("ranked", slots=10, max_waiting=n + 1, policy="priority")
    for i in range(n):
        job = sched.submit(
            queue="ranked" if i % 2 else "default",
            priority=i % 7,
            tags={"team": "a"},
            tasks=["a", "b"],
        )
        clock.advance(0.001)
        if i % 3 == 0 and sched.get(job.id).status.value == "Active":
            sched.complete(job.id)
    for queue in ("default", "ranked"):
        sched.pause_queue(queue)
    for row in sched.list_jobs(statuses=["Active"]):
        sched.complete(row.id)  # nothing is running, or starts, on recovery: it only rebuilds
    store.compact()
    return store, clock


def best(run: Callable[[], object], repeat: int) -> float:
    times = []
    for _ in range(repeat):
        gc.collect()
        start = time.perf_counter()
        run()
        times.append(time.perf_counter() - start)
    return min(times)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the benchmark and print the table; returns the exit status."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--jobs", type=int, default=100_000, help="jobs in the journal")
    parser.add_argument("--repeat", type=int, default=3, help="runs per measurement (best)")
    args = parser.parse_args(argv)
    if args.jobs < 1 or args.repeat < 1:
        parser.error("--jobs and --repeat must be >= 1")
    shown = " ".join(sys.argv[1:] if argv is None else argv)
    print(f"command: python benchmarks/bench_recovery.py {shown}".rstrip())
    print(f"Python {platform.python_version()}, {platform.machine()}, {args.jobs} jobs")
    print()
    store, clock = journal(args.jobs)

    def recover() -> Scheduler:
        return Scheduler.open(store.copy(), clock, retention=1e9)

    shipped = best(recover, args.repeat)
    with (
        mock.patch.object(_checks, "plain_job_row", return_value=False),
        mock.patch.object(_checks, "plain_task_op", return_value=False),
    ):
        one_by_one = best(recover, args.repeat)
    with (
        mock.patch.object(_recovery, "check_op", lambda op: op[0]),
        mock.patch.object(_recovery, "check_state", lambda *fields: None),
        mock.patch.object(invariants, "check", lambda core: None),
    ):
        unchecked = best(recover, args.repeat)
    recovered = recover()
    invariant_check = best(recovered.check_invariants, args.repeat)
    per_job = 1e6 / args.jobs
    print("| recovery | s | µs/job |")
    print("|---|---:|---:|")
    for name, seconds in (
        ("as shipped (fast path)", shipped),
        ("every field one by one", one_by_one),
        ("no checks at all", unchecked),
        ("the invariant check alone", invariant_check),
    ):
        print(f"| {name} | {seconds:.3f} | {seconds * per_job:.1f} |")
    print()
    print(
        f"checking adds {100 * (shipped / unchecked - 1):.0f} % to recovery; "
        f"the fast path saves {100 * (1 - shipped / one_by_one):.0f} % of it"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
