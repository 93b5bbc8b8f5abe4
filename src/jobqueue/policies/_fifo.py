"""First in, first out: Transcribe's job queue."""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterator
from typing import final

from ._base import PolicyJob

__all__ = ["FifoPolicy"]


@final
class FifoPolicy:
    """Start waiting jobs strictly in order of entry into the queue; never preempt.

    ``add``, ``discard`` and ``peek`` are O(1) (amortised); priority is ignored.
    """

    __slots__ = ("_max_seq", "_waiting")

    def __init__(self) -> None:
        # An OrderedDict is a linked list underneath: removing from the front or
        # the middle and reading the head stay O(1), unlike a plain dict.
        self._waiting: OrderedDict[int, PolicyJob] = OrderedDict()
        self._max_seq = -1

    @property
    def name(self) -> str:
        """``"fifo"``."""
        return "fifo"

    @property
    def order(self) -> str:
        """``"fifo"``: the line is in order of entry (see ``declared_order``)."""
        return "fifo"

    def add(self, job: PolicyJob) -> None:
        """Append ``job``; O(1). A job re-entering (after preemption) regains its place."""
        seq = job.seq
        self._waiting[seq] = job
        if seq > self._max_seq:
            self._max_seq = seq
        else:
            # A re-entering job carries an old number: move every later entry
            # behind it. O(n), and only after a preemption or a policy change.
            for later in [k for k in self._waiting if k > seq]:
                self._waiting.move_to_end(later)

    def discard(self, job: PolicyJob) -> None:
        """Remove ``job`` if it waits here; O(1)."""
        self._waiting.pop(job.seq, None)

    def started(self, job: PolicyJob) -> None:
        """Nothing to track: FIFO never preempts."""

    def stopped(self, job: PolicyJob) -> None:
        """Nothing to track: FIFO never preempts."""

    def reprioritize(self, job: PolicyJob, old_priority: int) -> None:
        """Priority does not reorder a FIFO queue."""

    def peek(self) -> PolicyJob | None:
        """The earliest entry; O(1)."""
        waiting = self._waiting
        if not waiting:
            return None
        return waiting[next(iter(waiting))]

    def waiting(self) -> Iterator[PolicyJob]:
        """Waiting jobs in entry order."""
        return iter(self._waiting.values())

    def victims(self) -> Iterator[PolicyJob]:
        """None: a FIFO queue never preempts."""
        return iter(())

    def __len__(self) -> int:
        return len(self._waiting)

    def __repr__(self) -> str:
        return f"FifoPolicy(waiting={len(self._waiting)})"
