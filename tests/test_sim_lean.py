"""The simulation's lean loop: the same result as the general loop, and its edges.

A workload without controls, tasks, hop rules or queue actions runs on the
driver's lean loop; every other runs on the general one. Both must give the
same result, bit for bit, for any workload the lean loop takes.
"""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from jobqueue import ConflictError
from jobqueue.sim import JobSpec, Outcome, QueueSpec, SimResult, Simulation, Workload, simulate
from jobqueue.sim._driver import Driver
from jobqueue.testing import queue_specs, workloads


def run(workload: Workload, *, lean: bool, seed: int = 0) -> tuple[Driver, SimResult]:
    driver = Driver(workload, seed, True, True, lean=lean)
    return driver, driver.run(math.inf)


lean_workloads = workloads(
    st.integers(0, 2).flatmap(
        lambda n: st.tuples(
            *(queue_specs(st.just(f"q{i}"), max_slots=4, max_waiting=6) for i in range(n))
        )
    ),
    max_jobs=30,
    priorities=st.integers(-2, 2),  # ties, so the sequence tiebreaks matter
    interarrival=st.sampled_from([0.0, 0.25, 0.5, 1.0, 3.0]),
    durations=st.sampled_from([0.0, 0.5, 1.0, 2.0, 4.75]),
    max_hops=0,
    max_tasks=0,
)


@given(lean_workloads)
def test_the_lean_loop_gives_the_general_loops_result(workload: Workload) -> None:
    lean_driver, lean = run(workload, lean=True)
    general_driver, general = run(workload, lean=False)
    assert lean_driver._lean and not general_driver._lean
    assert lean == general
    assert lean.to_dict() == general.to_dict()
    assert lean.usage == general.usage


@pytest.mark.parametrize(
    ("jobs", "lean", "finished"),
    [
        # Finishes past the largest float: the general loop runs, and its
        # clock never reaches them, so the jobs stay unfinished.
        ((JobSpec(1e308, 1.7e308), JobSpec(1.5e308, 1.7e308)), False, [False, False]),
        # The durations' sum overflows; the first job still finishes.
        (
            (JobSpec(0.0, 1e308), JobSpec(0.0, 1e308), JobSpec(0.0, 1e308)),
            False,
            [True] + [False] * 2,
        ),
        ((JobSpec(1e307, 1e307), JobSpec(2e307, 1e307)), True, [True, True]),  # far, but finite
        ((), True, []),
    ],
)
def test_the_lean_loop_runs_only_where_every_instant_is_finite(
    jobs: tuple[JobSpec, ...], lean: bool, finished: list[bool]
) -> None:
    # The lean loop writes its clock without set()'s checks, so it runs only
    # where no instant can pass the largest float.
    workload = Workload(jobs, (QueueSpec("default", slots=1, deferred_share=1.0),))
    driver, result = run(workload, lean=True)
    assert driver._lean is lean
    assert result == run(workload, lean=False)[1]
    assert [f is not None for f in result.jobs.finishes()] == finished


def test_a_preemptive_queue_runs_on_the_lean_loop_with_the_hand_computed_schedule() -> None:
    queue = QueueSpec("default", slots=1, policy="priority", preemption=True, deferred_share=1.0)
    workload = Workload(
        [
            JobSpec(0.0, 4.0, priority=1),  # 0 -> 1, preempted, 3 -> 6
            JobSpec(1.0, 2.0, priority=5),  # 1 -> 3
        ],
        [queue],
    )
    sim = Simulation(workload, check_invariants=True)
    result = sim.run()
    assert sim._driver._lean
    assert [(j.first_start, j.finish, j.preemptions, j.wait) for j in result.jobs] == [
        (0.0, 6.0, 1, 2.0),
        (1.0, 3.0, 0, 0.0),
    ]


def test_columns_show_a_job_that_never_started_as_none() -> None:
    # One slot, no waiting: the second job is refused at once.
    queue = QueueSpec("default", slots=1, deferred_share=1.0)
    workload = Workload([JobSpec(0.0, 2.0), JobSpec(1.0, 1.0, deferred=False)], [queue])
    result = simulate(workload)
    assert [j.outcome for j in result.jobs] == [Outcome.COMPLETE, Outcome.REJECTED]
    assert result.jobs.first_starts() == (0.0, None)
    assert result.jobs.finishes() == (2.0, None)


def test_columns_show_a_job_cut_off_by_until_as_unfinished() -> None:
    workload = Workload([JobSpec(0.0, 2.0), JobSpec(0.0, 3.0)], [QueueSpec("default", slots=1)])
    result = simulate(workload, until=2.5)
    assert result.jobs.first_starts() == (0.0, 2.0)
    assert result.jobs.finishes() == (2.0, None)


def test_a_job_submitted_to_the_scheduler_directly_stops_the_run_before_it_starts() -> None:
    sim = Simulation(Workload([JobSpec(0.0, 1.0)]))
    sim.scheduler.submit()
    with pytest.raises(ConflictError) as info:
        sim.run()
    assert str(info.value) == (
        "a job was submitted to the simulation's scheduler outside the workload"
    )
    assert sim.job_id(0) is None


def test_after_the_run_the_scheduler_is_free_to_use_and_the_result_stays() -> None:
    sim = Simulation(Workload([JobSpec(0.0, 1.0), JobSpec(0.5, 1.0)]))
    result = sim.run()
    before = result.to_dict()
    job = sim.scheduler.submit()
    sim.clock.set(5.0)
    sim.scheduler.complete(job.id)
    assert result.to_dict() == before
    assert [sim.job_id(0), sim.job_id(1)] == ["job-1", "job-2"]
    assert sim.scheduler.get("job-2").history[-1].time == 1.5
