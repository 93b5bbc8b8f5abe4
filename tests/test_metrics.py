"""``jobqueue.metrics``: OpenTelemetry names, units and values after a known sequence of calls."""

from __future__ import annotations

import importlib
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from opentelemetry.metrics import Meter
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import (
    HistogramDataPoint,
    InMemoryMetricReader,
    NumberDataPoint,
)

from jobqueue import HopRule, ManualClock, Retry, Scheduler, ValidationError
from jobqueue.metrics import instrument

ROOT = Path(__file__).resolve().parent.parent


Otel = tuple[Meter, InMemoryMetricReader]


@pytest.fixture
def otel() -> Iterator[Otel]:
    """A meter and the in-memory reader that collects what it records."""
    reader = InMemoryMetricReader()
    provider = MeterProvider(metric_readers=[reader])
    yield provider.get_meter("jobqueue"), reader
    provider.shutdown()


def collect(reader: InMemoryMetricReader) -> dict[str, Any]:
    """Every metric by name: ``{"unit", "points": {(attributes...): value}}``.

    A histogram's value is ``(count, sum)``; the others' is the number.
    """
    data = reader.get_metrics_data()
    assert data is not None
    out: dict[str, Any] = {}
    for resource in data.resource_metrics:
        for scope in resource.scope_metrics:
            for metric in scope.metrics:
                points = {}
                for p in metric.data.data_points:
                    key = tuple(sorted(p.attributes.items())) if p.attributes else ()
                    if isinstance(p, HistogramDataPoint):
                        value: object = (p.count, p.sum)
                    else:
                        assert isinstance(p, NumberDataPoint)
                        value = p.value
                    points[key] = value
                out[metric.name] = {"unit": metric.unit, "points": points}
    return out


def q(name: str) -> tuple[tuple[str, str], ...]:
    return (("queue", name),)


def test_metrics_after_a_known_sequence(otel: Otel) -> None:
    meter, reader = otel
    clock = ManualClock()
    sched = Scheduler(clock=clock)
    sched.create_queue("hi", slots=1, policy="priority", preemption=True)
    sched.create_queue("spill", slots=5)
    instrument(sched, meter)

    low = sched.submit(queue="hi", priority=1)  # t=0: starts at once, waited 0 s
    clock.advance(10.0)
    sched.submit(queue="hi", priority=1, hops=[HopRule("spill", 60.0)])  # t=10: waits
    clock.advance(10.0)
    urgent = sched.submit(queue="hi", priority=9)  # t=20: preempts low, starts (waited 0 s)
    clock.advance(30.0)
    sched.complete(urgent.id)  # t=50: low resumes after 30 s in line
    clock.advance(20.0)
    sched.poll()  # t=70: job-2 hops to spill after 60 s and starts there
    clock.advance(10.0)
    sched.complete(low.id)  # t=80: ran 20 + 30 = 50 s
    sched.fail("job-2", "boom")  # t=80: ran 10 s in spill
    flaky = sched.submit(queue="spill", retry=Retry(attempts=2, backoff=5.0, jitter=0.0))
    clock.advance(4.0)
    sched.fail(flaky.id, "flaky")  # t=84: retry at 89
    clock.advance(5.0)
    sched.poll()  # t=89: attempt 2 starts, waited 0 s after the backoff
    gone = sched.submit(queue="spill", not_before=1000.0)
    sched.cancel(gone.id)
    sched.pause_queue("spill")

    metrics = collect(reader)
    counts = {name: m["points"] for name, m in metrics.items() if name.startswith("jobqueue.jobs")}
    assert counts == {
        "jobqueue.jobs.submitted": {q("hi"): 3, q("spill"): 2},
        "jobqueue.jobs.started": {q("hi"): 3, q("spill"): 3},
        "jobqueue.jobs.completed": {q("hi"): 2},
        "jobqueue.jobs.failed": {q("spill"): 1},
        "jobqueue.jobs.cancelled": {q("spill"): 1},
        "jobqueue.jobs.preempted": {q("hi"): 1},
        "jobqueue.jobs.retries": {q("spill"): 1},
    }
    assert metrics["jobqueue.hops"]["points"] == {(("destination", "spill"), ("queue", "hi")): 1}
    # Waits, per start: hi 0 (low), 0 (urgent), 30 (low resumes); spill 60 (job-2
    # waited in hi, started after its hop), 0 (flaky), 0 (flaky after the backoff).
    assert metrics["jobqueue.job.wait.duration"]["points"] == {
        q("hi"): (3, 30.0),
        q("spill"): (3, 60.0),
    }
    # Run times of finished jobs: urgent 30, low 50; job-2 10 (the cancelled job never ran).
    assert metrics["jobqueue.job.run.duration"]["points"] == {
        q("hi"): (2, 80.0),
        q("spill"): (1, 10.0),
    }
    gauges = {name: m["points"] for name, m in metrics.items() if name.startswith("jobqueue.queue")}
    assert gauges == {
        "jobqueue.queue.running": {q("default"): 0, q("hi"): 0, q("spill"): 1},
        "jobqueue.queue.waiting": {q("default"): 0, q("hi"): 0, q("spill"): 0},
        "jobqueue.queue.preempted": {q("default"): 0, q("hi"): 0, q("spill"): 0},
        "jobqueue.queue.slots": {q("default"): 100, q("hi"): 1, q("spill"): 5},
        "jobqueue.queue.paused": {q("default"): 0, q("hi"): 0, q("spill"): 1},
    }


def test_gauges_follow_the_queues(otel: Otel) -> None:
    meter, reader = otel
    sched = Scheduler(clock=ManualClock())
    sched.create_queue("small", slots=2, deferred_share=1.0)
    metrics = instrument(sched, meter)
    for _ in range(5):
        sched.submit(queue="small")
    sched.update_queue("small", slots=3)
    sched.create_queue("later", slots=7)

    def points(name: str) -> dict[Any, Any]:
        return dict(collect(reader).get(name, {"points": {}})["points"])

    assert points("jobqueue.queue.running") == {q("default"): 0, q("small"): 3, q("later"): 0}
    assert points("jobqueue.queue.waiting") == {q("default"): 0, q("small"): 2, q("later"): 0}
    sched.delete_queue("later")
    assert points("jobqueue.queue.slots") == {q("default"): 100, q("small"): 3}
    metrics.close()
    metrics.close()
    sched.submit(queue="small")
    assert points("jobqueue.queue.slots") == {}
    assert points("jobqueue.jobs.submitted") == {q("small"): 5}  # nothing after close()


def test_every_metric_follows_the_naming_rules(otel: Otel) -> None:
    meter, reader = otel
    sched = Scheduler(clock=ManualClock())
    instrument(sched, meter)
    job = sched.submit(retry=Retry(attempts=2, backoff=1.0, jitter=0.0))
    sched.fail(job.id, "x")
    sched.clock.advance(1.0)  # type: ignore[attr-defined]
    sched.poll()
    sched.create_queue("b", slots=1, policy="priority", preemption=True)
    sched.submit(queue="b", hops=[HopRule("default", 1.0)])
    sched.submit(queue="b", hops=[HopRule("default", 1.0)])
    sched.submit(queue="b", priority=5)
    sched.clock.advance(1.0)  # type: ignore[attr-defined]
    sched.poll()
    sched.complete(job.id)
    sched.cancel("job-2")
    metrics = collect(reader)
    units = {name: m["unit"] for name, m in metrics.items()}
    assert units == {
        "jobqueue.jobs.submitted": "{job}",
        "jobqueue.jobs.started": "{job}",
        "jobqueue.jobs.completed": "{job}",
        "jobqueue.jobs.cancelled": "{job}",
        "jobqueue.jobs.preempted": "{job}",
        "jobqueue.jobs.retries": "{retry}",
        "jobqueue.hops": "{hop}",
        "jobqueue.job.wait.duration": "s",
        "jobqueue.job.run.duration": "s",
        "jobqueue.queue.running": "{job}",
        "jobqueue.queue.waiting": "{job}",
        "jobqueue.queue.preempted": "{job}",
        "jobqueue.queue.slots": "{slot}",
        "jobqueue.queue.paused": "1",
    }
    for name, metric in metrics.items():
        # OpenTelemetry: lowercase, dot-separated namespaces, no unit in the name.
        assert re.fullmatch(r"jobqueue(\.[a-z][a-z_]*)+", name), name
        assert not re.search(r"(seconds|_total|count)$", name), name
        for attributes in metric["points"]:
            assert dict(attributes)["queue"] in {"default", "b"}


def test_instrument_takes_in_the_jobs_a_scheduler_already_has(otel: Otel) -> None:
    meter, reader = otel
    clock = ManualClock()
    sched = Scheduler(clock=clock)
    sched.create_queue("one", slots=1)
    first = sched.submit(queue="one")
    sched.submit(queue="one")  # waits from t=0
    clock.advance(25.0)
    instrument(sched, meter)
    sched.complete(first.id)  # the second starts: it waited 25 s, from before instrument()
    metrics = collect(reader)
    assert metrics["jobqueue.job.wait.duration"]["points"] == {q("one"): (1, 25.0)}
    assert metrics["jobqueue.jobs.completed"]["points"] == {q("one"): 1}


def test_instrument_checks_its_scheduler(otel: Otel) -> None:
    meter, _ = otel
    with pytest.raises(ValidationError, match=r"^scheduler must be a Scheduler, got str$"):
        instrument("sched", meter)  # type: ignore[arg-type]


def test_jobqueue_metrics_without_opentelemetry_names_the_extra(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setitem(sys.modules, "opentelemetry", None)
    monkeypatch.setitem(sys.modules, "opentelemetry.metrics", None)
    monkeypatch.delitem(sys.modules, "jobqueue.metrics")
    with pytest.raises(ImportError) as info:
        importlib.import_module("jobqueue.metrics")
    assert str(info.value) == (
        "jobqueue.metrics needs opentelemetry-api: pip install 'jobqueue[otel]'"
    )


@pytest.mark.slow  # a fresh interpreter
def test_import_jobqueue_imports_no_opentelemetry() -> None:
    code = (
        "import sys, jobqueue, jobqueue.sim, jobqueue.store, jobqueue.runtime\n"
        "from jobqueue.__main__ import main\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] == 'opentelemetry'))"
    )
    done = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        env={"PYTHONPATH": str(ROOT / "src")},
        timeout=60,
    )
    assert (done.returncode, done.stdout, done.stderr) == (0, "[]\n", "")
