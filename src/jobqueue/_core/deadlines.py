"""Every timer the core has, in one container.

A timer is an entry ``(when, seq, kind, record, token)`` in one heap, ordered
by time and then by the order timers were set. ``kind`` says what the timer
is for (``Timer``); ``token`` is what the record must still show for the
timer to count, so cancelling a timer is free: whoever changes the record
makes its entries stale, and stale entries are dropped when they reach the
top. Each kind registers its staleness test once, at construction.

What the core times: a waiting job's next hop, a Suspended job's
confirmation timeout, the retention purge (one timer, for the oldest
finished job: the finished jobs wait in finishing order and a constant
retention keeps that order, so only the head needs a timer), a held job's
start time (``not_before``), a running job's run-time limit, a waiting job's
wait-time limit, and the end of a retry's backoff.
"""

from __future__ import annotations

import enum
import heapq
from collections.abc import Callable, Iterator, Mapping
from typing import TypeAlias

from .records import JobRecord

__all__ = ["Deadlines", "Timer"]


class Timer(enum.IntEnum):
    """What a timer is for."""

    HOP = 0
    CONFIRMATION = 1
    PURGE = 2
    NOT_BEFORE = 3
    RUN_LIMIT = 4
    WAIT_LIMIT = 5
    BACKOFF = 6


Token: TypeAlias = int | float
Entry: TypeAlias = tuple[float, int, Timer, JobRecord, Token]
Valid: TypeAlias = Callable[[JobRecord, Token], bool]


class Deadlines:
    """One heap of timers of every kind.

    Args:
        seq: the sequence that orders timers set for the same time.
        valid: for each kind, whether an entry for a record and token still counts.
    """

    __slots__ = ("_heap", "_next_seq", "_valid")

    def __init__(self, seq: Iterator[int], valid: Mapping[Timer, Valid]) -> None:
        self._heap: list[Entry] = []
        self._next_seq = seq.__next__
        self._valid = [valid[kind] for kind in Timer]

    def __len__(self) -> int:
        return len(self._heap)

    def add(self, when: float, kind: Timer, rec: JobRecord, token: Token) -> None:
        """Set a timer. O(log n)."""
        heapq.heappush(self._heap, (when, self._next_seq(), kind, rec, token))

    def restore(self, entries: list[Entry], seq: Iterator[int]) -> None:
        """Replace every timer with ``entries`` and the sequence with ``seq`` (on restore)."""
        heapq.heapify(entries)
        self._heap = entries
        self._next_seq = seq.__next__

    def next(self) -> float | None:
        """When the earliest timer that still counts is due. Amortised O(log n)."""
        heap = self._heap
        valid = self._valid
        while heap:
            when, _, kind, rec, token = heap[0]
            if valid[kind](rec, token):
                return when
            heapq.heappop(heap)
        return None

    def earliest(self) -> float | None:
        """A lower bound of ``next()``: the first entry's time, stale or not. O(1)."""
        heap = self._heap
        return heap[0][0] if heap else None

    def pop_due(self, now: float) -> tuple[Timer, JobRecord, Token] | None:
        """The earliest timer due at ``now`` that still counts, removed. Amortised O(log n)."""
        heap = self._heap
        valid = self._valid
        while heap and heap[0][0] <= now:
            _, _, kind, rec, token = heapq.heappop(heap)
            if valid[kind](rec, token):
                return kind, rec, token
        return None

    def entries(self, kind: Timer) -> list[tuple[int, JobRecord]]:
        """``(seq, record)`` of the timers of one kind that still count, in setting order."""
        valid = self._valid[kind]
        return sorted(
            ((seq, rec) for _, seq, k, rec, token in self._heap if k is kind and valid(rec, token)),
            key=lambda e: e[0],
        )
