"""The scheduler core: Transcribe's job-queuing rules, the job lifecycle, events, bad input.

Every time-dependent test runs on a ``ManualClock``. Every refused call is
checked for its exact error and message and for leaving the scheduler as it
was (``fingerprint``), with no event delivered.
"""

from __future__ import annotations

import functools
import math
import random
import re
from collections.abc import Callable, Iterable
from typing import Any

import attrs
import pytest
from helpers import fingerprint, job_ids, transitions
from hypothesis import given
from hypothesis import strategies as st

import jobqueue
from jobqueue import (
    TRANSITIONS,
    ConflictError,
    Event,
    FailureReason,
    HopRule,
    InvalidTransition,
    JobQueueError,
    JobStatus,
    JobSubmitted,
    JobTransitioned,
    LimitExceededError,
    ManualClock,
    NotFound,
    QueueEvent,
    QueuePosition,
    ReportScope,
    Scheduler,
    StatusChange,
    ValidationError,
)
from jobqueue._core import core_of
from jobqueue._core.records import full_history

S = JobStatus


def statuses(sched: Scheduler) -> list[JobStatus]:
    return [sched.get(job_id).status for job_id in job_ids(sched)]


def count(sched: Scheduler, status: JobStatus) -> int:
    return statuses(sched).count(status)


def history(sched: Scheduler, job_id: str) -> list[tuple[float, str]]:
    return [(c.time, c.status.value) for c in sched.get(job_id).history]


def starts(events: Iterable[Event]) -> list[str]:
    """Ids of jobs that became Active, in order."""
    return [e.job_id for e in events if isinstance(e, JobTransitioned) and e.new is S.ACTIVE]


def assert_refused(
    sched: Scheduler,
    call: Callable[[], object],
    error: type[JobQueueError],
    message: str,
) -> None:
    """``call`` raises exactly ``error(message)``; nothing changes and no event is delivered."""
    events: list[Event] = []
    unsubscribe = sched.subscribe(events.append)
    before = fingerprint(sched)
    with pytest.raises(error, match=f"^{re.escape(message)}$") as info:
        call()
    unsubscribe()
    assert type(info.value) is error
    assert fingerprint(sched) == before
    assert events == []
    sched.check_invariants()


# ---------------------------------------------------------------------- Transcribe: slots


def test_hundred_deferred_submissions_fill_ninety_slots_and_queue_ten() -> None:
    sched = Scheduler(ManualClock())
    for _ in range(100):
        sched.submit(deferred=True)
    assert count(sched, S.ACTIVE) == 90
    assert count(sched, S.READY) == 10
    info = sched.get_queue("default")
    assert (info.slots, info.deferred_limit, info.running, info.waiting) == (100, 90, 90, 10)
    sched.check_invariants()


def test_non_deferred_submission_then_starts_at_once() -> None:
    sched = Scheduler(ManualClock())
    for _ in range(100):
        sched.submit(deferred=True)
    job = sched.submit(deferred=False)
    assert job.status is S.ACTIVE
    assert count(sched, S.ACTIVE) == 91
    assert count(sched, S.READY) == 10  # it went past the waiting line, not through it
    sched.check_invariants()


def test_non_deferred_jobs_may_use_every_slot_deferred_ones_may_not() -> None:
    sched = Scheduler(ManualClock())
    for _ in range(100):
        assert sched.submit(deferred=False).status is S.ACTIVE
    assert sched.get_queue("default").running == 100
    assert_refused(
        sched,
        lambda: sched.submit(deferred=False),
        LimitExceededError,
        "no free slot in queue 'default': all 100 slots are in use",
    )
    assert sched.submit(deferred=True).status is S.READY


@pytest.mark.parametrize(
    ("slots", "share", "limit"),
    [
        (1, 0.9, 1),  # floor(0.9) = 0, but at least one
        (100, 0.29, 29),  # 0.29 * 100 is 28.999999999999996 in floats
        (100, 0.57, 57),  # 56.99999999999999 in floats
        (100, 0.9, 90),
        (10, 0.01, 1),
        (7, 0.5, 3),
        (3, 1.0, 3),
        (1, 1.0, 1),
    ],
)
def test_deferred_share_is_max_one_floor_share_times_slots(
    slots: int, share: float, limit: int
) -> None:
    assert max(1, math.floor(round(share * slots, 9))) == limit  # the rule, stated once more
    sched = Scheduler(ManualClock())
    assert sched.create_queue("q", slots=slots, deferred_share=share).deferred_limit == limit
    for _ in range(limit + 1):
        sched.submit(queue="q", deferred=True)
    info = sched.get_queue("q")
    assert (info.running, info.waiting) == (limit, 1)
    # The slots above the share are kept for jobs that do not wait.
    for _ in range(slots - limit):
        assert sched.submit(queue="q", deferred=False).status is S.ACTIVE
    assert_refused(
        sched,
        lambda: sched.submit(queue="q", deferred=False),
        LimitExceededError,
        f"no free slot in queue 'q': all {slots} slots are in use",
    )
    sched.check_invariants()


def test_changing_the_share_at_run_time_recomputes_the_limit_and_starts_waiting_jobs() -> None:
    sched = Scheduler(ManualClock())
    sched.create_queue("q", slots=10, deferred_share=0.5)
    for _ in range(8):
        sched.submit(queue="q")
    assert sched.get_queue("q").running == 5
    info = sched.update_queue("q", deferred_share=0.7)
    assert (info.deferred_limit, info.running, info.waiting) == (7, 7, 1)
    # Lowering it stops nothing that runs.
    info = sched.update_queue("q", deferred_share=0.2)
    assert (info.deferred_limit, info.running, info.waiting) == (2, 7, 1)
    sched.check_invariants()


def test_non_deferred_with_no_free_slot_stores_nothing() -> None:
    sched = Scheduler(ManualClock())
    sched.create_queue("q", slots=2)
    first = sched.submit(queue="q", deferred=False).id
    sched.submit(queue="q", deferred=False)
    size = len(sched)
    assert_refused(
        sched,
        lambda: sched.submit(queue="q", deferred=False, name="wanted", tags={"a": "b"}),
        LimitExceededError,
        "no free slot in queue 'q': all 2 slots are in use",
    )
    assert len(sched) == size
    # The refused job's name was not taken, nor its id.
    sched.complete(first)
    job = sched.submit(queue="q", deferred=False, name="wanted")
    assert (job.id, job.status) == ("job-3", S.ACTIVE)


def test_non_deferred_submission_to_a_paused_queue_is_refused() -> None:
    sched = Scheduler(ManualClock())
    sched.pause_queue("default")
    assert_refused(
        sched,
        lambda: sched.submit(deferred=False),
        LimitExceededError,
        "queue 'default' is paused: a non-deferred job cannot start",
    )
    assert sched.submit(deferred=True).status is S.READY


# ---------------------------------------------------------------------- Transcribe: the cap


def full_small_queue(max_waiting: int = 3) -> Scheduler:
    sched = Scheduler(ManualClock())
    sched.create_queue("q", slots=1, max_waiting=max_waiting)
    for _ in range(max_waiting + 1):
        sched.submit(queue="q")
    info = sched.get_queue("q")
    assert (info.running, info.waiting) == (1, max_waiting)
    return sched


def test_one_more_deferred_job_than_the_cap_is_refused() -> None:
    sched = full_small_queue(3)
    assert_refused(
        sched,
        lambda: sched.submit(queue="q", name="extra"),
        LimitExceededError,
        "queue 'q' is full: at most 3 jobs may wait",
    )


def test_room_in_the_queue_returns_when_a_waiting_job_starts() -> None:
    sched = full_small_queue(3)
    sched.complete("job-1")
    assert sched.get("job-2").status is S.ACTIVE
    assert sched.submit(queue="q").status is S.READY
    assert sched.get_queue("q").waiting == 3


def test_suspended_jobs_do_not_count_until_confirmed() -> None:
    sched = full_small_queue(2)
    job = sched.submit(queue="q", confirmation_required=True).id
    assert sched.get(job).status is S.SUSPENDED
    assert_refused(
        sched,
        lambda: sched.confirm(job),
        LimitExceededError,
        "queue 'q' is full: at most 2 jobs may wait",
    )
    assert sched.get(job).status is S.SUSPENDED
    sched.complete("job-1")
    assert sched.confirm(job).status is S.READY


def test_non_deferred_confirmation_needs_a_free_slot() -> None:
    sched = Scheduler(ManualClock())
    sched.create_queue("q", slots=1)
    busy = sched.submit(queue="q").id
    job = sched.submit(queue="q", deferred=False, confirmation_required=True).id
    assert_refused(
        sched,
        lambda: sched.confirm(job),
        LimitExceededError,
        "no free slot in queue 'q': all 1 slots are in use",
    )
    sched.complete(busy)
    assert sched.confirm(job).status is S.ACTIVE


def test_cap_set_with_update_queue_applies_to_new_arrivals_only() -> None:
    sched = full_small_queue(3)
    info = sched.update_queue("q", max_waiting=1)
    assert (info.max_waiting, info.waiting) == (1, 3)  # nobody admitted is dropped
    assert_refused(
        sched,
        lambda: sched.submit(queue="q"),
        LimitExceededError,
        "queue 'q' is full: at most 1 jobs may wait",
    )
    for done, waiting in (("job-1", 2), ("job-2", 1)):
        sched.complete(done)  # one starts: still over, then at the cap of one
        assert sched.get_queue("q").waiting == waiting
        assert_refused(
            sched,
            lambda: sched.submit(queue="q"),
            LimitExceededError,
            "queue 'q' is full: at most 1 jobs may wait",
        )
    sched.update_queue("q", max_waiting=4)
    for _ in range(3):
        sched.submit(queue="q")
    assert sched.get_queue("q").waiting == 4
    sched.check_invariants()


def test_the_default_cap_is_ten_thousand_waiting_jobs() -> None:
    sched = Scheduler(ManualClock())
    for _ in range(10_090):
        sched.submit()
    info = sched.get_queue("default")
    assert (info.max_waiting, info.running, info.waiting) == (10_000, 90, 10_000)
    events: list[Event] = []
    sched.subscribe(events.append)
    with pytest.raises(
        LimitExceededError, match=re.escape("queue 'default' is full: at most 10000 jobs may wait")
    ):
        sched.submit()
    assert len(sched) == 10_090
    assert events == []
    assert sched.get_queue("default") == info
    # The ten slots kept free still take work that does not wait.
    assert sched.submit(deferred=False).status is S.ACTIVE


# ---------------------------------------------------------------------- Transcribe: FIFO


@given(rng=st.randoms(use_true_random=False), slots=st.integers(1, 4))
def test_fifo_starts_waiting_jobs_in_submission_order(rng: random.Random, slots: int) -> None:
    clock = ManualClock()
    sched = Scheduler(clock)
    sched.create_queue("q", slots=slots, deferred_share=1.0)
    events: list[Event] = []
    sched.subscribe(events.append)
    submitted = [sched.submit(queue="q").id for _ in range(12)]
    while True:
        running = [j for j in submitted if sched.get(j).status is S.ACTIVE]
        if not running:
            break
        clock.advance(1.0)
        sched.complete(rng.choice(running))  # finish in any order
    assert starts(events) == submitted


def test_a_confirmed_job_takes_its_place_by_submission_time() -> None:
    # FIFO is submission order: a job confirmed late goes ahead of jobs
    # submitted after it, even if they began waiting before it was confirmed.
    sched = Scheduler(ManualClock())
    sched.create_queue("q", slots=1)
    busy = sched.submit(queue="q").id
    early = sched.submit(queue="q", confirmation_required=True).id
    late = sched.submit(queue="q").id
    sched.confirm(early)
    assert [sched.position(j) for j in (early, late)] == [
        QueuePosition("q", 1, 0),
        QueuePosition("q", 2, 1),
    ]
    sched.complete(busy)
    assert (sched.get(early).status, sched.get(late).status) == (S.ACTIVE, S.READY)


def test_cancelled_waiting_jobs_leave_the_line_and_the_rest_keep_order() -> None:
    sched = Scheduler(ManualClock())
    sched.create_queue("q", slots=1)
    events: list[Event] = []
    sched.subscribe(events.append)
    ids = [sched.submit(queue="q").id for _ in range(5)]
    sched.cancel(ids[2])
    sched.fail(ids[3], "gone")
    for job in ids[:2]:
        sched.complete(job)
    assert starts(events) == [ids[0], ids[1], ids[4]]
    assert sched.position(ids[4]) is None


def test_lowering_slots_stops_new_starts_and_kills_nothing() -> None:
    sched = Scheduler(ManualClock())
    sched.create_queue("q", slots=5, deferred_share=1.0)
    ids = [sched.submit(queue="q").id for _ in range(8)]
    events: list[Event] = []
    sched.subscribe(events.append)

    info = sched.update_queue("q", slots=2)
    assert (info.slots, info.running, info.waiting) == (2, 5, 3)
    assert [type(e) for e in events] == [QueueEvent]  # no job changed
    assert [sched.get(j).status for j in ids[:5]] == [S.ACTIVE] * 5
    sched.check_invariants()

    for job in ids[:3]:
        sched.complete(job)  # 2 still run: the queue is at its new limit
    assert starts(events) == []
    assert_refused(
        sched,
        lambda: sched.submit(queue="q", deferred=False),
        LimitExceededError,
        "no free slot in queue 'q': all 2 slots are in use",
    )
    sched.complete(ids[3])
    assert starts(events) == [ids[5]]

    sched.update_queue("q", slots=4)  # raising starts waiting jobs at once
    assert starts(events) == [ids[5], ids[6], ids[7]]
    sched.check_invariants()


# ---------------------------------------------------------------------- names


def test_names_are_unique_among_unfinished_jobs() -> None:
    sched = Scheduler(ManualClock())
    sched.create_queue("q", slots=1)
    sched.submit(queue="q", name="active")
    sched.submit(queue="q", name="ready")
    sched.submit(name="suspended", confirmation_required=True)
    for name in ("active", "ready", "suspended"):
        assert_refused(
            sched,
            functools.partial(sched.submit, name=name),
            ConflictError,
            f"job name {name!r} is already used by an unfinished job",
        )


def test_acknowledged_cancelling_job_keeps_its_name() -> None:
    sched = Scheduler(ManualClock(), acknowledge=True)
    job = sched.submit(name="clip").id
    sched.cancel(job)
    assert_refused(
        sched,
        lambda: sched.submit(name="clip"),
        ConflictError,
        "job name 'clip' is already used by an unfinished job",
    )
    sched.cancelled(job)
    assert sched.submit(name="clip").status is S.ACTIVE


@pytest.mark.parametrize(
    "finish",
    [
        lambda s, j: s.complete(j),
        lambda s, j: s.cancel(j),
        lambda s, j: s.fail(j, "broken"),
    ],
    ids=["complete", "cancel", "fail"],
)
def test_names_are_free_again_once_the_job_finished(
    finish: Callable[[Scheduler, str], object],
) -> None:
    sched = Scheduler(ManualClock())
    first = sched.submit(name="clip-42").id
    finish(sched, first)
    second = sched.submit(name="clip-42")
    assert second.id != first
    assert (second.name, second.status) == ("clip-42", S.ACTIVE)
    assert sched.get(first).name == "clip-42"  # the finished job keeps its name


@pytest.mark.parametrize(
    "name", ["a", "x" * 200, "Clip-42_v1.0", "0", "..", "-_-"], ids=lambda n: n[:12]
)
def test_valid_names(name: str) -> None:
    assert Scheduler(ManualClock()).submit(name=name).name == name


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("x" * 201, "name must be 1-200 characters, got 201"),
        ("", "name must be 1-200 characters, got 0"),
        ("a b", "name may contain only 0-9, a-z, A-Z, '.', '_' and '-', got 'a b'"),
        ("clip/42", "name may contain only 0-9, a-z, A-Z, '.', '_' and '-', got 'clip/42'"),
        ("café", "name may contain only 0-9, a-z, A-Z, '.', '_' and '-', got 'café'"),
        ("a\n", "name may contain only 0-9, a-z, A-Z, '.', '_' and '-', got 'a\\n'"),
        (42, "name must be a str, got int"),
    ],
    ids=["201", "empty", "space", "slash", "accent", "newline", "int"],
)
def test_invalid_names_are_refused(name: Any, message: str) -> None:
    sched = Scheduler(ManualClock())
    sched.submit(name="other")
    assert_refused(sched, lambda: sched.submit(name=name), ValidationError, message)


# ---------------------------------------------------------------------- lifecycle


def test_history_records_every_status_with_its_time() -> None:
    clock = ManualClock(10.0)
    sched = Scheduler(clock)
    sched.create_queue("q", slots=1)
    first = sched.submit(queue="q").id
    clock.advance(2.0)
    second = sched.submit(queue="q").id
    clock.advance(3.0)
    sched.complete(first)
    clock.advance(4.0)
    sched.complete(second)
    assert history(sched, first) == [
        (10.0, "New"),
        (10.0, "Preparing"),
        (10.0, "Ready"),
        (10.0, "Active"),
        (15.0, "Complete"),
    ]
    assert history(sched, second) == [
        (12.0, "New"),
        (12.0, "Preparing"),
        (12.0, "Ready"),  # waits for the slot
        (15.0, "Active"),
        (19.0, "Complete"),
    ]
    job = sched.get(second)
    assert (job.created_at, job.started_at, job.finished_at, job.run_seconds) == (
        12.0,
        15.0,
        19.0,
        4.0,
    )
    assert job.history[0] == StatusChange(12.0, S.NEW)


def test_confirmation_required_waits_in_suspended_until_confirmed() -> None:
    clock = ManualClock()
    sched = Scheduler(clock)
    job = sched.submit(confirmation_required=True)
    assert job.status is S.SUSPENDED
    assert job.confirmation_required
    assert sched.get_queue("default").waiting == 0  # not in the line
    clock.advance(4.0)
    assert sched.confirm(job.id).status is S.ACTIVE
    assert history(sched, job.id) == [
        (0.0, "New"),
        (0.0, "Preparing"),
        (0.0, "Suspended"),
        (4.0, "Ready"),
        (4.0, "Active"),
    ]
    assert_refused(
        sched,
        lambda: sched.confirm(job.id),
        InvalidTransition,
        f"job {job.id!r} cannot go from Active to Ready",
    )


def test_a_confirmed_job_never_returns_to_suspended() -> None:
    clock = ManualClock()
    sched = Scheduler(clock)
    sched.create_queue("q", slots=1)
    sched.submit(queue="q")
    job = sched.submit(queue="q", confirmation_required=True).id
    assert sched.confirm(job).status is S.READY  # waits for the slot
    assert_refused(
        sched,
        lambda: sched.confirm(job),
        InvalidTransition,
        f"job {job!r} cannot go from Ready to Ready",
    )
    clock.advance(1.0)
    sched.complete("job-1")
    sched.complete(job)
    seen = [status for _, status in history(sched, job)]
    assert seen == ["New", "Preparing", "Suspended", "Ready", "Active", "Complete"]
    # Nor could it: no path in the table leads from Ready back to Suspended.
    reachable: set[JobStatus] = set()
    todo = [S.READY]
    while todo:
        for nxt in TRANSITIONS[todo.pop()]:
            if nxt not in reachable:
                reachable.add(nxt)
                todo.append(nxt)
    assert S.SUSPENDED not in reachable


def test_manifest_reader_that_raises_fails_the_job_in_preparing() -> None:
    clock = ManualClock(3.0)
    sched = Scheduler(clock)
    events: list[Event] = []
    sched.subscribe(events.append)

    def reader() -> list[str]:
        raise OSError("bucket is gone")

    job = sched.submit(tasks=reader, name="clip")
    assert job.status is S.FAILED
    assert job.failure_reasons == (FailureReason("ManifestReadError", "OSError: bucket is gone"),)
    assert history(sched, job.id) == [
        (3.0, "New"),
        (3.0, "Preparing"),
        (3.0, "Failing"),
        (3.0, "Failed"),
    ]
    assert [e.reason for e in events if isinstance(e, JobTransitioned)] == [
        "",
        "ManifestReadError",
        "",
    ]
    assert sched.get_queue("default").running == 0
    assert sched.submit(name="clip").status is S.ACTIVE  # a failed job frees its name


def test_manifest_reader_returning_a_bad_manifest_fails_the_job() -> None:
    sched = Scheduler(ManualClock())
    job = sched.submit(tasks=lambda: ["a", "b", "a"])
    assert job.status is S.FAILED
    assert job.failure_reasons == (
        FailureReason(
            "ManifestReadError", "ValidationError: task key 'a' appears twice in the manifest"
        ),
    )


def test_manifest_reader_sets_the_tasks() -> None:
    sched = Scheduler(ManualClock())
    job = sched.submit(tasks=lambda: iter(["a.wav", "b.wav"]))
    assert (job.status, job.tasks_total) == (S.ACTIVE, 2)


def test_without_a_reader_a_job_still_passes_preparing() -> None:
    sched = Scheduler(ManualClock())
    events: list[Event] = []
    sched.subscribe(events.append)
    sched.submit(tasks=["a"])
    assert transitions(events) == [
        (0.0, "job-1", "New", "Preparing"),
        (0.0, "job-1", "Preparing", "Ready"),
        (0.0, "job-1", "Ready", "Active"),
    ]


# ---------------------------------------------------------------------- acknowledgement modes


def test_immediate_mode_completes_cancelling_and_failing_at_once() -> None:
    sched = Scheduler(ManualClock(), failure_threshold_tasks=1)
    sched.create_queue("q", slots=1)
    first = sched.submit(queue="q").id
    second = sched.submit(queue="q", tasks=["t"]).id
    third = sched.submit(queue="q").id
    assert sched.cancel(first).status is S.CANCELLED
    assert sched.get(second).status is S.ACTIVE  # the slot was freed at once
    assert sched.record_task(second, "t", ok=False).status is S.FAILED
    assert sched.get(third).status is S.ACTIVE
    assert [s for _, s in history(sched, first)][-2:] == ["Cancelling", "Cancelled"]
    assert [s for _, s in history(sched, second)][-2:] == ["Failing", "Failed"]


def test_acknowledged_cancel_holds_the_slot_until_cancelled() -> None:
    clock = ManualClock()
    sched = Scheduler(clock, acknowledge=True)
    sched.create_queue("q", slots=1)
    running = sched.submit(queue="q").id
    waiting = sched.submit(queue="q").id
    clock.advance(2.0)
    assert sched.cancel(running).status is S.CANCELLING
    assert sched.get(waiting).status is S.READY
    assert sched.get_queue("q").running == 1
    assert_refused(
        sched,
        lambda: sched.submit(queue="q", deferred=False),
        LimitExceededError,
        "no free slot in queue 'q': all 1 slots are in use",
    )
    assert_refused(
        sched,
        lambda: sched.cancel(running),
        InvalidTransition,
        f"job {running!r} cannot go from Cancelling to Cancelling",
    )
    clock.advance(1.0)
    assert sched.cancelled(running).status is S.CANCELLED
    assert sched.get(waiting).status is S.ACTIVE
    assert history(sched, running)[-2:] == [(2.0, "Cancelling"), (3.0, "Cancelled")]
    assert sched.get(running).run_seconds == 3.0  # it held the slot until acknowledged


@pytest.mark.parametrize("confirm", [False, True], ids=["ready", "suspended"])
def test_acknowledged_cancel_of_a_job_with_no_work_is_immediate(confirm: bool) -> None:
    sched = Scheduler(ManualClock(), acknowledge=True)
    sched.create_queue("q", slots=1)
    sched.submit(queue="q")
    job = sched.submit(queue="q", confirmation_required=confirm).id
    assert sched.cancel(job).status is S.CANCELLED
    assert sched.get_queue("q").waiting == 0


def test_acknowledged_failing_holds_the_slot_until_fail() -> None:
    sched = Scheduler(ManualClock(), acknowledge=True, failure_threshold_tasks=2)
    sched.create_queue("q", slots=1)
    job = sched.submit(queue="q", tasks=["a", "b"]).id
    waiting = sched.submit(queue="q").id
    sched.record_task(job, "a", ok=False, error_code="E")
    assert sched.get(job).status is S.ACTIVE  # the threshold counts from 2 tasks
    assert sched.record_task(job, "b", ok=False).status is S.FAILING
    assert sched.get(waiting).status is S.READY
    done = sched.fail(job, "worker stopped", code="Stopped")
    assert done.status is S.FAILED
    assert done.failure_reasons == (
        FailureReason("TaskFailureThreshold", "2 of 2 tasks failed, more than 50%"),
        FailureReason("Stopped", "worker stopped"),
    )
    assert sched.get(waiting).status is S.ACTIVE


# ---------------------------------------------------------------------- events


def test_subscribers_receive_every_transition_in_order_with_times() -> None:
    clock = ManualClock()
    sched = Scheduler(clock)
    sched.create_queue("q", slots=1)
    events: list[Event] = []
    sched.subscribe(events.append)

    a = sched.submit(queue="q").id
    b = sched.submit(queue="q").id
    clock.set(2.0)
    c = sched.submit(queue="q", confirmation_required=True).id
    clock.set(3.0)
    sched.complete(a)
    clock.set(5.0)
    sched.confirm(c)
    clock.set(7.0)
    sched.cancel(b)
    clock.set(9.0)
    sched.fail(c, "disk full")

    assert transitions(events) == [
        (0.0, a, "New", "Preparing"),
        (0.0, a, "Preparing", "Ready"),
        (0.0, a, "Ready", "Active"),  # a free slot: a starts at once
        (0.0, b, "New", "Preparing"),
        (0.0, b, "Preparing", "Ready"),  # b waits for a's slot
        (2.0, c, "New", "Preparing"),
        (2.0, c, "Preparing", "Suspended"),  # c waits for confirmation
        (3.0, a, "Active", "Complete"),
        (3.0, b, "Ready", "Active"),  # a's slot goes to b
        (5.0, c, "Suspended", "Ready"),  # confirmed: c joins the line
        (7.0, b, "Active", "Cancelling"),
        (7.0, b, "Cancelling", "Cancelled"),
        (7.0, c, "Ready", "Active"),  # b's slot goes to c
        (9.0, c, "Active", "Failing"),
        (9.0, c, "Failing", "Failed"),
    ]
    submitted = [(e.time, e.job_id) for e in events if isinstance(e, JobSubmitted)]
    assert submitted == [(0.0, a), (0.0, b), (2.0, c)]
    # Each submission is announced before its job's first transition.
    first_transition: dict[str, int] = {}
    for i, e in enumerate(events):
        if isinstance(e, JobTransitioned):
            first_transition.setdefault(e.job_id, i)
    for i, e in enumerate(events):
        if isinstance(e, JobSubmitted):
            assert i < first_transition[e.job_id]


def test_events_match_each_jobs_history() -> None:
    clock = ManualClock()
    sched = Scheduler(clock)
    events: list[Event] = []
    sched.subscribe(events.append)
    for i in range(3):
        clock.advance(1.0)
        sched.submit(confirmation_required=i == 1)
    clock.advance(1.0)
    sched.cancel("job-2")
    for job_id in job_ids(sched):
        from_events = [(t, new) for t, j, _, new in transitions(events) if j == job_id]
        assert history(sched, job_id)[1:] == from_events


def test_unsubscribe_stops_delivery_to_that_subscriber_only() -> None:
    sched = Scheduler(ManualClock())
    kept: list[Event] = []
    dropped: list[Event] = []
    sched.subscribe(kept.append)
    unsubscribe = sched.subscribe(dropped.append)
    sched.submit()
    delivered = len(dropped)
    assert delivered == len(kept) > 0
    unsubscribe()
    unsubscribe()  # a second call is harmless
    sched.submit()
    assert len(dropped) == delivered
    assert len(kept) > delivered


def test_a_subscriber_may_call_back_and_nested_events_stay_in_order() -> None:
    sched = Scheduler(ManualClock())
    sched.create_queue("q", slots=1)
    a, b, c = (sched.submit(queue="q").id for _ in range(3))
    log: list[Event] = []
    views: list[tuple[str, str, bool]] = []

    def worker(event: Event) -> None:
        # A runtime that finishes each job as soon as it starts.
        if isinstance(event, JobTransitioned):
            sched.check_invariants()
            job = sched.get(event.job_id)
            # The state already contains the change being announced.
            views.append(
                (event.job_id, event.new.value, StatusChange(event.time, event.new) in job.history)
            )
            if event.new is S.ACTIVE:
                sched.complete(event.job_id)

    sched.subscribe(worker)
    sched.subscribe(log.append)
    result = sched.complete(a)

    assert result.status is S.COMPLETE
    assert [(j, old, new) for _, j, old, new in transitions(log)] == [
        (a, "Active", "Complete"),
        (b, "Ready", "Active"),  # a's slot goes to b ...
        (b, "Active", "Complete"),  # ... which the worker finishes from inside delivery
        (c, "Ready", "Active"),
        (c, "Active", "Complete"),
    ]
    assert all(present for _, _, present in views)
    assert statuses(sched) == [S.COMPLETE] * 3
    sched.check_invariants()


def test_a_raising_subscriber_does_not_stop_delivery_and_its_error_is_raised() -> None:
    sched = Scheduler(ManualClock())
    log: list[Event] = []
    boom = ValueError("subscriber broke")
    calls: list[Event] = []

    def broken(event: Event) -> None:
        calls.append(event)
        if len(calls) == 2:
            raise boom

    sched.subscribe(broken)
    sched.subscribe(log.append)
    with pytest.raises(ValueError) as info:
        sched.submit()
    assert info.value is boom
    assert [type(e) for e in log] == [JobSubmitted] + [JobTransitioned] * 3
    assert calls == log  # the broken subscriber still received every event
    assert sched.get("job-1").status is S.ACTIVE  # the submission was accepted
    sched.check_invariants()
    # Nothing is delivered twice afterwards.
    sched.complete("job-1")
    assert transitions(log)[-1] == (0.0, "job-1", "Active", "Complete")
    assert len(log) == 5


def test_events_cut_off_by_a_base_exception_come_with_the_next_call() -> None:
    sched = Scheduler(ManualClock())
    log: list[Event] = []

    def interrupted(event: Event) -> None:
        log.append(event)
        if len(log) == 2:
            raise KeyboardInterrupt

    sched.subscribe(interrupted)
    with pytest.raises(KeyboardInterrupt):
        sched.submit()
    assert [type(e) for e in log] == [JobSubmitted, JobTransitioned]
    sched.complete("job-1")
    # The two events it cut off, then the completion's: each exactly once.
    assert [type(e) for e in log] == [JobSubmitted] + [JobTransitioned] * 4
    assert [t[2:] for t in transitions(log)] == [
        ("New", "Preparing"),
        ("Preparing", "Ready"),
        ("Ready", "Active"),
        ("Active", "Complete"),
    ]
    sched.check_invariants()


def test_every_event_names_its_job_or_queue_right_after_its_time() -> None:
    # Events are recorded raw, as (kind, *fields), and the journal reads the
    # job or queue an event is about from the same place in all of them.
    exported = [getattr(jobqueue, name) for name in jobqueue.__all__]
    kinds = [k for k in exported if isinstance(k, type) and issubclass(k, Event) and k is not Event]
    assert len(kinds) == 13
    for kind in kinds:
        names = [field.name for field in attrs.fields(kind)]
        assert names[:2] == ["time", "queue" if kind is QueueEvent else "job_id"]


def test_only_the_first_subscriber_error_is_raised() -> None:
    sched = Scheduler(ManualClock())
    first = RuntimeError("first")

    def raise_first(event: Event) -> None:
        raise first

    def raise_second(event: Event) -> None:
        raise KeyError("second")

    sched.subscribe(raise_first)
    sched.subscribe(raise_second)
    with pytest.raises(RuntimeError) as info:
        sched.submit()
    assert info.value is first


# ---------------------------------------------------------------------- bad input


def populated() -> Scheduler:
    """A scheduler with a job in most statuses and a full one-slot queue ``small``.

    job-1 Active in small (tasks t1 done, t2), job-2 Ready in small (the queue
    is full), job-3 Suspended, job-4 Complete, job-5 Active in default.
    """
    clock = ManualClock(10.0)
    sched = Scheduler(clock)
    sched.create_queue("small", slots=1, max_waiting=1, tags={"team": "a"})
    sched.submit(queue="small", name="busy", tasks=["t1", "t2"], tags={"k": "v"})
    sched.submit(queue="small", name="waiting")
    sched.submit(name="held", confirmation_required=True)
    sched.submit(name="done")
    sched.complete("job-4")
    sched.submit(priority=3, hops=[HopRule("small", 60.0)], deferred=False)
    sched.record_task("job-1", "t1", ok=True)
    clock.advance(5.0)
    assert statuses(sched) == [S.ACTIVE, S.READY, S.SUSPENDED, S.COMPLETE, S.ACTIVE]
    return sched


Call = Callable[[Scheduler], object]
NAME_CHARS = "name may contain only 0-9, a-z, A-Z, '.', '_' and '-'"
PRIORITY_RANGE = "-2147483648..2147483647"
ALL_STATUSES = ", ".join(repr(s.value) for s in JobStatus)

BAD_INPUT: list[tuple[str, Call, type[JobQueueError], str]] = [
    # unknown job
    *[
        (f"unknown-job-{name}", call, NotFound, "unknown job 'job-99'")
        for name, call in [
            ("get", lambda s: s.get("job-99")),
            ("cancel", lambda s: s.cancel("job-99")),
            ("confirm", lambda s: s.confirm("job-99")),
            ("complete", lambda s: s.complete("job-99")),
            ("fail", lambda s: s.fail("job-99", "x")),
            ("paused", lambda s: s.paused("job-99")),
            ("cancelled", lambda s: s.cancelled("job-99")),
            ("update_priority", lambda s: s.update_priority("job-99", 1)),
            ("put_tags", lambda s: s.put_tags("job-99", {})),
            ("get_tags", lambda s: s.get_tags("job-99")),
            ("delete_tags", lambda s: s.delete_tags("job-99")),
            ("record_task", lambda s: s.record_task("job-99", "t", ok=True)),
            ("set_progress", lambda s: s.set_progress("job-99", 0.5)),
            ("position", lambda s: s.position("job-99")),
            ("tasks", lambda s: s.tasks("job-99")),
            ("report", lambda s: s.report("job-99")),
        ]
    ],
    ("unknown-job-unhashable", lambda s: s.get([1]), NotFound, "unknown job [1]"),  # type: ignore[arg-type]
    # unknown queue
    *[
        (f"unknown-queue-{name}", call, NotFound, "unknown queue 'nope'")
        for name, call in [
            ("submit", lambda s: s.submit(queue="nope")),
            ("get_queue", lambda s: s.get_queue("nope")),
            ("update_queue", lambda s: s.update_queue("nope", slots=1)),
            ("pause_queue", lambda s: s.pause_queue("nope")),
            ("resume_queue", lambda s: s.resume_queue("nope")),
            ("delete_queue", lambda s: s.delete_queue("nope")),
        ]
    ],
    ("unknown-queue-hop", lambda s: s.submit(hops=[HopRule("nope", 5.0)]), NotFound,
     "hops[0].queue: unknown queue 'nope'"),
    # duplicates and conflicts
    ("dup-name-active", lambda s: s.submit(name="busy"), ConflictError,
     "job name 'busy' is already used by an unfinished job"),
    ("dup-name-suspended", lambda s: s.submit(queue="small", name="held"), ConflictError,
     "job name 'held' is already used by an unfinished job"),
    ("dup-queue", lambda s: s.create_queue("small"), ConflictError,
     "queue 'small' already exists"),
    ("queue-in-use", lambda s: s.delete_queue("small"), ConflictError,
     "queue 'small' is in use by job 'job-1'"),
    ("priority-of-finished", lambda s: s.update_priority("job-4", 1), ConflictError,
     "job 'job-4' is Complete: its priority cannot change"),
    ("task-twice", lambda s: s.record_task("job-1", "t1", ok=False), ConflictError,
     "task 't1' of job 'job-1' was already recorded"),
    ("task-not-running", lambda s: s.record_task("job-2", "t", ok=True), ConflictError,
     "job 'job-2' is Ready: task outcomes are accepted only while it runs"),
    # invalid transitions
    ("complete-ready", lambda s: s.complete("job-2"), InvalidTransition,
     "job 'job-2' cannot go from Ready to Complete"),
    ("confirm-active", lambda s: s.confirm("job-1"), InvalidTransition,
     "job 'job-1' cannot go from Active to Ready"),
    ("cancel-complete", lambda s: s.cancel("job-4"), InvalidTransition,
     "job 'job-4' cannot go from Complete to Cancelling"),
    ("fail-complete", lambda s: s.fail("job-4"), InvalidTransition,
     "job 'job-4' cannot go from Complete to Failing"),
    ("fail-suspended", lambda s: s.fail("job-3"), InvalidTransition,
     "job 'job-3' cannot go from Suspended to Failing"),
    ("paused-active", lambda s: s.paused("job-1"), InvalidTransition,
     "job 'job-1' cannot go from Active to Paused"),
    ("cancelled-ready", lambda s: s.cancelled("job-2"), InvalidTransition,
     "job 'job-2' cannot go from Ready to Cancelled"),
    ("complete-suspended", lambda s: s.complete("job-3"), InvalidTransition,
     "job 'job-3' cannot go from Suspended to Complete"),
    # limits
    ("queue-full", lambda s: s.submit(queue="small"), LimitExceededError,
     "queue 'small' is full: at most 1 jobs may wait"),
    ("no-free-slot", lambda s: s.submit(queue="small", deferred=False), LimitExceededError,
     "no free slot in queue 'small': all 1 slots are in use"),
    # priority
    ("priority-bool", lambda s: s.submit(priority=True), ValidationError,
     "priority must be an int, got bool"),
    ("priority-float", lambda s: s.submit(priority=1.0), ValidationError,  # type: ignore[arg-type]
     "priority must be an int, got float"),
    ("priority-str", lambda s: s.submit(priority="1"), ValidationError,  # type: ignore[arg-type]
     "priority must be an int, got str"),
    ("priority-high", lambda s: s.submit(priority=2**31), ValidationError,
     f"priority must be {PRIORITY_RANGE}, got 2147483648"),
    ("priority-low", lambda s: s.submit(priority=-(2**31) - 1), ValidationError,
     f"priority must be {PRIORITY_RANGE}, got -2147483649"),
    ("update-priority-bool", lambda s: s.update_priority("job-1", False), ValidationError,
     "priority must be an int, got bool"),
    ("update-priority-float", lambda s: s.update_priority("job-2", 2.5), ValidationError,  # type: ignore[arg-type]
     "priority must be an int, got float"),
    ("update-priority-high", lambda s: s.update_priority("job-2", 2**31), ValidationError,
     f"priority must be {PRIORITY_RANGE}, got 2147483648"),
    # tags
    ("tags-51", lambda s: s.submit(tags={f"k{i}": "v" for i in range(51)}), ValidationError,
     "tags may hold at most 50 entries, got 51"),
    ("tag-key-129", lambda s: s.submit(tags={"k" * 129: "v"}), ValidationError,
     "tag key must be 1-128 characters, got 129"),
    ("tag-key-empty", lambda s: s.put_tags("job-1", {"": "v"}), ValidationError,
     "tag key must be 1-128 characters, got 0"),
    ("tag-value-257", lambda s: s.put_tags("job-1", {"k": "v" * 257}), ValidationError,
     "tag value for key 'k' must be 0-256 characters, got 257"),
    ("tag-value-int", lambda s: s.submit(tags={"k": 1}), ValidationError,  # type: ignore[dict-item]
     "tag value for key 'k' must be a str, got int"),
    ("tags-list", lambda s: s.submit(tags=[("k", "v")]), ValidationError,  # type: ignore[arg-type]
     "tags must be a mapping of str to str, got list"),
    # hop rules
    ("hop-wait-zero", lambda s: s.submit(hops=[HopRule("small", 0.0)]), ValidationError,
     "hops[0].wait must be a finite number > 0, got 0.0"),
    ("hop-wait-negative", lambda s: s.submit(hops=[HopRule("small", -5)]), ValidationError,
     "hops[0].wait must be a finite number > 0, got -5"),
    ("hop-wait-nan", lambda s: s.submit(hops=[HopRule("small", math.nan)]), ValidationError,
     "hops[0].wait must be a finite number > 0, got nan"),
    ("hop-wait-inf", lambda s: s.submit(hops=[HopRule("small", math.inf)]), ValidationError,
     "hops[0].wait must be a finite number > 0, got inf"),
    ("hop-wait-bool", lambda s: s.submit(hops=[HopRule("small", True)]), ValidationError,
     "hops[0].wait must be a number, got bool"),
    ("hop-same-queue", lambda s: s.submit(hops=[HopRule("default", 5.0)]), ValidationError,
     "hops[0].queue must differ from the queue it hops from, got 'default'"),
    ("hop-chain-same-queue",
     lambda s: s.submit(hops=[HopRule("small", 5.0), HopRule("small", 5.0)]), ValidationError,
     "hops[1].queue must differ from the queue it hops from, got 'small'"),
    ("hop-priority-bool", lambda s: s.submit(hops=[HopRule("small", 5.0, True)]),
     ValidationError, "hops[0].priority must be an int, got bool"),
    ("hop-priority-high", lambda s: s.submit(hops=[HopRule("small", 5.0, 2**31)]),
     ValidationError, f"hops[0].priority must be {PRIORITY_RANGE}, got 2147483648"),
    ("hop-not-a-rule", lambda s: s.submit(hops=[("small", 5.0)]), ValidationError,  # type: ignore[list-item]
     "hops[0] must be a HopRule, got tuple"),
    ("hops-str", lambda s: s.submit(hops="small"), ValidationError,  # type: ignore[arg-type]
     "hops must be a sequence of HopRule, got str"),
    # tasks
    ("tasks-bool", lambda s: s.submit(tasks=True), ValidationError,
     "tasks must be a sequence of keys, a count or a callable, got bool"),
    ("tasks-str", lambda s: s.submit(tasks="a.wav"), ValidationError,
     "tasks must be a sequence of keys, a count or a callable, got str"),
    ("tasks-set", lambda s: s.submit(tasks={"a"}), ValidationError,  # type: ignore[arg-type]
     "tasks must be a sequence of keys, a count or a callable, got set"),
    ("tasks-negative", lambda s: s.submit(tasks=-1), ValidationError,
     "tasks must be >= 0, got -1"),
    ("tasks-duplicate", lambda s: s.submit(tasks=["a", "b", "a"]), ValidationError,
     "task key 'a' appears twice in the manifest"),
    ("tasks-empty-key", lambda s: s.submit(tasks=["a", ""]), ValidationError,
     "task keys must be non-empty str, got ''"),
    ("tasks-int-key", lambda s: s.submit(tasks=[1]), ValidationError,  # type: ignore[list-item]
     "task keys must be non-empty str, got 1"),
    ("task-not-in-manifest", lambda s: s.record_task("job-1", "t9", ok=True), ValidationError,
     "task key 't9' is not in the manifest of job 'job-1'"),
    # description
    ("description-257", lambda s: s.submit(description="d" * 257), ValidationError,
     "description must be 0-256 characters, got 257"),
    ("description-none", lambda s: s.submit(description=None), ValidationError,  # type: ignore[arg-type]
     "description must be a str, got NoneType"),
    # names
    ("name-201", lambda s: s.submit(name="n" * 201), ValidationError,
     "name must be 1-200 characters, got 201"),
    ("name-chars", lambda s: s.submit(name="a*b"), ValidationError,
     f"{NAME_CHARS}, got 'a*b'"),
    # other choices
    ("report", lambda s: s.submit(report="some"), ValidationError,
     "report must be one of 'all', 'failed', got 'some'"),
    ("acceleration", lambda s: s.submit(acceleration="turbo"), ValidationError,
     "acceleration must be one of 'disabled', 'enabled', 'preferred', got 'turbo'"),
    ("billing-source", lambda s: s.submit(billing_tags_source="me"), ValidationError,
     "billing_tags_source must be one of 'queue', 'job', got 'me'"),
    ("fail-reason", lambda s: s.fail("job-1", 5), ValidationError,  # type: ignore[arg-type]
     "reason must be a str, got int"),
    ("fail-code", lambda s: s.fail("job-1", code=None), ValidationError,  # type: ignore[arg-type]
     "code must be a str, got NoneType"),
    ("progress-range", lambda s: s.set_progress("job-1", 1.5), ValidationError,
     "fraction must be in [0, 1], got 1.5"),
    ("progress-bool", lambda s: s.set_progress("job-1", True), ValidationError,
     "fraction must be a number, got bool"),
    # list_jobs
    ("limit-zero", lambda s: s.list_jobs(limit=0), ValidationError,
     "limit must be 1..1000, got 0"),
    ("limit-1001", lambda s: s.list_jobs(limit=1001), ValidationError,
     "limit must be 1..1000, got 1001"),
    ("limit-bool", lambda s: s.list_jobs(limit=True), ValidationError,
     "limit must be an int, got bool"),
    ("limit-float", lambda s: s.list_jobs(limit=10.0), ValidationError,  # type: ignore[arg-type]
     "limit must be an int, got float"),
    ("token-garbage", lambda s: s.list_jobs(token="garbage"), ValidationError,
     "token is not a continuation token from list_jobs: 'garbage'"),
    ("token-no-number", lambda s: s.list_jobs(token="after:"), ValidationError,
     "token is not a continuation token from list_jobs: 'after:'"),
    ("token-negative", lambda s: s.list_jobs(token="after:-1"), ValidationError,
     "token is not a continuation token from list_jobs: 'after:-1'"),
    ("token-int", lambda s: s.list_jobs(token=3), ValidationError,  # type: ignore[arg-type]
     "token is not a continuation token from list_jobs: 3"),
    ("status-unknown", lambda s: s.list_jobs(statuses={"Running"}), ValidationError,
     f"statuses must be one of {ALL_STATUSES}, got 'Running'"),
    ("status-str", lambda s: s.list_jobs(statuses="active"), ValidationError,
     f"statuses must be one of {ALL_STATUSES}, got 'active'"),
    # queue settings
    ("slots-zero", lambda s: s.create_queue("x", slots=0), ValidationError,
     "slots must be >= 1, got 0"),
    ("slots-bool", lambda s: s.create_queue("x", slots=True), ValidationError,
     "slots must be an int, got bool"),
    ("update-slots-zero", lambda s: s.update_queue("small", slots=0), ValidationError,
     "slots must be >= 1, got 0"),
    ("share-zero", lambda s: s.create_queue("x", deferred_share=0), ValidationError,
     "deferred_share must be in (0, 1], got 0"),
    ("share-above-one", lambda s: s.update_queue("small", deferred_share=1.5), ValidationError,
     "deferred_share must be in (0, 1], got 1.5"),
    ("share-bool", lambda s: s.create_queue("x", deferred_share=True), ValidationError,
     "deferred_share must be a number, got bool"),
    ("max-waiting-zero", lambda s: s.update_queue("small", max_waiting=0), ValidationError,
     "max_waiting must be >= 1, got 0"),
    ("policy-unknown", lambda s: s.create_queue("x", policy="lifo"), ValidationError,  # type: ignore[arg-type]
     "policy must be 'fifo', 'priority' or a Policy, got 'lifo'"),
    ("fifo-preemption", lambda s: s.create_queue("x", preemption=True), ValidationError,
     "preemption needs policy 'priority', got 'fifo'"),
    ("pricing-unknown", lambda s: s.create_queue("x", pricing="free"), ValidationError,
     "pricing must be one of 'on_demand', 'reserved', got 'free'"),
    ("queue-name-chars", lambda s: s.create_queue("my queue"), ValidationError,
     f"{NAME_CHARS}, got 'my queue'"),
    ("queue-name-int", lambda s: s.create_queue(7), ValidationError,  # type: ignore[arg-type]
     "queue name must be a str, got int"),
]  # fmt: skip


@pytest.mark.parametrize(
    ("call", "error", "message"),
    [pytest.param(call, error, message, id=case) for case, call, error, message in BAD_INPUT],
)
def test_bad_input_is_refused_with_its_message_and_changes_nothing(
    call: Call, error: type[JobQueueError], message: str
) -> None:
    sched = populated()
    assert_refused(sched, lambda: call(sched), error, message)


def test_bad_input_cases_have_unique_ids() -> None:
    names = [case for case, *_ in BAD_INPUT]
    assert len(names) == len(set(names))


@pytest.mark.parametrize(
    "call",
    [
        lambda s: s.submit(priority=2**31 - 1),
        lambda s: s.submit(priority=-(2**31)),
        lambda s: s.submit(description="d" * 256),
        lambda s: s.submit(tags={f"k{i}": "v" * 256 for i in range(50)}),
        lambda s: s.submit(tags={"k" * 128: ""}),
        lambda s: s.submit(name="n" * 200),
        lambda s: s.submit(tasks=0),
        lambda s: s.list_jobs(limit=1000),
        lambda s: s.list_jobs(limit=1),
        lambda s: s.update_priority("job-2", 2**31 - 1),
    ],
    ids=[
        "priority-max",
        "priority-min",
        "description-256",
        "tags-50",
        "tag-key-128",
        "name-200",
        "tasks-zero",
        "limit-1000",
        "limit-1",
        "update-priority-max",
    ],
)
def test_values_at_the_limits_are_accepted(call: Call) -> None:
    sched = populated()
    call(sched)
    sched.check_invariants()


def test_list_jobs_pages_with_a_token() -> None:
    sched = populated()
    first = sched.list_jobs(limit=2)
    assert [r.id for r in first] == ["job-1", "job-2"]
    assert first.next_token is not None
    second = sched.list_jobs(limit=2, token=first.next_token)
    assert [r.id for r in second] == ["job-3", "job-4"]
    assert second.next_token is not None
    third = sched.list_jobs(limit=2, token=second.next_token)
    assert ([r.id for r in third], third.next_token) == (["job-5"], None)
    active = sched.list_jobs(statuses={S.ACTIVE, "Suspended"})
    assert [r.id for r in active] == ["job-1", "job-3", "job-5"]


def test_a_snapshot_reports_every_field_of_the_job() -> None:
    # Snapshots are built positionally for speed: each field must land in its place.
    clock = ManualClock(10.0)
    sched = Scheduler(clock)
    sched.create_queue("od", pricing="on_demand", tags={"Team": "a"})
    sched.update_queue("default", slots=1)
    sched.submit()  # takes the only slot, so the job below waits and hops
    job = sched.submit(
        priority=7,
        name="j-1",
        description="about it",
        tags={"k": "v"},
        hops=[HopRule("od", 5.0, priority=9)],
        tasks=["a", "b"],
        report="all",
        acceleration="preferred",
        billing_tags_source="queue",
    )
    clock.advance(5.0)
    sched.poll()
    clock.advance(2.0)
    sched.record_task(job.id, "a", ok=True)
    sched.record_task(job.id, "b", ok=False, error_code="E", message="bad")
    got = sched.fail(job.id, "broke", code="Boom")
    assert got.id == job.id and got.name == "j-1" and got.description == "about it"
    assert (got.status, got.priority) == (S.FAILED, 9)
    assert (got.submission_queue, got.queue) == ("default", "od")
    assert (got.deferred, got.preemptible, got.confirmation_required) == (True, True, False)
    assert (got.created_at, got.started_at, got.finished_at) == (10.0, 15.0, 17.0)
    assert dict(got.tags) == {"k": "v"}
    assert got.hops == (HopRule("od", 5.0, 9),)
    assert [(h.source, h.destination, h.time, h.priority) for h in got.hop_transitions] == [
        ("default", "od", 15.0, 9)
    ]
    assert got.history[-1] == StatusChange(17.0, S.FAILED)
    assert all(type(change) is StatusChange for change in got.history)
    assert (got.tasks_total, got.tasks_succeeded, got.tasks_failed) == (2, 1, 1)
    assert got.failure_reasons == (FailureReason("Boom", "broke"),)
    assert got.report is not None and got.report.value == "all"
    assert (got.acceleration.value, got.accelerated) == ("preferred", True)
    assert got.billing_tags_source.value == "queue"
    assert (got.run_seconds, got.billed_seconds, got.progress) == (2.0, 2.0, 1.0)


def test_a_hook_watching_preparing_sees_each_new_job_as_its_first_move_would() -> None:
    # With no event listener a job is created in Preparing; a hook watching
    # Preparing is still called once per job, with the job already there,
    # and the history is the one the move would have written.
    clock = ManualClock(4.0)
    for listened in (False, True):
        sched = Scheduler(clock)
        outbox = core_of(sched).outbox
        seen: list[tuple[str, str, int, float]] = []

        def hook(rec: Any, now: float, seen: list[tuple[str, str, int, float]] = seen) -> None:
            seen.append((rec.id, rec.status.value, len(full_history(rec)), now))

        outbox.watch[S.PREPARING] = hook
        if listened:
            sched.subscribe(lambda event: None)
        job = sched.submit(deferred=False)
        assert seen == [(job.id, "Preparing", 4, 4.0)]
        assert history(sched, job.id) == [
            (4.0, "New"),
            (4.0, "Preparing"),
            (4.0, "Ready"),
            (4.0, "Active"),
        ]


# ---------------------------------------------------------------------- lean records


@pytest.mark.parametrize(
    "spelling",
    ["job-01", "job-+1", "job- 1", "job-1 ", "job-1_0", "job-\u0661", "JOB-1", "job-1.0", "job-",
     "", "-1", "job--1", "job-" + "9" * 5000],
)  # fmt: skip
def test_only_a_job_s_own_id_finds_it(spelling: str) -> None:
    # Jobs are kept by number and found by the number after the id prefix;
    # int() reads more spellings of a number than the id (a sign, spaces,
    # underscores, other scripts' digits), and none of them name the job.
    sched = Scheduler(ManualClock())
    ids = [sched.submit().id for _ in range(10)]
    assert ids[0] == "job-1" and ids[9] == "job-10"
    assert all(sched.get(job_id).id == job_id and job_id in sched for job_id in ids)
    before = fingerprint(sched)
    with pytest.raises(NotFound, match="unknown job"):
        sched.get(spelling)
    with pytest.raises(NotFound, match="unknown job"):
        sched.cancel(spelling)
    assert spelling not in sched
    assert fingerprint(sched) == before


@pytest.mark.parametrize("prefix", ["", "7", "run-0", "j"])
def test_any_id_prefix_finds_its_jobs_and_no_others(prefix: str) -> None:
    sched = Scheduler(ManualClock(), id_prefix=prefix)
    ids = [sched.submit().id for _ in range(12)]
    assert ids == [f"{prefix}{n}" for n in range(1, 13)]
    assert [sched.get(job_id).id for job_id in ids] == ids
    assert f"{prefix}0" not in sched and f"{prefix}13" not in sched and "job-1" not in sched


def test_a_job_on_the_plain_path_keeps_no_history_list_and_reads_every_step() -> None:
    # New, Preparing and Ready at its creation, Active at its start, Complete
    # at its end: a job that takes only these steps keeps no history list
    # (records.PLAIN_NEXT), and its history reads as if it had written one.
    for listened in (False, True):
        clock = ManualClock(1.0)
        sched = Scheduler(clock)
        sched.update_queue("default", slots=1, deferred_share=1.0)
        if listened:
            sched.subscribe(lambda event: None)
        first = sched.submit().id
        waiting = sched.submit().id
        record = core_of(sched).job
        assert [record(j).history for j in (first, waiting)] == [None, None]
        assert history(sched, waiting) == [(1.0, "New"), (1.0, "Preparing"), (1.0, "Ready")]
        clock.advance(2.0)
        sched.complete(first)
        clock.advance(4.0)
        sched.complete(waiting)
        assert [record(j).history for j in (first, waiting)] == [None, None]
        assert history(sched, first) == [
            (1.0, "New"),
            (1.0, "Preparing"),
            (1.0, "Ready"),
            (1.0, "Active"),
            (3.0, "Complete"),
        ]
        assert history(sched, waiting) == [
            (1.0, "New"),
            (1.0, "Preparing"),
            (1.0, "Ready"),
            (3.0, "Active"),
            (7.0, "Complete"),
        ]
        sched.check_invariants()


def test_a_job_stepping_off_the_plain_path_writes_out_the_steps_it_took() -> None:
    # The first step off the plain path writes the steps so far into a list
    # of the job's own, at their times; every later step is appended to it.
    clock = ManualClock(1.0)
    sched = Scheduler(clock)
    sched.update_queue("default", slots=1, deferred_share=1.0)
    running = sched.submit().id
    held = sched.submit(confirmation_required=True).id
    cancelled = sched.submit().id
    clock.advance(1.0)
    sched.confirm(held)
    sched.cancel(cancelled)
    clock.advance(1.0)
    sched.fail(running, "it broke")
    clock.advance(1.0)
    sched.complete(held)
    record = core_of(sched).job
    assert all(type(record(j).history) is list for j in (running, held, cancelled))
    born = [(1.0, "New"), (1.0, "Preparing")]
    assert history(sched, running) == [
        *born,
        (1.0, "Ready"),
        (1.0, "Active"),
        (3.0, "Failing"),
        (3.0, "Failed"),
    ]
    assert history(sched, held) == [
        *born,
        (1.0, "Suspended"),
        (2.0, "Ready"),
        (3.0, "Active"),
        (4.0, "Complete"),
    ]
    assert history(sched, cancelled) == [
        *born,
        (1.0, "Ready"),
        (2.0, "Cancelling"),
        (2.0, "Cancelled"),
    ]
    sched.check_invariants()


def test_a_finished_job_drops_its_line_and_start_order() -> None:
    # seq and start_seq order lines and running jobs; a finished job is in
    # neither, so however it ended it keeps no number (0, a cached int).
    clock = ManualClock()
    sched = Scheduler(clock)
    sched.update_queue("default", slots=2, deferred_share=1.0)
    done, failed, cancelled, waiting = (sched.submit().id for _ in range(4))
    record = core_of(sched).job
    assert (record(done).seq, record(failed).seq) < (record(cancelled).seq, record(waiting).seq)
    sched.complete(done)
    sched.fail(failed, "broke")
    sched.cancel(cancelled)
    for job_id in (done, failed, cancelled):
        assert (record(job_id).seq, record(job_id).start_seq) == (0, 0)
    assert record(waiting).status is S.ACTIVE and record(waiting).start_seq > 0
    sched.check_invariants()


def test_a_plain_job_keeps_no_extras_from_submission_to_its_end() -> None:
    # The fields few jobs set live apart (JobExtras): a job that sets none of
    # them keeps one None for them all, whatever it went through.
    clock = ManualClock()
    sched = Scheduler(clock=clock)
    done = sched.submit()
    sched.complete(done.id)
    cancelled = sched.submit(confirmation_required=False)
    sched.cancel(cancelled.id)
    record = core_of(sched).job
    assert [record(j).extras for j in (done.id, cancelled.id)] == [None, None]
    # Writing a default makes none either.
    rec = record(done.id)
    rec.progress = 0.0
    rec.hop_index = 0
    rec.failure_reasons = None
    assert rec.extras is None


@pytest.mark.parametrize(
    ("option", "field", "shown", "value"),
    [
        ({"description": "nightly"}, "description", "description", "nightly"),
        ({"confirmation_required": True}, "confirmation_required", "confirmation_required", True),
        ({"hops": [HopRule("other", 5.0)]}, "hops", "hops", (HopRule("other", 5.0),)),
        ({"tasks": ["a", "b"], "report": "all"}, "report_scope", "report", ReportScope.ALL),
    ],
)
def test_a_job_submitted_with_a_rare_option_keeps_it_in_its_extras(
    option: dict[str, Any], field: str, shown: str, value: object
) -> None:
    # The options few jobs use live in JobExtras; the job reads them from there.
    sched = Scheduler(ManualClock())
    sched.create_queue("other")
    job = sched.submit(**option)
    rec = core_of(sched).job(job.id)
    assert rec.extras is not None and getattr(rec.extras, field) == value
    assert getattr(sched.get(job.id), shown) == value
    assert core_of(sched).job(sched.submit().id).extras is None


def test_a_job_that_sets_an_extra_keeps_it_and_reads_every_other_as_its_default() -> None:
    clock = ManualClock()
    sched = Scheduler(clock=clock)
    job = sched.submit()
    sched.set_progress(job.id, 0.25)
    failed = sched.submit()
    sched.fail(failed.id, "it broke", code="Broken")
    record = core_of(sched).job
    rec = record(job.id)
    assert rec.extras is not None and rec.progress == 0.25
    assert (rec.succeeded, rec.failed, rec.failure_reasons, rec.hop_index) == (0, 0, None, 0)
    assert sched.get(job.id).progress == 0.25
    reasons = record(failed.id).failure_reasons
    assert reasons is not None and [r.code for r in reasons] == ["Broken"]
    assert sched.get(failed.id).failure_reasons == tuple(reasons)
