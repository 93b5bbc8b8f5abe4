"""The simulation driver: hand-computed schedules, pause/resume, tasks, hops, files.

Times in the hand-computed cases are sums of binary fractions, so every
expected value is exact and compared with ``==``.
"""

from __future__ import annotations

import gc
import heapq
import itertools
import json
import random
import re
from pathlib import Path

import attrs
import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from jobqueue import ConflictError, Event, HopRule, TaskRecorded, ValidationError
from jobqueue._core import core_of
from jobqueue.sim import (
    HopRoute,
    JobSpec,
    Outcome,
    QueueAction,
    QueueSpec,
    RunSegment,
    Simulation,
    Workload,
    load_workload,
    occupancy,
    percentile,
    poisson_jobs,
    poisson_workload,
    save_workload,
    simulate,
)


def one_queue(*jobs: JobSpec, slots: int = 1, **settings: object) -> Workload:
    """A workload on the default queue, every slot open to deferred jobs."""
    queue = QueueSpec("default", slots=slots, deferred_share=1.0, **settings)  # type: ignore[arg-type]
    return Workload(jobs, (queue,))


def times(workload: Workload, **options: object) -> list[tuple[float | None, float | None]]:
    result = simulate(workload, check_invariants=True, **options)  # type: ignore[arg-type]
    return [(j.first_start, j.finish) for j in result.jobs]


# ---------------------------------------------------------------------- schedules


def test_fifo_schedule_equals_the_hand_computed_one() -> None:
    workload = one_queue(
        JobSpec(0.0, 4.0),  # slot 1: 0 -> 4
        JobSpec(1.0, 2.0),  # slot 2: 1 -> 3
        JobSpec(2.0, 3.0),  # waits for slot 2: 3 -> 6
        JobSpec(2.5, 1.0),  # waits for slot 1: 4 -> 5
        JobSpec(3.0, 0.5),  # waits for slot 1 again: 5 -> 5.5
        slots=2,
    )
    sim = Simulation(workload, check_invariants=True)
    result = sim.run()
    assert [(j.first_start, j.finish, j.wait) for j in result.jobs] == [
        (0.0, 4.0, 0.0),
        (1.0, 3.0, 0.0),
        (3.0, 6.0, 1.0),
        (4.0, 5.0, 1.5),
        (5.0, 5.5, 2.0),
    ]
    assert [j.outcome for j in result.jobs] == [Outcome.COMPLETE] * 5
    assert result.jobs.first_starts() == (0.0, 1.0, 3.0, 4.0, 5.0)
    assert result.jobs.finishes() == (4.0, 3.0, 6.0, 5.0, 5.5)
    assert result.jobs.waits() == (0.0, 0.0, 1.0, 1.5, 2.0)
    assert result.jobs[-1] == result.jobs[4] and result.jobs[1:3] == tuple(result.jobs)[1:3]
    assert [j.run_seconds for j in result.jobs] == [4.0, 2.0, 3.0, 1.0, 0.5]
    assert (result.start, result.end, result.makespan) == (0.0, 6.0, 6.0)
    stats = result.queue("default")
    assert (stats.submitted, stats.completed, stats.failed, stats.rejected) == (5, 5, 0, 0)
    assert stats.busy_seconds == 10.5
    assert stats.utilisation == 10.5 / 12.0  # 2 slots x 6 seconds
    assert stats.throughput == 5 / 6.0
    # Waits 0, 0, 1, 1.5, 2: nearest rank.
    assert (stats.wait_mean, stats.wait_p50, stats.wait_p90, stats.wait_p99, stats.wait_max) == (
        0.9,
        1.0,
        2.0,
        2.0,
        2.0,
    )
    # The times are the real scheduler's: its own records agree.
    for j in result.jobs:
        assert j.job_id is not None
        job = sim.scheduler.get(j.job_id)
        assert (job.started_at, job.finished_at) == (j.first_start, j.finish)


def test_preempted_job_keeps_its_remaining_work_and_its_place() -> None:
    workload = one_queue(
        JobSpec(0.0, 10.25, priority=1, name="low"),  # paused twice, 5.0 left at 10.25
        JobSpec(3.5, 4.0, priority=5, name="high"),  # preempts low at 3.5: 6.75 left
        JobSpec(5.0, 2.0, priority=1, name="mid"),  # equal to low: never preempts it
        JobSpec(6.0, 1.0, priority=1, name="last"),
        JobSpec(9.25, 1.0, priority=9, name="top"),  # preempts low again (resumed at 7.5)
        policy="priority",
        preemption=True,
    )
    result = simulate(workload, record_segments=True, check_invariants=True)
    rows = {j.name: (j.first_start, j.finish, j.wait, j.preemptions) for j in result.jobs}
    assert rows == {
        "low": (0.0, 15.25, 5.0, 2),  # waits 3.5-7.5 and 9.25-10.25
        "high": (3.5, 7.5, 0.0, 0),
        "mid": (15.25, 17.25, 10.25, 0),  # low rejoined ahead of it both times
        "last": (17.25, 18.25, 11.25, 0),
        "top": (9.25, 10.25, 0.0, 0),
    }
    assert result.jobs[0].run_seconds == 10.25
    assert result.queue("default").preemptions == 2
    assert result.jobs.preemptions() == (2, 0, 0, 0, 0)  # the column, in workload order
    assert result.segments is not None
    assert [s for s in result.segments if s.job == 0] == [
        RunSegment(0, "default", 0.0, 3.5),
        RunSegment(0, "default", 7.5, 9.25),
        RunSegment(0, "default", 10.25, 15.25),
    ]


def test_victim_is_the_latest_started_of_the_lowest_priority() -> None:
    workload = one_queue(
        JobSpec(0.0, 4.0, priority=1),  # started first: keeps running
        JobSpec(1.0, 4.0, priority=1),  # started last: the victim, resumes at 3 with 3.0 left
        JobSpec(1.5, 4.0, priority=3),  # higher, but it is not the lowest
        JobSpec(2.0, 1.0, priority=5),
        slots=3,
        policy="priority",
        preemption=True,
    )
    assert times(workload) == [(0.0, 4.0), (1.0, 6.0), (1.5, 5.5), (2.0, 3.0)]


def test_completions_come_before_arrivals_at_the_same_instant() -> None:
    workload = one_queue(
        JobSpec(0.0, 2.0, priority=0),
        JobSpec(1.0, 1.0, priority=1),  # the only one waiting when the slot frees at 2
        JobSpec(2.0, 1.0, priority=9),  # arrives at 2, after that start
        policy="priority",
    )
    assert times(workload) == [(0.0, 2.0), (2.0, 3.0), (3.0, 4.0)]


def test_zero_duration_jobs_finish_where_they_start() -> None:
    workload = one_queue(JobSpec(0.0, 1.0), JobSpec(0.5, 0.0), JobSpec(0.5, 0.0))
    assert times(workload) == [(0.0, 1.0), (1.0, 1.0), (1.0, 1.0)]


def test_rejected_submissions() -> None:
    workload = one_queue(
        JobSpec(0.0, 5.0),
        JobSpec(1.0, 1.0, deferred=False),  # no free slot: rejected
        JobSpec(2.0, 1.0),  # waits (the one place in line)
        JobSpec(3.0, 1.0),  # the line is full: rejected
        max_waiting=1,
    )
    result = simulate(workload, check_invariants=True)
    assert [j.outcome for j in result.jobs] == [
        Outcome.COMPLETE,
        Outcome.REJECTED,
        Outcome.COMPLETE,
        Outcome.REJECTED,
    ]
    rejected = result.jobs[1]
    assert (rejected.job_id, rejected.first_start, rejected.finish, rejected.wait) == (
        None,
        None,
        None,
        None,
    )
    stats = result.queue("default")
    assert (stats.submitted, stats.rejected, stats.completed) == (4, 2, 2)


def test_until_stops_early_and_leaves_jobs_unfinished() -> None:
    workload = one_queue(JobSpec(0.0, 4.0), JobSpec(1.0, 2.0), JobSpec(2.0, 3.0))
    result = Simulation(workload).run(until=2.0)
    assert result.end == 2.0
    assert [j.outcome for j in result.jobs] == [Outcome.UNFINISHED] * 3
    assert [j.wait for j in result.jobs] == [0.0, 1.0, 0.0]
    assert [j.run_seconds for j in result.jobs] == [2.0, 0.0, 0.0]
    assert result.queue("default").unfinished == 3


def test_a_simulation_runs_once() -> None:
    sim = Simulation(one_queue(JobSpec(0.0, 1.0)))
    sim.run()
    with pytest.raises(
        ConflictError, match=re.escape("this simulation already ran: create a new Simulation")
    ):
        sim.run()


def test_empty_workload() -> None:
    result = simulate(Workload([]))
    assert (result.start, result.end, len(result.jobs), result.queues) == (0.0, 0.0, 0, ())


# ---------------------------------------------------------------------- tasks


def test_tasks_are_recorded_through_the_scheduler_as_work_progresses() -> None:
    workload = one_queue(
        JobSpec(0.0, 8.0, priority=1, tasks=4),  # tasks at work 2, 4, 6, 8
        JobSpec(3.0, 2.0, priority=5),  # pauses it from 3 to 5
        policy="priority",
        preemption=True,
    )
    sim = Simulation(workload, check_invariants=True)
    seen: list[tuple[float, str, str]] = []

    def on_event(event: Event) -> None:
        if isinstance(event, TaskRecorded):
            seen.append((event.time, event.record.key, event.record.status.value))

    sim.scheduler.subscribe(on_event)
    result = sim.run()
    assert seen == [
        (2.0, "0", "succeeded"),
        (6.0, "1", "succeeded"),  # resumed at 5 with 3 of 8 done
        (8.0, "2", "succeeded"),
        (10.0, "3", "succeeded"),
    ]
    job = result.jobs[0]
    assert (job.finish, job.tasks_succeeded, job.tasks_failed) == (10.0, 4, 0)


def test_task_failure_threshold_fails_the_job_and_frees_its_slot() -> None:
    workload = one_queue(
        JobSpec(0.0, 1500.0, tasks=1500, task_failure_rate=1.0),  # task k done at time k
        JobSpec(1.0, 1.0),
    )
    sim = Simulation(workload)
    result = sim.run()
    failed = result.jobs[0]
    assert (failed.outcome, failed.finish, failed.run_seconds) == (Outcome.FAILED, 1000.0, 1000.0)
    assert (failed.tasks_succeeded, failed.tasks_failed) == (0, 1000)
    assert failed.job_id is not None
    reasons = sim.scheduler.get(failed.job_id).failure_reasons
    assert [(r.code, r.message) for r in reasons] == [
        ("TaskFailureThreshold", "1000 of 1000 tasks failed, more than 50%")
    ]
    assert (result.jobs[1].first_start, result.jobs[1].finish) == (1000.0, 1001.0)
    assert result.queue("default").failed == 1


# ---------------------------------------------------------------------- hops, pauses


def test_job_hops_into_a_paused_queue_and_starts_when_it_resumes() -> None:
    workload = Workload(
        [
            JobSpec(0.0, 10.0, queue="a"),
            JobSpec(1.0, 2.0, queue="a", hops=[HopRule("b", 2.0)]),  # hops at 3
        ],
        [
            QueueSpec("a", slots=1, deferred_share=1.0, pricing="reserved", tags={"team": "x"}),
            QueueSpec("b", slots=1, deferred_share=1.0),
        ],
        [QueueAction(0.0, "b", "pause"), QueueAction(5.0, "b", "resume")],
    )
    result = simulate(workload, check_invariants=True)
    hopper = result.jobs[1]
    assert (hopper.first_start, hopper.finish, hopper.wait) == (5.0, 7.0, 4.0)
    assert (hopper.hops, hopper.queue, hopper.final_queue) == (1, "a", "b")
    a, b = result.queue("a"), result.queue("b")
    assert (a.hops_out, a.hops_in, b.hops_out, b.hops_in) == (1, 0, 0, 1)
    assert (a.submitted, a.completed, b.submitted, b.completed) == (2, 1, 0, 1)
    assert result.hop_routes == (HopRoute("a", "b", 1),)
    # Billed: only the 2 s in on-demand "b", under the submission queue's tags.
    assert [(dict(row.tags), row.seconds) for row in result.usage] == [({"team": "x"}, 2.0)]
    assert [q.name for q in result.queues] == ["a", "b"]


def test_jobs_left_in_a_paused_queue_stay_unfinished() -> None:
    workload = Workload(
        [JobSpec(1.0, 1.0, queue="a"), JobSpec(2.0, 1.0)],
        [QueueSpec("a", slots=1)],
        [QueueAction(0.0, "a", "pause")],
    )
    result = simulate(workload, check_invariants=True)
    assert [j.outcome for j in result.jobs] == [Outcome.UNFINISHED, Outcome.COMPLETE]
    assert (result.end, result.jobs[0].wait) == (3.0, 2.0)
    assert [q.name for q in result.queues] == ["default", "a"]


def test_occupancy_timeline() -> None:
    workload = one_queue(JobSpec(0.0, 1.0), JobSpec(0.0, 3.0), JobSpec(2.0, 2.0), slots=2)
    result = simulate(workload, record_segments=True)
    assert occupancy(result, 4) == {"default": (1.0, 0.5, 1.0, 0.5)}
    with pytest.raises(ValueError, match=re.escape("run with record_segments=True")):
        occupancy(simulate(workload), 4)


def test_percentile_is_nearest_rank() -> None:
    values = [float(v) for v in range(1, 101)]
    assert [percentile(values, p) for p in (1, 50, 90, 99, 100)] == [1.0, 50.0, 90.0, 99.0, 100.0]
    assert percentile([7.0], 50) == 7.0
    with pytest.raises(ValueError, match=re.escape("percentile of no values")):
        percentile([], 50)


# ---------------------------------------------------------------------- determinism


def busy_workload(seed: int) -> Workload:
    rng = random.Random(seed)
    reserved = poisson_jobs(
        300,
        rate=3.0,
        rng=rng,
        mean_duration=2.0,
        priorities={1: 3, 5: 2, 9: 1},
        queue="r",
        hops=[HopRule("od", 1.5)],
    )
    batch = JobSpec(1.0, 40.0, queue="od", tasks=1200, task_failure_rate=0.3)
    queues = [
        QueueSpec("r", slots=4, policy="priority", preemption=True, deferred_share=1.0),
        QueueSpec("od", slots=3),
    ]
    return Workload((*reserved, batch), queues, [QueueAction(20.0, "od", "pause")])


def test_same_workload_and_seed_give_the_same_result_bit_for_bit() -> None:
    first = simulate(busy_workload(1), seed=5, record_segments=True)
    again = simulate(busy_workload(1), seed=5, record_segments=True)
    assert first == again
    assert first.to_dict() == again.to_dict()
    assert first.queue("r").preemptions > 0 and first.queue("r").hops_out > 0
    # The seed drives the task outcomes.
    other = simulate(busy_workload(1), seed=6, record_segments=True)
    assert other != first
    assert other.jobs[300].tasks_failed != first.jobs[300].tasks_failed


def test_generators_are_seeded() -> None:
    a = poisson_jobs(500, rate=2.0, rng=random.Random(3), priorities={1: 1, 2: 1})
    b = poisson_jobs(500, rate=2.0, rng=random.Random(3), priorities={1: 1, 2: 1})
    assert a == b
    assert all(x.arrival < y.arrival for x, y in itertools.pairwise(a))
    assert {j.priority for j in a} == {1, 2}
    fixed = poisson_jobs(10, rate=1.0, rng=random.Random(3), durations="fixed", mean_duration=2.5)
    assert {j.duration for j in fixed} == {2.5}
    w = poisson_workload(2000, rng=random.Random(4), slots=10, load=0.5, mean_duration=2.0)
    assert w.queues == (QueueSpec("default", slots=10, deferred_share=1.0, max_waiting=2000),)
    # Rate 0.5 * 10 / 2 = 2.5 jobs per second.
    assert 2.3 < len(w.jobs) / w.jobs[-1].arrival < 2.7


def test_generator_errors() -> None:
    rng = random.Random(0)
    with pytest.raises(ValidationError, match=re.escape("rate must be a finite number > 0, got 0")):
        poisson_jobs(1, rate=0, rng=rng)
    with pytest.raises(
        ValidationError, match=re.escape("durations must be 'exponential' or 'fixed', got 'x'")
    ):
        poisson_jobs(1, rate=1.0, rng=rng, durations="x")  # type: ignore[arg-type]
    with pytest.raises(ValidationError, match=re.escape("priority weights must not all be 0")):
        poisson_jobs(1, rate=1.0, rng=rng, priorities={1: 0})


# ---------------------------------------------------------------------- agreement


def reference(
    jobs: list[tuple[float, float, int]], slots: int, policy: str
) -> list[tuple[float, float]]:
    """jobqueue's rules for one queue, written out plainly: (first start, finish) per job.

    Completions before arrivals at one instant; higher priority first, ties by
    arrival; a victim is the lowest priority, then the latest started, and only
    a strictly higher priority preempts; a preempted job keeps its place.
    """
    n = len(jobs)
    start: list[float | None] = [None] * n
    finish = [0.0] * n
    remaining = [d for _, d, _ in jobs]
    since = [0.0] * n
    running: dict[int, int] = {}  # job -> start order
    ends: list[tuple[float, int, int]] = []
    waiting: list[int] = []
    order = 0
    k = 0
    while k < n or ends:
        if ends and (k == n or ends[0][0] <= jobs[k][0]):
            now, started, i = heapq.heappop(ends)
            if running.get(i) != started:
                continue
            del running[i]
            finish[i] = now
        else:
            now = jobs[k][0]
            waiting.append(k)
            k += 1
        while waiting:
            key = (lambda j: j) if policy == "fifo" else (lambda j: (-jobs[j][2], j))
            head = min(waiting, key=key)
            if len(running) >= slots:
                if policy != "preemptive":
                    break
                victim = min(running, key=lambda j: (jobs[j][2], -running[j]))
                if jobs[victim][2] >= jobs[head][2]:
                    break
                remaining[victim] -= now - since[victim]
                del running[victim]
                waiting.append(victim)
                continue
            waiting.remove(head)
            start[head] = now if start[head] is None else start[head]
            since[head] = now
            order += 1
            running[head] = order
            heapq.heappush(ends, (now + remaining[head], order, head))
    return [(s if s is not None else -1.0, f) for s, f in zip(start, finish, strict=True)]


@given(
    specs=st.lists(
        st.tuples(
            st.integers(0, 3),  # gap to the previous arrival, so ties happen
            st.sampled_from([0.0, 0.5, 1.0, 2.0, 3.25, 5.0]),
            st.integers(1, 4),
        ),
        max_size=14,
    ),
    slots=st.integers(1, 3),
    policy=st.sampled_from(["fifo", "priority", "preemptive"]),
)
# The victim is the latest started of the lowest priority.
@example(specs=[(0, 0.5, 2), (0, 0.5, 2), (0, 0.5, 3)], slots=2, policy="preemptive")
# Completions before arrivals at one instant.
@example(specs=[(0, 2.0, 1), (1, 1.0, 2), (1, 1.0, 3)], slots=1, policy="priority")
def test_schedules_agree_with_a_reference_model(
    specs: list[tuple[int, float, int]], slots: int, policy: str
) -> None:
    jobs = []
    t = 0.0
    for gap, duration, priority in specs:
        t += gap
        jobs.append((t, duration, priority))
    workload = one_queue(
        *(JobSpec(a, d, priority=p) for a, d, p in jobs),
        slots=slots,
        policy="fifo" if policy == "fifo" else "priority",
        preemption=policy == "preemptive",
    )
    assert times(workload) == reference(jobs, slots, policy)


# ---------------------------------------------------------------------- validation


@pytest.mark.parametrize(
    ("build", "message"),
    [
        (lambda: JobSpec(-1.0, 1.0), "arrival must be a finite number >= 0, got -1.0"),
        (lambda: JobSpec(0.0, float("inf")), "duration must be a finite number >= 0, got inf"),
        (lambda: JobSpec(0.0, 1.0, priority=True), "priority must be an int, got bool"),
        (lambda: JobSpec(0.0, 1.0, deferred=1), "deferred must be a bool, got int"),
        (lambda: JobSpec(0.0, 1.0, tasks=-1), "tasks must be >= 0, got -1"),
        (
            lambda: JobSpec(0.0, 1.0, task_failure_rate=1.5),
            "task_failure_rate must be in [0, 1], got 1.5",
        ),
        (
            lambda: JobSpec(0.0, 1.0, hops=[HopRule("b", 0.0)]),
            "hops[0].wait must be a finite number > 0, got 0.0",
        ),
        (
            lambda: QueueSpec("q", policy="fifo", preemption=True),
            "preemption needs policy 'priority', got 'fifo'",
        ),
        (lambda: QueueSpec("q", slots=0), "slots must be >= 1, got 0"),
        (lambda: Workload([JobSpec(0.0, 1.0, queue="x")]), "jobs[0].queue: unknown queue 'x'"),
        (
            lambda: Workload([JobSpec(0.0, 1.0, hops=[HopRule("x", 1.0)])]),
            "jobs[0].hops[0].queue: unknown queue 'x'",
        ),
        (
            lambda: Workload(
                [JobSpec(0.0, 1.0, queue="a", hops=[HopRule("a", 1.0)])], [QueueSpec("a")]
            ),
            "jobs[0].hops[0].queue must differ from the queue it hops from, got 'a'",
        ),
        (
            lambda: Workload([], [QueueSpec("a"), QueueSpec("a")]),
            "queues[1].name: queue 'a' is defined twice",
        ),
        (
            lambda: Workload([JobSpec(0.0, 1.0, name="n"), JobSpec(1.0, 1.0, name="n")]),
            "jobs[1].name: job name 'n' is used twice",
        ),
        (
            lambda: Workload([], actions=[QueueAction(1.0, "x", "pause")]),
            "actions[0].queue: unknown queue 'x'",
        ),
        (
            lambda: QueueAction(1.0, "default", "stop"),
            "action must be one of 'pause', 'resume', got 'stop'",
        ),
    ],
)
def test_bad_specs_are_rejected(build: object, message: str) -> None:
    assert callable(build)
    with pytest.raises(ValidationError) as info:
        build()
    assert str(info.value) == message


# ---------------------------------------------------------------------- files


def full_workload() -> Workload:
    return Workload(
        [
            JobSpec(0.0, 30.0, queue="fast", priority=5, hops=[HopRule("default", 60.0, 2)]),
            JobSpec(
                0.1,
                1e-3,
                deferred=False,
                preemptible=False,
                tasks=3,
                task_failure_rate=0.25,
                name="j-1",
                tags={"team": "a b"},
                billing_tags_source="job",
            ),
            JobSpec(2.5, 10.0 / 3.0, queue="fast"),
        ],
        [QueueSpec("fast", slots=4, policy="priority", preemption=True, pricing="reserved")],
        [QueueAction(10.0, "fast", "pause"), QueueAction(12.0, "fast", "resume")],
    )


def test_json_round_trip(tmp_path: Path) -> None:
    workload = full_workload()
    path = tmp_path / "w.json"
    save_workload(workload, path)
    loaded = load_workload(path)
    assert loaded == workload
    assert simulate(loaded, seed=1) == simulate(workload, seed=1)


def test_csv_round_trip(tmp_path: Path) -> None:
    jobs = [attrs.evolve(j, queue="default", hops=()) for j in full_workload().jobs]
    workload = Workload(jobs)
    path = tmp_path / "w.csv"
    save_workload(workload, path)
    assert load_workload(path) == workload
    # Queues and actions for a CSV workload come from the caller.
    extra = full_workload()
    loaded = load_workload(path, queues=extra.queues, actions=extra.actions)
    assert loaded == Workload(jobs, extra.queues, extra.actions)


def test_csv_written_by_hand(tmp_path: Path) -> None:
    path = tmp_path / "jobs.csv"
    path.write_text(
        "arrival,duration,queue,priority,hops,deferred,tags\n"
        "0,30,fast,5,default:60:2,yes,team=a;env=prod\n"
        "\n"
        "2.5, 10 ,,,,,\n"
    )
    loaded = load_workload(path, queues=[QueueSpec("fast", slots=2)])
    assert loaded.jobs == (
        JobSpec(
            0.0,
            30.0,
            queue="fast",
            priority=5,
            hops=[HopRule("default", 60.0, 2)],
            tags={"team": "a", "env": "prod"},
        ),
        JobSpec(2.5, 10.0),
    )


@pytest.mark.parametrize(
    ("name", "text", "message"),
    [
        ("w.csv", "", "w.csv: empty file: a header line is required"),
        ("w.csv", "arrival,length\n", "w.csv, line 1: unknown column 'length'"),
        ("w.csv", "arrival,queue\n", "w.csv, line 1: column 'duration' is required"),
        (
            "w.csv",
            "arrival,duration\n0,1\n1,-1\n",
            "w.csv, line 3: duration must be a finite number >= 0, got -1.0",
        ),
        ("w.csv", "arrival,duration\n0,x\n", "w.csv, line 2: duration must be a number, got 'x'"),
        ("w.csv", "arrival,duration\n0\n", "w.csv, line 2: expected 2 fields, got 1"),
        (
            "w.csv",
            "arrival,duration,deferred\n0,1,maybe\n",
            "w.csv, line 2: deferred must be true or false, got 'maybe'",
        ),
        (
            "w.csv",
            "arrival,duration,hops\n0,1,b\n",
            "w.csv, line 2: hops[0] must be queue:wait or queue:wait:priority, got 'b'",
        ),
        (
            "w.csv",
            "arrival,duration,queue\n0,1,nope\n",
            "w.csv: jobs[0].queue: unknown queue 'nope'",
        ),
        ("w.json", '{"jobs": [\n  {"arrival": 0,}\n]}', None),
        ("w.json", "[]", "w.json: the top level must be an object with 'jobs'"),
        ("w.json", '{"jobz": []}', "w.json: unknown field 'jobz'"),
        ("w.json", '{"jobs": [{"arrival": 0}]}', "w.json: jobs[0]: duration is required"),
        (
            "w.json",
            '{"jobs": [{"arrival": 0, "duration": 1, "colour": "red"}]}',
            "w.json: jobs[0]: unknown field 'colour'",
        ),
        (
            "w.json",
            '{"jobs": [{"arrival": 0, "duration": 1, "priority": 1.5}]}',
            "w.json: jobs[0]: priority must be an int, got float",
        ),
        (
            "w.json",
            '{"queues": [{"name": "q", "slots": 0}], "jobs": []}',
            "w.json: queues[0]: slots must be >= 1, got 0",
        ),
        (
            "w.json",
            '{"jobs": [{"arrival": 0, "duration": 1, "hops": [{"queue": "x"}]}]}',
            "w.json: jobs[0]: hops[0] must be an object with 'queue', 'wait' "
            "and optional 'priority'",
        ),
        ("w.txt", "", "w.txt: workload files must end in .json or .csv"),
    ],
)
def test_bad_workload_files(tmp_path: Path, name: str, text: str, message: str | None) -> None:
    path = tmp_path / name
    path.write_text(text)
    with pytest.raises(ValidationError) as info:
        load_workload(path)
    if message is None:  # JSON syntax: the decoder names the line and column
        message = (
            "w.json, line 2, column 17: invalid JSON: "
            "Expecting property name enclosed in double quotes"
        )
    assert str(info.value) == message.replace("w.", f"{tmp_path}/w.", 1)


def test_missing_file(tmp_path: Path) -> None:
    path = tmp_path / "none.json"
    with pytest.raises(ValidationError) as info:
        load_workload(path)
    assert str(info.value) == f"{path}: cannot read: No such file or directory"


def test_csv_cannot_hold_queues_or_awkward_tags(tmp_path: Path) -> None:
    with pytest.raises(ValidationError) as info:
        save_workload(full_workload(), tmp_path / "w.csv")
    assert str(info.value) == (
        "a CSV workload holds jobs only: save a workload with queues or actions as JSON"
    )
    with pytest.raises(ValidationError) as info:
        save_workload(Workload([JobSpec(0.0, 1.0, tags={"k": "a=b"})]), tmp_path / "w.csv")
    assert str(info.value) == "jobs[0].tags: a CSV tag cannot contain ';' or '=', got 'k'='a=b'"
    assert not (tmp_path / "w.csv").exists()


def test_saved_json_is_readable(tmp_path: Path) -> None:
    path = tmp_path / "w.json"
    save_workload(Workload([JobSpec(0.0, 1.0), JobSpec(1.0, 2.0, priority=3)]), path)
    assert json.loads(path.read_text()) == {
        "queues": [],
        "jobs": [
            {"arrival": 0.0, "duration": 1.0},
            {"arrival": 1.0, "duration": 2.0, "priority": 3},
        ],
        "actions": [],
    }


def _many_jobs(n: int) -> Workload:
    return Workload(
        [JobSpec(float(i), 2.0) for i in range(n)], [QueueSpec("default", slots=1, max_waiting=n)]
    )


def test_a_run_leaves_the_jobs_it_keeps_in_the_oldest_collector_generation() -> None:
    # Otherwise the first young-generation collection after the run rescans them all.
    gc.collect()
    assert gc.isenabled()
    sim = Simulation(_many_jobs(2000))
    sim.run()
    assert gc.isenabled()
    assert gc.get_freeze_count() == 0
    assert gc.get_count()[0] < gc.get_threshold()[0]
    oldest = {id(obj) for obj in gc.get_objects(generation=2)}
    jobs = core_of(sim.scheduler).jobs
    kept = [jobs[number] for number in list(jobs)[:50]]
    assert all(id(rec) in oldest for rec in kept)


def test_a_run_leaves_objects_the_application_froze_frozen() -> None:
    gc.collect()
    gc.freeze()
    try:
        frozen = gc.get_freeze_count()
        simulate(_many_jobs(200))
        assert gc.get_freeze_count() == frozen
    finally:
        gc.unfreeze()


def test_a_run_leaves_a_disabled_collector_disabled() -> None:
    gc.disable()
    try:
        simulate(_many_jobs(50))
        assert not gc.isenabled()
    finally:
        gc.enable()
