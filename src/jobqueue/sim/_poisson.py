"""Random workloads: Poisson arrival streams (``poisson_jobs``) and the classic
single-queue workload built on one (``poisson_workload``).

The same ``random.Random`` seed gives the same jobs: draws are taken in a
fixed, documented order.
"""

from __future__ import annotations

import bisect
import math
import random
from collections.abc import Mapping, Sequence
from typing import Literal

from .._errors import ValidationError
from .._model import HopRule
from .._validate import check_bool, check_int, check_number, check_positive_number, check_priority
from ._workload import JobSpec, QueueSpec, Workload, check_hops, check_time

__all__ = ["poisson_jobs", "poisson_workload"]


def _weights(priorities: Mapping[int, float] | None) -> tuple[list[int], list[float]]:
    if priorities is None:
        return [0], [1.0]
    if not isinstance(priorities, Mapping) or not priorities:
        raise ValidationError("priorities must be a non-empty mapping of priority to weight")
    levels: list[int] = []
    cumulative: list[float] = []
    total = 0.0
    for level, weight in priorities.items():
        check_priority(level, "priorities key")
        total += check_number("priority weight", weight, 0.0)
        levels.append(level)
        cumulative.append(total)
    if total <= 0:
        raise ValidationError("priority weights must not all be 0")
    return levels, cumulative


def poisson_jobs(
    n: int,
    *,
    rate: float,
    rng: random.Random,
    mean_duration: float = 1.0,
    durations: Literal["exponential", "fixed"] = "exponential",
    priorities: Mapping[int, float] | None = None,
    start: float = 0.0,
    queue: str = "default",
    hops: Sequence[HopRule] = (),
    deferred: bool = True,
    name_prefix: str | None = None,
) -> tuple[JobSpec, ...]:
    """A stream of ``n`` jobs with Poisson arrivals (exponential gaps).

    Draws come from ``rng`` in a fixed order, job by job: the gap to the
    arrival (``rng.expovariate(rate)``), the duration (for ``"exponential"``),
    then the priority (for a mix of more than one level). The same seed gives
    the same jobs. Arrival times are running sums of the gaps, starting from
    ``start``.

    Args:
        n: number of jobs (``>= 0``).
        rate: mean arrivals per second (``> 0``).
        rng: the source of randomness, e.g. ``random.Random(42)``.
        mean_duration: mean seconds of work (``> 0``); the exact duration for ``"fixed"``.
        durations: ``"exponential"`` (mean ``mean_duration``) or ``"fixed"``.
        priorities: a mix, priority to weight (``{1: 3, 9: 1}`` makes a quarter
            of the jobs priority 9); ``None`` gives every job priority 0.
        start: time of the stream's origin; the first job arrives one gap later.
        queue: the submission queue of every job.
        hops: hop rules every job carries.
        deferred: the jobs' ``deferred`` flag.
        name_prefix: if given, job *i* of the stream is named ``f"{name_prefix}{i}"``.

    Raises:
        ValidationError: an argument is out of range.
    """
    n = check_int("n", n, 0)
    deferred = check_bool("deferred", deferred)
    rate = _positive("rate", rate)
    mean = _positive("mean_duration", mean_duration)
    start = check_time("start", start)
    if durations not in ("exponential", "fixed"):
        raise ValidationError(f"durations must be 'exponential' or 'fixed', got {durations!r}")
    if not isinstance(rng, random.Random):
        raise ValidationError(f"rng must be a random.Random, got {type(rng).__name__}")
    levels, cumulative = _weights(priorities)
    total = cumulative[-1]
    hop_rules = check_hops(hops)
    expovariate = rng.expovariate
    uniform = rng.random
    exponential = durations == "exponential"
    mixed = len(levels) > 1
    inverse_mean = 1.0 / mean
    jobs: list[JobSpec] = []
    t = start
    for i in range(n):
        t += expovariate(rate)
        duration = expovariate(inverse_mean) if exponential else mean
        priority = (
            levels[bisect.bisect_right(cumulative, uniform() * total)] if mixed else levels[0]
        )
        name = None if name_prefix is None else f"{name_prefix}{i}"
        jobs.append(JobSpec(t, duration, queue, priority, deferred, hops=hop_rules, name=name))
    return tuple(jobs)


def poisson_workload(
    n: int,
    *,
    rng: random.Random,
    slots: int = 100,
    load: float = 0.9,
    mean_duration: float = 1.0,
    durations: Literal["exponential", "fixed"] = "exponential",
    priorities: Mapping[int, float] | None = None,
    policy: Literal["fifo", "priority"] = "fifo",
    preemption: bool = False,
) -> Workload:
    """The classic single-queue workload: Poisson arrivals offered at ``load``.

    The ``"default"`` queue gets ``slots`` slots, the given policy, a deferred
    share of 1.0 (every slot may run these deferred jobs) and room for all
    ``n`` jobs to wait, so none is rejected. The arrival rate is
    ``load * slots / mean_duration``. Draws as in ``poisson_jobs``.

    Args:
        n: number of jobs.
        rng: the source of randomness.
        slots: the queue's slots.
        load: offered load, the mean share of slots in use (``> 0``; above 1
            the line grows without bound).
        mean_duration: mean seconds of work.
        durations: ``"exponential"`` or ``"fixed"``.
        priorities: the priority mix (see ``poisson_jobs``).
        policy: ``"fifo"`` or ``"priority"``.
        preemption: with ``"priority"``, preempt lower-priority jobs.

    Raises:
        ValidationError: an argument is out of range.
    """
    slots = check_int("slots", slots, 1)
    load = _positive("load", load)
    mean = _positive("mean_duration", mean_duration)
    queue = QueueSpec(
        "default",
        slots=slots,
        policy=policy,
        preemption=preemption,
        deferred_share=1.0,
        max_waiting=max(1, n),
    )
    try:
        rate = load * slots / mean
    except OverflowError:  # slots too large for a float
        rate = math.inf
    jobs = poisson_jobs(
        n,
        rate=check_positive_number("load * slots / mean_duration", rate),
        rng=rng,
        mean_duration=mean,
        durations=durations,
        priorities=priorities,
    )
    return Workload(jobs, (queue,))


def _positive(field: str, value: object) -> float:
    return check_positive_number(field, value)
