"""The event outbox: what a call changed, delivered once the call is done.

A call records its events while anyone listens (a subscriber or the batch
hook) in their raw form, ``(event class, *fields)``: a tuple costs a
twentieth of a frozen event (``benchmarks/bench_tricks.py``), and the event
itself is built only for subscribers, when it is delivered. ``flush``
delivers at the end of every public call, in order; a
subscriber may call back into the scheduler, and the events of that nested
call follow in order. Then the batch hook (the journal) gets the whole batch.

In-package observers that need no event objects (the simulation driver) are
called synchronously instead: ``watch`` on each transition into a watched
status, ``hop_watch`` on every hop. Keyed by status so that the statuses
nobody watches cost no call.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from .._events import Event, RawEvent
from .._states import JobStatus
from .._validate import check_callable
from .records import JobRecord

__all__ = ["Outbox"]


class Outbox:
    """Subscribers, the current batch of raw events, and the in-package observers."""

    __slots__ = (
        "batch_hook",
        "delivered",
        "delivering",
        "hop_watch",
        "listening",
        "pending",
        "subscribers",
        "watch",
    )

    def __init__(self) -> None:
        self.subscribers: list[Callable[[Event], None]] = []
        self.pending: list[RawEvent] = []
        self.listening = False
        self.delivering = False
        self.delivered = 0  # of pending, by a delivery a BaseException cut short
        self.batch_hook: Callable[[Sequence[RawEvent]], None] | None = None
        self.watch: dict[JobStatus, Callable[[JobRecord, float], None]] = {}
        self.hop_watch: Callable[[JobRecord, str, str, float], None] | None = None

    def subscribe(self, callback: Callable[[Event], None]) -> Callable[[], None]:
        """Deliver every later event to ``callback``; returns the unsubscribe function.

        Raises:
            ValidationError: ``callback`` is not callable.
        """
        check_callable("callback", callback)
        self.subscribers.append(callback)
        self.listening = True

        def unsubscribe() -> None:
            if callback in self.subscribers:
                self.subscribers.remove(callback)
                self.listening = bool(self.subscribers) or self.batch_hook is not None

        return unsubscribe

    def hook_batches(self, hook: Callable[[Sequence[RawEvent]], None]) -> None:
        """Call ``hook`` with every batch of raw events, after their delivery."""
        self.batch_hook = hook
        self.listening = True

    def emit(self, kind: type[Event], *fields: object) -> None:
        self.pending.append((kind, *fields))

    def flush(self) -> None:
        """Deliver the pending events, then hand the batch to the hook.

        Raises:
            Exception: the first one a subscriber raised (after every event was
                delivered), or the batch hook's, which outranks it.
        """
        if not self.pending or self.delivering:
            return  # the outer delivery loop will reach these events
        self.delivering = True
        first_error: BaseException | None = None
        pending = self.pending
        i = self.delivered
        try:
            while i < len(pending) and self.subscribers:
                raw = pending[i]
                i += 1
                event = raw[0](*raw[1:])
                for callback in tuple(self.subscribers):
                    try:
                        callback(event)
                    except Exception as exc:
                        if first_error is None:
                            first_error = exc
            if self.batch_hook is not None:
                try:
                    self.batch_hook(pending)
                except Exception as exc:
                    first_error = exc  # changes that were not journaled outrank a callback error
            pending.clear()
            i = 0
        finally:
            # If a callback raised BaseException, the events it cut off are
            # delivered by the next call, and the batch hook still gets them
            # all; no event is delivered twice.
            self.delivered = i
            self.delivering = False
        if first_error is not None:
            raise first_error
