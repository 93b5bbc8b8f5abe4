"""Why a job that is not running is not running (``Scheduler.pending_reason``).

Each waiting status has its reasons, first match wins:

- Preparing (or New): its manifest is being read.
- Suspended: it awaits ``confirm()``; its ``not_before`` time has not come;
  it waits on jobs (named).
- Paused in a retry's backoff: until when, and what failed.
- Ready or Paused in a line: the queue is paused; the deferred share is full
  (``n of m deferred slots in use; queue has k slots, share s``); no slot is
  free, with ``n`` jobs ahead; or, for a preempted job, that it was preempted.

Working and finished jobs have none.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

from .._controls import PendingCode, PendingReason
from .._states import JobStatus
from .records import JobRecord, QueueRecord

if TYPE_CHECKING:
    from .core import Core

__all__ = ["pending_reason"]

_S = JobStatus


def pending_reason(
    core: Core, rec: JobRecord, positions: Mapping[int, int] | None = None
) -> PendingReason | None:
    """The reason ``rec`` is not running, or ``None`` if its work may run or it ended.

    O(n) in the length of its line (to count the jobs ahead), or O(1) with
    ``positions``: each waiting record's ``id()`` to its place in its line,
    for a caller that asks of every job in a line (``invariants.check``).
    """
    status = rec.status
    c = rec.controls
    if status in (_S.NEW, _S.PREPARING):
        return PendingReason(PendingCode.PREPARING, "its manifest is being read", rec.queue)
    if status is _S.SUSPENDED:
        if rec.suspended_at is not None:
            return PendingReason(
                PendingCode.AWAITING_CONFIRMATION,
                "it awaits confirm()",
                rec.queue,
                until=rec.suspended_at + core.settings.confirmation_timeout,
            )
        if c is None:
            return None  # held by nothing: check_invariants reports it
        if not c.not_before_passed and c.not_before is not None:
            return PendingReason(
                PendingCode.NOT_BEFORE,
                f"it may not start before {c.not_before:.15g}",
                rec.queue,
                until=c.not_before,
            )
        waiting = tuple(d.job_id for d in c.after if d.job_id in c.waiting_on)
        if not waiting:
            return None  # held by nothing: check_invariants reports it
        return PendingReason(
            PendingCode.DEPENDENCIES,
            f"it waits on {len(waiting)} job{'s' if len(waiting) != 1 else ''}: "
            + ", ".join(waiting),
            rec.queue,
            jobs=waiting,
        )
    if status not in (_S.READY, _S.PAUSED):
        return None
    if c is not None and c.backoff_until is not None:
        failure = c.last_failure
        what = "" if failure is None else f" after {failure.code}"
        return PendingReason(
            PendingCode.RETRY_BACKOFF,
            f"attempt {c.attempt} starts at {c.backoff_until:.15g}{what}",
            rec.queue,
            until=c.backoff_until,
        )
    q = core.queues[rec.queue]
    ahead = _ahead(q, rec) if positions is None else positions.get(id(rec), 0)
    if q.paused:
        return PendingReason(
            PendingCode.QUEUE_PAUSED, f"queue {q.name!r} is paused", q.name, ahead=ahead
        )
    if status is _S.PAUSED:
        return PendingReason(
            PendingCode.PREEMPTED,
            f"it was preempted by higher-priority work; {_jobs(ahead)} ahead",
            q.name,
            ahead=ahead,
        )
    if rec.deferred and q.holding < q.slots and q.deferred_holding >= q.deferred_limit:
        return PendingReason(
            PendingCode.DEFERRED_SHARE_FULL,
            f"{q.deferred_holding} of {q.deferred_limit} deferred slots in use; "
            f"queue {q.name!r} has {q.slots} slots, share {q.deferred_share:g}",
            q.name,
            ahead=ahead,
        )
    return PendingReason(
        PendingCode.NO_FREE_SLOT,
        f"no free slot: {q.holding} of {q.slots} slots in use; {_jobs(ahead)} ahead",
        q.name,
        ahead=ahead,
    )


def _ahead(q: QueueRecord, rec: JobRecord) -> int:
    for ahead, job in enumerate(q.policy.waiting()):
        if job is rec:
            return ahead
    return 0


def _jobs(n: int) -> str:
    return f"{n} job{'s' if n != 1 else ''}"
