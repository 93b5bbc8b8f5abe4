"""A policy written by a user plugs into the scheduler through the ``Policy`` protocol.

``ShortestJobFirst`` below is written only against the public protocol, as a
user would write it: fewest tasks first, ties in order of entry. The scheduler
starts jobs in its order with no change to the scheduler; it may also name
preemption victims, and the scheduler still enforces the safety rules itself
(only a strictly higher priority preempts). Policies can be swapped at run
time without losing a waiting job.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from helpers import fingerprint
from hypothesis import given
from hypothesis import strategies as st
from sortedcontainers import SortedList

from jobqueue import (
    Event,
    Job,
    JobStatus,
    JobTransitioned,
    ManualClock,
    Policy,
    PolicyJob,
    Scheduler,
    ValidationError,
)

S = JobStatus


class ShortestJobFirst:
    """Fewest tasks first, ties in order of entry into the queue.

    With ``preempt_longest=True`` it names the Active jobs with the most tasks
    (then the latest started) as preemption victims. O(log n) per hook.
    """

    def __init__(self, *, preempt_longest: bool = False) -> None:
        self._preempt = preempt_longest
        # The job ids make entries unique, so the jobs themselves are never compared.
        self._waiting: SortedList[tuple[int, int, str]] = SortedList()
        self._running: SortedList[tuple[int, int, str]] = SortedList()
        self._jobs: dict[str, PolicyJob] = {}

    @property
    def name(self) -> str:
        return "shortest-job-first"

    def add(self, job: PolicyJob) -> None:
        self._jobs[job.id] = job
        self._waiting.add((job.tasks_total, job.seq, job.id))

    def discard(self, job: PolicyJob) -> None:
        self._waiting.discard((job.tasks_total, job.seq, job.id))

    def started(self, job: PolicyJob) -> None:
        if self._preempt and job.preemptible:
            self._jobs[job.id] = job
            self._running.add((-job.tasks_total, -job.start_seq, job.id))

    def stopped(self, job: PolicyJob) -> None:
        self._running.discard((-job.tasks_total, -job.start_seq, job.id))

    def reprioritize(self, job: PolicyJob, old_priority: int) -> None:
        """Priority does not order this policy's line."""

    def peek(self) -> PolicyJob | None:
        return self._jobs[self._waiting[0][2]] if self._waiting else None

    def waiting(self) -> Iterator[PolicyJob]:
        return (self._jobs[entry[2]] for entry in self._waiting)

    def victims(self) -> Iterator[PolicyJob]:
        return (self._jobs[entry[2]] for entry in self._running)

    def __len__(self) -> int:
        return len(self._waiting)


def record_starts(sched: Scheduler) -> list[str]:
    started: list[str] = []

    def on_event(event: Event) -> None:
        if isinstance(event, JobTransitioned) and event.new is S.ACTIVE:
            started.append(event.job_id)

    sched.subscribe(on_event)
    return started


def line(sched: Scheduler, jobs: list[Job]) -> list[str]:
    """The waiting jobs among ``jobs``, in the order their queue would start them."""
    places = {j.id: sched.position(j.id) for j in jobs}
    waiting = [(p.position, i) for i, p in places.items() if p is not None]
    return [i for _, i in sorted(waiting)]


def drain(sched: Scheduler, queue: str) -> None:
    """Complete running jobs of ``queue`` until none is left."""
    while True:
        running = [row.id for row in sched.list_jobs(statuses={S.ACTIVE}, queue=queue, limit=1000)]
        if not running:
            return
        for job_id in running:
            sched.complete(job_id)
        sched.check_invariants()


def test_it_is_a_policy() -> None:
    assert isinstance(ShortestJobFirst(), Policy)
    policy: Policy = ShortestJobFirst()  # and mypy agrees
    assert len(policy) == 0


def test_the_scheduler_starts_jobs_in_the_policys_order() -> None:
    sched = Scheduler(ManualClock())
    info = sched.create_queue("sjf", slots=1, deferred_share=1.0, policy=ShortestJobFirst())
    assert info.policy == "shortest-job-first"
    started = record_starts(sched)
    blocker = sched.submit(queue="sjf", tasks=100)
    sizes: list[int | None] = [5, 2, 9, 2, 1, None]
    jobs = [sched.submit(queue="sjf", tasks=n, priority=i) for i, n in enumerate(sizes)]
    expected = [jobs[i].id for i in (5, 4, 1, 3, 0, 2)]
    assert line(sched, jobs) == expected
    sched.check_invariants()
    drain(sched, "sjf")
    assert started == [blocker.id, *expected]
    assert all(sched.get(j.id).status is S.COMPLETE for j in jobs)


@given(st.lists(st.integers(0, 4), min_size=1, max_size=20))
def test_start_order_is_fewest_tasks_then_entry(sizes: list[int]) -> None:
    sched = Scheduler(ManualClock())
    sched.create_queue("sjf", slots=1, deferred_share=1.0, policy=ShortestJobFirst())
    started = record_starts(sched)
    sched.submit(queue="sjf", tasks=1000)
    jobs = [sched.submit(queue="sjf", tasks=n) for n in sizes]
    drain(sched, "sjf")
    order = sorted(range(len(sizes)), key=lambda i: (sizes[i], i))
    assert started[1:] == [jobs[i].id for i in order]


def test_slots_and_the_deferred_share_still_apply() -> None:
    sched = Scheduler(ManualClock())
    sched.create_queue("sjf", slots=4, deferred_share=0.5, policy=ShortestJobFirst())
    jobs = [sched.submit(queue="sjf", tasks=n) for n in (3, 2, 1)]
    assert [sched.get(j.id).status for j in jobs] == [S.ACTIVE, S.ACTIVE, S.READY]
    direct = sched.submit(queue="sjf", tasks=50, deferred=False)
    assert direct.status is S.ACTIVE
    sched.check_invariants()


def test_the_scheduler_only_preempts_for_a_strictly_higher_priority() -> None:
    sched = Scheduler(ManualClock())
    sched.create_queue(
        "sjf", slots=1, deferred_share=1.0, policy=ShortestJobFirst(preempt_longest=True)
    )
    long = sched.submit(queue="sjf", tasks=50, priority=5)
    short = sched.submit(queue="sjf", tasks=1, priority=5)
    # The policy names long as a victim, but equal priority never preempts.
    assert [sched.get(j.id).status for j in (long, short)] == [S.ACTIVE, S.READY]
    sched.update_priority(short.id, 6)
    assert [sched.get(j.id).status for j in (long, short)] == [S.PAUSED, S.ACTIVE]
    sched.complete(short.id)
    assert sched.get(long.id).status is S.ACTIVE
    sched.check_invariants()


def test_a_paused_job_re_enters_the_users_policy() -> None:
    sched = Scheduler(ManualClock(), acknowledge=True)
    sched.create_queue(
        "sjf", slots=1, deferred_share=1.0, policy=ShortestJobFirst(preempt_longest=True)
    )
    long = sched.submit(queue="sjf", tasks=50, priority=1)
    short = sched.submit(queue="sjf", tasks=1, priority=2)
    medium = sched.submit(queue="sjf", tasks=10, priority=2)
    assert sched.get(long.id).status is S.PAUSING
    sched.paused(long.id)
    assert line(sched, [long, short, medium]) == [medium.id, long.id]
    sched.complete(short.id)
    sched.complete(medium.id)
    assert sched.get(long.id).status is S.ACTIVE
    sched.check_invariants()


# Swapping policies at run time ---------------------------------------------------------


def test_swapping_policies_keeps_every_waiting_job() -> None:
    sched = Scheduler(ManualClock())
    sched.create_queue("q", slots=1, deferred_share=1.0)
    started = record_starts(sched)
    blocker = sched.submit(queue="q")
    specs = [(3, 0), (1, 5), (2, 9), (1, 1), (5, 5)]  # (tasks, priority)
    jobs = [sched.submit(queue="q", tasks=t, priority=p) for t, p in specs]
    ids = [j.id for j in jobs]
    assert line(sched, jobs) == ids  # FIFO

    def swap(policy: Policy | str, expected: list[int]) -> None:
        before = sched.get_queue("q")
        info = sched.update_queue("q", policy=policy)  # type: ignore[arg-type]
        assert (info.waiting, info.running) == (before.waiting, before.running)
        assert line(sched, jobs) == [ids[i] for i in expected]
        sched.check_invariants()

    swap(ShortestJobFirst(), [1, 3, 2, 0, 4])
    swap("priority", [2, 1, 4, 3, 0])
    swap(ShortestJobFirst(), [1, 3, 2, 0, 4])
    swap("fifo", [0, 1, 2, 3, 4])
    swap(ShortestJobFirst(), [1, 3, 2, 0, 4])
    assert sched.get(blocker.id).status is S.ACTIVE
    drain(sched, "q")
    assert started == [blocker.id, *(ids[i] for i in (1, 3, 2, 0, 4))]


def test_swapping_to_a_preemptive_policy_preempts_at_once() -> None:
    sched = Scheduler(ManualClock())
    sched.create_queue("q", slots=1, deferred_share=1.0, policy=ShortestJobFirst())
    low = sched.submit(queue="q", tasks=5, priority=1)
    high = sched.submit(queue="q", tasks=5, priority=9)
    assert [sched.get(j.id).status for j in (low, high)] == [S.ACTIVE, S.READY]
    sched.update_queue("q", policy="priority", preemption=True)
    assert [sched.get(j.id).status for j in (low, high)] == [S.PAUSED, S.ACTIVE]
    # And back: the paused job is kept by the new policy and resumes.
    sched.update_queue("q", policy=ShortestJobFirst(), preemption=False)
    assert line(sched, [low, high]) == [low.id]
    sched.complete(high.id)
    assert sched.get(low.id).status is S.ACTIVE
    sched.check_invariants()


@pytest.mark.parametrize(
    ("make_policy", "preemption", "message"),
    [
        ("lifo", False, "policy must be 'fifo', 'priority' or a Policy, got 'lifo'"),
        (42, False, "policy must be 'fifo', 'priority' or a Policy, got 42"),
        (
            "custom",
            True,
            "preemption applies to policy 'priority'; a custom policy preempts by its victims()",
        ),
        ("fifo", True, "preemption needs policy 'priority', got 'fifo'"),
        ("shared", False, "policy instance is already used by queue 'sjf'"),
    ],
)
def test_bad_policies_are_rejected_and_change_nothing(
    make_policy: object, preemption: bool, message: str
) -> None:
    sched = Scheduler(ManualClock())
    in_use = ShortestJobFirst()
    sched.create_queue("sjf", slots=1, policy=in_use)
    sched.submit(queue="sjf", tasks=2)
    sched.submit(queue="sjf", tasks=1)
    policy = {"custom": ShortestJobFirst(), "shared": in_use}.get(str(make_policy), make_policy)
    before = fingerprint(sched)
    with pytest.raises(ValidationError, match=f"^{re.escape(message)}$"):
        sched.create_queue("new", policy=policy, preemption=preemption)  # type: ignore[arg-type]
    with pytest.raises(ValidationError, match=f"^{re.escape(message)}$"):
        sched.update_queue("default", policy=policy, preemption=preemption)  # type: ignore[arg-type]
    assert fingerprint(sched) == before


def test_a_policy_with_waiting_jobs_is_not_fresh() -> None:
    sched = Scheduler(ManualClock())
    sched.create_queue("a", slots=1, deferred_share=1.0)
    other = Scheduler(ManualClock())
    busy = ShortestJobFirst()
    other.create_queue("b", slots=1, deferred_share=1.0, policy=busy)
    other.submit(queue="b")
    other.submit(queue="b")  # waits: busy is not empty
    sched.submit(queue="a")
    before = fingerprint(sched)
    message = "policy must be a fresh instance with no waiting jobs"
    with pytest.raises(ValidationError, match=f"^{re.escape(message)}$"):
        sched.update_queue("a", policy=busy)
    assert fingerprint(sched) == before


def test_one_instance_cannot_serve_two_queues() -> None:
    sched = Scheduler(ManualClock())
    shared = ShortestJobFirst()
    sched.create_queue("a", slots=1, deferred_share=1.0, policy=shared)
    message = "policy instance is already used by queue 'a'"
    with pytest.raises(ValidationError, match=f"^{re.escape(message)}$"):
        sched.create_queue("b", slots=1, deferred_share=1.0, policy=shared)
    # Not even the queue it serves may take it again: it would count its jobs twice.
    with pytest.raises(ValidationError, match=f"^{re.escape(message)}$"):
        sched.update_queue("a", policy=shared)
    sched.submit(queue="a")
    sched.submit(queue="a")
    sched.check_invariants()


def test_leaving_a_preemptive_queue_for_a_custom_policy_needs_preemption_off() -> None:
    sched = Scheduler(ManualClock())
    sched.create_queue("p", slots=1, deferred_share=1.0, policy="priority", preemption=True)
    sched.submit(queue="p", tasks=3)
    waiting = sched.submit(queue="p", tasks=1)
    before = fingerprint(sched)
    message = "preemption applies to policy 'priority'; a custom policy preempts by its victims()"
    with pytest.raises(ValidationError, match=f"^{re.escape(message)}$"):
        sched.update_queue("p", policy=ShortestJobFirst())
    assert fingerprint(sched) == before
    info = sched.update_queue("p", policy=ShortestJobFirst(), preemption=False)
    assert (info.policy, info.waiting) == ("shortest-job-first", 1)
    assert sched.position(waiting.id) is not None
