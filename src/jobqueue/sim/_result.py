"""What a simulation returns: per-job outcomes, per-queue statistics, billing, timelines.

Per-job results are stored by column (one ``array`` per field) so that a
million-job run costs a few dozen bytes per job here; ``JobOutcome`` objects
are built only when a row is read.
"""

from __future__ import annotations

import enum
import math
from array import array
from collections.abc import Iterator, Mapping, Sequence
from typing import Any, final, overload

import attrs

from .._model import Pricing, UsageRow
from .._validate import check_bool
from ._workload import QueueActionKind, Workload

__all__ = [
    "HopRoute",
    "JobOutcome",
    "JobTable",
    "Outcome",
    "QueueStats",
    "RunSegment",
    "SimResult",
    "occupancy",
    "percentile",
]


class Outcome(enum.StrEnum):
    """How a job of a simulated workload ended."""

    COMPLETE = "complete"
    FAILED = "failed"
    # The scheduler refused the submission (a limit error), or refused a job
    # it depends on, which it therefore cannot name.
    REJECTED = "rejected"
    UNFINISHED = "unfinished"  # still waiting (or running) when the simulation stopped


# Codes stored in JobTable's outcome column; the order of Outcome's members.
OUTCOMES: tuple[Outcome, ...] = tuple(Outcome)
COMPLETE, FAILED, REJECTED, UNFINISHED = range(4)


@attrs.frozen
class JobOutcome:
    """One job's simulated life.

    Attributes:
        index: the job's position in ``Workload.jobs``.
        name: its name from the workload, if any.
        job_id: the scheduler's id, or ``None`` if the submission was rejected.
        queue: the submission queue.
        final_queue: the queue it ended in (after hops).
        outcome: complete, failed, rejected or unfinished.
        failure: the code of the reason it failed (``JobFailed``,
            ``RunTimeExceeded``, ``WaitTimeExceeded``,
            ``DependencyNeverSatisfied``, ``TaskFailureThreshold``, ...), or
            ``None`` if it did not fail.
        arrival: when it was submitted.
        duration: its work, from the workload.
        first_start: when it first became Active, or ``None`` (a job can
            fail without ever running: on a dependency or its wait limit).
        finish: when it completed or failed, or ``None``.
        wait: total seconds it spent waiting in a line (Ready, or Paused
            after a preemption) until it finished, or until the simulation
            ended; time held by ``not_before`` or ``after`` and a retry's
            backoff do not count, as for ``max_wait``. ``None`` if rejected.
        run_seconds: total seconds it held a slot, over all its attempts.
        attempts: the attempts it started: 0 if it never ran, more than 1
            if it was retried (a preemption's resume is the same attempt).
        hops: how many times it hopped.
        preemptions: how many times it was preempted.
        tasks_succeeded: tasks recorded as succeeded.
        tasks_failed: tasks recorded as failed.
    """

    index: int
    name: str | None
    job_id: str | None
    queue: str
    final_queue: str
    outcome: Outcome
    failure: str | None
    arrival: float
    duration: float
    first_start: float | None
    finish: float | None
    wait: float | None
    run_seconds: float
    attempts: int
    hops: int
    preemptions: int
    tasks_succeeded: int
    tasks_failed: int


def _opt(value: float) -> float | None:
    return None if math.isnan(value) else value


def _optionals(column: array[float]) -> tuple[float | None, ...]:
    """A column of times with NaN as ``None``."""
    # Times are not negative, so the sum is NaN only if a NaN is in the column
    # (a large sum is inf, never NaN): when none is, a pass in C and a copy
    # take less than half the time of a Python-level call per job, which was
    # a fiftieth of a simulated job as benchmarks/bench_sim.py times it.
    total = sum(column)
    if total == total:
        return tuple(column)
    return tuple(map(_opt, column))


@final
class JobTable(Sequence[JobOutcome]):
    """Every job's outcome, in workload order; a read-only sequence of ``JobOutcome``.

    Indexing builds the ``JobOutcome`` on demand (O(1)). The column methods
    (``first_starts()``, ``finishes()``, ``waits()``, ``preemptions()``)
    return whole columns at once, for bulk comparisons. Two tables are equal when every column is
    equal bit for bit.
    """

    __slots__ = (
        "_failures",
        "_finish",
        "_first_start",
        "_hops",
        "_ids",
        "_outcome",
        "_preemptions",
        "_queue",
        "_queue_names",
        "_remaining",
        "_retried",
        "_tasks",
        "_wait",
        "_workload",
    )

    def __init__(
        self,
        *,
        workload: Workload,
        queue_names: tuple[str, ...],
        ids: list[str | None],
        first_start: array[float],
        finish: array[float],
        wait: array[float],
        remaining: array[float],
        outcome: bytearray,
        queue: array[int],
        hops: array[int],
        preemptions: array[int],
        tasks: Mapping[int, tuple[int, int]],
        retried: Mapping[int, tuple[int, float]],
        failures: Mapping[int, str],
    ) -> None:
        """Build a table from the driver's columns (one entry per job, in workload order).

        Args:
            tasks: per job with tasks, its (succeeded, failed) task counts.
            retried: per job that was retried, (attempts started, seconds its
                earlier attempts ran).
            failures: per failed job, the code of its failure reason.
        """
        self._workload = workload
        self._queue_names = queue_names
        self._ids = ids
        self._first_start = first_start
        self._finish = finish
        self._wait = wait
        self._remaining = remaining
        self._outcome = outcome
        self._queue = queue
        self._hops = hops
        self._preemptions = preemptions
        self._tasks = dict(tasks)
        self._retried = dict(retried)
        self._failures = dict(failures)

    def __len__(self) -> int:
        return len(self._outcome)

    @overload
    def __getitem__(self, index: int) -> JobOutcome: ...

    @overload
    def __getitem__(self, index: slice) -> Sequence[JobOutcome]: ...

    def __getitem__(self, index: int | slice) -> JobOutcome | Sequence[JobOutcome]:
        if isinstance(index, slice):
            return tuple(self._row(i) for i in range(*index.indices(len(self))))
        n = len(self)
        if not -n <= index < n:
            raise IndexError(f"job index {index} out of range for {n} jobs")
        return self._row(index % n)

    def __iter__(self) -> Iterator[JobOutcome]:
        return (self._row(i) for i in range(len(self)))

    def _row(self, i: int) -> JobOutcome:
        spec = self._workload.jobs[i]
        outcome = self._outcome[i]
        succeeded, failed = self._tasks.get(i, (0, 0))
        first_start = self._first_start[i]
        retried = self._retried.get(i)
        if retried is None:
            attempts, earlier = (0 if math.isnan(first_start) else 1), 0.0
        else:
            attempts, earlier = retried
        return JobOutcome(
            index=i,
            name=spec.name,
            job_id=self._ids[i],
            queue=spec.queue,
            final_queue=self._queue_names[self._queue[i]],
            outcome=OUTCOMES[outcome],
            failure=self._failures.get(i),
            arrival=spec.arrival,
            duration=spec.duration,
            first_start=_opt(first_start),
            finish=_opt(self._finish[i]),
            wait=None if outcome == REJECTED else self._wait[i],
            run_seconds=earlier + (spec.duration - self._remaining[i]),
            attempts=attempts,
            hops=self._hops[i],
            preemptions=self._preemptions[i],
            tasks_succeeded=succeeded,
            tasks_failed=failed,
        )

    def first_starts(self) -> tuple[float | None, ...]:
        """Every job's first start (``None`` if it never started), in workload order."""
        return _optionals(self._first_start)

    def finishes(self) -> tuple[float | None, ...]:
        """Every job's finish time (``None`` if it did not finish), in workload order."""
        return _optionals(self._finish)

    def preemptions(self) -> tuple[int, ...]:
        """How many times each job was preempted, in workload order."""
        return tuple(self._preemptions)

    def waits(self) -> tuple[float | None, ...]:
        """Every job's total wait (``None`` if rejected), in workload order."""
        return tuple(
            None if o == REJECTED else w for o, w in zip(self._outcome, self._wait, strict=True)
        )

    def _key(self) -> tuple[object, ...]:
        return (
            self._workload,
            self._queue_names,
            self._ids,
            self._first_start.tobytes(),
            self._finish.tobytes(),
            self._wait.tobytes(),
            self._remaining.tobytes(),
            bytes(self._outcome),
            self._queue.tobytes(),
            self._hops.tobytes(),
            self._preemptions.tobytes(),
            self._tasks,
            self._retried,
            self._failures,
        )

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, JobTable):
            return NotImplemented
        return self._key() == other._key()

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"<JobTable of {len(self)} jobs>"


@attrs.frozen
class QueueStats:
    """Statistics of one queue over a simulation.

    Jobs are counted where it matters for each figure: ``submitted``,
    ``rejected`` and the waits by **submission** queue (what a submitter
    experiences, hops included); ``completed``, ``failed``, ``unfinished``,
    busy time and throughput by the queue a job **ran or ended** in.

    Attributes:
        name: the queue.
        slots: its slots.
        policy: its policy's name.
        pricing: its pricing plan.
        submitted: jobs submitted to it (rejected ones included).
        rejected: submissions refused with a limit error (and jobs that
            depend on one, which cannot be submitted).
        completed: jobs that completed in it.
        failed: jobs that failed in it.
        unfinished: jobs still in it (waiting or running) when the simulation ended.
        wait_mean: mean total wait of the finished jobs submitted here (``None`` if none).
        wait_p50: median total wait (nearest rank; see ``percentile``).
        wait_p90: 90th percentile of the total wait.
        wait_p99: 99th percentile of the total wait.
        wait_max: the longest total wait.
        busy_seconds: slot-seconds its slots were held.
        utilisation: ``busy_seconds / (slots * makespan)``, 0.0 for an empty run.
        throughput: completed jobs per second of makespan.
        hops_in: hops into it.
        hops_out: hops out of it.
        preemptions: jobs preempted in it.
    """

    name: str
    slots: int
    policy: str
    pricing: Pricing
    submitted: int
    rejected: int
    completed: int
    failed: int
    unfinished: int
    wait_mean: float | None
    wait_p50: float | None
    wait_p90: float | None
    wait_p99: float | None
    wait_max: float | None
    busy_seconds: float
    utilisation: float
    throughput: float
    hops_in: int
    hops_out: int
    preemptions: int


@attrs.frozen
class HopRoute:
    """How many hops went from ``source`` to ``destination``."""

    source: str
    destination: str
    hops: int


@attrs.frozen
class RunSegment:
    """One stretch of time a job held a slot (from a start to its completion, pause or failure)."""

    job: int
    queue: str
    start: float
    end: float


@attrs.frozen
class SimResult:
    """The frozen result of one simulation run.

    The same workload and seed give an equal result, bit for bit.

    Attributes:
        workload: the workload that ran.
        seed: the seed of the task outcomes and the retry jitter.
        start: the time of the first arrival or queue action.
        end: the time of the last event processed.
        jobs: every job's outcome, in workload order.
        queues: per-queue statistics, ``"default"`` first, then in workload order.
        hop_routes: hops by (source, destination), in order of first occurrence.
        usage: billed on-demand run time by billing tags (``Scheduler.usage_report()``).
        segments: every stretch of slot use, in the order they ended, if the
            run recorded them (``record_segments=True``); else ``None``.
    """

    workload: Workload = attrs.field(repr=False)
    seed: int
    start: float
    end: float
    jobs: JobTable
    queues: tuple[QueueStats, ...]
    hop_routes: tuple[HopRoute, ...]
    usage: tuple[UsageRow, ...]
    segments: tuple[RunSegment, ...] | None = attrs.field(repr=False)

    @property
    def makespan(self) -> float:
        """``end - start``: the span of virtual time the run covered."""
        return self.end - self.start

    def queue(self, name: str) -> QueueStats:
        """The statistics of queue ``name``.

        Raises:
            KeyError: no such queue in the workload.
        """
        for stats in self.queues:
            if stats.name == name:
                return stats
        raise KeyError(name)

    def to_dict(self, *, jobs: bool = True) -> dict[str, Any]:
        """A JSON-ready dict: summary, ``queues``, ``hop_routes``, ``usage`` and ``jobs``.

        Args:
            jobs: include one entry per job (set False for a short summary).

        Raises:
            ValidationError: ``jobs`` is not a bool.
        """
        jobs = check_bool("jobs", jobs)
        out: dict[str, Any] = {
            "seed": self.seed,
            "start": self.start,
            "end": self.end,
            "makespan": self.makespan,
            "jobs_total": len(self.jobs),
            "queues": [attrs.asdict(q, value_serializer=_plain) for q in self.queues],
            "hop_routes": [attrs.asdict(r) for r in self.hop_routes],
            "usage": [{"tags": dict(row.tags), "seconds": row.seconds} for row in self.usage],
        }
        if jobs:
            out["jobs"] = [attrs.asdict(job, value_serializer=_plain) for job in self.jobs]
        return out


def _plain(_inst: object, _field: object, value: object) -> object:
    return value.value if isinstance(value, enum.Enum) else value


def percentile(sorted_values: Sequence[float], p: float) -> float:
    """The nearest-rank ``p``-th percentile of ascending ``sorted_values``.

    The smallest value with at least ``p`` percent of the values at or below
    it: no interpolation, so the answer is always one of the values.

    >>> percentile([1.0, 2.0, 3.0, 4.0], 50)
    2.0
    >>> percentile([1.0, 2.0, 3.0, 4.0], 90)
    4.0

    Raises:
        ValueError: no values, or ``p`` outside (0, 100].
    """
    if not sorted_values:
        raise ValueError("percentile of no values")
    if not 0 < p <= 100:
        raise ValueError(f"p must be in (0, 100], got {p!r}")
    rank = math.ceil(p / 100 * len(sorted_values))
    return sorted_values[max(rank, 1) - 1]


def occupancy(result: SimResult, buckets: int = 60) -> dict[str, tuple[float, ...]]:
    """Slot use per queue over time: the busy share of each queue's slots per time bucket.

    ``[result.start, result.end]`` is cut into ``buckets`` equal spans; each
    value is the slot-seconds used in that span divided by ``slots * span``
    (0.0 idle, 1.0 every slot busy throughout).

    Args:
        result: a result recorded with ``record_segments=True``.
        buckets: number of spans (``>= 1``).

    Raises:
        ValueError: the result holds no segments, or ``buckets < 1``.
    """
    if result.segments is None:
        raise ValueError("the result has no segments: run with record_segments=True")
    if buckets < 1:
        raise ValueError(f"buckets must be >= 1, got {buckets}")
    slots = {q.name: q.slots for q in result.queues}
    busy = {name: [0.0] * buckets for name in slots}
    span = result.makespan / buckets
    if span <= 0:
        return {name: tuple(row) for name, row in busy.items()}
    origin = result.start
    for seg in result.segments:
        row = busy[seg.queue]
        first = min(int((seg.start - origin) / span), buckets - 1)
        last = min(int((seg.end - origin) / span), buckets - 1)
        for b in range(first, last + 1):
            lo = max(seg.start, origin + b * span)
            hi = min(seg.end, origin + (b + 1) * span) if b < buckets - 1 else seg.end
            if hi > lo:
                row[b] += hi - lo
    return {
        name: tuple(min(1.0, v / (slots[name] * span)) for v in row) for name, row in busy.items()
    }


def paused_spans(workload: Workload, end: float) -> dict[str, list[tuple[float, float]]]:
    """Each queue's paused stretches, from the workload's actions, closed at ``end``."""
    spans: dict[str, list[tuple[float, float]]] = {}
    since: dict[str, float] = {}
    for action in sorted(workload.actions, key=lambda a: a.time):
        if action.action is QueueActionKind.PAUSE:
            since.setdefault(action.queue, action.time)
        elif action.queue in since:
            spans.setdefault(action.queue, []).append((since.pop(action.queue), action.time))
    for queue, t in since.items():
        spans.setdefault(queue, []).append((t, end))
    return spans
