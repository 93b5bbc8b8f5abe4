"""The runtime's own event: a job's progress, at most a few times a second."""

from __future__ import annotations

import attrs

from .._events import Event

__all__ = ["Progress"]


@attrs.frozen
class Progress(Event):
    """A running job's progress changed.

    A runtime sends these to its subscribers, between the scheduler's events, at
    most ``progress_rate`` times a second per job: updates that come faster are
    merged, and the newest one is sent when the interval has passed (or at
    shutdown), so the last value always arrives.

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
