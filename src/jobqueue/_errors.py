"""The exception hierarchy: one base class, each subclass also a fitting built-in.

Messages are short, lowercase, and name the thing and the limit, e.g.
``"tag key must be 1-128 characters, got 130"``. Every error is raised before
anything changes, so a caller that catches one finds the scheduler as it was.
"""

from __future__ import annotations

__all__ = [
    "AccessDenied",
    "ConflictError",
    "InvalidTransition",
    "InvariantViolation",
    "JobQueueError",
    "LimitExceededError",
    "NotFound",
    "ValidationError",
]


class JobQueueError(Exception):
    """Base class of every error jobqueue raises on purpose."""


class ValidationError(JobQueueError, ValueError):
    """An argument is malformed or out of range; the message names the field and the limit."""


class NotFound(JobQueueError, KeyError):
    """An unknown job or queue was named."""

    def __str__(self) -> str:
        # KeyError.__str__ would wrap the message in quotes.
        return str(self.args[0]) if self.args else ""


class ConflictError(JobQueueError, ValueError):
    """The request clashes with existing state (a duplicate name, a queue still in use)."""


class LimitExceededError(JobQueueError, RuntimeError):
    """A limit is reached: no free slot for a non-deferred job, or a full waiting queue.

    The counterpart of Transcribe's ``LimitExceededConcurrentJobException``.
    """


class InvalidTransition(JobQueueError, RuntimeError):
    """A job was asked to move to a state the transition table does not allow from its own.

    Attributes:
        job_id: the job.
        current: its status when the request came.
        requested: the status asked for.
    """

    def __init__(self, job_id: str, current: object, requested: object) -> None:
        self.job_id = job_id
        self.current = current
        self.requested = requested
        super().__init__(f"job {job_id!r} cannot go from {current} to {requested}")


class AccessDenied(JobQueueError, PermissionError):
    """The access policy does not allow this caller this action on this job.

    Attributes:
        action: the action that was refused.
    """

    def __init__(self, action: object, message: str) -> None:
        self.action = action
        super().__init__(message)


class InvariantViolation(JobQueueError, AssertionError):
    """``check_invariants()`` found a broken invariant (a bug in jobqueue or a policy)."""
