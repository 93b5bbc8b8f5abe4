"""Best-effort preemption (S3 Batch Operations): who is paused, when, and how it resumes.

With ``policy="priority", preemption=True`` a waiting job of strictly higher
priority than the lowest-priority Active (preemptible) job, with no slot free
for it, asks that job to pause: Active -> Pausing -> Paused. The slot is freed
when the pause lands; the Paused job waits in line, keeping its place among
equal priorities, and resumes when the jobs that blocked it are gone.
"""

from __future__ import annotations

import pytest

from jobqueue import (
    Event,
    Job,
    JobStatus,
    JobTransitioned,
    ManualClock,
    PriorityChanged,
    PriorityPolicy,
    Scheduler,
)

S = JobStatus
Entry = tuple[float, str, str, str, str]


def record(sched: Scheduler) -> list[Entry]:
    """Subscribe; the list fills with ``(time, job, old, new, reason)`` for each transition.

    A priority change shows as ``(time, job, "priority", old, new)``.
    """
    log: list[Entry] = []

    def on_event(event: Event) -> None:
        if isinstance(event, JobTransitioned):
            log.append((event.time, event.job_id, event.old.value, event.new.value, event.reason))
        elif isinstance(event, PriorityChanged):
            log.append((event.time, event.job_id, "priority", str(event.old), str(event.new)))

    sched.subscribe(on_event)
    return log


def statuses(sched: Scheduler, *jobs: Job) -> list[str]:
    return [sched.get(j.id).status.value for j in jobs]


def make(
    slots: int = 2,
    *,
    acknowledge: bool = False,
    share: float = 1.0,
    clock: ManualClock | None = None,
) -> Scheduler:
    """Queue ``"p"``: priority order with preemption; short job ids (``j1``, ``j2``...)."""
    sched = Scheduler(clock or ManualClock(), acknowledge=acknowledge, id_prefix="j")
    sched.create_queue("p", slots=slots, deferred_share=share, policy="priority", preemption=True)
    return sched


def after_submission(log: list[Entry]) -> list[Entry]:
    """Drop the New -> Preparing -> Ready steps every submission makes."""
    return [e for e in log if e[2:4] not in (("New", "Preparing"), ("Preparing", "Ready"))]


# The scripted scenario ---------------------------------------------------------


def test_a_fifo_queue_switched_to_preemptive_priority_preempts_the_jobs_it_ran() -> None:
    # A FIFO queue tells its policy nothing of starts; the new policy learns
    # of the running jobs when it is set, and from then on of every start.
    clock = ManualClock()
    sched = Scheduler(clock, id_prefix="j")
    sched.create_queue("q", slots=2, deferred_share=1.0)
    low = sched.submit(queue="q", priority=1)
    mid = sched.submit(queue="q", priority=3)
    sched.update_queue("q", policy="priority", preemption=True)
    log = record(sched)
    clock.set(1.0)
    top = sched.submit(queue="q", priority=5)
    clock.set(2.0)
    sched.complete(top.id)  # low resumes
    clock.set(3.0)
    again = sched.submit(queue="q", priority=9)  # low, started under the new policy, pauses
    assert after_submission(log) == [
        (1.0, "j1", "Active", "Pausing", "preempted by j3"),
        (1.0, "j1", "Pausing", "Paused", ""),
        (1.0, "j3", "Ready", "Active", ""),
        (2.0, "j3", "Active", "Complete", ""),
        (2.0, "j1", "Paused", "Active", ""),
        (3.0, "j1", "Active", "Pausing", "preempted by j4"),
        (3.0, "j1", "Pausing", "Paused", ""),
        (3.0, "j4", "Ready", "Active", ""),
    ]
    assert statuses(sched, low, mid, again) == ["Paused", "Active", "Active"]


def test_a_waiting_job_of_no_higher_priority_than_every_running_one_preempts_none() -> None:
    # The victims come lowest priority first: the search ends at the first
    # one the waiting job does not outrank.
    sched = make(3)
    running = [sched.submit(queue="p", priority=p) for p in (4, 6, 8)]
    waiting = sched.submit(queue="p", priority=4)
    assert statuses(sched, *running, waiting) == ["Active", "Active", "Active", "Ready"]
    top = sched.submit(queue="p", priority=5)
    assert statuses(sched, *running, waiting, top) == [
        "Paused",
        "Active",
        "Active",
        "Ready",
        "Active",
    ]


def test_the_priority_policy_peeks_at_its_best_victim() -> None:
    # The lowest priority, then the latest started, of the preemptible Active
    # jobs; a preemption search refused by it names no victim.
    policy = PriorityPolicy(preemption=True)
    sched = Scheduler(ManualClock())
    sched.create_queue("p", slots=3, deferred_share=1.0, policy=policy)
    assert policy.peek_victim() is None
    low_early = sched.submit(queue="p", priority=2)
    sched.submit(queue="p", priority=7)
    sched.submit(queue="p", priority=3, preemptible=False)
    low_late = sched.submit(queue="p", priority=2)
    assert [sched.get(j.id).status for j in (low_early, low_late)] == [S.ACTIVE, S.READY]
    best = policy.peek_victim()
    assert best is not None and best.id == low_early.id
    sched.complete(low_early.id)  # low_late starts, and is the best victim now
    best = policy.peek_victim()
    assert best is not None and best.id == low_late.id
    assert PriorityPolicy().peek_victim() is None


def test_scripted_scenario_with_acknowledged_pauses() -> None:
    clock = ManualClock()
    sched = make(2, acknowledge=True, clock=clock)
    log = record(sched)
    a = sched.submit(queue="p", priority=1)
    b = sched.submit(queue="p", priority=1)
    clock.set(10.0)
    h = sched.submit(queue="p", priority=5)
    clock.set(11.0)
    y = sched.submit(queue="p", priority=0)
    clock.set(12.0)
    x = sched.submit(queue="p", priority=3)
    clock.set(14.0)
    sched.complete(a.id)
    clock.set(15.0)
    sched.paused(b.id)
    clock.set(20.0)
    sched.complete(h.id)
    clock.set(25.0)
    sched.update_priority(y.id, 2)
    clock.set(27.0)
    sched.paused(b.id)
    clock.set(30.0)
    sched.complete(x.id)
    clock.set(40.0)
    sched.complete(y.id)
    sched.complete(b.id)
    assert [a.id, b.id, h.id, y.id, x.id] == ["j1", "j2", "j3", "j4", "j5"]
    assert after_submission(log) == [
        (0.0, "j1", "Ready", "Active", ""),  # a takes the first slot
        (0.0, "j2", "Ready", "Active", ""),  # b takes the second
        (10.0, "j2", "Active", "Pausing", "preempted by j3"),  # h (5): b is the latest start
        # h stays Ready: b's slot is freed only when its pause is acknowledged.
        # y (0) arrives at 11 and waits; nobody is preempted for it, nor again for h.
        (12.0, "j1", "Active", "Pausing", "preempted by j5"),  # x (3): b's slot is h's, so a
        (14.0, "j1", "Pausing", "Complete", ""),  # a finishes before its pause lands
        (14.0, "j3", "Ready", "Active", ""),  # a's slot goes to the head of the line, h
        (15.0, "j2", "Pausing", "Paused", ""),  # b's pause lands
        (15.0, "j5", "Ready", "Active", ""),  # its slot goes to x
        (20.0, "j3", "Active", "Complete", ""),  # h done
        (20.0, "j2", "Paused", "Active", ""),  # b (1) resumes ahead of y (0)
        (25.0, "j4", "priority", "0", "2"),  # y now outranks b ...
        (25.0, "j2", "Active", "Pausing", "preempted by j4"),  # ... so b is asked to pause
        (27.0, "j2", "Pausing", "Paused", ""),  # b's second pause lands
        (27.0, "j4", "Ready", "Active", ""),  # y takes its slot
        (30.0, "j5", "Active", "Complete", ""),  # x done
        (30.0, "j2", "Paused", "Active", ""),  # b resumes again
        (40.0, "j4", "Active", "Complete", ""),  # y finishes
        (40.0, "j2", "Active", "Complete", ""),  # b finishes
    ]
    assert [s.status.value for s in sched.get(b.id).history] == [
        "New",
        "Preparing",
        "Ready",
        "Active",
        "Pausing",
        "Paused",
        "Active",
        "Pausing",
        "Paused",
        "Active",
        "Complete",
    ]
    # b held a slot (Active or Pausing) over 0-15, 20-27 and 30-40.
    assert sched.get(b.id).run_seconds == 15.0 + 7.0 + 10.0
    sched.check_invariants()


def test_scripted_scenario_without_acknowledgement() -> None:
    clock = ManualClock()
    sched = make(2, clock=clock)
    log = record(sched)
    a = sched.submit(queue="p", priority=1)
    clock.set(1.0)
    b = sched.submit(queue="p", priority=2)
    clock.set(2.0)
    h = sched.submit(queue="p", priority=5)
    clock.set(3.0)
    k = sched.submit(queue="p", priority=5)
    clock.set(4.0)
    late = sched.submit(queue="p", priority=1)
    clock.set(5.0)
    sched.complete(h.id)
    clock.set(6.0)
    sched.cancel(k.id)
    clock.set(7.0)
    sched.fail(b.id, "disk full")
    assert [a.id, b.id, h.id, k.id, late.id] == ["j1", "j2", "j3", "j4", "j5"]
    assert after_submission(log) == [
        (0.0, "j1", "Ready", "Active", ""),  # a (1) takes the first slot
        (1.0, "j2", "Ready", "Active", ""),  # b (2) takes the second
        (2.0, "j1", "Active", "Pausing", "preempted by j3"),  # h (5): a is the lowest
        (2.0, "j1", "Pausing", "Paused", ""),  # the pause lands at once
        (2.0, "j3", "Ready", "Active", ""),  # h takes a's slot
        (3.0, "j2", "Active", "Pausing", "preempted by j4"),  # k (5): b is now the lowest
        (3.0, "j2", "Pausing", "Paused", ""),  # at once again
        (3.0, "j4", "Ready", "Active", ""),  # k takes b's slot
        # late (1) arrives at 4 and waits behind a, whose priority is equal.
        (5.0, "j3", "Active", "Complete", ""),  # h done
        (5.0, "j2", "Paused", "Active", ""),  # b (2) resumes first
        (6.0, "j4", "Active", "Cancelling", "cancel requested"),  # k cancelled
        (6.0, "j4", "Cancelling", "Cancelled", ""),  # no work to wait for: at once
        (6.0, "j1", "Paused", "Active", ""),  # a resumes ahead of the later late
        (7.0, "j2", "Active", "Failing", "JobFailed"),  # b fails
        (7.0, "j2", "Failing", "Failed", ""),  # a report that the work ended: at once
        (7.0, "j5", "Ready", "Active", ""),  # late starts last
    ]
    sched.check_invariants()


# Slots are freed when the pause lands ------------------------------------------


def test_acknowledged_pause_frees_the_slot_only_on_paused() -> None:
    sched = make(1, acknowledge=True)
    low = sched.submit(queue="p", priority=1)
    high = sched.submit(queue="p", priority=5)
    assert statuses(sched, low, high) == ["Pausing", "Ready"]
    assert sched.get_queue("p").running == 1  # Pausing still holds the slot
    # Nothing that re-runs the dispatcher picks a second victim or starts high.
    other = sched.submit(queue="p", priority=0)
    sched.update_priority(high.id, 6)
    sched.poll()
    assert statuses(sched, low, high, other) == ["Pausing", "Ready", "Ready"]
    sched.check_invariants()
    sched.paused(low.id)
    assert statuses(sched, low, high, other) == ["Paused", "Active", "Ready"]
    sched.check_invariants()


def test_one_pause_per_waiting_job_and_each_newcomer_finds_its_own_victim() -> None:
    sched = make(3, acknowledge=True)
    running = [sched.submit(queue="p", priority=1) for _ in range(3)]
    first = sched.submit(queue="p", priority=5)
    assert statuses(sched, *running, first) == ["Active", "Active", "Pausing", "Ready"]
    second = sched.submit(queue="p", priority=5)
    assert statuses(sched, *running, first, second) == [
        "Active",
        "Pausing",
        "Pausing",
        "Ready",
        "Ready",
    ]
    # The pauses land in the other order: the freed slot goes to the head of the line.
    sched.paused(running[1].id)
    assert statuses(sched, first, second) == ["Active", "Ready"]
    sched.paused(running[2].id)
    assert statuses(sched, first, second) == ["Active", "Active"]
    assert statuses(sched, *running) == ["Active", "Paused", "Paused"]
    sched.check_invariants()


# Choosing the victim -----------------------------------------------------------


def test_victim_is_the_lowest_priority_then_the_latest_started() -> None:
    clock = ManualClock()
    sched = make(4, clock=clock)
    jobs: list[Job] = []
    for priority in (3, 1, 2, 1):
        jobs.append(sched.submit(queue="p", priority=priority))
        clock.advance(1.0)
    p3, p1_early, p2, p1_late = jobs
    assert statuses(sched, *jobs) == ["Active"] * 4
    expected_victims = [p1_late, p1_early, p2, p3]
    for victim in expected_victims:
        before = {j.id for j in jobs if sched.get(j.id).status is S.PAUSED}
        sched.submit(queue="p", priority=10)
        now_paused = {j.id for j in jobs if sched.get(j.id).status is S.PAUSED}
        assert now_paused - before == {victim.id}
    sched.check_invariants()


def test_a_resumed_job_counts_as_started_when_it_resumed() -> None:
    clock = ManualClock()
    sched = make(2, clock=clock)
    a = sched.submit(queue="p", priority=1)
    clock.advance(1.0)
    b = sched.submit(queue="p", priority=2)
    clock.advance(1.0)
    h = sched.submit(queue="p", priority=5)  # pauses a
    clock.advance(1.0)
    sched.update_priority(b.id, 1)
    sched.complete(h.id)  # a resumes: now a started after b
    assert statuses(sched, a, b) == ["Active", "Active"]
    sched.submit(queue="p", priority=5)
    assert statuses(sched, a, b) == ["Paused", "Active"]


def test_non_preemptible_jobs_are_never_victims() -> None:
    sched = make(2)
    pinned = sched.submit(queue="p", priority=0, preemptible=False)
    soft = sched.submit(queue="p", priority=2)
    # 1 outranks pinned, but only soft may be paused, and 1 does not outrank soft.
    mid = sched.submit(queue="p", priority=1)
    assert statuses(sched, pinned, soft, mid) == ["Active", "Active", "Ready"]
    high = sched.submit(queue="p", priority=3)
    assert statuses(sched, pinned, soft, mid, high) == ["Active", "Paused", "Ready", "Active"]
    top = sched.submit(queue="p", priority=2**31 - 1)
    assert statuses(sched, pinned, high, top) == ["Active", "Paused", "Active"]
    assert sched.get(pinned.id).preemptible is False
    sched.update_priority(pinned.id, -5)  # still not a victim
    sched.submit(queue="p", priority=2**31 - 1)
    assert statuses(sched, pinned) == ["Active"]
    sched.check_invariants()


def test_all_non_preemptible_means_higher_priority_waits() -> None:
    sched = make(1)
    pinned = sched.submit(queue="p", priority=-100, preemptible=False)
    high = sched.submit(queue="p", priority=100)
    assert statuses(sched, pinned, high) == ["Active", "Ready"]
    sched.complete(pinned.id)
    assert statuses(sched, high) == ["Active"]


@pytest.mark.parametrize("acknowledge", [False, True])
def test_equal_priority_never_preempts(acknowledge: bool) -> None:
    sched = make(2, acknowledge=acknowledge)
    log = record(sched)
    running = [sched.submit(queue="p", priority=4) for _ in range(2)]
    waiting = [sched.submit(queue="p", priority=4) for _ in range(3)]
    lower = sched.submit(queue="p", priority=3)
    assert statuses(sched, *running, *waiting, lower) == ["Active"] * 2 + ["Ready"] * 4
    assert not [e for e in log if e[3] == "Pausing"]


def test_preemption_off_never_pauses() -> None:
    sched = Scheduler(ManualClock())
    sched.create_queue("q", slots=1, deferred_share=1.0, policy="priority")
    low = sched.submit(queue="q", priority=-(2**31))
    high = sched.submit(queue="q", priority=2**31 - 1)
    assert statuses(sched, low, high) == ["Active", "Ready"]


# Pausing is best effort --------------------------------------------------------


def test_a_job_that_completes_while_pausing_completes() -> None:
    sched = make(1, acknowledge=True)
    low = sched.submit(queue="p", priority=1)
    high = sched.submit(queue="p", priority=2)
    assert statuses(sched, low) == ["Pausing"]
    sched.complete(low.id)
    assert statuses(sched, low, high) == ["Complete", "Active"]
    assert [c.status.value for c in sched.get(low.id).history][-3:] == [
        "Active",
        "Pausing",
        "Complete",
    ]
    sched.check_invariants()


def test_a_job_that_fails_while_pausing_fails() -> None:
    sched = make(1, acknowledge=True)
    low = sched.submit(queue="p", priority=1)
    high = sched.submit(queue="p", priority=2)
    sched.fail(low.id, "crashed at the checkpoint")
    assert statuses(sched, low, high) == ["Failed", "Active"]


def test_a_job_cancelled_while_pausing_keeps_its_slot_until_cancelled() -> None:
    sched = make(1, acknowledge=True)
    low = sched.submit(queue="p", priority=1)
    high = sched.submit(queue="p", priority=2)
    sched.cancel(low.id)
    assert statuses(sched, low, high) == ["Cancelling", "Ready"]
    sched.cancelled(low.id)
    assert statuses(sched, low, high) == ["Cancelled", "Active"]
    sched.check_invariants()


def test_a_pause_landing_after_its_reason_left_resumes_at_once() -> None:
    sched = make(1, acknowledge=True)
    log = record(sched)
    low = sched.submit(queue="p", priority=1)
    high = sched.submit(queue="p", priority=2)
    sched.cancel(high.id)  # the job it paused for goes away first
    sched.paused(low.id)
    assert statuses(sched, low) == ["Active"]
    assert [e[1:4] for e in after_submission(log)][-2:] == [
        ("j1", "Pausing", "Paused"),
        ("j1", "Paused", "Active"),
    ]


# Resuming ------------------------------------------------------------------------


@pytest.mark.parametrize("acknowledge", [False, True])
@pytest.mark.parametrize("end", ["complete", "fail", "cancel"])
def test_paused_job_resumes_when_the_blocking_job_ends(acknowledge: bool, end: str) -> None:
    sched = make(1, acknowledge=acknowledge)
    low = sched.submit(queue="p", priority=1)
    high = sched.submit(queue="p", priority=9)
    if acknowledge:
        sched.paused(low.id)
    assert statuses(sched, low, high) == ["Paused", "Active"]
    getattr(sched, end)(high.id)
    if acknowledge and end == "cancel":
        # The cancelled work still holds the slot until it stops.
        assert statuses(sched, low, high) == ["Paused", "Cancelling"]
        sched.cancelled(high.id)
    assert sched.get(high.id).status.is_terminal
    assert statuses(sched, low) == ["Active"]
    sched.check_invariants()


def test_paused_job_waits_while_any_higher_job_is_still_ahead() -> None:
    sched = make(1)
    low = sched.submit(queue="p", priority=1)
    h1 = sched.submit(queue="p", priority=5)
    h2 = sched.submit(queue="p", priority=4)
    assert statuses(sched, low, h1, h2) == ["Paused", "Active", "Ready"]
    sched.complete(h1.id)
    assert statuses(sched, low, h2) == ["Paused", "Active"]
    sched.complete(h2.id)
    assert statuses(sched, low) == ["Active"]


def test_paused_job_goes_before_later_submissions_of_equal_priority() -> None:
    sched = make(1)
    early = sched.submit(queue="p", priority=1)
    high = sched.submit(queue="p", priority=5)
    later = [sched.submit(queue="p", priority=1) for _ in range(2)]
    where = sched.position(early.id)
    assert where is not None and where.position == 1
    sched.complete(high.id)
    assert statuses(sched, early, *later) == ["Active", "Ready", "Ready"]


def test_preempted_non_deferred_job_waits_and_resumes() -> None:
    sched = make(1)
    direct = sched.submit(queue="p", priority=1, deferred=False)
    high = sched.submit(queue="p", priority=5)
    assert statuses(sched, direct, high) == ["Paused", "Active"]
    sched.complete(high.id)
    assert statuses(sched, direct) == ["Active"]


def test_paused_queue_does_not_preempt_until_resumed() -> None:
    sched = make(1)
    low = sched.submit(queue="p", priority=1)
    sched.pause_queue("p")
    high = sched.submit(queue="p", priority=5)
    assert statuses(sched, low, high) == ["Active", "Ready"]
    sched.resume_queue("p")
    assert statuses(sched, low, high) == ["Paused", "Active"]


# The deferred share ----------------------------------------------------------------


def test_waiting_job_blocked_only_by_the_share_preempts_only_a_deferred_job() -> None:
    sched = make(4, share=0.5)  # deferred jobs may hold 2 of the 4 slots
    direct = sched.submit(queue="p", priority=0, deferred=False)
    d1 = sched.submit(queue="p", priority=2)
    d2 = sched.submit(queue="p", priority=3)
    assert sched.get_queue("p").running == 3  # one slot free, but not for deferred jobs
    w = sched.submit(queue="p", priority=5)
    # direct has the lowest priority, but pausing it would not make room in the share.
    assert statuses(sched, direct, d1, d2, w) == ["Active", "Paused", "Active", "Active"]
    sched.check_invariants()


def test_share_bound_job_does_not_preempt_when_no_deferred_job_is_lower() -> None:
    sched = make(4, share=0.5)
    direct = sched.submit(queue="p", priority=0, deferred=False)
    d1 = sched.submit(queue="p", priority=6)
    d2 = sched.submit(queue="p", priority=7)
    w = sched.submit(queue="p", priority=5)
    assert statuses(sched, direct, d1, d2, w) == ["Active", "Active", "Active", "Ready"]
    # A non-deferred job still takes the free slot the share keeps for it.
    sched.submit(queue="p", priority=-1, deferred=False)
    assert sched.get_queue("p").running == 4


def test_waiting_job_blocked_by_slots_may_preempt_a_non_deferred_job() -> None:
    sched = make(3, share=0.67)  # deferred limit 2
    d = sched.submit(queue="p", priority=3)
    n1 = sched.submit(queue="p", priority=1, deferred=False)
    n2 = sched.submit(queue="p", priority=2, deferred=False)
    w = sched.submit(queue="p", priority=5)
    assert statuses(sched, d, n1, n2, w) == ["Active", "Paused", "Active", "Active"]
    sched.check_invariants()


def test_acknowledged_pause_of_a_non_deferred_job_does_not_serve_a_share_bound_job() -> None:
    sched = make(3, share=0.67, acknowledge=True)
    d1 = sched.submit(queue="p", priority=1)
    d2 = sched.submit(queue="p", priority=2)
    n = sched.submit(queue="p", priority=0, deferred=False)
    w = sched.submit(queue="p", priority=5)
    # Share full: the victim must be deferred, so d1 (1), not n (0).
    assert statuses(sched, d1, d2, n, w) == ["Pausing", "Active", "Active", "Ready"]
    sched.complete(n.id)  # frees a slot, not room in the share
    assert statuses(sched, d1, w) == ["Pausing", "Ready"]
    sched.paused(d1.id)
    assert statuses(sched, d1, w) == ["Paused", "Active"]
    sched.check_invariants()
