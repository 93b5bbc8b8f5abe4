"""Manifests and tasks (S3 Batch Operations): a job's task list, outcomes, threshold, report.

A manifest is task keys, a count (keys ``"0"``..``"n-1"``), or a reader called
in Preparing. The runtime records each task's outcome while the job's work
runs. Once ``failure_threshold_tasks`` tasks have run, a job whose share of
failed tasks exceeds ``failure_threshold_ratio`` fails with reason
``TaskFailureThreshold``. A finished job that asked for a completion report,
and ran a task, gets one.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import TYPE_CHECKING, TypeAlias

from .._errors import ConflictError, ValidationError
from .._events import TaskRecorded
from .._reports import CompletionReport
from .._states import TASKS_ACCEPTED, JobStatus
from .._tasks import FailureReason, ReportScope, TaskRecord, TaskStatus
from .._validate import check_bool, check_int, check_str, lookup_key, plain_str, shown
from .records import JobExtras, JobRecord, own_extras

if TYPE_CHECKING:
    from .core import Core

__all__ = [
    "TaskSource",
    "build_report",
    "check_source",
    "keys_of",
    "outcomes_of",
    "read_manifest",
    "record",
]

#: A manifest: task keys, a task count, or a reader called in Preparing.
TaskSource: TypeAlias = Sequence[str] | int | Callable[[], Iterable[str]] | None

_S = JobStatus
_THRESHOLD_APPLIES = frozenset({_S.ACTIVE, _S.PAUSING, _S.PAUSED})


def check_source(
    tasks: TaskSource,
) -> tuple[dict[str, None] | None, int, Callable[[], Iterable[str]] | None]:
    """``(keys, count, reader)`` of a manifest; a reader is read later, in Preparing.

    Raises:
        ValidationError: not keys, a count or a callable; or a bad key.
    """
    if tasks is None:
        return None, 0, None
    if isinstance(tasks, bool):
        raise ValidationError("tasks must be a sequence of keys, a count or a callable, got bool")
    if isinstance(tasks, int):
        return None, check_int("tasks", tasks, 0), None
    if callable(tasks):
        return None, 0, tasks
    if isinstance(tasks, str) or not isinstance(tasks, Sequence):
        raise ValidationError(
            f"tasks must be a sequence of keys, a count or a callable, got {type(tasks).__name__}"
        )
    keys, total = _manifest_keys(tasks)
    return keys, total, None


def read_manifest(reader: Callable[[], Iterable[str]]) -> tuple[dict[str, None], int]:
    """Call a manifest reader. Raises whatever it raises, or ValidationError for a bad key."""
    return _manifest_keys(list(reader()))


def _manifest_keys(keys: Iterable[str]) -> tuple[dict[str, None], int]:
    seen: dict[str, None] = {}
    for key in keys:
        if type(key) is not str:
            if not issubclass(type(key), str):
                raise ValidationError(f"task keys must be non-empty str, got {key!r}")
            key = plain_str(key)
        if not key:
            raise ValidationError(f"task keys must be non-empty str, got {key!r}")
        if key in seen:
            raise ValidationError(f"task key {key!r} appears twice in the manifest")
        seen[key] = None
    return seen, len(seen)


def keys_of(rec: JobRecord) -> tuple[str, ...]:
    """The manifest's keys in manifest order."""
    if rec.task_keys is None:
        return tuple(map(str, range(rec.tasks_total)))
    return tuple(rec.task_keys)


def _has_task(rec: JobRecord, x: JobExtras | None, key: str) -> bool:
    keys = None if x is None else x.task_keys
    if keys is not None:
        return key in keys
    # isascii: str.isdigit() also accepts digits such as "²" that int() refuses.
    return key.isascii() and key.isdigit() and key == str(int(key)) and int(key) < rec.tasks_total


def record(
    core: Core, rec: JobRecord, key: str, ok: bool, error_code: str, message: str
) -> JobRecord:
    """Record one task's outcome, and fail the job if it crosses the threshold.

    Raises:
        ValidationError: a bad argument, or ``key`` is not in the manifest.
        ConflictError: the task was recorded already, or the job's work is not running.
    """
    ok = check_bool("ok", ok)
    error_code = check_str("error_code", error_code)
    message = check_str("message", message)
    if rec.status not in TASKS_ACCEPTED:
        raise ConflictError(
            f"job {rec.id!r} is {rec.status}: task outcomes are accepted only while it runs"
        )
    # The extras themselves, not the record's fields for them (descriptors
    # in Python): this runs per task, and those were seven calls of about
    # 0.07 us each (benchmarks/bench_runtime.py, dispatch).
    x = rec.extras
    plain = lookup_key(key)
    if not _has_task(rec, x, plain):
        raise ValidationError(f"task key {shown(key)} is not in the manifest of job {rec.id!r}")
    key = plain
    outcomes = None if x is None else x.outcomes
    if outcomes is not None and key in outcomes:
        raise ConflictError(f"task {key!r} of job {rec.id!r} was already recorded")
    now = core.now()
    x = own_extras(rec)
    if outcomes is None:
        outcomes = x.outcomes = {}
    status = TaskStatus.SUCCEEDED if ok else TaskStatus.FAILED
    task = TaskRecord(key, status, error_code, message)
    outcomes[key] = task
    if ok:
        x.succeeded += 1
    else:
        x.failed += 1
    ran = x.succeeded + x.failed
    x.progress = ran / rec.tasks_total
    if core.outbox.listening:
        core.outbox.emit(TaskRecorded, now, rec.id, task)
    settings = core.settings
    if (
        ran >= settings.threshold_tasks
        and x.failed * settings.threshold_den > settings.threshold_num * ran
        and rec.status in _THRESHOLD_APPLIES
    ):
        percent = 100.0 * settings.threshold_ratio
        reason = FailureReason(
            "TaskFailureThreshold",
            f"{x.failed} of {ran} tasks failed, more than {percent:g}%",
        )
        core.fail_work(rec, reason, now, work_stopped=False)
    core.outbox.flush()
    return rec


def outcomes_of(rec: JobRecord) -> tuple[TaskRecord, ...]:
    """The task outcomes recorded on ``rec``, in the order they were recorded."""
    return () if rec.outcomes is None else tuple(rec.outcomes.values())


def build_report(rec: JobRecord, scope: ReportScope) -> CompletionReport:
    """The completion report of a finished job."""
    assert rec.outcomes is not None and rec.finished_at is not None
    records = tuple(rec.outcomes.values())
    if scope is ReportScope.FAILED:
        records = tuple(r for r in records if r.status is TaskStatus.FAILED)
    return CompletionReport(
        job_id=rec.id,
        name=rec.name,
        description=rec.description,
        submission_queue=rec.submission_queue,
        priority=rec.priority,
        status=rec.status,
        scope=scope,
        created_at=rec.created_at,
        finished_at=rec.finished_at,
        tags=rec.tags,
        tasks_total=rec.tasks_total,
        tasks_succeeded=rec.succeeded,
        tasks_failed=rec.failed,
        failure_reasons=tuple(rec.failure_reasons or ()),
        records=records,
    )
