"""Values the API takes and returns: hop rules, queue settings, job snapshots, pages.

Everything here is frozen: a snapshot cannot be used to change a job behind the
state machine's back. The scheduler's own mutable job record lives in
``_core/records.py`` and never leaves the package except through the read-only
``PolicyJob`` view that policies see.
"""

from __future__ import annotations

import enum
from collections.abc import Iterator, Mapping
from types import MappingProxyType
from typing import NamedTuple

import attrs

from ._controls import Aging, Dependency, Retry
from ._states import JobStatus, MediaConvertStatus, TranscribeStatus, mediaconvert_status
from ._states import transcribe_status as _transcribe_status
from ._tasks import FailureReason, ReportScope

__all__ = [
    "Acceleration",
    "BillingTagsSource",
    "HopRule",
    "HopTransition",
    "Job",
    "JobPage",
    "JobSummary",
    "Pricing",
    "QueueInfo",
    "QueuePosition",
    "StatusChange",
    "UsageRow",
]


def _frozen_map(value: Mapping[str, str]) -> Mapping[str, str]:
    if isinstance(value, MappingProxyType):
        return value  # already read-only; the scheduler never mutates a tag dict in place
    return MappingProxyType(dict(value))


class Pricing(enum.StrEnum):
    """A queue's pricing plan: on-demand time is billed, reserved time is prepaid."""

    ON_DEMAND = "on_demand"
    RESERVED = "reserved"


class Acceleration(enum.StrEnum):
    """Accelerated processing: reserved queues cannot run ``enabled`` jobs;
    ``preferred`` runs accelerated only in an on-demand queue."""

    DISABLED = "disabled"
    ENABLED = "enabled"
    PREFERRED = "preferred"


class BillingTagsSource(enum.StrEnum):
    """Where a job's billing tags come from: its submission queue, or the job itself."""

    QUEUE = "queue"
    JOB = "job"


@attrs.frozen
class HopRule:
    """Move a job that is still waiting after ``wait`` seconds to ``queue``.

    Rules on a job form a chain: rule *i* applies in the queue the job reached
    after *i* hops, timed from the moment it began waiting there.

    Attributes:
        queue: the destination queue.
        wait: seconds of waiting (``> 0``) before the hop.
        priority: the job's priority in the destination; ``None`` keeps its own.
    """

    queue: str
    wait: float
    priority: int | None = None


@attrs.frozen
class HopTransition:
    """One hop that happened: from ``source`` to ``destination`` at ``time``."""

    source: str
    destination: str
    time: float
    priority: int


class StatusChange(NamedTuple):
    """One entry of a job's history: it entered ``status`` at ``time``.

    A named tuple rather than an attrs class: every job records several, and a
    tuple is the cheapest object Python makes.
    """

    time: float
    status: JobStatus


# Not slotted: every public call builds one of these, and a frozen class
# with a __dict__ is initialised by plain dict stores, half the time of the
# 28 object.__setattr__ calls a slotted one takes.
@attrs.frozen(slots=False)
class Job:
    """A frozen snapshot of a job, with its whole configuration and history.

    Attributes:
        id: the scheduler-assigned id.
        name: the optional unique name (unique among unfinished jobs).
        description: free text.
        status: the status when the snapshot was taken.
        priority: the current priority (higher runs first).
        submission_queue: the queue the job was submitted to (listing uses it).
        queue: the queue the job is in now, or ran in.
        deferred: whether it may wait for a slot (Transcribe's AllowDeferredExecution).
        preemptible: whether a higher-priority job may pause it.
        confirmation_required: whether it waited in Suspended for ``confirm()``.
        created_at: submission time.
        started_at: first time it became Active, or ``None``.
        finished_at: when it reached a terminal status, or ``None``.
        tags: the job's tags.
        hops: its hop rules.
        hop_transitions: the hops it made.
        history: every status it entered, with times.
        tasks_total: number of tasks in its manifest.
        tasks_succeeded: tasks reported successful.
        tasks_failed: tasks reported failed.
        failure_reasons: why it failed, if it did.
        report: the completion-report scope requested, or ``None``.
        acceleration: the acceleration setting.
        accelerated: whether it ran accelerated (``None`` before it ran).
        billing_tags_source: where its billing tags come from.
        run_seconds: total time spent Active.
        billed_seconds: time spent Active in on-demand queues.
        progress: fraction of tasks done (0.0-1.0), or as its job function last
            reported (after a restart: as last journaled).
        attempt: which attempt the job is on (1 until a ``retry`` runs it again).
        not_before: the time before which it may not start, if any.
        after: the jobs it waits on.
        max_run: seconds one attempt may hold a slot, if limited.
        max_wait: seconds it may wait in a line in all, if limited.
        retry: its retry settings, if any.
    """

    id: str
    name: str | None
    description: str
    status: JobStatus
    priority: int
    submission_queue: str
    queue: str
    deferred: bool
    preemptible: bool
    confirmation_required: bool
    created_at: float
    started_at: float | None
    finished_at: float | None
    tags: Mapping[str, str] = attrs.field(converter=_frozen_map)
    hops: tuple[HopRule, ...]
    hop_transitions: tuple[HopTransition, ...]
    history: tuple[StatusChange, ...]
    tasks_total: int
    tasks_succeeded: int
    tasks_failed: int
    failure_reasons: tuple[FailureReason, ...]
    report: ReportScope | None
    acceleration: Acceleration
    accelerated: bool | None
    billing_tags_source: BillingTagsSource
    run_seconds: float
    billed_seconds: float
    progress: float
    attempt: int = 1
    not_before: float | None = None
    after: tuple[Dependency, ...] = ()
    max_run: float | None = None
    max_wait: float | None = None
    retry: Retry | None = None

    @property
    def transcribe_status(self) -> TranscribeStatus:
        """The status in Transcribe's vocabulary (QUEUED, IN_PROGRESS, ...)."""
        return _transcribe_status(self.status)

    @property
    def mediaconvert_status(self) -> MediaConvertStatus:
        """The status in MediaConvert's vocabulary (SUBMITTED, PROGRESSING, ...)."""
        return mediaconvert_status(self.status)


@attrs.frozen
class JobSummary:
    """One row of ``list_jobs``: the fields S3 Batch Operations lists."""

    id: str
    name: str | None
    description: str
    priority: int
    status: JobStatus
    submission_queue: str
    tasks_total: int
    tasks_succeeded: int
    tasks_failed: int
    created_at: float


@attrs.frozen
class JobPage:
    """A page of ``list_jobs`` results; iterate it for the rows.

    Attributes:
        jobs: the rows, oldest first.
        next_token: pass to ``list_jobs(token=...)`` for the next page; ``None`` at the end.
    """

    jobs: tuple[JobSummary, ...]
    next_token: str | None

    def __iter__(self) -> Iterator[JobSummary]:
        return iter(self.jobs)

    def __len__(self) -> int:
        return len(self.jobs)


@attrs.frozen
class QueueInfo:
    """A frozen snapshot of a queue: its settings and how busy it is.

    Attributes:
        name: the queue's name.
        slots: how many jobs may hold a slot (Active or Pausing) at once.
        deferred_share: the share of slots deferred (queued) jobs may hold.
        deferred_limit: ``max(1, floor(deferred_share * slots))``.
        max_waiting: how many jobs may wait (Ready) at once.
        policy: the policy's name.
        pricing: the pricing plan.
        tags: the queue's tags (billing tags for jobs that use the queue's).
        paused: whether the queue is paused (starts nothing).
        waiting: jobs Ready in the queue.
        paused_jobs: jobs Paused (preempted) in the queue, waiting to resume.
        running: jobs holding a slot.
        aging: how waiting raises priority in the line, if it does.
    """

    name: str
    slots: int
    deferred_share: float
    deferred_limit: int
    max_waiting: int
    policy: str
    pricing: Pricing
    tags: Mapping[str, str] = attrs.field(converter=_frozen_map)
    paused: bool
    waiting: int
    paused_jobs: int
    running: int
    aging: Aging | None = None


@attrs.frozen
class QueuePosition:
    """Where a waiting job stands: ``ahead`` jobs start before it in ``queue``.

    Attributes:
        queue: the queue it waits in.
        position: 1-based place in the line (``ahead + 1``).
        ahead: how many waiting jobs would start before it.
    """

    queue: str
    position: int
    ahead: int


@attrs.frozen
class UsageRow:
    """Billed on-demand run time for one set of billing tags."""

    tags: Mapping[str, str]
    seconds: float
