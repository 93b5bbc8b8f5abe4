"""Per-queue statistics from a run's per-job columns: the driver's last step.

Jobs are counted as ``QueueStats`` documents it: submitted, rejected and the
waits by submission queue; completed, failed and unfinished by the queue a
job ended in.
"""

from __future__ import annotations

import math
from array import array
from collections.abc import Mapping, Sequence

from .._model import QueueInfo
from ._result import COMPLETE, FAILED, REJECTED, QueueStats, percentile

__all__ = ["Columns", "failed_jobs", "queue_stats"]


class Columns:
    """The per-job and per-queue columns the statistics are read from."""

    __slots__ = (
        "busy",
        "final_queue",
        "hops_in",
        "hops_out",
        "outcome",
        "preemptions",
        "sub_queue",
        "wait",
    )

    def __init__(
        self,
        outcome: bytearray,
        sub_queue: array[int],
        final_queue: array[int],
        wait: array[float],
        busy: Sequence[float],
        hops_in: Sequence[int],
        hops_out: Sequence[int],
        preemptions: Sequence[int],
    ) -> None:
        self.outcome = outcome
        self.sub_queue = sub_queue
        self.final_queue = final_queue
        self.wait = wait
        self.busy = busy
        self.hops_in = hops_in
        self.hops_out = hops_out
        self.preemptions = preemptions


def failed_jobs(outcome: bytearray) -> list[int]:
    """The workload indexes of the jobs that failed, in order."""
    if FAILED not in outcome:
        return []
    return [i for i, code in enumerate(outcome) if code == FAILED]


def queue_stats(
    names: Sequence[str],
    infos: Mapping[str, QueueInfo],
    c: Columns,
    makespan: float,
) -> tuple[QueueStats, ...]:
    """One ``QueueStats`` per queue of ``names``; ``infos`` are the queues as they ended."""
    nq = len(names)
    outcome, wait = c.outcome, c.wait
    if nq == 1:
        # One queue: every job was submitted to it and ended in it, so the
        # counts are counts of codes, in C. A Python-level pass per job was a
        # thirtieth of a simulated job (benchmarks/bench_sim.py).
        n = len(outcome)
        completed = [outcome.count(COMPLETE)]
        failed = [outcome.count(FAILED)]
        rejected = [outcome.count(REJECTED)]
        submitted = [n]
        unfinished = [n - completed[0] - failed[0] - rejected[0]]
        if completed[0] + failed[0] == n:
            waits = [wait.tolist()]
        else:
            waits = [[w for w, o in zip(wait, outcome, strict=True) if o in _ENDED]]
    else:
        submitted, rejected, completed, failed, unfinished, waits = _count(nq, c)
    stats = []
    for q, name in enumerate(names):
        info = infos[name]
        w = waits[q]
        w.sort()
        busy = c.busy[q]
        stats.append(
            QueueStats(
                name=name,
                slots=info.slots,
                policy=info.policy,
                pricing=info.pricing,
                submitted=submitted[q],
                rejected=rejected[q],
                completed=completed[q],
                failed=failed[q],
                unfinished=unfinished[q],
                wait_mean=math.fsum(w) / len(w) if w else None,
                wait_p50=percentile(w, 50) if w else None,
                wait_p90=percentile(w, 90) if w else None,
                wait_p99=percentile(w, 99) if w else None,
                wait_max=w[-1] if w else None,
                busy_seconds=busy,
                utilisation=busy / (info.slots * makespan) if makespan > 0 else 0.0,
                throughput=completed[q] / makespan if makespan > 0 else 0.0,
                hops_in=c.hops_in[q],
                hops_out=c.hops_out[q],
                preemptions=c.preemptions[q],
            )
        )
    return tuple(stats)


_ENDED = frozenset({COMPLETE, FAILED})


def _count(
    nq: int, c: Columns
) -> tuple[list[int], list[int], list[int], list[int], list[int], list[list[float]]]:
    """Submitted, rejected, completed, failed, unfinished and the waits, per queue."""
    submitted = [0] * nq
    rejected = [0] * nq
    completed = [0] * nq
    failed = [0] * nq
    unfinished = [0] * nq
    waits: list[list[float]] = [[] for _ in range(nq)]
    outcome, sub_queue, final_queue, wait = c.outcome, c.sub_queue, c.final_queue, c.wait
    for i in range(len(outcome)):
        code = outcome[i]
        sq = sub_queue[i]
        submitted[sq] += 1
        if code == COMPLETE:
            completed[final_queue[i]] += 1
            waits[sq].append(wait[i])
        elif code == FAILED:
            failed[final_queue[i]] += 1
            waits[sq].append(wait[i])
        elif code == REJECTED:
            rejected[sq] += 1
        else:
            unfinished[final_queue[i]] += 1
    return submitted, rejected, completed, failed, unfinished, waits
