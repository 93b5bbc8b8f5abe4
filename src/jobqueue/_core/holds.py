"""Holds: what keeps a job Suspended before it may join its queue's line.

A job is held after Preparing while any of these stands: it awaits
``confirm()`` (``confirmation_required``), its ``not_before`` time has not
come, or a job it depends on (``after``) has not ended the way it needs.
S3's Suspended is the status of a held job; when the last hold lifts, the job
goes Suspended -> Ready and enters its queue as a new submission would.

A deferred job held by time or dependencies keeps a place under its queue's
cap (``QueueRecord.held``) from submission on, so it can always join the
line when it is released. A job awaiting confirmation takes its place when
it is confirmed, as it always has.

Dependencies (Slurm's ``after*``): a dependency on job X is met when X ends
as ``on`` asks -- ``"ok"``: Complete; ``"failed"``: Failed or Cancelled;
``"any"``: any end. When X ends otherwise, the dependent can never start and
fails with reason ``DependencyNeverSatisfied``. A job can only depend on jobs
that exist when it is submitted, so every edge points to an older job and no
cycle can form. Resolving a finished job's dependents may finish others; the
work list keeps that iterative, however long the chain.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from .._controls import Dependency
from .._errors import NotFound, ValidationError
from .._events import HoldLifted
from .._states import TERMINAL, JobStatus
from .._tasks import FailureReason
from .._validate import lookup_key, shown
from .admission import check_room, check_slot_now, reserve, unreserve
from .deadlines import Timer
from .records import Controls, JobRecord, add_reason

if TYPE_CHECKING:
    from .core import Core

__all__ = [
    "check_dependencies",
    "confirm",
    "confirmation_timed_out",
    "drop",
    "hold_or_enter",
    "not_before_valid",
    "release",
    "resolve_dependents",
    "suspension_valid",
]

_S = JobStatus
_ON = frozenset({"ok", "any", "failed"})


def check_dependencies(core: Core, after: object) -> tuple[Dependency, ...]:
    """Check ``after`` (ids or ``Dependency`` values); every job must exist.

    Raises:
        ValidationError: not a sequence of ids and Dependency values, or a bad ``on``.
        NotFound: a job it names does not exist (or was purged).
    """
    if isinstance(after, (str, bytes)) or not isinstance(after, Sequence):
        raise ValidationError(
            f"after must be a sequence of job ids or Dependency, got {type(after).__name__}"
        )
    deps: list[Dependency] = []
    for i, item in enumerate(after):
        dep = Dependency(item) if isinstance(item, str) else item
        if not isinstance(dep, Dependency):
            raise ValidationError(
                f"after[{i}] must be a job id or a Dependency, got {type(item).__name__}"
            )
        # Plain copies: a str subclass's == and hash() could name another job.
        job_id = lookup_key(dep.job_id)
        if core.find(job_id) is None:
            raise NotFound(f"after[{i}]: unknown job {shown(dep.job_id)}")
        on = lookup_key(dep.on)
        if on not in _ON:
            raise ValidationError(
                f"after[{i}].on must be one of 'ok', 'any', 'failed', got {shown(dep.on)}"
            )
        deps.append(Dependency(job_id, on))
    return tuple(deps)


def hold_or_enter(core: Core, rec: JobRecord, now: float) -> None:
    """A prepared job: hold it in Suspended, or let it enter its queue."""
    c = rec.controls
    q = core.queues[rec.queue]
    if c is not None:
        # Jobs that ended before this one was submitted are decided at once.
        for dep in c.after:
            other = core.job(dep.job_id)
            if other.status not in TERMINAL:
                if dep.job_id not in c.waiting_on:
                    c.waiting_on.add(dep.job_id)
                    core.dependents.setdefault(dep.job_id, []).append(rec)
            elif not _met(dep, other.status):
                core.fail_now(rec, _never(dep, other.status), now)
                return
        if c.not_before is not None and c.not_before > now:
            core.deadlines.add(c.not_before, Timer.NOT_BEFORE, rec, c.not_before)
        else:
            c.not_before_passed = True
    if rec.confirmation_required or (c is not None and _held_by_time_or_jobs(c)):
        core.transition(rec, _S.SUSPENDED, now)
        if rec.confirmation_required:
            rec.suspended_at = now
            timeout = core.settings.confirmation_timeout
            core.deadlines.add(now + timeout, Timer.CONFIRMATION, rec, now)
        elif c is not None and rec.deferred:
            reserve(rec, q)
        return
    core.enter(rec, q, now)


def _held_by_time_or_jobs(c: Controls) -> bool:
    return not c.not_before_passed or bool(c.waiting_on)


def release(core: Core, rec: JobRecord, now: float, reason: str) -> None:
    """Let a Suspended job enter its queue if no hold remains."""
    if rec.status is not _S.SUSPENDED or rec.suspended_at is not None:
        return
    c = rec.controls
    if c is not None:
        if _held_by_time_or_jobs(c):
            return
        unreserve(rec, core.queues[rec.queue], joining=True)
    core.enter(rec, core.queues[rec.queue], now, reason)


def confirm(core: Core, rec: JobRecord, now: float) -> None:
    """A confirmed job takes its place under the cap, and enters unless still held.

    Raises:
        LimitExceededError: its queue is full (or, for a non-deferred job, has
            no free slot); the job stays Suspended.
    """
    q = core.queues[rec.queue]
    c = rec.controls
    held = c is not None and _held_by_time_or_jobs(c)
    if held or rec.deferred:
        check_room(q)  # a held job is deferred (see Core.submit)
    else:
        check_slot_now(q)
    if held:
        reserve(rec, q)
    rec.suspended_at = None
    _lifted(core, rec, now, "confirmation")
    if not held:
        core.enter(rec, q, now, "confirmed")


def not_before_valid(rec: JobRecord, token: float) -> bool:
    """Whether a start-time timer still counts."""
    c = rec.controls
    return rec.status is _S.SUSPENDED and c is not None and not c.not_before_passed


def not_before_due(core: Core, rec: JobRecord, now: float) -> None:
    assert rec.controls is not None
    rec.controls.not_before_passed = True
    _lifted(core, rec, now, "not_before")
    release(core, rec, now, "not before passed")


def suspension_valid(rec: JobRecord, token: float) -> bool:
    """Whether a confirmation timer still counts."""
    return rec.status is _S.SUSPENDED and rec.suspended_at == token


def confirmation_timed_out(core: Core, rec: JobRecord, now: float) -> None:
    timeout = core.settings.confirmation_timeout
    _fail_held(
        core,
        rec,
        FailureReason("ConfirmationTimeout", f"not confirmed within {timeout:.15g} seconds"),
        now,
        "confirmation timeout",
    )


def drop(core: Core, rec: JobRecord) -> None:
    """A held job ended (cancelled, say): give back its place under the cap."""
    unreserve(rec, core.queues[rec.queue], joining=False)


def resolve_dependents(core: Core, rec: JobRecord, now: float) -> None:
    """``rec`` ended: settle the jobs that wait on it, and theirs in turn."""
    if rec.id not in core.dependents:
        return
    work = core.resolving
    work.append(rec)
    if len(work) > 1:
        return  # an outer call is working through the list
    try:
        while work:
            ended = work[0]
            for dependent in core.dependents.pop(ended.id, ()):
                c = dependent.controls
                if dependent.status is not _S.SUSPENDED or c is None:
                    continue  # ended or released meanwhile
                _settle_dependencies(core, dependent, ended, now)
            work.popleft()
    finally:
        work.clear()


def _settle_dependencies(core: Core, rec: JobRecord, ended: JobRecord, now: float) -> None:
    """``ended`` ended: ``rec``'s dependencies on it are all met, or ``rec`` can never start."""
    c = rec.controls
    assert c is not None
    if ended.id not in c.waiting_on:
        return
    for dep in c.after:
        if dep.job_id == ended.id and not _met(dep, ended.status):
            reason = _never(dep, ended.status)
            _fail_held(core, rec, reason, now, "dependency never satisfied")
            return
    c.waiting_on.discard(ended.id)
    _lifted(core, rec, now, "dependency", ended.id)
    release(core, rec, now, f"dependency {ended.id} met")


def _lifted(
    core: Core, rec: JobRecord, now: float, hold: str, dependency: str | None = None
) -> None:
    # Every hold that lifts is an event, also when others still stand and
    # the job's status does not move: a store journals the job's row by it.
    if core.outbox.listening:
        core.outbox.emit(HoldLifted, now, rec.id, hold, dependency)


def _met(dep: Dependency, status: JobStatus) -> bool:
    """Whether a job that ended ``status`` meets ``dep``."""
    return dep.on == "any" or (dep.on == "ok") == (status is _S.COMPLETE)


def _never(dep: Dependency, status: JobStatus) -> FailureReason:
    wanted = "Complete" if dep.on == "ok" else "Failed or Cancelled"
    return FailureReason(
        "DependencyNeverSatisfied",
        f"job {dep.job_id} ended {status}, and this job waited for it to end {wanted}",
    )


def _fail_held(core: Core, rec: JobRecord, reason: FailureReason, now: float, why: str) -> None:
    # The table has no Suspended -> Failing move; the legal path to Failed
    # is through Ready, and the job never joins the line on the way.
    rec.suspended_at = None
    drop(core, rec)
    add_reason(rec, reason)
    core.transition(rec, _S.READY, now, why)
    core.transition(rec, _S.FAILING, now, reason.code)
    core.transition(rec, _S.FAILED, now)
    core.finish(rec, now)
