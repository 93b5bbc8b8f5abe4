"""Retention of finished jobs and the confirmation timeout, on a manual clock.

A finished job stays listed for the retention window (90 days by default) and
is purged by the first ``poll()`` at or after the end of it. A job left
Suspended past the confirmation timeout (30 days by default) fails with reason
``ConfirmationTimeout``. Both deadlines show in ``next_deadline()``.
"""

from __future__ import annotations

import math
import re

import pytest

from jobqueue import (
    Event,
    FailureReason,
    JobPurged,
    JobStatus,
    JobTransitioned,
    ManualClock,
    NotFound,
    Scheduler,
    StatusChange,
    ValidationError,
)

S = JobStatus
DAY = 86_400.0
NINETY_DAYS = 90 * DAY
THIRTY_DAYS = 30 * DAY


def listed(sched: Scheduler) -> list[str]:
    return [row.id for row in sched.list_jobs()]


def recorder(sched: Scheduler) -> list[Event]:
    events: list[Event] = []
    sched.subscribe(events.append)
    return events


def finished_at(clock: ManualClock, sched: Scheduler, t: float) -> str:
    """Submit a job now and complete it at ``t``; returns its id."""
    job = sched.submit()
    clock.set(t)
    sched.complete(job.id)
    return job.id


# ---------------------------------------------------------------------- retention


def test_a_job_finished_ninety_days_minus_a_second_ago_is_still_listed() -> None:
    clock = ManualClock()
    sched = Scheduler(clock)
    job_id = finished_at(clock, sched, 1_000.0)
    clock.set(1_000.0 + NINETY_DAYS - 1.0)
    assert sched.poll() == 0
    assert listed(sched) == [job_id]
    assert sched.get(job_id).status is S.COMPLETE


def test_a_job_finished_ninety_days_plus_a_second_ago_is_purged() -> None:
    clock = ManualClock()
    sched = Scheduler(clock)
    job_id = finished_at(clock, sched, 1_000.0)
    events = recorder(sched)
    clock.set(1_000.0 + NINETY_DAYS + 1.0)
    assert sched.poll() == 1
    assert listed(sched) == []
    assert job_id not in sched
    assert len(sched) == 0
    with pytest.raises(NotFound, match=re.escape(f"unknown job {job_id!r}")):
        sched.get(job_id)
    assert events == [JobPurged(1_000.0 + NINETY_DAYS + 1.0, job_id)]


def test_a_finished_job_stays_listed_until_poll_runs() -> None:
    # Purging is a timer: nothing happens behind the caller's back.
    clock = ManualClock()
    sched = Scheduler(clock)
    job_id = finished_at(clock, sched, 0.0)
    clock.set(NINETY_DAYS + 1.0)
    assert listed(sched) == [job_id]
    sched.poll()
    assert listed(sched) == []


def test_the_purge_is_due_at_exactly_the_end_of_the_window() -> None:
    clock = ManualClock()
    sched = Scheduler(clock)
    job_id = finished_at(clock, sched, 50.0)
    assert sched.next_deadline() == 50.0 + NINETY_DAYS
    clock.set(50.0 + NINETY_DAYS)
    assert sched.poll() == 1
    assert job_id not in sched
    assert sched.next_deadline() is None


def test_next_deadline_reports_the_earliest_purge_then_the_next() -> None:
    clock = ManualClock()
    sched = Scheduler(clock)
    first = finished_at(clock, sched, 10.0)
    second = finished_at(clock, sched, 20.0)
    assert sched.next_deadline() == 10.0 + NINETY_DAYS
    clock.set(10.0 + NINETY_DAYS)
    sched.poll()
    assert first not in sched and second in sched
    assert sched.next_deadline() == 20.0 + NINETY_DAYS


def test_cancelled_and_failed_jobs_are_purged_like_complete_ones() -> None:
    clock = ManualClock()
    sched = Scheduler(clock)
    cancelled = sched.submit().id
    failed = sched.submit().id
    kept = sched.submit().id  # still Active: never purged
    sched.cancel(cancelled)
    sched.fail(failed, "broken")
    events = recorder(sched)
    clock.set(NINETY_DAYS * 3)
    assert sched.poll() == 2
    assert listed(sched) == [kept]
    assert [e for e in events if isinstance(e, JobPurged)] == [
        JobPurged(NINETY_DAYS * 3, cancelled),
        JobPurged(NINETY_DAYS * 3, failed),
    ]


def test_unfinished_jobs_are_never_purged_however_old() -> None:
    clock = ManualClock()
    sched = Scheduler(clock)
    sched.create_queue("small", slots=1)
    active = sched.submit(queue="small").id
    waiting = sched.submit(queue="small").id
    suspended = sched.submit(confirmation_required=True, queue="small").id
    clock.set(10 * NINETY_DAYS)
    sched.poll()  # fails the Suspended job (confirmation timeout), purges nothing
    assert listed(sched) == [active, waiting, suspended]
    assert sched.get(suspended).status is S.FAILED
    assert sched.next_deadline() == 10 * NINETY_DAYS + NINETY_DAYS


def test_retention_is_a_setting() -> None:
    clock = ManualClock()
    sched = Scheduler(clock, retention=60.0)
    assert sched.retention == 60.0
    job_id = finished_at(clock, sched, 5.0)
    assert sched.next_deadline() == 65.0
    clock.set(64.0)
    sched.poll()
    assert job_id in sched
    clock.set(65.0)
    sched.poll()
    assert job_id not in sched


def test_the_default_retention_is_ninety_days() -> None:
    assert Scheduler(ManualClock()).retention == NINETY_DAYS


@pytest.mark.parametrize(
    ("value", "message"),
    [
        (0, "retention must be a finite number > 0, got 0"),
        (-1.0, "retention must be a finite number > 0, got -1.0"),
        (math.nan, "retention must be a finite number > 0, got nan"),
        (math.inf, "retention must be a finite number > 0, got inf"),
        (True, "retention must be a number, got bool"),
        ("90d", "retention must be a number, got str"),
    ],
)
def test_a_bad_retention_is_rejected(value: object, message: str) -> None:
    with pytest.raises(ValidationError, match=f"^{re.escape(message)}$"):
        Scheduler(ManualClock(), retention=value)  # type: ignore[arg-type]


def test_billed_usage_outlives_the_purge_of_the_job() -> None:
    # The usage report is an account of time spent, not a view of listed jobs.
    clock = ManualClock()
    sched = Scheduler(clock)
    finished_at(clock, sched, 30.0)
    before = sched.usage_report()
    clock.set(30.0 + NINETY_DAYS)
    sched.poll()
    assert sched.usage_report() == before
    assert [row.seconds for row in before] == [30.0]


def test_a_purged_job_leaves_the_paging_of_the_others_intact() -> None:
    clock = ManualClock()
    sched = Scheduler(clock, retention=10.0)
    ids = [sched.submit().id for _ in range(6)]
    for job_id in ids[::2]:
        sched.complete(job_id)
    clock.set(10.0)
    sched.poll()
    page = sched.list_jobs(limit=2)
    rest = sched.list_jobs(limit=2, token=page.next_token)
    assert [r.id for r in page] + [r.id for r in rest] == ids[1::2]
    assert rest.next_token is None


# ---------------------------------------------------------------------- confirmation timeout


def test_a_job_left_suspended_past_thirty_days_fails_with_confirmation_timeout() -> None:
    clock = ManualClock(100.0)
    sched = Scheduler(clock)
    job = sched.submit(confirmation_required=True)
    assert sched.next_deadline() == 100.0 + THIRTY_DAYS
    clock.set(100.0 + THIRTY_DAYS - 1.0)
    assert sched.poll() == 0
    assert sched.get(job.id).status is S.SUSPENDED
    events = recorder(sched)
    clock.set(100.0 + THIRTY_DAYS + 1.0)
    assert sched.poll() == 1
    got = sched.get(job.id)
    now = 100.0 + THIRTY_DAYS + 1.0
    assert got.status is S.FAILED
    assert got.failure_reasons == (
        FailureReason("ConfirmationTimeout", "not confirmed within 2592000 seconds"),
    )
    # The table has no Suspended -> Failing move, so the job passes through
    # Ready (without joining the line) on its way to Failed.
    assert got.history[-4:] == (
        StatusChange(100.0, S.SUSPENDED),
        StatusChange(now, S.READY),
        StatusChange(now, S.FAILING),
        StatusChange(now, S.FAILED),
    )
    assert events == [
        JobTransitioned(now, job.id, S.SUSPENDED, S.READY, "confirmation timeout"),
        JobTransitioned(now, job.id, S.READY, S.FAILING, "ConfirmationTimeout"),
        JobTransitioned(now, job.id, S.FAILING, S.FAILED, ""),
    ]
    assert got.started_at is None and got.finished_at == now
    sched.check_invariants()


def test_the_confirmation_timeout_fires_at_exactly_its_deadline() -> None:
    clock = ManualClock()
    sched = Scheduler(clock)
    job = sched.submit(confirmation_required=True)
    clock.set(THIRTY_DAYS)
    sched.poll()
    assert sched.get(job.id).status is S.FAILED


def test_a_job_confirmed_in_time_does_not_time_out() -> None:
    clock = ManualClock()
    sched = Scheduler(clock)
    job = sched.submit(confirmation_required=True)
    clock.set(THIRTY_DAYS - 1.0)
    sched.confirm(job.id)
    assert sched.next_deadline() is None
    clock.set(2 * THIRTY_DAYS)
    assert sched.poll() == 0
    got = sched.get(job.id)
    assert got.status is S.ACTIVE
    assert got.failure_reasons == ()


def test_a_cancelled_suspended_job_does_not_time_out() -> None:
    clock = ManualClock()
    sched = Scheduler(clock)
    job = sched.submit(confirmation_required=True)
    sched.cancel(job.id)
    # Only the purge of the cancelled job is left to do.
    assert sched.next_deadline() == NINETY_DAYS
    clock.set(THIRTY_DAYS + 1.0)
    assert sched.poll() == 0
    assert sched.get(job.id).status is S.CANCELLED


def test_each_suspended_job_times_out_on_its_own_deadline() -> None:
    clock = ManualClock()
    sched = Scheduler(clock)
    first = sched.submit(confirmation_required=True).id
    clock.set(10.0)
    second = sched.submit(confirmation_required=True).id
    clock.set(THIRTY_DAYS)
    assert sched.poll() == 1
    assert sched.get(first).status is S.FAILED
    assert sched.get(second).status is S.SUSPENDED
    assert sched.next_deadline() == 10.0 + THIRTY_DAYS


def test_the_confirmation_timeout_is_a_setting() -> None:
    clock = ManualClock()
    sched = Scheduler(clock, confirmation_timeout=90.5)
    job = sched.submit(confirmation_required=True)
    assert sched.next_deadline() == 90.5
    clock.set(90.5)
    sched.poll()
    assert sched.get(job.id).failure_reasons == (
        FailureReason("ConfirmationTimeout", "not confirmed within 90.5 seconds"),
    )


@pytest.mark.parametrize(
    ("value", "message"),
    [
        (0.0, "confirmation_timeout must be a finite number > 0, got 0.0"),
        (math.nan, "confirmation_timeout must be a finite number > 0, got nan"),
        (None, "confirmation_timeout must be a number, got NoneType"),
    ],
)
def test_a_bad_confirmation_timeout_is_rejected(value: object, message: str) -> None:
    with pytest.raises(ValidationError, match=f"^{re.escape(message)}$"):
        Scheduler(ManualClock(), confirmation_timeout=value)  # type: ignore[arg-type]


def test_a_timed_out_job_frees_its_name_and_is_purged_after_retention() -> None:
    clock = ManualClock()
    sched = Scheduler(clock)
    job = sched.submit(confirmation_required=True, name="nightly")
    clock.set(THIRTY_DAYS)
    sched.poll()
    again = sched.submit(name="nightly")  # the name is free once the job finished
    assert again.status is S.ACTIVE
    assert sched.next_deadline() == THIRTY_DAYS + NINETY_DAYS
    clock.set(THIRTY_DAYS + NINETY_DAYS)
    sched.poll()
    assert job.id not in sched
    assert listed(sched) == [again.id]
