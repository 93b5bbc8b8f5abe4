"""Job priority (S3 Batch Operations): validation, ordering and ``update_priority``.

Priority is an int in -2**31..2**31-1, default 0; higher runs first and ties
keep submission order. It can change in every unfinished status and the change
takes effect at once: a waiting job moves in its line, and in a preemptive
queue the change may preempt or expose a running job.
"""

from __future__ import annotations

import re

import pytest
from helpers import fingerprint
from hypothesis import given
from hypothesis import strategies as st

from jobqueue import (
    ConflictError,
    Event,
    Job,
    JobStatus,
    JobTransitioned,
    ManualClock,
    NotFound,
    PriorityChanged,
    Scheduler,
    ValidationError,
)

S = JobStatus
PMIN = -(2**31)
PMAX = 2**31 - 1
RANGE_MESSAGE = "priority must be -2147483648..2147483647, got {}"


def record(sched: Scheduler) -> list[tuple[object, ...]]:
    """Subscribe; the returned list fills with ``(job, kind, old, new)`` tuples."""
    log: list[tuple[object, ...]] = []

    def on_event(event: Event) -> None:
        if isinstance(event, JobTransitioned):
            log.append((event.job_id, "status", event.old.value, event.new.value))
        elif isinstance(event, PriorityChanged):
            log.append((event.job_id, "priority", event.old, event.new))

    sched.subscribe(on_event)
    return log


def starts(log: list[tuple[object, ...]]) -> list[object]:
    """Job ids in the order they became Active."""
    return [entry[0] for entry in log if entry[1] == "status" and entry[3] == "Active"]


def status(sched: Scheduler, job: Job) -> JobStatus:
    return sched.get(job.id).status


def place(sched: Scheduler, job: Job) -> int:
    """The job's 1-based place in its queue's line (it must be waiting)."""
    where = sched.position(job.id)
    assert where is not None, f"{job.id} is not waiting"
    return where.position


def one_slot(*, preemption: bool = False, acknowledge: bool = False) -> Scheduler:
    """A scheduler with queue ``"p"``: one slot, all of it for deferred jobs, priority order."""
    sched = Scheduler(ManualClock(), acknowledge=acknowledge)
    sched.create_queue("p", slots=1, deferred_share=1.0, policy="priority", preemption=preemption)
    return sched


# Validation -----------------------------------------------------------------


def test_default_priority_is_zero() -> None:
    sched = Scheduler(ManualClock())
    job = sched.submit()
    assert job.priority == 0
    assert sched.list_jobs().jobs[0].priority == 0


@pytest.mark.parametrize("priority", [PMIN, PMIN + 1, -1, 0, 1, PMAX - 1, PMAX])
def test_priorities_at_the_edges_are_accepted(priority: int) -> None:
    sched = Scheduler(ManualClock())
    job = sched.submit(priority=priority)
    assert sched.get(job.id).priority == priority
    other = sched.submit()
    assert sched.update_priority(other.id, priority).priority == priority
    assert sched.list_jobs().jobs[1].priority == priority


BAD_PRIORITIES = [
    (PMIN - 1, RANGE_MESSAGE.format(PMIN - 1)),
    (PMAX + 1, RANGE_MESSAGE.format(PMAX + 1)),
    (2**63, RANGE_MESSAGE.format(2**63)),
    (True, "priority must be an int, got bool"),
    (False, "priority must be an int, got bool"),
    (1.0, "priority must be an int, got float"),
    (float("nan"), "priority must be an int, got float"),
    ("1", "priority must be an int, got str"),
    (None, "priority must be an int, got NoneType"),
]


@pytest.mark.parametrize(("priority", "message"), BAD_PRIORITIES)
def test_submit_rejects_a_bad_priority_and_stores_nothing(priority: object, message: str) -> None:
    sched = one_slot()
    sched.submit(queue="p")
    sched.submit(queue="p")  # waits
    before = fingerprint(sched)
    with pytest.raises(ValidationError, match=f"^{re.escape(message)}$"):
        sched.submit(queue="p", priority=priority)  # type: ignore[arg-type]
    assert fingerprint(sched) == before
    assert len(sched) == 2
    sched.check_invariants()


@pytest.mark.parametrize(("priority", "message"), BAD_PRIORITIES)
def test_update_priority_rejects_a_bad_priority_and_changes_nothing(
    priority: object, message: str
) -> None:
    sched = one_slot(preemption=True)
    running = sched.submit(queue="p", priority=3)
    waiting = sched.submit(queue="p", priority=3)
    log = record(sched)
    before = fingerprint(sched)
    for job in (running, waiting):
        with pytest.raises(ValidationError, match=f"^{re.escape(message)}$"):
            sched.update_priority(job.id, priority)  # type: ignore[arg-type]
    assert fingerprint(sched) == before
    assert log == []


def test_update_priority_of_an_unknown_job() -> None:
    sched = Scheduler(ManualClock())
    before = fingerprint(sched)
    with pytest.raises(NotFound, match=re.escape("unknown job 'job-9'")):
        sched.update_priority("job-9", 1)
    assert fingerprint(sched) == before


# Ordering -------------------------------------------------------------------


def test_higher_priority_runs_first_and_ties_keep_submission_order() -> None:
    sched = one_slot()
    log = record(sched)
    blocker = sched.submit(queue="p", priority=PMIN)  # takes the only slot
    jobs = [sched.submit(queue="p", priority=p) for p in (1, 5, 3, 5, 1, PMAX, PMIN)]
    assert [place(sched, j) for j in jobs] == [5, 2, 4, 3, 6, 1, 7]
    sched.complete(blocker.id)
    for _ in jobs[:-1]:
        sched.complete(next(j.id for j in jobs if status(sched, j) is S.ACTIVE))
    expected = [jobs[i].id for i in (5, 1, 3, 2, 0, 4, 6)]
    assert starts(log) == [blocker.id, *expected]
    sched.check_invariants()


@given(st.lists(st.integers(-3, 3), min_size=1, max_size=25))
def test_start_order_is_descending_priority_then_submission(priorities: list[int]) -> None:
    sched = one_slot()
    log = record(sched)
    blocker = sched.submit(queue="p", priority=PMAX)
    jobs = [sched.submit(queue="p", priority=p) for p in priorities]
    sched.complete(blocker.id)
    for _ in jobs:
        active = [j for j in jobs if status(sched, j) is S.ACTIVE]
        assert len(active) == 1
        sched.complete(active[0].id)
    order = sorted(range(len(jobs)), key=lambda i: (-priorities[i], i))
    assert starts(log)[1:] == [jobs[i].id for i in order]


def test_a_fifo_queue_ignores_priority() -> None:
    sched = Scheduler(ManualClock())
    sched.create_queue("f", slots=1, deferred_share=1.0)
    log = record(sched)
    jobs = [sched.submit(queue="f", priority=p) for p in (0, 1, 9, 5)]
    sched.update_priority(jobs[3].id, PMAX)
    for job in jobs:
        sched.complete(job.id)
    assert starts(log) == [j.id for j in jobs]


# update_priority in every unfinished status ----------------------------------


def test_update_priority_while_suspended_applies_when_confirmed() -> None:
    sched = one_slot()
    sched.submit(queue="p")  # Active
    waiting = sched.submit(queue="p", priority=5)
    held = sched.submit(queue="p", priority=1, confirmation_required=True)
    log = record(sched)
    changed = sched.update_priority(held.id, 7)
    assert (changed.status, changed.priority) == (S.SUSPENDED, 7)
    assert log == [(held.id, "priority", 1, 7)]
    assert sched.position(held.id) is None  # not in line until confirmed
    sched.confirm(held.id)
    assert place(sched, held) == 1
    assert place(sched, waiting) == 2


def test_update_priority_reorders_a_ready_job_at_once() -> None:
    sched = one_slot()
    log = record(sched)
    blocker = sched.submit(queue="p")
    a = sched.submit(queue="p", priority=1)
    b = sched.submit(queue="p", priority=2)
    assert place(sched, a) == 2
    changed = sched.update_priority(a.id, 3)
    assert (changed.status, changed.priority) == (S.READY, 3)
    assert place(sched, a) == 1
    assert place(sched, b) == 2
    # Lowering it again sends it back behind b; equal priority goes by submission.
    sched.update_priority(a.id, 2)
    assert place(sched, a) == 1
    sched.update_priority(a.id, 1)
    assert place(sched, a) == 2
    sched.update_priority(a.id, 3)
    sched.complete(blocker.id)
    assert starts(log)[-1] == a.id
    assert sched.list_jobs().jobs[1].priority == 3
    sched.check_invariants()


def test_update_priority_of_an_active_job_keeps_it_running() -> None:
    sched = one_slot()
    job = sched.submit(queue="p", priority=1)
    waiting = sched.submit(queue="p", priority=4)
    log = record(sched)
    changed = sched.update_priority(job.id, -5)
    assert (changed.status, changed.priority) == (S.ACTIVE, -5)
    assert status(sched, waiting) is S.READY  # no preemption in this queue
    assert log == [(job.id, "priority", 1, -5)]


def test_update_priority_of_a_paused_job_reorders_its_line() -> None:
    sched = one_slot(preemption=True)
    low = sched.submit(queue="p", priority=1)
    high = sched.submit(queue="p", priority=9)  # preempts low
    later = sched.submit(queue="p", priority=2)
    assert (status(sched, low), status(sched, high)) == (S.PAUSED, S.ACTIVE)
    assert place(sched, low) == 2
    changed = sched.update_priority(low.id, 3)
    assert (changed.status, changed.priority) == (S.PAUSED, 3)
    assert place(sched, low) == 1
    sched.complete(high.id)
    assert (status(sched, low), status(sched, later)) == (S.ACTIVE, S.READY)


def test_update_priority_while_pausing_applies_when_the_pause_lands() -> None:
    sched = one_slot(preemption=True, acknowledge=True)
    low = sched.submit(queue="p", priority=1)
    high = sched.submit(queue="p", priority=5)
    assert status(sched, low) is S.PAUSING
    log = record(sched)
    changed = sched.update_priority(low.id, 9)
    # A pause already requested is not withdrawn: Pausing -> Active is not a move.
    assert (changed.status, changed.priority) == (S.PAUSING, 9)
    assert log == [(low.id, "priority", 1, 9)]
    sched.paused(low.id)
    # Once Paused it is the highest job waiting, so it takes the freed slot back,
    # and high (5) cannot preempt it (9).
    assert (status(sched, low), status(sched, high)) == (S.ACTIVE, S.READY)
    assert log[1:] == [
        (low.id, "status", "Pausing", "Paused"),
        (low.id, "status", "Paused", "Active"),
    ]
    sched.check_invariants()


def test_raising_a_waiting_jobs_priority_preempts() -> None:
    sched = one_slot(preemption=True)
    running = sched.submit(queue="p", priority=2)
    waiting = sched.submit(queue="p", priority=2)  # equal: does not preempt
    assert (status(sched, running), status(sched, waiting)) == (S.ACTIVE, S.READY)
    log = record(sched)
    sched.update_priority(waiting.id, 3)
    assert log == [
        (waiting.id, "priority", 2, 3),
        (running.id, "status", "Active", "Pausing"),
        (running.id, "status", "Pausing", "Paused"),
        (waiting.id, "status", "Ready", "Active"),
    ]


def test_lowering_an_active_jobs_priority_lets_a_waiting_job_preempt_it() -> None:
    sched = one_slot(preemption=True)
    running = sched.submit(queue="p", priority=5)
    waiting = sched.submit(queue="p", priority=3)
    log = record(sched)
    sched.update_priority(running.id, 3)  # equal: still no preemption
    assert (status(sched, running), status(sched, waiting)) == (S.ACTIVE, S.READY)
    sched.update_priority(running.id, 2)
    assert log == [
        (running.id, "priority", 5, 3),
        (running.id, "priority", 3, 2),
        (running.id, "status", "Active", "Pausing"),
        (running.id, "status", "Pausing", "Paused"),
        (waiting.id, "status", "Ready", "Active"),
    ]
    sched.check_invariants()


def test_raising_an_active_jobs_priority_protects_it() -> None:
    sched = Scheduler(ManualClock())
    sched.create_queue("p", slots=2, deferred_share=1.0, policy="priority", preemption=True)
    first = sched.submit(queue="p", priority=1)
    second = sched.submit(queue="p", priority=1)
    sched.update_priority(second.id, 8)  # second would be the victim (latest start)
    newcomer = sched.submit(queue="p", priority=5)
    assert [status(sched, j) for j in (first, second, newcomer)] == [S.PAUSED, S.ACTIVE, S.ACTIVE]


def test_lowering_an_active_jobs_priority_makes_it_the_first_victim() -> None:
    sched = Scheduler(ManualClock())
    sched.create_queue("p", slots=2, deferred_share=1.0, policy="priority", preemption=True)
    early = sched.submit(queue="p", priority=1)
    late = sched.submit(queue="p", priority=3)
    sched.update_priority(late.id, 0)  # now the lowest, though started last
    log = record(sched)
    newcomer = sched.submit(queue="p", priority=5)
    assert [status(sched, j) for j in (early, late, newcomer)] == [S.ACTIVE, S.PAUSED, S.ACTIVE]
    assert [e[0] for e in log if e[3] == "Pausing"] == [late.id]  # and nobody else, even briefly
    sched.update_priority(early.id, 4)
    sched.update_priority(late.id, 9)  # a waiting job now outranks every running one
    assert [status(sched, j) for j in (early, late, newcomer)] == [S.PAUSED, S.ACTIVE, S.ACTIVE]
    sched.check_invariants()


def test_setting_the_same_priority_changes_nothing() -> None:
    sched = one_slot()
    job = sched.submit(queue="p", priority=4)
    log = record(sched)
    before = fingerprint(sched)
    assert sched.update_priority(job.id, 4).priority == 4
    assert fingerprint(sched) == before
    assert log == []


@pytest.mark.parametrize("end", ["complete", "cancel", "fail"])
def test_a_finished_jobs_priority_cannot_change(end: str) -> None:
    sched = one_slot()
    job = sched.submit(queue="p", priority=4)
    getattr(sched, end)(job.id)
    final = status(sched, job)
    assert final.is_terminal
    log = record(sched)
    before = fingerprint(sched)
    message = f"job {job.id!r} is {final.value}: its priority cannot change"
    with pytest.raises(ConflictError, match=f"^{re.escape(message)}$"):
        sched.update_priority(job.id, 5)
    assert fingerprint(sched) == before
    assert log == []


def test_priority_changes_are_in_the_history_of_events_in_order() -> None:
    clock = ManualClock()
    sched = Scheduler(clock)
    seen: list[Event] = []
    sched.subscribe(seen.append)
    job = sched.submit(priority=1)
    clock.advance(5.0)
    sched.update_priority(job.id, 2)
    clock.advance(5.0)
    sched.update_priority(job.id, -2)
    changes = [e for e in seen if isinstance(e, PriorityChanged)]
    assert changes == [PriorityChanged(5.0, job.id, 1, 2), PriorityChanged(10.0, job.id, 2, -2)]
