"""What a runtime provides to run work: the ``Backend`` protocol the engine calls.

Each runtime (threads, asyncio, an executor) implements these calls: start and
cancel a lane or a job function, wake a job function parked at a checkpoint,
and tell waiters that something changed. The engine calls them while the
runtime is locked.
"""

from __future__ import annotations

from typing import Protocol

from ._work import Lane, Work

__all__ = ["Backend"]


class Backend(Protocol):
    """How a runtime runs work; the engine calls these while the runtime is locked."""

    #: Whether the backend stops a task at its ``task_timeout`` itself; if
    #: not, the engine fails the task then and ignores its late outcome.
    enforces_timeouts: bool
    #: Whether the backend runs pipelined lanes (``Lane.ahead``): the worker
    #: that ran a lane's call submits the call for the key taken ahead, and
    #: reports ``After.CHAINED`` (see ``TaskLanes.piped_step``).
    pipelines: bool

    def launch_lane(self, work: Work, lane: Lane) -> None:
        """Start running ``lane.key`` (and set ``lane.handle``)."""

    def cancel_lane(self, lane: Lane) -> bool:
        """Cancel a lane that has not started yet; True if it never will."""

    def launch_job(self, work: Work) -> object:
        """Start the job function; returns a handle for ``cancel_job``."""

    def cancel_job(self, handle: object) -> bool:
        """Cancel a job function that has not started yet; True if it never will."""

    def unparked(self, work: Work) -> None:
        """A parked job function must wake: resume or stop (see ``work.mode``)."""

    def changed(self) -> None:
        """Something a waiter may care about happened (a job finished, work went idle)."""
