"""Which runtime drives a scheduler, and taking over the jobs a scheduler already has.

A scheduler is driven by one live runtime at a time (``adopt``, ``release``),
on a real clock (``check_clock``). A runtime given ``work_for`` takes over the
unfinished jobs the scheduler already has: ``take_over`` asks ``work_for`` for
each one's ``Handler``.

While a runtime drives it, the scheduler is safe to call from any thread
(``guard``): its class is swapped for a subclass whose public methods run
through the runtime's serialisation (its lock, or its event loop), as
``runtime.call`` does, unless the caller is already inside it. The swap is
undone when the runtime stops. The core stays single-threaded and unaware.
"""

from __future__ import annotations

import functools
import inspect
import weakref
from collections.abc import Callable
from typing import Any, Final

import attrs

from .._clock import ManualClock
from .._errors import ConflictError, ValidationError
from .._model import Job
from .._scheduler import Scheduler
from .._states import TERMINAL, WORKING, JobStatus
from . import _trusted
from ._submission import Manifest, check_work
from ._work import Work

__all__ = ["Handler", "adopt", "check_clock", "guard", "release", "take_over"]

# Schedulers driven by a live runtime: two runtimes acting on one scheduler's
# events would both start the same work.
_adopted: weakref.WeakSet[Scheduler] = weakref.WeakSet()


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
        busy = () if taking_over else _trusted.job_ids(scheduler, WORKING)
        if busy:
            status = _trusted.status(scheduler, busy[0])
            raise ConflictError(
                f"job {busy[0]!r} is {status}: a runtime must wrap the "
                "scheduler before any job starts, or take its jobs over with work_for="
            )
        scheduler.acknowledge = True
    _adopted.add(scheduler)
    return scheduler


def release(scheduler: Scheduler) -> None:
    """Let another runtime drive ``scheduler`` (after this one stopped), and unguard it."""
    _adopted.discard(scheduler)
    original = getattr(type(scheduler), "_unguarded", None)
    if original is not None:
        scheduler.__class__ = original


def check_clock(scheduler: Scheduler | None) -> None:
    """Refuse a scheduler on virtual time: a runtime sleeps in real time.

    Raises:
        ValidationError: the scheduler's clock is a ``ManualClock``.
    """
    if scheduler is not None and isinstance(scheduler.clock, ManualClock):
        raise ValidationError(
            "a runtime needs a real clock, got ManualClock: "
            "run virtual time with jobqueue.sim, or drive the scheduler by hand"
        )


def _public_methods(cls: type) -> list[str]:
    names = ["__contains__", "__len__"]
    for name, member in inspect.getmembers(cls):
        if name.startswith("_") or name == "open":
            continue
        if inspect.isfunction(member):
            names.append(name)
    return names


def guard(scheduler: Scheduler, inside: Callable[[], bool], op: Callable[..., Any]) -> None:
    """Route every public method of ``scheduler`` through ``op`` unless ``inside()``.

    ``inside()`` says whether the calling thread already has the scheduler to
    itself; ``op(fn)`` runs ``fn()`` with the scheduler to itself and settles
    what it caused (the runtime's ``_op``).
    """
    cls = type(scheduler)

    def wrap(name: str) -> Callable[..., Any]:
        raw = getattr(cls, name)

        @functools.wraps(raw)
        def method(self: Scheduler, *args: Any, **kwargs: Any) -> Any:
            if inside():
                return raw(self, *args, **kwargs)
            return op(functools.partial(raw, self, *args, **kwargs))

        return method

    namespace: dict[str, Any] = {name: wrap(name) for name in _public_methods(cls)}
    namespace["__slots__"] = ()
    namespace["_unguarded"] = cls
    namespace["__module__"] = cls.__module__
    namespace["__doc__"] = cls.__doc__
    scheduler.__class__ = type(cls.__name__, (cls,), namespace)


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


def take_over(
    scheduler: Scheduler | None,
    work_for: Callable[[Job], Handler | None],
    concurrency: int,
    *,
    runtime: str,
) -> list[tuple[str, JobStatus, Work | None]]:
    """Ask ``work_for`` for the work of each unfinished job ``scheduler`` has.

    This is how a runtime takes over a scheduler that already has jobs: one
    recovered from a store by ``Scheduler.open``, whose recovered work may be
    running again already. ``work_for`` is called once per unfinished job, in
    listing order, with its snapshot, and returns a ``Handler`` (the work
    ``submit`` would have been given) or ``None``. A task function runs the
    tasks of the job's manifest that have no recorded outcome; a job function
    runs from the start, with ``context.saved`` holding what it last saved
    and ``context.job`` the progress last journaled, to resume from.
    ``None`` is for a job that needs no work: one being cancelled or failed,
    which then finishes so. For any other job, ``None`` would leave work that
    no runtime runs: the runtime refuses to take over, naming those jobs, and
    changes nothing (never a job failed for a wrong ``work_for``).

    Raises:
        ValidationError: ``work_for`` is not callable, or returned something
            other than a ``Handler`` or ``None``, ``None`` for a job that needs
            work, or a ``Handler`` that cannot run its job (the message names
            the jobs). Nothing is taken over.
    """
    if not callable(work_for):
        raise ValidationError(f"work_for must be callable, got {type(work_for).__name__}")
    if scheduler is None:
        return []
    works: list[tuple[str, JobStatus, Work | None]] = []
    workless: list[str] = []
    for job_id in _trusted.job_ids(scheduler, _UNFINISHED):
        job = _trusted.job(scheduler, job_id)
        handler = work_for(job)
        if handler is None:
            if job.status not in _STOPPING:
                workless.append(job_id)
            works.append((job_id, job.status, None))
            continue
        if not isinstance(handler, Handler):
            raise ValidationError(
                f"work_for must return a Handler or None, got {type(handler).__name__} "
                f"for job {job_id!r}"
            )
        if (handler.task is None) == (handler.job is None):
            raise ValidationError(
                f"the Handler for job {job_id!r} needs exactly one of task or job"
            )
        keys = _trusted.task_keys(scheduler, job_id)
        if handler.task is not None and not keys:
            raise ValidationError(
                f"job {job_id!r} has no tasks: its Handler needs a job function, not a task one"
            )
        try:
            width = check_work(
                handler.task,
                handler.job,
                keys,
                handler.concurrency,
                handler.on_result,
                concurrency,
                runtime=runtime,
            )
        except ValidationError as exc:
            raise ValidationError(f"the Handler for job {job_id!r}: {exc}") from None
        manifest = Manifest()
        manifest.capture(keys)
        work = Work("", handler.task, handler.job, width, manifest, handler.on_result)
        works.append((job_id, job.status, work))
    if workless:
        raise _refuse_workless(workless)
    return works


_UNFINISHED: Final = [s for s in JobStatus if s not in TERMINAL]
_STOPPING: Final = frozenset({JobStatus.CANCELLING, JobStatus.FAILING})
_NAMED = 5  # job ids a refusal names before it counts the rest


def _refuse_workless(workless: list[str]) -> ValidationError:
    named = ", ".join(repr(job_id) for job_id in workless[:_NAMED])
    more = len(workless) - _NAMED
    if more > 0:
        named += f" and {more} more"
    return ValidationError(
        f"work_for returned None for {len(workless)} unfinished "
        f"job{'s' if len(workless) != 1 else ''} that need work: {named}; "
        "return a Handler for each, or cancel them first"
    )
