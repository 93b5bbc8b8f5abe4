"""A runtime taking over a scheduler that already has jobs: one recovered from a store.

The state before the crash is built on the core by hand (a job's work lives
in the runtime, not in the store); the crash is a copy of the store, opened
by a second scheduler, as in ``test_store.py``. Every wait has a timeout.
"""

from __future__ import annotations

import asyncio
import re
import sys
import threading
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import pytest
from helpers import fingerprint, kill_crash_child

from jobqueue import ConflictError, Job, JobStatus, Scheduler, ValidationError
from jobqueue.runtime import AsyncioRuntime, ExecutorRuntime, Handler, ThreadRuntime
from jobqueue.store import MemoryStore, SQLiteStore

pytestmark = [pytest.mark.runtime, pytest.mark.usefixtures("no_thread_left_behind")]

TIMEOUT = 10.0
S = JobStatus


def crashed() -> Scheduler:
    """A scheduler recovered after a crash with work at every stage.

    One slot. ``tasks`` (keys a-d, a succeeded and b failed before the crash)
    was running: recovery pauses it and starts it again at once. ``later``
    (keys x, y) and ``whole`` (no tasks) wait behind it.
    """
    store = MemoryStore()
    sched = Scheduler.open(store)
    sched.update_queue("default", slots=1)
    running = sched.submit(name="tasks", tasks=["a", "b", "c", "d"])
    sched.record_task(running.id, "a", ok=True)
    sched.record_task(running.id, "b", ok=False, error_code="Boom")
    sched.submit(name="later", tasks=["x", "y"])
    sched.submit(name="whole")
    return Scheduler.open(store.copy())


class Calls:
    """Thread-safe count of task calls, by job name and key."""

    def __init__(self) -> None:
        self.counts: Counter[tuple[str, str]] = Counter()
        self._lock = threading.Lock()

    def task(self, name: str) -> Callable[[str], None]:
        def run(key: str) -> None:
            with self._lock:
                self.counts[name, key] += 1

        return run


def by_name(calls: Calls, whole: Callable[..., object]) -> Callable[[Job], Handler | None]:
    def work_for(job: Job) -> Handler | None:
        if job.name == "whole":
            return Handler(job=whole)
        assert job.name is not None
        return Handler(task=calls.task(job.name))

    return work_for


def test_a_thread_runtime_finishes_the_work_of_a_recovered_scheduler() -> None:
    sched = crashed()
    by = {job.name: job for job in map(sched.get, ("job-1", "job-2", "job-3"))}
    assert [by[n].status for n in ("tasks", "later", "whole")] == [S.ACTIVE, S.READY, S.READY]
    calls = Calls()
    ran: list[str] = []
    with ThreadRuntime(sched, max_workers=2, work_for=by_name(calls, ran.append)) as runtime:
        done = {name: runtime.wait(job.id, timeout=TIMEOUT) for name, job in by.items()}
    # The tasks recorded before the crash are not run again; the rest run once.
    assert calls.counts == Counter(
        {("tasks", "c"): 1, ("tasks", "d"): 1, ("later", "x"): 1, ("later", "y"): 1}
    )
    assert len(ran) == 1
    assert [done[n].status for n in ("tasks", "later", "whole")] == [S.COMPLETE] * 3
    tasks = done["tasks"]
    assert (tasks.tasks_succeeded, tasks.tasks_failed, tasks.progress) == (3, 1, 1.0)
    keys = [r.key for r in sched.tasks(tasks.id)]
    # Two workers run c and d at once: they may finish in either order.
    assert keys[:2] == ["a", "b"] and sorted(keys[2:]) == ["c", "d"]
    sched.check_invariants()


def test_an_executor_runtime_takes_over_too() -> None:
    from concurrent.futures import ThreadPoolExecutor

    sched = crashed()
    calls = Calls()
    ran: list[str] = []
    with ThreadPoolExecutor(2) as pool:
        # An executor calls a job function with no argument.
        work_for = by_name(calls, lambda: ran.append("whole"))
        with ExecutorRuntime(pool, sched, work_for=work_for) as runtime:
            finals = [runtime.wait(f"job-{i}", timeout=TIMEOUT) for i in (1, 2, 3)]
    assert sum(calls.counts.values()) == 4 and len(ran) == 1
    assert [job.tasks_succeeded for job in finals] == [3, 2, 0]


def test_an_asyncio_runtime_starts_the_work_it_takes_over_with_the_loop() -> None:
    sched = crashed()
    counts: Counter[str] = Counter()

    async def task(key: str) -> None:
        counts[key] += 1

    async def whole(context: object) -> None:
        counts["whole"] += 1

    def work_for(job: Job) -> Handler:
        return Handler(job=whole) if job.name == "whole" else Handler(task=task)

    runtime = AsyncioRuntime(sched, work_for=work_for)

    async def scenario() -> list[Job]:
        async with runtime:
            return [await runtime.wait(f"job-{i}", timeout=TIMEOUT) for i in (1, 2, 3)]

    finals = asyncio.run(scenario())
    assert [job.status for job in finals] == [S.COMPLETE] * 3
    assert counts == Counter({"c": 1, "d": 1, "x": 1, "y": 1, "whole": 1})


def test_work_for_returning_none_for_jobs_that_need_work_takes_nothing_over() -> None:
    sched = crashed()
    before = fingerprint(sched)
    calls = Calls()

    def work_for(job: Job) -> Handler | None:
        return Handler(task=calls.task("later")) if job.name == "later" else None

    with pytest.raises(ValidationError) as info:
        ThreadRuntime(sched, max_workers=2, work_for=work_for)
    assert str(info.value) == (
        "work_for returned None for 2 unfinished jobs that need work: 'job-1', 'job-3'; "
        "return a Handler for each, or cancel them first"
    )
    # Nothing failed, nothing ran, nothing was adopted: the jobs wait for proper work.
    assert fingerprint(sched) == before
    assert calls.counts == Counter()
    assert not sched.acknowledge
    with ThreadRuntime(sched, max_workers=2, work_for=by_name(calls, lambda ctx: None)) as rt:
        finals = [rt.wait(f"job-{i}", timeout=TIMEOUT) for i in (1, 2, 3)]
    assert [job.status for job in finals] == [S.COMPLETE] * 3


def test_jobs_being_cancelled_or_failed_with_no_work_finish_so() -> None:
    sched = Scheduler(acknowledge=True, failure_threshold_tasks=1)
    sched.update_queue("default", slots=2, deferred_share=1.0)
    cancelling = sched.cancel(sched.submit().id)
    # Past the task-failure threshold: Failing until its work has stopped.
    failing = sched.record_task(sched.submit(tasks=["t"]).id, "t", ok=False)
    assert (cancelling.status, failing.status) == (S.CANCELLING, S.FAILING)
    with ThreadRuntime(sched, max_workers=1, work_for=lambda job: None) as runtime:
        assert runtime.wait(cancelling.id, timeout=TIMEOUT).status is S.CANCELLED
        assert runtime.wait(failing.id, timeout=TIMEOUT).status is S.FAILED


@pytest.mark.parametrize(
    ("work_for", "message"),
    [
        (42, "work_for must be callable, got int"),
        (
            lambda job: "a function",
            "work_for must return a Handler or None, got str for job 'job-1'",
        ),
        (lambda job: Handler(), "the Handler for job 'job-1' needs exactly one of task or job"),
        (
            lambda job: Handler(task=print) if job.name == "whole" else Handler(job=print),
            "job 'job-3' has no tasks: its Handler needs a job function, not a task one",
        ),
        (
            lambda job: Handler(job=print, on_result=print),
            "the Handler for job 'job-1': on_result needs a task function",
        ),
        (
            lambda job: Handler(task=print, concurrency=0) if job.tasks_total else None,
            "the Handler for job 'job-1': concurrency must be >= 1, got 0",
        ),
    ],
)
def test_a_bad_handler_takes_nothing_over(work_for: object, message: str) -> None:
    sched = crashed()
    before = fingerprint(sched)
    with pytest.raises(ValidationError, match=re.escape(message)):
        ThreadRuntime(sched, max_workers=1, work_for=work_for)  # type: ignore[arg-type]
    assert fingerprint(sched) == before
    assert not sched.acknowledge
    # Nothing was adopted: a runtime can still take it over.
    calls = Calls()
    with ThreadRuntime(sched, max_workers=2, work_for=by_name(calls, lambda context: None)) as rt:
        assert rt.wait("job-3", timeout=TIMEOUT).status is S.COMPLETE


def test_without_work_for_a_scheduler_with_running_work_is_refused() -> None:
    sched = crashed()
    with pytest.raises(ConflictError, match=re.escape("or take its jobs over with work_for=")):
        ThreadRuntime(sched, max_workers=1)


@pytest.mark.slow  # a child process killed mid-job
@pytest.mark.skipif(sys.platform == "win32", reason="needs SIGKILL")
def test_work_killed_mid_job_carries_on_in_the_next_process(tmp_path: Path) -> None:
    path = tmp_path / "jobs.db"
    job_id = kill_crash_child(path, timeout=TIMEOUT)
    with SQLiteStore(path) as store:
        sched = Scheduler.open(store)
        before = [r.key for r in sched.tasks(job_id)]
        # One task at a time, in order: what was recorded is a prefix, without "50".
        assert before == [str(i) for i in range(len(before))] and len(before) <= 50
        ran: list[str] = []
        with ThreadRuntime(sched, max_workers=1, work_for=lambda job: Handler(task=ran.append)):
            pass  # leaving the block waits for the work to finish
        assert ran == [str(i) for i in range(len(before), 100)]
        done = sched.get(job_id)
        assert (done.status, done.tasks_succeeded) == (S.COMPLETE, 100)
        assert [r.key for r in sched.tasks(job_id)] == [str(i) for i in range(100)]
