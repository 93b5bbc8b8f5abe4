"""Retries: a job whose work failed runs again after a backoff, until its attempts are spent.

A failure of running work retries when the job has a ``Retry`` with attempts
left and the failure's code is one it covers: the work failed (``JobFailed``,
the code of a plain ``fail()``; ``HandlerError``, a runtime's code for work
that raised), ``RunTimeExceeded``, ``TaskFailureThreshold``, or a code in
``Retry.on``. A failure of a job that is not running (a wait limit, a
dependency, a confirmation timeout) is final. Preemptions, pauses and
cancellations never spend an attempt.

How a retry shows in the state table: the job goes Active -> Pausing ->
Paused, reason ``"retry: <code>"``. With ``acknowledge=True`` and work still
running, it stays Pausing, holding its slot, until the runtime's ``paused()``
(or ``fail()``) says the work stopped. In Paused it holds no slot and waits
out its backoff outside the line; then it joins the back of its queue's line
(a new entry, like a submission) and starts again Paused -> Active as
attempt ``k + 1``. The task outcomes that failed are dropped, so their tasks
can be recorded again; successes stay.
"""

from __future__ import annotations

import random
from typing import TYPE_CHECKING

from .._controls import Retry
from .._errors import ValidationError
from .._events import RetryScheduled
from .._states import JobStatus
from .._tasks import FailureReason, TaskStatus
from .._validate import check_int, check_number, lookup_key
from .deadlines import Timer
from .records import JobRecord

if TYPE_CHECKING:
    from .core import Core

__all__ = ["backoff", "backoff_valid", "backoff_over", "begin_backoff", "check", "delay", "retries"]

_S = JobStatus
_DEFAULT_CODES = frozenset({"JobFailed", "HandlerError", "RunTimeExceeded", "TaskFailureThreshold"})


def check(retry: object, name: str = "retry") -> Retry:
    """Raises: ValidationError: not a Retry, or a field out of range (named ``<name>.<field>``)."""
    if not isinstance(retry, Retry):
        raise ValidationError(f"{name} must be a Retry, got {type(retry).__name__}")
    attempts = check_int(f"{name}.attempts", retry.attempts, 1, 1000)
    backoff = check_number(f"{name}.backoff", retry.backoff, 0.0)
    factor = check_number(f"{name}.factor", retry.factor, 1.0)
    max_backoff = check_number(f"{name}.max_backoff", retry.max_backoff, 0.0)
    jitter = check_number(f"{name}.jitter", retry.jitter, 0.0)
    if max_backoff < backoff:
        raise ValidationError(
            f"{name}.max_backoff must be >= {name}.backoff ({retry.backoff!r}), "
            f"got {retry.max_backoff!r}"
        )
    if jitter > 1:
        raise ValidationError(f"{name}.jitter must be in [0, 1], got {retry.jitter!r}")
    if not isinstance(retry.on, tuple):
        raise ValidationError(f"{name}.on must be a tuple of str, got {type(retry.on).__name__}")
    on = []
    for i, code in enumerate(retry.on):
        plain = lookup_key(code)
        if not plain:
            raise ValidationError(f"{name}.on[{i}] must be a non-empty str, got {code!r}")
        on.append(plain)
    return Retry(attempts, backoff, factor, max_backoff, jitter, tuple(on))


def retries(rec: JobRecord, code: str) -> bool:
    """Whether a failure with ``code`` of ``rec``'s running work starts another attempt."""
    c = rec.controls
    if c is None or c.retry is None or c.attempt >= c.retry.attempts:
        return False
    return code in _DEFAULT_CODES or code in c.retry.on


def delay(core: Core, retry: Retry, failed_attempt: int) -> float:
    """Seconds of backoff after attempt ``failed_attempt`` (1-based) failed."""
    return backoff(retry, failed_attempt, core.rng)


def backoff(retry: Retry, failed_attempt: int, rng: random.Random) -> float:
    """Seconds of backoff after attempt ``failed_attempt`` (1-based) failed, jitter from ``rng``."""
    base = min(retry.max_backoff, retry.backoff * retry.factor ** (failed_attempt - 1))
    if retry.jitter:
        base *= rng.uniform(1.0 - retry.jitter, 1.0 + retry.jitter)
    return base


def begin_backoff(core: Core, rec: JobRecord, now: float) -> None:
    """A Pausing job whose work stopped: Paused, no slot, out of line until the backoff ends."""
    c = rec.controls
    assert c is not None and c.retry is not None and c.last_failure is not None
    q = core.queues[rec.queue]
    core.transition(rec, _S.PAUSED, now)
    core.release(rec, q, now)
    c.retrying = False
    wait = delay(core, c.retry, c.attempt)
    c.attempt += 1
    c.attempt_run = rec.run_seconds
    c.backoff_until = now + wait
    if rec.outcomes:
        kept = {k: r for k, r in rec.outcomes.items() if r.status is TaskStatus.SUCCEEDED}
        rec.outcomes = kept
        rec.failed = 0
        rec.progress = len(kept) / rec.tasks_total if rec.tasks_total else rec.progress
    core.deadlines.add(c.backoff_until, Timer.BACKOFF, rec, c.backoff_until)
    if core.outbox.listening:
        failure = c.last_failure
        core.outbox.emit(
            RetryScheduled, now, rec.id, c.attempt, c.backoff_until, failure.code, failure.message
        )
    core.dispatch(q, now)


def backoff_valid(rec: JobRecord, token: float) -> bool:
    c = rec.controls
    return rec.status is _S.PAUSED and c is not None and c.backoff_until == token


def backoff_over(core: Core, rec: JobRecord, now: float) -> None:
    """The backoff ended: the job joins the back of its line for its next attempt."""
    c = rec.controls
    assert c is not None
    c.backoff_until = None
    rec.seq = next(core.seq)
    core.join_line(rec, core.queues[rec.queue], now)
    core.dispatch(core.queues[rec.queue], now)


def record_failure(rec: JobRecord, reason: FailureReason) -> None:
    c = rec.controls
    assert c is not None
    c.last_failure = reason
    c.retrying = True
