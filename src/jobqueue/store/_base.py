"""The store protocol: a snapshot plus a journal of entries after it.

Theory of operation: a store holds bytes. A *journal entry* is everything one
public call of the scheduler changed, encoded by the scheduler's journal (see
``_journal``); the store appends it in one transaction before the call returns.
A *snapshot* is the whole state at some entry number ``upto``; compaction
writes one and drops the entries it covers, so that recovery reads a snapshot
and the few entries after it. A store never interprets what it holds: backends
differ only in where the bytes live and when it reaches stable storage.
"""

from __future__ import annotations

import abc
from collections.abc import Sequence
from types import TracebackType
from typing import TYPE_CHECKING, Self

import attrs

from .._validate import check_int
from ._errors import StoreError

if TYPE_CHECKING:
    from .._scheduler import Scheduler
    from ._journal import Journal

__all__ = ["Store", "StoredJournal"]


@attrs.frozen
class StoredJournal:
    """What a store holds, as ``Store.load()`` returns it.

    Attributes:
        snapshot: the snapshot's parts, in order (empty if none was written).
        upto: the number of the last entry the snapshot covers (0 if none).
        entries: ``(number, entry)`` of every entry after ``upto``, in order.
    """

    snapshot: tuple[bytes, ...]
    upto: int
    entries: tuple[tuple[int, bytes], ...]


class Store(abc.ABC):
    """Where a scheduler journals its changes; subclass it for a new backend.

    Open a scheduler on a store with ``Scheduler.open(store, ...)``: it rebuilds
    the scheduler from what the store holds and journals every later change.
    A store serves one scheduler at a time.

    A backend implements ``load``, ``append`` and ``replace``;
    ``open_for_writing``, ``sync`` and ``close`` have empty defaults.
    Everything else is provided. ``load`` must not change what the store
    holds: ``Scheduler.open`` verifies all of it first, and refuses a damaged
    store (``CorruptStoreError``) after closing it, as it was.

    Args:
        compact_every: compact automatically once this many entries follow the
            snapshot, or as many entries as the scheduler keeps jobs if that is
            more (so a snapshot's cost stays in proportion to the journal it
            replaces); ``None`` compacts only when ``compact()`` is called.

    Raises:
        ValidationError: ``compact_every`` is not an int >= 1 or None.
    """

    def __init__(self, *, compact_every: int | None = 10_000) -> None:
        self._compact_every = (
            None if compact_every is None else check_int("compact_every", compact_every, 1)
        )
        self._journal: Journal | None = None

    # ------------------------------------------------------------------ backend

    @abc.abstractmethod
    def load(self) -> StoredJournal:
        """Read the snapshot and the entries after it, changing nothing.

        Raises:
            StoreError: the store is closed or cannot be read.
            CorruptStoreError: what it holds is damaged.
        """

    @abc.abstractmethod
    def append(self, entry: bytes) -> int:
        """Add one entry in one transaction, before returning; return its number.

        Numbers increase by one from 1 and never repeat, even after compaction.
        The entry is durable as the store's durability setting promises.

        Raises:
            StoreError: the store is closed or the write failed.
        """

    @abc.abstractmethod
    def replace(self, snapshot: Sequence[bytes], upto: int) -> None:
        """Atomically store ``snapshot`` and drop every entry numbered ``<= upto``.

        Raises:
            StoreError: the store is closed or the write failed (the old
                snapshot and entries are then kept).
        """

    def open_for_writing(self) -> None:  # noqa: B027 -- optional, empty by design
        """Get ready to write: called once what ``load()`` returned is verified.

        ``Scheduler.open`` calls it before its first write. A backend that
        must change what it holds before it can write (take over a lock for
        writing, upgrade a format) does it here, never in ``load()``, so that
        a store found damaged is left as it was.

        Raises:
            StoreError: the store is closed or cannot be written.
        """

    def sync(self) -> None:  # noqa: B027 -- optional, empty by design
        """Make every appended entry durable now (for stores that batch; else nothing)."""

    def close(self) -> None:  # noqa: B027 -- optional, empty by design
        """Make everything durable and release the store; later writes raise ``StoreError``."""

    # ------------------------------------------------------------------ provided

    @property
    def compact_every(self) -> int | None:
        """The automatic compaction threshold (``None``: only on ``compact()``)."""
        return self._compact_every

    @property
    def scheduler(self) -> Scheduler | None:
        """The scheduler opened on this store, if any."""
        return None if self._journal is None else self._journal.scheduler

    def compact(self) -> None:
        """Replace the journal with a snapshot of the scheduler's state now.

        Recovery then reads the snapshot instead of replaying the entries it
        replaces. O(jobs kept + their task outcomes).

        Raises:
            StoreError: no scheduler is open on this store, or the write failed.
        """
        if self._journal is None:
            raise StoreError("no scheduler is open on this store: open one with Scheduler.open()")
        self._journal.compact()

    def _attach(self, journal: Journal) -> None:
        if self._journal is not None:
            raise StoreError("store is already open for another scheduler")
        self._journal = journal

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()
