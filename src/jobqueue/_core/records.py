"""The scheduler's own mutable records of jobs and queues, and their snapshots.

Records never leave the package: callers get the frozen snapshots built here
(``snapshot``, ``summary``), and policies see a job through the
read-only ``PolicyJob`` protocol. Records are identity-hashed (``eq=False``)
and slotted to keep a retained job small.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from functools import partial
from operator import attrgetter
from types import MappingProxyType
from typing import Final, Generic, Self, TypeVar, cast, overload

import attrs

from .._controls import Dependency, Retry
from .._model import (
    Acceleration,
    BillingTagsSource,
    HopRule,
    HopTransition,
    Job,
    JobSummary,
    Pricing,
    StatusChange,
)
from .._reports import CompletionReport
from .._states import WAITING_LINE, JobStatus
from .._tasks import FailureReason, ReportScope, TaskRecord
from ..policies import Policy

__all__ = [
    "NO_TAGS",
    "PLAIN_PATH",
    "Controls",
    "JobExtras",
    "JobRecord",
    "QueueRecord",
    "add_reason",
    "in_line",
    "as_record",
    "extras_of",
    "own_extras",
    "full_history",
    "history_pairs",
    "snapshot",
    "summary",
]

T = TypeVar("T")

# The tag set of every job submitted without tags: one shared dict instead of
# one per job. Tag sets are only ever replaced, never changed in place.
NO_TAGS: Final[dict[str, str]] = {}
_NO_TAGS_VIEW: Final = MappingProxyType(NO_TAGS)
# StatusChange from a (time, status) pair without a Python-level call.
_status_change: Final = cast(
    "Callable[[tuple[float, JobStatus]], StatusChange]", partial(tuple.__new__, StatusChange)
)


# The plain path: New, Preparing and Ready at created_at, then Active at
# started_at, then Complete at finished_at. A job that has taken no other
# step keeps no history list (JobRecord.history is None): its history is that
# path as far as its status. Most jobs take it, and the list was a fifth of a
# retained job's memory (benchmarks/bench_sim.py, the memory rows).
# Core.transition keeps a job on it, or writes out its list at its first step
# off it.
PLAIN_PATH: Final = (
    JobStatus.NEW,
    JobStatus.PREPARING,
    JobStatus.READY,
    JobStatus.ACTIVE,
    JobStatus.COMPLETE,
)


def full_history(rec: JobRecord, upto: JobStatus | None = None) -> list[float | JobStatus]:
    """``rec``'s flat history: its list, or, on the plain path, the steps up to its status.

    ``upto`` names the status a plain history runs to, when ``rec.status``
    has already moved on. The list returned for a plain history is new: to
    read, or to become the job's own.
    """
    history = rec.history
    if history is not None:
        return history
    steps = PLAIN_PATH.index(rec.status if upto is None else upto) + 1
    created = rec.created_at
    times = (created, created, created, rec.started_at, rec.finished_at)
    flat: list[float | JobStatus] = []
    for time, status in zip(times[:steps], PLAIN_PATH, strict=False):
        assert time is not None  # Active's and Complete's are set on those steps
        flat += (time, status)
    return flat


def history_pairs(history: list[float | JobStatus]) -> Iterator[tuple[float, JobStatus]]:
    """The (time, status) pairs of a flat history list (always of even length)."""
    # No strict=True: it adds a fifth to the pairing (benchmarks/bench_tricks.py),
    # on every snapshot; the length is checked where a history is read from a store.
    pairs = zip(history[0::2], history[1::2])  # noqa: B905
    return cast(Iterator[tuple[float, JobStatus]], pairs)


class _Extra(Generic[T]):
    """A field of ``JobExtras`` read and written through its ``JobRecord``.

    A record with no extras reads the default; writing the default to it
    makes none, and writing anything else makes its extras first.
    """

    __slots__ = ("_default", "_name", "_read")

    def __init__(self, default: T) -> None:
        self._default = default
        self._name = ""
        self._read: Callable[[JobExtras], T] = cast("Callable[[JobExtras], T]", None)

    def __set_name__(self, owner: type, name: str) -> None:
        self._name = name
        self._read = attrgetter(name)

    @overload
    def __get__(self, rec: None, owner: type) -> Self: ...

    @overload
    def __get__(self, rec: JobRecord, owner: type) -> T: ...

    def __get__(self, rec: JobRecord | None, owner: type) -> T | Self:
        if rec is None:
            return self
        x = rec.extras
        return self._default if x is None else self._read(x)

    def __set__(self, rec: JobRecord, value: T) -> None:
        if rec.extras is None and value == self._default:
            return
        setattr(own_extras(rec), self._name, value)


# No __weakref__ slot: nothing holds a record weakly, and a retained job
# keeps 8 bytes less.
@attrs.define(eq=False, slots=True, weakref_slot=False)
class JobRecord:
    """Everything the scheduler knows about one job.

    ``Core.submit`` builds it positionally, in this field order.
    """

    id: str
    index: int  # creation number: orders listing and paging
    name: str | None
    status: JobStatus
    priority: int
    seq: int  # order of entry into the current queue
    submission_queue: str
    queue: str
    deferred: bool
    preemptible: bool
    created_at: float
    tags: dict[str, str]
    acceleration: Acceleration
    billing_tags_source: BillingTagsSource
    tasks_total: int
    # Flat: time, status, time, status, ... Half the memory of a list of
    # pairs. None while the job is on the plain path (see PLAIN_PATH): read
    # it with full_history(), and its pairs with history_pairs().
    history: list[float | JobStatus] | None
    start_seq: int = 0
    hop_token: int = 0
    ready_at: float = 0.0  # when it began waiting in its current queue
    holds_slot: bool = False
    leaving: bool = False  # holds a slot but is Pausing, Cancelling or Failing
    accelerated: bool | None = None
    started_at: float | None = None
    finished_at: float | None = None
    run_started_at: float = 0.0
    run_seconds: float = 0.0
    billed_seconds: float = 0.0
    purged: bool = False
    # The job controls beyond the seeds, on the few jobs that use them: one
    # None on every other job keeps a retained job small.
    controls: Controls | None = None
    # The fields most jobs never set (see JobExtras), made on the first write
    # of one; read them through the fields below, or all at once through
    # ``extras_of``.
    extras: JobExtras | None = None

    # The fields of JobExtras, each read as its default while the job has
    # none, and written into its extras, made by the first write of a value
    # other than the default (see _Extra).
    description = _Extra("")
    confirmation_required = _Extra(False)
    hops = _Extra[tuple[HopRule, ...]](())
    report_scope = _Extra[ReportScope | None](None)
    # Manifest keys in manifest order (a dict for O(1) lookup); None when the
    # manifest is a count (keys "0".."n-1").
    task_keys = _Extra[dict[str, None] | None](None)
    hop_index = _Extra(0)  # the hop rule whose timer runs (hops[hop_index]), or len(hops)
    hop_due = _Extra(False)  # a hop came due while its queue was paused
    hop_transitions = _Extra[list[HopTransition] | None](None)
    outcomes = _Extra[dict[str, TaskRecord] | None](None)  # recorded task outcomes by key
    succeeded = _Extra(0)
    failed = _Extra(0)
    failure_reasons = _Extra[list[FailureReason] | None](None)
    report = _Extra[CompletionReport | None](None)
    suspended_at = _Extra[float | None](None)  # when it was last held in Suspended, while it is
    progress = _Extra(0.0)
    saved = _Extra[bytes | None](None)  # what its job function last saved, encoded


@attrs.define(eq=False, slots=True)
class JobExtras:
    """The fields of a job that most jobs never set: a description, a
    confirmation, hop rules and the hops made, a manifest, a report, task
    outcomes, failures, a suspension, progress and saved state.

    Kept apart so that a plain job's record holds one None for them all
    rather than sixteen fields: 128 bytes less per retained job, and a record
    built faster (benchmarks/bench_sim.py, the memory rows and the 1M rows).
    """

    description: str = ""
    confirmation_required: bool = False
    hops: tuple[HopRule, ...] = ()
    report_scope: ReportScope | None = None
    task_keys: dict[str, None] | None = None
    hop_index: int = 0
    hop_due: bool = False
    hop_transitions: list[HopTransition] | None = None
    outcomes: dict[str, TaskRecord] | None = None
    succeeded: int = 0
    failed: int = 0
    failure_reasons: list[FailureReason] | None = None
    report: CompletionReport | None = None
    suspended_at: float | None = None
    progress: float = 0.0
    saved: bytes | None = None


# What a job with no extras reads: every default. Never written: writes go
# through the record's fields (_Extra), which make the job its own.
_NO_EXTRAS: Final = JobExtras()


def extras_of(rec: JobRecord) -> JobExtras:
    """``rec``'s extras, or the defaults if it has none: to read, never to write."""
    x = rec.extras
    return _NO_EXTRAS if x is None else x


def own_extras(rec: JobRecord) -> JobExtras:
    """``rec``'s extras, made first if it has none: to write."""
    x = rec.extras
    if x is None:
        x = rec.extras = JobExtras()
    return x


@attrs.define(eq=False, slots=True)
class Controls:
    """A job's start conditions, limits and retries, and where it stands with them."""

    not_before: float | None = None
    after: tuple[Dependency, ...] = ()
    max_run: float | None = None
    max_wait: float | None = None
    retry: Retry | None = None
    attempt: int = 1
    # Dependencies not met yet, by job id.
    waiting_on: set[str] = attrs.field(factory=set)
    # Whether the job, held in Suspended, has a place under its queue's cap.
    reserved: bool = False
    attempt_run: float = 0.0  # run_seconds when the current attempt began
    waited: float = 0.0  # seconds spent waiting in a line, the current wait aside
    wait_started: float | None = None  # when the current wait in a line began
    not_before_passed: bool = False
    retrying: bool = False  # Pausing to stop work that will run again
    backoff_until: float | None = None
    last_failure: FailureReason | None = None  # what the latest retry was for


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
    preempts: bool = True  # whether its policy can ever name a victim (see preemption)
    tracks_running: bool = True  # whether its policy is told of starts and stops (see preemption)
    holding: int = 0  # jobs holding a slot
    held: int = 0  # jobs held in Suspended that have a place under the cap
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


def add_reason(rec: JobRecord, reason: FailureReason) -> None:
    """Add a failure reason to ``rec``."""
    if rec.failure_reasons is None:
        rec.failure_reasons = [reason]
    else:
        rec.failure_reasons.append(reason)


def in_line(rec: JobRecord) -> bool:
    """Whether ``rec`` waits in its queue's line: Ready, or Paused, but not in a retry's backoff."""
    return rec.status in WAITING_LINE and (
        rec.controls is None or rec.controls.backoff_until is None
    )


def as_record(job: object) -> JobRecord:
    """The record behind a job a policy handed back (policies get records)."""
    assert isinstance(job, JobRecord)
    return job


def snapshot(rec: JobRecord) -> Job:
    """The frozen public view of ``rec``."""
    # Every public call returns one of these, so it is built positionally
    # (in Job's field order), with no Python-level call per history entry.
    tags = rec.tags
    x = extras_of(rec)
    hopped = x.hop_transitions
    reasons = x.failure_reasons
    c = rec.controls
    controls = (
        () if c is None else (c.attempt, c.not_before, c.after, c.max_run, c.max_wait, c.retry)
    )
    return Job(
        rec.id,
        rec.name,
        x.description,
        rec.status,
        rec.priority,
        rec.submission_queue,
        rec.queue,
        rec.deferred,
        rec.preemptible,
        x.confirmation_required,
        rec.created_at,
        rec.started_at,
        rec.finished_at,
        _NO_TAGS_VIEW if tags is NO_TAGS else MappingProxyType(tags),
        x.hops,
        () if hopped is None else tuple(hopped),
        tuple(map(_status_change, history_pairs(full_history(rec)))),
        rec.tasks_total,
        x.succeeded,
        x.failed,
        () if reasons is None else tuple(reasons),
        x.report_scope,
        rec.acceleration,
        rec.accelerated,
        rec.billing_tags_source,
        rec.run_seconds,
        rec.billed_seconds,
        x.progress,
        *controls,
    )


def summary(rec: JobRecord) -> JobSummary:
    """One row of ``list_jobs``."""
    x = extras_of(rec)
    return JobSummary(
        id=rec.id,
        name=rec.name,
        description=x.description,
        priority=rec.priority,
        status=rec.status,
        submission_queue=rec.submission_queue,
        tasks_total=rec.tasks_total,
        tasks_succeeded=x.succeeded,
        tasks_failed=x.failed,
        created_at=rec.created_at,
    )
