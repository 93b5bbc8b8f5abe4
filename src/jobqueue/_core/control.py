"""Job control (S3 Batch Operations): confirm, cancel, fail, priority, tags, progress, state.

These are the calls that move one job on a caller's word, and the runtime's
acknowledgements (``cancelled``, ``paused``, ``fail`` of a Failing job) that
end a transitional status. Each checks its arguments, the access policy (for
a caller's word; the runtime's reports are trusted, see ``access``) and the
transition table before it changes anything; the moves themselves are the
core's. Each move returns the job's record, for the façade's snapshot.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import TYPE_CHECKING

from .._access import Action, Principal
from .._errors import ConflictError, InvalidTransition, InvariantViolation
from .._events import PriorityChanged, TagsChanged, WorkSaved
from .._model import QueuePosition
from .._states import TERMINAL, JobStatus, check_transition
from .._tags import validate_tags
from .._tasks import FailureReason
from .._validate import check_number, check_priority, check_str
from . import holds, retries
from .access import authorize
from .records import JobRecord, add_reason, in_line

if TYPE_CHECKING:
    from .core import Core

__all__ = [
    "cancel",
    "cancel_trusted",
    "cancelled",
    "confirm",
    "fail",
    "journal_progress",
    "paused",
    "position",
    "replace_tags",
    "save_state",
    "set_progress",
    "tags_of",
    "update_priority",
]

_S = JobStatus


def confirm(core: Core, rec: JobRecord, principal: Principal | None) -> JobRecord:
    """Suspended -> Ready: the job joins its line as a submitted one would."""
    authorize(core, Action.CONFIRM, rec, principal)
    check_transition(rec.id, rec.status, _S.READY)
    if rec.status is not _S.SUSPENDED:
        raise InvalidTransition(rec.id, rec.status, _S.READY)
    if rec.suspended_at is None:
        raise ConflictError(
            f"job {rec.id!r} does not await confirmation: it is held until it may start"
        )
    holds.confirm(core, rec, core.now())
    core.outbox.flush()
    return rec


def cancel(core: Core, rec: JobRecord, principal: Principal | None) -> JobRecord:
    """Cancelling, and Cancelled at once unless running work must acknowledge."""
    authorize(core, Action.CANCEL, rec, principal)
    return cancel_trusted(core, rec)


def cancel_trusted(core: Core, rec: JobRecord) -> JobRecord:
    """``cancel`` on the word of whoever runs the scheduler (a runtime shutting down).

    No access policy applies: the scheduler's owner is not a caller.
    """
    check_transition(rec.id, rec.status, _S.CANCELLING)
    now = core.now()
    core.stop(rec, _S.CANCELLING, now, "cancel requested")
    if not (rec.holds_slot and core.acknowledge):
        core.transition(rec, _S.CANCELLED, now)
        core.release_and_finish(rec, now)
    core.outbox.flush()
    return rec


def cancelled(core: Core, rec: JobRecord) -> JobRecord:
    """The runtime's word that a Cancelling job's work stopped."""
    check_transition(rec.id, rec.status, _S.CANCELLED)
    now = core.now()
    core.transition(rec, _S.CANCELLED, now)
    core.release_and_finish(rec, now)
    core.outbox.flush()
    return rec


def fail(core: Core, rec: JobRecord, reason: object, code: object) -> JobRecord:
    """Fail a job, or acknowledge a Failing one, keeping the reason."""
    reason = check_str("reason", reason)
    code = check_str("code", code)
    now = core.now()
    c = rec.controls
    if rec.status is _S.FAILING:
        if reason:
            add_reason(rec, FailureReason(code, reason))
        core.transition(rec, _S.FAILED, now)
        core.release_and_finish(rec, now)
    elif rec.status is _S.PAUSING and c is not None and c.retrying:
        retries.begin_backoff(core, rec, now)  # the work stopped on its way to a retry
    else:
        check_transition(rec.id, rec.status, _S.FAILING)
        core.fail_work(rec, FailureReason(code, reason or "failed"), now, work_stopped=True)
    core.outbox.flush()
    return rec


def paused(core: Core, rec: JobRecord) -> JobRecord:
    """The runtime's word that a Pausing job's work reached a checkpoint."""
    check_transition(rec.id, rec.status, _S.PAUSED)
    now = core.now()
    q = core.queues[rec.queue]
    core.complete_pause(rec, q, now)
    core.dispatch(q, now)
    core.outbox.flush()
    return rec


def update_priority(
    core: Core, rec: JobRecord, priority: object, principal: Principal | None
) -> JobRecord:
    """Change an unfinished job's priority; its line reorders and preemption re-runs."""
    new = check_priority(priority)
    authorize(core, Action.UPDATE_PRIORITY, rec, principal)
    if rec.status in TERMINAL:
        raise ConflictError(f"job {rec.id!r} is {rec.status}: its priority cannot change")
    old = rec.priority
    if new == old:
        return rec
    now = core.now()
    rec.priority = new
    q = core.queues[rec.queue]
    if in_line(rec) or rec.status is _S.ACTIVE:
        q.policy.reprioritize(rec, old)
    if core.outbox.listening:
        core.outbox.emit(PriorityChanged, now, rec.id, old, new)
    core.dispatch(q, now)
    core.outbox.flush()
    return rec


def replace_tags(
    core: Core, rec: JobRecord, tags: Mapping[str, str] | None, principal: Principal | None
) -> Mapping[str, str]:
    """Replace the job's whole tag set (``None``: delete it); the new set, read-only."""
    if tags is None:
        authorize(core, Action.DELETE_TAGS, rec, principal)
        new: dict[str, str] = {}
    else:
        new = validate_tags(tags)
        authorize(core, Action.PUT_TAGS, rec, principal, new)
    old = rec.tags
    if old != new:
        now = core.now()
        rec.tags = new
        if core.outbox.listening:
            old_view, new_view = MappingProxyType(old), MappingProxyType(dict(new))
            core.outbox.emit(TagsChanged, now, rec.id, old_view, new_view)
        core.outbox.flush()
    return tags_of(rec)


def tags_of(rec: JobRecord) -> Mapping[str, str]:
    """The job's tag set, as a read-only copy."""
    return MappingProxyType(dict(rec.tags))


def set_progress(rec: JobRecord, fraction: object) -> None:
    """Record a job function's own progress, a fraction in [0, 1]."""
    rec.progress = check_number("fraction", fraction, 0.0, 1.0)


def save_state(core: Core, rec: JobRecord, state: bytes | None) -> None:
    """Keep what a job function saved (encoded by ``_saved_state``; None: nothing) on the job.

    Raises:
        ConflictError: the job is finished.
    """
    if rec.status in TERMINAL:
        raise ConflictError(f"job {rec.id!r} is {rec.status}: its saved state cannot change")
    rec.saved = state
    _work_saved(core, rec, True)


def journal_progress(core: Core, rec: JobRecord) -> None:
    """Record an unfinished job's progress for a restart (a finished job's is recorded)."""
    if rec.status not in TERMINAL:
        _work_saved(core, rec, False)


def _work_saved(core: Core, rec: JobRecord, state: bool) -> None:
    # The event names the job, so a store journals its row: progress and state.
    if core.outbox.listening:
        core.outbox.emit(WorkSaved, core.now(), rec.id, rec.progress, state)
    core.outbox.flush()


def position(core: Core, rec: JobRecord) -> QueuePosition | None:
    """Where a waiting job stands in its line. O(n) in the line's length."""
    if not in_line(rec):
        return None  # not waiting, or in a retry's backoff, out of line
    for ahead, job in enumerate(core.queues[rec.queue].policy.waiting()):
        if job is rec:
            return QueuePosition(rec.queue, ahead + 1, ahead)
    raise InvariantViolation(f"job {rec.id!r} is {rec.status} but not in its queue's line")
