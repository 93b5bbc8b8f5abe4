"""Job controls, time by time on a ManualClock: not_before, after, max_run, max_wait, retry.

Each golden trace lists ``(time, job, old -> new)`` transitions as they
happen, with a comment where a rule decides. Invariants are checked after
every step.
"""

from __future__ import annotations

import random

import pytest
from helpers import fingerprint, transitions

from jobqueue import (
    ConflictError,
    Dependency,
    Event,
    HopRule,
    JobStatus,
    ManualClock,
    NotFound,
    PendingCode,
    Retry,
    RetryScheduled,
    Scheduler,
    ValidationError,
)
from jobqueue._core import core_of
from jobqueue._core.pending import pending_reason

S = JobStatus


def make(slots: int = 1, **kwargs: object) -> tuple[Scheduler, ManualClock, list[Event]]:
    clock = ManualClock()
    sched = Scheduler(clock, **kwargs)  # type: ignore[arg-type]
    sched.update_queue("default", slots=slots, deferred_share=1.0)
    events: list[Event] = []
    sched.subscribe(events.append)
    return sched, clock, events


def step(sched: Scheduler, clock: ManualClock, to: float) -> None:
    clock.set(float(to))
    sched.poll()
    sched.check_invariants()


# ---------------------------------------------------------------------- not_before


def test_not_before_holds_the_job_in_suspended_until_its_time() -> None:
    sched, clock, events = make()
    job = sched.submit(not_before=10.0)
    assert job.status is S.SUSPENDED and job.not_before == 10.0
    reason = sched.pending_reason(job.id)
    assert reason is not None and reason.code is PendingCode.NOT_BEFORE and reason.until == 10.0
    assert sched.next_deadline() == 10.0
    step(sched, clock, 9.999)
    assert sched.get(job.id).status is S.SUSPENDED
    step(sched, clock, 10)
    assert transitions(events) == [
        (0.0, job.id, "New", "Preparing"),
        (0.0, job.id, "Preparing", "Suspended"),  # held by its start time
        (10.0, job.id, "Suspended", "Ready"),
        (10.0, job.id, "Ready", "Active"),
    ]
    assert sched.pending_reason(job.id) is None


def test_a_not_before_already_passed_holds_nothing() -> None:
    sched, clock, _ = make()
    clock.set(5.0)
    assert sched.submit(not_before=5.0).status is S.ACTIVE


def test_a_hop_wait_counts_from_the_moment_the_job_becomes_eligible() -> None:
    sched, clock, _ = make()
    sched.create_queue("other", slots=1)
    blocker = sched.submit()
    job = sched.submit(not_before=10.0, hops=[HopRule("other", wait=5.0)])
    step(sched, clock, 10)  # eligible: it waits behind the blocker from here
    step(sched, clock, 14.999)
    assert sched.get(job.id).queue == "default"
    step(sched, clock, 15)
    assert sched.get(job.id).queue == "other" and sched.get(job.id).status is S.ACTIVE
    assert sched.get(blocker.id).status is S.ACTIVE


def test_a_held_job_keeps_its_place_under_the_cap() -> None:
    sched, clock, _ = make()
    sched.update_queue("default", max_waiting=2)
    sched.submit()  # holds the slot
    sched.submit(not_before=10.0)
    sched.submit()
    before = fingerprint(sched)
    with pytest.raises(Exception, match="is full: at most 2 jobs may wait"):
        sched.submit()
    assert fingerprint(sched) == before
    step(sched, clock, 10)  # it joins the line without passing the cap
    assert sched.get_queue("default").waiting == 2


def test_not_before_needs_a_deferred_job() -> None:
    sched, _, _ = make()
    before = fingerprint(sched)
    with pytest.raises(ValidationError) as info:
        sched.submit(not_before=10.0, deferred=False)
    assert str(info.value) == (
        "not_before needs deferred=True: a non-deferred job starts at once or not at all"
    )
    assert fingerprint(sched) == before


# ---------------------------------------------------------------------- after


def test_a_dependent_starts_when_its_dependency_completes() -> None:
    sched, clock, events = make(slots=2)
    first = sched.submit()
    second = sched.submit(after=[first.id])
    assert second.status is S.SUSPENDED and second.after == (Dependency(first.id),)
    reason = sched.pending_reason(second.id)
    assert reason is not None and reason.code is PendingCode.DEPENDENCIES
    assert reason.jobs == (first.id,) and reason.message == f"it waits on 1 job: {first.id}"
    clock.set(3.0)
    sched.complete(first.id)
    sched.check_invariants()
    assert [t for t in transitions(events) if t[0] == 3.0] == [
        (3.0, first.id, "Active", "Complete"),
        (3.0, second.id, "Suspended", "Ready"),  # its dependency is met
        (3.0, second.id, "Ready", "Active"),
    ]


@pytest.mark.parametrize(
    ("on", "end", "runs"),
    [
        ("ok", "complete", True),
        ("ok", "fail", False),
        ("ok", "cancel", False),
        ("failed", "fail", True),
        ("failed", "cancel", True),
        ("failed", "complete", False),
        ("any", "complete", True),
        ("any", "fail", True),
        ("any", "cancel", True),
    ],
)
def test_each_kind_of_dependency(on: str, end: str, runs: bool) -> None:
    sched, clock, events = make(slots=2)
    first = sched.submit()
    second = sched.submit(after=[Dependency(first.id, on=on)])
    clock.set(1.0)
    getattr(sched, end)(first.id)
    sched.check_invariants()
    got = sched.get(second.id)
    if runs:
        assert got.status is S.ACTIVE
    else:
        assert got.status is S.FAILED
        assert [r.code for r in got.failure_reasons] == ["DependencyNeverSatisfied"]
        assert [t[2:] for t in transitions(events) if t[1] == second.id][-3:] == [
            ("Suspended", "Ready"),  # the table's way out of Suspended
            ("Ready", "Failing"),
            ("Failing", "Failed"),
        ]


def test_a_dependency_that_ended_before_submission_is_decided_at_once() -> None:
    sched, _, _ = make(slots=2)
    done = sched.submit()
    sched.complete(done.id)
    failed = sched.submit()
    sched.fail(failed.id)
    met = sched.submit(after=[done.id])
    assert [c.status for c in met.history] == [S.NEW, S.PREPARING, S.READY, S.ACTIVE]
    never = sched.submit(after=[failed.id])
    assert [c.status for c in never.history] == [S.NEW, S.PREPARING, S.FAILING, S.FAILED]
    assert [(r.code, r.message) for r in never.failure_reasons] == [
        (
            "DependencyNeverSatisfied",
            f"job {failed.id} ended Failed, and this job waited for it to end Complete",
        )
    ]
    sched.check_invariants()


def test_a_long_chain_of_dependents_fails_without_recursion() -> None:
    sched, _, _ = make(slots=1)
    head = sched.submit()
    chain = [head.id]
    for _ in range(3000):
        chain.append(sched.submit(after=[chain[-1]]).id)
    sched.fail(head.id)
    assert {sched.get(j).status for j in chain[1:]} == {S.FAILED}
    sched.check_invariants()


def test_unknown_dependencies_store_nothing() -> None:
    sched, _, _ = make()
    before = fingerprint(sched)
    with pytest.raises(NotFound) as info:
        sched.submit(after=["job-404"])
    assert str(info.value) == "after[0]: unknown job 'job-404'"
    for bad, message in [
        ("job-1", "after must be a sequence of job ids or Dependency, got str"),
        ([3], "after[0] must be a job id or a Dependency, got int"),
        (None, "after must be a sequence of job ids or Dependency, got NoneType"),
    ]:
        with pytest.raises(ValidationError) as verr:
            sched.submit(after=bad)  # type: ignore[arg-type]
        assert str(verr.value) == message
    assert fingerprint(sched) == before


def test_a_bad_dependency_kind_is_refused() -> None:
    sched, _, _ = make()
    job = sched.submit()
    before = fingerprint(sched)
    with pytest.raises(ValidationError) as info:
        sched.submit(after=[Dependency(job.id, on="maybe")])
    assert str(info.value) == "after[0].on must be one of 'ok', 'any', 'failed', got 'maybe'"
    assert fingerprint(sched) == before


# ---------------------------------------------------------------------- max_run


def test_max_run_fails_a_job_that_holds_its_slot_too_long() -> None:
    sched, clock, _ = make()
    job = sched.submit(max_run=5.0)
    step(sched, clock, 4.999)
    assert sched.get(job.id).status is S.ACTIVE
    step(sched, clock, 5)
    got = sched.get(job.id)
    assert got.status is S.FAILED and got.run_seconds == 5.0
    assert [(r.code, r.message) for r in got.failure_reasons] == [
        ("RunTimeExceeded", "ran longer than max_run=5 seconds")
    ]


def test_max_run_sums_the_run_across_preemptions() -> None:
    sched, clock, _ = make()
    sched.update_queue("default", policy="priority", preemption=True)
    job = sched.submit(max_run=5.0, priority=1)
    clock.set(3.0)
    urgent = sched.submit(priority=9)  # job pauses at 3 with 3 s run
    step(sched, clock, 10)
    sched.complete(urgent.id)  # job resumes at 10 with 2 s left
    step(sched, clock, 11.999)
    assert sched.get(job.id).status is S.ACTIVE
    step(sched, clock, 12)
    assert sched.get(job.id).status is S.FAILED


def test_max_run_with_acknowledged_work_waits_for_the_runtime() -> None:
    sched, clock, _ = make(acknowledge=True)
    job = sched.submit(max_run=5.0)
    step(sched, clock, 5)
    assert sched.get(job.id).status is S.FAILING  # the runtime is asked to stop the work
    assert sched.get_queue("default").running == 1
    sched.fail(job.id)
    assert sched.get(job.id).status is S.FAILED


# ---------------------------------------------------------------------- max_wait


def test_max_wait_fails_a_job_that_waits_too_long_and_not_counting_suspended_time() -> None:
    sched, clock, events = make()
    sched.submit()  # holds the only slot
    job = sched.submit(max_wait=4.0, not_before=10.0)
    step(sched, clock, 10)  # eligible: its wait begins now, not at submission
    step(sched, clock, 13.999)
    assert sched.get(job.id).status is S.READY
    step(sched, clock, 14)
    got = sched.get(job.id)
    assert got.status is S.FAILED
    assert [t for t in transitions(events) if t[1] == job.id][-2:] == [
        (14.0, job.id, "Ready", "Failing"),
        (14.0, job.id, "Failing", "Failed"),
    ]
    assert got.failure_reasons[0].code == "WaitTimeExceeded"


def test_max_wait_sums_every_wait_in_a_line() -> None:
    sched, clock, _ = make()
    sched.update_queue("default", policy="priority", preemption=True)
    blocker = sched.submit(priority=5)
    job = sched.submit(priority=1, max_wait=4.0)
    step(sched, clock, 1)
    sched.complete(blocker.id)  # waited 1 s; runs 1..3
    clock.set(3.0)
    sched.submit(priority=9)  # preempted at 3: waits again with 3 s left
    step(sched, clock, 5.999)
    assert sched.get(job.id).status is S.PAUSED
    step(sched, clock, 6)
    assert sched.get(job.id).status is S.FAILED


# ---------------------------------------------------------------------- retry


def test_a_retry_schedule_time_by_time() -> None:
    sched, clock, events = make()
    retry = Retry(attempts=3, backoff=2.0, factor=3.0, max_backoff=100.0, jitter=0.0)
    job = sched.submit(retry=retry)
    clock.set(1.0)
    sched.fail(job.id, "boom")  # attempt 1 failed at 1: back off 2 s
    sched.check_invariants()
    got = sched.get(job.id)
    assert (got.status, got.attempt) == (S.PAUSED, 2)
    reason = sched.pending_reason(job.id)
    assert reason is not None and reason.code is PendingCode.RETRY_BACKOFF and reason.until == 3.0
    assert sched.get_queue("default").running == 0  # no slot during the backoff
    assert sched.position(job.id) is None  # and no place in the line
    step(sched, clock, 3)
    clock.set(4.0)
    sched.fail(job.id, "boom")  # attempt 2 failed at 4: back off 2 * 3 = 6 s
    step(sched, clock, 10)
    clock.set(11.0)
    sched.fail(job.id, "boom")  # attempt 3 of 3: no attempt left
    assert transitions(events) == [
        (0.0, job.id, "New", "Preparing"),
        (0.0, job.id, "Preparing", "Ready"),
        (0.0, job.id, "Ready", "Active"),
        (1.0, job.id, "Active", "Pausing"),
        (1.0, job.id, "Pausing", "Paused"),
        (3.0, job.id, "Paused", "Active"),
        (4.0, job.id, "Active", "Pausing"),
        (4.0, job.id, "Pausing", "Paused"),
        (10.0, job.id, "Paused", "Active"),
        (11.0, job.id, "Active", "Failing"),
        (11.0, job.id, "Failing", "Failed"),
    ]
    retries = [
        (e.time, e.attempt, e.until, e.code) for e in events if isinstance(e, RetryScheduled)
    ]
    assert retries == [(1.0, 2, 3.0, "JobFailed"), (4.0, 3, 10.0, "JobFailed")]
    assert sched.get(job.id).attempt == 3
    assert [r.message for r in sched.get(job.id).failure_reasons] == ["boom"]


def test_jitter_draws_from_the_injected_rng() -> None:
    seeded = random.Random(7)
    sched, _, events = make(rng=random.Random(7))
    retry = Retry(attempts=2, backoff=10.0, jitter=0.5)
    job = sched.submit(retry=retry)
    sched.fail(job.id)
    (scheduled,) = [e for e in events if isinstance(e, RetryScheduled)]
    assert scheduled.until == 10.0 * seeded.uniform(0.5, 1.5)


def test_preemption_never_spends_an_attempt() -> None:
    sched, _, _ = make()
    sched.update_queue("default", policy="priority", preemption=True)
    job = sched.submit(priority=1, retry=Retry(attempts=2, jitter=0.0))
    urgent = sched.submit(priority=9)
    sched.complete(urgent.id)
    got = sched.get(job.id)
    assert (got.status, got.attempt) == (S.ACTIVE, 1)


def test_run_time_exceeded_retries_and_each_attempt_has_its_own_limit() -> None:
    sched, clock, _ = make()
    job = sched.submit(max_run=5.0, retry=Retry(attempts=2, backoff=1.0, jitter=0.0))
    step(sched, clock, 5)  # attempt 1 ran out: back off 1 s
    assert sched.get(job.id).status is S.PAUSED
    step(sched, clock, 6)  # attempt 2 starts with 5 s of its own
    step(sched, clock, 10.999)
    assert sched.get(job.id).status is S.ACTIVE
    step(sched, clock, 11)
    assert sched.get(job.id).status is S.FAILED


def test_a_retry_drops_failed_task_outcomes_and_keeps_successes() -> None:
    sched, clock, _ = make(failure_threshold_tasks=1, failure_threshold_ratio=0.5)
    job = sched.submit(tasks=["a", "b"], retry=Retry(attempts=2, jitter=0.0, backoff=1.0))
    sched.record_task(job.id, "a", ok=True)
    sched.record_task(job.id, "b", ok=False)  # 1 of 2 failed: not over half
    sched.fail(job.id)
    assert [r.key for r in sched.tasks(job.id)] == ["a"]
    step(sched, clock, 1)
    sched.record_task(job.id, "b", ok=True)
    sched.complete(job.id)
    got = sched.get(job.id)
    assert (got.status, got.tasks_succeeded, got.tasks_failed) == (S.COMPLETE, 2, 0)


def test_a_job_can_be_cancelled_during_its_backoff() -> None:
    sched, clock, _ = make()
    job = sched.submit(retry=Retry(attempts=2, jitter=0.0))
    sched.fail(job.id)
    sched.cancel(job.id)
    sched.check_invariants()
    assert sched.get(job.id).status is S.CANCELLED
    step(sched, clock, 10)
    assert sched.get(job.id).status is S.CANCELLED


def test_a_retry_with_acknowledged_work_waits_for_the_runtime_to_stop_it() -> None:
    sched, clock, _ = make(acknowledge=True)
    job = sched.submit(max_run=1.0, retry=Retry(attempts=2, backoff=1.0, jitter=0.0))
    step(sched, clock, 1)
    assert sched.get(job.id).status is S.PAUSING  # asked to stop; it will run again
    assert sched.get_queue("default").running == 1
    clock.set(1.5)
    sched.paused(job.id)
    sched.check_invariants()
    assert sched.get(job.id).status is S.PAUSED
    assert sched.next_deadline() == 2.5  # the backoff counts from when the work stopped


@pytest.mark.parametrize(
    ("retry", "message"),
    [
        (Retry(attempts=0), "retry.attempts must be 1..1000, got 0"),
        (Retry(backoff=-1.0), "retry.backoff must be a finite number >= 0, got -1.0"),
        (Retry(factor=0.5), "retry.factor must be a finite number >= 1, got 0.5"),
        (Retry(jitter=2.0), "retry.jitter must be in [0, 1], got 2.0"),
        (
            Retry(backoff=10.0, max_backoff=5.0),
            "retry.max_backoff must be >= retry.backoff (10.0), got 5.0",
        ),
        (Retry(on=["x"]), "retry.on must be a tuple of str, got list"),  # type: ignore[arg-type]
        (Retry(on=("",)), "retry.on[0] must be a non-empty str, got ''"),
        ("3", "retry must be a Retry, got str"),
    ],
)
def test_bad_retries_are_refused(retry: object, message: str) -> None:
    sched, _, _ = make()
    before = fingerprint(sched)
    with pytest.raises(ValidationError) as info:
        sched.submit(retry=retry)  # type: ignore[arg-type]
    assert str(info.value) == message
    assert fingerprint(sched) == before


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"max_run": 0}, "max_run must be a finite number > 0, got 0"),
        ({"max_wait": float("inf")}, "max_wait must be a finite number > 0, got inf"),
        ({"not_before": float("nan")}, "not_before must be a finite number, got nan"),
        ({"not_before": "soon"}, "not_before must be a number, got str"),
    ],
)
def test_bad_limits_are_refused(kwargs: dict[str, object], message: str) -> None:
    sched, _, _ = make()
    before = fingerprint(sched)
    with pytest.raises(ValidationError) as info:
        sched.submit(**kwargs)  # type: ignore[arg-type]
    assert str(info.value) == message
    assert fingerprint(sched) == before


# ---------------------------------------------------------------------- pending reasons


def test_pending_reasons_say_why_a_job_waits() -> None:
    sched, _, _ = make()
    sched.create_queue("overflow", slots=2, deferred_share=0.9)
    a = sched.submit(queue="overflow")
    b = sched.submit(queue="overflow")
    reason = sched.pending_reason(b.id)
    assert reason is not None and reason.code is PendingCode.DEFERRED_SHARE_FULL
    assert reason.message == (
        "1 of 1 deferred slots in use; queue 'overflow' has 2 slots, share 0.9"
    )
    c = sched.submit(queue="overflow")
    reason = sched.pending_reason(c.id)
    assert reason is not None
    assert (reason.code, reason.ahead) == (PendingCode.DEFERRED_SHARE_FULL, 1)
    sched.pause_queue("overflow")
    reason = sched.pending_reason(c.id)
    assert reason is not None and reason.code is PendingCode.QUEUE_PAUSED
    assert sched.pending_reason(a.id) is None  # it runs
    confirm = sched.submit(confirmation_required=True)
    reason = sched.pending_reason(confirm.id)
    assert reason is not None and reason.code is PendingCode.AWAITING_CONFIRMATION


def test_places_counted_once_per_line_give_the_same_reasons() -> None:
    # check_invariants asks for every waiting job's reason with the places of
    # each line counted once; the reasons must be the ones a caller gets.
    sched, _, _ = make()
    sched.create_queue("busy", slots=1, policy="priority")
    jobs = [sched.submit(queue="busy", priority=p) for p in (1, 5, 3, 5, 2)]
    sched.pause_queue("busy")
    core = core_of(sched)
    line = list(core.queues["busy"].policy.waiting())
    positions = {id(rec): place for place, rec in enumerate(line)}
    ahead = []
    for job in jobs[1:]:
        rec = core.job(job.id)
        alone = pending_reason(core, rec)
        assert alone is not None and alone == pending_reason(core, rec, positions)
        ahead.append(alone.ahead)
    assert ahead == [0, 2, 1, 3]
    sched.check_invariants()


def test_a_queue_you_create_gives_deferred_jobs_every_slot() -> None:
    sched, _, _ = make()
    sched.create_queue("overflow", slots=2)
    jobs = [sched.submit(queue="overflow") for _ in range(2)]
    assert [sched.get(j.id).status for j in jobs] == [S.ACTIVE, S.ACTIVE]
    assert sched.get_queue("default").deferred_share == 1.0  # set by make()
    assert Scheduler(ManualClock()).get_queue("default").deferred_share == 0.9


def test_a_job_held_only_by_time_or_jobs_cannot_be_confirmed() -> None:
    sched, _, _ = make()
    held = sched.submit(not_before=10.0)
    before = fingerprint(sched)
    with pytest.raises(ConflictError) as info:
        sched.confirm(held.id)
    assert str(info.value) == (
        f"job {held.id!r} does not await confirmation: it is held until it may start"
    )
    assert fingerprint(sched) == before


def test_a_confirmed_job_still_waits_for_its_start_time() -> None:
    sched, clock, _ = make()
    job = sched.submit(not_before=10.0, confirmation_required=True)
    reason = sched.pending_reason(job.id)
    assert reason is not None and reason.code is PendingCode.AWAITING_CONFIRMATION
    sched.confirm(job.id)
    reason = sched.pending_reason(job.id)
    assert reason is not None and reason.code is PendingCode.NOT_BEFORE
    step(sched, clock, 10)
    assert sched.get(job.id).status is S.ACTIVE
