"""Journal batches: one public call's changes, named by its events, as one entry.

Theory of operation
-------------------
The journal captures *state*, not commands. At the end of each public call
(when the scheduler has delivered the call's events), the events name what the
call touched: jobs, queues, task outcomes, purges. The journal entry for the
call holds the full current state of every touched job and queue, read from
the core's own records, plus the task outcomes recorded, the reports built,
the jobs purged and the billing totals that moved. Replaying entries is then
an upsert per record, last write wins: recovery never re-runs scheduling
logic, so it cannot drift from it.

What is not stored is derived on recovery (``jobqueue._core.rebuild``). Two
orders cannot be derived from the records and are stored as *marks*: the
order in which hop timers were set (it breaks ties between equal deadlines)
and the order in which jobs finished (it orders purges). A mark is the
position of the event in its entry; the entry's number makes it global.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any, Final

from .._core import Core
from .._core.ledger import billing_key
from .._events import (
    JobHopped,
    JobPurged,
    JobSubmitted,
    JobTransitioned,
    QueueEvent,
    RawEvent,
    RetryScheduled,
    TagsChanged,
    TaskRecorded,
)
from .._states import TERMINAL, JobStatus
from ._codec import Encoder
from ._errors import StoreError
from ._rows import job_row, queue_op, task_op

__all__ = ["attach_hook", "encode_batch"]

_READY: Final = JobStatus.READY  # a module constant: see benchmarks/bench_tricks.py
_PAUSED: Final = JobStatus.PAUSED
_FEW_KEYS: Final = 64  # billing totals compared whole rather than by touched job


def encode_batch(
    core: Core, events: Sequence[RawEvent], usage: dict[Any, float], encode: Encoder
) -> bytes:
    """Encode one call's changes, named by its raw ``events``, as one journal entry.

    ``usage`` is the journal's copy of the billing totals already written; it
    is brought up to date. O(events + touched jobs' history).
    """
    # The entry's order: time, queues, jobs, task outcomes and retries (in the
    # order they happened), reports, purges, totals.
    ops: list[Any] = [events[-1][1]]
    touched: dict[str, list[Any]] = {}  # job id -> [timer mark, finish mark, new]
    task_ops: list[list[Any]] = []
    purge_ops: list[list[Any]] = []
    released = False
    keys_moved = False  # tags that billing keys come from may have changed
    # A raw event is (kind, time, job_id or queue, *the kind's other fields);
    # most frequent kinds first.
    for i, event in enumerate(events):
        kind = event[0]
        if kind is JobTransitioned:  # (time, job_id, old, new, reason)
            job_id = event[2]
            info = touched.get(job_id)
            if info is None:
                info = touched[job_id] = [None, None, False]
            new = event[4]
            if new is _READY:
                info[0] = i
            elif new in TERMINAL:
                info[1] = i
                released = True
            elif new is _PAUSED:
                released = True
        elif kind is JobSubmitted:
            touched[event[2]] = [None, None, True]
        elif kind is JobHopped:
            info = touched.get(event[2])
            if info is None:
                info = touched[event[2]] = [None, None, False]
            info[0] = i
        elif kind is TaskRecorded:  # (time, job_id, record)
            job_id = event[2]
            if job_id not in touched:
                touched[job_id] = [None, None, False]
            task_ops.append(task_op(job_id, event[3]))
        elif kind is RetryScheduled:  # a new attempt drops the failed outcomes
            if event[2] not in touched:
                touched[event[2]] = [None, None, False]
            task_ops.append(["a", event[2]])
        elif kind is JobPurged:
            purge_ops.append(["p", event[2]])
        elif kind is QueueEvent:  # (time, queue, change)
            keys_moved = True
            name, change = event[2], event[3]
            q = core.queues.get(name)
            if change == "deleted" or q is None:
                ops.append(["x", name])
            else:
                ops.append(queue_op(q))
                if change == "updated":
                    # A pricing change settles the run time of the queue's
                    # running jobs: their rows and the billing totals moved.
                    for running in core.jobs.values():
                        if running.holds_slot and running.queue == name:
                            touched.setdefault(running.id, [None, None, False])
                            released = True
        else:
            # PriorityChanged, TagsChanged, HopHeld, HopsDropped, and any job
            # event a later version adds: the job's row carries the change.
            keys_moved = keys_moved or kind is TagsChanged
            if event[2] not in touched:
                touched[event[2]] = [None, None, False]
    find = core.find
    report_ops = None
    for job_id, (timer, finish, new) in touched.items():
        rec = find(job_id)
        if rec is None:
            continue  # purged in this call
        ops.append(job_row(rec, timer, finish, new))
        if finish is not None and rec.report is not None:
            if report_ops is None:
                report_ops = []
            report_ops.append(["r", job_id, rec.report.to_json()])
    if task_ops:
        ops.extend(task_ops)
    if report_ops:
        ops.extend(report_ops)
    if purge_ops:
        ops.extend(purge_ops)
    if released:
        _usage_ops(core, touched, usage, keys_moved, ops)
    return encode(ops)


def _usage_ops(
    core: Core,
    touched: Mapping[str, object],
    usage: dict[Any, float],
    keys_moved: bool,
    ops: list[Any],
) -> None:
    """Append a ``"u"`` op to ``ops`` for each billing total that moved."""
    live = core.ledger.usage
    if not keys_moved and len(live) <= _FEW_KEYS and live == usage:
        # A release moves no total in a reserved queue or when no run time
        # passed; with few totals, comparing them whole is cheaper than
        # working out whose moved.
        return
    keys: Iterable[Any] = live
    if not keys_moved and len(live) == len(usage) and len(live) > _FEW_KEYS:
        # No tag set changed and no key is new: only the keys of the jobs this
        # call touched can have moved. O(touched) instead of O(keys).
        candidates = set()
        for job_id in touched:
            rec = core.find(job_id)
            if rec is None:
                break  # purged since its release: its key is unknown, scan them all
            candidates.add(billing_key(rec, core.queues))
        else:
            keys = candidates
    for key in keys:
        seconds = live.get(key)
        if seconds is not None and usage.get(key) != seconds:
            usage[key] = seconds
            ops.append(["u", key, seconds])


def attach_hook(core: Core, end: Callable[[Sequence[RawEvent]], None]) -> None:
    """Make ``end`` run with each batch of raw events, after their delivery."""
    if core.outbox.batch_hook is not None:
        raise StoreError("scheduler already journals to a store")
    core.outbox.hook_batches(end)
