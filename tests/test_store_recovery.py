"""Recovery equals the live scheduler: a stateful property over every kind of change.

The machine drives one scheduler opened on a ``MemoryStore`` with submissions
of every shape (tags, hops, tasks, manifests read in Preparing, confirmation,
reports, names, start times, dependencies, run and wait limits, retries),
aging queues, outcomes, cancellations, confirmations, priority and tag
changes, task outcomes, a job function's saved state and journaled
progress, queue changes, time and compaction. At any step it
may "crash": it rebuilds a second scheduler from a copy of the store and
applies the documented recovery of running work to the live one (the same
function ``Scheduler.open`` applies), then demands that both are equal in
everything a caller can observe, and stay equal for one more operation. The
machine then carries on with the recovered scheduler, so later steps run on a
scheduler that was itself recovered, perhaps from a snapshot.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from helpers import fingerprint, job_ids
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, precondition, rule

from jobqueue import (
    TERMINAL,
    Aging,
    Dependency,
    HopRule,
    InvariantViolation,
    JobQueueError,
    ManualClock,
    Retry,
    Scheduler,
)
from jobqueue._saved_state import encode_state
from jobqueue.runtime import _trusted
from jobqueue.store import MemoryStore, StoreError
from jobqueue.store._recovery import recover_interrupted

QUEUES = ["default", "q1", "q2", "q3"]
KEYS = ["a", "b", "c", "d"]
SETTINGS: dict[str, Any] = {
    "confirmation_timeout": 40.0,
    "retention": 120.0,
    "failure_threshold_tasks": 3,
    "failure_threshold_ratio": 0.5,
}

tags_st = st.dictionaries(
    st.sampled_from(["team", "Dept", "k"]), st.sampled_from(["x", "y", ""]), max_size=2
)
hops_st = st.lists(
    st.builds(
        HopRule,
        queue=st.sampled_from(QUEUES),
        wait=st.sampled_from([1.0, 5.0, 10.0]),
        priority=st.none() | st.integers(-2, 2),
    ),
    max_size=2,
)


def _reader(keys: list[str], broken: bool) -> Callable[[], Iterable[str]]:
    def read() -> Iterable[str]:
        if broken:
            raise OSError("manifest unreadable")
        return list(keys)

    return read


tasks_st = st.one_of(
    st.none(),
    st.integers(0, 4),
    st.lists(st.sampled_from(KEYS), unique=True, max_size=4),
    st.builds(
        _reader,
        st.lists(st.sampled_from(KEYS), unique=True, max_size=4),
        st.booleans(),
    ),
)


# The job controls. Jitter stays 0: the rng is the caller's, not journaled, so a
# recovered scheduler draws from the one given to open().
controls_st = st.fixed_dictionaries(
    {},
    optional={
        "not_before": st.sampled_from([0.0, 1.0, 5.0, 20.0]),
        "after": st.lists(
            st.tuples(st.integers(0, 99), st.sampled_from(["ok", "any", "failed"])), max_size=2
        ),
        "max_run": st.sampled_from([3.0, 8.0]),
        "max_wait": st.sampled_from([5.0, 15.0]),
        "retry": st.builds(
            Retry,
            attempts=st.integers(2, 3),
            backoff=st.sampled_from([1.0, 5.0]),
            jitter=st.just(0.0),
            on=st.just(("Oops",)),
        ),
    },
)
aging_st = st.none() | st.builds(
    Aging, every=st.sampled_from([1.0, 10.0]), step=st.integers(1, 2), cap=st.integers(1, 3)
)


def saved_states(sched: Scheduler) -> dict[str, bytes | None]:
    """What each job's function saved (``ctx.save``), as the job holds it."""
    return {job_id: _trusted.saved(sched, job_id) for job_id in job_ids(sched)}


def attempt(call: Callable[[], object]) -> object:
    """Run one operation; a refused one is part of the behaviour, a broken invariant is not."""
    try:
        return call()
    except (InvariantViolation, StoreError):
        raise
    except JobQueueError as exc:
        return (type(exc).__name__, str(exc))


class RecoveryMachine(RuleBasedStateMachine):
    """One live scheduler; every crash is checked against a scheduler rebuilt from its journal."""

    def __init__(self) -> None:
        super().__init__()
        self.clock = ManualClock()
        self.store = MemoryStore()
        self.sched = Scheduler.open(self.store, self.clock, **SETTINGS)
        self.ids: list[str] = []
        self.acknowledge = False
        self.crashes = 0

    @initialize(acknowledge=st.booleans(), compact_every=st.sampled_from([None, 1, 4, 10_000]))
    def setup(self, acknowledge: bool, compact_every: int | None) -> None:
        self.store = MemoryStore(compact_every=compact_every)
        self.acknowledge = acknowledge
        self.sched = Scheduler.open(self.store, self.clock, acknowledge=acknowledge, **SETTINGS)

    def job(self, i: int) -> str:
        return self.ids[i % len(self.ids)]

    # ------------------------------------------------------------------ jobs

    @rule(
        queue=st.sampled_from(QUEUES),
        priority=st.integers(-2, 3),
        deferred=st.booleans() | st.just(True),
        tags=tags_st,
        hops=hops_st,
        tasks=tasks_st,
        confirmation=st.booleans(),
        report=st.sampled_from([None, "all", "failed"]),
        preemptible=st.booleans(),
        name=st.sampled_from([None, None, "n1", "n2"]),
        acceleration=st.sampled_from(["disabled", "enabled", "preferred"]),
        billing=st.sampled_from(["queue", "job"]),
        controls=controls_st,
    )
    def submit(
        self,
        queue: str,
        priority: int,
        deferred: bool,
        tags: dict[str, str],
        hops: list[HopRule],
        tasks: Any,
        confirmation: bool,
        report: str | None,
        preemptible: bool,
        name: str | None,
        acceleration: str,
        billing: str,
        controls: dict[str, Any],
    ) -> None:
        if "not_before" in controls:
            controls["not_before"] += self.clock.now()
        if "after" in controls:
            controls["after"] = [
                Dependency(self.job(i), on) for i, on in controls["after"] if self.ids
            ]
        result = attempt(
            lambda: self.sched.submit(
                queue=queue,
                priority=priority,
                deferred=deferred,
                name=name,
                description=f"job {len(self.ids)}",
                tags=tags,
                hops=hops,
                tasks=tasks,
                confirmation_required=confirmation,
                report=report,
                preemptible=preemptible,
                acceleration=acceleration,
                billing_tags_source=billing,
                **controls,
            )
        )
        job_id = getattr(result, "id", None)
        if isinstance(job_id, str):
            self.ids.append(job_id)

    @precondition(lambda self: self.ids)
    @rule(i=st.integers(0, 99), how=st.sampled_from(["complete", "fail", "cancel", "confirm"]))
    def control(self, i: int, how: str) -> None:
        job_id = self.job(i)
        if how == "complete":
            attempt(lambda: self.sched.complete(job_id))
        elif how == "fail":
            attempt(lambda: self.sched.fail(job_id, "broke", code="Oops"))
        elif how == "cancel":
            attempt(lambda: self.sched.cancel(job_id))
        else:
            attempt(lambda: self.sched.confirm(job_id))

    @precondition(lambda self: self.ids and self.acknowledge)
    @rule(i=st.integers(0, 99), how=st.sampled_from(["paused", "cancelled", "fail"]))
    def acknowledge_work(self, i: int, how: str) -> None:
        job_id = self.job(i)
        if how == "paused":
            attempt(lambda: self.sched.paused(job_id))
        elif how == "cancelled":
            attempt(lambda: self.sched.cancelled(job_id))
        else:
            attempt(lambda: self.sched.fail(job_id))

    @precondition(lambda self: self.ids)
    @rule(i=st.integers(0, 99), priority=st.integers(-3, 4))
    def update_priority(self, i: int, priority: int) -> None:
        attempt(lambda: self.sched.update_priority(self.job(i), priority))

    @precondition(lambda self: self.ids)
    @rule(i=st.integers(0, 99), tags=tags_st, delete=st.booleans())
    def change_tags(self, i: int, tags: dict[str, str], delete: bool) -> None:
        if delete:
            attempt(lambda: self.sched.delete_tags(self.job(i)))
        else:
            attempt(lambda: self.sched.put_tags(self.job(i), tags))

    @precondition(lambda self: self.ids)
    @rule(
        i=st.integers(0, 99),
        key=st.sampled_from([*KEYS, "0", "1", "2"]),
        ok=st.booleans(),
    )
    def record_task(self, i: int, key: str, ok: bool) -> None:
        attempt(
            lambda: self.sched.record_task(
                self.job(i), key, ok=ok, error_code="" if ok else "E1", message=f"{key}!"
            )
        )

    @precondition(lambda self: self.ids)
    @rule(
        i=st.integers(0, 99),
        progress=st.sampled_from([0.0, 0.25, 1.0]),
        state=st.sampled_from(["progress alone", None, 7, [1.5, b"\x00"], {"next": ("a", True)}]),
    )
    def save_work(self, i: int, progress: float, state: object) -> None:
        # What a runtime does for a job function: ctx.progress, journaled at
        # its throttled rate, and ctx.save.
        job_id = self.job(i)
        if job_id not in self.sched or self.sched.get(job_id).status in TERMINAL:
            return  # a finished job's progress is not the job function's any more
        self.sched.set_progress(job_id, progress)
        if state == "progress alone":
            _trusted.journal_progress(self.sched, job_id)
        else:
            _trusted.save(self.sched, job_id, encode_state(state))

    # ------------------------------------------------------------------ queues

    @rule(queue=st.sampled_from(QUEUES), pause=st.booleans())
    def pause_or_resume(self, queue: str, pause: bool) -> None:
        if pause:
            attempt(lambda: self.sched.pause_queue(queue))
        else:
            attempt(lambda: self.sched.resume_queue(queue))

    @rule(
        queue=st.sampled_from(QUEUES[1:]),
        slots=st.integers(1, 3),
        policy=st.sampled_from(["fifo", "priority"]),
        preemption=st.booleans(),
        share=st.sampled_from([0.5, 1.0]),
        max_waiting=st.integers(1, 4),
        pricing=st.sampled_from(["on_demand", "reserved"]),
        tags=tags_st,
        aging=aging_st,
    )
    def create_queue(
        self,
        queue: str,
        slots: int,
        policy: str,
        preemption: bool,
        share: float,
        max_waiting: int,
        pricing: str,
        tags: dict[str, str],
        aging: Aging | None,
    ) -> None:
        attempt(
            lambda: self.sched.create_queue(
                queue,
                slots=slots,
                policy=policy,  # type: ignore[arg-type]
                preemption=preemption and policy == "priority",
                deferred_share=share,
                max_waiting=max_waiting,
                pricing=pricing,
                tags=tags,
                aging=aging if policy == "priority" else None,
            )
        )

    @rule(
        queue=st.sampled_from(QUEUES),
        slots=st.none() | st.integers(1, 4),
        policy=st.none() | st.sampled_from(["fifo", "priority"]),
        share=st.none() | st.sampled_from([0.5, 0.9, 1.0]),
        max_waiting=st.none() | st.integers(1, 5),
        pricing=st.none() | st.sampled_from(["on_demand", "reserved"]),
        tags=st.none() | tags_st,
        delete=st.booleans(),
        aging=st.none() | aging_st | st.just("off"),
    )
    def update_queue(
        self,
        queue: str,
        slots: int | None,
        policy: str | None,
        share: float | None,
        max_waiting: int | None,
        pricing: str | None,
        tags: dict[str, str] | None,
        delete: bool,
        aging: Aging | str | None,
    ) -> None:
        if delete:
            attempt(lambda: self.sched.delete_queue(queue))
            return
        attempt(
            lambda: self.sched.update_queue(
                queue,
                slots=slots,
                policy=policy,  # type: ignore[arg-type]
                deferred_share=share,
                max_waiting=max_waiting,
                pricing=pricing,
                tags=tags,
                aging=aging,  # type: ignore[arg-type]
            )
        )

    # ------------------------------------------------------------------ time and store

    @rule(seconds=st.sampled_from([0.0, 1.0, 4.0, 10.0, 50.0]))
    def advance(self, seconds: float) -> None:
        self.clock.advance(seconds)
        self.sched.poll()

    @rule()
    def compact(self) -> None:
        self.store.compact()

    @rule(mode=st.sampled_from(["requeue", "fail"]), follow=st.integers(0, 3))
    def crash(self, mode: str, follow: int) -> None:
        self.crash_and_compare(mode, follow)

    def crash_and_compare(self, mode: str, follow: int) -> None:
        copy = self.store.copy()
        journal = self.store._journal
        assert journal is not None
        recovered = Scheduler.open(
            copy,
            self.clock,
            interrupted=mode,  # type: ignore[arg-type]
            acknowledge=self.acknowledge,
            **SETTINGS,
        )
        recover_interrupted(self.sched, mode, journal.last_time)
        assert fingerprint(recovered) == fingerprint(self.sched)
        assert saved_states(recovered) == saved_states(self.sched)
        # Equal behaviour on a following operation.
        results = [self.follow_up(s, follow) for s in (self.sched, recovered)]
        assert results[0] == results[1]
        assert fingerprint(recovered) == fingerprint(self.sched)
        recovered.check_invariants()
        self.store.close()
        self.store, self.sched = copy, recovered
        self.crashes += 1

    def follow_up(self, sched: Scheduler, which: int) -> object:
        if which == 0:
            return attempt(lambda: sched.submit(queue="q1", priority=2, tags={"k": "x"}))
        if which == 1:
            return attempt(lambda: sched.submit(hops=[HopRule("q2", 1.0)], deferred=True))
        if which == 2:
            return attempt(lambda: sched.resume_queue("q1"))
        active = [j.id for j in sched.list_jobs(statuses={"Active"})]
        if active:
            return attempt(lambda: sched.complete(active[0]))
        return attempt(lambda: sched.poll())

    @invariant()
    def invariants_hold(self) -> None:
        self.sched.check_invariants()

    def teardown(self) -> None:
        # Every run ends with a crash, so every run compares at least once.
        self.crash_and_compare("requeue", 3)


TestRecovery = RecoveryMachine.TestCase
