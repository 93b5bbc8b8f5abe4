"""The runtime's record of one job's work: its mode, its lanes, what is in flight.

``Work`` holds what the engine knows about one job submitted through a
runtime: its task or job function, its manifest and the keys still to run, the
lanes in flight, whether its job function is running or parked at a
checkpoint, and the state of its merged progress updates. ``Mode`` says what
the runtime is doing with that work; a ``Lane`` is one unit of a job's task
concurrency; a ``CallOutcome`` is what a call that ran elsewhere reports. The
engine (``_engine``) changes these records; the backends read them while they
run the work.
"""

from __future__ import annotations

import enum
import math
from collections import deque
from collections.abc import Callable
from typing import Any

import attrs

from .._controls import Retry
from .._states import JobStatus
from .._tasks import FailureReason
from ._submission import Manifest

__all__ = ["After", "CallOutcome", "Lane", "Mode", "Work"]


class Mode(enum.Enum):
    """What the runtime is doing with a job's work."""

    IDLE = "idle"  # not started yet
    RUN = "run"  # dispatching
    PAUSE = "pause"  # Pausing: no new work; acknowledge when nothing is in flight
    PAUSED = "paused"
    CANCEL = "cancel"
    FAIL = "fail"
    DONE = "done"  # the job is finished
    STOP = "stop"  # the runtime shut down while the job was paused


class After(enum.Enum):
    """What a lane does after the call it reports (see ``CallOutcome``)."""

    STOPS = "stops"  # none of its calls is in flight: the engine decides what it runs next
    CHAINED = "chained"  # its next call, for the key taken ahead, was submitted at once
    REFUSED = "refused"  # the executor refused that next call (the key did not start)


@attrs.define(eq=False, slots=True)
class Lane:
    """One unit of task concurrency: the key it holds and its backend handle."""

    key: str
    handle: object = None
    turn: int = 0  # which key it holds, for its timeout (``TaskTimers.watch``)
    abandoned: bool = False  # it ran out of time: what it reports later is ignored
    #: A pipelined lane's key taken ahead (at most one), which the worker that
    #: runs the lane's call submits as soon as the call ends; None for a lane
    #: that is not pipelined. Whoever pops the key first (that worker, or the
    #: engine taking it back) owns it.
    ahead: deque[str] | None = None


@attrs.define(eq=False, slots=True)
class Work:
    """The runtime's side of one job."""

    job_id: str
    task_fn: Callable[[str], object] | None
    job_fn: Callable[..., object] | None
    concurrency: int
    manifest: Manifest
    on_result: Callable[[str, Any], object] | None = None
    status: JobStatus = JobStatus.NEW
    mode: Mode = Mode.IDLE
    started: bool = False  # the keys to run are known
    next_index: int = 0
    returned: deque[str] = attrs.field(factory=deque)  # keys to run before next_index
    lanes: set[Lane] = attrs.field(factory=set)
    fn_handle: object = None
    fn_running: bool = False  # the job function is in flight and not parked
    fn_returned: bool = False
    parked: bool = False  # the job function waits at a checkpoint while its job is Paused
    wake: object = None  # the backend's handle to wake a parked job function
    fail_reason: FailureReason | None = None
    done: int = 0  # tasks recorded
    p_time: float = -math.inf  # when the last Progress was sent
    p_fraction: float = -1.0
    p_pending: float | None = None
    p_scheduled: bool = False
    #: The job's handle (``JobFuture``, ``AsyncJobFuture``), resolved when the job finishes.
    handle: Any = None
    allow_task_failures: bool = False
    value: object = None  # what the job function returned
    exc: BaseException | None = None  # what the job function raised
    results: dict[str, object] | None = None  # succeeded tasks' return values, by key
    errors: dict[str, BaseException] | None = None  # failed tasks' exceptions, by key
    task_retry: Retry | None = None
    task_timeout: float | None = None
    attempts: dict[str, int] | None = None  # failed attempts of tasks that will run again
    delayed: int = 0  # keys waiting out a retry backoff
    generation: int = 0  # the job's attempt, as far as this work knows (job-level retries)

    @property
    def dispatching(self) -> bool:
        """Whether the work may run (its mode is RUN); read without the runtime's lock."""
        return self.mode is Mode.RUN


#: A call that ran elsewhere: (its work, its lane or None for the job
#: function, the key it ran ("" for the job function), what it raised or
#: None, what it returned, what its lane does next). For ``After.REFUSED`` the
#: key is the one whose call the executor refused, and the exception why.
CallOutcome = tuple[Work, Lane | None, str, BaseException | None, object, After]
