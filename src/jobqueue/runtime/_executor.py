"""``ExecutorRuntime``: run jobs on any ``concurrent.futures.Executor``."""

from __future__ import annotations

import functools
import os
from collections.abc import Callable
from concurrent.futures import Executor, Future, ProcessPoolExecutor, ThreadPoolExecutor

from .._errors import ValidationError
from .._model import Job
from .._scheduler import Scheduler
from .._validate import check_int
from ._adoption import Handler
from ._threaded_base import ThreadedRuntime
from ._work import Lane, Work

__all__ = ["ExecutorRuntime"]


class ExecutorRuntime(ThreadedRuntime):
    """Run each Active job's work on any ``concurrent.futures.Executor``.

    The executor may run work in other processes or on other machines: a
    ``ProcessPoolExecutor``, or Dask distributed's ``Client.get_executor()``.
    Each task is one call ``task(key)`` submitted to the executor; a job
    function is one call ``job()`` with no arguments (it cannot reach a
    checkpoint in another process: bind its arguments with
    ``functools.partial``). Functions must be picklable for such executors
    (defined at module level). A task's return value goes to the job's
    ``on_result``, called on the runtime's own thread; an exception is a
    failed task (or, from a job function, a failed job). Outcomes are
    reported by the runtime's driver thread, never on the executor's threads.

    Pausing or cancelling stops dispatching; the calls already submitted
    finish (and are recorded) before the job is Paused or Cancelled. Calls not
    started yet are cancelled instead, when the executor's ``Future.cancel()``
    can be trusted to say so: by default only for the standard library's
    executors (Dask's reports a running call as cancellable, and it would run
    twice). A job function cannot be paused once it runs: if it returns while
    its job is Pausing, the job completes. With Dask, pass ``pure=False`` to
    ``get_executor`` so that equal calls of different jobs are not merged.

    The executor stays yours: the runtime never shuts it down. Shut the
    runtime down first (the ``with`` block does).

    Args:
        executor: where the work runs.
        scheduler: the scheduler to drive (see ``ThreadRuntime``).
        concurrency: the default task concurrency of a job (default: the CPU count).
        cancel_queued: cancel submitted calls that have not started when a job
            pauses or stops (default: only for ``ThreadPoolExecutor`` and
            ``ProcessPoolExecutor``).
        progress_rate: at most this many ``Progress`` events per second per job
            (``None``: every change).
        thread_name_prefix: name prefix of the runtime's driver thread.
        work_for: take over a scheduler that already has jobs (one recovered
            from a store): called with each unfinished job's snapshot, it
            returns the job's ``Handler`` (its work), or ``None``. Jobs may then
            be running already. See ``Handler``.

    Raises:
        ValidationError: a bad setting, or a bad ``Handler`` (nothing is taken over).
        ConflictError: the scheduler is already driven by a runtime, or has a
            running job and no ``work_for``.
    """

    def __init__(
        self,
        executor: Executor,
        scheduler: Scheduler | None = None,
        *,
        concurrency: int | None = None,
        cancel_queued: bool | None = None,
        progress_rate: float | None = 10.0,
        thread_name_prefix: str = "jobqueue",
        work_for: Callable[[Job], Handler | None] | None = None,
    ) -> None:
        if not isinstance(executor, Executor):
            raise ValidationError(
                f"executor must be a concurrent.futures.Executor, got {type(executor).__name__}"
            )
        width = (
            (os.cpu_count() or 1)
            if concurrency is None
            else check_int("concurrency", concurrency, 1)
        )
        self._executor = executor
        self._cancel_queued = (
            isinstance(executor, (ThreadPoolExecutor, ProcessPoolExecutor))
            if cancel_queued is None
            else bool(cancel_queued)
        )
        super().__init__(
            scheduler,
            concurrency=width,
            progress_rate=progress_rate,
            name=thread_name_prefix,
            work_for=work_for,
        )

    @property
    def executor(self) -> Executor:
        """The executor the work runs on."""
        return self._executor

    # ------------------------------------------------------------------ backend

    def launch_lane(self, work: Work, lane: Lane) -> None:
        """Submit the call for ``lane.key``."""
        assert work.task_fn is not None
        future = self._executor.submit(work.task_fn, lane.key)
        lane.handle = future
        future.add_done_callback(functools.partial(self._lane_done, work, lane))

    def launch_job(self, work: Work) -> object:
        """Submit the job function's call."""
        assert work.job_fn is not None
        future = self._executor.submit(work.job_fn)
        future.add_done_callback(functools.partial(self._job_done, work))
        return future

    def cancel_lane(self, lane: Lane) -> bool:
        """Cancel a call that has not started, if the executor can be trusted to say so."""
        return self._cancel_queued and super().cancel_lane(lane)

    def cancel_job(self, handle: object) -> bool:
        """Cancel a job function's call that has not started, as ``cancel_lane``."""
        return self._cancel_queued and super().cancel_job(handle)

    def _lane_done(self, work: Work, lane: Lane, future: Future[object]) -> None:
        if future.cancelled():
            return  # the engine cancelled it and took the key back
        exc = future.exception()
        value = future.result() if exc is None else None
        self._engine.completions.append((work, lane, exc, value))
        self._hand_over_completion()

    def _job_done(self, work: Work, future: Future[object]) -> None:
        if future.cancelled():
            return
        self._engine.completions.append((work, None, future.exception(), None))
        self._hand_over_completion()
