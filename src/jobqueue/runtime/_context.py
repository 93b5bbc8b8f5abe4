"""What a job function's context offers, whatever the runtime, and ``StopWork``.

A job function receives a context: its job's id, a fresh snapshot of the job,
its task keys, whether it is asked to stop, progress reports, task outcomes,
and the state it saves to resume from after a restart (``save``, ``saved``;
the value domain and its encoding are in ``jobqueue._saved_state``).
``ContextBase`` holds what every runtime's context has in common;
each runtime adds its own ``checkpoint()``, which raises ``StopWork`` to unwind
a job function that must stop.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Generic, Protocol, TypeVar

from .._model import Job
from .._saved_state import decode_state, encode_state
from .._scheduler import Scheduler
from . import _trusted
from ._work import Mode, Work

if TYPE_CHECKING:
    from ._engine import Engine

__all__ = ["ContextBase", "StopWork"]


class StopWork(BaseException):
    """Raised by a checkpoint to unwind a job function that must stop.

    It derives from ``BaseException`` so that a job function's ``except
    Exception`` does not swallow it.
    """


_T = TypeVar("_T")


class _Runtime(Protocol):
    _engine: Engine

    @property
    def scheduler(self) -> Scheduler: ...

    def call(self, fn: Callable[[Scheduler], _T]) -> _T: ...

    def _op(self, fn: Callable[..., _T], *args: Any) -> _T: ...


R = TypeVar("R", bound=_Runtime)


class ContextBase(Generic[R]):
    """What every job function's context offers, whatever the runtime."""

    __slots__ = ("_runtime", "_work")

    def __init__(self, runtime: R, work: Work) -> None:
        self._runtime = runtime
        self._work = work

    @property
    def job_id(self) -> str:
        """The job's id."""
        return self._work.job_id

    @property
    def job(self) -> Job:
        """A fresh snapshot of the job (read for the runtime: no access policy applies)."""
        runtime = self._runtime
        return runtime._op(_trusted.job, runtime.scheduler, self._work.job_id)

    @property
    def tasks(self) -> tuple[str, ...]:
        """The job's task keys, in manifest order (empty for a job without tasks)."""
        return self._work.manifest.all()

    @property
    def stop_requested(self) -> bool:
        """Whether the next ``checkpoint()`` will pause or stop, as far as is known now."""
        return self._work.mode is not Mode.RUN

    def progress(self, fraction: float) -> None:
        """Report the job's progress, a fraction in [0, 1] (see ``Job.progress``).

        The job shows it at once. When the scheduler has a store, it is
        journaled at the rate of the runtime's ``Progress`` events (at most
        ``progress_rate`` times a second, the newest value each time; a
        ``WorkSaved`` event each), so after a crash the job shows the last one
        journaled. O(1).

        Raises:
            ValidationError: ``fraction`` is not a number in [0, 1].
        """
        self._runtime._op(self._runtime._engine.set_progress, self._work, fraction)

    def save(self, state: object) -> None:
        """Save ``state`` on the job, to resume from after a restart (see ``saved``).

        ``state`` is plain data: ``None``, ``bool``, ``int``, ``float``, ``str``,
        ``bytes``, and lists, tuples and dicts with ``str`` keys of these,
        nested at most 100 deep, of at most 64 KiB once encoded. It is copied:
        changing it after the call changes nothing saved. ``save(None)`` drops
        what was saved. With a store, the state is journaled (with the job's
        progress) before the call returns, so ``saved`` returns it in the
        runtime that takes the job over after a crash; the job keeps it over a
        retry (``retry=``), so a job run again resumes too, and until it is
        purged. Each call emits ``WorkSaved`` and writes one journal entry:
        save at a job function's steps, not in a tight loop. O(size of state).

        Raises:
            ValidationError: ``state`` holds a value of another type (the message
                names where, and the type), a dict key that is not a ``str``, is
                nested too deep or contains itself, or encodes to more than
                65,536 bytes. Nothing is saved.
            ConflictError: the job is finished.
        """
        data = encode_state(state)
        runtime = self._runtime
        runtime._op(_trusted.save, runtime.scheduler, self._work.job_id, data)

    @property
    def saved(self) -> Any:
        """What the job function last saved (``save``), or None: a fresh copy on each read.

        After a crash this is what was journaled last, when the runtime that
        took the job over (``work_for``) runs the job function again from the
        start: a long job function reads it first, to resume where it saved.
        """
        runtime = self._runtime
        data = runtime._op(_trusted.saved, runtime.scheduler, self._work.job_id)
        return None if data is None else decode_state(data)

    def record_task(
        self, key: str, *, ok: bool = True, error_code: str = "", message: str = ""
    ) -> Job:
        """Record one task's outcome (``Scheduler.record_task``)."""
        job_id = self._work.job_id
        return self._runtime.call(
            lambda s: s.record_task(job_id, key, ok=ok, error_code=error_code, message=message)
        )
