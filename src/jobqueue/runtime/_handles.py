"""Job handles: what ``submit`` returns, and how a finished job's outcome reaches it.

``JobFuture`` (thread and executor runtimes) is a ``concurrent.futures.Future``;
``AsyncJobFuture`` (asyncio) is an ``asyncio.Future``. Both resolve when their
job reaches a terminal status, never before: a job that is retried, paused or
preempted keeps its handle pending. ``outcome`` turns a finished job's work
into what its handle gives: the job function's value or the mapping of task
results, ``JobFailed``, ``TaskFailures``, or cancellation.

Done callbacks run on the runtime's driver thread (asyncio: on the loop, as
asyncio does anyway); a ``JobFuture`` therefore keeps its callbacks itself and
hands them to the runtime, so that they never run on the thread that happened
to finish the job or to add the callback.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextvars
import enum
import logging
import threading
import time
from collections.abc import Callable, Mapping
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, ClassVar, Generic, Protocol, Self, TypeVar

from .._errors import JobQueueError
from .._model import Job
from .._states import JobStatus
from .._tasks import TaskRecord, TaskStatus
from .._validate import check_callable
from ._failures import JobFailed, RuntimeStateError, TaskFailed, TaskFailures

if TYPE_CHECKING:
    from ._work import Work

__all__ = ["AsyncJobFuture", "JobFuture", "Kind", "handle_type", "outcome"]

log = logging.getLogger("jobqueue.runtime")

T = TypeVar("T")
_S = JobStatus
_CANCELLABLE_OR_CANCELLED = frozenset({_S.CANCELLING, _S.CANCELLED})
# The states of a concurrent.futures.Future.
_PENDING = "PENDING"
_FINISHED = "FINISHED"
_CANCELLED_AND_NOTIFIED = "CANCELLED_AND_NOTIFIED"
_DONE = frozenset({"CANCELLED", "CANCELLED_AND_NOTIFIED", "FINISHED"})


class Kind(enum.Enum):
    """How a handle resolves."""

    RESULT = "result"
    ERROR = "error"
    CANCELLED = "cancelled"


# Module constants for the per-handle path: a fifth of the cost of an enum
# member's lookup (benchmarks/bench_tricks.py).
_RESULT = Kind.RESULT
_ERROR = Kind.ERROR


class _Runtime(Protocol):
    def get(self, job_id: str) -> Job: ...

    def cancel(self, job_id: str) -> Job: ...


class _ThreadedRuntime(_Runtime, Protocol):
    # The runtime's lock: every handle's ``_condition``, held while the
    # engine resolves a handle.
    _lock: threading.RLock

    def _wait_for_change(self, timeout: float | None = None) -> None: ...

    def _check_may_wait(self, what: str) -> None: ...

    def _queue_callbacks(
        self, future: JobFuture[Any], callbacks: list[Callable[..., object]]
    ) -> None: ...

    def _post_callbacks(
        self, future: JobFuture[Any], callbacks: list[Callable[..., object]]
    ) -> None: ...


def outcome(
    work: Work,
    job: Callable[[str], Job],
    records: Callable[[str], tuple[TaskRecord, ...]],
) -> tuple[Kind, object]:
    """What the handle of ``work``'s finished job resolves to.

    ``job`` and ``records`` read a job's snapshot and task outcomes by its id;
    they are called only when needed (a failed job, or a job with tasks). The
    engine resolves the common case, a job function that returned, without
    calling this (``Engine._retire``); this gives the same for it.
    """
    status = work.status
    if status is _S.CANCELLED:
        return Kind.CANCELLED, None
    value: object = work.value if work.job_fn is not None else _in_manifest_order(work)
    if status is _S.FAILED:
        snapshot = job(work.job_id)
        error = JobFailed(snapshot)
        cause: BaseException | None = work.exc
        if cause is None and work.errors:
            cause = TaskFailures.of(
                work.job_id, snapshot.tasks_total, _task_failures(work, None), value
            )
        error.__cause__ = cause
        return Kind.ERROR, error
    if work.manifest.count and not work.allow_task_failures:
        snapshot = job(work.job_id)
        if snapshot.tasks_failed:
            known = len(work.errors) if work.errors else 0
            recorded = records(work.job_id) if snapshot.tasks_failed > known else None
            failures = _task_failures(work, recorded)
            return Kind.ERROR, TaskFailures.of(work.job_id, snapshot.tasks_total, failures, value)
    return Kind.RESULT, value


def _in_manifest_order(work: Work) -> Mapping[str, object]:
    results = work.results or {}
    ordered = {key: results[key] for key in work.manifest.all() if key in results}
    return MappingProxyType(ordered)


def _task_failures(
    work: Work, recorded: tuple[TaskRecord, ...] | None
) -> list[tuple[str, Exception]]:
    errors = work.errors or {}
    if recorded is None:
        return [(key, _as_exception(key, exc)) for key, exc in errors.items()]
    out: list[tuple[str, Exception]] = []
    for record in recorded:
        if record.status is not TaskStatus.FAILED:
            continue
        exc = errors.get(record.key)
        if exc is None:
            out.append((record.key, TaskFailed(record.key, record.error_code, record.message)))
        else:
            out.append((record.key, _as_exception(record.key, exc)))
    return out


def _as_exception(key: str, exc: BaseException) -> Exception:
    if isinstance(exc, Exception):
        return exc
    # An exception group holds only Exceptions: wrap a KeyboardInterrupt, say.
    wrapped = TaskFailed(key, type(exc).__name__, str(exc))
    wrapped.__cause__ = exc
    return wrapped


class JobFuture(concurrent.futures.Future[T]):
    """The handle of a job submitted to a ``ThreadRuntime`` or ``ExecutorRuntime``.

    A ``concurrent.futures.Future``: ``concurrent.futures.wait`` and
    ``as_completed`` work on it. It resolves when the job reaches a terminal
    status: ``result()`` returns the job function's return value, or for a task
    function a read-only mapping of each succeeded task's key to its return
    value; it raises ``JobFailed`` for a Failed job, ``CancelledError`` for a
    Cancelled one, and ``TaskFailures`` for a job that completed with failed
    tasks (unless submitted with ``allow_task_failures=True``).

    Done callbacks run on the runtime's driver thread, never on the thread
    that finished the job or added the callback; once the runtime has shut
    down, a callback added to a finished handle runs at once, on the calling
    thread. Only its job resolves a handle: ``set_result``,
    ``set_exception`` and ``set_running_or_notify_cancel`` raise
    ``RuntimeStateError``.

    A runtime makes its handles, each of its own subclass of this class (also
    named ``JobFuture``): test a handle with ``isinstance``, not ``type() is``.

    Attributes:
        id: the job's id.
    """

    # ``Future.__init__`` is not called: a handle keeps only what it must in
    # slots, and shares what a Future makes for itself (the handles row of
    # benchmarks/bench_runtime.py, for each of these):
    #
    # - Its ``_condition``, which ``concurrent.futures.wait`` and
    #   ``as_completed`` take and release per future, is the runtime's own
    #   lock, an ``RLock`` (C code) rather than a ``Condition`` (Python code
    #   around it, twice per handle and per ``wait``). It and ``_runtime``
    #   are attributes of the runtime's own subclass (``handle_type``), not
    #   of each handle: two stores fewer per handle, and two references
    #   fewer for the garbage collector to visit each time it traces the
    #   handles a caller keeps.
    # - The engine resolves a handle in the call that finished its job, with
    #   that lock already held: no lock of its own to take, and no hand-over
    #   to the end of the call. ``result`` and ``exception`` sleep on the
    #   runtime's condition for waiters (``_wait_for_change``), which each
    #   call that moved a job wakes once, so the resolution notifies nobody
    #   itself; those are the only Future methods that would wait or notify,
    #   and this class's own. A handle's sleepers may thus wake for another
    #   job: they wait in a loop. Making a lock and a condition per handle
    #   was most of a handle's cost (3-4 us of about 5 per job).
    # - ``_result`` and ``_exception`` are written when it resolves, not
    #   before (nothing reads them until it is done).
    # - Done callbacks wait in the waiters' list (``_DoneCallback``), with
    #   the waiters of ``concurrent.futures.wait`` and ``as_completed``: the
    #   one list of what to tell when the handle resolves. The Future's own
    #   ``_done_callbacks`` stays the empty class default.
    #
    # Slots, not instance attributes: CPython keeps an instance's attributes
    # inline only for the names its class saw on its first few instances; a
    # name first written after that (say, ``_exception`` on the first
    # failure) gives every later handle a dictionary of its own, one more
    # object for the garbage collector.
    __slots__ = ("_exception", "_result", "_state", "_waiters", "id")
    _done_callbacks: tuple[Callable[[concurrent.futures.Future[T]], object], ...] = ()
    _runtime: ClassVar[_ThreadedRuntime]
    id: str  # set by the runtime once the job is submitted

    def __init__(self) -> None:
        self._state = _PENDING
        # The waiters of ``concurrent.futures.wait`` and ``as_completed``,
        # and the done callbacks, read and written with the lock held. A
        # resolved handle swaps its list for ``_NO_WAITERS``: it has told
        # those it had, and one added now would never be told anything, so
        # no finished handle keeps a list for the garbage collector to
        # trace. A plain slot, not a property making the list on first use:
        # when ``wait`` meets a pending handle it reads this twice per
        # handle, done or not, and a property call each time made ``wait``
        # on 9,000 handles a third dearer (0.3 us per handle), against about
        # 0.2 us of collector time per handle that the list made here costs.
        self._waiters: list[Any] = []

    def __repr__(self) -> str:
        return f"<JobFuture {self.id!r} {self._state.lower()}>"

    def job(self) -> Job:
        """The job's current snapshot."""
        return self._runtime.get(self.id)

    def result(self, timeout: float | None = None) -> T:
        """The job's result (see the class); waits at most ``timeout`` seconds.

        Raises:
            TimeoutError: the job did not finish in time.
            CancelledError: the job was cancelled.
            JobFailed, TaskFailures: as the class says.
            RuntimeStateError: the job has not finished and the caller is
                inside a runtime callback (an event subscriber, ``on_result``
                or a done callback), where waiting would hold up the runtime
                that is to finish the job.
        """
        self._wait_done(timeout)
        return super().result(0)

    def exception(self, timeout: float | None = None) -> BaseException | None:
        """What ``result()`` would raise, or None; waits at most ``timeout`` seconds.

        Raises:
            TimeoutError: the job did not finish in time.
            CancelledError: the job was cancelled.
            RuntimeStateError: as ``result``.
        """
        self._wait_done(timeout)
        return super().exception(0)

    def _wait_done(self, timeout: float | None) -> None:
        """Sleep until the handle is done; raise ``TimeoutError`` after ``timeout`` seconds.

        Raises:
            RuntimeStateError: the handle is pending and the caller is inside
                a runtime callback (the job could not finish while it waits).
        """
        if self._state in _DONE:
            return
        runtime = self._runtime
        runtime._check_may_wait("a pending handle's result() or exception()")
        end = None if timeout is None else time.monotonic() + timeout
        with runtime._lock:
            while self._state not in _DONE:
                remaining = None if end is None else end - time.monotonic()
                if remaining is not None and remaining <= 0:
                    raise TimeoutError()
                runtime._wait_for_change(remaining)

    def running(self) -> bool:
        """Whether the job's work runs now (the job is Active or Pausing)."""
        if self.done():
            return False
        return self._runtime.get(self.id).status in (_S.ACTIVE, _S.PAUSING)

    def cancel(self) -> bool:
        """Cancel the job (``runtime.cancel``).

        The handle is ``cancelled()`` once the job is Cancelled: at once for a
        job with no work in flight, else when its tasks in flight finish or its
        job function reaches a checkpoint.

        Returns:
            Whether the job will end Cancelled (False if it already finished,
            or is being failed).
        """
        if self.done():
            return self.cancelled()
        return _cancel_job(self._runtime, self.id)

    def add_done_callback(self, fn: Callable[[concurrent.futures.Future[T]], object]) -> None:
        """Call ``fn(handle)`` on the runtime's driver thread once the job has finished.

        Raises:
            ValidationError: ``fn`` is not callable.
        """
        check_callable("fn", fn)
        with self._condition:
            if self._state not in _DONE:
                self._waiters.append(_DoneCallback(fn))
                return
        self._runtime._post_callbacks(self, [fn])

    def set_result(self, result: T) -> None:
        """Refused: only its job resolves a handle.

        Raises:
            RuntimeStateError: always.
        """
        raise _refuse("set_result")

    def set_exception(self, exception: BaseException | None) -> None:
        """Refused: only its job resolves a handle.

        Raises:
            RuntimeStateError: always.
        """
        raise _refuse("set_exception")

    def set_running_or_notify_cancel(self) -> bool:
        """Refused: only its job resolves a handle.

        Raises:
            RuntimeStateError: always.
        """
        raise _refuse("set_running_or_notify_cancel")

    def _resolve(self, kind: Kind, payload: object) -> None:
        # Called with the runtime's lock held (the handle's ``_condition``),
        # by the engine in the call that finished the job; that call wakes
        # the threads asleep in ``result()`` as it ends. The Future's own done
        # callbacks are never used (``add_done_callback`` keeps them here),
        # so there are none to invoke.
        if self._state is not _PENDING:
            raise concurrent.futures.InvalidStateError(f"{self!r}")
        if kind is _RESULT:
            self._result = payload  # type: ignore[assignment]
            self._exception = None
            self._state = _FINISHED
        elif kind is _ERROR:
            assert isinstance(payload, BaseException)
            self._exception = payload
            self._state = _FINISHED
        else:
            self._state = _CANCELLED_AND_NOTIFIED
        waiters = self._waiters
        self._waiters = _NO_WAITERS  # told (see ``__init__``)
        if waiters:
            _tell(waiters, self, kind)


class _DoneCallback:
    """A done callback of a pending ``JobFuture``, kept in its waiters' list."""

    __slots__ = ("fn",)

    def __init__(self, fn: Callable[..., object]) -> None:
        self.fn = fn


def handle_type(runtime: _ThreadedRuntime) -> type[JobFuture[Any]]:
    """The class of ``runtime``'s handles: ``JobFuture``, with the runtime and its lock.

    Every handle of a runtime shares these two (see ``JobFuture``), so they
    are its class's attributes rather than each handle's.
    """
    return type(
        "JobFuture",
        (JobFuture,),
        {
            "__slots__": (),
            "__module__": JobFuture.__module__,
            "__qualname__": JobFuture.__qualname__,
            "_runtime": runtime,
            "_condition": runtime._lock,
        },
    )


def _tell(waiters: list[Any], future: JobFuture[Any], kind: Kind) -> None:
    """Tell the waiters of ``concurrent.futures.wait`` and ``as_completed`` of a resolution.

    Done callbacks among them go to the runtime, to run on its driver thread
    once they have all been told.
    """
    callbacks: list[Callable[..., object]] = []
    for waiter in waiters:
        if type(waiter) is _DoneCallback:
            callbacks.append(waiter.fn)
        elif kind is _RESULT:
            waiter.add_result(future)
        elif kind is _ERROR:
            waiter.add_exception(future)
        else:
            waiter.add_cancelled(future)
    if callbacks:
        future._runtime._queue_callbacks(future, callbacks)


def _refuse(method: str) -> RuntimeStateError:
    return RuntimeStateError(f"{method}() is refused: only its job resolves a JobFuture")


class _NoWaiters(list[Any]):
    """The waiters of a resolved handle: none kept, none to tell (see ``JobFuture``)."""

    __slots__ = ()

    def append(self, waiter: Any) -> None:
        """Keep nothing: the handle is resolved."""

    def remove(self, waiter: Any) -> None:
        """Nothing was kept."""


_NO_WAITERS = _NoWaiters()


def run_callbacks(future: object, callbacks: list[Callable[..., object]]) -> None:
    """Call each of ``callbacks`` with ``future``, logging (not raising) their errors."""
    for callback in callbacks:
        try:
            callback(future)
        except Exception:
            log.exception("done callback %r of %r raised", callback, future)


def _cancel_job(runtime: _Runtime, job_id: str) -> bool:
    try:
        status = runtime.get(job_id).status
        if status in _CANCELLABLE_OR_CANCELLED:
            return True
        return runtime.cancel(job_id).status in _CANCELLABLE_OR_CANCELLED
    except JobQueueError:
        return False  # finished, or being failed: it will not end Cancelled


class AsyncJobFuture(asyncio.Future[T], Generic[T]):
    """The handle of a job submitted to an ``AsyncioRuntime``.

    An ``asyncio.Future``: await it, or pass it to ``asyncio.wait``,
    ``gather`` and ``as_completed``. It resolves as ``JobFuture`` does (see
    there); done callbacks run on the loop. Cancelling it cancels the job, and
    it becomes cancelled once the job is Cancelled; so, as with a task,
    cancelling a coroutine that awaits it (or a timeout of ``wait_for``)
    cancels the job: wrap it in ``asyncio.shield`` to wait without that.

    Attributes:
        id: the job's id.
    """

    def __init__(self, runtime: _Runtime, loop: asyncio.AbstractEventLoop) -> None:
        super().__init__(loop=loop)
        self.id = ""
        self._runtime = runtime

    def __repr__(self) -> str:
        state = "cancelled" if self.cancelled() else "finished" if self.done() else "pending"
        return f"<AsyncJobFuture {self.id!r} {state}>"

    def job(self) -> Job:
        """The job's current snapshot."""
        return self._runtime.get(self.id)

    def add_done_callback(
        self, fn: Callable[[Self], object], /, *, context: contextvars.Context | None = None
    ) -> None:
        """Call ``fn(handle)`` on the loop once the job has finished (``asyncio.Future``'s).

        Raises:
            ValidationError: ``fn`` is not callable.
        """
        check_callable("fn", fn)
        super().add_done_callback(fn, context=context)

    def cancel(self, msg: Any | None = None) -> bool:
        """Cancel the job; the handle is cancelled once the job is Cancelled.

        Returns:
            Whether the job will end Cancelled.
        """
        if self.done():
            return False
        return _cancel_job(self._runtime, self.id)

    def _resolve(self, kind: Kind, payload: object) -> None:
        if self.done():
            return
        if kind is Kind.CANCELLED:
            asyncio.Future.cancel(self)
        elif kind is Kind.ERROR:
            assert isinstance(payload, BaseException)
            self.set_exception(payload)
        else:
            self.set_result(payload)  # type: ignore[arg-type]
