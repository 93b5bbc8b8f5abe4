"""How a runtime's engine learns of status changes: the core's watch hooks, events only on demand.

The engine follows each job through the core's watch hooks and subscribes to
the scheduler's events only while the runtime has subscribers of its own;
these tests check that nothing it did through events is lost: retries, the
subscribers' events in order, task progress counted from before a
subscription, and the driver's next deadline. A runtime's submissions skip
the snapshot ``Scheduler.submit`` returns, and must pass every option as it does.
"""

from __future__ import annotations

import functools
import logging
import math
import threading
from collections.abc import Callable

import pytest
from helpers import IdleBackend

from jobqueue import (
    Event,
    HopRule,
    JobStatus,
    JobTransitioned,
    ManualClock,
    Retry,
    Scheduler,
)
from jobqueue._core import core_of
from jobqueue.runtime import JobContext, Progress, ThreadRuntime, _trusted
from jobqueue.runtime._engine import Engine
from jobqueue.runtime._submission import Manifest
from jobqueue.runtime._work import Work

pytestmark = [pytest.mark.runtime, pytest.mark.usefixtures("no_thread_left_behind")]

TIMEOUT = 10.0
S = JobStatus
QUICK = Retry(attempts=2, backoff=0.005, factor=1.0, max_backoff=0.005, jitter=0.0)


def test_with_no_subscriber_the_scheduler_builds_no_events() -> None:
    with ThreadRuntime(max_workers=1) as rt:
        outbox = core_of(rt.scheduler).outbox
        assert not outbox.listening  # the engine watches; it does not subscribe
        unsubscribe = rt.subscribe(lambda event: None)
        assert outbox.listening
        unsubscribe()
        assert not outbox.listening
        assert rt.wait(rt.submit(job=lambda ctx: 7).id, TIMEOUT).status is S.COMPLETE
    assert not outbox.watch  # the hooks go with the runtime


def test_a_retry_without_subscribers_runs_the_job_function_again_and_logs_it(
    caplog: pytest.LogCaptureFixture,
) -> None:
    calls: list[int] = []

    def flaky(ctx: JobContext) -> int:
        calls.append(1)
        if len(calls) == 1:
            raise RuntimeError("first attempt")
        return len(calls)

    with (
        caplog.at_level(logging.WARNING, logger="jobqueue.runtime"),
        ThreadRuntime(max_workers=1) as rt,
    ):
        handle = rt.submit(job=flaky, retry=QUICK)
        assert handle.result(TIMEOUT) == 2
    warnings = [r.getMessage() for r in caplog.records if r.name == "jobqueue.runtime"]
    assert len(warnings) == 1
    cause = "(HandlerError: RuntimeError: first attempt)"
    assert warnings[0].startswith(f"job {handle.id!r} failed {cause}; attempt 2 starts at ")


def test_subscribers_see_every_transition_of_a_job_in_order() -> None:
    seen: list[tuple[str, JobStatus]] = []
    direct: list[tuple[str, JobStatus]] = []
    with ThreadRuntime(max_workers=2) as rt:
        rt.scheduler.subscribe(
            lambda e: direct.append((e.job_id, e.new)) if isinstance(e, JobTransitioned) else None
        )
        rt.subscribe(
            lambda e: seen.append((e.job_id, e.new)) if isinstance(e, JobTransitioned) else None
        )
        ids = [rt.submit(job=lambda ctx: None).id for _ in range(20)]
        for job_id in ids:
            rt.wait(job_id, TIMEOUT)
    expected = [S.PREPARING, S.READY, S.ACTIVE, S.COMPLETE]
    for events in (seen, direct):
        for job_id in ids:
            assert [status for i, status in events if i == job_id] == expected


def test_progress_counts_the_tasks_recorded_before_the_first_subscriber() -> None:
    clock = ManualClock()
    sched = Scheduler(clock, acknowledge=True)
    engine = Engine(sched, IdleBackend(), progress_interval=0.0)
    job_id = engine.submit(print, None, 1, 5, None, {})
    engine.settle()
    sched.record_task(job_id, "0", ok=True)  # nobody listens: no event is built
    sched.record_task(job_id, "1", ok=True)
    progress: list[tuple[int, float]] = []

    def on_event(event: Event) -> None:
        if isinstance(event, Progress):
            progress.append((event.tasks_done, event.fraction))

    unsubscribe = engine.subscribe(on_event)
    sched.record_task(job_id, "2", ok=True)
    unsubscribe()
    sched.record_task(job_id, "3", ok=False, error_code="Oops")  # counted again on resubscribing
    engine.subscribe(on_event)
    sched.record_task(job_id, "4", ok=True)
    assert progress == [(3, 0.6), (5, 1.0)]


def test_a_timer_armed_as_a_job_starts_waiting_wakes_the_driver() -> None:
    # The driver thread sleeps with no deadline; the hop timer armed when the
    # second job waits in the full queue must wake it (the watch hook notes
    # that the next deadline may have moved), or the job never hops.
    sched = Scheduler()
    sched.create_queue("full", slots=1, deferred_share=1.0)
    sched.create_queue("spare", slots=1, deferred_share=1.0)
    release = threading.Event()
    with ThreadRuntime(sched, max_workers=2) as rt:
        blocker = rt.submit(job=lambda ctx: release.wait(TIMEOUT), queue="full")
        waiting = rt.submit(job=lambda ctx: "hopped", queue="full", hops=[HopRule("spare", 0.05)])
        assert waiting.result(TIMEOUT) == "hopped"
        release.set()
        blocker.result(TIMEOUT)
        assert rt.get(waiting.id).queue == "spare"


def submit_every_option(submit: Callable[..., object], first: str) -> None:
    submit(
        queue="q",
        priority=3,
        deferred=True,
        name="named",
        description="every option",
        tags={"team": "a"},
        hops=[HopRule("spare", 5.0, priority=1)],
        tasks=["x", "y"],
        confirmation_required=False,
        report="failed",
        preemptible=False,
        acceleration="preferred",
        billing_tags_source="job",
        not_before=100.0,
        after=[first],
        max_run=50.0,
        max_wait=60.0,
        retry=Retry(attempts=2),
    )


def trusted_submit(sched: Scheduler, **options: object) -> str:
    return _trusted.submit(sched, options)


def test_a_runtime_submission_passes_every_option_as_scheduler_submit_does() -> None:
    # The runtime submits past the snapshot, passing Scheduler.submit's
    # keywords to the core by position: every one must land where it belongs.
    jobs = []
    for via_runtime in (False, True):
        sched = Scheduler(ManualClock())
        sched.create_queue("q", slots=2)
        sched.create_queue("spare", slots=1)
        first = sched.submit(queue="q").id
        if via_runtime:
            submit_every_option(functools.partial(trusted_submit, sched), first)
        else:
            submit_every_option(sched.submit, first)
        jobs.append(sched.get("job-2"))
    assert jobs[0] == jobs[1]
    assert jobs[1].name == "named" and jobs[1].priority == 3 and not jobs[1].preemptible


def test_a_runtime_submission_refuses_an_unknown_option_and_submits_nothing() -> None:
    sched = Scheduler(ManualClock())
    with pytest.raises(TypeError) as info:
        _trusted.submit(sched, {"tasks": 2, "colour": "red"})
    assert str(info.value) == "submit() got an unexpected keyword argument 'colour'"
    assert len(sched) == 0


def test_deadline_before_agrees_with_next_deadline_with_stale_timers_first() -> None:
    # The runtime asks ``deadline_before(armed)`` after each call; it answers
    # from the timer heaps' first entries when they suffice, and a stale
    # first entry (a cancelled job's hop) must not change the answer.
    sched = Scheduler(ManualClock(), acknowledge=True)
    sched.create_queue("full", slots=1, deferred_share=1.0)
    sched.create_queue("spare", slots=1, deferred_share=1.0)
    engine = Engine(sched, IdleBackend(), 1.0)
    points = [-math.inf, 0.0, 0.5, 1.0, 2.0, 10.0, 20.0, 1e7, 1e8, math.inf]

    def answers() -> list[bool]:
        deadline = engine.next_deadline()
        expected = [deadline is not None and deadline < t for t in points]
        assert [engine.deadline_before(t) for t in points] == expected
        return expected

    assert answers() == [False] * len(points)  # no timer at all
    sched.submit(queue="full")
    waiting = sched.submit(queue="full", hops=[HopRule("spare", 10.0)])
    assert engine.next_deadline() == 10.0
    answers()
    sched.cancel(waiting.id)  # its hop timer stays first, stale; the purge timer counts
    assert core_of(sched).deadlines.earliest() == 10.0
    assert engine.next_deadline() == sched.next_deadline() == 90 * 86400.0
    answers()
    # A merged progress update waiting for its time is a deadline too.
    work = Work("job-1", None, print, 1, Manifest())
    engine._throttle.offer(work, 0.25, 0.0)  # sent at once
    assert engine._throttle.offer(work, 0.5, 0.0)  # merged: due at 1.0
    assert engine.next_deadline() == 1.0
    assert answers()[3:] == [False, True, True, True, True, True, True]
