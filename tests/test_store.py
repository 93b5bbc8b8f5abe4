"""Stores: journaling per call, recovery of running work, compaction, files and formats."""

from __future__ import annotations

import enum
import json
import os
import pickle
import random
import re
import shutil
import sqlite3
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import pytest
from _crash_child import QUEUES, step
from helpers import fingerprint, job_ids

from jobqueue import (
    Event,
    FailureReason,
    HopHeld,
    HopRule,
    HopsDropped,
    JobStatus,
    JobTransitioned,
    LimitExceededError,
    ManualClock,
    Retry,
    Scheduler,
    ValidationError,
)
from jobqueue._core import core_of
from jobqueue.policies import FairSharePolicy
from jobqueue.store import (
    APPLICATION_ID,
    FORMAT_VERSION,
    CorruptStoreError,
    IncompatibleStoreError,
    MemoryStore,
    SQLiteStore,
    Store,
    StoredJournal,
    StoreError,
)
from jobqueue.store._recovery import recover_interrupted

S = JobStatus


def statuses(sched: Scheduler, job_id: str) -> list[str]:
    return [change.status.value for change in sched.get(job_id).history]


def line(sched: Scheduler, queue: str) -> list[str]:
    """The jobs waiting in ``queue``, first to start first."""
    found = [
        (pos.position, job_id)
        for job_id in job_ids(sched)
        if (pos := sched.position(job_id)) is not None and pos.queue == queue
    ]
    return [job_id for _, job_id in sorted(found)]


def reopen(store: MemoryStore, clock: ManualClock, **settings: object) -> Scheduler:
    """Open a second scheduler on a copy of ``store``: the state after a crash now."""
    return Scheduler.open(store.copy(), clock, **settings)  # type: ignore[arg-type]


def crash(store: MemoryStore, sched: Scheduler, clock: ManualClock) -> Scheduler:
    """Rebuild from a copy of ``store``, and settle ``sched``'s running work the same way."""
    recovered = reopen(store, clock)
    journal = store._journal
    assert journal is not None
    recover_interrupted(sched, "requeue", journal.last_time)
    return recovered


def workload(sched: Scheduler, clock: ManualClock, seed: int, steps: int) -> list[str]:
    for name, settings in QUEUES.items():
        sched.create_queue(name, **settings)  # type: ignore[arg-type]
    rng = random.Random(seed)
    ids: list[str] = []
    for _ in range(steps):
        step(sched, clock, rng, ids)
    return ids


def copy_files(path: Path, dest: Path) -> None:
    """Copy a store file as a crash would leave it: the database and its write-ahead log."""
    for suffix in ("", "-wal"):
        src = Path(f"{path}{suffix}")
        if src.exists():
            shutil.copyfile(src, f"{dest}{suffix}")


# ---------------------------------------------------------------------- journaling


def test_an_empty_store_opens_a_fresh_scheduler() -> None:
    clock = ManualClock(5.0)
    sched = Scheduler.open(MemoryStore(), clock)
    assert fingerprint(sched) == fingerprint(Scheduler(clock))


def test_each_changing_call_is_one_entry_and_reads_write_nothing() -> None:
    store = MemoryStore()
    clock = ManualClock()
    sched = Scheduler.open(store, clock)
    sched.update_queue("default", slots=1)
    assert len(store) == 1
    first = sched.submit(tasks=["a", "b"])  # New, Preparing, Ready, Active: one call
    assert len(store) == 2
    second = sched.submit()
    sched.record_task(first.id, "a", ok=True)
    sched.complete(first.id)  # also starts the second job: still one call
    assert len(store) == 5
    assert sched.get(second.id).status is S.ACTIVE
    sched.get(first.id)
    sched.list_jobs()
    sched.update_priority(second.id, 0)  # no change
    sched.pause_queue("default")
    sched.pause_queue("default")  # already paused
    sched.poll()  # nothing due
    with pytest.raises(ValidationError):
        sched.submit(priority=True)
    assert len(store) == 6


def test_a_rejected_call_journals_nothing_and_recovery_ignores_nothing() -> None:
    store = MemoryStore()
    clock = ManualClock()
    sched = Scheduler.open(store, clock)
    job = sched.submit(confirmation_required=True)
    before = fingerprint(sched)
    entries = len(store)
    with pytest.raises(ValidationError):
        sched.put_tags(job.id, {"": "x"})
    assert len(store) == entries
    assert fingerprint(sched) == before
    assert fingerprint(reopen(store, clock)) == before


def test_a_submission_is_on_disk_when_submit_returns(tmp_path: Path) -> None:
    for durability in ("full", "batched"):
        path = tmp_path / f"{durability}.db"
        store = SQLiteStore(path, durability=durability)
        sched = Scheduler.open(store, ManualClock())
        sched.pause_queue("default")
        job = sched.submit(name="kept", tags={"team": "a"})
        # Copying the files while the store is open is what a crash leaves behind.
        copy_files(path, tmp_path / "copy.db")
        store.close()
        copy = SQLiteStore(tmp_path / "copy.db")
        recovered = Scheduler.open(copy, ManualClock())
        assert recovered.get(job.id) == sched.get(job.id)
        copy.close()
        for suffix in ("", "-wal"):
            Path(f"{tmp_path / 'copy.db'}{suffix}").unlink(missing_ok=True)


def test_a_file_store_reopens_to_the_same_state(tmp_path: Path) -> None:
    path = tmp_path / "jobs.db"
    clock = ManualClock()
    store = SQLiteStore(path)
    sched = Scheduler.open(store, clock, retention=1e9)
    workload(sched, clock, seed=7, steps=400)
    for queue in sched.list_queues():
        sched.pause_queue(queue.name)  # nothing starts on reopen
    for job_id in job_ids(sched):
        if sched.get(job_id).status is S.ACTIVE:
            sched.complete(job_id)
    before = fingerprint(sched)
    store.close()
    with SQLiteStore(path) as again:
        assert fingerprint(Scheduler.open(again, clock, retention=1e9)) == before


def test_a_reopened_job_has_extras_only_if_it_had_them() -> None:
    # The fields few jobs set (JobExtras) go through the store and back; a
    # job that set none of them comes back with none.
    clock = ManualClock()
    store = MemoryStore()
    sched = Scheduler.open(store, clock)
    plain = sched.submit()
    sched.complete(plain.id)
    busy = sched.submit()
    sched.set_progress(busy.id, 0.5)
    sched.fail(busy.id, "gave up", code="Broken")
    again = reopen(store, clock)
    record = core_of(again).job
    assert record(plain.id).extras is None
    assert record(busy.id).extras is not None
    assert again.get(busy.id) == sched.get(busy.id)
    assert again.get(plain.id) == sched.get(plain.id)


def test_jobs_stored_under_another_id_prefix_keep_their_ids() -> None:
    # Ids are the prefix and a number; a scheduler reopened with another
    # prefix finds the stored jobs by the ids they were given, numbers new
    # jobs on from them under its own prefix, and forgets a purged one.
    clock = ManualClock()
    store = MemoryStore()
    sched = Scheduler.open(store, clock, id_prefix="old-", retention=10.0)
    done, waiting = sched.submit(), sched.submit(confirmation_required=True)
    sched.complete(done.id)
    assert (done.id, waiting.id) == ("old-1", "old-2")
    again = reopen(store, clock, id_prefix="new-", retention=10.0)
    assert [again.get(j).id for j in ("old-1", "old-2")] == ["old-1", "old-2"]
    assert "new-1" not in again and "new-2" not in again
    fresh = again.submit()
    assert fresh.id == "new-3" and again.get("new-3") == fresh
    assert again.confirm("old-2").status is JobStatus.ACTIVE
    clock.advance(11.0)
    again.poll()
    assert "old-1" not in again and "old-2" in again
    assert core_of(again).other_ids == {"old-2": 2}
    again.check_invariants()


def test_a_new_job_never_takes_an_id_a_job_stored_under_another_prefix_holds() -> None:
    # Under the prefix "job-1", jobs 1 and 2 are "job-11" and "job-12"; reopened
    # under "job-", numbers 11 and 12 would spell those ids again: they are
    # skipped, so that each id names one job.
    clock = ManualClock()
    store = MemoryStore()
    sched = Scheduler.open(store, clock, id_prefix="job-1")
    assert [sched.submit().id for _ in range(2)] == ["job-11", "job-12"]
    again = reopen(store, clock, id_prefix="job-")
    ids = [again.submit().id for _ in range(9)]
    assert ids == [f"job-{n}" for n in (*range(3, 11), 13)]
    assert [again.get(j).id for j in ("job-11", "job-12", "job-13")] == [
        "job-11",
        "job-12",
        "job-13",
    ]
    assert len(again) == 11
    again.check_invariants()


@pytest.mark.parametrize("durability", ["full", "batched"])
def test_a_file_store_recovers_a_crash_like_memory(tmp_path: Path, durability: str) -> None:
    path = tmp_path / "jobs.db"
    clock = ManualClock()
    store = SQLiteStore(path, durability=durability, compact_every=60)  # type: ignore[arg-type]
    sched = Scheduler.open(store, clock, retention=1e9)
    workload(sched, clock, seed=3, steps=300)
    store.sync()  # nothing may move while the files are copied
    copy_files(path, tmp_path / "copy.db")
    journal = store._journal
    assert journal is not None
    recover_interrupted(sched, "requeue", journal.last_time)
    with SQLiteStore(tmp_path / "copy.db") as copy:
        recovered = Scheduler.open(copy, clock, retention=1e9)
        assert fingerprint(recovered) == fingerprint(sched)
    store.close()


# ---------------------------------------------------------------------- running work


def test_active_work_waits_again_in_its_place() -> None:
    store = MemoryStore()
    clock = ManualClock()
    sched = Scheduler.open(store, clock)
    sched.create_queue("one", slots=1)
    a = sched.submit(queue="one")
    b = sched.submit(queue="one")
    clock.advance(10.0)
    sched.poll()
    clock.advance(5.0)  # the process dies 5 s after its last journaled change
    recovered = reopen(store, clock)
    # Active -> Pausing -> Paused is the table's way back to waiting; the paused
    # job kept its entry number, so it starts again before the job behind it.
    assert statuses(recovered, a.id) == [
        "New", "Preparing", "Ready", "Active", "Pausing", "Paused", "Active"
    ]  # fmt: skip
    assert recovered.get(a.id).history[-1].time == 15.0
    assert recovered.get(b.id).status is S.READY
    assert recovered.get(a.id).run_seconds == 0.0  # nothing was journaled after the start
    recovered.check_invariants()


def test_run_time_is_billed_up_to_the_last_journaled_change() -> None:
    store = MemoryStore()
    clock = ManualClock()
    sched = Scheduler.open(store, clock)
    job = sched.submit()
    clock.advance(4.0)
    sched.submit()  # journaled at 4.0
    clock.advance(100.0)
    recovered = reopen(store, clock)
    assert recovered.get(job.id).run_seconds == 4.0
    assert recovered.get(job.id).billed_seconds == 4.0


def test_active_work_can_fail_as_interrupted() -> None:
    store = MemoryStore()
    clock = ManualClock()
    sched = Scheduler.open(store, clock)
    sched.create_queue("one", slots=1)
    a = sched.submit(queue="one", tasks=["k"], report="all")
    sched.record_task(a.id, "k", ok=True)
    b = sched.submit(queue="one")
    recovered = reopen(store, clock, interrupted="fail")
    job = recovered.get(a.id)
    assert statuses(recovered, a.id)[-3:] == ["Active", "Failing", "Failed"]
    assert job.failure_reasons == (FailureReason("Interrupted", "interrupted"),)
    report = recovered.report(a.id)
    assert report is not None and report.status is S.FAILED
    assert recovered.get(b.id).status is S.ACTIVE


class Team(enum.StrEnum):
    RED = "red"


class Text(str):
    """A str subclass whose ``str()`` is not its value."""

    def __str__(self) -> str:
        return "not the value"


def test_str_subclasses_are_journaled_as_their_values(tmp_path: Path) -> None:
    clock = ManualClock()
    with SQLiteStore(tmp_path / "jobs.db") as store:
        sched = Scheduler.open(store, clock)
        sched.create_queue(Team.RED, slots=1, tags={Text("team"): Team.RED})
        sched.create_queue(Text("blue"), slots=1)
        job = sched.submit(
            queue=Team.RED,
            name=Text("n1"),
            description=Text("d"),
            tags={Text("k"): Team.RED},
            tasks=[Text("a"), Text("b")],
            hops=[HopRule(Text("blue"), 1.0)],
        )
        sched.record_task(job.id, Text("a"), ok=False, error_code=Text("E"), message=Text("m"))
        sched.fail(job.id, Text("why"), code=Text("C"))
        live = fingerprint(sched)
    with SQLiteStore(tmp_path / "jobs.db") as store:
        recovered = Scheduler.open(store, clock)
        assert fingerprint(recovered) == live
        got = recovered.get(job.id)
        assert (got.queue, got.name, got.description, dict(got.tags)) == (
            "red",
            "n1",
            "d",
            {"k": "red"},
        )
        assert {type(got.queue), type(got.name), type(got.description)} == {str}
        assert {type(x) for x in [*got.tags, *got.tags.values()]} == {str}


def test_acknowledged_transitions_complete_on_recovery() -> None:
    store = MemoryStore()
    clock = ManualClock()
    settings = {"acknowledge": True, "failure_threshold_tasks": 1}
    sched = Scheduler.open(store, clock, **settings)  # type: ignore[arg-type]
    sched.create_queue("p", slots=2, policy="priority", preemption=True, deferred_share=1.0)
    low = sched.submit(queue="p", priority=1)
    gone = sched.submit(queue="p", priority=5)
    high = sched.submit(queue="p", priority=9)  # asks the low job to pause
    sched.cancel(gone.id)
    bad = sched.submit(tasks=["x"])
    sched.record_task(bad.id, "x", ok=False)  # over the threshold: Failing
    assert [sched.get(j).status for j in (low.id, gone.id, high.id, bad.id)] == [
        S.PAUSING,
        S.CANCELLING,
        S.READY,
        S.FAILING,
    ]
    recovered = reopen(store, clock, **settings)
    assert statuses(recovered, low.id)[-3:] == ["Pausing", "Paused", "Active"]
    assert statuses(recovered, gone.id)[-2:] == ["Cancelling", "Cancelled"]
    assert statuses(recovered, bad.id)[-2:] == ["Failing", "Failed"]
    assert recovered.get(bad.id).failure_reasons[0].code == "TaskFailureThreshold"
    assert recovered.get(high.id).status is S.ACTIVE
    recovered.check_invariants()


def test_recovery_events_reach_the_subscribers_given_to_open() -> None:
    store = MemoryStore()
    clock = ManualClock()
    sched = Scheduler.open(store, clock)
    job = sched.submit()
    seen: list[Event] = []
    reopen(store, clock, subscribers=[seen.append])
    moves = [(e.old, e.new) for e in seen if isinstance(e, JobTransitioned)]
    assert moves == [(S.ACTIVE, S.PAUSING), (S.PAUSING, S.PAUSED), (S.PAUSED, S.ACTIVE)]
    assert {e.job_id for e in seen if isinstance(e, JobTransitioned)} == {job.id}


# ---------------------------------------------------------------------- orders and timers


def test_hop_timers_with_equal_deadlines_fire_in_the_order_they_were_set() -> None:
    store = MemoryStore()
    clock = ManualClock()
    sched = Scheduler.open(store, clock)
    sched.create_queue("src", slots=1)
    sched.create_queue("dest", slots=1)
    sched.submit(queue="dest")  # keeps dest busy, so hopped jobs wait there in order
    sched.submit(queue="src")  # keeps src busy
    hop = [HopRule("dest", 10.0)]
    early = sched.submit(queue="src", hops=hop, confirmation_required=True)
    clock.advance(5.0)
    late = sched.submit(queue="src", hops=hop)  # timer set first ...
    sched.confirm(early.id)  # ... then this one: same deadline, 15.0
    clock.advance(1.0)
    recovered = reopen(store, clock)
    clock.set(15.0)
    for each in (sched, recovered):
        each.poll()
        assert line(each, "dest") == [late.id, early.id]


def test_a_hop_held_by_a_paused_queue_is_remembered() -> None:
    store = MemoryStore()
    clock = ManualClock()
    sched = Scheduler.open(store, clock)
    sched.create_queue("src", slots=1)
    sched.create_queue("dest")
    sched.pause_queue("src")
    ids = [sched.submit(queue="src", hops=[HopRule("dest", 5.0)]).id for _ in range(3)]
    events: list[Event] = []
    sched.subscribe(events.append)
    clock.advance(6.0)
    assert sched.poll() == 3
    assert events == [HopHeld(6.0, job_id, "src") for job_id in ids]
    recovered = reopen(store, clock)
    assert fingerprint(recovered) == fingerprint(sched)
    # Every timer fired (the hops are held): nothing is due any more.
    assert recovered.next_deadline() is None
    assert sched.next_deadline() is None
    assert recovered.poll() == 0
    seen: list[list[Event]] = [[], []]
    for each, log in zip((sched, recovered), seen, strict=True):
        each.subscribe(log.append)
        each.resume_queue("src")
    assert seen[0] == seen[1]
    assert any(isinstance(e, HopsDropped) for e in seen[0])
    assert fingerprint(recovered) == fingerprint(sched)
    assert fingerprint(crash(store, sched, clock)) == fingerprint(sched)


def test_a_hop_to_a_full_queue_ends_the_chain_and_says_so() -> None:
    store = MemoryStore()
    clock = ManualClock()
    sched = Scheduler.open(store, clock)
    sched.create_queue("src", slots=1)
    sched.create_queue("full", max_waiting=1)
    sched.pause_queue("full")
    sched.submit(queue="full")  # the one job "full" may hold waiting
    sched.submit(queue="src")  # keeps src's slot busy
    job = sched.submit(queue="src", hops=[HopRule("full", 2.0), HopRule("default", 2.0)])
    events: list[Event] = []
    sched.subscribe(events.append)
    clock.advance(2.0)
    assert sched.poll() == 1
    assert events == [HopsDropped(2.0, job.id, "src", "queue 'full' cannot take it")]
    recovered = crash(store, sched, clock)
    assert fingerprint(recovered) == fingerprint(sched)
    clock.advance(10.0)
    assert recovered.poll() == sched.poll() == 0
    assert recovered.get(job.id).queue == "src"


def test_billing_totals_survive_recovery() -> None:
    store = MemoryStore()
    clock = ManualClock()
    sched = Scheduler.open(store, clock)
    sched.create_queue("billed", tags={"team": "a"})
    for seconds in (3.0, 4.0):
        job = sched.submit(queue="billed", billing_tags_source="job", tags={"cost": "x"})
        other = sched.submit(queue="billed")
        clock.advance(seconds)
        sched.complete(job.id)
        sched.complete(other.id)
    assert [(dict(r.tags), r.seconds) for r in sched.usage_report()] == [
        ({"cost": "x"}, 7.0),
        ({"team": "a"}, 7.0),
    ]
    assert reopen(store, clock).usage_report() == sched.usage_report()


def test_billing_totals_survive_recovery_with_many_tag_sets() -> None:
    # Past a few dozen totals the journal looks only at the keys of the jobs a
    # call touched; a reserved queue bills nothing at all.
    store = MemoryStore()
    clock = ManualClock()
    sched = Scheduler.open(store, clock)
    sched.create_queue("billed", slots=200)
    sched.create_queue("flat", slots=10, pricing="reserved")
    for _ in range(2):  # the second round moves totals that exist already
        jobs = [
            sched.submit(queue=queue, billing_tags_source="job", tags={"cost": f"c{i}"})
            for i in range(100)
            for queue in ("billed", "flat")
        ]
        for job in jobs:
            clock.advance(1.0)
            sched.complete(job.id)
        assert reopen(store, clock).usage_report() == sched.usage_report()
    assert len(sched.usage_report()) == 100
    assert all(r.seconds > 0 for r in sched.usage_report())


def test_a_total_moved_by_a_job_purged_in_the_same_call_survives_recovery() -> None:
    store = MemoryStore()
    clock = ManualClock()
    sched = Scheduler.open(store, clock, retention=10.0)
    sched.create_queue("billed", slots=200)
    for i in range(100):  # many totals already journaled
        job = sched.submit(queue="billed", billing_tags_source="job", tags={"cost": f"c{i}"})
        sched.complete(job.id)
    job = sched.submit(queue="billed", billing_tags_source="job", tags={"cost": "c7"})
    clock.advance(3.0)

    def purge_at_once(event: Event) -> None:
        # A subscriber's calls are part of the entry of the call that delivered the event.
        if isinstance(event, JobTransitioned) and event.new is S.COMPLETE:
            clock.advance(10.0)
            sched.poll()

    sched.subscribe(purge_at_once)
    sched.complete(job.id)
    assert job.id not in job_ids(sched)
    assert reopen(store, clock, retention=10.0).usage_report() == sched.usage_report()


def test_purges_after_recovery_happen_in_finishing_order() -> None:
    store = MemoryStore()
    clock = ManualClock()
    sched = Scheduler.open(store, clock, retention=10.0)
    ids = [sched.submit().id for _ in range(3)]
    for job_id in reversed(ids):
        sched.complete(job_id)
    recovered = reopen(store, clock, retention=10.0)
    seen: list[Event] = []
    recovered.subscribe(seen.append)
    clock.advance(10.0)
    assert recovered.poll() == 3
    assert [getattr(e, "job_id", None) for e in seen] == list(reversed(ids))
    assert len(recovered) == 0


def test_custom_policies_need_a_factory() -> None:
    store = MemoryStore()
    clock = ManualClock()
    sched = Scheduler.open(store, clock)
    sched.create_queue("fair", policy=FairSharePolicy(tag="team"), slots=1)
    sched.submit(queue="fair", tags={"team": "a"})
    waiting = sched.submit(queue="fair", tags={"team": "b"})
    with pytest.raises(
        StoreError,
        match=re.escape(
            "queue 'fair' uses policy 'fair-share', which a store cannot rebuild: "
            "pass policies={'fair': <factory>} to open()"
        ),
    ):
        reopen(store, clock)
    recovered = reopen(store, clock, policies={"fair": lambda: FairSharePolicy(tag="team")})
    assert recovered.position(waiting.id) == sched.position(waiting.id)


# ---------------------------------------------------------------------- compaction


def test_compaction_replaces_the_journal_with_an_equal_snapshot() -> None:
    store = MemoryStore(compact_every=None)
    clock = ManualClock()
    sched = Scheduler.open(store, clock, retention=1e9)
    workload(sched, clock, seed=11, steps=200)
    before = reopen(store, clock, retention=1e9)
    assert len(store) > 100
    store.compact()
    assert len(store) == 0
    after = reopen(store, clock, retention=1e9)
    assert fingerprint(after) == fingerprint(before)


def test_automatic_compaction_bounds_the_journal() -> None:
    store = MemoryStore(compact_every=20)
    clock = ManualClock()
    sched = Scheduler.open(store, clock, retention=5.0)
    sizes = []
    for _ in range(300):
        job = sched.submit()
        sched.complete(job.id)
        clock.advance(1.0)
        sched.poll()
        sizes.append(len(store))
    assert max(sizes) <= 20
    copy = store.copy()
    journal = store._journal
    assert journal is not None
    recover_interrupted(sched, "requeue", journal.last_time)
    assert fingerprint(Scheduler.open(copy, clock, retention=5.0)) == fingerprint(sched)


def test_a_file_store_compacts_its_rows(tmp_path: Path) -> None:
    path = tmp_path / "jobs.db"
    clock = ManualClock()
    with SQLiteStore(path, compact_every=None) as store:
        sched = Scheduler.open(store, clock)
        for _ in range(50):
            sched.submit()
        assert len(store.load().entries) == 50
        store.compact()
        stored = store.load()
        assert stored.entries == () and stored.upto == 50 and len(stored.snapshot) >= 2
        sched.submit()
        assert [n for n, _ in store.load().entries] == [51]


# ---------------------------------------------------------------------- misuse


def test_open_refuses_bad_arguments() -> None:
    clock = ManualClock()
    store = MemoryStore()
    with pytest.raises(
        ValidationError, match=re.escape("interrupted must be 'requeue' or 'fail', got 'drop'")
    ):
        Scheduler.open(store, clock, interrupted="drop")  # type: ignore[arg-type]
    with pytest.raises(ValidationError, match=re.escape("store must be a Store, got dict")):
        Scheduler.open({}, clock)  # type: ignore[arg-type]
    with pytest.raises(
        StoreError,
        match=re.escape("no scheduler is open on this store: open one with Scheduler.open()"),
    ):
        store.compact()
    Scheduler.open(store, clock)
    with pytest.raises(StoreError, match=re.escape("store is already open for another scheduler")):
        Scheduler.open(store, clock)


def test_open_refuses_a_clock_behind_the_store() -> None:
    store = MemoryStore()
    clock = ManualClock(100.0)
    Scheduler.open(store, clock).submit()
    with pytest.raises(
        ValidationError,
        match=re.escape(
            "clock reads 0.0, before the store's last change at 100.0: "
            "open the store with a clock that continues its timeline"
        ),
    ):
        Scheduler.open(store.copy(), ManualClock())


def test_a_closed_store_refuses_to_journal() -> None:
    store = MemoryStore()
    sched = Scheduler.open(store, ManualClock())
    store.close()
    with pytest.raises(StoreError, match=re.escape("store is closed")):
        sched.submit()


class FlakyStore(Store):
    """A backend written against the ``Store`` base class, whose disk fills up on demand."""

    def __init__(self) -> None:
        super().__init__(compact_every=None)
        self.entries: list[tuple[int, bytes]] = []
        self.full = False

    def load(self) -> StoredJournal:
        return StoredJournal((), 0, tuple(self.entries))

    def append(self, entry: bytes) -> int:
        if self.full:
            raise StoreError("disk full")
        self.entries.append((len(self.entries) + 1, entry))
        return len(self.entries)

    def replace(self, snapshot: Sequence[bytes], upto: int) -> None:
        raise NotImplementedError


def test_changes_whose_delivery_a_base_exception_cut_off_are_still_journaled() -> None:
    store = MemoryStore()
    clock = ManualClock()
    sched = Scheduler.open(store, clock)
    seen: list[Event] = []

    def interrupted(event: Event) -> None:
        seen.append(event)
        if len(seen) == 1:
            raise KeyboardInterrupt

    sched.subscribe(interrupted)
    with pytest.raises(KeyboardInterrupt):
        sched.submit()
    assert len(store) == 0  # the submission is journaled once its delivery ends
    clock.advance(1.0)
    sched.submit(confirmation_required=True)
    assert len(seen) == 7  # the first submission's four events, each once; the second's three
    recovered = crash(store, sched, clock)
    assert fingerprint(recovered) == fingerprint(sched)
    assert len(recovered) == 2


def test_after_a_failed_write_the_journal_refuses_until_reopened() -> None:
    store = FlakyStore()
    clock = ManualClock()
    sched = Scheduler.open(store, clock)
    kept = sched.submit()
    store.full = True
    with pytest.raises(StoreError, match=re.escape("disk full")):
        sched.submit()
    store.full = False
    with pytest.raises(
        StoreError,
        match=re.escape(
            "store stopped journaling after a failed write (StoreError('disk full')): "
            "reopen it to continue from its last journaled state"
        ),
    ):
        sched.cancel(kept.id)
    fresh = FlakyStore()
    fresh.entries = list(store.entries)
    recovered = Scheduler.open(fresh, clock)
    assert job_ids(recovered) == [kept.id]


# ---------------------------------------------------------------------- files


def test_a_new_file_carries_the_application_id_and_format(tmp_path: Path) -> None:
    path = tmp_path / "jobs.db"
    SQLiteStore(path).close()
    header = path.read_bytes()[:100]
    assert header[:16] == b"SQLite format 3\x00"
    assert int.from_bytes(header[68:72], "big") == APPLICATION_ID == 0x4A6F6251
    assert int.from_bytes(header[60:64], "big") == FORMAT_VERSION == 5


def refused(path: Path, error: type[Exception], message: str) -> None:
    before = path.read_bytes()
    with pytest.raises(error, match=re.escape(message)):
        SQLiteStore(path)
    assert path.read_bytes() == before
    assert not Path(f"{path}-wal").exists()
    assert not Path(f"{path}-shm").exists()
    released(path)


def released(path: Path) -> None:
    """Nothing holds ``path``: another connection takes it for writing at once."""
    conn = sqlite3.connect(path, timeout=0.0)
    try:
        conn.execute("BEGIN EXCLUSIVE")
        conn.execute("ROLLBACK")
    except sqlite3.DatabaseError as exc:
        # A damaged file fails to read, but only once its lock is taken.
        assert "locked" not in str(exc), exc
    finally:
        conn.close()


def test_a_file_that_is_not_sqlite_is_refused_untouched(tmp_path: Path) -> None:
    path = tmp_path / "notes.txt"
    path.write_bytes(b"these are my notes, not a database\n" * 10)
    refused(
        path,
        CorruptStoreError,
        f"{str(path)!r} is not a jobqueue store: it is not a SQLite database",
    )
    short = tmp_path / "short"
    short.write_bytes(b"SQLite format 3\x00")
    refused(
        short,
        CorruptStoreError,
        f"{str(short)!r} is not a jobqueue store: it is not a SQLite database",
    )


def test_another_applications_database_is_refused_untouched(tmp_path: Path) -> None:
    path = tmp_path / "other.db"
    conn = sqlite3.connect(path)
    conn.execute("CREATE TABLE journal (number INTEGER PRIMARY KEY, entry TEXT)")
    conn.execute("INSERT INTO journal VALUES (1, 'theirs')")
    conn.commit()
    conn.close()
    refused(
        path,
        CorruptStoreError,
        f"{str(path)!r} is not a jobqueue store: it is a SQLite database of another "
        "application (application_id 0x00000000)",
    )


def test_a_store_from_a_newer_format_is_refused_untouched(tmp_path: Path) -> None:
    path = tmp_path / "jobs.db"
    with SQLiteStore(path) as store:
        Scheduler.open(store, ManualClock()).submit()
    conn = sqlite3.connect(path)
    conn.execute("PRAGMA user_version = 6")
    conn.commit()
    conn.close()
    refused(
        path,
        IncompatibleStoreError,
        f"store {str(path)!r} has format 6, newer than format 5 that this version of "
        "jobqueue reads: open it with a newer jobqueue",
    )


def test_a_store_missing_its_tables_is_damaged(tmp_path: Path) -> None:
    path = tmp_path / "jobs.db"
    SQLiteStore(path).close()
    conn = sqlite3.connect(path)
    conn.execute("DROP TABLE journal")
    conn.commit()
    conn.close()
    refused(path, CorruptStoreError, f"store {str(path)!r} is damaged: table(s) journal missing")


@pytest.mark.parametrize(
    ("damage", "reason"),
    [
        (lambda entry: entry[:-9], "not an entry: UnpicklingError: pickle data was truncated"),
        (lambda entry: entry + b".", "1 stray bytes after the entry"),
        (  # a JSON text (as formats 1 and 2 wrote), cut short
            lambda entry: b'[0.0, ["j"',
            "not an entry: JSONDecodeError: Expecting ',' delimiter: line 1 column 11 (char 10)",
        ),
        (  # names a global: it could run code
            lambda entry: pickle.dumps(os.system, 5),
            f"not an entry: UnpicklingError: an entry may not name {os.system.__module__}.system",
        ),
        (  # an enum's class
            lambda entry: pickle.dumps([0.0, ["j", JobStatus.READY]], 5),
            "not an entry: UnpicklingError: an entry may not name jobqueue._states.JobStatus",
        ),
    ],
    ids=["cut", "stray-byte", "json-cut", "global", "enum-class"],
)
def test_a_damaged_entry_is_reported_with_its_number(
    tmp_path: Path, damage: Callable[[bytes], bytes], reason: str
) -> None:
    path = tmp_path / "jobs.db"
    with SQLiteStore(path) as store:
        sched = Scheduler.open(store, ManualClock())
        sched.submit()
        sched.submit()
    conn = sqlite3.connect(path)
    (entry,) = conn.execute("SELECT entry FROM journal WHERE number = 2").fetchone()
    conn.execute("UPDATE journal SET entry = ? WHERE number = 2", (damage(entry),))
    conn.commit()
    conn.close()
    before = path.read_bytes()
    with pytest.raises(CorruptStoreError) as info:
        Scheduler.open(SQLiteStore(path), ManualClock())
    assert str(info.value) == f"store is damaged: journal entry 2: {reason}"
    assert path.read_bytes() == before
    assert not Path(f"{path}-wal").exists()
    released(path)  # refused, the store was closed


def _as_written_by(entry: bytes, version: int) -> bytes | str:
    """An entry or snapshot part as format ``version`` wrote it.

    Format 4 had no saved state (the last field of a job row); formats 1 to 3
    had no job controls either (the trailing fields of job rows, their
    configurations and queue ops); 1 and 2 wrote JSON texts, 1 with histories
    as pairs.
    """
    data = pickle.loads(entry)
    for op in data:
        if isinstance(op, list) and op and op[0] == "j":
            assert len(op) == 32 and (op[29] is None or len(op[29]) == 15)
            assert op[31] is None  # the workload saves no state
            del op[31]
            if version == 4:
                continue
            del op[30]
            if op[29] is not None:
                del op[29][14]
        elif isinstance(op, list) and op and op[0] == "q" and version < 4:
            assert len(op) == 12
            del op[11]
    if version >= 3:
        return pickle.dumps(data, 5)
    if version == 1:
        for op in data:
            if isinstance(op, list) and op and op[0] == "j":
                flat = op[25]
                assert not any(isinstance(x, list) for x in flat)  # as written today
                op[25] = [[t, s] for t, s in zip(flat[0::2], flat[1::2], strict=True)]
    return json.dumps(data, separators=(",", ":"))


@pytest.mark.parametrize("version", [1, 2, 3, 4])
def test_a_store_of_an_older_format_opens_the_same(tmp_path: Path, version: int) -> None:
    path = tmp_path / "jobs.db"
    clock = ManualClock()
    with SQLiteStore(path, compact_every=None) as store:
        sched = Scheduler.open(store, clock, retention=1e9)
        ids = workload(sched, clock, seed=5, steps=150)
        store.compact()  # jobs in the snapshot, and in entries after it
        rng = random.Random(6)
        for _ in range(150):
            step(sched, clock, rng, ids)
    old = tmp_path / "old.db"
    copy_files(path, old)
    conn = sqlite3.connect(old)
    for table, key, column in (("journal", "number", "entry"), ("snapshot", "part", "data")):
        rows = conn.execute(f"SELECT {key}, {column} FROM {table}").fetchall()
        assert any(b"\x8c\x01j" in blob for _, blob in rows), f"no job rows in the {table} table"
        rewritten = [(_as_written_by(blob, version), k) for k, blob in rows]
        conn.executemany(f"UPDATE {table} SET {column} = ? WHERE {key} = ?", rewritten)
    conn.execute(f"PRAGMA user_version = {version}")
    conn.execute(f"UPDATE meta SET value = '{version}' WHERE key = 'format'")
    conn.commit()
    conn.close()
    with SQLiteStore(path) as new, SQLiteStore(old) as written_as_json:
        # JSON (formats 1 and 2) or a pickle (3 and 4), handed over as bytes
        assert written_as_json.load().entries[0][1][:1] == (b"\x80" if version >= 3 else b"[")
        recovered = Scheduler.open(written_as_json, clock, retention=1e9)
        assert fingerprint(recovered) == fingerprint(Scheduler.open(new, clock, retention=1e9))
        extra = recovered.submit()  # a pickle after the JSON texts
    assert any(len(recovered.get(job_id).history) > 3 for job_id in ids)
    # Opened by this version, the file is stamped with its format, so that an
    # older version refuses the entries now written rather than misread them.
    header = old.read_bytes()[:100]
    assert int.from_bytes(header[60:64], "big") == FORMAT_VERSION
    conn = sqlite3.connect(old)
    assert conn.execute("SELECT value FROM meta WHERE key = 'format'").fetchone() == (
        str(FORMAT_VERSION),
    )
    conn.close()
    with SQLiteStore(old) as reopened:
        again = Scheduler.open(reopened, clock, retention=1e9)
        again.check_invariants()
        assert again.get(extra.id).submission_queue == extra.submission_queue
        assert len(again) == len(recovered)


def test_a_history_of_odd_length_is_damage(tmp_path: Path) -> None:
    path = tmp_path / "jobs.db"
    with SQLiteStore(path) as store:
        Scheduler.open(store, ManualClock()).submit()
    conn = sqlite3.connect(path)
    entry = pickle.loads(conn.execute("SELECT entry FROM journal WHERE number = 1").fetchone()[0])
    entry[1][25].pop()
    conn.execute("UPDATE journal SET entry = ? WHERE number = 1", (pickle.dumps(entry, 5),))
    conn.commit()
    conn.close()
    with SQLiteStore(path) as store, pytest.raises(CorruptStoreError) as info:
        Scheduler.open(store, ManualClock())
    assert str(info.value) == (
        "store is damaged: journal entry 1: job 'job-1': "
        "history must hold time, status pairs, got 7 items"
    )


def test_a_truncated_file_is_refused_untouched(tmp_path: Path) -> None:
    path = tmp_path / "jobs.db"
    with SQLiteStore(path) as store:
        sched = Scheduler.open(store, ManualClock())
        for _ in range(300):
            sched.submit(description="x" * 200)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    before = path.read_bytes()
    with pytest.raises(CorruptStoreError) as info:
        Scheduler.open(SQLiteStore(path), ManualClock())
    assert str(info.value).startswith(f"store {str(path)!r} is damaged: ")
    assert path.read_bytes() == before
    released(path)


def test_one_file_serves_one_store_at_a_time(tmp_path: Path) -> None:
    path = tmp_path / "jobs.db"
    with (
        SQLiteStore(path),
        pytest.raises(
            StoreError,
            match=re.escape(f"store {str(path)!r} is in use: another store holds its lock"),
        ),
    ):
        SQLiteStore(path)
    SQLiteStore(path).close()  # free again once closed


def test_file_store_settings_are_checked(tmp_path: Path) -> None:
    path = tmp_path / "jobs.db"
    cases: list[tuple[dict[str, object], str]] = [
        ({"durability": "sometimes"}, "durability must be 'full' or 'batched', got 'sometimes'"),
        ({"batch_size": 0}, "batch_size must be >= 1, got 0"),
        ({"batch_interval": -1.0}, "batch_interval must be a finite number > 0, got -1.0"),
        ({"compact_every": 0}, "compact_every must be >= 1, got 0"),
    ]
    for settings, message in cases:
        with pytest.raises(ValidationError, match=re.escape(message)):
            SQLiteStore(path, **settings)  # type: ignore[arg-type]
    assert not path.exists()


def test_a_closed_file_store_refuses_everything(tmp_path: Path) -> None:
    store = SQLiteStore(tmp_path / "jobs.db")
    sched = Scheduler.open(store, ManualClock())
    store.close()
    store.close()
    for call in (store.load, store.sync, sched.submit):
        with pytest.raises(StoreError, match=re.escape("store is closed")):
            call()


# ---------------------------------------------------------------------- batching


def test_batched_durability_never_leaves_a_batch_unsynced(tmp_path: Path) -> None:
    store = SQLiteStore(
        tmp_path / "jobs.db", durability="batched", batch_size=3, batch_interval=3600
    )
    sched = Scheduler.open(store, ManualClock())
    for _ in range(30):
        sched.submit()
        assert store.pending_sync < 3
    store.sync()
    assert store.pending_sync == 0
    store.close()


def test_a_batch_of_one_is_synced_by_the_call_itself(tmp_path: Path) -> None:
    store = SQLiteStore(tmp_path / "jobs.db", durability="batched", batch_size=1)
    sched = Scheduler.open(store, ManualClock())
    for _ in range(5):
        sched.submit()
        assert store.pending_sync == 0
    store.close()


def test_the_syncer_syncs_half_a_batch_without_waiting_for_the_interval(tmp_path: Path) -> None:
    store = SQLiteStore(
        tmp_path / "jobs.db", durability="batched", batch_size=4, batch_interval=3600
    )
    sched = Scheduler.open(store, ManualClock())
    sched.submit()
    sched.submit()
    with store._lock:
        assert store._lock.wait_for(lambda: store.pending_sync == 0, timeout=10.0)
    store.close()


def test_a_failed_sync_stops_the_store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    store = SQLiteStore(tmp_path / "jobs.db", durability="batched", batch_size=1)
    sched = Scheduler.open(store, ManualClock())
    kept = sched.submit()

    def broken(fd: int) -> None:
        raise OSError(5, "Input/output error")

    monkeypatch.setattr(os, "fsync", broken)
    with pytest.raises(StoreError, match=re.escape("Input/output error")):
        sched.submit()
    with pytest.raises(StoreError, match="store failed earlier"):
        store.sync()
    monkeypatch.undo()
    store.close()
    with SQLiteStore(tmp_path / "jobs.db") as reopened:
        recovered = Scheduler.open(reopened, ManualClock())
        assert kept.id in job_ids(recovered)


def test_batched_durability_syncs_within_the_interval_when_idle(tmp_path: Path) -> None:
    store = SQLiteStore(tmp_path / "jobs.db", durability="batched", batch_interval=0.01)
    sched = Scheduler.open(store, ManualClock())
    sched.submit()
    # The background syncer keeps the time bound although no call follows.
    with store._lock:
        assert store._lock.wait_for(lambda: store.pending_sync == 0, timeout=10.0)
    store.close()


def test_batched_durability_syncs_within_the_interval_when_busy(tmp_path: Path) -> None:
    store = SQLiteStore(
        tmp_path / "jobs.db", durability="batched", batch_size=10**9, batch_interval=0.005
    )
    sched = Scheduler.open(store, ManualClock())
    # Calls follow each other with no pause; the count bound is out of reach,
    # so only the syncer thread can sync, between two of them.
    deadline = time.monotonic() + 10.0
    synced = False
    while not synced and time.monotonic() < deadline:
        before = store.pending_sync
        sched.cancel(sched.submit(confirmation_required=True).id)
        synced = store.pending_sync < before + 2
    assert synced
    store.close()


def test_full_durability_has_nothing_pending(tmp_path: Path) -> None:
    with SQLiteStore(tmp_path / "jobs.db") as store:
        sched = Scheduler.open(store, ManualClock())
        sched.submit()
        assert store.pending_sync == 0
        assert store.durability == "full"


def test_a_hold_that_lifts_while_others_stand_is_journaled() -> None:
    # A held job whose holds change without its status changing: confirmed
    # while its start time is still to come; its start time passed while it
    # awaits confirmation; one of its two dependencies met. Each change is
    # journaled, so a crash right after it loses nothing.
    clock = ManualClock()
    store = MemoryStore()
    sched = Scheduler.open(store, clock)
    sched.create_queue("q", slots=1, max_waiting=1)
    confirmed = sched.submit(queue="q", confirmation_required=True, not_before=5.0)
    sched.confirm(confirmed.id)  # takes the queue's one place under its cap
    timed = sched.submit(confirmation_required=True, not_before=1.0)
    first, second = sched.submit(), sched.submit()
    waiting = sched.submit(after=[first.id, second.id])
    clock.advance(1.0)
    sched.poll()  # the start time of ``timed`` passes; it still awaits confirmation
    sched.complete(first.id)  # one of the two dependencies met
    assert [sched.get(j.id).status for j in (confirmed, timed, waiting)] == [S.SUSPENDED] * 3
    again = crash(store, sched, clock)
    assert fingerprint(again) == fingerprint(sched)
    assert [again.pending_reason(j) for j in job_ids(again)] == [
        sched.pending_reason(j) for j in job_ids(sched)
    ]
    # The confirmed job still holds the queue's place: no room for another.
    for scheduler in (sched, again):
        with pytest.raises(LimitExceededError):
            scheduler.submit(queue="q")
    # And each is released when its last hold lifts, in both alike.
    for scheduler in (sched, again):
        scheduler.complete(second.id)
        scheduler.confirm(timed.id)
    clock.advance(4.0)
    for scheduler in (sched, again):
        scheduler.poll()
        statuses = [scheduler.get(j.id).status for j in (confirmed, timed, waiting)]
        assert statuses == [S.ACTIVE, S.ACTIVE, S.ACTIVE]
    assert fingerprint(again) == fingerprint(sched)


def test_a_job_in_its_retry_backoff_reopens_out_of_line() -> None:
    # A job whose attempt failed waits out its backoff Paused but out of its
    # queue's line; reopened, it was put back in the line (and the store was
    # refused as damaged).
    clock = ManualClock()
    store = MemoryStore()
    sched = Scheduler.open(store, clock)
    job = sched.submit(max_run=3.0, retry=Retry(attempts=2, backoff=1.0, jitter=0.0))
    clock.advance(4.0)
    sched.poll()  # the run limit fails attempt 1; attempt 2 starts at 5
    assert sched.get(job.id).status is S.PAUSED and sched.position(job.id) is None
    again = crash(store, sched, clock)
    again.check_invariants()
    assert again.position(job.id) is None
    assert fingerprint(again) == fingerprint(sched)
    clock.advance(1.0)
    for scheduler in (sched, again):
        scheduler.poll()
        assert scheduler.get(job.id).status is S.ACTIVE and scheduler.get(job.id).attempt == 2
