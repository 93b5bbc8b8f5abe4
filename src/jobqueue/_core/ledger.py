"""Billing: run time, and the on-demand time billed under a job's billing tags.

MediaConvert's rule: a job is billed only for the time it holds a slot in an
on-demand queue, under its submission queue's tags or its own
(``billing_tags_source``), as they are when the time is settled. Time is
settled whenever a job gives back its slot and when a queue's pricing changes.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import Final

from .._model import BillingTagsSource, Pricing, UsageRow
from .records import NO_TAGS, JobRecord, QueueRecord

__all__ = ["BillingKey", "Ledger", "billing_key", "billing_tags"]

# Module constants for the per-job path: a fifth of the cost of an enum
# member's lookup (benchmarks/bench_tricks.py).
_ON_DEMAND: Final = Pricing.ON_DEMAND
_QUEUE_TAGS: Final = BillingTagsSource.QUEUE

BillingKey = tuple[tuple[str, str], ...]


class Ledger:
    """Billed seconds by billing key (the sorted items of a billing tag set)."""

    __slots__ = ("_last_key", "_last_tags", "usage")

    def __init__(self) -> None:
        self.usage: dict[BillingKey, float] = {}
        # The key of the tag set billed last. Tag sets are replaced, never
        # changed in place, and this one is held here, so the same object
        # means the same key: sorting the tags once per tag set rather than
        # once per settlement is a twentieth of a simulated job's time
        # (benchmarks/bench_sim.py).
        self._last_tags: Mapping[str, str] = NO_TAGS
        self._last_key: BillingKey = ()

    def settle(
        self, rec: JobRecord, q: QueueRecord, now: float, queues: Mapping[str, QueueRecord]
    ) -> None:
        """Account the run time since ``rec.run_started_at``, billing it if ``q`` is on demand."""
        seconds = now - rec.run_started_at
        rec.run_started_at = now
        run = rec.run_seconds + seconds
        rec.run_seconds = run
        if q.pricing is _ON_DEMAND:
            billed = rec.billed_seconds + seconds
            # Usually equal: share one float object rather than keep two.
            rec.billed_seconds = run if billed == run else billed
            tags = billing_tags(rec, queues)
            if tags is self._last_tags:
                key = self._last_key
            else:
                key = tuple(sorted(tags.items())) if tags else ()
                self._last_tags, self._last_key = tags, key
            self.usage[key] = self.usage.get(key, 0.0) + seconds

    def report(self) -> tuple[UsageRow, ...]:
        """One row per billing key, largest first."""
        rows = [UsageRow(MappingProxyType(dict(k)), s) for k, s in self.usage.items()]
        rows.sort(key=lambda r: (-r.seconds, sorted(r.tags.items())))
        return tuple(rows)


def billing_tags(rec: JobRecord, queues: Mapping[str, QueueRecord]) -> Mapping[str, str]:
    """The tag set ``rec``'s time is billed under now."""
    if rec.billing_tags_source is _QUEUE_TAGS:
        sub = queues.get(rec.submission_queue)
        return NO_TAGS if sub is None else sub.tags
    return rec.tags


def billing_key(rec: JobRecord, queues: Mapping[str, QueueRecord]) -> BillingKey:
    """The key ``rec``'s time is billed under now."""
    tags = billing_tags(rec, queues)
    return tuple(sorted(tags.items())) if tags else ()
