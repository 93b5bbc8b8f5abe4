"""Completion reports: a finished job's configuration, status and task outcomes.

The scheduler builds a ``CompletionReport`` when a job that asked for one
completes, fails or is cancelled after at least one task ran. The report holds
exactly what it is given; for scope ``failed`` the scheduler passes only the
failed records. Two formats:

* JSON: the whole report, one object. ``from_json(r.to_json()) == r`` always.
* CSV: the task records only, one header row (``CSV_COLUMNS``) then one row
  per record, quoted by the stdlib ``csv`` module so commas, quotes and line
  breaks in messages survive. Files are written as UTF-8; reading also accepts
  a leading byte-order mark. A file object handed in should be opened with
  ``newline=""``, as the ``csv`` module asks, or line breaks inside messages
  may be changed on the way.

Surrogates. A Python ``str`` may hold surrogate code points (U+D800-U+DFFF)
that are not characters: a lone one, or a high one followed by a low one,
which is two code points and not the character a UTF-16 pair stands for. A
report keeps them exactly. ``to_json`` escapes every other non-ASCII
character as JSON does (``\\u00e9``; an astral character as its escaped
UTF-16 pair) and leaves surrogate code points as they are, so that a reader
never mistakes two of them for one astral character; the text of a report
that holds none is plain ASCII, as before. Files are written and read with
the ``surrogatepass`` error handler, so those code points survive a file too
(as bytes that strict UTF-8 readers refuse: there is no valid UTF-8 for
them).

Malformed input to the readers raises ``ValidationError`` naming the field,
column or row at fault.
"""

from __future__ import annotations

import csv
import json
import os
import re
from collections.abc import Iterable, Mapping
from types import MappingProxyType
from typing import Any, TextIO, TypeAlias, TypeVar

import attrs

from ._errors import ValidationError
from ._states import JobStatus
from ._tasks import FailureReason, ReportScope, TaskRecord, TaskStatus
from ._validate import check_number

__all__ = ["CSV_COLUMNS", "CompletionReport"]

#: The CSV header, in order.
CSV_COLUMNS: tuple[str, ...] = ("job_id", "task_key", "status", "error_code", "message")

_PathOrFile: TypeAlias = str | os.PathLike[str] | TextIO
# Every non-ASCII code point but the surrogates (and DEL, which JSON's ASCII
# mode escapes too): what to_json escapes.
_ESCAPED = re.compile(r"[^\x00-\x7e\ud800-\udfff]")
_SURROGATES = "surrogatepass"  # files keep lone surrogates exactly
_E = TypeVar("_E", JobStatus, ReportScope, TaskStatus)


def _freeze_tags(value: Mapping[str, str]) -> Mapping[str, str]:
    return MappingProxyType(dict(value))


def _to_reasons(value: Iterable[FailureReason]) -> tuple[FailureReason, ...]:
    return tuple(value)


def _to_records(value: Iterable[TaskRecord]) -> tuple[TaskRecord, ...]:
    return tuple(value)


@attrs.frozen
class CompletionReport:
    """What a finished job reports: its configuration, its status and its tasks.

    Attributes:
        job_id: the job's id.
        name: the job's unique name, if it has one.
        description: the job's description.
        submission_queue: the queue the job was submitted to.
        priority: the job's priority when it finished.
        status: the status it finished in (Complete, Failed or Cancelled).
        scope: whether ``records`` lists all tasks or only the failed ones.
        created_at: when the job was created, in clock seconds.
        finished_at: when it reached its final status, in clock seconds.
        tags: the job's tags, as a read-only copy. Left out of the hash, since
            a mapping is not hashable; equal reports still hash equal.
        tasks_total: tasks in the job's manifest.
        tasks_succeeded: tasks that succeeded.
        tasks_failed: tasks that failed.
        failure_reasons: why the job failed (empty unless it did).
        records: one record per task in scope, in the order given.
    """

    job_id: str
    name: str | None
    description: str
    submission_queue: str
    priority: int
    status: JobStatus
    scope: ReportScope
    created_at: float
    finished_at: float
    tags: Mapping[str, str] = attrs.field(converter=_freeze_tags, hash=False)
    tasks_total: int
    tasks_succeeded: int
    tasks_failed: int
    failure_reasons: tuple[FailureReason, ...] = attrs.field(converter=_to_reasons)
    records: tuple[TaskRecord, ...] = attrs.field(converter=_to_records)

    def to_json(self) -> str:
        """Return the whole report as a JSON object (see ``from_json``)."""
        data: dict[str, Any] = {
            "job_id": self.job_id,
            "name": self.name,
            "description": self.description,
            "submission_queue": self.submission_queue,
            "priority": self.priority,
            "status": self.status.value,
            "scope": self.scope.value,
            "created_at": self.created_at,
            "finished_at": self.finished_at,
            "tags": dict(self.tags),
            "tasks_total": self.tasks_total,
            "tasks_succeeded": self.tasks_succeeded,
            "tasks_failed": self.tasks_failed,
            "failure_reasons": [
                {"code": r.code, "message": r.message} for r in self.failure_reasons
            ],
            "records": [
                {
                    "key": r.key,
                    "status": r.status.value,
                    "error_code": r.error_code,
                    "message": r.message,
                }
                for r in self.records
            ],
        }
        text = json.dumps(data, indent=2, ensure_ascii=False)
        if text.isascii() and "\x7f" not in text:
            return text  # the common case: nothing to escape
        return _ESCAPED.sub(_escape, text)

    @classmethod
    def from_json(cls, text: str) -> CompletionReport:
        """Read a report written by ``to_json``.

        Fields this version does not know are ignored, so newer reports still read.

        Raises:
            ValidationError: the text is not JSON, or a field is missing, has the
                wrong type or an unknown status; the message names the field,
                e.g. ``"report field 'records[2].status' must be a task status, got 'ok'"``.
        """
        try:
            data = json.loads(text)
        except ValueError as exc:
            raise ValidationError(f"report is not valid json: {exc}") from None
        top = _Fields.of(data, "report")
        failure_reasons = []
        for i, item in enumerate(top.array("failure_reasons")):
            reason = _Fields.of(item, f"failure_reasons[{i}]")
            failure_reasons.append(FailureReason(reason.text("code"), reason.text("message")))
        records = []
        for i, item in enumerate(top.array("records")):
            record = _Fields.of(item, f"records[{i}]")
            records.append(
                TaskRecord(
                    key=record.text("key"),
                    status=record.enum("status", TaskStatus, "a task status"),
                    error_code=record.text("error_code"),
                    message=record.text("message"),
                )
            )
        return cls(
            job_id=top.text("job_id"),
            name=top.optional_text("name"),
            description=top.text("description"),
            submission_queue=top.text("submission_queue"),
            priority=top.integer("priority"),
            status=top.enum("status", JobStatus, "a job status"),
            scope=top.enum("scope", ReportScope, "a report scope"),
            created_at=top.number("created_at"),
            finished_at=top.number("finished_at"),
            tags=top.text_map("tags"),
            tasks_total=top.integer("tasks_total"),
            tasks_succeeded=top.integer("tasks_succeeded"),
            tasks_failed=top.integer("tasks_failed"),
            failure_reasons=failure_reasons,
            records=records,
        )

    def write_json(self, path_or_file: _PathOrFile) -> None:
        """Write ``to_json()`` and a final newline to a path (as UTF-8) or a text file."""
        text = self.to_json() + "\n"
        if isinstance(path_or_file, (str, os.PathLike)):
            with open(path_or_file, "w", encoding="utf-8", errors=_SURROGATES) as file:
                file.write(text)
        else:
            path_or_file.write(text)

    @classmethod
    def read_json(cls, path_or_file: _PathOrFile) -> CompletionReport:
        """Read a report written by ``write_json`` from a path or a text file.

        Raises:
            ValidationError: as ``from_json``.
        """
        if isinstance(path_or_file, (str, os.PathLike)):
            with open(path_or_file, encoding="utf-8-sig", errors=_SURROGATES) as file:
                return cls.from_json(file.read())
        return cls.from_json(path_or_file.read())

    def write_csv(self, path_or_file: _PathOrFile) -> None:
        """Write the task records as CSV: the ``CSV_COLUMNS`` header, then one row each.

        Args:
            path_or_file: a path (written as UTF-8) or a text file opened with
                ``newline=""``.
        """
        if isinstance(path_or_file, (str, os.PathLike)):
            with open(path_or_file, "w", encoding="utf-8", errors=_SURROGATES, newline="") as file:
                self._write_rows(file)
        else:
            self._write_rows(path_or_file)

    def _write_rows(self, file: TextIO) -> None:
        writer = csv.writer(file)
        writer.writerow(CSV_COLUMNS)
        writer.writerows(
            (self.job_id, r.key, r.status.value, r.error_code, r.message) for r in self.records
        )

    @staticmethod
    def read_csv(path_or_file: _PathOrFile) -> tuple[TaskRecord, ...]:
        """Read task records written by ``write_csv``; the ``job_id`` column is not kept.

        Columns are found by name, so their order does not matter and extra
        columns are ignored. Blank lines are skipped.

        Args:
            path_or_file: a path or a text file opened with ``newline=""``.

        Raises:
            ValidationError: no header row, a missing column, a row with the wrong
                number of fields, or an unknown status, e.g.
                ``"csv row 3 column 'status' must be a task status, got 'ok'"``
                (row 1 is the header).
        """
        if isinstance(path_or_file, (str, os.PathLike)):
            with open(path_or_file, encoding="utf-8-sig", errors=_SURROGATES, newline="") as file:
                return _read_records(file)
        return _read_records(path_or_file)


def _escape(match: re.Match[str]) -> str:
    code = ord(match.group())
    if code < 0x10000:
        return f"\\u{code:04x}"
    code -= 0x10000  # an astral character: its UTF-16 pair, as JSON writes it
    return f"\\u{0xD800 + (code >> 10):04x}\\u{0xDC00 + (code & 0x3FF):04x}"


def _read_records(file: TextIO) -> tuple[TaskRecord, ...]:
    rows = csv.reader(file)
    # Rows are numbered as a spreadsheet shows them: the header is row 1. A
    # csv.Error comes from reading the row after the last one read.
    rows_read = 0
    try:
        header = next(rows, None)
        if header is None:
            raise ValidationError("csv has no header row")
        rows_read = 1
        for column in CSV_COLUMNS:
            if column not in header:
                raise ValidationError(f"csv is missing column {column!r}")
        key, status, error_code, message = (
            header.index(c) for c in ("task_key", "status", "error_code", "message")
        )
        records = []
        for row in rows:
            rows_read += 1
            if not row:
                continue
            if len(row) != len(header):
                raise ValidationError(
                    f"csv row {rows_read} has {len(row)} fields, expected {len(header)}"
                )
            try:
                task_status = TaskStatus(row[status])
            except ValueError:
                raise ValidationError(
                    f"csv row {rows_read} column 'status' must be a task status, "
                    f"got {row[status]!r}"
                ) from None
            records.append(TaskRecord(row[key], task_status, row[error_code], row[message]))
    except csv.Error as exc:
        # E.g. a field longer than csv.field_size_limit().
        raise ValidationError(f"csv row {rows_read + 1} is malformed: {exc}") from None
    return tuple(records)


@attrs.frozen
class _Fields:
    """A JSON object being read, with the path to it for error messages."""

    data: Mapping[str, object]
    where: str

    @classmethod
    def of(cls, value: object, where: str) -> _Fields:
        if not isinstance(value, dict):
            what = "report" if where == "report" else f"report field {where!r}"
            raise ValidationError(f"{what} must be a json object, got {_json_type(value)}")
        return cls(value, where)

    def _path(self, key: str) -> str:
        # Top-level fields are named plainly; nested ones by their path.
        return key if self.where == "report" else f"{self.where}.{key}"

    def _get(self, key: str) -> object:
        if key not in self.data:
            raise ValidationError(f"report is missing field {self._path(key)!r}")
        return self.data[key]

    def _wrong(self, key: str, expected: str, value: object) -> ValidationError:
        return ValidationError(
            f"report field {self._path(key)!r} must be {expected}, got {_json_type(value)}"
        )

    def text(self, key: str) -> str:
        value = self._get(key)
        if not isinstance(value, str):
            raise self._wrong(key, "a string", value)
        return value

    def optional_text(self, key: str) -> str | None:
        value = self._get(key)
        if value is not None and not isinstance(value, str):
            raise self._wrong(key, "a string or null", value)
        return value

    def integer(self, key: str) -> int:
        value = self._get(key)
        # bool is an int subclass, but true/false is not a count.
        if not isinstance(value, int) or isinstance(value, bool):
            raise self._wrong(key, "an integer", value)
        return value

    def number(self, key: str) -> float:
        value = self._get(key)
        if not isinstance(value, int | float) or isinstance(value, bool):
            raise self._wrong(key, "a number", value)
        if isinstance(value, float):
            return value  # inf and nan too: to_json writes what a report holds
        # A json integer of 400 digits is a number, but none a float can hold.
        return check_number(f"report field {self._path(key)!r}", value)

    def array(self, key: str) -> Iterable[object]:
        value = self._get(key)
        if not isinstance(value, list):
            raise self._wrong(key, "an array", value)
        return value

    def text_map(self, key: str) -> dict[str, str]:
        value = self._get(key)
        if not isinstance(value, dict):
            raise self._wrong(key, "an object", value)
        for name, item in value.items():
            if not isinstance(item, str):
                raise ValidationError(
                    f"report field {self._path(key) + '.' + name!r} must be a string, "
                    f"got {_json_type(item)}"
                )
        return value

    def enum(self, key: str, kind: type[_E], expected: str) -> _E:
        value = self._get(key)
        if not isinstance(value, str):
            raise self._wrong(key, expected, value)
        try:
            return kind(value)
        except ValueError:
            raise ValidationError(
                f"report field {self._path(key)!r} must be {expected}, got {value!r}"
            ) from None


def _json_type(value: object) -> str:
    # Name what was found in JSON's own terms, as the reader of the file sees it.
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "an array"
    return "an object"
