"""The job state machine, as data.

Theory of operation: ``TRANSITIONS`` below is the whole state machine of S3 Batch
Operations jobs. Every status change in jobqueue goes through
``check_transition``; a pair missing from the table raises ``InvalidTransition``
before anything changes. The README's state diagram is generated from this
table by ``state_diagram()``, and a test keeps the two in step.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from types import MappingProxyType

from ._errors import InvalidTransition

__all__ = [
    "RUNNING",
    "TASKS_ACCEPTED",
    "TERMINAL",
    "TRANSITIONS",
    "WAITING_LINE",
    "WORKING",
    "JobStatus",
    "MediaConvertStatus",
    "TranscribeStatus",
    "check_transition",
    "mediaconvert_status",
    "state_diagram",
    "transcribe_status",
]


class JobStatus(enum.StrEnum):
    """The twelve statuses of a job (values are the service's exact strings)."""

    NEW = "New"
    PREPARING = "Preparing"
    SUSPENDED = "Suspended"
    READY = "Ready"
    ACTIVE = "Active"
    PAUSING = "Pausing"
    PAUSED = "Paused"
    COMPLETE = "Complete"
    CANCELLING = "Cancelling"
    CANCELLED = "Cancelled"
    FAILING = "Failing"
    FAILED = "Failed"

    @property
    def is_terminal(self) -> bool:
        """True for Complete, Cancelled and Failed, which never change again."""
        return self in TERMINAL


_S = JobStatus

#: Every legal (from -> to) move. Terminal statuses map to nothing.
TRANSITIONS: Mapping[JobStatus, frozenset[JobStatus]] = MappingProxyType(
    {
        _S.NEW: frozenset({_S.PREPARING, _S.CANCELLING, _S.FAILING}),
        _S.PREPARING: frozenset({_S.READY, _S.SUSPENDED, _S.CANCELLING, _S.FAILING}),
        _S.SUSPENDED: frozenset({_S.READY, _S.CANCELLING}),
        _S.READY: frozenset({_S.ACTIVE, _S.CANCELLING, _S.FAILING}),
        _S.ACTIVE: frozenset({_S.COMPLETE, _S.PAUSING, _S.CANCELLING, _S.FAILING}),
        _S.PAUSING: frozenset({_S.PAUSED, _S.COMPLETE, _S.CANCELLING, _S.FAILING}),
        _S.PAUSED: frozenset({_S.ACTIVE, _S.CANCELLING, _S.FAILING}),
        _S.CANCELLING: frozenset({_S.CANCELLED}),
        _S.FAILING: frozenset({_S.FAILED}),
        _S.COMPLETE: frozenset(),
        _S.CANCELLED: frozenset(),
        _S.FAILED: frozenset(),
    }
)

#: Statuses a job never leaves.
TERMINAL: frozenset[JobStatus] = frozenset({_S.COMPLETE, _S.CANCELLED, _S.FAILED})
#: The statuses in which a job's work may be running: under ``acknowledge=True``
#: the job holds its slot until the work has stopped.
WORKING: frozenset[JobStatus] = frozenset({_S.ACTIVE, _S.PAUSING, _S.CANCELLING, _S.FAILING})
#: The statuses in which a task outcome may be recorded.
TASKS_ACCEPTED: frozenset[JobStatus] = WORKING | {_S.PAUSED}
#: The statuses of a job that holds its slot for running work (Active, Pausing).
RUNNING: frozenset[JobStatus] = frozenset({_S.ACTIVE, _S.PAUSING})
#: The statuses of a job that waits for a slot: Ready, or Paused after a preemption
#: (or in a retry's backoff, which waits out of line).
WAITING_LINE: frozenset[JobStatus] = frozenset({_S.READY, _S.PAUSED})


def check_transition(job_id: str, current: JobStatus, target: JobStatus) -> None:
    """Raise unless ``current -> target`` is in ``TRANSITIONS``.

    Raises:
        InvalidTransition: naming the job, the current and the requested status.
    """
    if target not in TRANSITIONS[current]:
        raise InvalidTransition(job_id, current, target)


class TranscribeStatus(enum.StrEnum):
    """A job's status in Amazon Transcribe's vocabulary."""

    QUEUED = "QUEUED"
    IN_PROGRESS = "IN_PROGRESS"
    COMPLETED = "COMPLETED"
    FAILED = "FAILED"


class MediaConvertStatus(enum.StrEnum):
    """A job's status in AWS Elemental MediaConvert's vocabulary."""

    SUBMITTED = "SUBMITTED"
    PROGRESSING = "PROGRESSING"
    COMPLETE = "COMPLETE"
    CANCELED = "CANCELED"
    ERROR = "ERROR"


# Waiting statuses (not holding a slot, not finished) read as queued/submitted;
# a paused job waits for its slot again. Transitional statuses out of running
# work still read as running: the work has not stopped yet.
_WAITING = frozenset({_S.NEW, _S.PREPARING, _S.SUSPENDED, _S.READY, _S.PAUSED})

_TRANSCRIBE: Mapping[JobStatus, TranscribeStatus] = MappingProxyType(
    {
        **{s: TranscribeStatus.QUEUED for s in _WAITING},
        **{
            s: TranscribeStatus.IN_PROGRESS
            for s in (_S.ACTIVE, _S.PAUSING, _S.CANCELLING, _S.FAILING)
        },
        _S.COMPLETE: TranscribeStatus.COMPLETED,
        # Transcribe has no cancelled status: a job that did not complete failed.
        _S.CANCELLED: TranscribeStatus.FAILED,
        _S.FAILED: TranscribeStatus.FAILED,
    }
)

_MEDIACONVERT: Mapping[JobStatus, MediaConvertStatus] = MappingProxyType(
    {
        **{s: MediaConvertStatus.SUBMITTED for s in _WAITING},
        **{
            s: MediaConvertStatus.PROGRESSING
            for s in (_S.ACTIVE, _S.PAUSING, _S.CANCELLING, _S.FAILING)
        },
        _S.COMPLETE: MediaConvertStatus.COMPLETE,
        _S.CANCELLED: MediaConvertStatus.CANCELED,
        _S.FAILED: MediaConvertStatus.ERROR,
    }
)


def transcribe_status(status: JobStatus) -> TranscribeStatus:
    """Show ``status`` in Transcribe's vocabulary (QUEUED, IN_PROGRESS, COMPLETED, FAILED).

    >>> transcribe_status(JobStatus.READY)
    <TranscribeStatus.QUEUED: 'QUEUED'>
    """
    return _TRANSCRIBE[status]


def mediaconvert_status(status: JobStatus) -> MediaConvertStatus:
    """Show ``status`` in MediaConvert's vocabulary (SUBMITTED, PROGRESSING, ...).

    >>> mediaconvert_status(JobStatus.CANCELLED)
    <MediaConvertStatus.CANCELED: 'CANCELED'>
    """
    return _MEDIACONVERT[status]


def state_diagram() -> str:
    """Return the state machine as a Mermaid ``stateDiagram-v2``, generated from the table."""
    lines = ["stateDiagram-v2", f"    [*] --> {_S.NEW.value}"]
    for source in JobStatus:
        for target in sorted(TRANSITIONS[source], key=list(JobStatus).index):
            lines.append(f"    {source.value} --> {target.value}")
    for terminal in sorted(TERMINAL, key=list(JobStatus).index):
        lines.append(f"    {terminal.value} --> [*]")
    return "\n".join(lines)
