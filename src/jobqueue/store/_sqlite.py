"""A store in one SQLite file (stdlib ``sqlite3``, write-ahead log).

Theory of operation: every journal entry is one row, inserted in its own
transaction before the scheduler's call returns, so a process that dies loses
nothing it reported as done. ``durability`` decides when a transaction reaches
the disk itself:

* ``"full"``: ``synchronous=FULL``, the log is synced at every commit: a power
  loss loses nothing that was committed.
* ``"batched"``: ``synchronous=NORMAL``, the log is synced once per batch of
  commits, by a background thread that fsyncs the log file itself: once half
  of ``batch_size`` commits are unsynced, or once the oldest is
  ``batch_interval`` seconds old. The scheduler's thread goes on committing
  meanwhile instead of waiting for the disk; only if ``batch_size`` commits
  are unsynced does the call that made the last one sync itself. ``sync()``
  and ``close()`` sync too. A power loss may lose the last batch; SQLite's
  write-ahead log guarantees that what remains is a consistent prefix of the
  journal, never a corrupt one. (SQLite itself syncs only when it copies the
  log into the database file, which it does every 1,000 pages; a sync of the
  log file between two of those makes the commits in it durable, since SQLite
  never rewrites a committed frame before such a copy.)

One store per file: a store holds an OS lock on a companion file,
``<path>-lock``, from opening to ``close()``. SQLite itself runs in its normal
locking mode, so readers (``read_stored``, behind ``python -m jobqueue
inspect``, or a plain ``sqlite3`` reader) see the last committed state through
the write-ahead log while a store writes; they never take that lock and never
write the database. A file is recognised by SQLite's ``application_id`` header
field and its format version by ``user_version``; both are read from the
header bytes before SQLite touches the file (and before the lock file is
made), so a foreign, damaged or newer file is refused unchanged.

Verify first, write after: an existing file is read inside one transaction
that holds the lock and writes nothing, until ``Scheduler.open`` has checked
everything ``load()`` returned and calls ``open_for_writing()``. Only then is
the file switched to the write-ahead log and stamped with this format. A file
found damaged is released (cursors and connection closed before the error is
raised) exactly as it was, without a ``-wal`` file of ours beside it.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import threading
import time
import urllib.parse
from collections.abc import Sequence
from typing import Final, Literal, final

from .._errors import ValidationError
from .._validate import check_int, check_positive_number
from ._base import Store, StoredJournal
from ._errors import DAMAGE, CorruptStoreError, StoreError, bounded, brief
from ._sqlite_file import (
    APPLICATION_ID,
    FORMAT_VERSION,
    NO_CHECKPOINT_ON_CLOSE,
    SCHEMA,
    check_header,
    check_schema,
    claim,
    read_journal,
    rows,
    upgrade,
)

__all__ = ["SQLiteStore", "read_stored"]

_INSERT: Final = "INSERT INTO journal (number, entry) VALUES (?, ?)"
Durability = Literal["full", "batched"]


@final
class SQLiteStore(Store):
    """A journal in a SQLite file: survives crashes of the process and, by setting, of power.

    The file is created if it does not exist (or is empty). Opening takes a
    lock (on ``<path>-lock``) that lasts until ``close()``: a second store on
    the same file, in this process or another, raises ``StoreError``. Readers
    that take no lock (``read_stored``) may read the file meanwhile. An
    existing file is only read until ``Scheduler.open`` has verified it (see
    ``open_for_writing``); a file it refuses as damaged is closed unchanged,
    and its lock released.

    Args:
        path: the database file.
        durability: ``"full"`` syncs every commit; ``"batched"`` syncs per batch
            and may lose the last batch on power loss (never on a crash of the
            process alone), never corrupting the file.
        batch_size: with ``"batched"``, sync after this many commits at most.
        batch_interval: with ``"batched"``, sync within this many seconds of a commit.
        compact_every: see ``Store``.

    Raises:
        ValidationError: a setting is out of range, or ``path`` is not a str
            or an ``os.PathLike`` of one.
        CorruptStoreError: the file is not a jobqueue store, or is damaged.
        IncompatibleStoreError: the file was written by a newer format.
        StoreError: the file cannot be opened, is not a regular file (a
            directory, a FIFO, a device: refused without being opened, so
            that it cannot block), or is locked by another store.
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        durability: Durability = "full",
        batch_size: int = 1000,
        batch_interval: float = 0.2,
        compact_every: int | None = 10_000,
    ) -> None:
        path = _check_path(path)
        super().__init__(compact_every=compact_every)
        if durability not in ("full", "batched"):
            raise ValidationError(f"durability must be 'full' or 'batched', got {durability!r}")
        self._durability: Durability = durability
        self._batch_size = check_int("batch_size", batch_size, 1)
        self._batch_interval = check_positive_number("batch_interval", batch_interval)
        self._path = path
        # The condition shares this lock; append() takes the lock directly, as
        # the condition's own ``with`` costs two Python-level calls per entry.
        self._mutex = threading.RLock()
        self._lock = threading.Condition(self._mutex)
        self._closed = False
        self._failed: str | None = None
        # With "batched": commits made, and how many of them are known to be
        # on disk; a background sync starts at _sync_at unsynced commits.
        self._committed = 0
        self._durable = 0
        self._sync_at = max(1, self._batch_size // 2)
        # When the oldest commit that no started sync covers was made.
        self._first_pending: float | None = None
        self._log: int | None = None  # a descriptor of the write-ahead log, for fsync
        self._syncer: threading.Thread | None = None
        # Set by open_for_writing(): until then the file is read, never written.
        self._writable = False
        # A write-ahead log a crash left, kept as it is until the file is verified.
        self._kept_log = False
        conn, exists = self._connect()
        self._conn = conn
        # One cursor for every insert: Connection.execute makes a new one per call.
        self._cursor = conn.cursor()
        self._insert = self._cursor.execute
        self._batched = durability == "batched"
        self._next = 1
        if not exists:
            try:
                self.open_for_writing()  # a new file holds nothing to verify
            except BaseException:
                self._release()
                raise

    # ------------------------------------------------------------------ opening

    def _connect(self) -> tuple[sqlite3.Connection, bool]:
        """A connection holding the file's lock, and whether the file existed.

        An existing file is read inside one transaction that writes nothing;
        a new one is created. Every error closes the connection first.
        """
        path = self._path
        exists = check_header(path)
        kept_log = exists and NO_CHECKPOINT_ON_CLOSE is not None and os.path.exists(f"{path}-wal")
        self._owner = claim(path)
        try:
            conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False, timeout=0.0)
        except sqlite3.Error as exc:
            os.close(self._owner)
            raise StoreError(f"cannot open store {path!r}: {exc}") from None
        # Texts come back as bytes: a damaged name or entry never fails to decode.
        conn.text_factory = bytes
        error: StoreError | None = None
        try:
            if kept_log:
                getattr(conn, "setconfig")(NO_CHECKPOINT_ON_CLOSE, True)  # noqa: B009 -- 3.12+
            if exists:
                # One snapshot of the file for the checks; the transaction
                # only reads, and open_for_writing() ends it.
                conn.execute("BEGIN")
                check_schema(conn, path)
            else:
                # The header fields go to the main file (not a log), in the
                # same transaction as the tables: a file is ours entirely or
                # not at all.
                conn.executescript(
                    "BEGIN;"
                    + SCHEMA
                    + f"PRAGMA application_id={APPLICATION_ID};"
                    + f"PRAGMA user_version={FORMAT_VERSION};"
                    + f"INSERT INTO meta VALUES ('format', '{FORMAT_VERSION}');"
                    + "COMMIT;"
                )
        except sqlite3.OperationalError as exc:
            if "locked" in str(exc):
                error = StoreError(f"store {path!r} is in use: another store holds its lock")
            else:
                error = StoreError(f"cannot open store {path!r}: {exc}")
        except sqlite3.DatabaseError as exc:
            error = CorruptStoreError(bounded(f"store {path!r} is damaged: {exc}"))
        except StoreError as exc:
            error = exc
        except DAMAGE as exc:
            # SQLite quotes a damaged schema in its messages, which Python may
            # then fail to decode.
            error = CorruptStoreError(bounded(f"store {path!r} is damaged: {brief(exc)}"))
        except BaseException:
            conn.close()
            os.close(self._owner)
            raise
        if error is not None:
            # Raised outside the handler: nothing of the failed call outlives the connection.
            conn.close()
            os.close(self._owner)
            raise error
        self._kept_log = bool(kept_log)
        return conn, exists

    def open_for_writing(self) -> None:
        """Switch the verified file to its write-ahead log, and stamp it with this format.

        ``Scheduler.open`` calls it once it has verified everything ``load()``
        returned, before its first write; a write calls it if nobody did.
        Until then the file is read only, so a file refused as damaged is
        left as it was. Calling it again does nothing.

        Raises:
            StoreError: the store is closed, or the file cannot be switched to
                a write-ahead log (the store then refuses every write).
        """
        with self._lock:
            self._check_usable()
            if self._writable:
                return
            conn = self._conn
            try:
                if conn.in_transaction:
                    conn.execute("COMMIT")  # the verifying transaction: it wrote nothing
                if self._kept_log:
                    getattr(conn, "setconfig")(NO_CHECKPOINT_ON_CLOSE, False)  # noqa: B009
                upgrade(conn)
                mode = rows(conn, "PRAGMA journal_mode=WAL")[0][0]
                if mode != b"wal":
                    self._failed = "write-ahead log unavailable"
                    raise StoreError(
                        f"cannot open store {self._path!r}: write-ahead log unavailable"
                    )
                sync = "FULL" if self._durability == "full" else "NORMAL"
                conn.execute(f"PRAGMA synchronous={sync}")
                rows(conn, "SELECT count(*) FROM meta")
            except sqlite3.Error as exc:
                raise self._fail(exc) from None
            self._writable = True

    # ------------------------------------------------------------------ backend

    def load(self) -> StoredJournal:
        """Read the snapshot and the entries after it; nothing is written.

        Raises:
            StoreError: the store is closed.
            CorruptStoreError: the file is damaged.
        """
        with self._lock:
            self._check_usable()
            stored = read_journal(self._conn, self._path)
            entries = stored.entries
            self._next = max(stored.upto, entries[-1][0] if entries else 0) + 1
            return stored

    def append(self, entry: bytes) -> int:
        """Insert one entry in its own transaction; return its number.

        Raises:
            StoreError: the store is closed, or the write failed (the store then
                refuses every later write).
        """
        with self._mutex:
            if self._closed or self._failed is not None or not self._writable:
                self._check_usable()
                self.open_for_writing()
            number = self._next
            try:
                self._insert(_INSERT, (number, entry))
            except sqlite3.Error as exc:
                raise self._fail(exc) from None
            self._next = number + 1
            if self._batched:
                self._count_commit()
            return number

    def replace(self, snapshot: Sequence[bytes], upto: int) -> None:
        """Store ``snapshot`` and drop the entries it covers, in one transaction."""
        with self._lock:
            self._check_usable()
            self.open_for_writing()
            conn = self._conn
            try:
                conn.execute("BEGIN IMMEDIATE")
                try:
                    conn.execute("DELETE FROM snapshot")
                    conn.executemany(
                        "INSERT INTO snapshot (part, data) VALUES (?, ?)", enumerate(snapshot)
                    )
                    conn.execute(
                        "INSERT OR REPLACE INTO meta VALUES ('snapshot_upto', ?)", (str(upto),)
                    )
                    conn.execute("DELETE FROM journal WHERE number <= ?", (upto,))
                    conn.execute("COMMIT")
                except BaseException:
                    conn.execute("ROLLBACK")
                    raise
            except sqlite3.Error as exc:
                raise self._fail(exc) from None
            self._next = max(self._next, upto + 1)
            if self._batched:
                self._count_commit()

    def sync(self) -> None:
        """Make every committed entry durable now (in ``"full"`` mode they already are).

        Raises:
            StoreError: the store is closed or the sync failed.
        """
        with self._lock:
            self._check_usable()
            if self._committed > self._durable:
                self._sync_locked()

    def close(self) -> None:
        """Sync, release the lock and close the file; later calls raise ``StoreError``.

        Closing twice is harmless.
        """
        with self._lock:
            if self._closed:
                return
            self._closed = True
            self._lock.notify_all()
            syncer = self._syncer
        if syncer is not None:
            syncer.join()
        with self._lock:
            try:
                if self._committed > self._durable and self._failed is None:
                    self._sync_locked()
            finally:
                self._release()

    # ------------------------------------------------------------------ extras

    @property
    def path(self) -> str:
        """The database file."""
        return self._path

    @property
    def durability(self) -> Durability:
        """``"full"`` or ``"batched"``."""
        return self._durability

    @property
    def pending_sync(self) -> int:
        """Commits not yet known to be on disk (always 0 with ``"full"``).

        With ``"batched"`` it is below ``batch_size`` whenever no call is
        under way.
        """
        return self._committed - self._durable

    def __repr__(self) -> str:
        return f"SQLiteStore({self._path!r}, durability={self._durability!r})"

    # ------------------------------------------------------------------ internals

    def _check_usable(self) -> None:
        if self._closed:
            raise StoreError("store is closed")
        if self._failed is not None:
            raise StoreError(f"store failed earlier ({self._failed}): reopen it to recover")

    def _release(self) -> None:
        """Close the log, the cursor and the connection, then release the lock file."""
        if self._log is not None:
            os.close(self._log)
            self._log = None
        self._cursor.close()
        conn = self._conn
        if conn.in_transaction:
            with contextlib.suppress(sqlite3.Error):
                conn.execute("ROLLBACK")  # a file never verified: it stays as it was
        conn.close()
        os.close(self._owner)  # releases the lock

    def _count_commit(self) -> None:
        """Count a commit under the lock, and see that it is synced in time."""
        self._committed += 1
        pending = self._committed - self._durable
        if pending >= self._batch_size:
            self._sync_locked()  # the syncer fell behind: wait for the disk here
        elif self._first_pending is None:
            self._first_pending = time.monotonic()  # the time bound starts
            self._wake_syncer()
        elif pending == self._sync_at:
            self._wake_syncer()

    def _sync_locked(self) -> None:
        """Make every commit so far durable, in this thread, holding the lock."""
        target = self._committed
        log = self._open_log()
        try:
            if log is None:
                # A checkpoint syncs the log before copying it into the
                # database file, whatever the synchronous setting.
                self._conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
            else:
                os.fsync(log)
        except (sqlite3.Error, OSError) as exc:
            raise self._fail(exc) from None
        self._synced(target)

    def _synced(self, target: int) -> None:
        self._durable = max(self._durable, target)
        if self._durable == self._committed:
            self._first_pending = None

    def _open_log(self) -> int | None:
        """The write-ahead log's descriptor, opened on first use (under the lock).

        ``None`` if the log cannot be opened: syncs then take a checkpoint.
        """
        if self._log is None:
            with contextlib.suppress(OSError):
                self._log = os.open(f"{self._path}-wal", os.O_RDWR | getattr(os, "O_BINARY", 0))
        return self._log

    def _fail(self, exc: sqlite3.Error | OSError) -> StoreError:
        self._failed = f"{type(exc).__name__}: {exc}"
        return StoreError(f"cannot write store {self._path!r}: {exc}")

    def _wake_syncer(self) -> None:
        if self._syncer is None:
            self._syncer = threading.Thread(
                target=self._sync_loop, name=f"jobqueue-store-sync:{self._path}", daemon=True
            )
            self._syncer.start()
        else:
            self._lock.notify()

    def _sync_loop(self) -> None:
        with self._lock:
            while not self._closed:
                first = self._first_pending
                if first is None or self._failed is not None:
                    self._lock.wait()
                    continue
                delay = first + self._batch_interval - time.monotonic()
                if self._committed - self._durable < self._sync_at and delay > 0:
                    self._lock.wait(delay)
                    continue
                target = self._committed
                self._first_pending = None  # later commits start a new bound
                log = self._open_log()
                if log is None:
                    # A failure is recorded in _failed: the next call reports it.
                    with contextlib.suppress(StoreError):
                        self._sync_locked()
                else:
                    # The disk's wait happens without the lock: the scheduler's
                    # thread keeps committing meanwhile.
                    self._mutex.release()
                    try:
                        os.fsync(log)
                        error: OSError | None = None
                    except OSError as exc:
                        error = exc
                    finally:
                        self._mutex.acquire()
                    if error is not None:
                        self._fail(error)
                    else:
                        self._synced(target)
                self._lock.notify_all()  # for whoever waits for the sync


def read_stored(path: str) -> StoredJournal:
    """What the store at ``path`` holds, read without taking its lock and without writing.

    A read-only connection reads the last committed state, from the
    write-ahead log too, while a store may be writing; SQLite may create its
    shared-memory files (``-wal``, ``-shm``) beside the file if they are
    missing, as for any reader, but the database file itself is not written.
    The same checks as for opening apply: a path that is not a regular file
    is refused without being opened.

    Raises:
        StoreError: the file does not exist, is not a regular file, or cannot be read.
        CorruptStoreError: the file is not a jobqueue store, or is damaged.
        IncompatibleStoreError: the file was written by a newer format.
    """
    path = _check_path(path)
    if not check_header(path):
        if not os.path.exists(path):
            raise StoreError(f"no such file: {path!r}")
        raise CorruptStoreError(f"{path!r} is not a jobqueue store: the file is empty")
    uri = "file:" + urllib.parse.quote(os.path.abspath(path)) + "?mode=ro"
    try:
        conn = sqlite3.connect(uri, uri=True, isolation_level=None, timeout=5.0)
    except sqlite3.Error as exc:
        raise StoreError(f"cannot read store {path!r}: {exc}") from None
    conn.text_factory = bytes
    error: StoreError | None = None
    try:
        conn.execute("BEGIN")  # one snapshot: a compaction may commit between the reads
        check_schema(conn, path)
        return read_journal(conn, path)
    except sqlite3.OperationalError as exc:
        error = StoreError(f"cannot read store {path!r}: {exc}")
    except sqlite3.DatabaseError as exc:
        error = CorruptStoreError(bounded(f"store {path!r} is damaged: {exc}"))
    except DAMAGE as exc:
        error = CorruptStoreError(bounded(f"store {path!r} is damaged: {brief(exc)}"))
    finally:
        with contextlib.suppress(sqlite3.Error):
            if conn.in_transaction:
                conn.execute("COMMIT")
        conn.close()
    raise error


def _check_path(path: object) -> str:
    """Raises: ValidationError: ``path`` is not a str or an ``os.PathLike`` of one."""
    name = os.fspath(path) if isinstance(path, os.PathLike) else path
    if not issubclass(type(name), str):
        raise ValidationError(f"path must be a str or an os.PathLike, got {type(path).__name__}")
    return str.__str__(name)
