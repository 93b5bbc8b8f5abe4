"""Task retries and timeouts in the runtimes.

A failed task runs again after its backoff, and only its last outcome is
recorded; a task past its timeout fails with code ``TaskTimeout`` (asyncio
cancels it; a thread or an executor's call runs on and its late outcome is
ignored). Backoffs and timeouts are milliseconds of real time; every wait is
bounded.
"""

from __future__ import annotations

import asyncio
import itertools
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from helpers import fingerprint

from jobqueue import JobStatus, Retry, Scheduler, TaskRecorded, ValidationError
from jobqueue.runtime import (
    AsyncioRuntime,
    ExecutorRuntime,
    JobContext,
    TaskFailures,
    TaskTimeout,
    ThreadRuntime,
)

pytestmark = [pytest.mark.runtime, pytest.mark.usefixtures("no_thread_left_behind")]

TIMEOUT = 10.0
S = JobStatus
BACKOFF = 0.03
QUICK = Retry(attempts=3, backoff=BACKOFF, factor=1.0, max_backoff=BACKOFF, jitter=0.0)


class Flaky:
    """A task function whose key "b" fails ``failures`` times, then succeeds."""

    def __init__(self, failures: int) -> None:
        self.failures = failures
        self.calls: list[tuple[str, float]] = []
        self._lock = threading.Lock()

    def __call__(self, key: str) -> str:
        with self._lock:
            self.calls.append((key, time.monotonic()))
            tries = sum(1 for k, _ in self.calls if k == key)
        if key == "b" and tries <= self.failures:
            raise ConnectionError(f"try {tries}")
        return key.upper()

    def times(self, key: str) -> list[float]:
        return [t for k, t in self.calls if k == key]


def _recorded(sched: Scheduler) -> tuple[list[tuple[str, str, str]], Callable[[], None]]:
    """``(key, status, error_code)`` of every outcome recorded from now on."""
    seen: list[tuple[str, str, str]] = []

    def note(event: object) -> None:
        if isinstance(event, TaskRecorded):
            r = event.record
            seen.append((r.key, str(r.status), r.error_code))

    return seen, sched.subscribe(note)


def _threaded(kind: str) -> Any:
    if kind == "thread":
        return ThreadRuntime(max_workers=2)
    return ExecutorRuntime(ThreadPoolExecutor(2))


def _close(kind: str, rt: Any) -> None:
    rt.shutdown()
    if kind == "executor":
        rt.executor.shutdown()


# ---------------------------------------------------------------------- retries


@pytest.mark.parametrize("kind", ["thread", "executor"])
def test_a_failed_task_runs_again_after_its_backoff_and_only_its_last_outcome_is_recorded(
    kind: str,
) -> None:
    flaky = Flaky(failures=2)
    rt = _threaded(kind)
    try:
        seen, _ = rt.call(_recorded)
        handle = rt.submit(flaky, tasks=["a", "b", "c"], task_retries=QUICK)
        assert dict(handle.result(TIMEOUT)) == {"a": "A", "b": "B", "c": "C"}
        job = handle.job()
    finally:
        _close(kind, rt)
    tries = flaky.times("b")
    assert len(tries) == 3
    assert all(later - earlier >= BACKOFF * 0.9 for earlier, later in itertools.pairwise(tries))
    assert [r for r in seen if r[0] == "b"] == [("b", "succeeded", "")]
    assert (job.status, job.tasks_succeeded, job.tasks_failed) == (S.COMPLETE, 3, 0)


@pytest.mark.parametrize("kind", ["thread", "executor"])
def test_a_task_that_keeps_failing_is_recorded_once_failed_after_its_attempts(kind: str) -> None:
    flaky = Flaky(failures=99)
    rt = _threaded(kind)
    try:
        seen, _ = rt.call(_recorded)
        handle = rt.submit(flaky, tasks=["a", "b"], task_retries=QUICK)
        with pytest.raises(TaskFailures) as info:
            handle.result(TIMEOUT)
    finally:
        _close(kind, rt)
    assert len(flaky.times("b")) == QUICK.attempts
    assert [r for r in seen if r[0] == "b"] == [("b", "failed", "ConnectionError")]
    assert str(info.value.failures["b"]) == "try 3"


def test_task_retries_of_a_job_that_is_cancelled_do_not_run() -> None:
    flaky = Flaky(failures=99)
    slow = Retry(attempts=5, backoff=30.0, factor=1.0, max_backoff=30.0, jitter=0.0)
    with ThreadRuntime(max_workers=1) as rt:
        handle = rt.submit(flaky, tasks=["b"], task_retries=slow)
        deadline = time.monotonic() + TIMEOUT
        while not flaky.calls and time.monotonic() < deadline:
            time.sleep(0.001)
        assert rt.get(handle.id).status is S.ACTIVE  # waiting out the backoff
        handle.cancel()
        assert rt.wait(handle.id, TIMEOUT).status is S.CANCELLED
    assert len(flaky.calls) == 1


# ---------------------------------------------------------------------- timeouts


@pytest.mark.parametrize("kind", ["thread", "executor"])
def test_a_task_past_its_timeout_fails_and_its_late_result_is_ignored(kind: str) -> None:
    release = threading.Event()
    finished: list[str] = []

    def task(key: str) -> str:
        if key == "slow":
            release.wait(TIMEOUT)
        finished.append(key)
        return key

    rt = _threaded(kind)
    try:
        seen, _ = rt.call(_recorded)
        handle = rt.submit(task, tasks=["slow", "quick"], concurrency=2, task_timeout=0.05)
        with pytest.raises(TaskFailures) as info:
            handle.result(TIMEOUT)
        assert "slow" not in finished  # failed while its call still ran
        release.set()
        deadline = time.monotonic() + TIMEOUT
        while "slow" not in finished and time.monotonic() < deadline:
            time.sleep(0.001)
        job = rt.get(handle.id)
    finally:
        release.set()
        _close(kind, rt)
    error = info.value.failures["slow"]
    assert isinstance(error, TaskTimeout)
    assert str(error) == "task 'slow' did not finish within 0.05 seconds"
    assert sorted(seen) == [("quick", "succeeded", ""), ("slow", "failed", "TaskTimeout")]
    assert (job.tasks_succeeded, job.tasks_failed) == (1, 1)


def test_on_result_never_sees_the_late_result_of_a_timed_out_task() -> None:
    release = threading.Event()
    returned: list[str] = []
    delivered: list[str] = []

    def task(key: str) -> str:
        if key == "slow":
            release.wait(TIMEOUT)
        returned.append(key)
        return key

    with ThreadRuntime(max_workers=2) as rt:
        handle = rt.submit(
            task,
            tasks=["slow", "quick"],
            task_timeout=0.05,
            on_result=lambda k, v: delivered.append(k),
        )
        try:
            with pytest.raises(TaskFailures):
                handle.result(TIMEOUT)
        finally:
            release.set()
    assert sorted(returned) == ["quick", "slow"]  # the slow call did return, late
    assert delivered == ["quick"]


def test_a_timed_out_task_with_retries_runs_again_and_can_succeed() -> None:
    release = threading.Event()
    calls: list[str] = []

    def task(key: str) -> str:
        calls.append(key)
        if len(calls) == 1:
            release.wait(TIMEOUT)  # the first try hangs
        return key

    with ThreadRuntime(max_workers=2) as rt:
        handle = rt.submit(task, tasks=["k"], task_timeout=0.05, task_retries=QUICK)
        try:
            assert dict(handle.result(TIMEOUT)) == {"k": "k"}
        finally:
            release.set()
    assert calls == ["k", "k"]


def test_on_asyncio_a_timed_out_task_is_cancelled_and_a_failed_one_retried() -> None:
    cancelled: list[str] = []
    tries: dict[str, int] = {}

    async def task(key: str) -> str:
        tries[key] = tries.get(key, 0) + 1
        if key == "hang":
            try:
                await asyncio.sleep(TIMEOUT)
            except asyncio.CancelledError:
                cancelled.append(key)
                raise
        if key == "flaky" and tries[key] < 3:
            raise ConnectionError("again")
        if key == "own":
            raise TimeoutError("the task's own")
        return key

    async def main() -> None:
        async with AsyncioRuntime() as rt:
            handle = rt.submit(
                task,
                tasks=["hang", "flaky", "own"],
                task_timeout=0.05,
                task_retries=Retry(attempts=3, backoff=0.005, factor=1.0, jitter=0.0),
            )
            with pytest.raises(TaskFailures) as info:
                await asyncio.wait_for(handle, TIMEOUT)
            failures = info.value.failures
            assert sorted(failures) == ["hang", "own"]
            assert isinstance(failures["hang"], TaskTimeout)
            assert type(failures["own"]) is TimeoutError
            records = {r.key: r for r in rt.call(lambda s: s.tasks(handle.id))}
            assert records["hang"].error_code == "TaskTimeout"
            assert records["flaky"].error_code == ""

    asyncio.run(main())
    assert cancelled == ["hang"] * 3
    assert tries == {"hang": 3, "flaky": 3, "own": 3}


# ---------------------------------------------------------------------- refusals


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"task_retries": 3}, "task_retries must be a Retry, got int"),
        ({"task_retries": Retry(attempts=0)}, "task_retries.attempts must be 1..1000, got 0"),
        (
            {"task_retries": Retry(on=("X",))},
            "task_retries.on must be empty (every task failure retries), got ('X',)",
        ),
        ({"task_timeout": 0}, "task_timeout must be a finite number > 0, got 0"),
        ({"task_timeout": "1"}, "task_timeout must be a number, got str"),
        ({"task_timeout": float("inf")}, "task_timeout must be a finite number > 0, got inf"),
    ],
)
def test_bad_task_retries_or_timeout_are_refused_and_nothing_is_submitted(
    kwargs: dict[str, object], message: str
) -> None:
    with ThreadRuntime(max_workers=1) as rt:
        before = rt.call(fingerprint)
        with pytest.raises(ValidationError) as info:
            rt.submit(str.upper, tasks=1, **kwargs)  # type: ignore[call-overload]
        assert str(info.value) == message
        assert rt.call(fingerprint) == before


@pytest.mark.parametrize("field", ["task_retries", "task_timeout"])
def test_task_retries_and_timeouts_need_a_task_function(field: str) -> None:
    def job(ctx: JobContext) -> None:
        pass

    value: object = QUICK if field == "task_retries" else 1.0
    with ThreadRuntime(max_workers=1) as rt:
        before = rt.call(fingerprint)
        with pytest.raises(ValidationError) as info:
            rt.submit(job=job, **{field: value})  # type: ignore[call-overload]
        assert str(info.value) == f"{field} needs a task function"
        assert rt.call(fingerprint) == before
