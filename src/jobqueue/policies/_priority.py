"""Priority order with optional best-effort preemption: S3 Batch Operations' rules."""

from __future__ import annotations

from collections.abc import Iterator
from typing import final

from .._sorted import SortedList
from .._validate import check_bool
from ._base import PolicyJob

__all__ = ["PriorityPolicy"]


@final
class PriorityPolicy:
    """Higher priority first, ties in order of entry; optionally preempt.

    Waiting jobs are kept under the key ``(-priority, seq)``. With
    ``preemption=True``, Active preemptible jobs are kept under
    ``(priority, -start_seq)``: the best victim is the lowest priority, and
    among equals the most recently started. The scheduler only preempts a job
    of strictly lower priority than the waiting one, so equal priorities never
    thrash. Every operation is O(log n).

    Args:
        preemption: whether waiting jobs may pause lower-priority Active ones.

    Raises:
        ValidationError: ``preemption`` is not a bool.
    """

    __slots__ = ("_preemption", "_running", "_waiting")

    def __init__(self, *, preemption: bool = False) -> None:
        self._preemption = check_bool("preemption", preemption)
        # Entries carry the job last; the two integers before it are unique, so
        # comparisons never reach it.
        self._waiting: SortedList[tuple[int, int, PolicyJob]] = SortedList()
        self._running: SortedList[tuple[int, int, PolicyJob]] = SortedList()

    @property
    def name(self) -> str:
        """``"priority"`` or ``"priority+preemption"``."""
        return "priority+preemption" if self._preemption else "priority"

    @property
    def order(self) -> str:
        """``"priority"``: the line is in ``(-priority, seq)`` order (see ``declared_order``)."""
        return "priority"

    @property
    def preemption(self) -> bool:
        """Whether this policy preempts."""
        return self._preemption

    def add(self, job: PolicyJob) -> None:
        """Start tracking a waiting job; O(log n)."""
        self._waiting.add((-job.priority, job.seq, job))

    def discard(self, job: PolicyJob) -> None:
        """Stop tracking a waiting job; O(log n)."""
        self._waiting.discard((-job.priority, job.seq, job))

    def started(self, job: PolicyJob) -> None:
        """Track an Active job as a preemption candidate; O(log n)."""
        if self._preemption and job.preemptible:
            self._running.add((job.priority, -job.start_seq, job))

    def stopped(self, job: PolicyJob) -> None:
        """Forget an Active job; O(log n)."""
        if self._preemption and job.preemptible:
            self._running.discard((job.priority, -job.start_seq, job))

    def reprioritize(self, job: PolicyJob, old_priority: int) -> None:
        """Re-key ``job`` under its new priority; O(log n)."""
        waiting_key = (-old_priority, job.seq, job)
        if waiting_key in self._waiting:
            self._waiting.remove(waiting_key)
            self._waiting.add((-job.priority, job.seq, job))
            return
        running_key = (old_priority, -job.start_seq, job)
        if running_key in self._running:
            self._running.remove(running_key)
            self._running.add((job.priority, -job.start_seq, job))

    def peek(self) -> PolicyJob | None:
        """The highest-priority, earliest-entered waiting job; O(1)."""
        return self._waiting[0][2] if self._waiting else None

    def peek_victim(self) -> PolicyJob | None:
        """The best preemption victim (lowest priority, latest start), if any; O(1).

        Always None without ``preemption``: only then are Active jobs tracked.
        """
        return self._running[0][2] if self._running else None

    def waiting(self) -> Iterator[PolicyJob]:
        """Waiting jobs in start order."""
        return (entry[2] for entry in self._waiting)

    def victims(self) -> Iterator[PolicyJob]:
        """Preemptible Active jobs, lowest priority (then latest start) first."""
        return (entry[2] for entry in self._running)

    def __len__(self) -> int:
        return len(self._waiting)

    def __repr__(self) -> str:
        return f"PriorityPolicy(preemption={self._preemption}, waiting={len(self._waiting)})"
