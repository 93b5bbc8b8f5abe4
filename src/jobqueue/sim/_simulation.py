"""The public entry points of a simulation run: ``Simulation`` and ``simulate``."""

from __future__ import annotations

import math

from .._clock import ManualClock
from .._errors import ConflictError
from .._scheduler import Scheduler
from .._validate import check_bool, check_number
from ._driver import Driver
from ._result import SimResult
from ._workload import Workload

__all__ = ["Simulation", "simulate"]


class Simulation:
    """One run of a workload through a fresh ``Scheduler`` on a ``ManualClock``.

    >>> from jobqueue.sim import JobSpec, QueueSpec, Workload
    >>> w = Workload([JobSpec(0.0, 5.0), JobSpec(1.0, 2.0)], [QueueSpec("default", slots=1)])
    >>> result = Simulation(w).run()
    >>> [(j.first_start, j.finish) for j in result.jobs]
    [(0.0, 5.0), (5.0, 7.0)]

    Args:
        workload: what to run.
        seed: seeds the task outcomes (``random.Random(seed)``) and, in a
            stream of its own, the scheduler's retry jitter; the workload
            itself is already fixed.
        record_segments: keep every stretch of slot use in the result (for
            timelines; costs memory on big runs).
        check_invariants: call ``Scheduler.check_invariants()`` after every
            event (slow; for tests).

    Raises:
        TypeError: ``workload`` is not a ``Workload``.
        ValidationError: a flag is not a bool.
    """

    __slots__ = ("_driver", "_ran")

    def __init__(
        self,
        workload: Workload,
        *,
        seed: int = 0,
        record_segments: bool = False,
        check_invariants: bool = False,
    ) -> None:
        if not isinstance(workload, Workload):
            raise TypeError(f"workload must be a Workload, got {type(workload).__name__}")
        self._driver = Driver(
            workload,
            seed,
            check_bool("record_segments", record_segments),
            check_bool("check_invariants", check_invariants),
        )
        self._ran = False

    @property
    def scheduler(self) -> Scheduler:
        """The scheduler the workload runs through (inspect it after ``run()``).

        It keeps every finished job (its retention outlasts any run), so that
        a job may depend on any earlier one.
        """
        return self._driver.port.scheduler

    @property
    def clock(self) -> ManualClock:
        """The virtual clock."""
        return self._driver.port.clock

    def job_id(self, index: int) -> str | None:
        """The scheduler id of workload job ``index`` (``None`` until submitted, or if rejected)."""
        return self._driver.port.ids[index]

    def run(self, until: float | None = None) -> SimResult:
        """Run the workload to the end (or to time ``until``) and return the result.

        The run ends when no job runs, no arrival or queue action is left and
        no job waits for a timer of its controls (a start time, a retry's
        backoff, a wait limit); jobs still waiting in a paused queue, or held
        by a dependency that never ends, stay unfinished. Or it ends before
        the first event later than ``until``.

        Raises:
            ConflictError: this simulation already ran, or jobs were submitted
                to its scheduler directly (the run names jobs by workload index).
            ValidationError: ``until`` is not ``None`` or a finite number.
        """
        end = math.inf if until is None else check_number("until", until)
        if self._ran:
            raise ConflictError("this simulation already ran: create a new Simulation")
        self._ran = True
        return self._driver.run(end)


def simulate(
    workload: Workload,
    *,
    seed: int = 0,
    until: float | None = None,
    record_segments: bool = False,
    check_invariants: bool = False,
) -> SimResult:
    """Run ``workload`` through a fresh scheduler on virtual time; see ``Simulation``.

    >>> from jobqueue.sim import JobSpec, QueueSpec, Workload
    >>> w = Workload([JobSpec(0.0, 5.0), JobSpec(1.0, 2.0)], [QueueSpec("default", slots=1)])
    >>> simulate(w).queue("default").wait_max
    4.0
    """
    return Simulation(
        workload,
        seed=seed,
        record_segments=record_segments,
        check_invariants=check_invariants,
    ).run(until)
