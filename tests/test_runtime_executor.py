"""ExecutorRuntime on real executors: a thread pool, a process pool, and Dask distributed."""

from __future__ import annotations

import multiprocessing
import re
import threading
from collections import Counter
from concurrent.futures import Executor, Future, ProcessPoolExecutor, ThreadPoolExecutor
from typing import Any

import pytest

from jobqueue import (
    Event,
    FailureReason,
    Job,
    JobStatus,
    Scheduler,
    TaskRecorded,
    TaskStatus,
    ValidationError,
)
from jobqueue.runtime import ExecutorRuntime, Progress

pytestmark = [pytest.mark.runtime, pytest.mark.usefixtures("no_thread_left_behind")]

TIMEOUT = 20.0
S = JobStatus


def statuses(job: Job) -> list[JobStatus]:
    return [change.status for change in job.history]


# Module-level, so that process pools and Dask can pickle them.
def square(key: str) -> int:
    return int(key) ** 2


def reject_odd(key: str) -> int:
    if int(key) % 2:
        raise ArithmeticError(f"{key} is odd")
    return int(key)


def whole_job() -> str:
    return "done"


in_process_calls: Counter[str] = Counter()


def counted_square(key: str) -> int:
    """``square``, counting its calls (visible only for executors in this process)."""
    in_process_calls[key] += 1
    return int(key) ** 2


class Gate:
    """Tasks that block until released, counting how many started."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.started: list[str] = []
        self.open = threading.Event()
        self.first = threading.Event()

    def task(self, key: str) -> None:
        with self.lock:
            self.started.append(key)
        self.first.set()
        assert self.open.wait(TIMEOUT)


def test_tasks_run_on_the_executor_and_results_reach_on_result() -> None:
    results: dict[str, object] = {}
    with ThreadPoolExecutor(3) as pool, ExecutorRuntime(pool, concurrency=2) as rt:
        job = rt.submit(square, tasks=10, on_result=results.__setitem__)
        done = rt.wait(job.id, TIMEOUT)
    assert (done.status, done.tasks_succeeded) == (S.COMPLETE, 10)
    assert results == {str(i): i * i for i in range(10)}


def test_a_raising_call_is_a_failed_task_and_a_raising_on_result_too() -> None:
    def keep_small(key: str, value: Any) -> None:
        if value > 4:
            raise OverflowError(f"{value} is too big")

    with ThreadPoolExecutor(2) as pool, ExecutorRuntime(pool) as rt:
        job = rt.submit(reject_odd, tasks=8, on_result=keep_small)
        done = rt.wait(job.id, TIMEOUT)
        records = {r.key: r for r in rt.call(lambda s: s.tasks(job.id))}
    assert done.status is S.COMPLETE
    assert (records["3"].error_code, records["3"].message) == ("ArithmeticError", "3 is odd")
    assert (records["6"].error_code, records["6"].message) == ("OverflowError", "6 is too big")
    assert {k for k, r in records.items() if r.status is TaskStatus.SUCCEEDED} == {"0", "2", "4"}


def test_a_job_function_is_called_without_arguments() -> None:
    def broken() -> None:
        raise LookupError("no input")

    with ThreadPoolExecutor(2) as pool, ExecutorRuntime(pool) as rt:
        ok = rt.submit(job=whole_job)
        bad = rt.submit(job=broken)
        assert rt.wait(ok.id, TIMEOUT).status is S.COMPLETE
        failed = rt.wait(bad.id, TIMEOUT)
    assert failed.failure_reasons == (FailureReason("HandlerError", "LookupError: no input"),)


def test_outcomes_are_never_reported_on_the_executors_threads() -> None:
    threads: set[str] = set()

    def on_event(event: Event) -> None:
        if isinstance(event, TaskRecorded):
            threads.add(threading.current_thread().name)

    with (
        ThreadPoolExecutor(2, thread_name_prefix="pool") as pool,
        ExecutorRuntime(pool, thread_name_prefix="rt") as rt,
    ):
        rt.subscribe(on_event)
        rt.wait(rt.submit(square, tasks=20).id, TIMEOUT)
    assert "rt-driver" in threads
    assert not any(name.startswith("pool") for name in threads)


def test_pausing_cancels_calls_not_yet_started_and_gives_their_keys_back() -> None:
    sched = Scheduler()
    sched.create_queue("q", slots=1, policy="priority", preemption=True, deferred_share=1.0)
    gate = Gate()
    with ThreadPoolExecutor(1) as pool, ExecutorRuntime(pool, sched, concurrency=3) as rt:
        low = rt.submit(gate.task, tasks=6, queue="q")
        assert gate.first.wait(TIMEOUT)  # "0" runs; "1" and "2" wait in the pool's queue
        high = rt.submit(square, tasks=2, queue="q", priority=5)
        assert rt.get(low.id).status is S.PAUSING
        gate.open.set()
        low_done = rt.wait(low.id, TIMEOUT)
        assert rt.wait(high.id, TIMEOUT).status is S.COMPLETE
    assert S.PAUSED in statuses(low_done)
    assert low_done.tasks_succeeded == 6
    assert sorted(gate.started) == [str(i) for i in range(6)]  # each once: none lost or rerun


def test_cancel_cancels_calls_not_yet_started() -> None:
    gate = Gate()
    with ThreadPoolExecutor(1) as pool, ExecutorRuntime(pool, concurrency=3) as rt:
        job = rt.submit(gate.task, tasks=6)
        assert gate.first.wait(TIMEOUT)
        assert rt.cancel(job.id).status is S.CANCELLING
        gate.open.set()
        done = rt.wait(job.id, TIMEOUT)
    assert gate.started == ["0"]
    assert (done.status, done.tasks_succeeded) == (S.CANCELLED, 1)


def test_an_executor_that_refuses_work_fails_the_job() -> None:
    pool = ThreadPoolExecutor(1)
    pool.shutdown()
    with ExecutorRuntime(pool) as rt:
        done = rt.wait(rt.submit(square, tasks=3).id, TIMEOUT)
    assert done.status is S.FAILED
    assert done.failure_reasons == (
        FailureReason(
            "HandlerError",
            "cannot start work: RuntimeError: cannot schedule new futures after shutdown",
        ),
    )


def test_only_executors_are_accepted() -> None:
    with pytest.raises(ValidationError) as info:
        ExecutorRuntime(object())  # type: ignore[arg-type]
    assert str(info.value) == "executor must be a concurrent.futures.Executor, got object"


def test_a_process_pool_runs_module_level_functions() -> None:
    results: dict[str, object] = {}
    # fork starts in milliseconds; elsewhere the platform's default method is used.
    method = "fork" if "fork" in multiprocessing.get_all_start_methods() else None
    context = multiprocessing.get_context(method)
    with ProcessPoolExecutor(2, mp_context=context) as pool, ExecutorRuntime(pool) as rt:
        squares = rt.submit(square, tasks=12, on_result=results.__setitem__)
        odd = rt.submit(reject_odd, tasks=4, report="failed")
        assert rt.wait(squares.id, TIMEOUT).status is S.COMPLETE
        odd_done = rt.wait(odd.id, TIMEOUT)
        report = rt.call(lambda s: s.report(odd.id))
    assert results == {str(i): i * i for i in range(12)}
    assert odd_done.tasks_failed == 2
    assert report is not None
    assert [(r.key, r.error_code) for r in report.records] in (
        [("1", "ArithmeticError"), ("3", "ArithmeticError")],
        [("3", "ArithmeticError"), ("1", "ArithmeticError")],
    )


class CountingExecutor(Executor):
    """A thread pool that counts submissions, to show the runtime works with any Executor."""

    def __init__(self) -> None:
        self.pool = ThreadPoolExecutor(2)
        self.submitted = 0

    def submit(self, fn: Any, /, *args: Any, **kwargs: Any) -> Future[Any]:
        self.submitted += 1
        return self.pool.submit(fn, *args, **kwargs)

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        self.pool.shutdown(wait, cancel_futures=cancel_futures)


def test_any_executor_subclass_works() -> None:
    executor = CountingExecutor()
    with executor, ExecutorRuntime(executor) as rt:
        rt.wait(rt.submit(square, tasks=7).id, TIMEOUT)
        rt.wait(rt.submit(job=whole_job).id, TIMEOUT)
    assert executor.submitted == 8  # one call per task, one for the job function


def test_calls_of_other_executors_are_left_to_finish_when_a_job_pauses() -> None:
    sched = Scheduler()
    sched.create_queue("q", slots=1, policy="priority", preemption=True, deferred_share=1.0)
    gate = Gate()
    executor = CountingExecutor()
    executor.pool = ThreadPoolExecutor(1)
    with executor, ExecutorRuntime(executor, sched, concurrency=3) as rt:
        low = rt.submit(gate.task, tasks=6, queue="q")
        assert gate.first.wait(TIMEOUT)
        rt.submit(square, tasks=2, queue="q", priority=5)
        gate.open.set()
        low_done = rt.wait(low.id, TIMEOUT)
    # "1" and "2" were queued when the pause came; they ran before the job paused.
    assert statuses(low_done)[3:6] == [S.ACTIVE, S.PAUSING, S.PAUSED]
    assert sorted(gate.started[:3]) == ["0", "1", "2"]
    assert sorted(gate.started) == [str(i) for i in range(6)]


def test_dask_local_cluster_runs_jobs_with_progress_and_preemption() -> None:
    distributed = pytest.importorskip("distributed")
    progress: list[Progress] = []
    results: dict[str, object] = {}
    sched = Scheduler()
    sched.create_queue("q", slots=1, policy="priority", preemption=True, deferred_share=1.0)
    with (
        distributed.LocalCluster(
            n_workers=1, threads_per_worker=2, processes=False, dashboard_address=":0"
        ) as cluster,
        distributed.Client(cluster) as client,
    ):
        executor = client.get_executor(pure=False)
        with ExecutorRuntime(executor, sched, concurrency=2, progress_rate=None) as rt:
            rt.subscribe(lambda e: progress.append(e) if isinstance(e, Progress) else None)
            low = rt.submit(counted_square, tasks=40, queue="q", on_result=results.__setitem__)
            high = rt.submit(reject_odd, tasks=6, queue="q", priority=9)
            whole = rt.submit(job=whole_job)
            low_done = rt.wait(low.id, TIMEOUT)
            high_done = rt.wait(high.id, TIMEOUT)
            assert rt.wait(whole.id, TIMEOUT).status is S.COMPLETE
            rt.call(lambda s: s.check_invariants())
    assert (low_done.status, low_done.tasks_succeeded) == (S.COMPLETE, 40)
    assert results == {str(i): i * i for i in range(40)}
    assert in_process_calls == Counter(str(i) for i in range(40))  # none ran twice
    assert (high_done.status, high_done.tasks_failed) == (S.COMPLETE, 3)
    low_progress = [p.fraction for p in progress if p.job_id == low.id]
    assert low_progress[-1] == 1.0 and len(low_progress) == 40


def test_rate_limit_is_validated() -> None:
    with (
        ThreadPoolExecutor(1) as pool,
        pytest.raises(
            ValidationError, match=re.escape("progress_rate must be a finite number > 0, got -1")
        ),
    ):
        ExecutorRuntime(pool, progress_rate=-1)
