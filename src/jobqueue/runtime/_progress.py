"""The runtime's own event: a job's progress, at most a few times a second; its throttle."""

from __future__ import annotations

import heapq
import itertools
from collections.abc import Callable
from typing import TYPE_CHECKING

import attrs

from .._events import Event

if TYPE_CHECKING:
    from ._work import Work

__all__ = ["Progress", "Throttle"]


@attrs.frozen
class Progress(Event):
    """A running job's progress changed.

    A runtime sends these to its subscribers, between the scheduler's events, at
    most ``progress_rate`` times a second per job: updates that come faster are
    merged, and the newest one is sent when the interval has passed (or at
    shutdown), so the last value always arrives. When the scheduler has a
    store, a job function's progress is journaled as each of these goes out.

    Attributes:
        job_id: the job.
        fraction: progress in [0, 1]: tasks run / tasks in the manifest, or
            what a job function last reported.
        tasks_done: tasks recorded so far (succeeded or failed).
        tasks_total: tasks in the job's manifest.
    """

    job_id: str
    fraction: float
    tasks_done: int
    tasks_total: int

    @property
    def percent(self) -> float:
        """``fraction`` as a percentage."""
        return 100.0 * self.fraction


class Throttle:
    """Sends each job's ``Progress`` at most once per ``interval``, merging faster updates.

    The per-job state (when the last update went out, the one waiting) lives
    on the job's ``Work``; ``due`` is a heap of ``(time, seq, work)`` for the
    merged updates still waiting, whose head is a deadline of the runtime.
    """

    __slots__ = ("_deliver", "_interval", "_seq", "due")

    def __init__(self, interval: float, deliver: Callable[[Progress], None]) -> None:
        self._interval = interval
        self._deliver = deliver
        self._seq = itertools.count()
        self.due: list[tuple[float, int, Work]] = []

    def offer(self, work: Work, fraction: float, now: float) -> bool:
        """A new progress value; returns whether it added a deadline."""
        if fraction == work.p_fraction:
            work.p_pending = None
            return False
        # Every comparison is against p_time + interval, computed the same way,
        # so that a timer due at that sum always finds the update sendable.
        if now >= work.p_time + self._interval:
            self._send(work, fraction, now)
            return False
        work.p_pending = fraction
        if work.p_scheduled:
            return False
        work.p_scheduled = True
        heapq.heappush(self.due, (work.p_time + self._interval, next(self._seq), work))
        return True

    def _send(self, work: Work, fraction: float, now: float) -> None:
        work.p_time = now
        work.p_fraction = fraction
        work.p_pending = None
        self._deliver(Progress(now, work.job_id, fraction, work.done, work.manifest.count))

    def poll(self, now: float) -> None:
        """Send the merged updates whose time has come."""
        due = self.due
        while due and due[0][0] <= now:
            work = heapq.heappop(due)[2]
            work.p_scheduled = False
            pending = work.p_pending
            if pending is None:
                continue
            if now >= work.p_time + self._interval:
                self._send(work, pending, now)
            else:
                # An update went out since this was scheduled: wait a full
                # interval from that one.
                work.p_scheduled = True
                heapq.heappush(due, (work.p_time + self._interval, next(self._seq), work))
