"""The properties that need history: checked on the event stream, replayed into a model.

Theory of operation: ``HistoryChecker`` subscribes to a scheduler and keeps a
small model of it built only from events: each job's status, queue, priority,
order of entry into its queue and retry attempt, each queue's line and
whether it is paused. At every event it checks what only the history shows
(start order, preemption, hops, the transition table, the job controls), and
``check()`` also compares the model with the scheduler's own snapshots, so
the two cannot drift apart silently. The state invariants themselves are
``Scheduler.check_invariants()``.

One moment has no event: a job whose retry backoff ends joins the back of its
line inside ``poll()``, silently unless it starts at once. The model takes it
back into its line when an event shows it there (it starts, or preempts) or
when ``check()`` finds its backoff over; its place among the jobs that
entered in the same stretch is then unknown (``JobModel.entered_after``),
and the start-order checks compare it only with jobs that surely entered
before or after it.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping, Sequence

import attrs

from .._controls import Dependency, PendingCode, Retry
from .._errors import InvariantViolation, NotFound
from .._events import (
    Event,
    HoldLifted,
    JobHopped,
    JobPurged,
    JobSubmitted,
    JobTransitioned,
    PriorityChanged,
    QueueEvent,
    RetryScheduled,
    TaskRecorded,
)
from .._model import StatusChange
from .._scheduler import Scheduler
from .._states import TERMINAL, TRANSITIONS, JobStatus
from .._tasks import TaskStatus
from ..policies._base import LineOrder

__all__ = ["HistoryChecker", "JobModel", "PropertyFailed"]

_S = JobStatus
_PREEMPTED = "preempted by "
_NEVER_SATISFIED = "DependencyNeverSatisfied"


class PropertyFailed(InvariantViolation):
    """A property checked by ``jobqueue.testing`` does not hold.

    The message starts with the property's name, then says what happened:
    ``"priority start order: job 'job-4' (priority 0) started in queue 'q0'
    while job 'job-3' (priority 2) waited"``.

    Attributes:
        property: the name of the broken property.
        detail: what broke it.
    """

    def __init__(self, property: str, detail: str) -> None:
        self.property = property
        self.detail = detail
        super().__init__(f"{property}: {detail}")


@attrs.define(eq=False)
class JobModel:
    """What the event stream says about one job.

    Attributes:
        id: the job's id.
        status: its latest status.
        queue: the queue it is in (or ran in).
        priority: its current priority.
        deferred: whether it was submitted deferred.
        preemptible: whether it may be preempted.
        name: its name, if any.
        entry: its order of entry into its queue (lower entered earlier).
        waiting: whether it waits in its queue's line (Ready or Paused there).
        recorded: the task keys whose outcome was recorded (and still counts:
            a retry drops the failed ones).
        failed_tasks: the recorded task keys whose outcome was a failure.
        not_before: the time before which it may not start, if any.
        after: the jobs it waits on.
        retry: its retry settings, if any.
        attempt: its attempt, by the events (1 plus the retries scheduled).
        backoff: whether it waits out a retry's backoff, outside any line.
        since: when it joined its current line, by the events (for a job back
            from a backoff, when the model saw it back); ``None`` if it waits
            in none.
        entered_after: for a job back from a retry's backoff, the last
            ``entry`` surely given before it re-entered: it entered somewhere
            after that one, but where among the later ones is unknown.
            ``None`` when ``entry`` is exact.
        history: New at its submission, then each transition, at its time.
    """

    id: str
    status: JobStatus
    queue: str
    priority: int
    deferred: bool
    preemptible: bool
    name: str | None
    entry: int
    waiting: bool = False
    recorded: set[str] = attrs.field(factory=set)
    failed_tasks: set[str] = attrs.field(factory=set)
    not_before: float | None = None
    after: tuple[Dependency, ...] = ()
    retry: Retry | None = None
    attempt: int = 1
    backoff: bool = False
    since: float | None = None
    entered_after: int | None = None
    history: list[StatusChange] = attrs.field(factory=list)

    def surely_before(self, other: JobModel) -> bool:
        """Whether this job surely entered its queue before ``other`` did."""
        # Every entry up to ``floor`` was given before ``other`` entered.
        floor = other.entry - 1 if other.entered_after is None else other.entered_after
        return self.entry <= floor


class HistoryChecker:
    """Check the history-dependent properties of a scheduler's event stream.

    Attach it to a fresh scheduler (before the first submission), call
    ``check()`` whenever you like (after every step in a stateful test); it
    raises ``PropertyFailed`` naming the first property broken since the last
    call. Properties:

    * **transition table**: every transition starts from the job's last status,
      is in ``TRANSITIONS``, and no terminal status ever changes;
    * **fifo start order** (queues declared ``"fifo"``): a job leaving the line
      to start entered the queue before every job still waiting there;
    * **priority start order** (queues declared ``"priority"``): no job starts
      from the line while one of higher priority, or of equal priority that
      entered earlier, waits in the same queue;
    * **preemption**: only a preemptible job is preempted, only for a waiting
      job of the same queue with strictly higher priority;
    * **hops**: only a waiting job hops, never out of a paused queue;
    * **purge**: only finished jobs are purged;
    * **holds**: a hold lifts (``HoldLifted``) only on a Suspended job;
    * **not before**: no job starts before its ``not_before``;
    * **dependencies**: no job starts before each job it depends on ended as
      its ``on`` asks (Complete for ``"ok"``, Failed or Cancelled for
      ``"failed"``), and none fails with ``DependencyNeverSatisfied`` while
      every dependency could still be met;
    * **retry attempts**: each ``RetryScheduled`` names the next attempt, never
      beyond ``Retry.attempts``, and a job's attempt is 1 plus the retries
      scheduled for it, so preemptions and pauses never spend one;
    * **events agree with state**: every job the events describe exists with
      that status, queue and priority, and no other job exists;
    * **history**: a job's ``history`` is New at its submission, then each of
      its transitions, at their times.

    Args:
        sched: the scheduler to watch.
        orders: each queue's declared line order (``"fifo"``, ``"priority"``
            or ``None``); queues not listed declare none.

    Attributes:
        jobs: every job the events describe, by id (purged jobs are dropped).
        paused_queues: the queues paused now, by the events.
        unsubscribe: call it to stop watching.
    """

    def __init__(self, sched: Scheduler, orders: Mapping[str, LineOrder | None] = {}) -> None:
        self._sched = sched
        self._orders = dict(orders)
        self._events: list[Event] = []
        self._entries = itertools.count()
        self.jobs: dict[str, JobModel] = {}
        self.paused_queues: set[str] = {q.name for q in sched.list_queues() if q.paused}
        self._lines: dict[str, dict[str, JobModel]] = {}
        self._last_entry = -1  # the last entry given
        self._stretch_start = -1  # the last entry given before the current check()
        self._ended: dict[str, JobStatus] = {}  # how each job ended, kept after a purge
        self._backoff: dict[str, float] = {}  # jobs in a retry's backoff: when it ends
        self.unsubscribe = sched.subscribe(self._events.append)

    def set_order(self, queue: str, order: LineOrder | None) -> None:
        """Declare (or clear) the line order of ``queue`` from now on."""
        self._orders[queue] = order

    def line(self, queue: str) -> list[JobModel]:
        """The jobs waiting in ``queue``'s line, by the events, in entry order."""
        return sorted(self._lines.get(queue, {}).values(), key=lambda m: m.entry)

    def live_names(self) -> set[str]:
        """Names held by unfinished jobs."""
        return {m.name for m in self.jobs.values() if m.name and m.status not in TERMINAL}

    def check(self) -> None:
        """Replay the events since the last call, then compare the model with the scheduler.

        Raises:
            PropertyFailed: naming the first broken property.
        """
        events, self._events[:] = list(self._events), []
        touched: set[str] = set()
        for event in events:
            self.feed(event)
            job_id = getattr(event, "job_id", None)
            if isinstance(job_id, str):
                touched.add(job_id)
        self._find_backoffs_over()
        self._stretch_start = self._last_entry
        self._agree(touched)

    def feed(self, event: Event) -> None:
        """Replay one event into the model, checking the properties it touches.

        ``check()`` does this for every event the scheduler delivered; call it
        yourself only to replay events you recorded.

        Raises:
            PropertyFailed: naming the broken property.
        """
        if isinstance(event, JobSubmitted):
            self._submitted(event)
        elif isinstance(event, JobTransitioned):
            self._transitioned(event)
        elif isinstance(event, JobHopped):
            self._hopped(event)
        elif isinstance(event, PriorityChanged):
            self._job(event.job_id).priority = event.new
        elif isinstance(event, TaskRecorded):
            job = self._job(event.job_id)
            job.recorded.add(event.record.key)
            if event.record.status is TaskStatus.FAILED:
                job.failed_tasks.add(event.record.key)
        elif isinstance(event, RetryScheduled):
            self._retry_scheduled(event)
        elif isinstance(event, HoldLifted):
            job = self._job(event.job_id)
            if job.status is not JobStatus.SUSPENDED:
                raise PropertyFailed(
                    "holds",
                    f"a {event.hold} hold of job {job.id!r} lifted while it was {job.status}",
                )
        elif isinstance(event, JobPurged):
            job = self._job(event.job_id)
            if job.status not in TERMINAL:
                raise PropertyFailed("purge", f"job {job.id!r} was purged while {job.status}")
            del self.jobs[job.id]
            self._backoff.pop(job.id, None)
        elif isinstance(event, QueueEvent):
            if event.change == "paused":
                self.paused_queues.add(event.queue)
            elif event.change in ("resumed", "deleted"):
                self.paused_queues.discard(event.queue)

    # ------------------------------------------------------------------ events

    def _job(self, job_id: str) -> JobModel:
        job = self.jobs.get(job_id)
        if job is None:
            raise PropertyFailed("events agree with state", f"event for unknown job {job_id!r}")
        return job

    def _submitted(self, event: JobSubmitted) -> None:
        if event.job_id in self.jobs:
            raise PropertyFailed("events agree with state", f"job {event.job_id!r} submitted twice")
        try:
            snap = self._sched.get(event.job_id)
        except NotFound:
            snap = None  # purged already; nothing left to check
        self.jobs[event.job_id] = JobModel(
            id=event.job_id,
            status=_S.NEW,
            queue=event.queue,
            priority=event.priority,
            deferred=event.deferred,
            preemptible=True if snap is None else snap.preemptible,
            name=event.name,
            entry=self._next_entry(),
            not_before=None if snap is None else snap.not_before,
            after=() if snap is None else snap.after,
            retry=None if snap is None else snap.retry,
            history=[StatusChange(event.time, _S.NEW)],
        )

    def _next_entry(self) -> int:
        self._last_entry = next(self._entries)
        return self._last_entry

    def _transitioned(self, event: JobTransitioned) -> None:
        job = self._job(event.job_id)
        old, new = event.old, event.new
        if old is not job.status:
            raise PropertyFailed(
                "transition table",
                f"job {job.id!r} went {old} -> {new}, but its last status was {job.status}",
            )
        if old in TERMINAL:
            raise PropertyFailed(
                "transition table", f"job {job.id!r} left terminal status {old} for {new}"
            )
        if new not in TRANSITIONS[old]:
            raise PropertyFailed("transition table", f"job {job.id!r} went {old} -> {new}")
        if job.backoff:
            if new is _S.ACTIVE:
                self._back_in_line(job, event.time)  # its backoff ended: it rejoined and starts
            else:
                self._end_backoff(job)
        if new is _S.ACTIVE:
            self._check_controls_at_start(job, event.time)
        if new is _S.ACTIVE and job.waiting:
            self._check_start(job)
            self._leave_line(job)
        elif new in (_S.CANCELLING, _S.FAILING) and job.waiting:
            self._leave_line(job)
        elif new is _S.PAUSING and event.reason.startswith(_PREEMPTED):
            self._check_preemption(job, event.reason[len(_PREEMPTED) :], event.time)
        if new is _S.FAILING and event.reason == _NEVER_SATISFIED:
            self._check_never_satisfied(job)
        job.status = new
        job.history.append(StatusChange(event.time, new))
        if new in TERMINAL:
            self._ended[job.id] = new
        if (new is _S.READY and job.deferred) or new is _S.PAUSED:
            self._join_line(job, event.time)

    def _hopped(self, event: JobHopped) -> None:
        job = self._job(event.job_id)
        if not job.waiting or job.queue != event.source:
            raise PropertyFailed(
                "hops",
                f"job {job.id!r} hopped from {event.source!r} while not waiting there "
                f"({job.status} in {job.queue!r})",
            )
        if event.source in self.paused_queues:
            raise PropertyFailed(
                "hops", f"job {job.id!r} hopped out of paused queue {event.source!r}"
            )
        self._leave_line(job)
        job.queue = event.destination
        job.priority = event.priority
        job.entry = self._next_entry()
        job.entered_after = None
        self._join_line(job, event.time)

    def _retry_scheduled(self, event: RetryScheduled) -> None:
        job = self._job(event.job_id)
        if job.retry is None:
            raise PropertyFailed(
                "retry attempts",
                f"job {job.id!r} has no retry, but attempt {event.attempt} was scheduled",
            )
        if event.attempt != job.attempt + 1:
            raise PropertyFailed(
                "retry attempts",
                f"job {job.id!r} was on attempt {job.attempt}, "
                f"but attempt {event.attempt} was scheduled",
            )
        if event.attempt > job.retry.attempts:
            raise PropertyFailed(
                "retry attempts",
                f"job {job.id!r} was scheduled attempt {event.attempt} "
                f"of at most {job.retry.attempts}",
            )
        job.attempt = event.attempt
        # A retry drops the failed task outcomes: their tasks may be recorded again.
        job.recorded -= job.failed_tasks
        job.failed_tasks.clear()
        self._leave_line(job)
        job.backoff = True
        self._backoff[job.id] = event.until

    def _back_in_line(self, job: JobModel, time: float) -> None:
        """``job``'s backoff ended: it joined the back of its line somewhere in this stretch."""
        self._end_backoff(job)
        job.entry = self._next_entry()
        job.entered_after = self._stretch_start
        self._join_line(job, time)

    def _end_backoff(self, job: JobModel) -> None:
        job.backoff = False
        self._backoff.pop(job.id, None)

    def _find_backoffs_over(self) -> None:
        """Take back into their lines the jobs whose backoff ended without an event."""
        if not self._backoff:
            return
        now = self._sched.clock.now()
        for job_id, until in list(self._backoff.items()):
            if until > now:
                continue
            reason = self._sched.pending_reason(job_id)
            if reason is None or reason.code is not PendingCode.RETRY_BACKOFF:
                self._back_in_line(self.jobs[job_id], now)

    # ------------------------------------------------------------------ properties

    def _check_start(self, job: JobModel) -> None:
        order = self._orders.get(job.queue)
        if order is None:
            return
        for other in self._lines.get(job.queue, {}).values():
            if other is job:
                continue
            if order == "fifo" and other.surely_before(job):
                raise PropertyFailed(
                    "fifo start order",
                    f"job {job.id!r} started in queue {job.queue!r} while job {other.id!r}, "
                    "which entered the queue before it, waited",
                )
            if order == "priority" and (
                other.priority > job.priority
                or (other.priority == job.priority and other.surely_before(job))
            ):
                raise PropertyFailed(
                    "priority start order",
                    f"job {job.id!r} (priority {job.priority}) started in queue {job.queue!r} "
                    f"while job {other.id!r} (priority {other.priority}) waited"
                    + (" and entered before it" if other.priority == job.priority else ""),
                )

    def _check_preemption(self, victim: JobModel, by: str, time: float) -> None:
        if not victim.preemptible:
            raise PropertyFailed(
                "preemption", f"job {victim.id!r} is not preemptible but was preempted by {by!r}"
            )
        winner = self.jobs.get(by)
        if winner is not None and winner.backoff:
            self._back_in_line(winner, time)  # its backoff ended: it rejoined and preempts
        if winner is None or not winner.waiting or winner.queue != victim.queue:
            raise PropertyFailed(
                "preemption",
                f"job {victim.id!r} was preempted by job {by!r}, "
                f"which does not wait in queue {victim.queue!r}",
            )
        if winner.priority <= victim.priority:
            raise PropertyFailed(
                "preemption",
                f"job {victim.id!r} (priority {victim.priority}) was preempted by job "
                f"{by!r} of equal or lower priority ({winner.priority})",
            )

    def _check_controls_at_start(self, job: JobModel, time: float) -> None:
        if job.not_before is not None and time < job.not_before:
            raise PropertyFailed(
                "not before",
                f"job {job.id!r} started at {time!r}, before its not_before {job.not_before!r}",
            )
        for dep in job.after:
            ended = self._ended.get(dep.job_id)
            if ended is None:
                raise PropertyFailed(
                    "dependencies",
                    f"job {job.id!r} started at {time!r} while job {dep.job_id!r}, "
                    "which it depends on, had not ended",
                )
            if not _meets(dep, ended):
                raise PropertyFailed(
                    "dependencies",
                    f"job {job.id!r} started at {time!r}, but job {dep.job_id!r}, which it "
                    f"depends on with on={dep.on!r}, ended {ended}",
                )

    def _check_never_satisfied(self, job: JobModel) -> None:
        for dep in job.after:
            ended = self._ended.get(dep.job_id)
            if ended is not None and not _meets(dep, ended):
                return
        raise PropertyFailed(
            "dependencies",
            f"job {job.id!r} failed with {_NEVER_SATISFIED}, but no job it depends on "
            "ended the wrong way",
        )

    def _join_line(self, job: JobModel, time: float) -> None:
        job.waiting = True
        job.since = time
        self._lines.setdefault(job.queue, {})[job.id] = job

    def _leave_line(self, job: JobModel) -> None:
        job.waiting = False
        job.since = None
        self._lines.get(job.queue, {}).pop(job.id, None)

    def _agree(self, touched: set[str]) -> None:
        # A finished job the events did not touch cannot have changed: only
        # unfinished jobs and the ones just touched are compared one by one.
        sched = self._sched
        if len(sched) != len(self.jobs):
            raise PropertyFailed(
                "events agree with state",
                f"the scheduler keeps {len(sched)} jobs, the events describe {len(self.jobs)}",
            )
        for job in self.jobs.values():
            if job.status in TERMINAL and job.id not in touched:
                continue
            try:
                snap = sched.get(job.id)
            except NotFound:
                raise PropertyFailed(
                    "events agree with state", f"job {job.id!r} is lost: get() does not find it"
                ) from None
            if (snap.status, snap.queue, snap.priority) != (job.status, job.queue, job.priority):
                raise PropertyFailed(
                    "events agree with state",
                    f"job {job.id!r} is {snap.status} in {snap.queue!r} at priority "
                    f"{snap.priority}; the events say {job.status} in {job.queue!r} at "
                    f"priority {job.priority}",
                )
            if snap.history != tuple(job.history):
                raise PropertyFailed(
                    "history",
                    f"job {job.id!r} has history {_changes(snap.history)}; the events say "
                    f"{_changes(job.history)}",
                )
            if snap.attempt != job.attempt:
                retries = job.attempt - 1
                raise PropertyFailed(
                    "retry attempts",
                    f"job {job.id!r} is on attempt {snap.attempt}, but {retries} "
                    f"retr{'y was' if retries == 1 else 'ies were'} scheduled for it",
                )
            limit = 1 if snap.retry is None else snap.retry.attempts
            if snap.attempt > limit:
                raise PropertyFailed(
                    "retry attempts",
                    f"job {job.id!r} is on attempt {snap.attempt} of at most {limit}",
                )


def _changes(history: Sequence[StatusChange]) -> str:
    return ", ".join(f"{c.status} at {c.time!r}" for c in history)


def _meets(dep: Dependency, ended: JobStatus) -> bool:
    """Whether a job that ended ``ended`` meets ``dep``."""
    if dep.on == "ok":
        return ended is _S.COMPLETE
    if dep.on == "failed":
        return ended in (_S.FAILED, _S.CANCELLED)
    return True
