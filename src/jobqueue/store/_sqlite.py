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
header bytes before SQLite touches the file, so a foreign, damaged or newer
file is refused unchanged.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import sys
import threading
import time
import urllib.parse
from collections.abc import Sequence
from typing import Final, Literal, final

from .._errors import ValidationError
from .._validate import check_int, check_positive_number
from ._base import Store, StoredJournal
from ._errors import CorruptStoreError, IncompatibleStoreError, StoreError

if sys.platform == "win32":
    import msvcrt
else:
    import fcntl

__all__ = ["APPLICATION_ID", "FORMAT_VERSION", "SQLiteStore", "read_stored"]

#: Written to SQLite's ``application_id`` header field: ``b"JobQ"``.
APPLICATION_ID: Final = 0x4A6F6251
#: The store format this version writes; newer files are refused. Formats 1
#: (JSON texts, histories as pairs) and 2 (JSON texts) are read too, and
#: stamped 3 when opened, since the entries written from then on (pickles) are
#: read only by versions that know format 3.
FORMAT_VERSION: Final = 3

_MAGIC: Final = b"SQLite format 3\x00"
_SCHEMA: Final = """
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID;
CREATE TABLE journal (number INTEGER PRIMARY KEY, entry BLOB NOT NULL);
CREATE TABLE snapshot (part INTEGER PRIMARY KEY, data BLOB NOT NULL);
"""
_TABLES: Final = frozenset({"meta", "journal", "snapshot"})
_INSERT: Final = "INSERT INTO journal (number, entry) VALUES (?, ?)"

Durability = Literal["full", "batched"]


@final
class SQLiteStore(Store):
    """A journal in a SQLite file: survives crashes of the process and, by setting, of power.

    The file is created if it does not exist (or is empty). Opening takes a
    lock (on ``<path>-lock``) that lasts until ``close()``: a second store on
    the same file, in this process or another, raises ``StoreError``. Readers
    that take no lock (``read_stored``) may read the file meanwhile.

    Args:
        path: the database file.
        durability: ``"full"`` syncs every commit; ``"batched"`` syncs per batch
            and may lose the last batch on power loss (never on a crash of the
            process alone), never corrupting the file.
        batch_size: with ``"batched"``, sync after this many commits at most.
        batch_interval: with ``"batched"``, sync within this many seconds of a commit.
        compact_every: see ``Store``.

    Raises:
        ValidationError: a setting is out of range.
        CorruptStoreError: the file is not a jobqueue store, or is damaged.
        IncompatibleStoreError: the file was written by a newer format.
        StoreError: the file cannot be opened, or is locked by another store.
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
        super().__init__(compact_every=compact_every)
        if durability not in ("full", "batched"):
            raise ValidationError(f"durability must be 'full' or 'batched', got {durability!r}")
        self._durability: Durability = durability
        self._batch_size = check_int("batch_size", batch_size, 1)
        self._batch_interval = check_positive_number("batch_interval", batch_interval)
        self._path = os.fspath(path)
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
        self._conn = self._connect()
        # One cursor for every insert: Connection.execute makes a new one per call.
        self._insert = self._conn.cursor().execute
        self._batched = durability == "batched"
        self._next = 1

    # ------------------------------------------------------------------ opening

    def _connect(self) -> sqlite3.Connection:
        exists = _check_header(self._path)
        self._owner = _claim(self._path)
        try:
            return self._open(exists)
        except BaseException:
            os.close(self._owner)
            raise

    def _open(self, exists: bool) -> sqlite3.Connection:
        try:
            conn = sqlite3.connect(
                self._path, isolation_level=None, check_same_thread=False, timeout=0.0
            )
        except sqlite3.Error as exc:
            raise StoreError(f"cannot open store {self._path!r}: {exc}") from None
        try:
            if exists:
                _check_schema(conn, self._path)
                _upgrade(conn)
            else:
                # The header fields go to the main file (not a log), in the
                # same transaction as the tables: a file is ours entirely or
                # not at all.
                conn.executescript(
                    "BEGIN;"
                    + _SCHEMA
                    + f"PRAGMA application_id={APPLICATION_ID};"
                    + f"PRAGMA user_version={FORMAT_VERSION};"
                    + f"INSERT INTO meta VALUES ('format', '{FORMAT_VERSION}');"
                    + "COMMIT;"
                )
            mode = conn.execute("PRAGMA journal_mode=WAL").fetchone()[0]
            if str(mode).lower() != "wal":
                conn.close()
                raise StoreError(f"cannot open store {self._path!r}: write-ahead log unavailable")
            sync = "FULL" if self._durability == "full" else "NORMAL"
            conn.execute(f"PRAGMA synchronous={sync}")
            conn.execute("SELECT count(*) FROM meta").fetchone()
        except sqlite3.OperationalError as exc:
            conn.close()
            if "locked" in str(exc):
                raise StoreError(
                    f"store {self._path!r} is in use: another store holds its lock"
                ) from None
            raise StoreError(f"cannot open store {self._path!r}: {exc}") from None
        except sqlite3.DatabaseError as exc:
            conn.close()
            raise CorruptStoreError(f"store {self._path!r} is damaged: {exc}") from None
        except BaseException:
            conn.close()
            raise
        return conn

    # ------------------------------------------------------------------ backend

    def load(self) -> StoredJournal:
        """Read the snapshot and the entries after it.

        Raises:
            StoreError: the store is closed.
            CorruptStoreError: the file is damaged.
        """
        with self._lock:
            self._check_usable()
            stored = _read(self._conn, self._path)
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
            if self._closed or self._failed is not None:
                self._check_usable()
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
                if self._log is not None:
                    os.close(self._log)
                self._conn.close()
                os.close(self._owner)  # releases the lock

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

    Raises:
        StoreError: the file does not exist or cannot be read.
        CorruptStoreError: the file is not a jobqueue store, or is damaged.
        IncompatibleStoreError: the file was written by a newer format.
    """
    if not os.path.exists(path):
        raise StoreError(f"no such file: {path!r}")
    if not _check_header(path):
        raise CorruptStoreError(f"{path!r} is not a jobqueue store: the file is empty")
    uri = "file:" + urllib.parse.quote(os.path.abspath(path)) + "?mode=ro"
    try:
        conn = sqlite3.connect(uri, uri=True, isolation_level=None, timeout=5.0)
    except sqlite3.Error as exc:
        raise StoreError(f"cannot read store {path!r}: {exc}") from None
    try:
        _check_schema(conn, path)
        conn.execute("BEGIN")  # one snapshot: a compaction may commit between the reads
        try:
            return _read(conn, path)
        finally:
            conn.execute("COMMIT")
    except sqlite3.OperationalError as exc:
        raise StoreError(f"cannot read store {path!r}: {exc}") from None
    except sqlite3.DatabaseError as exc:
        raise CorruptStoreError(f"store {path!r} is damaged: {exc}") from None
    finally:
        conn.close()


def _read(conn: sqlite3.Connection, path: str) -> StoredJournal:
    try:
        row = conn.execute("SELECT value FROM meta WHERE key = 'snapshot_upto'").fetchone()
        upto = 0 if row is None else int(row[0])
        parts = tuple(_blob(r[0]) for r in conn.execute("SELECT data FROM snapshot ORDER BY part"))
        entries = tuple(
            (int(n), _blob(e))
            for n, e in conn.execute(
                "SELECT number, entry FROM journal WHERE number > ? ORDER BY number", (upto,)
            )
        )
    except (sqlite3.DatabaseError, ValueError) as exc:
        raise CorruptStoreError(f"store {path!r} is damaged: {exc}") from None
    return StoredJournal(parts, upto, entries)


def _claim(path: str) -> int:
    """Lock ``<path>-lock`` for this store; its descriptor (closing it releases the lock).

    A lock of the operating system, on a file SQLite does not use, rather than
    SQLite's exclusive locking mode, which would shut readers out too.
    """
    try:
        fd = os.open(f"{path}-lock", os.O_RDWR | os.O_CREAT | getattr(os, "O_BINARY", 0), 0o644)
    except OSError as exc:
        raise StoreError(f"cannot open store {path!r}: {exc}") from None
    try:
        if sys.platform == "win32":
            msvcrt.locking(fd, msvcrt.LK_NBLCK, 1)
        else:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        os.close(fd)
        raise StoreError(f"store {path!r} is in use: another store holds its lock") from None
    return fd


def _blob(value: object) -> bytes:
    # Formats 1 and 2 stored JSON texts (SQLite hands them back as str).
    if isinstance(value, bytes):
        return value
    if isinstance(value, str):
        return value.encode()
    raise ValueError(f"an entry must be bytes, got {type(value).__name__}")


def _check_header(path: str) -> bool:
    """Whether ``path`` holds a store; raise if it holds anything else. Reads only."""
    try:
        with open(path, "rb") as file:
            header = file.read(100)
    except FileNotFoundError:
        return False
    except OSError as exc:
        raise StoreError(f"cannot read store {path!r}: {exc}") from None
    if not header:
        return False  # an empty file holds nothing to lose
    if len(header) < 100 or not header.startswith(_MAGIC):
        raise CorruptStoreError(f"{path!r} is not a jobqueue store: it is not a SQLite database")
    application_id = int.from_bytes(header[68:72], "big")
    if application_id != APPLICATION_ID:
        raise CorruptStoreError(
            f"{path!r} is not a jobqueue store: it is a SQLite database of another "
            f"application (application_id {application_id:#010x})"
        )
    _check_version(path, int.from_bytes(header[60:64], "big"))
    return True


def _check_version(path: str, version: int) -> None:
    if version > FORMAT_VERSION:
        raise IncompatibleStoreError(
            f"store {path!r} has format {version}, newer than format {FORMAT_VERSION} "
            "that this version of jobqueue reads: open it with a newer jobqueue"
        )
    if version < 1:
        raise CorruptStoreError(f"store {path!r} is damaged: format version {version}")


def _upgrade(conn: sqlite3.Connection) -> None:
    """Stamp an older format's file with this one, header and meta row in one transaction."""
    if conn.execute("PRAGMA user_version").fetchone()[0] < FORMAT_VERSION:
        conn.executescript(
            "BEGIN;"
            + f"PRAGMA user_version={FORMAT_VERSION};"
            + f"INSERT OR REPLACE INTO meta VALUES ('format', '{FORMAT_VERSION}');"
            + "COMMIT;"
        )


def _check_schema(conn: sqlite3.Connection, path: str) -> None:
    application_id = conn.execute("PRAGMA application_id").fetchone()[0]
    if application_id != APPLICATION_ID:
        raise CorruptStoreError(f"{path!r} is not a jobqueue store")
    _check_version(path, conn.execute("PRAGMA user_version").fetchone()[0])
    tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    if not tables >= _TABLES:
        missing = ", ".join(sorted(_TABLES - tables))
        raise CorruptStoreError(f"store {path!r} is damaged: table(s) {missing} missing")
