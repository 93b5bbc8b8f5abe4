"""Workloads: what a simulation runs, how to generate one, and its file formats.

A ``Workload`` is plain data: the queues to create, the jobs that arrive (when,
for how long, where, at which priority, with which hop rules and tasks) and
timed queue actions (pause, resume). Everything is validated when it is built,
so a simulation never stops half-way on bad input; errors name the field, and
errors from files also name the line (CSV) or the entry (JSON).
"""

from __future__ import annotations

import bisect
import csv
import enum
import io
import json
import math
import random
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from types import MappingProxyType
from typing import Any, Final, Literal, TypeVar

import attrs

from .._errors import ValidationError
from .._model import BillingTagsSource, HopRule, Pricing
from .._tags import validate_tags
from .._validate import check_choice, check_int, check_name, check_priority, check_share

__all__ = [
    "JobSpec",
    "QueueAction",
    "QueueSpec",
    "Workload",
    "load_workload",
    "poisson_jobs",
    "poisson_workload",
    "save_workload",
]

_EMPTY_TAGS: Final[Mapping[str, str]] = MappingProxyType({})
_T = TypeVar("_T")


# ---------------------------------------------------------------------- field checks


def _check_time(field: str, value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ValidationError(f"{field} must be a number, got {type(value).__name__}")
    number = float(value)
    if not math.isfinite(number) or number < 0:
        raise ValidationError(f"{field} must be a finite number >= 0, got {value!r}")
    return number


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
    return _check_time("arrival", value)


def _duration(value: object) -> float:
    return _check_time("duration", value)


def _action_time(value: object) -> float:
    return _check_time("time", value)


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
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ValidationError(f"task_failure_rate must be a number, got {type(value).__name__}")
    rate = float(value)
    if not 0.0 <= rate <= 1.0:
        raise ValidationError(f"task_failure_rate must be in [0, 1], got {value!r}")
    return rate


def _hops(value: object) -> tuple[HopRule, ...]:
    if isinstance(value, (str, bytes)) or not isinstance(value, Sequence):
        raise ValidationError(f"hops must be a sequence of HopRule, got {type(value).__name__}")
    rules = []
    for i, rule in enumerate(value):
        if not isinstance(rule, HopRule):
            raise ValidationError(f"hops[{i}] must be a HopRule, got {type(rule).__name__}")
        queue = _check_queue(f"hops[{i}].queue", rule.queue)
        wait = _check_time(f"hops[{i}].wait", rule.wait)
        if wait <= 0:
            raise ValidationError(f"hops[{i}].wait must be a finite number > 0, got {rule.wait!r}")
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
    """

    arrival: float = attrs.field(converter=_arrival)
    duration: float = attrs.field(converter=_duration)
    queue: str = attrs.field(default="default", converter=_job_queue)
    priority: int = attrs.field(default=0, converter=_priority)
    deferred: bool = attrs.field(default=True, converter=_deferred)
    preemptible: bool = attrs.field(default=True, converter=_preemptible)
    hops: tuple[HopRule, ...] = attrs.field(default=(), converter=_hops)
    tasks: int = attrs.field(default=0, converter=_tasks)
    task_failure_rate: float = attrs.field(default=0.0, converter=_rate)
    name: str | None = attrs.field(default=None, converter=_job_name)
    tags: Mapping[str, str] = attrs.field(default=_EMPTY_TAGS, converter=_tags)
    billing_tags_source: BillingTagsSource = attrs.field(
        default=BillingTagsSource.QUEUE, converter=_billing
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

    Raises:
        ValidationError: an item has the wrong type, two queues share a name,
            two jobs share a name, or a job, hop rule or action names a queue
            that is neither ``"default"`` nor in ``queues`` (the message names
            the item, e.g. ``jobs[3].queue``).
    """

    jobs: tuple[JobSpec, ...] = attrs.field(converter=_job_tuple)
    queues: tuple[QueueSpec, ...] = attrs.field(default=(), converter=_queue_tuple)
    actions: tuple[QueueAction, ...] = attrs.field(default=(), converter=_action_tuple)

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
        for i, action in enumerate(self.actions):
            if not isinstance(action, QueueAction):
                raise ValidationError(
                    f"actions[{i}] must be a QueueAction, got {type(action).__name__}"
                )
            if action.queue not in known:
                raise ValidationError(f"actions[{i}].queue: unknown queue {action.queue!r}")

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


# ---------------------------------------------------------------------- generators


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
        if isinstance(weight, bool) or not isinstance(weight, (int, float)):
            raise ValidationError(f"priority weight must be a number, got {type(weight).__name__}")
        if not math.isfinite(weight) or weight < 0:
            raise ValidationError(f"priority weight must be a finite number >= 0, got {weight!r}")
        total += weight
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
    rate = _positive("rate", rate)
    mean = _positive("mean_duration", mean_duration)
    start = _check_time("start", start)
    if durations not in ("exponential", "fixed"):
        raise ValidationError(f"durations must be 'exponential' or 'fixed', got {durations!r}")
    if not isinstance(rng, random.Random):
        raise ValidationError(f"rng must be a random.Random, got {type(rng).__name__}")
    levels, cumulative = _weights(priorities)
    total = cumulative[-1]
    hop_rules = _hops(hops)
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
    jobs = poisson_jobs(
        n,
        rate=load * slots / mean,
        rng=rng,
        mean_duration=mean,
        durations=durations,
        priorities=priorities,
    )
    return Workload(jobs, (queue,))


def _positive(field: str, value: object) -> float:
    number = _check_time(field, value)
    if number <= 0:
        raise ValidationError(f"{field} must be a finite number > 0, got {value!r}")
    return number


# ---------------------------------------------------------------------- files

_CSV_COLUMNS: Final = (
    "arrival",
    "duration",
    "queue",
    "priority",
    "deferred",
    "preemptible",
    "hops",
    "tasks",
    "task_failure_rate",
    "name",
    "tags",
    "billing_tags_source",
)
_JOB_FIELDS: Final = frozenset(_CSV_COLUMNS)
_JOB_REQUIRED: Final = ("arrival", "duration")
_QUEUE_REQUIRED: Final = ("name",)
_ACTION_REQUIRED: Final = ("time", "queue", "action")
_QUEUE_FIELDS: Final = frozenset(
    ("name", "slots", "policy", "preemption", "deferred_share", "max_waiting", "pricing", "tags")
)
_ACTION_FIELDS: Final = frozenset(("time", "queue", "action"))
_TOP_FIELDS: Final = frozenset(("jobs", "queues", "actions"))
_TRUE: Final = frozenset(("true", "yes", "1"))
_FALSE: Final = frozenset(("false", "no", "0"))


def load_workload(
    path: str | Path,
    *,
    queues: Sequence[QueueSpec] = (),
    actions: Sequence[QueueAction] = (),
) -> Workload:
    """Read a workload from a ``.json`` or ``.csv`` file.

    JSON holds a whole workload: an object with ``"jobs"`` (a list of objects
    whose keys are ``JobSpec``'s fields; hop rules are objects with
    ``"queue"``, ``"wait"`` and optional ``"priority"``) and optional
    ``"queues"`` (objects with ``QueueSpec``'s fields) and ``"actions"``
    (objects with ``"time"``, ``"queue"`` and ``"action"``)::

        {"queues": [{"name": "fast", "slots": 4, "policy": "priority"}],
         "jobs": [{"arrival": 0, "duration": 30, "queue": "fast", "priority": 5,
                   "hops": [{"queue": "default", "wait": 60}]}],
         "actions": [{"time": 10, "queue": "fast", "action": "pause"}]}

    CSV holds jobs only, one per row, under a header naming the columns; only
    ``arrival`` and ``duration`` are required, the others take ``JobSpec``'s
    defaults when absent or empty. Booleans are ``true``/``false`` (also
    ``yes``/``no``, ``1``/``0``); ``hops`` is ``queue:wait`` or
    ``queue:wait:priority`` items separated by ``;``; ``tags`` is
    ``key=value`` items separated by ``;``::

        arrival,duration,queue,priority,hops
        0.0,30.0,fast,5,default:60
        2.5,10.0,default,0,

    Args:
        path: the file; its suffix (``.json`` or ``.csv``) selects the format.
        queues: queues to add to the file's (for CSV, the only ones).
        actions: actions to add to the file's.

    Raises:
        ValidationError: the file cannot be read or parsed, or an entry is
            invalid; the message names the file and the line (CSV) or the
            entry (JSON), then the field.
    """
    path = Path(path)
    kind = path.suffix.lower()
    if kind not in (".json", ".csv"):
        raise ValidationError(f"{path}: workload files must end in .json or .csv")
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ValidationError(f"{path}: cannot read: {exc.strerror or exc}") from None
    except UnicodeDecodeError as exc:
        raise ValidationError(f"{path}: not UTF-8 text: {exc.reason}") from None
    if kind == ".json":
        jobs, file_queues, file_actions = _parse_json(text, str(path))
    else:
        jobs, file_queues, file_actions = _parse_csv(text, str(path)), [], []
    try:
        return Workload(jobs, (*file_queues, *queues), (*file_actions, *actions))
    except ValidationError as exc:
        raise ValidationError(f"{path}: {exc}") from None


def save_workload(workload: Workload, path: str | Path) -> None:
    """Write ``workload`` to a ``.json`` or ``.csv`` file that ``load_workload`` reads back.

    Times are written with ``repr``, so they read back bit for bit.

    Raises:
        ValidationError: the suffix is neither ``.json`` nor ``.csv``; or, for
            CSV (which holds jobs only), the workload has queues or actions, or
            a tag contains ``;`` or ``=``.
    """
    path = Path(path)
    kind = path.suffix.lower()
    if kind == ".json":
        text = json.dumps(_workload_json(workload), indent=1) + "\n"
    elif kind == ".csv":
        text = _workload_csv(workload)
    else:
        raise ValidationError(f"{path}: workload files must end in .json or .csv")
    path.write_text(text, encoding="utf-8")


def _workload_json(workload: Workload) -> dict[str, Any]:
    def job(spec: JobSpec) -> dict[str, Any]:
        row: dict[str, Any] = {"arrival": spec.arrival, "duration": spec.duration}
        defaults = _JOB_DEFAULT
        for field in _CSV_COLUMNS[2:]:
            value = getattr(spec, field)
            if value != getattr(defaults, field):
                row[field] = _json_value(value)
        return row

    return {
        "queues": [
            {f.name: _json_value(getattr(q, f.name)) for f in attrs.fields(QueueSpec)}
            for q in workload.queues
        ],
        "jobs": [job(spec) for spec in workload.jobs],
        "actions": [
            {"time": a.time, "queue": a.queue, "action": a.action.value} for a in workload.actions
        ],
    }


def _json_value(value: object) -> Any:
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, Mapping):
        return dict(value)
    if isinstance(value, tuple):
        return [
            {"queue": r.queue, "wait": r.wait, "priority": r.priority}
            for r in value
            if isinstance(r, HopRule)
        ]
    return value


def _workload_csv(workload: Workload) -> str:
    if workload.queues or workload.actions:
        raise ValidationError(
            "a CSV workload holds jobs only: save a workload with queues or actions as JSON"
        )
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(_CSV_COLUMNS)
    for i, spec in enumerate(workload.jobs):
        hops = ";".join(
            f"{r.queue}:{r.wait!r}" + ("" if r.priority is None else f":{r.priority}")
            for r in spec.hops
        )
        for key, value in spec.tags.items():
            if any(c in key or c in value for c in ";="):
                raise ValidationError(
                    f"jobs[{i}].tags: a CSV tag cannot contain ';' or '=', got {key!r}={value!r}"
                )
        tags = ";".join(f"{k}={v}" for k, v in spec.tags.items())
        writer.writerow(
            (
                repr(spec.arrival),
                repr(spec.duration),
                spec.queue,
                spec.priority,
                "true" if spec.deferred else "false",
                "true" if spec.preemptible else "false",
                hops,
                spec.tasks,
                repr(spec.task_failure_rate),
                "" if spec.name is None else spec.name,
                tags,
                spec.billing_tags_source.value,
            )
        )
    return out.getvalue()


_JOB_DEFAULT: Final = JobSpec(0.0, 0.0)


def _parse_json(text: str, source: str) -> tuple[list[JobSpec], list[QueueSpec], list[QueueAction]]:
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ValidationError(
            f"{source}, line {exc.lineno}, column {exc.colno}: invalid JSON: {exc.msg}"
        ) from None
    if not isinstance(data, dict):
        raise ValidationError(f"{source}: the top level must be an object with 'jobs'")
    for key in data:
        if key not in _TOP_FIELDS:
            raise ValidationError(f"{source}: unknown field {key!r}")
    jobs = [
        _entry(source, f"jobs[{i}]", item, _JOB_FIELDS, _JOB_REQUIRED, _json_job)
        for i, item in enumerate(_json_list(source, data, "jobs"))
    ]
    queues = [
        _entry(
            source, f"queues[{i}]", item, _QUEUE_FIELDS, _QUEUE_REQUIRED, lambda d: QueueSpec(**d)
        )
        for i, item in enumerate(_json_list(source, data, "queues"))
    ]
    actions = [
        _entry(
            source,
            f"actions[{i}]",
            item,
            _ACTION_FIELDS,
            _ACTION_REQUIRED,
            lambda d: QueueAction(**d),
        )
        for i, item in enumerate(_json_list(source, data, "actions"))
    ]
    return jobs, queues, actions


def _json_list(source: str, data: dict[str, Any], key: str) -> list[Any]:
    value = data.get(key, [])
    if not isinstance(value, list):
        raise ValidationError(f"{source}: {key} must be a list, got {type(value).__name__}")
    return value


def _entry(
    source: str,
    where: str,
    item: object,
    fields: frozenset[str],
    required: tuple[str, ...],
    build: Callable[[dict[str, Any]], _T],
) -> _T:
    if not isinstance(item, dict):
        raise ValidationError(f"{source}: {where} must be an object, got {type(item).__name__}")
    for key in item:
        if key not in fields:
            raise ValidationError(f"{source}: {where}: unknown field {key!r}")
    for key in required:
        if key not in item:
            raise ValidationError(f"{source}: {where}: {key} is required")
    try:
        return build(item)
    except ValidationError as exc:
        raise ValidationError(f"{source}: {where}: {exc}") from None


def _json_job(item: dict[str, Any]) -> JobSpec:
    fields = dict(item)
    if "hops" in fields:
        hops = fields["hops"]
        if not isinstance(hops, list):
            raise ValidationError(f"hops must be a list, got {type(hops).__name__}")
        rules = []
        for i, rule in enumerate(hops):
            if not isinstance(rule, dict) or not {"queue", "wait"} <= rule.keys() <= {
                "queue",
                "wait",
                "priority",
            }:
                raise ValidationError(
                    f"hops[{i}] must be an object with 'queue', 'wait' and optional 'priority'"
                )
            rules.append(HopRule(rule["queue"], rule["wait"], rule.get("priority")))
        fields["hops"] = rules
    return JobSpec(**fields)


def _parse_csv(text: str, source: str) -> list[JobSpec]:
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        header = next(reader)
    except StopIteration:
        raise ValidationError(f"{source}: empty file: a header line is required") from None
    except csv.Error as exc:
        raise ValidationError(f"{source}, line 1: {exc}") from None
    columns = [c.strip() for c in header]
    for column in columns:
        if column not in _JOB_FIELDS:
            raise ValidationError(f"{source}, line 1: unknown column {column!r}")
    for required in ("arrival", "duration"):
        if required not in columns:
            raise ValidationError(f"{source}, line 1: column {required!r} is required")
    if len(set(columns)) != len(columns):
        raise ValidationError(f"{source}, line 1: a column appears twice")
    jobs = []
    line = 1
    rows = iter(reader)
    while True:
        try:
            row = next(rows)
        except StopIteration:
            break
        except csv.Error as exc:
            raise ValidationError(f"{source}, line {reader.line_num}: {exc}") from None
        line = reader.line_num
        if not row or all(not cell.strip() for cell in row):
            continue
        if len(row) != len(columns):
            raise ValidationError(
                f"{source}, line {line}: expected {len(columns)} fields, got {len(row)}"
            )
        try:
            jobs.append(_csv_job(dict(zip(columns, row, strict=True))))
        except ValidationError as exc:
            raise ValidationError(f"{source}, line {line}: {exc}") from None
    return jobs


def _csv_job(row: dict[str, str]) -> JobSpec:
    fields: dict[str, Any] = {}
    for column, raw in row.items():
        cell = raw.strip()
        if not cell:
            if column in ("arrival", "duration"):
                raise ValidationError(f"{column} is required")
            continue
        if column in ("arrival", "duration", "task_failure_rate"):
            fields[column] = _csv_float(column, cell)
        elif column in ("priority", "tasks"):
            fields[column] = _csv_int(column, cell)
        elif column in ("deferred", "preemptible"):
            fields[column] = _csv_bool(column, cell)
        elif column == "hops":
            fields[column] = [_csv_hop(i, item) for i, item in enumerate(cell.split(";"))]
        elif column == "tags":
            fields[column] = dict(_csv_tag(item) for item in cell.split(";"))
        else:
            fields[column] = cell
    return JobSpec(**fields)


def _csv_float(column: str, cell: str) -> float:
    try:
        return float(cell)
    except ValueError:
        raise ValidationError(f"{column} must be a number, got {cell!r}") from None


def _csv_int(column: str, cell: str) -> int:
    try:
        return int(cell)
    except ValueError:
        raise ValidationError(f"{column} must be an int, got {cell!r}") from None


def _csv_bool(column: str, cell: str) -> bool:
    lowered = cell.lower()
    if lowered in _TRUE:
        return True
    if lowered in _FALSE:
        return False
    raise ValidationError(f"{column} must be true or false, got {cell!r}")


def _csv_hop(i: int, item: str) -> HopRule:
    parts = item.strip().split(":")
    if len(parts) not in (2, 3):
        raise ValidationError(f"hops[{i}] must be queue:wait or queue:wait:priority, got {item!r}")
    wait = _csv_float(f"hops[{i}].wait", parts[1])
    priority = None if len(parts) == 2 else _csv_int(f"hops[{i}].priority", parts[2])
    return HopRule(parts[0], wait, priority)


def _csv_tag(item: str) -> tuple[str, str]:
    key, sep, value = item.partition("=")
    if not sep:
        raise ValidationError(f"tags must be key=value items separated by ';', got {item!r}")
    return key, value
