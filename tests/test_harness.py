"""jobqueue.testing: stock policies pass the harness, broken ones are caught, strategies hold."""

from __future__ import annotations

import functools
import os
import re
import subprocess
import sys
from collections.abc import Callable, Iterator

import pytest
from helpers import fingerprint
from hypothesis import Phase, given, settings
from hypothesis import strategies as st

from jobqueue import (
    Event,
    FifoPolicy,
    HoldLifted,
    JobHopped,
    JobPurged,
    JobStatus,
    JobSubmitted,
    JobTransitioned,
    ManualClock,
    PolicyJob,
    PriorityChanged,
    PriorityPolicy,
    QueueEvent,
    Scheduler,
)
from jobqueue import _validate as validate_module
from jobqueue._core import submission as submission_module
from jobqueue.policies import FairSharePolicy, Policy
from jobqueue.sim import simulate
from jobqueue.testing import (
    HistoryChecker,
    InvalidCall,
    PolicyStateMachine,
    PropertyFailed,
    Submission,
    check_policy,
    invalid_priorities,
    invalid_queue_specs,
    invalid_submissions,
    job_names,
    operations,
    queue_specs,
    run_operations,
    submissions,
    workloads,
)

_S = JobStatus

# ---------------------------------------------------------------------- stock policies pass

# Priority with preemption passes too: test_harness_controls.py runs it,
# counting the job controls the machine exercises as it goes.
STOCK: dict[str, Callable[[], Policy]] = {
    "fifo": FifoPolicy,
    "priority": PriorityPolicy,
    "fair-share": functools.partial(FairSharePolicy, tag="Team", weights={"a": 2, "b": 1}),
    "fair-share+preemption": functools.partial(
        FairSharePolicy, tag="Team", weights={"a": 2}, default_weight=1, preemption=True
    ),
}


@pytest.mark.slow  # a full run of the policy state machine: seconds each
@pytest.mark.parametrize("name", list(STOCK))
def test_stock_policy_passes_the_harness(name: str) -> None:
    check_policy(STOCK[name])


class CheckPriorityAcknowledged(PolicyStateMachine):
    """The subclass form, with the acknowledgement mode and slots fixed."""

    policy_factory = functools.partial(PriorityPolicy, preemption=True)
    acknowledge = True
    slots = 2


TestPriorityAcknowledged = CheckPriorityAcknowledged.TestCase


def test_check_policy_follows_the_active_settings_profile() -> None:
    made: list[Policy] = []

    def counting() -> Policy:
        made.append(FifoPolicy())
        return made[-1]

    settings.register_profile("harness-tiny", max_examples=3, derandomize=True)
    settings.load_profile("harness-tiny")
    try:
        check_policy(counting)
    finally:
        settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "dev"))  # as conftest does
    assert 0 < len(made) <= 2 * 3  # two queues, hence two policies, per run


# ---------------------------------------------------------------------- broken policies are caught


class DeclaresPriorityRunsFifo:
    """Broken: declares priority order, but starts jobs in order of entry."""

    name = "liar"
    order = "priority"

    def __init__(self) -> None:
        self._fifo = FifoPolicy()

    def add(self, job: PolicyJob) -> None:
        self._fifo.add(job)

    def discard(self, job: PolicyJob) -> None:
        self._fifo.discard(job)

    def started(self, job: PolicyJob) -> None:
        pass

    def stopped(self, job: PolicyJob) -> None:
        pass

    def reprioritize(self, job: PolicyJob, old_priority: int) -> None:
        pass

    def peek(self) -> PolicyJob | None:
        return self._fifo.peek()

    def waiting(self) -> Iterator[PolicyJob]:
        return self._fifo.waiting()

    def victims(self) -> Iterator[PolicyJob]:
        return iter(())

    def __len__(self) -> int:
        return len(self._fifo)


class ForgetsToDiscard(DeclaresPriorityRunsFifo):
    """Broken: ``discard`` does nothing, so ``peek`` returns a job that already started."""

    name = "forgetful"
    order = "fifo"

    def discard(self, job: PolicyJob) -> None:
        pass


class PreemptsAnyone(DeclaresPriorityRunsFifo):
    """Broken: offers every running job as a victim, preemptible or not."""

    name = "greedy"

    def __init__(self) -> None:
        self._line = PriorityPolicy()
        self._running: dict[str, PolicyJob] = {}

    def add(self, job: PolicyJob) -> None:
        self._line.add(job)

    def discard(self, job: PolicyJob) -> None:
        self._line.discard(job)

    def started(self, job: PolicyJob) -> None:
        self._running[job.id] = job

    def stopped(self, job: PolicyJob) -> None:
        self._running.pop(job.id, None)

    def reprioritize(self, job: PolicyJob, old_priority: int) -> None:
        self._line.reprioritize(job, old_priority)

    def peek(self) -> PolicyJob | None:
        return self._line.peek()

    def waiting(self) -> Iterator[PolicyJob]:
        return self._line.waiting()

    def victims(self) -> Iterator[PolicyJob]:
        return iter(sorted(self._running.values(), key=lambda j: (j.priority, -j.start_seq)))

    def __len__(self) -> int:
        return len(self._line)


class SharesVictims(PreemptsAnyone):
    """Broken: instances share one registry of running jobs, so a queue may name
    another queue's job as its victim -- and, were that obeyed, start more jobs
    than it has slots."""

    name = "sharing"

    def __init__(self, registry: dict[str, PolicyJob]) -> None:
        super().__init__()
        self._running = registry
        self._mine: set[str] = set()

    def started(self, job: PolicyJob) -> None:
        if job.preemptible:
            self._running[job.id] = job
            self._mine.add(job.id)

    def stopped(self, job: PolicyJob) -> None:
        self._running.pop(job.id, None)
        self._mine.discard(job.id)

    def victims(self) -> Iterator[PolicyJob]:
        # Other queues' jobs first: the registry is "all running work".
        return iter(sorted(self._running.values(), key=lambda j: j.id in self._mine))


def sharing_pairs() -> Policy:
    """Each pair of instances (one state-machine run makes two) shares a registry."""
    made = sharing_pairs.__dict__.setdefault("made", [0, {}])
    if made[0] % 2 == 0:
        made[1] = {}
    made[0] += 1
    return SharesVictims(made[1])


# Finding these bugs takes a fraction of a second; shrinking a stateful
# counterexample can take far longer, so most cases skip it (the steps are
# still printed), and one case below checks the shrunk example end to end.
# Derandomized, so that whether a bug is found never depends on luck.
BROKEN_SETTINGS = settings(
    derandomize=True,
    max_examples=100,  # whatever the profile: each bug is found well within it
    stateful_step_count=30,
    deadline=None,
    database=None,
    report_multiple_bugs=False,
    phases=[Phase.explicit, Phase.generate],
)


@pytest.mark.parametrize(
    ("factory", "expected"),
    [
        pytest.param(
            DeclaresPriorityRunsFifo,
            # Seen at rest (the line), or as it happens (a start) if a hop
            # brings the better job in during the same call.
            r"scheduler invariant: queue 'q\d': its line is out of priority order"
            r"|priority start order: job 'job-\d+' \(priority -?\d\) started in queue 'q\d' "
            r"while job 'job-\d+' \(priority -?\d\) waited( and entered before it)?",
            id="lower-priority-first",
        ),
        pytest.param(
            ForgetsToDiscard,
            # The stale job is offered again when the next job starts, or is
            # seen still in line after it was cancelled or failed.
            r"scheduler invariant: .*: policy of queue 'q\d': peek\(\) returned job 'job-\d+', "
            r"which is \w+ in queue 'q\d', not waiting here"
            r"|scheduler invariant: .*job 'job-\d+' \(\w+\) is in the line of 'q\d'.*",
            id="peek-returns-a-job-that-is-not-waiting",
        ),
        pytest.param(
            PreemptsAnyone,
            r"preemption: job 'job-\d+' is not preemptible but was preempted by 'job-\d+'",
            id="preempts-non-preemptible",
        ),
        pytest.param(
            sharing_pairs,
            r"scheduler invariant: .*: policy of queue 'q\d': "
            r"victims\(\) named job 'job-\d+' of queue 'q\d'",
            id="victim-from-another-queue",
        ),
    ],
)
def test_the_harness_catches_a_broken_policy(factory: Callable[[], Policy], expected: str) -> None:
    with pytest.raises(PropertyFailed) as info:
        check_policy(factory, settings=BROKEN_SETTINGS)
    failure = info.value
    assert re.fullmatch(expected, str(failure)), str(failure)
    assert str(failure) == f"{failure.property}: {failure.detail}"
    # The counterexample: the steps that reproduce it, from a fresh machine.
    steps = "\n".join(getattr(failure, "__notes__", ()))
    assert "state.setup(" in steps
    assert "state.submit" in steps


def test_the_counterexample_is_shrunk_to_the_steps_that_matter() -> None:
    with pytest.raises(PropertyFailed) as info:
        check_policy(
            ForgetsToDiscard,
            settings=settings(BROKEN_SETTINGS, phases=[Phase.generate, Phase.shrink]),
        )
    steps = [
        line
        for line in getattr(info.value, "__notes__", ())
        if line.startswith("state.") and line != "state.check()"
    ]
    # One job starts; the policy still offers it, so the next dispatch trips.
    assert steps == [
        "state.setup(acknowledge=False, slots=1, deferred_share=1.0, max_waiting=2)",
        "state.submit(spec=Submission(queue='q0'))",
        "state.teardown()",
    ]


def test_the_harness_catches_a_bad_argument_that_is_accepted(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # A scheduler that no longer checks its flags: deferred="no" is taken as True.
    monkeypatch.setattr(submission_module, "check_submit_flags", lambda *flags: None)
    with pytest.raises(PropertyFailed) as info:
        check_policy(FifoPolicy, settings=BROKEN_SETTINGS)
    assert re.fullmatch(
        r"api contract: submit with a bad (deferred|confirmation_required|preemptible) "
        r"succeeded, but it must raise ValidationError",
        str(info.value),
    ), str(info.value)


def test_the_harness_checks_the_message_of_a_refused_call(monkeypatch: pytest.MonkeyPatch) -> None:
    # A scheduler whose messages no longer show the value they refused.
    monkeypatch.setattr(validate_module, "shown", lambda value: "something")
    with pytest.raises(PropertyFailed) as info:
        check_policy(FifoPolicy, settings=BROKEN_SETTINGS)
    assert re.fullmatch(
        r"error messages: \w+ with a bad \S+ raised .*, got something, expected '.*'",
        str(info.value),
    ), str(info.value)


def no_job_runs(sched: Scheduler) -> None:
    assert not sched.list_jobs(statuses={_S.ACTIVE}).jobs, "a job runs"


def test_a_declared_property_is_checked_after_every_step() -> None:
    with pytest.raises(PropertyFailed) as info:
        check_policy(FifoPolicy, properties=[no_job_runs], settings=BROKEN_SETTINGS)
    # pytest's assertion rewriting adds its own explanation after the first line.
    first_line = str(info.value).splitlines()[0]
    assert first_line == "declared property no_job_runs: AssertionError: a job runs"


class ClaimsAnEmptyLine(DeclaresPriorityRunsFifo):
    """A policy whose own declared property is false as soon as a job waits."""

    name = "claims-empty"
    order = "fifo"

    @property
    def properties(self) -> tuple[Callable[[Scheduler], None], ...]:
        return (self.line_is_empty,)

    def line_is_empty(self, sched: Scheduler) -> None:
        assert len(self) == 0, f"{len(self)} jobs wait"


def test_the_policys_own_properties_are_checked() -> None:
    with pytest.raises(PropertyFailed) as info:
        check_policy(ClaimsAnEmptyLine, settings=BROKEN_SETTINGS)
    assert re.fullmatch(
        r"declared property ClaimsAnEmptyLine.line_is_empty: AssertionError: \d+ jobs wait",
        str(info.value).splitlines()[0],
    )


def test_the_factory_must_make_a_fresh_policy_per_queue() -> None:
    shared = PriorityPolicy()
    with pytest.raises(PropertyFailed) as info:
        check_policy(lambda: shared, settings=BROKEN_SETTINGS)
    assert str(info.value) == (
        "policy factory: it returned the same instance twice; each queue needs its own"
    )


# ---------------------------------------------------------------------- history properties


def arrive(
    checker: HistoryChecker, job_id: str, priority: int = 0, queue: str = "q", *, at: float = 0.0
) -> None:
    """Feed the events of a deferred job that is submitted and becomes Ready."""
    checker.feed(JobSubmitted(at, job_id, queue, priority, True, None))
    checker.feed(JobTransitioned(at, job_id, _S.NEW, _S.PREPARING))
    checker.feed(JobTransitioned(at, job_id, _S.PREPARING, _S.READY))


def fresh_checker(**orders: str) -> HistoryChecker:
    sched = Scheduler(ManualClock())
    return HistoryChecker(sched, {q: o for q, o in orders.items()})  # type: ignore[misc]


def failure_of(checker: HistoryChecker, event: object) -> str:
    with pytest.raises(PropertyFailed) as info:
        checker.feed(event)  # type: ignore[arg-type]
    return str(info.value)


def test_history_refuses_a_move_outside_the_table() -> None:
    checker = fresh_checker()
    arrive(checker, "j1")
    assert failure_of(checker, JobTransitioned(0, "j1", _S.READY, _S.COMPLETE)) == (
        "transition table: job 'j1' went Ready -> Complete"
    )


def test_history_refuses_a_move_from_a_status_the_job_is_not_in() -> None:
    checker = fresh_checker()
    arrive(checker, "j1")
    assert failure_of(checker, JobTransitioned(0, "j1", _S.ACTIVE, _S.COMPLETE)) == (
        "transition table: job 'j1' went Active -> Complete, but its last status was Ready"
    )


def test_history_refuses_a_change_of_terminal_status() -> None:
    checker = fresh_checker()
    arrive(checker, "j1")
    checker.feed(JobTransitioned(0, "j1", _S.READY, _S.CANCELLING))
    checker.feed(JobTransitioned(0, "j1", _S.CANCELLING, _S.CANCELLED))
    assert failure_of(checker, JobTransitioned(0, "j1", _S.CANCELLED, _S.READY)) == (
        "transition table: job 'j1' left terminal status Cancelled for Ready"
    )


def test_history_refuses_fifo_start_out_of_entry_order() -> None:
    checker = fresh_checker(q="fifo")
    arrive(checker, "j1")
    arrive(checker, "j2")
    assert failure_of(checker, JobTransitioned(0, "j2", _S.READY, _S.ACTIVE)) == (
        "fifo start order: job 'j2' started in queue 'q' while job 'j1', "
        "which entered the queue before it, waited"
    )


def test_history_refuses_a_lower_priority_start() -> None:
    checker = fresh_checker(q="priority")
    arrive(checker, "j1", priority=5)
    arrive(checker, "j2", priority=1)
    assert failure_of(checker, JobTransitioned(0, "j2", _S.READY, _S.ACTIVE)) == (
        "priority start order: job 'j2' (priority 1) started in queue 'q' "
        "while job 'j1' (priority 5) waited"
    )


def test_history_refuses_an_equal_priority_start_out_of_entry_order() -> None:
    checker = fresh_checker(q="priority")
    arrive(checker, "j1")
    arrive(checker, "j2")
    assert failure_of(checker, JobTransitioned(0, "j2", _S.READY, _S.ACTIVE)) == (
        "priority start order: job 'j2' (priority 0) started in queue 'q' "
        "while job 'j1' (priority 0) waited and entered before it"
    )


def test_history_allows_any_start_order_when_none_is_declared() -> None:
    checker = fresh_checker()
    arrive(checker, "j1", priority=5)
    arrive(checker, "j2", priority=1)
    checker.feed(JobTransitioned(0, "j2", _S.READY, _S.ACTIVE))
    assert [j.id for j in checker.line("q")] == ["j1"]


def test_history_refuses_preemption_by_equal_priority() -> None:
    checker = fresh_checker()
    arrive(checker, "j1", priority=1)
    checker.feed(JobTransitioned(0, "j1", _S.READY, _S.ACTIVE))
    arrive(checker, "j2", priority=1)
    event = JobTransitioned(0, "j1", _S.ACTIVE, _S.PAUSING, "preempted by j2")
    assert failure_of(checker, event) == (
        "preemption: job 'j1' (priority 1) was preempted by job 'j2' of equal or lower priority (1)"
    )


def test_history_refuses_preemption_for_a_job_that_does_not_wait_there() -> None:
    checker = fresh_checker()
    arrive(checker, "j1")
    checker.feed(JobTransitioned(0, "j1", _S.READY, _S.ACTIVE))
    arrive(checker, "j2", priority=9, queue="other")
    event = JobTransitioned(0, "j1", _S.ACTIVE, _S.PAUSING, "preempted by j2")
    assert failure_of(checker, event) == (
        "preemption: job 'j1' was preempted by job 'j2', which does not wait in queue 'q'"
    )


def test_history_refuses_a_hop_out_of_a_paused_queue() -> None:
    checker = fresh_checker()
    arrive(checker, "j1")
    checker.feed(QueueEvent(0, "q", "paused"))
    assert failure_of(checker, JobHopped(1, "j1", "q", "r", 0)) == (
        "hops: job 'j1' hopped out of paused queue 'q'"
    )
    checker.feed(QueueEvent(2, "q", "resumed"))
    checker.feed(JobHopped(2, "j1", "q", "r", 0))
    assert [j.id for j in checker.line("r")] == ["j1"]


def test_history_refuses_a_hop_of_a_running_job() -> None:
    checker = fresh_checker()
    arrive(checker, "j1")
    checker.feed(JobTransitioned(0, "j1", _S.READY, _S.ACTIVE))
    assert failure_of(checker, JobHopped(1, "j1", "q", "r", 0)) == (
        "hops: job 'j1' hopped from 'q' while not waiting there (Active in 'q')"
    )


def test_history_refuses_the_purge_of_an_unfinished_job() -> None:
    checker = fresh_checker()
    arrive(checker, "j1")
    assert failure_of(checker, JobPurged(1, "j1")) == "purge: job 'j1' was purged while Ready"


def test_history_must_agree_with_the_scheduler() -> None:
    sched = Scheduler(ManualClock())
    checker = HistoryChecker(sched)
    job = sched.submit()
    checker.check()
    checker.feed(PriorityChanged(0, job.id, 0, 7))
    with pytest.raises(PropertyFailed) as info:
        checker.check()
    assert str(info.value) == (
        "events agree with state: job 'job-1' is Active in 'default' at priority 0; "
        "the events say Active in 'default' at priority 7"
    )


class StartsLowestFirst(PreemptsAnyone):
    """Broken: a priority line whose ``peek`` is its *last* job."""

    name = "backwards"
    order = "priority"

    def peek(self) -> PolicyJob | None:
        line = list(self._line.waiting())
        return line[-1] if line else None

    def victims(self) -> Iterator[PolicyJob]:
        return iter(())


@pytest.mark.parametrize(("policy", "broken"), [(StartsLowestFirst, True), (PriorityPolicy, False)])
def test_history_sees_a_lower_priority_job_start_on_a_real_scheduler(
    policy: Callable[[], Policy], broken: bool
) -> None:
    sched = Scheduler(ManualClock())
    sched.create_queue("q", slots=1, policy=policy())
    checker = HistoryChecker(sched, {"q": "priority"})
    first = sched.submit(queue="q")
    sched.submit(queue="q", priority=1)
    sched.submit(queue="q", priority=5)
    checker.check()
    sched.complete(first.id)
    if not broken:
        checker.check()
        return
    with pytest.raises(PropertyFailed) as info:
        checker.check()
    assert str(info.value) == (
        "priority start order: job 'job-2' (priority 1) started in queue 'q' "
        "while job 'job-3' (priority 5) waited"
    )


# ---------------------------------------------------------------------- strategies


@given(submissions(["default", "other"]))
def test_submissions_are_accepted_as_given(spec: Submission) -> None:
    sched = Scheduler(ManualClock())
    sched.create_queue("other")
    job = spec.submit(sched)
    assert (job.queue, job.priority, dict(job.tags), job.hops) == (
        spec.queue,
        spec.priority,
        dict(spec.tags),
        spec.hops,
    )
    keys = spec.task_keys()
    if keys is None:  # an unreadable manifest fails the job in Preparing
        assert job.status is _S.FAILED
        assert job.failure_reasons[0].code == "ManifestReadError"
    else:
        assert job.tasks_total == len(keys)
        expected = _S.SUSPENDED if spec.confirmation_required else _S.ACTIVE
        assert job.status is expected
    sched.check_invariants()


@given(invalid_submissions(["default", "other"]))
def test_invalid_submissions_raise_their_error_and_change_nothing(case: InvalidCall) -> None:
    sched = Scheduler(ManualClock())
    sched.create_queue("other")
    sched.submit(queue="other", priority=3, tags={"k": "v"})
    before = fingerprint(sched)
    with pytest.raises(case.error) as info:
        case.call(sched)
    assert str(info.value) == case.message
    assert fingerprint(sched) == before


@given(invalid_queue_specs(["default", "other"]))
def test_invalid_queue_specs_raise_their_error_and_change_nothing(case: InvalidCall) -> None:
    sched = Scheduler(ManualClock())
    sched.create_queue("other")
    before = fingerprint(sched)
    with pytest.raises(case.error) as info:
        case.call(sched)
    assert str(info.value) == case.message
    assert fingerprint(sched) == before


@given(invalid_priorities())
def test_invalid_priorities_are_refused_by_update_priority(case: tuple[object, str]) -> None:
    value, message = case
    sched = Scheduler(ManualClock())
    job = sched.submit()
    before = fingerprint(sched)
    with pytest.raises(ValueError) as info:
        sched.update_priority(job.id, value)  # type: ignore[arg-type]
    assert str(info.value) == message
    assert fingerprint(sched) == before


@given(queue_specs(job_names(20).filter(lambda n: n != "default"), max_slots=50))
def test_queue_specs_create_the_queue_they_describe(spec: object) -> None:
    from jobqueue.sim import QueueSpec

    assert isinstance(spec, QueueSpec)
    sched = Scheduler(ManualClock())
    info = sched.create_queue(
        spec.name,
        slots=spec.slots,
        policy=spec.policy,
        preemption=spec.preemption,
        deferred_share=spec.deferred_share,
        max_waiting=spec.max_waiting,
        pricing=spec.pricing,
        tags=spec.tags,
    )
    assert (info.name, info.slots, info.max_waiting, info.pricing) == (
        spec.name,
        spec.slots,
        spec.max_waiting,
        spec.pricing,
    )


@given(workloads(max_jobs=12))
def test_workloads_run_through_the_simulator(workload: object) -> None:
    from jobqueue.sim import Workload

    assert isinstance(workload, Workload)
    arrivals = [job.arrival for job in workload.jobs]
    assert arrivals == sorted(arrivals)
    result = simulate(workload, check_invariants=True)
    assert len(result.jobs) == len(workload.jobs)


@given(operations(["default", "q1"], max_size=25))
def test_operation_sequences_keep_every_invariant(ops: list[object]) -> None:
    sched = Scheduler(ManualClock())
    sched.create_queue("q1", slots=2, policy="priority", preemption=True, max_waiting=3)
    sched.update_queue("default", slots=2, max_waiting=3)
    results = run_operations(sched, ops)  # type: ignore[arg-type]
    assert len(results) == len(ops)


def test_submission_prints_only_what_differs_from_the_defaults() -> None:
    assert repr(Submission(priority=5, tags={"Team": "a"})) == (
        "Submission(priority=5, tags={'Team': 'a'})"
    )
    assert repr(Submission()) == "Submission()"


@given(st.data())
def test_hop_chains_never_hop_to_the_queue_they_leave(data: st.DataObject) -> None:
    spec = data.draw(submissions(["a", "b", "c"], max_hops=3))
    current = spec.queue
    for rule in spec.hops:
        assert rule.queue != current and rule.queue in ("a", "b", "c") and rule.wait > 0
        current = rule.queue


def test_importing_jobqueue_does_not_import_hypothesis() -> None:
    code = (
        "import sys, jobqueue\n"
        "assert 'hypothesis' not in sys.modules, 'hypothesis imported'\n"
        "assert 'jobqueue.testing' not in sys.modules, 'jobqueue.testing imported'\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr


def test_history_refuses_a_hold_lifting_from_a_job_that_is_not_held() -> None:
    checker = fresh_checker()
    arrive(checker, "j1")
    assert failure_of(checker, HoldLifted(1, "j1", "confirmation")) == (
        "holds: a confirmation hold of job 'j1' lifted while it was Ready"
    )


def test_history_follows_holds_lifting_in_a_real_scheduler() -> None:
    # Confirmed while its start time is still to come, then released by it:
    # two holds lift, and the events agree with the scheduler throughout.
    clock = ManualClock()
    sched = Scheduler(clock)
    checker = HistoryChecker(sched)
    seen: list[Event] = []
    sched.subscribe(seen.append)
    job = sched.submit(confirmation_required=True, not_before=2.0)
    sched.confirm(job.id)
    checker.check()
    clock.advance(2.0)
    sched.poll()
    checker.check()
    lifted = [(e.hold, e.dependency) for e in seen if isinstance(e, HoldLifted)]
    assert lifted == [("confirmation", None), ("not_before", None)]
    assert sched.get(job.id).status is JobStatus.ACTIVE
