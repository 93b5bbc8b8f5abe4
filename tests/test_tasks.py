"""Tasks, the task-failure threshold and completion reports (S3 Batch Operations).

A job's manifest is its set of tasks: a list of keys, a count (keys ``"0"`` ..
``"n-1"``), or a reader called while the job is Preparing. The runtime reports
each task's outcome, in any order, while the job's work runs. Once
``failure_threshold_tasks`` tasks have run, a failed share above
``failure_threshold_ratio`` fails the job. A job that asked for a completion
report gets one when it completes, fails or is cancelled after a task ran.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from helpers import fingerprint

from jobqueue import (
    CompletionReport,
    ConflictError,
    Event,
    FailureReason,
    Job,
    JobStatus,
    JobTransitioned,
    ManualClock,
    ReportScope,
    Scheduler,
    TaskRecord,
    TaskSource,
    TaskStatus,
    ValidationError,
)

S = JobStatus
OK = TaskStatus.SUCCEEDED
BAD = TaskStatus.FAILED


def exactly(message: str) -> str:
    return f"^{re.escape(message)}$"


def run(sched: Scheduler, job: Job, ok: int, failed: int) -> Job:
    """Record ``ok`` successes, then ``failed`` failures, on a count manifest."""
    for i in range(ok + failed):
        sched.record_task(job.id, str(i), ok=i < ok, error_code="" if i < ok else "NoSuchKey")
    return sched.get(job.id)


# Manifests ------------------------------------------------------------------------


def test_manifest_of_keys() -> None:
    sched = Scheduler(ManualClock())
    job = sched.submit(tasks=["a.wav", "b.wav", "c.wav"])
    assert (job.status, job.tasks_total, job.tasks_succeeded, job.tasks_failed) == (
        S.ACTIVE,
        3,
        0,
        0,
    )
    assert sched.tasks(job.id) == ()


def test_manifest_of_a_count_has_keys_0_to_n_minus_1() -> None:
    sched = Scheduler(ManualClock())
    job = sched.submit(tasks=3)
    assert job.tasks_total == 3
    for key in ("2", "0", "1"):
        sched.record_task(job.id, key, ok=True)
    assert [r.key for r in sched.tasks(job.id)] == ["2", "0", "1"]
    for key in ("3", "-1", "01", " 1", "1.0", "+1", "", "²", "٣", "1\n"):
        message = f"task key {key!r} is not in the manifest of job {job.id!r}"
        with pytest.raises(ValidationError, match=exactly(message)):
            sched.record_task(job.id, key, ok=True)


def test_empty_manifests() -> None:
    sched = Scheduler(ManualClock())
    empty: list[TaskSource] = [[], 0, None, lambda: iter(())]
    for tasks in empty:
        job = sched.submit(tasks=tasks)
        assert job.tasks_total == 0
        with pytest.raises(
            ValidationError, match=exactly(f"task key '0' is not in the manifest of job {job.id!r}")
        ):
            sched.record_task(job.id, "0", ok=True)


def test_manifest_reader_is_read_once_while_preparing() -> None:
    sched = Scheduler(ManualClock())
    calls: list[str] = []

    def reader() -> Iterator[str]:
        calls.append("read")
        yield from ("x", "y")

    seen: list[Event] = []
    sched.subscribe(seen.append)
    job = sched.submit(tasks=reader)
    assert calls == ["read"]
    assert (job.status, job.tasks_total) == (S.ACTIVE, 2)
    sched.record_task(job.id, "y", ok=True)
    with pytest.raises(ValidationError):
        sched.record_task(job.id, "z", ok=True)


def test_manifest_reader_runs_before_suspension() -> None:
    sched = Scheduler(ManualClock())
    job = sched.submit(tasks=lambda: ["a", "b"], confirmation_required=True)
    assert (job.status, job.tasks_total) == (S.SUSPENDED, 2)


@pytest.mark.parametrize(
    ("error", "message"),
    [
        (OSError("bucket is gone"), "OSError: bucket is gone"),
        (KeyError("manifest.csv"), "KeyError: 'manifest.csv'"),
    ],
)
def test_a_manifest_that_cannot_be_read_fails_the_job_in_preparing(
    error: Exception, message: str
) -> None:
    sched = Scheduler(ManualClock())
    sched.create_queue("one", slots=1, deferred_share=1.0)
    log: list[tuple[str, str, str]] = []
    sched.subscribe(
        lambda e: (
            log.append((e.old.value, e.new.value, e.reason))
            if isinstance(e, JobTransitioned)
            else None
        )
    )

    def reader() -> list[str]:
        raise error

    job = sched.submit(queue="one", tasks=reader, report="all")
    assert job.status is S.FAILED
    assert job.failure_reasons == (FailureReason("ManifestReadError", message),)
    assert log == [
        ("New", "Preparing", ""),
        ("Preparing", "Failing", "ManifestReadError"),
        ("Failing", "Failed", ""),
    ]
    assert [c.status for c in job.history] == [S.NEW, S.PREPARING, S.FAILING, S.FAILED]
    assert job.started_at is None and job.tasks_total == 0
    assert sched.report(job.id) is None  # no task ran
    info = sched.get_queue("one")
    assert (info.running, info.waiting) == (0, 0)
    assert sched.submit(queue="one").status is S.ACTIVE  # the slot was never taken
    sched.check_invariants()


def test_a_reader_returning_a_bad_manifest_fails_the_job_too() -> None:
    sched = Scheduler(ManualClock())
    job = sched.submit(tasks=lambda: ["a", "a"])
    assert job.status is S.FAILED
    assert job.failure_reasons == (
        FailureReason(
            "ManifestReadError", "ValidationError: task key 'a' appears twice in the manifest"
        ),
    )


@pytest.mark.parametrize(
    ("tasks", "message"),
    [
        (["a", "a"], "task key 'a' appears twice in the manifest"),
        (["a", ""], "task keys must be non-empty str, got ''"),
        (["a", 1], "task keys must be non-empty str, got 1"),
        (-1, "tasks must be >= 0, got -1"),
        (True, "tasks must be a sequence of keys, a count or a callable, got bool"),
        ("abc", "tasks must be a sequence of keys, a count or a callable, got str"),
        ({"a", "b"}, "tasks must be a sequence of keys, a count or a callable, got set"),
        (2.0, "tasks must be a sequence of keys, a count or a callable, got float"),
    ],
)
def test_a_bad_manifest_is_rejected_at_submission(tasks: object, message: str) -> None:
    sched = Scheduler(ManualClock())
    sched.submit()
    before = fingerprint(sched)
    with pytest.raises(ValidationError, match=exactly(message)):
        sched.submit(tasks=tasks)  # type: ignore[arg-type]
    assert fingerprint(sched) == before


# Outcomes -------------------------------------------------------------------------


def test_outcomes_in_any_order_and_the_counts() -> None:
    sched = Scheduler(ManualClock())
    job = sched.submit(tasks=["a", "b", "c", "d"])
    sched.record_task(job.id, "c", ok=False, error_code="NoSuchKey", message="c is missing")
    sched.record_task(job.id, "a", ok=True)
    sched.record_task(job.id, "d", ok=True, message="copied")
    snapshot = sched.get(job.id)
    assert (snapshot.tasks_total, snapshot.tasks_succeeded, snapshot.tasks_failed) == (4, 2, 1)
    assert snapshot.progress == 0.75
    sched.record_task(job.id, "b", ok=False, error_code="AccessDenied")
    assert sched.tasks(job.id) == (
        TaskRecord("c", BAD, "NoSuchKey", "c is missing"),
        TaskRecord("a", OK),
        TaskRecord("d", OK, "", "copied"),
        TaskRecord("b", BAD, "AccessDenied"),
    )
    row = sched.list_jobs().jobs[0]
    assert (row.tasks_total, row.tasks_succeeded, row.tasks_failed) == (4, 2, 2)
    assert sched.get(job.id).progress == 1.0
    assert sched.get(job.id).status is S.ACTIVE  # finishing the tasks does not complete the job


def test_a_task_recorded_twice_is_a_conflict_and_changes_nothing() -> None:
    sched = Scheduler(ManualClock())
    job = sched.submit(tasks=["a", "b"])
    sched.record_task(job.id, "a", ok=False, error_code="E")
    seen: list[Event] = []
    sched.subscribe(seen.append)
    before = fingerprint(sched)
    for ok in (True, False):
        message = f"task 'a' of job {job.id!r} was already recorded"
        with pytest.raises(ConflictError, match=exactly(message)):
            sched.record_task(job.id, "a", ok=ok)
    assert fingerprint(sched) == before
    assert seen == []


def test_an_unknown_task_is_invalid_and_changes_nothing() -> None:
    sched = Scheduler(ManualClock())
    job = sched.submit(tasks=["a", "b"])
    sched.record_task(job.id, "a", ok=True)
    before = fingerprint(sched)
    for key in ("c", "A", "", 0, None):
        message = f"task key {key!r} is not in the manifest of job {job.id!r}"
        with pytest.raises(ValidationError, match=exactly(message)):
            sched.record_task(job.id, key, ok=True)  # type: ignore[arg-type]
    with pytest.raises(ValidationError, match=exactly("error_code must be a str, got int")):
        sched.record_task(job.id, "b", ok=False, error_code=404)  # type: ignore[arg-type]
    with pytest.raises(ValidationError, match=exactly("message must be a str, got NoneType")):
        sched.record_task(job.id, "b", ok=False, message=None)  # type: ignore[arg-type]
    assert fingerprint(sched) == before


def test_first_outcome_with_a_bad_message_changes_nothing() -> None:
    sched = Scheduler(ManualClock())
    job = sched.submit(tasks=1, report="all")
    before = fingerprint(sched)
    with pytest.raises(ValidationError, match=exactly("message must be a str, got bytes")):
        sched.record_task(job.id, "0", ok=True, message=b"bytes")  # type: ignore[arg-type]
    assert fingerprint(sched) == before
    sched.complete(job.id)
    assert sched.report(job.id) is None  # still no task ran


def _job_in(status: str, sched: Scheduler) -> Job:
    sched.create_queue("one", slots=1, deferred_share=1.0)
    if status == "Suspended":
        return sched.submit(queue="one", tasks=2, confirmation_required=True)
    if status == "Ready":
        sched.submit(queue="one")
        return sched.submit(queue="one", tasks=2)
    job = sched.submit(queue="one", tasks=2)
    {"Complete": sched.complete, "Cancelled": sched.cancel, "Failed": sched.fail}[status](job.id)
    return job


@pytest.mark.parametrize("status", ["Suspended", "Ready", "Complete", "Cancelled", "Failed"])
def test_outcomes_are_refused_before_start_and_after_finish(status: str) -> None:
    sched = Scheduler(ManualClock())
    job = _job_in(status, sched)
    assert sched.get(job.id).status.value == status
    before = fingerprint(sched)
    message = f"job {job.id!r} is {status}: task outcomes are accepted only while it runs"
    with pytest.raises(ConflictError, match=exactly(message)):
        sched.record_task(job.id, "0", ok=True)
    assert fingerprint(sched) == before


def test_outcomes_are_accepted_while_the_work_is_winding_down() -> None:
    # Tasks in flight when a pause or a cancellation was asked for still report.
    sched = Scheduler(ManualClock(), acknowledge=True)
    sched.create_queue("p", slots=1, deferred_share=1.0, policy="priority", preemption=True)
    low = sched.submit(queue="p", tasks=3, priority=1)
    sched.submit(queue="p", priority=2)
    assert sched.record_task(low.id, "0", ok=True).status is S.PAUSING
    sched.paused(low.id)
    assert sched.record_task(low.id, "1", ok=True).status is S.PAUSED
    other = sched.submit(tasks=2)
    sched.cancel(other.id)
    assert sched.record_task(other.id, "1", ok=False).status is S.CANCELLING
    assert sched.get(low.id).tasks_succeeded == 2
    assert sched.get(other.id).tasks_failed == 1


# The task-failure threshold -----------------------------------------------------------


@pytest.mark.parametrize(
    ("ok", "failed", "fails"),
    [
        (500, 499, False),  # 999 run, 49.95 % failed
        (499, 500, False),  # 999 run, 50.05 % failed: fewer than 1,000 run
        (0, 999, False),  # 999 run, all failed
        (500, 500, False),  # 1,000 run, exactly 50 %: does not exceed
        (499, 501, True),  # 1,000 run, 50.1 %
        (501, 500, False),  # 1,001 run, 49.95 %
        (500, 501, True),  # 1,001 run, 50.05 %
    ],
)
def test_threshold_at_the_edges(ok: int, failed: int, fails: bool) -> None:
    sched = Scheduler(ManualClock())
    job = sched.submit(tasks=ok + failed + 10)
    before_last = run(sched, job, ok, failed - 1)
    assert before_last.status is S.ACTIVE
    key = str(ok + failed - 1)
    after = sched.record_task(job.id, key, ok=False, error_code="NoSuchKey")
    assert (after.tasks_succeeded, after.tasks_failed) == (ok, failed)
    if fails:
        assert after.status is S.FAILED
        reason = f"{failed} of {ok + failed} tasks failed, more than 50%"
        assert after.failure_reasons == (FailureReason("TaskFailureThreshold", reason),)
        assert [c.status for c in after.history][-3:] == [S.ACTIVE, S.FAILING, S.FAILED]
    else:
        assert after.status is S.ACTIVE
        assert after.failure_reasons == ()


def test_threshold_is_watched_from_the_1000th_task_on() -> None:
    sched = Scheduler(ManualClock())
    job = sched.submit(tasks=2000)
    for i in range(999):  # all fail, but fewer than 1,000 have run
        assert sched.record_task(job.id, str(i), ok=False).status is S.ACTIVE
    log: list[tuple[str, str, str]] = []
    sched.subscribe(
        lambda e: (
            log.append((e.old.value, e.new.value, e.reason))
            if isinstance(e, JobTransitioned)
            else None
        )
    )
    assert sched.record_task(job.id, "1999", ok=True).status is S.FAILED  # 999 of 1000
    assert log == [("Active", "Failing", "TaskFailureThreshold"), ("Failing", "Failed", "")]
    message = f"job {job.id!r} is Failed: task outcomes are accepted only while it runs"
    with pytest.raises(ConflictError, match=exactly(message)):
        sched.record_task(job.id, "1000", ok=True)


def test_threshold_applies_at_any_point_after_1000() -> None:
    sched = Scheduler(ManualClock())
    job = sched.submit(tasks=3001)
    after = run(sched, job, 1500, 1500)  # never above 50 %: exactly 50 % at the end
    assert after.status is S.ACTIVE
    last = sched.record_task(job.id, "3000", ok=False)
    assert last.status is S.FAILED
    assert last.failure_reasons[0].message == "1501 of 3001 tasks failed, more than 50%"


@pytest.mark.parametrize(
    ("tasks", "ratio", "ok", "failed", "fails", "reason"),
    [
        (10, 0.2, 8, 2, False, ""),
        (10, 0.2, 7, 3, True, "3 of 10 tasks failed, more than 20%"),
        (1, 0.0, 1, 0, False, ""),
        (1, 0.0, 1, 1, True, "1 of 2 tasks failed, more than 0%"),
        # 0.29 * 100 is 28.999999999999996 in floats: 29 failures are not above 29 %.
        (100, 0.29, 71, 29, False, ""),
        (100, 0.29, 70, 30, True, "30 of 100 tasks failed, more than 29%"),
        (3, 0.1, 2, 1, True, "1 of 3 tasks failed, more than 10%"),
        (10, 0.7, 3, 7, False, ""),
    ],
)
def test_threshold_settings_from_the_constructor(
    tasks: int, ratio: float, ok: int, failed: int, fails: bool, reason: str
) -> None:
    sched = Scheduler(ManualClock(), failure_threshold_tasks=tasks, failure_threshold_ratio=ratio)
    job = sched.submit(tasks=ok + failed)
    after = run(sched, job, ok, failed)
    assert after.status is (S.FAILED if fails else S.ACTIVE)
    expected = (FailureReason("TaskFailureThreshold", reason),) if fails else ()
    assert after.failure_reasons == expected


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"failure_threshold_tasks": 0}, "failure_threshold_tasks must be >= 1, got 0"),
        ({"failure_threshold_tasks": True}, "failure_threshold_tasks must be an int, got bool"),
        ({"failure_threshold_tasks": 1.5}, "failure_threshold_tasks must be an int, got float"),
        ({"failure_threshold_ratio": 1.0}, "failure_threshold_ratio must be in [0, 1), got 1.0"),
        ({"failure_threshold_ratio": -0.1}, "failure_threshold_ratio must be in [0, 1), got -0.1"),
        (
            {"failure_threshold_ratio": float("nan")},
            "failure_threshold_ratio must be in [0, 1), got nan",
        ),
        ({"failure_threshold_ratio": "0.5"}, "failure_threshold_ratio must be a number, got str"),
        ({"failure_threshold_ratio": True}, "failure_threshold_ratio must be a number, got bool"),
        (
            {"failure_threshold_ratio": None},
            "failure_threshold_ratio must be a number, got NoneType",
        ),
    ],
)
def test_bad_threshold_settings_are_rejected(kwargs: dict[str, object], message: str) -> None:
    with pytest.raises(ValidationError, match=exactly(message)):
        Scheduler(ManualClock(), **kwargs)  # type: ignore[arg-type]


def test_integer_ratio_is_accepted() -> None:
    sched = Scheduler(ManualClock(), failure_threshold_tasks=1, failure_threshold_ratio=0)
    job = sched.submit(tasks=1)
    assert sched.record_task(job.id, "0", ok=False).status is S.FAILED


def test_with_acknowledgement_the_job_stays_failing_until_fail() -> None:
    sched = Scheduler(
        ManualClock(), acknowledge=True, failure_threshold_tasks=4, failure_threshold_ratio=0.5
    )
    sched.create_queue("one", slots=1, deferred_share=1.0)
    job = sched.submit(queue="one", tasks=6, report="all")
    waiting = sched.submit(queue="one")
    after = run(sched, job, 1, 3)
    assert after.status is S.FAILING
    assert after.failure_reasons == (
        FailureReason("TaskFailureThreshold", "3 of 4 tasks failed, more than 50%"),
    )
    assert sched.get_queue("one").running == 1  # the work still holds its slot
    assert sched.get(waiting.id).status is S.READY
    assert sched.report(job.id) is None  # not finished yet
    # A task in flight reports while the work stops; it does not fail the job twice.
    assert sched.record_task(job.id, "4", ok=False).status is S.FAILING
    done = sched.fail(job.id)
    assert done.status is S.FAILED
    assert len(done.failure_reasons) == 1
    assert sched.get(waiting.id).status is S.ACTIVE
    report = sched.report(job.id)
    assert report is not None
    assert (report.status, report.tasks_failed, len(report.records)) == (S.FAILED, 4, 5)
    assert report.failure_reasons == done.failure_reasons
    sched.check_invariants()


def test_threshold_reached_while_paused_fails_the_waiting_job() -> None:
    sched = Scheduler(ManualClock(), failure_threshold_tasks=2)
    sched.create_queue("p", slots=1, deferred_share=1.0, policy="priority", preemption=True)
    low = sched.submit(queue="p", tasks=5, priority=1)
    sched.record_task(low.id, "0", ok=False)
    sched.submit(queue="p", priority=2)
    assert sched.get(low.id).status is S.PAUSED
    assert sched.record_task(low.id, "1", ok=False).status is S.FAILED
    assert sched.position(low.id) is None
    assert sched.get_queue("p").paused_jobs == 0
    sched.check_invariants()


# Completion reports --------------------------------------------------------------------


def _finish(sched: Scheduler, job: Job, end: str) -> None:
    if end == "complete":
        sched.complete(job.id)
    elif end == "fail":
        sched.fail(job.id, "disk full", code="DiskFull")
    else:
        sched.cancel(job.id)


@pytest.mark.parametrize(
    ("end", "final"),
    [("complete", S.COMPLETE), ("fail", S.FAILED), ("cancel", S.CANCELLED)],
)
@pytest.mark.parametrize("scope", ["all", "failed"])
def test_report_is_produced_when_the_job_finishes(end: str, final: JobStatus, scope: str) -> None:
    clock = ManualClock(100.0)
    sched = Scheduler(clock)
    sched.create_queue("batch", slots=5)
    job = sched.submit(
        queue="batch",
        tasks=["a.wav", "b.wav", "c.wav"],
        report=scope,
        name="clip-42",
        description="nightly transcode",
        tags={"Department": "Finance"},
        priority=5,
    )
    assert sched.get(job.id).report is ReportScope(scope)
    clock.advance(10.0)
    sched.record_task(job.id, "b.wav", ok=False, error_code="NoSuchKey", message="gone")
    sched.record_task(job.id, "a.wav", ok=True)
    assert sched.report(job.id) is None  # only once it finished
    clock.advance(5.0)
    _finish(sched, job, end)
    report = sched.report(job.id)
    assert report is not None
    failed = TaskRecord("b.wav", BAD, "NoSuchKey", "gone")
    reasons = (FailureReason("DiskFull", "disk full"),) if end == "fail" else ()
    assert report == CompletionReport(
        job_id=job.id,
        name="clip-42",
        description="nightly transcode",
        submission_queue="batch",
        priority=5,
        status=final,
        scope=ReportScope(scope),
        created_at=100.0,
        finished_at=115.0,
        tags={"Department": "Finance"},
        tasks_total=3,
        tasks_succeeded=1,
        tasks_failed=1,
        failure_reasons=reasons,
        records=(failed, TaskRecord("a.wav", OK)) if scope == "all" else (failed,),
    )


@pytest.mark.parametrize("end", ["complete", "fail", "cancel"])
def test_no_report_when_no_task_ran(end: str) -> None:
    sched = Scheduler(ManualClock())
    job = sched.submit(tasks=3, report="all")
    _finish(sched, job, end)
    assert sched.get(job.id).status.is_terminal
    assert sched.report(job.id) is None


def test_no_report_for_a_job_cancelled_before_it_started() -> None:
    sched = Scheduler(ManualClock())
    sched.create_queue("one", slots=1, deferred_share=1.0)
    sched.submit(queue="one")
    job = sched.submit(queue="one", tasks=3, report="all")
    sched.cancel(job.id)
    assert sched.report(job.id) is None


def test_no_report_unless_requested() -> None:
    sched = Scheduler(ManualClock())
    job = sched.submit(tasks=1)
    sched.record_task(job.id, "0", ok=True)
    sched.complete(job.id)
    assert sched.report(job.id) is None
    assert sched.get(job.id).report is None


def test_failed_scope_with_no_failures_is_an_empty_report() -> None:
    sched = Scheduler(ManualClock())
    job = sched.submit(tasks=2, report="failed")
    sched.record_task(job.id, "0", ok=True)
    sched.complete(job.id)
    report = sched.report(job.id)
    assert report is not None and report.records == () and report.tasks_succeeded == 1


def test_report_scope_is_validated() -> None:
    sched = Scheduler(ManualClock())
    with pytest.raises(
        ValidationError, match=exactly("report must be one of 'all', 'failed', got 'some'")
    ):
        sched.submit(tasks=1, report="some")
    assert len(sched) == 0


def test_threshold_failure_reason_is_in_the_report() -> None:
    sched = Scheduler(ManualClock(), failure_threshold_tasks=2)
    job = sched.submit(tasks=3, report="failed")
    run(sched, job, 0, 2)
    report = sched.report(job.id)
    assert report is not None
    assert report.status is S.FAILED
    assert report.failure_reasons == (
        FailureReason("TaskFailureThreshold", "2 of 2 tasks failed, more than 50%"),
    )
    assert [r.key for r in report.records] == ["0", "1"]


@pytest.mark.parametrize("scope", ["all", "failed"])
def test_report_files_round_trip(scope: str, tmp_path: Path) -> None:
    sched = Scheduler(ManualClock())
    job = sched.submit(tasks=["a", "b, with comma", 'c "quoted"', "d"], report=scope)
    sched.record_task(job.id, "d", ok=True)
    sched.record_task(job.id, 'c "quoted"', ok=False, error_code="Bad,Code", message="line\nbreak")
    sched.record_task(job.id, "a", ok=False, error_code="NoSuchKey", message="a, missing")
    sched.fail(job.id, "gave up, see report", code="Abandoned")
    report = sched.report(job.id)
    assert report is not None
    expected_keys = ["d", 'c "quoted"', "a"] if scope == "all" else ['c "quoted"', "a"]
    assert [r.key for r in report.records] == expected_keys

    report.write_json(tmp_path / "report.json")
    assert CompletionReport.read_json(tmp_path / "report.json") == report
    report.write_csv(tmp_path / "report.csv")
    assert CompletionReport.read_csv(tmp_path / "report.csv") == report.records
    with open(tmp_path / "report.csv", encoding="utf-8", newline="") as file:
        rows = list(csv.reader(file))
    assert {row[0] for row in rows[1:]} == {job.id}
    # The failure reasons travel with the JSON report.
    back = CompletionReport.read_json(tmp_path / "report.json")
    assert back.failure_reasons == (FailureReason("Abandoned", "gave up, see report"),)
    assert back.status is S.FAILED and back.scope is ReportScope(scope)


def test_record_task_refuses_a_non_bool_ok_and_changes_nothing() -> None:
    sched = Scheduler(ManualClock())
    job = sched.submit(tasks=["a"])
    before = fingerprint(sched)
    with pytest.raises(ValidationError, match=re.escape("ok must be a bool, got int")):
        sched.record_task(job.id, "a", ok=1)  # type: ignore[arg-type]
    assert fingerprint(sched) == before
