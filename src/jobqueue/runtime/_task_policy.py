"""Task retries and timeouts: a failed task runs again after its backoff; a slow one fails.

A job submitted with ``task_retries`` gets each failed task run again, after
the ``Retry``'s backoff, until its attempts are spent; only the last outcome
is recorded. A job with ``task_timeout`` fails a task still running that many
seconds after it was handed to a worker (code ``TaskTimeout``).

Both wait on the runtime's own timers: ``TaskTimers`` keeps one heap of
``(due, seq, work, key, lane, token)``; its head is a deadline of the engine.
An entry is checked when it comes due, not removed when it goes stale: a
retry belongs to one attempt of its job (``Work.generation``), a timeout to
one turn of its lane (``Lane.turn``).
"""

from __future__ import annotations

import heapq
import itertools
import random

from .._controls import Retry
from .._core import retries
from .._errors import ValidationError
from .._validate import check_positive_number
from ._work import Lane, Mode, Work

__all__ = ["TaskTimers", "check_task_policy"]

_RETRYING = frozenset({Mode.RUN, Mode.PAUSE, Mode.PAUSED})


def check_task_policy(
    task: object, task_retries: object, task_timeout: object
) -> tuple[Retry | None, float | None]:
    """Check ``task_retries`` and ``task_timeout`` of a submission.

    Raises:
        ValidationError: either given without a task function, a bad ``Retry``
            (fields named ``task_retries.<field>``; ``on`` must be empty, since
            every task failure retries), or a timeout that is not a finite
            number > 0.
    """
    if task is None:
        for field, value in (("task_retries", task_retries), ("task_timeout", task_timeout)):
            if value is not None:
                raise ValidationError(f"{field} needs a task function")
    retry = None if task_retries is None else retries.check(task_retries, "task_retries")
    if retry is not None and retry.on:
        raise ValidationError(
            f"task_retries.on must be empty (every task failure retries), got {retry.on!r}"
        )
    timeout = None if task_timeout is None else check_positive_number("task_timeout", task_timeout)
    return retry, timeout


class TaskTimers:
    """The retries and timeouts of tasks, waiting for their time."""

    __slots__ = ("_due", "_rng", "_seq")

    def __init__(self, rng: random.Random) -> None:
        self._rng = rng
        self._seq = itertools.count(1)
        self._due: list[tuple[float, int, Work, str, Lane | None, int]] = []

    def next_due(self) -> float | None:
        """When the next entry comes due, if any."""
        return self._due[0][0] if self._due else None

    def retry_later(self, work: Work, key: str, now: float) -> float | None:
        """A task failed: if it has attempts left, run it again later.

        Returns the backoff in seconds, or None if the failure is final (no
        attempts left, or the job is stopping).
        """
        retry = work.task_retry
        if retry is None or work.mode not in _RETRYING:
            return None
        attempts = work.attempts
        if attempts is None:
            work.attempts = attempts = {}
        failed = attempts.get(key, 0) + 1
        if failed >= retry.attempts:
            return None
        attempts[key] = failed
        work.delayed += 1
        wait = retries.backoff(retry, failed, self._rng)
        heapq.heappush(self._due, (now + wait, next(self._seq), work, key, None, work.generation))
        return wait

    def watch(self, work: Work, lane: Lane, now: float, timeout: float) -> None:
        """``lane`` was just handed ``lane.key``: fail it if it still runs after ``timeout`` s."""
        turn = next(self._seq)
        lane.turn = turn
        heapq.heappush(self._due, (now + timeout, turn, work, lane.key, lane, turn))

    def pop_due(self, now: float) -> list[tuple[Work, str, Lane | None]]:
        """The entries due by ``now`` that still hold: ``(work, key, None)`` for a
        key to run again, ``(work, key, lane)`` for a lane that ran out of time."""
        due = self._due
        out: list[tuple[Work, str, Lane | None]] = []
        while due and due[0][0] <= now:
            _, _, work, key, lane, token = heapq.heappop(due)
            if lane is None:
                if work.generation == token and work.mode is not Mode.DONE:
                    work.delayed -= 1
                    out.append((work, key, None))
            elif lane.turn == token and not lane.abandoned and lane in work.lanes:
                out.append((work, key, lane))
        return out
