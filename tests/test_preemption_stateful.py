"""Stateful tests of priority and preemption, in both acknowledgement modes.

Random submissions (random priorities, preemptible or not, mostly deferred),
completions, cancellations, failures, priority changes, acknowledgements and
clock moves run against two preemptive priority queues. The machine rebuilds
each job's status and priority from the event stream, so it can check every
start and every preemption at the moment it happened, not only after the call:

* every start from the line (Ready or Paused -> Active) is of a job whose
  priority is at least that of every job still waiting in its queue (a
  non-deferred job starting at submission is exempt: it never waits);
* every preemption is of an Active, preemptible job, for a waiting job of
  strictly higher priority in the same queue;
* after each step: ``check_invariants()``, Active + Pausing jobs (and every
  slot holder) within the queue's slots, every submitted job present in the
  status the events say, and no preemption left undone (the head of a line
  never waits while an Active job it may preempt runs).

The teardown lets the load drop: it acknowledges and completes everything
running until no job is left unfinished, and checks that every job that was
Paused resumed and completed.
"""

from __future__ import annotations

from typing import ClassVar

from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    invariant,
    precondition,
    rule,
)

from jobqueue import (
    TERMINAL,
    Event,
    JobStatus,
    JobSubmitted,
    JobTransitioned,
    LimitExceededError,
    ManualClock,
    PriorityChanged,
    Scheduler,
)

S = JobStatus
QUEUES = {"p": (3, 0.67), "q": (2, 1.0)}  # name: (slots, deferred share)
WAITING = frozenset({S.READY, S.PAUSED})
RUNNING = frozenset({S.ACTIVE, S.PAUSING})
priorities = st.integers(-2, 3)


class PreemptionMachine(RuleBasedStateMachine):
    """Priority queues with preemption; pauses complete at once."""

    acknowledge: ClassVar[bool] = False

    def __init__(self) -> None:
        super().__init__()
        self.clock = ManualClock()
        self.sched = Scheduler(self.clock, acknowledge=self.acknowledge)
        for name, (slots, share) in QUEUES.items():
            self.sched.create_queue(
                name, slots=slots, deferred_share=share, policy="priority", preemption=True
            )
        # What the event stream says, event by event.
        self.status: dict[str, JobStatus] = {}
        self.priority: dict[str, int] = {}
        self.queue: dict[str, str] = {}
        self.deferred: dict[str, bool] = {}
        self.preemptible: dict[str, bool] = {}
        self.ever_paused: set[str] = set()
        self.problems: list[str] = []
        self.next_preemptible = True
        self.sched.subscribe(self.on_event)

    # -- the event-stream model -------------------------------------------------

    def on_event(self, event: Event) -> None:
        if isinstance(event, JobSubmitted):
            self.status[event.job_id] = S.NEW
            self.priority[event.job_id] = event.priority
            self.queue[event.job_id] = event.queue
            self.deferred[event.job_id] = event.deferred
            self.preemptible[event.job_id] = self.next_preemptible
        elif isinstance(event, PriorityChanged):
            self.priority[event.job_id] = event.new
        elif isinstance(event, JobTransitioned):
            self.on_transition(event)

    def on_transition(self, event: JobTransitioned) -> None:
        job = event.job_id
        if self.status[job] is not event.old:
            self.problems.append(f"{job}: event says {event.old}, stream had {self.status[job]}")
        if event.new is S.ACTIVE and not (event.old is S.READY and not self.deferred[job]):
            mine = self.priority[job]
            for other, st_ in self.status.items():
                if (
                    other != job
                    and st_ in WAITING
                    and self.queue[other] == self.queue[job]
                    and self.priority[other] > mine
                ):
                    self.problems.append(
                        f"{job} ({mine}) started while {other} ({self.priority[other]}) waited"
                    )
        if event.new is S.PAUSING:
            self.check_preemption(job, event.reason)
        if event.new is S.PAUSED:
            self.ever_paused.add(job)
        self.status[job] = event.new

    def check_preemption(self, victim: str, reason: str) -> None:
        prefix = "preempted by "
        if not reason.startswith(prefix):
            self.problems.append(f"{victim} paused for no preemption: {reason!r}")
            return
        by = reason[len(prefix) :]
        if not self.preemptible[victim]:
            self.problems.append(f"non-preemptible {victim} was preempted by {by}")
        if self.status[victim] is not S.ACTIVE:
            self.problems.append(f"{victim} preempted while {self.status[victim]}")
        if self.status.get(by) not in WAITING or self.queue[by] != self.queue[victim]:
            self.problems.append(f"{victim} preempted by {by}, which does not wait beside it")
        if self.priority[by] <= self.priority[victim]:
            self.problems.append(
                f"{victim} ({self.priority[victim]}) preempted by {by} ({self.priority[by]})"
            )

    def with_status(self, *statuses: JobStatus) -> list[str]:
        return sorted(j for j, s in self.status.items() if s in statuses)

    # -- rules ------------------------------------------------------------------

    @rule(
        queue=st.sampled_from(sorted(QUEUES)),
        priority=priorities,
        preemptible=st.sampled_from([True, True, False]),
        deferred=st.sampled_from([True, True, True, False]),
    )
    def submit(self, queue: str, priority: int, preemptible: bool, deferred: bool) -> None:
        before = len(self.sched)
        full = self.sched.get_queue(queue).running >= QUEUES[queue][0]
        self.next_preemptible = preemptible
        try:
            job = self.sched.submit(
                queue=queue, priority=priority, preemptible=preemptible, deferred=deferred
            )
        except LimitExceededError:
            assert not deferred and full
            assert len(self.sched) == before
            return
        assert job.status is self.status[job.id]
        assert job.status in (WAITING | RUNNING)

    @precondition(lambda self: self.with_status(*RUNNING))
    @rule(data=st.data())
    def complete(self, data: st.DataObject) -> None:
        job = data.draw(st.sampled_from(self.with_status(*RUNNING)))
        assert self.sched.complete(job).status is S.COMPLETE

    @precondition(lambda self: self.with_status(*WAITING, *RUNNING))
    @rule(data=st.data())
    def cancel(self, data: st.DataObject) -> None:
        job = data.draw(st.sampled_from(self.with_status(*WAITING, *RUNNING)))
        self.sched.cancel(job)

    @precondition(lambda self: self.with_status(*WAITING, *RUNNING))
    @rule(data=st.data())
    def fail(self, data: st.DataObject) -> None:
        job = data.draw(st.sampled_from(self.with_status(*WAITING, *RUNNING)))
        assert self.sched.fail(job, "boom").status is S.FAILED

    @precondition(lambda self: self.with_status(*WAITING, *RUNNING))
    @rule(data=st.data(), priority=priorities)
    def update_priority(self, data: st.DataObject, priority: int) -> None:
        job = data.draw(st.sampled_from(self.with_status(*WAITING, *RUNNING)))
        assert self.sched.update_priority(job, priority).priority == priority

    @precondition(lambda self: self.with_status(S.PAUSING, S.CANCELLING, S.FAILING))
    @rule(data=st.data())
    def acknowledge_one(self, data: st.DataObject) -> None:
        job = data.draw(st.sampled_from(self.with_status(S.PAUSING, S.CANCELLING, S.FAILING)))
        self.acknowledge_job(job)

    @rule(seconds=st.integers(0, 100))
    def advance(self, seconds: int) -> None:
        self.clock.advance(float(seconds))
        self.sched.poll()

    def acknowledge_job(self, job: str) -> None:
        status = self.status[job]
        if status is S.PAUSING:
            self.sched.paused(job)
        elif status is S.CANCELLING:
            self.sched.cancelled(job)
        else:
            self.sched.fail(job)

    # -- invariants -------------------------------------------------------------

    @invariant()
    def scheduler_invariants_hold(self) -> None:
        self.sched.check_invariants()

    @invariant()
    def no_rule_was_broken_on_the_way(self) -> None:
        assert self.problems == []

    @invariant()
    def slots_are_never_exceeded(self) -> None:
        for name, (slots, _) in QUEUES.items():
            running = [j for j in self.with_status(*RUNNING) if self.queue[j] == name]
            assert len(running) <= slots
            assert self.sched.get_queue(name).running <= slots

    @invariant()
    def no_job_is_lost(self) -> None:
        assert len(self.sched) == len(self.status)
        for job, status in self.status.items():
            snapshot = self.sched.get(job)
            assert (snapshot.status, snapshot.priority) == (status, self.priority[job])
        for name in QUEUES:
            info = self.sched.get_queue(name)
            mine = [j for j in self.status if self.queue[j] == name]
            assert info.waiting == sum(self.status[j] is S.READY for j in mine)
            assert info.paused_jobs == sum(self.status[j] is S.PAUSED for j in mine)

    @invariant()
    def transitional_states_do_not_linger_without_acknowledgement(self) -> None:
        if not self.acknowledge:
            assert not self.with_status(S.PAUSING, S.CANCELLING, S.FAILING)

    @invariant()
    def no_waiting_job_could_still_preempt(self) -> None:
        # Preemption happens at once, not at some later call: at rest, the head of
        # a line has no victim left. Slots on their way back (held by Pausing,
        # Cancelling or Failing jobs) are promised to waiting jobs, so a queue
        # with such jobs is left to the reference-model test.
        for name in QUEUES:
            mine = [j for j in self.status if self.queue[j] == name]
            if any(self.status[j] in (S.PAUSING, S.CANCELLING, S.FAILING) for j in mine):
                continue
            places = {j: self.sched.position(j) for j in mine if self.status[j] in WAITING}
            head = next((j for j, p in places.items() if p is not None and p.position == 1), None)
            if head is None:
                continue
            active = [j for j in mine if self.status[j] is S.ACTIVE]
            share_full = (
                sum(self.deferred[j] for j in active) >= self.sched.get_queue(name).deferred_limit
            )
            needs_deferred = self.deferred[head] and share_full
            victims = [
                j
                for j in active
                if self.preemptible[j]
                and self.priority[j] < self.priority[head]
                and (self.deferred[j] or not needs_deferred)
            ]
            assert not victims, f"{head} ({self.priority[head]}) waits; could preempt {victims}"

    def teardown(self) -> None:
        paused_at_start = set(self.with_status(S.PAUSED, S.PAUSING))
        for _ in range(3 * len(self.status) + 3):
            for job in self.with_status(S.PAUSING, S.CANCELLING, S.FAILING):
                self.acknowledge_job(job)
            active = self.with_status(S.ACTIVE)
            if not active:
                break
            for job in active:
                self.sched.complete(job)
            self.sched.check_invariants()
            assert self.problems == []
        assert all(s in TERMINAL for s in self.status.values()), self.status
        for job in paused_at_start:
            history = [c.status for c in self.sched.get(job).history]
            assert history[-3:] == [S.PAUSED, S.ACTIVE, S.COMPLETE], (job, history)
        assert self.ever_paused >= paused_at_start


class AcknowledgedPreemptionMachine(PreemptionMachine):
    """The same, with pauses, cancellations and failures acknowledged by the runtime."""

    acknowledge: ClassVar[bool] = True


TestPreemption = PreemptionMachine.TestCase
TestAcknowledgedPreemption = AcknowledgedPreemptionMachine.TestCase
