"""Bad input of every class is refused with a typed error, and changes nothing.

One section per class of bad input, each test covering every site of its
class: ints too large for a float, ``str`` subclasses that lie, flags that are
not bools, objects of the wrong kind, malformed continuation tokens, bad
waits, and junk from the clock. A refused call must leave the scheduler as it
was (``fingerprint`` before and after).
"""

from __future__ import annotations

import asyncio
import io
import json
import math
import random
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from helpers import fingerprint
from hypothesis import given, settings
from hypothesis import strategies as st

from jobqueue import (
    AccessDenied,
    AccessPolicy,
    Action,
    Aging,
    Dependency,
    Event,
    FailureReason,
    HopRule,
    JobStatus,
    ManualClock,
    NotFound,
    Principal,
    ReportScope,
    Retry,
    Scheduler,
    Statement,
    TagEquals,
    TagMatchesAttribute,
    TaskRecord,
    TaskStatus,
    ValidationError,
)
from jobqueue._reports import CompletionReport
from jobqueue.policies import FairSharePolicy, FifoPolicy, PriorityPolicy
from jobqueue.runtime import AsyncioRuntime, AsyncJobContext, ExecutorRuntime, ThreadRuntime
from jobqueue.sim import JobSpec, QueueSpec, Simulation, Workload, poisson_workload, simulate
from jobqueue.store import SQLiteStore

HUGE = 10**400  # float(HUGE) raises OverflowError
HUGE_SHOWN = "an int of 1329 bits"


def busy_scheduler() -> Scheduler:
    """A scheduler with a running job, a waiting one and a second queue."""
    sched = Scheduler(ManualClock(5.0))
    sched.create_queue("other", slots=1)
    sched.submit(queue="other", name="running", tasks=["a", "b"], tags={"Team": "a"})
    sched.submit(queue="other", name="waiting", hops=[HopRule("default", 60.0)])
    return sched


def bad(value: object) -> Any:
    """``value``, typed so that a call may be given it on purpose."""
    return value


def refused(sched: Scheduler, call: Callable[[Scheduler], object]) -> str:
    """The message of the ``ValidationError`` ``call`` raises; the scheduler must not change."""
    before = fingerprint(sched)
    with pytest.raises(ValidationError) as info:
        call(sched)
    assert fingerprint(sched) == before
    return str(info.value)


# ---------------------------------------------------------------------- ints too large for a float

SCHEDULER_HUGE: list[tuple[str, Callable[[Scheduler], object], str]] = [
    (
        "create_queue deferred_share",
        lambda s: s.create_queue("new", deferred_share=HUGE),
        f"deferred_share must be in (0, 1], got {HUGE_SHOWN}",
    ),
    (
        "update_queue deferred_share",
        lambda s: s.update_queue("other", deferred_share=HUGE),
        f"deferred_share must be in (0, 1], got {HUGE_SHOWN}",
    ),
    (
        "hop wait",
        lambda s: s.submit(hops=[HopRule("other", HUGE)]),
        f"hops[0].wait must be a finite number > 0, got {HUGE_SHOWN}",
    ),
    (
        "set_progress",
        lambda s: s.set_progress("job-1", HUGE),
        f"fraction must be in [0, 1], got {HUGE_SHOWN}",
    ),
    (
        "priority",
        lambda s: s.submit(priority=-HUGE),
        f"priority must be -2147483648..2147483647, got -{HUGE_SHOWN}",
    ),
    (
        "not_before",
        lambda s: s.submit(not_before=HUGE),
        f"not_before must be a finite number, got {HUGE_SHOWN}",
    ),
    (
        "max_run",
        lambda s: s.submit(max_run=HUGE),
        f"max_run must be a finite number > 0, got {HUGE_SHOWN}",
    ),
    (
        "max_wait",
        lambda s: s.submit(max_wait=HUGE),
        f"max_wait must be a finite number > 0, got {HUGE_SHOWN}",
    ),
    (
        "retry backoff",
        lambda s: s.submit(retry=Retry(backoff=HUGE, max_backoff=HUGE)),
        f"retry.backoff must be a finite number >= 0, got {HUGE_SHOWN}",
    ),
    (
        "retry factor",
        lambda s: s.submit(retry=Retry(factor=HUGE)),
        f"retry.factor must be a finite number >= 1, got {HUGE_SHOWN}",
    ),
    (
        "aging every",
        lambda s: s.create_queue("aged", policy="priority", aging=Aging(every=HUGE)),
        f"aging.every must be a finite number > 0, got {HUGE_SHOWN}",
    ),
    (
        "aging cap",
        lambda s: s.create_queue("aged", policy="priority", aging=Aging(cap=HUGE)),
        f"aging.cap must be 1..4294967295, got {HUGE_SHOWN}",
    ),
    (
        "update_priority of 5,000 digits",
        lambda s: s.update_priority("job-1", 10**5000),
        "priority must be -2147483648..2147483647, got an int of 16610 bits",
    ),
]


@pytest.mark.parametrize(
    ("call", "message"),
    [case[1:] for case in SCHEDULER_HUGE],
    ids=[case[0] for case in SCHEDULER_HUGE],
)
def test_a_huge_int_is_refused_naming_the_limit(
    call: Callable[[Scheduler], object], message: str
) -> None:
    assert refused(busy_scheduler(), call) == message


SETTINGS_HUGE: list[tuple[str, Callable[[], object], str]] = [
    (
        "retention",
        lambda: Scheduler(ManualClock(), retention=HUGE),
        f"retention must be a finite number > 0, got {HUGE_SHOWN}",
    ),
    (
        "confirmation_timeout",
        lambda: Scheduler(ManualClock(), confirmation_timeout=HUGE),
        f"confirmation_timeout must be a finite number > 0, got {HUGE_SHOWN}",
    ),
    (
        "failure_threshold_ratio",
        lambda: Scheduler(ManualClock(), failure_threshold_ratio=HUGE),
        f"failure_threshold_ratio must be in [0, 1), got {HUGE_SHOWN}",
    ),
    (
        "ManualClock start",
        lambda: ManualClock(HUGE),
        f"start must be a finite number, got {HUGE_SHOWN}",
    ),
    (
        "runtime progress_rate",
        lambda: ThreadRuntime(progress_rate=HUGE),
        f"progress_rate must be a finite number > 0, got {HUGE_SHOWN}",
    ),
    (
        "fair-share weight",
        lambda: FairSharePolicy(tag="Team", weights={"a": HUGE}),
        f"weights['a'] must be a finite number > 0, got {HUGE_SHOWN}",
    ),
    (
        "workload arrival",
        lambda: JobSpec(HUGE, 1.0),
        f"arrival must be a finite number >= 0, got {HUGE_SHOWN}",
    ),
    (
        "workload task_failure_rate",
        lambda: JobSpec(0.0, 1.0, task_failure_rate=HUGE),
        f"task_failure_rate must be in [0, 1], got {HUGE_SHOWN}",
    ),
    (
        "workload deferred_share",
        lambda: QueueSpec("q", deferred_share=HUGE),
        f"deferred_share must be in (0, 1], got {HUGE_SHOWN}",
    ),
    (
        "poisson load",
        lambda: poisson_workload(3, rng=random.Random(1), load=HUGE),
        f"load must be a finite number > 0, got {HUGE_SHOWN}",
    ),
    (
        "poisson slots",
        lambda: poisson_workload(3, rng=random.Random(1), slots=HUGE),
        "load * slots / mean_duration must be a finite number > 0, got inf",
    ),
    (
        "poisson priority weight",
        lambda: poisson_workload(3, rng=random.Random(1), priorities={1: HUGE}),
        f"priority weight must be a finite number >= 0, got {HUGE_SHOWN}",
    ),
    (
        "simulate until",
        lambda: simulate(Workload([JobSpec(0.0, 1.0)]), until=HUGE),
        f"until must be a finite number, got {HUGE_SHOWN}",
    ),
]


@pytest.mark.parametrize(
    ("call", "message"),
    [case[1:] for case in SETTINGS_HUGE],
    ids=[case[0] for case in SETTINGS_HUGE],
)
def test_a_huge_int_setting_is_refused_naming_the_limit(
    call: Callable[[], object], message: str
) -> None:
    with pytest.raises(ValidationError) as info:
        call()
    assert str(info.value) == message


@pytest.mark.parametrize(
    ("move", "message"),
    [
        (lambda c: c.advance(HUGE), f"seconds must be a finite number >= 0, got {HUGE_SHOWN}"),
        (lambda c: c.set(HUGE), f"t must be a finite number, got {HUGE_SHOWN}"),
        (
            lambda c: c.advance(1.7e308),
            "seconds must leave the clock finite, got 1.7e+308 at time 1e+308",
        ),
    ],
    ids=["advance", "set", "advance to inf"],
)
def test_a_manual_clock_never_leaves_the_finite_numbers(
    move: Callable[[ManualClock], None], message: str
) -> None:
    clock = ManualClock(1e308)
    with pytest.raises(ValidationError) as info:
        move(clock)
    assert str(info.value) == message
    assert clock.now() == 1e308


def test_a_report_with_a_huge_int_timestamp_is_refused() -> None:
    sched = busy_scheduler()
    sched.submit(tasks=["a"], report="all")
    sched.record_task("job-3", "a", ok=True)
    sched.complete("job-3")
    report = sched.report("job-3")
    assert report is not None
    damaged = report.to_json().replace('"created_at": 5.0', f'"created_at": {HUGE}')
    with pytest.raises(ValidationError) as info:
        CompletionReport.from_json(damaged)
    assert str(info.value) == f"report field 'created_at' must be a finite number, got {HUGE_SHOWN}"


# ---------------------------------------------------------------------- str subclasses


class Liar(str):
    """A str that lies about everything a check could ask it."""

    __slots__ = ()

    def __len__(self) -> int:
        return 1

    def __eq__(self, other: object) -> bool:
        return True

    def __ne__(self, other: object) -> bool:
        return False

    def __hash__(self) -> int:
        return hash("job-1")

    def __str__(self) -> str:
        return "Finance"

    def __repr__(self) -> str:
        return "'Finance'"


class Plain(str):
    """A well-behaved str subclass (a StrEnum value, say): stored as its characters."""

    __slots__ = ()


def test_a_lying_tag_value_does_not_pass_an_access_condition() -> None:
    policy = AccessPolicy(
        [
            Statement.allow([a for a in Action if a is not Action.CREATE]),
            Statement.allow(Action.CREATE, TagEquals("Department", "Finance", on="request")),
        ]
    )
    sched = busy_scheduler()
    sched.access_policy = policy
    before = fingerprint(sched)
    with pytest.raises(AccessDenied):
        sched.submit(tags={"Department": Liar("Sales")})
    assert fingerprint(sched) == before
    job = sched.submit(tags={Plain("Department"): Plain("Finance")})
    assert [(type(k), type(v)) for k, v in sched.get_tags(job.id).items()] == [(str, str)]


def test_a_lying_principal_attribute_does_not_pass_an_access_condition() -> None:
    policy = AccessPolicy(
        [
            Statement.allow([a for a in Action if a is not Action.CANCEL]),
            Statement.allow(Action.CANCEL, TagMatchesAttribute("Team", "team")),
        ]
    )
    sched = busy_scheduler()
    sched.access_policy = policy
    liar = Principal("mallory", {"team": Liar("b")})
    before = fingerprint(sched)
    with pytest.raises(AccessDenied):
        sched.cancel("job-1", principal=liar)
    assert fingerprint(sched) == before
    assert type(liar.attributes["team"]) is str


LENGTHS: list[tuple[str, Callable[[Scheduler], object], str]] = [
    ("name", lambda s: s.submit(name=Liar("n" * 201)), "name must be 1-200 characters, got 201"),
    (
        "description",
        lambda s: s.submit(description=Liar("d" * 257)),
        "description must be 0-256 characters, got 257",
    ),
    (
        "tag key",
        lambda s: s.submit(tags={Liar("k" * 129): "v"}),
        "tag key must be 1-128 characters, got 129",
    ),
    (
        "tag value",
        lambda s: s.put_tags("job-1", {"k": Liar("v" * 257)}),
        "tag value for key 'k' must be 0-256 characters, got 257",
    ),
    (
        "queue name",
        lambda s: s.create_queue(Liar("q" * 201)),
        "name must be 1-200 characters, got 201",
    ),
    (
        "tag keys that are one key",
        lambda s: s.submit(tags={Liar("k"): "1", Plain("k"): "2"}),
        "tag key 'k' appears twice",
    ),
]


@pytest.mark.parametrize(
    ("call", "message"),
    [case[1:] for case in LENGTHS],
    ids=[case[0] for case in LENGTHS],
)
def test_a_lying_len_does_not_pass_a_limit(
    call: Callable[[Scheduler], object], message: str
) -> None:
    assert refused(busy_scheduler(), call) == message


def test_a_lying_id_or_name_finds_nothing() -> None:
    sched = busy_scheduler()
    before = fingerprint(sched)
    with pytest.raises(NotFound) as info:
        sched.get(Liar("job-9"))
    assert str(info.value) == "unknown job 'job-9'"
    with pytest.raises(NotFound):
        sched.cancel(Liar("job-9"))
    with pytest.raises(NotFound):
        sched.pause_queue(Liar("nowhere"))
    with pytest.raises(NotFound):
        sched.submit(hops=[HopRule(Liar("nowhere"), 1.0)])
    assert Liar("job-9") not in sched
    assert Plain("job-1") in sched
    assert sched.list_jobs(queue=Liar("nowhere")).jobs == ()
    assert sched.list_jobs(search=Liar("zzz")).jobs == ()
    assert fingerprint(sched) == before


def test_a_lying_dependency_names_no_other_job() -> None:
    sched = busy_scheduler()
    before = fingerprint(sched)
    with pytest.raises(NotFound) as info:
        sched.submit(after=[Liar("job-9")])
    assert str(info.value) == "after[0]: unknown job 'job-9'"
    message = refused(sched, lambda s: s.submit(after=[Dependency("job-1", Liar("never"))]))
    assert message == "after[0].on must be one of 'ok', 'any', 'failed', got 'never'"
    assert fingerprint(sched) == before
    job = sched.submit(
        after=[Dependency(Plain("job-1"), Plain("any"))], retry=Retry(on=(Plain("Oops"),))
    )
    assert [(type(d.job_id), type(d.on)) for d in job.after] == [(str, str)]
    assert job.retry is not None and [type(code) for code in job.retry.on] == [str]


def test_every_str_argument_is_stored_as_a_plain_str() -> None:
    sched = Scheduler(ManualClock(), id_prefix=Plain("run-"))
    sched.create_queue(Plain("other"), tags={Plain("Team"): Plain("a")})
    job = sched.submit(
        queue=Plain("other"),
        name=Plain("nightly"),
        description=Plain("transcode"),
        tags={Plain("Team"): Plain("b")},
        hops=[HopRule(Plain("default"), 9.0)],
        tasks=[Plain("a.wav"), Plain("b.wav")],
        report=Plain("all"),
    )
    sched.record_task(job.id, Plain("a.wav"), ok=False, error_code=Plain("E1"), message=Plain("m"))
    sched.fail(job.id, Plain("broken"), code=Plain("Broken"))
    snap = sched.get(job.id)
    report = sched.report(job.id)
    assert report is not None
    texts: list[object] = [
        snap.id,
        snap.name,
        snap.description,
        snap.submission_queue,
        snap.hops[0].queue,
        *snap.tags,
        *snap.tags.values(),
        *[
            text
            for task in sched.tasks(job.id)
            for text in (task.key, task.error_code, task.message)
        ],
        *[text for reason in snap.failure_reasons for text in (reason.code, reason.message)],
        *sched.task_keys(job.id),
        *[r.key for r in report.records],
        sched.list_queues()[-1].name,
    ]
    assert {type(text) for text in texts} == {str}
    queue_tags = sched.get_queue("other").tags
    assert {type(text) for pair in queue_tags.items() for text in pair} == {str}


def test_access_conditions_and_fair_share_settings_hold_plain_strs() -> None:
    condition = TagEquals(Plain("Team"), Plain("a"), on=Plain("request"))
    statement = Statement(Plain("allow"), [Plain("cancel")])
    principal = Principal(Plain("alice"), {Plain("team"): Plain("a")})
    assert {type(condition.key), type(condition.value), type(condition.on)} == {str}
    assert type(statement.effect) is str
    assert type(principal.name) is str
    assert [type(k) for k in principal.attributes] == [str]
    policy = FairSharePolicy(tag=Liar("Team"), weights={Liar("a"): 2})
    assert policy.tag == "Team" and type(policy.tag) is str


# ---------------------------------------------------------------------- continuation tokens


@pytest.mark.parametrize(
    ("token", "shown"),
    [
        ("after:\u00b2", "'after:²'"),
        ("after:\u0663", "'after:٣'"),
        ("after:", "'after:'"),
        ("after:-1", "'after:-1'"),
        ("after:" + "9" * 21, "'after:999999999999999999999'"),
        ("after:" + "1" * 5000, "'after:" + "1" * 93 + "... (5006 characters)"),
        (Liar("after:x"), "'after:x'"),
        (b"after:1", "b'after:1'"),
    ],
    ids=[
        "superscript",
        "arabic-indic",
        "empty",
        "negative",
        "21 digits",
        "5000 digits",
        "liar",
        "bytes",
    ],
)
def test_a_malformed_token_is_refused(token: object, shown: str) -> None:
    message = refused(busy_scheduler(), lambda s: s.list_jobs(token=token))  # type: ignore[arg-type]
    assert message == f"token is not a continuation token from list_jobs: {shown}"


# ---------------------------------------------------------------------- flags are bools

NOT_BOOLS = [("no", "str"), (None, "NoneType"), (1, "int"), (0.0, "float")]

FLAG_CALLS: list[tuple[str, Callable[[Scheduler, Any], object]]] = [
    ("deferred", lambda s, v: s.submit(deferred=v)),
    ("confirmation_required", lambda s, v: s.submit(confirmation_required=v)),
    ("preemptible", lambda s, v: s.submit(preemptible=v)),
    ("preemption", lambda s, v: s.create_queue("new", policy="priority", preemption=v)),
    ("ok", lambda s, v: s.record_task("job-1", "a", ok=v)),
]


@pytest.mark.parametrize(("value", "kind"), NOT_BOOLS)
@pytest.mark.parametrize(("field", "call"), FLAG_CALLS, ids=[case[0] for case in FLAG_CALLS])
def test_a_flag_that_is_not_a_bool_is_refused(
    field: str, call: Callable[[Scheduler, Any], object], value: object, kind: str
) -> None:
    message = refused(busy_scheduler(), lambda s: call(s, value))
    assert message == f"{field} must be a bool, got {kind}"


@pytest.mark.parametrize(("value", "kind"), [case for case in NOT_BOOLS if case[0] is not None])
def test_update_queue_takes_a_bool_or_none_for_preemption(value: Any, kind: str) -> None:
    sched = busy_scheduler()
    message = refused(sched, lambda s: s.update_queue("other", policy="priority", preemption=value))
    assert message == f"preemption must be a bool, got {kind}"
    sched.update_queue("other", policy="priority", preemption=None)  # None: leave it as it is


@pytest.mark.parametrize(("value", "kind"), NOT_BOOLS)
def test_a_setting_flag_that_is_not_a_bool_is_refused(value: object, kind: str) -> None:
    with pytest.raises(ValidationError) as info:
        Scheduler(ManualClock(), acknowledge=value)  # type: ignore[arg-type]
    assert str(info.value) == f"acknowledge must be a bool, got {kind}"
    sched = Scheduler(ManualClock())
    with pytest.raises(ValidationError):
        sched.acknowledge = value  # type: ignore[assignment]
    assert sched.acknowledge is False
    for make in (
        lambda: PriorityPolicy(preemption=value),  # type: ignore[arg-type]
        lambda: FairSharePolicy(tag="Team", preemption=value),  # type: ignore[arg-type]
    ):
        with pytest.raises(ValidationError) as info:
            make()
        assert str(info.value) == f"preemption must be a bool, got {kind}"
    with pytest.raises(ValidationError) as info:
        Simulation(Workload([]), check_invariants=value)  # type: ignore[arg-type]
    assert str(info.value) == f"check_invariants must be a bool, got {kind}"


# ---------------------------------------------------------------------- objects of the wrong kind


def test_a_clock_that_is_not_a_clock_instance_is_refused() -> None:
    with pytest.raises(ValidationError) as info:
        Scheduler(clock=time.time)  # type: ignore[arg-type]
    assert str(info.value) == (
        "clock must be a Clock (an object with a now() method), got builtin_function_or_method"
    )
    with pytest.raises(ValidationError) as info:
        Scheduler(clock=ManualClock)  # type: ignore[arg-type]
    assert str(info.value) == "clock must be a Clock instance, got the class ManualClock"


WRONG_KINDS: list[tuple[str, Callable[[Scheduler], object], str]] = [
    ("subscribe", lambda s: s.subscribe(42), "callback must be callable, got int"),  # type: ignore[arg-type]
    (
        "policy class",
        lambda s: s.create_queue("new", policy=PriorityPolicy),  # type: ignore[arg-type]
        "policy must be 'fifo', 'priority' or a Policy instance, got the class PriorityPolicy",
    ),
    (
        "policy class on update",
        lambda s: s.update_queue("other", policy=FifoPolicy),  # type: ignore[arg-type]
        "policy must be 'fifo', 'priority' or a Policy instance, got the class FifoPolicy",
    ),
    (
        "access policy",
        lambda s: setattr(s, "access_policy", [Statement.allow(Action.CREATE)]),
        "access_policy must be an AccessPolicy or None, got list",
    ),
]


@pytest.mark.parametrize(
    ("call", "message"),
    [case[1:] for case in WRONG_KINDS],
    ids=[case[0] for case in WRONG_KINDS],
)
def test_an_object_of_the_wrong_kind_is_refused_at_the_call(
    call: Callable[[Scheduler], object], message: str
) -> None:
    assert refused(busy_scheduler(), call) == message


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda: Scheduler(ManualClock(), id_prefix=bad(7)), "id_prefix must be a str, got int"),
        (
            lambda: Scheduler(ManualClock(), access_policy=bad("admin")),
            "access_policy must be an AccessPolicy or None, got str",
        ),
        (lambda: SQLiteStore(bad(3)), "path must be a str or an os.PathLike, got int"),
        (lambda: SQLiteStore(bad(b"jobs.db")), "path must be a str or an os.PathLike, got bytes"),
        (
            lambda: ThreadRuntime(thread_name_prefix=bad(1)),
            "thread_name_prefix must be a str, got int",
        ),
    ],
    ids=["id_prefix", "access_policy", "store path int", "store path bytes", "thread name"],
)
def test_a_setting_of_the_wrong_kind_is_refused(make: Callable[[], object], message: str) -> None:
    with pytest.raises(ValidationError) as info:
        make()
    assert str(info.value) == message


# ---------------------------------------------------------------------- waits


BAD_TIMEOUTS = [
    (math.nan, "timeout must be a finite number >= 0, got nan"),
    (-1.0, "timeout must be a finite number >= 0, got -1.0"),
    (math.inf, "timeout must be a finite number >= 0, got inf"),
    ("5", "timeout must be a number, got str"),
    (True, "timeout must be a number, got bool"),
]


@pytest.mark.runtime
@pytest.mark.usefixtures("no_thread_left_behind")
@pytest.mark.parametrize(("timeout", "message"), BAD_TIMEOUTS)
@pytest.mark.parametrize("kind", ["threads", "executor"])
def test_a_bad_timeout_is_refused_by_the_thread_runtimes(
    kind: str, timeout: object, message: str
) -> None:
    pool = ThreadPoolExecutor(1)
    runtime: ThreadRuntime | ExecutorRuntime
    with ThreadRuntime(max_workers=1) if kind == "threads" else ExecutorRuntime(pool) as runtime:
        if isinstance(runtime, ThreadRuntime):
            job = runtime.submit(job=lambda context: None, confirmation_required=True)
        else:
            job = runtime.submit(job=lambda: None, confirmation_required=True)
        before = fingerprint(runtime.scheduler)
        with pytest.raises(ValidationError) as info:
            runtime.wait(job.id, timeout=timeout)  # type: ignore[arg-type]
        assert str(info.value) == message
        assert fingerprint(runtime.scheduler) == before
        for bad in ("later", None):
            with pytest.raises(ValidationError):
                runtime.shutdown(wait=bad)  # type: ignore[arg-type]
        with pytest.raises(TimeoutError):
            runtime.wait(job.id, timeout=0)  # a zero wait looks once
        runtime.cancel(job.id)
        assert runtime.wait(job.id, timeout=1e300).status is JobStatus.CANCELLED
    pool.shutdown()


@pytest.mark.runtime
@pytest.mark.usefixtures("no_thread_left_behind")
def test_a_runtime_refuses_a_callback_that_cannot_be_called() -> None:
    async def work(context: AsyncJobContext) -> None:
        return None

    async def main() -> None:
        async with AsyncioRuntime() as runtime:
            handle = runtime.submit(job=work)
            with pytest.raises(ValidationError) as info:
                handle.add_done_callback(bad(42))
            assert str(info.value) == "fn must be callable, got int"
            await handle

    with ThreadRuntime(max_workers=1) as runtime:
        handle = runtime.submit(job=lambda context: None, confirmation_required=True)
        with pytest.raises(ValidationError) as info:
            runtime.subscribe(bad("print"))
        assert str(info.value) == "callback must be callable, got str"
        with pytest.raises(ValidationError) as info:
            handle.add_done_callback(bad(None))
        assert str(info.value) == "fn must be callable, got NoneType"
        runtime.cancel(handle.id)
    asyncio.run(main())


@pytest.mark.runtime
@pytest.mark.usefixtures("no_thread_left_behind")
def test_a_huge_finite_timeout_waits_for_the_job() -> None:
    release = threading.Event()
    with ThreadRuntime(max_workers=1) as runtime:
        job = runtime.submit(job=lambda context: release.wait(10.0))
        timer = threading.Timer(0.05, release.set)
        timer.start()
        # A lock refuses a wait of more than threading.TIMEOUT_MAX (OverflowError).
        assert runtime.wait(job.id, timeout=1e300).status is JobStatus.COMPLETE
        timer.join()


@pytest.mark.runtime
@pytest.mark.usefixtures("no_thread_left_behind")
@pytest.mark.parametrize(("timeout", "message"), BAD_TIMEOUTS)
def test_a_bad_timeout_is_refused_by_the_asyncio_runtime(timeout: object, message: str) -> None:
    async def main() -> None:
        async def work(context: object) -> None:
            return None

        async with AsyncioRuntime() as runtime:
            job = runtime.submit(job=work, confirmation_required=True)
            with pytest.raises(ValidationError) as info:
                await runtime.wait(job.id, timeout=timeout)  # type: ignore[arg-type]
            assert str(info.value) == message
            with pytest.raises(ValidationError):
                await runtime.shutdown(cancel="yes")  # type: ignore[arg-type]
            runtime.cancel(job.id)
            assert (await runtime.wait(job.id, timeout=1e300)).status is JobStatus.CANCELLED

    asyncio.run(main())


# ---------------------------------------------------------------------- the clock


class SettableClock:
    """A clock that reads whatever it is told to, junk included."""

    def __init__(self, value: object = 100.0) -> None:
        self.value = value

    def now(self) -> float:
        return self.value  # type: ignore[return-value]


def test_a_clock_that_steps_back_never_moves_the_scheduler_back() -> None:
    clock = SettableClock(100.0)
    sched = Scheduler(clock)
    events: list[Event] = []
    sched.subscribe(events.append)
    first = sched.submit(tasks=["a"])  # Active at 100
    clock.value = 200.0
    second = sched.submit()  # Active at 200
    clock.value = 50.0  # NTP stepped the wall clock back
    sched.record_task(first.id, "a", ok=True)
    sched.complete(first.id)
    sched.complete(second.id)
    clock.value = 260.0
    third = sched.submit()
    sched.complete(third.id)
    sched.check_invariants()
    for job_id, started, finished in (
        (first.id, 100.0, 200.0),
        (second.id, 200.0, 200.0),
        (third.id, 260.0, 260.0),
    ):
        job = sched.get(job_id)
        assert (job.started_at, job.finished_at) == (started, finished)
    times = [event.time for event in events]
    assert times == sorted(times)
    assert [row.seconds for row in sched.usage_report()] == [100.0]


JUNK_READINGS = [
    ("later", "clock reading must be a number, got str"),
    (None, "clock reading must be a number, got NoneType"),
    (True, "clock reading must be a number, got bool"),
    (math.nan, "clock reading must be a finite number, got nan"),
    (math.inf, "clock reading must be a finite number, got inf"),
    (HUGE, f"clock reading must be a finite number, got {HUGE_SHOWN}"),
]

CLOCK_READERS: list[tuple[str, Callable[[Scheduler], object]]] = [
    ("submit", lambda s: s.submit()),
    ("complete", lambda s: s.complete("job-1")),
    ("cancel", lambda s: s.cancel("job-2")),
    ("fail", lambda s: s.fail("job-1", "broken")),
    ("update_priority", lambda s: s.update_priority("job-2", 7)),
    ("record_task", lambda s: s.record_task("job-1", "a", ok=True)),
    ("put_tags", lambda s: s.put_tags("job-1", {"Team": "b"})),
    ("create_queue", lambda s: s.create_queue("new")),
    ("update_queue", lambda s: s.update_queue("other", slots=2)),
    ("pause_queue", lambda s: s.pause_queue("other")),
    ("delete_queue", lambda s: s.delete_queue("spare")),
    ("poll", lambda s: s.poll()),
]


@pytest.mark.parametrize(("reading", "message"), JUNK_READINGS, ids=[r[1] for r in JUNK_READINGS])
@pytest.mark.parametrize("call", [c[1] for c in CLOCK_READERS], ids=[c[0] for c in CLOCK_READERS])
def test_a_junk_clock_reading_is_refused_before_anything_changes(
    call: Callable[[Scheduler], object], reading: object, message: str
) -> None:
    clock = SettableClock(5.0)
    sched = Scheduler(clock)
    sched.create_queue("other", slots=1)
    sched.create_queue("spare")
    sched.submit(queue="other", tasks=["a", "b"], tags={"Team": "a"})
    sched.submit(queue="other", hops=[HopRule("default", 60.0)])
    clock.value = reading
    assert refused(sched, call) == message


def test_a_clock_may_read_an_int_or_a_float_subclass() -> None:
    class Seconds(float):
        def __repr__(self) -> str:
            return "a lie"

    clock = SettableClock(7)
    sched = Scheduler(clock)
    job = sched.submit()
    clock.value = Seconds(9.5)
    sched.complete(job.id)
    assert [type(t) for t, _ in sched.get(job.id).history] == [float] * 5
    assert sched.get(job.id).finished_at == 9.5


@pytest.mark.parametrize("thing", [[], {}, 42, None, b"job-1", Liar("job-9")])
def test_asking_whether_anything_but_a_job_id_is_in_the_scheduler_is_false(thing: object) -> None:
    sched = busy_scheduler()
    assert (thing in sched) is False
    assert "job-1" in sched


# ---------------------------------------------------------------------- reports and surrogates

# Two surrogates in a row are two code points, not the astral character
# "\U0001f600" whose UTF-16 pair they spell; a lone one is one code point.
ODD_TEXTS = [
    "\ud83d\ude00",
    "a\ud800b",
    "\udfff",
    "\U0001f600 and \ud83d\ude00",
    "caf\u00e9 \x7f \u2028",
]
# Text with any code point, surrogates included (st.text() leaves them out).
any_text = st.lists(st.integers(0xD800, 0xDFFF).map(chr) | st.characters(), max_size=6).map("".join)


def finished_report(tmp_path: Path, message: str) -> tuple[CompletionReport, Path]:
    """A report whose texts all hold ``message``, from a scheduler journaled to a store."""
    path = tmp_path / "jobs.db"
    store = SQLiteStore(path)
    sched = Scheduler.open(store, ManualClock(1.0))
    job = sched.submit(description=message, tags={"note": message}, tasks=["k"], report="all")
    sched.record_task(job.id, "k", ok=False, error_code=message, message=message)
    sched.fail(job.id, message, code=message)
    report = sched.report(job.id)
    assert report is not None
    store.close()
    return report, path


def code_points(text: str) -> list[int]:
    return [ord(c) for c in text]


@pytest.mark.parametrize("message", ODD_TEXTS)
def test_a_report_keeps_surrogates_through_json_csv_and_a_restart(
    tmp_path: Path, message: str
) -> None:
    report, db = finished_report(tmp_path, message)
    assert code_points(report.records[0].message) == code_points(message)
    again = CompletionReport.from_json(report.to_json())
    assert again == report
    assert code_points(again.records[0].message) == code_points(message)
    assert code_points(again.failure_reasons[-1].code) == code_points(message)
    report.write_json(tmp_path / "report.json")
    assert CompletionReport.read_json(tmp_path / "report.json") == report
    report.write_csv(tmp_path / "report.csv")
    assert CompletionReport.read_csv(tmp_path / "report.csv") == report.records
    store = SQLiteStore(db)
    recovered = Scheduler.open(store, ManualClock(2.0)).report(report.job_id)
    store.close()
    assert recovered == report
    assert recovered is not None
    assert code_points(recovered.description) == code_points(message)


@settings(max_examples=200)
@given(message=any_text)
def test_any_text_round_trips_through_a_report(message: str) -> None:
    record = TaskRecord(message, TaskStatus.FAILED, message, message)
    report = CompletionReport(
        job_id=message,
        name=message,
        description=message,
        submission_queue=message,
        priority=0,
        status=JobStatus.FAILED,
        scope=ReportScope.ALL,
        created_at=0.0,
        finished_at=1.0,
        tags={"k" + message: message},
        tasks_total=1,
        tasks_succeeded=0,
        tasks_failed=1,
        failure_reasons=[FailureReason(message, message)],
        records=[record],
    )
    text = report.to_json()
    assert CompletionReport.from_json(text) == report
    assert all(c.isascii() or 0xD800 <= ord(c) <= 0xDFFF for c in text)
    out = io.StringIO(newline="")
    report.write_csv(out)
    out.seek(0)
    assert CompletionReport.read_csv(out) == (record,)


def test_a_report_of_valid_text_is_written_as_before() -> None:
    report = CompletionReport.from_json(
        json.dumps(
            {
                "job_id": "job-1",
                "name": None,
                "description": "caf\u00e9 \U0001f600 \x7f",
                "submission_queue": "default",
                "priority": 0,
                "status": "Complete",
                "scope": "all",
                "created_at": 0.0,
                "finished_at": 1.0,
                "tags": {},
                "tasks_total": 0,
                "tasks_succeeded": 0,
                "tasks_failed": 0,
                "failure_reasons": [],
                "records": [],
            }
        )
    )
    assert report.description == "caf\u00e9 \U0001f600 \x7f"  # an older report still reads
    text = report.to_json()
    assert text == json.dumps(json.loads(text), indent=2)  # ASCII, escaped as JSON does
