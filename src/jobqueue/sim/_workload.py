"""The workload value types: what a simulation runs, and the checks on each field.

A ``Workload`` is plain data: the queues to create (``QueueSpec``), the jobs
that arrive (``JobSpec``: when, for how long, where, at which priority, with
which hop rules, tasks and job controls) and timed queue actions
(``QueueAction``: pause, resume). A job names the jobs it depends on by their
index in the workload (``After``). Everything is validated when it is built,
so a simulation never stops half-way on bad input; errors name the field.

Workload files (JSON, CSV) are read and written in ``_workload_file``; random
workloads are generated in ``_poisson``.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Mapping, Sequence
from types import MappingProxyType
from typing import Final, Literal

import attrs

from .._controls import Retry
from .._core import retries
from .._errors import ValidationError
from .._model import BillingTagsSource, HopRule, Pricing
from .._tags import validate_tags
from .._validate import (
    check_choice,
    check_int,
    check_name,
    check_number,
    check_positive_number,
    check_priority,
    check_share,
)

__all__ = [
    "After",
    "JobSpec",
    "QueueAction",
    "QueueActionKind",
    "QueueSpec",
    "Workload",
]

_EMPTY_TAGS: Final[Mapping[str, str]] = MappingProxyType({})


# ---------------------------------------------------------------------- field checks


def check_time(field: str, value: object) -> float:
    """``value`` as a time or a length of time: a finite number ``>= 0``."""
    return check_number(field, value, 0.0)


def _check_flag(field: str, value: object) -> bool:
    if not isinstance(value, bool):
        raise ValidationError(f"{field} must be a bool, got {type(value).__name__}")
    return value


def _check_queue(field: str, value: object) -> str:
    if not isinstance(value, str):
        raise ValidationError(f"{field} must be a str, got {type(value).__name__}")
    checked = check_name(value)
    assert checked is not None
    return checked


# attrs converters must be named functions: one per field.
def _arrival(value: object) -> float:
    return check_time("arrival", value)


def _duration(value: object) -> float:
    return check_time("duration", value)


def _action_time(value: object) -> float:
    return check_time("time", value)


def _deferred(value: object) -> bool:
    return _check_flag("deferred", value)


def _preemptible(value: object) -> bool:
    return _check_flag("preemptible", value)


def _preemption(value: object) -> bool:
    return _check_flag("preemption", value)


def _job_queue(value: object) -> str:
    return _check_queue("queue", value)


def _queue_name(value: object) -> str:
    return _check_queue("name", value)


def _rate(value: object) -> float:
    return check_number("task_failure_rate", value, 0.0, 1.0)


def check_hops(value: object) -> tuple[HopRule, ...]:
    """``value`` as a job's hop rules, each one checked (``hops[i].wait`` and so on)."""
    if isinstance(value, (str, bytes)) or not isinstance(value, Sequence):
        raise ValidationError(f"hops must be a sequence of HopRule, got {type(value).__name__}")
    rules = []
    for i, rule in enumerate(value):
        if not isinstance(rule, HopRule):
            raise ValidationError(f"hops[{i}] must be a HopRule, got {type(rule).__name__}")
        queue = _check_queue(f"hops[{i}].queue", rule.queue)
        wait = check_positive_number(f"hops[{i}].wait", rule.wait)
        priority = (
            None if rule.priority is None else check_priority(rule.priority, f"hops[{i}].priority")
        )
        rules.append(HopRule(queue, wait, priority))
    return tuple(rules)


def _tags(value: Mapping[str, str] | None) -> Mapping[str, str]:
    tags = validate_tags(value)
    return MappingProxyType(tags) if tags else _EMPTY_TAGS


def _tasks(value: object) -> int:
    return check_int("tasks", value, 0)


def _priority(value: object) -> int:
    return check_priority(value)


def _job_name(value: object) -> str | None:
    return check_name(value)


def _billing(value: object) -> BillingTagsSource:
    return check_choice("billing_tags_source", value, BillingTagsSource)


def _check_on(field: str, value: object) -> Literal["ok", "any", "failed"]:
    if value == "ok":
        return "ok"
    if value == "any":
        return "any"
    if value == "failed":
        return "failed"
    raise ValidationError(f"{field} must be one of 'ok', 'any', 'failed', got {value!r}")


def _after_job(value: object) -> int:
    return check_int("job", value, 0)


def _after_on(value: object) -> Literal["ok", "any", "failed"]:
    return _check_on("on", value)


@attrs.frozen
class After:
    """A dependency of a workload job on another job of the same workload.

    The workload's form of ``Dependency``: the job waited on is named by its
    index in ``Workload.jobs``, and the simulation passes the scheduler the id
    it gave that job. In ``JobSpec.after`` a bare index ``k`` stands for
    ``After(k)``.

    Attributes:
        job: the index of the job waited on; it must be listed before the
            dependent and arrive no later, so that it exists when the
            dependent is submitted.
        on: ``"ok"`` (it completed), ``"any"`` (it ended, however) or
            ``"failed"`` (it failed), as ``Dependency.on``.
    """

    job: int = attrs.field(converter=_after_job)
    on: Literal["ok", "any", "failed"] = attrs.field(default="ok", converter=_after_on)


def check_after(value: object) -> tuple[After, ...]:
    """``value`` as a job's dependencies: indices (``int``) and ``After`` values."""
    if isinstance(value, (str, bytes)) or not isinstance(value, Sequence):
        raise ValidationError(
            f"after must be a sequence of job indices or After, got {type(value).__name__}"
        )
    deps = []
    for k, item in enumerate(value):
        if isinstance(item, After):
            deps.append(item)
        elif isinstance(item, int) and not isinstance(item, bool):
            deps.append(After(check_int(f"after[{k}]", item, 0)))
        else:
            raise ValidationError(
                f"after[{k}] must be a job index (int) or an After, got {type(item).__name__}"
            )
    return tuple(deps)


def _not_before(value: object) -> float | None:
    return None if value is None else check_time("not_before", value)


def _max_run(value: object) -> float | None:
    return None if value is None else check_positive_number("max_run", value)


def _max_wait(value: object) -> float | None:
    return None if value is None else check_positive_number("max_wait", value)


def _retry(value: object) -> Retry | None:
    return None if value is None else retries.check(value)


def _fails(value: object) -> int:
    return check_int("fails", value, 0)


# ---------------------------------------------------------------------- specs


@attrs.frozen
class JobSpec:
    """One job of a workload: when it arrives, how much work it is, and how it is submitted.

    Attributes:
        arrival: when it is submitted, in seconds of virtual time (``>= 0``).
        duration: seconds of work (``>= 0``). A preempted job keeps the work it
            has left and continues it when it resumes.
        queue: the submission queue (``"default"`` or one of the workload's queues).
        priority: its priority (an int; higher runs first in priority queues).
        deferred: whether it may wait for a slot; a non-deferred job that finds
            no free slot is rejected, as ``Scheduler.submit`` does.
        preemptible: whether a higher-priority job may pause it.
        hops: its hop rules (``HopRule``), a chain as in ``Scheduler.submit``.
        tasks: the number of tasks in its manifest (keys ``"0"``, ``"1"``, ...);
            they finish evenly spread over its work.
        task_failure_rate: the chance, in [0, 1], that each task fails.
        name: an optional unique name, passed to the scheduler.
        tags: the job's tags.
        billing_tags_source: bill under the submission queue's tags or the job's.
        not_before: the job may not start before this time (seconds of virtual
            time), as ``Scheduler.submit``'s ``not_before``; needs ``deferred``.
        after: the jobs it waits for, as ``Scheduler.submit``'s ``after``: each
            an ``After`` or a bare index (``After(index)``, waiting for that
            job to complete) of a job listed before it that arrives no later;
            needs ``deferred``.
        max_run: the most seconds one attempt may hold a slot (``RunTimeExceeded``).
        max_wait: the most seconds it may wait in a line over its whole life
            (``WaitTimeExceeded``).
        retry: run it again after a backoff when an attempt fails (``Retry``).
        fails: how many of its attempts fail: the first ``fails`` attempts run
            their whole duration, then fail (code ``JobFailed``, a failure
            ``retry`` covers); later ones complete. Each attempt runs the work
            from the start; a preempted attempt keeps the work it has left.

    A job whose first two attempts fail, and one that waits for it:

    >>> from jobqueue import Retry
    >>> from jobqueue.sim import JobSpec, QueueSpec, Workload, simulate
    >>> flaky = JobSpec(0.0, 3.0, fails=2, retry=Retry(attempts=3, backoff=1.0, jitter=0.0))
    >>> w = Workload([flaky, JobSpec(0.0, 1.0, after=[0])], [QueueSpec("default", slots=2)])
    >>> [(j.first_start, j.finish, j.attempts) for j in simulate(w).jobs]
    [(0.0, 12.0, 3), (12.0, 13.0, 1)]
    """

    arrival: float = attrs.field(converter=_arrival)
    duration: float = attrs.field(converter=_duration)
    queue: str = attrs.field(default="default", converter=_job_queue)
    priority: int = attrs.field(default=0, converter=_priority)
    deferred: bool = attrs.field(default=True, converter=_deferred)
    preemptible: bool = attrs.field(default=True, converter=_preemptible)
    hops: tuple[HopRule, ...] = attrs.field(default=(), converter=check_hops)
    tasks: int = attrs.field(default=0, converter=_tasks)
    task_failure_rate: float = attrs.field(default=0.0, converter=_rate)
    name: str | None = attrs.field(default=None, converter=_job_name)
    tags: Mapping[str, str] = attrs.field(default=_EMPTY_TAGS, converter=_tags)
    billing_tags_source: BillingTagsSource = attrs.field(
        default=BillingTagsSource.QUEUE, converter=_billing
    )
    not_before: float | None = attrs.field(default=None, converter=_not_before)
    after: tuple[After, ...] = attrs.field(default=(), converter=check_after)
    max_run: float | None = attrs.field(default=None, converter=_max_run)
    max_wait: float | None = attrs.field(default=None, converter=_max_wait)
    retry: Retry | None = attrs.field(default=None, converter=_retry)
    fails: int = attrs.field(default=0, converter=_fails)

    def __attrs_post_init__(self) -> None:
        if not self.deferred and (self.not_before is not None or self.after):
            field = "not_before" if self.not_before is not None else "after"
            raise ValidationError(
                f"{field} needs deferred=True: a non-deferred job starts at once or not at all"
            )

    @property
    def has_controls(self) -> bool:
        """Whether it sets ``not_before``, ``after``, a limit, ``retry`` or ``fails``."""
        return (
            self.not_before is not None
            or bool(self.after)
            or self.max_run is not None
            or self.max_wait is not None
            or self.retry is not None
            or self.fails > 0
        )


def _policy(value: object) -> Literal["fifo", "priority"]:
    if value == "fifo":
        return "fifo"
    if value == "priority":
        return "priority"
    raise ValidationError(f"policy must be 'fifo' or 'priority', got {value!r}")


def _slots(value: object) -> int:
    return check_int("slots", value, 1)


def _max_waiting(value: object) -> int:
    return check_int("max_waiting", value, 1)


def _share(value: object) -> float:
    return check_share(value)


def _pricing(value: object) -> Pricing:
    return check_choice("pricing", value, Pricing)


@attrs.frozen
class QueueSpec:
    """A queue a workload needs; the arguments of ``Scheduler.create_queue``.

    A spec named ``"default"`` reconfigures the scheduler's built-in default
    queue instead of creating one.

    Attributes:
        name: the queue's name.
        slots: jobs that may hold a slot at once.
        policy: ``"fifo"`` or ``"priority"``.
        preemption: with ``policy="priority"``, preempt lower-priority jobs.
        deferred_share: the share of slots deferred jobs may hold, in (0, 1].
        max_waiting: how many jobs may wait at once.
        pricing: ``"on_demand"`` or ``"reserved"``.
        tags: the queue's tags (billing tags for jobs that use the queue's).
    """

    name: str = attrs.field(converter=_queue_name)
    slots: int = attrs.field(default=100, converter=_slots)
    policy: Literal["fifo", "priority"] = attrs.field(default="fifo", converter=_policy)
    preemption: bool = attrs.field(default=False, converter=_preemption)
    deferred_share: float = attrs.field(default=0.9, converter=_share)
    max_waiting: int = attrs.field(default=10_000, converter=_max_waiting)
    pricing: Pricing = attrs.field(default=Pricing.ON_DEMAND, converter=_pricing)
    tags: Mapping[str, str] = attrs.field(default=_EMPTY_TAGS, converter=_tags)

    def __attrs_post_init__(self) -> None:
        if self.preemption and self.policy != "priority":
            raise ValidationError("preemption needs policy 'priority', got 'fifo'")


class QueueActionKind(enum.StrEnum):
    """What a ``QueueAction`` does to its queue."""

    PAUSE = "pause"
    RESUME = "resume"


def _action(value: object) -> QueueActionKind:
    return check_choice("action", value, QueueActionKind)


@attrs.frozen
class QueueAction:
    """Pause or resume a queue at a point of virtual time.

    Attributes:
        time: when, in seconds (``>= 0``).
        queue: which queue.
        action: ``"pause"`` or ``"resume"`` (see ``Scheduler.pause_queue``).
    """

    time: float = attrs.field(converter=_action_time)
    queue: str = attrs.field(converter=_job_queue)
    action: QueueActionKind = attrs.field(converter=_action)


def _job_tuple(value: Iterable[JobSpec]) -> tuple[JobSpec, ...]:
    return tuple(value)


def _queue_tuple(value: Iterable[QueueSpec]) -> tuple[QueueSpec, ...]:
    return tuple(value)


def _action_tuple(value: Iterable[QueueAction]) -> tuple[QueueAction, ...]:
    return tuple(value)


@attrs.frozen
class Workload:
    """Everything a simulation runs: queues, jobs and timed queue actions.

    Jobs are numbered by their position in ``jobs`` (results use that index);
    they need not be sorted by arrival. Jobs arriving at the same time are
    submitted in that order.

    Attributes:
        jobs: the jobs.
        queues: queues to create (or, for ``"default"``, reconfigure), in order.
        actions: queue pauses and resumptions.
        has_controls: whether any job uses a job control (``JobSpec.has_controls``);
            set from ``jobs``, not an argument.

    Raises:
        ValidationError: an item has the wrong type, two queues share a name,
            two jobs share a name, a job, hop rule or action names a queue
            that is neither ``"default"`` nor in ``queues``, or a job depends
            on a job that is not listed before it or arrives after it (the
            message names the item, e.g. ``jobs[3].queue``, ``jobs[3].after[0]``).
    """

    jobs: tuple[JobSpec, ...] = attrs.field(converter=_job_tuple)
    queues: tuple[QueueSpec, ...] = attrs.field(default=(), converter=_queue_tuple)
    actions: tuple[QueueAction, ...] = attrs.field(default=(), converter=_action_tuple)
    # Read once per run by the driver: the per-job check stays out of the run.
    has_controls: bool = attrs.field(init=False, default=False, eq=False, repr=False)

    def __attrs_post_init__(self) -> None:
        defined: set[str] = set()
        for i, queue in enumerate(self.queues):
            if not isinstance(queue, QueueSpec):
                raise ValidationError(
                    f"queues[{i}] must be a QueueSpec, got {type(queue).__name__}"
                )
            if queue.name in defined:
                raise ValidationError(f"queues[{i}].name: queue {queue.name!r} is defined twice")
            defined.add(queue.name)
        known = defined | {"default"}
        names: set[str] = set()
        controls = False
        for i, job in enumerate(self.jobs):
            if not isinstance(job, JobSpec):
                raise ValidationError(f"jobs[{i}] must be a JobSpec, got {type(job).__name__}")
            if job.queue not in known:
                raise ValidationError(f"jobs[{i}].queue: unknown queue {job.queue!r}")
            if job.hops:
                current = job.queue
                for k, rule in enumerate(job.hops):
                    if rule.queue not in known:
                        raise ValidationError(
                            f"jobs[{i}].hops[{k}].queue: unknown queue {rule.queue!r}"
                        )
                    if rule.queue == current:
                        raise ValidationError(
                            f"jobs[{i}].hops[{k}].queue must differ from the queue it hops "
                            f"from, got {current!r}"
                        )
                    current = rule.queue
            if job.name is not None:
                if job.name in names:
                    raise ValidationError(f"jobs[{i}].name: job name {job.name!r} is used twice")
                names.add(job.name)
            for k, dep in enumerate(job.after):
                if dep.job >= i:
                    raise ValidationError(
                        f"jobs[{i}].after[{k}] must be the index of a job listed before "
                        f"it (< {i}), got {dep.job}"
                    )
                arrival = self.jobs[dep.job].arrival
                if arrival > job.arrival:
                    raise ValidationError(
                        f"jobs[{i}].after[{k}]: job {dep.job} arrives at {arrival!r}, after "
                        f"this job ({job.arrival!r}): it must exist when this job is submitted"
                    )
            if not controls and job.has_controls:
                controls = True
        for i, action in enumerate(self.actions):
            if not isinstance(action, QueueAction):
                raise ValidationError(
                    f"actions[{i}] must be a QueueAction, got {type(action).__name__}"
                )
            if action.queue not in known:
                raise ValidationError(f"actions[{i}].queue: unknown queue {action.queue!r}")
        object.__setattr__(self, "has_controls", controls)

    @property
    def queue_names(self) -> tuple[str, ...]:
        """The queues the workload uses, in ``queues`` order.

        ``"default"`` comes first when a job, hop rule or action names it or
        ``queues`` configures it, and is left out otherwise.
        """
        defined = tuple(q.name for q in self.queues if q.name != "default")
        if len(defined) == len(self.queues) and not self._uses_default():
            return defined
        return ("default", *defined)

    def _uses_default(self) -> bool:
        return (
            any(job.queue == "default" for job in self.jobs)
            or any(rule.queue == "default" for job in self.jobs for rule in job.hops)
            or any(action.queue == "default" for action in self.actions)
        )
