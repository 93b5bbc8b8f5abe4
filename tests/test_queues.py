"""Queues: create, update, delete, list, pause and resume, with their settings checked.

A queue is deleted only when empty: no unfinished job is in it or may still hop
to it. A paused queue starts nothing (not even by preemption) and lets no job
hop out, but the work already running in it carries on.
"""

from __future__ import annotations

import re

import pytest
from helpers import fingerprint

from jobqueue import (
    ConflictError,
    Event,
    FifoPolicy,
    HopRule,
    JobStatus,
    LimitExceededError,
    ManualClock,
    NotFound,
    Pricing,
    QueueEvent,
    QueueInfo,
    Scheduler,
    ValidationError,
)

S = JobStatus


def statuses(sched: Scheduler, ids: list[str]) -> list[JobStatus]:
    return [sched.get(job_id).status for job_id in ids]


# ---------------------------------------------------------------------- create


def test_a_fresh_scheduler_has_the_default_queue() -> None:
    assert Scheduler(ManualClock()).list_queues() == (
        QueueInfo(
            name="default",
            slots=100,
            deferred_share=0.9,
            deferred_limit=90,
            max_waiting=10_000,
            policy="fifo",
            pricing=Pricing.ON_DEMAND,
            tags={},
            paused=False,
            waiting=0,
            paused_jobs=0,
            running=0,
        ),
    )


def test_create_queue_returns_its_settings_and_emits_created() -> None:
    sched = Scheduler(ManualClock(4.0))
    events: list[Event] = []
    sched.subscribe(events.append)
    info = sched.create_queue(
        "reserved",
        slots=10,
        policy="priority",
        preemption=True,
        deferred_share=0.5,
        max_waiting=20,
        pricing="reserved",
        tags={"CostCenter": "42"},
    )
    assert info == QueueInfo(
        name="reserved",
        slots=10,
        deferred_share=0.5,
        deferred_limit=5,
        max_waiting=20,
        policy="priority+preemption",
        pricing=Pricing.RESERVED,
        tags={"CostCenter": "42"},
        paused=False,
        waiting=0,
        paused_jobs=0,
        running=0,
    )
    assert sched.get_queue("reserved") == info
    assert [q.name for q in sched.list_queues()] == ["default", "reserved"]
    assert events == [QueueEvent(4.0, "reserved", "created")]


def test_a_policy_instance_can_be_given() -> None:
    sched = Scheduler(ManualClock())
    assert sched.create_queue("mine", policy=FifoPolicy()).policy == "fifo"


@pytest.mark.parametrize(
    ("kwargs", "error", "message"),
    [
        ({"name": "default"}, ConflictError, "queue 'default' already exists"),
        ({"name": 3}, ValidationError, "queue name must be a str, got int"),
        ({"name": ""}, ValidationError, "name must be 1-200 characters, got 0"),
        (
            {"name": "a b"},
            ValidationError,
            "name may contain only 0-9, a-z, A-Z, '.', '_' and '-', got 'a b'",
        ),
        ({"name": "q", "slots": 0}, ValidationError, "slots must be >= 1, got 0"),
        ({"name": "q", "slots": True}, ValidationError, "slots must be an int, got bool"),
        ({"name": "q", "slots": 2.0}, ValidationError, "slots must be an int, got float"),
        (
            {"name": "q", "deferred_share": 0},
            ValidationError,
            "deferred_share must be in (0, 1], got 0",
        ),
        (
            {"name": "q", "deferred_share": 1.5},
            ValidationError,
            "deferred_share must be in (0, 1], got 1.5",
        ),
        ({"name": "q", "max_waiting": 0}, ValidationError, "max_waiting must be >= 1, got 0"),
        (
            {"name": "q", "pricing": "spot"},
            ValidationError,
            "pricing must be one of 'on_demand', 'reserved', got 'spot'",
        ),
        (
            {"name": "q", "policy": "lifo"},
            ValidationError,
            "policy must be 'fifo', 'priority' or a Policy, got 'lifo'",
        ),
        (
            {"name": "q", "preemption": True},
            ValidationError,
            "preemption needs policy 'priority', got 'fifo'",
        ),
        (
            {"name": "q", "tags": {"k" * 129: "v"}},
            ValidationError,
            "tag key must be 1-128 characters, got 129",
        ),
    ],
)
def test_bad_queue_settings_are_rejected_and_nothing_changes(
    kwargs: dict[str, object], error: type[Exception], message: str
) -> None:
    sched = Scheduler(ManualClock())
    sched.submit()
    before = fingerprint(sched)
    events: list[Event] = []
    sched.subscribe(events.append)
    with pytest.raises(error, match=f"^{re.escape(message)}$"):
        sched.create_queue(**kwargs)  # type: ignore[arg-type]
    assert fingerprint(sched) == before
    assert events == []


# ---------------------------------------------------------------------- update


def test_update_queue_changes_only_the_settings_given() -> None:
    sched = Scheduler(ManualClock())
    sched.create_queue("q", slots=4, tags={"a": "1"})
    info = sched.update_queue("q", deferred_share=0.5, pricing="reserved")
    assert (info.slots, info.deferred_share, info.deferred_limit) == (4, 0.5, 2)
    assert info.pricing is Pricing.RESERVED
    assert dict(info.tags) == {"a": "1"}
    info = sched.update_queue("q", tags={})
    assert dict(info.tags) == {}
    assert info.pricing is Pricing.RESERVED


def test_update_queue_emits_updated() -> None:
    sched = Scheduler(ManualClock(2.0))
    events: list[Event] = []
    sched.subscribe(events.append)
    sched.update_queue("default", slots=5)
    assert events == [QueueEvent(2.0, "default", "updated")]


def test_more_slots_start_waiting_jobs_at_once() -> None:
    sched = Scheduler(ManualClock())
    sched.create_queue("q", slots=1, deferred_share=1.0)
    ids = [sched.submit(queue="q").id for _ in range(3)]
    assert statuses(sched, ids) == [S.ACTIVE, S.READY, S.READY]
    sched.update_queue("q", slots=3)
    assert statuses(sched, ids) == [S.ACTIVE, S.ACTIVE, S.ACTIVE]


def test_fewer_slots_never_stop_running_work() -> None:
    sched = Scheduler(ManualClock())
    sched.create_queue("q", slots=3, deferred_share=1.0)
    ids = [sched.submit(queue="q").id for _ in range(4)]
    sched.update_queue("q", slots=1)
    assert statuses(sched, ids) == [S.ACTIVE, S.ACTIVE, S.ACTIVE, S.READY]
    sched.complete(ids[0])
    sched.complete(ids[1])
    assert statuses(sched, ids)[3] is S.READY  # still two holders for one slot
    sched.complete(ids[2])
    assert statuses(sched, ids)[3] is S.ACTIVE
    sched.check_invariants()


def test_changing_the_policy_reorders_the_line() -> None:
    sched = Scheduler(ManualClock())
    sched.create_queue("q", slots=1)
    running = sched.submit(queue="q").id
    low = sched.submit(queue="q", priority=1).id
    high = sched.submit(queue="q", priority=9).id
    sched.update_queue("q", policy="priority")
    assert sched.get_queue("q").policy == "priority"
    sched.complete(running)
    assert statuses(sched, [low, high]) == [S.READY, S.ACTIVE]


@pytest.mark.parametrize(
    ("kwargs", "error", "message"),
    [
        ({"name": "nope", "slots": 2}, NotFound, "unknown queue 'nope'"),
        ({"name": "q", "slots": 0}, ValidationError, "slots must be >= 1, got 0"),
        (
            {"name": "q", "deferred_share": -0.1},
            ValidationError,
            "deferred_share must be in (0, 1], got -0.1",
        ),
        ({"name": "q", "max_waiting": -5}, ValidationError, "max_waiting must be >= 1, got -5"),
        (
            {"name": "q", "pricing": "free"},
            ValidationError,
            "pricing must be one of 'on_demand', 'reserved', got 'free'",
        ),
        (
            {"name": "q", "policy": "random"},
            ValidationError,
            "policy must be 'fifo', 'priority' or a Policy, got 'random'",
        ),
        (
            {"name": "q", "preemption": True},
            ValidationError,
            "preemption needs policy 'priority', got 'fifo'",
        ),
        (
            {"name": "q", "slots": 5, "tags": {"a": 1}},
            ValidationError,
            "tag value for key 'a' must be a str, got int",
        ),
    ],
)
def test_bad_updates_are_rejected_and_nothing_changes(
    kwargs: dict[str, object], error: type[Exception], message: str
) -> None:
    sched = Scheduler(ManualClock())
    sched.create_queue("q", slots=1)
    sched.submit(queue="q")
    sched.submit(queue="q")
    before = fingerprint(sched)
    with pytest.raises(error, match=f"^{re.escape(message)}$"):
        sched.update_queue(**kwargs)  # type: ignore[arg-type]
    assert fingerprint(sched) == before


# ---------------------------------------------------------------------- delete


def test_an_empty_queue_is_deleted() -> None:
    sched = Scheduler(ManualClock())
    sched.create_queue("q")
    events: list[Event] = []
    sched.subscribe(events.append)
    sched.delete_queue("q")
    assert [q.name for q in sched.list_queues()] == ["default"]
    assert events == [QueueEvent(0.0, "q", "deleted")]
    with pytest.raises(NotFound, match=re.escape("unknown queue 'q'")):
        sched.get_queue("q")
    with pytest.raises(NotFound, match=re.escape("unknown queue 'q'")):
        sched.submit(queue="q")


def test_deleting_an_unknown_queue_raises_not_found() -> None:
    sched = Scheduler(ManualClock())
    with pytest.raises(NotFound, match=re.escape("unknown queue 'q'")):
        sched.delete_queue("q")


@pytest.mark.parametrize("state", ["active", "ready", "suspended", "paused-by-preemption"])
def test_a_queue_holding_an_unfinished_job_is_not_deleted(state: str) -> None:
    sched = Scheduler(ManualClock())
    sched.create_queue("q", slots=1, policy="priority", preemption=True)
    if state == "active":
        job = sched.submit(queue="q")
    elif state == "ready":
        done = sched.submit(queue="q")
        sched.complete(done.id)  # a finished job does not hold the queue
        sched.pause_queue("q")
        job = sched.submit(queue="q")
    elif state == "suspended":
        job = sched.submit(queue="q", confirmation_required=True)
    else:
        job = sched.submit(queue="q", priority=1)
        sched.submit(queue="q", priority=5)  # pauses the first
        assert sched.get(job.id).status is S.PAUSED
    before = fingerprint(sched)
    with pytest.raises(ConflictError) as info:
        sched.delete_queue("q")
    assert str(info.value) == f"queue 'q' is in use by job {job.id!r}"
    assert fingerprint(sched) == before
    assert job.id in sched


def test_a_queue_some_job_may_still_hop_to_is_not_deleted() -> None:
    clock = ManualClock()
    sched = Scheduler(clock)
    sched.create_queue("a", slots=1)
    sched.create_queue("b")
    sched.create_queue("c")
    sched.submit(queue="a")
    job = sched.submit(queue="a", hops=[HopRule("b", 10.0), HopRule("c", 10.0)])
    before = fingerprint(sched)
    for name in ("b", "c"):
        with pytest.raises(ConflictError, match=re.escape(f"queue {name!r} is in use by job")):
            sched.delete_queue(name)
    assert fingerprint(sched) == before
    clock.advance(10.0)
    sched.poll()  # hops to "b", where a slot is free: it starts, no hop is pending
    assert sched.get(job.id).status is S.ACTIVE
    sched.delete_queue("c")
    with pytest.raises(ConflictError, match=re.escape(f"queue 'b' is in use by job {job.id!r}")):
        sched.delete_queue("b")


def test_a_queue_with_only_finished_jobs_is_deleted_and_they_stay_listed() -> None:
    sched = Scheduler(ManualClock())
    sched.create_queue("q")
    job = sched.submit(queue="q")
    sched.complete(job.id)
    sched.delete_queue("q")
    assert [r.id for r in sched.list_jobs(queue="q")] == [job.id]
    assert sched.get(job.id).queue == "q"
    sched.check_invariants()


def test_a_deleted_name_can_be_reused() -> None:
    sched = Scheduler(ManualClock())
    sched.create_queue("q", slots=3)
    sched.delete_queue("q")
    assert sched.create_queue("q", slots=7).slots == 7


# ---------------------------------------------------------------------- counts


def test_list_queues_counts_waiting_running_and_paused_jobs() -> None:
    sched = Scheduler(ManualClock())
    sched.create_queue("fifo", slots=2, deferred_share=1.0)
    sched.create_queue("prio", slots=1, policy="priority", preemption=True)
    for _ in range(5):
        sched.submit(queue="fifo")
    low = sched.submit(queue="prio", priority=1)
    sched.submit(queue="prio", priority=2)  # preempts low
    sched.submit(queue="prio", priority=0)
    sched.submit(queue="prio", confirmation_required=True)  # Suspended: not counted
    counts = {q.name: (q.waiting, q.paused_jobs, q.running) for q in sched.list_queues()}
    assert counts == {"default": (0, 0, 0), "fifo": (3, 0, 2), "prio": (1, 1, 1)}
    assert sched.get(low.id).status is S.PAUSED


# ---------------------------------------------------------------------- pause and resume


def test_a_paused_queue_starts_nothing() -> None:
    sched = Scheduler(ManualClock())
    sched.create_queue("q", slots=2, deferred_share=1.0)
    running = sched.submit(queue="q").id
    info = sched.pause_queue("q")
    assert info.paused is True
    waiting = [sched.submit(queue="q").id for _ in range(2)]  # a slot is free, yet they wait
    assert statuses(sched, waiting) == [S.READY, S.READY]
    sched.complete(running)
    assert statuses(sched, waiting) == [S.READY, S.READY]
    confirmed = sched.submit(queue="q", confirmation_required=True).id
    sched.confirm(confirmed)
    assert sched.get(confirmed).status is S.READY
    info = sched.resume_queue("q")
    assert info.paused is False
    assert statuses(sched, [*waiting, confirmed]) == [S.ACTIVE, S.ACTIVE, S.READY]


def test_a_non_deferred_job_is_refused_by_a_paused_queue_and_nothing_is_stored() -> None:
    sched = Scheduler(ManualClock())
    sched.create_queue("q")
    sched.pause_queue("q")
    before = fingerprint(sched)
    with pytest.raises(LimitExceededError) as info:
        sched.submit(queue="q", deferred=False)
    assert str(info.value) == "queue 'q' is paused: a non-deferred job cannot start"
    assert fingerprint(sched) == before


def test_pausing_does_not_interrupt_running_work() -> None:
    clock = ManualClock()
    sched = Scheduler(clock)
    sched.create_queue("q", slots=1, policy="priority", preemption=True)
    running = sched.submit(queue="q", priority=1).id
    sched.pause_queue("q")
    urgent = sched.submit(queue="q", priority=9).id  # would preempt, but the queue is paused
    clock.advance(30.0)
    assert statuses(sched, [running, urgent]) == [S.ACTIVE, S.READY]
    sched.complete(running)
    assert sched.get(running).run_seconds == 30.0
    assert sched.get(urgent).status is S.READY
    sched.check_invariants()


def test_resuming_lets_preemption_happen() -> None:
    sched = Scheduler(ManualClock())
    sched.create_queue("q", slots=1, policy="priority", preemption=True)
    running = sched.submit(queue="q", priority=1).id
    sched.pause_queue("q")
    urgent = sched.submit(queue="q", priority=9).id
    sched.resume_queue("q")
    assert statuses(sched, [running, urgent]) == [S.PAUSED, S.ACTIVE]


def test_pausing_twice_or_resuming_an_active_queue_changes_nothing() -> None:
    clock = ManualClock()
    sched = Scheduler(clock)
    sched.create_queue("q")
    events: list[Event] = []
    sched.subscribe(events.append)
    sched.resume_queue("q")  # not paused: nothing to do
    sched.pause_queue("q")
    clock.advance(1.0)
    sched.pause_queue("q")
    sched.resume_queue("q")
    sched.resume_queue("q")
    assert events == [QueueEvent(0.0, "q", "paused"), QueueEvent(1.0, "q", "resumed")]


@pytest.mark.parametrize("call", ["pause_queue", "resume_queue", "get_queue"])
def test_queue_calls_on_an_unknown_queue_raise_not_found(call: str) -> None:
    sched = Scheduler(ManualClock())
    with pytest.raises(NotFound, match=re.escape("unknown queue 'nope'")):
        getattr(sched, call)("nope")


def test_a_paused_queue_is_still_paused_after_an_update() -> None:
    sched = Scheduler(ManualClock())
    sched.create_queue("q", slots=1)
    sched.pause_queue("q")
    waiting = sched.submit(queue="q").id
    info = sched.update_queue("q", slots=5)
    assert info.paused is True
    assert sched.get(waiting).status is S.READY
