"""The base of the thread-based runtimes: one lock, a driver thread, orderly shutdown.

Theory of operation
-------------------
The scheduler is single-threaded; these runtimes keep it so with one re-entrant
lock rather than an owner thread. Whoever calls in -- a user thread submitting
a job, a lane reporting a task, the driver thread -- takes the lock, calls the
scheduler, and then settles the consequences itself (``_op``). Compared with
handing every call to an owner thread, this saves a thread switch per call and
per task, and under the GIL an owner thread would buy no parallelism. Event
callbacks run on the thread that has the scheduler when the event happens,
with the lock held: they see a consistent scheduler and may call the runtime
again.

Threads take turns on the lock as little as possible, since each turn that
makes a thread wait costs two thread switches. A worker that finished a job
function does not wait for the lock: it queues its report (``_report``), and
any thread in a call takes the queued reports in before its call ends, so a
thread submitting jobs settles the jobs that finished meanwhile. Only when no
thread is in a call does the worker take the reports in itself. Waiters are
woken once per call, and only if there are any (``_after_op``), not once per
job transition.

The driver thread sleeps on a condition variable until ``next_deadline()`` and
then calls ``poll()``; a call that may have moved the deadline earlier wakes it
(``_after_op``), so it never polls in a loop. It also reports what executors
finish on their own threads (``ExecutorRuntime``, and the lanes of a job with
an ``on_result``), so that no scheduler call, subscriber or executor
submission runs on an executor's internal thread, and it runs every
``on_result`` and every done callback of a handle, outside the lock: user code
that takes its own locks cannot deadlock against a caller of the runtime. It
reports every outcome handed over so far in one call, and is woken only when
it sleeps, by the first outcome handed over. A second condition on the same
lock wakes ``wait()`` and parked job functions when a job moves or work goes
idle; while draining, those moments wake the driver thread too.

A finished job's handle is resolved in the call that settled the job's end,
under the lock, which is every handle's ``_condition``: the threads asleep in
a handle's ``result()`` sleep on the waiters' condition and are woken with
the others as that call ends, and handles hand their callbacks to the driver.

Shutdown drains: the runtime stops taking submissions, keeps running what the
scheduler starts until no job holds a slot and nothing is in flight, wakes
parked job functions to unwind, and then the driver thread ends.
"""

from __future__ import annotations

import logging
import math
import threading
import time
from collections import deque
from collections.abc import Callable
from types import TracebackType
from typing import Any, Self, TypeVar

from .._access import Principal
from .._model import Job
from .._scheduler import Scheduler
from .._states import TERMINAL
from .._validate import check_flags
from ._adoption import Handler, release
from ._failures import RuntimeStateError
from ._handles import JobFuture, Kind, handle_type, run_callbacks
from ._runtime_base import RuntimeBase, State, check_timeout
from ._work import After, CallOutcome, Lane, Work

__all__ = ["ThreadedRuntime"]

log = logging.getLogger("jobqueue.runtime")

T = TypeVar("T")
_WAIT_MAX = threading.TIMEOUT_MAX
_MAX_SLEEP = 60.0
# re-read the wall clock at least this often, in case it jumped


class ThreadedRuntime(RuntimeBase):
    """Common machinery of ``ThreadRuntime`` and ``ExecutorRuntime``."""

    def __init__(
        self,
        scheduler: Scheduler | None,
        *,
        concurrency: int,
        progress_rate: float | None,
        name: str,
        work_for: Callable[[Job], Handler | None] | None = None,
    ) -> None:
        self._lock = threading.RLock()
        # Two conditions on the one lock, so that the driver thread is woken
        # only when a deadline moved earlier (or a drain may be over), not on
        # every job transition that a waiter cares about.
        self._cond = threading.Condition(self._lock)
        self._driver_cond = threading.Condition(self._lock)
        self._owner: int | None = None  # the thread running the outermost call
        self._local = threading.local()  # ``working`` is set on threads running a job's work
        self._armed = math.inf  # the deadline the driver thread sleeps towards
        self._waiting = 0  # threads asleep on ``_cond``
        self._changed = False  # a job moved or work went idle: wake the threads on ``_cond``
        # Threads in ``_op``, one entry each: a deque, whose appends and pops
        # no thread switch can split.
        self._callers: deque[None] = deque()
        # Reports of work done on the runtime's worker threads (``_report``).
        self._reports: deque[tuple[Callable[..., object], tuple[Any, ...]]] = deque()
        # The class of this runtime's handles, and their callbacks waiting
        # for the driver thread to run them.
        self._handle_type = handle_type(self)
        self._callbacks: deque[tuple[JobFuture[Any], list[Callable[..., object]]]] = deque()
        super().__init__(
            scheduler, concurrency=concurrency, progress_rate=progress_rate, work_for=work_for
        )
        if work_for is not None:
            self._op(self._engine.settle)  # start the work of the jobs taken over
        self._driver = threading.Thread(target=self._drive, name=f"{name}-driver", daemon=True)
        self._driver.start()

    # ------------------------------------------------------------------ serialisation

    def _op(self, fn: Callable[..., T], *args: Any) -> T:
        callers = self._callers
        callers.append(None)
        lock = self._lock
        lock.acquire()
        if self._owner is not None:
            # Nested, from a callback (only the holder sets ``_owner``): the
            # outer call settles.
            try:
                return fn(*args)
            finally:
                lock.release()
                callers.pop()
        self._owner = threading.get_ident()
        try:
            return fn(*args)
        finally:
            self._leave()
            callers.pop()
            if self._reports:
                self._take_reports()

    def _leave(self) -> None:
        """End the outermost call: settle, take reports in, wake whom it concerns, let go."""
        engine = self._engine
        reports = self._reports
        try:
            engine.settle()
            while reports:
                fn, args = reports.popleft()
                engine.guard(fn, *args)
                engine.settle()
        finally:
            self._owner = None
            try:
                self._after_op()
            finally:
                self._lock.release()

    def _report(self, fn: Callable[..., object], *args: Any) -> None:
        """Report work done on one of the runtime's worker threads: ``fn(*args)`` in a call.

        The report is queued, and a thread in a call takes it in before that
        call ends: the worker goes on at once instead of waiting for the lock,
        and the thread in the call does not wait for the worker either. Only
        if no thread is in a call does the worker take the lock and the
        reports in itself. A worker that took the lock whenever it was free
        made the submitting thread wait for it, and the two took turns
        waking each other: twice the time per job in the many-jobs case of
        benchmarks/bench_runtime.py.
        """
        self._reports.append((fn, args))
        self._take_reports()

    def _take_reports(self) -> None:
        # Every thread in ``_op`` (``_callers``, waiting for the lock or
        # holding it) takes reports in at its end (``_leave``) and then looks
        # again here once it has left. With nobody in a call, a holder of the
        # lock outside a call (``wait``, a checkpoint, the driver between
        # calls) takes no reports in: wait for it to let go, and take them in
        # here.
        lock = self._lock
        while self._reports:
            if self._callers:
                return
            lock.acquire()
            if self._owner is not None:  # this thread's own call, further out: it settles
                lock.release()
                return
            self._owner = threading.get_ident()
            self._leave()

    def _inside(self) -> bool:
        return bool(self._lock._is_owned())  # type: ignore[attr-defined]

    def _after_op(self) -> None:
        if self._changed:
            # One wake-up per call, and none when nobody waits, rather than one
            # per job transition (benchmarks/bench_runtime.py, the many-jobs case).
            self._changed = False
            if self._waiting:
                self._cond.notify_all()
            if self._state is State.DRAINING:
                self._driver_cond.notify()
        engine = self._engine
        if engine.deadline_moved:
            engine.deadline_moved = False
            if engine.deadline_before(self._armed):
                self._driver_cond.notify()

    def _wait_for_change(self, timeout: float | None = None) -> None:
        """Sleep (lock held) until a call moved a job or work went idle, or ``timeout``."""
        self._waiting += 1
        try:
            self._cond.wait(timeout)
        finally:
            self._waiting -= 1

    def _post_callbacks(
        self, future: JobFuture[Any], callbacks: list[Callable[..., object]]
    ) -> None:
        """Have the driver thread call ``callbacks`` with ``future``."""
        with self._lock:
            if self._state is not State.CLOSED:
                self._queue_callbacks(future, callbacks)
                return
        run_callbacks(future, callbacks)  # no driver thread any more

    def _queue_callbacks(
        self, future: JobFuture[Any], callbacks: list[Callable[..., object]]
    ) -> None:
        """Queue ``callbacks`` of ``future`` for the driver thread (lock held)."""
        self._callbacks.append((future, callbacks))
        self._driver_cond.notify()

    def _new_handle(self) -> JobFuture[Any]:
        return self._handle_type()

    def _check_may_block(self, what: str) -> None:
        if self._owner == threading.get_ident():
            raise _refused_in_callback(what)

    def _check_may_wait(self, what: str) -> None:
        """Refuse to wait for a job inside any runtime callback.

        Besides the callbacks run with the lock held (``_check_may_block``),
        ``on_result`` and done callbacks run on the driver thread: waiting
        there would hold up every other callback and timer, and on
        ``ExecutorRuntime`` the reports of finished calls, so the job
        waited for might never finish.
        """
        if threading.current_thread() is getattr(self, "_driver", None):
            raise _refused_in_callback(what)
        self._check_may_block(what)

    # ------------------------------------------------------------------ waiting

    def wait(
        self, job_id: str, timeout: float | None = None, *, principal: Principal | None = None
    ) -> Job:
        """Block until the job is finished; returns its final snapshot.

        Args:
            job_id: the job.
            timeout: seconds to wait at most, a finite number ``>= 0``;
                ``None`` waits as long as it takes.

        Raises:
            NotFound: no such job.
            AccessDenied: the access policy refuses ``describe`` (``Scheduler.get``).
            TimeoutError: it did not finish within ``timeout`` seconds.
            RuntimeStateError: called from inside a runtime callback.
            ValidationError: ``timeout`` is negative, NaN, infinite or not a number.
        """
        seconds = check_timeout(timeout)
        self._check_may_wait("wait()")
        end = None if seconds is None else time.monotonic() + seconds
        with self._lock:
            while True:
                job = self._scheduler.get(job_id, principal=principal)
                if job.status in TERMINAL:
                    return job
                remaining = None if end is None else end - time.monotonic()
                if remaining is not None and remaining <= 0:
                    raise TimeoutError(f"job {job_id!r} did not finish within {timeout} seconds")
                # A lock's wait refuses more than TIMEOUT_MAX (OverflowError).
                self._wait_for_change(None if remaining is None else min(remaining, _WAIT_MAX))

    # ------------------------------------------------------------------ shutdown

    def shutdown(self, wait: bool = True, *, cancel: bool = False) -> None:
        """Stop taking new work, finish (or cancel) what runs, and end every thread.

        The runtime keeps running the jobs the scheduler starts until no job
        holds a slot and nothing is in flight; jobs that cannot start (Suspended,
        or waiting in a paused queue) stay in the scheduler untouched. Job
        functions parked in a Paused job are woken to unwind (the job stays
        Paused). The last progress update of each job is delivered (in its
        turn: at most ``1 / progress_rate`` seconds later). Calling it again is
        harmless.

        Args:
            wait: block until everything has stopped and every thread the
                runtime started has ended.
            cancel: first cancel every unfinished job.

        Raises:
            RuntimeStateError: ``wait=True`` from inside a runtime callback or
                from a job's own work (it would wait for itself).
            ValidationError: ``wait`` or ``cancel`` is not a bool.
        """
        check_flags(wait=wait, cancel=cancel)
        if wait:
            self._check_may_block("shutdown(wait=True)")
            if getattr(self._local, "working", False):
                raise RuntimeStateError(
                    "shutdown(wait=True) cannot be called from a job's own work"
                )
        with self._lock:
            if self._state is State.OPEN:
                self._state = State.DRAINING
            if cancel and self._state is State.DRAINING:
                self._op(self._engine.cancel_all)
            self._driver_cond.notify()
        if wait:
            if self._driver is not threading.current_thread():
                self._driver.join()
            self._close_pool(wait=True)

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        """Shut down and wait; if the block raised, cancel every unfinished job first."""
        self.shutdown(wait=True, cancel=exc_type is not None)

    def _drained(self) -> bool:
        engine = self._engine
        if engine.in_flight or engine.progress_pending:
            return False
        return not any(q.running for q in self._scheduler.list_queues())

    def _drive(self) -> None:
        engine = self._engine
        completions = engine.completions
        reported = False
        with self._lock:
            while True:
                self._armed = -math.inf  # awake: nobody needs to wake this thread
                if completions or self._callbacks:
                    self._run_completions()
                    reported = True
                    continue
                if reported and engine.in_flight:
                    # Let the workers that the reports just gave work run before
                    # sleeping: short calls are then often back without a
                    # wake-up (ExecutorRuntime: 45 -> 39 us per task,
                    # benchmarks/bench_runtime.py, dispatch).
                    reported = False
                    self._lock.release()
                    try:
                        time.sleep(0)
                    finally:
                        self._lock.acquire()
                    continue
                if self._state is State.DRAINING and self._drained():
                    self._op(engine.stop_parked)
                    if not engine.in_flight:
                        break
                deadline = engine.next_deadline()
                now = self._clock.now()
                if deadline is not None and deadline <= now:
                    self._op(engine.poll)
                    continue
                self._armed = math.inf if deadline is None else deadline
                if completions:
                    continue  # handed over before ``_armed`` said this thread sleeps
                sleep = None if deadline is None else min(deadline - now, _MAX_SLEEP)
                self._driver_cond.wait(sleep)
            self._state = State.CLOSED
            engine.close()
            release(self._scheduler)
            for job_id, handle in engine.unfinished_handles():
                status = self._scheduler.get(job_id).status
                handle._resolve(
                    Kind.ERROR,
                    RuntimeStateError(
                        f"the runtime shut down before job {job_id!r} finished (it is {status})"
                    ),
                )
            self._cond.notify_all()
            callbacks = list(self._callbacks)
            self._callbacks.clear()
        for future, fns in callbacks:
            run_callbacks(future, fns)
        self._close_pool(wait=False)

    def _run_completions(self) -> None:
        """Report what ran elsewhere and run user callbacks: on the driver thread, lock held.

        Every outcome handed over so far is reported in one call (one settle,
        one wake-up check), rather than one call per outcome; ``on_result``
        and done callbacks run with the lock released.
        """
        engine = self._engine
        completions = engine.completions
        lock = self._lock
        while completions or self._callbacks:
            if self._callbacks:
                future, fns = self._callbacks.popleft()
                lock.release()
                try:
                    run_callbacks(future, fns)
                finally:
                    lock.acquire()
                continue
            batch: list[CallOutcome] = []
            results = False
            while completions:
                entry = completions.popleft()
                work, lane, _, exc = entry[:4]
                if lane is not None and lane.abandoned:
                    continue  # it ran past its timeout: its outcome is already recorded
                results = results or (
                    lane is not None and exc is None and work.on_result is not None
                )
                batch.append(entry)
            if results:
                lock.release()
                try:
                    _call_on_result(batch)
                finally:
                    lock.acquire()
            self._op(engine.completed, batch)

    def _hand_over(
        self,
        work: Work,
        lane: Lane | None,
        key: str,
        exc: BaseException | None,
        value: object,
        after: After = After.STOPS,
    ) -> None:
        """Queue a call's outcome for the driver thread to report (from any thread).

        The driver thread is woken only if it sleeps: while it is awake it
        reports every outcome queued, so a busy executor costs no wake-up
        (and no lock) per call. See ``CallOutcome`` for the arguments.
        """
        self._engine.completions.append((work, lane, key, exc, value, after))
        if self._armed != -math.inf:
            self._wake_driver()

    def _wake_driver(self) -> None:
        """Wake the driver thread, unless another thread woke it already."""
        with self._lock:
            if self._armed != -math.inf:
                # It will look at everything when it runs: one wake-up is enough.
                self._armed = -math.inf
                self._driver_cond.notify()

    def _close_pool(self, wait: bool) -> None:
        """Shut down the worker pool, if the runtime owns one."""


def _refused_in_callback(what: str) -> RuntimeStateError:
    return RuntimeStateError(f"{what} cannot be called from inside a runtime callback")


def _call_on_result(batch: list[CallOutcome]) -> None:
    """Give each succeeded task's value to its job's ``on_result``; if that raises, it failed."""
    for i, (work, lane, key, exc, value, after) in enumerate(batch):
        if lane is not None and exc is None and work.on_result is not None:
            try:
                work.on_result(key, value)
            except Exception as error:  # the task counts as failed
                batch[i] = (work, lane, key, error, value, after)


class ThreadedBackend:
    """The backend calls both thread-based runtimes answer alike (see ``Backend``)."""

    __slots__ = ("_rt",)

    #: A call in a thread or an executor cannot be stopped: the engine fails
    #: a task at its timeout and ignores what the call reports later.
    enforces_timeouts = False
    pipelines = False

    def __init__(self, runtime: ThreadedRuntime) -> None:
        self._rt = runtime

    def cancel_lane(self, lane: Lane) -> bool:
        """Cancel a lane whose call has not started; True if it never will."""
        return _cancel(lane.handle)

    def cancel_job(self, handle: object) -> bool:
        """Cancel a job function whose call has not started; True if it never will."""
        return _cancel(handle)

    def unparked(self, work: Work) -> None:
        """Wake a parked job function (when the call ends, see ``_after_op``)."""
        self._rt._changed = True

    def changed(self) -> None:
        """Wake waiters when the call ends: a job moved, or work went idle."""
        self._rt._changed = True


def _cancel(handle: object) -> bool:
    cancel = getattr(handle, "cancel", None)
    return bool(cancel()) if cancel is not None else False
