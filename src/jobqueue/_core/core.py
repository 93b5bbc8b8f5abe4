"""The core's state and its moves: the one object that owns every part.

Theory of operation
-------------------
``Core`` is what ``Scheduler`` (the public façade), the store and the
simulation driver share: the job table, the queues, the settings, and one
instance of each part -- the timers (``deadlines``), the billing ledger
(``ledger``), the event outbox (``outbox``) and the listing with its
retention (``listing``). Nothing outside this package reaches further in than
this object.

The moves here are the state machine's: every status change goes through
``transition``, which checks the table in ``_states`` and records a
``JobTransitioned`` event in the outbox. ``enter`` puts a Ready job in its
queue, ``dispatch`` starts the head of a line while ``admission`` allows and
otherwise asks ``preemption`` for a victim; ``stop``, ``fail_now`` and
``finish`` end a job. A job holds a slot while Active or Pausing and, when
work is acknowledged (``acknowledge``), while Cancelling or Failing until its
runtime confirms that the work stopped.

Every caller validates all of its input before it calls a move, so an error
leaves the core exactly as it was.
"""

from __future__ import annotations

import itertools
import random
from collections import deque
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Final

from .._access import AccessPolicy, Principal, check_access_policy
from .._clock import Clock, reading
from .._controls import Dependency, Retry
from .._errors import (
    ConflictError,
    InvalidTransition,
    InvariantViolation,
    NotFound,
    ValidationError,
)
from .._events import JobSubmitted, JobTransitioned, QueueEvent
from .._model import Acceleration, BillingTagsSource, HopRule, Pricing
from .._states import RUNNING, TERMINAL, TRANSITIONS, WAITING_LINE, JobStatus
from .._tasks import FailureReason, ReportScope
from .._validate import (
    lookup_key,
    shown,
)
from ..policies import FifoPolicy, PriorityPolicy
from . import access, holds, hops, limits, listing, queues, retries, submission, tasks
from .admission import (
    check_room,
    check_slot_now,
    fits,
    give_back_slot,
    join_line,
    leave_line,
    mark_leaving,
    take_slot,
)
from .aging import AgingPolicy
from .deadlines import Deadlines, Timer
from .ledger import Ledger
from .outbox import Outbox
from .preemption import choose_victim
from .records import (
    PLAIN_PATH,
    Controls,
    JobExtras,
    JobRecord,
    QueueRecord,
    add_reason,
    full_history,
    in_line,
)
from .settings import Settings as Settings

__all__ = ["Core", "Settings"]

_S = JobStatus
# Module constants for the per-job path: a fifth of the cost of an enum
# member's lookup (benchmarks/bench_tricks.py).
_NEW: Final = _S.NEW
_PREPARING: Final = _S.PREPARING
_READY: Final = _S.READY
_ACTIVE: Final = _S.ACTIVE
_PAUSED: Final = _S.PAUSED
_COMPLETE: Final = _S.COMPLETE
_ENABLED: Final = Acceleration.ENABLED
_PREFERRED: Final = Acceleration.PREFERRED
_ON_DEMAND: Final = Pricing.ON_DEMAND
_RESERVED: Final = Pricing.RESERVED
_BUILTIN_POLICIES: Final = frozenset({FifoPolicy, PriorityPolicy, AgingPolicy})
# The plain path's steps taken at a job's creation, after New.
_PLAIN_AT_CREATION: Final = frozenset(PLAIN_PATH[1:3])
# Core.create makes a new job's first move itself when nobody observes it.
_BORN_PREPARING: Final = _PREPARING in TRANSITIONS[_NEW]
if not _BORN_PREPARING:  # pragma: no cover - the state table's tests pin the move
    raise ImportError("the state table must let a new job move to Preparing")


class Core:
    """The scheduler's state: jobs, queues, settings, and the parts that own the rest."""

    def __init__(
        self,
        clock: Clock,
        settings: Settings,
        *,
        acknowledge: bool,
        access_policy: AccessPolicy | None,
        rng: random.Random | None,
    ) -> None:
        """Raises: ValidationError: ``access_policy`` or ``rng`` is of the wrong type."""
        if rng is not None and not isinstance(rng, random.Random):
            raise ValidationError(f"rng must be a random.Random, got {type(rng).__name__}")
        self.clock = clock
        self.last_now = float("-inf")  # the latest clock reading (see now)
        self.settings = settings
        self.acknowledge = acknowledge
        self.access_policy = check_access_policy(access_policy)
        # Retry jitter: injected, so a simulation stays reproducible.
        self.rng = random.Random() if rng is None else rng
        # By number, not by id (see find): a million string keys scatter
        # over the dict by their hashes, and cache misses on inserting them
        # were half a microsecond per job at 1M jobs, where numbers come in
        # order (benchmarks/bench_sim.py, the 1M rows).
        self.jobs: dict[int, JobRecord] = {}
        # The ids that are not the prefix and the number: jobs recovered
        # from a store written under another id_prefix (see rebuild).
        self.other_ids: dict[str, int] = {}
        self.id_cut = len(settings.id_prefix)  # where an id's number begins
        self.names: dict[str, JobRecord] = {}  # live (unfinished) jobs by name
        self.queues: dict[str, QueueRecord] = {}
        self.counter = itertools.count(1)  # job numbers
        # Entry order into a line, start order and timer order: one sequence,
        # so that a restored core can continue all three from one number.
        self.seq = itertools.count()
        self.deadlines = Deadlines(
            self.seq,
            {
                Timer.HOP: hops.timer_valid,
                Timer.CONFIRMATION: holds.suspension_valid,
                Timer.PURGE: self._purge_valid,
                Timer.NOT_BEFORE: holds.not_before_valid,
                Timer.RUN_LIMIT: limits.run_limit_valid,
                Timer.WAIT_LIMIT: limits.wait_limit_valid,
                Timer.BACKOFF: retries.backoff_valid,
            },
        )
        # Jobs held until the job of the key ends (see holds), and the work
        # list that settles them.
        self.dependents: dict[str, list[JobRecord]] = {}
        self.resolving: deque[JobRecord] = deque()
        self.ledger = Ledger()
        self.outbox = Outbox()
        self.listing = listing.Listing()
        queues.add(self, "default", 100, FifoPolicy(), 0.9, 10_000, Pricing.ON_DEMAND, {})

    # ------------------------------------------------------------------ lookups

    def now(self) -> float:
        """Every read of the clock (see ``_clock.reading``). Raises: ValidationError."""
        t = self.clock.now()
        ok = type(t) is float and self.last_now <= t and t - t == 0.0  # finite: inf - inf is nan
        self.last_now = t = t if ok else reading(t, self.last_now)
        return t

    def job(self, job_id: str) -> JobRecord:
        """Raises: NotFound: no such job (or it was purged)."""
        if (rec := self.find(job_id if type(job_id) is str else lookup_key(job_id))) is None:
            raise NotFound(f"unknown job {shown(job_id)}")
        return rec

    def find(self, job_id: str) -> JobRecord | None:
        """The job ``job_id`` names, or None: read its number after the id prefix."""
        # The prefix is not compared first: the whole id is, once the number
        # found a job. int() also reads "+7", " 7", "0_7" and other scripts'
        # digits, so only the id itself names the job.
        try:
            rec = self.jobs.get(int(job_id[self.id_cut :]))
        except ValueError:
            rec = None
        if rec is not None and rec.id == job_id:
            return rec
        if self.other_ids:
            index = self.other_ids.get(job_id)
            if index is not None:
                return self.jobs.get(index)
        return None

    def unused_id(self) -> tuple[int, str]:
        """The next number whose id no job holds, and that id.

        A job recovered from a store written under another prefix may hold
        an id the prefix and a later number spell ("job-1" + "5" is "job-15"):
        that number is skipped, so that an id names one job.
        """
        while True:
            index = next(self.counter)
            job_id = self.id_of(index)
            if job_id not in self.other_ids:
                return index, job_id

    def id_of(self, index: int) -> str:
        """The id of job number ``index``: the prefix and the number."""
        return f"{self.settings.id_prefix}{index}"

    def queue(self, name: str) -> QueueRecord:
        """Raises: NotFound: no such queue."""
        if (q := self.queues.get(name if type(name) is str else lookup_key(name))) is None:
            raise NotFound(f"unknown queue {shown(name)}")
        return q

    def live(self) -> Iterable[JobRecord]:
        """The unfinished jobs."""
        return (r for r in self.jobs.values() if r.status not in TERMINAL)

    def emit_queue(self, name: str, change: str, now: float) -> None:
        if self.outbox.listening:
            self.outbox.emit(QueueEvent, now, name, change)

    # ------------------------------------------------------------------ submission

    def submit(
        self,
        queue: str,
        priority: int,
        deferred: bool,
        name: str | None,
        description: str,
        tags: Mapping[str, str] | None,
        hop_rules: Sequence[HopRule],
        task_source: tasks.TaskSource,
        confirmation_required: bool,
        report: ReportScope | str | None,
        preemptible: bool,
        acceleration: Acceleration | str,
        billing_tags_source: BillingTagsSource | str,
        principal: Principal | None,
        not_before: float | None = None,
        after: Sequence[str | Dependency] = (),
        max_run: float | None = None,
        max_wait: float | None = None,
        retry: Retry | None = None,
    ) -> JobRecord:
        """Check a submission's input, then ``create`` the job: ``Scheduler.submit``'s path.

        Positional, like ``create`` and the record: keyword matching of this
        many arguments would add about 2 % to a submission
        (``benchmarks/bench_tricks.py``).
        """
        return self.create(
            *submission.check(
                self,
                queue,
                priority,
                deferred,
                name,
                description,
                tags,
                hop_rules,
                task_source,
                confirmation_required,
                report,
                preemptible,
                acceleration,
                billing_tags_source,
                principal,
                not_before,
                after,
                max_run,
                max_wait,
                retry,
            )
        )

    def create(
        self,
        q: QueueRecord,
        priority: int,
        deferred: bool,
        name: str | None,
        description: str,
        tags: dict[str, str],
        rules: tuple[HopRule, ...],
        accel: Acceleration,
        source: BillingTagsSource,
        scope: ReportScope | None,
        total: int,
        keys: dict[str, None] | None,
        reader: Callable[[], Iterable[str]] | None,
        preemptible: bool,
        confirmation_required: bool,
        principal: Principal | None,
        controls: Controls | None,
        now: float | None = None,
    ) -> JobRecord:
        """Create a job from input that ``submit``'s checks passed; the rules on the state stay.

        The simulation calls this directly with a ``JobSpec``'s fields, which
        the spec checked by the same rules when it was built (see
        ``sim._scheduler_port``): re-checking them per job was a tenth of a
        simulated job's time (``benchmarks/bench_sim.py``). What depends on
        the scheduler's state -- the queue's pricing, names in use, the access
        policy, room in the queue -- is checked here, for every caller. The
        simulation also passes ``now``, the instant it has just set its own
        clock to, sparing a checked read of the clock per job (see ``complete``).

        Raises:
            ValidationError: acceleration ``enabled`` in a reserved queue, or a bad principal.
            ConflictError: ``name`` is used by an unfinished job.
            AccessDenied: the access policy refuses ``create``.
            LimitExceededError: no room in the queue.
        """
        if accel is _ENABLED and q.pricing is _RESERVED:
            raise ValidationError(f"acceleration 'enabled' cannot run in reserved queue {q.name!r}")
        if name is not None and name in self.names:
            raise ConflictError(f"job name {name!r} is already used by an unfinished job")
        if principal is not None or self.access_policy is not None:
            access.authorize_create(
                self, principal, tags, () if controls is None else controls.after
            )
        if not confirmation_required:
            if deferred:
                check_room(q)
            else:
                check_slot_now(q)

        if now is None:
            now = self.now()
        index = next(self.counter)
        job_id = f"{self.settings.id_prefix}{index}"  # id_of, inline: once per job
        if self.other_ids and job_id in self.other_ids:
            index, job_id = self.unused_id()
        outbox = self.outbox
        # Without event listeners, a new job is created in Preparing, its
        # first move (New to Preparing, which the table always allows; see
        # _BORN_PREPARING) already in its history: a transition call less per
        # job (benchmarks/bench_sim.py). A hook watching Preparing is
        # called as that move's would be (a runtime watches every status:
        # benchmarks/bench_runtime.py, the many-jobs case). With listeners,
        # it moves as every job does.
        observed = outbox.listening
        rec = JobRecord(
            job_id,
            index,
            name,
            _NEW if observed else _PREPARING,
            priority,
            next(self.seq),
            q.name,
            q.name,
            deferred,
            preemptible,
            now,
            tags,
            accel,
            source,
            total,
            None,  # on the plain path (records.PLAIN_PATH)
        )
        if description or confirmation_required or rules or scope is not None or keys is not None:
            rec.extras = JobExtras(description, confirmation_required, rules, scope, keys)
        if controls is not None:
            rec.controls = controls
        self.jobs[index] = rec
        self.listing.created.append(rec)
        if name is not None:
            self.names[name] = rec
        if observed:
            # Inline, as in transition: one per submission.
            outbox.pending.append((JobSubmitted, now, rec.id, q.name, priority, deferred, name))
            self.transition(rec, _PREPARING, now)
        elif outbox.watch:
            born = outbox.watch.get(_PREPARING)
            if born is not None:
                born(rec, now)
        if reader is not None:
            try:
                keys, total = tasks.read_manifest(reader)
            except Exception as exc:
                reason = FailureReason("ManifestReadError", f"{type(exc).__name__}: {exc}")
                self.fail_now(rec, reason, now)
                outbox.flush()
                return rec
            if rec.status is not _PREPARING:
                # The reader called back into the scheduler (and cancelled the job, say).
                outbox.flush()
                return rec
            rec.task_keys, rec.tasks_total = keys, total
        if confirmation_required or controls is not None:
            holds.hold_or_enter(self, rec, now)
        else:
            self.enter(rec, q, now)
        if outbox.pending:  # flush does nothing otherwise: spare the call
            outbox.flush()
        return rec

    # ------------------------------------------------------------------ moves

    def transition(self, rec: JobRecord, target: JobStatus, now: float, reason: str = "") -> None:
        """The one path every status change takes.

        Raises:
            InvalidTransition: the table has no such move; nothing changed.
        """
        old = rec.status
        if target not in TRANSITIONS[old]:
            raise InvalidTransition(rec.id, old, target)
        rec.status = target
        history = rec.history
        if history is not None:
            history += (now, target)
        # A job with no list is on the plain path (records.PLAIN_PATH), so a
        # legal move to a status of that path is its next plain step; the
        # step's time is kept by the field set here, or is its creation's.
        elif target is _ACTIVE:
            rec.started_at = now
        elif target is _COMPLETE:
            rec.finished_at = now
        elif target not in _PLAIN_AT_CREATION or now != rec.created_at:
            rec.history = [*full_history(rec, old), now, target]
        outbox = self.outbox
        if outbox.listening:
            # Inline: the hottest event, three per submission.
            outbox.pending.append((JobTransitioned, now, rec.id, old, target, reason))
        if outbox.watch:
            hook = outbox.watch.get(target)
            if hook is not None:
                hook(rec, now)

    def enter(self, rec: JobRecord, q: QueueRecord, now: float, reason: str = "") -> None:
        """Preparing/Suspended -> Ready; start at once or join the line."""
        self.transition(rec, _READY, now, reason)
        rec.ready_at = now
        if not rec.deferred or (
            # Nobody waits and the job may start: joining the line and
            # dispatching would start it at once, at four policy calls more.
            # (A custom policy sees every add and discard.)
            not q.ready
            and not q.paused_jobs
            and not q.paused
            and fits(q, True, q.holding, q.deferred_holding)
            and type(q.policy) in _BUILTIN_POLICIES
        ):
            self.start(rec, q, now)
            return
        self.join_line(rec, q, now)
        self.dispatch(q, now)
        if rec.hops and rec.status is _READY:
            hops.arm(self, rec, now)

    def join_line(self, rec: JobRecord, q: QueueRecord, now: float) -> None:
        """Put a Ready or Paused job in ``q``'s line; its wait (and its aging) begins."""
        rec.ready_at = now
        join_line(rec, q)
        if rec.controls is not None:
            limits.wait_started(self, rec, now)

    def dispatch(self, q: QueueRecord, now: float) -> None:
        """Start jobs from the head of ``q``'s line while they may start; preempt if needed."""
        if q.paused:
            return
        policy = q.policy
        while True:
            rec = policy.peek()
            if rec is None:
                return
            assert isinstance(rec, JobRecord)  # policies hand back the records they got
            if rec.status not in WAITING_LINE or rec.queue != q.name:
                # A policy bug; refuse before any counter changes.
                raise InvariantViolation(
                    f"policy of queue {q.name!r}: peek() returned job {rec.id!r}, "
                    f"which is {rec.status} in queue {rec.queue!r}, not waiting here"
                )
            if fits(q, rec.deferred, q.holding, q.deferred_holding):  # q runs: checked above
                leave_line(rec, q)
                self.start(rec, q, now)
            elif not q.preempts or not self.preempt(q, now):
                return

    def start(self, rec: JobRecord, q: QueueRecord, now: float) -> None:
        self.transition(rec, _ACTIVE, now)
        rec.start_seq = next(self.seq)
        take_slot(rec, q)
        rec.run_started_at = now
        if rec.started_at is None:
            rec.started_at = now
        accel = rec.acceleration
        rec.accelerated = accel is _ENABLED or (accel is _PREFERRED and q.pricing is _ON_DEMAND)
        if q.tracks_running:
            q.policy.started(rec)
        if rec.controls is not None:
            limits.started(self, rec, now)

    def preempt(self, q: QueueRecord, now: float) -> bool:
        """Ask one Active job to pause for a waiting one; whether a pause was requested."""
        chosen = choose_victim(q)
        if chosen is None:
            return False
        victim, waiting = chosen
        q.policy.stopped(victim)
        self.transition(victim, _S.PAUSING, now, f"preempted by {waiting.id}")
        mark_leaving(victim, q)
        if not self.acknowledge:
            self.complete_pause(victim, q, now)
        return True

    def complete_pause(self, rec: JobRecord, q: QueueRecord, now: float) -> None:
        """A Pausing job's work stopped: Paused, and back in line (or out, for a retry)."""
        if rec.controls is not None and rec.controls.retrying:
            retries.begin_backoff(self, rec, now)
            return
        self.transition(rec, _PAUSED, now)
        self.release(rec, q, now)
        self.join_line(rec, q, now)

    def release(self, rec: JobRecord, q: QueueRecord, now: float) -> None:
        """Give back the slot ``rec`` holds, settling the time it held it."""
        if give_back_slot(rec, q):
            self.ledger.settle(rec, q, now, self.queues)

    def complete(self, rec: JobRecord, now: float | None = None) -> JobRecord:
        """An Active or Pausing job's work finished; returns ``rec``.

        The simulation's lean loop passes ``now``: the instant it has just
        set its ``ManualClock`` to, which a read of the clock would return
        (the read's checks guard clocks the scheduler does not own; two reads
        per job were 0.3 us of 7: benchmarks/bench_sim.py, FIFO). Everyone
        else reads the clock.
        """
        # Only an Active job has a policy entry to drop first; any status
        # that cannot complete is refused by transition before anything changes.
        if now is None:
            now = self.now()
        if rec.status is _ACTIVE:
            q = self.queues[rec.queue]
            if q.tracks_running:
                q.policy.stopped(rec)
        self.transition(rec, _COMPLETE, now)
        self.release_and_finish(rec, now)
        if self.outbox.pending:
            self.outbox.flush()
        return rec

    def stop(self, rec: JobRecord, target: JobStatus, now: float, reason: str) -> None:
        """Move a job into Cancelling or Failing, taking it out of line or off its slot."""
        q = self.queues[rec.queue]
        status = rec.status
        if status in WAITING_LINE:
            if in_line(rec):
                leave_line(rec, q)
            if rec.controls is not None:
                limits.wait_ended(rec, now)
        elif status is _ACTIVE:
            q.policy.stopped(rec)
        self.transition(rec, target, now, reason)
        mark_leaving(rec, q)

    def fail_work(
        self, rec: JobRecord, reason: FailureReason, now: float, *, work_stopped: bool
    ) -> None:
        """Running work failed: run the job again after a backoff if its retry covers it, else fail.

        See ``retries`` for which failures retry and how a retry moves through
        the state table.
        """
        if rec.status not in RUNNING or not retries.retries(rec, reason.code):
            self.fail_now(rec, reason, now, work_stopped=work_stopped)
            return
        retries.record_failure(rec, reason)
        if rec.status is _ACTIVE:
            q = self.queues[rec.queue]
            q.policy.stopped(rec)
            self.transition(rec, _S.PAUSING, now, f"retry: {reason.code}")
            mark_leaving(rec, q)
        if rec.holds_slot and self.acknowledge and not work_stopped:
            return  # the runtime stops the work, then says paused() or fail()
        retries.begin_backoff(self, rec, now)

    def fail_now(
        self, rec: JobRecord, reason: FailureReason, now: float, *, work_stopped: bool = False
    ) -> None:
        """Fail a job with ``reason``.

        Running work that has not stopped (``work_stopped=False``) is asked to
        stop: the job stays Failing until ``fail()`` acknowledges it, if the
        scheduler acknowledges work.
        """
        add_reason(rec, reason)
        self.stop(rec, _S.FAILING, now, reason.code)
        if rec.holds_slot and self.acknowledge and not work_stopped:
            return
        self.transition(rec, _S.FAILED, now)
        self.release_and_finish(rec, now)

    def release_and_finish(self, rec: JobRecord, now: float) -> None:
        q = self.queues[rec.queue]
        self.release(rec, q, now)
        self.finish(rec, now)
        if q.ready or q.paused_jobs:
            # Only a line can have a job to start (the freed slot serves a
            # waiting job or nobody): most completions find the line empty,
            # and the call and the policy's peek were a twentieth of a
            # simulated job (benchmarks/bench_sim.py).
            self.dispatch(q, now)

    def finish(self, rec: JobRecord, now: float) -> None:
        """Bookkeeping when ``rec`` reaches a terminal status."""
        rec.finished_at = now
        rec.hop_token += 1
        # Orders in lines and among running jobs: a finished job is in
        # neither, and dropping its two numbers is 64 bytes less per retained
        # job (benchmarks/bench_sim.py, the memory rows).
        rec.seq = rec.start_seq = 0
        if rec.name is not None and self.names.get(rec.name) is rec:
            del self.names[rec.name]
        if rec.controls is not None:
            holds.drop(self, rec)
        if self.dependents:
            holds.resolve_dependents(self, rec, now)
        self.listing.retire(rec, self.deadlines, self.settings.retention)
        x = rec.extras
        if x is not None and x.report_scope is not None and x.outcomes:
            rec.report = tasks.build_report(rec, x.report_scope)

    # ------------------------------------------------------------------ timers

    def poll(self) -> int:
        """Fire every timer due now, in time order; how many fired."""
        now = self.now()
        fired = 0
        pop_due = self.deadlines.pop_due
        while (due := pop_due(now)) is not None:
            kind, rec, _ = due
            if kind is Timer.PURGE:
                fired += listing.purge_due(self, now)
                continue
            _FIRE[kind](self, rec, now)
            fired += 1
        self.outbox.flush()
        return fired

    def _purge_valid(self, rec: JobRecord, token: float) -> bool:
        finished = self.listing.finished
        return bool(finished) and finished[0] is rec


_FIRE: Final[dict[Timer, Callable[[Core, JobRecord, float], None]]] = {
    Timer.HOP: hops.fire,
    Timer.CONFIRMATION: holds.confirmation_timed_out,
    Timer.NOT_BEFORE: holds.not_before_due,
    Timer.RUN_LIMIT: limits.run_exceeded,
    Timer.WAIT_LIMIT: limits.wait_exceeded,
    Timer.BACKOFF: retries.backoff_over,
}


def core_of(scheduler: object) -> Core:
    """The core behind a ``Scheduler``: the one seam for the store and the simulation."""
    core = getattr(scheduler, "_core", None)
    if not isinstance(core, Core):
        raise TypeError(f"not a Scheduler: {type(scheduler).__name__}")
    return core
