"""Retries in the runtimes: the next attempt runs the work again, from the start.

A job function runs again from its first line; a task job runs again only
the tasks with no recorded success. Backoffs are a few milliseconds of real
time, and every wait is bounded.
"""

from __future__ import annotations

import asyncio
import threading

import pytest

from jobqueue import JobStatus, Retry, RetryScheduled, Scheduler
from jobqueue.runtime import AsyncioRuntime, JobContext, ThreadRuntime

pytestmark = [pytest.mark.runtime, pytest.mark.usefixtures("no_thread_left_behind")]

TIMEOUT = 10.0
S = JobStatus
QUICK = Retry(attempts=3, backoff=0.005, factor=1.0, max_backoff=0.005, jitter=0.0)


def test_a_job_function_that_fails_twice_runs_a_third_time_from_the_start() -> None:
    calls: list[int] = []
    lock = threading.Lock()

    def flaky(ctx: JobContext) -> None:
        with lock:
            calls.append(len(calls) + 1)
            attempt = len(calls)
        if attempt < 3:
            raise RuntimeError(f"attempt {attempt} failed")

    with ThreadRuntime(max_workers=2) as rt:
        retries: list[RetryScheduled] = []
        rt.scheduler.subscribe(
            lambda e: retries.append(e) if isinstance(e, RetryScheduled) else None
        )
        job = rt.submit(job=flaky, retry=QUICK)
        done = rt.wait(job.id, TIMEOUT)
    assert calls == [1, 2, 3]
    assert (done.status, done.attempt) == (S.COMPLETE, 3)
    assert [(e.attempt, e.code) for e in retries] == [(2, "HandlerError"), (3, "HandlerError")]


def test_a_job_function_that_always_fails_spends_its_attempts_then_fails() -> None:
    calls: list[int] = []

    def broken(ctx: JobContext) -> None:
        calls.append(1)
        raise ValueError("no")

    with ThreadRuntime(max_workers=1) as rt:
        job = rt.submit(job=broken, retry=QUICK)
        done = rt.wait(job.id, TIMEOUT)
    assert len(calls) == 3
    assert (done.status, done.attempt) == (S.FAILED, 3)
    assert [r.code for r in done.failure_reasons] == ["HandlerError"]


def test_a_task_job_runs_only_its_failed_tasks_again() -> None:
    seen: list[str] = []
    lock = threading.Lock()
    failed_once: set[str] = set()

    def task(key: str) -> None:
        with lock:
            seen.append(key)
            first = key not in failed_once
            if key == "b" and first:
                failed_once.add(key)
                raise RuntimeError("flaky")

    sched = Scheduler(failure_threshold_tasks=1, failure_threshold_ratio=0.25)
    with ThreadRuntime(sched, max_workers=1, concurrency=1) as rt:
        job = rt.submit(task, tasks=["a", "b", "c", "d"], retry=QUICK)
        done = rt.wait(job.id, TIMEOUT)
    assert (done.status, done.attempt) == (S.COMPLETE, 2)
    assert (done.tasks_succeeded, done.tasks_failed) == (4, 0)
    # a succeeded in the first attempt and is not run again; b failed there.
    assert seen == ["a", "b", "b", "c", "d"]


def test_a_run_limit_stops_a_job_function_at_its_checkpoint_and_runs_it_again() -> None:
    starts: list[int] = []
    release = threading.Event()

    def slow_then_quick(ctx: JobContext) -> None:
        starts.append(1)
        if len(starts) == 1:
            while not release.wait(0.001):
                ctx.checkpoint()  # stopped here when the run limit passes

    with ThreadRuntime(max_workers=1) as rt:
        job = rt.submit(job=slow_then_quick, max_run=0.05, retry=QUICK)
        done = rt.wait(job.id, TIMEOUT)
        release.set()
    assert len(starts) == 2
    assert (done.status, done.attempt) == (S.COMPLETE, 2)


def test_the_asyncio_runtime_runs_a_failed_job_function_again() -> None:
    calls: list[int] = []

    async def flaky(ctx: object) -> None:
        calls.append(1)
        if len(calls) < 2:
            raise RuntimeError("first attempt fails")

    async def main() -> JobStatus:
        async with AsyncioRuntime() as rt:
            job = rt.submit(job=flaky, retry=QUICK)
            done = await asyncio.wait_for(rt.wait(job.id), TIMEOUT)
            return done.status

    assert asyncio.run(main()) is S.COMPLETE
    assert len(calls) == 2
