"""The scheduler's own mutable records of jobs and queues.

These never leave the package: callers get frozen snapshots, and policies see a
job through the read-only ``PolicyJob`` protocol. Records are identity-hashed
(``eq=False``) and slotted to keep a retained job small.
"""

from __future__ import annotations

from collections.abc import Iterator
from fractions import Fraction
from typing import cast

import attrs

from ._model import (
    Acceleration,
    BillingTagsSource,
    HopRule,
    HopTransition,
    Pricing,
)
from ._reports import CompletionReport
from ._states import JobStatus
from ._tasks import FailureReason, ReportScope, TaskRecord
from .policies import Policy

__all__ = ["JobRecord", "QueueRecord", "deferred_limit", "history_pairs"]


def deferred_limit(slots: int, share: float) -> int:
    """``max(1, floor(share * slots))``, computed exactly (0.29 * 100 is 29, not 28)."""
    return max(1, int(Fraction(repr(share)) * slots))


def history_pairs(history: list[float | JobStatus]) -> Iterator[tuple[float, JobStatus]]:
    """The (time, status) pairs of a flat history list (always of even length)."""
    # No strict= keyword: parsing it costs half as much again as the pairing,
    # on every snapshot; the length is checked where a history is read from a store.
    pairs = zip(history[0::2], history[1::2])  # noqa: B905
    return cast(Iterator[tuple[float, JobStatus]], pairs)


@attrs.define(eq=False, slots=True)
class JobRecord:
    """Everything the scheduler knows about one job.

    ``Scheduler._submit`` builds it positionally, in this field order.
    """

    id: str
    index: int  # creation number: orders listing and paging
    name: str | None
    description: str
    status: JobStatus
    priority: int
    seq: int  # order of entry into the current queue
    submission_queue: str
    queue: str
    deferred: bool
    preemptible: bool
    confirmation_required: bool
    created_at: float
    tags: dict[str, str]
    hops: tuple[HopRule, ...]
    acceleration: Acceleration
    billing_tags_source: BillingTagsSource
    report_scope: ReportScope | None
    tasks_total: int
    # Manifest keys in manifest order (a dict for O(1) lookup); None when the
    # manifest is a count (keys "0".."n-1").
    task_keys: dict[str, None] | None
    # Flat: time, status, time, status, ... Half the memory of a list of
    # pairs, and every finished job keeps it; read it with history_pairs().
    history: list[float | JobStatus]
    start_seq: int = 0
    hop_index: int = 0
    hop_token: int = 0
    hop_due: bool = False
    ready_at: float = 0.0  # when it began waiting in its current queue
    hop_transitions: list[HopTransition] | None = None
    outcomes: dict[str, TaskRecord] | None = None
    succeeded: int = 0
    failed: int = 0
    failure_reasons: list[FailureReason] | None = None
    report: CompletionReport | None = None
    holds_slot: bool = False
    leaving: bool = False  # holds a slot but is Pausing, Cancelling or Failing
    accelerated: bool | None = None
    started_at: float | None = None
    finished_at: float | None = None
    suspended_at: float | None = None
    run_started_at: float = 0.0
    run_seconds: float = 0.0
    billed_seconds: float = 0.0
    progress: float = 0.0
    purged: bool = False


@attrs.define(eq=False, slots=True)
class QueueRecord:
    """A queue's settings, its policy and its live counters."""

    name: str
    slots: int
    deferred_share: float
    deferred_limit: int
    max_waiting: int
    policy: Policy
    pricing: Pricing
    tags: dict[str, str]
    paused: bool = False
    holding: int = 0  # jobs holding a slot
    deferred_holding: int = 0
    leaving: int = 0  # holders on their way out (Pausing, Cancelling, Failing)
    leaving_deferred: int = 0
    ready: int = 0  # jobs Ready in this queue (the waiting line; the cap counts these)
    paused_jobs: int = 0  # preempted jobs waiting to resume here
    # Holders or waiters above a limit that was lowered at run time; they were
    # admitted under the old limit and are let run out, never killed.
    over_slots: int = 0
    over_share: int = 0
    over_waiting: int = 0
