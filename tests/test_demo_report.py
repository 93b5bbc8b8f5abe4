"""The demo's text report: a time axis that never collides, the paused row at every
resolution, counted nouns, and JSON with units and a schema version."""

from __future__ import annotations

import io
import itertools
import json
import re
from pathlib import Path

import pytest

from jobqueue import HopRule
from jobqueue.__main__ import main
from jobqueue._demo import axis_labels, demo_workload, render_report, report_dict, run_demo
from jobqueue.sim import JobSpec, QueueAction, QueueSpec, SimResult, Simulation, Workload


def timeline(report: str) -> list[str]:
    lines = report.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("Slot use over time"))
    return lines[start + 1 :]


def labels_of(axis: str, indent: int) -> list[tuple[int, str]]:
    return [(m.start() - indent, m.group()) for m in re.finditer(r"\S+", axis)]


@pytest.mark.parametrize("makespan", [0.02, 0.9, 7.0, 90.0, 3599.0, 8 * 3600.0, 40 * 3600.0])
def test_axis_labels_never_touch_and_never_repeat(makespan: float) -> None:
    for buckets in range(1, 201):
        labels = axis_labels(0.0, makespan / buckets, buckets)
        assert labels[0][0] == 0, buckets
        texts = [text for _, text in labels]
        assert len(set(texts)) == len(texts), (buckets, texts)  # no two read the same
        for (col, text), (nxt, _) in itertools.pairwise(labels):
            assert col + len(text) < nxt, (buckets, labels)  # one blank at least
        if len(labels) > 1:
            col, text = labels[-1]
            assert col + len(text) == buckets  # the last ends at the right edge


def test_short_runs_are_labelled_in_seconds() -> None:
    assert [t for _, t in axis_labels(0.0, 90.0 / 64, 64)] == [
        "00:00:00",
        "00:00:19",
        "00:00:39",
        "00:00:59",
        "00:01:18",
    ]
    assert [t for _, t in axis_labels(0.0, 0.5 / 40, 40)] == [
        "0.0s",
        "0.1s",
        "0.2s",
        "0.3s",
        "0.4s",
    ]
    assert [t for _, t in axis_labels(3600.0, 200.0 / 64, 64)][:2] == ["01:00:00", "01:00:43"]
    assert [t for _, t in axis_labels(3600.0, 300.0 / 64, 64)][:2] == ["01:00", "01:01"]


@pytest.fixture(scope="module")
def demo() -> tuple[Simulation, SimResult]:
    return run_demo(demo_workload(7), 7)


@pytest.mark.parametrize("buckets", [*range(1, 41), 63, 64, 65, 100, 150])
def test_the_demo_timeline_at_any_resolution(
    demo: tuple[Simulation, SimResult], buckets: int
) -> None:
    sim, result = demo
    rows = timeline(render_report(sim, result, title="t", buckets=buckets))
    assert [r.split()[0] for r in rows[:4]] == ["reserved", "on-demand", "paused", "batch"]
    width = len("on-demand")
    paused = rows[2][width + 2 :]
    step = result.makespan / buckets
    # The maintenance window, 04:00-04:30: marked in every column it touches, and only there.
    expected = "".join(
        "^" if b * step < 4.5 * 3600 and (b + 1) * step > 4 * 3600 else " " for b in range(buckets)
    ).rstrip()
    assert paused == expected
    assert "^" in paused
    axis = rows[4]
    labels = labels_of(axis, width + 2)
    assert labels[0] == (0, "00:00")
    for (col, text), (nxt, _) in itertools.pairwise(labels):
        assert col + len(text) < nxt


def one_of_each() -> Workload:
    """One hop, one preemption, one job with one task."""
    return Workload(
        [
            JobSpec(0.0, 60.0, queue="fast", priority=1, name="first"),
            JobSpec(10.0, 30.0, queue="fast", priority=5),
            JobSpec(11.0, 5.0, queue="fast", priority=1, hops=[HopRule("default", 5.0)]),
            JobSpec(20.0, 5.0, tasks=1),
        ],
        [QueueSpec("fast", slots=1, policy="priority", preemption=True, deferred_share=1.0)],
    )


def test_counted_nouns_agree_with_their_number() -> None:
    sim = Simulation(one_of_each(), seed=1, record_segments=True)
    result = sim.run()
    text = render_report(sim, result, title="t")
    assert "  fast -> default: 1 hop" in text
    assert "  1 job hopped at least once" in text
    assert "  1 preemption (1 in fast); 1 job was preempted" in text
    assert "  most preempted: first, 1 time, waited 30s in all" in text
    assert "  job #3: complete, 1 task ran (1 succeeded, 0 failed)" in text
    assert not re.search(r"\b1 (hops|jobs|preemptions|times|tasks)\b", text)


def test_json_has_units_and_a_schema_version(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    workload = Workload(
        [JobSpec(0.0, 60.0), JobSpec(5.0, 30.0)],
        [],
        [QueueAction(20.0, "default", "pause"), QueueAction(30.0, "default", "resume")],
    )
    result = Simulation(workload, seed=1, record_segments=True).run()
    data = report_dict(result, title="t", buckets=6)
    assert data["schema_version"] == 1
    assert data["units"]["makespan"] == "s"
    assert data["units"]["utilisation"] == "1"
    for queue_field in data["queues"][0]:
        if queue_field.startswith("wait") or queue_field == "busy_seconds":
            assert data["units"][queue_field] == "s"
    assert data["timeline"]["step"] == 10.0
    assert data["timeline"]["paused"] == {"default": [[20.0, 30.0]]}
    path = tmp_path / "w.json"
    path.write_text(json.dumps({"jobs": [{"arrival": 0, "duration": 1}]}))
    assert main(["demo", "--workload", str(path), "--json"]) == 0
    assert json.load(io.StringIO(capsys.readouterr().out))["schema_version"] == 1


def test_a_workload_naming_an_unknown_queue_gets_the_hint_to_pass_queues(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    jobs = tmp_path / "jobs.csv"
    jobs.write_text("arrival,duration,queue\n0,5,main\n")
    assert main(["demo", "--workload", str(jobs)]) == 1
    assert capsys.readouterr().err == (
        f"error: {jobs}: jobs[0].queue: unknown queue 'main'; a CSV workload holds jobs only: "
        "give its queues with --queues FILE (see --help)\n"
    )
    whole = tmp_path / "w.json"
    whole.write_text(json.dumps({"jobs": [{"arrival": 0, "duration": 1, "queue": "main"}]}))
    assert main(["demo", "--workload", str(whole)]) == 1
    assert capsys.readouterr().err.endswith(
        "unknown queue 'main'; define it under \"queues\" in the workload, "
        "or give queues with --queues FILE\n"
    )
    queues = tmp_path / "q.json"
    queues.write_text(json.dumps({"queues": [{"name": "other"}]}))
    assert main(["demo", "--workload", str(jobs), "--queues", str(queues)]) == 1
    assert capsys.readouterr().err.endswith("unknown queue 'main'\n")  # no hint: it did pass them
