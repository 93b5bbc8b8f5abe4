"""The runtime's errors: those a job's handle raises, and ``RuntimeStateError``.

A job that ends ``Failed`` makes its handle raise ``JobFailed``; a job that
ends ``Complete`` with failed tasks (S3 keeps such a job ``Complete`` below its
task-failure threshold) makes it raise ``TaskFailures``, an exception group of
the tasks' own exceptions, unless the job was submitted with
``allow_task_failures=True``. A task outcome recorded without an exception (by
``record_task``, or before a restart) is a ``TaskFailed`` in the group.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Self

from .._errors import JobQueueError
from .._model import Job
from .._tasks import FailureReason

__all__ = [
    "JobFailed",
    "RuntimeStateError",
    "TaskFailed",
    "TaskFailures",
    "TaskTimeout",
    "describe",
]


def describe(exc: BaseException) -> str:
    """``"TypeName: message"``, the failure text of a raised exception."""
    text = str(exc)
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


class RuntimeStateError(JobQueueError, RuntimeError):
    """The runtime cannot do this now: it is shut down, or the call would block it.

    Raised by ``submit`` and ``confirm`` once ``shutdown()`` has begun, by every
    call that changes the scheduler once the runtime has stopped, by blocking
    calls (``wait``, ``shutdown(wait=True)``) made from inside a runtime
    callback, and by a ``JobFuture``'s ``set_result``, ``set_exception`` and
    ``set_running_or_notify_cancel``: only its job resolves a handle.
    """


class JobFailed(JobQueueError):
    """The job ended ``Failed``.

    The exception that failed it (a job function's, or the group of its tasks'
    failures when the task-failure threshold failed it) is ``__cause__``, with
    its traceback.

    Attributes:
        job: the job's final snapshot.
        reasons: its failure reasons, oldest first.
    """

    def __init__(self, job: Job) -> None:
        self.job = job
        self.reasons: tuple[FailureReason, ...] = job.failure_reasons
        last = self.reasons[-1] if self.reasons else FailureReason("JobFailed", "")
        text = f"{last.code}: {last.message}" if last.message else last.code
        super().__init__(f"job {job.id!r} failed: {text}")

    @property
    def job_id(self) -> str:
        """The job's id."""
        return self.job.id


class TaskFailed(JobQueueError):
    """A failed task whose exception the runtime does not have.

    It stands in a ``TaskFailures`` group for an outcome recorded with
    ``record_task(ok=False)``, or before the runtime took the job over.

    Attributes:
        key: the task's key.
        code: its error code.
        message: its message.
    """

    def __init__(self, key: str, code: str, message: str) -> None:
        self.key = key
        self.code = code
        self.message = message
        text = f"{code}: {message}" if message else code
        super().__init__(f"task {key!r} failed: {text}" if text else f"task {key!r} failed")


class TaskTimeout(JobQueueError, TimeoutError):
    """A task ran past its job's ``task_timeout``: its error code is ``TaskTimeout``.

    On ``AsyncioRuntime`` the task's coroutine was cancelled. A thread or an
    executor's call cannot be stopped from outside: it runs on, and what it
    returns or raises later is ignored.

    Attributes:
        key: the task's key.
        timeout: the limit it ran past, in seconds.
    """

    def __init__(self, key: str, timeout: float) -> None:
        self.key = key
        self.timeout = timeout
        super().__init__(f"task {key!r} did not finish within {timeout:g} seconds")


class TaskFailures(ExceptionGroup[Exception], JobQueueError):
    """The job completed, but some of its tasks failed: their exceptions, by key.

    ``exceptions`` holds each failed task's own exception (with its
    traceback), in the order the tasks failed; ``keys`` holds their keys in
    the same order, and each exception carries a note naming its key.
    ``except*`` works on it as on any exception group.

    Attributes:
        job_id: the job.
        keys: the failed tasks' keys, in the order of ``exceptions``.
        result: what the handle's ``result()`` would have returned (the
            mapping of succeeded tasks' results, or the job function's value).
    """

    job_id: str
    keys: tuple[str, ...]
    result: object

    @classmethod
    def of(
        cls, job_id: str, total: int, failures: Sequence[tuple[str, Exception]], result: object
    ) -> Self:
        """The group of ``failures`` (key, exception) of a job of ``total`` tasks."""
        for key, exc in failures:
            note = f"task {key!r}"
            if note not in getattr(exc, "__notes__", ()):
                exc.add_note(note)
        group = cls(
            f"{len(failures)} of {total} tasks of job {job_id!r} failed",
            [exc for _, exc in failures],
        )
        group.job_id = job_id
        group.keys = tuple(key for key, _ in failures)
        group.result = result
        return group

    @property
    def failures(self) -> Mapping[str, Exception]:
        """Each failed task's exception, by key."""
        return dict(zip(self.keys, self.exceptions, strict=True))

    def derive(self, excs: Sequence[Exception]) -> TaskFailures:  # type: ignore[override]
        """A group of some of these failures (``split``, ``subgroup``, ``except*``)."""
        keys = {id(exc): key for key, exc in zip(self.keys, self.exceptions, strict=True)}
        group = TaskFailures(self.message, list(excs))
        group.job_id = self.job_id
        group.keys = tuple(keys.get(id(exc), "") for exc in excs)
        group.result = self.result
        return group
