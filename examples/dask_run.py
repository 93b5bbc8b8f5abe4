"""Run jobqueue jobs on Dask distributed; a LocalCluster stands in for a real cluster.

``ExecutorRuntime`` takes any ``concurrent.futures.Executor``; Dask's
``Client.get_executor()`` is one, so the scheduler's queues, priorities and
reports drive work spread over a cluster. Each task here counts the primes in
one chunk of numbers, in one of two worker processes, and returns the count
with the id of the process it ran in; the handle's result maps each chunk to
what its task returned.

Needs the ``dask`` extra: pip install "jobqueue[dask]".
Run: python examples/dask_run.py
"""

from __future__ import annotations

import os
import sys
from typing import TextIO

from jobqueue import Event
from jobqueue.runtime import ExecutorRuntime, Progress

CHUNK = 20_000
CHUNKS = 10


def count_primes(key: str) -> tuple[int, int]:
    """The primes in chunk ``key``, and the worker's pid. Module level, so Dask can ship it."""
    lo = int(key) * CHUNK
    sieve = bytearray([1]) * CHUNK
    for p in range(2, int((lo + CHUNK) ** 0.5) + 1):
        start = max(p * p, (lo + p - 1) // p * p)
        sieve[start - lo :: p] = bytes(len(range(start - lo, CHUNK, p)))
    return os.getpid(), sum(sieve[max(0, 2 - lo) :])


def main(out: TextIO = sys.stdout) -> None:
    """Run the example on a local Dask cluster, writing to ``out``."""
    from distributed import Client, LocalCluster

    def show(event: Event) -> None:
        if isinstance(event, Progress):
            out.write(f"  {event.percent:5.1f}%  {event.tasks_done}/{event.tasks_total} chunks\n")

    # processes=True: two worker processes, as on a real cluster (the work and its
    # results travel pickled); pure=False makes every call a new Dask task, even
    # with equal arguments.
    with (
        LocalCluster(  # type: ignore[no-untyped-call]
            n_workers=2, threads_per_worker=1, processes=True, dashboard_address=":0"
        ) as cluster,
        Client(cluster) as client,  # type: ignore[no-untyped-call]
        ExecutorRuntime(client.get_executor(pure=False), concurrency=4) as runtime,
    ):
        runtime.subscribe(show)
        job = runtime.submit(
            count_primes, tasks=CHUNKS, description=f"primes below {CHUNK * CHUNKS:,}"
        )
        results = job.result(timeout=120)  # chunk -> (pid, count)
        done = job.job()
    pids = sorted({pid for pid, _ in results.values()})
    out.write(
        f"{done.description}: {done.status}, {sum(n for _, n in results.values())} primes "
        f"in {done.tasks_succeeded} chunks\n"
    )
    out.write(f"ran in worker processes {', '.join(map(str, pids))} (this one: {os.getpid()})\n")


if __name__ == "__main__":
    main()
