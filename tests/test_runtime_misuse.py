"""No silent misuse: work a runtime cannot run is refused, or fails loudly.

Every wait has a timeout.
"""

from __future__ import annotations

import asyncio
import functools
import re
import textwrap
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from helpers import fingerprint

import jobqueue
from jobqueue import JobStatus, ManualClock, Scheduler, ValidationError
from jobqueue.runtime import (
    AsyncioRuntime,
    AsyncJobContext,
    ExecutorRuntime,
    TaskFailures,
    ThreadRuntime,
)

pytestmark = [pytest.mark.runtime, pytest.mark.usefixtures("no_thread_left_behind")]

TIMEOUT = 10.0
S = JobStatus


async def fetch(key: str) -> str:
    return key


async def whole(ctx: AsyncJobContext) -> None:
    return None


class AsyncCallable:
    async def __call__(self, key: str) -> str:
        return key


# ---------------------------------------------------------------------- coroutines on threads


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        (
            {"task": fetch, "tasks": 2},
            "task must be a plain function on ThreadRuntime, got coroutine function 'fetch': "
            "use AsyncioRuntime for async work",
        ),
        (
            {"job": whole},
            "job must be a plain function on ThreadRuntime, got coroutine function 'whole': "
            "use AsyncioRuntime for async work",
        ),
        (
            {"task": functools.partial(fetch), "tasks": 2},
            "task must be a plain function on ThreadRuntime, got coroutine function 'partial': "
            "use AsyncioRuntime for async work",
        ),
        (
            {"task": AsyncCallable(), "tasks": 2},
            "task must be a plain function on ThreadRuntime, got coroutine function "
            "'AsyncCallable': use AsyncioRuntime for async work",
        ),
        (
            {"task": str.upper, "tasks": 2, "on_result": fetch},
            "on_result must be a plain function, got coroutine function 'fetch'",
        ),
    ],
)
def test_a_thread_runtime_refuses_coroutine_functions_at_submit(
    kwargs: dict[str, object], message: str
) -> None:
    with ThreadRuntime(max_workers=1) as rt:
        before = rt.call(fingerprint)
        with pytest.raises(ValidationError) as info:
            rt.submit(**kwargs)  # type: ignore[call-overload]
        assert str(info.value) == message
        assert rt.call(fingerprint) == before


def test_an_executor_runtime_refuses_coroutine_functions_at_submit() -> None:
    with ThreadPoolExecutor(1) as pool, ExecutorRuntime(pool) as rt:
        with pytest.raises(ValidationError, match=re.escape("on ExecutorRuntime, got corou")):
            rt.submit(fetch, tasks=1)
        assert rt.call(lambda s: len(s)) == 0


def test_a_function_returning_a_coroutine_on_threads_is_a_failed_task_not_a_success() -> None:
    with ThreadRuntime(max_workers=1) as rt:
        handle = rt.submit(lambda key: fetch(key), tasks=["a"])
        with pytest.raises(TaskFailures) as info:
            handle.result(TIMEOUT)
        (error,) = info.value.exceptions
        assert isinstance(error, TypeError)
        assert str(error) == (
            "the function returned a coroutine (fetch) that a thread cannot run: "
            "use AsyncioRuntime for async work"
        )
        assert handle.job().tasks_failed == 1


# ---------------------------------------------------------------------- plain functions on asyncio


def test_asyncio_runs_a_plain_function_in_a_worker_thread() -> None:
    ran_on: list[int] = []

    def blocking(key: str) -> str:
        ran_on.append(threading.get_ident())
        return key * 2

    def plain_job(ctx: AsyncJobContext) -> str:
        ran_on.append(threading.get_ident())
        ctx.progress(0.5)  # handed to the loop from the worker thread
        return "whole"

    async def main() -> tuple[int, object, object, object]:
        async with AsyncioRuntime() as rt:
            tasks = rt.submit(blocking, tasks=["a", "b"])
            job = rt.submit(job=plain_job)
            lazy = rt.submit(lambda key: fetch(key), tasks=["z"])  # an awaitable comes back
            return threading.get_ident(), dict(await tasks), await job, dict(await lazy)

    loop_thread, tasks, job, lazy = asyncio.run(main())
    assert (tasks, job, lazy) == ({"a": "aa", "b": "bb"}, "whole", {"z": "z"})
    assert len(ran_on) == 3 and loop_thread not in ran_on


# ---------------------------------------------------------------------- virtual time


@pytest.mark.parametrize("make", [ThreadRuntime, AsyncioRuntime, "executor"])
def test_a_runtime_refuses_a_manual_clock(make: object) -> None:
    sched = Scheduler(clock=ManualClock())
    before = fingerprint(sched)
    with pytest.raises(ValidationError) as info:
        if make == "executor":
            with ThreadPoolExecutor(1) as pool:
                ExecutorRuntime(pool, sched)
        else:
            make(sched)  # type: ignore[operator]
    assert str(info.value) == (
        "a runtime needs a real clock, got ManualClock: "
        "run virtual time with jobqueue.sim, or drive the scheduler by hand"
    )
    assert fingerprint(sched) == before
    assert sched.acknowledge is False


# ---------------------------------------------------------------------- the scheduler, directly


def test_the_driven_scheduler_is_safe_to_call_from_any_thread() -> None:
    sched = Scheduler()
    errors: list[BaseException] = []
    with ThreadRuntime(sched, max_workers=4) as rt:
        handles = [rt.submit(lambda key: None, tasks=20, concurrency=2) for _ in range(10)]

        def poke() -> None:
            try:
                for _ in range(50):
                    sched.create_queue("q") if "q" not in [
                        q.name for q in sched.list_queues()
                    ] else None
                    sched.list_jobs(limit=5)
                    sched.update_priority(handles[0].id, 3) if not handles[0].done() else None
                    sched.check_invariants()
            except BaseException as exc:
                errors.append(exc)

        threads = [threading.Thread(target=poke) for _ in range(3)]
        for t in threads:
            t.start()
        direct = sched.submit(confirmation_required=True)  # no error from threading
        assert rt.get(direct.id).status is S.SUSPENDED
        sched.cancel(direct.id)
        for t in threads:
            t.join(TIMEOUT)
        for handle in handles:
            handle.result(TIMEOUT)
    # Only errors of the calls themselves: a queue another thread created first.
    assert all(type(e).__name__ == "ConflictError" for e in errors), errors
    assert type(sched) is Scheduler  # as it was, once the runtime stopped
    sched.check_invariants()


@pytest.mark.slow
def test_mypy_flags_work_of_the_wrong_shape(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    api = pytest.importorskip("mypy.api")
    monkeypatch.setenv("MYPYPATH", str(Path(jobqueue.__file__).parent.parent))
    program = tmp_path / "misuse.py"
    program.write_text(
        textwrap.dedent(
            """
            from jobqueue.runtime import AsyncioRuntime, AsyncJobContext, JobContext, ThreadRuntime

            async def whole(ctx: AsyncJobContext) -> int:
                return 1

            def threaded(ctx: JobContext) -> int:
                return 1

            def use(rt: ThreadRuntime, art: AsyncioRuntime) -> None:
                rt.submit(job=whole)
                art.submit(job=threaded)
                n: int = rt.submit(job=threaded).result()
                s: str = rt.submit(job=threaded).result()
            """
        )
    )
    out, _, status = api.run(
        ["--strict", "--no-incremental", "--cache-dir", str(tmp_path / "cache"), str(program)]
    )
    errors = sorted(int(line.split(":")[1]) for line in out.splitlines() if ": error:" in line)
    assert status == 1
    assert errors == [11, 12, 14], out
