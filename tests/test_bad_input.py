"""Bad input of every class is refused with a typed error, and changes nothing.

One section per class of bad input, each test covering every site of its
class: ints too large for a float, ``str`` subclasses that lie, flags that are
not bools, objects of the wrong kind, malformed continuation tokens, bad
waits, and junk from the clock. A refused call must leave the scheduler as it
was (``fingerprint`` before and after).
"""

from __future__ import annotations

import random
from collections.abc import Callable

import pytest
from helpers import fingerprint

from jobqueue import (
    HopRule,
    ManualClock,
    Scheduler,
    ValidationError,
)
from jobqueue._reports import CompletionReport
from jobqueue.policies import FairSharePolicy
from jobqueue.runtime import ThreadRuntime
from jobqueue.sim import JobSpec, QueueSpec, Workload, poisson_workload, simulate

HUGE = 10**400  # float(HUGE) raises OverflowError
HUGE_SHOWN = "an int of 1329 bits"


def busy_scheduler() -> Scheduler:
    """A scheduler with a running job, a waiting one and a second queue."""
    sched = Scheduler(ManualClock(5.0))
    sched.create_queue("other", slots=1)
    sched.submit(queue="other", name="running", tasks=["a", "b"], tags={"Team": "a"})
    sched.submit(queue="other", name="waiting", hops=[HopRule("default", 60.0)])
    return sched


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
