"""A core's derived state, rebuilt from its records: what a store restores into.

A store keeps what cannot be derived -- the job and queue records, the billing
totals, the next job number, and two orders: the order hop timers were set in
(it breaks ties between equal deadlines) and the order jobs finished in (it
orders purges). Everything else is derived here, by the same rules that keep
it live: the queues' counters (``admission.recount``), their lines (entry
order ``seq``) and running sets (start order), the timers, the names of
unfinished jobs.
"""

from __future__ import annotations

import itertools
from collections import deque
from collections.abc import Callable, Iterator, Mapping
from typing import TYPE_CHECKING, Any

from .._states import TERMINAL, JobStatus
from .admission import recount
from .deadlines import Entry, Timer
from .ledger import BillingKey
from .records import Controls, JobRecord, QueueRecord, in_line

if TYPE_CHECKING:
    from .core import Core

__all__ = ["install", "peek_number"]

_S = JobStatus


def install(
    core: Core,
    queues: Mapping[str, QueueRecord],
    records: list[JobRecord],
    next_index: int,
    usage: Mapping[BillingKey, float],
    timer_order: Callable[[JobRecord], Any],
    finish_order: Callable[[JobRecord], Any],
) -> None:
    """Replace ``core``'s state with ``queues`` and ``records`` (in creation order).

    ``timer_order`` and ``finish_order`` give the sort keys of the stored
    orders. Every unfinished record must name a queue of ``queues``.
    """
    by_queue: dict[str, list[JobRecord]] = {name: [] for name in queues}
    max_seq = -1
    for rec in records:
        max_seq = max(max_seq, rec.seq, rec.start_seq)
        if rec.status not in TERMINAL:
            by_queue[rec.queue].append(rec)
    for q in queues.values():
        jobs = by_queue[q.name]
        recount(q, jobs)
        for rec in sorted(filter(in_line, jobs), key=_seq):
            q.policy.add(rec)
        for rec in sorted((r for r in jobs if r.status is _S.ACTIVE), key=_start_seq):
            q.policy.started(rec)

    seq = itertools.count(max_seq + 1)
    entries: list[Entry] = []
    timed = [
        r for r in records if r.status is _S.READY and r.hop_index < len(r.hops) and not r.hop_due
    ]
    timed.sort(key=timer_order)
    for r in timed:
        when = r.ready_at + r.hops[r.hop_index].wait
        entries.append((when, next(seq), Timer.HOP, r, r.hop_token))
    timeout = core.settings.confirmation_timeout
    suspended = sorted(
        (r for r in records if r.status is _S.SUSPENDED and r.suspended_at is not None),
        key=lambda r: (r.suspended_at, r.index),
    )
    for r in suspended:
        assert r.suspended_at is not None
        entries.append((r.suspended_at + timeout, next(seq), Timer.CONFIRMATION, r, r.suspended_at))
    dependents: dict[str, list[JobRecord]] = {}
    for r in records:
        c = r.controls
        if c is None or r.status in TERMINAL:
            continue
        entries.extend(_control_timers(r, c, seq, timeout))
        for job_id in sorted(c.waiting_on):
            dependents.setdefault(job_id, []).append(r)
    finished = [r for r in records if r.status in TERMINAL and r.finished_at is not None]
    finished.sort(key=finish_order)
    if finished:
        head = finished[0]
        assert head.finished_at is not None
        entries.append(
            (head.finished_at + core.settings.retention, next(seq), Timer.PURGE, head, 0)
        )

    core.queues = dict(queues)
    core.jobs = {r.index: r for r in records}
    core.other_ids = {r.id: r.index for r in records if r.id != core.id_of(r.index)}
    core.names = {r.name: r for r in records if r.name is not None and r.status not in TERMINAL}
    core.dependents = dependents
    core.counter = itertools.count(next_index)
    core.seq = seq
    core.deadlines.restore(entries, seq)
    core.listing.created = list(records)
    core.listing.purged_in_created = 0
    core.listing.finished = deque(finished)
    core.ledger.usage = dict(usage)


def _control_timers(r: JobRecord, c: Controls, seq: Iterator[int], timeout: float) -> list[Entry]:
    """The timers of one job's controls, as they stood (see ``holds``, ``limits``, ``retries``)."""
    timers: list[Entry] = []
    if r.status is _S.SUSPENDED and not c.not_before_passed and c.not_before is not None:
        timers.append((c.not_before, next(seq), Timer.NOT_BEFORE, r, c.not_before))
    if c.max_run is not None and r.holds_slot and r.status in (_S.ACTIVE, _S.PAUSING):
        left = c.max_run - (r.run_seconds - c.attempt_run)
        timers.append((r.run_started_at + left, next(seq), Timer.RUN_LIMIT, r, r.start_seq))
    if c.max_wait is not None and c.wait_started is not None:
        due = c.wait_started + c.max_wait - c.waited
        timers.append((due, next(seq), Timer.WAIT_LIMIT, r, c.wait_started))
    if r.status is _S.PAUSED and c.backoff_until is not None:
        timers.append((c.backoff_until, next(seq), Timer.BACKOFF, r, c.backoff_until))
    return timers


def peek_number(core: Core) -> int:
    """The number the next job will get, without using it up."""
    number = next(core.counter)
    core.counter = itertools.count(number)
    return number


def _seq(rec: JobRecord) -> int:
    return rec.seq


def _start_seq(rec: JobRecord) -> int:
    return rec.start_seq
