"""The port into the scheduler core: the driver's only way in, and the events' way back.

``SchedulerPort`` creates the run's ``ManualClock`` and ``Scheduler``, makes
the workload's queues, and submits, completes, fails and records tasks
through the core's in-package fast path (``core_of``). It turns the
scheduler's transitions and hops into the callbacks of a ``Sink`` (the
driver), naming jobs by their workload index.

Jobs with controls need more of both: their dependencies are passed as the
ids the scheduler gave the jobs named, and a transition into Pausing is a
preemption or a retry, a start the resumption of an attempt or a new one.
The hooks that tell these apart (``_on_started_controlled``,
``_on_paused_controlled``) are installed only for a workload that uses
controls, and for a job without them they cost one ``is None`` test.

A workload with no controls, tasks, hop rules or queue actions runs on the
driver's lean loop (``lean=True``): its jobs are created through ``Core.create`` (the
``JobSpec`` checked them when it was built), a start is recorded in the
``starts`` dict by the dict's own ``__setitem__`` -- no Python-level call --
and drained by the driver after each call in, and completions, which only
the driver asks for, are accounted by the driver itself. The few hooks left
(a pause, a failure) drain the starts recorded before them first, so the
driver sees every move in the order it happened.
"""

from __future__ import annotations

import math
import random
import sys
from array import array
from typing import Final, Protocol

from .._clock import ManualClock
from .._controls import Dependency
from .._core import control, core_of
from .._core.records import NO_TAGS, JobRecord
from .._errors import ConflictError, LimitExceededError
from .._model import Acceleration
from .._scheduler import Scheduler
from .._states import TERMINAL, JobStatus
from .._tasks import TaskStatus
from ._workload import JobSpec, QueueActionKind, Workload

__all__ = ["SchedulerPort", "Sink"]

_TASK_ERROR: Final = "SimulatedFailure"
_WORK_ERROR: Final = "JobFailed"  # the code of a plain Scheduler.fail(), which retries cover
# A run keeps every finished job, so that a dependency may name any earlier
# job however long ago it ended (a purged one could not be named), and the
# scheduler can be inspected after the run.
_KEEP_ALL: Final = sys.float_info.max


class Sink(Protocol):
    """What the port reports to: the driver's callbacks, jobs named by workload index."""

    def started(self, i: int, t: float) -> None:
        """Job ``i`` took a slot (Active): its work runs."""

    def paused(self, i: int, t: float) -> None:
        """Job ``i`` was preempted (Pausing): its work stops, keeping what is left."""

    def finished(self, i: int, t: float, failed: bool) -> None:
        """Job ``i`` completed or failed, running or not."""

    def hopped(self, i: int, t: float, source: str, destination: str) -> None:
        """Job ``i`` hopped from queue ``source`` to ``destination``."""

    def drain_starts(self) -> None:
        """Account the starts recorded in the port's ``starts`` (lean mode), in order."""

    def started_controlled(self, i: int, t: float) -> None:
        """Job ``i``, which has controls, took a slot: maybe a new attempt after a retry."""

    def retrying(self, i: int, t: float) -> None:
        """Job ``i``'s attempt failed and it will run again (Pausing for a retry)."""


class SchedulerPort:
    """The driver's only way into the scheduler, and the scheduler's only way back.

    Jobs are named by their workload index on this side. The port uses the
    core's in-package fast path (``core_of(scheduler)``): the core's ``submit``
    and ``complete`` skip the snapshots the public methods return, and the
    outbox's ``watch``/``hop_watch`` hooks report transitions and hops without
    building event objects. The same validation and state machine run as for
    every other caller.
    """

    __slots__ = (
        "_controlled",
        "_controls",
        "_core",
        "_lean",
        "_queues",
        "_sink",
        "by_number",
        "clock",
        "complete_record",
        "ids",
        "recs",
        "scheduler",
        "starts",
    )

    def __init__(self, workload: Workload, sink: Sink, seed: int, lean: bool = False) -> None:
        self.clock = ManualClock()
        # Retry jitter draws from its own stream, apart from the task outcomes'.
        jitter = random.Random(f"{seed}:retry-jitter")
        self.scheduler = Scheduler(self.clock, retention=_KEEP_ALL, rng=jitter)
        self.ids: list[str | None] = [None] * len(workload.jobs)
        self.recs: list[JobRecord | None] = [None] * len(workload.jobs)
        # The workload index of each job by its creation number (which starts
        # at 1): an array index where a dict keyed by record cost a hash, an
        # insertion and a removal per job (benchmarks/bench_sim.py).
        self.by_number = array("q", [-1])
        # Lean mode: the jobs that became Active since the driver last looked,
        # with the time (in order: dicts keep insertion order).
        self.starts: dict[JobRecord, float] = {}
        # Submitted jobs with controls, by workload index; finished ones are
        # dropped when timers_pending() meets them.
        self._controlled: dict[int, JobRecord] = {}
        self._sink = sink
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
        self._queues = core.queues
        # The lean loop completes records itself: no per-job port call.
        self.complete_record = core.complete
        self._lean = lean
        self._controls = workload.has_controls

    def hook(self) -> None:
        """Start reporting to the driver: the run begins.

        Raises:
            ConflictError: the scheduler has jobs already (submitted to it
                directly): the driver names jobs by workload index, and could
                not name those.
        """
        core = self._core
        if core.jobs:
            self._foreign()
        if self._lean:
            watch = {
                _ACTIVE: self.starts.__setitem__,
                _PAUSING: self._on_paused_lean,
                _FAILED: self._on_failed_lean,
            }
        else:
            controls = self._controls
            watch = {
                _ACTIVE: self._on_started_controlled if controls else self._on_started,
                _PAUSING: self._on_paused_controlled if controls else self._on_paused,
                _COMPLETE: self._on_completed,
                _FAILED: self._on_failed,
            }
        core.outbox.watch.update(watch)
        core.outbox.hop_watch = self._on_hop

    def unhook(self) -> None:
        """Stop reporting to the driver (the run is over), and let go of the records."""
        outbox = self._core.outbox
        outbox.watch.clear()
        outbox.hop_watch = None
        self.recs = []
        self.by_number = array("q")
        self._controlled.clear()

    def set_time(self, t: float) -> None:
        self.clock.set(t)

    def submit(self, i: int, spec: JobSpec, *controls: object) -> bool:
        """Submit job ``i``; False if the scheduler refused it (a limit).

        ``controls`` are the core's trailing submit arguments (``not_before``,
        ``after``, ``max_run``, ``max_wait``, ``retry``); a job without
        controls passes none.
        """
        by_number = self.by_number
        by_number.append(i)  # before the call: the job may start inside it
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
                *controls,  # type: ignore[arg-type]
            )
        except LimitExceededError:
            by_number.pop()
            return False
        self._submitted(i, rec)
        if rec.controls is not None:
            self._controlled[i] = rec
        return True

    def submit_lean(self, i: int, spec: JobSpec, now: float) -> JobRecord | None:
        """Submit job ``i`` of a lean workload at ``now``, the instant the clock was just set to.

        Returns None if refused (a limit); see the module doc.

        Its fields were checked when the ``JobSpec`` was built, by the rules
        ``Core.submit`` checks them by (priority, flags, name, tags, billing
        source; its queue is one of the workload's), so it goes straight to
        ``Core.create``, which checks what depends on the scheduler's state.
        It has no hop rules, tasks or controls; the description is empty,
        there is no principal, and acceleration is disabled.
        """
        by_number = self.by_number
        by_number.append(i)  # before the call: the job may start inside it
        tags = spec.tags
        try:
            rec = self._core.create(
                self._queues[spec.queue],
                spec.priority,
                spec.deferred,
                spec.name,
                "",  # description
                dict(tags) if tags else NO_TAGS,  # a plain copy, as validate_tags returns
                (),  # hop rules
                _DISABLED,
                spec.billing_tags_source,
                None,  # report
                0,  # tasks
                None,  # task keys
                None,  # manifest reader
                spec.preemptible,
                False,  # confirmation_required
                None,  # principal
                None,  # controls
                now,
            )
        except LimitExceededError:
            by_number.pop()
            return None
        if rec.index != len(by_number) - 1:  # _submitted, inline
            self._foreign()
        self.ids[i] = rec.id
        self.recs[i] = rec
        return rec

    def _submitted(self, i: int, rec: JobRecord) -> None:
        if rec.index != len(self.by_number) - 1:
            self._foreign()
        self.ids[i] = rec.id
        self.recs[i] = rec

    @staticmethod
    def _foreign() -> None:
        """Raises: ConflictError: job numbers no longer match the workload's (see ``by_number``)."""
        raise ConflictError(
            "a job was submitted to the simulation's scheduler outside the workload"
        )

    def submit_controlled(self, i: int, spec: JobSpec) -> bool:
        """Submit job ``i`` of a workload that uses controls; see ``submit``.

        Its dependencies name the jobs by the ids the scheduler gave them. A
        job that depends on a job the scheduler refused is refused too: it
        cannot name a job that was never created.
        """
        if not spec.has_controls:
            return self.submit(i, spec)
        after = []
        for dep in spec.after:
            job_id = self.ids[dep.job]
            if job_id is None:
                return False
            after.append(Dependency(job_id, dep.on))
        return self.submit(i, spec, spec.not_before, after, spec.max_run, spec.max_wait, spec.retry)

    def complete(self, i: int) -> None:
        rec = self.recs[i]
        assert rec is not None
        self._core.complete(rec)

    def end_attempt(self, i: int, fails: int) -> None:
        """The work of job ``i``'s attempt ran out: fail it or complete it.

        It fails if the attempt is one of its first ``fails``, through the
        path ``Scheduler.fail`` takes (so a ``retry`` may run it again).
        """
        rec = self.recs[i]
        assert rec is not None
        c = rec.controls
        if fails and (1 if c is None else c.attempt) <= fails:
            control.fail(self._core, rec, "simulated failure", _WORK_ERROR)
        else:
            self._core.complete(rec)

    def task_succeeded(self, i: int, key: str) -> bool:
        """Whether task ``key`` of job ``i`` succeeded already (in an earlier attempt)."""
        rec = self.recs[i]
        assert rec is not None
        outcome = None if rec.outcomes is None else rec.outcomes.get(key)
        return outcome is not None and outcome.status is TaskStatus.SUCCEEDED

    def timers_pending(self) -> bool:
        """Whether a job waits for a timer of its controls: a start time, a backoff, a wait limit.

        True only if the scheduler's next timer is due at a finite time.
        O(unfinished jobs with controls); finished ones are dropped on the way.
        """
        pending = False
        for i, rec in list(self._controlled.items()):
            if rec.status in TERMINAL:
                del self._controlled[i]
                continue
            c = rec.controls
            assert c is not None
            if (
                (rec.status is _SUSPENDED and not c.not_before_passed)
                or c.backoff_until is not None
                or (c.max_wait is not None and c.wait_started is not None)
            ):
                pending = True
        deadline = self.scheduler.next_deadline()
        return pending and deadline is not None and deadline < math.inf

    def waited(self, i: int, now: float) -> float | None:
        """Seconds job ``i`` waited in a line by ``now``, as its wait limit counts them.

        Only for a job with controls (``None`` for others): time held in
        Suspended or in a retry's backoff is not waiting in a line.
        """
        rec = self.recs[i]
        if rec is None or rec.controls is None:
            return None
        c = rec.controls
        return c.waited if c.wait_started is None else c.waited + (now - c.wait_started)

    def failure_code(self, i: int) -> str:
        """The code of the reason failed job ``i`` failed."""
        rec = self.recs[i]
        assert rec is not None and rec.failure_reasons
        return rec.failure_reasons[0].code

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

    def _on_started(self, rec: JobRecord, now: float) -> None:
        self._sink.started(self.by_number[rec.index], now)

    def _on_started_controlled(self, rec: JobRecord, now: float) -> None:
        if rec.controls is None:
            self._sink.started(self.by_number[rec.index], now)
        else:
            self._sink.started_controlled(self.by_number[rec.index], now)

    def _on_paused(self, rec: JobRecord, now: float) -> None:
        self._sink.paused(self.by_number[rec.index], now)

    def _on_paused_controlled(self, rec: JobRecord, now: float) -> None:
        c = rec.controls
        if c is not None and c.retrying:
            self._sink.retrying(self.by_number[rec.index], now)
        else:
            self._sink.paused(self.by_number[rec.index], now)

    def _on_completed(self, rec: JobRecord, now: float) -> None:
        self._sink.finished(self.by_number[rec.index], now, False)

    def _on_failed(self, rec: JobRecord, now: float) -> None:
        self._sink.finished(self.by_number[rec.index], now, True)

    def _on_paused_lean(self, rec: JobRecord, now: float) -> None:
        self._sink.drain_starts()
        self._sink.paused(self.by_number[rec.index], now)

    def _on_failed_lean(self, rec: JobRecord, now: float) -> None:
        self._sink.drain_starts()
        self._sink.finished(self.by_number[rec.index], now, True)

    def _on_hop(self, rec: JobRecord, source: str, destination: str, now: float) -> None:
        self._sink.hopped(self.by_number[rec.index], now, source, destination)


_DISABLED: Final = Acceleration.DISABLED
_ACTIVE: Final = JobStatus.ACTIVE
_PAUSING: Final = JobStatus.PAUSING
_SUSPENDED: Final = JobStatus.SUSPENDED
_COMPLETE: Final = JobStatus.COMPLETE
_FAILED: Final = JobStatus.FAILED
