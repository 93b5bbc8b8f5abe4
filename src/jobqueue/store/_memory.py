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
        self._snapshot: tuple[str, ...] = ()
        self._upto = 0
        self._entries: list[tuple[int, str]] = []
        self._next = 1
        self._closed = False

    def load(self) -> StoredJournal:
        """Return the snapshot and the entries after it."""
        self._check_open()
        return StoredJournal(self._snapshot, self._upto, tuple(self._entries))

    def append(self, entry: str) -> int:
        """Add one entry; return its number."""
        self._check_open()
        if not isinstance(entry, str):
            raise StoreError(f"entry must be a str, got {type(entry).__name__}")
        number = self._next
        self._next = number + 1
        self._entries.append((number, entry))
        return number

    def replace(self, snapshot: Sequence[str], upto: int) -> None:
        """Keep ``snapshot`` and drop the entries numbered ``<= upto``."""
        self._check_open()
        self._snapshot = tuple(snapshot)
        self._upto = upto
        self._entries = [e for e in self._entries if e[0] > upto]

    def close(self) -> None:
        """Refuse every later read and write; the contents stay for ``copy()``."""
        self._closed = True

    def copy(self) -> MemoryStore:
        """A new, open store with the same contents, serving no scheduler yet."""
        other = MemoryStore(compact_every=self.compact_every)
        other._snapshot = self._snapshot
        other._upto = self._upto
        other._entries = list(self._entries)
        other._next = self._next
        return other

    def __len__(self) -> int:
        """Number of entries after the snapshot."""
        return len(self._entries)

    def _check_open(self) -> None:
        if self._closed:
            raise StoreError("store is closed")

    def __repr__(self) -> str:
        return f"MemoryStore(entries={len(self._entries)}, snapshot_upto={self._upto})"
