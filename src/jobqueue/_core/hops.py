"""Queue hopping (MediaConvert): timed moves of waiting jobs between queues.

A job carries a chain of ``HopRule``s. While it waits Ready in its queue, a
timer for its current rule runs from the moment it entered that queue
(``ready_at``); when it fires, the job moves to the rule's queue, takes the
rule's priority if one is given, and the next rule's timer starts. A
preempted (Paused) job never hops. Nothing hops out of a paused queue: a
timer that fires there marks the job ``hop_due`` instead, and when the queue
resumes (``resume``) the first job in line stays and runs there while every
other overdue job hops at once. A destination that cannot take the job (gone,
full, or reserved for an ``enabled`` job) ends the chain.

A timer is the job's ``hop_token`` at the time it was set: any change that
voids it (a hop, a start, a finish) bumps the token.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

from .._errors import InvariantViolation, NotFound, ValidationError
from .._events import HopHeld, HopsDropped, JobHopped, PriorityChanged
from .._model import Acceleration, HopRule, HopTransition, Pricing
from .._states import JobStatus
from .._validate import check_positive_number, check_priority, lookup_key, shown
from .admission import has_room, join_line, leave_line
from .deadlines import Timer
from .records import JobRecord, QueueRecord, as_record, full_history, history_pairs

if TYPE_CHECKING:
    from .core import Core

__all__ = [
    "arm",
    "check_rules",
    "fire",
    "hop",
    "pending_destinations",
    "problems",
    "resume",
    "timer_valid",
]

_S = JobStatus
_BEFORE_START = frozenset({_S.NEW, _S.PREPARING, _S.SUSPENDED, _S.READY})


def check_rules(
    queues: Mapping[str, QueueRecord], queue: str, rules: Sequence[HopRule], accel: Acceleration
) -> tuple[HopRule, ...]:
    """Validate a hop chain starting from ``queue``; returns it with names and values checked.

    Raises:
        NotFound: a destination queue does not exist.
        ValidationError: a rule is malformed, hops to the queue it leaves, or
            sends an ``enabled`` job to a reserved queue.
    """
    if isinstance(rules, (str, bytes)) or not isinstance(rules, Sequence):
        raise ValidationError(f"hops must be a sequence of HopRule, got {type(rules).__name__}")
    current = queue
    checked: list[HopRule] = []
    for i, rule in enumerate(rules):
        if not isinstance(rule, HopRule):
            raise ValidationError(f"hops[{i}] must be a HopRule, got {type(rule).__name__}")
        dest = queues.get(lookup_key(rule.queue))
        if dest is None:
            raise NotFound(f"hops[{i}].queue: unknown queue {shown(rule.queue)}")
        if dest.name == current:
            raise ValidationError(
                f"hops[{i}].queue must differ from the queue it hops from, got {current!r}"
            )
        wait = check_positive_number(f"hops[{i}].wait", rule.wait)
        new_priority = (
            None if rule.priority is None else check_priority(rule.priority, f"hops[{i}].priority")
        )
        if accel is Acceleration.ENABLED and dest.pricing is Pricing.RESERVED:
            raise ValidationError(
                f"hops[{i}]: acceleration 'enabled' cannot run in reserved queue {dest.name!r}"
            )
        checked.append(HopRule(dest.name, wait, new_priority))
        current = dest.name
    return tuple(checked)


def pending_destinations(rec: JobRecord) -> set[str]:
    """The queues an unstarted job may still hop to."""
    if rec.status not in _BEFORE_START:
        return set()
    return {rule.queue for rule in rec.hops[rec.hop_index :]}


def timer_valid(rec: JobRecord, token: int | float) -> bool:
    """Whether a hop timer set with ``token`` still counts."""
    return rec.hop_token == token and rec.status is _S.READY


def arm(core: Core, rec: JobRecord, now: float) -> None:
    """Start the timer of ``rec``'s current rule, voiding any earlier one."""
    if rec.hop_index < len(rec.hops):
        rec.hop_token += 1
        core.deadlines.add(now + rec.hops[rec.hop_index].wait, Timer.HOP, rec, rec.hop_token)


def fire(core: Core, rec: JobRecord, now: float) -> None:
    """A hop timer is due: hop, or hold the hop while the queue is paused."""
    if core.queues[rec.queue].paused:
        rec.hop_due = True
        if core.outbox.listening:
            core.outbox.emit(HopHeld, now, rec.id, rec.queue)
    else:
        hop(core, rec, now)


def hop(core: Core, rec: JobRecord, now: float) -> None:
    """Move a Ready job along its current rule, or end its chain if the destination refuses.

    Raises:
        InvariantViolation: the job's queue is paused.
    """
    src = core.queues[rec.queue]
    if src.paused:
        raise InvariantViolation(f"job {rec.id!r} would hop out of paused queue {src.name!r}")
    rule = rec.hops[rec.hop_index]
    dest = core.queues.get(rule.queue)
    outbox = core.outbox
    if (
        dest is None
        or not has_room(dest)
        or (rec.acceleration is Acceleration.ENABLED and dest.pricing is Pricing.RESERVED)
    ):
        # The destination cannot take the job now: it stays, and its chain ends.
        rec.hop_index = len(rec.hops)
        if outbox.listening:
            reason = f"queue {rule.queue!r} cannot take it"
            outbox.emit(HopsDropped, now, rec.id, src.name, reason)
        return
    leave_line(rec, src)
    if rule.priority is not None and rule.priority != rec.priority:
        old = rec.priority
        rec.priority = rule.priority
        if outbox.listening:
            outbox.emit(PriorityChanged, now, rec.id, old, rule.priority)
    rec.queue = dest.name
    rec.seq = next(core.seq)
    rec.hop_index += 1
    rec.hop_due = False
    rec.ready_at = now
    join_line(rec, dest)
    transition = HopTransition(src.name, dest.name, now, rec.priority)
    if rec.hop_transitions is None:
        rec.hop_transitions = [transition]
    else:
        rec.hop_transitions.append(transition)
    if outbox.listening:
        outbox.emit(JobHopped, now, rec.id, src.name, dest.name, rec.priority)
    if outbox.hop_watch is not None:
        outbox.hop_watch(rec, src.name, dest.name, now)
    arm(core, rec, now)
    core.dispatch(src, now)
    core.dispatch(dest, now)


def resume(core: Core, q: QueueRecord, now: float) -> None:
    """Settle the hops a paused queue held, as it resumes.

    The queue first starts jobs as slots allow. Then, of the jobs still
    waiting whose hop wait passed while it was paused, the one with no job
    ahead of it stays and runs here (its remaining rules are dropped); every
    other one hops at once.
    """
    # A job that can start here now has nobody ahead of it. Starting first
    # also means no hop's own dispatch can start a job still to be decided.
    core.dispatch(q, now)
    # A wait may have passed with no poll() since: it is due all the same,
    # or the outcome would depend on when the caller happened to poll.
    due = [
        (i, as_record(job))
        for i, job in enumerate(q.policy.waiting())
        if _overdue(as_record(job), now)
    ]
    for position, rec in due:
        if rec.status is not _S.READY or rec.queue != q.name:
            continue  # started or moved since the list was taken
        rec.hop_due = False
        rec.hop_token += 1  # its timer, if still set, must not fire again
        if position == 0:
            rec.hop_index = len(rec.hops)
            if core.outbox.listening:
                core.outbox.emit(
                    HopsDropped, now, rec.id, q.name, "first in line when its queue resumed"
                )
        else:
            hop(core, rec, now)
    core.dispatch(q, now)


def _overdue(rec: JobRecord, now: float) -> bool:
    """Whether a Ready job's current hop wait has passed, polled or not."""
    if rec.status is not _S.READY:
        return False  # a preempted (Paused) job never hops
    return rec.hop_due or (
        rec.hop_index < len(rec.hops) and rec.ready_at + rec.hops[rec.hop_index].wait <= now
    )


def problems(rec: JobRecord) -> list[str]:
    """Hops taken before their wait (for ``check_invariants``)."""
    if not rec.hop_transitions:
        return []
    found = []
    entered = _first_ready(rec)
    for rule, hopped in zip(rec.hops, rec.hop_transitions, strict=False):
        if hopped.time < entered + rule.wait:
            found.append(f"job {rec.id!r} hopped to {hopped.destination!r} before its wait")
        entered = hopped.time
    return found


def _first_ready(rec: JobRecord) -> float:
    for t, status in history_pairs(full_history(rec)):
        if status is _S.READY:
            return t
    return rec.created_at
