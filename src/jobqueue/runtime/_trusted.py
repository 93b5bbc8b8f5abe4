"""The calls a runtime makes on its own behalf: trusted, so no access policy applies.

A runtime reads the jobs it runs (their status, manifest and recorded task
outcomes), lists the jobs it has to look after, and cancels every job when it
is shut down with ``cancel=True``. It does so for whoever runs the scheduler,
not for a caller, so these calls reach the core directly (``core_of``), past
the access policy. What a caller asks through a runtime (``get``, ``wait``,
``cancel``, ``submit``, ...) takes a ``principal`` and goes through the
scheduler's public methods, which the policy decides.
"""

from __future__ import annotations

import random
from collections.abc import Iterable

from .._core import core_of
from .._core.control import cancel_trusted
from .._core.records import snapshot
from .._core.tasks import keys_of, outcomes_of
from .._core.tasks import record as record_outcome
from .._model import Job
from .._scheduler import Scheduler
from .._states import JobStatus
from .._tasks import TaskRecord

__all__ = [
    "cancel",
    "complete",
    "job",
    "job_ids",
    "record_task",
    "recorded",
    "rng",
    "status",
    "task_keys",
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


# The two reports a runtime makes for every job and every task. They are
# ``Scheduler.complete`` and ``Scheduler.record_task`` (reports of work, which
# no access policy governs) without the snapshot those return: the runtime
# needs none, and a snapshot cost about 3.5 us of each report
# (benchmarks/bench_runtime.py, both cases).


def complete(scheduler: Scheduler, job_id: str) -> None:
    """Report that the job's work finished (``Scheduler.complete``).

    Raises:
        InvalidTransition: the job is not Active or Pausing.
    """
    core = core_of(scheduler)
    core.complete(core.job(job_id))


def record_task(
    scheduler: Scheduler, job_id: str, key: str, ok: bool, error_code: str = "", message: str = ""
) -> None:
    """Record one task's outcome (``Scheduler.record_task``).

    Raises:
        ValidationError, ConflictError: as ``Scheduler.record_task``.
    """
    core = core_of(scheduler)
    record_outcome(core, core.job(job_id), key, ok, error_code, message)
