"""FairSharePolicy: order by share used, weights, groups, preemption, and a flood simulation."""

from __future__ import annotations

import heapq
import re
from collections.abc import Iterator, Mapping
from typing import Any, Literal

import attrs
import pytest
from hypothesis import given
from hypothesis import strategies as st

from jobqueue import (
    Event,
    JobStatus,
    JobTransitioned,
    ManualClock,
    PolicyJob,
    Scheduler,
    ValidationError,
)
from jobqueue.policies import FairSharePolicy, Policy


@attrs.define(eq=False)
class FakeJob:
    """A stand-in for the scheduler's job record, as a policy sees it."""

    id: str
    seq: int
    priority: int = 0
    tags: Mapping[str, str] = attrs.field(factory=dict)
    start_seq: int = 0
    deferred: bool = True
    preemptible: bool = True
    tasks_total: int = 0
    created_at: float = 0.0


def job(seq: int, team: str | None, priority: int = 0) -> FakeJob:
    return FakeJob(f"j{seq}", seq, priority, {} if team is None else {"Team": team})


def ids(jobs: Iterator[PolicyJob]) -> list[str]:
    return [j.id for j in jobs]


def start(policy: FairSharePolicy, j: FakeJob, start_seq: int) -> None:
    j.start_seq = start_seq
    policy.started(j)


def test_satisfies_the_policy_protocol() -> None:
    assert isinstance(FairSharePolicy(tag="Team"), Policy)


def test_names() -> None:
    assert FairSharePolicy(tag="Team").name == "fair-share"
    assert FairSharePolicy(tag="Team", preemption=True).name == "fair-share+preemption"


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"tag": 5}, "tag must be a str, got int"),
        ({"tag": ""}, "tag must be 1-128 characters, got 0"),
        ({"tag": "t" * 129}, "tag must be 1-128 characters, got 129"),
        (
            {"tag": "Team", "weights": [("a", 1)]},
            "weights must be a mapping of str to number, got list",
        ),
        ({"tag": "Team", "weights": {1: 1}}, "weights keys must be str, got int"),
        ({"tag": "Team", "weights": {"a": 0}}, "weights['a'] must be a finite number > 0, got 0"),
        ({"tag": "Team", "weights": {"a": True}}, "weights['a'] must be a number, got bool"),
        (
            {"tag": "Team", "weights": {"a": float("inf")}},
            "weights['a'] must be a finite number > 0, got inf",
        ),
        (
            {"tag": "Team", "default_weight": -1},
            "default_weight must be a finite number > 0, got -1",
        ),
        ({"tag": "Team", "preemption": 1}, "preemption must be a bool, got int"),
    ],
)
def test_bad_settings_are_refused(kwargs: dict[str, Any], message: str) -> None:
    with pytest.raises(ValidationError, match=f"^{re.escape(message)}$"):
        FairSharePolicy(**kwargs)


def test_weights_and_the_default_group() -> None:
    policy = FairSharePolicy(tag="Team", weights={"a": 2.5}, default_weight=3)
    assert (policy.weight("a"), policy.weight("b"), policy.weight(None)) == (2.5, 3.0, 3.0)
    assert policy.tag == "Team"


def test_next_job_comes_from_the_group_using_least_of_its_share() -> None:
    policy = FairSharePolicy(tag="Team", weights={"a": 2, "b": 1})
    a1, a2, b1 = job(1, "a"), job(2, "a"), job(3, "b")
    for j in (a1, a2, b1):
        policy.add(j)
    # Nobody runs: equal shares (0), so the earliest entry goes first.
    assert policy.peek() is a1
    policy.discard(a1)
    start(policy, a1, 10)
    # a uses 1/2 of its weight, b uses 0.
    assert policy.peek() is b1
    assert ids(policy.waiting()) == ["j3", "j2"]
    policy.discard(b1)
    start(policy, b1, 11)
    # a: 1/2, b: 1/1 -> a's turn.
    assert policy.peek() is a2


def test_ties_between_groups_go_to_priority_then_entry_order() -> None:
    policy = FairSharePolicy(tag="Team")
    a_low, b_high, c_low = job(1, "a", 0), job(2, "b", 5), job(3, "c", 0)
    for j in (a_low, b_high, c_low):
        policy.add(j)
    assert ids(policy.waiting()) == ["j2", "j1", "j3"]


def test_within_a_group_priority_then_entry_order() -> None:
    policy = FairSharePolicy(tag="Team")
    jobs = [job(1, "a", 0), job(2, "a", 3), job(3, "a", 3), job(4, "a", -1)]
    for j in jobs:
        policy.add(j)
    assert ids(policy.waiting()) == ["j2", "j3", "j1", "j4"]


def test_untagged_jobs_and_unknown_groups_use_the_default_weight() -> None:
    policy = FairSharePolicy(tag="Team", weights={"a": 1}, default_weight=2)
    a1, a2, u1, u2 = job(1, "a"), job(2, "a"), job(3, None), job(4, None)
    for j in (a1, a2, u1, u2):
        policy.add(j)
    for n, j in enumerate((a1, u1)):
        policy.discard(j)
        start(policy, j, 10 + n)
    # a uses 1/1, the untagged group 1/2: the untagged job goes next.
    assert policy.peek() is u2
    assert policy.usage() == {"a": (1, 1), None: (1, 1)}


def test_reprioritize_moves_a_waiting_job_within_its_group() -> None:
    policy = FairSharePolicy(tag="Team")
    first, second = job(1, "a", 0), job(2, "a", 0)
    policy.add(first)
    policy.add(second)
    second.priority = 4
    policy.reprioritize(second, 0)
    assert ids(policy.waiting()) == ["j2", "j1"]
    assert policy.peek() is second


def test_a_tag_change_while_waiting_does_not_lose_the_job() -> None:
    policy = FairSharePolicy(tag="Team")
    j = job(1, "a")
    policy.add(j)
    j.tags = {"Team": "b"}  # put_tags does not tell the policy
    policy.discard(j)
    assert len(policy) == 0 and policy.peek() is None and policy.usage() == {}


def test_waiting_is_the_start_order_when_slots_free_one_at_a_time() -> None:
    policy = FairSharePolicy(tag="Team", weights={"a": 3, "b": 1})
    jobs = [job(i, "ab"[i % 2], priority=i % 3) for i in range(12)]
    for j in jobs:
        policy.add(j)
    predicted = ids(policy.waiting())
    started: list[str] = []
    while (head := policy.peek()) is not None:
        policy.discard(head)
        start(policy, jobs[int(head.id[1:])], 100 + len(started))
        started.append(head.id)
    assert started == predicted


@given(
    st.lists(
        st.tuples(st.sampled_from(["a", "b", "c", None]), st.integers(-2, 2), st.booleans()),
        max_size=30,
    )
)
def test_peek_is_always_the_first_of_waiting_and_from_a_least_used_group(
    plan: list[tuple[str | None, int, bool]],
) -> None:
    policy = FairSharePolicy(tag="Team", weights={"a": 2, "b": 1, "c": 3})
    waiting: list[FakeJob] = []
    for seq, (team, priority, start_one) in enumerate(plan):
        j = job(seq, team, priority)
        policy.add(j)
        waiting.append(j)
        if start_one:
            head = next(w for w in waiting if w is policy.peek())
            policy.discard(head)
            waiting.remove(head)
            start(policy, head, 1000 + seq)
        line = list(policy.waiting())
        assert policy.peek() is (line[0] if line else None)
        assert sorted(x.id for x in line) == sorted(w.id for w in waiting)
        usage = policy.usage()
        if line:
            head_team = line[0].tags.get("Team")
            share = {g: usage[g][0] / policy.weight(g) for g in usage if usage[g][1]}
            assert share[head_team] == min(share.values())


@given(
    st.lists(
        st.tuples(st.sampled_from(["a", "b", "c", "d", None]), st.integers(-2, 2)), max_size=40
    ),
    st.lists(st.sampled_from(["a", "b", "c", "d", None]), max_size=8),
)
def test_waiting_predicts_the_start_order(
    plan: list[tuple[str | None, int]], running: list[str | None]
) -> None:
    policy = FairSharePolicy(tag="Team", weights={"a": 3, "b": 2, "c": 0.5})
    for n, team in enumerate(running):
        start(policy, job(1000 + n, team), n)
    jobs = [job(seq, team, priority) for seq, (team, priority) in enumerate(plan)]
    for j in jobs:
        policy.add(j)
    predicted = ids(policy.waiting())
    started: list[str] = []
    while (head := policy.peek()) is not None:
        chosen = jobs[head.seq]
        policy.discard(chosen)
        start(policy, chosen, 100 + len(started))
        started.append(chosen.id)
    assert started == predicted


def test_victims_come_from_the_group_most_over_its_share() -> None:
    policy = FairSharePolicy(tag="Team", preemption=True)
    running = [job(i, team, priority=1) for i, team in enumerate("aaabbc")]
    for n, j in enumerate(running):
        start(policy, j, n)
    policy.add(job(10, "d", priority=5))
    # d would use 1 after one start; a (3 running) may give one and keep 2,
    # b (2) keep 1, c (1) would keep 0 < 1: c is not offered.
    assert ids(policy.victims()) == ["j2", "j1", "j0", "j4", "j3"]


def test_victims_offer_the_waiting_groups_own_jobs_last() -> None:
    policy = FairSharePolicy(tag="Team", preemption=True)
    for n, j in enumerate([job(0, "a", 0), job(1, "b", 0), job(2, "b", 0), job(3, "b", 2)]):
        start(policy, j, n)
    policy.add(job(9, "a", 5))
    # a waits with 1 running; b (3 running) keeps 2 >= 2 after a swap; then a's own job.
    assert ids(policy.victims()) == ["j2", "j1", "j3", "j0"]


def test_no_victims_without_preemption_or_waiting_jobs() -> None:
    plain = FairSharePolicy(tag="Team")
    start(plain, job(0, "a"), 0)
    plain.add(job(1, "b", 9))
    assert list(plain.victims()) == []
    preempting = FairSharePolicy(tag="Team", preemption=True)
    start(preempting, job(0, "a"), 0)
    assert list(preempting.victims()) == []


def test_non_preemptible_jobs_are_never_offered() -> None:
    policy = FairSharePolicy(tag="Team", preemption=True)
    keep = job(0, "a")
    keep.preemptible = False
    start(policy, keep, 0)
    start(policy, job(1, "a"), 1)
    policy.add(job(2, "b", 3))
    assert ids(policy.victims()) == ["j1"]


# ---------------------------------------------------------------------- with the scheduler


def fair_queue(sched: Scheduler, slots: int, **kwargs: Any) -> FairSharePolicy:
    policy = FairSharePolicy(tag="Team", **kwargs)
    sched.create_queue("batch", slots=slots, deferred_share=1.0, policy=policy)
    return policy


def test_preemption_lets_urgent_work_of_a_starved_group_in_up_to_its_share() -> None:
    sched = Scheduler(ManualClock())
    fair_queue(sched, 4, preemption=True)
    low = [sched.submit(queue="batch", tags={"Team": "a"}).id for _ in range(4)]
    urgent = [sched.submit(queue="batch", priority=5, tags={"Team": "b"}).id for _ in range(3)]
    status = {i: sched.get(i).status for i in low + urgent}
    # b takes 2 slots, its share of 4: a keeps 2; b's third job waits.
    assert [status[i] for i in urgent] == [JobStatus.ACTIVE, JobStatus.ACTIVE, JobStatus.READY]
    # The most recently started a-jobs were paused.
    assert [status[i] for i in low] == [
        JobStatus.ACTIVE,
        JobStatus.ACTIVE,
        JobStatus.PAUSED,
        JobStatus.PAUSED,
    ]
    sched.check_invariants()


def test_equal_priority_never_preempts_to_rebalance() -> None:
    sched = Scheduler(ManualClock())
    fair_queue(sched, 2, preemption=True)
    a = [sched.submit(queue="batch", tags={"Team": "a"}).id for _ in range(2)]
    b = sched.submit(queue="batch", tags={"Team": "b"}).id
    assert [sched.get(i).status for i in (*a, b)] == [
        JobStatus.ACTIVE,
        JobStatus.ACTIVE,
        JobStatus.READY,
    ]
    sched.complete(a[0])
    assert sched.get(b).status is JobStatus.ACTIVE


class FloodRun:
    """Drive a scheduler on a ManualClock: each job runs ``duration`` seconds once Active."""

    def __init__(self, sched: Scheduler, clock: ManualClock, duration: float) -> None:
        self.sched = sched
        self.clock = clock
        self.duration = duration
        self.started: dict[str, float] = {}
        self._due: list[tuple[float, int, str]] = []
        sched.subscribe(self._on_event)

    def _on_event(self, event: Event) -> None:
        if isinstance(event, JobTransitioned) and event.new is JobStatus.ACTIVE:
            self.started.setdefault(event.job_id, event.time)
            heapq.heappush(self._due, (event.time + self.duration, len(self.started), event.job_id))

    def run_until(self, t: float, observe: Any = None) -> None:
        while self._due and self._due[0][0] <= t:
            due = self._due[0][0]
            while self._due and self._due[0][0] == due:
                self.clock.set(due)
                self.sched.complete(heapq.heappop(self._due)[2])
            if observe is not None:
                observe(due)
        self.clock.set(max(t, self.clock.now()))


def running_by_team(sched: Scheduler) -> dict[str, int]:
    counts: dict[str, int] = {"a": 0, "b": 0}
    for row in sched.list_jobs(statuses={JobStatus.ACTIVE}, queue="batch"):
        counts[sched.get(row.id).tags["Team"]] += 1
    return counts


def flood(policy: Policy | Literal["fifo"]) -> tuple[Scheduler, FloodRun, list[str]]:
    """Team a floods 1,000 ten-second jobs at t=0; team b submits 50 at t=5; 9 slots.

    Returns the scheduler, the driver and b's job ids.
    """
    clock = ManualClock()
    sched = Scheduler(clock)
    sched.create_queue("batch", slots=9, deferred_share=1.0, policy=policy)
    run = FloodRun(sched, clock, duration=10.0)
    for _ in range(1000):
        sched.submit(queue="batch", tags={"Team": "a"})
    clock.set(5.0)
    b = [sched.submit(queue="batch", tags={"Team": "b"}).id for _ in range(50)]
    return sched, run, b


def test_a_flood_from_one_group_cannot_starve_another() -> None:
    # Weights a:2, b:1 -> of 9 slots, a's share is 6 and b's is 3.
    sched, run, b = flood(FairSharePolicy(tag="Team", weights={"a": 2, "b": 1}))
    assert running_by_team(sched) == {"a": 9, "b": 0}  # b arrived to a full queue
    shares: list[tuple[float, dict[str, int]]] = []
    run.run_until(180.0, observe=lambda t: shares.append((t, running_by_team(sched))))
    # From the first completions on, b holds exactly its share of 3 slots while
    # it has work waiting, and a keeps its 6: the flood does not crowd b out.
    while_b_waits = [counts for t, counts in shares if 10.0 <= t < 170.0]
    assert len(while_b_waits) == 16
    assert all(counts == {"a": 6, "b": 3} for counts in while_b_waits)
    # So b's k-th job starts at 10 + 10 * (k // 3): the last one at t=170.
    assert [run.started[j] for j in b] == [10.0 + 10.0 * (k // 3) for k in range(50)]
    assert all(sched.get(j).status is JobStatus.COMPLETE for j in b)
    # Once b is done, a takes every slot again.
    assert running_by_team(sched) == {"a": 9, "b": 0}
    sched.check_invariants()


def test_under_fifo_the_same_flood_starves_the_late_group() -> None:
    _, run, b = flood("fifo")
    run.run_until(180.0)
    assert b[0] not in run.started  # under FIFO b waits behind all 1,000 a-jobs
    run.run_until(1_200.0)
    # a's 1,000th job starts in the 112th round, at t=1110, and b's first with it.
    assert min(run.started[j] for j in b) == 1_110.0
