"""``python -m jobqueue demo``: the scenario runs, the report has its sections, JSON parses."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from jobqueue.__main__ import main
from jobqueue.sim import JobSpec, QueueAction, QueueSpec, Workload, save_workload

SECTIONS = (
    "Queues",
    "Waits (total time Ready or Paused",
    "Hops and preemptions",
    "Jobs with tasks",
    "Billed on-demand time, by billing tags (usage_report)",
    "Slot use over time",
)


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_demo_prints_the_report(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(capsys, "demo")
    assert (code, err) == (0, "")
    assert out.startswith("jobqueue demo: 1251 jobs, ")
    lines = out.splitlines()
    for section in SECTIONS:
        assert any(line.startswith(section) for line in lines), section
    table = lines[lines.index("Queues") + 3 : lines.index("Queues") + 6]
    assert [row.split()[:3] for row in table] == [
        ["reserved", "priority+preemption", "reserved"],
        ["on-demand", "fifo", "on_demand"],
        ["batch", "fifo", "on_demand"],
    ]
    assert "  reserved -> on-demand: " in out
    assert re.search(r"  \d+ preemptions \(\d+ in reserved\)", out)
    assert re.search(
        r"  nightly-reindex: complete, 3000 tasks ran \(\d+ succeeded, \d+ failed\)", out
    )
    assert re.search(
        r"  log-scrub: failed, 1000 tasks ran .*: TaskFailureThreshold: \d+ of 1000 tasks failed",
        out,
    )
    assert re.search(r"  team=transcode: .* s\)", out)  # hopped jobs billed on-demand
    assert "  total: " in out
    # The timeline: one row per queue, and the maintenance pause marked under on-demand.
    timeline = lines[next(i for i, line in enumerate(lines) if line.startswith("Slot use")) + 1 :]
    assert [row.split()[0] for row in timeline[:4]] == [
        "reserved",
        "on-demand",
        "paused",
        "batch",
    ]
    assert len(timeline[0].split("|")[1]) == 64
    assert "^" in timeline[2]


def test_demo_json(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "demo", "--json", "--buckets", "10")
    assert code == 0
    data = json.loads(out)
    assert set(data) == {
        "schema_version",
        "units",
        "scenario",
        "seed",
        "start",
        "end",
        "makespan",
        "jobs_total",
        "queues",
        "hop_routes",
        "usage",
        "jobs",
        "timeline",
    }
    assert (data["seed"], data["jobs_total"], len(data["jobs"])) == (7, 1251, 1251)
    assert [q["name"] for q in data["queues"]] == ["reserved", "on-demand", "batch"]
    assert set(data["queues"][0]) >= {
        "wait_p50",
        "wait_p90",
        "wait_p99",
        "utilisation",
        "throughput",
        "hops_out",
        "preemptions",
    }
    assert data["queues"][0]["preemptions"] > 0
    assert data["hop_routes"][0]["source"] == "reserved"
    assert {tuple(row["tags"]) for row in data["usage"]} == {("team",)}
    assert data["timeline"]["buckets"] == 10
    assert [len(v) for v in data["timeline"]["queues"].values()] == [10, 10, 10]
    log_scrub = next(j for j in data["jobs"] if j["name"] == "log-scrub")
    assert (log_scrub["outcome"], log_scrub["tasks_succeeded"] + log_scrub["tasks_failed"]) == (
        "failed",
        1000,
    )


def test_demo_is_deterministic(capsys: pytest.CaptureFixture[str]) -> None:
    first = run(capsys, "demo", "--json", "--seed", "3")[1]
    again = run(capsys, "demo", "--json", "--seed", "3")[1]
    other = run(capsys, "demo", "--json", "--seed", "4")[1]
    assert first == again
    assert first != other


def small_workload() -> Workload:
    return Workload(
        [
            JobSpec(0.0, 60.0, queue="fast", priority=1, name="first"),
            JobSpec(10.0, 30.0, queue="fast", priority=5),
            JobSpec(20.0, 5.0, tasks=10, task_failure_rate=0.5),
        ],
        [QueueSpec("fast", slots=1, policy="priority", preemption=True, deferred_share=1.0)],
        [QueueAction(50.0, "default", "pause"), QueueAction(55.0, "default", "resume")],
    )


def test_demo_runs_a_json_workload_file(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    path = tmp_path / "w.json"
    save_workload(small_workload(), path)
    code, out, err = run(capsys, "demo", "--workload", str(path))
    assert (code, err) == (0, "")
    assert out.startswith(f"workload {path}: 3 jobs, 1m 30s of virtual time")
    assert "  1 preemption (1 in fast); 1 job was preempted" in out
    assert "  most preempted: first, 1 time, waited 30s in all" in out
    assert "  job #2: complete, 10 tasks ran (" in out
    code, out, _ = run(capsys, "demo", "--workload", str(path), "--json")
    assert json.loads(out)["jobs"][0]["finish"] == 90.0


def test_demo_runs_a_csv_workload_with_queues(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    jobs = tmp_path / "jobs.csv"
    jobs.write_text("arrival,duration,queue,priority\n0,60,fast,1\n10,30,fast,5\n")
    queues = tmp_path / "queues.json"
    queues.write_text(json.dumps({"queues": [{"name": "fast", "slots": 1}]}))
    code, out, _ = run(capsys, "demo", "--workload", str(jobs), "--queues", str(queues), "--json")
    assert code == 0
    assert [(j["first_start"], j["finish"]) for j in json.loads(out)["jobs"]] == [
        (0.0, 60.0),
        (60.0, 90.0),
    ]


def test_demo_reports_bad_workloads(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    path = tmp_path / "jobs.csv"
    path.write_text("arrival,duration\n0,-5\n")
    assert run(capsys, "demo", "--workload", str(path)) == (
        1,
        "",
        f"error: {path}, line 2: duration must be a finite number >= 0, got -5.0\n",
    )
    queues = tmp_path / "q.json"
    queues.write_text('{"jobs": [{"arrival": 0, "duration": 1}]}')
    path.write_text("arrival,duration\n0,5\n")
    assert run(capsys, "demo", "--workload", str(path), "--queues", str(queues)) == (
        1,
        "",
        f"error: {queues}: a --queues file holds no jobs\n",
    )


def test_help(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as info:
        main(["--help"])
    assert info.value.code == 0
    out = capsys.readouterr().out
    assert "python -m jobqueue demo --workload jobs.csv --queues queues.json" in out
    with pytest.raises(SystemExit):
        main(["demo", "--help"])
    out = capsys.readouterr().out
    assert "--workload FILE" in out and "workload files" in out
    assert main([]) == 2
    assert capsys.readouterr().out.startswith("usage: python -m jobqueue")
