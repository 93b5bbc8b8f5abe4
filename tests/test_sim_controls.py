"""Job controls in a simulation: hand-computed schedules, validation, files, random workloads.

Times in the hand-computed cases are sums of binary fractions, so every
expected value is exact and compared with ``==``. Every run checks the
scheduler's invariants after each event.
"""

from __future__ import annotations

import json
import math
import random
from pathlib import Path

import pytest
from helpers import transitions
from hypothesis import given
from hypothesis import strategies as st

from jobqueue import Event, HopRule, Retry, RetryScheduled, TaskRecorded, ValidationError
from jobqueue.sim import (
    After,
    JobSpec,
    Outcome,
    QueueAction,
    QueueSpec,
    SimResult,
    Simulation,
    Workload,
    load_workload,
    poisson_jobs,
    save_workload,
    simulate,
)

NO_JITTER = Retry(attempts=3, backoff=1.0, factor=2.0, jitter=0.0)


def one_queue(*jobs: JobSpec, slots: int = 1, **settings: object) -> Workload:
    """A workload on the default queue, every slot open to deferred jobs."""
    queue = QueueSpec("default", slots=slots, deferred_share=1.0, **settings)  # type: ignore[arg-type]
    return Workload(jobs, (queue,))


def run(workload: Workload, **options: object) -> tuple[Simulation, SimResult, list[Event]]:
    sim = Simulation(workload, check_invariants=True, record_segments=True, **options)  # type: ignore[arg-type]
    events: list[Event] = []
    sim.scheduler.subscribe(events.append)
    return sim, sim.run(), events


def segments(result: SimResult, job: int) -> list[tuple[float, float]]:
    assert result.segments is not None
    return [(s.start, s.end) for s in result.segments if s.job == job]


# ---------------------------------------------------------------------- retries


def test_a_retry_schedule_and_a_dependent_computed_by_hand() -> None:
    workload = one_queue(
        JobSpec(0.0, 3.0, fails=2, retry=NO_JITTER, name="flaky"),
        JobSpec(0.0, 1.0, after=[0], name="next"),  # waits for flaky to complete
        slots=2,
    )
    sim, result, events = run(workload)
    flaky, after = result.jobs
    # Attempt 1 runs 0..3 and fails; back off 1 s; attempt 2 runs 4..7 and
    # fails; back off 2 s; attempt 3 runs 9..12, from the start, and completes.
    assert segments(result, 0) == [(0.0, 3.0), (4.0, 7.0), (9.0, 12.0)]
    assert (flaky.outcome, flaky.first_start, flaky.finish) == (Outcome.COMPLETE, 0.0, 12.0)
    assert (flaky.attempts, flaky.run_seconds, flaky.wait, flaky.preemptions) == (3, 9.0, 0.0, 0)
    assert flaky.failure is None
    # The dependent starts when flaky completes; held, it did not wait in a line.
    assert (after.first_start, after.finish, after.wait, after.attempts) == (12.0, 13.0, 0.0, 1)
    assert flaky.job_id is not None and after.job_id is not None
    a = flaky.job_id
    assert [t for t in transitions(events) if t[1] == a] == [
        (0.0, a, "New", "Preparing"),
        (0.0, a, "Preparing", "Ready"),
        (0.0, a, "Ready", "Active"),
        (3.0, a, "Active", "Pausing"),  # attempt 1 failed: retry
        (3.0, a, "Pausing", "Paused"),
        (4.0, a, "Paused", "Active"),
        (7.0, a, "Active", "Pausing"),  # attempt 2 failed
        (7.0, a, "Pausing", "Paused"),
        (9.0, a, "Paused", "Active"),
        (12.0, a, "Active", "Complete"),
    ]
    retries = [
        (e.time, e.attempt, e.until, e.code) for e in events if isinstance(e, RetryScheduled)
    ]
    assert retries == [(3.0, 2, 4.0, "JobFailed"), (7.0, 3, 9.0, "JobFailed")]
    b = after.job_id
    assert [t for t in transitions(events) if t[1] == b] == [
        (0.0, b, "New", "Preparing"),
        (0.0, b, "Preparing", "Suspended"),
        (12.0, b, "Suspended", "Ready"),
        (12.0, b, "Ready", "Active"),
        (13.0, b, "Active", "Complete"),
    ]
    # The scheduler's own records agree.
    got = sim.scheduler.get(a)
    assert (got.attempt, got.run_seconds, got.finished_at) == (3, 9.0, 12.0)
    stats = result.queue("default")
    assert (stats.completed, stats.failed, stats.busy_seconds) == (2, 0, 10.0)
    assert result.end == 13.0


def test_retries_spent_fail_the_job_and_settle_each_kind_of_dependent() -> None:
    workload = one_queue(
        JobSpec(0.0, 3.0, fails=3, retry=NO_JITTER),  # fails at 3, 7 and, finally, 12
        JobSpec(1.0, 1.0, after=[0]),  # "ok": can never start
        JobSpec(1.0, 1.0, after=[After(0, on="failed")]),
        JobSpec(1.0, 1.0, after=[After(0, on="any")]),
        JobSpec(2.0, 1.0, after=[1]),  # waits on a job that never runs
        slots=2,
    )
    _, result, _ = run(workload)
    rows = [(j.outcome, j.failure, j.first_start, j.finish, j.attempts) for j in result.jobs]
    assert rows == [
        (Outcome.FAILED, "JobFailed", 0.0, 12.0, 3),
        (Outcome.FAILED, "DependencyNeverSatisfied", None, 12.0, 0),
        (Outcome.COMPLETE, None, 12.0, 13.0, 1),
        (Outcome.COMPLETE, None, 12.0, 13.0, 1),
        (Outcome.FAILED, "DependencyNeverSatisfied", None, 12.0, 0),
    ]
    assert result.jobs[0].run_seconds == 9.0
    assert [j.wait for j in result.jobs] == [0.0] * 5
    assert [j.run_seconds for j in result.jobs[1:]] == [0.0, 1.0, 1.0, 0.0]
    stats = result.queue("default")
    assert (stats.completed, stats.failed, stats.unfinished) == (2, 3, 0)


def test_a_dependency_that_failed_before_submission_fails_the_dependent_at_once() -> None:
    workload = one_queue(JobSpec(0.0, 1.0, fails=1), JobSpec(5.0, 1.0, after=[0]))
    _, result, _ = run(workload)
    assert [(j.outcome, j.failure, j.finish) for j in result.jobs] == [
        (Outcome.FAILED, "JobFailed", 1.0),  # no retry: the first failure is final
        (Outcome.FAILED, "DependencyNeverSatisfied", 5.0),
    ]
    assert (result.jobs[0].attempts, result.jobs[0].run_seconds) == (1, 1.0)


def test_a_preemption_keeps_the_work_left_and_a_retry_starts_it_over() -> None:
    retry = Retry(attempts=2, backoff=1.0, jitter=0.0)
    workload = one_queue(
        JobSpec(0.0, 4.0, priority=1, fails=1, retry=retry),
        JobSpec(1.0, 1.0, priority=5),  # preempts it at 1
        policy="priority",
        preemption=True,
    )
    _, result, _ = run(workload)
    job = result.jobs[0]
    # Attempt 1: 0..1, preempted, resumes at 2 with 3 s left, fails at 5.
    # Backoff to 6; attempt 2 runs all 4 s of work: 6..10.
    assert segments(result, 0) == [(0.0, 1.0), (2.0, 5.0), (6.0, 10.0)]
    assert (job.finish, job.attempts, job.preemptions, job.run_seconds) == (10.0, 2, 1, 8.0)
    assert job.wait == 1.0  # Paused in line 1..2; the backoff 5..6 is not a wait
    assert result.queue("default").preemptions == 1


def test_the_run_goes_on_through_a_backoff_and_until_stops_inside_it() -> None:
    workload = one_queue(JobSpec(0.0, 2.0, fails=1, retry=Retry(backoff=8.0, jitter=0.0)))
    assert (simulate(workload).end, simulate(workload).jobs[0].finish) == (12.0, 12.0)
    job = Simulation(workload).run(until=5.0).jobs[0]
    assert (job.outcome, job.attempts, job.run_seconds, job.wait) == (
        Outcome.UNFINISHED,
        1,
        2.0,
        0.0,
    )


def test_retry_jitter_is_seeded_by_the_simulation() -> None:
    workload = one_queue(
        *(JobSpec(0.0, 1.0, fails=2, retry=Retry(backoff=4.0, jitter=0.5)) for _ in range(5)),
        slots=5,
    )
    first, again, other = (simulate(workload, seed=s) for s in (1, 1, 2))
    assert first == again
    assert first.jobs.finishes() != other.jobs.finishes()
    for job in first.jobs:
        # Two backoffs of 4 and 8 s, each scaled by a factor in [0.5, 1.5].
        assert job.finish is not None and 3.0 + 6.0 <= job.finish <= 3.0 + 18.0


def test_failed_tasks_are_recorded_again_and_successes_kept() -> None:
    workload = one_queue(
        JobSpec(0.0, 8.0, tasks=8, task_failure_rate=0.5, fails=1, retry=NO_JITTER),
    )
    sim, result, events = run(workload, seed=3)
    job = result.jobs[0]
    assert job.job_id is not None
    got = sim.scheduler.get(job.job_id)
    assert (job.tasks_succeeded, job.tasks_failed) == (got.tasks_succeeded, got.tasks_failed)
    assert job.tasks_succeeded + job.tasks_failed == 8
    recorded = [
        (e.record.key, e.record.status.value) for e in events if isinstance(e, TaskRecorded)
    ]
    first, second = recorded[:8], recorded[8:]
    assert [key for key, _ in first] == [str(k) for k in range(8)]
    # The second attempt records again exactly the tasks that failed in the first.
    failed = [key for key, status in first if status == "failed"]
    assert [key for key, _ in second] == failed
    assert 0 < len(failed) < 8  # with this seed, some of each
    assert (job.finish, job.attempts) == (17.0, 2)


def test_the_task_failure_threshold_retries_and_the_next_attempt_records_every_task_again() -> None:
    retry = Retry(attempts=2, backoff=0.0, jitter=0.0)
    workload = one_queue(JobSpec(0.0, 1500.0, tasks=1500, task_failure_rate=1.0, retry=retry))
    sim = Simulation(workload)
    job = sim.run().jobs[0]
    # Task k is done at work k + 1: the 1000th failure trips the threshold at
    # 1000; attempt 2 starts there, from the start, and trips it at 2000.
    assert (job.outcome, job.failure, job.finish) == (
        Outcome.FAILED,
        "TaskFailureThreshold",
        2000.0,
    )
    assert (job.attempts, job.run_seconds, job.tasks_failed) == (2, 2000.0, 1000)
    assert job.job_id is not None
    assert sim.scheduler.get(job.job_id).attempt == 2


# ---------------------------------------------------------------------- start times and limits


def test_not_before_and_max_wait_computed_by_hand() -> None:
    workload = one_queue(
        JobSpec(0.0, 10.0),  # holds the slot 0..10
        JobSpec(1.0, 2.0, not_before=5.0, max_wait=3.0),  # waits 5..8: fails at 8
        JobSpec(2.0, 1.0, not_before=4.0, max_wait=8.0),  # waits 4..10, ahead of job 1
        JobSpec(3.0, 1.0, not_before=0.5),  # already passed: no hold
    )
    _, result, events = run(workload)
    rows = [(j.outcome, j.failure, j.first_start, j.finish, j.wait) for j in result.jobs]
    assert rows == [
        (Outcome.COMPLETE, None, 0.0, 10.0, 0.0),
        (Outcome.FAILED, "WaitTimeExceeded", None, 8.0, 3.0),
        (Outcome.COMPLETE, None, 10.0, 11.0, 6.0),
        (Outcome.COMPLETE, None, 11.0, 12.0, 8.0),
    ]
    held = result.jobs[1].job_id
    assert [t for t in transitions(events) if t[1] == held] == [
        (1.0, held, "New", "Preparing"),
        (1.0, held, "Preparing", "Suspended"),
        (5.0, held, "Suspended", "Ready"),
        (8.0, held, "Ready", "Failing"),
        (8.0, held, "Failing", "Failed"),
    ]
    stats = result.queue("default")
    assert (stats.completed, stats.failed, stats.wait_max) == (3, 1, 8.0)


def test_max_run_cuts_the_work_off_and_each_attempt_has_its_own() -> None:
    workload = one_queue(
        JobSpec(0.0, 10.0, max_run=4.0),  # fails at 4
        JobSpec(0.0, 10.0, max_run=4.0, retry=Retry(attempts=2, backoff=1.0, jitter=0.0)),
        JobSpec(0.0, 4.0, max_run=4.0),  # work that ends at the limit completes
        slots=3,
    )
    _, result, _ = run(workload)
    rows = [(j.outcome, j.failure, j.finish, j.run_seconds, j.attempts) for j in result.jobs]
    assert rows == [
        (Outcome.FAILED, "RunTimeExceeded", 4.0, 4.0, 1),
        (Outcome.FAILED, "RunTimeExceeded", 9.0, 8.0, 2),  # 0..4, back off, 5..9
        (Outcome.COMPLETE, None, 4.0, 4.0, 1),
    ]
    assert segments(result, 1) == [(0.0, 4.0), (5.0, 9.0)]
    assert result.queue("default").busy_seconds == 16.0


def test_a_wait_limit_in_a_paused_queue_ends_the_run_at_the_limit() -> None:
    workload = Workload(
        [JobSpec(1.0, 1.0, queue="a", max_wait=5.0), JobSpec(2.0, 1.0, queue="a")],
        [QueueSpec("a", slots=1)],
        [QueueAction(0.0, "a", "pause")],
    )
    _, result, _ = run(workload)
    assert [(j.outcome, j.finish) for j in result.jobs] == [
        (Outcome.FAILED, 6.0),
        (Outcome.UNFINISHED, None),
    ]
    assert (result.end, result.jobs[1].wait) == (6.0, 4.0)


def test_a_hop_and_a_wait_limit_together() -> None:
    workload = Workload(
        [
            JobSpec(0.0, 10.0, queue="a"),
            JobSpec(1.0, 2.0, queue="a", hops=[HopRule("b", 2.0)], max_wait=5.0),
        ],
        [QueueSpec("a", slots=1, deferred_share=1.0), QueueSpec("b", slots=1)],
        [QueueAction(0.0, "b", "pause"), QueueAction(8.0, "b", "resume")],
    )
    _, result, _ = run(workload)
    hopper = result.jobs[1]
    # Hops at 3 into paused "b"; a hop does not end the wait: 5 s are up at 6.
    assert (hopper.outcome, hopper.failure, hopper.finish, hopper.hops) == (
        Outcome.FAILED,
        "WaitTimeExceeded",
        6.0,
        1,
    )
    assert (hopper.final_queue, hopper.wait) == ("b", 5.0)
    assert result.queue("b").failed == 1


def test_a_dependent_of_a_rejected_job_is_rejected() -> None:
    workload = one_queue(
        JobSpec(0.0, 5.0),
        JobSpec(1.0, 1.0, deferred=False),  # no free slot: rejected
        JobSpec(2.0, 1.0, after=[1]),  # cannot name it
        JobSpec(2.0, 1.0, after=[0]),
    )
    _, result, _ = run(workload)
    assert [(j.outcome, j.job_id is None) for j in result.jobs] == [
        (Outcome.COMPLETE, False),
        (Outcome.REJECTED, True),
        (Outcome.REJECTED, True),
        (Outcome.COMPLETE, False),
    ]
    assert result.queue("default").rejected == 2


def test_jobs_without_controls_report_one_attempt_once_started() -> None:
    result = simulate(one_queue(JobSpec(0.0, 1.0), JobSpec(0.0, 1.0)), until=0.5)
    assert [(j.attempts, j.failure) for j in result.jobs] == [(1, None), (0, None)]


# ---------------------------------------------------------------------- validation


@pytest.mark.parametrize(
    ("build", "message"),
    [
        (
            lambda: JobSpec(0.0, 1.0, not_before=-1),
            "not_before must be a finite number >= 0, got -1",
        ),
        (lambda: JobSpec(0.0, 1.0, max_run=0), "max_run must be a finite number > 0, got 0"),
        (
            lambda: JobSpec(0.0, 1.0, max_wait=float("nan")),
            "max_wait must be a finite number > 0, got nan",
        ),
        (lambda: JobSpec(0.0, 1.0, fails=-1), "fails must be >= 0, got -1"),
        (lambda: JobSpec(0.0, 1.0, fails=True), "fails must be an int, got bool"),
        (lambda: JobSpec(0.0, 1.0, retry=3), "retry must be a Retry, got int"),
        (
            lambda: JobSpec(0.0, 1.0, retry=Retry(attempts=0)),
            "retry.attempts must be 1..1000, got 0",
        ),
        (
            lambda: JobSpec(0.0, 1.0, after=0),
            "after must be a sequence of job indices or After, got int",
        ),
        (
            lambda: JobSpec(0.0, 1.0, after=["job-1"]),
            "after[0] must be a job index (int) or an After, got str",
        ),
        (lambda: JobSpec(0.0, 1.0, after=[0, -1]), "after[1] must be >= 0, got -1"),
        (lambda: After(0, on="done"), "on must be one of 'ok', 'any', 'failed', got 'done'"),
        (lambda: After(1.0), "job must be an int, got float"),
        (
            lambda: JobSpec(0.0, 1.0, deferred=False, not_before=1.0),
            "not_before needs deferred=True: a non-deferred job starts at once or not at all",
        ),
        (
            lambda: JobSpec(0.0, 1.0, deferred=False, after=[0]),
            "after needs deferred=True: a non-deferred job starts at once or not at all",
        ),
        (
            lambda: Workload([JobSpec(0.0, 1.0, after=[0])]),
            "jobs[0].after[0] must be the index of a job listed before it (< 0), got 0",
        ),
        (
            lambda: Workload([JobSpec(0.0, 1.0), JobSpec(0.0, 1.0, after=[0, After(4)])]),
            "jobs[1].after[1] must be the index of a job listed before it (< 1), got 4",
        ),
        (
            lambda: Workload([JobSpec(5.0, 1.0), JobSpec(2.0, 1.0, after=[0])]),
            "jobs[1].after[0]: job 0 arrives at 5.0, after this job (2.0): "
            "it must exist when this job is submitted",
        ),
    ],
)
def test_bad_controls_are_rejected(build: object, message: str) -> None:
    assert callable(build)
    with pytest.raises(ValidationError) as info:
        build()
    assert str(info.value) == message


def test_has_controls() -> None:
    assert not Workload(poisson_jobs(20, rate=1.0, rng=random.Random(1))).has_controls
    assert not JobSpec(0.0, 1.0).has_controls
    for controls in (
        {"not_before": 0.0},
        {"after": [0]},
        {"max_run": 1.0},
        {"max_wait": 1.0},
        {"retry": Retry()},
        {"fails": 1},
    ):
        spec = JobSpec(0.0, 1.0, **controls)
        assert spec.has_controls
        assert Workload([JobSpec(0.0, 1.0), spec]).has_controls


# ---------------------------------------------------------------------- files


def controls_workload() -> Workload:
    return Workload(
        [
            JobSpec(0.0, 3.0, fails=2, retry=NO_JITTER, max_run=5.0),
            JobSpec(0.5, 1.0, not_before=2.25, max_wait=100.0),
            JobSpec(
                1.0,
                2.0,
                after=[0, After(1, on="any"), After(0, on="failed")],
                retry=Retry(attempts=2, backoff=0.1, max_backoff=0.5, jitter=0.25, on=("Oops",)),
            ),
            JobSpec(1.0, 1.0),
        ]
    )


def test_json_round_trip_with_controls(tmp_path: Path) -> None:
    workload = controls_workload()
    path = tmp_path / "w.json"
    save_workload(workload, path)
    loaded = load_workload(path)
    assert loaded == workload
    assert simulate(loaded, seed=1) == simulate(workload, seed=1)
    jobs = json.loads(path.read_text())["jobs"]
    assert jobs[2]["after"] == [0, {"job": 1, "on": "any"}, {"job": 0, "on": "failed"}]
    assert jobs[2]["retry"] == {
        "attempts": 2,
        "backoff": 0.1,
        "factor": 2.0,
        "max_backoff": 0.5,
        "jitter": 0.25,
        "on": ["Oops"],
    }
    assert jobs[3] == {"arrival": 1.0, "duration": 1.0}


def test_csv_round_trip_with_controls(tmp_path: Path) -> None:
    workload = controls_workload()
    path = tmp_path / "w.csv"
    save_workload(workload, path)
    assert load_workload(path) == workload
    lines = path.read_text().splitlines()
    assert lines[0].endswith(",not_before,after,max_run,max_wait,retry,fails")
    assert lines[3].endswith(
        ",,0;1:any;0:failed,,,"
        "attempts=2;backoff=0.1;factor=2.0;max_backoff=0.5;jitter=0.25;on=Oops,0"
    )
    # Only the columns some job uses.
    save_workload(Workload([JobSpec(0.0, 1.0, fails=1)]), path)
    assert path.read_text().splitlines()[0].endswith(",billing_tags_source,fails")


def test_csv_with_controls_written_by_hand(tmp_path: Path) -> None:
    path = tmp_path / "jobs.csv"
    path.write_text(
        "arrival,duration,after,retry,fails,max_run\n"
        "0,3,,attempts=3;backoff=1;jitter=0,2,\n"
        "0,1,0; 0:any,,,2.5\n"
    )
    assert load_workload(path).jobs == (
        JobSpec(0.0, 3.0, fails=2, retry=Retry(attempts=3, backoff=1.0, jitter=0.0)),
        JobSpec(0.0, 1.0, after=[0, After(0, on="any")], max_run=2.5),
    )


def test_csv_cannot_hold_awkward_retry_codes(tmp_path: Path) -> None:
    workload = Workload([JobSpec(0.0, 1.0, retry=Retry(on=("a|b",)))])
    with pytest.raises(ValidationError) as info:
        save_workload(workload, tmp_path / "w.csv")
    assert str(info.value) == (
        "jobs[0].retry.on: a CSV retry code cannot contain ';', '=' or '|', got 'a|b'"
    )
    save_workload(workload, tmp_path / "w.json")
    assert load_workload(tmp_path / "w.json") == workload


@pytest.mark.parametrize(
    ("name", "text", "message"),
    [
        (
            "w.csv",
            "arrival,duration,after\n0,1,\n0,1,x\n",
            "w.csv, line 3: after[0] must be an int, got 'x'",
        ),
        (
            "w.csv",
            "arrival,duration,after\n0,1,\n0,1,0:maybe\n",
            "w.csv, line 3: after[0].on must be one of 'ok', 'any', 'failed', got 'maybe'",
        ),
        (
            "w.csv",
            "arrival,duration,after\n0,1,:ok\n",
            "w.csv, line 2: after[0] must be index or index:on, got ':ok'",
        ),
        (
            "w.csv",
            "arrival,duration,after\n0,1,1\n",
            "w.csv: jobs[0].after[0] must be the index of a job listed before it (< 0), got 1",
        ),
        (
            "w.csv",
            "arrival,duration,retry\n0,1,attempts\n",
            "w.csv, line 2: retry must be key=value items separated by ';', got 'attempts'",
        ),
        (
            "w.csv",
            "arrival,duration,retry\n0,1,tries=3\n",
            "w.csv, line 2: retry: unknown field 'tries'",
        ),
        (
            "w.csv",
            "arrival,duration,retry\n0,1,attempts=x\n",
            "w.csv, line 2: retry.attempts must be an int, got 'x'",
        ),
        (
            "w.csv",
            "arrival,duration,retry\n0,1,jitter=2\n",
            "w.csv, line 2: retry.jitter must be in [0, 1], got 2.0",
        ),
        ("w.csv", "arrival,duration,fails\n0,1,-1\n", "w.csv, line 2: fails must be >= 0, got -1"),
        (
            "w.json",
            '{"jobs": [{"arrival": 0, "duration": 1, "after": 0}]}',
            "w.json: jobs[0]: after must be a list, got int",
        ),
        (
            "w.json",
            '{"jobs": [{"arrival": 0, "duration": 1, "after": [{"on": "any"}]}]}',
            "w.json: jobs[0]: after[0] must be a job index or an object with 'job' "
            "and optional 'on'",
        ),
        (
            "w.json",
            '{"jobs": [{"arrival": 0, "duration": 1}, '
            '{"arrival": 0, "duration": 1, "after": [{"job": 0, "on": 1}]}]}',
            "w.json: jobs[1]: after[0].on must be one of 'ok', 'any', 'failed', got 1",
        ),
        (
            "w.json",
            '{"jobs": [{"arrival": 0, "duration": 1, "retry": {"tries": 3}}]}',
            "w.json: jobs[0]: retry: unknown field 'tries'",
        ),
        (
            "w.json",
            '{"jobs": [{"arrival": 0, "duration": 1, "retry": {"on": "Oops"}}]}',
            "w.json: jobs[0]: retry.on must be a list, got str",
        ),
        (
            "w.json",
            '{"jobs": [{"arrival": 0, "duration": 1, "retry": 3}]}',
            "w.json: jobs[0]: retry must be a Retry, got int",
        ),
    ],
)
def test_bad_controls_in_workload_files(tmp_path: Path, name: str, text: str, message: str) -> None:
    path = tmp_path / name
    path.write_text(text)
    with pytest.raises(ValidationError) as info:
        load_workload(path)
    assert str(info.value) == message.replace("w.", f"{tmp_path}/w.", 1)


# ---------------------------------------------------------------------- random workloads


@st.composite
def workloads(draw: st.DrawFn) -> Workload:
    """Small workloads whose jobs use every control, in one or two queues."""
    n = draw(st.integers(1, 8))
    jobs = []
    t = 0.0
    for i in range(n):
        t += draw(st.sampled_from([0.0, 0.0, 0.5, 1.0, 2.0]))
        retry = draw(
            st.none()
            | st.builds(
                Retry,
                attempts=st.integers(1, 3),
                backoff=st.sampled_from([0.0, 0.5, 1.0]),
                factor=st.sampled_from([1.0, 2.0]),
                jitter=st.sampled_from([0.0, 0.5]),
            )
        )
        kinds = st.sampled_from(["ok", "any", "failed"])
        deps = (
            draw(st.lists(st.builds(After, st.integers(0, i - 1), kinds), max_size=2)) if i else []
        )
        queue = draw(st.sampled_from(["default", "default", "b"]))
        jobs.append(
            JobSpec(
                t,
                draw(st.sampled_from([0.0, 0.5, 1.0, 2.0, 3.25])),
                queue=queue,
                priority=draw(st.integers(1, 3)),
                hops=draw(st.sampled_from([(), (HopRule("b", 1.5),)]))
                if queue == "default"
                else (),
                tasks=draw(st.sampled_from([0, 0, 3])),
                task_failure_rate=draw(st.sampled_from([0.0, 0.5])),
                not_before=draw(st.none() | st.sampled_from([t, t + 1.0, t + 2.5])),
                after=deps,
                max_run=draw(st.none() | st.sampled_from([0.5, 1.0, 2.0, 4.0])),
                max_wait=draw(st.none() | st.sampled_from([0.5, 1.0, 3.0, 6.0])),
                retry=retry,
                fails=draw(st.integers(0, 3)),
            )
        )
    preemptive = draw(st.booleans())
    queues = [
        QueueSpec(
            "default",
            slots=draw(st.integers(1, 2)),
            policy="priority" if preemptive else "fifo",
            preemption=preemptive,
            deferred_share=1.0,
        ),
        QueueSpec("b", slots=1, deferred_share=1.0),
    ]
    pause = draw(st.sampled_from([0.0, 1.0, 3.0]))
    actions = [QueueAction(pause, "b", "pause"), QueueAction(pause + 2.0, "b", "resume")]
    return Workload(jobs, queues, actions if draw(st.booleans()) else ())


@given(workload=workloads(), seed=st.integers(0, 3))
def test_random_workloads_with_controls_keep_the_invariants(workload: Workload, seed: int) -> None:
    sim = Simulation(workload, seed=seed, check_invariants=True, record_segments=True)
    result = sim.run()
    assert result == simulate(workload, seed=seed, record_segments=True)  # reproducible
    assert result.segments is not None
    for job, spec in zip(result.jobs, workload.jobs, strict=True):
        # Nothing is left waiting: every hold, backoff and paused queue ends.
        assert job.outcome in (Outcome.COMPLETE, Outcome.FAILED, Outcome.REJECTED)
        ran = math.fsum(s.end - s.start for s in result.segments if s.job == job.index)
        assert math.isclose(job.run_seconds, ran, abs_tol=1e-9)
        assert (job.failure is not None) == (job.outcome is Outcome.FAILED)
        if job.job_id is None:
            continue
        got = sim.scheduler.get(job.job_id)
        assert got.status.value.lower() == job.outcome.value
        assert (got.started_at, got.finished_at) == (job.first_start, job.finish)
        assert job.failure == (got.failure_reasons[0].code if got.failure_reasons else None)
        assert math.isclose(got.run_seconds, job.run_seconds, abs_tol=1e-9)
        assert (got.tasks_succeeded, got.tasks_failed) == (job.tasks_succeeded, job.tasks_failed)
        if job.first_start is None:
            assert (job.attempts, job.run_seconds) == (0, 0.0)
        else:
            # Attempts started; a job can fail on its wait limit in line for the next.
            assert job.attempts == got.attempt or (
                job.failure == "WaitTimeExceeded" and job.attempts == got.attempt - 1
            )
        if job.outcome is Outcome.COMPLETE:
            # Only the attempts meant to fail failed: none was cut off.
            assert spec.max_run is None or spec.max_run >= spec.duration
            assert job.attempts == spec.fails + 1
        if job.outcome is Outcome.FAILED and job.failure == "JobFailed":
            assert job.attempts <= spec.fails
        if spec.max_wait is not None:
            assert job.wait is not None and job.wait <= spec.max_wait


def test_a_chain_of_dependents_of_a_failing_job_fails_in_one_instant() -> None:
    n = 200
    jobs = [JobSpec(0.0, 1.0, fails=1), *(JobSpec(0.0, 1.0, after=[i]) for i in range(n))]
    result = simulate(Workload(jobs))
    assert {(j.outcome, j.finish) for j in result.jobs} == {(Outcome.FAILED, 1.0)}
    assert [j.failure for j in result.jobs[1:]] == ["DependencyNeverSatisfied"] * n


def test_a_job_failed_by_its_wait_limit_waited_exactly_the_limit() -> None:
    # A jittered backoff puts the second wait's start at an instant like
    # 0.2061...; the limit's instant, that plus 0.5, rounds to a float, and
    # summing the waits back from it came out 0.5000000000000001.
    queue = QueueSpec("default", slots=1, deferred_share=1.0)
    retry = Retry(attempts=2, backoff=0.5, factor=1.0, jitter=0.5)
    jobs = [
        JobSpec(0.0, 0.0, max_wait=0.5, retry=retry, fails=1),
        *(JobSpec(0.0, 0.0) for _ in range(3)),
        JobSpec(0.0, 2.0),
    ]
    result = simulate(Workload(jobs, queues=(queue,)), seed=3)
    limited = result.jobs[0]
    assert (limited.outcome, limited.failure) == (Outcome.FAILED, "WaitTimeExceeded")
    assert limited.wait == 0.5
