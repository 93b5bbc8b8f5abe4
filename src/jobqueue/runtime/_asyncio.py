"""``AsyncioRuntime``: run jobs as coroutines on an event loop.

The event loop is the scheduler's one owner: every call into the scheduler runs
on the loop thread. A call from another thread is handed to the loop
(``call_soon_threadsafe``) and the caller blocks until it has run. Scheduler
timers are a loop timer (``call_later``) re-armed whenever a call may have
moved the next deadline earlier. Handles are ``asyncio`` futures, resolved on
the loop; ``on_result`` runs on the loop too.

A function that is not a coroutine function runs in a worker thread
(``asyncio.to_thread``), so that it cannot block the loop; if it returns an
awaitable (``lambda key: fetch(key)``), that is awaited on the loop.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import inspect
import math
import threading
from collections.abc import Awaitable, Callable, Coroutine, Mapping
from types import TracebackType
from typing import Any, Self, TypeVar, Unpack, cast, overload

from .._access import Principal
from .._controls import Retry
from .._model import Job
from .._scheduler import Scheduler, TaskSource
from .._states import TERMINAL
from .._validate import check_flags, check_int
from ._adoption import Handler, release
from ._context import ContextBase, StopWork
from ._failures import RuntimeStateError, TaskTimeout
from ._handles import AsyncJobFuture, Kind
from ._runtime_base import RuntimeBase, State, check_timeout
from ._submission import SubmitOptions, is_async
from ._work import Lane, Mode, Work

__all__ = ["AsyncJobContext", "AsyncioRuntime"]

T = TypeVar("T")
R = TypeVar("R")

#: A lane whose tasks finish without suspending yields to the loop after this
#: many seconds, so other coroutines keep running.
_QUANTUM = 0.005
_MAX_SLEEP = 60.0  # re-read the wall clock at least this often, in case it jumped


class AsyncJobContext(ContextBase["AsyncioRuntime"]):
    """What a job function receives from an ``AsyncioRuntime``.

    A job function runs the whole job itself. It should ``await checkpoint()``
    between steps: that is where a pause lands (it waits until the job is
    resumed, then returns) and where a cancel or failure stops it (it raises an
    exception that the runtime catches; let it propagate).
    """

    __slots__ = ()

    async def checkpoint(self) -> None:
        """Return at once while the job runs; otherwise pause here or stop.

        If the job is pausing, the pause is acknowledged (the job becomes
        Paused and frees its slot) and this waits until the job is resumed,
        then returns. If the job is being cancelled or failed, or the runtime
        shuts down while the job is paused, it raises an exception that the
        runtime catches: let it propagate.
        """
        work = self._work
        if work.mode is Mode.RUN:
            return
        runtime = self._runtime
        wake = asyncio.get_running_loop().create_future()
        work.wake = wake
        try:
            if runtime._op(runtime._engine.park, work) and work.parked:
                await wake
        finally:
            work.wake = None
        if not work.dispatching:
            raise StopWork


class AsyncioRuntime(RuntimeBase):
    """Run each Active job's work as coroutines on the running event loop.

    A job's work is either a coroutine function called with each task key of
    its manifest (``concurrency`` at a time), or a coroutine function called
    with an ``AsyncJobContext``. Starting, pausing, resuming, cancelling and
    failing work follow ``ThreadRuntime``. A plain function runs in a worker
    thread (``asyncio.to_thread``) instead of blocking the loop; a plain job
    function there cannot await ``checkpoint()``, so it cannot be paused.

    Use it with ``async with`` (or ``start()`` and ``await shutdown()``) inside
    the loop that should run the work; leaving the block waits for the work the
    scheduler can start to finish. Its methods may be called from other
    threads too: the call is handed to the loop, and the caller waits for it.

    Args:
        scheduler: the scheduler to drive (see ``ThreadRuntime``).
        concurrency: the default task concurrency of a job.
        progress_rate: at most this many ``Progress`` events per second per job
            (``None``: every change).
        work_for: take over a scheduler that already has jobs (one recovered
            from a store): called with each unfinished job's snapshot, it
            returns the job's ``Handler`` (its work, as coroutine functions);
            ``None`` only for a job being cancelled or failed. Jobs may then
            be running already; their work starts with the runtime.

    Raises:
        ValidationError: a bad setting, or a bad ``Handler`` (nothing is taken over).
        ConflictError: the scheduler is already driven by a runtime, or has a
            running job and no ``work_for``.
    """

    def __init__(
        self,
        scheduler: Scheduler | None = None,
        *,
        concurrency: int = 10,
        progress_rate: float | None = 10.0,
        work_for: Callable[[Job], Handler | None] | None = None,
    ) -> None:
        width = check_int("concurrency", concurrency, 1)
        self._loop: asyncio.AbstractEventLoop | None = None
        self._loop_thread: int | None = None
        self._settling = False
        self._timer: asyncio.TimerHandle | None = None
        self._timer_at = math.inf
        self._changed: asyncio.Event | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self._drainer: asyncio.Task[None] | None = None
        super().__init__(
            scheduler, concurrency=width, progress_rate=progress_rate, work_for=work_for
        )

    # ------------------------------------------------------------------ loop ownership

    def start(self) -> None:
        """Bind the runtime to the running event loop (``async with`` does this).

        Raises:
            RuntimeError: no event loop is running in this thread.
            RuntimeStateError: the runtime was already started.
        """
        loop = asyncio.get_running_loop()
        if self._loop is not None:
            raise RuntimeStateError("the runtime was already started")
        self._loop = loop
        self._loop_thread = threading.get_ident()
        self._changed = asyncio.Event()
        self._op(self._engine.settle)
        self._rearm()

    async def __aenter__(self) -> Self:
        self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        """Shut down and wait; if the block raised, cancel every unfinished job first."""
        await self.shutdown(cancel=exc_type is not None)

    def _op(self, fn: Callable[..., T], *args: Any) -> T:
        loop = self._loop
        if loop is not None and threading.get_ident() != self._loop_thread:
            return self._hand_over(loop, fn, *args)
        if self._settling:
            return fn(*args)  # nested, from a callback: the outer call settles
        self._settling = True
        try:
            return fn(*args)
        finally:
            try:
                self._engine.settle()
            finally:
                self._settling = False
                self._after_op()

    def _inside(self) -> bool:
        return self._settling and threading.get_ident() == self._loop_thread

    def _hand_over(self, loop: asyncio.AbstractEventLoop, fn: Callable[..., T], *args: Any) -> T:
        future: concurrent.futures.Future[T] = concurrent.futures.Future()

        def run() -> None:
            if future.set_running_or_notify_cancel():
                try:
                    future.set_result(self._op(fn, *args))
                except BaseException as exc:
                    future.set_exception(exc)

        if not loop.is_running():
            raise RuntimeStateError("the runtime's event loop is not running")
        try:
            loop.call_soon_threadsafe(run)
        except RuntimeError:
            raise RuntimeStateError("the runtime's event loop is not running") from None
        return future.result()

    def _new_handle(self) -> AsyncJobFuture[Any]:
        assert self._loop is not None
        return AsyncJobFuture(self, self._loop)

    @overload
    def submit(
        self,
        task: Callable[[str], Awaitable[R]],
        *,
        tasks: TaskSource,
        concurrency: int | None = None,
        on_result: Callable[[str, R], object] | None = None,
        allow_task_failures: bool = False,
        task_retries: Retry | None = None,
        task_timeout: float | None = None,
        **options: Unpack[SubmitOptions],
    ) -> AsyncJobFuture[Mapping[str, R]]: ...

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
    ) -> AsyncJobFuture[Mapping[str, R]]: ...

    @overload
    def submit(
        self,
        task: None = None,
        *,
        job: Callable[[AsyncJobContext], Awaitable[R]],
        tasks: TaskSource = None,
        allow_task_failures: bool = False,
        **options: Unpack[SubmitOptions],
    ) -> AsyncJobFuture[R]: ...
    @overload
    def submit(
        self,
        task: None = None,
        *,
        job: Callable[[AsyncJobContext], R],
        tasks: TaskSource = None,
        allow_task_failures: bool = False,
        **options: Unpack[SubmitOptions],
    ) -> AsyncJobFuture[R]: ...

    def submit(
        self,
        task: Callable[[str], Any] | None = None,
        *,
        job: Callable[[AsyncJobContext], Any] | None = None,
        tasks: TaskSource = None,
        concurrency: int | None = None,
        on_result: Callable[[str, Any], object] | None = None,
        allow_task_failures: bool = False,
        task_retries: Retry | None = None,
        task_timeout: float | None = None,
        **options: Unpack[SubmitOptions],
    ) -> AsyncJobFuture[Any]:
        """Submit a job; as ``ThreadRuntime.submit``, with coroutine functions.

        ``task`` is awaited for each task key, ``job`` with an
        ``AsyncJobContext``; a plain function runs in a worker thread (see
        the class). ``on_result`` runs on the loop.

        At its ``task_timeout`` a task's coroutine is cancelled and the task
        fails (code ``TaskTimeout``). A plain function in a worker thread
        cannot be stopped: its thread runs on and what it returns is ignored.

        Returns:
            The job's handle, an ``AsyncJobFuture``: await it.

        Raises:
            ValidationError: as ``ThreadRuntime.submit``. Nothing is submitted.
            RuntimeStateError: the runtime is not started, or shut down.
        """
        # A string: no generic alias is built per call (0.3 us of each submission in
        # the handles row of benchmarks/bench_runtime.py).
        return cast(
            "AsyncJobFuture[Any]",
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

    def _check_open(self, *, new_work: bool) -> None:
        if new_work and self._loop is None:
            raise RuntimeStateError("the runtime is not started: use 'async with' or start()")
        super()._check_open(new_work=new_work)

    # ------------------------------------------------------------------ timer

    def _after_op(self) -> None:
        engine = self._engine
        if engine.deadline_moved and self._loop is not None:
            engine.deadline_moved = False
            deadline = engine.next_deadline()
            if deadline is not None and deadline < self._timer_at:
                self._arm(deadline)

    def _arm(self, deadline: float) -> None:
        assert self._loop is not None
        if self._timer is not None:
            self._timer.cancel()
        self._timer_at = deadline
        delay = min(max(0.0, deadline - self._clock.now()), _MAX_SLEEP)
        self._timer = self._loop.call_later(delay, self._on_timer)

    def _rearm(self) -> None:
        if self._state is State.CLOSED:
            return
        deadline = self._engine.next_deadline()
        if deadline is not None:
            self._arm(deadline)

    def _on_timer(self) -> None:
        self._timer = None
        self._timer_at = math.inf
        if self._state is State.CLOSED:
            return
        deadline = self._engine.next_deadline()
        if deadline is not None and deadline <= self._clock.now():
            self._op(self._engine.poll)
            if self._state is State.DRAINING:
                self._changed_now()  # a drain may be waiting for the last progress update
        self._rearm()

    # ------------------------------------------------------------------ waiting

    async def wait(
        self, job_id: str, timeout: float | None = None, *, principal: Principal | None = None
    ) -> Job:
        """Wait until the job is finished; returns its final snapshot.

        Args:
            job_id: the job.
            timeout: seconds to wait at most, a finite number ``>= 0``;
                ``None`` waits as long as it takes.

        Raises:
            NotFound: no such job.
            AccessDenied: the access policy refuses ``describe`` (``Scheduler.get``).
            TimeoutError: it did not finish within ``timeout`` seconds.
            ValidationError: ``timeout`` is negative, NaN, infinite or not a number.
        """
        seconds = check_timeout(timeout)
        try:
            async with asyncio.timeout(seconds):
                while True:
                    changed = self._changed_event()
                    job = self.get(job_id, principal=principal)
                    if job.status in TERMINAL:
                        return job
                    await changed.wait()
        except TimeoutError:
            raise TimeoutError(f"job {job_id!r} did not finish within {timeout} seconds") from None

    def _changed_event(self) -> asyncio.Event:
        if self._changed is None:
            raise RuntimeStateError("the runtime is not started: use 'async with' or start()")
        return self._changed

    # ------------------------------------------------------------------ shutdown

    async def shutdown(self, *, wait: bool = True, cancel: bool = False) -> None:
        """Stop taking new work, finish (or cancel) what runs, and release the loop.

        Same rules as ``ThreadRuntime.shutdown``.

        Args:
            wait: wait until everything has stopped; otherwise the runtime
                finishes in the background.
            cancel: first cancel every unfinished job.

        Raises:
            RuntimeStateError: ``wait=True`` from a job's own work (it would
                wait for itself).
            ValidationError: ``wait`` or ``cancel`` is not a bool.
        """
        check_flags(wait=wait, cancel=cancel)
        if wait and asyncio.current_task() in self._tasks:
            raise RuntimeStateError("shutdown(wait=True) cannot be called from a job's own work")
        if self._state is State.OPEN:
            self._state = State.DRAINING
        if cancel and self._state is State.DRAINING:
            self._op(self._engine.cancel_all)
        if self._loop is None:
            self._close()
            return
        if self._drainer is None:
            self._drainer = asyncio.get_running_loop().create_task(self._drain())
        if wait:
            await asyncio.shield(self._drainer)

    async def _drain(self) -> None:
        engine = self._engine
        while True:
            changed = self._changed_event()
            if (
                not engine.in_flight
                and not engine.progress_pending
                and not any(q.running for q in self._scheduler.list_queues())
            ):
                self._op(engine.stop_parked)
                if not engine.in_flight:
                    break
            await changed.wait()
        self._close()

    def _close(self) -> None:
        if self._state is State.CLOSED:
            return
        self._state = State.CLOSED
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        self._engine.close()
        release(self._scheduler)
        for job_id, handle in self._engine.unfinished_handles():
            status = self._scheduler.get(job_id).status
            handle._resolve(
                Kind.ERROR,
                RuntimeStateError(
                    f"the runtime shut down before job {job_id!r} finished (it is {status})"
                ),
            )

    # ------------------------------------------------------------------ backend

    def _changed_now(self) -> None:
        """Wake waiters: a job moved, or work went idle."""
        changed = self._changed
        if changed is not None:
            changed.set()
            self._changed = asyncio.Event()

    def _spawn(self, coro: Coroutine[Any, Any, None]) -> asyncio.Task[None]:
        assert self._loop is not None
        task = self._loop.create_task(coro)
        self._tasks.add(task)  # a running task must stay referenced
        task.add_done_callback(self._tasks.discard)
        return task

    def _backend(self) -> _AsyncioBackend:
        return _AsyncioBackend(self)


class _AsyncioBackend:
    """Runs lanes and job functions as tasks on the runtime's loop (see ``Backend``)."""

    __slots__ = ("_rt",)

    enforces_timeouts = True  # a task's coroutine is cancelled at its timeout
    pipelines = False

    def __init__(self, runtime: AsyncioRuntime) -> None:
        self._rt = runtime

    def launch_lane(self, work: Work, lane: Lane) -> None:
        """Run ``lane`` as a task on the loop."""
        lane.handle = self._rt._spawn(self._run_lane(work, lane))

    def launch_job(self, work: Work) -> object:
        """Run the job function as a task on the loop."""
        return self._rt._spawn(self._run_job(work))

    def cancel_lane(self, lane: Lane) -> bool:
        """Lanes start on the next loop iteration; they are left to finish their key."""
        return False

    def cancel_job(self, handle: object) -> bool:
        """Job functions start on the next loop iteration; they are left to reach a checkpoint."""
        return False

    def unparked(self, work: Work) -> None:
        """Wake a parked job function."""
        wake = work.wake
        if isinstance(wake, asyncio.Future) and not wake.done():
            wake.set_result(None)

    def changed(self) -> None:
        """Wake waiters: a job moved, or work went idle."""
        self._rt._changed_now()

    async def _run_lane(self, work: Work, lane: Lane) -> None:
        fn = cast(Callable[[str], Any], work.task_fn)
        in_thread = not is_async(fn)
        on_result = work.on_result
        timeout = work.task_timeout
        rt = self._rt
        loop = asyncio.get_running_loop()
        engine = rt._engine
        key: str | None = lane.key
        deadline = loop.time() + _QUANTUM
        while key is not None:
            exc: Exception | None = None
            value: object = None
            try:
                if timeout is None:
                    value = await _call(fn, key, in_thread)
                else:
                    value = await _call_within(fn, key, in_thread, timeout)
                if on_result is not None:
                    on_result(key, value)
            except asyncio.CancelledError:
                rt._op(engine.lane_aborted, work, lane, key)
                raise
            except Exception as error:  # a task's failure, whatever it is
                exc = error
            key = rt._op(engine.lane_step, work, lane, key, exc, value, True)
            if key is not None and loop.time() >= deadline:
                try:
                    await asyncio.sleep(0)
                except asyncio.CancelledError:
                    rt._op(engine.lane_aborted, work, lane, key)
                    raise
                deadline = loop.time() + _QUANTUM

    async def _run_job(self, work: Work) -> None:
        fn = cast(Callable[[AsyncJobContext], Any], work.job_fn)
        rt = self._rt
        exc: Exception | None = None
        value: object = None
        stopped = False
        try:
            value = await _call(fn, AsyncJobContext(rt, work), not is_async(fn))
        except StopWork:
            stopped = True
        except asyncio.CancelledError:
            rt._op(rt._engine.fn_ended, work, None, True)
            raise
        except Exception as error:  # a handler's failure, whatever it is
            exc = error
        rt._op(rt._engine.fn_ended, work, exc, stopped, value)


async def _call_within(
    fn: Callable[[str], Any], key: str, in_thread: bool, timeout: float
) -> object:
    """Await ``fn(key)``, cancelled after ``timeout`` seconds (then ``TaskTimeout``)."""
    scope = asyncio.timeout(timeout)
    try:
        async with scope:
            return await _call(fn, key, in_thread)
    except TimeoutError:
        if scope.expired():
            raise TaskTimeout(key, timeout) from None
        raise  # the task's own TimeoutError


async def _call(fn: Callable[[Any], Any], arg: object, in_thread: bool) -> object:
    """Await ``fn(arg)``; a plain function runs in a worker thread first."""
    if not in_thread:
        return await fn(arg)
    value = await asyncio.to_thread(fn, arg)
    if inspect.isawaitable(value):
        return await value
    return value
