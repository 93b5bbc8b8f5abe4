"""Small things in ``jobqueue.testing``: the missing extra is named, ``check_policy`` keeps
no deadline unless one is set, and priorities come from the whole range."""

from __future__ import annotations

import importlib
import sys
from collections.abc import Iterator
from typing import Any

import hypothesis
import pytest
from hypothesis import Phase, find, settings

from jobqueue import PolicyJob
from jobqueue._validate import PRIORITY_MAX, PRIORITY_MIN
from jobqueue.policies import FifoPolicy
from jobqueue.testing import PropertyFailed, _check_policy, check_policy, priorities


def test_importing_jobqueue_testing_without_hypothesis_names_the_extra(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setitem(sys.modules, "hypothesis", None)
    for name in [m for m in sys.modules if m.startswith("jobqueue.testing")]:
        monkeypatch.delitem(sys.modules, name)
    with pytest.raises(ImportError) as info:
        importlib.import_module("jobqueue.testing")
    assert str(info.value) == "jobqueue.testing needs hypothesis: pip install 'jobqueue[testing]'"


@pytest.fixture
def profile_with_a_deadline() -> Iterator[None]:
    """Hypothesis' stock deadline in force, as in a project without a profile of its own."""
    previous = settings.get_current_profile_name()
    settings.register_profile("stock-deadline", deadline=200)
    settings.load_profile("stock-deadline")
    try:
        yield
    finally:
        settings.load_profile(previous)


def test_check_policy_keeps_no_deadline_unless_one_is_set(
    monkeypatch: pytest.MonkeyPatch, profile_with_a_deadline: None
) -> None:
    seen: list[hypothesis.settings] = []

    def run(machine: Any, settings: hypothesis.settings) -> None:
        seen.append(settings)

    monkeypatch.setattr(_check_policy, "run_state_machine_as_test", run)
    check_policy(FifoPolicy)
    check_policy(FifoPolicy, settings=settings(max_examples=500))
    check_policy(FifoPolicy, settings=settings(max_examples=7, deadline=1000))
    assert [(s.max_examples, s.deadline) for s in seen[1:]] == [
        (500, None),  # the inherited 200 ms is dropped
        (7, settings(deadline=1000).deadline),  # a chosen one is kept
    ]
    assert seen[0].deadline is None


def test_priorities_reach_the_edges_and_the_middle_of_the_range() -> None:
    for goal in (
        lambda p: p == PRIORITY_MAX,
        lambda p: p == PRIORITY_MIN,
        lambda p: 5 <= p <= 20,
        lambda p: -20 <= p <= -5,
        lambda p: 10**6 < p < PRIORITY_MAX - 1,
    ):
        find(priorities(), goal, settings=settings(max_examples=2000, database=None))
    assert find(priorities(10, 10**9), lambda p: True, settings=settings(database=None)) == 10


class ClampedPriority:
    """A priority policy with a bug from priority 5 up: it ranks them all as 4."""

    name = "clamped-priority"
    order = "priority"

    def __init__(self) -> None:
        self._line: dict[int, PolicyJob] = {}

    def _key(self, job: PolicyJob) -> tuple[int, int]:
        return (-min(job.priority, 4), job.seq)

    def add(self, job: PolicyJob) -> None:
        self._line[job.seq] = job

    def discard(self, job: PolicyJob) -> None:
        self._line.pop(job.seq, None)

    def started(self, job: PolicyJob) -> None:
        pass

    def stopped(self, job: PolicyJob) -> None:
        pass

    def reprioritize(self, job: PolicyJob, old_priority: int) -> None:
        pass

    def peek(self) -> PolicyJob | None:
        return min(self._line.values(), key=self._key) if self._line else None

    def waiting(self) -> Iterator[PolicyJob]:
        return iter(sorted(self._line.values(), key=self._key))

    def victims(self) -> Iterator[PolicyJob]:
        return iter(())

    def __len__(self) -> int:
        return len(self._line)


@pytest.mark.slow  # a few hundred state-machine runs
def test_the_harness_finds_a_bug_at_high_priorities() -> None:
    # Before, the harness drew -3..3 and passed such a policy on 300 examples.
    with pytest.raises(PropertyFailed, match="priority"):
        check_policy(
            ClampedPriority,
            slots=1,
            # Finding it is what counts here; shrinking a state machine takes minutes.
            settings=settings(
                max_examples=300, database=None, derandomize=True, phases=[Phase.generate]
            ),
        )
