"""The ``python -m jobqueue demo`` scenario and the report it prints.

The scenario is one working day of a media pipeline in virtual time: a
reserved, preemptive priority queue that overflows into an on-demand queue by
hop rules; an urgent burst that preempts low-priority work; two batch jobs
with thousands of tasks, one of which fails on the task-failure threshold;
and a maintenance window that pauses the on-demand queue for half an hour.
The same report renders any workload (``--workload FILE``).
"""

from __future__ import annotations

import math
import random
import sys
import time
from collections.abc import Sequence
from typing import Any, TextIO

from ._model import HopRule
from .sim import (
    JobSpec,
    Outcome,
    QueueAction,
    QueueSpec,
    SimResult,
    Simulation,
    Workload,
    occupancy,
    poisson_jobs,
)
from .sim._result import paused_spans

__all__ = ["demo_workload", "render_report", "run_demo"]

HOUR = 3600.0
MINUTE = 60.0

SCENARIO = (
    "One working day of a media pipeline, in virtual time.",
    "  reserved   12 slots, priority with preemption, prepaid; waiting jobs hop to",
    "             on-demand after 10 minutes",
    "  on-demand  24 slots, FIFO, billed; paused for maintenance 04:00-04:30",
    "  batch      2 slots, FIFO, billed; two jobs of thousands of tasks, some failing",
    "  An urgent burst of priority-10 jobs at 03:00 preempts low-priority work.",
    "  Billing tags come from the submission queue: team=transcode (reserved),",
    "  team=clips (on-demand), team=data (batch).",
)


def demo_workload(seed: int) -> Workload:
    """The demo's workload; ``seed`` fixes arrivals, durations and priorities."""
    rng = random.Random(seed)
    day = 8 * HOUR
    mean_transcode = 10 * MINUTE
    # Offered load ~1.1 on the reserved queue: it overflows at busy times.
    transcode_rate = 1.1 * 12 / mean_transcode
    transcodes = poisson_jobs(
        int(day * transcode_rate),
        rate=transcode_rate,
        rng=rng,
        mean_duration=mean_transcode,
        priorities={1: 6, 5: 3, 9: 1},
        queue="reserved",
        hops=[HopRule("on-demand", 10 * MINUTE)],
        name_prefix="transcode-",
    )
    clips = poisson_jobs(
        int(day * 0.02),
        rate=0.02,
        rng=rng,
        mean_duration=5 * MINUTE,
        queue="on-demand",
        name_prefix="clip-",
    )
    burst = poisson_jobs(
        40,
        rate=40 / (10 * MINUTE),
        rng=rng,
        mean_duration=5 * MINUTE,
        durations="fixed",
        priorities={10: 1},
        start=3 * HOUR,
        queue="reserved",
        name_prefix="urgent-",
    )
    batch = (
        JobSpec(
            10 * MINUTE,
            2 * HOUR,
            queue="batch",
            tasks=3000,
            task_failure_rate=0.04,
            name="nightly-reindex",
        ),
        JobSpec(
            15 * MINUTE,
            HOUR,
            queue="batch",
            tasks=2000,
            task_failure_rate=0.6,
            name="log-scrub",
        ),
    )
    queues = (
        QueueSpec(
            "reserved",
            slots=12,
            policy="priority",
            preemption=True,
            deferred_share=1.0,
            pricing="reserved",
            tags={"team": "transcode"},
        ),
        QueueSpec("on-demand", slots=24, deferred_share=1.0, tags={"team": "clips"}),
        QueueSpec("batch", slots=2, deferred_share=1.0, tags={"team": "data"}),
    )
    actions = (
        QueueAction(4 * HOUR, "on-demand", "pause"),
        QueueAction(4.5 * HOUR, "on-demand", "resume"),
    )
    return Workload((*transcodes, *clips, *burst, *batch), queues, actions)


def run_demo(workload: Workload, seed: int, *, check: bool = False) -> tuple[Simulation, SimResult]:
    """Simulate ``workload``, keeping the segments the timeline needs."""
    sim = Simulation(workload, seed=seed, record_segments=True, check_invariants=check)
    return sim, sim.run()


# ---------------------------------------------------------------------- text report


def _duration(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    if seconds < 10:
        return f"{seconds:.2f}s"
    if seconds < MINUTE:
        return f"{seconds:.0f}s"
    if seconds < HOUR:
        minutes, secs = divmod(round(seconds), 60)
        return f"{minutes}m {secs:02d}s"
    hours, rest = divmod(round(seconds / MINUTE), 60)
    return f"{hours}h {rest:02d}m"


def _clock_time(seconds: float) -> str:
    minutes = round(seconds / MINUTE)
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


def _table(headers: Sequence[str], rows: Sequence[Sequence[str]], text: int = 1) -> list[str]:
    """Columns aligned; the first ``text`` columns to the left, numbers to the right."""
    widths = [max(len(h), *(len(r[c]) for r in rows)) for c, h in enumerate(headers)]

    def line(cells: Sequence[str]) -> str:
        return "  ".join(
            cell.ljust(w) if c < text else cell.rjust(w)
            for c, (cell, w) in enumerate(zip(cells, widths, strict=True))
        ).rstrip()

    return [line(headers), line(["-" * w for w in widths]), *(line(r) for r in rows)]


def _ramp(stream: TextIO) -> str:
    blocks = " ▁▂▃▄▅▆▇█"
    try:
        blocks.encode(getattr(stream, "encoding", None) or "ascii")
    except (LookupError, UnicodeEncodeError):
        return " .:-=+*#%@"[:9]
    return blocks


def render_report(
    sim: Simulation,
    result: SimResult,
    *,
    title: str,
    description: Sequence[str] = (),
    wall_seconds: float | None = None,
    buckets: int = 64,
    stream: TextIO | None = None,
) -> str:
    """The readable report: queues, waits, hops, preemptions, tasks, billing, timeline.

    Args:
        sim: the simulation that ran (for failure reasons).
        result: its result.
        title: the first words of the report.
        description: lines printed under the title.
        wall_seconds: how long the run took, if it should be shown.
        buckets: columns of the timeline.
        stream: where the report goes; block characters are used if its
            encoding has them (else ASCII).
    """
    span = f"{_duration(result.makespan)} of virtual time"
    ran = "" if wall_seconds is None else f", simulated in {wall_seconds:.2f} s"
    out = [f"{title}: {len(result.jobs)} jobs, {span}{ran} (seed {result.seed})", ""]
    if description:
        out += [*description, ""]
    out += _queue_table(result)
    out += ["", *_wait_table(result)]
    out += ["", *_hops_and_preemptions(result)]
    out += _task_jobs(sim, result)
    out += ["", *_billing(result)]
    if result.segments is not None and result.makespan > 0:
        out += ["", *_timeline(result, buckets, _ramp(stream or sys.stdout))]
    return "\n".join(out) + "\n"


def _queue_table(result: SimResult) -> list[str]:
    headers = [
        "queue",
        "policy",
        "pricing",
        "slots",
        "submitted",
        "completed",
        "failed",
        "rejected",
        "unfinished",
        "util",
        "jobs/h",
        "hops in/out",
        "preempted",
    ]
    rows = [
        [
            q.name,
            q.policy,
            q.pricing,
            str(q.slots),
            str(q.submitted),
            str(q.completed),
            str(q.failed),
            str(q.rejected),
            str(q.unfinished),
            f"{q.utilisation:.0%}",
            f"{q.throughput * HOUR:.1f}",
            f"{q.hops_in}/{q.hops_out}",
            str(q.preemptions),
        ]
        for q in result.queues
    ]
    return ["Queues", *_table(headers, rows, text=3)]


def _wait_table(result: SimResult) -> list[str]:
    finished: dict[str, int] = {}
    for job in result.jobs:
        if job.outcome in (Outcome.COMPLETE, Outcome.FAILED):
            finished[job.queue] = finished.get(job.queue, 0) + 1
    rows = [
        [
            q.name,
            str(finished.get(q.name, 0)),
            _duration(q.wait_mean),
            _duration(q.wait_p50),
            _duration(q.wait_p90),
            _duration(q.wait_p99),
            _duration(q.wait_max),
        ]
        for q in result.queues
    ]
    return [
        "Waits (total time Ready or Paused, finished jobs by submission queue; nearest rank)",
        *_table(["queue", "jobs", "mean", "p50", "p90", "p99", "max"], rows),
    ]


def _hops_and_preemptions(result: SimResult) -> list[str]:
    out = ["Hops and preemptions"]
    if result.hop_routes:
        for route in result.hop_routes:
            out.append(f"  {route.source} -> {route.destination}: {route.hops} hops")
        hopped = sum(1 for j in result.jobs if j.hops)
        out.append(f"  {hopped} jobs hopped at least once")
    else:
        out.append("  no job hopped")
    preempted = [j for j in result.jobs if j.preemptions]
    if not preempted:
        return [*out, "  no job was preempted"]
    total = sum(j.preemptions for j in preempted)
    where = ", ".join(f"{q.preemptions} in {q.name}" for q in result.queues if q.preemptions)
    worst = max(preempted, key=lambda j: (j.preemptions, -j.index))
    return [
        *out,
        f"  {total} preemptions ({where}); {len(preempted)} jobs were preempted",
        f"  most preempted: {_label(worst.index, worst.name)}, "
        f"{worst.preemptions} times, waited {_duration(worst.wait)} in all",
    ]


def _task_jobs(sim: Simulation, result: SimResult, limit: int = 10) -> list[str]:
    with_tasks = [j for j in result.jobs if j.tasks_succeeded or j.tasks_failed]
    if not with_tasks:
        return []
    out = ["", "Jobs with tasks"]
    for j in with_tasks[:limit]:
        line = (
            f"  {_label(j.index, j.name)}: {j.outcome}, {j.tasks_succeeded + j.tasks_failed} "
            f"tasks ran ({j.tasks_succeeded} succeeded, {j.tasks_failed} failed)"
        )
        job_id = sim.job_id(j.index)
        if j.outcome is Outcome.FAILED and job_id is not None:
            reasons = sim.scheduler.get(job_id).failure_reasons
            if reasons:
                line += f": {reasons[0].code}: {reasons[0].message}"
        out.append(line)
    if len(with_tasks) > limit:
        out.append(f"  ... and {len(with_tasks) - limit} more")
    return out


def _billing(result: SimResult) -> list[str]:
    out = ["Billed on-demand time, by billing tags (usage_report)"]
    if not result.usage:
        return [*out, "  nothing ran in an on-demand queue"]
    for row in result.usage:
        tags = ", ".join(f"{k}={v}" for k, v in sorted(row.tags.items())) or "(no tags)"
        out.append(f"  {tags}: {_duration(row.seconds)} ({row.seconds:,.0f} s)")
    total = math.fsum(row.seconds for row in result.usage)
    return [*out, f"  total: {_duration(total)} ({total:,.0f} s)"]


def _label(index: int, name: str | None) -> str:
    return name if name is not None else f"job #{index}"


def _timeline(result: SimResult, buckets: int, ramp: str) -> list[str]:
    use = occupancy(result, buckets)
    paused = paused_spans(result.workload, result.end)
    step = result.makespan / buckets
    width = max(len(name) for name in use)
    lines = [
        f"Slot use over time (one column = {_duration(step)}; "
        f"'{ramp[1]}' little ... '{ramp[-1]}' all slots busy; '^' paused)"
    ]
    for name, row in use.items():
        cells = "".join(
            ramp[0] if v <= 0 else ramp[max(1, math.ceil(v * (len(ramp) - 1)))] for v in row
        )
        lines.append(f"{name.ljust(width)} |{cells}|")
        spans = paused.get(name)
        if spans:
            marks = "".join(
                "^" if any(lo <= result.start + (b + 0.5) * step < hi for lo, hi in spans) else " "
                for b in range(buckets)
            )
            lines.append(f"{'paused'.rjust(width)}  {marks}".rstrip())
    axis = [" "] * buckets
    labels = 4
    for k in range(labels + 1):
        b = min(buckets - 1, round(k * (buckets - 1) / labels))
        text = _clock_time(result.start + b * step)
        pos = min(b, buckets - len(text))
        axis[pos : pos + len(text)] = text
    lines.append(f"{' ' * width}  {''.join(axis)}".rstrip())
    return lines


def report_dict(result: SimResult, *, title: str, buckets: int = 64) -> dict[str, Any]:
    """The machine-readable report: ``SimResult.to_dict()`` plus the timeline."""
    data = {"scenario": title, **result.to_dict()}
    if result.segments is not None:
        data["timeline"] = {
            "buckets": buckets,
            "queues": {k: list(v) for k, v in occupancy(result, buckets).items()},
        }
    return data


def timed_run(
    workload: Workload, seed: int, *, check: bool = False
) -> tuple[Simulation, SimResult, float]:
    """``run_demo`` plus the wall-clock seconds it took."""
    started = time.perf_counter()
    sim, result = run_demo(workload, seed, check=check)
    return sim, result, time.perf_counter() - started
