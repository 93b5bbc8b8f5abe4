"""Strategies the running state machine builds: a rule's arguments drawn from its state.

A hypothesis rule's arguments are strategies fixed when the class is defined;
``PolicyStateMachine`` draws many of them from the running machine instead,
through ``st.runner()``: ``from_machine`` (a strategy one of its methods
builds, once per machine class unless it depends on the state), ``job_in`` (a
job id, preferably one of a job in the given statuses) and ``setting`` (a
subclass's fixed setting, or a default strategy). ``BUILT`` caches the
strategies built once per machine class; ``same`` and ``moved_to`` help build
submissions.
"""

from __future__ import annotations

import weakref
from typing import TYPE_CHECKING, Any

import attrs
from hypothesis import strategies as st

from .._states import JobStatus
from ._values import Submission

if TYPE_CHECKING:
    from ._machine import PolicyStateMachine

__all__ = ["BUILT", "from_machine", "job_in", "moved_to", "same", "setting"]


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
