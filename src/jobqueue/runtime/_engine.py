"""The scheduler-facing half of every runtime: events in, work out, outcomes back.

Theory of operation
-------------------
A runtime wraps a ``Scheduler`` whose ``acknowledge`` is on, so a job asked to
pause, stop or fail keeps its slot until its work has really stopped. The
engine watches the scheduler's status changes (the core's watch hooks, called
as each change happens, with no event built) and keeps one ``Work`` per job
submitted through the runtime: its work function, the task keys still to run,
and what is in flight. The hook only notes each job's newest status and marks
the job dirty; ``settle()``, which the runtime runs after every call it makes into
the scheduler, then brings each dirty job's work in line with its status (see
``_advance``): start or resume on Active; stop dispatching on Pausing,
Cancelling or Failing and acknowledge once nothing is in flight; complete when
the last task is in. Working from the newest status, never from the sequence of
events, keeps this correct when one call moves a job several times. The
engine subscribes to the scheduler's events only while the runtime has
subscribers, to pass them on in order (with ``Progress`` events of its own).

A *lane* is one unit of a job's task concurrency: it holds one key at a time,
runs it, and reports it in ``lane_step``, which hands back the next key while
the job runs. Thread and asyncio lanes keep going for a short quantum and then
give their worker to other jobs; executor lanes run one key per submitted call.
A key leaves the manifest once, when a lane takes it; it goes back only if its
lane was cancelled before it started, so no task is lost or run twice.

The engine is not thread-safe: every runtime serialises all calls into it and
into the scheduler (a lock for the thread-based runtimes, the event loop for
asyncio).

This module holds the ``Engine``. The per-job records it keeps (``Work``,
``Lane``, ``Mode``) are in ``_work``, the calls it makes into a runtime
(``Backend``) in ``_backend``, what a job function's context offers in
``_context``, the engine's parts that run job functions in ``_job_functions``
and task lanes in ``_lanes``, and task retries and timeouts in ``_task_policy``.
"""

from __future__ import annotations

import functools
import logging
from collections import deque
from collections.abc import Callable, Iterable
from typing import Any

from .._controls import Retry
from .._core import core_of
from .._core.records import JobRecord
from .._events import Event, TaskRecorded
from .._scheduler import Scheduler, TaskSource
from .._states import RUNNING, TASKS_ACCEPTED, TERMINAL, WORKING, JobStatus
from . import _trusted
from ._backend import Backend
from ._failures import TaskTimeout, describe
from ._handles import Kind, outcome
from ._job_functions import JobFunctions
from ._lanes import TaskLanes
from ._progress import Throttle
from ._submission import Manifest, SubmitOptions
from ._task_policy import TaskTimers
from ._work import CallOutcome, Mode, Work

__all__ = ["Engine"]

log = logging.getLogger("jobqueue.runtime")

_S = JobStatus
_NOT_CANCELLABLE = TERMINAL | {_S.CANCELLING, _S.FAILING}
_ACTIVE = _S.ACTIVE
_COMPLETE = _S.COMPLETE
_RESULT = Kind.RESULT
_PAUSED = _S.PAUSED
# The manifest of every job without tasks: nothing ever changes it.
_NO_TASKS = Manifest()


class Engine(JobFunctions, TaskLanes):
    """Turns a scheduler's events into work, and work's outcomes into reports.

    Args:
        scheduler: the scheduler, with ``acknowledge`` on.
        backend: the runtime that runs the work.
        progress_interval: minimum seconds between two Progress events of a job.
    """

    def __init__(self, scheduler: Scheduler, backend: Backend, progress_interval: float) -> None:
        self.scheduler = scheduler
        # Bound before the runtime guards the scheduler's class: the engine has
        # it to itself, so skip the guard's check on every call
        # (benchmarks/bench_runtime.py, the many-jobs case).
        self._scheduler_deadline = scheduler.next_deadline
        self._core_deadlines = core_of(scheduler).deadlines
        self._backend = backend
        self._note_change = backend.changed  # bound once: a call per status change
        #: The scheduler's reading of its clock (never stepping back; see Core.now).
        self.now = core_of(scheduler).now
        self._works: dict[str, Work] = {}
        self._dirty: dict[str, None] = {}
        self._orphans: list[str] = []
        self._incoming: Work | None = None
        self._subscribers: list[Callable[[Event], None]] = []
        self._throttle = Throttle(progress_interval, self._progress_sent)
        self._journaled = _trusted.journaled(scheduler)
        # How a finished job's handle reads the job (``outcome``): the runtime's own reads.
        self._snapshot = functools.partial(_trusted.job, scheduler)
        self._records = functools.partial(_trusted.recorded, scheduler)
        self._timers = TaskTimers(_trusted.rng(scheduler))
        self._submit_default = _trusted.default_submitter(scheduler)
        self._complete = _trusted.completer(scheduler)
        self._record_task = _trusted.task_recorder(scheduler)
        # Task timeouts the engine enforces itself (a backend that cannot stop a task).
        self._watch = not backend.enforces_timeouts
        #: Calls that ran elsewhere, appended from any thread, for ``completed``.
        self.completions: deque[CallOutcome] = deque()
        #: Lanes and job functions in flight (a parked job function is not).
        self.in_flight = 0
        #: Set when something may have moved ``next_deadline()`` earlier.
        self.deadline_moved = False
        # Jobs whose attempt failed and will run again, to log once the call is over.
        self._retrying: list[tuple[Work, JobRecord]] = []
        # The engine learns of status changes as they happen, through the
        # core's watch hooks; it subscribes to the scheduler's events only
        # while the runtime has subscribers to pass them on to (``subscribe``).
        self._unwatch = _trusted.watch_transitions(scheduler, self._on_transition)
        self._unforward: Callable[[], None] | None = None

    def close(self) -> None:
        """Stop listening to the scheduler."""
        self._unwatch()
        if self._unforward is not None:
            self._unforward()
            self._unforward = None

    # ------------------------------------------------------------------ subscribers

    def subscribe(self, callback: Callable[[Event], None]) -> Callable[[], None]:
        """Send ``callback`` every scheduler event and every Progress event, in order."""
        subscribers = self._subscribers
        subscribers.append(callback)
        if self._unforward is None:
            # Events recorded while nobody listened were never built: count
            # the tasks recorded so far, and from here on count their events.
            for work in self._works.values():
                if work.started:
                    work.done = _trusted.recorded_count(self.scheduler, work.job_id)
            self._unforward = self.scheduler.subscribe(self._on_event)

        def unsubscribe() -> None:
            if callback in subscribers:
                subscribers.remove(callback)
                if not subscribers and self._unforward is not None:
                    self._unforward()
                    self._unforward = None

        return unsubscribe

    def _deliver(self, event: Event) -> None:
        for callback in tuple(self._subscribers):
            try:
                callback(event)
            except Exception:
                # A subscriber's bug must not stop the runtime reporting work.
                log.exception("runtime subscriber %r raised on %r", callback, event)

    def _on_event(self, event: Event) -> None:
        """Pass a scheduler event on to the runtime's subscribers (only while it has any)."""
        if type(event) is TaskRecorded:
            work = self._works.get(event.job_id)
            self._deliver(event)
            if work is not None:
                work.done += 1
                total = work.manifest.count
                if total:
                    self._offer(work, work.done / total, event.time)
            return
        self.deadline_moved = True
        self._deliver(event)

    def _on_transition(self, rec: JobRecord, now: float) -> None:
        """A job changed status (the core's watch hook, called as it happens).

        Only notes the job's newest status and marks it dirty; ``settle`` acts.
        """
        status = rec.status
        work = self._works.get(rec.id)
        if work is not None:
            work.status = status
            self._dirty[work.job_id] = None
            if status is _PAUSED:
                controls = rec.controls
                if controls is not None and controls.retrying:
                    # The attempt failed and the job will run again: the next
                    # attempt starts its work afresh.
                    self._retry(work)
                    self._retrying.append((work, rec))
        elif status is _S.PREPARING:
            incoming = self._incoming
            if incoming is not None and not incoming.job_id:
                self._bind(incoming, rec.id, status)
        elif status is _S.ACTIVE:
            self._orphans.append(rec.id)
        self.deadline_moved = True
        self._note_change()

    def _log_retries(self) -> None:
        for work, rec in self._retrying:
            controls = rec.controls
            assert controls is not None and controls.last_failure is not None
            log.warning(
                "job %r failed (%s: %s); attempt %d starts at %.3f",
                work.job_id,
                controls.last_failure.code,
                controls.last_failure.message,
                controls.attempt,
                controls.backoff_until,
                exc_info=work.exc,
            )
        self._retrying.clear()

    def _bind(self, work: Work, job_id: str, status: JobStatus) -> None:
        work.job_id = job_id
        work.status = status
        self._works[job_id] = work
        self._dirty[job_id] = None

    # ------------------------------------------------------------------ progress

    def _offer(self, work: Work, fraction: float, now: float) -> None:
        if self._throttle.offer(work, fraction, now):
            self.deadline_moved = True

    @property
    def progress_pending(self) -> bool:
        """Whether a merged progress update still waits for its time."""
        return bool(self._throttle.due)

    def set_progress(self, work: Work, fraction: float) -> None:
        """A job function reports its progress."""
        self.scheduler.set_progress(work.job_id, fraction)
        if self._subscribers or self._journaled:
            self._offer(work, float(fraction), self.now())

    # ------------------------------------------------------------------ timers

    def next_deadline(self) -> float | None:
        """When ``poll()`` next has work: a scheduler timer or a merged progress update."""
        deadline = self._scheduler_deadline()
        for due in (
            self._throttle.due[0][0] if self._throttle.due else None,
            self._timers.next_due(),
        ):
            if due is not None:
                deadline = due if deadline is None else min(deadline, due)
        return deadline

    def deadline_before(self, when: float) -> bool:
        """Whether ``next_deadline()`` is earlier than ``when``.

        Answered from lower bounds when they suffice (the first entry of
        each timer heap, stale ones included): a runtime asks after nearly
        every call, and the full answer cost about 0.25 us each time (the
        many-jobs case of benchmarks/bench_runtime.py).
        """
        bound = self._core_deadlines.earliest()
        if bound is None or bound >= when:
            due = self._throttle.due
            if not due or due[0][0] >= when:
                bound = self._timers.next_due()
                if bound is None or bound >= when:
                    return False
        deadline = self.next_deadline()
        return deadline is not None and deadline < when

    def poll(self) -> None:
        """Run the scheduler's due timers, send due progress updates, retry and time out tasks."""
        self.scheduler.poll()
        now = self.now()
        self._throttle.poll(now)
        for work, key, lane in self._timers.pop_due(now):
            if lane is None:
                work.returned.append(key)  # its backoff is over
            else:
                # The call cannot be stopped: forget it, and let a new lane take its place.
                lane.abandoned = True
                work.lanes.discard(lane)
                self.in_flight -= 1
                self._backend.cancel_lane(lane)
                assert work.task_timeout is not None
                if work.status in TASKS_ACCEPTED:
                    self._task_failed(work, key, TaskTimeout(key, work.task_timeout))
                self._backend.changed()
            self._dirty[work.job_id] = None

    # ------------------------------------------------------------------ submit

    def submit(
        self,
        task_fn: Callable[[str], object] | None,
        job_fn: Callable[..., object] | None,
        concurrency: int,
        tasks: TaskSource,
        on_result: Callable[[str, Any], object] | None,
        options: SubmitOptions,
        handle: object = None,
        allow_task_failures: bool = False,
        task_retry: Retry | None = None,
        task_timeout: float | None = None,
    ) -> str:
        """Submit a job whose work is ``task_fn`` over its tasks, or ``job_fn``; returns its id.

        ``handle`` (if given) is resolved when the job finishes (see ``_retire``).

        Raises:
            ValidationError, TypeError, ...: what ``Scheduler.submit`` raises; nothing is submitted.
        """
        manifest = Manifest()
        source = manifest.capture(tasks)
        work = Work("", task_fn, job_fn, concurrency, manifest, on_result)
        work.task_retry = task_retry
        work.task_timeout = task_timeout
        if handle is not None:
            work.handle = handle
            work.allow_task_failures = allow_task_failures
            if task_fn is not None:
                work.results = {}
        outer, self._incoming = self._incoming, work
        try:
            job_id = _trusted.submit(self.scheduler, {"tasks": source, **options})
        finally:
            self._incoming = outer
        log.debug("job %r submitted: %s", job_id, work.status)
        return job_id

    def submit_job(
        self,
        job_fn: Callable[..., object],
        concurrency: int,
        options: SubmitOptions,
        handle: object = None,
    ) -> str:
        """``submit`` for a job function and no tasks: the common case, with less to do.

        The job has no manifest to capture; with no option, the defaults go
        straight to the core's creation (see ``_trusted.default_submitter``).

        Raises:
            ValidationError, TypeError, ...: what ``Scheduler.submit`` raises; nothing is submitted.
        """
        work = Work("", None, job_fn, concurrency, _NO_TASKS)
        if handle is not None:
            work.handle = handle
        outer, self._incoming = self._incoming, work
        try:
            if options:
                job_id = _trusted.submit(self.scheduler, {"tasks": None, **options})
            else:
                job_id = self._submit_default()
        finally:
            self._incoming = outer
        if work.status is _ACTIVE:
            # It started at once, as a job in a queue with room does: launch
            # it here rather than in the next round of ``settle`` (what
            # ``_advance`` does for a new job function), a round less per job
            # (the many-jobs case of benchmarks/bench_runtime.py).
            self._dirty.pop(job_id, None)
            work.mode = Mode.RUN
            self._launch_job(work)
        return job_id

    def take_over(self, works: Iterable[tuple[str, JobStatus, Work | None]]) -> None:
        """Give jobs the scheduler already has their ``(job_id, status, work)``.

        A job given no work that holds a slot is failed (Active, Pausing) or
        acknowledged (Cancelling, Failing) when the runtime next settles; one
        that waits fails when it starts, as a job submitted to the scheduler
        directly does.
        """
        for job_id, status, work in works:
            if work is not None:
                self._bind(work, job_id, status)
            elif status in WORKING:
                self._orphans.append(job_id)

    def cancel_all(self) -> None:
        """Cancel every unfinished job that can be cancelled."""
        live = [s for s in _S if s not in _NOT_CANCELLABLE]
        for job_id in _trusted.job_ids(self.scheduler, live):
            self.guard(_trusted.cancel, self.scheduler, job_id)

    # ------------------------------------------------------------------ settle

    def settle(self) -> None:
        """Bring every dirty job's work in line with its status."""
        dirty = self._dirty
        if self._retrying:
            self._log_retries()
        while True:
            if dirty:
                job_id = next(iter(dirty))
                del dirty[job_id]
                dirty_work = self._works.get(job_id)
                if dirty_work is not None:
                    self.guard(self._advance, dirty_work)
            elif self._orphans:
                self.guard(self._fail_orphan, self._orphans.pop())
            else:
                return

    def completed(self, batch: Iterable[CallOutcome]) -> None:
        """Report calls that ran elsewhere, in order: lanes' keys, or job functions."""
        for work, lane, key, exc, value, after in batch:
            if lane is None:
                self.guard(self.fn_ended, work, exc, False, value)
            elif lane.ahead is None:
                self.guard(self.lane_step, work, lane, key, exc, value, False)
            else:
                self.guard(self.piped_step, work, lane, key, exc, value, after)

    def guard(self, fn: Callable[..., object], *args: object) -> None:
        """Call ``fn(*args)``; log what it raises rather than let it stop the caller."""
        try:
            fn(*args)
        except Exception:
            # Keep the runtime going; a broken job is logged, not fatal to others.
            log.exception("jobqueue runtime: %s%r failed", getattr(fn, "__name__", fn), args)

    def _fail_orphan(self, job_id: str) -> None:
        sched = self.scheduler
        if job_id in self._works or job_id not in sched:
            return
        status = _trusted.status(sched, job_id)
        if status in RUNNING:
            log.error("job %r started but the runtime has no work for it: failed", job_id)
            sched.fail(
                job_id, "the runtime has no task or job function for this job", code="HandlerError"
            )
        elif status is _S.CANCELLING:
            sched.cancelled(job_id)  # no work runs for it: it has stopped
        elif status is _S.FAILING:
            sched.fail(job_id)

    def _advance(self, work: Work) -> None:
        """Act on ``work.status``: the single place where work starts and stops."""
        status = work.status
        sched = self.scheduler
        job_id = work.job_id
        if status in TERMINAL:
            work.mode = Mode.DONE
            self._cancel_queued(work)
            if work.parked:
                self._unpark(work)
            if self._idle(work):
                self._retire(work)
            return
        if status in RUNNING:
            if work.fail_reason is not None:
                work.mode = Mode.FAIL
                self._cancel_queued(work)
                if self._idle(work):
                    reason = work.fail_reason
                    sched.fail(job_id, reason.message, code=reason.code)
                return
            if self._idle(work) and (
                work.fn_returned
                or (work.task_fn is not None and work.started and not self._has_pending(work))
            ):
                self._complete(job_id)
                if work.status is _S.COMPLETE and not work.parked:
                    # Finish it here rather than in the next round of
                    # ``settle`` (what the terminal branch above does for an
                    # idle job): a round less per job (the many-jobs case of
                    # benchmarks/bench_runtime.py).
                    self._dirty.pop(job_id, None)
                    work.mode = Mode.DONE
                    self._retire(work)
                return
        if status is _S.ACTIVE:
            if work.mode is not Mode.RUN:
                work.mode = Mode.RUN
                if work.parked:
                    self._unpark(work)
                elif not work.started and work.task_fn is not None:
                    self._start_tasks(work)
            if work.task_fn is not None:
                self._dispatch(work)
            elif not work.fn_running and not work.parked and not work.fn_returned:
                self._launch_job(work)
        elif status is _S.PAUSING:
            work.mode = Mode.PAUSE
            self._cancel_queued(work)
            if self._idle(work):
                sched.paused(job_id)
        elif status is _S.CANCELLING or status is _S.FAILING:
            work.mode = Mode.CANCEL if status is _S.CANCELLING else Mode.FAIL
            self._cancel_queued(work)
            if work.parked:
                self._unpark(work)
            if self._idle(work):
                if status is _S.CANCELLING:
                    sched.cancelled(job_id)
                else:
                    sched.fail(job_id)
        elif status is _S.PAUSED and work.mode is not Mode.STOP:
            work.mode = Mode.PAUSED

    def _retry(self, work: Work) -> None:
        """The job will run again: its next attempt starts its work afresh.

        A task job runs again the tasks with no recorded success (the scheduler
        dropped the failed ones); a job function runs again from the start. A
        job function still parked at a checkpoint is unwound first.
        """
        work.fail_reason = None
        work.fn_returned = False
        work.exc = None
        if work.errors:
            work.errors.clear()
        work.started = False
        work.next_index = 0
        work.returned.clear()
        work.done = 0
        work.generation += 1  # task retries still waiting belong to the attempt that failed
        work.delayed = 0
        work.attempts = None
        if work.parked:
            work.mode = Mode.STOP
            self._unpark(work)

    def _retire(self, work: Work) -> None:
        if self._works.get(work.job_id) is work:
            del self._works[work.job_id]
            if work.status is _S.FAILED:
                why = "see its failure reasons" if work.exc is None else describe(work.exc)
                log.error("job %r failed: %s", work.job_id, why, exc_info=work.exc)
            else:
                log.debug("job %r finished: %s", work.job_id, work.status)
            handle = work.handle
            if handle is not None:
                # Resolved here, in the call that finished the job: a handle
                # takes no lock of its own, and its done callbacks go to the
                # runtime's own thread or loop (see ``JobFuture``). The common
                # case, a job function that returned, is resolved here with its
                # value: without ``outcome``'s call, its tuple and the
                # unpacking, a handle costs about 1,000 machine instructions
                # less, a quarter of what is left (the many-jobs case of
                # benchmarks/bench_runtime.py, counted under callgrind with the
                # collector off).
                if work.status is _COMPLETE and work.job_fn is not None and not work.manifest.count:
                    handle._resolve(_RESULT, work.value)
                else:
                    handle._resolve(*outcome(work, self._snapshot, self._records))
            self._backend.changed()

    def unfinished_handles(self) -> list[tuple[str, Any]]:
        """``(job_id, handle)`` of every job with a handle that has not finished."""
        return [(w.job_id, w.handle) for w in self._works.values() if w.handle is not None]
