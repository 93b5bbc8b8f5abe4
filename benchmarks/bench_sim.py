"""Benchmark: jobqueue's simulation driver against SimPy and a minimal heapq loop.

Two seeded workloads on one queue of 100 slots, priorities uniform over 1-10:

* ``poisson``: Poisson arrivals, exponential durations of mean 1, offered
  load 0.9 (``jobqueue.sim.poisson_workload``);
* ``bursty``: Markov-modulated Poisson arrivals and lognormal durations. A
  two-state MMPP alternates between a calm state (62.5 arrivals/s, load
  0.625, mean stay 8 s) and a burst state (200 arrivals/s, load 2.0, mean
  stay 2 s), staying in each for an exponential time. Average arrival rate
  (62.5 * 8 + 200 * 2) / 10 = 90/s, so the average offered load is 0.9, as
  for ``poisson``; a burst offers twice what the slots can do, so the line
  grows by 100 jobs a second while it lasts (200 in an average burst, more in
  a long one) and drains in the calm that follows. Durations
  are lognormal with mean 1 and sigma 1 (``mu = -1/2``; median 0.61 s, one in
  a thousand above 13 s). Draws, job by job from one ``random.Random(seed)``:
  the gap to the next arrival (``expovariate`` at the current state's rate;
  a gap that crosses the end of the state's stay is dropped, the clock moves
  to the switch, the next stay is drawn and the gap drawn again at the new
  rate: exact for exponential gaps), the duration, the priority. The run
  starts calm, with a stay drawn before the first job. Runs of bursts make
  long lines: at 100k jobs the FIFO wait averages about 9 s, the longest
  near 40 s. SimPy's ``PriorityResource`` sorts its whole queue again at
  every request, so on such lines its priority variants slow down with the
  line's length; its FIFO ``Resource`` does not.

Each runs through three queue variants (FIFO, priority, preemptive priority)
in three implementations:

* jobqueue: ``jobqueue.sim.simulate``, the real scheduler on a virtual clock;
* SimPy: ``Resource`` / ``PriorityResource`` / ``PreemptiveResource`` with the
  interrupt-and-resume pattern (see ``_baselines.py`` for how SimPy is made to
  follow jobqueue's ordering and preemption rules);
* heapq: a minimal hand-written event loop, the pure-Python floor.

Every run is checked: all three must give every job the same first start and
finish time, bit for bit; the script exits with status 1 if they do not, and
only then. It prints thousands of jobs per second, microseconds per job and
the ratio to SimPy from the same run (median of ``--repeat`` runs), and the
memory a finished job keeps (tracemalloc, in a separate run: the bytes still
allocated after the run, with the scheduler and result alive, per job).

Then the targets, measured in that same run and reported (PASS or MISS), not
asserted:

* jobs per second >= 1.5x SimPy's for every variant at every size (poisson),
  >= 1.3x for the bursty workload;
* time per job at the largest size within 1.3x of the smallest, for poisson
  (the target is stated for 1M against 10k: run both sizes). The smallest
  size runs on ``--scaling-seeds`` seeds (5: ``--seed`` and the next four)
  and its time per job is taken over all of them, since one seed's 10k jobs
  are too few to stand for the workload: the preemptive variant preempts
  0.09 times per job in seed 2024's first 10k jobs, 0.09-0.23 over ten
  seeds, and 0.18-0.19 at 100k and 1M. The extra seeds' runs are checked
  like the others and listed by seed with their preemptions per job; the
  target row shows SimPy's and the heapq loop's growth on the same workloads
  beside jobqueue's;
* <= 900 bytes retained per finished job.

``--attribution N`` profiles one FIFO run of N jobs of the first workload with
cProfile and splits its time per job into groups (event loop and driver; job
record; slots, line, dispatch and policy; transitions and history; billing;
other), by each function's own time, scaled to the unprofiled time per job.

Run from the repository root (needs the ``bench`` extra, i.e. simpy)::

    python benchmarks/bench_sim.py                      # both workloads, 10k and 100k jobs
    python benchmarks/bench_sim.py --sizes 10000,100000,1000000 --repeat 3 \\
        --attribution 100000                            # the full run (35-40 minutes)
    python benchmarks/bench_sim.py --workload bursty --variants fifo --sizes 1000000
    python benchmarks/bench_sim.py --gc off             # what the cyclic collector costs

At 1M jobs one repeat of all six rows takes about 8 minutes on a 2-core
machine, most of it SimPy's priority variants on ``bursty`` (about 80 s and
160 s); making the inputs takes about 11 s per workload, and the memory rows
(tracemalloc) about 1.5 minutes per workload. The process peaks at about
2.5 GB (the job specs, a scheduler that keeps every job, and the results).
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
from typing import Any, Literal

import attrs

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _baselines import Variant, exact_gaps, heapq_run, simpy_run

from jobqueue import Acceleration, BillingTagsSource, ManualClock, Scheduler
from jobqueue._core import core_of
from jobqueue._core.records import JobRecord
from jobqueue.sim import JobSpec, QueueSpec, Workload, poisson_workload, simulate

VARIANTS: tuple[Variant, ...] = ("fifo", "priority", "preemptive")
IMPLEMENTATIONS = ("jobqueue", "simpy", "heapq")
WORKLOADS = ("poisson", "bursty")
SLOTS = 100
LOAD = 0.9
PRIORITIES = range(1, 11)
# The bursty workload's two-state MMPP: (arrivals per second, mean stay in seconds).
CALM = (62.5, 8.0)
BURST = (200.0, 2.0)
SIGMA = 1.0  # lognormal durations: mean exp(mu + sigma**2 / 2) == 1
# Targets, as the issue states them.
SPEED_TARGET = {"poisson": 1.5, "bursty": 1.3}  # jobs/s, times SimPy's
SCALING_TARGET = 1.3  # time per job at 1M over that at 10k
MEMORY_TARGET = 900  # bytes retained per finished job
Times = tuple[list[float], list[float]]


@attrs.frozen
class Inputs:
    """One workload, as jobqueue sees it and as the baselines see it."""

    workloads: dict[Variant, Workload]
    arrivals: list[float]
    gaps: list[float]
    durations: list[float]
    priorities: list[int]


def bursty_jobs(n: int, rng: random.Random) -> list[JobSpec]:
    """``n`` jobs of the bursty workload (MMPP arrivals, lognormal durations); see the docstring."""
    expovariate, lognormvariate, uniform = rng.expovariate, rng.lognormvariate, rng.random
    mu = -(SIGMA**2) / 2
    burst = False
    t = 0.0
    switch = expovariate(1 / CALM[1])
    jobs = []
    for _ in range(n):
        while True:
            gap = expovariate(BURST[0] if burst else CALM[0])
            if t + gap <= switch:
                t += gap
                break
            t = switch
            burst = not burst
            switch = t + expovariate(1 / (BURST[1] if burst else CALM[1]))
        duration = lognormvariate(mu, SIGMA)
        priority = PRIORITIES[int(uniform() * len(PRIORITIES))]
        jobs.append(JobSpec(t, duration, "default", priority))
    return jobs


def make_inputs(n: int, seed: int, workload: str = "poisson") -> Inputs:
    """The seeded workload and its three queue variants."""
    rng = random.Random(seed)
    if workload == "poisson":
        weights = {p: 1.0 for p in PRIORITIES}
        base = poisson_workload(n, rng=rng, slots=SLOTS, load=LOAD, priorities=weights)
    else:
        base = Workload(bursty_jobs(n, rng))
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


def runner(
    impl: str, variant: Variant, inputs: Inputs, counts: dict[str, float] | None = None
) -> Callable[[], Times]:
    """A zero-argument function that runs one implementation and returns its times.

    jobqueue's run also puts its preemptions per job in ``counts``, if given
    (summing the column costs about 0.01 µs per job).
    """
    if impl == "jobqueue":
        workload = inputs.workloads[variant]

        def run_jobqueue() -> Times:
            jobs = simulate(workload).jobs
            if counts is not None:
                counts["preemptions"] = sum(jobs.preemptions()) / max(len(jobs), 1)
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
        result = ([], [])  # the previous result is not alive while the next run is timed
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


def profile_fifo(workload: Workload, top: int = 20) -> str:
    """cProfile of one jobqueue run of ``workload``: the top functions by own time."""
    profiler = cProfile.Profile()
    profiler.enable()
    simulate(workload)
    profiler.disable()
    out = io.StringIO()
    stats = pstats.Stats(profiler, stream=out)
    stats.sort_stats("tottime").print_stats(top)
    return out.getvalue()


# ------------------------------------------------------------------ attribution

GROUPS = (
    "event loop and driver bookkeeping",
    "job record: create, index, retain",
    "slots, line, dispatch, policy",
    "checked transitions + history",
    "billing",
    "other",
)
DRIVER, RECORD, DISPATCH, TRANSITIONS, BILLING, OTHER = GROUPS
# Where a function's own time goes, by the module it is defined in (a
# fragment of its file path, first match wins), then, for the scheduler
# core's facade, by its name. Anything unknown, e.g. after a rename, is
# "other": the table then shows it among other's largest items.
MODULE_GROUPS = (
    ("/sim/_driver", DRIVER),
    ("/sim/_scheduler_port", DRIVER),
    ("/_clock", DRIVER),
    ("heapq", DRIVER),
    ("/_core/ledger", BILLING),
    ("/_core/records", RECORD),
    ("jobqueue._core.records", RECORD),  # attrs-generated methods of JobRecord
    ("/_core/listing", RECORD),
    ("/_core/admission", DISPATCH),
    ("/_core/preemption", DISPATCH),
    ("/_core/queues", DISPATCH),
    ("/_core/pending", DISPATCH),
    ("/policies/", DISPATCH),
    ("/_sorted", DISPATCH),
    ("sortedcontainers", DISPATCH),
    ("/_states", TRANSITIONS),
    ("/_core/outbox", TRANSITIONS),  # the events a transition records
)
CORE_GROUPS = (
    (("transition",), TRANSITIONS),
    (("billing", "settle", "charge"), BILLING),
    (("dispatch", "start", "complete", "enter", "line", "release", "preempt", "queue"), DISPATCH),
    (("submit", "create", "finish", "retire", "record", "forget"), RECORD),
    (("now",), DRIVER),
)


def classify(filename: str, name: str) -> str:
    """The attribution group of a profiled function, by its file and name."""
    path = filename.replace("\\", "/")
    for fragment, group in MODULE_GROUPS:
        if fragment in path:
            return group
    if path.endswith("/_core/core.py"):
        for words, group in CORE_GROUPS:
            if any(word in name for word in words):
                return group
    return OTHER


def _label(func: tuple[str, int, str]) -> str:
    filename, _line, name = func
    if filename == "~":
        return name
    if filename.startswith("<"):  # generated code, e.g. "<attrs generated init ...JobRecord>"
        return f"{filename.strip('<>').rsplit('.', 1)[-1]}.{name}"
    return f"{Path(filename).stem}.{name}"


def attribute(stats: dict[Any, Any]) -> dict[str, dict[str, float]]:
    """Own time per group and per function label; a builtin's own time goes to its callers.

    ``stats`` is ``pstats.Stats.stats``: for each function, ``(cc, nc, tt,
    ct, callers)``, where ``callers`` gives each caller's share of ``tt``.
    A builtin (``list.append``, ``heappush``) belongs to whoever calls it,
    so its time is split among its callers' groups; one called by a builtin
    follows that builtin's busiest caller.
    """

    def group_of(func: tuple[str, int, str], depth: int = 0) -> str:
        filename, _line, name = func
        if filename != "~" or depth > 5:
            return classify(filename, name)
        if "heapq" in name:
            return DRIVER
        callers = stats.get(func, (0, 0, 0.0, 0.0, {}))[4]
        if not callers:
            return OTHER
        busiest = max(callers.items(), key=lambda kv: kv[1][2])[0]
        return group_of(busiest, depth + 1)

    groups: dict[str, dict[str, float]] = {group: {} for group in GROUPS}
    for func, (_cc, _nc, tt, _ct, callers) in stats.items():
        shares: list[tuple[str, float]]
        if func[0] == "~" and callers and "heapq" not in func[2]:
            shares = [(group_of(caller), edge[2]) for caller, edge in callers.items()]
            edge_total = sum(share for _g, share in shares)
            if edge_total > 0:
                shares = [(g, tt * share / edge_total) for g, share in shares]
            else:
                shares = [(group_of(func), tt)]
        else:
            shares = [(group_of(func), tt)]
        label = _label(func)
        for group, seconds in shares:
            items = groups[group]
            items[label] = items.get(label, 0.0) + seconds
    return groups


def attribution(workload: Workload, name: str, repeat: int, collector: bool, top: int = 4) -> str:
    """The attribution table for one jobqueue run of ``workload`` (see the module docstring)."""
    n = len(workload.jobs)

    def run() -> Times:
        simulate(workload)
        return [], []

    seconds, _ = timed(run, repeat, collector)
    profiler = cProfile.Profile()
    gc.collect()
    profiler.enable()
    simulate(workload)
    profiler.disable()
    stats: dict[Any, Any] = pstats.Stats(profiler).stats  # type: ignore[attr-defined]
    groups = attribute(stats)
    profiled = sum(sum(items.values()) for items in groups.values())
    scale = seconds / profiled * 1e6 / n  # profiled seconds -> unprofiled µs per job
    rows = []
    for group in GROUPS:
        items = groups[group]
        total = sum(items.values())
        largest = sorted(items.items(), key=lambda kv: -kv[1])[:top]
        rows.append(
            [
                group,
                f"{total * scale:.2f}",
                f"{total / profiled:.0%}",
                "; ".join(f"{label} {s * scale:.2f}" for label, s in largest if s > 0),
            ]
        )
    rows.append(["total", f"{seconds / n * 1e6:.2f}", "100%", ""])
    head = (
        f"Attribution: jobqueue, {name} FIFO, {n:,} jobs, µs per job by group. Each "
        f"function's own time (cProfile tottime; a builtin's is split among its callers), "
        f"scaled to the unprofiled run's {seconds / n * 1e6:.2f} µs/job (median of {repeat}; "
        f"profiled {profiled / n * 1e6:.2f} µs/job, which inflates small, frequent calls)."
    )
    table = _table(["group", "µs/job", "share", f"largest items (µs/job), top {top}"], rows)
    return head + "\n" + table


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


# ----------------------------------------------------------------------- report


@attrs.frozen
class Measured:
    """One (workload, variant, size): median seconds per implementation, and the check."""

    workload: str
    variant: Variant
    n: int
    seconds: dict[str, float]
    check: str
    seed: int = 0
    preemptions: float = 0.0  # per job, in jobqueue's run

    def ratio(self) -> float:
        """jobqueue's jobs per second over SimPy's."""
        return self.seconds["simpy"] / self.seconds["jobqueue"]


def measure(
    workload: str,
    variant: Variant,
    n: int,
    seed: int,
    inputs: Inputs,
    repeat: int,
    collector: bool,
) -> tuple[Measured, dict[str, Times]]:
    """Time the three implementations on one workload variant and check they agree."""
    seconds: dict[str, float] = {}
    results: dict[str, Times] = {}
    counts: dict[str, float] = {}
    for impl in IMPLEMENTATIONS:
        seconds[impl], results[impl] = timed(
            runner(impl, variant, inputs, counts), repeat, collector
        )
    checks = []
    for impl in ("simpy", "heapq"):
        diff = first_difference(results["jobqueue"], results[impl])
        if diff is not None:
            checks.append(f"{impl} DIFFERS at {diff}")
    print(
        f"  {workload} {variant} {n:,} seed {seed}: "
        + ", ".join(f"{k} {v:.2f}s" for k, v in seconds.items())
    )
    check = "; ".join(checks) or "identical"
    return Measured(workload, variant, n, seconds, check, seed, counts["preemptions"]), results


def _table(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    lines = ["| " + " | ".join(headers) + " |", "|" + "|".join("---" for _ in headers) + "|"]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines)


def _verdict(met: bool) -> str:
    return "PASS" if met else "MISS"


def target_rows(
    measured: Sequence[Measured],
    kept: dict[tuple[str, str, int], float],
    pooled: Sequence[Measured] = (),
) -> list[list[str]]:
    """The targets table: each target, where it applies, the measured value, PASS or MISS.

    ``pooled`` holds the runs of the smallest size on the extra seeds, for
    the scaling target only (see ``scaling_rows``).
    """
    rows = []
    for m in measured:
        goal = SPEED_TARGET[m.workload]
        rows.append(
            [
                f"jobs/s >= {goal}x SimPy",
                m.workload,
                m.variant,
                f"{m.n:,}",
                f"{m.ratio():.2f}x",
                _verdict(m.ratio() >= goal),
            ]
        )
    rows += scaling_rows([*measured, *pooled])
    for (workload, variant, n), retained in kept.items():
        rows.append(
            [
                f"retained <= {MEMORY_TARGET} B/job",
                workload,
                variant,
                f"{n:,}",
                f"{retained:.0f} B",
                _verdict(retained <= MEMORY_TARGET),
            ]
        )
    return rows


def scaling_rows(measured: Sequence[Measured]) -> list[list[str]]:
    """The scaling target's rows: time per job at the largest size over that at the smallest.

    Poisson only: the bursty workload's lines, and so its cost per job, grow
    with the run's length (a longer run meets longer runs of bursts). The
    smallest size's time per job is taken over all its seeds together (total
    time over total jobs): one seed's first 10k jobs are too few to stand for
    the workload. The preemptive variant's preemptions per job at 10k range
    from 0.09 to 0.23 over ten seeds (0.09 for seed 2024), against 0.18-0.19
    at 100k and 1M, and a preemption costs several times a plain start. The
    baselines' growth on the same workloads is shown beside jobqueue's, with
    the preemptions per job at each end.
    """
    sizes = sorted({m.n for m in measured if m.workload == "poisson"})
    if len(sizes) < 2:
        return []
    small, big = sizes[0], sizes[-1]
    rows = []
    for m in measured:
        if m.workload != "poisson" or m.n != big:
            continue
        smalls = [
            o for o in measured if (o.workload, o.variant, o.n) == ("poisson", m.variant, small)
        ]
        if not smalls:
            continue
        jobs = small * len(smalls)

        def growth(impl: str, at_big: Measured = m, smalls: list[Measured] = smalls) -> float:
            per_job_small = sum(o.seconds[impl] for o in smalls) / (small * len(smalls))
            return (at_big.seconds[impl] / big) / per_job_small

        preempted = sum(o.preemptions for o in smalls) / len(smalls)
        seeds = f" x {len(smalls)} seeds" if len(smalls) > 1 else ""
        rows.append(
            [
                f"µs/job at {big:,} <= {SCALING_TARGET}x at {small:,}",
                m.workload,
                m.variant,
                f"{big:,} / {small:,}{seeds} ({jobs:,} jobs)",
                f"{growth('jobqueue'):.2f}x (SimPy {growth('simpy'):.2f}x, "
                f"heapq {growth('heapq'):.2f}x; preemptions/job {m.preemptions:.3f} "
                f"vs {preempted:.3f})",
                _verdict(growth("jobqueue") <= SCALING_TARGET),
            ]
        )
    return rows


def budget_line(fifo: Measured) -> str:
    """What 1.5x SimPy leaves per job, against the scheduler's work alone and the bare loop."""
    n = fifo.n
    allowed = fifo.seconds["simpy"] / n / SPEED_TARGET[fifo.workload] * 1e6
    floor = fifo.seconds["heapq"] / n * 1e6
    try:
        core = f"{core_per_job(n) * 1e6:.1f} µs"
    except (TypeError, AttributeError) as exc:  # the core's private fast path changed
        core = f"not measured ({type(exc).__name__}: {exc})"
    return (
        f"Budget at {SPEED_TARGET[fifo.workload]}x SimPy ({fifo.workload} FIFO, {n:,} jobs): "
        f"{allowed:.1f} µs per job for everything; the scheduler's own work alone (no driver) "
        f"takes {core}, and the bare event loop (heapq) {floor:.1f} µs"
    )


def _choices(parser: argparse.ArgumentParser, value: str, allowed: Sequence[str]) -> list[Any]:
    chosen = [name for name in value.split(",") if name]
    for name in chosen:
        if name not in allowed:
            parser.error(f"unknown choice {name!r} (from {', '.join(allowed)})")
    if not chosen:
        parser.error(f"choose at least one of {', '.join(allowed)}")
    return chosen


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
        "--scaling-seeds",
        type=int,
        default=5,
        metavar="K",
        help="for the scaling target, run the smallest poisson size on K seeds in all "
        "(--seed and the next K-1) and take its time per job over all of them (default: 5)",
    )
    parser.add_argument(
        "--workload",
        default=",".join(WORKLOADS),
        help="comma-separated workloads: poisson, bursty (default: both)",
    )
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
        "--attribution",
        type=int,
        metavar="N",
        help="also split jobqueue's time per job into groups, from a profiled FIFO run of N jobs",
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
    workloads: list[str] = _choices(parser, args.workload, WORKLOADS)
    variants: list[Variant] = _choices(parser, args.variants, VARIANTS)
    memory: Literal["none", "fifo", "all"] = args.memory
    collector = args.gc == "on"

    import simpy

    shown = " ".join(sys.argv[1:] if argv is None else argv)
    print(f"command: python benchmarks/bench_sim.py {shown}")
    print(
        f"Python {platform.python_version()}, simpy {simpy.__version__}, "
        f"{platform.machine()}, seed {args.seed}, {SLOTS} slots, average load {LOAD}, "
        f"median of {args.repeat}, cyclic collector {args.gc}"
    )
    print()
    measured: list[Measured] = []
    shapes = []
    memory_rows = []
    kept_per_job: dict[tuple[str, str, int], float] = {}
    ok = True
    for workload in workloads:
        for n in sizes:
            inputs = make_inputs(n, args.seed, workload)
            offered = sum(inputs.durations) / (max(inputs.arrivals, default=0.0) * SLOTS or 1.0)
            for variant in variants:
                m, results = measure(
                    workload, variant, n, args.seed, inputs, args.repeat, collector
                )
                ok = ok and m.check == "identical"
                measured.append(m)
                if variant == "fifo":
                    waits = [
                        s - a for s, a in zip(results["heapq"][0], inputs.arrivals, strict=True)
                    ]
                    shapes.append(
                        [
                            workload,
                            f"{n:,}",
                            f"{offered:.3f}",
                            f"{statistics.fmean(waits) if waits else 0.0:.2f}",
                            f"{max(waits, default=0.0):.1f}",
                        ]
                    )
                del results
                if memory == "all" or (memory == "fifo" and variant == "fifo"):
                    kept = {
                        impl: retained_bytes(memory_fn(impl, variant, inputs))
                        for impl in IMPLEMENTATIONS
                    }
                    kept_per_job[(workload, variant, n)] = kept["jobqueue"][0] / n
                    memory_rows.append(
                        [
                            workload,
                            variant,
                            f"{n:,}",
                            *(
                                f"{kept[impl][0] / n:.0f} / {kept[impl][1] / n:.0f}"
                                for impl in IMPLEMENTATIONS
                            ),
                            f"{kept['jobqueue'][0] / max(kept['simpy'][0], 1):.1f}x",
                        ]
                    )
            del inputs
    pooled: list[Measured] = []
    if "poisson" in workloads and len(sizes) > 1:
        small = min(sizes)
        for seed in range(args.seed + 1, args.seed + max(args.scaling_seeds, 1)):
            inputs = make_inputs(small, seed, "poisson")
            for variant in variants:
                m, _ = measure("poisson", variant, small, seed, inputs, args.repeat, collector)
                ok = ok and m.check == "identical"
                pooled.append(m)
            del inputs
    print()
    print("Speed: thousands of jobs per second (arrive, start, finish), higher is better")
    speed_rows = [
        [
            m.workload,
            m.variant,
            f"{m.n:,}",
            *(f"{m.n / m.seconds[impl] / 1000:.1f}" for impl in IMPLEMENTATIONS),
            f"{m.seconds['jobqueue'] / m.n * 1e6:.1f}",
            f"{m.ratio():.2f}x",
            f"{m.seconds['simpy'] / m.seconds['heapq']:.1f}x",
            m.check,
        ]
        for m in measured
    ]
    print(
        _table(
            [
                "workload",
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
    if shapes:
        print()
        print("Workloads: offered load (work / (last arrival * slots)) and FIFO waits, seconds")
        print(_table(["workload", "N", "offered load", "mean wait", "longest wait"], shapes))
    if memory_rows:
        print()
        print("Memory: bytes per job retained after the run / peak during it (tracemalloc)")
        print(
            _table(
                [
                    "workload",
                    "variant",
                    "N",
                    "jobqueue",
                    "SimPy",
                    "heapq",
                    "jobqueue vs SimPy (retained)",
                ],
                memory_rows,
            )
        )
    scaled = [m for m in (*measured, *pooled) if m.workload == "poisson"]
    if pooled:
        print()
        print(
            "Scaling: poisson, time per job by seed (the scaling target pools the "
            f"{min(sizes):,}-job rows)"
        )
        print(
            _table(
                [
                    "variant",
                    "N",
                    "seed",
                    *(f"{impl} µs/job" for impl in IMPLEMENTATIONS),
                    "preemptions/job",
                    "check",
                ],
                [
                    [
                        m.variant,
                        f"{m.n:,}",
                        str(m.seed),
                        *(f"{m.seconds[impl] / m.n * 1e6:.2f}" for impl in IMPLEMENTATIONS),
                        f"{m.preemptions:.3f}",
                        m.check,
                    ]
                    for m in sorted(scaled, key=lambda m: (VARIANTS.index(m.variant), m.n, m.seed))
                ],
            )
        )
    print()
    print("Targets (jobqueue, this run; reported, not asserted):")
    print(
        _table(
            ["target", "workload", "variant", "N", "measured", "result"],
            target_rows(measured, kept_per_job, pooled),
        )
    )
    fifo = [m for m in measured if m.variant == "fifo"]
    if fifo:
        print()
        print(budget_line(max(fifo, key=lambda m: (m.n, m.workload == "poisson"))))
    if args.attribution:
        print()
        profiled = make_inputs(args.attribution, args.seed, workloads[0]).workloads["fifo"]
        print(attribution(profiled, workloads[0], args.repeat, collector))
    if args.profile:
        print()
        print(
            f"cProfile, jobqueue {workloads[0]} FIFO at {args.profile:,} jobs, top 20 by own time:"
        )
        print(profile_fifo(make_inputs(args.profile, args.seed, workloads[0]).workloads["fifo"]))
    if not ok:
        print("FAILED: the implementations disagree on some job's start or finish time")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
