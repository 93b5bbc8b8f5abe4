"""``Scheduler``: the public façade of the sans-I/O core.

The scheduler never sleeps, starts a thread or does I/O; it reads time only
from its clock. Callers drive it: they submit jobs, report outcomes, and call
``poll()`` when ``next_deadline()`` says a timer is due. This module holds
the public methods: each checks its arguments and the access policy, and
hands the work to the core (``jobqueue._core``), where each rule has its own
module. Every public method validates all of its input before it changes
anything, so an error leaves the scheduler exactly as it was.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Literal

from ._access import AccessPolicy, Principal, check_access_policy
from ._clock import Clock, SystemClock, check_clock
from ._controls import Aging, Dependency, PendingReason, Retry
from ._core import access, control, invariants, listing, queues, tasks
from ._core.core import Core, Settings
from ._core.pending import pending_reason
from ._core.records import snapshot
from ._core.tasks import TaskSource
from ._events import Event
from ._model import (
    Acceleration,
    BillingTagsSource,
    HopRule,
    Job,
    JobPage,
    Pricing,
    QueueInfo,
    QueuePosition,
    UsageRow,
)
from ._reports import CompletionReport
from ._states import JobStatus
from ._tasks import ReportScope, TaskRecord
from ._validate import check_bool, lookup_key
from .policies import Policy

if TYPE_CHECKING:
    from typing import Self

    from ._core.queues import PolicySpec
    from .store import Store

__all__ = ["QueuePosition", "Scheduler", "TaskSource", "UsageRow"]

_DAY = 86_400.0


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
        access_policy: decides every call that takes a ``principal`` (``None``:
            anonymous); ``Action`` says which call needs what. ``None`` allows
            all. The other calls are trusted (README, "Access control").
        id_prefix: job ids are this prefix followed by a counter.
        rng: draws the jitter of retry backoffs; seed it for reproducible runs.
    """

    __slots__ = ("__weakref__", "_core")

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
        rng: random.Random | None = None,
    ) -> None:
        settings = Settings(
            retention=retention,
            confirmation_timeout=confirmation_timeout,
            threshold_tasks=failure_threshold_tasks,
            threshold_ratio=failure_threshold_ratio,
            id_prefix=id_prefix,
        )
        self._core = Core(
            SystemClock() if clock is None else check_clock(clock),
            settings,
            acknowledge=check_bool("acknowledge", acknowledge),
            access_policy=access_policy,
            rng=rng,
        )

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
        rng: random.Random | None = None,
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
            acknowledge, retention, confirmation_timeout, failure_threshold_tasks,
                failure_threshold_ratio, access_policy, id_prefix, rng: as for
                the constructor.

        Raises:
            StoreError: the store cannot be read or already serves a scheduler,
                or a custom policy has no factory.
            CorruptStoreError: the store is damaged; it is closed first, as it was.
            ValidationError: a setting is out of range, or the clock reads
                earlier than the store's last change.
        """
        # Recovery lives with the store (``jobqueue.store._recovery``); this
        # forwarder keeps ``open`` where users look for it, on the class.
        from .store._recovery import open_scheduler

        fresh = lambda: cls(  # noqa: E731 -- built only after the arguments are checked
            clock,
            acknowledge=acknowledge,
            retention=retention,
            confirmation_timeout=confirmation_timeout,
            failure_threshold_tasks=failure_threshold_tasks,
            failure_threshold_ratio=failure_threshold_ratio,
            access_policy=access_policy,
            id_prefix=id_prefix,
            rng=rng,
        )
        return open_scheduler(
            store, fresh, interrupted=interrupted, policies=policies, subscribers=subscribers
        )

    # ------------------------------------------------------------------ settings

    @property
    def clock(self) -> Clock:
        """The clock this scheduler reads."""
        return self._core.clock

    @property
    def retention(self) -> float:
        """Seconds a finished job stays listed."""
        return self._core.settings.retention

    @property
    def acknowledge(self) -> bool:
        """Whether running work must acknowledge pauses, cancels and failures (see above)."""
        return self._core.acknowledge

    @acknowledge.setter
    def acknowledge(self, value: bool) -> None:
        self._core.acknowledge = check_bool("acknowledge", value)

    @property
    def access_policy(self) -> AccessPolicy | None:
        """The access policy in force; ``None`` allows everything."""
        return self._core.access_policy

    @access_policy.setter
    def access_policy(self, value: AccessPolicy | None) -> None:
        self._core.access_policy = check_access_policy(value)

    # ------------------------------------------------------------------ events

    def subscribe(self, callback: Callable[[Event], None]) -> Callable[[], None]:
        """Call ``callback`` with every event, in order; returns an unsubscribe function.

        Events are delivered after the call that caused them has finished changing state,
        so a callback sees a consistent scheduler and may call it. If a callback raises,
        the remaining events are still delivered and the first exception is raised afterwards.

        Raises:
            ValidationError: ``callback`` is not callable.
        """
        return self._core.outbox.subscribe(callback)

    # ------------------------------------------------------------------ queues

    def create_queue(
        self,
        name: str,
        *,
        slots: int = 100,
        policy: PolicySpec = "fifo",
        preemption: bool = False,
        deferred_share: float = 1.0,
        max_waiting: int = 10_000,
        pricing: Pricing | str = Pricing.ON_DEMAND,
        tags: Mapping[str, str] | None = None,
        aging: Aging | None = None,
        principal: Principal | None = None,
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
            aging: with ``policy="priority"``, raise waiting jobs' effective
                priority over time (see ``Aging``).
            principal: the caller, for the access policy.

        Raises:
            ConflictError: a queue of that name exists.
            ValidationError: a setting is out of range, or a bad principal.
            AccessDenied: the access policy refuses ``create_queue``.
        """
        args = (slots, policy, preemption, deferred_share, max_waiting, pricing, tags, aging)
        return queues.info(queues.create(self._core, name, *args, principal))

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
        aging: Aging | Literal["off"] | None = None,
        principal: Principal | None = None,
    ) -> QueueInfo:
        """Change a queue's settings at run time; ``None`` leaves a setting as it is.

        Lowering ``slots``, ``deferred_share`` or ``max_waiting`` never stops or
        drops a job already admitted: it only stops new starts (or arrivals)
        until the queue is back under the limit. Changing the policy moves every
        waiting and running job into the new one, keeping their entry order;
        ``aging="off"`` turns aging off.

        Raises:
            NotFound: no such queue.
            ValidationError: a setting is out of range, or a bad principal.
            ConflictError: ``pricing="reserved"`` while a job with acceleration
                ``enabled`` waits in or may hop to the queue.
            AccessDenied: the access policy refuses ``update_queue``.
        """
        args = (slots, policy, preemption, deferred_share, max_waiting, pricing, tags, aging)
        return queues.info(queues.update(self._core, self._core.queue(name), *args, principal))

    def delete_queue(self, name: str, *, principal: Principal | None = None) -> None:
        """Delete an empty queue: no unfinished job is in it or may hop to it.

        Raises:
            NotFound: no such queue.
            ConflictError: the queue is in use.
            AccessDenied: the access policy refuses ``delete_queue``.
        """
        queues.delete(self._core, self._core.queue(name), principal)

    def get_queue(self, name: str) -> QueueInfo:
        """A snapshot of one queue.

        Raises:
            NotFound: no such queue.
        """
        return queues.info(self._core.queue(name))

    def list_queues(self) -> tuple[QueueInfo, ...]:
        """Snapshots of every queue, in creation order."""
        return tuple(queues.info(q) for q in self._core.queues.values())

    def pause_queue(self, name: str, *, principal: Principal | None = None) -> QueueInfo:
        """Pause a queue: it starts nothing and no job hops out of it.

        Running work is not interrupted; jobs may still hop into it and wait.
        Pausing a paused queue changes nothing.

        Raises:
            NotFound: no such queue.
            AccessDenied: the access policy refuses ``pause_queue``.
        """
        return queues.info(queues.pause(self._core, self._core.queue(name), principal))

    def resume_queue(self, name: str, *, principal: Principal | None = None) -> QueueInfo:
        """Reactivate a paused queue.

        The queue first starts jobs as slots allow. Then, of the jobs still
        waiting whose hop wait passed while it was paused, the one with no job
        ahead of it stays and runs here (its remaining hop rules are dropped);
        every other one hops at once.

        Raises:
            NotFound: no such queue.
            AccessDenied: the access policy refuses ``resume_queue``.
        """
        return queues.info(queues.resume(self._core, self._core.queue(name), principal))

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
        not_before: float | None = None,
        after: Sequence[str | Dependency] = (),
        max_run: float | None = None,
        max_wait: float | None = None,
        retry: Retry | None = None,
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
            not_before: the job may not start before this clock time; it is
                held in Suspended until then (deferred jobs only).
            after: job ids or ``Dependency`` values: it is held in Suspended
                until each ended as asked (deferred jobs only); if one cannot,
                it fails with reason ``DependencyNeverSatisfied``.
            max_run: seconds one attempt may hold a slot; then it fails with
                ``RunTimeExceeded`` (or retries).
            max_wait: seconds it may wait in a line in all; then it fails with
                ``WaitTimeExceeded``.
            retry: run it again after a backoff when its work fails (see ``Retry``).

        Raises:
            NotFound: unknown queue (or hop destination).
            ValidationError: bad priority, name, description, tags, hops or tasks.
            ConflictError: the name is taken by an unfinished job.
            LimitExceededError: a non-deferred job with no free slot, or a full queue.
            AccessDenied: the access policy refuses ``create``.
        """
        # fmt: off
        return snapshot(self._core.submit(
            queue, priority, deferred, name, description, tags, hops, tasks,
            confirmation_required, report, preemptible, acceleration, billing_tags_source,
            principal, not_before, after, max_run, max_wait, retry,
        ))
        # fmt: on

    # ------------------------------------------------------------------ lookups

    def get(self, job_id: str, *, principal: Principal | None = None) -> Job:
        """A snapshot of one job, with its whole configuration and history.

        Every read of one job (this, ``position``, ``pending_reason``, ``tasks``,
        ``task_keys``, ``report``, ``get_tags``) needs ``describe`` on it.

        Raises:
            NotFound: no such job (or it was purged).
            AccessDenied: the access policy refuses ``describe``.
        """
        return snapshot(access.visible(self._core, job_id, principal))

    def __contains__(self, job_id: object) -> bool:
        """Whether a job of that id is kept (``False`` for anything but a ``str``)."""
        return self._core.find(lookup_key(job_id)) is not None

    def __len__(self) -> int:
        """Number of jobs kept (unfinished, and finished within retention)."""
        return len(self._core.jobs)

    def list_jobs(
        self,
        *,
        statuses: Iterable[JobStatus | str] | None = None,
        queue: str | None = None,
        search: str | None = None,
        limit: int = 1000,
        token: str | None = None,
        principal: Principal | None = None,
    ) -> JobPage:
        """List unfinished jobs and jobs finished within the retention window.

        Rows come oldest first. The continuation token marks a place in creation
        order, so paging stays correct while jobs are added or finish between
        pages: no job that existed throughout is skipped or repeated. Under an
        access policy, listing needs ``list``, and the rows are the jobs the
        caller may ``describe``.

        Args:
            statuses: keep only these statuses.
            queue: keep only jobs submitted to this queue (hopped jobs stay
                listed under their submission queue).
            search: keep only jobs whose id, name or description contains this.
            limit: at most this many rows, 1-1000.
            token: ``next_token`` of the previous page.
            principal: the caller, for the access policy.

        Raises:
            ValidationError: bad status, limit, token or principal.
            AccessDenied: the access policy refuses ``list``.
        """
        return listing.list_jobs(self._core, statuses, queue, search, limit, token, principal)

    def position(self, job_id: str, *, principal: Principal | None = None) -> QueuePosition | None:
        """Where a job waiting in its line stands (Ready, or Paused when preempted), else ``None``.

        O(n) in the length of the line.

        Raises:
            NotFound, AccessDenied: as for ``get``.
        """
        return control.position(self._core, access.visible(self._core, job_id, principal))

    def pending_reason(
        self, job_id: str, *, principal: Principal | None = None
    ) -> PendingReason | None:
        """Why a job that is not running is not running; ``None`` if it runs or ended.

        O(n) in the length of its line.

        Raises:
            NotFound, AccessDenied: as for ``get``.
        """
        return pending_reason(self._core, access.visible(self._core, job_id, principal))

    # ------------------------------------------------------------------ job control

    def confirm(self, job_id: str, *, principal: Principal | None = None) -> Job:
        """Confirm a Suspended job: it becomes Ready and joins its queue's line.

        Raises:
            InvalidTransition: the job is not Suspended.
            ConflictError: the job is held by its start time or dependencies only.
            LimitExceededError: its queue is full (or, for a non-deferred job,
                has no free slot); the job stays Suspended.
            AccessDenied: the access policy refuses ``confirm``.
        """
        return snapshot(control.confirm(self._core, self._core.job(job_id), principal))

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
        return snapshot(control.cancel(self._core, self._core.job(job_id), principal))

    def cancelled(self, job_id: str) -> Job:
        """Acknowledge that a Cancelling job's work has stopped: it becomes Cancelled.

        Raises:
            InvalidTransition: the job is not Cancelling.
        """
        return snapshot(control.cancelled(self._core, self._core.job(job_id)))

    def complete(self, job_id: str) -> Job:
        """Report that an Active (or Pausing) job's work finished: it becomes Complete.

        Raises:
            InvalidTransition: the job is not Active or Pausing.
        """
        return snapshot(self._core.complete(self._core.job(job_id)))

    def fail(self, job_id: str, reason: str = "", *, code: str = "JobFailed") -> Job:
        """Report that a job failed: it goes Failing -> Failed, keeping the reason.

        This is also how a runtime acknowledges a job that is already Failing
        (for example after the task-failure threshold): the reason, if given,
        is added to the job's failure reasons. Like every report of work, it is
        trusted: no access policy applies (to stop a job, callers ``cancel``).

        Raises:
            InvalidTransition: the job is finished, Suspended or Cancelling.
            ValidationError: ``reason`` or ``code`` is not a str.
        """
        return snapshot(control.fail(self._core, self._core.job(job_id), reason, code))

    def paused(self, job_id: str) -> Job:
        """Acknowledge that a Pausing job's work reached a checkpoint: it becomes Paused.

        Its slot is freed and it waits in line to resume.

        Raises:
            InvalidTransition: the job is not Pausing.
        """
        return snapshot(control.paused(self._core, self._core.job(job_id)))

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
        core = self._core
        return snapshot(control.update_priority(core, core.job(job_id), priority, principal))

    def set_progress(self, job_id: str, fraction: float) -> None:
        """Record a running job's progress, a fraction in [0, 1], journaled with its next change.

        Jobs with tasks track progress themselves (tasks done / total); this is for job
        functions that report their own (a runtime journals ``ctx.progress`` more often).
        """
        control.set_progress(self._core.job(job_id), fraction)

    # ------------------------------------------------------------------ tasks

    def record_task(
        self, job_id: str, key: str, *, ok: bool, error_code: str = "", message: str = ""
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
        rec = tasks.record(self._core, self._core.job(job_id), key, ok, error_code, message)
        return snapshot(rec)

    def task_keys(self, job_id: str, *, principal: Principal | None = None) -> tuple[str, ...]:
        """The job's manifest keys, in manifest order (``"0"``.. for a count).

        Raises:
            NotFound, AccessDenied: as for ``get``.
        """
        return tasks.keys_of(access.visible(self._core, job_id, principal))

    def tasks(self, job_id: str, *, principal: Principal | None = None) -> tuple[TaskRecord, ...]:
        """The task outcomes recorded on a job, in the order they were recorded.

        Raises:
            NotFound, AccessDenied: as for ``get``.
        """
        return tasks.outcomes_of(access.visible(self._core, job_id, principal))

    def report(self, job_id: str, *, principal: Principal | None = None) -> CompletionReport | None:
        """The job's completion report, once it finished, if one was requested and a task ran.

        Raises:
            NotFound, AccessDenied: as for ``get``.
        """
        return access.visible(self._core, job_id, principal).report

    # ------------------------------------------------------------------ tags

    def get_tags(self, job_id: str, *, principal: Principal | None = None) -> Mapping[str, str]:
        """The job's tag set (a read-only copy).

        Raises:
            NotFound, AccessDenied: as for ``get``.
        """
        return control.tags_of(access.visible(self._core, job_id, principal))

    def put_tags(
        self, job_id: str, tags: Mapping[str, str], *, principal: Principal | None = None
    ) -> Mapping[str, str]:
        """Replace the job's whole tag set; an empty set deletes all tags.

        Raises:
            ValidationError: the tags break a limit.
            AccessDenied: the access policy refuses ``put_tags``.
        """
        return control.replace_tags(self._core, self._core.job(job_id), tags, principal)

    def delete_tags(self, job_id: str, *, principal: Principal | None = None) -> None:
        """Delete the job's tag set.

        Raises:
            AccessDenied: the access policy refuses ``delete_tags``.
        """
        control.replace_tags(self._core, self._core.job(job_id), None, principal)

    # ------------------------------------------------------------------ billing

    def usage_report(self) -> tuple[UsageRow, ...]:
        """Billed on-demand run time, summed by billing tags, largest first.

        A job is billed only for time it holds a slot in an on-demand queue,
        under its submission queue's tags or its own (``billing_tags_source``),
        as they were when the time was billed.
        """
        return self._core.ledger.report()

    # ------------------------------------------------------------------ timers

    def next_deadline(self) -> float | None:
        """When ``poll()`` next has work (a hop, a confirmation timeout, a purge), or ``None``."""
        return self._core.deadlines.next()

    def poll(self) -> int:
        """Process every timer due at ``clock.now()``; returns how many fired.

        Hops move waiting jobs (not out of paused queues); Suspended jobs past
        the confirmation timeout fail; finished jobs past retention are purged.
        """
        return self._core.poll()

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
        invariants.check(self._core)
