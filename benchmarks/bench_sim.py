"""Benchmark: jobqueue's simulation driver against SimPy and a minimal heapq loop.

One seeded workload -- Poisson arrivals, exponential durations of mean 1,
100 slots, offered load 0.9, priorities uniform over 1-10 -- runs through three
queue variants (FIFO, priority, preemptive priority) in three implementations:

* jobqueue: ``jobqueue.sim.simulate``, the real scheduler on a virtual clock;
* SimPy: ``Resource`` / ``PriorityResource`` / ``PreemptiveResource`` with the
  interrupt-and-resume pattern (see ``_baselines.py`` for how SimPy is made to
  follow jobqueue's ordering and preemption rules);
* heapq: a minimal hand-written event loop, the pure-Python floor.

Every run is checked: all three must give every job the same first start and
finish time, bit for bit; the script exits with status 1 if they do not.
It then prints thousands of jobs per second, microseconds per job and the
ratio to SimPy from the same run (median of ``--repeat`` runs), and the memory
a finished job keeps (tracemalloc, in a separate run: the bytes still
allocated after the run, with the scheduler and result alive, per job).
Last, it sets what 2x SimPy's throughput would leave per job against the
scheduler's own work per job with no driver around it (``core_per_job``).

Run from the repository root (needs the ``bench`` extra, i.e. simpy)::

    python benchmarks/bench_sim.py                      # 10k and 100k jobs
    python benchmarks/bench_sim.py --sizes 10000,100000,1000000 --repeat 3 \\
        --memory all --profile 100000                  # the full run (tens of minutes)
    python benchmarks/bench_sim.py --gc off             # what the cyclic collector costs
"""

from __future__ import annotations

import argparse
import cProfile
import gc
import io
import math
import platform
import pstats
import random
import statistics
import sys
import time
import tracemalloc
from collections import deque
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Literal

import attrs

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _baselines import Variant, exact_gaps, heapq_run, simpy_run

from jobqueue import Acceleration, BillingTagsSource, ManualClock, Scheduler
from jobqueue._core import core_of
from jobqueue._core.records import JobRecord
from jobqueue.sim import QueueSpec, Workload, poisson_workload, simulate

VARIANTS: tuple[Variant, ...] = ("fifo", "priority", "preemptive")
IMPLEMENTATIONS = ("jobqueue", "simpy", "heapq")
SLOTS = 100
LOAD = 0.9
Times = tuple[list[float], list[float]]


@attrs.frozen
class Inputs:
    """One workload, as jobqueue sees it and as the baselines see it."""

    workloads: dict[Variant, Workload]
    arrivals: list[float]
    gaps: list[float]
    durations: list[float]
    priorities: list[int]


def make_inputs(n: int, seed: int) -> Inputs:
    """The seeded workload and its three queue variants."""
    base = poisson_workload(
        n,
        rng=random.Random(seed),
        slots=SLOTS,
        load=LOAD,
        priorities={p: 1.0 for p in range(1, 11)},
    )
    workloads = {}
    for variant in VARIANTS:
        queue = QueueSpec(
            "default",
            slots=SLOTS,
            policy="fifo" if variant == "fifo" else "priority",
            preemption=variant == "preemptive",
            deferred_share=1.0,
            max_waiting=max(1, n),
        )
        workloads[variant] = attrs.evolve(base, queues=(queue,))
    arrivals = [job.arrival for job in base.jobs]
    return Inputs(
        workloads=workloads,
        arrivals=arrivals,
        gaps=exact_gaps(arrivals),
        durations=[job.duration for job in base.jobs],
        priorities=[job.priority for job in base.jobs],
    )


def runner(impl: str, variant: Variant, inputs: Inputs) -> Callable[[], Times]:
    """A zero-argument function that runs one implementation and returns its times."""
    if impl == "jobqueue":
        workload = inputs.workloads[variant]

        def run_jobqueue() -> Times:
            jobs = simulate(workload).jobs
            return list(map(_nan, jobs.first_starts())), list(map(_nan, jobs.finishes()))

        return run_jobqueue
    if impl == "simpy":
        return lambda: simpy_run(inputs.gaps, inputs.durations, inputs.priorities, SLOTS, variant)
    return lambda: heapq_run(inputs.arrivals, inputs.durations, inputs.priorities, SLOTS, variant)


def _nan(value: float | None) -> float:
    return math.nan if value is None else value


def first_difference(a: Times, b: Times) -> str | None:
    """Where two results differ, or None if every start and finish is identical."""
    for what, xs, ys in (("start", a[0], b[0]), ("finish", a[1], b[1])):
        if len(xs) != len(ys):
            return f"{len(xs)} vs {len(ys)} jobs"
        for i, (x, y) in enumerate(zip(xs, ys, strict=True)):
            if x != y:  # also catches a NaN: every job must start and finish
                return f"job {i}: {what} {x!r} vs {y!r}"
    return None


def timed(fn: Callable[[], Times], repeat: int, collector: bool = True) -> tuple[float, Times]:
    """Median wall seconds over ``repeat`` runs, and the last run's result.

    With ``collector=False`` the cyclic collector is off while a run is timed
    (it collects between runs, untimed), which shows what its passes over the
    objects a run keeps cost.
    """
    times = []
    result: Times = ([], [])
    for _ in range(repeat):
        gc.collect()
        if not collector:
            gc.disable()
        try:
            began = time.perf_counter()
            result = fn()
            times.append(time.perf_counter() - began)
        finally:
            gc.enable()
    return statistics.median(times), result


def retained_bytes(fn: Callable[[], object]) -> tuple[float, float]:
    """(bytes still allocated after ``fn`` while its result is alive, peak bytes)."""
    gc.collect()
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        kept = fn()
        gc.collect()
        current, peak = tracemalloc.get_traced_memory()
        del kept
    finally:
        tracemalloc.stop()
    return current - before, peak - before


def memory_fn(impl: str, variant: Variant, inputs: Inputs) -> Callable[[], object]:
    """What to keep alive when measuring memory: the result and, for jobqueue, its scheduler."""
    if impl == "jobqueue":
        from jobqueue.sim import Simulation

        workload = inputs.workloads[variant]

        def keep_jobqueue() -> object:
            sim = Simulation(workload)
            return sim, sim.run()

        return keep_jobqueue
    return runner(impl, variant, inputs)


def profile_fifo(n: int, seed: int, top: int = 20) -> str:
    """cProfile of jobqueue's FIFO variant at ``n`` jobs: the top functions by own time."""
    workload = make_inputs(n, seed).workloads["fifo"]
    profiler = cProfile.Profile()
    profiler.enable()
    simulate(workload)
    profiler.disable()
    out = io.StringIO()
    stats = pstats.Stats(profiler, stream=out)
    stats.sort_stats("tottime").print_stats(top)
    return out.getvalue()


def core_per_job(n: int) -> float:
    """Seconds per job of the scheduler's own work, with no driver around it.

    Each job is submitted through the fast path the simulation uses and, once
    100 run, the oldest is completed: the cheapest case (a submission that
    starts at once, a completion with nobody waiting), with no event heap, no
    clock jumps and no result columns.
    """
    clock = ManualClock()
    sched = Scheduler(clock)
    sched.update_queue("default", slots=SLOTS, max_waiting=n + 1, deferred_share=1.0)
    core = core_of(sched)
    submit, complete = core.submit, core.complete
    running: deque[JobRecord] = deque()
    disabled, queue = Acceleration.DISABLED, BillingTagsSource.QUEUE
    gc.collect()
    gc.disable()
    try:
        began = time.perf_counter()
        for _ in range(n):
            clock.advance(0.001)
            running.append(
                submit(
                    "default",
                    0,
                    True,
                    None,
                    "",
                    None,
                    (),
                    None,
                    False,
                    None,
                    True,
                    disabled,
                    queue,
                    None,
                )
            )
            if len(running) == SLOTS:
                complete(running.popleft())
        return (time.perf_counter() - began) / n
    finally:
        gc.enable()


def _table(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    lines = ["| " + " | ".join(headers) + " |", "|" + "|".join("---" for _ in headers) + "|"]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--sizes",
        default="10000,100000",
        help="comma-separated job counts (default: 10000,100000; the full run adds 1000000)",
    )
    parser.add_argument("--repeat", type=int, default=1, help="runs per measurement (median)")
    parser.add_argument("--seed", type=int, default=2024)
    parser.add_argument(
        "--variants", default=",".join(VARIANTS), help="comma-separated subset of the variants"
    )
    parser.add_argument(
        "--memory",
        choices=("none", "fifo", "all"),
        default="fifo",
        help="measure retained memory for no variant, FIFO only (default) or all",
    )
    parser.add_argument(
        "--profile", type=int, metavar="N", help="also print cProfile's top 20 for FIFO at N jobs"
    )
    parser.add_argument(
        "--gc",
        choices=("on", "off"),
        default="on",
        help="'off' times every implementation with the cyclic collector off (default: on)",
    )
    args = parser.parse_args(argv)
    sizes = [int(s) for s in args.sizes.split(",") if s]
    variants: list[Variant] = []
    for name in args.variants.split(","):
        if name not in VARIANTS:
            parser.error(f"unknown variant {name!r}")
        variants.append(name)
    memory: Literal["none", "fifo", "all"] = args.memory

    import simpy

    shown = " ".join(sys.argv[1:] if argv is None else argv)
    print(f"command: python benchmarks/bench_sim.py {shown}")
    print(
        f"Python {platform.python_version()}, simpy {simpy.__version__}, "
        f"{platform.machine()}, seed {args.seed}, {SLOTS} slots, load {LOAD}, "
        f"median of {args.repeat}, cyclic collector {args.gc}"
    )
    print()
    speed_rows = []
    memory_rows = []
    per_job: dict[tuple[str, int], float] = {}
    ok = True
    for n in sizes:
        inputs = make_inputs(n, args.seed)
        for variant in variants:
            seconds: dict[str, float] = {}
            results: dict[str, Times] = {}
            for impl in IMPLEMENTATIONS:
                seconds[impl], results[impl] = timed(
                    runner(impl, variant, inputs), args.repeat, collector=args.gc == "on"
                )
            checks = []
            for impl in ("simpy", "heapq"):
                diff = first_difference(results["jobqueue"], results[impl])
                if diff is not None:
                    ok = False
                    checks.append(f"{impl} DIFFERS at {diff}")
            check = "; ".join(checks) or "identical"
            per_job[(variant, n)] = seconds["jobqueue"] / n
            speed_rows.append(
                [
                    variant,
                    f"{n:,}",
                    *(f"{n / seconds[impl] / 1000:.1f}" for impl in IMPLEMENTATIONS),
                    f"{seconds['jobqueue'] / n * 1e6:.1f}",
                    f"{seconds['simpy'] / seconds['jobqueue']:.2f}x",
                    f"{seconds['simpy'] / seconds['heapq']:.1f}x",
                    check,
                ]
            )
            print(f"  {variant} {n:,}: " + ", ".join(f"{k} {v:.2f}s" for k, v in seconds.items()))
            if memory == "all" or (memory == "fifo" and variant == "fifo"):
                kept = {
                    impl: retained_bytes(memory_fn(impl, variant, inputs))
                    for impl in IMPLEMENTATIONS
                }
                memory_rows.append(
                    [
                        variant,
                        f"{n:,}",
                        *(
                            f"{kept[impl][0] / n:.0f} / {kept[impl][1] / n:.0f}"
                            for impl in IMPLEMENTATIONS
                        ),
                        f"{kept['jobqueue'][0] / max(kept['simpy'][0], 1):.1f}x",
                    ]
                )
    print()
    print("Speed: thousands of jobs per second (arrive, start, finish), higher is better")
    print(
        _table(
            [
                "variant",
                "N",
                "jobqueue kjobs/s",
                "SimPy kjobs/s",
                "heapq kjobs/s",
                "jobqueue µs/job",
                "jobqueue vs SimPy",
                "heapq vs SimPy",
                "per-job start/finish check",
            ],
            speed_rows,
        )
    )
    if memory_rows:
        print()
        print("Memory: bytes per job retained after the run / peak during it (tracemalloc)")
        print(
            _table(
                ["variant", "N", "jobqueue", "SimPy", "heapq", "jobqueue vs SimPy (retained)"],
                memory_rows,
            )
        )
    print()
    print("Targets (jobqueue):")
    for variant in variants:
        for n in sizes:
            if n >= 100_000:
                row = next(r for r in speed_rows if r[0] == variant and r[1] == f"{n:,}")
                ratio = float(row[6].rstrip("x"))
                verdict = "met" if ratio >= 2 else "NOT met"
                print(f"  {variant} {n:,}: >= 2x SimPy's jobs/s: {ratio:.2f}x, {verdict}")
        if min(sizes) <= 10_000 and max(sizes) >= 1_000_000:
            small, big = per_job[(variant, min(sizes))], per_job[(variant, max(sizes))]
            verdict = "met" if big <= 1.5 * small else "NOT met"
            print(
                f"  {variant}: time per job at {max(sizes):,} within 1.5x of {min(sizes):,}: "
                f"{big / small:.2f}x, {verdict}"
            )
    for row in memory_rows:
        retained = float(row[2].split(" / ")[0])
        verdict = "met" if retained <= 1024 else "NOT met"
        print(
            f"  {row[0]} {row[1]}: <= 1 KiB retained per finished job: {retained:.0f} B, {verdict}"
        )
    if "fifo" in variants:
        n = max(sizes)
        row = next(r for r in speed_rows if r[0] == "fifo" and r[1] == f"{n:,}")
        simpy_us, floor_us = 1000 / float(row[3]), 1000 / float(row[4])
        print()
        print(
            f"What stands in the way of 2x (FIFO, {n:,} jobs): it leaves {simpy_us / 2:.1f} µs "
            f"per job; the scheduler's own work alone (no driver) takes "
            f"{core_per_job(n) * 1e6:.1f} µs, and the bare event loop (heapq) {floor_us:.1f} µs"
        )
    if args.profile:
        print()
        print(f"cProfile, jobqueue FIFO at {args.profile:,} jobs, top 20 by own time:")
        print(profile_fifo(args.profile, args.seed))
    if not ok:
        print("FAILED: the implementations disagree on some job's start or finish time")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
