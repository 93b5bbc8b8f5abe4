"""``python -m jobqueue inspect STORE``: read-only views of a store, also while it is open."""

from __future__ import annotations

import hashlib
import json
import os
import pickle
import sqlite3
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from jobqueue import HopRule, ManualClock, Scheduler
from jobqueue.__main__ import main
from jobqueue._saved_state import encode_state
from jobqueue.runtime import _trusted
from jobqueue.store import FORMAT_VERSION, CorruptStoreError, SQLiteStore, StoreError

ROOT = Path(__file__).resolve().parent.parent


def build(path: Path) -> tuple[SQLiteStore, Scheduler, ManualClock]:
    """A store with three queues, a preemption, a hop, billing, tasks and a report.

    Left open: the caller closes the store (or inspects it while it is open).
    """
    store = SQLiteStore(path)
    clock = ManualClock()
    sched = Scheduler.open(store, clock)
    sched.create_queue("reserved", slots=1, policy="priority", preemption=True,
                       pricing="reserved", tags={"team": "media"})  # fmt: skip
    sched.create_queue("on-demand", slots=2, tags={"team": "clips"})
    first = sched.submit(queue="reserved", priority=1, name="first", tags={"tier": "low"},
                         tasks=["a", "b", "c"], report="all")  # fmt: skip
    sched.submit(queue="reserved", priority=1, description="waits then hops",
                 hops=[HopRule("on-demand", 60.0, priority=4)], tags={"tier": "low"})  # fmt: skip
    clock.advance(10.0)
    sched.record_task(first.id, "a", ok=True)
    sched.record_task(first.id, "b", ok=False, error_code="NoSuchKey", message="b is gone")
    urgent = sched.submit(queue="reserved", priority=9, tags={"tier": "high"})  # preempts first
    clock.advance(60.0)
    sched.poll()  # job-2 hops to on-demand and starts there
    clock.advance(30.0)
    sched.complete("job-2")  # 30 s billed to team=clips
    sched.complete(urgent.id)  # first resumes
    clock.advance(20.0)
    sched.record_task(first.id, "c", ok=True)
    sched.fail(first.id, "disk full", code="DiskFull")
    sched.submit(queue="on-demand", name="later", not_before=1000.0)
    sched.pause_queue("on-demand")
    return store, sched, clock


@pytest.fixture
def store_path(tmp_path: Path) -> Iterator[Path]:
    path = tmp_path / "jobs.db"
    store, _, _ = build(path)
    store.close()
    yield path


def run(capsys: pytest.CaptureFixture[str], *argv: str | Path) -> tuple[int, str, str]:
    code = main(["inspect", *map(str, argv)])
    out, err = capsys.readouterr()
    return code, out, err


def digest(path: Path) -> dict[str, str]:
    """Hashes of the database file and its SQLite companions that exist."""
    files = [path, Path(f"{path}-wal")]
    return {f.name: hashlib.sha256(f.read_bytes()).hexdigest() for f in files if f.exists()}


def test_jobs_lists_every_job_as_a_table(
    capsys: pytest.CaptureFixture[str], store_path: Path
) -> None:
    code, out, err = run(capsys, store_path, "jobs")
    assert (code, err) == (0, "")
    assert out.splitlines() == [
        "id     name   status     queue      priority  tasks ok/failed/all  created",
        "-----  -----  ---------  ---------  --------  -------------------  -------",
        "job-1  first  Failed     reserved          1                2/1/3       0s",
        "job-2  -      Complete   reserved          4                0/0/0       0s",
        "job-3  -      Complete   reserved          9                0/0/0      10s",
        "job-4  later  Suspended  on-demand         0                0/0/0     120s",
    ]


def test_jobs_filters_by_status_queue_tag_and_search(
    capsys: pytest.CaptureFixture[str], store_path: Path
) -> None:
    def ids(*argv: str) -> list[str]:
        code, out, _ = run(capsys, store_path, "jobs", "--json", *argv)
        assert code == 0
        return [row["id"] for row in json.loads(out)["jobs"]]

    assert ids("--status", "complete") == ["job-2", "job-3"]
    assert ids("--status", "Failed,suspended") == ["job-1", "job-4"]
    assert ids("--status", "Failed", "--status", "Complete") == ["job-1", "job-2", "job-3"]
    assert ids("--queue", "on-demand") == ["job-4"]  # by submission queue: job-2 hopped there
    assert ids("--tag", "tier=low") == ["job-1", "job-2"]
    assert ids("--tag", "tier") == ["job-1", "job-2", "job-3"]
    assert ids("--tag", "tier", "--tag", "tier=high") == ["job-3"]
    assert ids("--search", "hops") == ["job-2"]
    assert ids("--search", "later", "--status", "Ready") == []


def test_jobs_pages_with_a_token_and_no_row_twice(
    capsys: pytest.CaptureFixture[str], store_path: Path
) -> None:
    seen: list[str] = []
    token: str | None = None
    pages = 0
    while True:
        extra = [] if token is None else ["--token", token]
        code, out, _ = run(capsys, store_path, "jobs", "--json", "--limit", "1", "--tag", "tier",
                           *extra)  # fmt: skip
        assert code == 0
        page = json.loads(out)
        seen += [row["id"] for row in page["jobs"]]
        pages += 1
        token = page["next_token"]
        if token is None:
            break
    assert (seen, pages) == (["job-1", "job-2", "job-3"], 3)  # no empty last page
    code, out, _ = run(capsys, store_path, "jobs", "--limit", "3")
    assert out.splitlines()[-1] == "more: --token after:3"


def test_show_gives_the_details_history_tasks_hops_and_billing(
    capsys: pytest.CaptureFixture[str], store_path: Path
) -> None:
    code, out, err = run(capsys, store_path, "show", "job-1")
    assert (code, err) == (0, "")
    assert out.splitlines() == [
        "job-1 (first): Failed",
        "  queue: reserved; priority 1; deferred, preemptible",
        "  created 0s; started 0s; finished 120s",
        "  tags: tier=low",
        "  attempt 1",
        "  tasks: 3 in all, 2 succeeded, 1 failed, 0 not run; report: all",
        "    failed b: NoSuchKey: b is gone",
        "  failure: DiskFull: disk full",
        "  run time 30s, billed 0.00s under team=media (tags from the submission queue)",
        "  history:",
        "    0s  New",
        "    0s  Preparing  (+0.00s)",
        "    0s  Ready  (+0.00s)",
        "    0s  Active  (+0.00s)",
        "    10s  Pausing  (+10s)",
        "    10s  Paused  (+0.00s)",
        "    100s  Active  (+1m 30s)",
        "    120s  Failing  (+20s)",
        "    120s  Failed  (+0.00s)",
    ]
    code, out, _ = run(capsys, store_path, "show", "job-2")
    assert "  queue: on-demand (submitted to reserved); priority 4; deferred, preemptible" in out
    assert "  hop rules: on-demand after 1m 00s at priority 4" in out
    assert "  hopped reserved -> on-demand at 70s (priority 4)" in out
    assert "  run time 30s, billed 30s under team=media (tags from the submission queue)" in out


def test_show_gives_a_job_functions_progress_and_saved_state(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    path = tmp_path / "jobs.db"
    store = SQLiteStore(path)
    sched = Scheduler.open(store, ManualClock())
    job = sched.submit()
    sched.set_progress(job.id, 0.4)
    # What ctx.save does for a runtime's job function: the state is journaled
    # with the job's progress.
    _trusted.save(sched, job.id, encode_state({"next": 41, "name": "x" * 300}))
    other = sched.submit()
    store.close()

    code, out, err = run(capsys, path, "show", job.id)
    assert (code, err) == (0, "")
    lines = out.splitlines()
    assert "  progress: 40%" in lines
    saved = next(line for line in lines if line.startswith("  saved state"))
    size = len(encode_state({"next": 41, "name": "x" * 300}) or b"")
    assert saved.startswith(f"  saved state ({size} bytes): {{'next': 41, 'name': 'xxx")
    assert saved.endswith("xxx...") and len(saved.split(": ", 1)[1]) == 200

    code, out, _ = run(capsys, path, "show", job.id, "--json")
    data = json.loads(out)
    assert data["saved_state"]["bytes"] == size
    assert data["saved_state"]["value"].startswith("{'next': 41")

    code, out, _ = run(capsys, path, "show", other.id)
    assert "saved state" not in out and "progress" not in out
    code, out, _ = run(capsys, path, "show", other.id, "--json")
    assert json.loads(out)["saved_state"] is None


def test_show_says_why_a_job_is_pending_and_finds_it_by_name(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    store, sched, _ = build(tmp_path / "jobs.db")
    sched.resume_queue("on-demand")
    sched.create_queue("tiny", slots=1)
    sched.submit(queue="tiny", name="runs")
    sched.submit(queue="tiny", name="waits")
    store.close()
    code, out, _ = run(capsys, tmp_path / "jobs.db", "show", "waits")
    assert code == 0
    assert "  pending: no free slot: 1 of 1 slots in use; 0 jobs ahead" in out.splitlines()
    code, out, _ = run(capsys, tmp_path / "jobs.db", "show", "waits", "--json")
    data = json.loads(out)
    assert data["pending_reason"] == {
        "code": "NoFreeSlot",
        "message": "no free slot: 1 of 1 slots in use; 0 jobs ahead",
        "queue": "tiny",
        "until": None,
        "jobs": [],
        "ahead": 0,
    }


def test_show_json_has_the_whole_job(capsys: pytest.CaptureFixture[str], store_path: Path) -> None:
    code, out, _ = run(capsys, store_path, "show", "job-1", "--json")
    assert code == 0
    data = json.loads(out)
    assert (data["id"], data["status"], data["priority"]) == ("job-1", "Failed", 1)
    assert data["failure_reasons"] == [{"code": "DiskFull", "message": "disk full"}]
    assert data["history"][4] == {"time": 10.0, "status": "Pausing"}
    assert data["tasks"][1] == {
        "key": "b",
        "status": "failed",
        "error_code": "NoSuchKey",
        "message": "b is gone",
    }
    assert (data["run_seconds"], data["billing_tags"]) == (30.0, {"team": "media"})


def test_queues_shows_settings_and_load(
    capsys: pytest.CaptureFixture[str], store_path: Path
) -> None:
    code, out, _ = run(capsys, store_path, "queues")
    assert code == 0
    assert [line.split()[:5] for line in out.splitlines()[2:]] == [
        ["default", "fifo", "on_demand", "active", "100"],
        ["reserved", "priority+preemption", "reserved", "active", "1"],
        ["on-demand", "fifo", "on_demand", "paused", "2"],
    ]
    code, out, _ = run(capsys, store_path, "queues", "--json")
    on_demand = json.loads(out)["queues"][2]
    assert (on_demand["paused"], on_demand["tags"], on_demand["pricing"]) == (
        True,
        {"team": "clips"},
        "on_demand",
    )


def test_usage_is_the_billing_report(capsys: pytest.CaptureFixture[str], store_path: Path) -> None:
    code, out, _ = run(capsys, store_path, "usage")
    assert (code, out.splitlines()) == (
        0,
        [
            "billing tags  seconds  time",
            "------------  -------  ----",
            "team=media       30.0   30s",
            "total            30.0   30s",
        ],
    )
    code, out, _ = run(capsys, store_path, "usage", "--json")
    assert json.loads(out) == {"usage": [{"tags": {"team": "media"}, "seconds": 30.0}]}


def test_report_as_csv_and_json(capsys: pytest.CaptureFixture[str], store_path: Path) -> None:
    code, out, _ = run(capsys, store_path, "report", "first")
    assert code == 1  # a name finds unfinished jobs only
    code, out, _ = run(capsys, store_path, "report", "job-1")
    assert (code, out.splitlines()) == (
        0,
        [
            "job_id,task_key,status,error_code,message",
            "job-1,a,succeeded,,",
            "job-1,b,failed,NoSuchKey,b is gone",
            "job-1,c,succeeded,,",
        ],
    )
    for argv in (["--json"], ["--format", "json"]):
        code, out, _ = run(capsys, store_path, "report", "job-1", *argv)
        data = json.loads(out)
        assert (data["status"], data["failure_reasons"][0]["code"]) == ("Failed", "DiskFull")
        assert [r["key"] for r in data["records"]] == ["a", "b", "c"]


def test_a_missing_job_or_report_is_exit_1(
    capsys: pytest.CaptureFixture[str], store_path: Path
) -> None:
    assert run(capsys, store_path, "show", "job-99") == (
        1,
        "",
        "error: no job 'job-99' in the store\n",
    )
    assert run(capsys, store_path, "report", "job-2") == (
        1,
        "",
        "error: job 'job-2' has no completion report: none was requested\n",
    )


def test_bad_arguments_are_exit_2(capsys: pytest.CaptureFixture[str], store_path: Path) -> None:
    assert run(capsys, store_path, "jobs", "--status", "Running") == (
        2,
        "",
        "error: --status must be one of New, Preparing, Suspended, Ready, Active, Pausing, "
        "Paused, Complete, Cancelling, Cancelled, Failing, Failed, got 'Running'\n",
    )
    assert run(capsys, store_path, "jobs", "--limit", "0") == (
        2,
        "",
        "error: --limit must be 1-1000, got 0\n",
    )
    assert run(capsys, store_path, "jobs", "--tag", "=x")[2] == (
        "error: --tag must be KEY or KEY=VALUE, got '=x'\n"
    )
    assert run(capsys, store_path, "jobs", "--token", "page-2")[0] == 2


def newer(path: Path) -> None:
    store, _, _ = build(path)
    store.close()
    with open(path, "r+b") as file:  # user_version, in the header
        file.seek(60)
        file.write((FORMAT_VERSION + 1).to_bytes(4, "big"))


def foreign(path: Path) -> None:
    conn = sqlite3.connect(path)
    conn.execute("CREATE TABLE t (x)")
    conn.commit()
    conn.close()


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (None, "error: no such file: {path!r}"),
        (
            lambda p: p.write_bytes(b""),
            "error: {path!r} is not a jobqueue store: the file is empty",
        ),
        (
            lambda p: p.write_text("id,name\n1,x\n" * 20),
            "error: {path!r} is not a jobqueue store: it is not a SQLite database",
        ),
        (
            foreign,
            "error: {path!r} is not a jobqueue store: it is a SQLite database of another "
            "application (application_id 0x00000000)",
        ),
        (
            newer,
            f"error: store {{path!r}} has format {FORMAT_VERSION + 1}, newer than format "
            f"{FORMAT_VERSION} that this version of jobqueue reads: open it with a newer jobqueue",
        ),
    ],
    ids=["missing", "empty", "text", "foreign", "newer"],
)
def test_a_file_that_is_not_a_store_is_one_line_and_exit_2_and_stays_unchanged(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, make: object, message: str
) -> None:
    path = tmp_path / "jobs.db"
    if callable(make):
        make(path)
    before = digest(path)
    for command in ("jobs", "queues", "usage"):
        assert run(capsys, path, command) == (2, "", message.format(path=str(path)) + "\n")
    assert digest(path) == before
    assert path.exists() == (make is not None)


def test_inspect_reads_a_store_that_is_open_and_leaves_it_to_its_owner(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    path = tmp_path / "jobs.db"
    store, sched, _ = build(path)
    try:
        before = digest(path)
        code, out, _ = run(capsys, path, "jobs", "--json")
        assert [row["id"] for row in json.loads(out)["jobs"]] == [
            "job-1",
            "job-2",
            "job-3",
            "job-4",
        ]
        assert digest(path) == before  # neither the file nor its log changed
        with pytest.raises(StoreError, match="is in use: another store holds its lock"):
            SQLiteStore(path)
        # The owner goes on writing, and a reader sees each commit at once.
        sched.submit(queue="default", name="fresh")
        code, out, _ = run(capsys, path, "show", "fresh")
        assert (code, out.splitlines()[0]) == (0, "job-5 (fresh): Active")
    finally:
        store.close()


CHILD = """
import sys
from jobqueue import ManualClock, Scheduler
from jobqueue.store import SQLiteStore

store = SQLiteStore(sys.argv[1], durability="batched")
sched = Scheduler.open(store, ManualClock())
for i in range(50):
    sched.submit(name=f"job{i}", tasks=2)
print("ready", flush=True)
sys.stdin.readline()  # hold the store open until told
sched.submit(name="last")
store.close()
print("closed", flush=True)
"""


@pytest.mark.slow  # a child process
def test_inspect_reads_a_store_another_process_holds_open(tmp_path: Path) -> None:
    path = tmp_path / "jobs.db"
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    child = subprocess.Popen(
        [sys.executable, "-c", CHILD, str(path)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        env=env,
    )
    try:
        assert child.stdout is not None and child.stdin is not None
        assert child.stdout.readline() == "ready\n"
        inspect = [sys.executable, "-m", "jobqueue", "inspect", str(path)]
        before = digest(path)
        done = subprocess.run(
            [*inspect, "jobs", "--json", "--limit", "1000"],
            capture_output=True,
            text=True,
            env=env,
            timeout=60,
        )
        assert (done.returncode, done.stderr) == (0, "")
        assert len(json.loads(done.stdout)["jobs"]) == 50
        assert digest(path) == before
        child.stdin.write("go\n")
        child.stdin.flush()
        assert child.stdout.readline() == "closed\n"  # the owner could write after the read
    finally:
        child.kill()
        child.wait(timeout=60)
    done = subprocess.run(
        [*inspect, "show", "job-51"], capture_output=True, text=True, env=env, timeout=60
    )
    assert done.stdout.splitlines()[0] == "job-51 (last): Active"


def test_show_gives_the_pending_reason_of_a_job_its_controls_hold(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    path = tmp_path / "jobs.db"
    store = SQLiteStore(path)
    clock = ManualClock()
    sched = Scheduler.open(store, clock)
    first = sched.submit(name="first")
    sched.submit(name="later", not_before=100.0)
    sched.submit(name="waits", after=[first.id])
    # The controls are journaled: the read model holds these jobs as the owner does.
    expected = {job_id: sched.pending_reason(job_id) for job_id in ("job-2", "job-3")}
    store.close()
    for job_id, reason in expected.items():
        assert reason is not None
        code, out, _ = run(capsys, path, "show", job_id)
        assert code == 0
        assert f"  pending: {reason.message}" in out.splitlines()
        code, out, _ = run(capsys, path, "show", job_id, "--json")
        data = json.loads(out)
        assert data["pending_reason"]["code"] == reason.code
        assert data["pending_reason"]["message"] == reason.message
    assert expected["job-2"] is not None and expected["job-2"].until == 100.0
    code, out, _ = run(capsys, path, "show", "job-2")
    assert "; not before 100s" in out
    code, out, _ = run(capsys, path, "show", "job-3", "--json")
    assert json.loads(out)["after"] == [{"job_id": "job-1", "on": "ok"}]
    assert json.loads(out)["pending_reason"]["jobs"] == ["job-1"]


def test_a_damaged_field_is_the_one_line_error_opening_gives_and_exit_2(
    capsys: pytest.CaptureFixture[str], store_path: Path
) -> None:
    conn = sqlite3.connect(store_path)
    (blob,) = conn.execute("SELECT entry FROM journal WHERE number = 3").fetchone()
    entry = pickle.loads(blob)
    job_op = next(op for op in entry[1:] if op[0] == "j")
    job_op[2] = "Sleeping"  # no such status
    conn.execute("UPDATE journal SET entry = ? WHERE number = 3", (pickle.dumps(entry),))
    conn.commit()
    conn.close()
    before = digest(store_path)
    with pytest.raises(CorruptStoreError) as refused:
        Scheduler.open(SQLiteStore(store_path), ManualClock(1e6))
    assert str(refused.value).startswith("store is damaged: journal entry 3: ")
    for command in ("jobs", "queues"):
        assert run(capsys, store_path, command) == (2, "", f"error: {refused.value}\n")
    # The database is not written (a reader may leave SQLite's empty -wal beside it).
    assert digest(store_path)[store_path.name] == before[store_path.name]


def test_an_entry_that_is_not_bytes_is_damage(
    capsys: pytest.CaptureFixture[str], store_path: Path
) -> None:
    conn = sqlite3.connect(store_path)
    conn.execute("UPDATE journal SET entry = 5 WHERE number = 3")
    conn.commit()
    conn.close()
    message = (
        f"error: store {str(store_path)!r} is damaged: ValueError: an entry must be bytes, got int"
    )
    assert run(capsys, store_path, "jobs") == (2, "", message + "\n")


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no FIFOs on this platform")
def test_a_fifo_is_refused_without_blocking(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    path = tmp_path / "jobs.db"
    os.mkfifo(path)
    codes: list[int] = []
    thread = threading.Thread(target=lambda: codes.append(main(["inspect", str(path), "jobs"])))
    thread.start()
    thread.join(timeout=10.0)
    if thread.is_alive():
        with open(path, "wb"):  # unblocks the reader, so the test run can end
            pass
        pytest.fail("inspect blocked on a fifo")
    _, err = capsys.readouterr()
    assert codes == [2]
    assert err == f"error: cannot open store {str(path)!r}: it is a fifo, not a regular file\n"
