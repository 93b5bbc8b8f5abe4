"""Typed, frozen events: everything that happens to a job or a queue.

Subscribers receive them in the order they happened, each with the clock's
time. The stream is enough to audit a job: submission, every status change,
hop, priority change, tag change, task outcome, saved work, retry and purge.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeAlias

import attrs

from ._states import JobStatus
from ._tasks import TaskRecord

__all__ = [
    "Event",
    "HoldLifted",
    "HopHeld",
    "HopsDropped",
    "JobHopped",
    "JobPurged",
    "JobSubmitted",
    "JobTransitioned",
    "PriorityChanged",
    "QueueEvent",
    "RetryScheduled",
    "TagsChanged",
    "TaskRecorded",
    "WorkSaved",
]


#: An event as the scheduler records it, ``(event class, *fields)`` with the
#: fields in the class's order: ``time`` first, then the ``job_id`` (or, for
#: ``QueueEvent``, the ``queue``). ``kind(*raw[1:])`` builds the event.
RawEvent: TypeAlias = tuple[Any, ...]


@attrs.frozen
class Event:
    """Base of every event: when it happened (``time``, clock seconds)."""

    time: float


@attrs.frozen
class JobSubmitted(Event):
    """A submission was accepted and the job created (it is then ``New``)."""

    job_id: str
    queue: str
    priority: int
    deferred: bool
    name: str | None


@attrs.frozen
class JobTransitioned(Event):
    """A job moved from ``old`` to ``new`` status; ``reason`` says why, when it helps."""

    job_id: str
    old: JobStatus
    new: JobStatus
    reason: str = ""


@attrs.frozen
class HoldLifted(Event):
    """One of the holds keeping a Suspended job out of its queue's line lifted.

    The job was confirmed (``hold="confirmation"``), its ``not_before`` time
    came (``"not_before"``), or a job it depends on ended as it needs
    (``"dependency"``, naming that job in ``dependency``). When the last hold
    lifts, a ``JobTransitioned`` to Ready follows; until then the job stays
    Suspended, and this event is how its change is seen (and journaled, by a
    scheduler on a store).

    Attributes:
        hold: ``"confirmation"``, ``"not_before"`` or ``"dependency"``.
        dependency: the id of the job whose end lifted a dependency hold, else None.
    """

    job_id: str
    hold: str
    dependency: str | None = None


@attrs.frozen
class JobHopped(Event):
    """A waiting job moved from ``source`` to ``destination``, now with ``priority``."""

    job_id: str
    source: str
    destination: str
    priority: int


@attrs.frozen
class HopHeld(Event):
    """A waiting job's hop wait passed while its queue was paused.

    The hop is held: when the queue resumes, the job stays if no job is ahead
    of it, and hops at once otherwise.
    """

    job_id: str
    queue: str


@attrs.frozen
class HopsDropped(Event):
    """A job's remaining hop rules were dropped: it stays in ``queue``.

    ``reason`` says why: it was first in line when its paused queue resumed, or
    the destination could not take it.
    """

    job_id: str
    queue: str
    reason: str


@attrs.frozen
class PriorityChanged(Event):
    """A job's priority changed (by ``update_priority``)."""

    job_id: str
    old: int
    new: int


@attrs.frozen
class TagsChanged(Event):
    """A job's tag set was replaced (``put_tags``) or deleted (``delete_tags``)."""

    job_id: str
    old: Mapping[str, str]
    new: Mapping[str, str]


@attrs.frozen
class TaskRecorded(Event):
    """One task outcome was recorded on a job."""

    job_id: str
    record: TaskRecord


@attrs.frozen
class WorkSaved(Event):
    """A job function's state (``ctx.save``) or its progress was recorded for a restart.

    A scheduler on a store journals the job with it. A runtime records state
    at every ``ctx.save``, and a job function's progress (``ctx.progress``)
    at the rate of its ``Progress`` events when the scheduler has a store.

    Attributes:
        progress: the job's progress, as recorded.
        state: whether the job function saved state (False: progress alone).
    """

    job_id: str
    progress: float
    state: bool


@attrs.frozen
class RetryScheduled(Event):
    """A job's work failed and the job will run again after a backoff.

    Attributes:
        attempt: the attempt that will start after the backoff (2 for the first retry).
        until: when the backoff ends and the job joins its queue's line again.
        code: the failure reason code that caused the retry.
        message: the failure's message.
    """

    job_id: str
    attempt: int
    until: float
    code: str
    message: str


@attrs.frozen
class JobPurged(Event):
    """A finished job passed the retention window and was removed."""

    job_id: str


@attrs.frozen
class QueueEvent(Event):
    """A queue was created, updated, paused, resumed or deleted.

    Attributes:
        queue: the queue's name.
        change: one of ``"created"``, ``"updated"``, ``"paused"``, ``"resumed"``, ``"deleted"``.
    """

    queue: str
    change: str
