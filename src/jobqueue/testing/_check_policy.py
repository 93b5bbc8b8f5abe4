"""``check_policy``: run the stateful harness on a policy inside a test function.

It builds a ``PolicyStateMachine`` subclass from its arguments and runs it with
hypothesis' ``run_state_machine_as_test``, by default with the active
profile's settings minus the deadline and the slow "explain" phase.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import hypothesis
from hypothesis.stateful import run_state_machine_as_test

from .._scheduler import Scheduler
from ..policies import Policy
from ._machine import PolicyStateMachine

__all__ = ["check_policy"]


def check_policy(
    factory: Callable[[], Policy],
    *,
    acknowledge: bool | None = None,
    slots: int | None = None,
    deferred_share: float | None = None,
    max_waiting: int | None = None,
    properties: Sequence[Callable[[Scheduler], None]] = (),
    tag_keys: Sequence[str] | None = None,
    job_controls: bool = True,
    settings: hypothesis.settings | None = None,
) -> None:
    """Run ``PolicyStateMachine`` on the policy ``factory`` makes; raise if a property breaks.

    Call it inside a test function::

        def test_my_policy() -> None:
            check_policy(MyPolicy)

    Args:
        factory: returns a fresh policy instance on each call (e.g. the class).
        acknowledge: fix the acknowledgement mode (both are drawn by default).
        slots: fix each queue's slots.
        deferred_share: fix each queue's deferred share.
        max_waiting: fix each queue's waiting cap.
        properties: extra checks, called with the scheduler after every step.
        tag_keys: tag keys the jobs draw from (e.g. the tag your policy groups by).
        job_controls: whether some jobs carry job controls (start times,
            dependencies, limits, retries); on by default.
        settings: hypothesis settings; by default the active profile's, without
            a deadline (as for hypothesis' own state-machine ``TestCase``),
            without the slow "explain" phase, and reporting one failure only.
            Settings you pass keep no deadline either, unless you set one: a
            ``deadline`` that differs from the active profile's (a run of
            steps takes as long as it takes, and ``settings(max_examples=500)``
            would otherwise bring back Hypothesis' 200 ms).

    Raises:
        PropertyFailed: a property broke; the message names it, and hypothesis
            prints the shortest sequence of steps it found that breaks it.
    """
    name = getattr(factory, "__name__", type(factory).__name__)
    attributes: dict[str, Any] = {
        "policy_factory": staticmethod(factory),
        "acknowledge": acknowledge,
        "slots": slots,
        "deferred_share": deferred_share,
        "max_waiting": max_waiting,
        "properties": tuple(properties),
        "job_controls": job_controls,
        "__module__": __name__,
        "__doc__": f"Checks the policy made by {name}.",
    }
    if tag_keys is not None:
        attributes["tag_keys"] = tuple(tag_keys)
    machine = type(f"Check{name}", (PolicyStateMachine,), attributes)
    if settings is None:
        profile = hypothesis.settings()  # the active profile's settings
        settings = hypothesis.settings(
            profile,
            deadline=None,
            report_multiple_bugs=False,
            phases=[phase for phase in profile.phases if phase is not hypothesis.Phase.explain],
        )
    elif settings.deadline == hypothesis.settings().deadline:
        settings = hypothesis.settings(settings, deadline=None)  # inherited, not chosen
    run_state_machine_as_test(machine, settings=settings)
