"""ThreadRuntime on real threads and the system clock.

Every wait has a timeout; tests synchronise on ``threading.Event`` rather than
sleeping, and tasks that must be in flight at a given moment block on a gate.
"""

from __future__ import annotations

import itertools
import logging
import re
import threading
import time
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from helpers import IdleBackend, fingerprint

from jobqueue import (
    ConflictError,
    Event,
    FailureReason,
    HopRule,
    Job,
    JobStatus,
    JobTransitioned,
    ManualClock,
    Scheduler,
    TaskRecorded,
    TaskStatus,
    ValidationError,
)
from jobqueue.runtime import (
    ExecutorRuntime,
    JobContext,
    Progress,
    RuntimeStateError,
    ThreadRuntime,
)
from jobqueue.runtime._engine import Engine

pytestmark = [pytest.mark.runtime, pytest.mark.usefixtures("no_thread_left_behind")]

TIMEOUT = 10.0
S = JobStatus


def statuses(job: Job) -> list[JobStatus]:
    return [change.status for change in job.history]


def keys(n: int, prefix: str = "k") -> list[str]:
    return [f"{prefix}{i:03d}" for i in range(n)]


class Calls:
    """Thread-safe record of task calls; sets ``reached`` after ``at`` calls."""

    def __init__(self, at: int = 0) -> None:
        self.lock = threading.Lock()
        self.counts: Counter[tuple[str, str]] = Counter()
        self.order: list[tuple[str, str]] = []
        self.at = at
        self.reached = threading.Event()

    def task(self, name: str, gate: threading.Event | None = None) -> Callable[[str], None]:
        def run(key: str) -> None:
            with self.lock:
                self.counts[(name, key)] += 1
                self.order.append((name, key))
                if len(self.order) >= self.at:
                    self.reached.set()
            if gate is not None:
                assert gate.wait(TIMEOUT)

        return run

    def of(self, name: str) -> list[str]:
        with self.lock:
            return [k for n, k in self.order if n == name]


def priority_queue(sched: Scheduler, slots: int) -> None:
    sched.create_queue("q", slots=slots, policy="priority", preemption=True, deferred_share=1.0)


# ---------------------------------------------------------------------- running tasks


def test_tasks_run_once_each_in_manifest_order() -> None:
    calls = Calls()
    manifest = ["zeta", "alpha", "mid", "beta"]
    with ThreadRuntime(max_workers=2, concurrency=1) as rt:
        job = rt.submit(calls.task("j"), tasks=manifest, report="all")
        done = rt.wait(job.id, TIMEOUT)
    assert calls.of("j") == manifest  # one lane: dispatch follows the manifest exactly
    assert (done.status, done.tasks_succeeded, done.tasks_failed) == (S.COMPLETE, 4, 0)
    assert done.progress == 1.0


def test_a_count_manifest_runs_keys_zero_to_n_minus_one() -> None:
    calls = Calls()
    with ThreadRuntime(max_workers=4) as rt:
        job = rt.submit(calls.task("j"), tasks=25, concurrency=3)
        done = rt.wait(job.id, TIMEOUT)
    assert sorted(calls.of("j"), key=int) == [str(i) for i in range(25)]
    assert done.tasks_succeeded == 25


def test_a_manifest_reader_is_run_in_its_order() -> None:
    calls = Calls()
    with ThreadRuntime(max_workers=2, concurrency=1) as rt:
        job = rt.submit(calls.task("j"), tasks=lambda: iter(["c", "a", "b"]))
        rt.wait(job.id, TIMEOUT)
    assert calls.of("j") == ["c", "a", "b"]


def test_an_empty_manifest_completes_at_once() -> None:
    with ThreadRuntime(max_workers=1) as rt:
        job = rt.submit(Calls().task("j"), tasks=[])
        assert rt.wait(job.id, TIMEOUT).status is S.COMPLETE


def test_a_raising_task_is_a_failed_task_with_its_type_and_text() -> None:
    def task(key: str) -> None:
        if key == "bad":
            raise FileNotFoundError("no such object: bad")

    with ThreadRuntime(max_workers=2) as rt:
        job = rt.submit(task, tasks=["ok", "bad", "fine"])
        done = rt.wait(job.id, TIMEOUT)
        records = {r.key: r for r in rt.call(lambda s: s.tasks(job.id))}
    assert done.status is S.COMPLETE  # 1 of 3 is below the threshold's minimum of 1000 tasks
    assert (done.tasks_succeeded, done.tasks_failed) == (2, 1)
    bad = records["bad"]
    assert (bad.status, bad.error_code, bad.message) == (
        TaskStatus.FAILED,
        "FileNotFoundError",
        "no such object: bad",
    )
    assert records["ok"].status is TaskStatus.SUCCEEDED


def test_task_failure_threshold_stops_the_job_and_it_fails() -> None:
    sched = Scheduler(failure_threshold_tasks=10, failure_threshold_ratio=0.5)
    calls = Calls()

    def task(key: str) -> None:
        calls.task("j")(key)
        raise ValueError(key)

    with ThreadRuntime(sched, max_workers=4) as rt:
        job = rt.submit(task, tasks=1000, concurrency=3)
        done = rt.wait(job.id, TIMEOUT)
    assert done.status is S.FAILED
    assert done.failure_reasons == (
        FailureReason("TaskFailureThreshold", "10 of 10 tasks failed, more than 50%"),
    )
    ran = len(calls.of("j"))
    # The job stopped at the threshold: only the tasks already in flight then ran on,
    # and each of those was recorded while the job was Failing.
    assert 10 <= ran <= 12
    assert done.tasks_failed == ran
    assert statuses(done)[-3:] == [S.ACTIVE, S.FAILING, S.FAILED]


# ---------------------------------------------------------------------- cancel and pause


def test_cancel_stops_new_tasks_and_waits_for_those_in_flight() -> None:
    gate = threading.Event()
    calls = Calls(at=2)
    with ThreadRuntime(max_workers=4) as rt:
        job = rt.submit(calls.task("j", gate), tasks=keys(100), concurrency=2)
        assert calls.reached.wait(TIMEOUT)
        # Two tasks are in flight: the job holds its slot until they finish.
        assert rt.cancel(job.id).status is S.CANCELLING
        assert rt.get(job.id).status is S.CANCELLING
        gate.set()
        done = rt.wait(job.id, TIMEOUT)
    assert sorted(calls.of("j")) == ["k000", "k001"]  # nothing new after the cancel
    assert (done.status, done.tasks_succeeded) == (S.CANCELLED, 2)
    assert statuses(done)[-3:] == [S.ACTIVE, S.CANCELLING, S.CANCELLED]


def test_preemption_pauses_after_in_flight_tasks_and_resumes_with_the_rest() -> None:
    sched = Scheduler()
    priority_queue(sched, slots=1)
    gate = threading.Event()
    calls = Calls(at=2)
    events: list[Event] = []
    with ThreadRuntime(sched, max_workers=4) as rt:
        rt.subscribe(events.append)
        low = rt.submit(calls.task("low", gate), tasks=keys(10), concurrency=2, queue="q")
        assert calls.reached.wait(TIMEOUT)
        high = rt.submit(calls.task("high"), tasks=keys(3), queue="q", priority=5)
        # The low job is asked to pause; its two tasks are still running.
        assert rt.get(low.id).status is S.PAUSING
        assert rt.get(high.id).status is S.READY
        gate.set()
        low_done = rt.wait(low.id, TIMEOUT)
        high_done = rt.wait(high.id, TIMEOUT)
    assert (low_done.status, low_done.tasks_succeeded) == (S.COMPLETE, 10)
    assert high_done.status is S.COMPLETE
    assert S.PAUSED in statuses(low_done)
    assert sorted(calls.of("low")) == keys(10)  # each key exactly once
    assert calls.counts.most_common(1)[0][1] == 1
    # Nothing of the low job ran while it was Paused; the high job ran meanwhile.
    low_keys = calls.of("low")
    assert sorted(low_keys[:2]) == ["k000", "k001"]
    order = calls.order
    first_high = order.index(("high", "k000"))
    assert all(name == "low" for name, _ in order[:first_high])
    assert all(name == "high" for name, _ in order[first_high : first_high + 3])
    assert_no_task_recorded_while_paused(events)


def assert_no_task_recorded_while_paused(events: list[Event]) -> None:
    status: dict[str, JobStatus] = {}
    for event in events:
        if isinstance(event, JobTransitioned):
            status[event.job_id] = event.new
        elif isinstance(event, TaskRecorded):
            assert status[event.job_id] in (S.ACTIVE, S.PAUSING, S.CANCELLING, S.FAILING), event


def test_preemption_under_load_never_loses_or_repeats_a_task() -> None:
    sched = Scheduler()
    priority_queue(sched, slots=2)
    calls = Calls(at=40)
    events: list[Event] = []

    def slow(name: str) -> Callable[[str], None]:
        record = calls.task(name)

        def run(key: str) -> None:
            record(key)
            time.sleep(0.0002)  # keep tasks in flight when pauses land

        return run

    with ThreadRuntime(sched, max_workers=8, concurrency=3) as rt:
        rt.subscribe(events.append)
        jobs = {f"low{i}": rt.submit(slow(f"low{i}"), tasks=150, queue="q") for i in range(3)}
        assert calls.reached.wait(TIMEOUT)
        for level in range(3):
            calls.reached.clear()
            calls.at = len(calls.order) + 25
            name = f"high{level}"
            jobs[name] = rt.submit(slow(name), tasks=30, queue="q", priority=5 + level)
            assert calls.reached.wait(TIMEOUT)
        done = {name: rt.wait(job.id, TIMEOUT) for name, job in jobs.items()}
        rt.call(lambda s: s.check_invariants())
    for name, job in done.items():
        assert job.status is S.COMPLETE, name
        assert job.tasks_succeeded == job.tasks_total
        assert sorted(calls.of(name), key=int) == [str(i) for i in range(job.tasks_total)]
    assert max(calls.counts.values()) == 1
    paused = [name for name, job in done.items() if S.PAUSED in statuses(job)]
    assert paused  # preemption really happened
    assert_no_task_recorded_while_paused(events)


def test_a_job_function_pauses_at_its_checkpoint_and_resumes_in_place() -> None:
    sched = Scheduler()
    priority_queue(sched, slots=1)
    at_three = threading.Event()
    go_on = threading.Event()
    steps: list[int] = []
    invocations: list[str] = []

    def low_job(ctx: JobContext) -> None:
        invocations.append(ctx.job_id)
        for i in range(6):
            ctx.checkpoint()
            steps.append(i)
            if i == 2:
                at_three.set()
                assert go_on.wait(TIMEOUT)

    def high_job(ctx: JobContext) -> None:
        steps.append(100)

    with ThreadRuntime(sched, max_workers=4) as rt:
        low = rt.submit(job=low_job, queue="q", priority=1)
        assert at_three.wait(TIMEOUT)
        high = rt.submit(job=high_job, queue="q", priority=9)
        assert rt.get(low.id).status is S.PAUSING  # until the low job reaches a checkpoint
        go_on.set()
        low_done = rt.wait(low.id, TIMEOUT)
        assert rt.wait(high.id, TIMEOUT).status is S.COMPLETE
    assert steps == [0, 1, 2, 100, 3, 4, 5]  # paused at the checkpoint before step 3
    assert invocations == [low.id]  # resumed, not restarted
    assert statuses(low_done)[3:] == [S.ACTIVE, S.PAUSING, S.PAUSED, S.ACTIVE, S.COMPLETE]


def test_cancelling_a_job_function_stops_it_at_its_next_checkpoint() -> None:
    started = threading.Event()
    unwound: list[str] = []

    def forever(ctx: JobContext) -> None:
        try:
            while True:
                ctx.checkpoint()
                started.set()
                time.sleep(0.001)
        finally:
            unwound.append("finally")

    with ThreadRuntime(max_workers=2) as rt:
        job = rt.submit(job=forever)
        assert started.wait(TIMEOUT)
        rt.cancel(job.id)
        done = rt.wait(job.id, TIMEOUT)
    assert done.status is S.CANCELLED
    assert unwound == ["finally"]


def test_a_raising_job_function_fails_only_its_job() -> None:
    def ok(ctx: JobContext) -> None:
        ctx.checkpoint()

    def broken(ctx: JobContext) -> None:
        raise KeyError("missing input")

    with ThreadRuntime(max_workers=3) as rt:
        jobs = [rt.submit(job=fn) for fn in (ok, broken, ok)]
        done = [rt.wait(j.id, TIMEOUT) for j in jobs]
        later = rt.wait(rt.submit(job=ok).id, TIMEOUT)
    assert [j.status for j in done] == [S.COMPLETE, S.FAILED, S.COMPLETE]
    assert done[1].failure_reasons == (FailureReason("HandlerError", "KeyError: 'missing input'"),)
    assert later.status is S.COMPLETE  # the runtime carries on


def test_a_job_context_offers_the_job_its_tasks_outcomes_and_progress() -> None:
    seen: list[object] = []

    def job_fn(ctx: JobContext) -> None:
        seen.append(ctx.job.status)
        seen.append(ctx.tasks)
        for key in ctx.tasks:
            ctx.record_task(key, ok=key != "b", error_code="" if key != "b" else "Bad")
        ctx.progress(0.75)
        seen.append(ctx.job.progress)
        seen.append(ctx.stop_requested)

    with ThreadRuntime(max_workers=1) as rt:
        job = rt.submit(job=job_fn, tasks=["a", "b", "c"])
        done = rt.wait(job.id, TIMEOUT)
    assert seen == [S.ACTIVE, ("a", "b", "c"), 0.75, False]
    assert (done.status, done.tasks_succeeded, done.tasks_failed) == (S.COMPLETE, 2, 1)


# ---------------------------------------------------------------------- timers


class CountingScheduler(Scheduler):
    """Counts how often a driver asks for deadlines and polls."""

    polls = 0
    deadline_reads = 0

    def poll(self) -> int:
        self.polls += 1
        return super().poll()

    def next_deadline(self) -> float | None:
        self.deadline_reads += 1
        return super().next_deadline()


def test_the_driver_sleeps_until_the_deadline_and_wakes_early_for_a_nearer_one() -> None:
    sched = CountingScheduler()
    sched.create_queue("a", slots=1)
    sched.create_queue("b", slots=1)
    gate = threading.Event()
    calls = Calls(at=1)
    with ThreadRuntime(sched, max_workers=4) as rt:
        rt.submit(job=lambda ctx: None, confirmation_required=True)  # a deadline 30 days away
        blocker = rt.submit(calls.task("blocker", gate), tasks=1, queue="a")
        assert calls.reached.wait(TIMEOUT)
        reads, polls = sched.deadline_reads, sched.polls
        time.sleep(0.1)  # idle: the driver must sleep, not spin
        # At most the driver's own wake-up for the 30-day deadline may fall in here.
        assert sched.deadline_reads - reads <= 1
        assert sched.polls == polls
        hopper_ran = Calls(at=1)
        submitted = time.time()
        hopper = rt.submit(
            hopper_ran.task("hopper"), tasks=1, queue="a", hops=[HopRule("b", wait=0.05)]
        )
        assert hopper_ran.reached.wait(TIMEOUT)  # it hopped on time, though the driver slept
        hopped = rt.wait(hopper.id, TIMEOUT)
        gate.set()
        rt.wait(blocker.id, TIMEOUT)
        rt.cancel(rt.call(lambda s: s.list_jobs(statuses=[S.SUSPENDED])).jobs[0].id)
    assert hopped.queue == "b"
    assert hopped.hop_transitions[0].time - submitted >= 0.05
    assert sched.polls <= 5  # one for the hop, maybe one early wake-up: no busy loop


# ---------------------------------------------------------------------- progress


def test_progress_events_are_throttled_per_job_and_end_at_the_final_value() -> None:
    progress: list[Progress] = []
    gate = threading.Event()

    def task(key: str) -> None:
        if key == "99":
            assert gate.wait(TIMEOUT)
        time.sleep(0.0005)

    def on_event(event: Event) -> None:
        if isinstance(event, Progress):
            progress.append(event)
            if event.tasks_done >= 50:
                gate.set()

    with ThreadRuntime(max_workers=2, progress_rate=20.0) as rt:
        rt.subscribe(on_event)
        job = rt.submit(task, tasks=100, concurrency=2)
        done = rt.wait(job.id, TIMEOUT)
    assert done.progress == 1.0
    assert len(progress) >= 2
    assert {p.job_id for p in progress} == {job.id}
    gaps = [b.time - a.time for a, b in itertools.pairwise(progress)]
    assert min(gaps) >= 0.05 - 1e-9  # at most 20 per second
    last = progress[-1]
    assert (last.fraction, last.percent, last.tasks_done, last.tasks_total) == (
        1.0,
        100.0,
        100,
        100,
    )
    assert [p.fraction for p in progress] == sorted(p.fraction for p in progress)


def test_the_progress_throttle_on_a_manual_clock() -> None:
    clock = ManualClock()
    sched = Scheduler(clock, acknowledge=True)
    engine = Engine(sched, IdleBackend(), progress_interval=0.25)
    sent: list[tuple[float, float]] = []
    engine.subscribe(
        lambda e: sent.append((e.time, e.fraction)) if isinstance(e, Progress) else None
    )
    job_id = engine.submit(print, None, 1, 100, None, {})
    engine.settle()

    def record(at: float, key: int) -> None:
        clock.set(at)
        sched.record_task(job_id, str(key), ok=True)

    def poll(at: float) -> None:
        clock.set(at)
        engine.poll()

    record(0.0, 0)  # sent at once
    record(0.125, 1)  # merged: due at 0.25
    assert engine.next_deadline() == 0.25
    record(0.375, 2)  # the poll came late: sent at once, an interval after the first
    record(0.5, 3)  # merged again
    poll(0.5)  # the stale timer of 0.25 must not send it early...
    assert engine.next_deadline() == 0.625  # ...but a full interval after 0.375
    poll(0.625)
    record(1.0, 4)
    record(1.0, 5)
    poll(1.25)
    poll(1.5)  # nothing new: nothing sent
    assert sent == [(0.0, 0.01), (0.375, 0.03), (0.625, 0.04), (1.0, 0.05), (1.25, 0.06)]
    assert not engine.progress_pending
    assert engine.next_deadline() == sched.next_deadline()


def test_progress_rate_none_sends_every_change() -> None:
    progress: list[Progress] = []
    with ThreadRuntime(max_workers=1, progress_rate=None) as rt:
        rt.subscribe(lambda e: progress.append(e) if isinstance(e, Progress) else None)
        rt.wait(rt.submit(lambda key: None, tasks=4, concurrency=1).id, TIMEOUT)
    assert [p.fraction for p in progress] == [0.25, 0.5, 0.75, 1.0]


# ---------------------------------------------------------------------- any thread


def test_many_threads_submit_cancel_and_reprioritise_at_once() -> None:
    sched = Scheduler()
    priority_queue(sched, slots=3)
    errors: list[BaseException] = []
    submitted: list[str] = []
    lock = threading.Lock()

    with ThreadRuntime(sched, max_workers=6, concurrency=2) as rt:

        def client(n: int) -> None:
            try:
                for i in range(15):
                    job = rt.submit(lambda key: time.sleep(0.0001), tasks=8, queue="q", priority=i)
                    with lock:
                        submitted.append(job.id)
                    if i % 5 == n % 5:
                        rt.cancel(job.id)
                    elif i % 3 == 0:
                        rt.update_priority(job.id, 20 + n)
            except BaseException as exc:
                errors.append(exc)

        threads = [threading.Thread(target=client, args=(n,)) for n in range(6)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(TIMEOUT)
        done = [rt.wait(job_id, TIMEOUT) for job_id in submitted]
        rt.call(lambda s: s.check_invariants())
    assert errors == []
    assert len(done) == 90
    assert {j.status for j in done} <= {S.COMPLETE, S.CANCELLED}
    assert all(j.tasks_succeeded == 8 for j in done if j.status is S.COMPLETE)


def test_subscriber_errors_are_logged_and_do_not_stop_the_runtime(
    caplog: pytest.LogCaptureFixture,
) -> None:
    def broken(event: Event) -> None:
        raise RuntimeError("subscriber bug")

    with (
        caplog.at_level(logging.ERROR, logger="jobqueue.runtime"),
        ThreadRuntime(max_workers=1) as rt,
    ):
        rt.subscribe(broken)
        done = rt.wait(rt.submit(lambda key: None, tasks=3).id, TIMEOUT)
    assert done.status is S.COMPLETE
    assert "subscriber bug" in caplog.text


def test_blocking_calls_from_a_callback_are_refused() -> None:
    refused: list[str] = []
    with ThreadRuntime(max_workers=1) as rt:

        def on_event(event: Event) -> None:
            if isinstance(event, JobTransitioned) and event.new is S.COMPLETE:
                with pytest.raises(RuntimeStateError) as info:
                    rt.wait(event.job_id)
                refused.append(str(info.value))

        rt.subscribe(on_event)
        rt.wait(rt.submit(lambda key: None, tasks=1).id, TIMEOUT)
    assert refused == ["wait() cannot be called from inside a runtime callback"]


def test_a_pending_handles_result_is_refused_inside_a_callback_a_done_ones_is_not() -> None:
    # A subscriber runs with the runtime's lock held: waiting there for a job
    # that needs the runtime to finish would never end. A finished handle's
    # result() does not wait, so it is answered.
    gate = threading.Event()
    seen: list[object] = []
    with ThreadRuntime(max_workers=2) as rt:
        held = rt.submit(job=lambda ctx: gate.wait(TIMEOUT) and "held")
        done = rt.submit(job=lambda ctx: "done")
        assert done.result(TIMEOUT) == "done"

        def on_event(event: Event) -> None:
            if isinstance(event, JobTransitioned) and event.job_id in probes:
                with pytest.raises(RuntimeStateError, match="inside a runtime callback"):
                    held.result(TIMEOUT)
                with pytest.raises(RuntimeStateError, match="inside a runtime callback"):
                    held.exception(TIMEOUT)
                seen.append(done.result(0))

        probes: list[str] = []
        rt.subscribe(on_event)
        probe = rt.submit(job=lambda ctx: None, confirmation_required=True)
        probes.append(probe.id)
        rt.scheduler.confirm(probe.id)  # its moves from here on are seen
        assert probe.result(TIMEOUT) is None
        assert not held.done()
        gate.set()
        assert held.result(TIMEOUT) == "held"
    assert seen and set(seen) == {"done"}


@pytest.mark.parametrize("kind", ["thread", "executor"])
def test_waiting_inside_a_done_callback_or_on_result_is_refused(kind: str) -> None:
    # Those callbacks run on the driver thread, which on ExecutorRuntime also
    # reports the calls that finished: a wait there for an unfinished job
    # held up the runtime that was to finish it, until the wait timed out.
    gate = threading.Event()
    refused: list[str] = []

    def try_waits(held: Any) -> None:
        calls: list[Callable[[], object]] = [
            lambda: held.result(TIMEOUT),
            lambda: rt.wait(held.id, TIMEOUT),
        ]
        for call in calls:
            try:
                call()
            except RuntimeStateError as error:
                refused.append(str(error).split(" cannot")[0])

    pool = ThreadPoolExecutor(2)
    rt: Any = ThreadRuntime(executor=pool) if kind == "thread" else ExecutorRuntime(pool)
    with rt:
        if kind == "thread":
            held = rt.submit(job=lambda ctx: gate.wait(TIMEOUT) and "held")
        else:
            held = rt.submit(job=lambda: gate.wait(TIMEOUT) and "held")
        first = rt.submit(
            lambda key: key, tasks=["k"], on_result=lambda key, value: try_waits(held)
        )
        assert first.result(TIMEOUT) == {"k": "k"}
        second = rt.submit(lambda key: key, tasks=["k"])
        second.add_done_callback(lambda f: try_waits(held))
        assert second.result(TIMEOUT) == {"k": "k"}
        for _ in range(1000):  # bounded: until the done callback has run
            if len(refused) == 4:
                break
            time.sleep(0.001)
        assert not held.done()
        gate.set()
        assert held.result(TIMEOUT) == "held"
    pool.shutdown()
    assert refused == ["a pending handle's result() or exception()", "wait()"] * 2


# ---------------------------------------------------------------------- shutdown


def test_shutdown_cancel_stops_running_work_and_leaves_no_thread() -> None:
    before = set(threading.enumerate())
    started = threading.Event()

    def forever(ctx: JobContext) -> None:
        while True:
            ctx.checkpoint()
            started.set()
            time.sleep(0.001)

    rt = ThreadRuntime(max_workers=3)
    running = rt.submit(job=forever)
    waiting = rt.submit(Calls().task("w"), tasks=5, confirmation_required=True)
    assert started.wait(TIMEOUT)
    assert set(threading.enumerate()) > before
    rt.shutdown(wait=True, cancel=True)
    assert set(threading.enumerate()) == before
    assert rt.get(running.id).status is S.CANCELLED
    assert rt.get(waiting.id).status is S.CANCELLED
    with pytest.raises(RuntimeStateError, match=re.escape("the runtime is shut down")):
        rt.submit(job=forever)
    rt.shutdown()  # harmless again


def test_shutdown_finishes_submitted_work_first() -> None:
    calls = Calls()
    with ThreadRuntime(max_workers=2, concurrency=1) as rt:
        sched = rt.scheduler
        rt.call(lambda s: s.create_queue("one", slots=1))
        jobs = [rt.submit(calls.task(f"j{i}"), tasks=5, queue="one") for i in range(4)]
    assert [sched.get(j.id).status for j in jobs] == [S.COMPLETE] * 4
    assert len(calls.order) == 20


def test_shutdown_unwinds_a_job_function_parked_in_a_paused_job() -> None:
    sched = Scheduler()
    priority_queue(sched, slots=1)
    low_running = threading.Event()
    release_high = threading.Event()
    unwound: list[str] = []

    def low_job(ctx: JobContext) -> None:
        try:
            while True:
                ctx.checkpoint()
                low_running.set()
                time.sleep(0.001)
        finally:
            unwound.append(ctx.job_id)

    def high_job(ctx: JobContext) -> None:
        high_running.set()
        assert release_high.wait(TIMEOUT)

    high_running = threading.Event()
    rt = ThreadRuntime(sched, max_workers=3)
    low = rt.submit(job=low_job, queue="q", priority=1)
    assert low_running.wait(TIMEOUT)
    high = rt.submit(job=high_job, queue="q", priority=9)
    assert high_running.wait(TIMEOUT)  # so the low job is parked in Paused
    rt.pause_queue("q")  # the low job will not resume when the high one ends
    release_high.set()
    assert rt.wait(high.id, TIMEOUT).status is S.COMPLETE
    rt.shutdown(wait=True)
    assert unwound == [low.id]
    assert sched.get(low.id).status is S.PAUSED  # left for a later runtime
    sched.check_invariants()


def test_shutdown_without_waiting_finishes_in_the_background() -> None:
    gate = threading.Event()
    calls = Calls(at=1)
    rt = ThreadRuntime(max_workers=2)
    job = rt.submit(calls.task("j", gate), tasks=2, concurrency=1)
    assert calls.reached.wait(TIMEOUT)
    rt.shutdown(wait=False)
    with pytest.raises(RuntimeStateError, match=re.escape("the runtime is shut down")):
        rt.submit(job=lambda ctx: None)
    gate.set()
    assert rt.wait(job.id, TIMEOUT).status is S.COMPLETE
    rt.shutdown(wait=True)  # joins the threads that finished the work


def test_a_job_cannot_wait_for_the_runtime_to_shut_down() -> None:
    with ThreadRuntime(max_workers=1) as rt:

        def stop_everything(ctx: JobContext) -> None:
            rt.shutdown()  # would wait for this very job

        done = rt.wait(rt.submit(job=stop_everything).id, TIMEOUT)
    assert done.failure_reasons == (
        FailureReason(
            "HandlerError",
            "RuntimeStateError: shutdown(wait=True) cannot be called from a job's own work",
        ),
    )


def test_leaving_the_block_with_an_error_cancels_unfinished_jobs() -> None:
    started = threading.Event()

    def forever(ctx: JobContext) -> None:
        while True:
            ctx.checkpoint()
            started.set()
            time.sleep(0.001)

    with pytest.raises(ZeroDivisionError), ThreadRuntime(max_workers=2) as rt:
        job = rt.submit(job=forever)
        assert started.wait(TIMEOUT)
        _ = 1 / 0
    assert rt.get(job.id).status is S.CANCELLED


# ---------------------------------------------------------------------- adoption and bad input


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({}, "submit needs exactly one of task or job, got neither"),
        (
            {"task": print, "job": print, "tasks": 1},
            "submit needs exactly one of task or job, got both",
        ),
        ({"task": "nope", "tasks": 1}, "task must be callable, got str"),
        ({"job": 3}, "job must be callable, got int"),
        ({"task": print}, "a task function needs a manifest: tasks must not be None"),
        ({"task": print, "tasks": 2, "concurrency": 0}, "concurrency must be >= 1, got 0"),
        ({"task": print, "tasks": 2, "concurrency": True}, "concurrency must be an int, got bool"),
        (
            {"task": print, "tasks": "ab"},
            "tasks must be a sequence of keys, a count or a callable, got str",
        ),
        ({"job": print, "priority": 1.5}, "priority must be an int, got float"),
    ],
)
def test_bad_submissions_change_nothing(kwargs: dict[str, object], message: str) -> None:
    with ThreadRuntime(max_workers=1) as rt:
        rt.wait(rt.submit(job=lambda ctx: None).id, TIMEOUT)
        before = rt.call(fingerprint)
        with pytest.raises(ValidationError) as info:
            rt.submit(**kwargs)  # type: ignore[call-overload]
        assert str(info.value) == message
        assert rt.call(fingerprint) == before


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"max_workers": 0}, "max_workers must be >= 1, got 0"),
        ({"concurrency": -1}, "concurrency must be >= 1, got -1"),
        ({"progress_rate": 0}, "progress_rate must be a finite number > 0, got 0"),
        ({"progress_rate": "fast"}, "progress_rate must be a number or None, got str"),
        ({"executor": object()}, "executor must be a ThreadPoolExecutor, got object"),
    ],
)
def test_bad_settings_are_refused(kwargs: dict[str, object], message: str) -> None:
    with pytest.raises(ValidationError) as info:
        ThreadRuntime(**kwargs)  # type: ignore[arg-type]
    assert str(info.value) == message


def test_a_scheduler_with_running_work_or_a_runtime_is_refused() -> None:
    busy = Scheduler()
    job = busy.submit()
    with pytest.raises(ConflictError) as info:
        ThreadRuntime(busy)
    assert str(info.value) == (
        f"job {job.id!r} is Active: a runtime must wrap the scheduler before any job starts, "
        "or take its jobs over with work_for="
    )
    assert busy.acknowledge is False

    sched = Scheduler()
    first = ThreadRuntime(sched, max_workers=1)
    assert sched.acknowledge is True
    with pytest.raises(
        ConflictError, match=re.escape("the scheduler is already driven by a runtime")
    ):
        ThreadRuntime(sched)
    first.shutdown()
    second = ThreadRuntime(sched, max_workers=1)  # free again once the first stopped
    second.shutdown()


def test_a_job_submitted_around_the_runtime_fails_when_it_starts() -> None:
    with ThreadRuntime(max_workers=1) as rt:
        job = rt.call(lambda s: s.submit())
        done = rt.wait(job.id, TIMEOUT)
    assert done.status is S.FAILED
    assert done.failure_reasons == (
        FailureReason("HandlerError", "the runtime has no task or job function for this job"),
    )
