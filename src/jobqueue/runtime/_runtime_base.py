"""The public surface every runtime shares: submit work, control jobs, subscribe.

``RuntimeBase`` holds it; subclasses say how calls are serialised (``_op``).
Also here: a runtime's life (``State``) and the error for a call that life
refuses (``RuntimeStateError``).
"""

from __future__ import annotations

import enum
import functools
from collections.abc import Callable
from typing import Any, TypeVar, cast

from .._access import Principal
from .._controls import Retry
from .._errors import ValidationError
from .._events import Event
from .._model import Job, QueueInfo
from .._scheduler import Scheduler, TaskSource
from .._validate import check_bool, check_callable, check_number, check_positive_number
from ._adoption import Handler, adopt, check_clock, guard, take_over
from ._engine import Engine
from ._failures import RuntimeStateError
from ._submission import SubmitOptions, check_work
from ._task_policy import check_task_policy

__all__ = ["RuntimeBase", "State"]

T = TypeVar("T")


class State(enum.Enum):
    """A runtime's life: taking work, finishing what it has, stopped."""

    OPEN = "open"
    DRAINING = "draining"
    CLOSED = "closed"


def check_rate(progress_rate: float | None) -> float:
    """The minimum interval between two progress events of one job, from a rate per second."""
    if progress_rate is None:
        return 0.0
    if isinstance(progress_rate, bool) or not isinstance(progress_rate, (int, float)):
        raise ValidationError(
            f"progress_rate must be a number or None, got {type(progress_rate).__name__}"
        )
    return 1.0 / check_positive_number("progress_rate", progress_rate)


def check_timeout(timeout: float | None) -> float | None:
    """A wait's timeout: ``None`` (wait as long as it takes) or a finite number ``>= 0``.

    Raises:
        ValidationError: anything else; NaN would never time out, a negative
            wait is a caller's slip.
    """
    return None if timeout is None else check_number("timeout", timeout, 0.0)


class RuntimeBase:
    """What every runtime offers; subclasses say how calls are serialised (``_op``).

    Args:
        scheduler: the scheduler to drive; a fresh ``Scheduler(acknowledge=True)``
            on the system clock if omitted.
        concurrency: the default task concurrency of a job.
        progress_rate: at most this many Progress events per second per job
            (``None``: no limit).
        work_for: take over the jobs ``scheduler`` already has (see ``take_over``).
    """

    def __init__(
        self,
        scheduler: Scheduler | None,
        *,
        concurrency: int,
        progress_rate: float | None,
        work_for: Callable[[Job], Handler | None] | None = None,
    ) -> None:
        interval = check_rate(progress_rate)
        check_clock(scheduler)
        self._concurrency = concurrency
        # Every job's work is decided before anything changes: a bad Handler
        # leaves the scheduler as it was.
        works = (
            []
            if work_for is None
            else take_over(scheduler, work_for, concurrency, runtime=type(self).__name__)
        )
        self._scheduler = adopt(scheduler, taking_over=work_for is not None)
        self._clock = self._scheduler.clock
        self._state = State.OPEN
        self._engine = Engine(self._scheduler, self._backend(), interval)
        self._engine.take_over(works)
        guard(self._scheduler, self._inside, self._op_any)

    def _inside(self) -> bool:
        """Whether the calling thread has the scheduler to itself now."""
        raise NotImplementedError

    def _backend(self) -> Any:
        """The object that runs the work (see ``Backend``)."""
        raise NotImplementedError

    def _op(self, fn: Callable[..., T], *args: Any) -> T:
        """Run ``fn(*args)`` with the scheduler to itself, then settle what it caused."""
        raise NotImplementedError

    def _op_any(self, fn: Callable[[], T]) -> T:
        """``_op(fn)`` for a call that may do anything, so may arm an earlier timer.

        The engine notes on its own that the next deadline may have moved
        when a job changes status; a call such as ``update_priority`` or
        ``update_queue`` may arm a timer without that.
        """
        return cast(T, self._op(self._any_call, fn))

    def _any_call(self, fn: Callable[[], T]) -> T:
        self._engine.deadline_moved = True
        return fn()

    def _check_open(self, *, new_work: bool) -> None:
        state = self._state
        if state is State.CLOSED or (new_work and state is not State.OPEN):
            raise RuntimeStateError("the runtime is shut down")

    @property
    def scheduler(self) -> Scheduler:
        """The scheduler this runtime drives.

        While the runtime runs, the scheduler is safe to call from any thread:
        each of its methods runs as ``call`` would run it. A job submitted to
        it directly has no work, though: the runtime fails such a job (code
        ``HandlerError``) when it starts. Submit work through the runtime.
        """
        return self._scheduler

    @property
    def concurrency(self) -> int:
        """The default task concurrency of a job."""
        return self._concurrency

    def _new_handle(self) -> Any:
        """A fresh handle for a job about to be submitted."""
        raise NotImplementedError

    def _submit_handle(
        self,
        task: Callable[[str], object] | None,
        job: Callable[..., object] | None,
        tasks: TaskSource,
        concurrency: int | None,
        on_result: Callable[[str, Any], object] | None,
        allow_task_failures: bool,
        options: SubmitOptions,
        task_retries: Retry | None = None,
        task_timeout: float | None = None,
    ) -> Any:
        """Check a submission, submit it, and return its handle (see the runtimes' ``submit``)."""
        width, policy = self._check_submission(
            task,
            job,
            tasks,
            concurrency,
            on_result,
            allow_task_failures,
            task_retries,
            task_timeout,
        )
        return self._op(
            self._submit, task, job, width, tasks, on_result, allow_task_failures, options, policy
        )

    def _check_submission(
        self,
        task: Callable[[str], object] | None,
        job: Callable[..., object] | None,
        tasks: TaskSource,
        concurrency: int | None,
        on_result: Callable[[str, Any], object] | None,
        allow_task_failures: bool,
        task_retries: Retry | None,
        task_timeout: float | None,
    ) -> tuple[int, tuple[Retry | None, float | None]]:
        """A submission's task concurrency and task policy; raises what ``submit`` raises."""
        width = check_work(
            task, job, tasks, concurrency, on_result, self._concurrency, runtime=type(self).__name__
        )
        check_bool("allow_task_failures", allow_task_failures)
        return width, check_task_policy(task, task_retries, task_timeout)

    def _submit(
        self,
        task: Callable[[str], object] | None,
        job: Callable[..., object] | None,
        width: int,
        tasks: TaskSource,
        on_result: Callable[[str, Any], object] | None,
        allow_task_failures: bool,
        options: SubmitOptions,
        policy: tuple[Retry | None, float | None],
    ) -> Any:
        self._check_open(new_work=True)
        handle = self._new_handle()
        handle.id = self._engine.submit(
            task, job, width, tasks, on_result, options, handle, allow_task_failures, *policy
        )
        return handle

    def _submit_job(
        self, job: Callable[..., object], options: SubmitOptions, handle: Any = None
    ) -> str:
        """Submit a plain job function with none of the work's options; returns the job's id.

        The caller checked ``job`` (``is_plain_function``) and that every other
        argument of the runtime's ``submit`` is at its default: nothing else
        of ``_check_submission`` applies. ``handle``, if given, gets the id.
        """
        self._check_open(new_work=True)
        job_id = self._engine.submit_job(job, self._concurrency, options, handle)
        if handle is not None:
            handle.id = job_id
        return job_id

    def cancel(self, job_id: str, *, principal: Principal | None = None) -> Job:
        """Cancel a job (``Scheduler.cancel``).

        Running work stops dispatching at once; tasks in flight finish and are
        recorded, a job function stops at its next checkpoint, and then the job
        is Cancelled.
        """
        return self.call(lambda s: s.cancel(job_id, principal=principal))

    def confirm(self, job_id: str, *, principal: Principal | None = None) -> Job:
        """Confirm a Suspended job (``Scheduler.confirm``).

        Raises:
            RuntimeStateError: ``shutdown()`` has begun.
        """
        return self._op(self._confirm, job_id, principal)

    def _confirm(self, job_id: str, principal: Principal | None) -> Job:
        self._check_open(new_work=True)
        return self._scheduler.confirm(job_id, principal=principal)

    def update_priority(
        self, job_id: str, priority: int, *, principal: Principal | None = None
    ) -> Job:
        """Change a job's priority (``Scheduler.update_priority``); may preempt or resume jobs."""
        return self.call(lambda s: s.update_priority(job_id, priority, principal=principal))

    def pause_queue(self, name: str, *, principal: Principal | None = None) -> QueueInfo:
        """Pause a queue (``Scheduler.pause_queue``): it starts nothing new."""
        return self.call(lambda s: s.pause_queue(name, principal=principal))

    def resume_queue(self, name: str, *, principal: Principal | None = None) -> QueueInfo:
        """Reactivate a paused queue (``Scheduler.resume_queue``)."""
        return self.call(lambda s: s.resume_queue(name, principal=principal))

    def get(self, job_id: str, *, principal: Principal | None = None) -> Job:
        """A snapshot of one job (``Scheduler.get``); ``Job.progress`` is its progress.

        Raises:
            NotFound: no such job.
            AccessDenied: the access policy refuses ``describe``.
        """
        return self._op(functools.partial(self._scheduler.get, job_id, principal=principal))

    def call(self, fn: Callable[[Scheduler], T]) -> T:
        """Run ``fn(scheduler)`` with the scheduler to itself, then act on what changed.

        The safe way to use any other scheduler method from any thread, e.g.
        ``runtime.call(lambda s: s.create_queue("batch", slots=4))``.

        Raises:
            RuntimeStateError: the runtime has stopped.
        """
        return self._op_any(functools.partial(self._call, fn))

    def _call(self, fn: Callable[[Scheduler], T]) -> T:
        self._check_open(new_work=False)
        return fn(self._scheduler)

    def subscribe(self, callback: Callable[[Event], None]) -> Callable[[], None]:
        """Send ``callback`` every scheduler event and every ``Progress`` event, in order.

        Callbacks run while the runtime has the scheduler to itself (on
        whichever thread has it then -- a caller's, a worker's or the driver
        thread -- or on the event loop): they may call the runtime but must
        not block. An exception in a callback is logged and
        otherwise ignored.

        Returns:
            A function that unsubscribes ``callback``.

        Raises:
            ValidationError: ``callback`` is not callable.
        """
        check_callable("callback", callback)
        unsubscribe = self._op(self._engine.subscribe, callback)

        def unsubscribe_safely() -> None:
            self._op(unsubscribe)

        return unsubscribe_safely
