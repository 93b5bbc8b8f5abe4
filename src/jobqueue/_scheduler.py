"""The sans-I/O scheduler: queues, slots, priorities, hops, tags, tasks.

Theory of operation
-------------------
The scheduler never sleeps, starts a thread or does I/O; it reads time only
from its clock. Callers drive it: they submit jobs, report outcomes, and call
``poll()`` when ``next_deadline()`` says a timer (a hop, a confirmation timeout,
a retention purge) is due.

Every status change goes through ``_transition``, which checks the table in
``_states`` and queues a ``JobTransitioned`` event. Events are delivered to
subscribers after the public call that caused them has finished its work, in
order; a subscriber may call back into the scheduler, and the events of that
nested call follow in order.

Each queue has a line of waiting jobs, ordered by its policy. ``_dispatch``
starts the head of the line while a slot (and, for deferred jobs, the deferred
share) allows, and otherwise asks the policy for a preemption victim. A job
holds a slot while Active or Pausing and, when work is acknowledged (see
``acknowledge``), while Cancelling or Failing until its runtime confirms that
the work stopped.

Every public method validates all of its input before it changes anything, so
an error leaves the scheduler exactly as it was.
"""

from __future__ import annotations

import bisect
import heapq
import itertools
from collections import deque
from collections.abc import Callable, Iterable, Mapping, Sequence
from fractions import Fraction
from functools import partial
from types import MappingProxyType
from typing import TYPE_CHECKING, Final, Literal, TypeAlias, cast

import attrs

from ._access import AccessPolicy, Action, Principal
from ._clock import Clock, SystemClock
from ._errors import (
    ConflictError,
    InvalidTransition,
    InvariantViolation,
    LimitExceededError,
    NotFound,
    ValidationError,
)
from ._events import (
    Event,
    HopHeld,
    HopsDropped,
    JobHopped,
    JobPurged,
    JobSubmitted,
    JobTransitioned,
    PriorityChanged,
    QueueEvent,
    RawEvent,
    TagsChanged,
    TaskRecorded,
)
from ._model import (
    Acceleration,
    BillingTagsSource,
    HopRule,
    HopTransition,
    Job,
    JobPage,
    JobSummary,
    Pricing,
    QueueInfo,
    StatusChange,
)
from ._record import JobRecord, QueueRecord, deferred_limit, history_pairs
from ._reports import CompletionReport
from ._states import TASKS_ACCEPTED, TERMINAL, TRANSITIONS, JobStatus, check_transition
from ._tags import validate_tags
from ._tasks import FailureReason, ReportScope, TaskRecord, TaskStatus
from ._validate import (
    check_choice,
    check_description,
    check_int,
    check_name,
    check_positive_number,
    check_priority,
    check_share,
)
from .policies import FifoPolicy, Policy, PriorityPolicy
from .policies._base import declared_order

if TYPE_CHECKING:
    from typing import Self

    from .store import Store

__all__ = ["QueuePosition", "Scheduler", "TaskSource", "UsageRow"]

_S = JobStatus
_WAITING_LINE: Final = frozenset({_S.READY, _S.PAUSED})
_BEFORE_START: Final = frozenset({_S.NEW, _S.PREPARING, _S.SUSPENDED, _S.READY, _S.PAUSED})
_RUNNING: Final = frozenset({_S.ACTIVE, _S.PAUSING})
_DAY: Final = 86_400.0
# The tag set of every job submitted without tags: one shared dict instead of
# one per job. Tag sets are only ever replaced, never changed in place.
_NO_TAGS: Final[dict[str, str]] = {}
_NO_TAGS_VIEW: Final = MappingProxyType(_NO_TAGS)
# StatusChange from a (time, status) pair without a Python-level call.
_status_change: Final = cast(
    "Callable[[tuple[float, JobStatus]], StatusChange]", partial(tuple.__new__, StatusChange)
)
_BUILTIN_POLICIES: Final = frozenset({FifoPolicy, PriorityPolicy})
# The transition table as a plain dict: the hot path skips the read-only proxy.
_LEGAL: Final = dict(TRANSITIONS)

#: A manifest: task keys, a task count, or a reader called in Preparing.
TaskSource: TypeAlias = Sequence[str] | int | Callable[[], Iterable[str]] | None
PolicySpec: TypeAlias = Literal["fifo", "priority"] | Policy


@attrs.frozen
class QueuePosition:
    """Where a waiting job stands: ``ahead`` jobs start before it in ``queue``.

    Attributes:
        queue: the queue it waits in.
        position: 1-based place in the line (``ahead + 1``).
        ahead: how many waiting jobs would start before it.
    """

    queue: str
    position: int
    ahead: int


@attrs.frozen
class UsageRow:
    """Billed on-demand run time for one set of billing tags."""

    tags: Mapping[str, str]
    seconds: float


class Scheduler:
    """The scheduling core: queues with slots, a job state machine, timers.

    A fresh scheduler has one queue, ``"default"``: 100 slots, FIFO, a 0.9
    deferred share, room for 10,000 waiting jobs, on-demand pricing.

    Args:
        clock: the time source; ``SystemClock()`` if omitted.
        acknowledge: if True, a job whose work runs (Active or Pausing) stays in
            Pausing, Cancelling or Failing, holding its slot, until its runtime
            acknowledges with ``paused()``, ``cancelled()`` or ``fail()``. If
            False (the default, for callers that drive the core by hand), those
            transitional states complete at once. Jobs with no running work
            always complete them at once.
        retention: seconds a finished job stays listed before ``poll()`` purges it.
        confirmation_timeout: seconds a job may stay Suspended before it fails.
        failure_threshold_tasks: tasks that must have run before the task-failure
            threshold applies.
        failure_threshold_ratio: the share of failed tasks above which the job fails.
        access_policy: decides which principal may do what; ``None`` allows all.
        id_prefix: job ids are this prefix followed by a counter.
    """

    def __init__(
        self,
        clock: Clock | None = None,
        *,
        acknowledge: bool = False,
        retention: float = 90 * _DAY,
        confirmation_timeout: float = 30 * _DAY,
        failure_threshold_tasks: int = 1000,
        failure_threshold_ratio: float = 0.5,
        access_policy: AccessPolicy | None = None,
        id_prefix: str = "job-",
    ) -> None:
        self._clock: Clock = SystemClock() if clock is None else clock
        self.acknowledge = acknowledge
        self._retention = check_positive_number("retention", retention)
        self._confirmation_timeout = check_positive_number(
            "confirmation_timeout", confirmation_timeout
        )
        self._threshold_tasks = check_int("failure_threshold_tasks", failure_threshold_tasks, 1)
        if isinstance(failure_threshold_ratio, bool) or not isinstance(
            failure_threshold_ratio, (int, float)
        ):
            raise ValidationError(
                "failure_threshold_ratio must be a number, "
                f"got {type(failure_threshold_ratio).__name__}"
            )
        ratio = float(failure_threshold_ratio)
        if not 0.0 <= ratio < 1.0:
            raise ValidationError(f"failure_threshold_ratio must be in [0, 1), got {ratio!r}")
        self._threshold_ratio = ratio
        # Compared exactly, as the decimal written: in floats 0.29 * 100 is
        # 28.999999999999996, which would fail a job at exactly 29 %.
        self._threshold_num, self._threshold_den = Fraction(repr(ratio)).as_integer_ratio()
        self.access_policy = access_policy
        self._id_prefix = id_prefix

        self._jobs: dict[str, JobRecord] = {}
        self._created: list[JobRecord] = []  # creation order, purged ones swept lazily
        self._purged_in_created = 0
        self._names: dict[str, JobRecord] = {}  # live (unfinished) jobs by name
        self._queues: dict[str, QueueRecord] = {}
        self._counter = itertools.count(1)
        self._seq = itertools.count()
        self._hop_timers: list[tuple[float, int, JobRecord, int]] = []
        self._suspended: deque[tuple[float, JobRecord]] = deque()
        # Finished jobs in finishing order (each knows its finished_at): no
        # per-job tuple, since every retained job pays for this entry.
        self._finished: deque[JobRecord] = deque()
        self._usage: dict[tuple[tuple[str, str], ...], float] = {}
        self._subscribers: list[Callable[[Event], None]] = []
        # A call's events, recorded while anyone listens (a subscriber or the
        # batch hook) in their raw form, ``(event class, *fields)``: a tuple
        # costs a tenth of a frozen event, and the event itself is built only
        # for subscribers, when it is delivered.
        self._pending: list[RawEvent] = []
        self._listening = False
        self._delivering = False
        self._delivered = 0  # of _pending, by a delivery a BaseException cut short
        # In-package observers that need no event objects (the simulation
        # driver): called synchronously on each transition into a watched
        # status, and on every hop. Keyed by status so that the statuses
        # nobody watches cost no call.
        self._watch: dict[JobStatus, Callable[[JobRecord, float], None]] = {}
        self._hop_watch: Callable[[JobRecord, str, str, float], None] | None = None
        # Called with each batch of raw events once they are delivered: the
        # journal encodes them and its store commits there.
        self._batch_hook: Callable[[Sequence[RawEvent]], None] | None = None
        self._add_queue("default", 100, FifoPolicy(), 0.9, 10_000, Pricing.ON_DEMAND, {})

    @classmethod
    def open(
        cls,
        store: Store,
        clock: Clock | None = None,
        *,
        interrupted: Literal["requeue", "fail"] = "requeue",
        policies: Mapping[str, Callable[[], Policy]] | None = None,
        subscribers: Iterable[Callable[[Event], None]] = (),
        acknowledge: bool = False,
        retention: float = 90 * _DAY,
        confirmation_timeout: float = 30 * _DAY,
        failure_threshold_tasks: int = 1000,
        failure_threshold_ratio: float = 0.5,
        access_policy: AccessPolicy | None = None,
        id_prefix: str = "job-",
    ) -> Self:
        """Rebuild a scheduler from ``store`` and journal every later change there.

        An empty store gives a fresh scheduler. Otherwise every job, queue,
        line order, hop timer, tag, task outcome, report and history is as it
        was after the last journaled call. Work that was running is settled:
        an Active job goes Active -> Pausing -> Paused and waits in its line
        with its place kept (``interrupted="requeue"``), or goes Failing ->
        Failed with reason code ``Interrupted`` (``interrupted="fail"``);
        Pausing becomes Paused, Cancelling Cancelled, Failing Failed. Then
        every queue starts what its slots allow. These changes are journaled
        too, and delivered to ``subscribers`` (subscribed before they happen).
        A job's work is not stored: to run it, give a runtime the scheduler
        and ``work_for`` (see ``jobqueue.runtime.Handler``).

        Args:
            store: where the journal lives; it serves this scheduler only.
            clock: must not read earlier than the store's last change.
            interrupted: ``"requeue"`` or ``"fail"`` for work that was Active.
            policies: factories for queues whose policy is neither ``"fifo"``
                nor ``"priority"``, by queue name.
            subscribers: callbacks to subscribe before recovery.
            acknowledge: as for the constructor; the remaining settings too.
            retention: as for the constructor.
            confirmation_timeout: as for the constructor.
            failure_threshold_tasks: as for the constructor.
            failure_threshold_ratio: as for the constructor.
            access_policy: as for the constructor.
            id_prefix: as for the constructor.

        Raises:
            StoreError: the store cannot be read or already serves a scheduler,
                or a custom policy has no factory.
            CorruptStoreError: the store is damaged.
            ValidationError: a setting is out of range, or the clock reads
                earlier than the store's last change.
        """
        from .store._restore import open_scheduler

        fresh = lambda: cls(  # noqa: E731 -- built only after the arguments are checked
            clock,
            acknowledge=acknowledge,
            retention=retention,
            confirmation_timeout=confirmation_timeout,
            failure_threshold_tasks=failure_threshold_tasks,
            failure_threshold_ratio=failure_threshold_ratio,
            access_policy=access_policy,
            id_prefix=id_prefix,
        )
        return open_scheduler(
            store, fresh, interrupted=interrupted, policies=policies, subscribers=subscribers
        )

    # ------------------------------------------------------------------ clock

    @property
    def clock(self) -> Clock:
        """The clock this scheduler reads."""
        return self._clock

    @property
    def retention(self) -> float:
        """Seconds a finished job stays listed."""
        return self._retention

    # ------------------------------------------------------------------ events

    def subscribe(self, callback: Callable[[Event], None]) -> Callable[[], None]:
        """Call ``callback`` with every event, in order; returns an unsubscribe function.

        Events are delivered after the call that caused them has finished
        changing state, so a callback sees a consistent scheduler and may call
        it. If a callback raises, the remaining events are still delivered and
        the first exception is raised afterwards.
        """
        self._subscribers.append(callback)
        self._listening = True

        def unsubscribe() -> None:
            if callback in self._subscribers:
                self._subscribers.remove(callback)
                self._listening = bool(self._subscribers) or self._batch_hook is not None

        return unsubscribe

    def _hook_batches(self, hook: Callable[[Sequence[RawEvent]], None]) -> None:
        """Call ``hook`` with every batch of raw events, after their delivery."""
        self._batch_hook = hook
        self._listening = True

    def _emit(self, kind: type[Event], *fields: object) -> None:
        self._pending.append((kind, *fields))

    def _flush(self) -> None:
        if not self._pending or self._delivering:
            return  # the outer delivery loop will reach these events
        self._delivering = True
        first_error: BaseException | None = None
        pending = self._pending
        i = self._delivered
        try:
            while i < len(pending) and self._subscribers:
                raw = pending[i]
                i += 1
                event = raw[0](*raw[1:])
                for callback in tuple(self._subscribers):
                    try:
                        callback(event)
                    except Exception as exc:
                        if first_error is None:
                            first_error = exc
            if self._batch_hook is not None:
                try:
                    self._batch_hook(pending)
                except Exception as exc:
                    first_error = exc  # changes that were not journaled outrank a callback error
            pending.clear()
            i = 0
        finally:
            # If a callback raised BaseException, the events it cut off are
            # delivered by the next call, and the batch hook still gets them
            # all; no event is delivered twice.
            self._delivered = i
            self._delivering = False
        if first_error is not None:
            raise first_error

    # ------------------------------------------------------------------ queues

    def create_queue(
        self,
        name: str,
        *,
        slots: int = 100,
        policy: PolicySpec = "fifo",
        preemption: bool = False,
        deferred_share: float = 0.9,
        max_waiting: int = 10_000,
        pricing: Pricing | str = Pricing.ON_DEMAND,
        tags: Mapping[str, str] | None = None,
    ) -> QueueInfo:
        """Create a queue.

        Args:
            name: unique queue name (the rules of job names apply).
            slots: jobs that may hold a slot at once (``>= 1``).
            policy: ``"fifo"``, ``"priority"``, or a fresh ``Policy`` instance.
            preemption: with ``policy="priority"``, preempt lower-priority jobs.
            deferred_share: share of slots deferred jobs may hold, in (0, 1].
            max_waiting: how many jobs may wait (``>= 1``).
            pricing: ``"on_demand"`` or ``"reserved"``.
            tags: the queue's tags (billing tags for jobs that use them).

        Raises:
            ConflictError: a queue of that name exists.
            ValidationError: a setting is out of range.
        """
        qname = _check_queue_name(name)
        if qname in self._queues:
            raise ConflictError(f"queue {qname!r} already exists")
        slots = check_int("slots", slots, 1)
        share = check_share(deferred_share)
        max_waiting = check_int("max_waiting", max_waiting, 1)
        plan = check_choice("pricing", pricing, Pricing)
        queue_tags = validate_tags(tags)
        _check_unshared(policy, self._queues.values())
        pol = _make_policy(policy, preemption)
        self._add_queue(qname, slots, pol, share, max_waiting, plan, queue_tags)
        self._emit_queue(qname, "created")
        self._flush()
        return self._queue_info(self._queues[qname])

    def _add_queue(
        self,
        name: str,
        slots: int,
        policy: Policy,
        share: float,
        max_waiting: int,
        pricing: Pricing,
        tags: dict[str, str],
    ) -> None:
        self._queues[name] = QueueRecord(
            name=name,
            slots=slots,
            deferred_share=share,
            deferred_limit=deferred_limit(slots, share),
            max_waiting=max_waiting,
            policy=policy,
            pricing=pricing,
            tags=tags,
        )

    def update_queue(
        self,
        name: str,
        *,
        slots: int | None = None,
        policy: PolicySpec | None = None,
        preemption: bool | None = None,
        deferred_share: float | None = None,
        max_waiting: int | None = None,
        pricing: Pricing | str | None = None,
        tags: Mapping[str, str] | None = None,
    ) -> QueueInfo:
        """Change a queue's settings at run time; ``None`` leaves a setting as it is.

        Lowering ``slots``, ``deferred_share`` or ``max_waiting`` never stops or
        drops a job already admitted: it only stops new starts (or arrivals)
        until the queue is back under the limit. Changing the policy moves every
        waiting and running job into the new one, keeping their entry order.

        Raises:
            NotFound: no such queue.
            ValidationError: a setting is out of range.
            ConflictError: ``pricing="reserved"`` while a job with acceleration
                ``enabled`` waits in or may hop to the queue.
        """
        q = self._queue(name)
        new_slots = q.slots if slots is None else check_int("slots", slots, 1)
        share = q.deferred_share if deferred_share is None else check_share(deferred_share)
        cap = q.max_waiting if max_waiting is None else check_int("max_waiting", max_waiting, 1)
        plan = q.pricing if pricing is None else check_choice("pricing", pricing, Pricing)
        new_tags = q.tags if tags is None else validate_tags(tags)
        new_policy: Policy | None = None
        if policy is not None or preemption is not None:
            spec: PolicySpec = policy if policy is not None else _policy_spec(q.policy)
            keep = isinstance(q.policy, PriorityPolicy) and q.policy.preemption
            _check_unshared(spec, self._queues.values())
            new_policy = _make_policy(spec, keep if preemption is None else preemption)
        if plan is Pricing.RESERVED and q.pricing is not Pricing.RESERVED:
            for rec in self._live():
                if rec.acceleration is Acceleration.ENABLED and (
                    rec.queue == q.name or q.name in _pending_destinations(rec)
                ):
                    raise ConflictError(
                        f"queue {q.name!r} cannot become reserved: job {rec.id!r} "
                        "has acceleration 'enabled'"
                    )
        # All checks passed: apply.
        if plan is not q.pricing:
            # Bill what ran so far under the plan it ran under.
            now = self._clock.now()
            for rec in self._jobs.values():
                if rec.holds_slot and rec.queue == q.name:
                    self._settle(rec, q, now)
        q.slots = new_slots
        q.deferred_share = share
        q.deferred_limit = deferred_limit(new_slots, share)
        q.max_waiting = cap
        q.pricing = plan
        q.tags = new_tags
        q.over_slots = max(0, q.holding - q.slots)
        q.over_share = max(0, q.deferred_holding - q.deferred_limit)
        q.over_waiting = max(0, q.ready - q.max_waiting)
        if new_policy is not None:
            old = q.policy
            line = list(old.waiting())
            running = [r for r in self._live() if r.queue == q.name and r.status is _S.ACTIVE]
            q.policy = new_policy
            for job in line:
                new_policy.add(job)
            for rec in running:
                new_policy.started(rec)
        self._emit_queue(q.name, "updated")
        self._dispatch(q, self._clock.now())
        self._flush()
        return self._queue_info(q)

    def delete_queue(self, name: str) -> None:
        """Delete an empty queue: no unfinished job is in it or may hop to it.

        Raises:
            NotFound: no such queue.
            ConflictError: the queue is in use.
        """
        q = self._queue(name)
        for rec in self._live():
            if rec.queue == q.name or q.name in _pending_destinations(rec):
                raise ConflictError(f"queue {q.name!r} is in use by job {rec.id!r}")
        del self._queues[q.name]
        self._emit_queue(q.name, "deleted")
        self._flush()

    def get_queue(self, name: str) -> QueueInfo:
        """A snapshot of one queue.

        Raises:
            NotFound: no such queue.
        """
        return self._queue_info(self._queue(name))

    def list_queues(self) -> tuple[QueueInfo, ...]:
        """Snapshots of every queue, in creation order."""
        return tuple(self._queue_info(q) for q in self._queues.values())

    def pause_queue(self, name: str) -> QueueInfo:
        """Pause a queue: it starts nothing and no job hops out of it.

        Running work is not interrupted; jobs may still hop into it and wait.
        Pausing a paused queue changes nothing.
        """
        q = self._queue(name)
        if not q.paused:
            q.paused = True
            self._emit_queue(q.name, "paused")
            self._flush()
        return self._queue_info(q)

    def resume_queue(self, name: str) -> QueueInfo:
        """Reactivate a paused queue.

        The queue first starts jobs as slots allow. Then, of the jobs still
        waiting whose hop wait passed while it was paused, the one with no job
        ahead of it stays and runs here (its remaining hop rules are dropped);
        every other one hops at once.
        """
        q = self._queue(name)
        if not q.paused:
            return self._queue_info(q)
        q.paused = False
        now = self._clock.now()
        self._emit_queue(q.name, "resumed")
        # A job that can start here now has nobody ahead of it. Starting first
        # also means no hop's own dispatch can start a job still to be decided.
        self._dispatch(q, now)
        # A wait may have passed with no poll() since: it is due all the same,
        # or the outcome would depend on when the caller happened to poll.
        due = [(i, job) for i, job in enumerate(q.policy.waiting()) if _hop_overdue(_rec(job), now)]
        for position, job in due:
            rec = _rec(job)
            if rec.status is not _S.READY or rec.queue != q.name:
                continue  # started or moved since the list was taken
            rec.hop_due = False
            rec.hop_token += 1  # its timer, if still queued, must not fire again
            if position == 0:
                rec.hop_index = len(rec.hops)
                if self._listening:
                    self._emit(
                        HopsDropped, now, rec.id, q.name, "first in line when its queue resumed"
                    )
            else:
                self._hop(rec, now)
        self._dispatch(q, now)
        self._flush()
        return self._queue_info(q)

    def _emit_queue(self, name: str, change: str) -> None:
        if self._listening:
            self._emit(QueueEvent, self._clock.now(), name, change)

    def _queue(self, name: str) -> QueueRecord:
        try:
            return self._queues[name]
        except (KeyError, TypeError):
            raise NotFound(f"unknown queue {name!r}") from None

    def _queue_info(self, q: QueueRecord) -> QueueInfo:
        return QueueInfo(
            name=q.name,
            slots=q.slots,
            deferred_share=q.deferred_share,
            deferred_limit=q.deferred_limit,
            max_waiting=q.max_waiting,
            policy=q.policy.name,
            pricing=q.pricing,
            tags=q.tags,
            paused=q.paused,
            waiting=q.ready,
            paused_jobs=q.paused_jobs,
            running=q.holding,
        )

    # ------------------------------------------------------------------ submit

    def submit(
        self,
        *,
        queue: str = "default",
        priority: int = 0,
        deferred: bool = True,
        name: str | None = None,
        description: str = "",
        tags: Mapping[str, str] | None = None,
        hops: Sequence[HopRule] = (),
        tasks: TaskSource = None,
        confirmation_required: bool = False,
        report: ReportScope | str | None = None,
        preemptible: bool = True,
        acceleration: Acceleration | str = Acceleration.DISABLED,
        billing_tags_source: BillingTagsSource | str = BillingTagsSource.QUEUE,
        principal: Principal | None = None,
    ) -> Job:
        """Submit a job; returns its snapshot after it has moved as far as it can.

        The job passes New -> Preparing (its manifest is read) -> Ready, or
        Suspended with ``confirmation_required``. A Ready job starts at once if
        its queue has a free slot and nobody waits ahead of it (deferred jobs
        also need room in the deferred share); otherwise it waits in line.

        Args:
            queue: the submission queue.
            priority: an int in -2**31..2**31-1; higher runs first in priority queues.
            deferred: True (Transcribe's AllowDeferredExecution) lets the job wait
                for a slot; False demands a slot now or raises.
            name: optional, unique among unfinished jobs, 1-200 of ``[0-9A-Za-z._-]``.
            description: up to 256 characters.
            tags: up to 50 tags (keys 1-128, values 0-256 characters).
            hops: hop rules, a chain (see ``HopRule``).
            tasks: the manifest: task keys, a count (keys ``"0"``..), or a
                callable read in Preparing (if it raises, the job fails there).
            confirmation_required: wait in Suspended until ``confirm()``.
            report: request a completion report: ``"all"`` or ``"failed"``.
            preemptible: whether a higher-priority job may pause this one.
            acceleration: ``"disabled"``, ``"enabled"`` or ``"preferred"``.
            billing_tags_source: bill under the submission queue's tags or the job's.
            principal: the caller, for the access policy.

        Raises:
            NotFound: unknown queue (or hop destination).
            ValidationError: bad priority, name, description, tags, hops or tasks.
            ConflictError: the name is taken by an unfinished job.
            LimitExceededError: a non-deferred job with no free slot, or a full queue.
            AccessDenied: the access policy refuses ``create``.
        """
        return self._snapshot(
            self._submit(
                queue,
                priority,
                deferred,
                name,
                description,
                tags,
                hops,
                tasks,
                confirmation_required,
                report,
                preemptible,
                acceleration,
                billing_tags_source,
                principal,
            )
        )

    def _submit(
        self,
        queue: str,
        priority: int,
        deferred: bool,
        name: str | None,
        description: str,
        tags: Mapping[str, str] | None,
        hops: Sequence[HopRule],
        tasks: TaskSource,
        confirmation_required: bool,
        report: ReportScope | str | None,
        preemptible: bool,
        acceleration: Acceleration | str,
        billing_tags_source: BillingTagsSource | str,
        principal: Principal | None,
    ) -> JobRecord:
        """The one submission path: ``submit`` and the simulation driver use it.

        Positional, like the record below: keyword matching of this many
        arguments costs more than the rest of a submission's bookkeeping.
        """
        q = self._queue(queue)
        priority = check_priority(priority)
        name = None if name is None else check_name(name)
        description = check_description(description)
        job_tags = _NO_TAGS if tags is None else validate_tags(tags)
        accel = check_choice("acceleration", acceleration, Acceleration)
        source = check_choice("billing_tags_source", billing_tags_source, BillingTagsSource)
        scope = None if report is None else check_choice("report", report, ReportScope)
        # Only the default skips the checks: a falsy bad value ('', 0, None) must not.
        hop_rules = () if hops == () else self._check_hops(q.name, hops, accel)
        keys, total, reader = (None, 0, None) if tasks is None else _check_tasks(tasks)
        if accel is Acceleration.ENABLED and q.pricing is Pricing.RESERVED:
            raise ValidationError(f"acceleration 'enabled' cannot run in reserved queue {q.name!r}")
        if name is not None and name in self._names:
            raise ConflictError(f"job name {name!r} is already used by an unfinished job")
        if self.access_policy is not None:
            self.access_policy.check(Action.CREATE, principal, job_tags, job_tags)
        if not confirmation_required:
            if deferred:
                self._check_room(q)
            else:
                self._check_slot_now(q)

        now = self._clock.now()
        index = next(self._counter)
        rec = JobRecord(
            f"{self._id_prefix}{index}",
            index,
            name,
            description,
            _S.NEW,
            priority,
            next(self._seq),
            q.name,
            q.name,
            bool(deferred),
            bool(preemptible),
            bool(confirmation_required),
            now,
            job_tags,
            hop_rules,
            accel,
            source,
            scope,
            total,
            keys,
            [now, _S.NEW],
        )
        self._jobs[rec.id] = rec
        self._created.append(rec)
        if name is not None:
            self._names[name] = rec
        if self._listening:  # inline, as in _transition: one per submission
            self._pending.append((JobSubmitted, now, rec.id, q.name, priority, rec.deferred, name))
        self._transition(rec, _S.PREPARING, now)
        if reader is not None:
            try:
                keys, total = _read_manifest(reader)
            except Exception as exc:
                reason = FailureReason("ManifestReadError", f"{type(exc).__name__}: {exc}")
                self._fail_now(rec, reason, now)
                self._flush()
                return rec
            if rec.status is not _S.PREPARING:
                # The reader called back into the scheduler (and cancelled the job, say).
                self._flush()
                return rec
            rec.task_keys, rec.tasks_total = keys, total
        if confirmation_required:
            self._transition(rec, _S.SUSPENDED, now)
            rec.suspended_at = now
            self._suspended.append((now, rec))
        else:
            self._enter(rec, q, now)
        self._flush()
        return rec

    def _check_room(self, q: QueueRecord) -> None:
        if q.ready >= q.max_waiting:
            raise LimitExceededError(
                f"queue {q.name!r} is full: at most {q.max_waiting} jobs may wait"
            )

    def _check_slot_now(self, q: QueueRecord) -> None:
        if q.paused:
            raise LimitExceededError(f"queue {q.name!r} is paused: a non-deferred job cannot start")
        if q.holding >= q.slots:
            raise LimitExceededError(
                f"no free slot in queue {q.name!r}: all {q.slots} slots are in use"
            )

    def _check_hops(
        self, queue: str, hops: Sequence[HopRule], accel: Acceleration
    ) -> tuple[HopRule, ...]:
        if isinstance(hops, (str, bytes)) or not isinstance(hops, Sequence):
            raise ValidationError(f"hops must be a sequence of HopRule, got {type(hops).__name__}")
        current = queue
        rules: list[HopRule] = []
        for i, rule in enumerate(hops):
            if not isinstance(rule, HopRule):
                raise ValidationError(f"hops[{i}] must be a HopRule, got {type(rule).__name__}")
            try:
                dest = self._queue(rule.queue)
            except NotFound:
                raise NotFound(f"hops[{i}].queue: unknown queue {rule.queue!r}") from None
            if dest.name == current:
                raise ValidationError(
                    f"hops[{i}].queue must differ from the queue it hops from, got {current!r}"
                )
            wait = check_positive_number(f"hops[{i}].wait", rule.wait)
            new_priority = (
                None
                if rule.priority is None
                else check_priority(rule.priority, f"hops[{i}].priority")
            )
            if accel is Acceleration.ENABLED and dest.pricing is Pricing.RESERVED:
                raise ValidationError(
                    f"hops[{i}]: acceleration 'enabled' cannot run in reserved queue {dest.name!r}"
                )
            rules.append(HopRule(dest.name, wait, new_priority))
            current = dest.name
        return tuple(rules)

    # ------------------------------------------------------------------ lookups

    def get(self, job_id: str) -> Job:
        """A snapshot of one job, with its whole configuration and history.

        Raises:
            NotFound: no such job (or it was purged).
        """
        return self._snapshot(self._job(job_id))

    def __contains__(self, job_id: object) -> bool:
        return job_id in self._jobs

    def __len__(self) -> int:
        """Number of jobs kept (unfinished, and finished within retention)."""
        return len(self._jobs)

    def _job(self, job_id: str) -> JobRecord:
        try:
            return self._jobs[job_id]
        except (KeyError, TypeError):
            raise NotFound(f"unknown job {job_id!r}") from None

    def _live(self) -> Iterable[JobRecord]:
        return (r for r in self._jobs.values() if r.status not in TERMINAL)

    def list_jobs(
        self,
        *,
        statuses: Iterable[JobStatus | str] | None = None,
        queue: str | None = None,
        search: str | None = None,
        limit: int = 1000,
        token: str | None = None,
    ) -> JobPage:
        """List unfinished jobs and jobs finished within the retention window.

        Rows come oldest first. The continuation token marks a place in creation
        order, so paging stays correct while jobs are added or finish between
        pages: no job that existed throughout is skipped or repeated.

        Args:
            statuses: keep only these statuses.
            queue: keep only jobs submitted to this queue (hopped jobs stay
                listed under their submission queue).
            search: keep only jobs whose id, name or description contains this.
            limit: at most this many rows, 1-1000.
            token: ``next_token`` of the previous page.

        Raises:
            ValidationError: bad status, limit or token.
        """
        wanted = None if statuses is None else self._check_statuses(statuses)
        for field, value in (("queue", queue), ("search", search)):
            if value is not None and not isinstance(value, str):
                raise ValidationError(f"{field} must be a str, got {type(value).__name__}")
        limit = check_int("limit", limit, 1, 1000)
        start = 0 if token is None else _parse_token(token)
        if self._purged_in_created > len(self._created) // 2:
            self._created = [r for r in self._created if not r.purged]
            self._purged_in_created = 0
        created = self._created
        i = bisect.bisect_right(created, start, key=lambda r: r.index)
        rows: list[JobSummary] = []
        last = start
        more = False
        for rec in itertools.islice(created, i, None):
            if rec.purged:
                continue
            if wanted is not None and rec.status not in wanted:
                continue
            if queue is not None and rec.submission_queue != queue:
                continue
            if search is not None and not (
                search in rec.id
                or search in rec.description
                or (rec.name is not None and search in rec.name)
            ):
                continue
            if len(rows) == limit:
                more = True
                break
            rows.append(_summary(rec))
            last = rec.index
        return JobPage(tuple(rows), f"after:{last}" if more else None)

    @staticmethod
    def _check_statuses(statuses: Iterable[JobStatus | str]) -> frozenset[JobStatus]:
        if isinstance(statuses, str):
            statuses = (statuses,)
        elif not isinstance(statuses, Iterable):
            raise ValidationError(
                f"statuses must be a collection of statuses, got {type(statuses).__name__}"
            )
        return frozenset(check_choice("statuses", s, JobStatus) for s in statuses)

    def position(self, job_id: str) -> QueuePosition | None:
        """Where a waiting (Ready or Paused) job stands in its queue; ``None`` otherwise.

        O(n) in the length of the line.
        """
        rec = self._job(job_id)
        if rec.status not in _WAITING_LINE:
            return None
        for ahead, job in enumerate(self._queues[rec.queue].policy.waiting()):
            if job is rec:
                return QueuePosition(rec.queue, ahead + 1, ahead)
        raise InvariantViolation(f"job {rec.id!r} is {rec.status} but not in its queue's line")

    # ------------------------------------------------------------------ job control

    def confirm(self, job_id: str, *, principal: Principal | None = None) -> Job:
        """Confirm a Suspended job: it becomes Ready and joins its queue's line.

        Raises:
            InvalidTransition: the job is not Suspended.
            LimitExceededError: its queue is full (or, for a non-deferred job,
                has no free slot); the job stays Suspended.
            AccessDenied: the access policy refuses ``confirm``.
        """
        rec = self._job(job_id)
        self._authorize(Action.CONFIRM, rec, principal)
        check_transition(rec.id, rec.status, _S.READY)
        if rec.status is not _S.SUSPENDED:
            raise InvalidTransition(rec.id, rec.status, _S.READY)
        q = self._queues[rec.queue]
        if rec.deferred:
            self._check_room(q)
        else:
            self._check_slot_now(q)
        rec.suspended_at = None
        self._enter(rec, q, self._clock.now(), "confirmed")
        self._flush()
        return self._snapshot(rec)

    def cancel(self, job_id: str, *, principal: Principal | None = None) -> Job:
        """Cancel a job.

        A job with no running work goes Cancelling -> Cancelled at once. An
        Active or Pausing job goes Cancelling; it stays there, holding its slot,
        until ``cancelled()`` if the scheduler ``acknowledge``s work, else it is
        Cancelled at once.

        Raises:
            InvalidTransition: the job is finished, Cancelling or Failing.
            AccessDenied: the access policy refuses ``cancel``.
        """
        rec = self._job(job_id)
        self._authorize(Action.CANCEL, rec, principal)
        check_transition(rec.id, rec.status, _S.CANCELLING)
        now = self._clock.now()
        self._stop(rec, _S.CANCELLING, now, "cancel requested")
        if not (rec.holds_slot and self.acknowledge):
            self._transition(rec, _S.CANCELLED, now)
            self._release_and_finish(rec, now)
        self._flush()
        return self._snapshot(rec)

    def cancelled(self, job_id: str) -> Job:
        """Acknowledge that a Cancelling job's work has stopped: it becomes Cancelled.

        Raises:
            InvalidTransition: the job is not Cancelling.
        """
        rec = self._job(job_id)
        check_transition(rec.id, rec.status, _S.CANCELLED)
        now = self._clock.now()
        self._transition(rec, _S.CANCELLED, now)
        self._release_and_finish(rec, now)
        self._flush()
        return self._snapshot(rec)

    def complete(self, job_id: str) -> Job:
        """Report that an Active (or Pausing) job's work finished: it becomes Complete.

        Raises:
            InvalidTransition: the job is not Active or Pausing.
        """
        rec = self._job(job_id)
        self._complete(rec)
        return self._snapshot(rec)

    def _complete(self, rec: JobRecord) -> None:
        # Only an Active job has a policy entry to drop first; any status
        # that cannot complete is refused by _transition before anything changes.
        now = self._clock.now()
        if rec.status is _S.ACTIVE:
            self._queues[rec.queue].policy.stopped(rec)
        self._transition(rec, _S.COMPLETE, now)
        self._release_and_finish(rec, now)
        self._flush()

    def fail(self, job_id: str, reason: str = "", *, code: str = "JobFailed") -> Job:
        """Report that a job failed: it goes Failing -> Failed, keeping the reason.

        This is also how a runtime acknowledges a job that is already Failing
        (for example after the task-failure threshold): the reason, if given,
        is added to the job's failure reasons.

        Raises:
            InvalidTransition: the job is finished, Suspended or Cancelling.
            ValidationError: ``reason`` or ``code`` is not a str.
        """
        rec = self._job(job_id)
        if not isinstance(reason, str) or not isinstance(code, str):
            raise ValidationError("reason and code must be str")
        now = self._clock.now()
        if rec.status is _S.FAILING:
            if reason:
                _add_reason(rec, FailureReason(code, reason))
            self._transition(rec, _S.FAILED, now)
            self._release_and_finish(rec, now)
        else:
            check_transition(rec.id, rec.status, _S.FAILING)
            self._fail_now(rec, FailureReason(code, reason or "failed"), now, work_stopped=True)
        self._flush()
        return self._snapshot(rec)

    def paused(self, job_id: str) -> Job:
        """Acknowledge that a Pausing job's work reached a checkpoint: it becomes Paused.

        Its slot is freed and it waits in line to resume.

        Raises:
            InvalidTransition: the job is not Pausing.
        """
        rec = self._job(job_id)
        check_transition(rec.id, rec.status, _S.PAUSED)
        now = self._clock.now()
        self._complete_pause(rec, self._queues[rec.queue], now)
        self._dispatch(self._queues[rec.queue], now)
        self._flush()
        return self._snapshot(rec)

    def update_priority(
        self, job_id: str, priority: int, *, principal: Principal | None = None
    ) -> Job:
        """Change a job's priority in any unfinished status, taking effect at once.

        A waiting job moves in its line; an Active one may now preempt or be
        preempted by waiting jobs.

        Raises:
            ValidationError: priority is not an int in range.
            ConflictError: the job is finished.
            AccessDenied: the access policy refuses ``update_priority``.
        """
        rec = self._job(job_id)
        priority = check_priority(priority)
        self._authorize(Action.UPDATE_PRIORITY, rec, principal)
        if rec.status in TERMINAL:
            raise ConflictError(f"job {rec.id!r} is {rec.status}: its priority cannot change")
        old = rec.priority
        if priority != old:
            now = self._clock.now()
            self._set_priority(rec, priority)
            if self._listening:
                self._emit(PriorityChanged, now, rec.id, old, priority)
            self._dispatch(self._queues[rec.queue], now)
            self._flush()
        return self._snapshot(rec)

    def _set_priority(self, rec: JobRecord, priority: int) -> None:
        old = rec.priority
        rec.priority = priority
        if rec.status in _WAITING_LINE or rec.status is _S.ACTIVE:
            self._queues[rec.queue].policy.reprioritize(rec, old)

    def set_progress(self, job_id: str, fraction: float) -> None:
        """Record a running job's progress, a fraction in [0, 1].

        Jobs with tasks track progress themselves (tasks done / total); this is
        for job functions that report their own.
        """
        rec = self._job(job_id)
        if isinstance(fraction, bool) or not isinstance(fraction, (int, float)):
            raise ValidationError(f"fraction must be a number, got {type(fraction).__name__}")
        if not 0.0 <= fraction <= 1.0:
            raise ValidationError(f"fraction must be in [0, 1], got {fraction!r}")
        rec.progress = float(fraction)

    # ------------------------------------------------------------------ tasks

    def record_task(
        self,
        job_id: str,
        key: str,
        *,
        ok: bool,
        error_code: str = "",
        message: str = "",
    ) -> Job:
        """Record one task's outcome; tasks may finish in any order.

        Once ``failure_threshold_tasks`` tasks have run, if more than
        ``failure_threshold_ratio`` of them failed, the job fails with reason
        ``TaskFailureThreshold``.

        Raises:
            ValidationError: ``key`` is not in the job's manifest.
            ConflictError: the task was already recorded, or the job's work is
                not running (it has not started, or has finished).
        """
        rec = self._job(job_id)
        if not isinstance(ok, bool):
            raise ValidationError(f"ok must be a bool, got {type(ok).__name__}")
        if not isinstance(error_code, str) or not isinstance(message, str):
            raise ValidationError("error_code and message must be str")
        if rec.status not in TASKS_ACCEPTED:
            raise ConflictError(
                f"job {rec.id!r} is {rec.status}: task outcomes are accepted only while it runs"
            )
        if not isinstance(key, str) or not _has_task(rec, key):
            raise ValidationError(f"task key {key!r} is not in the manifest of job {rec.id!r}")
        outcomes = rec.outcomes
        if outcomes is None:
            outcomes = rec.outcomes = {}
        elif key in outcomes:
            raise ConflictError(f"task {key!r} of job {rec.id!r} was already recorded")
        status = TaskStatus.SUCCEEDED if ok else TaskStatus.FAILED
        record = TaskRecord(key, status, error_code, message)
        outcomes[key] = record
        if ok:
            rec.succeeded += 1
        else:
            rec.failed += 1
        ran = rec.succeeded + rec.failed
        rec.progress = ran / rec.tasks_total
        now = self._clock.now()
        if self._listening:
            self._emit(TaskRecorded, now, rec.id, record)
        if (
            ran >= self._threshold_tasks
            and rec.failed * self._threshold_den > self._threshold_num * ran
            and rec.status in (_S.ACTIVE, _S.PAUSING, _S.PAUSED)
        ):
            percent = 100.0 * self._threshold_ratio
            reason = FailureReason(
                "TaskFailureThreshold",
                f"{rec.failed} of {ran} tasks failed, more than {percent:g}%",
            )
            self._fail_now(rec, reason, now)
        self._flush()
        return self._snapshot(rec)

    def task_keys(self, job_id: str) -> tuple[str, ...]:
        """The job's manifest keys, in manifest order (``"0"``.. for a count)."""
        rec = self._job(job_id)
        if rec.task_keys is None:
            return tuple(map(str, range(rec.tasks_total)))
        return tuple(rec.task_keys)

    def tasks(self, job_id: str) -> tuple[TaskRecord, ...]:
        """The task outcomes recorded on a job, in the order they were recorded."""
        rec = self._job(job_id)
        return () if rec.outcomes is None else tuple(rec.outcomes.values())

    def report(self, job_id: str) -> CompletionReport | None:
        """The job's completion report, once it finished, if one was requested and a task ran."""
        return self._job(job_id).report

    # ------------------------------------------------------------------ tags

    def get_tags(self, job_id: str) -> Mapping[str, str]:
        """The job's tag set (a read-only copy)."""
        return MappingProxyType(dict(self._job(job_id).tags))

    def put_tags(
        self, job_id: str, tags: Mapping[str, str], *, principal: Principal | None = None
    ) -> Mapping[str, str]:
        """Replace the job's whole tag set; an empty set deletes all tags.

        Raises:
            ValidationError: the tags break a limit.
            AccessDenied: the access policy refuses ``put_tags``.
        """
        rec = self._job(job_id)
        new = validate_tags(tags)
        if self.access_policy is not None:
            self.access_policy.check(Action.PUT_TAGS, principal, rec.tags, new, target=rec.id)
        self._replace_tags(rec, new)
        return self.get_tags(rec.id)

    def delete_tags(self, job_id: str, *, principal: Principal | None = None) -> None:
        """Delete the job's tag set.

        Raises:
            AccessDenied: the access policy refuses ``delete_tags``.
        """
        rec = self._job(job_id)
        self._authorize(Action.DELETE_TAGS, rec, principal)
        self._replace_tags(rec, {})

    def _replace_tags(self, rec: JobRecord, new: dict[str, str]) -> None:
        old = rec.tags
        if old == new:
            return
        rec.tags = new
        if self._listening:
            self._emit(
                TagsChanged,
                self._clock.now(),
                rec.id,
                MappingProxyType(old),
                MappingProxyType(dict(new)),
            )
        self._flush()

    def _authorize(self, action: Action, rec: JobRecord, principal: Principal | None) -> None:
        if self.access_policy is not None:
            self.access_policy.check(action, principal, rec.tags, None, target=rec.id)

    # ------------------------------------------------------------------ billing

    def usage_report(self) -> tuple[UsageRow, ...]:
        """Billed on-demand run time, summed by billing tags, largest first.

        A job is billed only for time it holds a slot in an on-demand queue,
        under its submission queue's tags or its own (``billing_tags_source``),
        as they were when the time was billed.
        """
        rows = [UsageRow(MappingProxyType(dict(k)), s) for k, s in self._usage.items()]
        rows.sort(key=lambda r: (-r.seconds, sorted(r.tags.items())))
        return tuple(rows)

    # ------------------------------------------------------------------ timers

    def next_deadline(self) -> float | None:
        """When ``poll()`` next has work (a hop, a confirmation timeout, a purge), or ``None``."""
        best: float | None = None
        timers = self._hop_timers
        while timers and not _hop_valid(timers[0]):
            heapq.heappop(timers)
        if timers:
            best = timers[0][0]
        suspended = self._suspended
        while suspended and not _suspension_valid(suspended[0]):
            suspended.popleft()
        if suspended:
            t = suspended[0][0] + self._confirmation_timeout
            best = t if best is None else min(best, t)
        if self._finished:
            t = _finished_at(self._finished[0]) + self._retention
            best = t if best is None else min(best, t)
        return best

    def poll(self) -> int:
        """Process every timer due at ``clock.now()``; returns how many fired.

        Hops move waiting jobs (not out of paused queues); Suspended jobs past
        the confirmation timeout fail; finished jobs past retention are purged.
        """
        now = self._clock.now()
        fired = 0
        timers = self._hop_timers
        while timers and timers[0][0] <= now:
            entry = heapq.heappop(timers)
            if not _hop_valid(entry):
                continue
            fired += 1
            rec = entry[2]
            if self._queues[rec.queue].paused:
                rec.hop_due = True
                if self._listening:
                    self._emit(HopHeld, now, rec.id, rec.queue)
            else:
                self._hop(rec, now)
        suspended = self._suspended
        while suspended and suspended[0][0] + self._confirmation_timeout <= now:
            entry2 = suspended.popleft()
            if _suspension_valid(entry2):
                fired += 1
                self._confirmation_timed_out(entry2[1], now)
        finished = self._finished
        while finished and _finished_at(finished[0]) + self._retention <= now:
            rec = finished.popleft()
            fired += 1
            rec.purged = True
            self._purged_in_created += 1
            del self._jobs[rec.id]
            if self._listening:
                self._emit(JobPurged, now, rec.id)
        self._flush()
        return fired

    def _confirmation_timed_out(self, rec: JobRecord, now: float) -> None:
        # The table has no Suspended -> Failing move; the legal path to Failed
        # is through Ready, and the job never joins the line on the way.
        rec.suspended_at = None
        _add_reason(
            rec,
            FailureReason(
                "ConfirmationTimeout",
                f"not confirmed within {self._confirmation_timeout:.15g} seconds",
            ),
        )
        self._transition(rec, _S.READY, now, "confirmation timeout")
        self._transition(rec, _S.FAILING, now, "ConfirmationTimeout")
        self._transition(rec, _S.FAILED, now)
        self._finish(rec, now)

    def _set_hop_timer(self, rec: JobRecord, now: float) -> None:
        if rec.hop_index < len(rec.hops):
            rec.hop_token += 1
            deadline = now + rec.hops[rec.hop_index].wait
            heapq.heappush(self._hop_timers, (deadline, next(self._seq), rec, rec.hop_token))

    def _hop(self, rec: JobRecord, now: float) -> None:
        src = self._queues[rec.queue]
        if src.paused:
            raise InvariantViolation(f"job {rec.id!r} would hop out of paused queue {src.name!r}")
        rule = rec.hops[rec.hop_index]
        dest = self._queues.get(rule.queue)
        if (
            dest is None
            or dest.ready >= dest.max_waiting
            or (rec.acceleration is Acceleration.ENABLED and dest.pricing is Pricing.RESERVED)
        ):
            # The destination cannot take the job now: it stays, and its chain ends.
            rec.hop_index = len(rec.hops)
            if self._listening:
                reason = f"queue {rule.queue!r} cannot take it"
                self._emit(HopsDropped, now, rec.id, src.name, reason)
            return
        src.policy.discard(rec)
        src.ready -= 1
        if src.over_waiting:
            src.over_waiting -= 1
        if rule.priority is not None and rule.priority != rec.priority:
            old = rec.priority
            rec.priority = rule.priority
            if self._listening:
                self._emit(PriorityChanged, now, rec.id, old, rule.priority)
        rec.queue = dest.name
        rec.seq = next(self._seq)
        rec.hop_index += 1
        rec.hop_due = False
        rec.ready_at = now
        dest.policy.add(rec)
        dest.ready += 1
        transition = HopTransition(src.name, dest.name, now, rec.priority)
        if rec.hop_transitions is None:
            rec.hop_transitions = [transition]
        else:
            rec.hop_transitions.append(transition)
        if self._listening:
            self._emit(JobHopped, now, rec.id, src.name, dest.name, rec.priority)
        if self._hop_watch is not None:
            self._hop_watch(rec, src.name, dest.name, now)
        self._set_hop_timer(rec, now)
        self._dispatch(src, now)
        self._dispatch(dest, now)

    # ------------------------------------------------------------------ core moves

    def _transition(self, rec: JobRecord, target: JobStatus, now: float, reason: str = "") -> None:
        """The one path every status change takes."""
        old = rec.status
        if target not in _LEGAL[old]:
            raise InvalidTransition(rec.id, old, target)
        rec.status = target
        rec.history += (now, target)
        if self._listening:
            # Inline: the hottest event, three per submission.
            self._pending.append((JobTransitioned, now, rec.id, old, target, reason))
        if self._watch:
            hook = self._watch.get(target)
            if hook is not None:
                hook(rec, now)

    def _enter(self, rec: JobRecord, q: QueueRecord, now: float, reason: str = "") -> None:
        """Preparing/Suspended -> Ready; start at once or join the line."""
        self._transition(rec, _S.READY, now, reason)
        rec.ready_at = now
        if not rec.deferred or (
            # Nobody waits and a deferred slot is free: joining the line and
            # dispatching would start this job at once, at four policy calls
            # more. (A custom policy sees every add and discard.)
            not q.ready
            and not q.paused_jobs
            and not q.paused
            and q.holding < q.slots
            and q.deferred_holding < q.deferred_limit
            and type(q.policy) in _BUILTIN_POLICIES
        ):
            self._start(rec, q, now)
            return
        q.ready += 1
        q.policy.add(rec)
        self._dispatch(q, now)
        if rec.hops and rec.status is _S.READY:
            self._set_hop_timer(rec, now)

    def _dispatch(self, q: QueueRecord, now: float) -> None:
        """Start jobs from the head of ``q``'s line while slots allow; preempt if needed."""
        if q.paused:
            return
        policy = q.policy
        while True:
            head = policy.peek()
            if head is None:
                return
            rec = cast(JobRecord, head)  # policies hand back the records they were given
            if rec.status not in _WAITING_LINE or rec.queue != q.name:
                # A policy bug; refuse before any counter changes.
                raise InvariantViolation(
                    f"policy of queue {q.name!r}: peek() returned job {rec.id!r}, "
                    f"which is {rec.status} in queue {rec.queue!r}, not waiting here"
                )
            if q.holding < q.slots and (not rec.deferred or q.deferred_holding < q.deferred_limit):
                policy.discard(rec)
                if rec.status is _S.READY:
                    q.ready -= 1
                    if q.over_waiting:
                        q.over_waiting -= 1
                else:
                    q.paused_jobs -= 1
                self._start(rec, q, now)
            elif not self._preempt_one(q, now):
                return

    def _start(self, rec: JobRecord, q: QueueRecord, now: float) -> None:
        self._transition(rec, _S.ACTIVE, now)
        rec.start_seq = next(self._seq)
        rec.holds_slot = True
        q.holding += 1
        if rec.deferred:
            q.deferred_holding += 1
        rec.run_started_at = now
        if rec.started_at is None:
            rec.started_at = now
        accel = rec.acceleration
        rec.accelerated = accel is Acceleration.ENABLED or (
            accel is Acceleration.PREFERRED and q.pricing is Pricing.ON_DEMAND
        )
        q.policy.started(rec)

    def _preempt_one(self, q: QueueRecord, now: float) -> bool:
        """Ask one Active job to pause for a waiting one of strictly higher priority.

        Slots already on their way back (held by leaving jobs) are promised to
        the first waiting jobs they can serve; the first waiting job left
        without one picks a victim whose pause would let it start. Returns
        whether a pause was requested.
        """
        free = q.slots - (q.holding - q.leaving)
        free_deferred = q.deferred_limit - (q.deferred_holding - q.leaving_deferred)
        policy = q.policy
        chosen: tuple[JobRecord, JobRecord] | None = None
        for waiting in policy.waiting():
            if free > 0 and (not waiting.deferred or free_deferred > 0):
                free -= 1
                free_deferred -= waiting.deferred
                continue
            need_deferred = waiting.deferred and free_deferred <= 0
            for victim in policy.victims():
                if _rec(victim).queue != q.name:
                    raise InvariantViolation(
                        f"policy of queue {q.name!r}: victims() named job {_rec(victim).id!r} "
                        f"of queue {_rec(victim).queue!r}"
                    )
                if (
                    victim.priority < waiting.priority
                    and (victim.deferred or not need_deferred)
                    and _rec(victim).status is _S.ACTIVE
                ):
                    chosen = (_rec(victim), _rec(waiting))
                    break
            break
        if chosen is None:
            return False
        victim_rec, for_rec = chosen
        policy.stopped(victim_rec)
        self._transition(victim_rec, _S.PAUSING, now, f"preempted by {for_rec.id}")
        self._mark_leaving(victim_rec, q)
        if not self.acknowledge:
            self._complete_pause(victim_rec, q, now)
        return True

    def _mark_leaving(self, rec: JobRecord, q: QueueRecord) -> None:
        if rec.holds_slot and not rec.leaving:
            rec.leaving = True
            q.leaving += 1
            if rec.deferred:
                q.leaving_deferred += 1

    def _complete_pause(self, rec: JobRecord, q: QueueRecord, now: float) -> None:
        self._transition(rec, _S.PAUSED, now)
        self._release(rec, q, now)
        q.paused_jobs += 1
        q.policy.add(rec)

    def _release(self, rec: JobRecord, q: QueueRecord, now: float) -> None:
        """Give back the slot ``rec`` holds, billing the time it held it."""
        if not rec.holds_slot:
            return
        rec.holds_slot = False
        q.holding -= 1
        if q.over_slots:
            q.over_slots -= 1
        if rec.deferred:
            q.deferred_holding -= 1
            if q.over_share:
                q.over_share -= 1
        if rec.leaving:
            rec.leaving = False
            q.leaving -= 1
            if rec.deferred:
                q.leaving_deferred -= 1
        self._settle(rec, q, now)

    def _settle(self, rec: JobRecord, q: QueueRecord, now: float) -> None:
        """Account the run time since ``rec.run_started_at``, billing it if on demand."""
        seconds = now - rec.run_started_at
        rec.run_started_at = now
        run = rec.run_seconds + seconds
        rec.run_seconds = run
        if q.pricing is Pricing.ON_DEMAND:
            billed = rec.billed_seconds + seconds
            # Usually equal: share one float object rather than keep two.
            rec.billed_seconds = run if billed == run else billed
            if rec.billing_tags_source is BillingTagsSource.QUEUE:
                sub = self._queues.get(rec.submission_queue)
                tags = sub.tags if sub is not None else {}
            else:
                tags = rec.tags
            key = tuple(sorted(tags.items())) if tags else ()
            self._usage[key] = self._usage.get(key, 0.0) + seconds

    def _stop(self, rec: JobRecord, target: JobStatus, now: float, reason: str) -> None:
        """Move a job into Cancelling or Failing, taking it out of line or off its slot."""
        q = self._queues[rec.queue]
        status = rec.status
        if status in _WAITING_LINE:
            q.policy.discard(rec)
            if status is _S.READY:
                q.ready -= 1
                if q.over_waiting:
                    q.over_waiting -= 1
            else:
                q.paused_jobs -= 1
        elif status is _S.ACTIVE:
            q.policy.stopped(rec)
        self._transition(rec, target, now, reason)
        self._mark_leaving(rec, q)

    def _fail_now(
        self, rec: JobRecord, reason: FailureReason, now: float, *, work_stopped: bool = False
    ) -> None:
        """Fail a job with ``reason``.

        Running work that has not stopped (``work_stopped=False``) is asked to
        stop: the job stays Failing until ``fail()`` acknowledges it, if the
        scheduler acknowledges work.
        """
        _add_reason(rec, reason)
        self._stop(rec, _S.FAILING, now, reason.code)
        if rec.holds_slot and self.acknowledge and not work_stopped:
            return
        self._transition(rec, _S.FAILED, now)
        self._release_and_finish(rec, now)

    def _release_and_finish(self, rec: JobRecord, now: float) -> None:
        q = self._queues[rec.queue]
        self._release(rec, q, now)
        self._finish(rec, now)
        self._dispatch(q, now)

    def _finish(self, rec: JobRecord, now: float) -> None:
        """Bookkeeping when ``rec`` reaches a terminal status."""
        rec.finished_at = now
        rec.hop_token += 1
        if rec.name is not None and self._names.get(rec.name) is rec:
            del self._names[rec.name]
        self._finished.append(rec)
        if rec.report_scope is not None and rec.outcomes:
            rec.report = self._build_report(rec, rec.report_scope)

    def _build_report(self, rec: JobRecord, scope: ReportScope) -> CompletionReport:
        assert rec.outcomes is not None and rec.finished_at is not None
        records = tuple(rec.outcomes.values())
        if scope is ReportScope.FAILED:
            records = tuple(r for r in records if r.status is TaskStatus.FAILED)
        return CompletionReport(
            job_id=rec.id,
            name=rec.name,
            description=rec.description,
            submission_queue=rec.submission_queue,
            priority=rec.priority,
            status=rec.status,
            scope=scope,
            created_at=rec.created_at,
            finished_at=rec.finished_at,
            tags=rec.tags,
            tasks_total=rec.tasks_total,
            tasks_succeeded=rec.succeeded,
            tasks_failed=rec.failed,
            failure_reasons=tuple(rec.failure_reasons or ()),
            records=records,
        )

    # ------------------------------------------------------------------ snapshots

    def _snapshot(self, rec: JobRecord) -> Job:
        # Every public call returns one of these, so it is built positionally
        # (in Job's field order), with no Python-level call per history entry.
        tags = rec.tags
        hopped = rec.hop_transitions
        reasons = rec.failure_reasons
        return Job(
            rec.id,
            rec.name,
            rec.description,
            rec.status,
            rec.priority,
            rec.submission_queue,
            rec.queue,
            rec.deferred,
            rec.preemptible,
            rec.confirmation_required,
            rec.created_at,
            rec.started_at,
            rec.finished_at,
            _NO_TAGS_VIEW if tags is _NO_TAGS else MappingProxyType(tags),
            rec.hops,
            () if hopped is None else tuple(hopped),
            tuple(map(_status_change, history_pairs(rec.history))),
            rec.tasks_total,
            rec.succeeded,
            rec.failed,
            () if reasons is None else tuple(reasons),
            rec.report_scope,
            rec.acceleration,
            rec.accelerated,
            rec.billing_tags_source,
            rec.run_seconds,
            rec.billed_seconds,
            rec.progress,
        )

    # ------------------------------------------------------------------ invariants

    def check_invariants(self) -> None:
        """Check every invariant of the scheduler's state; raise if one is broken.

        Slots and the deferred share are never exceeded; every job is in exactly
        one status and one queue, and waits in at most one line; every history
        follows the transition table and stops at a terminal status; each line
        is in its policy's order; no job hopped before its wait; no queue holds
        more waiting jobs than its cap. Limits lowered at run time are allowed
        to be exceeded by the jobs admitted before.

        Raises:
            InvariantViolation: describing the first broken invariant.
        """
        problems: list[str] = []
        if _NO_TAGS:
            problems.append(f"the shared empty tag set was changed in place: {_NO_TAGS!r}")
        seen: set[int] = set()
        for q in self._queues.values():
            holders = [r for r in self._jobs.values() if r.queue == q.name and r.holds_slot]
            running = [r for r in holders if r.status in _RUNNING]
            line = list(q.policy.waiting())
            ready = sum(1 for j in line if _rec(j).status is _S.READY)
            if len(holders) != q.holding:
                problems.append(f"queue {q.name!r} counts {q.holding} holders, has {len(holders)}")
            if len(running) > q.slots + q.over_slots:
                problems.append(
                    f"queue {q.name!r}: {len(running)} Active+Pausing jobs exceed {q.slots} slots"
                )
            deferred = sum(1 for r in holders if r.deferred)
            if deferred > q.deferred_limit + q.over_share:
                problems.append(
                    f"queue {q.name!r}: {deferred} deferred holders exceed the share "
                    f"of {q.deferred_limit}"
                )
            if ready != q.ready or len(line) - ready != q.paused_jobs:
                problems.append(f"queue {q.name!r}: line counters disagree with its policy")
            if len(q.policy) != len(line):
                problems.append(
                    f"queue {q.name!r}: len() of its policy is {len(q.policy)}, "
                    f"but waiting() yields {len(line)} jobs"
                )
            if q.policy.peek() is not (line[0] if line else None):
                problems.append(f"queue {q.name!r}: peek() is not the first job of waiting()")
            elif (
                line
                and not q.paused
                and q.holding < q.slots
                and (not line[0].deferred or q.deferred_holding < q.deferred_limit)
            ):
                problems.append(
                    f"queue {q.name!r}: job {_rec(line[0]).id!r} waits at the head of the line "
                    "while a slot is free"
                )
            if q.ready > q.max_waiting + q.over_waiting:
                problems.append(
                    f"queue {q.name!r}: {q.ready} waiting jobs exceed the cap of {q.max_waiting}"
                )
            for job in line:
                rec = _rec(job)
                if id(rec) in seen:
                    problems.append(f"job {rec.id!r} waits in more than one line")
                seen.add(id(rec))
                if rec.queue != q.name or rec.status not in _WAITING_LINE:
                    problems.append(f"job {rec.id!r} ({rec.status}) is in the line of {q.name!r}")
            problems.extend(_order_problems(q, line))
        for rec in self._jobs.values():
            if rec.queue not in self._queues and rec.status not in TERMINAL:
                problems.append(f"job {rec.id!r} is in unknown queue {rec.queue!r}")
            if rec.status in _WAITING_LINE and id(rec) not in seen:
                problems.append(f"job {rec.id!r} is {rec.status} but in no line")
            if rec.holds_slot and rec.status not in (_S.ACTIVE, _S.PAUSING) and not rec.leaving:
                problems.append(f"job {rec.id!r} holds a slot while {rec.status}")
            problems.extend(_history_problems(rec))
            problems.extend(_hop_problems(rec))
        if problems:
            raise InvariantViolation("; ".join(problems))


# ---------------------------------------------------------------------- helpers


def _rec(job: object) -> JobRecord:
    # Policies hand back the records the scheduler gave them.
    assert isinstance(job, JobRecord)
    return job


def _hop_overdue(rec: JobRecord, now: float) -> bool:
    """Whether a Ready job's current hop wait has passed, polled or not."""
    if rec.status is not _S.READY:
        return False  # a preempted (Paused) job never hops
    return rec.hop_due or (
        rec.hop_index < len(rec.hops) and rec.ready_at + rec.hops[rec.hop_index].wait <= now
    )


def _finished_at(rec: JobRecord) -> float:
    assert rec.finished_at is not None
    return rec.finished_at


def _hop_valid(entry: tuple[float, int, JobRecord, int]) -> bool:
    rec = entry[2]
    return rec.hop_token == entry[3] and rec.status is _S.READY


def _suspension_valid(entry: tuple[float, JobRecord]) -> bool:
    rec = entry[1]
    return rec.status is _S.SUSPENDED and rec.suspended_at == entry[0]


def _pending_destinations(rec: JobRecord) -> set[str]:
    if rec.status not in _BEFORE_START - {_S.PAUSED}:
        return set()
    return {rule.queue for rule in rec.hops[rec.hop_index :]}


def _add_reason(rec: JobRecord, reason: FailureReason) -> None:
    if rec.failure_reasons is None:
        rec.failure_reasons = [reason]
    else:
        rec.failure_reasons.append(reason)


def _has_task(rec: JobRecord, key: str) -> bool:
    if rec.task_keys is not None:
        return key in rec.task_keys
    # isascii: str.isdigit() also accepts digits such as "²" that int() refuses.
    return key.isascii() and key.isdigit() and key == str(int(key)) and int(key) < rec.tasks_total


def _check_tasks(
    tasks: TaskSource,
) -> tuple[dict[str, None] | None, int, Callable[[], Iterable[str]] | None]:
    if tasks is None:
        return None, 0, None
    if isinstance(tasks, bool):
        raise ValidationError("tasks must be a sequence of keys, a count or a callable, got bool")
    if isinstance(tasks, int):
        return None, check_int("tasks", tasks, 0), None
    if callable(tasks):
        return None, 0, tasks
    if isinstance(tasks, str) or not isinstance(tasks, Sequence):
        raise ValidationError(
            f"tasks must be a sequence of keys, a count or a callable, got {type(tasks).__name__}"
        )
    keys, total = _manifest_keys(tasks)
    return keys, total, None


def _manifest_keys(keys: Iterable[str]) -> tuple[dict[str, None], int]:
    seen: dict[str, None] = {}
    for key in keys:
        if not isinstance(key, str) or not key:
            raise ValidationError(f"task keys must be non-empty str, got {key!r}")
        if key in seen:
            raise ValidationError(f"task key {key!r} appears twice in the manifest")
        seen[key] = None
    return seen, len(seen)


def _read_manifest(reader: Callable[[], Iterable[str]]) -> tuple[dict[str, None], int]:
    return _manifest_keys(list(reader()))


def _check_queue_name(name: object) -> str:
    if not isinstance(name, str):
        raise ValidationError(f"queue name must be a str, got {type(name).__name__}")
    checked = check_name(name)
    assert checked is not None
    return checked


def _make_policy(spec: PolicySpec, preemption: bool) -> Policy:
    if spec == "fifo":
        if preemption:
            raise ValidationError("preemption needs policy 'priority', got 'fifo'")
        return FifoPolicy()
    if spec == "priority":
        return PriorityPolicy(preemption=preemption)
    if isinstance(spec, str):
        raise ValidationError(f"policy must be 'fifo', 'priority' or a Policy, got {spec!r}")
    if not isinstance(spec, Policy):
        raise ValidationError(f"policy must be 'fifo', 'priority' or a Policy, got {spec!r}")
    if len(spec) != 0:
        raise ValidationError("policy must be a fresh instance with no waiting jobs")
    if preemption:
        raise ValidationError(
            "preemption applies to policy 'priority'; a custom policy preempts by its victims()"
        )
    return spec


def _check_unshared(policy: object, queues: Iterable[QueueRecord]) -> None:
    # One instance orders one queue: shared, it would mix two lines.
    for q in queues:
        if q.policy is policy:
            raise ValidationError(f"policy instance is already used by queue {q.name!r}")


def _policy_spec(policy: Policy) -> PolicySpec:
    if isinstance(policy, FifoPolicy):
        return "fifo"
    if isinstance(policy, PriorityPolicy):
        return "priority"
    return policy


def _parse_token(token: object) -> int:
    if isinstance(token, str) and token.startswith("after:") and token[6:].isdigit():
        return int(token[6:])
    raise ValidationError(f"token is not a continuation token from list_jobs: {token!r}")


def _summary(rec: JobRecord) -> JobSummary:
    return JobSummary(
        id=rec.id,
        name=rec.name,
        description=rec.description,
        priority=rec.priority,
        status=rec.status,
        submission_queue=rec.submission_queue,
        tasks_total=rec.tasks_total,
        tasks_succeeded=rec.succeeded,
        tasks_failed=rec.failed,
        created_at=rec.created_at,
    )


def _order_problems(q: QueueRecord, line: Sequence[object]) -> list[str]:
    recs = [_rec(j) for j in line]
    order = declared_order(q.policy)
    if order == "fifo":
        keys: list[tuple[int, ...]] = [(r.seq,) for r in recs]
    elif order == "priority":
        keys = [(-r.priority, r.seq) for r in recs]
    else:
        return []  # a policy that declares no order orders its line its own way
    if any(a >= b for a, b in itertools.pairwise(keys)):
        return [f"queue {q.name!r}: its line is out of {order} order"]
    return []


def _history_problems(rec: JobRecord) -> list[str]:
    problems = []
    history = list(history_pairs(rec.history))
    if not history or history[0][1] is not _S.NEW or history[-1][1] is not rec.status:
        problems.append(f"job {rec.id!r}: history does not run from New to {rec.status}")
    for (t0, a), (t1, b) in itertools.pairwise(history):
        if b not in TRANSITIONS[a] or t1 < t0:
            problems.append(f"job {rec.id!r}: illegal history step {a} -> {b}")
    return problems


def _hop_problems(rec: JobRecord) -> list[str]:
    if not rec.hop_transitions:
        return []
    problems = []
    entered = _first_ready(rec)
    for rule, hop in zip(rec.hops, rec.hop_transitions, strict=False):
        if hop.time < entered + rule.wait:
            problems.append(f"job {rec.id!r} hopped to {hop.destination!r} before its wait")
        entered = hop.time
    return problems


def _first_ready(rec: JobRecord) -> float:
    for t, status in history_pairs(rec.history):
        if status is _S.READY:
            return t
    return rec.created_at
