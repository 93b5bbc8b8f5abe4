"""What a submission gives a runtime: the options it passes on, its manifest, its work.

``SubmitOptions`` are the keywords of ``Scheduler.submit`` a runtime passes on
unchanged; ``Manifest`` keeps the order of the task keys the scheduler keeps
as a set; ``check_work`` checks the work functions of a submission (or of a
job taken over).
"""

from __future__ import annotations

import inspect
from collections.abc import Iterable, Mapping, Sequence
from types import FunctionType
from typing import TypedDict

from .._access import Principal
from .._controls import Dependency, Retry
from .._errors import ValidationError
from .._model import Acceleration, BillingTagsSource, HopRule
from .._scheduler import TaskSource
from .._tasks import ReportScope
from .._validate import check_int

__all__ = ["Manifest", "SubmitOptions", "check_work", "is_async", "is_plain_function"]


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
    not_before: float | None
    after: Sequence[str | Dependency]
    max_run: float | None
    max_wait: float | None
    retry: Retry | None


def check_work(
    task: object,
    job: object,
    tasks: TaskSource,
    concurrency: int | None,
    on_result: object,
    default: int,
    *,
    runtime: str,
) -> int:
    """Check a submission's work functions; returns its task concurrency.

    ``runtime`` names the runtime's class: only ``AsyncioRuntime`` runs
    coroutine functions.
    """
    if (task is None) == (job is None):
        both = "both" if task is not None else "neither"
        raise ValidationError(f"submit needs exactly one of task or job, got {both}")
    fn = task if task is not None else job
    field = "task" if task is not None else "job"
    if not callable(fn):
        raise ValidationError(f"{field} must be callable, got {type(fn).__name__}")
    if runtime != "AsyncioRuntime" and is_async(fn):
        raise ValidationError(
            f"{field} must be a plain function on {runtime}, got coroutine function "
            f"{_name(fn)}: use AsyncioRuntime for async work"
        )
    if task is not None and tasks is None:
        raise ValidationError("a task function needs a manifest: tasks must not be None")
    if on_result is not None:
        if task is None:
            raise ValidationError("on_result needs a task function")
        if not callable(on_result):
            raise ValidationError(f"on_result must be callable, got {type(on_result).__name__}")
        if is_async(on_result):
            raise ValidationError(
                f"on_result must be a plain function, got coroutine function {_name(on_result)}"
            )
    if concurrency is None:
        return default
    return check_int("concurrency", concurrency, 1)


def is_plain_function(fn: object) -> bool:
    """Whether ``fn`` is a function defined with ``def`` (or a lambda) that is not ``async``.

    The common case of a submission's work, read straight from the code
    flags: ``inspect``'s general path cost a few microseconds per submission
    (benchmarks/bench_runtime.py, the many-jobs case).
    """
    return type(fn) is FunctionType and not fn.__code__.co_flags & inspect.CO_COROUTINE


def is_async(fn: object) -> bool:
    """Whether ``fn`` is a coroutine function, a partial of one, or has one as ``__call__``."""
    if type(fn) is FunctionType:
        return not is_plain_function(fn)
    call = inspect.getattr_static(type(fn), "__call__", None)
    return inspect.iscoroutinefunction(fn) or inspect.iscoroutinefunction(call)


def _name(fn: object) -> str:
    return repr(getattr(fn, "__qualname__", None) or type(fn).__name__)


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
