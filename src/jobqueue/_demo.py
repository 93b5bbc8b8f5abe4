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
from typing import Any, Final, TextIO

from ._model import HopRule
from ._text import HOUR, MINUTE, duration, table
from .sim import (
    JobOutcome,
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
from .sim._sections import billing, hops_and_preemptions, queue_table, task_jobs, wait_table

__all__ = ["demo_workload", "render_report", "run_demo"]

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


def _clock_time(seconds: float, precision: str | int) -> str:
    """Virtual time as ``HH:MM`` (``"minutes"``), ``HH:MM:SS`` (``"seconds"``), or as
    seconds with ``precision`` decimals."""
    if isinstance(precision, int):
        scale = 10**precision  # truncated, as the clock times are: a column's start
        return f"{math.floor(seconds * scale + 1e-9) / scale:.{precision}f}s"
    whole = math.floor(seconds + 1e-9)
    hours, rest = divmod(whole, 3600)
    if precision == "minutes":
        return f"{hours:02d}:{rest // 60:02d}"
    return f"{hours:02d}:{rest // 60:02d}:{rest % 60:02d}"


def axis_labels(start: float, step: float, buckets: int) -> list[tuple[int, str]]:
    """Labels under a timeline of ``buckets`` columns of ``step`` seconds from ``start``.

    Each label is ``(column, text)``: the clock time at the start of that
    column, written from it. Labels never touch (one blank at least between
    two) at any number of columns; the last one ends at the right edge. The
    time is in minutes (``HH:MM``) when labels are a minute apart or more, in
    seconds (``HH:MM:SS``) when a second or more, and in seconds with
    decimals below that, so that no two labels read the same.

    >>> axis_labels(0.0, 60.0, 20)
    [(0, '00:00'), (8, '00:08'), (15, '00:15')]
    >>> axis_labels(0.0, 1.5, 64)
    [(0, '00:00:00'), (14, '00:00:21'), (28, '00:00:42'), (42, '00:01:03'), (56, '00:01:24')]
    >>> axis_labels(0.0, 0.05, 20)
    [(0, '0.0s'), (5, '0.2s'), (11, '0.5s'), (16, '0.8s')]
    """
    span = step * buckets
    apart = span / 4  # the time between labels when five fit
    precision: str | int = (
        "minutes"
        if apart >= MINUTE
        else "seconds"
        if apart >= 1
        else (math.ceil(-math.log10(apart)) if apart > 0 else 0)
    )
    width = max(len(_clock_time(start + b * step, precision)) for b in (0, buckets - 1))
    room = buckets - width  # columns where a label may start and still end inside
    n = 1 if room <= width else min(5, room // (width + 1) + 1)
    if n == 1:
        return [(0, _clock_time(start, precision))]
    columns = [round(k * room / (n - 1)) for k in range(n)]
    return [(c, _clock_time(start + c * step, precision)) for c in columns]


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
    span = f"{duration(result.makespan)} of virtual time"
    ran = "" if wall_seconds is None else f", simulated in {wall_seconds:.2f} s"
    out = [f"{title}: {len(result.jobs)} jobs, {span}{ran} (seed {result.seed})", ""]
    if description:
        out += [*description, ""]
    for name, headers, rows, text in (queue_table(result), wait_table(result)):
        out += [name, *table(headers, rows, text), ""]
    out += hops_and_preemptions(result)
    tasks = task_jobs(result, lambda job: _failure(sim, job))
    if tasks:
        out += ["", *tasks]
    out += ["", *billing(result)]
    if result.segments is not None and result.makespan > 0:
        out += ["", *_timeline(result, buckets, _ramp(stream or sys.stdout))]
    return "\n".join(out) + "\n"


def _failure(sim: Simulation, job: JobOutcome) -> str | None:
    job_id = sim.job_id(job.index)
    if job.outcome is not Outcome.FAILED or job_id is None:
        return None
    reasons = sim.scheduler.get(job_id).failure_reasons
    return f"{reasons[0].code}: {reasons[0].message}" if reasons else None


def _timeline(result: SimResult, buckets: int, ramp: str) -> list[str]:
    use = occupancy(result, buckets)
    paused = paused_spans(result.workload, result.end)
    step = result.makespan / buckets
    width = max(len(name) for name in use)
    lines = [
        f"Slot use over time (one column = {duration(step)}; "
        f"'{ramp[1]}' little ... '{ramp[-1]}' all slots busy; '^' paused)"
    ]
    for name, row in use.items():
        cells = "".join(
            ramp[0] if v <= 0 else ramp[max(1, math.ceil(v * (len(ramp) - 1)))] for v in row
        )
        lines.append(f"{name.ljust(width)} |{cells}|")
        spans = paused.get(name)
        if spans:
            marks = "".join("^" if p else " " for p in paused_columns(result, spans, buckets))
            lines.append(f"{'paused'.rjust(width)}  {marks}".rstrip())
    axis = [" "] * buckets
    for column, text in axis_labels(result.start, step, buckets):
        axis[column : column + len(text)] = text
    lines.append(f"{' ' * width}  {''.join(axis)}".rstrip())
    return lines


def paused_columns(
    result: SimResult, spans: Sequence[tuple[float, float]], buckets: int
) -> list[bool]:
    """Which of the timeline's columns a paused span touches, however short the span."""
    step = result.makespan / buckets
    marks = [False] * buckets
    for lo, hi in spans:
        first = max(0, math.floor((lo - result.start) / step))
        last = min(buckets - 1, math.ceil((hi - result.start) / step) - 1)
        for b in range(first, max(first, last) + 1):
            if b < buckets:
                marks[b] = True
    return marks


#: The version of ``report_dict``'s layout: it grows by one when a field
#: changes meaning or goes; added fields do not change it.
REPORT_SCHEMA: Final = 1
#: The unit of every number in ``report_dict`` that has one, by field name
#: (the same name in the summary, in each queue and in each job).
REPORT_UNITS: Final = {
    "start": "s",
    "end": "s",
    "makespan": "s",
    "arrival": "s",
    "duration": "s",
    "first_start": "s",
    "finish": "s",
    "wait": "s",
    "run_seconds": "s",
    "wait_mean": "s",
    "wait_p50": "s",
    "wait_p90": "s",
    "wait_p99": "s",
    "wait_max": "s",
    "busy_seconds": "s",
    "utilisation": "1",
    "throughput": "1/s",
    "usage.seconds": "s",
    "timeline.step": "s",
    "timeline.queues": "1",
}


def report_dict(result: SimResult, *, title: str, buckets: int = 64) -> dict[str, Any]:
    """The machine-readable report: ``SimResult.to_dict()`` plus the timeline.

    ``schema_version`` is ``REPORT_SCHEMA``; ``units`` maps each field with a
    unit to it (``"s"`` seconds of virtual time, ``"1"`` a fraction, ``"1/s"``
    per second); the timeline gives each queue's busy share of its slots per
    column of ``step`` seconds, and each queue's paused spans.
    """
    data: dict[str, Any] = {
        "schema_version": REPORT_SCHEMA,
        "units": dict(REPORT_UNITS),
        "scenario": title,
        **result.to_dict(),
    }
    if result.segments is not None:
        data["timeline"] = {
            "buckets": buckets,
            "step": result.makespan / buckets,
            "queues": {k: list(v) for k, v in occupancy(result, buckets).items()},
            "paused": {
                k: [list(span) for span in v]
                for k, v in paused_spans(result.workload, result.end).items()
            },
        }
    return data


def timed_run(
    workload: Workload, seed: int, *, check: bool = False
) -> tuple[Simulation, SimResult, float]:
    """``run_demo`` plus the wall-clock seconds it took."""
    started = time.perf_counter()
    sim, result = run_demo(workload, seed, check=check)
    return sim, result, time.perf_counter() - started
