"""Slots, the deferred share and the waiting line's counters: who may start where.

A queue has ``slots``; a job holds one while Active or Pausing, and, when its
work is acknowledged, while Cancelling or Failing until the work stops.
Deferred jobs (Transcribe's ``AllowDeferredExecution``) may hold at most
``deferred_limit`` of them, ``max(1, floor(share * slots))``. ``fits`` is the
one statement of that rule: the start path, dispatch, preemption and the
invariant checker all ask it. The counters it reads are kept here too, by
the only functions that move them.

Limits lowered at run time never stop admitted work: the jobs above a new
limit are counted in ``over_*`` and let run out (see ``set_limits``).
"""

from __future__ import annotations

from collections.abc import Iterable
from fractions import Fraction

from .._errors import LimitExceededError
from .._states import JobStatus
from .records import JobRecord, QueueRecord, in_line

__all__ = [
    "check_room",
    "check_slot_now",
    "deferred_limit",
    "fits",
    "give_back_slot",
    "has_room",
    "join_line",
    "leave_line",
    "mark_leaving",
    "may_start",
    "recount",
    "reserve",
    "set_limits",
    "take_slot",
    "unreserve",
]

_READY = JobStatus.READY


def deferred_limit(slots: int, share: float) -> int:
    """``max(1, floor(share * slots))``, computed exactly (0.29 * 100 is 29, not 28)."""
    return max(1, int(Fraction(repr(share)) * slots))


def fits(q: QueueRecord, deferred: bool, holding: int, deferred_holding: int) -> bool:
    """Whether one more job fits in ``q`` beside ``holding`` slot holders.

    ``deferred_holding`` of the holders are deferred; a deferred job also needs
    room in the deferred share.
    """
    return holding < q.slots and (not deferred or deferred_holding < q.deferred_limit)


def may_start(q: QueueRecord, rec: JobRecord) -> bool:
    """Whether ``rec`` may start in ``q`` now: the queue runs and the job fits."""
    return not q.paused and fits(q, rec.deferred, q.holding, q.deferred_holding)


def has_room(q: QueueRecord) -> bool:
    """Whether one more job may wait in ``q``: its Ready jobs and the places its held jobs
    keep are under ``max_waiting``."""
    return q.ready + q.held < q.max_waiting


def check_room(q: QueueRecord) -> None:
    """Refuse a job that would wait in a full line.

    Raises:
        LimitExceededError: ``max_waiting`` jobs already wait.
    """
    if not has_room(q):
        raise LimitExceededError(f"queue {q.name!r} is full: at most {q.max_waiting} jobs may wait")


def check_slot_now(q: QueueRecord) -> None:
    """Refuse a non-deferred job that cannot start at once.

    Raises:
        LimitExceededError: the queue is paused or every slot is held.
    """
    if q.paused:
        raise LimitExceededError(f"queue {q.name!r} is paused: a non-deferred job cannot start")
    if q.holding >= q.slots:
        raise LimitExceededError(
            f"no free slot in queue {q.name!r}: all {q.slots} slots are in use"
        )


def take_slot(rec: JobRecord, q: QueueRecord) -> None:
    rec.holds_slot = True
    q.holding += 1
    if rec.deferred:
        q.deferred_holding += 1


def mark_leaving(rec: JobRecord, q: QueueRecord) -> None:
    """Count ``rec``'s slot as on its way back (Pausing, Cancelling, Failing)."""
    if rec.holds_slot and not rec.leaving:
        rec.leaving = True
        q.leaving += 1
        if rec.deferred:
            q.leaving_deferred += 1


def give_back_slot(rec: JobRecord, q: QueueRecord) -> bool:
    """Free the slot ``rec`` holds; False if it held none."""
    if not rec.holds_slot:
        return False
    rec.holds_slot = False
    q.holding -= 1
    if q.over_slots:
        q.over_slots -= 1
    if rec.deferred:
        q.deferred_holding -= 1
        if q.over_share:
            q.over_share -= 1
    if rec.leaving:
        rec.leaving = False
        q.leaving -= 1
        if rec.deferred:
            q.leaving_deferred -= 1
    return True


def join_line(rec: JobRecord, q: QueueRecord) -> None:
    """Put a Ready or Paused job in ``q``'s line."""
    if rec.status is _READY:
        q.ready += 1
    else:
        q.paused_jobs += 1
    q.policy.add(rec)


def leave_line(rec: JobRecord, q: QueueRecord) -> None:
    """Take a waiting (Ready or Paused) job out of ``q``'s line."""
    q.policy.discard(rec)
    if rec.status is _READY:
        q.ready -= 1
        if q.over_waiting:
            q.over_waiting -= 1
    else:
        q.paused_jobs -= 1


def reserve(rec: JobRecord, q: QueueRecord) -> None:
    """Keep a place under ``q``'s cap for a job held before it may join the line."""
    assert rec.controls is not None and not rec.controls.reserved
    rec.controls.reserved = True
    q.held += 1


def unreserve(rec: JobRecord, q: QueueRecord, *, joining: bool) -> None:
    """Give back a held job's place: it joins the line now (``joining``), or it ended."""
    c = rec.controls
    if c is None or not c.reserved:
        return
    c.reserved = False
    q.held -= 1
    if not joining and q.over_waiting:
        q.over_waiting -= 1


def set_limits(q: QueueRecord, slots: int, share: float, max_waiting: int) -> None:
    """Apply new limits; the jobs admitted above them are let run out."""
    q.slots = slots
    q.deferred_share = share
    q.deferred_limit = deferred_limit(slots, share)
    q.max_waiting = max_waiting
    q.over_slots = max(0, q.holding - q.slots)
    q.over_share = max(0, q.deferred_holding - q.deferred_limit)
    q.over_waiting = max(0, q.ready + q.held - q.max_waiting)


def recount(q: QueueRecord, jobs: Iterable[JobRecord]) -> None:
    """Derive ``q``'s counters from the unfinished jobs in it (a restored queue)."""
    for rec in jobs:
        if rec.holds_slot:
            q.holding += 1
            q.deferred_holding += rec.deferred
            if rec.leaving:
                q.leaving += 1
                q.leaving_deferred += rec.deferred
        if in_line(rec):  # not a job in a retry's backoff: that waits out of line
            if rec.status is _READY:
                q.ready += 1
            else:
                q.paused_jobs += 1
        if rec.controls is not None and rec.controls.reserved:
            q.held += 1
    set_limits(q, q.slots, q.deferred_share, q.max_waiting)
