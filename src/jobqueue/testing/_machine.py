"""The stateful harness: every public operation at random, every invariant after each step.

Theory of operation: ``PolicyStateMachine`` builds a scheduler on a
``ManualClock`` with two queues run by the policy under test (so jobs hop
between two instances of it), then lets hypothesis call the public API in any
order: submissions of every kind, reports of outcomes, acknowledgements,
cancellations, priority and tag changes, queue pauses and resizes, and the
passing of time. Before each call it predicts, from the event model and the
queue snapshots, whether the call must fail and with which error; a call that
fails must leave the scheduler exactly as it was. After each step it runs
``Scheduler.check_invariants()`` (the one implementation of the state
invariants), the history properties of ``HistoryChecker``, and the properties
the policy or the subclass declares.

Most submissions are plain; some carry job controls (a start time, dependencies
on earlier jobs, run and wait limits, a retry), and ``fail`` on running work
then exercises retries. After each step it also checks, from the event stream
and the public API rather than the core's own bookkeeping, that no job started
before its time or its dependencies, that attempts are counted only for
retries and never beyond ``Retry.attempts``, that aging (when the policy is
the stock priority policy, which may age) never lifts a job past its cap, and
that every job that waits has a pending reason and no other job has one.

This module holds the machine: its set-up, its rules and its checks. The
strategies it draws a rule's arguments with from its own state are in
``_machine_strategies``; ``check_policy``, which runs it inside a test
function, is in ``_check_policy``.
"""

from __future__ import annotations

import functools
import random
from collections.abc import Callable, Sequence
from typing import Any, ClassVar

from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, precondition, rule

from .._clock import ManualClock
from .._controls import Aging, PendingCode
from .._errors import (
    ConflictError,
    InvalidTransition,
    InvariantViolation,
    LimitExceededError,
    ValidationError,
)
from .._model import BillingTagsSource, QueueInfo
from .._scheduler import Scheduler
from .._states import TASKS_ACCEPTED, TERMINAL, TRANSITIONS, JobStatus
from ..policies import Policy, PriorityPolicy
from ..policies._base import declared_order
from ._history import HistoryChecker, PropertyFailed
from ._invalid import bad_calls
from ._machine_checks import check_aging, check_pending_reasons, expect, expect_refused
from ._machine_strategies import (
    AGINGS,
    BUILT,
    CONTROL_SETS,
    from_machine,
    job_in,
    moved_to,
    rarely,
    same,
    setting,
    with_controls,
)
from ._strategies import priorities, submissions, task_sources
from ._values import InvalidCall, ManifestReader, Submission

__all__ = ["PolicyStateMachine"]

_S = JobStatus
_UNFINISHED = tuple(s for s in _S if s not in TERMINAL)
_CANCELLABLE = tuple(s for s in _S if _S.CANCELLING in TRANSITIONS[s])
_FAILABLE = (_S.FAILING, *(s for s in _S if _S.FAILING in TRANSITIONS[s]))
_MISSING_TASK = "no-such-task"
_HELD = frozenset({PendingCode.NOT_BEFORE, PendingCode.DEPENDENCIES})


class PolicyStateMachine(RuleBasedStateMachine):
    """A hypothesis state machine that checks a scheduling policy; subclass it.

    Name the policy with ``policy_factory`` (a zero-argument callable that
    returns a fresh ``Policy``, such as the class itself), then expose the
    machine's ``TestCase`` to your test runner::

        class CheckMyPolicy(PolicyStateMachine):
            policy_factory = MyPolicy

        TestMyPolicy = CheckMyPolicy.TestCase

    Or call ``check_policy(MyPolicy)`` inside a test function. The machine
    builds a ``Scheduler`` on a ``ManualClock`` with queues ``"q0"`` and
    ``"q1"``, each run by its own instance of the policy, and calls every
    operation of the public API at random: submit (deferred or not, with random
    priorities, tags, hop rules, manifests, confirmation, preemptible flags),
    complete, fail, cancel, confirm, update_priority, record_task, put_tags,
    the acknowledgements ``paused``/``cancelled``/``fail``, pause_queue,
    resume_queue, update_queue (slots, deferred share, waiting cap; aging too
    when the policy is the stock ``PriorityPolicy``), and advancing the clock
    followed by ``poll()``. Some submissions carry job controls: a start time,
    dependencies on earlier jobs, run and wait limits, a retry (see
    ``job_controls``). A call that must fail (predicted from the state) must
    raise the right error and leave the scheduler unchanged; so must a call
    with one bad argument (``bad_calls``), with its exact message. After
    each step it checks:

    * ``Scheduler.check_invariants()`` (slots, the deferred share, one state
      and one queue per job, the transition table, the line against the
      policy's declared order, ``peek()`` against ``waiting()``, no idle slot
      while a job waits, hop times, the waiting cap);
    * the history properties of ``HistoryChecker`` (start order for policies
      that declare ``order = "fifo"`` or ``"priority"``, no preemption of a
      non-preemptible job or by an equal or lower priority, no hop out of a
      paused queue, no start before ``not_before`` or before the jobs it
      depends on ended as asked, attempts that only retries spend and never
      beyond ``Retry.attempts``, events that agree with the state);
    * pending reasons: every job that waits (New, Preparing, Suspended, Ready,
      Paused) has one, a job in a retry's backoff says so, and Active,
      Pausing and finished jobs have none;
    * aging, in an aging queue: by the events' entry times, the line is in
      order of effective priority and no job waits behind one it could only
      pass by aging past its cap;
    * every callable in the policy's optional ``properties`` attribute and in
      the subclass's ``properties``, each called with the scheduler.

    A failure raises ``PropertyFailed`` whose message starts with the name of
    the broken property; hypothesis then shrinks and prints the steps.

    Class attributes to set (``None`` means "drawn at random per run"):

    Attributes:
        policy_factory: returns a fresh policy instance on each call.
        acknowledge: run the scheduler with ``acknowledge`` on or off.
        slots: slots of each queue (1-4 by default).
        deferred_share: the deferred share of each queue.
        max_waiting: the waiting cap of each queue (2-6 by default).
        properties: extra checks, each called with the scheduler after every step.
        tag_keys: tag keys jobs draw from (put your policy's tag here).
        tag_values: tag values jobs draw from.
        job_controls: whether submissions carry job controls (one job in three
            does, each control on half of those).
        aging: with the stock ``PriorityPolicy``, age both queues from the start
            (``set_aging`` may still change it); ``None`` (the default) starts
            without aging.

    Override ``submissions`` to change what is submitted, and add your own
    ``@invariant()`` or ``@rule()`` methods like in any hypothesis state
    machine; ``self.sched``, ``self.clock``, ``self.policies`` (queue name ->
    policy) and ``self.checker`` (the ``HistoryChecker``) are there to use.
    """

    policy_factory: ClassVar[Callable[[], Policy] | None] = None
    acknowledge: ClassVar[bool | None] = None
    slots: ClassVar[int | None] = None
    deferred_share: ClassVar[float | None] = None
    max_waiting: ClassVar[int | None] = None
    properties: ClassVar[Sequence[Callable[[Scheduler], None]]] = ()
    tag_keys: ClassVar[Sequence[str]] = ("Team", "Department")
    tag_values: ClassVar[Sequence[str]] = ("a", "b", "c")
    job_controls: ClassVar[bool] = True
    aging: ClassVar[Aging | None] = None

    #: The queues the policy runs; jobs hop between them.
    queue_names: ClassVar[tuple[str, ...]] = ("q0", "q1")

    def __init__(self) -> None:
        super().__init__()
        self.clock = ManualClock()
        self.sched: Scheduler
        self.checker: HistoryChecker
        self.policies: dict[str, Policy] = {}
        self._keys: dict[str, tuple[str, ...] | None] = {}
        self._may_age = False
        self._ready = False
        self._submitted = 0

    # ------------------------------------------------------------------ set-up

    def make_policy(self) -> Policy:
        """A fresh policy for one queue: ``policy_factory()`` by default."""
        factory = type(self).policy_factory
        if factory is None:
            raise TypeError(f"{type(self).__name__} must set policy_factory")
        return factory()

    @initialize(
        acknowledge=setting("acknowledge", st.booleans()),
        slots=setting("slots", st.integers(1, 4)),
        deferred_share=setting("deferred_share", st.sampled_from([1.0, 0.75, 0.5])),
        max_waiting=setting("max_waiting", st.integers(2, 6)),
    )
    def setup(self, acknowledge: bool, slots: int, deferred_share: float, max_waiting: int) -> None:
        """Build the scheduler and its queues."""
        self.sched = Scheduler(
            self.clock,
            acknowledge=acknowledge,
            retention=3_000.0,
            confirmation_timeout=400.0,
            failure_threshold_tasks=2,
            rng=random.Random(0),  # retry jitter: each run replays exactly
        )
        for name in self.queue_names:
            policy = self.make_policy()
            if any(policy is other for other in self.policies.values()):
                raise PropertyFailed(
                    "policy factory",
                    "it returned the same instance twice; each queue needs its own",
                )
            self.policies[name] = policy
            self.sched.create_queue(
                name,
                slots=slots,
                policy=policy,
                deferred_share=deferred_share,
                max_waiting=max_waiting,
            )
        orders = {name: declared_order(p) for name, p in self.policies.items()}
        self.checker = HistoryChecker(self.sched, orders)
        # Only the stock priority policy may age (create_queue refuses aging for others).
        self._may_age = all(isinstance(p, PriorityPolicy) for p in self.policies.values())
        self._bad = tuple(self.bad_calls())
        self._ready = True
        aging = type(self).aging
        if aging is not None:
            if not self._may_age:
                raise TypeError(f"{type(self).__name__}: aging needs the stock PriorityPolicy")
            for name in self.queue_names:
                self.set_aging(name, aging)

    # ------------------------------------------------------------------ strategies

    def submissions(self) -> st.SearchStrategy[Submission]:
        """What ``submit`` submits; override to narrow or widen it."""
        plain = submissions(
            self.queue_names,
            priorities=priorities(),
            tags=self._tag_sets(),
            max_hops=2,
            hop_wait=st.sampled_from([10.0, 60.0, 300.0]),
            # An unreadable manifest fails the job at once: keep it rare.
            tasks=st.sampled_from(
                [task_sources(3, keys=st.sampled_from("abcd"), unreadable=False)] * 9
                + [st.just(ManifestReader(error="unreadable"))]
            ).flatmap(same),
            names=st.none() | st.sampled_from(["alpha", "beta"]),
            descriptions=st.just(""),
            billing=st.just(BillingTagsSource.QUEUE),
            deferred=st.sampled_from([True, True, True, False]),
            confirmation_required=st.sampled_from([False, False, False, True]),
            preemptible=st.sampled_from([True, True, False]),
        )
        if not type(self).job_controls:
            return plain
        # One job in three has controls, each of them on half the time; all shrink to unused.
        return st.tuples(plain, rarely(CONTROL_SETS, None, 2)).map(with_controls)

    def _job_choice(self, statuses: tuple[JobStatus, ...]) -> st.SearchStrategy[str]:
        ids = list(self.checker.jobs)
        relevant = [i for i, job in self.checker.jobs.items() if job.status in statuses]
        every = st.sampled_from(ids)
        return st.sampled_from(relevant) | every if relevant else every

    def _task_target(self) -> st.SearchStrategy[tuple[str, str]]:
        return self._job_choice(tuple(TASKS_ACCEPTED)).flatmap(self._task_of)

    def _task_of(self, job_id: str) -> st.SearchStrategy[tuple[str, str]]:
        manifest = self._keys.get(job_id) or ()
        return st.tuples(st.just(job_id), st.sampled_from([*manifest, _MISSING_TASK]))

    def _tag_sets(self) -> st.SearchStrategy[dict[str, str]]:
        return st.dictionaries(
            st.sampled_from(list(self.tag_keys)), st.sampled_from(list(self.tag_values)), max_size=2
        )

    def _any_in(self, *statuses: JobStatus) -> bool:
        return self._ready and any(j.status in statuses for j in self.checker.jobs.values())

    # ------------------------------------------------------------------ calls

    def _call(self, label: str, call: Callable[[], Any], expected: type[Exception] | None) -> Any:
        """Make ``call``; it must raise ``expected`` (and change nothing), or succeed."""
        return expect(self.sched, label, call, expected)

    def _status(self, job_id: str) -> JobStatus:
        return self.checker.jobs[job_id].status

    def _queue_of(self, job_id: str) -> QueueInfo:
        return self.sched.get_queue(self.checker.jobs[job_id].queue)

    def _limit_for(self, deferred: bool, info: QueueInfo) -> type[Exception] | None:
        if deferred:
            # Jobs held by a start time or dependencies keep their place under the cap.
            full = info.waiting + self._held(info.name) >= info.max_waiting
            return LimitExceededError if full else None
        if info.paused or info.running >= info.slots:
            return LimitExceededError
        return None

    def _held(self, queue: str) -> int:
        """Jobs of ``queue`` held (not awaiting confirmation) by a start time or dependencies."""
        held = 0
        for job in self.checker.jobs.values():
            if job.status is _S.SUSPENDED and job.queue == queue:
                reason = self.sched.pending_reason(job.id)
                held += reason is not None and reason.code in _HELD
        return held

    def _unless(self, allowed: bool) -> type[Exception] | None:
        return None if allowed else InvalidTransition

    # ------------------------------------------------------------------ rules
    # Each job rule runs only once some job is in a status where the call can
    # succeed (so a run spends its steps building state), then draws that job
    # or, half the time, any job, to exercise the refusals too.

    @precondition(lambda self: self._ready)
    @rule(spec=from_machine("submissions"))
    def submit(self, spec: Submission) -> None:
        """Submit a job; predicted to fail on a taken name, a full queue or no free slot.

        First comes the next of ``bad_calls()``, in turn: it must be refused.
        """
        # Taken in turn rather than drawn: a draw here would change what
        # hypothesis explores everywhere else, and a run of a few dozen
        # submissions makes every one of them.
        expect_refused(self.sched, self._bad[self._submitted % len(self._bad)])
        self._submitted += 1
        self._submit(spec)

    @precondition(lambda self: self._ready)
    @rule(specs=from_machine("_bursts"))
    def submit_burst(self, specs: list[Submission]) -> None:
        """Submit several jobs to one queue in a row: lines form, preemption has work."""
        for spec in specs:
            self.checker.check()  # the prediction for the next one needs the model current
            self._submit(spec)

    def _bursts(self) -> st.SearchStrategy[list[Submission]]:
        return st.sampled_from(self.queue_names).flatmap(self._burst_to)

    def _burst_to(self, queue: str) -> st.SearchStrategy[list[Submission]]:
        built = BUILT.setdefault(type(self), {})
        key = f"burst to {queue}"
        if key not in built:
            same_queue = self.submissions().map(functools.partial(moved_to, queue))
            built[key] = st.lists(same_queue, min_size=2, max_size=5)
        return built[key]

    def _submit(self, spec: Submission) -> None:
        expected: type[Exception] | None = None
        if spec.name is not None and spec.name in self.checker.live_names():
            expected = ConflictError
        elif not spec.confirmation_required:
            expected = self._limit_for(spec.deferred, self.sched.get_queue(spec.queue))
        jobs = list(self.checker.jobs)  # every job that exists, oldest first, for spec.after
        job = self._call(f"submit({spec!r})", lambda: spec.submit(self.sched, jobs), expected)
        if job is not None:
            self._keys[job.id] = spec.task_keys()

    def bad_calls(self) -> Sequence[InvalidCall]:
        """The calls with one bad argument ``submit`` makes in turn; override to change them."""
        return bad_calls(("default", *self.queue_names), queue=self.queue_names[0])

    @precondition(lambda self: self._any_in(_S.ACTIVE, _S.PAUSING))
    @rule(job=job_in(_S.ACTIVE, _S.PAUSING))
    def complete(self, job: str) -> None:
        """Report that a job's work finished."""
        expected = self._unless(self._status(job) in (_S.ACTIVE, _S.PAUSING))
        self._call(f"complete({job!r})", lambda: self.sched.complete(job), expected)

    @precondition(lambda self: self._any_in(*_FAILABLE))
    @rule(job=job_in(*_FAILABLE))
    def fail(self, job: str) -> None:
        """Report a failure (which also acknowledges a Failing job)."""
        status = self._status(job)
        expected = self._unless(status is _S.FAILING or _S.FAILING in TRANSITIONS[status])
        self._call(f"fail({job!r})", lambda: self.sched.fail(job, "failed"), expected)

    @precondition(lambda self: self._any_in(*_CANCELLABLE))
    @rule(job=job_in(*_CANCELLABLE))
    def cancel(self, job: str) -> None:
        """Cancel a job."""
        expected = self._unless(_S.CANCELLING in TRANSITIONS[self._status(job)])
        self._call(f"cancel({job!r})", lambda: self.sched.cancel(job), expected)

    @precondition(lambda self: self._ready and bool(self._retried_jobs()))
    @rule(job=from_machine("_retried_job", per_state=True))
    def fail_with_retry(self, job: str) -> None:
        """Fail the running work of a job that has a retry: it runs again after its
        backoff, or, its attempts spent, fails."""
        self.fail(job)

    @precondition(lambda self: self._ready and bool(self._awaited_jobs()))
    @rule(
        job=from_machine("_awaited_job", per_state=True),
        end=st.sampled_from(["complete", "fail", "cancel"]),
    )
    def end_dependency(self, job: str, end: str) -> None:
        """Complete, fail or cancel a job that a held job waits on (if its status allows)."""
        {"complete": self.complete, "fail": self.fail, "cancel": self.cancel}[end](job)

    def _retried_jobs(self) -> list[str]:
        running = (_S.ACTIVE, _S.PAUSING)
        return [i for i, j in self.checker.jobs.items() if j.status in running and j.retry]

    def _retried_job(self) -> st.SearchStrategy[str]:
        return st.sampled_from(self._retried_jobs())

    def _awaited_jobs(self) -> list[str]:
        held = [j for j in self.checker.jobs.values() if j.status is _S.SUSPENDED and j.after]
        awaited = {dep.job_id for job in held for dep in job.after}
        jobs = self.checker.jobs
        return sorted(i for i in awaited if i in jobs and jobs[i].status not in TERMINAL)

    def _awaited_job(self) -> st.SearchStrategy[str]:
        return st.sampled_from(self._awaited_jobs())

    @precondition(lambda self: self._any_in(_S.SUSPENDED))
    @rule(job=job_in(_S.SUSPENDED))
    def confirm(self, job: str) -> None:
        """Confirm a Suspended job; predicted to fail as ``submit`` would for a full queue.

        A job held only by its start time or dependencies awaits no
        confirmation: confirming it must raise ``ConflictError`` and change nothing.
        """
        model = self.checker.jobs[job]
        expected: type[Exception] | None = InvalidTransition
        if model.status is _S.SUSPENDED:
            reason = self.sched.pending_reason(job)
            if reason is not None and reason.code in _HELD:
                expected = ConflictError  # held by time or jobs, it awaits no confirmation
            else:
                expected = self._limit_for(model.deferred, self._queue_of(job))
        self._call(f"confirm({job!r})", lambda: self.sched.confirm(job), expected)

    @precondition(lambda self: self._any_in(_S.PAUSING, _S.CANCELLING))
    @rule(job=job_in(_S.PAUSING, _S.CANCELLING))
    def acknowledge_stop(self, job: str) -> None:
        """The runtime reports that work stopped: ``paused()`` or ``cancelled()``."""
        if self._status(job) is _S.CANCELLING:
            self._call(f"cancelled({job!r})", lambda: self.sched.cancelled(job), None)
        else:
            expected = self._unless(self._status(job) is _S.PAUSING)
            self._call(f"paused({job!r})", lambda: self.sched.paused(job), expected)

    @precondition(lambda self: self._any_in(*_UNFINISHED))
    @rule(job=job_in(*_UNFINISHED), priority=priorities())
    def update_priority(self, job: str, priority: int) -> None:
        """Change a job's priority, in any status."""
        expected = ConflictError if self._status(job) in TERMINAL else None
        self._call(
            f"update_priority({job!r}, {priority})",
            lambda: self.sched.update_priority(job, priority),
            expected,
        )

    @precondition(lambda self: self._any_in(*TASKS_ACCEPTED))
    @rule(task=from_machine("_task_target", per_state=True), ok=st.booleans())
    def record_task(self, task: tuple[str, str], ok: bool) -> None:
        """Record a task outcome (enough failures fail the job: the threshold is 2 tasks)."""
        job, key = task
        model = self.checker.jobs[job]
        expected: type[Exception] | None = None
        if model.status not in TASKS_ACCEPTED:
            expected = ConflictError
        elif key == _MISSING_TASK or key not in (self._keys.get(job) or ()):
            expected = ValidationError
        elif key in model.recorded:
            expected = ConflictError
        self._call(
            f"record_task({job!r}, {key!r}, ok={ok})",
            lambda: self.sched.record_task(job, key, ok=ok, error_code="" if ok else "E"),
            expected,
        )

    @precondition(lambda self: self._any_in(*_UNFINISHED))
    @rule(job=job_in(*_UNFINISHED), tags=from_machine("_tag_sets"))
    def put_tags(self, job: str, tags: dict[str, str]) -> None:
        """Replace a job's tags (a policy that groups by tag must cope)."""
        self._call(f"put_tags({job!r}, {tags!r})", lambda: self.sched.put_tags(job, tags), None)

    @precondition(lambda self: self._any_in(_S.READY, _S.PAUSED))
    @rule(job=job_in(_S.READY, _S.PAUSED))
    def position(self, job: str) -> None:
        """Ask where a job stands: a waiting job has a place in its queue's line, and a
        job in a retry's backoff has none."""
        model = self.checker.jobs[job]
        where = self._call(f"position({job!r})", lambda: self.sched.position(job), None)
        if model.waiting and (where is None or where.queue != model.queue):
            raise PropertyFailed(
                "position",
                f"job {job!r} waits in {model.queue!r}, but position() says {where!r}",
            )
        if model.backoff and where is not None:
            raise PropertyFailed(
                "position",
                f"job {job!r} waits out a retry's backoff, but position() says {where!r}",
            )

    @precondition(lambda self: self._ready)
    @rule(queue=from_machine("_queue_choice"), pause=st.booleans())
    def pause_or_resume(self, queue: str, pause: bool) -> None:
        """Pause a queue (it starts nothing, nothing hops out of it) or resume it."""
        if pause:
            self._call(f"pause_queue({queue!r})", lambda: self.sched.pause_queue(queue), None)
        else:
            self._call(f"resume_queue({queue!r})", lambda: self.sched.resume_queue(queue), None)

    @precondition(lambda self: self._ready)
    @rule(
        queue=from_machine("_queue_choice"),
        slots=st.none() | st.integers(1, 5),
        deferred_share=st.none() | st.sampled_from([1.0, 0.75, 0.5]),
        max_waiting=st.none() | st.integers(1, 6),
    )
    def update_queue(
        self, queue: str, slots: int | None, deferred_share: float | None, max_waiting: int | None
    ) -> None:
        """Change a queue's slots, deferred share or waiting cap at run time."""
        self._call(
            f"update_queue({queue!r}, slots={slots}, deferred_share={deferred_share}, "
            f"max_waiting={max_waiting})",
            lambda: self.sched.update_queue(
                queue, slots=slots, deferred_share=deferred_share, max_waiting=max_waiting
            ),
            None,
        )

    @precondition(lambda self: self._ready)
    @rule(seconds=st.none() | st.sampled_from([0.0, 10.0, 60.0, 300.0, 1_000.0]))
    def advance(self, seconds: float | None) -> None:
        """Let time pass (``None``: to the next deadline), then run the timers that are due."""
        if seconds is None:
            deadline = self.sched.next_deadline()
            if deadline is not None:
                self.clock.set(max(deadline, self.clock.now()))
        else:
            self.clock.advance(seconds)
        self._call(f"poll() at {self.clock.now()}", self.sched.poll, None)

    @precondition(lambda self: self._ready and self._may_age)
    @rule(queue=from_machine("_queue_choice"), aging=st.none() | AGINGS)
    def set_aging(self, queue: str, aging: Aging | None) -> None:
        """Turn a priority queue's aging on, change it, or turn it off (``None``)."""
        self._call(
            f"update_queue({queue!r}, aging={'off' if aging is None else aging!r})",
            lambda: self.sched.update_queue(queue, aging="off" if aging is None else aging),
            None,
        )
        # An aging line is not in priority order: it is checked by check_aging.
        self.checker.set_order(queue, None if aging is not None else "priority")

    def _queue_choice(self) -> st.SearchStrategy[str]:
        return st.sampled_from(self.queue_names)

    # ------------------------------------------------------------------ checks

    def declared_properties(self) -> list[Callable[[Scheduler], None]]:
        """The extra checks: each policy's ``properties``, then the class's."""
        found: list[Callable[[Scheduler], None]] = []
        for policy in self.policies.values():
            found.extend(getattr(policy, "properties", ()))
        found.extend(type(self).properties)
        return found

    @invariant()
    def check(self) -> None:
        """Every invariant, every history property, every declared property."""
        if not self._ready:
            return
        try:
            self.sched.check_invariants()
        except InvariantViolation as exc:
            raise PropertyFailed("scheduler invariant", str(exc)) from exc
        self.checker.check()
        check_pending_reasons(self.sched, self.checker)
        check_aging(self.sched, self.checker, self.clock.now())
        for prop in self.declared_properties():
            try:
                prop(self.sched)
            except PropertyFailed:
                raise
            except Exception as exc:
                name = getattr(prop, "__qualname__", repr(prop))
                raise PropertyFailed(
                    f"declared property {name}", f"{type(exc).__name__}: {exc}"
                ) from exc
