"""The report's sections over a ``SimResult``, shared by the text and HTML reports.

A table is ``(title, headers, rows, text)``: the first ``text`` columns are
words (aligned left), the rest numbers. Other sections are lines of text.
"""

from __future__ import annotations

import math
from collections.abc import Callable

from .._text import HOUR, duration, plural
from ._result import JobOutcome, Outcome, SimResult

__all__ = [
    "Table",
    "billing",
    "hops_and_preemptions",
    "job_label",
    "queue_table",
    "task_jobs",
    "wait_table",
]

Table = tuple[str, list[str], list[list[str]], int]


def queue_table(result: SimResult) -> Table:
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
    return "Queues", headers, rows, 3


def wait_table(result: SimResult) -> Table:
    finished: dict[str, int] = {}
    for job in result.jobs:
        if job.outcome in (Outcome.COMPLETE, Outcome.FAILED):
            finished[job.queue] = finished.get(job.queue, 0) + 1
    rows = [
        [
            q.name,
            str(finished.get(q.name, 0)),
            duration(q.wait_mean),
            duration(q.wait_p50),
            duration(q.wait_p90),
            duration(q.wait_p99),
            duration(q.wait_max),
        ]
        for q in result.queues
    ]
    title = "Waits (total time Ready or Paused, finished jobs by submission queue; nearest rank)"
    return title, ["queue", "jobs", "mean", "p50", "p90", "p99", "max"], rows, 1


def hops_and_preemptions(result: SimResult) -> list[str]:
    out = ["Hops and preemptions"]
    if result.hop_routes:
        for route in result.hop_routes:
            out.append(f"  {route.source} -> {route.destination}: {plural(route.hops, 'hop')}")
        hopped = sum(1 for j in result.jobs if j.hops)
        out.append(f"  {plural(hopped, 'job')} hopped at least once")
    else:
        out.append("  no job hopped")
    preempted = [j for j in result.jobs if j.preemptions]
    if not preempted:
        return [*out, "  no job was preempted"]
    total = sum(j.preemptions for j in preempted)
    where = ", ".join(f"{q.preemptions} in {q.name}" for q in result.queues if q.preemptions)
    worst = max(preempted, key=lambda j: (j.preemptions, -j.index))
    were = "job was" if len(preempted) == 1 else "jobs were"
    return [
        *out,
        f"  {plural(total, 'preemption')} ({where}); {len(preempted)} {were} preempted",
        f"  most preempted: {job_label(worst.index, worst.name)}, "
        f"{plural(worst.preemptions, 'time')}, waited {duration(worst.wait)} in all",
    ]


def task_jobs(
    result: SimResult, failure: Callable[[JobOutcome], str | None], limit: int = 10
) -> list[str]:
    """Jobs that ran tasks; ``failure`` gives a failed job's reason, if known."""
    with_tasks = [j for j in result.jobs if j.tasks_succeeded or j.tasks_failed]
    if not with_tasks:
        return []
    out = ["Jobs with tasks"]
    for j in with_tasks[:limit]:
        line = (
            f"  {job_label(j.index, j.name)}: {j.outcome}, "
            f"{plural(j.tasks_succeeded + j.tasks_failed, 'task')} "
            f"ran ({j.tasks_succeeded} succeeded, {j.tasks_failed} failed)"
        )
        reason = failure(j)
        out.append(line if reason is None else f"{line}: {reason}")
    if len(with_tasks) > limit:
        out.append(f"  ... and {len(with_tasks) - limit} more")
    return out


def billing(result: SimResult) -> list[str]:
    out = ["Billed on-demand time, by billing tags (usage_report)"]
    if not result.usage:
        return [*out, "  nothing ran in an on-demand queue"]
    for row in result.usage:
        tags = ", ".join(f"{k}={v}" for k, v in sorted(row.tags.items())) or "(no tags)"
        out.append(f"  {tags}: {duration(row.seconds)} ({row.seconds:,.0f} s)")
    total = math.fsum(row.seconds for row in result.usage)
    return [*out, f"  total: {duration(total)} ({total:,.0f} s)"]


def job_label(index: int, name: str | None) -> str:
    return name if name is not None else f"job #{index}"
