"""Listing, details and queue position through the scheduler (S3 Batch Operations).

``list_jobs`` shows unfinished jobs and jobs finished within the retention
window, oldest first, filtered by status, submission queue and a search string,
in pages of 1-1000 rows joined by continuation tokens. ``get`` shows a job's
whole configuration. ``position`` shows where a waiting job stands.
"""

from __future__ import annotations

import collections
import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from jobqueue import (
    FailureReason,
    HopRule,
    HopTransition,
    Job,
    JobStatus,
    JobSummary,
    ManualClock,
    NotFound,
    QueuePosition,
    ReportScope,
    Scheduler,
    StatusChange,
    ValidationError,
)

S = JobStatus


def all_ids(sched: Scheduler, **filters: object) -> list[str]:
    """Every id ``list_jobs`` shows with these filters, following tokens to the end."""
    ids: list[str] = []
    token: str | None = None
    while True:
        page = sched.list_jobs(token=token, **filters)  # type: ignore[arg-type]
        ids.extend(row.id for row in page)
        token = page.next_token
        if token is None:
            return ids


def mixed(clock: ManualClock) -> tuple[Scheduler, dict[str, str]]:
    """A scheduler with one job in each of several statuses; returns it and ids by label."""
    sched = Scheduler(clock)
    sched.create_queue("small", slots=1)
    ids = {
        "active": sched.submit(queue="small", description="first").id,
        "ready": sched.submit(queue="small", description="second").id,
        "suspended": sched.submit(confirmation_required=True).id,
        "complete": sched.submit(name="done-1").id,
        "cancelled": sched.submit().id,
        "failed": sched.submit().id,
    }
    sched.complete(ids["complete"])
    sched.cancel(ids["cancelled"])
    sched.fail(ids["failed"], "broken")
    return sched, ids


# ---------------------------------------------------------------------- rows


def test_a_row_carries_id_name_description_priority_status_tasks_and_created_time() -> None:
    clock = ManualClock(100.0)
    sched = Scheduler(clock)
    job = sched.submit(
        name="clip-42", description="nightly transcode", priority=7, tasks=["a", "b", "c"]
    )
    clock.advance(5.0)
    sched.record_task(job.id, "a", ok=True)
    sched.record_task(job.id, "b", ok=False, error_code="NoSuchKey")
    (row,) = sched.list_jobs()
    assert row == JobSummary(
        id=job.id,
        name="clip-42",
        description="nightly transcode",
        priority=7,
        status=S.ACTIVE,
        submission_queue="default",
        tasks_total=3,
        tasks_succeeded=1,
        tasks_failed=1,
        created_at=100.0,  # submission time, not the time of the last change
    )


def test_unfinished_and_recently_finished_jobs_are_listed_oldest_first() -> None:
    sched, ids = mixed(ManualClock())
    rows = sched.list_jobs().jobs
    assert [r.id for r in rows] == list(ids.values())
    assert [r.status for r in rows] == [
        S.ACTIVE,
        S.READY,
        S.SUSPENDED,
        S.COMPLETE,
        S.CANCELLED,
        S.FAILED,
    ]


def test_an_empty_scheduler_lists_nothing() -> None:
    page = Scheduler(ManualClock()).list_jobs()
    assert page.jobs == ()
    assert page.next_token is None
    assert len(page) == 0


# ---------------------------------------------------------------------- filters


def test_filter_by_one_status() -> None:
    sched, ids = mixed(ManualClock())
    assert all_ids(sched, statuses={S.READY}) == [ids["ready"]]


def test_filter_by_several_statuses() -> None:
    sched, ids = mixed(ManualClock())
    got = all_ids(sched, statuses=[S.COMPLETE, S.FAILED, S.SUSPENDED])
    assert got == [ids["suspended"], ids["complete"], ids["failed"]]


def test_statuses_may_be_given_by_their_strings() -> None:
    sched, ids = mixed(ManualClock())
    assert all_ids(sched, statuses=["Cancelled", "Active"]) == [ids["active"], ids["cancelled"]]
    # A lone string is one status, not a set of letters.
    assert all_ids(sched, statuses="Ready") == [ids["ready"]]


def test_an_empty_status_set_matches_nothing() -> None:
    sched, _ = mixed(ManualClock())
    assert all_ids(sched, statuses=set()) == []


def test_an_unknown_status_is_rejected_naming_the_allowed_ones() -> None:
    sched, _ = mixed(ManualClock())
    with pytest.raises(ValidationError) as info:
        sched.list_jobs(statuses=["Ready", "Running"])
    assert str(info.value) == (
        "statuses must be one of 'New', 'Preparing', 'Suspended', 'Ready', 'Active', "
        "'Pausing', 'Paused', 'Complete', 'Cancelling', 'Cancelled', 'Failing', 'Failed', "
        "got 'Running'"
    )


@pytest.mark.parametrize(
    ("filters", "message"),
    [
        ({"statuses": 5}, "statuses must be a collection of statuses, got int"),
        ({"queue": 5}, "queue must be a str, got int"),
        ({"search": b"job"}, "search must be a str, got bytes"),
    ],
)
def test_a_filter_of_the_wrong_type_is_rejected(filters: dict[str, object], message: str) -> None:
    sched, _ = mixed(ManualClock())
    with pytest.raises(ValidationError, match=f"^{re.escape(message)}$"):
        sched.list_jobs(**filters)  # type: ignore[arg-type]


def test_filter_by_submission_queue_lists_a_hopped_job_only_under_that_queue() -> None:
    clock = ManualClock()
    sched = Scheduler(clock)
    sched.create_queue("queue1", slots=1)
    sched.create_queue("queue2", slots=1)
    blocker = sched.submit(queue="queue1")
    hopper = sched.submit(queue="queue1", hops=[HopRule("queue2", 60.0)])
    native = sched.submit(queue="queue2", deferred=True)
    clock.advance(60.0)
    sched.poll()
    assert sched.get(hopper.id).queue == "queue2"  # it did hop
    assert all_ids(sched, queue="queue1") == [blocker.id, hopper.id]
    assert all_ids(sched, queue="queue2") == [native.id]
    assert all_ids(sched, queue="default") == []


def test_an_unknown_queue_filter_lists_nothing_rather_than_failing() -> None:
    # Finished jobs of a deleted queue stay listed under its name, so a name
    # that is not a queue now is still a valid filter.
    sched, _ = mixed(ManualClock())
    assert all_ids(sched, queue="no-such-queue") == []


def test_search_matches_a_substring_of_the_id() -> None:
    sched = Scheduler(ManualClock())
    jobs = [sched.submit() for _ in range(12)]
    assert all_ids(sched, search="job-1") == [jobs[0].id, jobs[9].id, jobs[10].id, jobs[11].id]
    assert all_ids(sched, search="b-12") == [jobs[11].id]


def test_search_matches_a_substring_of_the_name_or_description() -> None:
    sched = Scheduler(ManualClock())
    by_name = sched.submit(name="nightly-transcode")
    by_description = sched.submit(description="the weekly transcode run")
    sched.submit(name="other", description="backup")
    assert all_ids(sched, search="transcode") == [by_name.id, by_description.id]
    assert all_ids(sched, search="weekly") == [by_description.id]
    assert all_ids(sched, search="nightly") == [by_name.id]


def test_search_is_case_sensitive() -> None:
    sched = Scheduler(ManualClock())
    job = sched.submit(description="Nightly")
    assert all_ids(sched, search="Nightly") == [job.id]
    assert all_ids(sched, search="nightly") == []


def test_filters_combine() -> None:
    sched = Scheduler(ManualClock())
    sched.create_queue("small", slots=1)
    sched.submit(queue="small", description="encode")  # Active
    waiting = sched.submit(queue="small", description="encode")  # Ready
    sched.submit(queue="small", description="decode")  # Ready, wrong text
    sched.submit(description="encode")  # Active, wrong queue
    assert all_ids(sched, statuses={S.READY}, queue="small", search="enc") == [waiting.id]


# ---------------------------------------------------------------------- limit and paging


def test_limit_of_one_and_of_a_thousand_are_allowed() -> None:
    sched = Scheduler(ManualClock())
    jobs = [sched.submit() for _ in range(1001)]
    one = sched.list_jobs(limit=1)
    assert [r.id for r in one] == [jobs[0].id]
    thousand = sched.list_jobs(limit=1000)
    assert [r.id for r in thousand] == [j.id for j in jobs[:1000]]
    assert thousand.next_token is not None
    rest = sched.list_jobs(limit=1000, token=thousand.next_token)
    assert [r.id for r in rest] == [jobs[1000].id]
    assert rest.next_token is None


def test_the_default_limit_is_a_thousand() -> None:
    sched = Scheduler(ManualClock())
    for _ in range(1001):
        sched.submit()
    assert len(sched.list_jobs()) == 1000


@pytest.mark.parametrize(
    ("limit", "message"),
    [
        (0, "limit must be 1..1000, got 0"),
        (1001, "limit must be 1..1000, got 1001"),
        (-1, "limit must be 1..1000, got -1"),
        (True, "limit must be an int, got bool"),
        (10.0, "limit must be an int, got float"),
    ],
)
def test_a_limit_out_of_range_is_rejected(limit: object, message: str) -> None:
    sched, _ = mixed(ManualClock())
    with pytest.raises(ValidationError, match=f"^{re.escape(message)}$"):
        sched.list_jobs(limit=limit)  # type: ignore[arg-type]


def test_pages_follow_each_other_and_the_last_has_no_token() -> None:
    sched = Scheduler(ManualClock())
    jobs = [sched.submit().id for _ in range(5)]
    first = sched.list_jobs(limit=2)
    second = sched.list_jobs(limit=2, token=first.next_token)
    third = sched.list_jobs(limit=2, token=second.next_token)
    assert [[r.id for r in p] for p in (first, second, third)] == [jobs[0:2], jobs[2:4], jobs[4:]]
    assert first.next_token is not None and second.next_token is not None
    assert third.next_token is None


def test_a_page_that_ends_exactly_at_the_last_row_has_no_token() -> None:
    sched = Scheduler(ManualClock())
    for _ in range(4):
        sched.submit()
    page = sched.list_jobs(limit=4)
    assert len(page) == 4
    assert page.next_token is None


def test_paging_keeps_the_filters_of_each_call() -> None:
    sched = Scheduler(ManualClock())
    wanted = []
    for i in range(9):
        job = sched.submit(description="keep" if i % 3 == 0 else "drop")
        if i % 3 == 0:
            wanted.append(job.id)
    first = sched.list_jobs(search="keep", limit=2)
    assert [r.id for r in first] == wanted[:2]
    second = sched.list_jobs(search="keep", limit=2, token=first.next_token)
    assert [r.id for r in second] == wanted[2:]
    assert second.next_token is None


@pytest.mark.parametrize("token", ["", "after:", "after:x", "before:3", "3", "after:-1"])
def test_a_malformed_token_is_rejected(token: str) -> None:
    sched, _ = mixed(ManualClock())
    with pytest.raises(ValidationError) as info:
        sched.list_jobs(token=token)
    assert str(info.value) == f"token is not a continuation token from list_jobs: {token!r}"


def test_a_token_whose_job_was_purged_still_continues_after_it() -> None:
    clock = ManualClock()
    sched = Scheduler(clock, retention=10.0)
    first = sched.submit()
    second = sched.submit()
    third = sched.submit()
    page = sched.list_jobs(limit=1)
    assert [r.id for r in page] == [first.id]
    sched.complete(first.id)
    sched.complete(second.id)
    clock.advance(10.0)
    sched.poll()  # both purged; the token pointed at the first
    rest = sched.list_jobs(token=page.next_token)
    assert [r.id for r in rest] == [third.id]


# The property: paging while jobs come and go never skips or repeats a job
# that existed from the first page to the last.

_OPS = st.lists(
    st.one_of(
        st.tuples(st.just("submit"), st.integers(0, 2)),
        st.tuples(st.just("complete"), st.integers(0, 10**6)),
        st.tuples(st.just("cancel"), st.integers(0, 10**6)),
        st.tuples(st.just("advance"), st.integers(0, 30)),
    ),
    max_size=4,
)


@given(
    before=st.lists(st.sampled_from(["wait", "complete", "cancel"]), max_size=25),
    limit=st.integers(1, 7),
    queue_filter=st.booleans(),
    data=st.data(),
)
def test_paging_while_jobs_arrive_and_finish_never_skips_or_repeats(
    before: list[str], limit: int, queue_filter: bool, data: st.DataObject
) -> None:
    clock = ManualClock()
    sched = Scheduler(clock, retention=40.0)
    sched.create_queue("other", slots=3)
    sched.update_queue("default", slots=3)
    for i, fate in enumerate(before):
        job = sched.submit(queue="other" if i % 4 == 3 else "default")
        if fate == "complete" and sched.get(job.id).status is S.ACTIVE:
            sched.complete(job.id)
        elif fate == "cancel":
            sched.cancel(job.id)
        clock.advance(1.0)
    at_start = set(all_ids(sched))
    filters: dict[str, object] = {"queue": "default"} if queue_filter else {}

    seen: list[str] = []
    token: str | None = None
    submitted = 0
    for _ in range(500):
        page = sched.list_jobs(limit=limit, token=token, **filters)  # type: ignore[arg-type]
        assert len(page) <= limit
        seen.extend(row.id for row in page)
        token = page.next_token
        if token is None:
            break
        for op, arg in data.draw(_OPS, label="between pages"):
            live = [r.id for r in sched.list_jobs(statuses=[S.READY, S.ACTIVE])]
            if op == "submit" and submitted < 30:
                submitted += 1
                sched.submit(queue=("default", "other", "default")[arg])
            elif op == "complete":
                active = [r.id for r in sched.list_jobs(statuses=[S.ACTIVE])]
                if active:
                    sched.complete(active[arg % len(active)])
            elif op == "cancel" and live:
                sched.cancel(live[arg % len(live)])
            elif op == "advance":
                clock.advance(float(arg))
                sched.poll()
            sched.check_invariants()
    else:
        pytest.fail("paging did not reach the end")

    counts = collections.Counter(seen)
    assert [job_id for job_id, n in counts.items() if n > 1] == []
    indexes = [int(job_id.removeprefix("job-")) for job_id in seen]
    assert indexes == sorted(indexes)  # oldest first, across pages
    throughout = {job_id for job_id in at_start if job_id in sched}
    if queue_filter:
        throughout = {j for j in throughout if sched.get(j).submission_queue == "default"}
    assert throughout - set(seen) == set()


# ---------------------------------------------------------------------- details


def test_get_shows_the_whole_configuration_and_history() -> None:
    clock = ManualClock()
    sched = Scheduler(clock)
    sched.create_queue("reserved", slots=1, pricing="reserved")
    sched.create_queue("on-demand", slots=1)
    blocker = sched.submit(queue="reserved")
    job = sched.submit(
        queue="reserved",
        name="clip-42",
        description="nightly transcode",
        priority=3,
        tags={"Department": "Finance"},
        hops=[HopRule("on-demand", 900.0, priority=8)],
        tasks=["a.wav", "b.wav"],
        confirmation_required=True,
        report="failed",
    )
    clock.advance(10.0)  # t=10
    sched.confirm(job.id)  # Ready in "reserved", behind the blocker
    clock.advance(900.0)  # t=910: the wait is over
    sched.poll()  # hops to "on-demand" and starts there
    clock.advance(5.0)  # t=915
    sched.record_task(job.id, "a.wav", ok=True)
    sched.record_task(job.id, "b.wav", ok=False, error_code="NoSuchKey", message="gone")
    sched.fail(job.id, "disk full", code="DiskFull")

    got = sched.get(job.id)
    assert isinstance(got, Job)
    assert (got.id, got.name, got.description, got.priority) == (
        job.id,
        "clip-42",
        "nightly transcode",
        8,  # the hop rule's priority
    )
    assert (got.submission_queue, got.queue) == ("reserved", "on-demand")
    assert got.status is S.FAILED
    assert dict(got.tags) == {"Department": "Finance"}
    assert got.hops == (HopRule("on-demand", 900.0, 8),)
    assert got.hop_transitions == (HopTransition("reserved", "on-demand", 910.0, 8),)
    assert got.history == (
        StatusChange(0.0, S.NEW),
        StatusChange(0.0, S.PREPARING),
        StatusChange(0.0, S.SUSPENDED),
        StatusChange(10.0, S.READY),
        StatusChange(910.0, S.ACTIVE),
        StatusChange(915.0, S.FAILING),
        StatusChange(915.0, S.FAILED),
    )
    assert (got.tasks_total, got.tasks_succeeded, got.tasks_failed) == (2, 1, 1)
    assert got.failure_reasons == (FailureReason("DiskFull", "disk full"),)
    assert got.report is ReportScope.FAILED
    assert got.confirmation_required is True
    assert (got.created_at, got.started_at, got.finished_at) == (0.0, 910.0, 915.0)
    assert got.run_seconds == 5.0
    assert sched.get(blocker.id).status is S.ACTIVE


def test_get_of_an_unknown_job_raises_not_found() -> None:
    sched = Scheduler(ManualClock())
    with pytest.raises(NotFound) as info:
        sched.get("job-999")
    assert str(info.value) == "unknown job 'job-999'"
    assert isinstance(info.value, KeyError)


def test_a_snapshot_does_not_change_when_the_job_does() -> None:
    sched = Scheduler(ManualClock())
    job = sched.submit(tags={"a": "1"})
    sched.put_tags(job.id, {"b": "2"})
    sched.complete(job.id)
    assert job.status is S.ACTIVE
    assert dict(job.tags) == {"a": "1"}


# ---------------------------------------------------------------------- position


def test_position_in_a_fifo_queue_is_submission_order() -> None:
    sched = Scheduler(ManualClock())
    sched.create_queue("small", slots=1)
    running = sched.submit(queue="small")
    waiting = [sched.submit(queue="small", priority=p).id for p in (1, 9, 5)]
    assert sched.position(running.id) is None  # Active: not waiting
    assert [sched.position(j) for j in waiting] == [
        QueuePosition("small", 1, 0),
        QueuePosition("small", 2, 1),
        QueuePosition("small", 3, 2),
    ]


def test_position_in_a_priority_queue_is_priority_then_submission_order() -> None:
    sched = Scheduler(ManualClock())
    sched.create_queue("prio", slots=1, policy="priority")
    sched.submit(queue="prio")
    low = sched.submit(queue="prio", priority=1).id
    high = sched.submit(queue="prio", priority=9).id
    mid_first = sched.submit(queue="prio", priority=5).id
    mid_second = sched.submit(queue="prio", priority=5).id
    assert sched.position(high) == QueuePosition("prio", 1, 0)
    assert sched.position(mid_first) == QueuePosition("prio", 2, 1)
    assert sched.position(mid_second) == QueuePosition("prio", 3, 2)
    assert sched.position(low) == QueuePosition("prio", 4, 3)
    sched.update_priority(low, 10)  # moves to the front at once
    assert sched.position(low) == QueuePosition("prio", 1, 0)
    assert sched.position(mid_second) == QueuePosition("prio", 4, 3)


def test_position_is_none_for_jobs_that_do_not_wait_in_a_line() -> None:
    sched, ids = mixed(ManualClock())
    for label in ("active", "suspended", "complete", "cancelled", "failed"):
        assert sched.position(ids[label]) is None, label
    assert sched.position(ids["ready"]) == QueuePosition("small", 1, 0)


def test_position_of_an_unknown_job_raises_not_found() -> None:
    sched = Scheduler(ManualClock())
    with pytest.raises(NotFound, match=re.escape("unknown job 'job-1'")):
        sched.position("job-1")


def test_a_hopped_job_stands_in_the_line_of_its_current_queue() -> None:
    clock = ManualClock()
    sched = Scheduler(clock)
    sched.create_queue("a", slots=1)
    sched.create_queue("b", slots=1)
    sched.submit(queue="a")
    sched.submit(queue="b")
    ahead_in_b = sched.submit(queue="b")
    hopper = sched.submit(queue="a", hops=[HopRule("b", 30.0)])
    assert sched.position(hopper.id) == QueuePosition("a", 1, 0)
    clock.advance(30.0)
    sched.poll()
    assert sched.position(hopper.id) == QueuePosition("b", 2, 1)
    assert sched.position(ahead_in_b.id) == QueuePosition("b", 1, 0)
