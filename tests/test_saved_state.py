"""Saved state and journaled progress, without threads: the value domain, the journal, recovery.

A job function saves state with ``ctx.save`` and reads it with ``ctx.saved``
(``test_runtime_saved.py`` runs those on real runtimes). Underneath, the
runtime encodes the value (``jobqueue._saved_state``), keeps the bytes on the
job through its trusted calls, and the store journals them with the job's
row. Here each part is driven on a ``ManualClock``: the engine with a backend
that runs nothing, as in ``test_runtime_threads.py``.
"""

from __future__ import annotations

import math
import pickle
from typing import Any

import pytest
from helpers import IdleBackend, fingerprint
from hypothesis import given
from hypothesis import strategies as st

from jobqueue import (
    ConflictError,
    Event,
    JobStatus,
    ManualClock,
    NotFound,
    Retry,
    Scheduler,
    ValidationError,
    WorkSaved,
)
from jobqueue._saved_state import MAX_SAVED_BYTES, check_state, decode_state, encode_state
from jobqueue.runtime import Progress, _trusted
from jobqueue.runtime._engine import Engine
from jobqueue.runtime._work import Work
from jobqueue.store import MemoryStore, _checks

S = JobStatus

# ---------------------------------------------------------------------- the value domain

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(),  # NaN and the infinities too: the encoding keeps a float's 8 bytes
    st.text(max_size=20),
    st.binary(max_size=20),
)
states = st.recursive(
    scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4),
        st.lists(inner, max_size=4).map(tuple),
        st.dictionaries(st.text(max_size=8), inner, max_size=4),
    ),
    max_leaves=30,
)


def typed(value: object) -> object:
    """``value`` with its types spelled out: ``1``, ``1.0`` and ``True`` differ, as do lists."""
    if isinstance(value, float):
        return ("float", value.hex())  # NaN equals NaN, -0.0 differs from 0.0
    if isinstance(value, (list, tuple)):
        return (type(value).__name__, [typed(v) for v in value])
    if isinstance(value, dict):
        return ("dict", [(k, typed(v)) for k, v in value.items()])
    return (type(value).__name__, value)


@given(states)
def test_a_saved_state_decodes_to_what_was_saved(value: object) -> None:
    data = encode_state(value)
    decoded = None if data is None else decode_state(data)
    assert typed(decoded) == typed(value)
    if data is not None:
        _checks._saved("saved", data)  # what a store holds passes the checks on open


class Thing:
    pass


class Text(str):
    pass


def nested(depth: int) -> list[Any]:
    value: list[Any] = []
    for _ in range(depth - 1):
        value = [value]
    return value


looped: list[Any] = [1]
looped.append({"again": looped})

KINDS = "None, bool, int, float, str, bytes, list, tuple or dict"
REFUSED: list[tuple[object, str]] = [
    ({1, 2}, f"state must be {KINDS}, got set"),
    (Thing(), f"state must be {KINDS}, got Thing"),
    ([1, {"rows": [0, bytearray(b"x")]}], f"state[1]['rows'][1] must be {KINDS}, got bytearray"),
    ({"name": Text("x")}, f"state['name'] must be {KINDS}, got Text"),
    ({"when": math.pi, 3: "x"}, "state keys must be str, got int"),
    ([{("a", "b"): 1}], "state[0] keys must be str, got tuple"),
    (looped, "state[1]['again'] must not contain itself"),
    (nested(101), "state[0][0][0][0][0][...] must nest at most 100 levels deep"),
    ("x" * MAX_SAVED_BYTES, "state must encode to at most 65536 bytes, got 65545"),
    ([[0] * 1000] * 66, "state must hold at most 65536 values"),  # small, but shared 66 times
]


@pytest.mark.parametrize(("value", "message"), REFUSED, ids=[m[:40] for _, m in REFUSED])
def test_a_value_outside_the_domain_is_refused_naming_where_and_what(
    value: object, message: str
) -> None:
    with pytest.raises(ValidationError) as info:
        encode_state(value)
    assert str(info.value) == message


def test_the_deepest_value_allowed_is_saved_and_a_copy_comes_back() -> None:
    value = nested(100)
    data = encode_state(value)
    assert data is not None and decode_state(data) == value
    assert decode_state(data) is not decode_state(data)


def test_the_size_cap_is_on_the_encoding() -> None:
    overhead = len(encode_state(b"x" * 1000) or b"") - 1000
    assert encode_state(b"x" * (MAX_SAVED_BYTES - overhead)) is not None
    with pytest.raises(ValidationError) as info:
        encode_state(b"x" * (MAX_SAVED_BYTES - overhead + 1))
    assert str(info.value) == "state must encode to at most 65536 bytes, got 65537"


def test_none_saves_nothing_and_the_check_names_its_field() -> None:
    assert encode_state(None) is None
    with pytest.raises(ValidationError, match=r"^saved\[0\] must be .*, got frozenset$"):
        check_state([frozenset()], "saved")


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (pickle.dumps(print, 5), "UnpicklingError: saved state may not name builtins.print"),
        (pickle.dumps([1, 2], 5)[:-3], "UnpicklingError: pickle data was truncated"),
        (b"", "EOFError: Ran out of input"),
    ],
)
def test_bytes_that_are_not_a_saved_state_do_not_decode(data: bytes, message: str) -> None:
    with pytest.raises(ValueError) as info:
        decode_state(data)
    assert str(info.value) == f"not a saved state: {message}"
    with pytest.raises(ValueError) as stray:
        decode_state(pickle.dumps([1], 5) + b"..")
    assert str(stray.value) == "2 stray bytes after the saved state"


# ---------------------------------------------------------------------- the job and its journal


def journaled() -> tuple[Scheduler, MemoryStore, ManualClock, list[Event]]:
    clock = ManualClock(100.0)
    store = MemoryStore(compact_every=None)
    sched = Scheduler.open(store, clock)
    events: list[Event] = []
    sched.subscribe(events.append)
    return sched, store, clock, events


def rows(store: MemoryStore) -> list[list[Any]]:
    """Every job row of the journal, in order."""
    entries = [pickle.loads(entry) for _, entry in store.load().entries]
    return [op for entry in entries for op in entry[1:] if op[0] == "j"]


def recovered(store: MemoryStore, clock: ManualClock) -> Scheduler:
    return Scheduler.open(store.copy(), clock)


def saved(sched: Scheduler, job_id: str) -> object:
    data = _trusted.saved(sched, job_id)
    return None if data is None else decode_state(data)


def test_a_save_is_one_journal_entry_and_survives_a_restart() -> None:
    sched, store, clock, events = journaled()
    job = sched.submit()
    sched.set_progress(job.id, 0.25)  # not journaled on its own...
    before = len(store)
    clock.advance(1.0)
    _trusted.save(sched, job.id, encode_state({"next": 3, "seen": (b"\x00", -0.0)}))
    assert len(store) == before + 1
    assert events[-1] == WorkSaved(101.0, job.id, 0.25, True)
    (row,) = rows(store)[-1:]
    assert row[24] == 0.25 and row[31] == encode_state({"next": 3, "seen": (b"\x00", -0.0)})
    copy = store.copy()
    again = Scheduler.open(copy, clock)
    assert typed(saved(again, job.id)) == typed({"next": 3, "seen": (b"\x00", -0.0)})
    assert again.get(job.id).progress == 0.25  # ...but with the save
    _trusted.save(again, job.id, None)  # None drops it
    assert saved(recovered(copy, clock), job.id) is None


def test_saving_on_a_finished_or_unknown_job_is_refused_and_changes_nothing() -> None:
    sched, store, _, events = journaled()
    job = sched.submit()
    _trusted.save(sched, job.id, encode_state([1]))
    sched.complete(job.id)
    before, entries, seen = fingerprint(sched), len(store), len(events)
    with pytest.raises(ConflictError) as info:
        _trusted.save(sched, job.id, encode_state([2]))
    assert str(info.value) == "job 'job-1' is Complete: its saved state cannot change"
    with pytest.raises(NotFound):
        _trusted.save(sched, "job-9", None)
    assert (fingerprint(sched), len(store), len(events)) == (before, entries, seen)
    assert saved(sched, job.id) == [1]  # kept until the job is purged
    _trusted.journal_progress(sched, job.id)  # a finished job's progress is journaled already
    _trusted.journal_progress(sched, "job-9")  # and a purged one is gone
    assert (len(store), len(events)) == (entries, seen)


def test_a_retry_keeps_the_saved_state() -> None:
    sched, store, clock, _ = journaled()
    job = sched.submit(retry=Retry(attempts=2, backoff=5.0, jitter=0.0))
    _trusted.save(sched, job.id, encode_state({"done": 7}))
    sched.fail(job.id, "broke")
    assert sched.get(job.id).status is S.PAUSED  # in its backoff
    clock.advance(5.0)
    sched.poll()
    assert (sched.get(job.id).status, sched.get(job.id).attempt) == (S.ACTIVE, 2)
    assert saved(sched, job.id) == {"done": 7}
    assert saved(recovered(store, clock), job.id) == {"done": 7}


# ---------------------------------------------------------------------- progress, throttled


def job_function_on_an_engine(
    store: MemoryStore | None,
) -> tuple[Scheduler, Engine, Work, ManualClock, list[Event]]:
    clock = ManualClock()
    if store is None:
        sched = Scheduler(clock, acknowledge=True)
    else:
        sched = Scheduler.open(store, clock, acknowledge=True)
    engine = Engine(sched, IdleBackend(), progress_interval=0.25)
    events: list[Event] = []
    sched.subscribe(events.append)
    job_id = engine.submit(None, print, 1, None, None, {})
    engine.settle()
    assert sched.get(job_id).status is S.ACTIVE
    return sched, engine, engine._works[job_id], clock, events


def test_a_job_functions_progress_is_journaled_at_the_throttled_rate() -> None:
    store = MemoryStore(compact_every=None)
    sched, engine, work, clock, events = job_function_on_an_engine(store)
    start = len(store)

    def report(at: float, *fractions: float) -> None:
        clock.set(at)
        for fraction in fractions:
            engine.set_progress(work, fraction)

    def poll(at: float) -> None:
        clock.set(at)
        engine.poll()

    report(0.0, 0.1)  # journaled at once
    report(0.1, 0.2, 0.3, 0.4)  # merged: the newest is journaled at 0.25
    assert engine.next_deadline() == 0.25
    poll(0.25)
    report(0.3, 0.5)  # merged, due at 0.5
    assert sched.get(work.job_id).progress == 0.5  # the job shows it at once...
    again = recovered(store, clock)
    assert again.get(work.job_id).progress == 0.4  # ...a restart the last journaled
    poll(0.5)
    poll(0.75)  # nothing new: nothing written
    saves = [(e.time, e.progress, e.state) for e in events if isinstance(e, WorkSaved)]
    assert saves == [(0.0, 0.1, False), (0.25, 0.4, False), (0.5, 0.5, False)]
    # One entry with the job's row per journaled update, and nothing else.
    assert len(store) - start == 3
    assert [row[24] for row in rows(store)[-3:]] == [0.1, 0.4, 0.5]
    assert recovered(store, clock).get(work.job_id).progress == 0.5


def test_without_a_store_or_subscribers_progress_is_not_throttled() -> None:
    sched, engine, work, _, events = job_function_on_an_engine(None)
    engine.set_progress(work, 0.5)
    engine.set_progress(work, 0.6)
    assert sched.get(work.job_id).progress == 0.6
    assert not engine.progress_pending and engine.next_deadline() is None
    assert not [e for e in events if isinstance(e, WorkSaved)]


def test_progress_of_a_job_function_that_finished_is_not_journaled_again() -> None:
    store = MemoryStore(compact_every=None)
    _, engine, work, clock, _ = job_function_on_an_engine(store)
    sent: list[Event] = []
    engine.subscribe(sent.append)
    engine.set_progress(work, 0.1)
    engine.set_progress(work, 0.9)  # merged
    engine.fn_ended(work, None, False, "done")  # the job completes with its row: 0.9
    entries = len(store)
    clock.set(0.25)
    engine.poll()
    assert len(store) == entries  # the merged update goes out, with no write
    assert [e.fraction for e in sent if isinstance(e, Progress)] == [0.1, 0.9]
    assert recovered(store, clock).get(work.job_id).progress == 0.9


def test_a_task_jobs_progress_needs_no_write_of_its_own() -> None:
    store = MemoryStore(compact_every=None)
    clock = ManualClock()
    sched = Scheduler.open(store, clock, acknowledge=True)
    engine = Engine(sched, IdleBackend(), progress_interval=0.25)
    engine.subscribe(lambda event: None)  # Progress events go out for task jobs
    job_id = engine.submit(print, None, 1, 4, None, {})
    engine.settle()
    entries = len(store)
    for key in "012":
        sched.record_task(job_id, key, ok=True)
    clock.set(0.25)
    engine.poll()
    assert len(store) == entries + 3  # the three outcomes, each with the job's row
    assert recovered(store, clock).get(job_id).progress == 0.75
