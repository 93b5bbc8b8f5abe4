"""AsyncioRuntime on a real event loop and the system clock.

Each test runs its scenario with ``asyncio.run``; every wait has a timeout, and
tasks that must be in flight at a given moment block on an ``asyncio.Event``.
"""

from __future__ import annotations

import asyncio
import itertools
import re
import threading
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any

import pytest

from jobqueue import (
    Event,
    FailureReason,
    HopRule,
    Job,
    JobStatus,
    JobTransitioned,
    Scheduler,
    TaskRecorded,
    TaskStatus,
    ValidationError,
)
from jobqueue.runtime import AsyncioRuntime, AsyncJobContext, Progress, RuntimeStateError

pytestmark = [pytest.mark.runtime, pytest.mark.usefixtures("no_thread_left_behind")]

TIMEOUT = 10.0
S = JobStatus


def run(scenario: Callable[[], Coroutine[Any, Any, None]]) -> None:
    """Run one scenario on a fresh loop; no task of it may outlive it."""

    async def main() -> None:
        await asyncio.wait_for(scenario(), TIMEOUT)
        assert asyncio.all_tasks() == {asyncio.current_task()}

    asyncio.run(main())


def statuses(job: Job) -> list[JobStatus]:
    return [change.status for change in job.history]


class Calls:
    """Record of task calls; ``reached`` is set after ``at`` calls."""

    def __init__(self, at: int = 0) -> None:
        self.counts: Counter[tuple[str, str]] = Counter()
        self.order: list[tuple[str, str]] = []
        self.at = at
        self.reached = asyncio.Event()

    def task(
        self, name: str, gate: asyncio.Event | None = None, pause: float = 0.0
    ) -> Callable[[str], Awaitable[None]]:
        async def run(key: str) -> None:
            self.counts[(name, key)] += 1
            self.order.append((name, key))
            if len(self.order) >= self.at:
                self.reached.set()
            if gate is not None:
                await gate.wait()
            if pause:
                await asyncio.sleep(pause)

        return run

    def of(self, name: str) -> list[str]:
        return [k for n, k in self.order if n == name]


def priority_queue(sched: Scheduler, slots: int) -> None:
    sched.create_queue("q", slots=slots, policy="priority", preemption=True, deferred_share=1.0)


def assert_no_task_recorded_while_paused(events: list[Event]) -> None:
    status: dict[str, JobStatus] = {}
    for event in events:
        if isinstance(event, JobTransitioned):
            status[event.job_id] = event.new
        elif isinstance(event, TaskRecorded):
            assert status[event.job_id] in (S.ACTIVE, S.PAUSING, S.CANCELLING, S.FAILING), event


# ---------------------------------------------------------------------- running tasks


def test_coroutine_tasks_run_once_each_in_manifest_order() -> None:
    async def scenario() -> None:
        calls = Calls()
        manifest = ["zeta", "alpha", "mid", "beta"]
        async with AsyncioRuntime(concurrency=1) as rt:
            job = rt.submit(calls.task("j"), tasks=manifest)
            done = await rt.wait(job.id, TIMEOUT)
        assert calls.of("j") == manifest
        assert (done.status, done.tasks_succeeded, done.progress) == (S.COMPLETE, 4, 1.0)

    run(scenario)


def test_a_raising_coroutine_is_a_failed_task_with_its_type_and_text() -> None:
    async def scenario() -> None:
        async def task(key: str) -> None:
            await asyncio.sleep(0)
            if key == "1":
                raise ConnectionError("reset by peer")

        async with AsyncioRuntime() as rt:
            job = rt.submit(task, tasks=3)
            done = await rt.wait(job.id, TIMEOUT)
            failed = [r for r in rt.scheduler.tasks(job.id) if r.status is TaskStatus.FAILED]
        assert (done.status, done.tasks_failed) == (S.COMPLETE, 1)
        assert [(r.key, r.error_code, r.message) for r in failed] == [
            ("1", "ConnectionError", "reset by peer")
        ]

    run(scenario)


def test_task_failure_threshold_stops_the_job() -> None:
    async def scenario() -> None:
        calls = Calls()

        async def task(key: str) -> None:
            await calls.task("j")(key)
            raise ValueError(key)

        sched = Scheduler(failure_threshold_tasks=10, failure_threshold_ratio=0.5)
        async with AsyncioRuntime(sched, concurrency=3) as rt:
            done = await rt.wait(rt.submit(task, tasks=1000).id, TIMEOUT)
        assert done.status is S.FAILED
        assert [r.code for r in done.failure_reasons] == ["TaskFailureThreshold"]
        assert 10 <= len(calls.order) <= 12
        assert done.tasks_failed == len(calls.order)

    run(scenario)


def test_lanes_whose_tasks_never_suspend_still_let_the_loop_run() -> None:
    async def scenario() -> None:
        ticks = 0
        stop = asyncio.Event()

        async def heartbeat() -> None:
            nonlocal ticks
            while not stop.is_set():
                ticks += 1
                await asyncio.sleep(0)

        async def busy(key: str) -> None:
            time.sleep(0.0002)  # no await: the task never gives the loop back itself

        beat = asyncio.create_task(heartbeat())
        async with AsyncioRuntime(concurrency=1) as rt:
            job = rt.submit(busy, tasks=300)
            await asyncio.sleep(0)
            ticks_at_start = ticks
            await rt.wait(job.id, TIMEOUT)
            during = ticks - ticks_at_start
        stop.set()
        await beat
        assert during >= 3  # the 60 ms job yielded every few milliseconds

    run(scenario)


# ---------------------------------------------------------------------- cancel and pause


def test_cancel_stops_new_tasks_and_waits_for_those_in_flight() -> None:
    async def scenario() -> None:
        gate = asyncio.Event()
        calls = Calls(at=2)
        async with AsyncioRuntime(concurrency=2) as rt:
            job = rt.submit(calls.task("j", gate), tasks=100)
            await asyncio.wait_for(calls.reached.wait(), TIMEOUT)
            assert rt.cancel(job.id).status is S.CANCELLING
            gate.set()
            done = await rt.wait(job.id, TIMEOUT)
        assert sorted(calls.of("j")) == ["0", "1"]
        assert (done.status, done.tasks_succeeded) == (S.CANCELLED, 2)

    run(scenario)


def test_preemption_pauses_after_in_flight_tasks_and_resumes_with_the_rest() -> None:
    async def scenario() -> None:
        sched = Scheduler()
        priority_queue(sched, slots=1)
        gate = asyncio.Event()
        calls = Calls(at=2)
        events: list[Event] = []
        async with AsyncioRuntime(sched, concurrency=2) as rt:
            rt.subscribe(events.append)
            low = rt.submit(calls.task("low", gate), tasks=10, queue="q")
            await asyncio.wait_for(calls.reached.wait(), TIMEOUT)
            high = rt.submit(calls.task("high"), tasks=3, queue="q", priority=5)
            assert rt.get(low.id).status is S.PAUSING
            gate.set()
            low_done = await rt.wait(low.id, TIMEOUT)
            assert (await rt.wait(high.id, TIMEOUT)).status is S.COMPLETE
        assert (low_done.status, low_done.tasks_succeeded) == (S.COMPLETE, 10)
        assert S.PAUSED in statuses(low_done)
        assert sorted(calls.of("low"), key=int) == [str(i) for i in range(10)]
        first_high = calls.order.index(("high", "0"))
        assert [n for n, _ in calls.order[first_high : first_high + 3]] == ["high"] * 3
        assert max(calls.counts.values()) == 1
        assert_no_task_recorded_while_paused(events)

    run(scenario)


def test_preemption_under_load_never_loses_or_repeats_a_task() -> None:
    async def scenario() -> None:
        sched = Scheduler()
        priority_queue(sched, slots=2)
        calls = Calls(at=40)
        events: list[Event] = []
        async with AsyncioRuntime(sched, concurrency=3) as rt:
            rt.subscribe(events.append)
            jobs = {
                f"low{i}": rt.submit(calls.task(f"low{i}", pause=0.0002), tasks=120, queue="q")
                for i in range(3)
            }
            await asyncio.wait_for(calls.reached.wait(), TIMEOUT)
            for level in range(3):
                calls.reached.clear()
                calls.at = len(calls.order) + 20
                name = f"high{level}"
                jobs[name] = rt.submit(
                    calls.task(name, pause=0.0002), tasks=25, queue="q", priority=5 + level
                )
                await asyncio.wait_for(calls.reached.wait(), TIMEOUT)
            done = {name: await rt.wait(job.id, TIMEOUT) for name, job in jobs.items()}
            rt.call(lambda s: s.check_invariants())
        for name, job in done.items():
            assert job.status is S.COMPLETE, name
            assert sorted(calls.of(name), key=int) == [str(i) for i in range(job.tasks_total)]
        assert max(calls.counts.values()) == 1
        assert any(S.PAUSED in statuses(job) for job in done.values())
        assert_no_task_recorded_while_paused(events)

    run(scenario)


def test_a_job_coroutine_pauses_at_its_checkpoint_and_resumes_in_place() -> None:
    async def scenario() -> None:
        sched = Scheduler()
        priority_queue(sched, slots=1)
        at_three = asyncio.Event()
        go_on = asyncio.Event()
        steps: list[int] = []

        async def low_job(ctx: AsyncJobContext) -> None:
            for i in range(6):
                await ctx.checkpoint()
                steps.append(i)
                ctx.progress((i + 1) / 6)
                if i == 2:
                    at_three.set()
                    await go_on.wait()

        async def high_job(ctx: AsyncJobContext) -> None:
            steps.append(100)

        async with AsyncioRuntime(sched) as rt:
            low = rt.submit(job=low_job, queue="q", priority=1)
            await asyncio.wait_for(at_three.wait(), TIMEOUT)
            high = rt.submit(job=high_job, queue="q", priority=9)
            assert rt.get(low.id).status is S.PAUSING
            go_on.set()
            low_done = await rt.wait(low.id, TIMEOUT)
            await rt.wait(high.id, TIMEOUT)
        assert steps == [0, 1, 2, 100, 3, 4, 5]
        assert statuses(low_done)[3:] == [S.ACTIVE, S.PAUSING, S.PAUSED, S.ACTIVE, S.COMPLETE]
        assert low_done.progress == 1.0

    run(scenario)


def test_a_raising_job_coroutine_fails_only_its_job() -> None:
    async def scenario() -> None:
        async def ok(ctx: AsyncJobContext) -> None:
            await ctx.checkpoint()

        async def broken(ctx: AsyncJobContext) -> None:
            await asyncio.sleep(0)
            raise ValueError("bad page")

        async with AsyncioRuntime() as rt:
            jobs = [rt.submit(job=fn) for fn in (ok, broken, ok)]
            done = [await rt.wait(j.id, TIMEOUT) for j in jobs]
        assert [j.status for j in done] == [S.COMPLETE, S.FAILED, S.COMPLETE]
        assert done[1].failure_reasons == (FailureReason("HandlerError", "ValueError: bad page"),)

    run(scenario)


def test_cancelling_a_parked_job_coroutine_unwinds_it() -> None:
    async def scenario() -> None:
        sched = Scheduler()
        priority_queue(sched, slots=1)
        running = asyncio.Event()
        release = asyncio.Event()
        unwound: list[str] = []

        async def low_job(ctx: AsyncJobContext) -> None:
            try:
                while True:
                    await ctx.checkpoint()
                    running.set()
                    await asyncio.sleep(0.001)
            finally:
                unwound.append(ctx.job_id)

        async def high_job(ctx: AsyncJobContext) -> None:
            await release.wait()

        async with AsyncioRuntime(sched) as rt:
            low = rt.submit(job=low_job, queue="q", priority=1)
            await asyncio.wait_for(running.wait(), TIMEOUT)
            high = rt.submit(job=high_job, queue="q", priority=9)
            while rt.get(low.id).status is not S.PAUSED:
                await asyncio.sleep(0.001)
            rt.cancel(low.id)  # Paused: Cancelled at once, and its coroutine unwinds
            assert (await rt.wait(low.id, TIMEOUT)).status is S.CANCELLED
            release.set()
            await rt.wait(high.id, TIMEOUT)
        assert unwound == [low.id]

    run(scenario)


# ---------------------------------------------------------------------- timers and progress


def test_a_loop_timer_fires_hops_and_is_rearmed_for_a_nearer_deadline() -> None:
    async def scenario() -> None:
        sched = Scheduler()
        sched.create_queue("a", slots=1)
        sched.create_queue("b", slots=1)
        gate = asyncio.Event()
        calls = Calls(at=1)
        async with AsyncioRuntime(sched) as rt:
            parked = rt.submit(job=lambda ctx: asyncio.sleep(0), confirmation_required=True)
            blocker = rt.submit(calls.task("blocker", gate), tasks=1, queue="a")
            await asyncio.wait_for(calls.reached.wait(), TIMEOUT)
            submitted = time.time()
            hopper = rt.submit(calls.task("hopper"), tasks=1, queue="a", hops=[HopRule("b", 0.05)])
            hopped = await rt.wait(hopper.id, TIMEOUT)
            gate.set()
            await rt.wait(blocker.id, TIMEOUT)
            rt.cancel(parked.id)
        assert hopped.queue == "b"
        assert hopped.hop_transitions[0].time - submitted >= 0.05

    run(scenario)


def test_progress_events_are_throttled_and_end_at_the_final_value() -> None:
    async def scenario() -> None:
        progress: list[Progress] = []

        async with AsyncioRuntime(concurrency=2, progress_rate=20.0) as rt:
            rt.subscribe(lambda e: progress.append(e) if isinstance(e, Progress) else None)
            job = rt.submit(Calls().task("j", pause=0.001), tasks=100)
            await rt.wait(job.id, TIMEOUT)
        gaps = [b.time - a.time for a, b in itertools.pairwise(progress)]
        assert len(progress) >= 2
        assert min(gaps) >= 0.05 - 1e-9
        assert (progress[-1].fraction, progress[-1].tasks_done) == (1.0, 100)

    run(scenario)


# ---------------------------------------------------------------------- other threads


def test_other_threads_hand_calls_to_the_loop() -> None:
    async def scenario() -> None:
        submitted: list[str] = []
        errors: list[BaseException] = []
        async with AsyncioRuntime(concurrency=2) as rt:
            loop_thread = threading.get_ident()
            seen_threads: set[int] = set()

            async def task(key: str) -> None:
                seen_threads.add(threading.get_ident())
                await asyncio.sleep(0)

            def client() -> None:
                try:
                    submitted.extend(rt.submit(task, tasks=5).id for _ in range(9))
                    held = rt.submit(task, tasks=5, confirmation_required=True)
                    assert rt.update_priority(held.id, 3).priority == 3
                    assert rt.cancel(held.id).status is S.CANCELLED
                    submitted.append(held.id)
                except BaseException as exc:
                    errors.append(exc)

            thread = threading.Thread(target=client)
            thread.start()
            await asyncio.to_thread(thread.join, TIMEOUT)
            done = [await rt.wait(job_id, TIMEOUT) for job_id in submitted]
        assert errors == []
        assert [j.status for j in done] == [S.COMPLETE] * 9 + [S.CANCELLED]
        assert seen_threads == {loop_thread}  # all work ran on the loop

    run(scenario)


# ---------------------------------------------------------------------- lifecycle


def test_shutdown_cancel_stops_running_work() -> None:
    async def scenario() -> None:
        running = asyncio.Event()

        async def forever(ctx: AsyncJobContext) -> None:
            while True:
                await ctx.checkpoint()
                running.set()
                await asyncio.sleep(0.001)

        rt = AsyncioRuntime()
        rt.start()
        job = rt.submit(job=forever)
        await asyncio.wait_for(running.wait(), TIMEOUT)
        await rt.shutdown(cancel=True)
        assert rt.get(job.id).status is S.CANCELLED
        with pytest.raises(RuntimeStateError, match=re.escape("the runtime is shut down")):
            rt.submit(job=forever)
        await rt.shutdown()  # harmless again

    run(scenario)


def test_a_job_cannot_wait_for_the_runtime_to_shut_down() -> None:
    async def scenario() -> None:
        async with AsyncioRuntime() as rt:

            async def stop_everything(ctx: AsyncJobContext) -> None:
                await rt.shutdown()  # would wait for this very job

            done = await rt.wait(rt.submit(job=stop_everything).id, TIMEOUT)
        assert done.failure_reasons == (
            FailureReason(
                "HandlerError",
                "RuntimeStateError: shutdown(wait=True) cannot be called from a job's own work",
            ),
        )

    run(scenario)


def test_leaving_the_block_with_an_error_cancels_unfinished_jobs() -> None:
    async def scenario() -> None:
        running = asyncio.Event()

        async def forever(ctx: AsyncJobContext) -> None:
            while True:
                await ctx.checkpoint()
                running.set()
                await asyncio.sleep(0.001)

        with pytest.raises(ZeroDivisionError):
            async with AsyncioRuntime() as rt:
                job = rt.submit(job=forever)
                await asyncio.wait_for(running.wait(), TIMEOUT)
                _ = 1 / 0
        assert rt.get(job.id).status is S.CANCELLED

    run(scenario)


def test_a_runtime_that_is_not_started_refuses_work() -> None:
    rt = AsyncioRuntime()
    with pytest.raises(RuntimeStateError) as info:
        rt.submit(job=lambda ctx: asyncio.sleep(0))
    assert str(info.value) == "the runtime is not started: use 'async with' or start()"
    assert rt.scheduler.list_jobs().jobs == ()
    with pytest.raises(ValidationError, match=re.escape("concurrency must be >= 1, got 0")):
        AsyncioRuntime(concurrency=0)
    asyncio.run(rt.shutdown())


def test_calls_from_other_threads_need_the_loop_running() -> None:
    rt = AsyncioRuntime()

    async def scenario() -> None:
        rt.start()
        await rt.shutdown()

    run(scenario)
    errors: list[BaseException] = []

    def other_thread() -> None:
        try:
            rt.get("job-1")
        except BaseException as exc:
            errors.append(exc)

    thread = threading.Thread(target=other_thread)
    thread.start()
    thread.join(TIMEOUT)
    assert [(type(e), str(e)) for e in errors] == [
        (RuntimeStateError, "the runtime's event loop is not running")
    ]


def test_start_needs_a_running_loop_and_happens_once() -> None:
    rt = AsyncioRuntime()
    with pytest.raises(RuntimeError):
        rt.start()

    async def scenario() -> None:
        rt.start()
        with pytest.raises(RuntimeStateError, match=re.escape("the runtime was already started")):
            rt.start()
        await rt.shutdown()

    run(scenario)
