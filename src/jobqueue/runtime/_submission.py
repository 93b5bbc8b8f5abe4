"""What every runtime shares: its error, the submit options it passes on, manifest capture."""

from __future__ import annotations

import weakref
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any, TypedDict

import attrs

from .._access import Principal
from .._errors import ConflictError, JobQueueError, ValidationError
from .._model import Acceleration, BillingTagsSource, HopRule
from .._scheduler import Scheduler, TaskSource
from .._states import WORKING, JobStatus
from .._tasks import ReportScope
from .._validate import check_int

__all__ = [
    "Handler",
    "RuntimeStateError",
    "SubmitOptions",
    "adopt",
    "check_rate",
    "check_work",
    "job_ids",
    "release",
]

# Schedulers driven by a live runtime: two runtimes acting on one scheduler's
# events would both start the same work.
_adopted: weakref.WeakSet[Scheduler] = weakref.WeakSet()


class RuntimeStateError(JobQueueError, RuntimeError):
    """The runtime cannot do this now: it is shut down, or the call would block it.

    Raised by ``submit`` and ``confirm`` once ``shutdown()`` has begun, by every
    call that changes the scheduler once the runtime has stopped, and by blocking
    calls (``wait``, ``shutdown(wait=True)``) made from inside a runtime callback.
    """


class SubmitOptions(TypedDict, total=False):
    """The keywords of ``Scheduler.submit`` that a runtime passes on unchanged."""

    queue: str
    priority: int
    deferred: bool
    name: str | None
    description: str
    tags: Mapping[str, str] | None
    hops: Sequence[HopRule]
    confirmation_required: bool
    report: ReportScope | str | None
    preemptible: bool
    acceleration: Acceleration | str
    billing_tags_source: BillingTagsSource | str
    principal: Principal | None


def adopt(scheduler: Scheduler | None, *, taking_over: bool = False) -> Scheduler:
    """The scheduler a new runtime drives, with ``acknowledge`` switched on.

    ``taking_over``: the runtime is given the work of the jobs the scheduler
    already has (``work_for``), so jobs may already hold slots.

    Raises:
        ConflictError: another live runtime drives it, or a job already holds a
            slot and the runtime is not taking it over (its work would have no
            runtime to run it).
    """
    if scheduler is None:
        scheduler = Scheduler(acknowledge=True)
    elif scheduler in _adopted:
        raise ConflictError("the scheduler is already driven by a runtime")
    else:
        busy = () if taking_over else scheduler.list_jobs(statuses=WORKING, limit=1).jobs
        if busy:
            raise ConflictError(
                f"job {busy[0].id!r} is {busy[0].status}: a runtime must wrap the "
                "scheduler before any job starts, or take its jobs over with work_for="
            )
        scheduler.acknowledge = True
    _adopted.add(scheduler)
    return scheduler


def job_ids(scheduler: Scheduler, statuses: Iterable[JobStatus]) -> list[str]:
    """The ids of every job in one of ``statuses``, page by page, in listing order."""
    ids: list[str] = []
    token: str | None = None
    wanted = list(statuses)
    while True:
        page = scheduler.list_jobs(statuses=wanted, limit=1000, token=token)
        ids.extend(row.id for row in page.jobs)
        token = page.next_token
        if token is None:
            return ids


def release(scheduler: Scheduler) -> None:
    """Let another runtime drive ``scheduler`` (after this one stopped)."""
    _adopted.discard(scheduler)


def check_rate(progress_rate: float | None) -> float:
    """The minimum interval between two progress events of one job, from a rate per second."""
    if progress_rate is None:
        return 0.0
    if isinstance(progress_rate, bool) or not isinstance(progress_rate, (int, float)):
        raise ValidationError(
            f"progress_rate must be a number or None, got {type(progress_rate).__name__}"
        )
    if not progress_rate > 0 or progress_rate == float("inf"):
        raise ValidationError(f"progress_rate must be a finite number > 0, got {progress_rate!r}")
    return 1.0 / float(progress_rate)


def check_work(
    task: object,
    job: object,
    tasks: TaskSource,
    concurrency: int | None,
    on_result: object,
    default: int,
) -> int:
    """Check a submission's work functions; returns its task concurrency."""
    if (task is None) == (job is None):
        both = "both" if task is not None else "neither"
        raise ValidationError(f"submit needs exactly one of task or job, got {both}")
    fn = task if task is not None else job
    if not callable(fn):
        field = "task" if task is not None else "job"
        raise ValidationError(f"{field} must be callable, got {type(fn).__name__}")
    if task is not None and tasks is None:
        raise ValidationError("a task function needs a manifest: tasks must not be None")
    if on_result is not None:
        if task is None:
            raise ValidationError("on_result needs a task function")
        if not callable(on_result):
            raise ValidationError(f"on_result must be callable, got {type(on_result).__name__}")
    if concurrency is None:
        return default
    return check_int("concurrency", concurrency, 1)


@attrs.frozen
class Handler:
    """The work of a job that a runtime takes over rather than submits.

    ``work_for``, given to a runtime, returns one for each unfinished job the
    scheduler already has (jobs recovered from a store, say). It is the work
    ``submit`` would have been given: exactly one of ``task`` (called with
    each task key of the job's manifest; the job must have one) and ``job``
    (one function for the whole job), and optionally ``concurrency`` and
    ``on_result`` (with ``task``), as ``submit`` takes them.

    Attributes:
        task: the task function.
        job: the job function.
        concurrency: how many of the job's tasks may run at once (default: the
            runtime's).
        on_result: called with each task's key and return value.
    """

    task: Callable[[str], object] | None = None
    job: Callable[..., object] | None = None
    concurrency: int | None = None
    on_result: Callable[[str, Any], object] | None = None


class Manifest:
    """The task keys of one submission, in manifest order, as the scheduler will see them.

    The scheduler keeps a job's keys as a set; the runtime keeps their order so
    that tasks are dispatched in the order they were given.
    """

    __slots__ = ("count", "keys")

    def __init__(self) -> None:
        self.keys: tuple[str, ...] | None = None  # None: the count keys "0".."count-1"
        self.count = 0

    def key(self, index: int) -> str:
        """The ``index``-th key."""
        return str(index) if self.keys is None else self.keys[index]

    def all(self) -> tuple[str, ...]:
        """Every key, in order."""
        return tuple(str(i) for i in range(self.count)) if self.keys is None else self.keys

    def capture(self, tasks: TaskSource) -> TaskSource:
        """Remember the keys ``tasks`` will give; returns what to pass to ``submit``."""
        if isinstance(tasks, bool) or tasks is None:
            return tasks
        if isinstance(tasks, int):
            self.count = tasks
            return tasks
        if callable(tasks):
            reader = tasks

            def read() -> Iterable[str]:
                keys = tuple(reader())
                self.keys, self.count = keys, len(keys)
                return keys

            return read
        if isinstance(tasks, Sequence) and not isinstance(tasks, str):
            keys = tuple(tasks)
            self.keys, self.count = keys, len(keys)
            return keys
        return tasks  # the scheduler rejects it with its own message


TaskFn = Callable[[str], object]
