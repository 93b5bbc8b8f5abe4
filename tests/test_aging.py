"""Aging: waiting raises a job's effective priority, continuously and up to a cap."""

from __future__ import annotations

import itertools

import pytest
from helpers import fingerprint
from hypothesis import given
from hypothesis import strategies as st

from jobqueue import Aging, JobStatus, ManualClock, Scheduler, ValidationError

S = JobStatus


def aging_queue(aging: Aging, *, preemption: bool = False) -> tuple[Scheduler, ManualClock]:
    clock = ManualClock()
    sched = Scheduler(clock)
    sched.create_queue("q", slots=1, policy="priority", preemption=preemption, aging=aging)
    return sched, clock


def test_a_low_priority_job_that_waited_overtakes_a_newer_higher_one() -> None:
    sched, clock = aging_queue(Aging(every=10.0, step=1, cap=3))
    blocker = sched.submit(queue="q", priority=9)
    low = sched.submit(queue="q", priority=1)  # waits from 0
    clock.set(15.0)
    high = sched.submit(queue="q", priority=2)  # waits from 15
    clock.set(20.0)  # low: 1 + 2.0 = 3.0; high: 2 + 0.5 = 2.5
    assert [sched.position(j.id).ahead for j in (low, high)] == [0, 1]  # type: ignore[union-attr]
    sched.complete(blocker.id)
    sched.check_invariants()
    assert sched.get(low.id).status is S.ACTIVE
    assert sched.get(high.id).status is S.READY


def test_the_cap_bounds_what_waiting_gains() -> None:
    sched, clock = aging_queue(Aging(every=1.0, step=1, cap=3))
    blocker = sched.submit(queue="q", priority=9)
    old = sched.submit(queue="q", priority=0)  # reaches 0 + 3 at t=3, then stays
    clock.set(999.0)
    new = sched.submit(queue="q", priority=4)  # 4 > 3 at once
    sched.check_invariants()
    sched.complete(blocker.id)
    assert sched.get(new.id).status is S.ACTIVE
    assert sched.get(old.id).status is S.READY


def test_equal_effective_priorities_keep_entry_order() -> None:
    sched, clock = aging_queue(Aging(every=10.0, step=1, cap=5))
    blocker = sched.submit(queue="q", priority=9)
    first = sched.submit(queue="q", priority=1)  # waits from 0
    clock.set(10.0)
    second = sched.submit(queue="q", priority=2)  # at 10: both at 2.0
    sched.complete(blocker.id)
    assert sched.get(first.id).status is S.ACTIVE
    assert sched.get(second.id).status is S.READY


def test_aging_never_preempts() -> None:
    sched, clock = aging_queue(Aging(every=1.0, step=1, cap=10), preemption=True)
    running = sched.submit(queue="q", priority=5)
    waiting = sched.submit(queue="q", priority=1, deferred=True)
    clock.set(100.0)  # aged to 11, above the running job's 5
    sched.poll()
    sched.update_priority(running.id, 5)  # any call: dispatch runs again
    sched.check_invariants()
    assert sched.get(running.id).status is S.ACTIVE
    assert sched.get(waiting.id).status is S.READY


def test_aging_shows_on_the_queue_and_can_be_turned_off() -> None:
    sched, _ = aging_queue(Aging(every=60.0, step=2, cap=4))
    info = sched.get_queue("q")
    assert info.aging == Aging(every=60.0, step=2, cap=4)
    assert info.policy == "priority+aging"
    assert sched.update_queue("q", aging="off").aging is None
    assert sched.get_queue("q").policy == "priority"
    assert sched.update_queue("q", aging=Aging()).aging == Aging()


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"aging": Aging(every=0.0)}, "aging.every must be a finite number > 0, got 0.0"),
        ({"aging": Aging(step=0)}, "aging.step must be 1..4294967295, got 0"),
        ({"aging": Aging(cap=0)}, "aging.cap must be 1..4294967295, got 0"),
        ({"aging": "slow"}, "aging must be an Aging, got str"),
        ({"aging": Aging(), "policy": "fifo"}, "aging needs policy 'priority', got 'fifo'"),
    ],
)
def test_bad_aging_is_refused(kwargs: dict[str, object], message: str) -> None:
    sched = Scheduler(ManualClock())
    before = fingerprint(sched)
    settings: dict[str, object] = {"policy": "priority", **kwargs}
    with pytest.raises(ValidationError) as info:
        sched.create_queue("q", **settings)  # type: ignore[arg-type]
    assert str(info.value) == message
    assert fingerprint(sched) == before


def _effective(sched: Scheduler, job_id: str, aging: Aging, now: float) -> float:
    job = sched.get(job_id)
    since = max(t for t, s in job.history if s in (S.READY, S.PAUSED))
    return job.priority + min(aging.cap, aging.step * (now - since) / aging.every)


@given(
    steps=st.lists(
        st.tuples(
            st.sampled_from(["submit", "complete", "wait"]),
            st.integers(min_value=-3, max_value=3),
            st.floats(min_value=0.0, max_value=30.0),
        ),
        max_size=40,
    ),
    every=st.sampled_from([1.0, 7.5, 60.0]),
    cap=st.integers(min_value=1, max_value=6),
)
def test_the_line_is_in_effective_priority_order_at_every_moment(
    steps: list[tuple[str, int, float]], every: float, cap: int
) -> None:
    aging = Aging(every=every, step=1, cap=cap)
    sched, clock = aging_queue(aging)
    for action, priority, wait in steps:
        if action == "submit":
            sched.submit(queue="q", priority=priority)
        elif action == "complete":
            running = [j for j in sched.list_jobs(statuses={S.ACTIVE}).jobs]
            if running:
                sched.complete(running[0].id)
        else:
            clock.advance(wait)
        sched.check_invariants()
        now = clock.now()
        line = [j.id for j in sched.list_jobs(statuses={S.READY}).jobs]
        line.sort(key=lambda j: sched.position(j).ahead)  # type: ignore[union-attr]
        keys = [(-_effective(sched, j, aging, now), sched.get(j).history[0].time) for j in line]
        # Each job ahead has an effective priority at least as high now.
        assert all(a[0] <= b[0] + 1e-9 for a, b in itertools.pairwise(keys))


def test_an_aging_line_still_preempts_by_the_jobs_own_priorities() -> None:
    sched, _ = aging_queue(Aging(every=60.0, step=1, cap=3), preemption=True)
    low = sched.submit(queue="q", priority=1)
    high = sched.submit(queue="q", priority=5)  # strictly higher: low pauses
    sched.check_invariants()
    assert sched.get(low.id).status is S.PAUSED
    assert sched.get(high.id).status is S.ACTIVE
    sched.update_priority(high.id, 0)  # now below low's own priority: low preempts it
    sched.check_invariants()
    assert sched.get(low.id).status is S.ACTIVE
    assert sched.get(high.id).status is S.PAUSED
