"""``ExecutorRuntime``: run jobs on any ``concurrent.futures.Executor``."""

from __future__ import annotations

import functools
import inspect
import os
from collections.abc import Callable, Mapping
from concurrent.futures import (
    CancelledError,
    Executor,
    Future,
    ProcessPoolExecutor,
    ThreadPoolExecutor,
)
from typing import Any, TypeVar, Unpack, cast, overload

from .._controls import Retry
from .._errors import ValidationError
from .._model import Job
from .._scheduler import Scheduler, TaskSource
from .._validate import check_bool, check_int, check_str
from ._adoption import Handler
from ._handles import JobFuture
from ._submission import SubmitOptions
from ._threaded_base import ThreadedBackend, ThreadedRuntime
from ._work import After, Lane, Work

__all__ = ["ExecutorRuntime"]

R = TypeVar("R")


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
            returns the job's ``Handler`` (its work); ``None`` only for a job
            being cancelled or failed. Jobs may then be running already. See
            ``Handler``.

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
            else check_bool("cancel_queued", cancel_queued)
        )
        super().__init__(
            scheduler,
            concurrency=width,
            progress_rate=progress_rate,
            name=check_str("thread_name_prefix", thread_name_prefix),
            work_for=work_for,
        )

    @property
    def executor(self) -> Executor:
        """The executor the work runs on."""
        return self._executor

    def _backend(self) -> _ExecutorBackend:
        if isinstance(self._executor, ThreadPoolExecutor):
            return _PipelinedBackend(self)
        return _ExecutorBackend(self)

    @overload
    def submit(
        self,
        task: Callable[[str], R],
        *,
        tasks: TaskSource,
        concurrency: int | None = None,
        on_result: Callable[[str, R], object] | None = None,
        allow_task_failures: bool = False,
        task_retries: Retry | None = None,
        task_timeout: float | None = None,
        **options: Unpack[SubmitOptions],
    ) -> JobFuture[Mapping[str, R]]: ...

    @overload
    def submit(
        self,
        task: None = None,
        *,
        job: Callable[[], R],
        tasks: TaskSource = None,
        allow_task_failures: bool = False,
        **options: Unpack[SubmitOptions],
    ) -> JobFuture[R]: ...

    def submit(
        self,
        task: Callable[[str], Any] | None = None,
        *,
        job: Callable[[], Any] | None = None,
        tasks: TaskSource = None,
        concurrency: int | None = None,
        on_result: Callable[[str, Any], object] | None = None,
        allow_task_failures: bool = False,
        task_retries: Retry | None = None,
        task_timeout: float | None = None,
        **options: Unpack[SubmitOptions],
    ) -> JobFuture[Any]:
        """Submit a job; as ``ThreadRuntime.submit``, but a job function takes no argument.

        Each task is one call ``task(key)`` on the executor, and the job
        function one call ``job()``; their return values travel back from
        the executor (they must be picklable for a process pool or Dask).

        A ``task_timeout`` counts from when the call is submitted to the
        executor, so time waiting in its queue counts too. The executor's call
        cannot be stopped: at the timeout the task fails (code
        ``TaskTimeout``), a call that has not started is cancelled if the
        runtime trusts the executor to say so (see ``cancel_queued``), and
        what a running call returns or raises later is ignored.

        Returns:
            The job's handle, a ``JobFuture``.

        Raises:
            ValidationError: as ``ThreadRuntime.submit``. Nothing is submitted.
            RuntimeStateError: the runtime is shut down.
        """
        # A string: no generic alias is built per call (0.3 us of each submission in
        # the handles row of benchmarks/bench_runtime.py).
        return cast(
            "JobFuture[Any]",
            self._submit_handle(
                task,
                job,
                tasks,
                concurrency,
                on_result,
                allow_task_failures,
                options,
                task_retries,
                task_timeout,
            ),
        )


class _ExecutorBackend(ThreadedBackend):
    """Submits each task, and the job function, as one call to the executor."""

    __slots__ = ()

    _rt: ExecutorRuntime

    def launch_lane(self, work: Work, lane: Lane) -> None:
        """Submit the call for ``lane.key``."""
        assert work.task_fn is not None
        future = self._rt._executor.submit(work.task_fn, lane.key)
        lane.handle = future
        future.add_done_callback(functools.partial(self._lane_done, work, lane, lane.key))

    def launch_job(self, work: Work) -> object:
        """Submit the job function's call."""
        assert work.job_fn is not None
        future = self._rt._executor.submit(work.job_fn)
        future.add_done_callback(functools.partial(self._job_done, work))
        return future

    def cancel_lane(self, lane: Lane) -> bool:
        """Cancel a call that has not started, if the executor can be trusted to say so."""
        return self._rt._cancel_queued and super().cancel_lane(lane)

    def cancel_job(self, handle: object) -> bool:
        """Cancel a job function's call that has not started, as ``cancel_lane``."""
        return self._rt._cancel_queued and super().cancel_job(handle)

    def _lane_done(self, work: Work, lane: Lane, key: str, future: Future[object]) -> None:
        outcome = _outcome(future)
        if outcome is not None:  # else the engine cancelled it and took the key back
            self._rt._hand_over(work, lane, key, *outcome)

    def _job_done(self, work: Work, future: Future[object]) -> None:
        outcome = _outcome(future)
        if outcome is not None:
            self._rt._hand_over(work, None, "", *outcome)


class _PipelinedBackend(_ExecutorBackend):
    """On a ``ThreadPoolExecutor``: a lane's calls chain, each submitted as the one before ends.

    Each task is still one call submitted to the pool, but the call is a
    wrapper (``_call``) that runs ``task(key)`` and then, while its job runs,
    submits the call for the key its lane holds ahead (``Lane.ahead``) before
    the runtime has even seen the outcome; the outcome is handed to the
    driver thread, which records it (see ``TaskLanes.piped_step``). Other
    executors' done callbacks may run on threads that must not submit work
    (an event loop, a process pool's manager), so only a thread pool chains.
    """

    __slots__ = ()

    pipelines = True

    def launch_lane(self, work: Work, lane: Lane) -> None:
        """Submit the call for ``lane.key``; a pipelined lane's call chains to the next."""
        if lane.ahead is None:
            super().launch_lane(work, lane)
        else:
            lane.handle = self._rt._executor.submit(self._call, work, lane, lane.key)

    def _call(self, work: Work, lane: Lane, key: str) -> None:
        fn = work.task_fn
        assert fn is not None and lane.ahead is not None
        exc: BaseException | None = None
        value: object = None
        try:
            value = fn(key)
            if inspect.iscoroutine(value):
                value.close()
                raise _coroutine_error(value)
        except BaseException as error:  # a task's failure, whatever it is
            exc = error
        rt = self._rt
        nxt = None
        if work.dispatching:  # read without the lock: the engine takes keys back too
            try:
                nxt = lane.ahead.popleft()
            except IndexError:
                nxt = None
        if nxt is None:
            rt._hand_over(work, lane, key, exc, value)
            return
        # The key's outcome first, so that the lane's outcomes arrive in order.
        lane.key = nxt
        rt._hand_over(work, lane, key, exc, value, After.CHAINED)
        try:
            lane.handle = rt._executor.submit(self._call, work, lane, nxt)
        except BaseException as error:  # shut down, say: the key did not start
            rt._hand_over(work, lane, nxt, error, None, After.REFUSED)


def _outcome(future: Future[object]) -> tuple[BaseException | None, object] | None:
    """What a finished call raised and returned; None if it was cancelled."""
    try:
        # Two looks under the future's lock rather than three (no ``cancelled``
        # first: ``exception`` raises for a cancelled call); the executor's thread
        # runs this for every call.
        exc = future.exception()
    except CancelledError:
        return None
    if exc is not None:
        return exc, None
    value = future.result()
    if inspect.iscoroutine(value):
        value.close()
        return _coroutine_error(value), None
    return None, value


def _coroutine_error(value: object) -> TypeError:
    """A function that returned a coroutine ran nothing: that is a failure, not a success."""
    name = getattr(value, "__qualname__", "coroutine")
    return TypeError(
        f"the function returned a coroutine ({name}) that an executor cannot run: "
        "use AsyncioRuntime for async work"
    )
