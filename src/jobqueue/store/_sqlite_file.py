"""The SQLite file of a store: what may be opened, its header, schema and format.

Everything here reads or checks the file; only ``upgrade`` writes, and only
once the file's content is verified (``claim`` creates and locks the lock
file beside it, never the database). A file is recognised by SQLite's
``application_id`` header field and its format by ``user_version``, both read
from the header bytes before SQLite opens the file.
"""

from __future__ import annotations

import os
import sqlite3
import stat
import sys
from collections.abc import Sequence
from typing import Any, Final

from ._base import StoredJournal
from ._errors import DAMAGE, CorruptStoreError, IncompatibleStoreError, StoreError, bounded, brief

if sys.platform == "win32":
    import msvcrt
else:
    import fcntl

__all__ = [
    "APPLICATION_ID",
    "FORMAT_VERSION",
    "NO_CHECKPOINT_ON_CLOSE",
    "SCHEMA",
    "blob",
    "check_header",
    "check_schema",
    "claim",
    "entry_number",
    "read_journal",
    "rows",
    "upgrade",
]

#: Written to SQLite's ``application_id`` header field: ``b"JobQ"``.
APPLICATION_ID: Final = 0x4A6F6251
#: The store format this version writes; newer files are refused. Formats 1
#: (JSON texts, histories as pairs), 2 (JSON texts), 3 (pickles, without the
#: job controls) and 4 (without saved state) are read too, and stamped 5 when
#: opened, since the entries written from then on are read only by versions
#: that know format 5.
FORMAT_VERSION: Final = 5

_MAGIC: Final = b"SQLite format 3\x00"
SCHEMA: Final = """
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID;
CREATE TABLE journal (number INTEGER PRIMARY KEY, entry BLOB NOT NULL);
CREATE TABLE snapshot (part INTEGER PRIMARY KEY, data BLOB NOT NULL);
"""
_TABLES: Final = frozenset({b"meta", b"journal", b"snapshot"})
# Files SQLite reads beside the database: each must be a regular file if it exists.
_COMPANIONS: Final = ("-wal", "-journal")
# Python 3.12+: a connection closed without folding its write-ahead log into
# the database. A refused store whose log a crash left behind keeps it as it was.
NO_CHECKPOINT_ON_CLOSE: Final[int | None] = getattr(
    sqlite3, "SQLITE_DBCONFIG_NO_CKPT_ON_CLOSE", None
)


def rows(conn: sqlite3.Connection, sql: str, params: Sequence[object] = ()) -> list[Any]:
    """Every row of a query, its cursor closed whatever happens.

    A cursor left open (say, by an error that keeps its frame alive) would keep
    the connection, and the file's lock, open after ``close()``.
    """
    cursor = conn.cursor()
    try:
        return cursor.execute(sql, params).fetchall()
    finally:
        cursor.close()


def blob(value: object) -> bytes:
    # Formats 1 and 2 stored JSON texts, read as bytes (text_factory).
    if isinstance(value, bytes):
        return value
    raise ValueError(f"an entry must be bytes, got {type(value).__name__}")


def entry_number(value: object) -> int:
    """An entry number, or the ``snapshot_upto`` meta value (a text)."""
    number = int(value) if isinstance(value, (int, bytes)) else -1
    if number < 0:
        raise ValueError(f"an entry number must be an int >= 0, got {brief(value)}")
    return number


def _not_regular(path: str, name: str, mode: int) -> StoreError | None:
    """Why the file ``name`` (the store ``path`` or a file beside it) cannot be opened, if so."""
    if stat.S_ISREG(mode):
        return None
    kinds = (
        (stat.S_ISDIR, "a directory"),
        (stat.S_ISFIFO, "a fifo"),
        (stat.S_ISSOCK, "a socket"),
        (stat.S_ISCHR, "a character device"),
        (stat.S_ISBLK, "a block device"),
    )
    kind = next((label for test, label in kinds if test(mode)), "a special file")
    what = "it" if name == path else repr(name)
    return StoreError(f"cannot open store {path!r}: {what} is {kind}, not a regular file")


def check_header(path: str) -> bool:
    """Whether ``path`` holds a store; raise if it holds anything else. Reads only.

    Never blocks: a FIFO, a device or a directory at the path (or at its
    ``-wal`` or ``-journal`` beside it, which SQLite would read) is refused
    before anything reads from it.
    """
    for suffix in _COMPANIONS:
        try:
            error = _not_regular(path, f"{path}{suffix}", os.stat(f"{path}{suffix}").st_mode)
        except OSError:
            continue  # absent: SQLite creates it
        if error is not None:
            raise error
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0)
    try:
        fd = os.open(path, flags)
    except FileNotFoundError:
        return False
    except OSError as exc:
        raise StoreError(f"cannot read store {path!r}: {exc}") from None
    try:
        error = _not_regular(path, path, os.fstat(fd).st_mode)
        header = b"" if error is not None else os.read(fd, 100)
    except OSError as exc:
        error = StoreError(f"cannot read store {path!r}: {exc}")
    finally:
        os.close(fd)
    if error is not None:
        raise error
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


def upgrade(conn: sqlite3.Connection) -> None:
    """Stamp an older format's file with this one, header and meta row in one transaction."""
    if rows(conn, "PRAGMA user_version")[0][0] < FORMAT_VERSION:
        conn.executescript(
            "BEGIN;"
            + f"PRAGMA user_version={FORMAT_VERSION};"
            + f"INSERT OR REPLACE INTO meta VALUES ('format', '{FORMAT_VERSION}');"
            + "COMMIT;"
        )


def check_schema(conn: sqlite3.Connection, path: str) -> None:
    """Raise unless the open file is a jobqueue store of a format this version reads."""
    if rows(conn, "PRAGMA application_id")[0][0] != APPLICATION_ID:
        raise CorruptStoreError(f"{path!r} is not a jobqueue store")
    _check_version(path, rows(conn, "PRAGMA user_version")[0][0])
    tables = {name for (name,) in rows(conn, "SELECT name FROM sqlite_master WHERE type = 'table'")}
    if not tables >= _TABLES:
        missing = ", ".join(sorted(name.decode() for name in _TABLES - tables))
        raise CorruptStoreError(f"store {path!r} is damaged: table(s) {missing} missing")


def read_journal(conn: sqlite3.Connection, path: str) -> StoredJournal:
    """The snapshot and the entries after it, read from ``conn``; nothing is written.

    Raises:
        CorruptStoreError: the file is damaged.
    """
    error: str | None = None
    try:
        meta = rows(conn, "SELECT value FROM meta WHERE key = 'snapshot_upto'")
        upto = entry_number(meta[0][0]) if meta else 0
        parts = tuple(
            blob(data) for (data,) in rows(conn, "SELECT data FROM snapshot ORDER BY part")
        )
        entries = tuple(
            (entry_number(n), blob(e))
            for n, e in rows(
                conn, "SELECT number, entry FROM journal WHERE number > ? ORDER BY number", (upto,)
            )
        )
    except sqlite3.DatabaseError as exc:
        error = str(exc)
    except DAMAGE as exc:
        error = brief(exc)
    if error is not None:
        raise CorruptStoreError(bounded(f"store {path!r} is damaged: {error}"))
    return StoredJournal(parts, upto, entries)


def claim(path: str) -> int:
    """Lock ``<path>-lock`` for one store; its descriptor (closing it releases the lock).

    A lock of the operating system, on a file SQLite does not use, rather than
    SQLite's exclusive locking mode, which would shut readers out too.

    Raises:
        StoreError: the lock file cannot be opened, or another store holds the lock.
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
