"""How the thread-based runtimes hand work and outcomes between threads.

Workers hand job-function outcomes to whichever thread is in a call (or take
them in themselves), runners take queued starts from the runtime's own queue,
the driver thread reports an executor's outcomes in batches, and handles share
one condition. These tests check that every job still gets its own outcome,
that callbacks keep their threads, and that nothing is lost or run twice.
"""

from __future__ import annotations

import gc
import threading
import time
import weakref
from collections import Counter, deque
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor, TimeoutError, as_completed, wait
from typing import Any, cast

import pytest

from jobqueue import Event, FailureReason, JobStatus, JobTransitioned, TaskRecorded, TaskStatus
from jobqueue.runtime import (
    ExecutorRuntime,
    JobContext,
    JobFailed,
    JobFuture,
    TaskFailures,
    ThreadRuntime,
)
from jobqueue.runtime._handles import _NO_WAITERS
from jobqueue.runtime._thread_runtime import _Start, _ThreadBackend
from jobqueue.runtime._work import Lane, Work

pytestmark = [pytest.mark.runtime, pytest.mark.usefixtures("no_thread_left_behind")]

TIMEOUT = 10.0
S = JobStatus


def numbered(i: int) -> Callable[[JobContext], int]:
    """A job function returning ``i``, or raising for every seventh."""

    def job(ctx: JobContext) -> int:
        if i % 7 == 0:
            raise LookupError(f"no {i}")
        return i

    return job


def test_many_short_jobs_each_get_their_own_outcome_and_callbacks_stay_on_the_driver() -> None:
    transitions: dict[str, list[JobStatus]] = {}
    callback_threads: Counter[str] = Counter()
    all_called = threading.Event()
    n = 400

    def on_event(event: Event) -> None:
        if isinstance(event, JobTransitioned):
            transitions.setdefault(event.job_id, []).append(event.new)

    def on_done(handle: object) -> None:
        callback_threads[threading.current_thread().name] += 1
        if sum(callback_threads.values()) == n:
            all_called.set()

    with ThreadRuntime(max_workers=4, thread_name_prefix="hand") as rt:
        rt.call(lambda s: s.update_queue("default", slots=n))
        rt.subscribe(on_event)
        handles = [rt.submit(job=numbered(i)) for i in range(n)]
        for handle in handles:
            handle.add_done_callback(on_done)
        assert len(list(as_completed(handles, TIMEOUT))) == n
        assert all_called.wait(TIMEOUT)
    for i, handle in enumerate(handles):
        if i % 7 == 0:
            error = handle.exception(0)
            assert isinstance(error, JobFailed)
            assert isinstance(error.__cause__, LookupError)
            assert str(error.__cause__) == f"no {i}"
            assert transitions[handle.id][-2:] == [S.FAILING, S.FAILED]
        else:
            assert handle.result(0) == i
            assert transitions[handle.id][-1] is S.COMPLETE
    assert callback_threads == {"hand-driver": n}


def test_rounds_of_jobs_on_a_small_pool_all_finish() -> None:
    # Runners that run out of starts leave while new ones are queued: no start
    # may be left with no runner to take it, and no report with nobody to
    # take it in.
    with ThreadPoolExecutor(2) as pool:
        for _ in range(5):
            with ThreadRuntime(executor=pool, progress_rate=None) as rt:
                rt.call(lambda s: s.update_queue("default", slots=1000))
                handles = [rt.submit(job=lambda ctx: None) for _ in range(1000)]
                assert not wait(handles, TIMEOUT).not_done
            assert all(h.job().status is S.COMPLETE for h in handles)


def test_a_start_can_be_taken_as_soon_as_it_is_in_the_queue() -> None:
    # Runners take starts without the runtime's lock: the moment a start is in
    # the queue, a runner may pop it and claim it, so it must be claimable then
    # (else the runner skips it as cancelled, and it never runs).
    claimable: list[bool] = []
    with ThreadRuntime(max_workers=1) as rt:
        backend = rt._engine._backend
        assert isinstance(backend, _ThreadBackend)
        queued = backend._queued

        class Watched(deque[_Start]):
            def append(self, start: _Start) -> None:
                super().append(start)
                claimable.append(start in queued)

        backend._starts = Watched()
        assert rt.submit(job=lambda ctx: "ran").result(TIMEOUT) == "ran"
    assert claimable == [True]


def test_a_queued_job_function_cancelled_before_a_worker_takes_it_never_runs() -> None:
    gate = threading.Event()
    started = threading.Event()
    ran: list[str] = []

    def blocker(ctx: JobContext) -> None:
        started.set()
        assert gate.wait(TIMEOUT)

    with ThreadRuntime(max_workers=1) as rt:
        rt.call(lambda s: s.update_queue("default", slots=2, deferred_share=1.0))
        first = rt.submit(job=blocker)
        assert started.wait(TIMEOUT)
        second = rt.submit(job=lambda ctx: ran.append("second"))
        assert rt.get(second.id).status is S.ACTIVE  # started, its function queued
        assert second.cancel()
        assert rt.wait(second.id, TIMEOUT).status is S.CANCELLED  # at once: nothing ran
        gate.set()
        assert rt.wait(first.id, TIMEOUT).status is S.COMPLETE
    assert second.cancelled()
    assert ran == []


def test_a_runner_gives_a_shared_pools_thread_back_after_its_quantum() -> None:
    order: list[str] = []
    with ThreadPoolExecutor(1) as pool, ThreadRuntime(executor=pool, progress_rate=None) as rt:
        rt.call(lambda s: s.update_queue("default", slots=40))

        def job(ctx: JobContext) -> None:
            order.append("job")
            time.sleep(0.002)

        handles = [rt.submit(job=job) for _ in range(40)]  # about 80 ms of work
        outside = pool.submit(order.append, "outside")
        outside.result(TIMEOUT)
        assert not wait(handles, TIMEOUT).not_done
    # The runner took a few jobs, then let the pool's other work in.
    assert "outside" in order
    assert 0 < order.index("outside") < len(order) - 1


def test_a_thread_runtime_on_a_shut_down_pool_fails_the_job() -> None:
    pool = ThreadPoolExecutor(1)
    pool.shutdown()
    with ThreadRuntime(executor=pool) as rt:
        done = rt.wait(rt.submit(job=lambda ctx: None).id, TIMEOUT)
    assert done.status is S.FAILED
    assert done.failure_reasons == (
        FailureReason(
            "HandlerError",
            "cannot start work: RuntimeError: cannot schedule new futures after shutdown",
        ),
    )


def test_batched_executor_outcomes_keep_each_task_and_its_on_result() -> None:
    results: Counter[str] = Counter()
    threads: set[str] = set()
    recorded: list[tuple[str, TaskStatus]] = []

    def on_result(key: str, value: object) -> None:
        threads.add(threading.current_thread().name)
        results[key] += 1
        if int(key) % 10 == 3:
            raise ValueError(f"refused {key}")

    def on_event(event: Event) -> None:
        if isinstance(event, TaskRecorded):
            recorded.append((event.record.key, event.record.status))

    with (
        ThreadPoolExecutor(4, thread_name_prefix="pool") as pool,
        ExecutorRuntime(pool, concurrency=8, thread_name_prefix="ex") as rt,
    ):
        rt.subscribe(on_event)
        handle = rt.submit(str.upper, tasks=300, on_result=on_result)
        with pytest.raises(TaskFailures) as info:
            handle.result(TIMEOUT)
    failed = {str(i) for i in range(300) if i % 10 == 3}
    assert results == Counter(str(i) for i in range(300))  # each once
    assert threads == {"ex-driver"}
    assert sorted(recorded) == sorted(
        (str(i), TaskStatus.FAILED if str(i) in failed else TaskStatus.SUCCEEDED)
        for i in range(300)
    )
    assert set(info.value.keys) == failed
    assert all(str(exc) == f"refused {key}" for key, exc in info.value.failures.items())
    assert info.value.result == {str(i): str(i) for i in range(300) if str(i) not in failed}


# ---------------------------------------------------------------------- handles


def test_a_handle_has_every_field_of_a_future() -> None:
    with ThreadRuntime(max_workers=1) as rt:
        handle = rt.submit(job=lambda ctx: 1)
        # Kept in slots, or (the done callbacks, never added) shared: each must read.
        assert all(hasattr(handle, name) for name in vars(Future()))
        assert handle.result(TIMEOUT) == 1


def test_a_handle_keeps_every_field_in_its_slots_whatever_it_went_through() -> None:
    # A field written into the instance dictionary would give each handle a
    # dictionary of its own (see JobFuture): results, failures, cancels,
    # waiters and callbacks all stay out of it.
    gate = threading.Event()
    with ThreadRuntime(max_workers=2) as rt:
        handles: list[JobFuture[Any]] = [
            rt.submit(job=lambda ctx: gate.wait(TIMEOUT) and "value"),
            rt.submit(job=numbered(7)),
            rt.submit(job=lambda ctx: None, confirmation_required=True),
        ]
        handles[0].add_done_callback(lambda f: None)
        waiter = threading.Thread(target=lambda: wait(handles[:2], timeout=TIMEOUT))
        waiter.start()
        assert handles[2].cancel() is True
        gate.set()
        waiter.join(TIMEOUT)
        assert wait(handles, timeout=TIMEOUT).not_done == set()
    assert [h.__dict__ for h in handles] == [{}, {}, {}]
    assert all(h._waiters is _NO_WAITERS for h in handles)


def test_a_runtimes_handles_share_its_lock_and_the_runtime_through_their_class() -> None:
    # Each runtime's handles are of its own JobFuture subclass, which holds the
    # runtime and its lock; no handle keeps either itself.
    pool = ThreadPoolExecutor(1)
    with ThreadRuntime(max_workers=1) as one, ExecutorRuntime(pool) as two:
        first = one.submit(job=lambda ctx: 1)
        second = two.submit(job=lambda: 2)
        assert (first.result(TIMEOUT), second.result(TIMEOUT)) == (1, 2)
    for handle, rt in ((first, one), (second, two)):
        assert isinstance(handle, JobFuture) and isinstance(handle, Future)
        assert type(handle).__name__ == "JobFuture" and type(handle) is not JobFuture
        assert cast(object, handle._condition) is rt._lock and handle._runtime is rt
        assert "_runtime" not in type(handle).__slots__ and handle.__dict__ == {}
    pool.shutdown()
    assert type(first) is not type(second)
    assert repr(first) == f"<JobFuture {first.id!r} finished>"


def test_a_runtimes_handle_class_goes_with_the_runtime() -> None:
    # The class refers to its runtime and the runtime to its class: a cycle
    # the collector frees once neither the runtime nor a handle is kept.
    classes: list[weakref.ref[type]] = []
    for _ in range(3):
        with ThreadRuntime(max_workers=1) as rt:
            handle = rt.submit(job=lambda ctx: 1)
            assert handle.result(TIMEOUT) == 1
        classes.append(weakref.ref(type(handle)))
        del rt, handle
    gc.collect()
    assert [ref() for ref in classes] == [None, None, None]


def test_a_done_callback_and_a_waiter_on_one_pending_handle_are_each_told_once() -> None:
    # Done callbacks wait in the waiters' list beside wait()'s waiter: a
    # resolution tells the waiter and hands the callback to the driver
    # thread, once each, and wait() takes only its own waiter out.
    gate = threading.Event()
    calls: list[tuple[str, int]] = []
    with ThreadRuntime(max_workers=1) as rt:
        handle: JobFuture[Any] = rt.submit(job=lambda ctx: gate.wait(TIMEOUT) and 5)
        done: list[set[Future[Any]]] = []
        waiter = threading.Thread(target=lambda: done.append(wait([handle], timeout=TIMEOUT).done))
        waiter.start()
        for _ in range(1000):  # bounded: until wait() installed its waiter
            if handle._waiters:
                break
            time.sleep(0.001)
        handle.add_done_callback(
            lambda f: calls.append((threading.current_thread().name, f.result()))
        )
        assert len(handle._waiters) == 2 and not handle.done()
        gate.set()
        waiter.join(TIMEOUT)
        assert handle.result(TIMEOUT) == 5
    assert done == [{handle}]
    assert calls == [(rt._driver.name, 5)]
    assert handle._waiters is _NO_WAITERS


def test_a_pending_handle_lets_go_of_its_waiters_once_it_has_told_them() -> None:
    gate = threading.Event()
    with ThreadRuntime(max_workers=1) as rt:
        running: JobFuture[Any] = rt.submit(job=lambda ctx: gate.wait(TIMEOUT))
        held: JobFuture[Any] = rt.submit(job=lambda ctx: None, confirmation_required=True)
        done: list[set[Future[Any]]] = []
        waiter = threading.Thread(
            target=lambda: done.append(wait([running, held], timeout=TIMEOUT).done)
        )
        waiter.start()
        for _ in range(1000):  # bounded: until the waiter is installed on both
            if running._waiters and held._waiters:
                break
            time.sleep(0.001)
        assert running._waiters and held._waiters
        assert held.cancel() is True  # a cancel tells the waiter too
        gate.set()
        waiter.join(TIMEOUT)
    assert done == [{running, held}]
    assert running._waiters is _NO_WAITERS and held._waiters is _NO_WAITERS
    assert running._waiters == [] and held._waiters == []
    # A resolved handle keeps nothing it is given: it will never tell anyone.
    running._waiters.append(cast(Any, object()))
    assert running._waiters == []


def test_a_finished_handle_dies_with_its_last_reference() -> None:
    # Nothing refers back to a handle: it goes when the caller drops it,
    # with no wait for the garbage collector.
    with ThreadRuntime(max_workers=1) as rt:
        handle = rt.submit(job=lambda ctx: [1, 2])
        wait([rt.submit(job=lambda ctx: [3]), handle], timeout=TIMEOUT)
        assert handle.result() == [1, 2]
        gone = weakref.ref(handle)
        gc.disable()
        try:
            del handle
            assert gone() is None
        finally:
            gc.enable()


def test_a_waiting_result_outlasts_other_handles_resolving() -> None:
    # The handles of a runtime share one condition: another handle resolving
    # wakes a waiter, which must wait on rather than time out or return.
    gate = threading.Event()
    with ThreadRuntime(max_workers=2) as rt:
        slow = rt.submit(job=lambda ctx: gate.wait(TIMEOUT) and "slow")
        got: list[object] = []
        waiter = threading.Thread(target=lambda: got.append(slow.result(TIMEOUT)))
        waiter.start()
        for i in range(20):
            assert rt.submit(job=numbered(7 * i + 1)).result(TIMEOUT) == 7 * i + 1
        assert not slow.done() and got == []
        gate.set()
        waiter.join(TIMEOUT)
    assert got == ["slow"]


def test_result_and_exception_time_out_on_a_pending_handle() -> None:
    gate = threading.Event()
    with ThreadRuntime(max_workers=1) as rt:
        handle = rt.submit(job=lambda ctx: gate.wait(TIMEOUT))
        start = time.monotonic()
        with pytest.raises(TimeoutError):
            handle.result(timeout=0.05)
        with pytest.raises(TimeoutError):
            handle.exception(timeout=0.05)
        assert time.monotonic() - start >= 0.1
        gate.set()
        assert handle.result(TIMEOUT) is True
        assert handle.exception(0) is None


def test_a_runner_survives_a_broken_start_and_runs_the_next(
    caplog: pytest.LogCaptureFixture,
) -> None:
    with ThreadRuntime(max_workers=1) as rt:
        backend = rt._engine._backend
        assert isinstance(backend, _ThreadBackend)
        gate = threading.Event()
        first = rt.submit(job=lambda ctx: gate.wait(TIMEOUT))

        def broken(work: Work, lane: Lane | None) -> None:  # a bug, not a job's failure
            raise RuntimeError("broken start")

        # Queued behind the first job's start, on the one runner.
        start = _Start(broken, rt._engine._works[first.id], None)
        with rt._lock:
            backend._queue(start)
        gate.set()
        assert first.result(TIMEOUT) is True
        assert rt.submit(job=lambda ctx: "next").result(TIMEOUT) == "next"
    assert "work of job" in caplog.text and "broken start" in caplog.text
