"""The job controls' values: dependencies, retries, aging, and why a job waits.

These are plain frozen values; the scheduler checks them where they are used
(``submit``, ``create_queue``), naming the field and the limit of any bad
one, as it does for ``HopRule``.
"""

from __future__ import annotations

import enum

import attrs

__all__ = ["Aging", "Dependency", "PendingCode", "PendingReason", "Retry"]


@attrs.frozen
class Dependency:
    """Start only after job ``job_id`` ended the way ``on`` says (Slurm's ``after*``).

    Attributes:
        job_id: the job waited on; it must exist when the dependent is submitted.
        on: ``"ok"`` (it completed; Slurm's afterok), ``"any"`` (it ended, however;
            afterany) or ``"failed"`` (it failed or was cancelled; afternotok).
    """

    job_id: str
    on: str = "ok"


@attrs.frozen
class Retry:
    """Run a failed job again after a backoff, up to ``attempts`` attempts in all.

    The wait before attempt ``k + 1`` is ``min(max_backoff, backoff * factor**(k - 1))``
    seconds, scaled by a factor drawn uniformly from ``[1 - jitter, 1 + jitter]``
    with the scheduler's ``rng``.

    Attributes:
        attempts: attempts in all, the first one included (``>= 1``).
        backoff: seconds before the second attempt (``>= 0``).
        factor: how much each later backoff grows (``>= 1``).
        max_backoff: the longest backoff (``>= backoff``).
        jitter: the relative spread of a backoff, in ``[0, 1]``.
        on: failure reason codes that retry besides the default ones: the work
            failed (``JobFailed``, ``HandlerError``), ``RunTimeExceeded`` and
            ``TaskFailureThreshold``.
    """

    attempts: int = 3
    backoff: float = 1.0
    factor: float = 2.0
    max_backoff: float = 300.0
    jitter: float = 0.1
    on: tuple[str, ...] = ()


@attrs.frozen
class Aging:
    """Raise a waiting job's effective priority so that low priorities cannot starve.

    A job's effective priority grows by ``step`` for each ``every`` seconds it
    has waited in its current line, continuously (after one and a half
    ``every`` it is one and a half ``step`` above its own), and at most ``cap`` above its own. Aging
    orders the line only: preemption still compares the jobs' own priorities.

    Attributes:
        every: seconds of waiting per ``step`` (``> 0``).
        step: priority gained per ``every`` seconds (``>= 1``).
        cap: the most a job gains (``>= 1``).
    """

    every: float = 60.0
    step: int = 1
    cap: int = 10


class PendingCode(enum.StrEnum):
    """Why a job that is not running is not running."""

    AWAITING_CONFIRMATION = "AwaitingConfirmation"
    NOT_BEFORE = "NotBefore"
    DEPENDENCIES = "WaitingOnDependencies"
    RETRY_BACKOFF = "RetryBackoff"
    QUEUE_PAUSED = "QueuePaused"
    DEFERRED_SHARE_FULL = "DeferredShareFull"
    NO_FREE_SLOT = "NoFreeSlot"
    PREEMPTED = "Preempted"
    PREPARING = "Preparing"
    STOPPING = "Stopping"


@attrs.frozen
class PendingReason:
    """Why a job is not running, with the numbers behind it (``Scheduler.pending_reason``).

    Attributes:
        code: the kind of reason.
        message: the reason in words, e.g. ``"9 of 9 deferred slots in use;
            queue 'overflow' has 10 slots, share 0.9"``.
        queue: the queue it waits in, where that matters.
        until: when the wait ends by itself (a start time, a backoff), if known.
        jobs: the jobs it still waits on (dependencies).
        ahead: jobs that start before it in its queue's line.
    """

    code: PendingCode
    message: str
    queue: str | None = None
    until: float | None = None
    jobs: tuple[str, ...] = ()
    ahead: int | None = None

    def __str__(self) -> str:
        return self.message
