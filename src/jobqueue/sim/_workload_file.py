"""The workload file formats: ``load_workload`` and ``save_workload`` for JSON and CSV.

JSON holds a whole workload (queues, jobs, actions); CSV holds jobs only, one
per row. Errors name the file, then the line (CSV) or the entry (JSON), then
the field.
"""

from __future__ import annotations

import csv
import enum
import io
import json
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any, Final, TypeVar

import attrs

from .._controls import Retry
from .._errors import ValidationError
from .._model import HopRule
from ._workload import After, JobSpec, QueueAction, QueueSpec, Workload

__all__ = ["load_workload", "save_workload"]

_T = TypeVar("_T")

_CSV_COLUMNS: Final = (
    "arrival",
    "duration",
    "queue",
    "priority",
    "deferred",
    "preemptible",
    "hops",
    "tasks",
    "task_failure_rate",
    "name",
    "tags",
    "billing_tags_source",
)
# The job controls' columns: a CSV file has those that some job uses.
_CONTROL_COLUMNS: Final = ("not_before", "after", "max_run", "max_wait", "retry", "fails")
_JOB_FIELDS: Final = frozenset((*_CSV_COLUMNS, *_CONTROL_COLUMNS))
_RETRY_FIELDS: Final = ("attempts", "backoff", "factor", "max_backoff", "jitter", "on")
_JOB_REQUIRED: Final = ("arrival", "duration")
_QUEUE_REQUIRED: Final = ("name",)
_ACTION_REQUIRED: Final = ("time", "queue", "action")
_QUEUE_FIELDS: Final = frozenset(
    ("name", "slots", "policy", "preemption", "deferred_share", "max_waiting", "pricing", "tags")
)
_ACTION_FIELDS: Final = frozenset(("time", "queue", "action"))
_TOP_FIELDS: Final = frozenset(("jobs", "queues", "actions"))
_CSV_TIMES: Final = ("not_before", "max_run", "max_wait")
_TRUE: Final = frozenset(("true", "yes", "1"))
_FALSE: Final = frozenset(("false", "no", "0"))


def load_workload(
    path: str | Path,
    *,
    queues: Sequence[QueueSpec] = (),
    actions: Sequence[QueueAction] = (),
) -> Workload:
    """Read a workload from a ``.json`` or ``.csv`` file.

    JSON holds a whole workload: an object with ``"jobs"`` (a list of objects
    whose keys are ``JobSpec``'s fields; hop rules are objects with
    ``"queue"``, ``"wait"`` and optional ``"priority"``; ``"after"`` is a
    list of job indices and objects with ``"job"`` and optional ``"on"``;
    ``"retry"`` is an object with ``Retry``'s fields, ``"on"`` a list) and
    optional ``"queues"`` (objects with ``QueueSpec``'s fields) and
    ``"actions"`` (objects with ``"time"``, ``"queue"`` and ``"action"``)::

        {"queues": [{"name": "fast", "slots": 4, "policy": "priority"}],
         "jobs": [{"arrival": 0, "duration": 30, "queue": "fast", "priority": 5,
                   "hops": [{"queue": "default", "wait": 60}]},
                  {"arrival": 0, "duration": 5, "after": [0, {"job": 0, "on": "any"}],
                   "max_run": 60, "retry": {"attempts": 3, "backoff": 5}, "fails": 1}],
         "actions": [{"time": 10, "queue": "fast", "action": "pause"}]}

    CSV holds jobs only, one per row, under a header naming the columns; only
    ``arrival`` and ``duration`` are required, the others take ``JobSpec``'s
    defaults when absent or empty. Booleans are ``true``/``false`` (also
    ``yes``/``no``, ``1``/``0``); ``hops`` is ``queue:wait`` or
    ``queue:wait:priority`` items separated by ``;``; ``tags`` is
    ``key=value`` items separated by ``;``; ``after`` is ``index`` or
    ``index:on`` items separated by ``;``; ``retry`` is ``key=value`` items
    separated by ``;`` (keys as ``Retry``'s fields, the others taking its
    defaults; ``on`` is codes separated by ``|``)::

        arrival,duration,queue,priority,hops,after,retry,fails
        0.0,30.0,fast,5,default:60,,,
        2.5,10.0,default,0,,0;0:any,attempts=3;backoff=5.0,1

    Args:
        path: the file; its suffix (``.json`` or ``.csv``) selects the format.
        queues: queues to add to the file's (for CSV, the only ones).
        actions: actions to add to the file's.

    Raises:
        ValidationError: the file cannot be read or parsed, or an entry is
            invalid; the message names the file and the line (CSV) or the
            entry (JSON), then the field.
    """
    path = Path(path)
    kind = path.suffix.lower()
    if kind not in (".json", ".csv"):
        raise ValidationError(f"{path}: workload files must end in .json or .csv")
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ValidationError(f"{path}: cannot read: {exc.strerror or exc}") from None
    except UnicodeDecodeError as exc:
        raise ValidationError(f"{path}: not UTF-8 text: {exc.reason}") from None
    if kind == ".json":
        jobs, file_queues, file_actions = _parse_json(text, str(path))
    else:
        jobs, file_queues, file_actions = _parse_csv(text, str(path)), [], []
    try:
        return Workload(jobs, (*file_queues, *queues), (*file_actions, *actions))
    except ValidationError as exc:
        raise ValidationError(f"{path}: {exc}") from None


def save_workload(workload: Workload, path: str | Path) -> None:
    """Write ``workload`` to a ``.json`` or ``.csv`` file that ``load_workload`` reads back.

    Times are written with ``repr``, so they read back bit for bit.

    A CSV file has the columns of the job controls that some job uses.

    Raises:
        ValidationError: the suffix is neither ``.json`` nor ``.csv``; or, for
            CSV (which holds jobs only), the workload has queues or actions, or
            a tag contains ``;`` or ``=``, or a retry code ``;``, ``=`` or ``|``.
    """
    path = Path(path)
    kind = path.suffix.lower()
    if kind == ".json":
        text = json.dumps(_workload_json(workload), indent=1) + "\n"
    elif kind == ".csv":
        text = _workload_csv(workload)
    else:
        raise ValidationError(f"{path}: workload files must end in .json or .csv")
    path.write_text(text, encoding="utf-8")


def _workload_json(workload: Workload) -> dict[str, Any]:
    def job(spec: JobSpec) -> dict[str, Any]:
        row: dict[str, Any] = {"arrival": spec.arrival, "duration": spec.duration}
        defaults = _JOB_DEFAULT
        for field in (*_CSV_COLUMNS[2:], *_CONTROL_COLUMNS):
            value = getattr(spec, field)
            if value != getattr(defaults, field):
                row[field] = _json_value(value)
        return row

    return {
        "queues": [
            {f.name: _json_value(getattr(q, f.name)) for f in attrs.fields(QueueSpec)}
            for q in workload.queues
        ],
        "jobs": [job(spec) for spec in workload.jobs],
        "actions": [
            {"time": a.time, "queue": a.queue, "action": a.action.value} for a in workload.actions
        ],
    }


def _json_value(value: object) -> Any:
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, Mapping):
        return dict(value)
    if isinstance(value, Retry):
        fields = {f: getattr(value, f) for f in _RETRY_FIELDS[:-1]}
        return {**fields, "on": list(value.on)} if value.on else fields
    if isinstance(value, tuple):
        return [_json_item(item) for item in value]
    return value


def _json_item(item: object) -> Any:
    if isinstance(item, HopRule):
        return {"queue": item.queue, "wait": item.wait, "priority": item.priority}
    assert isinstance(item, After)
    return item.job if item.on == "ok" else {"job": item.job, "on": item.on}


def _workload_csv(workload: Workload) -> str:
    if workload.queues or workload.actions:
        raise ValidationError(
            "a CSV workload holds jobs only: save a workload with queues or actions as JSON"
        )
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    controls = [
        field
        for field in _CONTROL_COLUMNS
        if any(getattr(spec, field) != getattr(_JOB_DEFAULT, field) for spec in workload.jobs)
    ]
    writer.writerow((*_CSV_COLUMNS, *controls))
    for i, spec in enumerate(workload.jobs):
        hops = ";".join(
            f"{r.queue}:{r.wait!r}" + ("" if r.priority is None else f":{r.priority}")
            for r in spec.hops
        )
        for key, value in spec.tags.items():
            if any(c in key or c in value for c in ";="):
                raise ValidationError(
                    f"jobs[{i}].tags: a CSV tag cannot contain ';' or '=', got {key!r}={value!r}"
                )
        tags = ";".join(f"{k}={v}" for k, v in spec.tags.items())
        writer.writerow(
            (
                repr(spec.arrival),
                repr(spec.duration),
                spec.queue,
                spec.priority,
                "true" if spec.deferred else "false",
                "true" if spec.preemptible else "false",
                hops,
                spec.tasks,
                repr(spec.task_failure_rate),
                "" if spec.name is None else spec.name,
                tags,
                spec.billing_tags_source.value,
                *(_csv_control(i, spec, field) for field in controls),
            )
        )
    return out.getvalue()


def _csv_control(i: int, spec: JobSpec, field: str) -> str:
    value = getattr(spec, field)
    if value is None:
        return ""
    if field == "after":
        return ";".join(str(d.job) if d.on == "ok" else f"{d.job}:{d.on}" for d in spec.after)
    if field == "retry":
        retry = spec.retry
        assert retry is not None
        for code in retry.on:
            if any(c in code for c in ";=|"):
                raise ValidationError(
                    f"jobs[{i}].retry.on: a CSV retry code cannot contain ';', '=' or '|', "
                    f"got {code!r}"
                )
        items = [f"{f}={getattr(retry, f)!r}" for f in _RETRY_FIELDS[:-1]]
        if retry.on:
            items.append("on=" + "|".join(retry.on))
        return ";".join(items)
    return repr(value)


_JOB_DEFAULT: Final = JobSpec(0.0, 0.0)


def _parse_json(text: str, source: str) -> tuple[list[JobSpec], list[QueueSpec], list[QueueAction]]:
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ValidationError(
            f"{source}, line {exc.lineno}, column {exc.colno}: invalid JSON: {exc.msg}"
        ) from None
    if not isinstance(data, dict):
        raise ValidationError(f"{source}: the top level must be an object with 'jobs'")
    for key in data:
        if key not in _TOP_FIELDS:
            raise ValidationError(f"{source}: unknown field {key!r}")
    jobs = [
        _entry(source, f"jobs[{i}]", item, _JOB_FIELDS, _JOB_REQUIRED, _json_job)
        for i, item in enumerate(_json_list(source, data, "jobs"))
    ]
    queues = [
        _entry(
            source, f"queues[{i}]", item, _QUEUE_FIELDS, _QUEUE_REQUIRED, lambda d: QueueSpec(**d)
        )
        for i, item in enumerate(_json_list(source, data, "queues"))
    ]
    actions = [
        _entry(
            source,
            f"actions[{i}]",
            item,
            _ACTION_FIELDS,
            _ACTION_REQUIRED,
            lambda d: QueueAction(**d),
        )
        for i, item in enumerate(_json_list(source, data, "actions"))
    ]
    return jobs, queues, actions


def _json_list(source: str, data: dict[str, Any], key: str) -> list[Any]:
    value = data.get(key, [])
    if not isinstance(value, list):
        raise ValidationError(f"{source}: {key} must be a list, got {type(value).__name__}")
    return value


def _entry(
    source: str,
    where: str,
    item: object,
    fields: frozenset[str],
    required: tuple[str, ...],
    build: Callable[[dict[str, Any]], _T],
) -> _T:
    if not isinstance(item, dict):
        raise ValidationError(f"{source}: {where} must be an object, got {type(item).__name__}")
    for key in item:
        if key not in fields:
            raise ValidationError(f"{source}: {where}: unknown field {key!r}")
    for key in required:
        if key not in item:
            raise ValidationError(f"{source}: {where}: {key} is required")
    try:
        return build(item)
    except ValidationError as exc:
        raise ValidationError(f"{source}: {where}: {exc}") from None


def _json_job(item: dict[str, Any]) -> JobSpec:
    fields = dict(item)
    if "after" in fields:
        fields["after"] = _json_after(fields["after"])
    if isinstance(fields.get("retry"), dict):
        fields["retry"] = _json_retry(fields["retry"])
    if "hops" in fields:
        hops = fields["hops"]
        if not isinstance(hops, list):
            raise ValidationError(f"hops must be a list, got {type(hops).__name__}")
        rules = []
        for i, rule in enumerate(hops):
            if not isinstance(rule, dict) or not {"queue", "wait"} <= rule.keys() <= {
                "queue",
                "wait",
                "priority",
            }:
                raise ValidationError(
                    f"hops[{i}] must be an object with 'queue', 'wait' and optional 'priority'"
                )
            rules.append(HopRule(rule["queue"], rule["wait"], rule.get("priority")))
        fields["hops"] = rules
    return JobSpec(**fields)


def _json_after(after: object) -> list[object]:
    if not isinstance(after, list):
        raise ValidationError(f"after must be a list, got {type(after).__name__}")
    deps: list[object] = []
    for k, dep in enumerate(after):
        if isinstance(dep, dict):
            if not {"job"} <= dep.keys() <= {"job", "on"}:
                raise ValidationError(
                    f"after[{k}] must be a job index or an object with 'job' and optional 'on'"
                )
            try:
                deps.append(After(**dep))
            except ValidationError as exc:
                raise ValidationError(f"after[{k}].{exc}") from None
        else:
            deps.append(dep)  # an index; JobSpec checks it
    return deps


def _json_retry(retry: dict[str, Any]) -> Retry:
    for key in retry:
        if key not in _RETRY_FIELDS:
            raise ValidationError(f"retry: unknown field {key!r}")
    fields = dict(retry)
    if "on" in fields:
        if not isinstance(fields["on"], list):
            raise ValidationError(f"retry.on must be a list, got {type(fields['on']).__name__}")
        fields["on"] = tuple(fields["on"])
    return Retry(**fields)


def _parse_csv(text: str, source: str) -> list[JobSpec]:
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        header = next(reader)
    except StopIteration:
        raise ValidationError(f"{source}: empty file: a header line is required") from None
    except csv.Error as exc:
        raise ValidationError(f"{source}, line 1: {exc}") from None
    columns = [c.strip() for c in header]
    for column in columns:
        if column not in _JOB_FIELDS:
            raise ValidationError(f"{source}, line 1: unknown column {column!r}")
    for required in ("arrival", "duration"):
        if required not in columns:
            raise ValidationError(f"{source}, line 1: column {required!r} is required")
    if len(set(columns)) != len(columns):
        raise ValidationError(f"{source}, line 1: a column appears twice")
    jobs = []
    line = 1
    rows = iter(reader)
    while True:
        try:
            row = next(rows)
        except StopIteration:
            break
        except csv.Error as exc:
            raise ValidationError(f"{source}, line {reader.line_num}: {exc}") from None
        line = reader.line_num
        if not row or all(not cell.strip() for cell in row):
            continue
        if len(row) != len(columns):
            raise ValidationError(
                f"{source}, line {line}: expected {len(columns)} fields, got {len(row)}"
            )
        try:
            jobs.append(_csv_job(dict(zip(columns, row, strict=True))))
        except ValidationError as exc:
            raise ValidationError(f"{source}, line {line}: {exc}") from None
    return jobs


def _csv_job(row: dict[str, str]) -> JobSpec:
    fields: dict[str, Any] = {}
    for column, raw in row.items():
        cell = raw.strip()
        if not cell:
            if column in ("arrival", "duration"):
                raise ValidationError(f"{column} is required")
            continue
        if column in ("arrival", "duration", "task_failure_rate", *_CSV_TIMES):
            fields[column] = _csv_float(column, cell)
        elif column in ("priority", "tasks", "fails"):
            fields[column] = _csv_int(column, cell)
        elif column in ("deferred", "preemptible"):
            fields[column] = _csv_bool(column, cell)
        elif column == "hops":
            fields[column] = [_csv_hop(i, item) for i, item in enumerate(cell.split(";"))]
        elif column == "tags":
            fields[column] = dict(_csv_tag(item) for item in cell.split(";"))
        elif column == "after":
            fields[column] = [_csv_after(k, item) for k, item in enumerate(cell.split(";"))]
        elif column == "retry":
            fields[column] = _csv_retry(cell)
        else:
            fields[column] = cell
    return JobSpec(**fields)


def _csv_float(column: str, cell: str) -> float:
    try:
        return float(cell)
    except ValueError:
        raise ValidationError(f"{column} must be a number, got {cell!r}") from None


def _csv_int(column: str, cell: str) -> int:
    try:
        return int(cell)
    except ValueError:
        raise ValidationError(f"{column} must be an int, got {cell!r}") from None


def _csv_bool(column: str, cell: str) -> bool:
    lowered = cell.lower()
    if lowered in _TRUE:
        return True
    if lowered in _FALSE:
        return False
    raise ValidationError(f"{column} must be true or false, got {cell!r}")


def _csv_hop(i: int, item: str) -> HopRule:
    parts = item.strip().split(":")
    if len(parts) not in (2, 3):
        raise ValidationError(f"hops[{i}] must be queue:wait or queue:wait:priority, got {item!r}")
    wait = _csv_float(f"hops[{i}].wait", parts[1])
    priority = None if len(parts) == 2 else _csv_int(f"hops[{i}].priority", parts[2])
    return HopRule(parts[0], wait, priority)


def _csv_after(k: int, item: str) -> After:
    index, sep, on = item.strip().partition(":")
    if not index:
        raise ValidationError(f"after[{k}] must be index or index:on, got {item!r}")
    job = _csv_int(f"after[{k}]", index)
    try:
        return After(job, on) if sep else After(job)
    except ValidationError as exc:
        raise ValidationError(f"after[{k}].{exc}") from None


def _csv_retry(cell: str) -> Retry:
    fields: dict[str, Any] = {}
    for item in cell.split(";"):
        key, sep, value = item.strip().partition("=")
        if not sep:
            raise ValidationError(f"retry must be key=value items separated by ';', got {item!r}")
        if key not in _RETRY_FIELDS:
            raise ValidationError(f"retry: unknown field {key!r}")
        if key == "attempts":
            fields[key] = _csv_int("retry.attempts", value)
        elif key == "on":
            fields[key] = tuple(value.split("|"))
        else:
            fields[key] = _csv_float(f"retry.{key}", value)
    return Retry(**fields)


def _csv_tag(item: str) -> tuple[str, str]:
    key, sep, value = item.partition("=")
    if not sep:
        raise ValidationError(f"tags must be key=value items separated by ';', got {item!r}")
    return key, value
