"""What ``submit`` returns: a handle with the job's result, and failures that cannot be missed.

Every wait has a timeout; tasks that must be in flight at a given moment block
on a gate.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import functools
import threading
import traceback
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from jobqueue import FailureReason, JobStatus, Scheduler
from jobqueue.runtime import (
    AsyncioRuntime,
    AsyncJobContext,
    AsyncJobFuture,
    ExecutorRuntime,
    JobContext,
    JobFailed,
    JobFuture,
    RuntimeStateError,
    TaskFailed,
    TaskFailures,
    ThreadRuntime,
)
from jobqueue.runtime._handles import _NO_WAITERS, Kind

pytestmark = [pytest.mark.runtime, pytest.mark.usefixtures("no_thread_left_behind")]

TIMEOUT = 10.0
S = JobStatus


def fail_on(*bad: str) -> Callable[[str], str]:
    def task(key: str) -> str:
        if key in bad:
            raise ValueError(f"bad key {key}")
        return key.upper()

    return task


# ---------------------------------------------------------------------- results


def test_a_job_functions_return_value_is_the_handles_result() -> None:
    with ThreadRuntime(max_workers=2) as rt:
        handle = rt.submit(job=lambda ctx: ctx.job_id + " done")
        assert isinstance(handle, JobFuture)
        assert handle.result(TIMEOUT) == f"{handle.id} done"
        assert handle.job().status is S.COMPLETE
        assert handle.exception() is None


def test_a_task_jobs_result_maps_each_task_to_its_value_read_only() -> None:
    with ThreadRuntime(max_workers=2) as rt:
        result = rt.submit(str.upper, tasks=["a", "b", "c"]).result(TIMEOUT)
    assert isinstance(result, Mapping)
    assert dict(result) == {"a": "A", "b": "B", "c": "C"}
    with pytest.raises(TypeError):
        result["a"] = "x"  # type: ignore[index]


def square(i: int, ctx: JobContext) -> int:
    return i * i


def test_wait_and_as_completed_work_on_many_handles() -> None:
    with ThreadRuntime(max_workers=4) as rt:
        handles = [rt.submit(job=functools.partial(square, i)) for i in range(20)]
        done, pending = concurrent.futures.wait(handles, timeout=TIMEOUT)
        assert (len(done), pending) == (20, set())
        assert sorted(h.result() for h in concurrent.futures.as_completed(handles, TIMEOUT)) == [
            i * i for i in range(20)
        ]


def gated(gate: threading.Event, outcome: object) -> Callable[[JobContext], object]:
    def job(ctx: JobContext) -> object:
        assert gate.wait(TIMEOUT)
        if isinstance(outcome, BaseException):
            raise outcome
        return outcome

    return job


@pytest.mark.parametrize("outcome", [None, 7, KeyError("lost")])
def test_wait_and_as_completed_wake_when_a_pending_handle_resolves(outcome: object) -> None:
    # A handle makes its waiters' list when concurrent.futures first asks
    # for it: a waiter installed on a pending handle must still be woken,
    # for a result (None or not) and for a failure alike.
    gate = threading.Event()
    got: list[int] = []
    with ThreadRuntime(max_workers=2) as rt:
        handle = rt.submit(job=gated(gate, outcome))
        other = rt.submit(job=gated(gate, "other"))

        def wait_for_both() -> None:
            done, _ = concurrent.futures.wait([handle], timeout=TIMEOUT)
            got.append(len(done))
            got.extend(int(f is handle) for f in concurrent.futures.as_completed([handle, other]))

        waiter = threading.Thread(target=wait_for_both)
        waiter.start()
        for _ in range(1000):  # bounded: until the waiter is installed
            if handle._waiters:
                break
            threading.Event().wait(0.001)
        assert handle._waiters and not handle.done()
        gate.set()
        waiter.join(TIMEOUT)
    assert got[0] == 1 and sorted(got[1:]) == [0, 1]
    assert handle._waiters is _NO_WAITERS  # told, so no list is kept
    if isinstance(outcome, BaseException):
        assert isinstance(handle.exception(), JobFailed)
    else:
        assert handle.result() == outcome


def test_an_executor_runtime_returns_values_from_the_executor() -> None:
    with ThreadPoolExecutor(2) as pool, ExecutorRuntime(pool, concurrency=2) as rt:
        assert rt.submit(job=lambda: 42).result(TIMEOUT) == 42
        assert dict(rt.submit(str.upper, tasks=["x", "y"]).result(TIMEOUT)) == {
            "x": "X",
            "y": "Y",
        }


# ---------------------------------------------------------------------- failures


def test_a_failed_job_raises_job_failed_with_the_original_exception_as_cause() -> None:
    def broken(ctx: JobContext) -> None:
        raise KeyError("missing input")

    with ThreadRuntime(max_workers=1) as rt:
        handle = rt.submit(job=broken)
        with pytest.raises(JobFailed) as info:
            handle.result(TIMEOUT)
    error = info.value
    assert str(error) == f"job {handle.id!r} failed: HandlerError: KeyError: 'missing input'"
    assert error.reasons == (FailureReason("HandlerError", "KeyError: 'missing input'"),)
    assert error.job.status is S.FAILED
    assert isinstance(error.__cause__, KeyError)
    # The traceback reaches into the job function.
    frames = traceback.extract_tb(error.__cause__.__traceback__)
    assert frames[-1].name == "broken"


@pytest.mark.parametrize("bad", [["only"], ["a", "b", "c", "d", "e"], ["b", "d"]])
def test_a_complete_job_with_failed_tasks_raises_their_exceptions_by_key(bad: list[str]) -> None:
    keys = ["only"] if bad == ["only"] else ["a", "b", "c", "d", "e"]
    with ThreadRuntime(max_workers=2) as rt:
        handle = rt.submit(fail_on(*bad), tasks=keys, concurrency=1)
        with pytest.raises(TaskFailures) as info:
            handle.result(TIMEOUT)
        assert handle.job().status is S.COMPLETE  # S3's status; the handle tells the truth
    group = info.value
    assert group.keys == tuple(bad)
    assert group.message == f"{len(bad)} of {len(keys)} tasks of job {handle.id!r} failed"
    assert {k: str(e) for k, e in group.failures.items()} == {k: f"bad key {k}" for k in bad}
    assert all(isinstance(e, ValueError) and e.__traceback__ for e in group.exceptions)
    assert dict(group.result) == {k: k.upper() for k in keys if k not in bad}  # type: ignore[call-overload]
    assert [e.__notes__ for e in group.exceptions] == [[f"task {k!r}"] for k in bad]


def test_except_star_picks_task_failures_by_type() -> None:
    caught: list[str] = []
    with ThreadRuntime(max_workers=1) as rt:
        handle = rt.submit(fail_on("a"), tasks=["a", "b"])
        try:
            handle.result(TIMEOUT)
        except* ValueError as group:
            assert isinstance(group, TaskFailures)
            caught.extend(group.keys)
    assert caught == ["a"]


def test_allow_task_failures_returns_the_succeeded_tasks() -> None:
    with ThreadRuntime(max_workers=2) as rt:
        handle = rt.submit(
            fail_on("b"),
            tasks=["a", "b"],
            allow_task_failures=True,
        )
        assert dict(handle.result(TIMEOUT)) == {"a": "A"}


def test_failures_recorded_without_an_exception_are_task_failed() -> None:
    def job_fn(ctx: JobContext) -> str:
        ctx.record_task("a", ok=True)
        ctx.record_task("b", ok=False, error_code="NoSuchKey", message="gone")
        return "returned"

    with ThreadRuntime(max_workers=1) as rt, pytest.raises(TaskFailures) as info:
        rt.submit(job=job_fn, tasks=["a", "b"]).result(TIMEOUT)
    (failed,) = info.value.exceptions
    assert isinstance(failed, TaskFailed)
    assert (failed.key, failed.code, failed.message) == ("b", "NoSuchKey", "gone")
    assert info.value.result == "returned"


def test_a_job_failed_by_the_task_threshold_has_the_task_failures_as_cause() -> None:
    sched = Scheduler(failure_threshold_tasks=4, failure_threshold_ratio=0.5)

    def task(key: str) -> None:
        raise OSError(key)

    with ThreadRuntime(sched, max_workers=1) as rt:
        handle = rt.submit(task, tasks=10, concurrency=1)
        with pytest.raises(JobFailed) as info:
            handle.result(TIMEOUT)
    assert info.value.reasons[-1].code == "TaskFailureThreshold"
    cause = info.value.__cause__
    assert isinstance(cause, TaskFailures)
    assert cause.keys == ("0", "1", "2", "3")


# ---------------------------------------------------------------------- cancel


def test_cancelling_the_handle_cancels_the_job() -> None:
    started = threading.Event()

    def forever(ctx: JobContext) -> None:
        while True:
            ctx.checkpoint()
            started.set()
            threading.Event().wait(0.001)

    with ThreadRuntime(max_workers=1) as rt:
        handle = rt.submit(job=forever)
        assert started.wait(TIMEOUT)
        assert handle.cancel() is True
        with pytest.raises(concurrent.futures.CancelledError):
            handle.result(TIMEOUT)
        assert handle.cancelled()
        assert handle.job().status is S.CANCELLED
        finished = rt.submit(job=lambda ctx: None)
        finished.result(TIMEOUT)
        assert finished.cancel() is False  # already finished
        assert finished.job().status is S.COMPLETE


def test_done_callbacks_of_a_cancelled_handle_run_once_each() -> None:
    calls: list[tuple[str, bool]] = []
    with ThreadRuntime(max_workers=1) as rt:
        handle = rt.submit(job=lambda ctx: None, confirmation_required=True)
        handle.add_done_callback(lambda f: calls.append(("before", f.cancelled())))
        handle.add_done_callback(lambda f: calls.append(("before 2", f.cancelled())))
        assert handle.cancel() is True
        with pytest.raises(concurrent.futures.CancelledError):
            handle.result(TIMEOUT)
        handle.add_done_callback(lambda f: calls.append(("after", f.cancelled())))
    # Those added before run in order; the one added after may run first.
    assert [c for c in calls if c[0] != "after"] == [("before", True), ("before 2", True)]
    assert sorted(calls) == [("after", True), ("before", True), ("before 2", True)]


def test_a_handle_resolves_once() -> None:
    with ThreadRuntime(max_workers=1) as rt:
        handle = rt.submit(job=lambda ctx: None)
        assert handle.result(TIMEOUT) is None
        with pytest.raises(concurrent.futures.InvalidStateError):
            handle._resolve(Kind.RESULT, 1)
        assert handle.result() is None


@pytest.mark.parametrize(
    "call",
    [
        lambda h: h.set_result("forged"),
        lambda h: h.set_exception(ValueError("forged")),
        lambda h: h.set_running_or_notify_cancel(),
    ],
    ids=["set_result", "set_exception", "set_running_or_notify_cancel"],
)
def test_only_its_job_resolves_a_handle(call: Callable[[JobFuture[Any]], object]) -> None:
    # A Future's setters are for whoever runs its work: here, the runtime. A
    # handle set by hand would have stayed pending for nobody, and the job's
    # own result would have found it already finished.
    gate = threading.Event()
    with ThreadRuntime(max_workers=1) as rt:
        handle: JobFuture[Any] = rt.submit(job=lambda ctx: gate.wait(TIMEOUT) and "value")
        with pytest.raises(RuntimeStateError, match="only its job resolves a JobFuture"):
            call(handle)
        assert not handle.done()
        gate.set()
        assert handle.result(TIMEOUT) == "value"


def test_result_and_exception_time_out_on_a_pending_handle() -> None:
    gate = threading.Event()
    with ThreadRuntime(max_workers=1) as rt:
        handle = rt.submit(job=lambda ctx: gate.wait(TIMEOUT))
        with pytest.raises(TimeoutError):
            handle.result(0.01)
        with pytest.raises(TimeoutError):
            handle.exception(0)
        assert not handle.done()
        gate.set()
        assert handle.result(TIMEOUT) is True


def test_a_handle_of_a_job_left_waiting_at_shutdown_raises() -> None:
    rt = ThreadRuntime(max_workers=1)
    held = rt.submit(job=lambda ctx: None, confirmation_required=True)
    rt.shutdown()
    with pytest.raises(RuntimeStateError) as info:
        held.result(TIMEOUT)
    assert str(info.value) == (
        f"the runtime shut down before job {held.id!r} finished (it is Suspended)"
    )


# ---------------------------------------------------------------------- asyncio


def test_asyncio_handles_work_with_gather_wait_and_as_completed() -> None:
    async def square(ctx: AsyncJobContext) -> int:
        await asyncio.sleep(0)
        return int(ctx.job_id.split("-")[1]) ** 2

    async def main() -> tuple[list[int], int, list[int]]:
        async with AsyncioRuntime() as rt:
            handles = [rt.submit(job=square) for _ in range(5)]
            assert all(isinstance(h, AsyncJobFuture) for h in handles)
            gathered = list(await asyncio.gather(*handles))
            done, _ = await asyncio.wait([rt.submit(job=square)], timeout=TIMEOUT)
            (only,) = done
            later = [rt.submit(job=square) for _ in range(3)]
            completed = [await f for f in asyncio.as_completed(later, timeout=TIMEOUT)]
            return gathered, only.result(), sorted(completed)

    gathered, single, completed = asyncio.run(main())
    assert gathered == [1, 4, 9, 16, 25]
    assert single == 36
    assert completed == [49, 64, 81]


def test_asyncio_handles_raise_job_failed_and_task_failures() -> None:
    async def broken(ctx: AsyncJobContext) -> None:
        raise RuntimeError("no")

    async def task(key: str) -> str:
        if key == "b":
            raise ValueError(key)
        return key

    async def main() -> tuple[BaseException | None, BaseException | None, object]:
        async with AsyncioRuntime() as rt:
            failed, partial = rt.submit(job=broken), rt.submit(task, tasks=["a", "b"])
            allowed = rt.submit(task, tasks=["a", "b"], allow_task_failures=True)
            every: list[asyncio.Future[Any]] = [failed, partial, allowed]
            await asyncio.wait(every, timeout=TIMEOUT)
            return failed.exception(), partial.exception(), dict(await allowed)

    failed, partial, allowed = asyncio.run(main())
    assert isinstance(failed, JobFailed) and isinstance(failed.__cause__, RuntimeError)
    assert isinstance(partial, TaskFailures) and partial.keys == ("b",)
    assert allowed == {"a": "a"}


def test_cancelling_an_asyncio_handle_cancels_the_job() -> None:
    async def forever(ctx: AsyncJobContext) -> None:
        while True:
            await ctx.checkpoint()
            await asyncio.sleep(0.001)

    async def main() -> tuple[bool, JobStatus, JobStatus]:
        async with AsyncioRuntime() as rt:
            handle = rt.submit(job=forever)
            await asyncio.sleep(0.01)
            with pytest.raises(TimeoutError):
                await asyncio.wait_for(handle, 0.01)  # a timeout cancels the job, as for a task
            other = rt.submit(job=forever)
            await asyncio.sleep(0.01)
            assert other.cancel()
            with pytest.raises(asyncio.CancelledError):
                await other
            return handle.cancelled(), handle.job().status, other.job().status

    assert asyncio.run(main()) == (True, S.CANCELLED, S.CANCELLED)


def test_asyncio_wrap_future_awaits_a_thread_handle_and_cancels_its_job() -> None:
    # The bridge asyncio offers for concurrent futures: it reads the handle,
    # and cancels it (so the job) when the asyncio side is cancelled; it
    # never sets the handle itself.
    async def main(rt: ThreadRuntime) -> tuple[int, JobFuture[Any]]:
        value = await asyncio.wrap_future(rt.submit(job=lambda ctx: 42))
        held: JobFuture[Any] = rt.submit(job=lambda ctx: 1, confirmation_required=True)
        asyncio.wrap_future(held).cancel()
        for _ in range(1000):  # bounded: until the cancel has reached the job
            if held.done():
                break
            await asyncio.sleep(0.001)
        return value, held

    with ThreadRuntime(max_workers=1) as rt:
        value, held = asyncio.run(main(rt))
    assert value == 42
    assert held.cancelled() and held.job().status is S.CANCELLED
