"""A store that keeps its journal in memory: for tests, simulations and forks."""

from __future__ import annotations

from collections.abc import Sequence
from typing import final

from ._base import Store, StoredJournal
from ._errors import StoreError

__all__ = ["MemoryStore"]


@final
class MemoryStore(Store):
    """A journal held in this process's memory.

    It survives nothing, but it goes through the same encoding and recovery
    as a file, so ``Scheduler.open(store.copy())`` rebuilds a second scheduler
    equal to the first: useful to test recovery, or to fork a simulation.
    Appending is O(1).

    Args:
        compact_every: see ``Store``.
    """

    def __init__(self, *, compact_every: int | None = 10_000) -> None:
        super().__init__(compact_every=compact_every)
        self._snapshot: tuple[bytes, ...] = ()
        self._upto = 0
        # Entries are numbered consecutively from _first: keeping the bare
        # entries spares a tuple per entry, and the cyclic collector's work on it.
        self._entries: list[bytes] = []
        self._first = 1
        self._closed = False

    def load(self) -> StoredJournal:
        """Return the snapshot and the entries after it."""
        self._check_open()
        entries = tuple(enumerate(self._entries, self._first))
        return StoredJournal(self._snapshot, self._upto, entries)

    def append(self, entry: bytes) -> int:
        """Add one entry; return its number."""
        if self._closed:
            self._check_open()
        if not isinstance(entry, bytes):
            raise StoreError(f"entry must be bytes, got {type(entry).__name__}")
        entries = self._entries
        entries.append(entry)
        return self._first + len(entries) - 1

    def replace(self, snapshot: Sequence[bytes], upto: int) -> None:
        """Keep ``snapshot`` and drop the entries numbered ``<= upto``."""
        self._check_open()
        self._snapshot = tuple(snapshot)
        self._upto = upto
        drop = min(max(upto - self._first + 1, 0), len(self._entries))
        del self._entries[:drop]
        self._first += drop

    def close(self) -> None:
        """Refuse every later read and write; the contents stay for ``copy()``."""
        self._closed = True

    def copy(self) -> MemoryStore:
        """A new, open store with the same contents, serving no scheduler yet."""
        other = MemoryStore(compact_every=self.compact_every)
        other._snapshot = self._snapshot
        other._upto = self._upto
        other._entries = list(self._entries)
        other._first = self._first
        return other

    def __len__(self) -> int:
        """Number of entries after the snapshot."""
        return len(self._entries)

    def _check_open(self) -> None:
        if self._closed:
            raise StoreError("store is closed")

    def __repr__(self) -> str:
        return f"MemoryStore(entries={len(self._entries)}, snapshot_upto={self._upto})"
