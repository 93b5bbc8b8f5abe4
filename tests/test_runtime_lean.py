"""A plain job function with no option of its work: the runtime's common submission path.

``ThreadRuntime.submit(job=fn)`` for a plain (non-async) function and none of
the work's options skips the checks that cannot fail for it, and with no
option of the scheduler's either, the core's checks of the defaults (passed
once, see ``_trusted.default_submitter``). The job must be the one
``Scheduler.submit`` makes, and a refusal the one it gives, with nothing
changed.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
from collections.abc import Callable

import pytest
from helpers import fingerprint

from jobqueue import (
    AccessDenied,
    AccessPolicy,
    Action,
    Event,
    JobStatus,
    JobTransitioned,
    LimitExceededError,
    ManualClock,
    NotFound,
    Scheduler,
    Statement,
    ValidationError,
)
from jobqueue.runtime import JobContext, RuntimeStateError, ThreadRuntime, _trusted

pytestmark = [pytest.mark.runtime, pytest.mark.usefixtures("no_thread_left_behind")]

TIMEOUT = 10.0


def twice(submit: Callable[[], object]) -> None:
    submit()
    submit()


def test_a_default_submission_makes_the_jobs_scheduler_submit_makes() -> None:
    # Twice: the first call checks the defaults, the second reuses them.
    jobs = []
    for lean in (False, True):
        sched = Scheduler(ManualClock())
        twice(_trusted.default_submitter(sched) if lean else sched.submit)
        jobs.append([sched.get("job-1"), sched.get("job-2")])
        sched.check_invariants()
    assert jobs[0] == jobs[1]
    assert [job.status for job in jobs[1]] == [JobStatus.ACTIVE, JobStatus.ACTIVE]


def refusals(sched: Scheduler, submit: Callable[[], object]) -> list[tuple[type, str, bool]]:
    """Submit into a full default queue, a denying policy and no default queue."""
    out = []
    for setup in ("full", "denied", "deleted"):
        if setup == "full":
            sched.update_queue("default", slots=1, max_waiting=1)
            twice(sched.submit)  # one runs, one waits: the line is full
        elif setup == "denied":
            sched.update_queue("default", slots=5)
            sched._core.access_policy = AccessPolicy([Statement.deny(Action.CREATE)])
        else:
            sched._core.access_policy = None
            sched.create_queue("other")
            sched.cancel("job-1")
            sched.cancel("job-2")
            sched.delete_queue("default")
        before = fingerprint(sched)
        with pytest.raises(Exception) as info:
            submit()
        out.append((type(info.value), str(info.value), fingerprint(sched) == before))
    return out


def test_a_default_submission_refuses_as_scheduler_submit_does_and_changes_nothing() -> None:
    expected = None
    for lean in (False, True):
        sched = Scheduler(ManualClock())
        # The lean submitter checks its defaults at its first call: make one.
        submit = _trusted.default_submitter(sched) if lean else sched.submit
        got = refusals(sched, submit)
        assert [kind for kind, _, _ in got] == [LimitExceededError, AccessDenied, NotFound]
        assert all(unchanged for _, _, unchanged in got)
        if expected is None:
            expected = got
    assert got == expected


def test_a_default_submission_first_made_without_a_default_queue_is_refused() -> None:
    sched = Scheduler(ManualClock())
    sched.create_queue("other")
    sched.delete_queue("default")
    submit = _trusted.default_submitter(sched)
    with pytest.raises(NotFound) as info:
        submit()
    assert str(info.value) == "unknown queue 'default'"
    assert len(sched) == 0
    sched.create_queue("default")
    submit()
    assert sched.get("job-1").status is JobStatus.ACTIVE


def plain(ctx: JobContext) -> str:
    return "plain"


def test_a_plain_job_function_runs_with_the_options_it_was_given() -> None:
    with ThreadRuntime(max_workers=2) as runtime:
        default = runtime.submit(job=plain)
        named = runtime.submit(job=plain, name="n", priority=4, tags={"team": "a"})
        lam = runtime.submit(job=lambda ctx: ctx.job_id)
        assert default.result(TIMEOUT) == "plain"
        assert named.result(TIMEOUT) == "plain"
        assert lam.result(TIMEOUT) == lam.id
        job = runtime.get(named.id)
        assert (job.name, job.priority, dict(job.tags)) == ("n", 4, {"team": "a"})
        assert runtime.get(default.id).status is JobStatus.COMPLETE


def test_a_plain_job_function_with_a_bad_option_submits_nothing() -> None:
    with ThreadRuntime(max_workers=1) as runtime:
        with pytest.raises(ValidationError) as info:
            runtime.submit(job=plain, priority="high")  # type: ignore[call-overload]
        assert "priority" in str(info.value)
        with pytest.raises(TypeError):
            runtime.submit(job=plain, colour="red")  # type: ignore[call-overload]
        with pytest.raises(NotFound):
            runtime.submit(job=plain, queue="nowhere")
        assert len(runtime.scheduler) == 0


def test_an_async_job_function_is_still_refused() -> None:
    async def coro(ctx: JobContext) -> None:
        await asyncio.sleep(0)

    with ThreadRuntime(max_workers=1) as runtime:
        with pytest.raises(ValidationError) as info:
            runtime.submit(job=coro)
        assert "use AsyncioRuntime" in str(info.value)
        assert len(runtime.scheduler) == 0


def test_a_plain_job_function_is_refused_once_the_runtime_is_shut_down() -> None:
    runtime = ThreadRuntime(max_workers=1)
    runtime.shutdown()
    with pytest.raises(RuntimeStateError):
        runtime.submit(job=plain)
    assert len(runtime.scheduler) == 0


def test_a_job_cancelled_during_its_own_submission_never_runs() -> None:
    # A subscriber cancels each job as it becomes Active, inside the
    # submission: the submission must not launch it.
    ran: list[str] = []

    def job(ctx: JobContext) -> None:
        ran.append(ctx.job_id)

    with ThreadRuntime(max_workers=2) as runtime:

        def on_event(event: Event) -> None:
            if isinstance(event, JobTransitioned) and event.new is JobStatus.ACTIVE:
                runtime.cancel(event.job_id)

        runtime.subscribe(on_event)
        handles = [runtime.submit(job=job) for _ in range(5)]
        for handle in handles:
            with pytest.raises(concurrent.futures.CancelledError):
                handle.result(TIMEOUT)
            assert runtime.get(handle.id).status is JobStatus.CANCELLED
    assert ran == []
