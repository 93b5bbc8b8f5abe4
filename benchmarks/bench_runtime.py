"""Runtime overhead: jobqueue's thread runtime against the same thread pool used directly.

Two measurements, side by side in one run (the machine is noisy: compare ratios):

* dispatch: no-op tasks per second, for one job of N tasks run by
  ``ThreadRuntime`` (and ``ExecutorRuntime``) on a ``ThreadPoolExecutor``,
  against the same N no-op calls submitted to that executor directly. Each
  runtime task is dispatched, run, and its outcome recorded on the scheduler.
  Target: the runtime keeps at least 50 % of the raw executor's throughput
  (``ExecutorRuntime``, with a concurrency of the pool's size: 70 %). On a
  thread pool, ``ExecutorRuntime``'s lanes are pipelined: the worker that ran
  a lane's call submits the call for the key the lane holds ahead, so a task
  does not wait for the one before it to be reported. A row with a
  concurrency of 16 times the pool's size shows the same with more lanes
  than threads.
* many jobs: N jobs of one no-op job function each, submitted to
  ``ThreadRuntime`` and waited for through their handles
  (``concurrent.futures.wait``), against N no-op calls submitted to the same
  executor. Each runtime job is submitted to the scheduler, started, run,
  completed, and its handle resolved. Target: 50 % of the raw rate.
* handles: the same N jobs through ``submit``'s own path (the same call and
  checks, then the engine) but for the handle, waited for by shutting the
  runtime down. Target: handles add at most 10 % per job.
* latency: from the call to ``submit()`` until the job's first task starts
  running, with an idle pool (one job at a time, 1 ms apart), against the
  same for ``ThreadPoolExecutor.submit``. Target: p99 at most 2 ms.

Every timed run starts after a full garbage collection, so that no run pays
for the garbage of the one before it; the many-jobs variants run in one order
and then the reverse in each repeat (two samples each per repeat).

Run ``python benchmarks/bench_runtime.py --help`` for the options.
"""

from __future__ import annotations

import argparse
import functools
import gc
import statistics
import sys
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor, wait
from typing import Any

from jobqueue import JobStatus, Scheduler
from jobqueue.runtime import ExecutorRuntime, JobContext, ThreadRuntime

THROUGHPUT_TARGET = 0.5  # share of the raw executor's tasks per second
EXECUTOR_TARGET = 0.7  # ExecutorRuntime on the thread pool, one job of N tasks
JOBS_TARGET = 0.5  # share of the raw executor's calls per second, one job per call
HANDLE_TARGET = 0.1  # what handles may add to the time per job
WIDE = 16  # the wide ExecutorRuntime row: concurrency of this many times the pool
P99_TARGET_MS = 2.0
# Between latency samples, so the worker that ran the last one is back waiting
# for work: each submission then meets an idle pool, as the measurement intends.
IDLE_GAP = 0.001


def fresh(run: Callable[..., float], *args: Any) -> float:
    """``run(*args)`` after a full collection, outside its timing.

    The runtime's objects form reference cycles (a scheduler and its
    runtime refer to each other), so the garbage of a run is freed by the
    collector, not when the run returns: without this, each run would pay
    for the one before it, and the variant run after the handles (or after
    the one without) would look slower than it is.
    """
    gc.collect()
    return run(*args)


def noop(key: str) -> None:
    """The task: nothing at all, so only dispatch costs are measured."""


def raw_throughput(pool: ThreadPoolExecutor, n: int) -> float:
    """Tasks per second submitting ``n`` no-ops to ``pool`` directly."""
    start = time.perf_counter()
    futures = [pool.submit(noop, str(i)) for i in range(n)]
    wait(futures)
    return n / (time.perf_counter() - start)


def noop_job(ctx: JobContext | None = None) -> None:
    """The job function: nothing at all."""


def raw_jobs(pool: ThreadPoolExecutor, n: int) -> float:
    """Calls per second submitting ``n`` no-op calls to ``pool`` directly."""
    start = time.perf_counter()
    futures: list[Future[None]] = [pool.submit(noop_job) for _ in range(n)]
    wait(futures)
    return n / (time.perf_counter() - start)


def runtime_jobs(pool: ThreadPoolExecutor, n: int) -> float:
    """Jobs per second for ``n`` jobs of one no-op job function, waited for by handle."""
    # A queue with room for every job, so that none waits for a slot.
    sched = Scheduler()
    sched.update_queue("default", slots=n, deferred_share=1.0)
    with ThreadRuntime(sched, executor=pool, progress_rate=None) as runtime:
        start = time.perf_counter()
        handles = [runtime.submit(job=noop_job) for _ in range(n)]
        wait(handles)
        elapsed = time.perf_counter() - start
    if not all(h.job().status is JobStatus.COMPLETE for h in handles):
        raise RuntimeError("a benchmark job did not complete")
    return n / elapsed


def _no_handle() -> None:
    return None


class _NoHandles(ThreadRuntime):
    """A ``ThreadRuntime`` whose ``submit`` makes no handle: it returns None."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._handle_type = _no_handle  # type: ignore[assignment]


def runtime_jobs_without_handles(pool: ThreadPoolExecutor, n: int) -> float:
    """Jobs per second for the jobs of ``runtime_jobs``, submitted with no handle.

    ``ThreadRuntime.submit`` itself -- the same call, parameters and checks
    -- but for the handle, which it makes through ``_handle_type`` and which
    here is None. The jobs are waited for by the
    shutdown, which returns once no job runs and nothing is in flight.
    """
    sched = Scheduler()
    sched.update_queue("default", slots=n, deferred_share=1.0)
    runtime = _NoHandles(sched, executor=pool, progress_rate=None)
    start = time.perf_counter()
    for _ in range(n):
        runtime.submit(job=noop_job)
    runtime.shutdown(wait=True)
    elapsed = time.perf_counter() - start
    unfinished = [s for s in JobStatus if s is not JobStatus.COMPLETE]
    if len(sched) != n or len(sched.list_jobs(statuses=unfinished, limit=1)):
        raise RuntimeError("a benchmark job did not complete")
    return n / elapsed


def runtime_throughput(make: Callable[[], ThreadRuntime | ExecutorRuntime], n: int) -> float:
    """Tasks per second for one job of ``n`` no-op tasks run by a fresh runtime."""
    with make() as runtime:
        start = time.perf_counter()
        job = runtime.submit(noop, tasks=n)
        done = runtime.wait(job.id, timeout=600)
        elapsed = time.perf_counter() - start
    if done.status is not JobStatus.COMPLETE or done.tasks_succeeded != n:
        raise RuntimeError(f"benchmark job ended {done.status} with {done.tasks_succeeded} tasks")
    return n / elapsed


def _stamp(started: list[float], ran: threading.Event | None = None, key: str = "") -> None:
    started.append(time.perf_counter())
    if ran is not None:
        ran.set()


def raw_latency(pool: ThreadPoolExecutor, samples: int) -> list[float]:
    """Seconds from ``pool.submit`` to the call starting, one call at a time."""
    out: list[float] = []
    for _ in range(samples):
        started: list[float] = []
        t0 = time.perf_counter()
        pool.submit(_stamp, started).result()
        out.append(started[0] - t0)
        time.sleep(IDLE_GAP)
    return out


def runtime_latency(runtime: ThreadRuntime, samples: int) -> list[float]:
    """Seconds from ``runtime.submit`` to the job's first task starting, one job at a time."""
    out: list[float] = []
    for _ in range(samples):
        started: list[float] = []
        ran = threading.Event()
        t0 = time.perf_counter()
        job = runtime.submit(functools.partial(_stamp, started, ran), tasks=1)
        if not ran.wait(10):
            raise RuntimeError("the latency job's task never started")
        out.append(started[0] - t0)
        runtime.wait(job.id, timeout=10)
        time.sleep(IDLE_GAP)
    return out


def percentile(values: Sequence[float], q: float) -> float:
    """The ``q``-th percentile (nearest rank) of ``values``."""
    ordered = sorted(values)
    rank = max(0, min(len(ordered) - 1, round(q / 100.0 * len(ordered) + 0.5) - 1))
    return ordered[rank]


def main(argv: Sequence[str] | None = None) -> int:
    """Run the benchmark and print its tables; returns 0 (1 if a target is missed with --check)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tasks", type=int, default=20_000, help="no-op tasks per run")
    parser.add_argument("--workers", type=int, default=4, help="threads in the pool")
    parser.add_argument("--repeat", type=int, default=3, help="runs per variant (median)")
    parser.add_argument("--samples", type=int, default=500, help="latency samples")
    parser.add_argument(
        "--check", action="store_true", help="exit with status 1 if a target is missed"
    )
    args = parser.parse_args(argv)
    n, workers = args.tasks, args.workers

    command = "python benchmarks/bench_runtime.py " + " ".join(
        sys.argv[1:] if argv is None else argv
    )
    print(f"$ {command.strip()}")
    print(f"python {sys.version.split()[0]}, {workers} pool threads, {n} no-op tasks per run")
    print()

    with ThreadPoolExecutor(workers) as pool:
        raw_throughput(pool, min(n, 1000))  # start the threads
        rows: dict[str, list[float]] = {"raw": [], "thread": [], "executor": [], "wide": []}
        for _ in range(args.repeat):  # interleaved, so noise hits every variant alike
            rows["raw"].append(fresh(raw_throughput, pool, n))
            rows["thread"].append(
                fresh(
                    runtime_throughput,
                    lambda: ThreadRuntime(executor=pool, progress_rate=None),
                    n,
                )
            )
            rows["executor"].append(
                fresh(runtime_throughput, lambda: ExecutorRuntime(pool, concurrency=workers), n)
            )
            rows["wide"].append(
                fresh(
                    runtime_throughput,
                    lambda: ExecutorRuntime(pool, concurrency=WIDE * workers),
                    n,
                )
            )
        raw = statistics.median(rows["raw"])
        names = {
            "raw": "ThreadPoolExecutor.submit (direct)",
            "thread": "ThreadRuntime on that pool",
            "executor": "ExecutorRuntime on that pool",
            "wide": f"  the same, concurrency {WIDE * workers}",
        }
        print(f"{'dispatch':<38}{'tasks/s':>12}{'us/task':>10}{'vs raw':>9}")
        for key, name in names.items():
            rate = statistics.median(rows[key])
            print(f"{name:<38}{rate:>12,.0f}{1e6 / rate:>10.1f}{rate / raw:>8.0%}")
        ratio = statistics.median(rows["thread"]) / raw
        executor_ratio = statistics.median(rows["executor"]) / raw
        print()

        jobs = min(n, 9000)  # the default queue's slots bound a run without waiting
        job_rows: dict[str, list[float]] = {"raw": [], "thread": [], "bare": []}
        variants = {
            "raw": raw_jobs,
            "thread": runtime_jobs,
            "bare": runtime_jobs_without_handles,
        }
        for _ in range(args.repeat):
            # In one order and then the other (ABBA), so that no variant
            # always runs in the wake of the same one: two samples each.
            for key in [*variants, *reversed(variants)]:
                job_rows[key].append(fresh(variants[key], pool, jobs))
        raw_job_rate = statistics.median(job_rows["raw"])
        title = f"{jobs} jobs of one no-op job function"
        print(f"{title:<38}{'jobs/s':>12}{'us/job':>10}{'vs raw':>9}")
        for key, name in (
            ("raw", "ThreadPoolExecutor.submit (direct)"),
            ("thread", "ThreadRuntime, by handle"),
            ("bare", "ThreadRuntime, no handle (same call)"),
        ):
            rate = statistics.median(job_rows[key])
            print(f"{name:<38}{rate:>12,.0f}{1e6 / rate:>10.1f}{rate / raw_job_rate:>8.0%}")
        jobs_ratio = statistics.median(job_rows["thread"]) / raw_job_rate
        # Extra time per job with handles, as a share of the time without.
        handle_cost = (
            statistics.median(job_rows["bare"]) / statistics.median(job_rows["thread"]) - 1
        )
        print()

        raw_lat = raw_latency(pool, args.samples)
        with ThreadRuntime(executor=pool) as runtime:
            runtime_latency(runtime, min(20, args.samples))  # warm up
            rt_lat = runtime_latency(runtime, args.samples)
    print(f"{'submit-to-start latency, idle pool':<38}{'p50 ms':>10}{'p99 ms':>10}{'max ms':>10}")
    for name, lat in (("ThreadPoolExecutor.submit (direct)", raw_lat), ("ThreadRuntime", rt_lat)):
        print(
            f"{name:<38}{percentile(lat, 50) * 1e3:>10.3f}"
            f"{percentile(lat, 99) * 1e3:>10.3f}{max(lat) * 1e3:>10.3f}"
        )
    p99_ms = percentile(rt_lat, 99) * 1e3
    print()
    ok_rate = ratio >= THROUGHPUT_TARGET
    ok_exec = executor_ratio >= EXECUTOR_TARGET
    ok_jobs = jobs_ratio >= JOBS_TARGET
    ok_lat = p99_ms <= P99_TARGET_MS
    ok_handles = handle_cost <= HANDLE_TARGET
    print(
        f"targets: executor runtime >= {EXECUTOR_TARGET:.0%} of raw: {executor_ratio:.0%} "
        f"{'met' if ok_exec else 'MISSED'}; "
        f"jobs >= {JOBS_TARGET:.0%} of raw: {jobs_ratio:.0%} {'met' if ok_jobs else 'MISSED'}"
    )
    print(
        f"targets: throughput >= {THROUGHPUT_TARGET:.0%} of raw: {ratio:.0%} "
        f"{'met' if ok_rate else 'MISSED'}; "
        f"p99 <= {P99_TARGET_MS:g} ms: {p99_ms:.3f} ms {'met' if ok_lat else 'MISSED'}"
    )
    print(
        f"targets: handles add <= {HANDLE_TARGET:.0%} per job: {handle_cost:.0%} "
        f"{'met' if ok_handles else 'MISSED'}"
    )
    ok = ok_rate and ok_lat and ok_exec and ok_jobs and ok_handles
    return 1 if args.check and not ok else 0


if __name__ == "__main__":
    sys.exit(main())
