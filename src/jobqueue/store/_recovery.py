"""Recovery: replay a store into a core, settle interrupted work, and journal on.

``open_scheduler`` (behind ``Scheduler.open``) reads the store's snapshot and
entries into plain data (``_Loader``), checking every op against the API's
rules as it goes (``_checks``), builds the records from the row schema and
hands them to the core to rebuild its derived state
(``jobqueue._core.rebuild``), whose invariants are then checked. Verify
first, write after: only a store that passed all of it is asked to get ready
for writing (``Store.open_for_writing``); a damaged one is closed, unchanged,
before ``CorruptStoreError`` is raised. Work that was running at the crash is
then settled by the core's own moves (``recover_interrupted``), and the
journal is hooked to the core so that every later change is written.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterable, Mapping
from typing import TYPE_CHECKING, Any, TypeVar

from .._core import Core, core_of, invariants
from .._core.queues import add as add_queue
from .._core.rebuild import install
from .._core.records import JobRecord, QueueRecord, add_reason, full_history
from .._errors import InvariantViolation, ValidationError
from .._events import Event
from .._model import Pricing
from .._reports import CompletionReport
from .._states import TERMINAL, WORKING, JobStatus
from .._tasks import FailureReason, TaskRecord, TaskStatus
from ..policies import Policy
from ._base import Store, StoredJournal
from ._checks import check_entry, check_header, check_op, check_state, read_report
from ._codec import decode
from ._errors import DAMAGE, CorruptStoreError, StoreError, bounded, brief
from ._journal import Journal
from ._rows import STATUS, TASK_STATUS, Mark, make_record, queue_op, rebuild_policy

if TYPE_CHECKING:
    from .._scheduler import Scheduler

__all__ = ["open_scheduler", "recover_interrupted"]

_S = JobStatus
SchedulerT = TypeVar("SchedulerT", bound="Scheduler")


class _Loader:
    """Replays a snapshot and entries into checked plain data, then builds the records."""

    def __init__(self, core: Core) -> None:
        self.queues: dict[str, list[Any]] = {n: queue_op(q) for n, q in core.queues.items()}
        self.rows: dict[str, list[Any]] = {}
        self.configs: dict[str, list[Any]] = {}
        self.outcomes: dict[str, dict[str, TaskRecord]] = {}
        self.reports: dict[str, CompletionReport] = {}
        self.timer_marks: dict[str, Mark] = {}
        self.finish_marks: dict[str, Mark] = {}
        self.usage: dict[tuple[tuple[str, str], ...], float] = {}
        self.next_index = 1
        self.last_time = float("-inf")
        self.entries = 0
        self.last_number = 0

    def load(self, stored: StoredJournal) -> None:
        """Replay ``stored``, checking every op before it is kept.

        Raises:
            CorruptStoreError: naming the entry (or snapshot part), the op and the field.
        """
        where = "snapshot header"
        try:
            if stored.snapshot:
                self.queues = {}  # the snapshot lists every queue there is
                time, next_index = check_header(decode(stored.snapshot[0]))
                self._time(time)
                self.next_index = max(self.next_index, next_index)
                for i, part in enumerate(stored.snapshot[1:], 1):
                    where = f"snapshot part {i}"
                    self._apply(_ops(decode(part)), stored.upto)
            self.last_number = stored.upto
            for number, entry in stored.entries:
                where = f"journal entry {number}"
                time, ops = check_entry(decode(entry))
                self._time(time)
                self._apply(ops, number)
                self.last_number = number
                self.entries += 1
            return
        except ValidationError as exc:
            error = str(exc)
        except DAMAGE as exc:  # not an entry at all: ``decode`` says why
            error = str(exc) if isinstance(exc, ValueError) else brief(exc)
        raise CorruptStoreError(bounded(f"store is damaged: {where}: {error}"))

    def _time(self, time: float) -> None:
        if time > self.last_time:
            self.last_time = time

    def _apply(self, ops: Iterable[object], number: int) -> None:
        for op in ops:
            kind = check_op(op)
            assert isinstance(op, list)
            if kind == "j":
                job_id = op[1]
                cfg = op[29]
                if cfg is not None:
                    self.configs[job_id] = cfg
                    self.next_index = max(self.next_index, cfg[0] + 1)
                else:
                    cfg = self.configs.get(job_id)
                    if cfg is None:
                        raise ValidationError(
                            f"job {brief(job_id)} changed before it was submitted"
                        )
                try:
                    check_state(STATUS[op[2]], op[15], op[16], op[8], len(cfg[8]))
                except ValidationError as exc:
                    raise ValidationError(bounded(f"job {brief(job_id)}: {exc}")) from None
                self.rows[job_id] = op
                if op[27] is not None:
                    self.timer_marks[job_id] = (number, op[27])
                if op[28] is not None:
                    self.finish_marks[job_id] = (number, op[28])
            elif kind == "t":
                _, job_id, key, status, code, message = op
                if job_id not in self.rows:
                    raise ValidationError(f"task outcome for unknown job {brief(job_id)}")
                record = TaskRecord(key, TASK_STATUS[status], code, message)
                self.outcomes.setdefault(job_id, {})[key] = record
            elif kind == "a":  # a retry: the failed outcomes so far are dropped
                outcomes = self.outcomes.get(op[1])
                if outcomes:
                    self.outcomes[op[1]] = {
                        k: r for k, r in outcomes.items() if r.status is TaskStatus.SUCCEEDED
                    }
            elif kind == "r":
                self.reports[op[1]] = read_report(op)
            elif kind == "p":
                job_id = op[1]
                self.rows.pop(job_id, None)
                self.configs.pop(job_id, None)
                self.outcomes.pop(job_id, None)
                self.reports.pop(job_id, None)
                self.timer_marks.pop(job_id, None)
                self.finish_marks.pop(job_id, None)
            elif kind == "q":
                self.queues[op[1]] = op
            elif kind == "x":
                self.queues.pop(op[1], None)
            else:  # "u"
                self.usage[tuple((k, v) for k, v in op[1])] = op[2]

    def install(self, core: Core, policies: Mapping[str, Callable[[], Policy]]) -> None:
        """Replace ``core``'s fresh state with the loaded one, and check its invariants.

        Raises:
            CorruptStoreError: the records disagree with each other (an
                unfinished job in a queue the store does not have, two jobs
                of one number or one name), or break an invariant.
            StoreError: a custom policy has no factory.
        """
        core.queues = {}
        for name, op in self.queues.items():
            slots, share, max_waiting, pricing, tags, paused = (op[i] for i in (2, 3, 4, 7, 8, 9))
            policy = rebuild_policy(core, op, policies)
            plan = Pricing(pricing)
            q = add_queue(core, name, slots, policy, share, max_waiting, plan, dict(tags))
            q.paused = paused
        queues = core.queues
        error = None
        try:
            self._install_jobs(core, queues)
            invariants.check(core)
        except InvariantViolation as exc:
            error = str(exc)
        except CorruptStoreError:
            raise
        except DAMAGE as exc:  # every field was checked: a combination no check foresaw
            error = f"its state cannot be rebuilt ({brief(exc)})"
        if error is not None:
            raise CorruptStoreError(bounded(f"store is damaged: {error}"))

    def _install_jobs(self, core: Core, queues: Mapping[str, QueueRecord]) -> None:
        records = [make_record(row, self.configs[job_id]) for job_id, row in self.rows.items()]
        records.sort(key=lambda r: r.index)
        _check_unique(records)
        _check_times(records, self.last_time)
        for rec in records:
            outcomes = self.outcomes.get(rec.id)
            if outcomes:
                rec.outcomes = outcomes
            rec.report = self.reports.get(rec.id)
            if rec.status not in TERMINAL and rec.queue not in queues:
                raise CorruptStoreError(
                    bounded(
                        f"store is damaged: job {brief(rec.id)} is in unknown queue "
                        f"{brief(rec.queue)}"
                    )
                )
        timer_marks = self.timer_marks
        finish_marks = self.finish_marks

        def timer_order(r: JobRecord) -> Mark:
            return timer_marks.get(r.id, (-1, r.seq))

        def finish_order(r: JobRecord) -> Mark:
            return finish_marks.get(r.id, (-1, r.index))

        install(core, queues, records, self.next_index, self.usage, timer_order, finish_order)


def _ops(part: object) -> list[Any]:
    if type(part) is not list:
        raise ValidationError(f"a snapshot part must be a list of ops, got {brief(part)}")
    return part


def _check_times(records: list[JobRecord], last: float) -> None:
    """No record holds a time later than the store's last change (the times of its calls).

    Recovery stamps its own transitions with the clock, which reads no earlier
    than that: a later stored time would run a history backwards.
    """
    for rec in records:
        c = rec.controls
        times: list[float | None] = [
            rec.created_at,
            rec.ready_at,
            rec.run_started_at,
            rec.started_at,
            rec.finished_at,
            rec.suspended_at,
            None if c is None else c.wait_started,
        ]
        times.extend(t for t in full_history(rec)[0::2] if isinstance(t, (int, float)))
        latest = max(t for t in times if t is not None)
        if latest > last:
            raise CorruptStoreError(
                bounded(
                    f"store is damaged: job {brief(rec.id)} holds the time {brief(latest)}, "
                    f"later than the store's last change at {brief(last)}"
                )
            )


def _check_unique(records: list[JobRecord]) -> None:
    """Job numbers are unique, and names among unfinished jobs (as ``submit`` keeps them)."""
    error = None
    names: set[str] = set()
    for before, rec in itertools.pairwise(records):
        if before.index == rec.index:
            error = f"jobs {brief(before.id)} and {brief(rec.id)} have one number, {rec.index}"
            break
    for rec in records:
        if error is None and rec.name is not None and rec.status not in TERMINAL:
            if rec.name in names:
                error = f"job name {brief(rec.name)} is used by two unfinished jobs"
            names.add(rec.name)
    if error is not None:
        raise CorruptStoreError(bounded(f"store is damaged: {error}"))


def recover_interrupted(sched: Scheduler, mode: str, billed_until: float) -> None:
    """Settle the work that was running when the process stopped, then dispatch.

    The table has no Active -> Ready move, so work to be run again takes the
    preemption path: Active -> Pausing -> Paused. A Paused job waits in its
    line with its entry ``seq``, so it keeps its place and starts again before
    the jobs that arrived after it. With ``mode="fail"`` an Active job goes
    Active -> Failing -> Failed with reason code ``Interrupted``. Whatever the
    mode, Pausing becomes Paused, Cancelling becomes Cancelled and Failing
    becomes Failed. Run time is billed up to ``billed_until`` (the last
    journaled change): a lower bound, since when the work stopped is unknown.
    Transitions are stamped with the clock's time now. Then every queue starts
    what its slots allow, and the changes are journaled as one call.
    """
    core = core_of(sched)
    now = core.now()
    # Every move is the core's own; no queue starts anything until all are settled.
    for rec in [r for r in core.jobs.values() if r.status in WORKING]:
        q = core.queues[rec.queue]
        if rec.status is _S.ACTIVE:
            if mode == "fail":
                add_reason(rec, FailureReason("Interrupted", "interrupted"))
                core.stop(rec, _S.FAILING, now, "Interrupted")
            else:
                core.stop(rec, _S.PAUSING, now, "interrupted")
        core.release(rec, q, billed_until)
        if rec.status is _S.PAUSING:
            core.complete_pause(rec, q, now)
        else:
            core.transition(rec, _S.CANCELLED if rec.status is _S.CANCELLING else _S.FAILED, now)
            core.finish(rec, now)
    for q in list(core.queues.values()):
        core.dispatch(q, now)
    core.outbox.flush()


def open_scheduler(
    store: Store,
    fresh: Callable[[], SchedulerT],
    *,
    interrupted: str = "requeue",
    policies: Mapping[str, Callable[[], Policy]] | None = None,
    subscribers: Iterable[Callable[[Event], None]] = (),
) -> SchedulerT:
    """Rebuild a scheduler from ``store`` and journal its changes there (see ``Scheduler.open``)."""
    if interrupted not in ("requeue", "fail"):
        raise ValidationError(f"interrupted must be 'requeue' or 'fail', got {interrupted!r}")
    if not isinstance(store, Store):
        raise ValidationError(f"store must be a Store, got {type(store).__name__}")
    if store.scheduler is not None:
        raise StoreError("store is already open for another scheduler")
    callbacks = list(subscribers)
    for callback in callbacks:
        if not callable(callback):
            raise ValidationError(f"subscribers must be callables, got {callback!r}")
    sched = fresh()
    core = core_of(sched)
    loader = _Loader(core)
    try:
        # Verify first: nothing is written until all of it is checked.
        loader.load(store.load())
        loader.install(core, policies or {})
    except CorruptStoreError:
        store.close()  # released, and left as it was
        raise
    now = core.now()
    if now < loader.last_time:
        raise ValidationError(
            f"clock reads {now!r}, before the store's last change at {loader.last_time!r}: "
            "open the store with a clock that continues its timeline"
        )
    store.open_for_writing()
    journal = Journal(
        store,
        sched,
        last_time=now if loader.last_time == float("-inf") else loader.last_time,
        last_number=loader.last_number,
        since_snapshot=loader.entries,
    )
    store._attach(journal)
    journal.start()
    for callback in callbacks:
        sched.subscribe(callback)
    recover_interrupted(sched, interrupted, journal.last_time)
    journal.maybe_compact()
    return sched
