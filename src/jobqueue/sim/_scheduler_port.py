"""The port into the scheduler core: the driver's only way in, and the events' way back.

``SchedulerPort`` creates the run's ``ManualClock`` and ``Scheduler``, makes
the workload's queues, and submits, completes and records tasks through the
core's in-package fast path (``core_of``). It turns the scheduler's transitions
and hops into the four callbacks of a ``Sink`` (the driver), naming jobs by
their workload index.
"""

from __future__ import annotations

from typing import Final, Protocol

from .._clock import ManualClock
from .._core import core_of
from .._core.records import JobRecord
from .._errors import LimitExceededError
from .._model import Acceleration
from .._scheduler import Scheduler
from .._states import JobStatus
from ._workload import JobSpec, QueueActionKind, Workload

__all__ = ["SchedulerPort", "Sink"]

_TASK_ERROR: Final = "SimulatedFailure"


class Sink(Protocol):
    """What the port reports to: the driver's callbacks, jobs named by workload index."""

    def started(self, i: int, t: float) -> None: ...

    def paused(self, i: int, t: float) -> None: ...

    def finished(self, i: int, t: float, failed: bool) -> None: ...

    def hopped(self, i: int, t: float, source: str, destination: str) -> None: ...


class SchedulerPort:
    """The driver's only way into the scheduler, and the scheduler's only way back.

    Jobs are named by their workload index on this side. The port uses the
    core's in-package fast path (``core_of(scheduler)``): the core's ``submit``
    and ``complete`` skip the snapshots the public methods return, and the
    outbox's ``watch``/``hop_watch`` hooks report transitions and hops without
    building event objects. The same validation and state machine run as for
    every other caller.
    """

    __slots__ = ("_core", "_index", "_recs", "_sink", "_submitting", "clock", "ids", "scheduler")

    def __init__(self, workload: Workload, sink: Sink) -> None:
        self.clock = ManualClock()
        self.scheduler = Scheduler(self.clock)
        self.ids: list[str | None] = [None] * len(workload.jobs)
        self._recs: list[JobRecord | None] = [None] * len(workload.jobs)
        self._index: dict[JobRecord, int] = {}  # unfinished jobs only
        self._sink = sink
        self._submitting = -1
        for q in workload.queues:
            # The built-in default queue exists already: reconfigure it instead.
            configure = (
                self.scheduler.update_queue if q.name == "default" else self.scheduler.create_queue
            )
            configure(
                q.name,
                slots=q.slots,
                policy=q.policy,
                preemption=q.preemption,
                deferred_share=q.deferred_share,
                max_waiting=q.max_waiting,
                pricing=q.pricing,
                tags=q.tags,
            )
        self._core = core = core_of(self.scheduler)
        core.outbox.watch.update(
            {
                _PREPARING: self._on_submitted,
                _ACTIVE: self._on_started,
                _PAUSING: self._on_paused,
                _COMPLETE: self._on_completed,
                _FAILED: self._on_failed,
            }
        )
        core.outbox.hop_watch = self._on_hop

    def set_time(self, t: float) -> None:
        self.clock.set(t)

    def submit(self, i: int, spec: JobSpec) -> bool:
        """Submit job ``i``; False if the scheduler refused it with a limit error."""
        self._submitting = i
        try:
            rec = self._core.submit(
                spec.queue,
                spec.priority,
                spec.deferred,
                spec.name,
                "",  # description
                spec.tags or None,
                spec.hops,
                spec.tasks or None,
                False,  # confirmation_required
                None,  # report
                spec.preemptible,
                Acceleration.DISABLED,
                spec.billing_tags_source,
                None,  # principal
            )
        except LimitExceededError:
            return False
        self.ids[i] = rec.id
        self._recs[i] = rec
        return True

    def complete(self, i: int) -> None:
        rec = self._recs[i]
        assert rec is not None
        self._core.complete(rec)

    def record_task(self, i: int, key: str, ok: bool) -> None:
        job_id = self.ids[i]
        assert job_id is not None
        self.scheduler.record_task(
            job_id,
            key,
            ok=ok,
            error_code="" if ok else _TASK_ERROR,
            message="" if ok else "simulated task failure",
        )

    def queue_action(self, queue: str, action: QueueActionKind) -> None:
        if action is QueueActionKind.PAUSE:
            self.scheduler.pause_queue(queue)
        else:
            self.scheduler.resume_queue(queue)

    def next_deadline(self) -> float | None:
        return self.scheduler.next_deadline()

    def poll(self) -> None:
        self.scheduler.poll()

    def check_invariants(self) -> None:
        self.scheduler.check_invariants()

    def _on_submitted(self, rec: JobRecord, now: float) -> None:
        self._index[rec] = self._submitting

    def _on_started(self, rec: JobRecord, now: float) -> None:
        self._sink.started(self._index[rec], now)

    def _on_paused(self, rec: JobRecord, now: float) -> None:
        self._sink.paused(self._index[rec], now)

    def _on_completed(self, rec: JobRecord, now: float) -> None:
        self._sink.finished(self._index.pop(rec), now, False)

    def _on_failed(self, rec: JobRecord, now: float) -> None:
        self._sink.finished(self._index.pop(rec), now, True)

    def _on_hop(self, rec: JobRecord, source: str, destination: str, now: float) -> None:
        self._sink.hopped(self._index[rec], now, source, destination)


_ACTIVE: Final = JobStatus.ACTIVE
_PREPARING: Final = JobStatus.PREPARING
_PAUSING: Final = JobStatus.PAUSING
_COMPLETE: Final = JobStatus.COMPLETE
_FAILED: Final = JobStatus.FAILED
