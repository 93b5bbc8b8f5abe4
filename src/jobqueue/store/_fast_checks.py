"""The fast path of the stored-value checks: rows of the usual shape, accepted at a glance.

Field by field, the checks of ``_checks`` take as long as rebuilding the row
they check. A job row and a task outcome of the shape the journal writes them
are recognised here in one expression instead, which accepts only values
every check of ``_checks`` accepts too: a row it passes needs no closer look,
and a row it does not pass gets the look, and the message naming the field.
It halves the time recovery spends per job (``benchmarks/bench_recovery.py``).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from functools import lru_cache
from typing import Any, Final

from .._core.queues import check_name_of
from .._core.tasks import check_source
from .._errors import ValidationError
from .._model import Acceleration, BillingTagsSource
from .._states import JobStatus
from .._tags import validate_tags
from .._tasks import ReportScope, TaskStatus
from .._validate import PRIORITY_MAX, PRIORITY_MIN, check_description, check_name

__all__ = ["CONFIG", "JOB_ROW", "plain_job_row", "plain_task_op"]

#: The length of a ``"j"`` op (see ``_rows.job_row``) and of a job's
#: configuration in it. Format 4 wrote job rows one field shorter (no saved
#: state); formats 1 to 3 one more field shorter, and one field fewer in the
#: configuration (no job controls), as they did for a queue (no aging).
JOB_ROW: Final = 32
CONFIG: Final = 15

_FLOAT: Final = frozenset({float})
_STATUSES: Final = frozenset(s.value for s in JobStatus)
_TASK_STATUSES: Final = frozenset(s.value for s in TaskStatus)
_ACCELERATIONS: Final = frozenset(a.value for a in Acceleration)
_SOURCES: Final = frozenset(b.value for b in BillingTagsSource)
_SCOPES: Final = frozenset(r.value for r in ReportScope)


@lru_cache(maxsize=1024)  # a journal names a few queues, again and again
def _queue_name_ok(name: str) -> bool:
    try:
        check_name_of(name)
    except ValidationError:
        return False
    return True


def _finite_floats(values: Sequence[Any]) -> bool:
    # One infinity or NaN among them makes their sum one too.
    return set(map(type, values)) <= _FLOAT and math.isfinite(sum(values))


def plain_job_row(op: list[Any]) -> bool:
    """Whether ``op`` is a job row every check accepts, at a glance (False: look closer)."""
    length = len(op)
    if length == JOB_ROW:
        if op[31] is not None:
            return False  # a job with saved state: the closer look
    elif length != JOB_ROW - 1:
        return False  # a row of format 3 or older: the closer look
    if op[30] is not None:
        return False  # a job with controls: the closer look
    (_, job_id, status, priority, seq, queue, tags, start_seq, hop_index, hop_token, hop_due,
     ready_at, succeeded, failed, reasons, holds_slot, leaving, accelerated, started_at,
     finished_at, suspended_at, run_started_at, run_seconds, billed_seconds, progress,
     history, hopped, timer, finish, config, *_) = op  # fmt: skip
    try:
        return (
            type(job_id) is str
            and status in _STATUSES
            and type(priority) is int
            and PRIORITY_MIN <= priority <= PRIORITY_MAX
            and type(seq) is int
            and type(start_seq) is int
            and type(hop_index) is int
            and type(hop_token) is int
            and type(succeeded) is int
            and type(failed) is int
            and seq >= 0
            and start_seq >= 0
            and hop_index >= 0
            and hop_token >= 0
            and succeeded >= 0
            and failed >= 0
            and _queue_name_ok(queue)
            and type(tags) is dict
            and (not tags or validate_tags(tags) is not None)
            and type(hop_due) is bool
            and type(holds_slot) is bool
            and type(leaving) is bool
            and (accelerated is None or type(accelerated) is bool)
            and type(ready_at) is float
            and type(run_started_at) is float
            and type(run_seconds) is float
            and type(billed_seconds) is float
            and type(progress) is float
            and (started_at is None or type(started_at) is float)
            and (finished_at is None or type(finished_at) is float)
            and (suspended_at is None or type(suspended_at) is float)
            # One infinity or NaN among them makes their sum one too.
            and math.isfinite(
                ready_at
                + run_started_at
                + run_seconds
                + billed_seconds
                + progress
                + (started_at or 0.0)
                + (finished_at or 0.0)
                + (suspended_at or 0.0)
            )
            and run_seconds >= 0
            and billed_seconds >= 0
            and 0 <= progress <= 1
            and reasons is None
            and hopped is None
            and type(history) is list
            and len(history) % 2 == 0
            and bool(history)
            and _STATUSES.issuperset(history[1::2])
            and _finite_floats(history[0::2])
            and (timer is None or (type(timer) is int and timer >= 0))
            and (finish is None or (type(finish) is int and finish >= 0))
            and (config is None or _plain_config(config))
        )
    except (ValueError, TypeError):  # a ValidationError, or an unhashable value
        return False


def _plain_config(config: object) -> bool:
    if type(config) is not list or len(config) != CONFIG or config[14] is not None:
        return False
    (index, name, description, submission_queue, deferred, preemptible, confirmation,
     created_at, hops, acceleration, source, report, total, keys, _) = config  # fmt: skip
    return (
        type(index) is int
        and index >= 1
        and (name is None or check_name(name) is not None)
        and check_description(description) is not None
        and _queue_name_ok(submission_queue)
        and type(deferred) is bool
        and type(preemptible) is bool
        and type(confirmation) is bool
        and type(created_at) is float
        and math.isfinite(created_at)
        and hops == []
        and acceleration in _ACCELERATIONS
        and source in _SOURCES
        and (report is None or report in _SCOPES)
        and type(total) is int
        and total >= 0
        and (keys is None or (type(keys) is list and check_source(keys)[1] == total))
    )


def plain_task_op(op: list[Any]) -> bool:
    try:
        return (
            len(op) == 6
            and type(op[1]) is str
            and type(op[2]) is str
            and op[3] in _TASK_STATUSES
            and type(op[4]) is str
            and type(op[5]) is str
        )
    except TypeError:  # an unhashable status
        return False
