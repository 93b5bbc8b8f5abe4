"""What a runtime shows its users: its methods, the threads their callbacks run on, its logs.

Every wait has a timeout.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from concurrent.futures import Future, ThreadPoolExecutor

import pytest

import jobqueue.runtime
from jobqueue.runtime import AsyncioRuntime, ExecutorRuntime, JobContext, ThreadRuntime

pytestmark = [pytest.mark.runtime, pytest.mark.usefixtures("no_thread_left_behind")]

TIMEOUT = 10.0

USER_CALLS = {
    "call",
    "cancel",
    "concurrency",
    "confirm",
    "get",
    "pause_queue",
    "resume_queue",
    "scheduler",
    "shutdown",
    "submit",
    "subscribe",
    "update_priority",
    "wait",
}


def public(cls: type) -> set[str]:
    return {name for name in dir(cls) if not name.startswith("_")}


def test_runtimes_show_only_what_a_user_calls() -> None:
    assert public(ThreadRuntime) == USER_CALLS
    assert public(ExecutorRuntime) == USER_CALLS | {"executor"}
    assert public(AsyncioRuntime) == USER_CALLS | {"start"}


def test_the_backend_hooks_are_not_reachable_on_a_runtime() -> None:
    with ThreadRuntime(max_workers=1) as rt:
        for hook in ("launch_lane", "launch_job", "cancel_lane", "cancel_job", "unparked"):
            assert not hasattr(rt, hook), hook
        assert not hasattr(rt, "changed")


# ---------------------------------------------------------------------- callback threads


def test_on_result_and_done_callbacks_run_on_the_driver_thread_of_a_thread_runtime() -> None:
    seen: dict[str, set[str]] = {"on_result": set(), "done": set(), "late": set()}
    finished = threading.Event()

    def note(what: str, event: threading.Event | None = None) -> None:
        seen[what].add(threading.current_thread().name)
        if event is not None:
            event.set()

    with ThreadRuntime(max_workers=3, thread_name_prefix="rt") as rt:
        handle = rt.submit(
            str.upper, tasks=30, concurrency=3, on_result=lambda k, v: note("on_result")
        )
        handle.add_done_callback(lambda f: note("done", finished))
        handle.result(TIMEOUT)
        assert finished.wait(TIMEOUT)
        late = threading.Event()
        handle.add_done_callback(lambda f: note("late", late))  # already done
        assert late.wait(TIMEOUT)
    assert seen == {"on_result": {"rt-driver"}, "done": {"rt-driver"}, "late": {"rt-driver"}}


def test_on_result_of_an_executor_runtime_never_runs_on_a_callers_thread() -> None:
    ran_on: set[str] = set()
    caller = threading.current_thread().name
    with (
        ThreadPoolExecutor(2, thread_name_prefix="pool") as pool,
        ExecutorRuntime(pool, concurrency=2, thread_name_prefix="ex") as rt,
    ):
        handle = rt.submit(
            str.upper,
            tasks=200,
            on_result=lambda k, v: ran_on.add(threading.current_thread().name),
        )
        while not handle.done():  # a caller busy with the runtime, as in a get() loop
            rt.get(handle.id)
        assert len(handle.result(TIMEOUT)) == 200
    assert ran_on == {"ex-driver"}
    assert caller not in ran_on


def test_a_slow_on_result_does_not_hold_the_runtime() -> None:
    # on_result runs outside the runtime's lock: a caller that holds its own lock
    # while calling the runtime cannot deadlock against it.
    mine = threading.Lock()
    inside = threading.Event()

    def on_result(key: str, value: object) -> None:
        inside.set()
        with mine:
            pass

    with ThreadRuntime(max_workers=2) as rt:
        with mine:
            handle = rt.submit(str.upper, tasks=["a", "b"], on_result=on_result)
            assert inside.wait(TIMEOUT)
            assert rt.get(handle.id).id == handle.id  # the runtime answers meanwhile
        handle.result(TIMEOUT)


def test_asyncio_callbacks_run_on_the_loop() -> None:
    threads: set[int] = set()

    async def task(key: str) -> str:
        return key

    async def main() -> int:
        async with AsyncioRuntime() as rt:
            handle = rt.submit(
                task, tasks=5, on_result=lambda k, v: threads.add(threading.get_ident())
            )
            done: Future[None] = Future()

            def callback(future: object) -> None:
                threads.add(threading.get_ident())
                done.set_result(None)

            handle.add_done_callback(callback)
            await handle
            await asyncio.sleep(0)
            assert done.done()
            return threading.get_ident()

    loop_thread = asyncio.run(main())
    assert threads == {loop_thread}


# ---------------------------------------------------------------------- logging


def test_the_runtime_logs_failures_with_their_tracebacks_and_lifecycle_at_debug(
    caplog: pytest.LogCaptureFixture,
) -> None:
    def task(key: str) -> None:
        if key == "bad":
            raise ValueError("no good")

    def broken(ctx: JobContext) -> None:
        raise RuntimeError("boom")

    with (
        caplog.at_level(logging.DEBUG, logger="jobqueue.runtime"),
        ThreadRuntime(max_workers=1) as rt,
    ):
        rt.submit(task, tasks=["ok", "bad"], allow_task_failures=True).result(TIMEOUT)
        failed = rt.submit(job=broken)
        failed.exception(TIMEOUT)
    records = [(r.name, r.levelno, r.getMessage()) for r in caplog.records]
    assert (
        "jobqueue.runtime.tasks",
        logging.WARNING,
        "task 'bad' of job 'job-1' failed: ValueError: no good",
    ) in records
    assert ("jobqueue.runtime", logging.ERROR, "job 'job-2' failed: RuntimeError: boom") in records
    assert ("jobqueue.runtime", logging.DEBUG, "job 'job-1' submitted: Active") in records
    assert ("jobqueue.runtime", logging.DEBUG, "job 'job-1' finished: Complete") in records
    by_message = {r.getMessage(): r for r in caplog.records}
    task_exc = by_message["task 'bad' of job 'job-1' failed: ValueError: no good"].exc_info
    job_exc = by_message["job 'job-2' failed: RuntimeError: boom"].exc_info
    assert task_exc is not None and isinstance(task_exc[1], ValueError)
    assert job_exc is not None and isinstance(job_exc[1], RuntimeError)


def test_the_library_installs_only_a_null_handler() -> None:
    assert jobqueue.runtime is not None
    handlers = logging.getLogger("jobqueue.runtime").handlers
    assert [type(h) for h in handlers] == [logging.NullHandler]
    assert logging.getLogger("jobqueue.runtime.tasks").handlers == []
