"""Clocks: a manual clock that moves only when told and never backwards; wall time."""

from __future__ import annotations

import math
import re
import time

import pytest

from jobqueue import Clock, ManualClock, Scheduler, SystemClock, ValidationError


def test_manual_clock_starts_at_zero_by_default() -> None:
    assert ManualClock().now() == 0.0


def test_manual_clock_starts_where_told_as_a_float() -> None:
    clock = ManualClock(5)
    assert clock.now() == 5.0
    assert type(clock.now()) is float


def test_manual_clock_never_moves_by_itself() -> None:
    clock = ManualClock(3.0)
    readings = {clock.now() for _ in range(1000)}
    assert readings == {3.0}


def test_advance_moves_forward_by_exactly_that_much() -> None:
    clock = ManualClock()
    clock.advance(1.5)
    clock.advance(2)
    assert clock.now() == 3.5
    assert type(clock.now()) is float


def test_advance_by_zero_is_allowed_and_changes_nothing() -> None:
    clock = ManualClock(7.0)
    clock.advance(0)
    assert clock.now() == 7.0


def test_set_moves_to_a_later_time() -> None:
    clock = ManualClock(1.0)
    clock.set(10)
    assert clock.now() == 10.0


def test_set_to_the_current_time_is_allowed() -> None:
    clock = ManualClock(4.0)
    clock.set(4.0)
    assert clock.now() == 4.0


def test_set_earlier_is_refused_and_time_stays() -> None:
    clock = ManualClock(10.0)
    with pytest.raises(
        ValidationError, match=re.escape("clock cannot go backwards: t must be >= 10.0, got 9.5")
    ):
        clock.set(9.5)
    assert clock.now() == 10.0


def test_negative_advance_is_refused_and_time_stays() -> None:
    clock = ManualClock(10.0)
    with pytest.raises(ValidationError) as info:
        clock.advance(-0.25)
    assert str(info.value) == "seconds must be a finite number >= 0, got -0.25"
    assert clock.now() == 10.0


@pytest.mark.parametrize(
    ("value", "shown"),
    [(math.nan, "nan"), (math.inf, "inf"), (-math.inf, "-inf")],
    ids=["nan", "inf", "-inf"],
)
def test_non_finite_values_are_refused_everywhere(value: float, shown: str) -> None:
    clock = ManualClock(2.0)
    with pytest.raises(ValidationError) as info:
        clock.advance(value)
    assert str(info.value) == f"seconds must be a finite number >= 0, got {shown}"
    with pytest.raises(ValidationError) as info:
        clock.set(value)
    assert str(info.value) == f"t must be a finite number, got {shown}"
    with pytest.raises(ValidationError) as info:
        ManualClock(value)
    assert str(info.value) == f"start must be a finite number, got {shown}"
    assert clock.now() == 2.0


@pytest.mark.parametrize(
    ("value", "kind"), [(True, "bool"), (False, "bool"), ("1", "str"), (None, "NoneType")]
)
def test_non_numbers_including_bool_are_refused(value: object, kind: str) -> None:
    clock = ManualClock(2.0)
    with pytest.raises(ValidationError) as info:
        clock.advance(value)  # type: ignore[arg-type]
    assert str(info.value) == f"seconds must be a number, got {kind}"
    with pytest.raises(ValidationError) as info:
        clock.set(value)  # type: ignore[arg-type]
    assert str(info.value) == f"t must be a number, got {kind}"
    with pytest.raises(ValidationError) as info:
        ManualClock(value)  # type: ignore[arg-type]
    assert str(info.value) == f"start must be a number, got {kind}"
    assert clock.now() == 2.0


def test_clock_errors_are_value_errors() -> None:
    with pytest.raises(ValueError):
        ManualClock().advance(-1)


def test_manual_clock_repr_shows_its_time() -> None:
    clock = ManualClock()
    clock.advance(2.5)
    assert repr(clock) == "ManualClock(start=2.5)"


def test_both_clocks_satisfy_the_protocol() -> None:
    assert isinstance(ManualClock(), Clock)
    assert isinstance(SystemClock(), Clock)


def test_system_clock_is_wall_time() -> None:
    before = time.time()
    now = SystemClock().now()
    after = time.time()
    assert before <= now <= after
    assert repr(SystemClock()) == "SystemClock()"


def test_scheduler_reads_wall_time_unless_given_a_clock() -> None:
    assert isinstance(Scheduler().clock, SystemClock)
    clock = ManualClock()
    assert Scheduler(clock).clock is clock


def test_scheduler_stamps_events_with_its_clock_only() -> None:
    clock = ManualClock(100.0)
    sched = Scheduler(clock)
    job = sched.submit()
    clock.advance(25.0)
    job = sched.complete(job.id)
    assert [(c.time, c.status.value) for c in job.history] == [
        (100.0, "New"),
        (100.0, "Preparing"),
        (100.0, "Ready"),
        (100.0, "Active"),
        (125.0, "Complete"),
    ]
    assert (job.created_at, job.started_at, job.finished_at) == (100.0, 100.0, 125.0)
