"""Completion reports: JSON and CSV round trips, and clear errors for malformed input."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import attrs
import pytest
from hypothesis import given
from hypothesis import strategies as st

from jobqueue._errors import ValidationError
from jobqueue._reports import CSV_COLUMNS, CompletionReport
from jobqueue._states import JobStatus
from jobqueue._tasks import FailureReason, ReportScope, TaskRecord, TaskStatus

OK_A = TaskRecord("a.wav", TaskStatus.SUCCEEDED)
BAD_B = TaskRecord("b.wav", TaskStatus.FAILED, "NoSuchKey", "the key does not exist")
OK_C = TaskRecord("c.wav", TaskStatus.SUCCEEDED, "", "copied")
TRICKY = TaskRecord(
    'd, "quoted".wav',
    TaskStatus.FAILED,
    "Bad,Code",
    'line one, with "quotes"\nline two\r\nline three\rend,',
)


def make_report(scope: ReportScope = ReportScope.ALL, **changes: Any) -> CompletionReport:
    records = [OK_A, BAD_B, OK_C] if scope is ReportScope.ALL else [BAD_B]
    report = CompletionReport(
        job_id="j-1",
        name="clip-42",
        description="nightly transcode",
        submission_queue="reserved",
        priority=5,
        status=JobStatus.COMPLETE,
        scope=scope,
        created_at=10.0,
        finished_at=72.5,
        tags={"Department": "Finance"},
        tasks_total=3,
        tasks_succeeded=2,
        tasks_failed=1,
        failure_reasons=(),
        records=records,
    )
    return attrs.evolve(report, **changes)


def failed_report() -> CompletionReport:
    return make_report(
        ReportScope.FAILED,
        status=JobStatus.FAILED,
        failure_reasons=[FailureReason("TaskFailureThreshold", "more than 50% of tasks failed")],
    )


BOTH_SCOPES = pytest.mark.parametrize("report", [make_report(), failed_report()])


# Values --------------------------------------------------------------------


def test_sequences_and_tags_are_stored_immutably() -> None:
    tags = {"Department": "Finance"}
    report = make_report(tags=tags, records=[OK_A])
    tags["Department"] = "Legal"  # must not reach the report
    assert report.tags == {"Department": "Finance"}
    assert report.records == (OK_A,)
    assert report.failure_reasons == ()
    with pytest.raises(TypeError):
        report.tags["Department"] = "Legal"  # type: ignore[index]


def test_reports_hash_and_compare_by_value() -> None:
    assert make_report() == make_report()
    assert hash(make_report()) == hash(make_report())
    assert make_report() != make_report(tags={"Department": "Legal"})


def test_report_holds_the_records_it_is_given() -> None:
    assert failed_report().records == (BAD_B,)
    assert make_report().records == (OK_A, BAD_B, OK_C)


# JSON ----------------------------------------------------------------------


@BOTH_SCOPES
def test_json_round_trip(report: CompletionReport) -> None:
    assert CompletionReport.from_json(report.to_json()) == report


def test_json_holds_the_whole_report() -> None:
    data = json.loads(failed_report().to_json())
    assert data == {
        "job_id": "j-1",
        "name": "clip-42",
        "description": "nightly transcode",
        "submission_queue": "reserved",
        "priority": 5,
        "status": "Failed",
        "scope": "failed",
        "created_at": 10.0,
        "finished_at": 72.5,
        "tags": {"Department": "Finance"},
        "tasks_total": 3,
        "tasks_succeeded": 2,
        "tasks_failed": 1,
        "failure_reasons": [
            {"code": "TaskFailureThreshold", "message": "more than 50% of tasks failed"}
        ],
        "records": [
            {
                "key": "b.wav",
                "status": "failed",
                "error_code": "NoSuchKey",
                "message": "the key does not exist",
            }
        ],
    }


def test_json_round_trip_of_an_unnamed_report_with_tricky_text() -> None:
    report = make_report(name=None, records=[TRICKY], tags={"ключ": '値, "x"\n'})
    assert CompletionReport.from_json(report.to_json()) == report


def test_json_ignores_fields_it_does_not_know() -> None:
    data = json.loads(make_report().to_json())
    data["added_later"] = [1, 2]
    assert CompletionReport.from_json(json.dumps(data)) == make_report()


def test_json_accepts_integer_timestamps() -> None:
    data = json.loads(make_report().to_json())
    data["created_at"] = 10
    report = CompletionReport.from_json(json.dumps(data))
    assert report.created_at == 10.0
    assert type(report.created_at) is float


@BOTH_SCOPES
def test_write_json_then_read_json_through_a_path(report: CompletionReport, tmp_path: Path) -> None:
    report.write_json(tmp_path / "report.json")
    assert CompletionReport.read_json(tmp_path / "report.json") == report
    report.write_json(str(tmp_path / "again.json"))
    assert CompletionReport.read_json(str(tmp_path / "again.json")) == report
    assert (tmp_path / "again.json").read_text(encoding="utf-8") == report.to_json() + "\n"


def test_write_json_then_read_json_through_a_file_object() -> None:
    buffer = io.StringIO()
    make_report().write_json(buffer)
    assert buffer.getvalue() == make_report().to_json() + "\n"
    buffer.seek(0)
    assert CompletionReport.read_json(buffer) == make_report()


def test_read_json_accepts_a_byte_order_mark(tmp_path: Path) -> None:
    path = tmp_path / "report.json"
    path.write_text(make_report().to_json(), encoding="utf-8-sig")
    assert CompletionReport.read_json(path) == make_report()


def edited(**changes: Any) -> str:
    """A valid report's JSON with some top-level fields replaced or (value ...) removed."""
    data = json.loads(failed_report().to_json())
    for key, value in changes.items():
        if value is ...:
            del data[key]
        else:
            data[key] = value
    return json.dumps(data)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "report is not valid json: Expecting value: line 1 column 1 (char 0)"),
        ("[]", "report must be a json object, got an array"),
        ("null", "report must be a json object, got null"),
        (edited(status=...), "report is missing field 'status'"),
        (edited(records=...), "report is missing field 'records'"),
        (edited(status="Done"), "report field 'status' must be a job status, got 'Done'"),
        (edited(status="complete"), "report field 'status' must be a job status, got 'complete'"),
        (edited(status=3), "report field 'status' must be a job status, got a number"),
        (edited(scope="some"), "report field 'scope' must be a report scope, got 'some'"),
        (edited(priority="5"), "report field 'priority' must be an integer, got a string"),
        (edited(priority=5.0), "report field 'priority' must be an integer, got a number"),
        (edited(tasks_total=True), "report field 'tasks_total' must be an integer, got a boolean"),
        (edited(created_at="now"), "report field 'created_at' must be a number, got a string"),
        (edited(job_id=None), "report field 'job_id' must be a string, got null"),
        (edited(name=7), "report field 'name' must be a string or null, got a number"),
        (edited(tags=[]), "report field 'tags' must be an object, got an array"),
        (edited(tags={"Dept": 1}), "report field 'tags.Dept' must be a string, got a number"),
        (edited(records={}), "report field 'records' must be an array, got an object"),
        (
            edited(records=["a.wav"]),
            "report field 'records[0]' must be a json object, got a string",
        ),
        (
            edited(records=[{"key": "a", "status": "ok", "error_code": "", "message": ""}]),
            "report field 'records[0].status' must be a task status, got 'ok'",
        ),
        (
            edited(records=[{"key": "a", "status": "failed", "error_code": ""}]),
            "report is missing field 'records[0].message'",
        ),
        (
            edited(failure_reasons=[{"code": "X", "message": False}]),
            "report field 'failure_reasons[0].message' must be a string, got a boolean",
        ),
    ],
)
def test_malformed_json_rejected(text: str, message: str) -> None:
    with pytest.raises(ValidationError) as info:
        CompletionReport.from_json(text)
    assert str(info.value) == message


# CSV -----------------------------------------------------------------------


def test_csv_layout_is_a_header_then_one_row_per_record() -> None:
    buffer = io.StringIO(newline="")
    make_report().write_csv(buffer)
    assert buffer.getvalue() == (
        "job_id,task_key,status,error_code,message\r\n"
        "j-1,a.wav,succeeded,,\r\n"
        "j-1,b.wav,failed,NoSuchKey,the key does not exist\r\n"
        "j-1,c.wav,succeeded,,copied\r\n"
    )
    assert CSV_COLUMNS == ("job_id", "task_key", "status", "error_code", "message")


@BOTH_SCOPES
def test_csv_round_trip_through_a_path(report: CompletionReport, tmp_path: Path) -> None:
    report.write_csv(tmp_path / "report.csv")
    assert CompletionReport.read_csv(tmp_path / "report.csv") == report.records
    report.write_csv(str(tmp_path / "again.csv"))
    assert CompletionReport.read_csv(str(tmp_path / "again.csv")) == report.records


@BOTH_SCOPES
def test_csv_round_trip_through_a_file_object(report: CompletionReport) -> None:
    buffer = io.StringIO(newline="")
    report.write_csv(buffer)
    buffer.seek(0)
    assert CompletionReport.read_csv(buffer) == report.records


def test_failed_scope_csv_lists_only_the_failed_records(tmp_path: Path) -> None:
    failed_report().write_csv(tmp_path / "report.csv")
    lines = (tmp_path / "report.csv").read_text(encoding="utf-8").splitlines()
    assert lines == [
        "job_id,task_key,status,error_code,message",
        "j-1,b.wav,failed,NoSuchKey,the key does not exist",
    ]


def test_commas_quotes_and_line_breaks_survive_csv(tmp_path: Path) -> None:
    report = make_report(records=[OK_A, TRICKY, OK_C])
    report.write_csv(tmp_path / "report.csv")
    assert CompletionReport.read_csv(tmp_path / "report.csv") == (OK_A, TRICKY, OK_C)


def test_csv_of_no_records_is_just_the_header(tmp_path: Path) -> None:
    make_report(records=()).write_csv(tmp_path / "report.csv")
    assert (
        tmp_path / "report.csv"
    ).read_bytes() == b"job_id,task_key,status,error_code,message\r\n"
    assert CompletionReport.read_csv(tmp_path / "report.csv") == ()


def test_read_csv_finds_columns_by_name_and_ignores_extras() -> None:
    text = "status,extra,message,task_key,job_id,error_code\nfailed,x,oops,k1,j-9,E1\n"
    assert CompletionReport.read_csv(io.StringIO(text)) == (
        TaskRecord("k1", TaskStatus.FAILED, "E1", "oops"),
    )


def test_read_csv_skips_blank_lines_and_accepts_a_byte_order_mark(tmp_path: Path) -> None:
    path = tmp_path / "report.csv"
    path.write_text(
        "job_id,task_key,status,error_code,message\n\nj,k,succeeded,,\n\n", encoding="utf-8-sig"
    )
    assert CompletionReport.read_csv(path) == (TaskRecord("k", TaskStatus.SUCCEEDED),)


HEADER = "job_id,task_key,status,error_code,message\n"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "csv has no header row"),
        ("job_id,task_key,error_code,message\n", "csv is missing column 'status'"),
        ("Job_Id,task_key,status,error_code,message\n", "csv is missing column 'job_id'"),
        (HEADER + "j,k,failed,E\n", "csv row 2 has 4 fields, expected 5"),
        (HEADER + "j,k,failed,E,m\nj,k,failed,E,m,extra\n", "csv row 3 has 6 fields, expected 5"),
        (
            HEADER + "j,k,succeeded,,\nj,k,ok,,\n",
            "csv row 3 column 'status' must be a task status, got 'ok'",
        ),
        (
            HEADER + "j,k,Succeeded,,\n",
            "csv row 2 column 'status' must be a task status, got 'Succeeded'",
        ),
    ],
)
def test_malformed_csv_rejected(text: str, message: str) -> None:
    with pytest.raises(ValidationError) as info:
        CompletionReport.read_csv(io.StringIO(text))
    assert str(info.value) == message


def test_csv_field_beyond_the_csv_module_limit_is_a_validation_error() -> None:
    text = HEADER + "j,k,failed,E," + "x" * 200_000 + "\n"
    with pytest.raises(ValidationError) as info:
        CompletionReport.read_csv(io.StringIO(text))
    # The rest of the message is the csv module's own wording.
    assert str(info.value).startswith("csv row 2 is malformed: ")


# Properties ------------------------------------------------------------------

task_records = st.builds(
    TaskRecord,
    key=st.text(),
    status=st.sampled_from(TaskStatus),
    error_code=st.text(),
    message=st.text(),
)

reports = st.builds(
    CompletionReport,
    job_id=st.text(),
    name=st.none() | st.text(),
    description=st.text(),
    submission_queue=st.text(),
    priority=st.integers(),
    status=st.sampled_from(JobStatus),
    scope=st.sampled_from(ReportScope),
    created_at=st.floats(allow_nan=False),
    finished_at=st.floats(allow_nan=False),
    tags=st.dictionaries(st.text(min_size=1, max_size=128), st.text(max_size=256), max_size=50),
    tasks_total=st.integers(min_value=0),
    tasks_succeeded=st.integers(min_value=0),
    tasks_failed=st.integers(min_value=0),
    failure_reasons=st.lists(st.builds(FailureReason, code=st.text(), message=st.text())),
    records=st.lists(task_records),
)


@given(reports)
def test_any_report_round_trips_through_json(report: CompletionReport) -> None:
    assert CompletionReport.from_json(report.to_json()) == report
    buffer = io.StringIO()
    report.write_json(buffer)
    buffer.seek(0)
    assert CompletionReport.read_json(buffer) == report


@given(reports)
def test_any_reports_records_round_trip_through_csv(report: CompletionReport) -> None:
    buffer = io.StringIO(newline="")
    report.write_csv(buffer)
    buffer.seek(0)
    assert CompletionReport.read_csv(buffer) == report.records
