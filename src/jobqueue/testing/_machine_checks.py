"""The state machine's checks: of each call, and of the job controls after every step.

``expect`` makes one call the machine predicted to succeed or to fail: a
failing call must raise the predicted error and change nothing
(``expect_refused``: a call with one bad argument, with its exact message
too). ``PolicyStateMachine.check`` runs the others after every step, read
from the public API and the events: a pending reason exactly for the jobs
that wait (a backoff's own reason for a job in one), and in each aging queue
a line in effective-priority order with no job aged past its cap.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from .._controls import PendingCode
from .._errors import InvariantViolation
from .._scheduler import Scheduler
from .._states import TERMINAL, JobStatus
from ._fingerprint import fingerprint
from ._history import HistoryChecker, JobModel, PropertyFailed
from ._values import InvalidCall

__all__ = ["check_aging", "check_pending_reasons", "expect", "expect_refused"]

_S = JobStatus
_NOT_STARTED = frozenset({_S.NEW, _S.PREPARING, _S.SUSPENDED, _S.READY, _S.PAUSED})


def expect(
    sched: Scheduler,
    label: str,
    call: Callable[[], Any],
    expected: type[Exception] | None,
    message: str | None = None,
) -> Any:
    """Make ``call``: it must succeed, or raise ``expected`` (with ``message``,
    if given) and leave ``sched`` as it was. Returns what it returned, or ``None``."""
    before = None if expected is None else fingerprint(sched)
    try:
        result = call()
    except InvariantViolation as exc:
        raise PropertyFailed("scheduler invariant", f"{label}: {exc}") from exc
    except Exception as exc:
        if expected is None or not isinstance(exc, expected):
            wanted = "success" if expected is None else expected.__name__
            raise PropertyFailed(
                "api contract",
                f"{label} raised {type(exc).__name__}: {exc} (expected {wanted})",
            ) from exc
        if fingerprint(sched) != before:
            raise PropertyFailed(
                "errors change nothing",
                f"{label} raised {type(exc).__name__}: {exc}, but changed the scheduler",
            ) from exc
        if message is not None and str(exc) != message:
            raise PropertyFailed(
                "error messages", f"{label} raised {exc!s}, expected {message!r}"
            ) from exc
        return None
    if expected is not None:
        raise PropertyFailed(
            "api contract", f"{label} succeeded, but it must raise {expected.__name__}"
        )
    return result


def expect_refused(sched: Scheduler, bad: InvalidCall) -> None:
    """``bad`` raises its error with its exact message, and changes nothing."""
    label = f"{bad.method} with a bad {bad.field}"
    expect(sched, label, lambda: bad.call(sched), bad.error, bad.message)


def check_pending_reasons(sched: Scheduler, checker: HistoryChecker) -> None:
    """Every waiting job has a pending reason; running and finished jobs have none."""
    for job in checker.jobs.values():
        reason = sched.pending_reason(job.id)
        if job.status in _NOT_STARTED:
            if reason is None:
                raise PropertyFailed(
                    "pending reason", f"job {job.id!r} is {job.status} with no pending reason"
                )
            if job.backoff != (reason.code is PendingCode.RETRY_BACKOFF):
                raise PropertyFailed(
                    "pending reason",
                    f"job {job.id!r} is {job.status}"
                    + (" in a retry's backoff" if job.backoff else "")
                    + f", but its pending reason is {reason.code}: {reason.message}",
                )
        elif reason is not None and job.status in (_S.ACTIVE, _S.PAUSING, *TERMINAL):
            raise PropertyFailed(
                "pending reason",
                f"job {job.id!r} is {job.status}, but has a pending reason: {reason.message}",
            )


def check_aging(sched: Scheduler, checker: HistoryChecker, now: float) -> None:
    """In each aging queue, the line is in aged order, and no job is aged past its cap.

    The line's order comes from ``position()``; each job's effective priority
    from its own priority and the time the events say it joined the line. In
    the machine the clock moves only in ``advance``, which polls at once, so
    that time is exact even for a job back from a retry's backoff (see
    ``HistoryChecker``).
    """
    for info in sched.list_queues():
        queue, aging = info.name, info.aging
        if aging is None:
            continue
        placed: list[tuple[int, JobModel]] = []
        for job in checker.line(queue):
            where = sched.position(job.id)
            if where is not None and job.since is not None:
                placed.append((where.ahead, job))
        placed.sort(key=lambda pair: pair[0])
        lowest: JobModel | None = None  # the lowest own priority ahead
        last: tuple[float, JobModel] | None = None
        for _, job in placed:
            assert job.since is not None
            gained = aging.step * (now - job.since) / aging.every
            effective = job.priority + min(float(aging.cap), max(0.0, gained))
            if lowest is not None and job.priority > lowest.priority + aging.cap:
                raise PropertyFailed(
                    "aging cap",
                    f"job {lowest.id!r} (priority {lowest.priority}) waits ahead of job "
                    f"{job.id!r} (priority {job.priority}) in queue {queue!r}: only aging "
                    f"past its cap of {aging.cap} could put it there",
                )
            if last is not None and effective > last[0] + 1e-9:
                raise PropertyFailed(
                    "aging order",
                    f"job {job.id!r} (effective priority {effective:.6g}) waits behind job "
                    f"{last[1].id!r} ({last[0]:.6g}) in queue {queue!r} at {now!r}",
                )
            if lowest is None or job.priority < lowest.priority:
                lowest = job
            last = (effective, job)
