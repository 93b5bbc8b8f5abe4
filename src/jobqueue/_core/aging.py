"""Aging: a priority line in which waiting raises a job's effective priority, up to a cap.

A job's effective priority at time ``t`` is ``priority + min(cap, rate * (t -
since))``, with ``rate = step / every`` and ``since`` the time it joined the
line (``JobRecord.ready_at``). Below the cap the order does not depend on
``t``: ``rate * (t - since) + priority`` ranks jobs as the fixed key
``priority / rate - since`` does. So the line is two sorted lists: jobs below
the cap by that key, jobs at the cap by ``priority + cap``, each with the
entry sequence breaking ties; the head is the better of the two heads now.
Each job crosses the cap once, at ``since + cap / rate``: a third list ordered
by that time moves it when a read finds it due. Every operation is O(log n);
``waiting()`` merges the two lists.

This is the one policy that reads time: the scheduler hands it its clock's
``now``, as it does not hand one to user policies. Aging orders the line
only; preemption compares the jobs' own priorities (see ``preemption``).
"""

from __future__ import annotations

import heapq
from collections.abc import Callable, Iterator

from .._controls import Aging
from .._errors import ValidationError
from .._sorted import SortedList
from .._validate import PRIORITY_MAX, PRIORITY_MIN, check_int, check_positive_number
from ..policies import PolicyJob, PriorityPolicy
from .records import JobRecord, as_record

__all__ = ["AgingPolicy", "check", "effective_priority"]

_SPAN = PRIORITY_MAX - PRIORITY_MIN  # no aging lifts a job further than this


def check(aging: object) -> Aging:
    """Raises: ValidationError: not an Aging, or a field out of range (named ``aging.<field>``)."""
    if not isinstance(aging, Aging):
        raise ValidationError(f"aging must be an Aging, got {type(aging).__name__}")
    # Bounded by the span of priorities, so that every key stays a float.
    return Aging(
        every=check_positive_number("aging.every", aging.every),
        step=check_int("aging.step", aging.step, 1, _SPAN),
        cap=check_int("aging.cap", aging.cap, 1, _SPAN),
    )


def effective_priority(aging: Aging, rec: JobRecord, now: float) -> float:
    """``rec``'s effective priority at ``now`` in a line that ages by ``aging``."""
    gained = aging.step * (now - rec.ready_at) / aging.every
    return rec.priority + min(float(aging.cap), max(0.0, gained))


class AgingPolicy:
    """Priority order with aging (see the module doc); optionally preempt, as ``PriorityPolicy``.

    Args:
        aging: how waiting raises priority.
        preemption: whether waiting jobs may pause lower-priority Active ones.
        now: the scheduler's clock reading.
    """

    __slots__ = ("_aging", "_capped", "_due", "_now", "_rate", "_running", "_young")

    def __init__(self, aging: Aging, *, preemption: bool, now: Callable[[], float]) -> None:
        self._aging = aging
        self._rate = aging.step / aging.every
        self._now = now
        self._young: SortedList[tuple[float, int, JobRecord]] = SortedList()
        self._capped: SortedList[tuple[int, int, JobRecord]] = SortedList()
        self._due: SortedList[tuple[float, int, JobRecord]] = SortedList()
        # The Active jobs are ranked as victims exactly as in PriorityPolicy.
        self._running = PriorityPolicy(preemption=preemption)

    @property
    def name(self) -> str:
        """``"priority+aging"``, with ``+preemption`` if it preempts."""
        return "priority+aging+preemption" if self.preemption else "priority+aging"

    @property
    def aging(self) -> Aging:
        """The aging settings."""
        return self._aging

    @property
    def preemption(self) -> bool:
        """Whether this policy preempts."""
        return self._running.preemption

    def _cap_at(self, rec: JobRecord) -> float:
        return rec.ready_at + self._aging.cap / self._rate

    def _young_key(self, rec: JobRecord) -> tuple[float, int, JobRecord]:
        return (rec.ready_at - rec.priority / self._rate, rec.seq, rec)

    def add(self, job: PolicyJob) -> None:
        """Start tracking a waiting job; O(log n)."""
        rec = as_record(job)
        if self._cap_at(rec) <= self._now():
            self._capped.add((-(rec.priority + self._aging.cap), rec.seq, rec))
        else:
            self._young.add(self._young_key(rec))
            self._due.add((self._cap_at(rec), rec.seq, rec))

    def discard(self, job: PolicyJob) -> None:
        """Stop tracking a waiting job; O(log n)."""
        rec = as_record(job)
        young = self._young_key(rec)
        if young in self._young:
            self._young.remove(young)
            self._due.remove((self._cap_at(rec), rec.seq, rec))
        else:
            self._capped.discard((-(rec.priority + self._aging.cap), rec.seq, rec))

    def _settle(self) -> None:
        # Move the jobs that reached their cap since the last read.
        now = self._now()
        due = self._due
        while due and due[0][0] <= now:
            _, _, rec = due.pop(0)
            self._young.remove(self._young_key(rec))
            self._capped.add((-(rec.priority + self._aging.cap), rec.seq, rec))

    def started(self, job: PolicyJob) -> None:
        """Track an Active job as a preemption candidate; O(log n)."""
        self._running.started(job)

    def stopped(self, job: PolicyJob) -> None:
        """Forget an Active job; O(log n)."""
        self._running.stopped(job)

    def reprioritize(self, job: PolicyJob, old_priority: int) -> None:
        """Re-key ``job`` under its new priority; O(log n)."""
        rec = as_record(job)
        new = rec.priority
        rec.priority = old_priority
        young = self._young_key(rec)
        capped = (-(old_priority + self._aging.cap), rec.seq, rec)
        waiting = young in self._young or capped in self._capped
        if waiting:
            self.discard(rec)
        rec.priority = new
        if waiting:
            self.add(rec)
        else:
            self._running.reprioritize(job, old_priority)

    def peek(self) -> PolicyJob | None:
        """The waiting job of highest effective priority now, earliest entry first; O(log n)."""
        self._settle()
        young, capped = self._young, self._capped
        if not young:
            return capped[0][2] if capped else None
        if not capped:
            return young[0][2]
        a, b = young[0][2], capped[0][2]
        return a if self._before(a, b) else b

    def _before(self, a: JobRecord, b: JobRecord) -> bool:
        now = self._now()
        ea = effective_priority(self._aging, a, now)
        eb = effective_priority(self._aging, b, now)
        return ea > eb or (ea == eb and a.seq < b.seq)

    def waiting(self) -> Iterator[PolicyJob]:
        """Waiting jobs in start order, by effective priority now."""
        self._settle()
        now = self._now()
        aging = self._aging

        def key(entry: tuple[float, int, JobRecord]) -> tuple[float, int]:
            return (-effective_priority(aging, entry[2], now), entry[1])

        merged = heapq.merge(self._young, self._capped, key=key)
        return (entry[2] for entry in merged)

    def victims(self) -> Iterator[PolicyJob]:
        """Preemptible Active jobs, lowest priority (then latest start) first."""
        return self._running.victims()

    def problems(self, now: float) -> list[str]:
        """Where the line breaks its order or a job is lifted past its cap (invariants)."""
        found = []
        last: tuple[float, int] | None = None
        for job in self.waiting():
            rec = as_record(job)
            effective = effective_priority(self._aging, rec, now)
            if effective > rec.priority + self._aging.cap:
                found.append(f"job {rec.id!r} is aged past its cap")
            key = (-effective, rec.seq)
            if last is not None and key < last:
                found.append(f"job {rec.id!r} is out of aged-priority order")
            last = key
        return found

    def __len__(self) -> int:
        return len(self._young) + len(self._capped)

    def __repr__(self) -> str:
        return f"AgingPolicy({self._aging!r}, preemption={self.preemption}, waiting={len(self)})"
