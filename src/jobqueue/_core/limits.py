"""Run and wait limits: how long a job may hold a slot, and how long it may wait.

``max_run`` bounds the seconds one attempt holds a slot, summed across the
preemptions within it; each retry's attempt starts from zero. Past it, the
job fails with reason ``RunTimeExceeded`` (a runtime stops its work as for a
cancel), or, with a ``retry`` that covers it, runs again after its backoff.

``max_wait`` bounds the seconds a job waits in a line -- Ready, or Paused
after a preemption -- summed over its whole life. Time held in Suspended or
in a retry's backoff does not count, and a hop does not end a wait. Past it,
the job fails with reason ``WaitTimeExceeded``.

Each limit is one timer in the deadline container, set when the job starts
(or begins to wait) for the time it has left; the token (the start's
sequence number, or the wait's start time) voids it when the job stops.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .._states import RUNNING, WAITING_LINE, JobStatus
from .._tasks import FailureReason
from .deadlines import Timer
from .records import JobRecord

if TYPE_CHECKING:
    from .core import Core

__all__ = [
    "run_exceeded",
    "run_limit_valid",
    "started",
    "wait_ended",
    "wait_exceeded",
    "wait_limit_valid",
    "wait_started",
]

_S = JobStatus


def started(core: Core, rec: JobRecord, now: float) -> None:
    """The job took a slot: end its wait, and time its run if limited."""
    c = rec.controls
    assert c is not None
    wait_ended(rec, now)
    if c.max_run is not None:
        left = c.max_run - (rec.run_seconds - c.attempt_run)
        core.deadlines.add(now + left, Timer.RUN_LIMIT, rec, rec.start_seq)


def run_limit_valid(rec: JobRecord, token: float) -> bool:
    return rec.holds_slot and rec.start_seq == token and rec.status in RUNNING


def run_exceeded(core: Core, rec: JobRecord, now: float) -> None:
    c = rec.controls
    assert c is not None and c.max_run is not None
    reason = FailureReason("RunTimeExceeded", f"ran longer than max_run={c.max_run:.15g} seconds")
    core.fail_work(rec, reason, now, work_stopped=False)


def wait_started(core: Core, rec: JobRecord, now: float) -> None:
    """The job began to wait in a line: time the wait if limited."""
    c = rec.controls
    assert c is not None
    c.wait_started = now
    if c.max_wait is not None:
        core.deadlines.add(now + (c.max_wait - c.waited), Timer.WAIT_LIMIT, rec, now)


def wait_ended(rec: JobRecord, now: float) -> None:
    """The job left its line (it started or stopped): count the wait."""
    c = rec.controls
    assert c is not None
    if c.wait_started is not None:
        c.waited += now - c.wait_started
        c.wait_started = None


def wait_limit_valid(rec: JobRecord, token: float) -> bool:
    c = rec.controls
    return c is not None and c.wait_started == token and rec.status in WAITING_LINE


def wait_exceeded(core: Core, rec: JobRecord, now: float) -> None:
    c = rec.controls
    assert c is not None and c.max_wait is not None
    reason = FailureReason(
        "WaitTimeExceeded", f"waited longer than max_wait={c.max_wait:.15g} seconds"
    )
    # It waited its limit, exactly: ``now`` is the limit's instant rounded to
    # a float, and waited + (now - wait_started) could come out an ulp over.
    c.waited = c.max_wait
    c.wait_started = None
    core.fail_now(rec, reason, now)
