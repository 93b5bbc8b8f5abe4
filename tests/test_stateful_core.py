"""Random walks through the scheduler core, checked against a small reference model.

Two FIFO queues with a few slots and a short waiting cap see submissions
(deferred or not, with or without confirmation, named or not), completions,
failures, cancellations, confirmations, acknowledgements, run-time changes of
slots, share and cap, and the clock moving with ``poll()``. The model predicts
every status, every refusal (``LimitExceededError`` exactly when a limit is
reached) and every timer. Independently of the model, the event stream is
checked: every transition is in the table, terminal statuses never change,
and each queue starts its waiting jobs strictly in submission order (a job
confirmed late takes its place by submission, ahead of later submissions).

The machine runs in both acknowledgement modes (two subclasses).
"""

from __future__ import annotations

import bisect
import re
from collections.abc import Callable
from dataclasses import dataclass
from fractions import Fraction
from typing import ClassVar

import pytest
from helpers import fingerprint, job_ids
from hypothesis import event
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
)

from jobqueue import (
    TERMINAL,
    TRANSITIONS,
    ConflictError,
    Event,
    InvalidTransition,
    Job,
    JobPurged,
    JobQueueError,
    JobStatus,
    JobSubmitted,
    JobTransitioned,
    LimitExceededError,
    ManualClock,
    NotFound,
    Scheduler,
)

S = JobStatus
QUEUES = ("a", "b")
NAMES = ("n0", "n1", "n2")
SHARES = (0.29, 0.34, 0.5, 0.67, 0.9, 1.0)
CONFIRMATION_TIMEOUT = 50.0
RETENTION = 100.0
#: Statuses in which a job rests holding a slot. Cancelling and Failing hold
#: one only while acknowledgement is pending; without it they never last.
HOLDING = frozenset({S.ACTIVE, S.CANCELLING, S.FAILING})
UNFINISHED = frozenset(JobStatus) - TERMINAL


@dataclass
class ModelJob:
    id: str
    index: int  # submission order
    queue: str
    deferred: bool
    name: str | None
    status: JobStatus
    suspended_at: float | None = None
    finished_at: float | None = None
    purged: bool = False


@dataclass
class ModelQueue:
    slots: int
    share: float
    max_waiting: int
    line: list[str]  # Ready jobs, in submission order: the order they must start in

    @property
    def deferred_limit(self) -> int:
        # Exact decimal arithmetic: 0.29 of 100 slots is 29.
        return max(1, int(Fraction(str(self.share)) * self.slots))


class CoreMachine(RuleBasedStateMachine):
    """FIFO queues, slots, the deferred share, the cap and the state machine."""

    acknowledge: ClassVar[bool] = False

    def __init__(self) -> None:
        super().__init__()
        self.clock = ManualClock()
        self.sched = Scheduler(
            self.clock,
            acknowledge=self.acknowledge,
            confirmation_timeout=CONFIRMATION_TIMEOUT,
            retention=RETENTION,
            failure_threshold_tasks=1,
        )
        self.events: list[Event] = []
        self.sched.subscribe(self.events.append)
        self.consumed = 0
        # The reference model: every accepted submission, in creation order.
        self.jobs: dict[str, ModelJob] = {}
        self.queues: dict[str, ModelQueue] = {}
        # What the event stream alone says.
        self.seen_status: dict[str, JobStatus] = {}
        self.seen_line: dict[str, list[str]] = {q: [] for q in QUEUES}
        self.seen_submitted: dict[str, int] = {}
        self.terminal: dict[str, JobStatus] = {}
        # How far a queue may be over a limit that was lowered under it.
        self.over: dict[str, tuple[int, int, int]] = {q: (0, 0, 0) for q in QUEUES}

    # ------------------------------------------------------------------ model

    def holders(self, q: str) -> list[ModelJob]:
        return [j for j in self.jobs.values() if j.queue == q and j.status in HOLDING]

    def live(self, *statuses: JobStatus) -> list[str]:
        return [j.id for j in self.jobs.values() if j.status in statuses]

    def dispatch(self, q: str) -> None:
        mq = self.queues[q]
        while mq.line:
            holders = self.holders(q)
            deferred = sum(j.deferred for j in holders)
            if len(holders) >= mq.slots or deferred >= mq.deferred_limit:
                return
            self.jobs[mq.line.pop(0)].status = S.ACTIVE

    def enter(self, job: ModelJob) -> None:
        job.status = S.READY
        job.suspended_at = None
        if job.deferred:
            # A confirmed job takes its place by submission, ahead of later ones.
            bisect.insort(self.queues[job.queue].line, job.id, key=lambda j: self.jobs[j].index)
            self.dispatch(job.queue)
        else:
            job.status = S.ACTIVE  # the caller checked that a slot is free

    def finish(self, job: ModelJob, status: JobStatus) -> None:
        line = self.queues[job.queue].line
        if job.id in line:
            line.remove(job.id)
        job.status = status
        job.finished_at = self.clock.now()
        self.dispatch(job.queue)

    def room_error(self, job_queue: str, deferred: bool) -> str | None:
        """The ``LimitExceededError`` message a submission or confirmation must get, if any."""
        mq = self.queues[job_queue]
        if deferred and len(mq.line) >= mq.max_waiting:
            return f"queue {job_queue!r} is full: at most {mq.max_waiting} jobs may wait"
        if not deferred and len(self.holders(job_queue)) >= mq.slots:
            return f"no free slot in queue {job_queue!r}: all {mq.slots} slots are in use"
        return None

    def refused(self, call: Callable[[], object], error: type[JobQueueError], message: str) -> None:
        """``call()`` raises exactly ``error(message)`` and changes nothing observable."""
        before = fingerprint(self.sched)
        delivered = len(self.events)
        with pytest.raises(error, match=f"^{re.escape(message)}$") as info:
            call()
        assert type(info.value) is error
        event(f"refused: {error.__name__}: {message.split(':')[0].split(' ')[0]}")
        assert len(self.events) == delivered
        assert fingerprint(self.sched) == before

    # ------------------------------------------------------------------ events

    def consume_events(self) -> None:
        """Check the events of the last step on their own terms (no model involved)."""
        now = self.clock.now()
        for ev in self.events[self.consumed :]:
            assert ev.time == now
            if isinstance(ev, JobSubmitted):
                assert ev.job_id not in self.seen_status
                self.seen_status[ev.job_id] = S.NEW
                self.seen_submitted[ev.job_id] = len(self.seen_submitted)
            elif isinstance(ev, JobTransitioned):
                job = self.jobs[ev.job_id]
                assert ev.old is self.seen_status[ev.job_id]
                assert ev.new in TRANSITIONS[ev.old]  # so never out of a terminal status
                self.seen_status[ev.job_id] = ev.new
                if not job.deferred:
                    continue  # a non-deferred job never waits in the line
                line = self.seen_line[job.queue]
                if ev.new is S.READY:
                    bisect.insort(line, job.id, key=self.seen_submitted.__getitem__)
                elif ev.old is S.READY:
                    if ev.new is S.ACTIVE:
                        assert line[0] == job.id, f"{job.id} started before {line[0]}"
                        line.pop(0)
                    else:
                        line.remove(job.id)
            elif isinstance(ev, JobPurged):
                assert self.seen_status[ev.job_id] in TERMINAL
        self.consumed = len(self.events)

    # ------------------------------------------------------------------ rules

    @initialize(
        slots=st.tuples(st.integers(3, 5), st.integers(3, 5)),
        shares=st.tuples(st.sampled_from(SHARES), st.sampled_from(SHARES)),
        caps=st.tuples(st.integers(1, 3), st.integers(1, 3)),
    )
    def create_queues(
        self, slots: tuple[int, int], shares: tuple[float, float], caps: tuple[int, int]
    ) -> None:
        for q, n, share, cap in zip(QUEUES, slots, shares, caps, strict=True):
            info = self.sched.create_queue(q, slots=n, deferred_share=share, max_waiting=cap)
            self.queues[q] = ModelQueue(n, share, cap, [])
            assert info.deferred_limit == self.queues[q].deferred_limit
        self.consume_events()

    @rule(
        q=st.sampled_from(QUEUES),
        deferred=st.booleans(),
        confirm=st.booleans(),
        name=st.none() | st.sampled_from(NAMES),
        count=st.integers(1, 4),
    )
    def submit(self, q: str, deferred: bool, confirm: bool, name: str | None, count: int) -> None:
        # Several alike submissions in one step, so that the limits are reached
        # within a short walk; only the first carries the name.
        for i in range(count):
            self.submit_one(q, deferred, confirm, name if i == 0 else None)

    def submit_one(self, q: str, deferred: bool, confirm: bool, name: str | None) -> None:
        def call() -> str:
            job = self.sched.submit(
                queue=q, deferred=deferred, confirmation_required=confirm, name=name, tasks=["t"]
            )
            return job.id

        taken = {j.name for j in self.jobs.values() if j.status not in TERMINAL}
        limit = None if confirm else self.room_error(q, deferred)
        if name is not None and name in taken:
            message = f"job name {name!r} is already used by an unfinished job"
            self.refused(call, ConflictError, message)
        elif limit is not None:
            self.refused(call, LimitExceededError, limit)
        else:
            job_id = call()
            assert job_id not in self.jobs  # never a duplicate
            job = ModelJob(job_id, len(self.jobs), q, deferred, name, S.NEW)
            self.jobs[job_id] = job
            if confirm:
                job.status = S.SUSPENDED
                job.suspended_at = self.clock.now()
            else:
                self.enter(job)
            event(f"accepted: {job.status.value}, {'deferred' if deferred else 'non-deferred'}")
        self.consume_events()

    @precondition(lambda self: self.live(S.SUSPENDED))
    @rule(data=st.data())
    def confirm(self, data: st.DataObject) -> None:
        job = self.jobs[data.draw(st.sampled_from(self.live(S.SUSPENDED)))]
        limit = self.room_error(job.queue, job.deferred)
        if limit is not None:
            self.refused(lambda: self.sched.confirm(job.id), LimitExceededError, limit)
        else:
            self.enter(job)
            assert self.sched.confirm(job.id).status is job.status
        self.consume_events()

    @precondition(lambda self: self.live(S.ACTIVE))
    @rule(data=st.data())
    def complete(self, data: st.DataObject) -> None:
        job = self.jobs[data.draw(st.sampled_from(self.live(S.ACTIVE)))]
        self.finish(job, S.COMPLETE)
        assert self.sched.complete(job.id).status is S.COMPLETE
        self.consume_events()

    @precondition(lambda self: self.live(S.ACTIVE))
    @rule(data=st.data())
    def task_fails(self, data: st.DataObject) -> None:
        # One failed task out of one passes the task-failure threshold.
        job = self.jobs[data.draw(st.sampled_from(self.live(S.ACTIVE)))]
        if self.acknowledge:
            job.status = S.FAILING  # its work must still stop; it keeps its slot
        else:
            self.finish(job, S.FAILED)
        assert self.sched.record_task(job.id, "t", ok=False).status is job.status
        self.consume_events()

    @precondition(lambda self: self.live(S.SUSPENDED, S.READY, S.ACTIVE))
    @rule(data=st.data())
    def cancel(self, data: st.DataObject) -> None:
        self.operate(
            "cancel", data.draw(st.sampled_from(self.live(S.SUSPENDED, S.READY, S.ACTIVE)))
        )

    @precondition(lambda self: self.live(*UNFINISHED))
    @rule(data=st.data())
    def fail(self, data: st.DataObject) -> None:
        # Refused for Suspended and Cancelling jobs; acknowledges a Failing one.
        self.operate("fail", data.draw(st.sampled_from(self.live(*UNFINISHED))))

    @precondition(lambda self: self.jobs)
    @rule(
        data=st.data(),
        op=st.sampled_from(["confirm", "cancel", "complete", "fail", "paused", "cancelled"]),
    )
    def any_operation_on_any_job(self, data: st.DataObject, op: str) -> None:
        self.operate(op, data.draw(st.sampled_from(sorted(self.jobs))))

    def operate(self, op: str, job_id: str) -> None:
        """Request ``op`` on a job, predicting success or the exact refusal."""
        job = self.jobs[job_id]
        sched = self.sched
        calls: dict[str, Callable[[], Job]] = {
            "confirm": lambda: sched.confirm(job_id),
            "cancel": lambda: sched.cancel(job_id),
            "complete": lambda: sched.complete(job_id),
            "fail": lambda: sched.fail(job_id, "stopped"),
            "paused": lambda: sched.paused(job_id),
            "cancelled": lambda: sched.cancelled(job_id),
        }
        call = calls[op]
        if job.purged:
            self.refused(call, NotFound, f"unknown job {job_id!r}")
            self.consume_events()
            return
        current = job.status
        requested = {
            "confirm": S.READY,
            "cancel": S.CANCELLING,
            "complete": S.COMPLETE,
            "fail": S.FAILED if current is S.FAILING else S.FAILING,
            "paused": S.PAUSED,
            "cancelled": S.CANCELLED,
        }[op]
        if requested not in TRANSITIONS[current]:
            message = f"job {job_id!r} cannot go from {current.value} to {requested.value}"
            self.refused(call, InvalidTransition, message)
        elif op == "confirm":
            limit = self.room_error(job.queue, job.deferred)
            if limit is not None:
                self.refused(call, LimitExceededError, limit)
            else:
                self.enter(job)
                assert call().status is job.status
        else:
            if op == "cancel" and current is S.ACTIVE and self.acknowledge:
                job.status = S.CANCELLING  # holds its slot until cancelled()
            else:
                final = {"cancel": S.CANCELLED, "complete": S.COMPLETE, "fail": S.FAILED}
                self.finish(job, final.get(op, S.CANCELLED))
            assert call().status is job.status
        self.consume_events()

    @rule(
        q=st.sampled_from(QUEUES),
        slots=st.none() | st.integers(1, 6),
        share=st.none() | st.sampled_from(SHARES),
        cap=st.none() | st.integers(1, 4),
    )
    def update_queue(self, q: str, slots: int | None, share: float | None, cap: int | None) -> None:
        mq = self.queues[q]
        holders = self.holders(q)
        running_before = {j.id for j in holders if j.status is S.ACTIVE}
        deferred_before = sum(j.deferred for j in holders)
        if slots is not None:
            mq.slots = slots
        if share is not None:
            mq.share = share
        if cap is not None:
            mq.max_waiting = cap
        # Work admitted under the old limits may stay over the new ones.
        self.over[q] = (
            max(0, len(holders) - mq.slots),
            max(0, deferred_before - mq.deferred_limit),
            max(0, len(mq.line) - mq.max_waiting),
        )
        self.dispatch(q)
        info = self.sched.update_queue(q, slots=slots, deferred_share=share, max_waiting=cap)
        assert (info.slots, info.deferred_limit, info.max_waiting) == (
            mq.slots,
            mq.deferred_limit,
            mq.max_waiting,
        )
        # Lowering a limit never stops running work.
        assert all(self.sched.get(j).status is S.ACTIVE for j in running_before)
        self.consume_events()

    @rule(seconds=st.sampled_from([0.0, 1.0, 5.0, 20.0, 60.0]))
    def tick(self, seconds: float) -> None:
        self.clock.advance(seconds)
        now = self.clock.now()
        fired = 0
        for job in self.jobs.values():
            if job.status is S.SUSPENDED:
                assert job.suspended_at is not None
                if job.suspended_at + CONFIRMATION_TIMEOUT <= now:
                    self.finish(job, S.FAILED)
                    event("confirmation timed out")
                    fired += 1
            elif (
                job.finished_at is not None
                and not job.purged
                and job.finished_at + RETENTION <= now
            ):
                job.purged = True
                event("purged")
                fired += 1
        assert self.sched.poll() == fired
        self.consume_events()

    # ------------------------------------------------------------------ invariants

    @invariant()
    def scheduler_checks_itself(self) -> None:
        self.sched.check_invariants()

    @invariant()
    def agrees_with_the_model_and_holds_the_limits(self) -> None:
        # One snapshot per job per step, shared by the checks below.
        ids = job_ids(self.sched)
        snapshots = {job_id: self.sched.get(job_id) for job_id in ids}
        self.every_accepted_job_is_kept_once_with_the_predicted_status(ids, snapshots)
        self.terminal_statuses_never_change(snapshots)
        self.slots_share_and_cap_hold(snapshots)

    def every_accepted_job_is_kept_once_with_the_predicted_status(
        self, ids: list[str], snapshots: dict[str, Job]
    ) -> None:
        kept = [j for j in self.jobs.values() if not j.purged]
        assert ids == [j.id for j in kept]  # none lost, none duplicated
        assert len(self.sched) == len(kept)
        for job in kept:
            snapshot = snapshots[job.id]
            assert (snapshot.status, snapshot.queue) == (job.status, job.queue), job.id
            assert snapshot.status is self.seen_status[job.id]
        for job in self.jobs.values():
            if job.purged:
                assert job.id not in self.sched

    def terminal_statuses_never_change(self, snapshots: dict[str, Job]) -> None:
        for job in self.jobs.values():
            if job.id in self.terminal and not job.purged:
                assert snapshots[job.id].status is self.terminal[job.id]
            elif job.status in TERMINAL:
                self.terminal[job.id] = job.status

    def slots_share_and_cap_hold(self, snapshots: dict[str, Job]) -> None:
        for q, mq in self.queues.items():
            in_queue = [s for s in snapshots.values() if s.queue == q]
            holding = [s for s in in_queue if s.status in HOLDING]
            deferred = sum(s.deferred for s in holding)
            waiting = sum(s.status is S.READY for s in in_queue)
            info = self.sched.get_queue(q)
            assert (info.running, info.waiting) == (len(holding), waiting)
            over = (
                max(0, len(holding) - mq.slots),
                max(0, deferred - mq.deferred_limit),
                max(0, waiting - mq.max_waiting),
            )
            # Over a limit only by what was admitted before it was lowered, and
            # never further over than at the previous step.
            allowed = self.over[q]
            if any(over):
                event("over a lowered limit")
            assert all(o <= a for o, a in zip(over, allowed, strict=True)), (q, over, allowed)
            self.over[q] = over

    @invariant()
    def fifo_line_is_the_models(self) -> None:
        for q, mq in self.queues.items():
            assert self.seen_line[q] == mq.line
            for ahead, job_id in enumerate(mq.line):
                position = self.sched.position(job_id)
                assert position is not None
                assert (position.queue, position.ahead) == (q, ahead)

    @invariant()
    def next_deadline_is_the_models(self) -> None:
        deadlines = [
            j.suspended_at + CONFIRMATION_TIMEOUT
            for j in self.jobs.values()
            if j.status is S.SUSPENDED and j.suspended_at is not None
        ]
        deadlines += [
            j.finished_at + RETENTION
            for j in self.jobs.values()
            if j.finished_at is not None and not j.purged
        ]
        assert self.sched.next_deadline() == (min(deadlines) if deadlines else None)


class AcknowledgingCoreMachine(CoreMachine):
    """The same walk when running work must acknowledge cancels and failures."""

    acknowledge = True

    @precondition(lambda self: self.live(S.CANCELLING, S.FAILING))
    @rule(data=st.data())
    def acknowledge_stop(self, data: st.DataObject) -> None:
        job_id = data.draw(st.sampled_from(self.live(S.CANCELLING, S.FAILING)))
        op = "cancelled" if self.jobs[job_id].status is S.CANCELLING else "fail"
        self.operate(op, job_id)


TestCoreImmediate = CoreMachine.TestCase
TestCoreAcknowledged = AcknowledgingCoreMachine.TestCase
