"""The journal: a subscriber that writes each public call's changes as one entry."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from .._core import core_of
from .._events import RawEvent
from ._batches import attach_hook, encode_batch
from ._codec import Encoder
from ._errors import StoreError
from ._snapshot import dump_snapshot

if TYPE_CHECKING:
    from .._scheduler import Scheduler
    from ._base import Store

__all__ = ["Journal"]


class Journal:
    """Encodes each batch of a call's events and appends it to the store.

    The scheduler delivers a call's events (and those of calls made from its
    subscribers) and then hands the whole batch, in raw form, to
    ``end_batch``, before the public call returns: that is where the entry is
    encoded and appended, in one transaction.
    """

    def __init__(
        self,
        store: Store,
        scheduler: Scheduler,
        *,
        last_time: float,
        last_number: int,
        since_snapshot: int,
    ) -> None:
        self.store = store
        self.scheduler = scheduler
        self._core = core_of(scheduler)
        self.last_time = last_time  # time of the last journaled change (or snapshot)
        self._last_number = last_number
        self._since_snapshot = since_snapshot
        self._usage: dict[Any, float] = dict(self._core.ledger.usage)
        self._broken: BaseException | None = None
        self._encode = Encoder()
        every = store.compact_every
        self._compact_every = math.inf if every is None else every

    def start(self) -> None:
        """Hook the end of each batch of the scheduler's events."""
        attach_hook(self._core, self.end_batch)

    def end_batch(self, events: Sequence[RawEvent]) -> None:
        """Append the batch's changes as one entry."""
        if self._broken is not None:
            raise self._refusal()
        try:
            self._last_number = self.store.append(
                encode_batch(self._core, events, self._usage, self._encode)
            )
        except BaseException as exc:
            self._broken = exc
            raise
        time = events[-1][1]
        if time > self.last_time:
            self.last_time = time
        self._since_snapshot += 1
        if self._since_snapshot >= self._compact_every:
            self.maybe_compact()

    def maybe_compact(self) -> None:
        """Compact if the journal after the snapshot reached the store's threshold."""
        since = self._since_snapshot
        # The threshold is max(every, jobs kept); counting the jobs is the dearer test.
        if since >= self._compact_every and since >= len(self.scheduler):
            self.compact()

    def compact(self) -> None:
        """Replace every entry so far with a snapshot of the scheduler's state."""
        if self._broken is not None:
            raise self._refusal()
        time = max(self.last_time, self._core.now())
        parts = dump_snapshot(self._core, time, self._encode)
        self.store.replace(parts, self._last_number)
        self.last_time = time
        self._since_snapshot = 0

    def _refusal(self) -> StoreError:
        return StoreError(
            f"store stopped journaling after a failed write ({self._broken!r}): "
            "reopen it to continue from its last journaled state"
        )
