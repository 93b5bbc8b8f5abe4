"""Durability: journal a scheduler's changes and rebuild it after a crash.

A scheduler is in memory by default and pays nothing for durability. Open it
on a store instead, and every accepted submission and every change is
journaled before the call returns::

    from jobqueue import Scheduler
    from jobqueue.store import SQLiteStore

    store = SQLiteStore("jobs.db")              # durability="full" or "batched"
    sched = Scheduler.open(store)               # rebuilt from the file, if any
    sched.submit(queue="default", tasks=["a", "b"])
    ...
    store.close()

After a crash, ``Scheduler.open`` on the same file rebuilds every job, queue,
priority, line order, hop timer, tag, task outcome, report, history, billing
total and the id counter. Work that was running is settled as
``Scheduler.open`` documents (by default it waits again in its line, keeping
its place, and starts again as slots allow). A job's work is not stored: a
runtime given ``work_for`` takes the recovered scheduler over and runs it
(see ``jobqueue.runtime.Handler``).

What is and is not journaled:

* Every call that changes state is one entry, written before the call
  returns; calls made from a subscriber while it handles an event are part of
  the entry of the call that delivered the event.
* Progress reported with ``set_progress()`` is not a change of its own: it is
  saved with the job's next journaled change.
* The scheduler's settings (``acknowledge``, ``retention``, the access policy,
  ...) and its subscribers are not stored: pass them to ``Scheduler.open``.
* Queues with a policy other than ``"fifo"`` or ``"priority"`` are rebuilt by
  a factory given to ``Scheduler.open(policies=...)``, which then receives the
  waiting jobs in entry order and the Active ones in start order.

Verify first, write after: ``Scheduler.open`` checks every field of every
entry against the rules the API applies to the same value, and the rebuilt
scheduler against ``check_invariants()``, before the store writes anything.
A damaged store raises ``CorruptStoreError`` naming the entry and the field,
and is closed first: its file is left as it was, and free for another
process to open.

Stores: ``MemoryStore`` keeps the journal in memory (tests, simulations,
forks with ``copy()``); ``SQLiteStore`` keeps it in one SQLite file with
``"full"`` or ``"batched"`` durability; subclass ``Store`` for another backend.
"""

from ._base import Store as Store
from ._base import StoredJournal as StoredJournal
from ._errors import CorruptStoreError as CorruptStoreError
from ._errors import IncompatibleStoreError as IncompatibleStoreError
from ._errors import StoreError as StoreError
from ._memory import MemoryStore as MemoryStore
from ._sqlite import SQLiteStore as SQLiteStore
from ._sqlite import read_stored as read_stored
from ._sqlite_file import APPLICATION_ID as APPLICATION_ID
from ._sqlite_file import FORMAT_VERSION as FORMAT_VERSION

__all__ = [
    "APPLICATION_ID",
    "FORMAT_VERSION",
    "CorruptStoreError",
    "IncompatibleStoreError",
    "MemoryStore",
    "SQLiteStore",
    "Store",
    "StoreError",
    "StoredJournal",
    "read_stored",
]
