"""The error hierarchy: one base class, each error also the fitting built-in."""

from __future__ import annotations

import pytest

import jobqueue
from jobqueue import (
    AccessDenied,
    ConflictError,
    InvalidTransition,
    InvariantViolation,
    JobQueueError,
    JobStatus,
    LimitExceededError,
    ManualClock,
    NotFound,
    Scheduler,
    ValidationError,
)

HIERARCHY: list[tuple[type[JobQueueError], type[Exception]]] = [
    (ValidationError, ValueError),
    (NotFound, KeyError),
    (ConflictError, ValueError),
    (LimitExceededError, RuntimeError),
    (InvalidTransition, RuntimeError),
    (AccessDenied, PermissionError),
    (InvariantViolation, AssertionError),
]


@pytest.mark.parametrize(("cls", "builtin"), HIERARCHY, ids=lambda c: c.__name__)
def test_every_error_is_a_jobqueue_error_and_its_builtin(
    cls: type[JobQueueError], builtin: type[Exception]
) -> None:
    assert issubclass(cls, JobQueueError)
    assert issubclass(cls, builtin)


def test_base_is_an_exception_and_not_a_builtin_family() -> None:
    assert issubclass(JobQueueError, Exception)
    for family in (ValueError, KeyError, RuntimeError, PermissionError, AssertionError):
        assert not issubclass(JobQueueError, family)


def test_every_error_is_public() -> None:
    public = {name for name in jobqueue.__all__ if name.endswith(("Error", "Denied"))}
    public |= {"NotFound", "InvalidTransition", "InvariantViolation"}
    for cls, _ in HIERARCHY:
        assert cls.__name__ in public
        assert getattr(jobqueue, cls.__name__) is cls
    assert "JobQueueError" in jobqueue.__all__


def test_not_found_str_has_no_stray_quotes() -> None:
    err = NotFound("unknown job 'job-9'")
    assert str(err) == "unknown job 'job-9'"
    assert str(NotFound()) == ""
    # KeyError alone would print "\"unknown job 'job-9'\"".
    assert str(KeyError("unknown job 'job-9'")) != str(err)


def test_scheduler_not_found_reads_cleanly_and_is_caught_as_key_error() -> None:
    sched = Scheduler(ManualClock())
    with pytest.raises(KeyError) as info:
        sched.get("job-9")
    assert type(info.value) is NotFound
    assert str(info.value) == "unknown job 'job-9'"
    with pytest.raises(KeyError) as info:
        sched.get_queue("nope")
    assert str(info.value) == "unknown queue 'nope'"


def test_invalid_transition_carries_job_and_both_statuses() -> None:
    err = InvalidTransition("job-3", JobStatus.COMPLETE, JobStatus.ACTIVE)
    assert str(err) == "job 'job-3' cannot go from Complete to Active"
    assert (err.job_id, err.current, err.requested) == (
        "job-3",
        JobStatus.COMPLETE,
        JobStatus.ACTIVE,
    )


def test_access_denied_carries_the_action() -> None:
    err = AccessDenied("cancel", "access denied")
    assert err.action == "cancel"
    assert str(err) == "access denied"


def test_scheduler_errors_are_caught_as_their_builtins() -> None:
    sched = Scheduler(ManualClock())
    sched.create_queue("one", slots=1)
    job = sched.submit(queue="one", name="a").id
    with pytest.raises(ValueError):  # ValidationError
        sched.submit(priority=True)
    with pytest.raises(ValueError):  # ConflictError
        sched.submit(name="a")
    with pytest.raises(RuntimeError):  # LimitExceededError
        sched.submit(queue="one", deferred=False)
    with pytest.raises(RuntimeError):  # InvalidTransition
        sched.confirm(job)
    with pytest.raises(JobQueueError):
        sched.cancelled(job)
