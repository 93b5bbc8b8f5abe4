"""The calls a runtime makes on its own behalf: trusted, so no access policy applies.

A runtime reads the jobs it runs (their status, manifest, recorded task
outcomes and saved state), records what their job functions save and their
progress, lists the jobs it has to look after, and cancels every job when it
is shut down with ``cancel=True``. It does so for whoever runs the scheduler,
not for a caller, so these calls reach the core directly (``core_of``), past
the access policy. What a caller asks through a runtime (``get``, ``wait``,
``cancel``, ``submit``, ...) takes a ``principal`` and goes through the
scheduler's public methods, which the policy decides.
"""

from __future__ import annotations

import inspect
import random
from collections.abc import Callable, Iterable
from typing import Any

from .._core import control, core_of, submission
from .._core.control import cancel_trusted
from .._core.records import JobRecord, snapshot
from .._core.tasks import keys_of, outcomes_of
from .._core.tasks import record as record_outcome
from .._model import Job
from .._scheduler import Scheduler
from .._states import JobStatus
from .._tasks import TaskRecord

__all__ = [
    "cancel",
    "completer",
    "default_submitter",
    "job",
    "job_ids",
    "journal_progress",
    "journaled",
    "recorded",
    "recorded_count",
    "rng",
    "save",
    "saved",
    "status",
    "submit",
    "task_keys",
    "task_recorder",
    "watch_transitions",
]


def job(scheduler: Scheduler, job_id: str) -> Job:
    """A snapshot of the job (``Scheduler.get``, for the runtime).

    Raises:
        NotFound: no such job.
    """
    return snapshot(core_of(scheduler).job(job_id))


def status(scheduler: Scheduler, job_id: str) -> JobStatus:
    """The job's status.

    Raises:
        NotFound: no such job.
    """
    return core_of(scheduler).job(job_id).status


def task_keys(scheduler: Scheduler, job_id: str) -> tuple[str, ...]:
    """The job's manifest keys, in manifest order (``Scheduler.task_keys``)."""
    return keys_of(core_of(scheduler).job(job_id))


def recorded(scheduler: Scheduler, job_id: str) -> tuple[TaskRecord, ...]:
    """The task outcomes recorded on the job (``Scheduler.tasks``)."""
    return outcomes_of(core_of(scheduler).job(job_id))


def recorded_count(scheduler: Scheduler, job_id: str) -> int:
    """How many task outcomes are recorded on the job.

    Raises:
        NotFound: no such job.
    """
    outcomes = core_of(scheduler).job(job_id).outcomes
    return 0 if outcomes is None else len(outcomes)


def job_ids(scheduler: Scheduler, statuses: Iterable[JobStatus]) -> list[str]:
    """The ids of every job in one of ``statuses``, in listing order."""
    return core_of(scheduler).listing.ids(statuses)


def cancel(scheduler: Scheduler, job_id: str) -> None:
    """Cancel the job (``Scheduler.cancel``, for the runtime shutting down).

    Raises:
        NotFound: no such job.
        InvalidTransition: the job cannot be cancelled.
    """
    core = core_of(scheduler)
    cancel_trusted(core, core.job(job_id))


def rng(scheduler: Scheduler) -> random.Random:
    """The scheduler's random generator (the jitter of backoffs; ``Scheduler(rng=...)``)."""
    return core_of(scheduler).rng


def save(scheduler: Scheduler, job_id: str, state: bytes | None) -> None:
    """Keep a job function's encoded saved state on its job (journaled with a store).

    Raises:
        NotFound: no such job.
        ConflictError: the job is finished.
    """
    core = core_of(scheduler)
    control.save_state(core, core.job(job_id), state)


def saved(scheduler: Scheduler, job_id: str) -> bytes | None:
    """The job's encoded saved state, None if nothing is saved.

    Raises:
        NotFound: no such job.
    """
    return core_of(scheduler).job(job_id).saved


def journaled(scheduler: Scheduler) -> bool:
    """Whether the scheduler journals its changes to a store (``Scheduler.open``)."""
    return core_of(scheduler).outbox.batch_hook is not None


def journal_progress(scheduler: Scheduler, job_id: str) -> None:
    """Journal the job's progress now, unless it is finished or gone."""
    core = core_of(scheduler)
    rec = core.find(job_id)
    if rec is not None:
        control.journal_progress(core, rec)


# The two reports a runtime makes for every job and every task. They are
# ``Scheduler.complete`` and ``Scheduler.record_task`` (reports of work, which
# no access policy governs) without the snapshot those return: the runtime
# needs none, and a snapshot cost about 3.5 us of each report
# (benchmarks/bench_runtime.py, both cases).


def completer(scheduler: Scheduler) -> Callable[[str], None]:
    """Report that a job's work finished (``Scheduler.complete``), the core looked up once.

    The returned function raises NotFound (no such job) and InvalidTransition
    (the job is not Active or Pausing).
    """
    core = core_of(scheduler)

    def complete_job(job_id: str) -> None:
        core.complete(core.job(job_id))

    return complete_job


def task_recorder(scheduler: Scheduler) -> Callable[[str, str, bool, str, str], None]:
    """Record one task's outcome (``Scheduler.record_task``), the core looked up once.

    The returned function takes the job's id, the task's key, whether it
    succeeded, and its error code and message; it raises what
    ``Scheduler.record_task`` raises (ValidationError, ConflictError).
    """
    core = core_of(scheduler)
    job = core.job

    def record_task(job_id: str, key: str, ok: bool, error_code: str, message: str) -> None:
        record_outcome(core, job(job_id), key, ok, error_code, message)

    return record_task


# ``Scheduler.submit``'s keywords and defaults, in the order its core takes them
# positionally (``Scheduler.submit`` passes them in this order).
_SUBMIT_DEFAULTS: dict[str, Any] = {
    name: p.default
    for name, p in inspect.signature(Scheduler.submit).parameters.items()
    if p.kind is inspect.Parameter.KEYWORD_ONLY
}


def submit(scheduler: Scheduler, options: dict[str, Any]) -> str:
    """Submit a job as ``Scheduler.submit(**options)`` does; returns its id, not a snapshot.

    The access policy decides as for ``Scheduler.submit`` (``options`` may
    name a ``principal``): this is a caller's submission, only without the
    snapshot, which the runtime does not need and which cost about 3.5 us of
    each submission (benchmarks/bench_runtime.py, the many-jobs case).

    Raises:
        TypeError: an option ``Scheduler.submit`` does not take.
        ValidationError, NotFound, ConflictError, LimitExceededError,
        AccessDenied: as ``Scheduler.submit``.
    """
    args = _SUBMIT_DEFAULTS.copy()
    args.update(options)
    if len(args) != len(_SUBMIT_DEFAULTS):
        unknown = next(name for name in options if name not in _SUBMIT_DEFAULTS)
        raise TypeError(f"submit() got an unexpected keyword argument {unknown!r}")
    return core_of(scheduler).submit(*args.values()).id


def default_submitter(scheduler: Scheduler) -> Callable[[], str]:
    """A function that submits a job as ``Scheduler.submit()`` with no option does; returns its id.

    The defaults pass ``Core.submit``'s checks once, at the first call; every
    call then goes to ``Core.create``, which checks what depends on the
    scheduler's state (the default queue's existence and room, the access
    policy), as the simulation does with a workload it checked up front
    (``sim._scheduler_port``). Re-checking the defaults cost about 1.5 us of
    each submission (benchmarks/bench_runtime.py, the many-jobs case).

    The returned function raises what ``Scheduler.submit()`` raises.
    """
    core = core_of(scheduler)
    queue: str = _SUBMIT_DEFAULTS["queue"]
    rest: tuple[Any, ...] | None = None

    def submit_default() -> str:
        nonlocal rest
        if rest is None:
            rest = submission.check(core, *_SUBMIT_DEFAULTS.values())[1:]
        return core.create(core.queue(queue), *rest).id

    return submit_default


def watch_transitions(
    scheduler: Scheduler, hook: Callable[[JobRecord, float], None]
) -> Callable[[], None]:
    """Call ``hook(record, now)`` on every status change, as it happens; returns the undo.

    The core's in-package channel (``Outbox.watch``), as the simulation uses:
    no event object is built and nothing is queued for it, so a runtime that
    nobody subscribed to keeps the scheduler's events switched off. Building
    and delivering the events of a job cost about 5 us of each submission
    (benchmarks/bench_runtime.py, the many-jobs case). Hooks already there
    are kept, and called first.
    """
    watch = core_of(scheduler).outbox.watch
    before = dict(watch)
    for target in JobStatus:
        prior = before.get(target)
        watch[target] = hook if prior is None else _both(prior, hook)

    def unwatch() -> None:
        watch.clear()
        watch.update(before)

    return unwatch


def _both(
    first: Callable[[JobRecord, float], None], second: Callable[[JobRecord, float], None]
) -> Callable[[JobRecord, float], None]:
    def hook(rec: JobRecord, now: float) -> None:
        first(rec, now)
        second(rec, now)

    return hook
