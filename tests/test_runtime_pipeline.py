"""ExecutorRuntime on a thread pool: pipelined lanes, whose calls chain with keys taken ahead."""

from __future__ import annotations

import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor

import pytest

from jobqueue import FailureReason, JobStatus, Retry, Scheduler
from jobqueue.runtime import ExecutorRuntime

pytestmark = [pytest.mark.runtime, pytest.mark.usefixtures("no_thread_left_behind")]

TIMEOUT = 20.0
S = JobStatus


def preemptive_queue() -> Scheduler:
    sched = Scheduler()
    sched.create_queue("q", slots=1, policy="priority", preemption=True, deferred_share=1.0)
    return sched


def test_a_pausing_job_chains_no_further_call_and_keeps_its_keys() -> None:
    sched = preemptive_queue()
    started: list[str] = []
    gate = threading.Event()
    seen_by_high: list[list[str]] = []

    def task(key: str) -> None:
        started.append(key)
        assert gate.wait(TIMEOUT)

    with ThreadPoolExecutor(2) as pool, ExecutorRuntime(pool, sched, concurrency=1) as rt:
        low = rt.submit(task, tasks=10, queue="q")
        while not started:  # "0" runs; its lane holds keys ahead
            time.sleep(0.001)
        high = rt.submit(
            lambda key: seen_by_high.append(list(started)), tasks=1, queue="q", priority=5
        )
        assert rt.get(low.id).status is S.PAUSING
        gate.set()  # "0" ends while its job is pausing: no call for a key held ahead
        assert rt.wait(high.id, TIMEOUT).status is S.COMPLETE
        done = rt.wait(low.id, TIMEOUT)
    assert seen_by_high == [["0"]]  # the high job ran while low was Paused, after "0" alone
    assert S.PAUSED in [change.status for change in done.history]
    assert sorted(started, key=int) == [str(i) for i in range(10)]  # each once, none lost
    assert (done.status, done.tasks_succeeded) == (S.COMPLETE, 10)


def test_keys_held_ahead_go_to_a_lane_that_found_none_left() -> None:
    # Two lanes, four keys: one lane holds the last two ahead. Each pair of
    # tasks must run at the same time (a barrier of two): the lane that runs
    # out takes a key the other holds, or the last task waits alone.
    barrier = threading.Barrier(2)

    def task(key: str) -> None:
        barrier.wait(TIMEOUT / 4)

    with ThreadPoolExecutor(2) as pool, ExecutorRuntime(pool, concurrency=2) as rt:
        done = rt.wait(rt.submit(task, tasks=4).id, TIMEOUT)
    assert (done.status, done.tasks_succeeded, done.tasks_failed) == (S.COMPLETE, 4, 0)


def test_a_pool_shut_down_between_a_lanes_calls_fails_the_job_and_runs_no_more() -> None:
    pool = ThreadPoolExecutor(1)
    calls: list[str] = []

    def task(key: str) -> None:
        calls.append(key)
        if key == "0":
            pool.shutdown(wait=False)  # the lane's next call is refused

    with ExecutorRuntime(pool, concurrency=1) as rt:
        done = rt.wait(rt.submit(task, tasks=5).id, TIMEOUT)
    pool.shutdown()
    assert calls == ["0"]
    assert (done.status, done.tasks_succeeded) == (S.FAILED, 1)
    assert done.failure_reasons == (
        FailureReason(
            "HandlerError",
            "cannot start work: RuntimeError: cannot schedule new futures after shutdown",
        ),
    )


def test_every_key_runs_once_through_repeated_preemption() -> None:
    sched = preemptive_queue()
    calls: Counter[str] = Counter()
    lock = threading.Lock()

    def task(key: str) -> None:
        with lock:
            calls[key] += 1
        time.sleep(0.0002)

    with ThreadPoolExecutor(3) as pool, ExecutorRuntime(pool, sched, concurrency=3) as rt:
        low = rt.submit(task, tasks=300, queue="q")
        highs = []
        for _ in range(10):
            highs.append(rt.submit(lambda key: None, tasks=1, queue="q", priority=5))
            time.sleep(0.003)
        for high in highs:
            assert rt.wait(high.id, TIMEOUT).status is S.COMPLETE
        done = rt.wait(low.id, TIMEOUT)
    assert calls == Counter({str(i): 1 for i in range(300)})
    assert (done.status, done.tasks_succeeded) == (S.COMPLETE, 300)


def test_results_and_retries_work_on_pipelined_lanes() -> None:
    failed_once: set[str] = set()
    results: list[tuple[str, int]] = []

    def task(key: str) -> int:
        if int(key) % 3 == 0 and key not in failed_once:
            failed_once.add(key)
            raise ValueError(key)
        return int(key) * 2

    with ThreadPoolExecutor(2) as pool, ExecutorRuntime(pool, concurrency=2) as rt:
        handle = rt.submit(
            task,
            tasks=30,
            on_result=lambda key, value: results.append((key, value)),
            task_retries=Retry(attempts=2, backoff=0.001),
        )
        mapping = handle.result(TIMEOUT)
    assert dict(mapping) == {str(i): i * 2 for i in range(30)}
    assert sorted(results, key=lambda r: int(r[0])) == [(str(i), i * 2) for i in range(30)]
    assert failed_once == {str(i) for i in range(0, 30, 3)}
