"""Snapshots: a core's whole state as parts, which replace the journal so far.

A snapshot is a header ``[time, next_index]`` followed by parts that are lists
of the row schema's ops (``_rows``): the queues and billing totals first, then
the jobs, ``_CHUNK`` to a part, each followed by its task outcomes and report.
"""

from __future__ import annotations

from typing import Any, Final

from .._core import Core
from .._core.deadlines import Timer
from .._core.rebuild import peek_number
from ._codec import Encoder
from ._rows import job_row, queue_op, task_op

__all__ = ["dump_snapshot"]

_CHUNK: Final = 1000  # jobs per snapshot part


def dump_snapshot(core: Core, time: float, encode: Encoder) -> list[bytes]:
    """The scheduler's whole state as snapshot parts. O(jobs + task outcomes)."""
    next_index = peek_number(core)
    parts = [encode([time, next_index])]
    head: list[list[Any]] = [queue_op(q) for q in core.queues.values()]
    head.extend(["u", key, seconds] for key, seconds in core.ledger.usage.items())
    parts.append(encode(head))
    timers = core.deadlines.entries(Timer.HOP)
    timer_rank = {rec.id: i for i, (_, rec) in enumerate(timers)}
    finish_rank = {rec.id: i for i, rec in enumerate(core.listing.finished)}
    chunk: list[list[Any]] = []
    count = 0
    for rec in core.jobs.values():
        chunk.append(job_row(rec, timer_rank.get(rec.id), finish_rank.get(rec.id), True))
        if rec.outcomes:
            chunk.extend(task_op(rec.id, r) for r in rec.outcomes.values())
        if rec.report is not None:
            chunk.append(["r", rec.id, rec.report.to_json()])
        count += 1
        if count == _CHUNK:
            parts.append(encode(chunk))
            chunk = []
            count = 0
    if chunk:
        parts.append(encode(chunk))
    return parts
