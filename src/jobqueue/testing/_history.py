"""The properties that need history: checked on the event stream, replayed into a model.

Theory of operation: ``HistoryChecker`` subscribes to a scheduler and keeps a
small model of it built only from events: each job's status, queue, priority
and order of entry into its queue, each queue's line and whether it is paused.
At every event it checks what only the history shows (start order,
preemption, hops, the transition table), and ``check()`` also compares the
model with the scheduler's own snapshots, so the two cannot drift apart
silently. The state invariants themselves are ``Scheduler.check_invariants()``.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping

import attrs

from .._errors import InvariantViolation, NotFound
from .._events import (
    Event,
    JobHopped,
    JobPurged,
    JobSubmitted,
    JobTransitioned,
    PriorityChanged,
    QueueEvent,
    TaskRecorded,
)
from .._scheduler import Scheduler
from .._states import TERMINAL, TRANSITIONS, JobStatus
from ..policies._base import LineOrder

__all__ = ["HistoryChecker", "JobModel", "PropertyFailed"]

_S = JobStatus
_PREEMPTED = "preempted by "


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
        recorded: the task keys whose outcome was recorded.
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
    * **events agree with state**: every job the events describe exists with
      that status, queue and priority, and no other job exists.

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
            self._job(event.job_id).recorded.add(event.record.key)
        elif isinstance(event, JobPurged):
            job = self._job(event.job_id)
            if job.status not in TERMINAL:
                raise PropertyFailed("purge", f"job {job.id!r} was purged while {job.status}")
            del self.jobs[job.id]
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
            preemptible = self._sched.get(event.job_id).preemptible
        except NotFound:
            preemptible = True  # purged already; nothing left to preempt
        self.jobs[event.job_id] = JobModel(
            id=event.job_id,
            status=_S.NEW,
            queue=event.queue,
            priority=event.priority,
            deferred=event.deferred,
            preemptible=preemptible,
            name=event.name,
            entry=next(self._entries),
        )

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
        if new is _S.ACTIVE and job.waiting:
            self._check_start(job)
            self._leave_line(job)
        elif new in (_S.CANCELLING, _S.FAILING) and job.waiting:
            self._leave_line(job)
        elif new is _S.PAUSING and event.reason.startswith(_PREEMPTED):
            self._check_preemption(job, event.reason[len(_PREEMPTED) :])
        job.status = new
        if (new is _S.READY and job.deferred) or new is _S.PAUSED:
            self._join_line(job)

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
        job.entry = next(self._entries)
        self._join_line(job)

    # ------------------------------------------------------------------ properties

    def _check_start(self, job: JobModel) -> None:
        order = self._orders.get(job.queue)
        if order is None:
            return
        for other in self._lines.get(job.queue, {}).values():
            if other is job:
                continue
            if order == "fifo" and other.entry < job.entry:
                raise PropertyFailed(
                    "fifo start order",
                    f"job {job.id!r} started in queue {job.queue!r} while job {other.id!r}, "
                    "which entered the queue before it, waited",
                )
            if order == "priority" and (
                other.priority > job.priority
                or (other.priority == job.priority and other.entry < job.entry)
            ):
                raise PropertyFailed(
                    "priority start order",
                    f"job {job.id!r} (priority {job.priority}) started in queue {job.queue!r} "
                    f"while job {other.id!r} (priority {other.priority}) waited"
                    + (" and entered before it" if other.priority == job.priority else ""),
                )

    def _check_preemption(self, victim: JobModel, by: str) -> None:
        if not victim.preemptible:
            raise PropertyFailed(
                "preemption", f"job {victim.id!r} is not preemptible but was preempted by {by!r}"
            )
        winner = self.jobs.get(by)
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

    def _join_line(self, job: JobModel) -> None:
        job.waiting = True
        self._lines.setdefault(job.queue, {})[job.id] = job

    def _leave_line(self, job: JobModel) -> None:
        job.waiting = False
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
