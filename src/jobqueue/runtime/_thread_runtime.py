"""``ThreadRuntime``: run jobs on a pool of threads, with cooperative checkpoints."""

from __future__ import annotations

import inspect
import logging
import os
import threading
import time
from collections import deque
from collections.abc import Callable, Coroutine, Mapping
from concurrent.futures import ThreadPoolExecutor
from types import CoroutineType
from typing import Any, NoReturn, TypeVar, Unpack, cast, overload

from .._controls import Retry
from .._errors import ValidationError
from .._model import Job
from .._scheduler import Scheduler, TaskSource
from .._validate import check_int, check_str
from ._adoption import Handler
from ._context import ContextBase, StopWork
from ._handles import JobFuture
from ._submission import SubmitOptions, is_plain_function
from ._threaded_base import ThreadedBackend, ThreadedRuntime
from ._work import Lane, Mode, Work

__all__ = ["JobContext", "ThreadRuntime"]

log = logging.getLogger("jobqueue.runtime")

R = TypeVar("R")

#: A lane runs tasks back to back for about this long, then gives its thread to
#: the next piece of work in the pool's queue, so that jobs sharing a pool all
#: make progress.
_QUANTUM = 0.01


class JobContext(ContextBase["ThreadRuntime"]):
    """What a job function receives from a ``ThreadRuntime``.

    A job function runs the whole job itself. It should call ``checkpoint()``
    between steps: that is where a pause lands (the call blocks until the job
    is resumed, then returns) and where a cancel or failure stops it (the call
    raises an exception that the runtime catches; let it propagate).
    """

    __slots__ = ()

    def checkpoint(self) -> None:
        """Return at once while the job runs; otherwise pause here or stop.

        If the job is pausing, the pause is acknowledged (the job becomes
        Paused and frees its slot) and the call blocks until the job is resumed,
        then returns. If the job is being cancelled or failed, or the runtime
        shuts down while the job is paused, it raises an exception that the
        runtime catches: let it propagate.
        """
        work = self._work
        if work.mode is Mode.RUN:
            return
        runtime = self._runtime
        with runtime._lock:
            if runtime._op(runtime._engine.park, work):
                while work.parked:
                    runtime._wait_for_change()
            if work.dispatching:
                return
        raise StopWork


class ThreadRuntime(ThreadedRuntime):
    """Run each Active job's work on a thread pool, driving the scheduler on a real clock.

    A job's work is either a task function, called with each task key of its
    manifest (``concurrency`` at a time), or a job function called with a
    ``JobContext``. The runtime starts work when the scheduler makes a job
    Active, stops dispatching when it pauses, cancels or fails the job, and
    acknowledges once the tasks in flight have finished (or the job function
    reached a checkpoint). A resumed job continues with the tasks not yet run.

    A paused job function keeps its thread while it waits at its checkpoint;
    size the pool for the job functions that may be paused at once.

    Use it as a context manager: leaving the block waits for the work the
    scheduler can start to finish, then stops every thread.

    >>> with ThreadRuntime(max_workers=2) as runtime:
    ...     job = runtime.submit(str.upper, tasks=["a", "b", "c"])
    ...     dict(job.result(timeout=10))
    {'a': 'A', 'b': 'B', 'c': 'C'}

    Args:
        scheduler: the scheduler to drive; it must have no running job yet
            (unless ``work_for`` takes its jobs over), and its ``acknowledge``
            is switched on. Default: a fresh scheduler on the system clock.
        max_workers: threads in the pool the runtime creates and owns
            (default: ``min(32, cpu_count + 4)``, as ``ThreadPoolExecutor``).
        executor: instead, a ``ThreadPoolExecutor`` of your own (not shut down
            by the runtime).
        concurrency: the default task concurrency of a job (default: the pool size).
        progress_rate: at most this many ``Progress`` events per second per job
            (``None``: every change).
        thread_name_prefix: name prefix of the threads the runtime starts.
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
        scheduler: Scheduler | None = None,
        *,
        max_workers: int | None = None,
        executor: ThreadPoolExecutor | None = None,
        concurrency: int | None = None,
        progress_rate: float | None = 10.0,
        thread_name_prefix: str = "jobqueue",
        work_for: Callable[[Job], Handler | None] | None = None,
    ) -> None:
        if executor is not None:
            if max_workers is not None:
                raise ValidationError("give max_workers or executor, not both")
            if not isinstance(executor, ThreadPoolExecutor):
                raise ValidationError(
                    f"executor must be a ThreadPoolExecutor, got {type(executor).__name__}"
                )
            workers = int(getattr(executor, "_max_workers", 0)) or (os.cpu_count() or 1)
        elif max_workers is None:
            workers = min(32, (os.cpu_count() or 1) + 4)
        else:
            workers = check_int("max_workers", max_workers, 1)
        width = workers if concurrency is None else check_int("concurrency", concurrency, 1)
        thread_name_prefix = check_str("thread_name_prefix", thread_name_prefix)
        self._owns_pool = executor is None
        self._workers = workers
        # No thread starts before the first submission, so nothing leaks if
        # the scheduler is refused below.
        self._pool = executor or ThreadPoolExecutor(workers, thread_name_prefix=thread_name_prefix)
        super().__init__(
            scheduler,
            concurrency=width,
            progress_rate=progress_rate,
            name=thread_name_prefix,
            work_for=work_for,
        )

    def _close_pool(self, wait: bool) -> None:
        if self._owns_pool:
            self._pool.shutdown(wait=wait)

    def _backend(self) -> _ThreadBackend:
        return _ThreadBackend(self, self._workers)

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
        job: Callable[[JobContext], R],
        tasks: TaskSource = None,
        allow_task_failures: bool = False,
        **options: Unpack[SubmitOptions],
    ) -> JobFuture[R]: ...

    def submit(
        self,
        task: Callable[[str], Any] | None = None,
        *,
        job: Callable[[JobContext], Any] | None = None,
        tasks: TaskSource = None,
        concurrency: int | None = None,
        on_result: Callable[[str, Any], object] | None = None,
        allow_task_failures: bool = False,
        task_retries: Retry | None = None,
        task_timeout: float | None = None,
        **options: Unpack[SubmitOptions],
    ) -> JobFuture[Any]:
        """Submit a job and the work that runs it; callable from any thread.

        Args:
            task: a plain function called with each task key of the manifest.
                Returning means the task succeeded (its value goes into the
                handle's result); raising means it failed (error code: the
                exception's type name; message: its text).
            job: instead of ``task``, one plain function that does the whole
                job; it receives a ``JobContext``, and what it returns is the
                handle's result.
            tasks: the manifest (see ``Scheduler.submit``); required with
                ``task``. Tasks are dispatched in manifest order.
            concurrency: how many of the job's tasks may run at once (default:
                the runtime's ``concurrency``).
            on_result: called with each task's key and return value when it
                succeeds, on the runtime's driver thread, in the order tasks
                finish; if it raises, the task counts as failed. Keep it quick.
            allow_task_failures: let the handle's ``result()`` return although
                some tasks failed (by default it raises ``TaskFailures``).
            task_retries: run a failed task again after the ``Retry``'s backoff
                (jitter from the scheduler's ``rng``), up to its ``attempts`` in
                all; only the last outcome is recorded. Every failure retries,
                a timeout too (``Retry.on`` must be empty).
            task_timeout: seconds a task may run, counted from when it is
                handed to a worker; then it fails with code ``TaskTimeout``
                (a ``TaskTimeout`` exception in the handle's ``TaskFailures``).
                A thread cannot be stopped: the call runs on in its thread,
                which stays busy, and what it returns or raises later is
                ignored.
            **options: the other keywords of ``Scheduler.submit`` (queue,
                priority, deferred, name, tags, hops, retry, ...).

        Returns:
            The job's handle, a ``JobFuture``.

        Raises:
            ValidationError: not exactly one of ``task`` and ``job``, a
                coroutine function (use ``AsyncioRuntime``), a task function
                without a manifest, ``on_result``, ``task_retries`` or
                ``task_timeout`` without a task function, a bad concurrency,
                ``task_retries`` or ``task_timeout``, or any error of
                ``Scheduler.submit``. Nothing is submitted.
            RuntimeStateError: the runtime is shut down.
        """
        if (
            task is None
            and tasks is None
            and concurrency is None
            and on_result is None
            and allow_task_failures is False
            and task_retries is None
            and task_timeout is None
            and is_plain_function(job)
        ):
            # The common case, a plain job function and none of the work's
            # options, skips the checks that cannot fail for it and the
            # general submission (about 3 us of each job in the many-jobs
            # case of benchmarks/bench_runtime.py).
            handle = self._handle_type()  # ``_new_handle``, a call less
            self._op(self._submit_job, job, options, handle)
            return handle
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


class _Start:
    """A lane or job function waiting for a worker (its backend handle)."""

    __slots__ = ("lane", "run", "work")

    def __init__(
        self, run: Callable[[Work, Lane | None], None], work: Work, lane: Lane | None
    ) -> None:
        self.run = run
        self.work = work
        self.lane = lane


class _ThreadBackend(ThreadedBackend):
    """Runs lanes and job functions on the runtime's thread pool.

    Starts wait in the backend's own queue, and up to one *runner* per pool
    thread takes them from it in order and runs them back to back. A worker
    that finishes a job function thus goes on to the next start without a
    pool submission, and without waiting for the runtime's lock: it hands the
    outcome to the runtime (``_report``) and takes the next start from the
    queue; a runner with nothing to do leaves, also without that lock. Each
    job cost a pool submission, a thread wake-up and a lock hand-off before
    (benchmarks/bench_runtime.py, the many-jobs case).

    A runner gives its thread back after a quantum of work (``_QUANTUM``), so
    that other work on a shared pool gets its turn: it submits a fresh runner
    to the back of the pool's queue. A start is taken by removing it from
    ``_queued``, which is also how one is cancelled: whichever comes first
    wins, and a cancelled start is skipped.
    """

    __slots__ = ("_count", "_queued", "_runners", "_starts", "_width")

    _rt: ThreadRuntime

    def __init__(self, runtime: ThreadRuntime, width: int) -> None:
        super().__init__(runtime)
        self._width = width  # runners at most: the pool's threads
        # Runners submitted or running. It has a lock of its own, so that a
        # runner with nothing to do leaves without waiting for the runtime's.
        self._runners = 0
        self._count = threading.Lock()
        self._starts: deque[_Start] = deque()
        self._queued: set[_Start] = set()  # the starts no runner has taken, nor cancelled

    def launch_lane(self, work: Work, lane: Lane) -> None:
        """Queue ``lane`` for a runner."""
        run = self._run_lane if work.on_result is None else self._run_one
        lane.handle = self._queue(_Start(run, work, lane))

    def launch_job(self, work: Work) -> object:
        """Queue the job function for a runner."""
        return self._queue(_Start(self._run_job, work, None))

    def cancel_lane(self, lane: Lane) -> bool:
        """Cancel a lane no runner has taken; True if it never will be."""
        return self._unqueue(lane.handle)

    def cancel_job(self, handle: object) -> bool:
        """Cancel a job function no runner has taken, as ``cancel_lane``."""
        return self._unqueue(handle)

    def _unqueue(self, start: object) -> bool:
        try:
            self._queued.remove(start)  # type: ignore[arg-type]
        except KeyError:
            return False  # a runner took it
        return True

    def _queue(self, start: _Start) -> _Start:
        # Into ``_queued`` first: a runner may take it from ``_starts`` at once.
        self._queued.add(start)
        self._starts.append(start)
        with self._count:
            spawn = self._runners < self._width
            if spawn:
                self._runners += 1
        if spawn:
            try:
                self._rt._pool.submit(self._runner)
            except BaseException:
                with self._count:
                    self._runners -= 1
                    others = self._runners
                if others:
                    return start  # the runners there are will take it
                # No runner can have taken it: it never starts.
                self._starts.remove(start)
                self._queued.discard(start)
                raise
        return start

    def _runner(self) -> None:
        # The thread runs the runtime's work from here until the runner
        # leaves: marked once, not per start.
        local = self._rt._local
        local.working = True
        try:
            self._run_starts()
        finally:
            local.working = False

    def _run_starts(self) -> None:
        starts, queued = self._starts, self._queued
        rt = self._rt
        deadline = time.monotonic() + _QUANTUM
        while True:
            try:
                start = starts.popleft()
            except IndexError:
                # Leave, unless a start came in meanwhile: a launch counts the
                # runners after it queues, so it either saw this one gone (and
                # submitted another) or queued before the second look here.
                with self._count:
                    self._runners -= 1
                if not starts:
                    return
                with self._count:
                    self._runners += 1
                continue
            try:
                queued.remove(start)
            except KeyError:
                continue  # cancelled before it started
            try:
                start.run(start.work, start.lane)
            except Exception:
                # A bug, not the work's failure (that is reported): keep the
                # runner, which other starts may be waiting for.
                log.exception("jobqueue runtime: work of job %r broke", start.work.job_id)
            if starts and time.monotonic() >= deadline:
                try:
                    rt._pool.submit(self._runner)
                except RuntimeError:  # the pool is shutting down: keep this thread
                    deadline = time.monotonic() + _QUANTUM
                else:
                    return

    def _run_one(self, work: Work, lane: Lane | None) -> None:
        """One task, whose outcome the driver thread reports (after ``on_result``)."""
        fn = work.task_fn
        assert fn is not None and lane is not None
        exc: BaseException | None = None
        value: object = None
        try:
            value = fn(lane.key)
            if inspect.iscoroutine(value):
                value = _refuse_coroutine(value)
        except BaseException as error:  # a task's failure, whatever it is
            exc = error
        self._rt._hand_over(work, lane, lane.key, exc, value)

    def _run_lane(self, work: Work, lane: Lane | None) -> None:
        fn: Callable[[str], object] | None = work.task_fn
        assert fn is not None and lane is not None
        rt = self._rt
        op = rt._op
        step = rt._engine.lane_step
        key: str | None = lane.key
        deadline = time.monotonic() + _QUANTUM
        try:
            while key is not None:
                exc: BaseException | None = None
                value: object = None
                try:
                    value = fn(key)
                    if inspect.iscoroutine(value):
                        value = _refuse_coroutine(value)
                except BaseException as error:  # a task's failure, whatever it is
                    exc = error
                key = op(step, work, lane, key, exc, value, time.monotonic() < deadline)
        except Exception:
            log.exception("jobqueue runtime: lane of job %r broke", work.job_id)
            op(rt._engine.drop_lane, work, lane)

    def _run_job(self, work: Work, lane: Lane | None = None) -> None:
        fn = work.job_fn
        assert fn is not None
        rt = self._rt
        exc: BaseException | None = None
        value: object = None
        stopped = False
        try:
            value = fn(JobContext(rt, work))
            if value is not None and type(value) is CoroutineType:
                value = _refuse_coroutine(value)
        except StopWork:
            stopped = True
        except BaseException as error:  # a handler's failure, whatever it is
            exc = error
        rt._report(rt._engine.fn_ended, work, exc, stopped, value)


def _refuse_coroutine(value: Coroutine[Any, Any, Any]) -> NoReturn:
    """A function that returned a coroutine ran nothing: that is a failure, not a success."""
    name = getattr(value, "__qualname__", "coroutine")
    value.close()
    raise TypeError(
        f"the function returned a coroutine ({name}) that a thread cannot run: "
        "use AsyncioRuntime for async work"
    )
