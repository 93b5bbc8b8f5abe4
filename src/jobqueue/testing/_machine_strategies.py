"""Strategies the running state machine builds: a rule's arguments drawn from its state.

A hypothesis rule's arguments are strategies fixed when the class is defined;
``PolicyStateMachine`` draws many of them from the running machine instead,
through ``st.runner()``: ``from_machine`` (a strategy one of its methods
builds, once per machine class unless it depends on the state), ``job_in`` (a
job id, preferably one of a job in the given statuses) and ``setting`` (a
subclass's fixed setting, or a default strategy). ``BUILT`` caches the
strategies built once per machine class; ``same``, ``moved_to``,
``rarely``, ``CONTROL_SETS`` and ``with_controls`` help build submissions.
"""

from __future__ import annotations

import weakref
from typing import TYPE_CHECKING, Any, Final

import attrs
from hypothesis import strategies as st

from .._controls import Aging, Retry
from .._states import JobStatus
from ._strategies import dependencies
from ._values import FromNow, Prior, Submission

if TYPE_CHECKING:
    from ._machine import PolicyStateMachine

__all__ = [
    "AGINGS",
    "BUILT",
    "CONTROL_SETS",
    "ControlSet",
    "from_machine",
    "job_in",
    "moved_to",
    "rarely",
    "same",
    "setting",
    "with_controls",
]


# Strategies that do not depend on the state are built once per machine class:
# building a strategy costs far more than drawing from it.
BUILT: weakref.WeakKeyDictionary[type, dict[str, st.SearchStrategy[Any]]] = (
    weakref.WeakKeyDictionary()
)


class _MachineStrategy:
    """``flatmap`` target: the strategy the running machine's ``method`` returns."""

    def __init__(self, method: str, *, per_state: bool = False) -> None:
        self.method = method
        self.per_state = per_state

    def __call__(self, machine: PolicyStateMachine) -> st.SearchStrategy[Any]:
        if self.per_state:
            return getattr(machine, self.method)()  # type: ignore[no-any-return]
        built = BUILT.setdefault(type(machine), {})
        strategy = built.get(self.method)
        if strategy is None:
            strategy = built[self.method] = getattr(machine, self.method)()
        return strategy

    def __repr__(self) -> str:
        return f"machine.{self.method}()"


class _JobChoice:
    """``flatmap`` target: a job id, half the time one of a job in ``statuses`` (if any)."""

    def __init__(self, statuses: tuple[JobStatus, ...]) -> None:
        self.statuses = statuses

    def __call__(self, machine: PolicyStateMachine) -> st.SearchStrategy[str]:
        return machine._job_choice(self.statuses)

    def __repr__(self) -> str:
        return f"a job, preferably {'/'.join(self.statuses)}"


class _Setting:
    """``flatmap`` target: the subclass's fixed setting if it sets one, else ``default``."""

    def __init__(self, name: str, default: st.SearchStrategy[Any]) -> None:
        self.name = name
        self.default = default

    def __call__(self, machine: PolicyStateMachine) -> st.SearchStrategy[Any]:
        fixed = getattr(type(machine), self.name)
        return self.default if fixed is None else st.just(fixed)

    def __repr__(self) -> str:
        return f"setting {self.name}"


def same(strategy: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    """``flatmap`` target: ``strategy`` itself (to draw from a strategy drawn first)."""
    return strategy


def rarely(strategy: st.SearchStrategy[Any], plain: Any, odds: int) -> st.SearchStrategy[Any]:
    """``plain`` ``odds`` times in ``odds + 1``, else a value of ``strategy``.

    Shrinks to ``plain``.
    """
    return st.sampled_from([st.just(plain)] * odds + [strategy]).flatmap(same)


@attrs.frozen
class ControlSet:
    """The job controls of one submission (each ``None`` or ``()`` when unused)."""

    not_before: FromNow | None = None
    after: tuple[Prior, ...] = ()
    max_run: float | None = None
    max_wait: float | None = None
    retry: Retry | None = None


# Times and limits on the scale of the machine's clock steps (10 s to 1000 s);
# backoffs short enough that a retried job runs again within a run.
CONTROL_SETS: st.SearchStrategy[ControlSet] = st.builds(
    ControlSet,
    rarely(st.sampled_from([FromNow(10.0), FromNow(60.0), FromNow(300.0)]), None, 1),
    rarely(dependencies(2, min_size=1, back=3), (), 1),
    rarely(st.sampled_from([30.0, 100.0, 600.0]), None, 1),
    rarely(st.sampled_from([60.0, 300.0, 1_000.0]), None, 1),
    rarely(
        st.builds(
            Retry,
            attempts=st.integers(1, 3),
            backoff=st.sampled_from([0.0, 5.0, 30.0]),
            factor=st.just(2.0),
            max_backoff=st.just(60.0),
            jitter=st.sampled_from([0.0, 0.5, 1.0]),
        ),
        None,
        1,
    ),
)


def with_controls(drawn: tuple[Submission, ControlSet | None]) -> Submission:
    """``map`` target: the submission with the controls drawn for it (holds only if deferred)."""
    spec, controls = drawn
    if controls is None:
        return spec
    held = spec.deferred  # a non-deferred job refuses not_before and after
    return attrs.evolve(
        spec,
        not_before=controls.not_before if held else None,
        after=controls.after if held else (),
        max_run=controls.max_run,
        max_wait=controls.max_wait,
        retry=controls.retry,
    )


def moved_to(queue: str, spec: Submission) -> Submission:
    """``spec`` submitted to ``queue`` instead, without hop rules that became invalid."""
    if spec.queue == queue:
        return spec
    hops = () if spec.hops and spec.hops[0].queue == queue else spec.hops
    return attrs.evolve(spec, queue=queue, hops=hops)


def from_machine(method: str, *, per_state: bool = False) -> st.SearchStrategy[Any]:
    """A strategy that the running machine builds (from its state, if ``per_state``)."""
    return st.runner().flatmap(_MachineStrategy(method, per_state=per_state))


def job_in(*statuses: JobStatus) -> st.SearchStrategy[str]:
    """A job id, half the time one of a job in ``statuses`` (if any)."""
    return st.runner().flatmap(_JobChoice(statuses))


def setting(name: str, default: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    """The machine class's fixed setting ``name`` if it sets one, else ``default``."""
    return st.runner().flatmap(_Setting(name, default))


# Small, so that aging changes the order of priorities -2..2 within a run.
AGINGS: Final = st.builds(
    Aging,
    every=st.sampled_from([10.0, 60.0, 300.0]),
    step=st.integers(1, 2),
    cap=st.integers(1, 3),
)
