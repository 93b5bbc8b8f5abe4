"""What a store holds, checked against the API's own rules before recovery uses it.

Theory of operation: an entry decodes to plain data (``_codec``), and plain
data may be anything -- a flipped bit, a foreign writer, a bug of another
version. Before recovery keeps an op, every field of it is checked here, by
the checks the public API applies to the same value (``jobqueue._validate``,
the tag and manifest rules, the enumerations, the policy rules), and by a
type check for the fields only the core writes (counters, timestamps, flags).
So a value no call could have put in a record never reaches one. A broken
field raises ``ValidationError`` naming the op and the field; recovery
reports it as ``CorruptStoreError`` with the entry's number.

Messages quote stored values through ``brief`` and are cut by ``bounded``
(see ``_errors``): a damaged value may be a list nested 100,000 deep or a
string of megabytes. Job rows and task outcomes of the shape the journal
writes are recognised by a fast path first (``_fast_checks``).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from functools import partial
from typing import Any, Final

from .._controls import Aging, Retry
from .._core import aging, retries
from .._core.queues import check_name_of, make_policy
from .._core.tasks import check_source
from .._errors import ValidationError
from .._model import Acceleration, BillingTagsSource, Pricing
from .._reports import CompletionReport
from .._saved_state import MAX_SAVED_BYTES, decode_state
from .._saved_state import check_state as check_saved_state
from .._states import RUNNING, JobStatus
from .._tags import validate_tags
from .._tasks import ReportScope, TaskStatus
from .._validate import (
    check_bool,
    check_choice,
    check_description,
    check_int,
    check_name,
    check_number,
    check_positive_number,
    check_priority,
    check_share,
    check_str,
)
from ._errors import DAMAGE, bounded, brief
from ._fast_checks import CONFIG, JOB_ROW, plain_job_row, plain_task_op

__all__ = ["JOB_ROW", "check_entry", "check_header", "check_op", "check_state", "read_report"]

Check = Callable[[str, Any], object]
Fields = Sequence[tuple[int, str, Check]]


# ---------------------------------------------------------------------- one field


def _check_fields(values: list[Any], fields: Fields) -> None:
    for i, field, check in fields:
        try:
            check(field, values[i])
        except ValidationError as exc:
            message = str(exc)
            if not message.startswith(field.split("[")[0]):
                message = f"{field}: {message}"  # the API's check names its own argument
            raise ValidationError(bounded(message)) from None
        except DAMAGE as exc:
            raise ValidationError(bounded(f"{field} cannot be read ({brief(exc)})")) from None


def _optional(check: Check) -> Check:
    def optional(field: str, value: object) -> None:
        if value is not None:
            check(field, value)

    return optional


def _list(field: str, value: object, length: int | None = None, tuples: bool = False) -> Any:
    """``value``, a list (or, with ``tuples``, a tuple) of ``length`` items."""
    if type(value) is not list and not (tuples and type(value) is tuple):
        raise ValidationError(f"{field} must be a list, got {type(value).__name__}")
    if length is not None and len(value) != length:
        raise ValidationError(f"{field} must have {length} fields, got {len(value)}")
    return value


def _items(field: str, value: object, length: int, fields: Fields, tuples: bool = False) -> None:
    """A list of ``length``-field lists, each checked by ``fields``."""
    for i, item in enumerate(_list(field, value, None, tuples)):
        _list(f"{field}[{i}]", item, length, tuples)
        _check_fields(item, [(j, f"{field}[{i}].{name}", check) for j, name, check in fields])


_count = partial(check_int, lo=0)
_time = check_number
_seconds = partial(check_number, lo=0)
_fraction = partial(check_number, lo=0, hi=1)
_status = partial(check_choice, kind=JobStatus)


def _priority(field: str, value: object) -> None:
    check_priority(value, field)


def _queue(field: str, value: object) -> None:
    check_name_of(value)


def _name(field: str, value: object) -> None:
    check_name(value)


def _description(field: str, value: object) -> None:
    check_description(value)


def _share(field: str, value: object) -> None:
    check_share(value)


def _tags(field: str, value: object) -> None:
    if type(value) is not dict:  # a stored tag set is a plain dict
        raise ValidationError(f"{field} must be a dict, got {type(value).__name__}")
    validate_tags(value, field=field)


def _policy_kind(field: str, value: object) -> None:
    if value not in ("fifo", "priority", "custom"):
        raise ValidationError(f"{field} must be 'fifo', 'priority' or 'custom', got {brief(value)}")


def _history(field: str, value: object) -> None:
    stored = _list(field, value)
    if stored and type(stored[0]) is list:  # format 1: [[time, status], ...]
        _items(field, stored, 2, ((0, "time", _time), (1, "status", _status)))
        return
    if not stored or len(stored) % 2:
        raise ValidationError(f"{field} must hold time, status pairs, got {len(stored)} items")
    for i in range(0, len(stored), 2):
        _time(f"{field}[{i}]", stored[i])
        _status(f"{field}[{i + 1}]", stored[i + 1])


def _reasons(field: str, value: object) -> None:
    _items(field, value, 2, ((0, "code", check_str), (1, "message", check_str)))


def _hopped(field: str, value: object) -> None:
    _items(
        field,
        value,
        4,
        (
            (0, "source", _queue),
            (1, "destination", _queue),
            (2, "time", _time),
            (3, "priority", _priority),
        ),
    )


def _hops(field: str, value: object) -> None:
    # The checks submit() makes of each HopRule (hops.check_rules), but for
    # the destination's existence: it may be gone since the job finished.
    _items(
        field,
        value,
        3,
        (
            (0, "queue", _queue),
            (1, "wait", check_positive_number),
            (2, "priority", _optional(_priority)),
        ),
    )


def _task_keys(field: str, value: object) -> None:
    if value is not None:
        check_source(_list(field, value))


def _config(field: str, value: object) -> None:
    config = _list(field, value)
    if len(config) not in (CONFIG, CONFIG - 1):
        raise ValidationError(f"{field} must have {CONFIG} fields, got {len(config)}")
    _check_fields(config, CONFIG_FIELDS[: len(config)])
    keys = config[13]
    if keys is not None and len(keys) != config[12]:
        raise ValidationError(
            f"tasks_total must be the {len(keys)} keys of the manifest, got {config[12]}"
        )


def _billing_key(field: str, value: object) -> None:
    # A billing key is the sorted items of a tag set: tuples in a pickle, lists in JSON.
    pairs = _list(field, value, None, True)
    _items(field, pairs, 2, ((0, "key", check_str), (1, "value", check_str)), True)
    validate_tags(dict(pairs), field=field)
    if [k for k, _ in pairs] != sorted({k for k, _ in pairs}):
        raise ValidationError(f"{field} must be sorted by key, each key once")


def _controls_config(field: str, value: object) -> None:
    # The rules Core.submit applies to not_before, after, max_run, max_wait and retry.
    config = _list(field, value, 5)
    _check_fields(
        config,
        (
            (0, "not_before", _optional(_time)),
            (1, "after", _dependencies),
            (2, "max_run", _optional(_positive)),
            (3, "max_wait", _optional(_positive)),
            (4, "retry", _optional(_retry)),
        ),
    )


def _dependencies(field: str, value: object) -> None:
    _items(field, _list(field, value), 2, ((0, "job_id", check_str), (1, "on", _on)))


def _on(field: str, value: object) -> None:
    if value not in ("ok", "any", "failed"):
        raise ValidationError(f"{field} must be one of 'ok', 'any', 'failed', got {brief(value)}")


def _positive(field: str, value: object) -> None:
    check_positive_number(field, value)


def _retry(field: str, value: object) -> None:
    stored = _list(field, value, 6)
    on = _list(f"{field}.on", stored[5])
    for code in on:
        check_str(f"{field}.on", code)
    retries.check(Retry(*stored[:5], on=tuple(on)))  # type: ignore[misc]


def _aging(field: str, value: object) -> None:
    aging.check(Aging(*_list(field, value, 3)))


def _controls_state(field: str, value: object) -> None:
    state = _list(field, value, 10)
    _check_fields(
        state,
        (
            (0, "attempt", partial(check_int, lo=1)),
            (1, "waiting_on", _ids),
            (2, "reserved", check_bool),
            (3, "attempt_run", _seconds),
            (4, "waited", _seconds),
            (5, "wait_started", _optional(_time)),
            (6, "not_before_passed", check_bool),
            (7, "retrying", check_bool),
            (8, "backoff_until", _optional(_time)),
            (9, "last_failure", _optional(_failure)),
        ),
    )


def _saved(field: str, value: object) -> None:
    # What ctx.save encodes (jobqueue._saved_state): bytes within the cap that
    # decode, naming no global, to plain data of the saved-state domain.
    if type(value) is not bytes:
        raise ValidationError(f"{field} must be bytes, got {type(value).__name__}")
    if len(value) > MAX_SAVED_BYTES:
        raise ValidationError(f"{field} must be at most {MAX_SAVED_BYTES} bytes, got {len(value)}")
    check_saved_state(decode_state(value), field)


def _ids(field: str, value: object) -> None:
    for job_id in _list(field, value):
        check_str(field, job_id)


def _failure(field: str, value: object) -> None:
    _check_fields(_list(field, value, 2), ((0, "code", check_str), (1, "message", check_str)))


# ---------------------------------------------------------------------- the ops

CONFIG_FIELDS: Final[Fields] = (
    (0, "index", partial(check_int, lo=1)),
    (1, "name", _name),
    (2, "description", _description),
    (3, "submission_queue", _queue),
    (4, "deferred", check_bool),
    (5, "preemptible", check_bool),
    (6, "confirmation_required", check_bool),
    (7, "created_at", _time),
    (8, "hops", _hops),
    (9, "acceleration", partial(check_choice, kind=Acceleration)),
    (10, "billing_tags_source", partial(check_choice, kind=BillingTagsSource)),
    (11, "report", _optional(partial(check_choice, kind=ReportScope))),
    (12, "tasks_total", _count),
    (13, "task_keys", _task_keys),
    (14, "controls", _optional(_controls_config)),
)
_JOB_FIELDS: Final[Fields] = (
    (2, "status", _status),
    (3, "priority", _priority),
    (4, "seq", _count),
    (5, "queue", _queue),
    (6, "tags", _tags),
    (7, "start_seq", _count),
    (8, "hop_index", _count),
    (9, "hop_token", _count),
    (10, "hop_due", check_bool),
    (11, "ready_at", _time),
    (12, "succeeded", _count),
    (13, "failed", _count),
    (14, "failure_reasons", _optional(_reasons)),
    (15, "holds_slot", check_bool),
    (16, "leaving", check_bool),
    (17, "accelerated", _optional(check_bool)),
    (18, "started_at", _optional(_time)),
    (19, "finished_at", _optional(_time)),
    (20, "suspended_at", _optional(_time)),
    (21, "run_started_at", _time),
    (22, "run_seconds", _seconds),
    (23, "billed_seconds", _seconds),
    (24, "progress", _fraction),
    (25, "history", _history),
    (26, "hop_transitions", _optional(_hopped)),
    (27, "timer_mark", _optional(_count)),
    (28, "finish_mark", _optional(_count)),
    (29, "config", _optional(_config)),
    (30, "controls", _optional(_controls_state)),
    (31, "saved", _optional(_saved)),
)
# kind -> (what the op is, its length, the fields after its subject)
_OPS: Final[dict[str, tuple[str, int, Fields]]] = {
    "j": ("job", JOB_ROW, _JOB_FIELDS),
    "t": (
        "task outcome",
        6,
        (
            (2, "key", check_str),
            (3, "status", partial(check_choice, kind=TaskStatus)),
            (4, "error_code", check_str),
            (5, "message", check_str),
        ),
    ),
    "r": ("report", 3, ((2, "report", check_str),)),
    "p": ("purge", 2, ()),
    "a": ("retry", 2, ()),
    "q": (
        "queue",
        12,
        (
            (1, "name", _queue),
            (2, "slots", partial(check_int, lo=1)),
            (3, "deferred_share", _share),
            (4, "max_waiting", partial(check_int, lo=1)),
            (5, "policy", _policy_kind),
            (6, "preemption", check_bool),
            (7, "pricing", partial(check_choice, kind=Pricing)),
            (8, "tags", _tags),
            (9, "paused", check_bool),
            (10, "custom", _optional(check_str)),
            (11, "aging", _optional(_aging)),
        ),
    ),
    "x": ("deleted queue", 2, ()),
    "u": ("billing total", 3, ((1, "billing_tags", _billing_key), (2, "seconds", _seconds))),
}
# How many trailing fields older formats did not write, by op.
_OLDER: Final = {"j": 2, "q": 1}
# The field that names what an op is about, and how: a job's id, a queue's name.
_SUBJECT: Final = {
    "j": ("id", ""),
    "t": ("job_id", " of job"),
    "r": ("job_id", " of job"),
    "p": ("job_id", " of job"),
    "a": ("job_id", " of job"),
    "q": ("name", ""),
    "x": ("name", ""),
}


def check_op(op: object) -> str:
    """Check every field of one op; return its kind (``"j"``, ``"q"``, ...).

    Raises:
        ValidationError: naming the op (the job or queue it is about) and the field.
    """
    if type(op) is not list or not op:
        raise ValidationError(f"an op must be a non-empty list, got {brief(op)}")
    kind: str = op[0]
    if (kind == "j" and plain_job_row(op)) or (kind == "t" and plain_task_op(op)):
        return kind
    spec = _OPS.get(kind) if type(kind) is str else None
    if spec is None:
        raise ValidationError(f"unknown op {brief(kind)}")
    about, length, fields = spec
    subject = _SUBJECT.get(kind)
    if subject is not None:
        field, of = subject
        value = op[1] if len(op) > 1 else None
        if type(value) is not str:
            raise ValidationError(f"{about}: {field} must be a str, got {type(value).__name__}")
        about = f"{about}{of} {brief(value)}"
    # Older formats wrote job rows and queues shorter: format 4 a job row
    # without its saved state, formats 1 to 3 without its controls either,
    # and a queue without its aging.
    missing = length - len(op)
    if missing and not (0 < missing <= _OLDER.get(kind, 0)):
        raise ValidationError(f"{about} must have {length} fields, got {len(op)}")
    try:
        _check_fields(op, fields[: len(fields) - missing])
        if kind == "q":
            _check_policy(op)
    except ValidationError as exc:
        raise ValidationError(f"{about}: {exc}") from None
    return kind


def read_report(op: list[Any]) -> CompletionReport:
    """The completion report a checked ``"r"`` op holds.

    Raises:
        ValidationError: the report cannot be read; the message names the job.
    """
    try:
        return CompletionReport.from_json(op[2])
    except ValidationError as exc:
        error = str(exc)
    except DAMAGE as exc:  # a JSON array 100,000 deep, ...
        error = f"report cannot be read ({brief(exc)})"
    raise ValidationError(bounded(f"report of job {brief(op[1])}: {error}"))


def check_entry(data: object) -> tuple[float, list[Any]]:
    """A journal entry's ``(time, ops)``; the ops are checked one by one later.

    Raises:
        ValidationError: not a list that starts with a finite time.
    """
    if type(data) is not list or not data:
        raise ValidationError(f"an entry must be a non-empty list, got {brief(data)}")
    _check_fields(data, ((0, "time", _time),))
    return float(data[0]), data[1:]


def check_header(data: object) -> tuple[float, int]:
    """A snapshot header's ``(time, next_index)``.

    Raises:
        ValidationError: not ``[finite time, int >= 1]``.
    """
    if type(data) is not list or len(data) != 2:
        raise ValidationError(f"must be a list [time, next_index], got {brief(data)}")
    _check_fields(data, ((0, "time", _time), (1, "next_index", partial(check_int, lo=1))))
    return float(data[0]), data[1]


def _check_policy(op: list[Any]) -> None:
    # The rules of create_queue(policy=..., preemption=...) (make_policy).
    kind, preemption, custom = op[5], op[6], op[10]
    if kind == "custom":
        if custom is None:
            raise ValidationError("a custom policy must have a name, got None")
    elif custom is not None:
        raise ValidationError(f"policy {kind!r} has no custom name, got {brief(custom)}")
    elif kind == "fifo":
        make_policy(None, kind, preemption, None)
    if len(op) > 11 and op[11] is not None and kind != "priority":
        raise ValidationError(f"aging needs policy 'priority', got {kind!r}")


_S = JobStatus
_HOLDING: Final = frozenset({_S.ACTIVE, _S.PAUSING, _S.CANCELLING, _S.FAILING})
_LEAVING: Final = frozenset({_S.PAUSING, _S.CANCELLING, _S.FAILING})


def check_state(
    status: JobStatus, holds_slot: bool, leaving: bool, hop_index: int, hops: int
) -> None:
    """The fields of one job's row that must agree with each other, as the core keeps them.

    Raises:
        ValidationError: naming the field at odds with the others.
    """
    check_int("hop_index", hop_index, 0, hops)
    if status in RUNNING and not holds_slot:
        raise ValidationError(f"holds_slot must be True for a job that is {status}")
    if holds_slot and status not in _HOLDING:
        raise ValidationError(f"holds_slot must be False for a job that is {status}")
    if leaving and (not holds_slot or status not in _LEAVING):
        raise ValidationError(f"leaving must be False for a job that is {status}")
