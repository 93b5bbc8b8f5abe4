"""The scheduler's invariants, checked on demand (``Scheduler.check_invariants``).

SPEC section 10: slots and the deferred share are never exceeded; every job
is in exactly one status and one queue, and waits in at most one line; every
history follows the transition table and stops at a terminal status; each
line is in its policy's declared order (an aging line: by effective priority
now, none lifted past its cap); no job hopped before its wait; no queue holds
more waiting and held jobs than its cap. Limits lowered at run time may be
exceeded by the jobs admitted before (the ``over_*`` counters). The job
controls: no job started before its ``not_before`` or became Ready before its
dependencies ended; no job is on more attempts than its retry allows; every
job that has not started has a pending reason.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from typing import TYPE_CHECKING

from .._errors import InvariantViolation
from .._states import RUNNING, TERMINAL, TRANSITIONS, WAITING_LINE, JobStatus
from ..policies._base import declared_order
from . import hops
from .admission import may_start
from .aging import AgingPolicy
from .pending import pending_reason
from .records import NO_TAGS, JobRecord, QueueRecord, as_record, full_history, history_pairs

if TYPE_CHECKING:
    from .core import Core

__all__ = ["check"]

_S = JobStatus
_NOT_STARTED = frozenset({_S.NEW, _S.PREPARING, _S.SUSPENDED, _S.READY, _S.PAUSED})


def check(core: Core) -> None:
    """Raises: InvariantViolation: describing every broken invariant found."""
    problems: list[str] = []
    if NO_TAGS:
        problems.append(f"the shared empty tag set was changed in place: {NO_TAGS!r}")
    # One pass over the jobs and one over each line, so that the check stays
    # linear in the jobs (benchmarks/bench_recovery.py times it).
    holders: dict[str, list[JobRecord]] = {name: [] for name in core.queues}
    reserved = dict.fromkeys(core.queues, 0)
    for rec in core.jobs.values():
        if rec.queue in holders:
            if rec.holds_slot:
                holders[rec.queue].append(rec)
            if rec.controls is not None and rec.controls.reserved:
                reserved[rec.queue] += 1
    seen: dict[int, int] = {}  # id() of each record in a line -> its place there
    for q in core.queues.values():
        problems.extend(_queue_problems(core, q, holders[q.name], reserved[q.name], seen))
    for rec in core.jobs.values():
        if rec.queue not in core.queues and rec.status not in TERMINAL:
            problems.append(f"job {rec.id!r} is in unknown queue {rec.queue!r}")
        backoff = rec.controls is not None and rec.controls.backoff_until is not None
        if rec.status in WAITING_LINE and id(rec) not in seen and not backoff:
            problems.append(f"job {rec.id!r} is {rec.status} but in no line")
        if backoff and id(rec) in seen:
            problems.append(f"job {rec.id!r} waits in a line during its retry backoff")
        if rec.holds_slot and rec.status not in RUNNING and not rec.leaving:
            problems.append(f"job {rec.id!r} holds a slot while {rec.status}")
        problems.extend(_history_problems(rec))
        problems.extend(hops.problems(rec))
        if rec.status in _NOT_STARTED and pending_reason(core, rec, seen) is None:
            problems.append(f"job {rec.id!r} is {rec.status} with no pending reason")
        if rec.controls is not None:
            problems.extend(_control_problems(core, rec))
    if problems:
        raise InvariantViolation("; ".join(problems))


def _queue_problems(
    core: Core, q: QueueRecord, holders: list[JobRecord], reserved: int, seen: dict[int, int]
) -> list[str]:
    problems: list[str] = []
    running = [r for r in holders if r.status in RUNNING]
    line = list(q.policy.waiting())
    ready = sum(1 for j in line if as_record(j).status is _S.READY)
    if len(holders) != q.holding:
        problems.append(f"queue {q.name!r} counts {q.holding} holders, has {len(holders)}")
    if len(running) > q.slots + q.over_slots:
        problems.append(
            f"queue {q.name!r}: {len(running)} Active+Pausing jobs exceed {q.slots} slots"
        )
    deferred = sum(1 for r in holders if r.deferred)
    if deferred > q.deferred_limit + q.over_share:
        problems.append(
            f"queue {q.name!r}: {deferred} deferred holders exceed the share of {q.deferred_limit}"
        )
    if ready != q.ready or len(line) - ready != q.paused_jobs:
        problems.append(f"queue {q.name!r}: line counters disagree with its policy")
    if len(q.policy) != len(line):
        problems.append(
            f"queue {q.name!r}: len() of its policy is {len(q.policy)}, "
            f"but waiting() yields {len(line)} jobs"
        )
    if q.policy.peek() is not (line[0] if line else None):
        problems.append(f"queue {q.name!r}: peek() is not the first job of waiting()")
    elif line and may_start(q, as_record(line[0])):
        problems.append(
            f"queue {q.name!r}: job {as_record(line[0]).id!r} waits at the head of the line "
            "while a slot is free"
        )
    if q.ready + q.held > q.max_waiting + q.over_waiting:
        problems.append(
            f"queue {q.name!r}: {q.ready} waiting and {q.held} held jobs exceed the cap "
            f"of {q.max_waiting}"
        )
    if reserved != q.held:
        problems.append(f"queue {q.name!r} counts {q.held} held jobs, has {reserved}")
    for place, job in enumerate(line):
        rec = as_record(job)
        if id(rec) in seen:
            problems.append(f"job {rec.id!r} waits in more than one line")
        seen[id(rec)] = place
        if rec.queue != q.name or rec.status not in WAITING_LINE:
            problems.append(f"job {rec.id!r} ({rec.status}) is in the line of {q.name!r}")
    problems.extend(_order_problems(q, line))
    if isinstance(q.policy, AgingPolicy):
        problems.extend(q.policy.problems(core.now()))
    return problems


def _order_problems(q: QueueRecord, line: Sequence[object]) -> list[str]:
    recs = [as_record(j) for j in line]
    order = declared_order(q.policy)
    if order == "fifo":
        keys: list[tuple[int, ...]] = [(r.seq,) for r in recs]
    elif order == "priority":
        keys = [(-r.priority, r.seq) for r in recs]
    else:
        return []  # a policy that declares no order orders its line its own way
    if any(a >= b for a, b in itertools.pairwise(keys)):
        return [f"queue {q.name!r}: its line is out of {order} order"]
    return []


def _history_problems(rec: JobRecord) -> list[str]:
    problems = []
    history = list(history_pairs(full_history(rec)))
    if not history or history[0][1] is not _S.NEW or history[-1][1] is not rec.status:
        problems.append(f"job {rec.id!r}: history does not run from New to {rec.status}")
    for (t0, a), (t1, b) in itertools.pairwise(history):
        if b not in TRANSITIONS[a] or t1 < t0:
            problems.append(f"job {rec.id!r}: illegal history step {a} -> {b}")
    return problems


def _control_problems(core: Core, rec: JobRecord) -> list[str]:
    """Starts before ``not_before`` or before dependencies were met; attempts over the limit."""
    c = rec.controls
    assert c is not None
    problems = []
    if c.retry is not None and c.attempt > c.retry.attempts:
        problems.append(f"job {rec.id!r} is on attempt {c.attempt} of at most {c.retry.attempts}")
    elif c.retry is None and c.attempt != 1:
        problems.append(f"job {rec.id!r} is on attempt {c.attempt} without a retry")
    pairs = list(history_pairs(full_history(rec)))
    first_ready = next((t for t, s in pairs if s is _S.READY), None)
    started = next((t for t, s in pairs if s is _S.ACTIVE), None)
    if started is not None and c.not_before is not None and started < c.not_before:
        problems.append(f"job {rec.id!r} started at {started!r}, before {c.not_before!r}")
    if first_ready is not None and rec.status is not _S.FAILED:
        for dep in c.after:
            other = core.find(dep.job_id)
            if other is None:
                continue  # purged: it ended long before
            if other.finished_at is None or other.finished_at > first_ready:
                problems.append(
                    f"job {rec.id!r} became Ready before its dependency {dep.job_id!r} ended"
                )
    if (
        rec.status is _S.SUSPENDED
        and rec.suspended_at is None
        and not (c.waiting_on or not c.not_before_passed)
    ):
        problems.append(f"job {rec.id!r} is Suspended with nothing holding it")
    return problems
