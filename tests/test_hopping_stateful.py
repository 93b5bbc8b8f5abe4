"""Queue hopping under random schedules: a stateful test against a small model.

Three small queues; jobs with hop chains arrive, finish, are cancelled and
re-prioritised; queues are paused and resumed; the clock jumps by random
amounts or straight to ``next_deadline()``, and ``poll()`` runs at random times.
A subscriber checks every hop as it happens against a model of each job's
chain, and after each step the model and the scheduler must agree:

* no job hops before its wait (timed from its entry into its current queue);
* no job hops out of a paused queue (except as the queue is reactivated);
* after ``poll()``, no job in an active queue is still waiting past its wait;
* on reactivation, an overdue job with nobody ahead stays, every other hops;
* after a hop the priority is the rule's, else the job's own;
* a paused queue starts nothing;
* no hop loses or duplicates a job, and ``check_invariants()`` holds.
"""

from __future__ import annotations

import attrs
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
)

from jobqueue import (
    Event,
    HopRule,
    HopTransition,
    JobHopped,
    JobStatus,
    JobTransitioned,
    ManualClock,
    Scheduler,
)

S = JobStatus
QUEUES = ("q0", "q1", "q2")
MAX_JOBS = 24
_WAITING = frozenset({S.READY, S.PAUSED})
_UNFINISHED = frozenset({S.NEW, S.PREPARING, S.SUSPENDED, S.READY, S.ACTIVE, S.PAUSING, S.PAUSED})

# Most of the action is in q0, so that its line grows and pauses there matter.
queues = st.sampled_from(("q0", "q0", "q0", "q1", "q2"))
waits = st.one_of(st.sampled_from([1.0, 2.5, 5.0, 10.0]), st.floats(0.25, 20.0))
new_priorities = st.one_of(st.none(), st.integers(0, 5))
chains = st.lists(st.tuples(st.integers(0, 1), waits, new_priorities), max_size=3)
# (priority, hop chain as (which other queue, wait, new priority), 0 = needs confirmation)
job_specs = st.tuples(st.integers(0, 5), chains, st.integers(0, 5))


@attrs.define
class ModelJob:
    """What the model expects of one job's hopping."""

    rules: tuple[HopRule, ...]
    queue: str
    priority: int
    entered: float | None = None  # when it began waiting in its current queue
    index: int = 0  # the next rule to apply
    chain_ended: bool = False  # stayed on reactivation: it never hops again
    transitions: list[HopTransition] = attrs.field(factory=list)

    def deadline(self) -> float | None:
        """When the next hop is due, if one can still happen."""
        if self.chain_ended or self.entered is None or self.index >= len(self.rules):
            return None
        return self.entered + self.rules[self.index].wait


class HoppingMachine(RuleBasedStateMachine):
    """Drives a scheduler with three queues and checks hops against ``ModelJob``s."""

    def __init__(self) -> None:
        super().__init__()
        self.clock = ManualClock()
        self.sched = Scheduler(self.clock)
        self.jobs: dict[str, ModelJob] = {}
        self.paused: set[str] = set()
        self.resuming: str | None = None
        self.sched.subscribe(self.on_event)

    @initialize(
        slots=st.tuples(st.integers(1, 2), st.integers(1, 2), st.integers(1, 2)),
        policies=st.tuples(
            st.sampled_from(["fifo", "priority", "preempt"]),
            st.sampled_from(["fifo", "priority", "preempt"]),
            st.sampled_from(["fifo", "priority", "preempt"]),
        ),
        first=st.lists(job_specs, min_size=2, max_size=6),
    )
    def create_queues(
        self,
        slots: tuple[int, int, int],
        policies: tuple[str, str, str],
        first: list[tuple[int, list[tuple[int, float, int | None]], int]],
    ) -> None:
        for name, n, policy in zip(QUEUES, slots, policies, strict=True):
            self.sched.create_queue(
                name,
                slots=n,
                deferred_share=1.0,
                policy="fifo" if policy == "fifo" else "priority",
                preemption=policy == "preempt",
            )
        # Start with a line in q0, so that there is something to hop at once.
        self.submit("q0", first)

    # ------------------------------------------------------------------ the live check

    def on_event(self, event: Event) -> None:
        if isinstance(event, JobTransitioned):
            model = self.jobs.get(event.job_id)
            if model is None:
                return  # submit() has not returned yet; its Ready time is read after
            if event.new is S.READY:
                model.entered = event.time
            elif event.new is S.ACTIVE:
                assert model.queue not in self.paused, (
                    f"{event.job_id} started in paused queue {model.queue}"
                )
        elif isinstance(event, JobHopped):
            self.check_hop(event)

    def check_hop(self, event: JobHopped) -> None:
        model = self.jobs[event.job_id]
        assert not model.chain_ended, f"{event.job_id} hopped after staying on reactivation"
        assert event.source == model.queue
        assert event.source not in self.paused or event.source == self.resuming, (
            f"{event.job_id} hopped out of paused queue {event.source}"
        )
        assert model.index < len(model.rules)
        rule_ = model.rules[model.index]
        assert event.destination == rule_.queue
        assert model.entered is not None
        assert event.time >= model.entered + rule_.wait, (
            f"{event.job_id} hopped at {event.time}, before {model.entered} + {rule_.wait}"
        )
        expected = model.priority if rule_.priority is None else rule_.priority
        assert event.priority == expected
        model.queue = event.destination
        model.index += 1
        model.entered = event.time
        model.priority = expected
        model.transitions.append(
            HopTransition(event.source, event.destination, event.time, expected)
        )

    # ------------------------------------------------------------------ helpers

    def with_status(self, statuses: frozenset[JobStatus]) -> list[str]:
        return [j for j in self.jobs if self.sched.get(j).status in statuses]

    def check_nothing_overdue(self, only: str | None = None) -> None:
        """Right after ``poll()`` (or resuming ``only``): every due hop out of an
        active queue happened."""
        now = self.clock.now()
        for job_id, model in self.jobs.items():
            due = model.deadline()
            if due is None or model.queue in self.paused:
                continue
            if only is not None and model.queue != only:
                continue  # other queues' timers wait for poll()
            if self.sched.get(job_id).status is S.READY:
                assert due > now, f"{job_id} still waits in {model.queue} past {due} at {now}"

    # ------------------------------------------------------------------ rules

    @precondition(lambda self: len(self.jobs) < MAX_JOBS)
    @rule(
        queue=queues,
        jobs=st.lists(job_specs, min_size=1, max_size=3),
    )
    def submit(
        self, queue: str, jobs: list[tuple[int, list[tuple[int, float, int | None]], int]]
    ) -> None:
        for priority, chain, confirmation in jobs:
            rules: list[HopRule] = []
            current = queue
            for choice, wait, new_priority in chain:
                others = [q for q in QUEUES if q != current]
                current = others[choice]
                rules.append(HopRule(current, wait, new_priority))
            job = self.sched.submit(
                queue=queue,
                priority=priority,
                hops=rules,
                confirmation_required=confirmation == 0,
            )
            model = ModelJob(tuple(rules), queue, priority)
            ready = [c.time for c in job.history if c.status is S.READY]
            model.entered = ready[0] if ready else None
            self.jobs[job.id] = model

    @rule(data=st.data())
    def confirm(self, data: st.DataObject) -> None:
        suspended = self.with_status(frozenset({S.SUSPENDED}))
        if suspended:
            self.sched.confirm(data.draw(st.sampled_from(suspended)))

    @rule(data=st.data())
    def complete(self, data: st.DataObject) -> None:
        active = self.with_status(frozenset({S.ACTIVE}))
        if active:
            self.sched.complete(data.draw(st.sampled_from(active)))

    @rule(data=st.data())
    def cancel(self, data: st.DataObject) -> None:
        live = self.with_status(_UNFINISHED)
        if live:
            self.sched.cancel(data.draw(st.sampled_from(live)))

    @rule(data=st.data(), priority=st.integers(0, 5))
    def update_priority(self, data: st.DataObject, priority: int) -> None:
        live = self.with_status(_UNFINISHED)
        if live:
            job_id = data.draw(st.sampled_from(live))
            self.sched.update_priority(job_id, priority)
            self.jobs[job_id].priority = priority

    @rule(queue=queues)
    def pause(self, queue: str) -> None:
        self.paused.add(queue)
        self.sched.pause_queue(queue)

    @rule(queue=queues, seconds=st.floats(5.0, 25.0), poll=st.booleans(), then=st.booleans())
    def pause_for_a_while(self, queue: str, seconds: float, poll: bool, then: bool) -> None:
        # The seed's first case: a pause longer than the waits of the jobs in
        # it, then (maybe) reactivation, with or without a poll in between.
        self.pause(queue)
        self.advance(seconds, poll)
        if then:
            self.resume(queue)

    @rule(queue=queues)
    def resume(self, queue: str) -> None:
        if queue not in self.paused:
            self.sched.resume_queue(queue)  # a no-op on an active queue
            return
        now = self.clock.now()
        overdue = [
            job_id
            for job_id, model in self.jobs.items()
            if model.queue == queue
            and (due := model.deadline()) is not None
            and due <= now
            and self.sched.get(job_id).status is S.READY
        ]
        self.paused.discard(queue)
        self.resuming = queue
        try:
            self.sched.resume_queue(queue)
        finally:
            self.resuming = None
        # The queue starts what its slots allow; of the overdue jobs still
        # waiting, the first in line stays for good and every other one hops.
        stayed = []
        for job_id in overdue:
            model = self.jobs[job_id]
            job = self.sched.get(job_id)
            if job.status is S.ACTIVE and model.queue == queue:
                assert job.started_at == now
            elif model.queue == queue:
                place = self.sched.position(job_id)
                assert place is not None and place.ahead == 0, (
                    f"{job_id} had a job ahead on reactivation, yet did not hop"
                )
                model.chain_ended = True
                stayed.append(job_id)
            else:
                hop = model.transitions[-1]
                assert (hop.source, hop.time) == (queue, now)
                info = self.sched.get_queue(queue)
                assert info.waiting + info.paused_jobs > 0, (
                    f"{job_id} hopped on reactivation with nobody ahead of it"
                )
        assert len(stayed) <= 1
        self.check_nothing_overdue(queue)

    @rule(
        seconds=st.one_of(st.sampled_from([0.0, 1.0, 5.0, 10.0]), st.floats(0.0, 20.0)),
        poll=st.booleans(),
    )
    def advance(self, seconds: float, poll: bool) -> None:
        # Without a poll, timers come due unpolled; resume_queue() must cope.
        self.clock.advance(seconds)
        if poll:
            self.sched.poll()
            self.check_nothing_overdue()

    @rule()
    def poll_at_next_deadline(self) -> None:
        deadline = self.sched.next_deadline()
        hop_deadlines = [
            due
            for job_id, model in self.jobs.items()
            if (due := model.deadline()) is not None
            and self.sched.get(job_id).status is S.READY
            and model.queue not in self.paused
        ]
        if hop_deadlines:
            # The scheduler may wake earlier (a timer in a paused queue), never later.
            assert deadline is not None and deadline <= min(hop_deadlines)
        # Far deadlines are purges and confirmation timeouts, days away: they
        # are covered elsewhere and would end every hop chain at once.
        if deadline is not None and self.clock.now() < deadline < self.clock.now() + 1000.0:
            self.clock.set(deadline)
        self.sched.poll()
        self.check_nothing_overdue()

    # ------------------------------------------------------------------ invariants

    @invariant()
    def scheduler_invariants_hold(self) -> None:
        self.sched.check_invariants()

    @invariant()
    def model_and_scheduler_agree(self) -> None:
        for job_id, model in self.jobs.items():
            job = self.sched.get(job_id)
            assert job.queue == model.queue
            assert job.priority == model.priority
            assert job.hop_transitions == tuple(model.transitions)
            assert job.hops == model.rules

    @invariant()
    def no_job_is_lost_or_duplicated(self) -> None:
        assert len(self.sched) == len(self.jobs)
        waiting = dict.fromkeys(QUEUES, 0)
        running = dict.fromkeys(QUEUES, 0)
        for job_id in self.jobs:
            job = self.sched.get(job_id)
            if job.status in _WAITING:
                waiting[job.queue] += 1
                place = self.sched.position(job_id)
                assert place is not None and place.queue == job.queue
            elif job.status in (S.ACTIVE, S.PAUSING):
                running[job.queue] += 1
        for info in self.sched.list_queues():
            if info.name in QUEUES:
                assert info.waiting + info.paused_jobs == waiting[info.name]
                assert info.running == running[info.name]
                assert info.paused == (info.name in self.paused)


TestHopping = HoppingMachine.TestCase
