"""Task outcomes and failure reasons: the values a job's manifest produces."""

from __future__ import annotations

import enum

import attrs

__all__ = ["FailureReason", "ReportScope", "TaskRecord", "TaskStatus"]


class TaskStatus(enum.StrEnum):
    """The outcome of one task."""

    SUCCEEDED = "succeeded"
    FAILED = "failed"


class ReportScope(enum.StrEnum):
    """Which tasks a completion report lists."""

    ALL = "all"
    FAILED = "failed"


@attrs.frozen
class TaskRecord:
    """One task's outcome, as reported by whoever ran it.

    Attributes:
        key: the task key from the job's manifest.
        status: succeeded or failed.
        error_code: a short code for a failure (``""`` when it succeeded).
        message: a human-readable description (may be empty).
    """

    key: str
    status: TaskStatus
    error_code: str = ""
    message: str = ""


@attrs.frozen
class FailureReason:
    """Why a job failed: a code and a message, kept on the job and in its report.

    Codes jobqueue itself uses: ``"ManifestReadError"``, ``"TaskFailureThreshold"``,
    ``"ConfirmationTimeout"``, ``"HandlerError"``, ``"Interrupted"``; ``fail()``
    uses ``"JobFailed"`` unless the caller names one.
    """

    code: str
    message: str
