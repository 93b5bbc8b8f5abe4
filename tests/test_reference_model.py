"""The scheduler agrees with a tiny reference model of priority and preemption.

An "agreement" machine: the same random operations go to the real scheduler
and to ``Model``, a deliberately naive restatement of the rules on plain lists
with O(n) scans and no incremental bookkeeping. After every step both must
agree on every job's status, on each queue's Active, Pausing, Paused and Ready
jobs, on the order of each line, and on the order in which each queue started
jobs. Errors must agree too: an operation the model refuses, the scheduler
refuses, and the other way round.

The rules the model states (SPEC section 4, on top of the slots and deferred
share of section 3):

* a job holds a slot while Active or Pausing, and, when work is acknowledged,
  while Cancelling until ``cancelled()``;
* the line is every Ready or Paused job, by (-priority, entry order);
* the head starts when a slot is free (and, if deferred, room in the share);
* otherwise slots on their way back (held by Pausing or Cancelling jobs) are
  promised to the first jobs in line they can serve, and the first job left
  without one may pause the Active, preemptible job of strictly lower priority
  that would make room for it, choosing the lowest priority, then the latest
  start.
"""

from __future__ import annotations

from typing import ClassVar

import attrs
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from jobqueue import (
    Event,
    InvalidTransition,
    JobTransitioned,
    LimitExceededError,
    ManualClock,
    Scheduler,
)

# name: (slots, deferred share, deferred limit, preemption)
QUEUES: dict[str, tuple[int, float, int, bool]] = {
    "p": (3, 0.67, 2, True),
    "q": (2, 1.0, 2, True),
    "r": (2, 0.5, 1, False),
}
HOLDING = ("Active", "Pausing", "Cancelling")
WAITING = ("Ready", "Paused")
DONE = ("Complete", "Cancelled", "Failed")


class Refused(Exception):
    """The model refuses an operation (the scheduler must raise too)."""


@attrs.define
class ModelJob:
    id: str
    queue: str
    priority: int
    entry: int
    deferred: bool
    preemptible: bool
    status: str = "Ready"
    started: int = -1


class Model:
    """The rules, written as plainly as possible."""

    def __init__(self, acknowledge: bool) -> None:
        self.acknowledge = acknowledge
        self.jobs: list[ModelJob] = []
        self.paused_queues: list[str] = []
        self.starts: dict[str, list[str]] = {name: [] for name in QUEUES}
        self.clock = 0  # orders entries and starts

    def tick(self) -> int:
        self.clock += 1
        return self.clock

    def job(self, job_id: str) -> ModelJob:
        return next(j for j in self.jobs if j.id == job_id)

    def in_queue(self, queue: str, *statuses: str) -> list[ModelJob]:
        return [j for j in self.jobs if j.queue == queue and j.status in statuses]

    def line(self, queue: str) -> list[ModelJob]:
        return sorted(self.in_queue(queue, *WAITING), key=lambda j: (-j.priority, j.entry))

    # -- operations ------------------------------------------------------------

    def submit(self, queue: str, priority: int, deferred: bool, preemptible: bool) -> str:
        slots = QUEUES[queue][0]
        if not deferred and (
            queue in self.paused_queues or len(self.in_queue(queue, *HOLDING)) >= slots
        ):
            raise Refused
        job = ModelJob(
            f"job-{len(self.jobs) + 1}", queue, priority, self.tick(), deferred, preemptible
        )
        self.jobs.append(job)
        if deferred:
            self.dispatch(queue)
        else:
            self.start(job)
        return job.id

    def complete(self, job_id: str) -> None:
        job = self.job(job_id)
        if job.status not in ("Active", "Pausing"):
            raise Refused
        job.status = "Complete"
        self.dispatch(job.queue)

    def cancel(self, job_id: str) -> None:
        job = self.job(job_id)
        if job.status in (*DONE, "Cancelling", "Failing"):
            raise Refused
        if job.status in ("Active", "Pausing") and self.acknowledge:
            job.status = "Cancelling"  # keeps its slot until cancelled()
        else:
            job.status = "Cancelled"
            self.dispatch(job.queue)

    def cancelled(self, job_id: str) -> None:
        job = self.job(job_id)
        if job.status != "Cancelling":
            raise Refused
        job.status = "Cancelled"
        self.dispatch(job.queue)

    def fail(self, job_id: str) -> None:
        job = self.job(job_id)
        if job.status in (*DONE, "Cancelling", "Failing"):
            raise Refused
        job.status = "Failed"
        self.dispatch(job.queue)

    def paused(self, job_id: str) -> None:
        job = self.job(job_id)
        if job.status != "Pausing":
            raise Refused
        job.status = "Paused"  # back in line, keeping its entry
        self.dispatch(job.queue)

    def update_priority(self, job_id: str, priority: int) -> None:
        job = self.job(job_id)
        if job.status in DONE:
            raise Refused
        if job.priority != priority:
            job.priority = priority
            self.dispatch(job.queue)

    def pause_queue(self, queue: str) -> None:
        if queue not in self.paused_queues:
            self.paused_queues.append(queue)

    def resume_queue(self, queue: str) -> None:
        if queue in self.paused_queues:
            self.paused_queues.remove(queue)
            self.dispatch(queue)

    # -- scheduling --------------------------------------------------------------

    def start(self, job: ModelJob) -> None:
        job.status = "Active"
        job.started = self.tick()
        self.starts[job.queue].append(job.id)

    def dispatch(self, queue: str) -> None:
        if queue in self.paused_queues:
            return
        slots, _, limit, _ = QUEUES[queue]
        while True:
            line = self.line(queue)
            if not line:
                return
            head = line[0]
            holders = self.in_queue(queue, *HOLDING)
            deferred_holders = [j for j in holders if j.deferred]
            if len(holders) < slots and (not head.deferred or len(deferred_holders) < limit):
                self.start(head)
            elif not self.preempt(queue, line):
                return

    def preempt(self, queue: str, line: list[ModelJob]) -> bool:
        slots, _, limit, preemption = QUEUES[queue]
        if not preemption:
            return False
        staying = self.in_queue(queue, "Active")
        free = slots - len(staying)
        free_deferred = limit - len([j for j in staying if j.deferred])
        for waiting in line:
            if free > 0 and (not waiting.deferred or free_deferred > 0):
                free -= 1  # a slot on its way back is promised to this job
                if waiting.deferred:
                    free_deferred -= 1
                continue
            needs_deferred = waiting.deferred and free_deferred <= 0
            candidates = [
                j
                for j in staying
                if j.preemptible
                and j.priority < waiting.priority
                and (j.deferred or not needs_deferred)
            ]
            if not candidates:
                return False
            victim = min(candidates, key=lambda j: (j.priority, -j.started))
            victim.status = "Pausing" if self.acknowledge else "Paused"
            return True
        return False


class AgreementMachine(RuleBasedStateMachine):
    """Feeds the same operations to the scheduler and the model; pauses land at once."""

    acknowledge: ClassVar[bool] = False

    def __init__(self) -> None:
        super().__init__()
        self.sched = Scheduler(ManualClock(), acknowledge=self.acknowledge)
        for name, (slots, share, _, preemption) in QUEUES.items():
            self.sched.create_queue(
                name, slots=slots, deferred_share=share, policy="priority", preemption=preemption
            )
        self.model = Model(self.acknowledge)
        self.starts: dict[str, list[str]] = {name: [] for name in QUEUES}
        self.sched.subscribe(self.on_event)

    def on_event(self, event: Event) -> None:
        if isinstance(event, JobTransitioned) and event.new.value == "Active":
            self.starts[self.sched.get(event.job_id).queue].append(event.job_id)

    def both(self, op: str, *args: object) -> None:
        """Apply ``op`` to both; they must both succeed or both refuse."""
        try:
            getattr(self.model, op)(*args)
        except Refused:
            refused = True
        else:
            refused = False
        try:
            getattr(self.sched, op)(*args)
        except (InvalidTransition, LimitExceededError) as exc:
            assert refused, f"scheduler refused {op}{args} ({exc}); the model did not"
        else:
            assert not refused, f"the model refused {op}{args}; the scheduler did not"

    def pick(self, data: st.DataObject, *fits: str) -> str:
        """Mostly a job in a status the operation fits; sometimes any job, to test refusals."""
        fitting = [j.id for j in self.model.jobs if j.status in fits]
        if fitting and data.draw(st.integers(0, 3)) > 0:
            return data.draw(st.sampled_from(fitting))
        return data.draw(st.sampled_from([j.id for j in self.model.jobs]))

    @rule(
        queue=st.sampled_from(sorted(QUEUES)),
        priority=st.integers(-1, 2),
        deferred=st.sampled_from([True, True, True, False]),
        preemptible=st.sampled_from([True, True, False]),
    )
    def submit(self, queue: str, priority: int, deferred: bool, preemptible: bool) -> None:
        try:
            expected: str | None = self.model.submit(queue, priority, deferred, preemptible)
        except Refused:
            expected = None
        try:
            got: str | None = self.sched.submit(
                queue=queue, priority=priority, deferred=deferred, preemptible=preemptible
            ).id
        except LimitExceededError:
            got = None
        assert got == expected

    @precondition(lambda self: self.model.jobs)
    @rule(data=st.data())
    def complete(self, data: st.DataObject) -> None:
        self.both("complete", self.pick(data, "Active", "Pausing"))

    @precondition(lambda self: self.model.jobs)
    @rule(data=st.data())
    def cancel(self, data: st.DataObject) -> None:
        self.both("cancel", self.pick(data, *WAITING, "Active", "Pausing"))

    @precondition(lambda self: self.model.jobs)
    @rule(data=st.data())
    def fail(self, data: st.DataObject) -> None:
        self.both("fail", self.pick(data, *WAITING, "Active", "Pausing"))

    @precondition(lambda self: self.model.jobs)
    @rule(data=st.data(), priority=st.integers(-1, 2))
    def update_priority(self, data: st.DataObject, priority: int) -> None:
        job = self.pick(data, *WAITING, *HOLDING)
        if self.model.job(job).status in DONE:
            return  # ConflictError, tested elsewhere
        self.both("update_priority", job, priority)

    @precondition(lambda self: self.model.jobs)
    @rule(data=st.data())
    def paused(self, data: st.DataObject) -> None:
        self.both("paused", self.pick(data, "Pausing"))

    @precondition(lambda self: self.model.jobs)
    @rule(data=st.data())
    def cancelled(self, data: st.DataObject) -> None:
        self.both("cancelled", self.pick(data, "Cancelling"))

    @rule(queue=st.sampled_from(sorted(QUEUES)), pause=st.sampled_from([False, False, True]))
    def pause_or_resume_queue(self, queue: str, pause: bool) -> None:
        self.both("pause_queue" if pause else "resume_queue", queue)

    @invariant()
    def they_agree(self) -> None:
        model = self.model
        assert {j.id: j.status for j in model.jobs} == {
            j.id: self.sched.get(j.id).status.value for j in model.jobs
        }
        assert self.starts == model.starts
        for name in QUEUES:
            line = [j.id for j in model.line(name)]
            places = [self.sched.position(job) for job in line]
            assert [p.position if p else None for p in places] == list(range(1, len(line) + 1))
            info = self.sched.get_queue(name)
            assert info.running == len(model.in_queue(name, *HOLDING))
            assert info.waiting == len(model.in_queue(name, "Ready"))
            assert info.paused_jobs == len(model.in_queue(name, "Paused"))
            assert info.paused == (name in model.paused_queues)

    @invariant()
    def scheduler_invariants_hold(self) -> None:
        self.sched.check_invariants()


class AcknowledgedAgreementMachine(AgreementMachine):
    """The same with acknowledged work: Pausing and Cancelling hold slots until acknowledged."""

    acknowledge: ClassVar[bool] = True


TestAgreement = AgreementMachine.TestCase
TestAcknowledgedAgreement = AcknowledgedAgreementMachine.TestCase


def test_the_model_itself_on_a_known_script() -> None:
    # The model is only useful if it is right: check it by hand once.
    model = Model(acknowledge=True)
    low = model.submit("q", 1, True, True)
    mid = model.submit("q", 1, True, True)
    high = model.submit("q", 5, True, True)
    assert [model.job(j).status for j in (low, mid, high)] == ["Active", "Pausing", "Ready"]
    model.paused(mid)
    assert [model.job(j).status for j in (low, mid, high)] == ["Active", "Paused", "Active"]
    model.complete(high)
    assert model.job(mid).status == "Active"
    assert model.starts["q"] == [low, mid, high, mid]
