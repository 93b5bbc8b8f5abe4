"""The job state machine: every (state, target) pair, on the table and through the scheduler.

The first half checks ``check_transition`` and the status views on the table
itself. The second half drives real jobs into every status they can rest in
and asks for each transition the public API can request, checking that the
scheduler agrees with the table and that a refused request changes nothing.
"""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest
from helpers import fingerprint

from jobqueue import (
    TERMINAL,
    TRANSITIONS,
    Event,
    InvalidTransition,
    JobQueueError,
    JobStatus,
    JobTransitioned,
    ManualClock,
    MediaConvertStatus,
    Scheduler,
    TranscribeStatus,
    mediaconvert_status,
    state_diagram,
    transcribe_status,
)
from jobqueue._states import check_transition

S = JobStatus

# SPEC section 2, written out again by hand so that a change to the table
# has to be made twice, on purpose.
SPEC_TABLE: dict[JobStatus, set[JobStatus]] = {
    S.NEW: {S.PREPARING, S.CANCELLING, S.FAILING},
    S.PREPARING: {S.READY, S.SUSPENDED, S.CANCELLING, S.FAILING},
    S.SUSPENDED: {S.READY, S.CANCELLING},
    S.READY: {S.ACTIVE, S.CANCELLING, S.FAILING},
    S.ACTIVE: {S.COMPLETE, S.PAUSING, S.CANCELLING, S.FAILING},
    S.PAUSING: {S.PAUSED, S.COMPLETE, S.CANCELLING, S.FAILING},
    S.PAUSED: {S.ACTIVE, S.CANCELLING, S.FAILING},
    S.CANCELLING: {S.CANCELLED},
    S.FAILING: {S.FAILED},
    S.COMPLETE: set(),
    S.CANCELLED: set(),
    S.FAILED: set(),
}

ALL_PAIRS = [(a, b) for a in JobStatus for b in JobStatus]
LEGAL = [(a, b) for a, b in ALL_PAIRS if b in SPEC_TABLE[a]]
ILLEGAL = [(a, b) for a, b in ALL_PAIRS if b not in SPEC_TABLE[a]]


def _pair_id(pair: tuple[JobStatus, JobStatus]) -> str:
    return f"{pair[0].value}->{pair[1].value}"


# ---------------------------------------------------------------------- the table


def test_status_values_are_the_services_strings_in_order() -> None:
    assert [s.value for s in JobStatus] == [
        "New",
        "Preparing",
        "Suspended",
        "Ready",
        "Active",
        "Pausing",
        "Paused",
        "Complete",
        "Cancelling",
        "Cancelled",
        "Failing",
        "Failed",
    ]
    assert str(S.ACTIVE) == "Active"  # a StrEnum prints as its value in messages


def test_table_is_the_spec_table() -> None:
    assert {k: set(v) for k, v in TRANSITIONS.items()} == SPEC_TABLE


def test_table_cannot_be_changed_by_callers() -> None:
    with pytest.raises(TypeError):
        TRANSITIONS[S.COMPLETE] = frozenset({S.ACTIVE})  # type: ignore[index]
    assert TRANSITIONS[S.COMPLETE] == frozenset()


def test_terminal_statuses_are_exactly_those_with_no_way_out() -> None:
    assert {S.COMPLETE, S.CANCELLED, S.FAILED} == TERMINAL
    assert {s for s in JobStatus if not TRANSITIONS[s]} == TERMINAL
    assert [s for s in JobStatus if s.is_terminal] == [S.COMPLETE, S.CANCELLED, S.FAILED]


def test_pairs_cover_all_144() -> None:
    assert len(ALL_PAIRS) == 144
    assert len(LEGAL) == 25
    assert len(LEGAL) + len(ILLEGAL) == 144


@pytest.mark.parametrize("pair", LEGAL, ids=_pair_id)
def test_legal_pair_is_accepted(pair: tuple[JobStatus, JobStatus]) -> None:
    current, target = pair
    check_transition("job-7", current, target)  # returns without raising


@pytest.mark.parametrize("pair", ILLEGAL, ids=_pair_id)
def test_illegal_pair_is_refused_naming_job_current_and_requested(
    pair: tuple[JobStatus, JobStatus],
) -> None:
    current, target = pair
    with pytest.raises(InvalidTransition) as info:
        check_transition("job-7", current, target)
    err = info.value
    assert str(err) == f"job 'job-7' cannot go from {current.value} to {target.value}"
    assert (err.job_id, err.current, err.requested) == ("job-7", current, target)
    assert isinstance(err, JobQueueError)
    assert isinstance(err, RuntimeError)


def test_state_diagram_has_exactly_the_tables_edges() -> None:
    lines = state_diagram().splitlines()
    assert lines[0] == "stateDiagram-v2"
    edges = {tuple(line.strip().split(" --> ")) for line in lines[1:]}
    expected = {(a.value, b.value) for a, b in LEGAL}
    expected |= {("[*]", "New")} | {(t.value, "[*]") for t in TERMINAL}
    assert edges == expected
    assert len(lines) - 1 == len(expected)  # no edge drawn twice


# ---------------------------------------------------------------------- status views

VIEWS: dict[JobStatus, tuple[TranscribeStatus, MediaConvertStatus]] = {
    S.NEW: (TranscribeStatus.QUEUED, MediaConvertStatus.SUBMITTED),
    S.PREPARING: (TranscribeStatus.QUEUED, MediaConvertStatus.SUBMITTED),
    S.SUSPENDED: (TranscribeStatus.QUEUED, MediaConvertStatus.SUBMITTED),
    S.READY: (TranscribeStatus.QUEUED, MediaConvertStatus.SUBMITTED),
    S.ACTIVE: (TranscribeStatus.IN_PROGRESS, MediaConvertStatus.PROGRESSING),
    S.PAUSING: (TranscribeStatus.IN_PROGRESS, MediaConvertStatus.PROGRESSING),
    # A preempted job waits for a slot again.
    S.PAUSED: (TranscribeStatus.QUEUED, MediaConvertStatus.SUBMITTED),
    S.COMPLETE: (TranscribeStatus.COMPLETED, MediaConvertStatus.COMPLETE),
    # The work is still stopping: it reads as running until it has stopped.
    S.CANCELLING: (TranscribeStatus.IN_PROGRESS, MediaConvertStatus.PROGRESSING),
    # Transcribe has no cancelled status.
    S.CANCELLED: (TranscribeStatus.FAILED, MediaConvertStatus.CANCELED),
    S.FAILING: (TranscribeStatus.IN_PROGRESS, MediaConvertStatus.PROGRESSING),
    S.FAILED: (TranscribeStatus.FAILED, MediaConvertStatus.ERROR),
}


@pytest.mark.parametrize("status", list(JobStatus), ids=str)
def test_status_views(status: JobStatus) -> None:
    assert (transcribe_status(status), mediaconvert_status(status)) == VIEWS[status]


def test_view_vocabularies_are_the_services() -> None:
    assert [s.value for s in TranscribeStatus] == ["QUEUED", "IN_PROGRESS", "COMPLETED", "FAILED"]
    assert [s.value for s in MediaConvertStatus] == [
        "SUBMITTED",
        "PROGRESSING",
        "COMPLETE",
        "CANCELED",
        "ERROR",
    ]
    assert {v[0] for v in VIEWS.values()} == set(TranscribeStatus)
    assert {v[1] for v in VIEWS.values()} == set(MediaConvertStatus)


def test_job_snapshot_shows_both_views() -> None:
    sched = Scheduler(ManualClock())
    job = sched.submit(confirmation_required=True)
    assert (job.transcribe_status, job.mediaconvert_status) == VIEWS[S.SUSPENDED]
    job = sched.confirm(job.id)
    assert (job.transcribe_status, job.mediaconvert_status) == VIEWS[S.ACTIVE]
    job = sched.cancel(job.id)
    assert (job.transcribe_status, job.mediaconvert_status) == VIEWS[S.CANCELLED]


# ---------------------------------------------------------------------- through the scheduler

QUEUE = "q"

#: Statuses a job rests in between public calls, per acknowledgement mode.
#: New and Preparing are passed within ``submit`` and never seen at rest; without
#: acknowledgement the transitional statuses complete within the call too.
AT_REST: dict[bool, list[JobStatus]] = {
    False: [S.SUSPENDED, S.READY, S.ACTIVE, S.PAUSED, S.COMPLETE, S.CANCELLED, S.FAILED],
    True: [
        S.SUSPENDED,
        S.READY,
        S.ACTIVE,
        S.PAUSING,
        S.PAUSED,
        S.COMPLETE,
        S.CANCELLING,
        S.CANCELLED,
        S.FAILING,
        S.FAILED,
    ],
}


def build(status: JobStatus, acknowledge: bool) -> tuple[Scheduler, str]:
    """A scheduler whose queue ``q`` (1 slot, priority with preemption) holds a job in ``status``.

    Returns the scheduler and the job's id.
    """
    sched = Scheduler(ManualClock(), acknowledge=acknowledge, failure_threshold_tasks=1)
    sched.create_queue(QUEUE, slots=1, policy="priority", preemption=True, deferred_share=1.0)

    def submit(priority: int = 0, confirm: bool = False) -> str:
        return sched.submit(
            queue=QUEUE, priority=priority, tasks=["t"], confirmation_required=confirm
        ).id

    if status is S.SUSPENDED:
        job = submit(confirm=True)
    elif status is S.READY:
        submit()  # holds the slot; equal priority never preempts
        job = submit()
    elif status is S.ACTIVE:
        job = submit()
    elif status is S.PAUSING:
        job = submit()
        submit(priority=5)
    elif status is S.PAUSED:
        job = submit()
        submit(priority=5)
        if acknowledge:
            sched.paused(job)
    elif status is S.COMPLETE:
        job = submit()
        sched.complete(job)
    elif status is S.CANCELLING:
        job = submit()
        sched.cancel(job)
    elif status is S.CANCELLED:
        job = submit(confirm=True)
        sched.cancel(job)
    elif status is S.FAILING:
        job = submit()
        sched.record_task(job, "t", ok=False)  # past the task-failure threshold
    elif status is S.FAILED:
        job = submit()
        sched.fail(job, "boom")
    else:
        raise AssertionError(f"{status} is not at rest")
    assert sched.get(job).status is status
    sched.check_invariants()
    return sched, job


def test_new_and_preparing_are_passed_within_submit() -> None:
    sched = Scheduler(ManualClock(), acknowledge=True)
    seen: list[JobStatus] = []

    def reader() -> list[str]:
        seen.append(sched.get("job-1").status)
        return ["t"]

    job = sched.submit(tasks=reader)
    assert seen == [S.PREPARING]  # the manifest is read in Preparing
    assert [c.status for c in job.history] == [S.NEW, S.PREPARING, S.READY, S.ACTIVE]


@pytest.mark.parametrize("acknowledge", [False, True], ids=["immediate", "acknowledged"])
def test_every_status_but_new_and_preparing_is_reachable(acknowledge: bool) -> None:
    for status in AT_REST[acknowledge]:
        build(status, acknowledge)
    assert set(AT_REST[True]) == set(JobStatus) - {S.NEW, S.PREPARING}


Operation = Callable[[Scheduler, str], object]

#: Each public call that requests a transition, with the status it requests
#: from a given current status.
OPERATIONS: dict[str, tuple[Operation, Callable[[JobStatus], JobStatus]]] = {
    "confirm": (lambda s, j: s.confirm(j), lambda cur: S.READY),
    "cancel": (lambda s, j: s.cancel(j), lambda cur: S.CANCELLING),
    "complete": (lambda s, j: s.complete(j), lambda cur: S.COMPLETE),
    # fail() on a Failing job acknowledges it; otherwise it requests Failing.
    "fail": (
        lambda s, j: s.fail(j, "stop"),
        lambda cur: S.FAILED if cur is S.FAILING else S.FAILING,
    ),
    "paused": (lambda s, j: s.paused(j), lambda cur: S.PAUSED),
    "cancelled": (lambda s, j: s.cancelled(j), lambda cur: S.CANCELLED),
}


def expected_status_after(op: str, current: JobStatus, acknowledge: bool) -> JobStatus:
    """Where a legal request leaves the job in the ``build`` scenarios."""
    holds_slot = current in (S.ACTIVE, S.PAUSING)
    if op == "confirm":
        return S.ACTIVE  # the queue is empty: it starts at once
    if op == "cancel":
        return S.CANCELLING if holds_slot and acknowledge else S.CANCELLED
    if op == "complete":
        return S.COMPLETE
    if op == "fail":
        return S.FAILED  # fail() reports that the work has ended
    if op == "paused":
        return S.PAUSED
    assert op == "cancelled"
    return S.CANCELLED


CASES = [
    pytest.param(ack, status, op, id=f"{'ack' if ack else 'immediate'}-{status.value}-{op}")
    for ack in (False, True)
    for status in AT_REST[ack]
    for op in OPERATIONS
]


@pytest.mark.parametrize(("acknowledge", "status", "op"), CASES)
def test_public_operation_agrees_with_the_table(
    acknowledge: bool, status: JobStatus, op: str
) -> None:
    sched, job = build(status, acknowledge)
    call, requested_of = OPERATIONS[op]
    requested = requested_of(status)
    events: list[Event] = []
    sched.subscribe(events.append)
    before = fingerprint(sched)

    if requested in TRANSITIONS[status]:
        call(sched, job)
        mine = [e for e in events if isinstance(e, JobTransitioned) and e.job_id == job]
        assert (mine[0].old, mine[0].new) == (status, requested)
        assert all(e.new in TRANSITIONS[e.old] for e in mine)
        assert sched.get(job).status is expected_status_after(op, status, acknowledge)
        sched.check_invariants()
    else:
        message = f"job {job!r} cannot go from {status.value} to {requested.value}"
        with pytest.raises(InvalidTransition, match=re.escape(message)) as info:
            call(sched, job)
        assert (info.value.job_id, info.value.current, info.value.requested) == (
            job,
            status,
            requested,
        )
        assert fingerprint(sched) == before
        assert events == []


@pytest.mark.parametrize(
    ("acknowledge", "status"),
    [
        pytest.param(ack, status, id=f"{'ack' if ack else 'immediate'}-{status.value}")
        for ack in (False, True)
        for status in AT_REST[ack]
    ],
)
def test_preemption_pauses_only_an_active_job(acknowledge: bool, status: JobStatus) -> None:
    sched, job = build(status, acknowledge)
    before = sched.get(job)
    events: list[Event] = []
    sched.subscribe(events.append)

    urgent = sched.submit(queue=QUEUE, priority=9).id

    mine = [
        (e.old, e.new, e.reason)
        for e in events
        if isinstance(e, JobTransitioned) and e.job_id == job
    ]
    if status is S.ACTIVE:
        assert mine[0] == (S.ACTIVE, S.PAUSING, f"preempted by {urgent}")
        if acknowledge:
            # The pause lands when the work acknowledges it; the slot is held until then.
            assert mine == [(S.ACTIVE, S.PAUSING, f"preempted by {urgent}")]
            assert sched.get(urgent).status is S.READY
            sched.paused(job)
        assert sched.get(job).status is S.PAUSED
        assert sched.get(urgent).status is S.ACTIVE
    else:
        assert mine == []
        assert sched.get(job) == before
    sched.check_invariants()
