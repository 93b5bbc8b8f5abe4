"""jobqueue.testing and the job controls: strategies that draw them, a machine that checks them.

The machine must pass on the real scheduler, exercise every control, and
catch a scheduler broken in each way it checks, by its own reading of the
events and the public API: with the core's own check of the same rule
switched off where it has one. The scheduler bugs the machine found are
kept at the end as regression tests.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from helpers import fingerprint
from hypothesis import HealthCheck, Phase, find, given, settings
from hypothesis import strategies as st
from hypothesis.stateful import run_state_machine_as_test

from jobqueue import (
    Aging,
    ConflictError,
    Dependency,
    Event,
    HopRule,
    JobQueueError,
    JobStatus,
    JobTransitioned,
    ManualClock,
    PendingCode,
    PendingReason,
    PolicyJob,
    PriorityPolicy,
    Retry,
    RetryScheduled,
    Scheduler,
)
from jobqueue._core import aging as core_aging
from jobqueue._core import holds, invariants
from jobqueue._core import retries as core_retries
from jobqueue._core.core import Core
from jobqueue._core.pending import pending_reason
from jobqueue._core.records import JobRecord, QueueRecord
from jobqueue.policies import Policy
from jobqueue.testing import (
    FromNow,
    HistoryChecker,
    JobModel,
    Operation,
    PolicyStateMachine,
    Prior,
    PropertyFailed,
    QueueConfig,
    Submission,
    agings,
    check_policy,
    delays,
    dependencies,
    limits,
    priorities,
    queue_configs,
    retries,
    run_operations,
    submissions,
)

_S = JobStatus

# ---------------------------------------------------------------------- values


def test_from_now_counts_from_the_clock_at_submission() -> None:
    clock = ManualClock(5.0)
    sched = Scheduler(clock)
    job = Submission(not_before=FromNow(10.0)).submit(sched)
    assert (job.not_before, job.status) == (15.0, _S.SUSPENDED)


def test_prior_names_a_job_by_its_place_among_the_jobs_so_far() -> None:
    jobs = ["job-1", "job-2", "job-3"]
    assert Prior().resolve(jobs) == Dependency("job-3")  # the newest
    assert Prior(back=2, on="failed").resolve(jobs) == Dependency("job-1", "failed")
    assert Prior(back=4).resolve(jobs) == Dependency("job-2")  # taken modulo their number
    assert Prior().resolve([]) is None


def test_a_submission_names_each_job_once_and_keeps_ids_as_given() -> None:
    spec = Submission(after=["job-1", Prior(back=1), Prior(on="any"), Prior(back=1, on="failed")])
    # Prior(back=1) lands on job-1, already named: dropped; so is the second Prior on job-2.
    assert spec.dependencies(["job-1", "job-2"]) == ("job-1", Dependency("job-2", "any"))
    assert Submission(after=[Prior()]).dependencies([]) == ()


def test_a_submission_prints_its_controls_compactly() -> None:
    spec = Submission(not_before=FromNow(60.0), after=[Prior(), Prior(back=2, on="failed")])
    assert repr(spec) == (
        "Submission(not_before=FromNow(60.0), after=(Prior(), Prior(back=2, on='failed')))"
    )
    assert repr(QueueConfig("q")) == "QueueConfig(name='q')"


def test_an_operation_resolves_its_dependencies_among_the_jobs_it_submitted() -> None:
    sched = Scheduler(ManualClock())
    first = Operation("submit", Submission())
    second = Operation("submit", Submission(after=[Prior()]))
    assert run_operations(sched, [first, second]) == [None, None]
    assert sched.get("job-2").after == (Dependency("job-1"),)
    assert sched.get("job-2").status is _S.SUSPENDED


# ---------------------------------------------------------------------- strategies


def _scheduler_with_jobs() -> tuple[Scheduler, list[str]]:
    sched = Scheduler(ManualClock(100.0))
    sched.create_queue("other")
    jobs = [sched.submit().id, sched.submit(queue="other").id]
    sched.complete(jobs[0])
    return sched, jobs


@given(submissions(["default", "other"], controls=True))
def test_submissions_with_controls_are_accepted_as_given(spec: Submission) -> None:
    sched, jobs = _scheduler_with_jobs()
    job = spec.submit(sched, jobs)
    expected_start = None
    if isinstance(spec.not_before, FromNow):
        expected_start = 100.0 + spec.not_before.seconds
    assert (job.not_before, job.max_run, job.max_wait, job.retry) == (
        expected_start,
        spec.max_run,
        spec.max_wait,
        spec.retry,
    )
    assert job.after == spec.dependencies(jobs)
    assert spec.deferred or not spec.holds
    sched.check_invariants()


@given(submissions(["default", "other"]))
def test_submissions_draw_no_control_unless_asked(spec: Submission) -> None:
    assert (spec.not_before, spec.after, spec.max_run, spec.max_wait, spec.retry) == (
        None,
        (),
        None,
        None,
        None,
    )


# find() returns the simplest example it shrinks to; derandomized, the same one every run.
_QUIET = settings(database=None, derandomize=True, suppress_health_check=list(HealthCheck))


def test_controls_shrink_to_unused() -> None:
    # The other fields narrowed: what is tested is how the controls shrink.
    spec_st = submissions(
        controls=True, tags=st.just({}), descriptions=st.just(""), tasks=st.none()
    )
    # (A condition that always holds may stop hypothesis' find() before it shrinks.)
    assert find(spec_st, lambda s: s.deferred, settings=_QUIET) == Submission()
    with_retry = find(spec_st, lambda s: s.retry is not None, settings=_QUIET)
    assert with_retry == Submission(retry=Retry(1, 0.0, 1.0, 0.0, 0.0))
    held = find(spec_st, lambda s: bool(s.after), settings=_QUIET)
    assert held == Submission(after=(Prior(),))
    started = find(spec_st, lambda s: s.not_before is not None, settings=_QUIET)
    assert started == Submission(not_before=FromNow(0.0))


@given(st.tuples(delays(), dependencies(), limits(), limits(), retries(codes=["Oops"])))
def test_each_control_strategy_draws_values_the_scheduler_accepts(
    drawn: tuple[FromNow, tuple[Prior, ...], float, float, Retry],
) -> None:
    start, after, max_run, max_wait, retry = drawn
    sched, jobs = _scheduler_with_jobs()
    spec = Submission(
        not_before=start, after=after, max_run=max_run, max_wait=max_wait, retry=retry
    )
    spec.submit(sched, jobs)
    assert set(retry.on) <= {"Oops"} and 0.0 <= retry.jitter <= 1.0 and retry.attempts <= 5
    sched.check_invariants()


@given(queue_configs(st.just("q"), max_slots=8, max_waiting=20))
def test_queue_configs_create_the_queue_they_describe(config: QueueConfig) -> None:
    sched = Scheduler(ManualClock())
    info = config.create(sched)
    assert (info.name, info.slots, info.max_waiting, info.aging) == (
        "q",
        config.slots,
        config.max_waiting,
        config.aging,
    )
    assert config.aging is None or config.policy == "priority"


@given(agings())
def test_agings_are_accepted_by_a_priority_queue(aging: Aging) -> None:
    sched = Scheduler(ManualClock())
    assert sched.create_queue("q", policy="priority", aging=aging).aging == aging


# ---------------------------------------------------------------------- history properties


def _watched(**submit: object) -> tuple[Scheduler, HistoryChecker, str]:
    """A scheduler with one job submitted and replayed, and a checker watching it."""
    sched = Scheduler(ManualClock())
    sched.update_queue("default", slots=3)
    checker = HistoryChecker(sched)
    if submit.pop("first", False):
        sched.submit()
    job = sched.submit(**submit)  # type: ignore[arg-type]
    checker.check()
    return sched, checker, job.id


def _fails(checker: HistoryChecker, *events: Event) -> str:
    with pytest.raises(PropertyFailed) as info:
        for event in events:
            checker.feed(event)
    return str(info.value)


def test_history_refuses_a_start_before_not_before() -> None:
    _, checker, job = _watched(not_before=10.0)
    assert (
        _fails(
            checker,
            JobTransitioned(4.0, job, _S.SUSPENDED, _S.READY),
            JobTransitioned(4.0, job, _S.READY, _S.ACTIVE),
        )
        == f"not before: job {job!r} started at 4.0, before its not_before 10.0"
    )


def test_history_refuses_a_start_before_a_dependency_ended_as_asked() -> None:
    _, checker, job = _watched(first=True, after=["job-1"])
    start = (
        JobTransitioned(1.0, job, _S.SUSPENDED, _S.READY),
        JobTransitioned(1.0, job, _S.READY, _S.ACTIVE),
    )
    assert _fails(checker, *start) == (
        f"dependencies: job {job!r} started at 1.0 while job 'job-1', which it depends on, "
        "had not ended"
    )
    _, checker, job = _watched(first=True, after=["job-1"])
    checker.feed(JobTransitioned(0.5, "job-1", _S.ACTIVE, _S.CANCELLING))
    checker.feed(JobTransitioned(0.5, "job-1", _S.CANCELLING, _S.CANCELLED))
    assert _fails(checker, *start) == (
        f"dependencies: job {job!r} started at 1.0, but job 'job-1', which it depends on "
        "with on='ok', ended Cancelled"
    )


def test_history_refuses_a_failure_for_a_dependency_that_could_still_be_met() -> None:
    _, checker, job = _watched(first=True, after=["job-1"])
    assert _fails(
        checker,
        JobTransitioned(1.0, job, _S.SUSPENDED, _S.READY),
        JobTransitioned(1.0, job, _S.READY, _S.FAILING, "DependencyNeverSatisfied"),
    ) == (
        f"dependencies: job {job!r} failed with DependencyNeverSatisfied, but no job it "
        "depends on ended the wrong way"
    )


def test_history_counts_attempts_by_the_retries_scheduled() -> None:
    _, checker, job = _watched(retry=Retry(attempts=2, backoff=5.0, jitter=0.0))
    pause = (
        JobTransitioned(1.0, job, _S.ACTIVE, _S.PAUSING, "retry: JobFailed"),
        JobTransitioned(1.0, job, _S.PAUSING, _S.PAUSED),
    )
    assert _fails(checker, *pause, RetryScheduled(1.0, job, 3, 6.0, "JobFailed", "")) == (
        f"retry attempts: job {job!r} was on attempt 1, but attempt 3 was scheduled"
    )
    _, checker, job = _watched(retry=Retry(attempts=1))
    assert _fails(checker, *pause, RetryScheduled(1.0, job, 2, 6.0, "JobFailed", "")) == (
        f"retry attempts: job {job!r} was scheduled attempt 2 of at most 1"
    )
    _, checker, job = _watched()
    assert _fails(checker, *pause, RetryScheduled(1.0, job, 2, 6.0, "JobFailed", "")) == (
        f"retry attempts: job {job!r} has no retry, but attempt 2 was scheduled"
    )


def test_history_takes_a_job_back_into_its_line_when_its_backoff_ends() -> None:
    clock = ManualClock()
    sched = Scheduler(clock)
    sched.update_queue("default", slots=1)
    checker = HistoryChecker(sched, {"default": "fifo"})
    retried = sched.submit(retry=Retry(attempts=2, backoff=5.0, jitter=0.0))
    sched.submit()  # waits behind it
    sched.fail(retried.id)  # the other job starts; this one backs off, out of the line
    checker.check()
    assert checker.jobs[retried.id].backoff and checker.line("default") == []
    clock.set(5.0)
    sched.poll()  # back in line, silently: the slot is taken
    checker.check()
    back = checker.jobs[retried.id]
    assert (back.backoff, back.waiting, back.since) == (False, True, 5.0)
    assert back.entered_after is not None  # where it entered among this stretch is unknown


def test_an_entry_is_surely_before_another_only_when_no_stretch_blurs_them() -> None:
    def model(entry: int, entered_after: int | None = None) -> JobModel:
        return JobModel("j", _S.READY, "q", 0, True, True, None, entry, entered_after=entered_after)

    assert model(1).surely_before(model(2)) and not model(2).surely_before(model(1))
    back = model(5, entered_after=2)  # entered after entry 2, at some point up to 5
    assert model(2).surely_before(back) and not model(3).surely_before(back)
    assert not back.surely_before(model(5)) and back.surely_before(model(6))


# ---------------------------------------------------------------------- the machine


class CheckAgingPriority(PolicyStateMachine):
    """The stock priority policy, which the machine may also age."""

    policy_factory = functools.partial(PriorityPolicy, preemption=True)


class Exercised:
    """A declared property that counts what a run exercised, over all its examples."""

    def __init__(self) -> None:
        self.counts = dict.fromkeys(
            [
                "started after its not_before",
                "started after its dependencies",
                "retried",
                "failed a limit",
                "failed an unmet dependency",
                "waited in an aging line",
            ],
            0,
        )

    def __call__(self, sched: Scheduler) -> None:
        for row in sched.list_jobs().jobs:
            job = sched.get(row.id)
            started = job.started_at is not None
            codes = {reason.code for reason in job.failure_reasons}
            self.counts["started after its not_before"] += started and job.not_before is not None
            self.counts["started after its dependencies"] += started and bool(job.after)
            self.counts["retried"] += job.attempt > 1
            self.counts["failed a limit"] += bool(codes & {"RunTimeExceeded", "WaitTimeExceeded"})
            self.counts["failed an unmet dependency"] += "DependencyNeverSatisfied" in codes
        self.counts["waited in an aging line"] += sum(
            q.waiting for q in sched.list_queues() if q.aging is not None
        )


@pytest.mark.slow  # a full run of the policy state machine
def test_the_machine_exercises_every_control_on_the_real_scheduler() -> None:
    # The stock priority policy with preemption, which the machine may also
    # age, checked as check_policy() checks any policy, counting as it goes.
    # Derandomized at the CI profile's budget: a count is a fact about one
    # set of runs, and with random ones a rare outcome (a limit failing a
    # job) was sometimes not drawn at all.
    exercised = Exercised()
    check_policy(
        functools.partial(PriorityPolicy, preemption=True),
        properties=[exercised],
        settings=settings(max_examples=60, stateful_step_count=40, derandomize=True),
    )
    assert all(exercised.counts.values()), exercised.counts


# ---------------------------------------------------------------------- broken cores are caught
# Each ``break_*`` breaks one rule of the core (and, where the core checks that
# rule itself, switches its check off), so that only the harness can see it.


def break_not_before(monkeypatch: pytest.MonkeyPatch) -> None:
    """A start time holds nothing: only dependencies hold a job."""
    monkeypatch.setattr(holds, "_held_by_time_or_jobs", lambda c: bool(c.waiting_on))
    monkeypatch.setattr(invariants, "_control_problems", lambda core, rec: [])


def break_dependencies(monkeypatch: pytest.MonkeyPatch) -> None:
    """Any end of a job meets a dependency on it, whatever its ``on``.

    The core's own check only looks at when the dependency ended, so it stays on.
    """
    monkeypatch.setattr(holds, "_met", lambda dep, status: True)


def break_preemption_attempts(monkeypatch: pytest.MonkeyPatch) -> None:
    """A preempted job with attempts left is counted as on its next one.

    Within the limit, so the core's own check of attempts sees nothing.
    """
    pause = Core.complete_pause

    def spending_pause(self: Core, rec: JobRecord, q: QueueRecord, now: float) -> None:
        c = rec.controls
        if c is not None and c.retry is not None and not c.retrying:
            c.attempt = min(c.attempt + 1, c.retry.attempts)
        pause(self, rec, q, now)

    monkeypatch.setattr(Core, "complete_pause", spending_pause)


def break_attempt_limit(monkeypatch: pytest.MonkeyPatch) -> None:
    """A covered failure always retries, however many attempts were made."""

    def always(rec: JobRecord, code: str) -> bool:
        return rec.controls is not None and rec.controls.retry is not None

    monkeypatch.setattr(core_retries, "retries", always)
    monkeypatch.setattr(invariants, "_control_problems", lambda core, rec: [])


def break_aging_cap(monkeypatch: pytest.MonkeyPatch) -> None:
    """Waiting raises priority without end.

    The core's own aging check reads the same broken arithmetic; it is switched off.
    """

    def uncapped(aging: Aging, rec: JobRecord, now: float) -> float:
        return rec.priority + max(0.0, aging.step * (now - rec.ready_at) / aging.every)

    monkeypatch.setattr(core_aging, "effective_priority", uncapped)
    monkeypatch.setattr(core_aging.AgingPolicy, "_cap_at", lambda self, rec: float("inf"))
    monkeypatch.setattr(core_aging.AgingPolicy, "problems", lambda self, now: [])


def _pending_reason_broken(
    monkeypatch: pytest.MonkeyPatch,
    broken: Callable[[JobRecord, PendingReason | None], PendingReason | None],
) -> None:
    # The public call; the core's own check reads its bookkeeping directly.
    monkeypatch.setattr(
        "jobqueue._scheduler.pending_reason",
        lambda core, rec: broken(rec, pending_reason(core, rec)),
    )


def break_pending_reason_of_held(monkeypatch: pytest.MonkeyPatch) -> None:
    """No pending reason for a Suspended job."""
    _pending_reason_broken(monkeypatch, lambda r, why: None if r.status is _S.SUSPENDED else why)


def break_pending_reason_of_waiting(monkeypatch: pytest.MonkeyPatch) -> None:
    """No pending reason for a Ready job."""
    _pending_reason_broken(monkeypatch, lambda r, why: None if r.status is _S.READY else why)


def break_pending_reason_of_running(monkeypatch: pytest.MonkeyPatch) -> None:
    """A pending reason for a running job."""
    runs = PendingReason(PendingCode.NO_FREE_SLOT, "it runs")
    _pending_reason_broken(
        monkeypatch, lambda r, why: runs if r.status in (_S.ACTIVE, _S.PAUSING) else why
    )


class OneSlotPriority(CheckAgingPriority):
    """One slot per queue, so lines form: what aging and preemption need."""

    slots = 1
    max_waiting = 6


def _plain(machine: PolicyStateMachine, **controls: Any) -> st.SearchStrategy[Submission]:
    """Deferred jobs with no hops, tasks or names, and the controls given."""
    return submissions(
        machine.queue_names,
        priorities=priorities(-2, 2),
        max_hops=0,
        tags=st.just({}),
        tasks=st.none(),
        descriptions=st.just(""),
        deferred=st.just(True),
        confirmation_required=st.just(False),
        **controls,
    )


class EveryJobDepends(OneSlotPriority):
    """Every job depends on one of the two before it, to complete or to fail."""

    def submissions(self) -> st.SearchStrategy[Submission]:
        return _plain(self, after=dependencies(1, min_size=1, back=1, kinds=["ok", "failed"]))


class EveryJobRetries(OneSlotPriority):
    """Every job has a retry: of one attempt (a failure is final) or of three."""

    def submissions(self) -> st.SearchStrategy[Submission]:
        once, thrice = Retry(attempts=1, backoff=5.0), Retry(attempts=3, backoff=5.0)
        return _plain(self, retry=st.sampled_from([once, thrice]))


class AgingFromTheStart(OneSlotPriority):
    """Both queues age from the start, fast, with a cap small beside the priorities' spread."""

    aging = Aging(every=1.0, step=1, cap=1)

    def submissions(self) -> st.SearchStrategy[Submission]:
        return _plain(self)


# Derandomized with a small budget: each bug is found within a few examples,
# and a run stops at the first failure. Shrinking is skipped (it is slow, and
# the steps are printed all the same).
FIND = settings(
    max_examples=100,
    stateful_step_count=30,
    derandomize=True,
    deadline=None,
    database=None,
    report_multiple_bugs=False,
    phases=[Phase.generate],
)

_RETRIES = (
    r"job 'job-\d+' (is on attempt \d, but \d retr(y was|ies were) scheduled for it"
    r"|was on attempt \d, but attempt \d was scheduled)"
)


@pytest.mark.parametrize(
    ("broken", "machine", "prop", "detail"),
    [
        pytest.param(
            break_not_before,
            CheckAgingPriority,
            "not before",
            r"job 'job-\d+' started at [\d.]+, before its not_before [\d.]+",
            id="start-before-not_before",
        ),
        pytest.param(
            break_dependencies,
            EveryJobDepends,
            "dependencies",
            r"job 'job-\d+' started at [\d.]+, but job 'job-\d+', which it depends on with "
            r"on='(ok|failed)', ended \w+",
            id="start-before-dependency-met",
        ),
        pytest.param(
            break_preemption_attempts,
            EveryJobRetries,
            "retry attempts",
            _RETRIES,
            id="preemption-spends-an-attempt",
        ),
        pytest.param(
            break_attempt_limit,
            EveryJobRetries,
            "retry attempts",
            r"job 'job-\d+' was scheduled attempt \d of at most \d",
            id="retry-beyond-attempts",
        ),
        pytest.param(
            break_pending_reason_of_held,
            CheckAgingPriority,
            "pending reason",
            r"job 'job-\d+' is Suspended with no pending reason",
            id="no-pending-reason-when-held",
        ),
        pytest.param(
            break_pending_reason_of_waiting,
            CheckAgingPriority,
            "pending reason",
            r"job 'job-\d+' is Ready with no pending reason",
            id="no-pending-reason-when-waiting",
        ),
        pytest.param(
            break_pending_reason_of_running,
            CheckAgingPriority,
            "pending reason",
            r"job 'job-\d+' is (Active|Pausing), but has a pending reason: it runs",
            id="pending-reason-when-running",
        ),
        pytest.param(
            break_aging_cap,
            AgingFromTheStart,
            "aging cap",
            r"job 'job-\d+' \(priority -?\d\) waits ahead of job 'job-\d+' \(priority -?\d\) "
            r"in queue 'q\d': only aging past its cap of \d could put it there",
            id="aging-past-the-cap",
        ),
    ],
)
def test_the_harness_catches_a_broken_core(
    monkeypatch: pytest.MonkeyPatch,
    broken: Callable[[pytest.MonkeyPatch], None],
    machine: type[PolicyStateMachine],
    prop: str,
    detail: str,
) -> None:
    broken(monkeypatch)
    with pytest.raises(PropertyFailed) as info:
        run_state_machine_as_test(machine, settings=FIND)
    assert info.value.property == prop, str(info.value)
    assert re.fullmatch(detail, info.value.detail), info.value.detail


# ---------------------------------------------------------------------- scheduler bugs found
# Bugs the machine found, fixed: each stays as a regression test.


def test_position_of_a_job_in_its_retry_backoff_is_none() -> None:
    sched = Scheduler(ManualClock())
    job = sched.submit(retry=Retry(attempts=2, backoff=5.0, jitter=0.0))
    sched.fail(job.id)
    assert sched.get(job.id).status is _S.PAUSED
    assert sched.position(job.id) is None


def test_a_hop_counts_the_places_of_held_jobs() -> None:
    clock = ManualClock()
    sched = Scheduler(clock)
    sched.create_queue("a", slots=1)
    sched.create_queue("b", slots=1, max_waiting=2)
    sched.submit(queue="b")  # runs
    sched.submit(queue="b")  # waits
    sched.submit(queue="b", not_before=100.0)  # held: keeps the second place
    sched.submit(queue="a")  # runs
    hopper = sched.submit(queue="a", hops=[HopRule("b", wait=5.0)])
    clock.set(5.0)
    sched.poll()
    assert sched.get(hopper.id).queue == "a"  # "b" is full: the hop is dropped
    sched.check_invariants()


def test_confirming_a_job_that_awaits_no_confirmation_is_refused() -> None:
    # What the machine predicts for confirm() of a held job.
    sched = Scheduler(ManualClock())
    job = sched.submit(not_before=10.0)
    before = fingerprint(sched)
    with pytest.raises(ConflictError):
        sched.confirm(job.id)
    assert fingerprint(sched) == before


def test_contradictory_dependencies_on_one_job_never_let_it_start() -> None:
    sched = Scheduler(ManualClock())
    sched.update_queue("default", slots=3)
    first = sched.submit()
    try:
        both = sched.submit(after=[Dependency(first.id, "ok"), Dependency(first.id, "failed")])
    except JobQueueError:
        return  # refused at submission: as good
    sched.complete(first.id)
    assert sched.get(both.id).status is _S.FAILED


class StrictPriority:
    """A priority line that insists on the Policy protocol: ``reprioritize`` is for
    a job waiting or Active here."""

    name = "strict"

    def __init__(self) -> None:
        self._inner = PriorityPolicy()
        self._known: set[str] = set()

    def add(self, job: PolicyJob) -> None:
        self._known.add(job.id)
        self._inner.add(job)

    def discard(self, job: PolicyJob) -> None:
        self._known.discard(job.id)
        self._inner.discard(job)

    def started(self, job: PolicyJob) -> None:
        self._known.add(job.id)
        self._inner.started(job)

    def stopped(self, job: PolicyJob) -> None:
        self._known.discard(job.id)
        self._inner.stopped(job)

    def reprioritize(self, job: PolicyJob, old_priority: int) -> None:
        if job.id not in self._known:
            raise KeyError(f"reprioritize of job {job.id!r}, which is neither waiting nor Active")
        self._inner.reprioritize(job, old_priority)

    def peek(self) -> PolicyJob | None:
        return self._inner.peek()

    def waiting(self) -> Iterator[PolicyJob]:
        return self._inner.waiting()

    def victims(self) -> Iterator[PolicyJob]:
        return self._inner.victims()

    def __len__(self) -> int:
        return len(self._inner)


def test_a_strict_policy_passes_while_no_job_waits_out_a_backoff() -> None:
    sched = Scheduler(ManualClock())
    policy: Policy = StrictPriority()
    sched.create_queue("q", slots=1, policy=policy)
    running = sched.submit(queue="q")
    waiting = sched.submit(queue="q")
    sched.update_priority(running.id, 3)
    sched.update_priority(waiting.id, 2)
    sched.check_invariants()


def test_update_priority_during_a_backoff_keeps_to_the_policy_protocol() -> None:
    sched = Scheduler(ManualClock())
    sched.create_queue("q", slots=1, policy=StrictPriority())
    job = sched.submit(queue="q", retry=Retry(attempts=2, backoff=5.0, jitter=0.0))
    sched.fail(job.id)
    sched.update_priority(job.id, 4)
    assert sched.get(job.id).priority == 4


def test_retry_scheduled_events_name_the_next_attempt() -> None:
    # The event the machine counts attempts by, as the scheduler sends it.
    sched = Scheduler(ManualClock())
    events: list[object] = []
    sched.subscribe(events.append)
    job = sched.submit(retry=Retry(attempts=3, backoff=0.0, jitter=0.0))
    sched.fail(job.id)
    sched.poll()
    sched.fail(job.id)
    assert [e.attempt for e in events if isinstance(e, RetryScheduled)] == [2, 3]
