"""A damaged store is refused with a typed error, unchanged on disk, and released.

Every test damages a journal written by the scheduler itself, as a flipped
bit, a foreign writer or a bug of another version would, and checks that
``Scheduler.open`` (or ``SQLiteStore``) raises ``CorruptStoreError`` naming
the entry and the field, that the file and everything beside it are as they
were, byte for byte, and that nothing holds the file any more, even while the
error is still referenced.
"""

from __future__ import annotations

import contextlib
import copy
import hashlib
import json
import math
import os
import pickle
import random
import sqlite3
import threading
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any
from unittest import mock

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from jobqueue import (
    Aging,
    Dependency,
    HopRule,
    JobStatus,
    LimitExceededError,
    ManualClock,
    Retry,
    Scheduler,
    ValidationError,
)
from jobqueue._saved_state import encode_state
from jobqueue.runtime import _trusted
from jobqueue.store import (
    CorruptStoreError,
    MemoryStore,
    SQLiteStore,
    Store,
    StoredJournal,
    StoreError,
    _checks,
)

# ---------------------------------------------------------------------- a journal to damage

CLOCK = 5000.0  # after every change of the scenario


def scenario(store: Store) -> None:
    """Journal every kind of op, in entries 1 to 12 (see the test that lists them)."""
    clock = ManualClock(10.0)
    sched = Scheduler.open(store, clock, retention=1000.0)
    sched.create_queue("q", slots=1, policy="priority", preemption=True, tags={"team": "a"})
    sched.create_queue("other", pricing="reserved")
    first = sched.submit(
        queue="q",
        priority=3,
        name="n1",
        description="d",
        tags={"k": "v"},
        tasks=["a", "b"],
        report="all",
    )
    second = sched.submit(queue="q", hops=[HopRule("other", 60.0, 5)], tasks=2)
    sched.record_task(first.id, "a", ok=False, error_code="E", message="m")
    clock.advance(60.0)
    sched.poll()  # the second job hops to "other" and starts there
    sched.fail(second.id, "broke", code="Oops")
    sched.complete(first.id)
    sched.submit(queue="q", confirmation_required=True)
    sched.create_queue("temp")
    sched.delete_queue("temp")
    clock.advance(1000.0)
    sched.poll()  # purges the two finished jobs


def journal() -> list[Any]:
    """The scenario's entries, decoded: ``journal()[n - 1]`` is entry ``n``."""
    store = MemoryStore(compact_every=None)
    scenario(store)
    return [pickle.loads(entry) for _, entry in store.load().entries]


def memory_store(entries: list[Any], snapshot: list[Any] | None = None) -> MemoryStore:
    """A store holding ``entries`` (encoded as the journal does), after ``snapshot``."""
    store = MemoryStore(compact_every=None)
    if snapshot is not None:
        store.replace([pickle.dumps(part, 5) for part in snapshot], 0)
    for data in entries:
        store.append(pickle.dumps(data, 5))
    return store


def file_store(path: Path, entries: list[Any], snapshot: list[Any] | None = None) -> None:
    """Write ``entries`` (after ``snapshot``) into a fresh store file, then close it."""
    with SQLiteStore(path, durability="batched") as store:
        if snapshot is not None:
            store.replace([pickle.dumps(part, 5) for part in snapshot], 0)
        for data in entries:
            store.append(pickle.dumps(data, 5))


def hashes(path: Path) -> dict[str, str]:
    """The store file and every file SQLite keeps beside it, by suffix."""
    found = {}
    for suffix in ("", "-wal", "-shm", "-journal"):
        beside = Path(f"{path}{suffix}")
        if beside.exists():
            found[suffix] = hashlib.sha256(beside.read_bytes()).hexdigest()
    return found


def assert_released(path: Path) -> None:
    """Another connection can take the file for writing now."""
    conn = sqlite3.connect(path, timeout=0.0)
    try:
        conn.execute("BEGIN EXCLUSIVE")
        conn.execute("ROLLBACK")
    except sqlite3.DatabaseError as exc:
        # A damaged file fails to read, but only once its lock is taken.
        assert "locked" not in str(exc), exc
    finally:
        conn.close()


def refused(open_it: Callable[[], object], path: Path, message: str) -> CorruptStoreError:
    """``open_it()`` raises ``CorruptStoreError(message)``; ``path`` is unchanged and free."""
    before = hashes(path)
    with pytest.raises(CorruptStoreError) as info:
        open_it()
    assert str(info.value) == message
    assert hashes(path) == before  # byte for byte, and no -wal or -shm file of ours
    assert_released(path)  # while the error (and its traceback) is still alive
    return info.value


def assert_refused(
    tmp_path: Path,
    backend: str,
    entries: list[Any],
    message: str,
    snapshot: list[Any] | None = None,
) -> None:
    """``Scheduler.open`` refuses the journal with ``message``: closed, unchanged, released."""
    if backend == "memory":
        store = memory_store(entries, snapshot)
        with pytest.raises(CorruptStoreError) as info:
            Scheduler.open(store, ManualClock(CLOCK))
        assert str(info.value) == message
        # Refused, the store is closed; what it holds is kept for a look.
        with pytest.raises(StoreError, match="store is closed"):
            store.load()
        assert len(store.copy()) == len(entries)
    else:
        path = tmp_path / "jobs.db"
        file_store(path, entries, snapshot)
        refused(lambda: Scheduler.open(SQLiteStore(path), ManualClock(CLOCK)), path, message)


def one_of(kind: type[Any]) -> str:
    return ", ".join(repr(m.value) for m in kind)


BACKENDS = pytest.mark.parametrize("backend", ["memory", "sqlite"])


def test_the_scenario_writes_every_kind_of_op() -> None:
    kinds = [[op[0] for op in data[1:]] for data in journal()]
    assert kinds == [
        ["q"], ["q"], ["j"], ["j"], ["j", "t"], ["j"], ["j"], ["j", "r", "u"], ["j"],
        ["q"], ["x"], ["p", "p"],
    ]  # fmt: skip
    assert fingerprint_of(memory_store(journal()))  # the undamaged journal opens


def fingerprint_of(store: Store) -> bool:
    sched = Scheduler.open(store, ManualClock(CLOCK), retention=1000.0)
    sched.check_invariants()
    return True


# ---------------------------------------------------------------------- damaged fields

STATUSES = one_of(JobStatus)
# (entry, op, path within the op, damaged value, what the message says after the entry)
DAMAGED_FIELDS: list[tuple[int, int, tuple[Any, ...], object, str]] = [
    # queue ops
    (1, 1, (2,), -math.inf, "queue 'q': slots must be an int, got float"),
    (1, 1, (2,), 0, "queue 'q': slots must be >= 1, got 0"),
    (1, 1, (3,), 1.5, "queue 'q': deferred_share must be in (0, 1], got 1.5"),
    (1, 1, (3,), math.nan, "queue 'q': deferred_share must be in (0, 1], got nan"),
    (1, 1, (4,), 0, "queue 'q': max_waiting must be >= 1, got 0"),
    (1, 1, (5,), "lifo", "queue 'q': policy must be 'fifo', 'priority' or 'custom', got 'lifo'"),
    (1, 1, (6,), 1, "queue 'q': preemption must be a bool, got int"),
    (1, 1, (7,), "free", "queue 'q': pricing must be one of 'on_demand', 'reserved', got 'free'"),
    (1, 1, (8,), [], "queue 'q': tags must be a dict, got list"),
    (1, 1, (8,), {"": "x"}, "queue 'q': tags: tag key must be 1-128 characters, got 0"),
    (1, 1, (9,), None, "queue 'q': paused must be a bool, got NoneType"),
    (1, 1, (10,), 7, "queue 'q': custom must be a str, got int"),
    (1, 1, (1,), 5, "queue: name must be a str, got int"),
    (
        1,
        1,
        (1,),
        "a b",
        "queue 'a b': name may contain only 0-9, a-z, A-Z, '.', '_' and '-', got 'a b'",
    ),
    (2, 1, (6,), True, "queue 'other': preemption needs policy 'priority', got 'fifo'"),
    (2, 1, (10,), "mine", "queue 'other': policy 'fifo' has no custom name, got 'mine'"),
    # job rows: the state part
    (3, 1, (1,), None, "job: id must be a str, got NoneType"),
    (3, 1, (2,), "Done", f"job 'job-1': status must be one of {STATUSES}, got 'Done'"),
    (3, 1, (3,), {}, "job 'job-1': priority must be an int, got dict"),
    (3, 1, (3,), 2**31, "job 'job-1': priority must be -2147483648..2147483647, got 2147483648"),
    (3, 1, (4,), -1, "job 'job-1': seq must be >= 0, got -1"),
    (3, 1, (5,), None, "job 'job-1': queue name must be a str, got NoneType"),
    (3, 1, (6,), {"k": 5}, "job 'job-1': tags: tag value for key 'k' must be a str, got int"),
    (3, 1, (9,), None, "job 'job-1': hop_token must be an int, got NoneType"),
    (3, 1, (10,), "no", "job 'job-1': hop_due must be a bool, got str"),
    (3, 1, (11,), math.inf, "job 'job-1': ready_at must be a finite number, got inf"),
    (3, 1, (12,), 1.0, "job 'job-1': succeeded must be an int, got float"),
    (3, 1, (15,), 0, "job 'job-1': holds_slot must be a bool, got int"),
    (3, 1, (17,), "yes", "job 'job-1': accelerated must be a bool, got str"),
    (3, 1, (18,), math.nan, "job 'job-1': started_at must be a finite number, got nan"),
    (3, 1, (22,), -1.0, "job 'job-1': run_seconds must be a finite number >= 0, got -1.0"),
    (3, 1, (23,), "2", "job 'job-1': billed_seconds must be a number, got str"),
    (3, 1, (24,), 1.5, "job 'job-1': progress must be in [0, 1], got 1.5"),
    (3, 1, (25, 2), None, "job 'job-1': history[2] must be a number, got NoneType"),
    (
        3,
        1,
        (25, 3),
        "Bogus",
        f"job 'job-1': history[3] must be one of {STATUSES}, got 'Bogus'",
    ),
    (3, 1, (25,), [], "job 'job-1': history must hold time, status pairs, got 0 items"),
    (3, 1, (27,), -3, "job 'job-1': timer_mark must be >= 0, got -3"),
    (6, 1, (26, 0, 2), "later", "job 'job-2': hop_transitions[0].time must be a number, got str"),
    (6, 1, (26, 0, 3), 1.5, "job 'job-2': hop_transitions[0].priority must be an int, got float"),
    (7, 1, (14, 0, 0), 7, "job 'job-2': failure_reasons[0].code must be a str, got int"),
    (7, 1, (14, 0), ["Oops"], "job 'job-2': failure_reasons[0] must have 2 fields, got 1"),
    # job rows: the saved state (jobqueue._saved_state)
    (3, 1, (31,), "state", "job 'job-1': saved must be bytes, got str"),
    (3, 1, (31,), [1, 2], "job 'job-1': saved must be bytes, got list"),
    (3, 1, (31,), b"x" * 65_537, "job 'job-1': saved must be at most 65536 bytes, got 65537"),
    (
        3,
        1,
        (31,),
        pickle.dumps(print, 5),
        "job 'job-1': saved cannot be read (ValueError: not a saved state: UnpicklingError: "
        "saved state may not name builtins.print)",
    ),
    (
        3,
        1,
        (31,),
        pickle.dumps([1, 2], 5)[:-4],
        "job 'job-1': saved cannot be read (ValueError: not a saved state: UnpicklingError: "
        "pickle data was truncated)",
    ),
    (
        3,
        1,
        (31,),
        pickle.dumps({"rows": {1.5}}, 5),
        "job 'job-1': saved['rows'] must be None, bool, int, float, str, bytes, list, tuple "
        "or dict, got set",
    ),
    (
        3,
        1,
        (31,),
        pickle.dumps({7: "x"}, 5),
        "job 'job-1': saved keys must be str, got int",
    ),
    # job rows: fields that must agree with each other
    (4, 1, (8,), 5, "job 'job-2': hop_index must be 0..1, got 5"),
    (3, 1, (15,), False, "job 'job-1': holds_slot must be True for a job that is Active"),
    (3, 1, (16,), True, "job 'job-1': leaving must be False for a job that is Active"),
    (9, 1, (15,), True, "job 'job-3': holds_slot must be False for a job that is Suspended"),
    (4, 1, (29,), None, "job 'job-2' changed before it was submitted"),
    # job rows: the configuration part
    (3, 1, (29, 0), 0, "job 'job-1': config: index must be >= 1, got 0"),
    (
        3,
        1,
        (29, 1),
        "bad name",
        "job 'job-1': config: name may contain only 0-9, a-z, A-Z, '.', '_' and '-', "
        "got 'bad name'",
    ),
    (
        3,
        1,
        (29, 2),
        "x" * 300,
        "job 'job-1': config: description must be 0-256 characters, got 300",
    ),
    (3, 1, (29, 3), 7, "job 'job-1': config: submission_queue: queue name must be a str, got int"),
    (3, 1, (29, 4), None, "job 'job-1': config: deferred must be a bool, got NoneType"),
    (3, 1, (29, 7), "now", "job 'job-1': config: created_at must be a number, got str"),
    (
        3,
        1,
        (29, 9),
        "turbo",
        "job 'job-1': config: acceleration must be one of 'disabled', 'enabled', 'preferred', "
        "got 'turbo'",
    ),
    (
        3,
        1,
        (29, 11),
        "some",
        "job 'job-1': config: report must be one of 'all', 'failed', got 'some'",
    ),
    (
        3,
        1,
        (29, 12),
        3,
        "job 'job-1': config: tasks_total must be the 2 keys of the manifest, got 3",
    ),
    (
        3,
        1,
        (29, 13),
        ["a", "a"],
        "job 'job-1': config: task_keys: task key 'a' appears twice in the manifest",
    ),
    (3, 1, (29, 13), "ab", "job 'job-1': config: task_keys must be a list, got str"),
    (3, 1, (29,), [1], "job 'job-1': config must have 15 fields, got 1"),
    (3, 1, (), ["j", "job-1"], "job 'job-1' must have 32 fields, got 2"),
    (
        4,
        1,
        (29, 8, 0, 0),
        None,
        "job 'job-2': config: hops[0].queue: queue name must be a str, got NoneType",
    ),
    (
        4,
        1,
        (29, 8, 0, 1),
        0,
        "job 'job-2': config: hops[0].wait must be a finite number > 0, got 0",
    ),
    (4, 1, (29, 8, 0, 2), "high", "job 'job-2': config: hops[0].priority must be an int, got str"),
    # task outcomes, reports, purges, deleted queues
    (
        5,
        2,
        (3,),
        "ok",
        "task outcome of job 'job-1': status must be one of 'succeeded', 'failed', got 'ok'",
    ),
    (5, 2, (2,), None, "task outcome of job 'job-1': key must be a str, got NoneType"),
    (5, 2, (5,), b"m", "task outcome of job 'job-1': message must be a str, got bytes"),
    (5, 2, (1,), 1, "task outcome: job_id must be a str, got int"),
    (5, 2, (1,), "job-9", "task outcome for unknown job 'job-9'"),
    (
        8,
        2,
        (2,),
        "nope",
        "report of job 'job-1': report is not valid json: "
        "Expecting value: line 1 column 1 (char 0)",
    ),
    (8, 2, (2,), None, "report of job 'job-1': report must be a str, got NoneType"),
    (12, 1, (1,), None, "purge: job_id must be a str, got NoneType"),
    (11, 1, (1,), 3, "deleted queue: name must be a str, got int"),
    # billing totals
    (8, 3, (2,), -5.0, "billing total: seconds must be a finite number >= 0, got -5.0"),
    (8, 3, (2,), "60", "billing total: seconds must be a number, got str"),
    (8, 3, (1,), [["team"]], "billing total: billing_tags[0] must have 2 fields, got 1"),
    (
        8,
        3,
        (1,),
        [["z", "1"], ["a", "2"]],
        "billing total: billing_tags must be sorted by key, each key once",
    ),
    # the entry itself, and its time
    (3, 0, (), math.inf, "time must be a finite number, got inf"),
    (3, 0, (), math.nan, "time must be a finite number, got nan"),
    (3, 0, (), "10", "time must be a number, got str"),
    (3, 1, (), 5, "an op must be a non-empty list, got 5"),
    (3, 1, (), ["z", 1], "unknown op 'z'"),
    (3, 1, (0,), None, "unknown op None"),
]


def damage(entries: list[Any], entry: int, op: int, path: tuple[Any, ...], value: object) -> None:
    """Set one field of one op (``op`` 0 is the entry's time) of ``entries`` to ``value``."""
    target = entries[entry - 1]
    if op == 0 or not path:
        target[op] = value
        return
    target = target[op]
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value


@BACKENDS
@pytest.mark.parametrize(
    ("entry", "op", "path", "value", "detail"),
    DAMAGED_FIELDS,
    ids=[f"{e}.{o}.{'.'.join(map(str, p))}={v!r}"[:60] for e, o, p, v, _ in DAMAGED_FIELDS],
)
def test_a_damaged_field_is_refused_naming_the_entry_and_field(
    tmp_path: Path,
    backend: str,
    entry: int,
    op: int,
    path: tuple[Any, ...],
    value: object,
    detail: str,
) -> None:
    entries = journal()
    damage(entries, entry, op, path, value)
    assert_refused(tmp_path, backend, entries, f"store is damaged: journal entry {entry}: {detail}")


def compacted() -> tuple[list[Any], list[Any]]:
    """The scenario as a snapshot (decoded parts) and the entries after it."""
    store = MemoryStore(compact_every=None)
    scenario(store)
    store.compact()
    sched = store.scheduler
    assert sched is not None
    sched.submit(queue="q", confirmation_required=True)
    stored = store.load()
    parts = [pickle.loads(part) for part in stored.snapshot]
    return parts, [pickle.loads(entry) for _, entry in stored.entries]


@BACKENDS
@pytest.mark.parametrize(
    ("field", "value", "detail"),
    [
        (0, math.inf, "time must be a finite number, got inf"),
        (0, None, "time must be a number, got NoneType"),
        (1, 0, "next_index must be >= 1, got 0"),
        (1, 1.0, "next_index must be an int, got float"),
        (None, {"time": 0.0}, "must be a list [time, next_index], got {'time': 0.0}"),
    ],
)
def test_a_damaged_snapshot_header_is_refused(
    tmp_path: Path, backend: str, field: int | None, value: object, detail: str
) -> None:
    parts, entries = compacted()
    if field is None:
        parts[0] = value
    else:
        parts[0][field] = value
    assert_refused(
        tmp_path, backend, entries, f"store is damaged: snapshot header: {detail}", parts
    )


@BACKENDS
def test_a_damaged_snapshot_part_is_refused_naming_it(tmp_path: Path, backend: str) -> None:
    parts, entries = compacted()
    assert Scheduler.open(memory_store(entries, parts), ManualClock(CLOCK))  # undamaged, it opens
    parts[1][0][2] = 0  # the slots of the first queue, "default"
    assert_refused(
        tmp_path,
        backend,
        entries,
        "store is damaged: snapshot part 1: queue 'default': slots must be >= 1, got 0",
        parts,
    )


@pytest.mark.parametrize(
    ("entry", "op", "path", "value", "message"),
    [
        # Each field is well formed; together they are not a state the scheduler can be in.
        (9, 1, (5,), "nowhere", "store is damaged: job 'job-3' is in unknown queue 'nowhere'"),
        (
            9,
            1,
            (2,),
            "Ready",
            "store is damaged: queue 'q': job 'job-3' waits at the head of the line while a "
            "slot is free; job 'job-3': history does not run from New to Ready",
        ),
        (9, 1, (29, 0), 1, "store is damaged: jobs 'job-1' and 'job-3' have one number, 1"),
        (9, 1, (29, 1), "n1", "store is damaged: job name 'n1' is used by two unfinished jobs"),
    ],
)
def test_records_at_odds_with_each_other_are_refused(
    entry: int, op: int, path: tuple[Any, ...], value: object, message: str
) -> None:
    entries = journal()[:9]  # job-1 and job-2 not yet purged
    damage(entries, entry, op, path, value)
    if "n1" in message:
        damage(entries, 8, 1, (2,), "Active")  # job-1 unfinished, so its name is taken
        damage(
            entries, 8, 1, (25,), [10.0, "New", 10.0, "Preparing", 10.0, "Ready", 10.0, "Active"]
        )
        damage(entries, 8, 1, (15,), True)
    with pytest.raises(CorruptStoreError) as info:
        Scheduler.open(memory_store(entries), ManualClock(CLOCK))
    assert str(info.value) == message


# ---------------------------------------------------------------------- any one field


def positions(value: object, path: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    """The path of every item (list index or dict key) within ``value``, nested ones too."""
    items: list[tuple[Any, object]] = []
    if isinstance(value, list):
        items = list(enumerate(value))
    elif isinstance(value, dict):
        items = list(value.items())
    for key, item in items:
        yield (*path, key)
        yield from positions(item, (*path, key))


JOURNAL: list[Any] = journal()
PLACES: list[tuple[int, tuple[Any, ...]]] = [
    (n, path) for n, data in enumerate(JOURNAL) for path in positions(data)
]
WEIRD = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-3, 12),
    st.integers(),
    st.sampled_from([2**31, 2**63, -(2**31) - 1, 10**400]),
    st.floats(),
    st.sampled_from(["", "q", "other", "temp", "job-1", "job-3", "n1", "a", "x" * 300]),
    st.sampled_from([s.value for s in JobStatus] + ["fifo", "priority", "custom", "failed"]),
    st.sampled_from(["all", "on_demand", "reserved", "enabled", "preferred", "queue", "job"]),
    st.lists(st.sampled_from([0, 1.0, "a", None]), max_size=3),
    st.dictionaries(st.sampled_from(["", "k", "team"]), st.sampled_from(["", "v", 1]), max_size=2),
    st.just([[["deep"]]]),
    st.binary(max_size=8),
    st.sampled_from([pickle.dumps(v, 5) for v in ({1}, [None], {"k": b""}, ValueError)]),
)


def mutated(data: list[Any], path: tuple[Any, ...], value: object) -> list[Any]:
    """A copy of ``data`` with the item at ``path`` set to ``value`` (a dict key: renamed)."""
    data = copy.deepcopy(data)
    target: Any = data
    for key in path[:-1]:
        target = target[key]
    if isinstance(target, dict):
        target.pop(path[-1])
        if isinstance(value, str):
            target[value] = "v"
    else:
        target[path[-1]] = value
    return data


def refused_or_harmless(store: Store, time_damaged: bool) -> None:
    """``store`` is refused as damaged, or opens a scheduler that works and keeps its invariants."""
    try:
        sched = Scheduler.open(store, ManualClock(CLOCK), retention=1000.0)
    except CorruptStoreError:
        return
    except ValidationError as exc:
        # A well-formed time later than the clock: the clock's fault, not the store's.
        assert time_damaged
        assert str(exc).startswith("clock reads 5000.0, before the store's last change at ")
        return
    sched.check_invariants()
    with contextlib.suppress(LimitExceededError):  # a full line, as the store says
        sched.submit(queue="q" if "q" in [q.name for q in sched.list_queues()] else "default")
    sched.check_invariants()


@settings(suppress_health_check=[HealthCheck.too_slow], max_examples=300)
@given(place=st.sampled_from(PLACES), value=WEIRD)
def test_any_one_damaged_field_is_refused_or_harmless(
    place: tuple[int, tuple[Any, ...]], value: object
) -> None:
    n, path = place
    entries = list(JOURNAL)
    entries[n] = mutated(JOURNAL[n], path, value)
    refused_or_harmless(memory_store(entries), path == (0,))


def controls_scenario(store: Store) -> None:
    """Journal the job controls: an aging queue, held jobs, limits, a retry and its drop op."""
    clock = ManualClock(10.0)
    sched = Scheduler.open(store, clock, retention=1000.0, rng=random.Random(1))
    sched.create_queue("q", slots=1, policy="priority", aging=Aging(every=5.0, step=1, cap=2))
    first = sched.submit(
        queue="q",
        tasks=["a", "b"],
        max_run=30.0,
        retry=Retry(attempts=3, backoff=2.0, jitter=0.5, on=("Oops",)),
    )
    sched.submit(queue="q", after=[Dependency(first.id, on="any")], max_wait=100.0)
    sched.submit(queue="q", not_before=50.0, priority=2)
    sched.record_task(first.id, "a", ok=False, error_code="E", message="m")
    clock.advance(1.0)
    sched.fail(first.id, "broke", code="Oops")  # a retry: backoff, and the drop op
    clock.advance(5.0)
    sched.poll()
    # What a job function saved (ctx.save), with its progress.
    second = "job-2"
    sched.set_progress(second, 0.5)
    _trusted.save(sched, second, encode_state({"next": 3, "rows": [1.5, b"\x00", ("a", None)]}))


_controls_store = MemoryStore(compact_every=None)
controls_scenario(_controls_store)
CONTROLS = [pickle.loads(entry) for _, entry in _controls_store.load().entries]
CONTROL_PLACES = [(n, path) for n, data in enumerate(CONTROLS) for path in positions(data)]


def test_the_controls_scenario_journals_every_control() -> None:
    ops = [op for entry in CONTROLS for op in entry[1:]]
    assert any(op[0] == "a" for op in ops)  # the retry's drop op
    assert any(op[0] == "q" and op[11] == [5.0, 1, 2] for op in ops)
    configs = [op[29][14] for op in ops if op[0] == "j" and op[29] is not None]
    assert sum(c is not None for c in configs) == 3
    assert [op[24] for op in ops if op[0] == "j" and op[31] is not None] == [0.5]
    recovered = Scheduler.open(memory_store(CONTROLS), ManualClock(CLOCK), retention=1000.0)
    recovered.check_invariants()


@settings(suppress_health_check=[HealthCheck.too_slow], max_examples=300)
@given(place=st.sampled_from(CONTROL_PLACES), value=WEIRD)
def test_any_one_damaged_field_of_the_controls_is_refused_or_harmless(
    place: tuple[int, tuple[Any, ...]], value: object
) -> None:
    n, path = place
    entries = list(CONTROLS)
    entries[n] = mutated(CONTROLS[n], path, value)
    refused_or_harmless(memory_store(entries), path == (0,))


SNAPSHOT, AFTER = compacted()
SNAPSHOT_PLACES: list[tuple[int, tuple[Any, ...]]] = [
    (n, path) for n, part in enumerate(SNAPSHOT) for path in positions(part)
]


@settings(suppress_health_check=[HealthCheck.too_slow], max_examples=300)
@given(place=st.sampled_from(SNAPSHOT_PLACES), value=WEIRD)
def test_any_one_damaged_field_of_a_snapshot_is_refused_or_harmless(
    place: tuple[int, tuple[Any, ...]], value: object
) -> None:
    n, path = place
    parts = list(SNAPSHOT)
    parts[n] = mutated(SNAPSHOT[n], path, value)
    refused_or_harmless(memory_store(AFTER, parts), (n, path) == (0, (0,)))


ROW_PLACES = [(n, path) for n, path in PLACES if len(path) >= 2 and path[0] >= 1]


@given(place=st.sampled_from(ROW_PLACES), value=WEIRD)
def test_the_fast_path_passes_only_ops_that_every_check_passes(
    place: tuple[int, tuple[Any, ...]], value: object
) -> None:
    n, (i, *path) = place
    op = mutated(JOURNAL[n][i], tuple(path), value)
    try:
        kind = _checks.check_op(op)
    except ValidationError:
        return
    with (
        mock.patch.object(_checks, "plain_job_row", return_value=False),
        mock.patch.object(_checks, "plain_task_op", return_value=False),
    ):
        assert _checks.check_op(op) == kind  # raises if a field is damaged


# ---------------------------------------------------------------------- verify first, write after


def damaged_file(path: Path, encode: Callable[[Any], bytes | str] = pickle.dumps) -> None:
    """A store file of the scenario, each entry written by ``encode``, entry 3 cut short."""
    file_store(path, journal())
    conn = sqlite3.connect(path)
    rows = conn.execute("SELECT number, entry FROM journal").fetchall()
    texts = [(encode(pickle.loads(blob)), number) for number, blob in rows]
    texts[2] = (texts[2][0][:-9], 3)
    conn.executemany("UPDATE journal SET entry = ? WHERE number = ?", texts)
    conn.commit()
    conn.close()


DAMAGED = (
    "store is damaged: journal entry 3: not an entry: UnpicklingError: pickle data was truncated"
)


def test_a_rollback_journal_file_is_not_switched_to_wal_before_it_is_verified(
    tmp_path: Path,
) -> None:
    path = tmp_path / "jobs.db"
    damaged_file(path)
    conn = sqlite3.connect(path)
    assert conn.execute("PRAGMA journal_mode=DELETE").fetchone() == ("delete",)
    conn.close()
    assert path.read_bytes()[18:20] == b"\x01\x01"  # the header's rollback-journal mark
    refused(lambda: Scheduler.open(SQLiteStore(path), ManualClock(CLOCK)), path, DAMAGED)


def test_a_healthy_rollback_journal_file_is_switched_to_wal_once_verified(tmp_path: Path) -> None:
    path = tmp_path / "jobs.db"
    file_store(path, journal())
    conn = sqlite3.connect(path)
    conn.execute("PRAGMA journal_mode=DELETE")
    conn.close()
    with SQLiteStore(path) as store:
        assert path.read_bytes()[18:20] == b"\x01\x01"  # only read so far
        Scheduler.open(store, ManualClock(CLOCK), retention=1000.0)
        assert path.read_bytes()[18:20] == b"\x02\x02"  # write-ahead log


@pytest.mark.parametrize("version", [1, 2])
def test_an_older_format_is_not_stamped_before_it_is_verified(tmp_path: Path, version: int) -> None:
    path = tmp_path / "jobs.db"
    damaged_file(path, json.dumps)  # as formats 1 and 2 wrote entries: JSON texts
    conn = sqlite3.connect(path)
    conn.execute(f"PRAGMA user_version = {version}")
    conn.execute(f"UPDATE meta SET value = '{version}' WHERE key = 'format'")
    conn.commit()
    conn.close()
    refused(
        lambda: Scheduler.open(SQLiteStore(path), ManualClock(CLOCK)),
        path,
        "store is damaged: journal entry 3: not an entry: JSONDecodeError: "
        "Expecting value: line 1 column 328 (char 327)",
    )
    assert int.from_bytes(path.read_bytes()[60:64], "big") == version


def test_a_store_refused_for_its_clock_is_unchanged_and_opens_with_another(
    tmp_path: Path,
) -> None:
    path = tmp_path / "jobs.db"
    file_store(path, journal())
    conn = sqlite3.connect(path)
    conn.execute("PRAGMA journal_mode=DELETE")
    conn.close()
    before = hashes(path)
    with SQLiteStore(path) as store:
        with pytest.raises(ValidationError, match=r"clock reads 0\.0, before the store's last"):
            Scheduler.open(store, ManualClock())
        assert hashes(path) == before
        Scheduler.open(store, ManualClock(CLOCK), retention=1000.0).check_invariants()
    assert hashes(path) != before


@pytest.mark.skipif(
    not hasattr(sqlite3, "SQLITE_DBCONFIG_NO_CKPT_ON_CLOSE"),
    reason="Python 3.12+: before it, closing a connection folds a leftover log into the file",
)
def test_a_log_left_by_a_crash_is_kept_as_it_is_when_the_store_is_refused(
    tmp_path: Path,
) -> None:
    path = tmp_path / "jobs.db"
    damaged_file(path)
    store = SQLiteStore(path)
    store.load()
    store.append(pickle.dumps([CLOCK, ["p", "job-9"]], 5))  # into the log, not yet the file
    for suffix in ("", "-wal"):  # the files as a crash leaves them
        Path(f"{tmp_path / 'crashed.db'}{suffix}").write_bytes(Path(f"{path}{suffix}").read_bytes())
    store.close()
    crashed = tmp_path / "crashed.db"
    assert set(hashes(crashed)) == {"", "-wal"}
    refused(lambda: Scheduler.open(SQLiteStore(crashed), ManualClock(CLOCK)), crashed, DAMAGED)


# ---------------------------------------------------------------------- deep, huge, undecodable


def with_deep(data: object, depth: int = 100_000) -> bytes:
    """A pickle of ``data`` in which the string ``"DEEP"`` is a list nested ``depth`` deep.

    Built from opcodes, as a damaged file would hold it: pickling such a list
    would itself overflow the stack.
    """
    plain = pickle.dumps(data, 2)  # protocol 2 has no frames to keep in step
    deep = b"]" * depth + b"a" * (depth - 1)
    return plain.replace(b"X\x04\x00\x00\x00DEEP", deep, 1)


@pytest.mark.parametrize(
    ("where", "detail"),
    [
        ((), "time must be a number, got list"),
        ((1,), "unknown op [[[...]]]"),
        ((1, 6), "job 'job-1': tags must be a dict, got list"),
        ((1, 3), "job 'job-1': priority must be an int, got list"),
        ((1, 25), "job 'job-1': history[0] must have 2 fields, got 1"),
        (
            (1, 2),
            "job 'job-1': status cannot be read (RecursionError: "
            "maximum recursion depth exceeded while getting the repr of an object)",
        ),
    ],
)
def test_a_list_nested_100_000_deep_is_reported_in_a_few_words(
    where: tuple[int, ...], detail: str
) -> None:
    entries = journal()
    data: Any = entries[2]
    if where:
        target = data
        for key in where[:-1]:
            target = target[key]
        target[where[-1]] = "DEEP"
    else:
        data = "DEEP"
    store = memory_store(entries)
    store._entries[2] = with_deep(data)
    with pytest.raises(CorruptStoreError) as info:
        Scheduler.open(store, ManualClock(CLOCK))
    assert str(info.value) == f"store is damaged: journal entry 3: {detail}"


def test_a_json_array_100_000_deep_is_reported_as_damage(tmp_path: Path) -> None:
    path = tmp_path / "jobs.db"
    file_store(path, journal())
    conn = sqlite3.connect(path)
    conn.execute("UPDATE journal SET entry = ? WHERE number = 3", ("[" * 100_000 + "]" * 100_000,))
    conn.execute("PRAGMA user_version = 2")
    conn.commit()
    conn.close()
    error = refused(
        lambda: Scheduler.open(SQLiteStore(path), ManualClock(CLOCK)),
        path,
        "store is damaged: journal entry 3: not an entry: RecursionError: maximum recursion "
        "depth exceeded while decoding a JSON array from a unicode string",
    )
    assert isinstance(error, CorruptStoreError)


def test_a_report_nested_100_000_deep_is_reported_as_damage() -> None:
    entries = journal()
    damage(entries, 8, 2, (2,), '{"records": ' + "[" * 100_000 + "]" * 100_000 + "}")
    with pytest.raises(CorruptStoreError) as info:
        Scheduler.open(memory_store(entries), ManualClock(CLOCK))
    assert str(info.value).startswith(
        "store is damaged: journal entry 8: report of job 'job-1': report cannot be read "
        "(RecursionError: maximum recursion depth exceeded"
    )


@pytest.mark.parametrize(
    ("path", "value", "start"),
    [
        (
            (3,),
            10**5000,
            "job 'job-1': priority must be -2147483648..2147483647, got an int of 16610 bits",
        ),
        ((11,), 10**400, "job 'job-1': ready_at must be a finite number, got an int of 1329 bits"),
        (
            (29, 2),
            "é" * 10**6,
            "job 'job-1': config: description must be 0-256 characters, got 1000000",
        ),
        ((29, 1), "n" * 10**6, "job 'job-1': config: name must be 1-200 characters, got 1000000"),
        ((2,), "S" * 10**6, "job 'job-1': status must be one of 'New', "),
        ((1,), "j" * 10**6, "job 'jjjjjjjjjjjjjjjjjjjjjjjj"),
    ],
    ids=["int-5000-digits", "int-400-digits", "description", "name", "status", "id"],
)
def test_huge_values_give_short_messages(path: tuple[Any, ...], value: object, start: str) -> None:
    entries = journal()
    damage(entries, 3, 1, path, value)
    if path == (1,):
        damage(entries, 3, 1, (3,), None)  # something to report about the job so named
    with pytest.raises(CorruptStoreError) as info:
        Scheduler.open(memory_store(entries), ManualClock(CLOCK))
    message = str(info.value)
    assert message.startswith(f"store is damaged: journal entry 3: {start}"), message
    assert len(message) <= 300


def test_a_flipped_bit_in_a_table_name_is_damage(tmp_path: Path) -> None:
    path = tmp_path / "jobs.db"
    file_store(path, journal())
    data = bytearray(path.read_bytes())
    at = data.index(b"tablejournal")  # a row of sqlite_master: type, name, ...
    data[at + len("tablej")] ^= 0x80  # the table's name is no longer UTF-8
    path.write_bytes(bytes(data))
    before = hashes(path)
    with pytest.raises(CorruptStoreError) as info:
        SQLiteStore(path)
    assert str(info.value).startswith(f"store {str(path)!r} is damaged: UnicodeDecodeError: ")
    assert hashes(path) == before
    assert_released(path)


def test_text_that_is_not_utf8_is_damage(tmp_path: Path) -> None:
    path = tmp_path / "jobs.db"
    file_store(path, journal())
    conn = sqlite3.connect(path)
    conn.execute("UPDATE journal SET entry = CAST(x'5bff5d' AS TEXT) WHERE number = 3")
    conn.execute("UPDATE meta SET value = CAST(x'ff' AS TEXT) WHERE key = 'format'")
    conn.execute("PRAGMA user_version = 2")
    conn.commit()
    conn.close()
    error = refused(
        lambda: Scheduler.open(SQLiteStore(path), ManualClock(CLOCK)),
        path,
        "store is damaged: journal entry 3: not an entry: UnicodeDecodeError: 'utf-8' codec "
        "can't decode byte 0xff in position 1: invalid start byte",
    )
    assert isinstance(error, CorruptStoreError)


# ---------------------------------------------------------------------- released before raising


def test_a_store_refused_while_reading_is_released_while_the_error_lives(tmp_path: Path) -> None:
    path = tmp_path / "jobs.db"
    file_store(path, journal())
    conn = sqlite3.connect(path)
    conn.execute("UPDATE journal SET entry = 5 WHERE number = 3")  # not even bytes
    conn.commit()
    conn.close()
    error = refused(
        lambda: Scheduler.open(SQLiteStore(path), ManualClock(CLOCK)),
        path,
        f"store {str(path)!r} is damaged: ValueError: an entry must be bytes, got int",
    )
    # Still referenced: another store takes the file (and refuses it the same way).
    assert error.__traceback__ is not None
    with SQLiteStore(path) as again, pytest.raises(CorruptStoreError):
        again.load()


def test_a_store_refused_while_opening_is_released_while_the_error_lives(tmp_path: Path) -> None:
    path = tmp_path / "jobs.db"
    file_store(path, journal())
    conn = sqlite3.connect(path)
    conn.execute("DROP TABLE snapshot")
    conn.commit()
    conn.close()
    refused(
        lambda: SQLiteStore(path),
        path,
        f"store {str(path)!r} is damaged: table(s) snapshot missing",
    )


@pytest.mark.slow
def test_a_refused_store_is_released_for_another_process(tmp_path: Path) -> None:
    import subprocess
    import sys

    path = tmp_path / "jobs.db"
    damaged_file(path)
    with pytest.raises(CorruptStoreError) as info:
        Scheduler.open(SQLiteStore(path), ManualClock(CLOCK))
    code = (
        "import sqlite3, sys; c = sqlite3.connect(sys.argv[1], timeout=0.0); "
        "c.execute('BEGIN EXCLUSIVE'); c.execute('ROLLBACK'); c.close()"
    )
    done = subprocess.run([sys.executable, "-c", code, str(path)], timeout=60, check=False)
    assert done.returncode == 0
    assert str(info.value) == DAMAGED


# ---------------------------------------------------------------------- not a regular file


def open_in_thread(path: Path) -> BaseException | None:
    """``SQLiteStore(path)``'s error, from a thread that must finish within 10 s."""
    outcome: list[BaseException | None] = []

    def run() -> None:
        try:
            SQLiteStore(path).close()
            outcome.append(None)
        except BaseException as exc:
            outcome.append(exc)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    thread.join(timeout=10.0)
    if thread.is_alive():
        # Unblock the reader so the thread ends, then fail.
        fd = os.open(path, os.O_WRONLY | os.O_NONBLOCK)
        os.close(fd)
        thread.join(timeout=10.0)
        pytest.fail(f"opening {path} blocked")
    return outcome[0]


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no FIFOs on this platform")
def test_a_fifo_at_the_store_path_is_refused_without_blocking(tmp_path: Path) -> None:
    path = tmp_path / "jobs.db"
    os.mkfifo(path)
    error = open_in_thread(path)
    assert type(error) is StoreError
    assert str(error) == f"cannot open store {str(path)!r}: it is a fifo, not a regular file"


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no FIFOs on this platform")
def test_a_fifo_beside_the_store_is_refused_without_blocking(tmp_path: Path) -> None:
    path = tmp_path / "jobs.db"
    file_store(path, journal())
    os.mkfifo(f"{path}-wal")
    before = path.read_bytes()
    outcome = open_in_thread(path)
    assert type(outcome) is StoreError
    assert str(outcome) == (
        f"cannot open store {str(path)!r}: {str(path) + '-wal'!r} is a fifo, not a regular file"
    )
    assert path.read_bytes() == before


def test_a_directory_at_the_store_path_is_refused(tmp_path: Path) -> None:
    with pytest.raises(StoreError) as info:
        SQLiteStore(tmp_path)
    assert type(info.value) is StoreError
    assert str(info.value) == (
        f"cannot open store {str(tmp_path)!r}: it is a directory, not a regular file"
    )


# ---------------------------------------------------------------------- a backend of one's own


class ReadOnlyBackend(Store):
    """A backend that records whether it was asked to get ready for writing."""

    def __init__(self, stored: StoredJournal) -> None:
        super().__init__(compact_every=None)
        self.stored = stored
        self.calls: list[str] = []

    def load(self) -> StoredJournal:
        self.calls.append("load")
        return self.stored

    def open_for_writing(self) -> None:
        self.calls.append("open_for_writing")

    def append(self, entry: bytes) -> int:
        self.calls.append("append")
        return 1

    def replace(self, snapshot: Sequence[bytes], upto: int) -> None:
        raise NotImplementedError

    def close(self) -> None:
        self.calls.append("close")


def test_a_backend_is_asked_to_write_only_once_its_content_is_verified() -> None:
    good = memory_store(journal()).load()
    healthy = ReadOnlyBackend(good)
    Scheduler.open(healthy, ManualClock(CLOCK), retention=1000.0)
    assert healthy.calls[:2] == ["load", "open_for_writing"]
    entries = journal()
    damage(entries, 3, 1, (9,), None)
    damaged = ReadOnlyBackend(memory_store(entries).load())
    with pytest.raises(CorruptStoreError, match="hop_token"):
        Scheduler.open(damaged, ManualClock(CLOCK))
    assert damaged.calls == ["load", "close"]
