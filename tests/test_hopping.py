"""Queue hopping (MediaConvert), on a manual clock.

A job still waiting in its queue when a rule's wait has passed moves to the
rule's destination; each rule of a chain is timed from the job's entry into its
current queue. Jobs never hop out of a paused queue; on reactivation, a job
whose wait passed hops at once if any job is ahead of it, and otherwise stays
and runs there. Jobs hop freely into a paused queue and wait there.

Times in comments are minutes:seconds after the start (clock seconds in code).
"""

from __future__ import annotations

import math
import re

import pytest
from helpers import fingerprint

from jobqueue import (
    ConflictError,
    Event,
    HopRule,
    HopTransition,
    JobHopped,
    JobStatus,
    ManualClock,
    NotFound,
    PriorityChanged,
    QueuePosition,
    Scheduler,
    ValidationError,
)
from jobqueue._core import core_of

S = JobStatus
MIN = 60.0


def hops(events: list[Event]) -> list[JobHopped]:
    return [e for e in events if isinstance(e, JobHopped)]


def seed_setup(clock: ManualClock) -> tuple[Scheduler, list[Event], str, str]:
    """Queue1 (1 slot) and Queue2 (2 slots); returns the scheduler, its events,
    the job holding Queue1's slot, and the job waiting ahead in Queue1.

    Queue1's only slot is held by a running job, so a job submitted there waits.
    """
    sched = Scheduler(clock)
    sched.create_queue("queue1", slots=1)
    sched.create_queue("queue2", slots=2)
    events: list[Event] = []
    sched.subscribe(events.append)
    running = sched.submit(queue="queue1", description="holds the slot").id
    ahead = sched.submit(queue="queue1", description="waits ahead").id
    return sched, events, running, ahead


# ---------------------------------------------------------------------- the seed's examples


@pytest.mark.parametrize("polled_during_pause", [True, False])
def test_seed_paused_longer_than_the_wait_with_no_job_ahead_runs_from_queue1(
    polled_during_pause: bool,
) -> None:
    # "You submit a job to Queue1 with a wait time of 15 minutes and a
    # destination of Queue2. Five minutes after you submit the job, you pause
    # Queue1. Ten minutes later, the job remains in Queue1. Half an hour after
    # that, you activate Queue1. At that time, there are no jobs ahead of it in
    # Queue1, so the job runs from Queue1."
    clock = ManualClock()
    sched = Scheduler(clock)
    sched.create_queue("queue1", slots=1)
    sched.create_queue("queue2", slots=2)
    events: list[Event] = []
    sched.subscribe(events.append)
    running = sched.submit(queue="queue1").id  # 00:00 holds Queue1's slot
    job = sched.submit(queue="queue1", hops=[HopRule("queue2", 15 * MIN)]).id  # 00:00
    assert sched.next_deadline() == 15 * MIN
    clock.set(5 * MIN)  # 05:00 pause Queue1
    sched.pause_queue("queue1")
    clock.set(15 * MIN)  # 15:00 the wait is over, but Queue1 is paused
    if polled_during_pause:
        assert sched.poll() == 1
        assert sched.next_deadline() is None
    assert sched.get(job).queue == "queue1"  # the job remains in Queue1
    clock.set(20 * MIN)  # 20:00 the running job finishes; a paused queue starts nothing
    sched.complete(running)
    assert sched.get(job).status is S.READY
    clock.set(45 * MIN)  # 45:00 activate Queue1: no job is ahead of it
    sched.resume_queue("queue1")
    got = sched.get(job)
    assert (got.status, got.queue, got.started_at) == (S.ACTIVE, "queue1", 45 * MIN)
    assert got.hop_transitions == ()
    clock.set(60 * MIN)
    sched.poll()
    assert hops(events) == []
    sched.check_invariants()


@pytest.mark.parametrize("polled_during_pause", [True, False])
def test_seed_no_job_ahead_stays_in_queue1_even_while_its_slots_are_full(
    polled_during_pause: bool,
) -> None:
    # The same, but Queue1's slot is still busy at 45:00: the job stays first
    # in line and runs from Queue1 once the slot frees, never hopping.
    clock = ManualClock()
    sched = Scheduler(clock)
    sched.create_queue("queue1", slots=1)
    sched.create_queue("queue2", slots=2)
    events: list[Event] = []
    sched.subscribe(events.append)
    running = sched.submit(queue="queue1").id  # 00:00
    job = sched.submit(queue="queue1", hops=[HopRule("queue2", 15 * MIN)]).id  # 00:00
    clock.set(5 * MIN)  # 05:00 pause Queue1
    sched.pause_queue("queue1")
    clock.set(15 * MIN)  # 15:00
    if polled_during_pause:
        sched.poll()
    clock.set(45 * MIN)  # 45:00 activate Queue1; the slot is still held
    sched.resume_queue("queue1")
    assert sched.get(job).status is S.READY
    assert sched.next_deadline() is None  # nothing left to hop
    clock.set(50 * MIN)  # 50:00 a later poll does not move it
    sched.poll()
    assert sched.get(job).queue == "queue1"
    clock.set(55 * MIN)  # 55:00 the slot frees: the job runs from Queue1
    sched.complete(running)
    got = sched.get(job)
    assert (got.status, got.queue, got.started_at) == (S.ACTIVE, "queue1", 55 * MIN)
    assert hops(events) == []
    sched.check_invariants()


@pytest.mark.parametrize("polled_during_pause", [True, False])
def test_seed_paused_longer_than_the_wait_with_a_job_ahead_hops_on_activation(
    polled_during_pause: bool,
) -> None:
    # "If there are any jobs ahead of it in the queue, the job hops to the
    # destination queue" -- at the moment Queue1 is activated.
    clock = ManualClock()
    sched, events, _, ahead = seed_setup(clock)  # 00:00 one running, one waiting ahead
    job = sched.submit(queue="queue1", hops=[HopRule("queue2", 15 * MIN)]).id  # 00:00
    clock.set(5 * MIN)  # 05:00 pause Queue1
    sched.pause_queue("queue1")
    clock.set(15 * MIN)  # 15:00 the wait is over; Queue1 is paused, so no hop
    if polled_during_pause:
        sched.poll()
    assert sched.get(job).queue == "queue1"
    assert hops(events) == []
    clock.set(45 * MIN)  # 45:00 activate Queue1: a job is ahead, so it hops at once
    sched.resume_queue("queue1")
    assert hops(events) == [JobHopped(45 * MIN, job, "queue1", "queue2", 0)]
    got = sched.get(job)
    assert (got.status, got.queue, got.started_at) == (S.ACTIVE, "queue2", 45 * MIN)
    assert got.hop_transitions == (HopTransition("queue1", "queue2", 45 * MIN, 0),)
    assert sched.position(ahead) == QueuePosition("queue1", 1, 0)  # the job ahead stays
    clock.set(60 * MIN)  # 60:00 no timer is left over to move it again
    sched.poll()
    assert len(hops(events)) == 1
    sched.check_invariants()


def test_seed_pausing_and_reactivating_before_the_wait_changes_nothing() -> None:
    # "Five minutes after you submit the job, you pause Queue1. One minute
    # later, you reactivate Queue1. Nine minutes later (15 minutes after you
    # submitted the job), there are still jobs ahead of it in the queue.
    # Therefore, the job hops to Queue2, as though you hadn't paused the queue."
    clock = ManualClock()
    sched, events, _, ahead = seed_setup(clock)  # 00:00 one running, one waiting ahead
    job = sched.submit(queue="queue1", hops=[HopRule("queue2", 15 * MIN)]).id  # 00:00
    clock.set(5 * MIN)  # 05:00 pause Queue1
    sched.pause_queue("queue1")
    clock.set(6 * MIN)  # 06:00 reactivate Queue1
    sched.resume_queue("queue1")
    assert hops(events) == []
    assert sched.next_deadline() == 15 * MIN  # the pause did not move the deadline
    clock.set(15 * MIN)  # 15:00 still a job ahead: the job hops
    assert sched.poll() == 1
    assert hops(events) == [JobHopped(15 * MIN, job, "queue1", "queue2", 0)]
    got = sched.get(job)
    assert (got.status, got.queue, got.started_at) == (S.ACTIVE, "queue2", 15 * MIN)
    assert sched.get(ahead).queue == "queue1"
    sched.check_invariants()


def test_seed_jobs_hop_freely_into_a_paused_queue_and_wait_there() -> None:
    # "You submit a job to Queue1 with a wait time of 15 minutes and a
    # destination of Queue2. Then, five minutes after you submit the job, you
    # pause Queue2. Ten minutes later (15 minutes after you submit the job),
    # the job hops to Queue2 and remains there, waiting until you activate
    # the queue."
    clock = ManualClock()
    sched, events, _, _ = seed_setup(clock)  # 00:00 one running, one waiting ahead
    job = sched.submit(queue="queue1", hops=[HopRule("queue2", 15 * MIN)]).id  # 00:00
    clock.set(5 * MIN)  # 05:00 pause Queue2
    sched.pause_queue("queue2")
    clock.set(15 * MIN)  # 15:00 the job hops into the paused Queue2
    sched.poll()
    assert hops(events) == [JobHopped(15 * MIN, job, "queue1", "queue2", 0)]
    got = sched.get(job)
    assert (got.status, got.queue) == (S.READY, "queue2")  # it waits there
    clock.set(40 * MIN)  # 40:00 activate Queue2: the job starts
    sched.resume_queue("queue2")
    got = sched.get(job)
    assert (got.status, got.queue, got.started_at) == (S.ACTIVE, "queue2", 40 * MIN)
    sched.check_invariants()


def test_on_activation_the_first_overdue_job_stays_and_the_others_hop() -> None:
    clock = ManualClock()
    sched = Scheduler(clock)
    sched.create_queue("queue1", slots=1)
    sched.create_queue("queue2", slots=5)
    events: list[Event] = []
    sched.subscribe(events.append)
    sched.submit(queue="queue1")  # 00:00 holds the slot
    rule = [HopRule("queue2", 10 * MIN)]
    first = sched.submit(queue="queue1", hops=rule).id  # 00:00
    clock.set(1 * MIN)
    second = sched.submit(queue="queue1", hops=rule).id  # 01:00
    sched.pause_queue("queue1")  # 01:00
    clock.set(8 * MIN)
    third = sched.submit(queue="queue1", hops=rule).id  # 08:00, due at 18:00
    clock.set(12 * MIN)  # 12:00 reactivate: the first two are overdue, the third is not
    sched.resume_queue("queue1")
    assert hops(events) == [JobHopped(12 * MIN, second, "queue1", "queue2", 0)]
    assert sched.position(first) == QueuePosition("queue1", 1, 0)
    assert sched.position(third) == QueuePosition("queue1", 2, 1)
    assert sched.next_deadline() == 18 * MIN
    clock.set(18 * MIN)  # 18:00 the third hops on time; the first never does
    sched.poll()
    assert [e.job_id for e in hops(events)] == [second, third]
    assert sched.get(first).queue == "queue1"
    sched.check_invariants()


def test_on_activation_the_queue_first_starts_what_its_free_slots_allow() -> None:
    # A job that can start the moment its queue is reactivated has nobody
    # ahead of it: it runs here rather than hopping away.
    clock = ManualClock()
    sched = Scheduler(clock)
    sched.create_queue("queue1", slots=2, deferred_share=1.0)
    sched.create_queue("queue2", slots=5)
    events: list[Event] = []
    sched.subscribe(events.append)
    sched.pause_queue("queue1")  # 00:00, both slots free
    rule = [HopRule("queue2", 10 * MIN)]
    plain = sched.submit(queue="queue1").id  # 00:00 no hop rule
    first = sched.submit(queue="queue1", hops=rule).id  # 00:00
    second = sched.submit(queue="queue1", hops=rule).id  # 00:00
    third = sched.submit(queue="queue1", hops=rule).id  # 00:00
    clock.set(30 * MIN)  # 30:00 reactivate, all three overdue, never polled
    sched.resume_queue("queue1")
    # The two slots take the first two in line; of the overdue jobs left, the
    # one now first in line stays and the one behind it hops.
    assert [sched.get(j).status for j in (plain, first, second, third)] == [
        S.ACTIVE,
        S.ACTIVE,
        S.READY,
        S.ACTIVE,
    ]
    assert sched.get(second).queue == "queue1"
    assert sched.position(second) == QueuePosition("queue1", 1, 0)
    assert hops(events) == [JobHopped(30 * MIN, third, "queue1", "queue2", 0)]
    assert sched.get(third).queue == "queue2"
    clock.set(60 * MIN)
    sched.poll()
    assert len(hops(events)) == 1
    sched.check_invariants()


# ---------------------------------------------------------------------- chains and priority


def test_each_rule_of_a_chain_is_timed_from_entry_into_the_current_queue() -> None:
    clock = ManualClock(100.0)
    sched = Scheduler(clock)
    for name in ("a", "b", "c"):
        sched.create_queue(name, slots=1)
        sched.submit(queue=name)  # fill its slot
    events: list[Event] = []
    sched.subscribe(events.append)
    job = sched.submit(queue="a", hops=[HopRule("b", 600.0), HopRule("c", 300.0)]).id
    assert sched.next_deadline() == 700.0  # 100 + 600
    clock.set(699.0)
    assert sched.poll() == 0
    clock.set(700.0)
    sched.poll()
    # Timed from entry into "b" at 700, not from submission.
    assert sched.next_deadline() == 1000.0
    clock.set(999.0)
    sched.poll()
    assert sched.get(job).queue == "b"
    clock.set(1000.0)
    sched.poll()
    got = sched.get(job)
    assert (got.submission_queue, got.queue, got.status) == ("a", "c", S.READY)
    assert got.hop_transitions == (
        HopTransition("a", "b", 700.0, 0),
        HopTransition("b", "c", 1000.0, 0),
    )
    assert hops(events) == [
        JobHopped(700.0, job, "a", "b", 0),
        JobHopped(1000.0, job, "b", "c", 0),
    ]
    assert sched.next_deadline() is None
    sched.check_invariants()


def test_the_wait_starts_when_a_confirmed_job_enters_the_line() -> None:
    clock = ManualClock()
    sched = Scheduler(clock)
    sched.create_queue("a", slots=1)
    sched.create_queue("b")
    sched.submit(queue="a")
    job = sched.submit(queue="a", hops=[HopRule("b", 60.0)], confirmation_required=True).id
    clock.set(500.0)
    sched.poll()
    assert sched.get(job).status is S.SUSPENDED  # a Suspended job does not hop
    sched.confirm(job)  # 500: enters the line of "a"
    assert sched.next_deadline() == 560.0
    clock.set(560.0)
    sched.poll()
    assert sched.get(job).hop_transitions == (HopTransition("a", "b", 560.0, 0),)


def test_a_chain_may_return_to_an_earlier_queue() -> None:
    clock = ManualClock()
    sched = Scheduler(clock)
    sched.create_queue("a", slots=1)
    sched.create_queue("b", slots=1)
    sched.submit(queue="a")
    sched.submit(queue="b")
    job = sched.submit(queue="a", hops=[HopRule("b", 10.0), HopRule("a", 10.0)]).id
    for t in (10.0, 20.0):
        clock.set(t)
        sched.poll()
    assert sched.get(job).hop_transitions == (
        HopTransition("a", "b", 10.0, 0),
        HopTransition("b", "a", 20.0, 0),
    )
    assert sched.get(job).queue == "a"


def test_a_late_poll_hops_at_the_time_of_the_poll_and_times_the_next_rule_from_it() -> None:
    # The core acts at clock.now(): a driver that polls late moves the job
    # late, and the job entered its new queue when it actually got there.
    clock = ManualClock()
    sched = Scheduler(clock)
    sched.create_queue("a", slots=1)
    sched.create_queue("b", slots=1)
    sched.submit(queue="a")
    sched.submit(queue="b")
    job = sched.submit(queue="a", hops=[HopRule("b", 10.0), HopRule("a", 10.0)]).id
    clock.set(25.0)  # both waits would be over if timed from submission
    assert sched.poll() == 1
    assert sched.get(job).hop_transitions == (HopTransition("a", "b", 25.0, 0),)
    assert sched.next_deadline() == 35.0


def test_a_rule_with_a_priority_sets_it_in_the_destination() -> None:
    clock = ManualClock()
    sched = Scheduler(clock)
    sched.create_queue("a", slots=1)
    sched.create_queue("b", slots=1, policy="priority")
    sched.submit(queue="a")
    sched.submit(queue="b")  # holds b's slot
    low = sched.submit(queue="b", priority=3).id
    high = sched.submit(queue="b", priority=9).id
    events: list[Event] = []
    sched.subscribe(events.append)
    job = sched.submit(queue="a", priority=1, hops=[HopRule("b", 60.0, priority=5)]).id
    clock.set(60.0)
    sched.poll()
    assert [e for e in events if isinstance(e, (PriorityChanged, JobHopped))] == [
        PriorityChanged(60.0, job, 1, 5),
        JobHopped(60.0, job, "a", "b", 5),
    ]
    assert sched.get(job).priority == 5
    assert sched.get(job).hop_transitions == (HopTransition("a", "b", 60.0, 5),)
    # Ordered by the new priority among b's waiting jobs.
    assert [sched.position(j) for j in (high, job, low)] == [
        QueuePosition("b", 1, 0),
        QueuePosition("b", 2, 1),
        QueuePosition("b", 3, 2),
    ]


def test_a_rule_without_a_priority_keeps_the_jobs_own() -> None:
    clock = ManualClock()
    sched = Scheduler(clock)
    sched.create_queue("a", slots=1)
    sched.create_queue("b", slots=1)
    sched.submit(queue="a")
    sched.submit(queue="b")
    events: list[Event] = []
    sched.subscribe(events.append)
    job = sched.submit(queue="a", priority=4, hops=[HopRule("b", 60.0)]).id
    clock.set(30.0)
    sched.update_priority(job, 7)  # its own priority, changed while it waits
    clock.set(60.0)
    sched.poll()
    assert sched.get(job).priority == 7
    assert hops(events) == [JobHopped(60.0, job, "a", "b", 7)]
    assert [e for e in events if isinstance(e, PriorityChanged)] == [
        PriorityChanged(30.0, job, 4, 7)
    ]


def test_a_rule_priority_equal_to_the_jobs_emits_no_priority_change() -> None:
    clock = ManualClock()
    sched = Scheduler(clock)
    sched.create_queue("a", slots=1)
    sched.create_queue("b", slots=1)
    sched.submit(queue="a")
    events: list[Event] = []
    sched.subscribe(events.append)
    sched.submit(queue="a", priority=5, hops=[HopRule("b", 60.0, priority=5)])
    clock.set(60.0)
    sched.poll()
    assert [e for e in events if isinstance(e, PriorityChanged)] == []
    assert len(hops(events)) == 1


def test_a_hopped_job_joins_the_back_of_a_fifo_destination() -> None:
    clock = ManualClock()
    sched = Scheduler(clock)
    sched.create_queue("a", slots=1)
    sched.create_queue("b", slots=1)
    sched.submit(queue="a")
    sched.submit(queue="b")
    job = sched.submit(queue="a", priority=100, hops=[HopRule("b", 60.0)]).id
    clock.set(30.0)
    earlier = sched.submit(queue="b").id  # 00:30 waits in b
    clock.set(60.0)
    sched.poll()
    assert sched.position(earlier) == QueuePosition("b", 1, 0)
    assert sched.position(job) == QueuePosition("b", 2, 1)


# ---------------------------------------------------------------------- who hops


def test_a_job_that_started_before_its_wait_does_not_hop() -> None:
    clock = ManualClock()
    sched = Scheduler(clock)
    sched.create_queue("a", slots=1)
    sched.create_queue("b")
    first = sched.submit(queue="a").id
    job = sched.submit(queue="a", hops=[HopRule("b", 60.0)]).id
    clock.set(59.0)
    sched.complete(first)  # the job starts in "a" at 59
    assert sched.next_deadline() == 59.0 + 90 * 86_400.0  # only the purge of the first
    clock.set(120.0)
    assert sched.poll() == 0
    got = sched.get(job)
    assert (got.queue, got.hop_transitions) == ("a", ())


def test_a_job_paused_by_preemption_does_not_hop() -> None:
    # Only a job still waiting for its first start hops; a preempted job has
    # made progress in its queue and waits to resume there.
    clock = ManualClock()
    sched = Scheduler(clock)
    sched.create_queue("a", slots=1, policy="priority", preemption=True)
    sched.create_queue("b")
    job = sched.submit(queue="a", priority=1, hops=[HopRule("b", 60.0)]).id  # starts at once
    sched.submit(queue="a", priority=9)  # pauses it
    assert sched.get(job).status is S.PAUSED
    clock.set(600.0)
    sched.poll()
    assert sched.get(job).queue == "a"


def test_a_cancelled_job_does_not_hop() -> None:
    clock = ManualClock()
    sched = Scheduler(clock)
    sched.create_queue("a", slots=1)
    sched.create_queue("b")
    sched.submit(queue="a")
    job = sched.submit(queue="a", hops=[HopRule("b", 60.0)]).id
    sched.cancel(job)
    assert sched.next_deadline() == 90 * 86_400.0  # only its purge is left
    clock.set(60.0)
    assert sched.poll() == 0
    assert sched.get(job).queue == "a"


def test_a_hop_to_a_destination_with_a_free_slot_starts_the_job_there() -> None:
    clock = ManualClock()
    sched = Scheduler(clock)
    sched.create_queue("a", slots=1)
    sched.create_queue("b", slots=1)
    sched.submit(queue="a")
    job = sched.submit(queue="a", hops=[HopRule("b", 60.0), HopRule("a", 60.0)]).id
    clock.set(60.0)
    sched.poll()
    got = sched.get(job)
    assert (got.status, got.queue, got.started_at) == (S.ACTIVE, "b", 60.0)
    assert sched.next_deadline() is None  # running: the rest of the chain is moot


def test_a_destination_that_is_full_keeps_the_job_and_ends_its_chain() -> None:
    clock = ManualClock()
    sched = Scheduler(clock)
    sched.create_queue("a", slots=1)
    sched.create_queue("b", slots=1, max_waiting=1)
    sched.submit(queue="a")
    sched.submit(queue="b")
    sched.submit(queue="b")  # b's one waiting place is taken
    events: list[Event] = []
    sched.subscribe(events.append)
    job = sched.submit(queue="a", hops=[HopRule("b", 60.0)]).id
    clock.set(60.0)
    sched.poll()
    assert sched.get(job).queue == "a"
    assert hops(events) == []
    assert sched.next_deadline() is None
    sched.check_invariants()


# ---------------------------------------------------------------------- validation


def two_queues() -> Scheduler:
    sched = Scheduler(ManualClock())
    sched.create_queue("a", slots=1)
    sched.create_queue("b")
    sched.submit(queue="a")
    return sched


@pytest.mark.parametrize(
    ("rules", "error", "message"),
    [
        (
            [HopRule("a", 60.0)],
            ValidationError,
            "hops[0].queue must differ from the queue it hops from, got 'a'",
        ),
        (
            [HopRule("b", 60.0), HopRule("b", 60.0)],
            ValidationError,
            "hops[1].queue must differ from the queue it hops from, got 'b'",
        ),
        ([HopRule("nope", 60.0)], NotFound, "hops[0].queue: unknown queue 'nope'"),
        (
            [HopRule("b", 60.0), HopRule("gone", 1.0)],
            NotFound,
            "hops[1].queue: unknown queue 'gone'",
        ),
        ([HopRule("b", 0.0)], ValidationError, "hops[0].wait must be a finite number > 0, got 0.0"),
        ([HopRule("b", -5)], ValidationError, "hops[0].wait must be a finite number > 0, got -5"),
        (
            [HopRule("b", math.nan)],
            ValidationError,
            "hops[0].wait must be a finite number > 0, got nan",
        ),
        (
            [HopRule("b", math.inf)],
            ValidationError,
            "hops[0].wait must be a finite number > 0, got inf",
        ),
        ([HopRule("b", True)], ValidationError, "hops[0].wait must be a number, got bool"),
        ([HopRule("b", "60")], ValidationError, "hops[0].wait must be a number, got str"),  # type: ignore[arg-type]
        (
            [HopRule("b", 60.0, priority=True)],
            ValidationError,
            "hops[0].priority must be an int, got bool",
        ),
        (
            [HopRule("b", 60.0, priority=2**31)],
            ValidationError,
            "hops[0].priority must be -2147483648..2147483647, got 2147483648",
        ),
        ([("b", 60.0)], ValidationError, "hops[0] must be a HopRule, got tuple"),
        (HopRule("b", 60.0), ValidationError, "hops must be a sequence of HopRule, got HopRule"),
    ],
)
def test_bad_hop_rules_are_rejected_at_submission_and_nothing_is_stored(
    rules: object, error: type[Exception], message: str
) -> None:
    sched = two_queues()
    before = fingerprint(sched)
    events: list[Event] = []
    sched.subscribe(events.append)
    with pytest.raises(error) as info:
        sched.submit(queue="a", hops=rules)  # type: ignore[arg-type]
    assert str(info.value) == message
    assert fingerprint(sched) == before
    assert events == []


def test_an_integer_wait_is_accepted_as_seconds() -> None:
    sched = two_queues()
    job = sched.submit(queue="a", hops=[HopRule("b", 60)])
    assert job.hops == (HopRule("b", 60.0, None),)
    assert isinstance(job.hops[0].wait, float)


def test_a_job_shows_its_submission_queue_current_queue_and_rules() -> None:
    clock = ManualClock()
    sched = Scheduler(clock)
    sched.create_queue("a", slots=1)
    sched.create_queue("b", slots=1)
    sched.submit(queue="a")
    sched.submit(queue="b")
    rules = [HopRule("b", 60.0, priority=2)]
    job = sched.submit(queue="a", hops=rules)
    assert (job.submission_queue, job.queue, job.hops, job.hop_transitions) == (
        "a",
        "a",
        tuple(rules),
        (),
    )
    clock.set(60.0)
    sched.poll()
    got = sched.get(job.id)
    assert (got.submission_queue, got.queue) == ("a", "b")
    assert got.hops == tuple(rules)  # the configuration does not change
    assert got.hop_transitions == (HopTransition("a", "b", 60.0, 2),)


def test_a_queue_with_a_pending_hop_to_it_cannot_be_deleted_until_the_job_leaves() -> None:
    sched = two_queues()
    job = sched.submit(queue="a", hops=[HopRule("b", 60.0)]).id
    with pytest.raises(ConflictError, match=re.escape(f"queue 'b' is in use by job {job!r}")):
        sched.delete_queue("b")
    sched.cancel(job)
    sched.delete_queue("b")


def test_a_hop_out_of_a_queue_over_its_lowered_cap_counts_against_the_excess() -> None:
    # White-box: the allowance for jobs admitted under a higher cap shrinks as
    # they leave the line, hops included, so check_invariants stays strict.
    clock = ManualClock()
    sched = Scheduler(clock)
    sched.create_queue("src", slots=1, max_waiting=5)
    sched.create_queue("dst", slots=1)
    sched.submit(queue="src")  # holds the only slot
    waiting = [sched.submit(queue="src", hops=[HopRule("dst", wait=10.0)]) for _ in range(3)]
    sched.update_queue("src", max_waiting=1)  # 3 wait, 2 above the new cap
    assert core_of(sched).queues["src"].over_waiting == 2
    clock.set(10.0)
    sched.poll()  # all three hop out
    assert [sched.get(j.id).queue for j in waiting] == ["dst", "dst", "dst"]
    assert core_of(sched).queues["src"].over_waiting == 0
    sched.check_invariants()
