"""OpenTelemetry metrics for a scheduler: ``instrument(scheduler, meter)``.

This module needs ``opentelemetry-api`` (install ``jobqueue[otel]``); ``import
jobqueue`` never imports it. Export with OpenTelemetry's own SDK and
exporters (Prometheus, OTLP, ...): this module only records.

Every metric has the ``jobqueue.`` prefix and a ``queue`` attribute:

=============================  ======================  =========  =========================
name                           instrument              unit       what
=============================  ======================  =========  =========================
``jobqueue.queue.running``     observable up-down ctr  ``{job}``  jobs holding a slot
``jobqueue.queue.waiting``     observable up-down ctr  ``{job}``  jobs Ready in the line
``jobqueue.queue.preempted``   observable up-down ctr  ``{job}``  jobs Paused, to resume
``jobqueue.queue.slots``       observable up-down ctr  ``{slot}`` the queue's slots
``jobqueue.queue.paused``      observable gauge        ``1``      1 while paused, else 0
``jobqueue.jobs.submitted``    counter                 ``{job}``  accepted submissions
``jobqueue.jobs.started``      counter                 ``{job}``  moves to Active
``jobqueue.jobs.completed``    counter                 ``{job}``  jobs that completed
``jobqueue.jobs.failed``       counter                 ``{job}``  jobs that failed
``jobqueue.jobs.cancelled``    counter                 ``{job}``  jobs cancelled
``jobqueue.jobs.preempted``    counter                 ``{job}``  preemptions
``jobqueue.jobs.retries``      counter                 ``{retry}`` retries scheduled
``jobqueue.hops``              counter                 ``{hop}``  hops (``queue`` is the
                                                                  source; ``destination``)
``jobqueue.job.wait.duration`` histogram               ``s``      a wait in a line, per start
``jobqueue.job.run.duration``  histogram               ``s``      a finished job's run time
=============================  ======================  =========  =========================

Theory of operation: the scheduler is not thread-safe and a metric reader
calls the observable instruments from its own thread, so those never touch
the scheduler. A subscriber, running in the scheduler's thread, counts the
events and keeps each queue's figures up to date in a plain dict; the
callbacks only read that dict.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Final

try:
    from opentelemetry.metrics import CallbackOptions, Meter, Observation
except ImportError as exc:  # pragma: no cover - exercised in a subprocess test
    raise ImportError(
        "jobqueue.metrics needs opentelemetry-api: pip install 'jobqueue[otel]'"
    ) from exc

from ._errors import NotFound, ValidationError
from ._events import Event, JobHopped, JobSubmitted, JobTransitioned, QueueEvent, RetryScheduled
from ._model import QueueInfo
from ._scheduler import Scheduler
from ._states import WAITING_LINE, JobStatus

__all__ = ["WAIT_BUCKETS", "Instrumentation", "instrument"]

_S = JobStatus
#: Bucket bounds (seconds) suggested for the wait and run histograms: from
#: milliseconds (a thread pool) to a day (a deferred batch).
WAIT_BUCKETS: Final = (
    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0,
    120.0, 300.0, 600.0, 1800.0, 3600.0, 7200.0, 14400.0, 43200.0, 86400.0,
)  # fmt: skip
_ENDS: Final = {_S.COMPLETE: "completed", _S.FAILED: "failed", _S.CANCELLED: "cancelled"}


class Instrumentation:
    """The instruments ``instrument()`` created for one scheduler; ``close()`` stops recording.

    The observable instruments report nothing once closed (OpenTelemetry has no
    way to delete an instrument).
    """

    def __init__(self, scheduler: Scheduler, meter: Meter) -> None:
        self._scheduler = scheduler
        self._queues: dict[str, QueueInfo] = {q.name: q for q in scheduler.list_queues()}
        self._where: dict[str, str] = {}  # unfinished job -> the queue it is in
        self._since: dict[str, float] = {}  # waiting job -> when its wait began
        for status in (*WAITING_LINE, _S.ACTIVE, _S.PAUSING, _S.SUSPENDED, _S.NEW, _S.PREPARING):
            self._seed(status)
        counter = meter.create_counter
        self._counters = {
            name: counter(f"jobqueue.jobs.{name}", unit="{job}", description=text)
            for name, text in (
                ("submitted", "Submissions the scheduler accepted."),
                ("started", "Moves to Active: first starts, resumes and retried attempts."),
                ("completed", "Jobs that completed."),
                ("failed", "Jobs that failed."),
                ("cancelled", "Jobs that were cancelled."),
                ("preempted", "Running jobs paused for higher-priority work."),
            )
        }
        self._retries = counter(
            "jobqueue.jobs.retries", unit="{retry}", description="Retries scheduled."
        )
        self._hops = counter(
            "jobqueue.hops",
            unit="{hop}",
            description="Hops between queues; queue is the source, destination the target.",
        )
        self._wait = meter.create_histogram(
            "jobqueue.job.wait.duration",
            unit="s",
            description="Seconds a job waited in its queue's line before a start or resume.",
            explicit_bucket_boundaries_advisory=WAIT_BUCKETS,
        )
        self._run = meter.create_histogram(
            "jobqueue.job.run.duration",
            unit="s",
            description="Seconds a finished job held a slot, over all its runs.",
            explicit_bucket_boundaries_advisory=WAIT_BUCKETS,
        )
        gauge = meter.create_observable_up_down_counter
        gauge("jobqueue.queue.running", [self._observe(lambda q: q.running)], "{job}",
              "Jobs holding a slot (Active or Pausing) in the queue.")  # fmt: skip
        gauge("jobqueue.queue.waiting", [self._observe(lambda q: q.waiting)], "{job}",
              "Jobs Ready in the queue's line.")  # fmt: skip
        gauge("jobqueue.queue.preempted", [self._observe(lambda q: q.paused_jobs)], "{job}",
              "Jobs Paused by preemption in the queue, waiting to resume.")  # fmt: skip
        gauge("jobqueue.queue.slots", [self._observe(lambda q: q.slots)], "{slot}",
              "The queue's slots.")  # fmt: skip
        meter.create_observable_gauge(
            "jobqueue.queue.paused",
            [self._observe(lambda q: int(q.paused))],
            "1",
            "1 while the queue is paused (it starts nothing), else 0.",
        )
        self._unsubscribe: Callable[[], None] | None = scheduler.subscribe(self._on_event)

    def close(self) -> None:
        """Stop recording: unsubscribe, and report no more queue figures. Idempotent."""
        if self._unsubscribe is not None:
            self._unsubscribe()
            self._unsubscribe = None
            self._queues = {}

    # ------------------------------------------------------------------ internals

    def _seed(self, status: JobStatus) -> None:
        """Take in the jobs a scheduler already has (one recovered from a store)."""
        sched = self._scheduler
        token: str | None = None
        while True:
            page = sched.list_jobs(statuses={status}, limit=1000, token=token)
            for row in page:
                job = sched.get(row.id)
                self._where[job.id] = job.queue
                if status in WAITING_LINE:
                    self._since[job.id] = job.history[-1].time
            token = page.next_token
            if token is None:
                return

    def _observe(
        self, figure: Callable[[QueueInfo], int]
    ) -> Callable[[CallbackOptions], Iterable[Observation]]:
        def callback(_options: CallbackOptions) -> Iterable[Observation]:
            queues: Mapping[str, QueueInfo] = self._queues  # one read; see _refresh
            return [Observation(figure(q), {"queue": name}) for name, q in queues.items()]

        return callback

    def _refresh(self, queue: str) -> None:
        queues = dict(self._queues)
        try:
            queues[queue] = self._scheduler.get_queue(queue)
        except NotFound:
            queues.pop(queue, None)  # deleted
        self._queues = queues  # replaced whole: a callback reads one or the other

    def _on_event(self, event: Event) -> None:
        if isinstance(event, JobTransitioned):
            self._transitioned(event)
        elif isinstance(event, JobSubmitted):
            self._where[event.job_id] = event.queue
            self._counters["submitted"].add(1, {"queue": event.queue})
        elif isinstance(event, JobHopped):
            self._where[event.job_id] = event.destination
            self._hops.add(1, {"queue": event.source, "destination": event.destination})
            self._refresh(event.source)
            self._refresh(event.destination)
        elif isinstance(event, RetryScheduled):
            queue = self._where.get(event.job_id)
            if queue is not None:
                self._retries.add(1, {"queue": queue})
            self._since[event.job_id] = event.until  # the backoff is not a wait in line
        elif isinstance(event, QueueEvent):
            self._refresh(event.queue)

    def _transitioned(self, event: JobTransitioned) -> None:
        job_id = event.job_id
        queue = self._where.get(job_id)
        if queue is None:
            return  # a job that ended before instrument() was called
        attributes = {"queue": queue}
        new = event.new
        if new in WAITING_LINE:
            self._since.setdefault(job_id, event.time)
        elif new is _S.ACTIVE:
            self._counters["started"].add(1, attributes)
            since = self._since.pop(job_id, None)
            if since is not None:
                self._wait.record(max(0.0, event.time - since), attributes)
        elif new is _S.PAUSING and event.reason.startswith("preempted"):
            self._counters["preempted"].add(1, attributes)
        elif new in _ENDS:
            self._counters[_ENDS[new]].add(1, attributes)
            del self._where[job_id]
            self._since.pop(job_id, None)
            if job_id in self._scheduler:
                job = self._scheduler.get(job_id)
                if job.started_at is not None:
                    self._run.record(job.run_seconds, attributes)
        if event.old in (_S.READY, _S.ACTIVE, _S.PAUSING, _S.PAUSED) or new in WAITING_LINE:
            self._refresh(queue)


def instrument(scheduler: Scheduler, meter: Meter) -> Instrumentation:
    """Publish ``scheduler``'s metrics through ``meter`` (see the module's table).

    Call it once per scheduler, from the thread that drives it (a runtime's
    scheduler: before starting work, or under the runtime). Jobs the scheduler
    already has are taken in: their waits count from their last status change.

    Args:
        scheduler: the scheduler to observe.
        meter: an OpenTelemetry meter, e.g. ``metrics.get_meter("jobqueue")``.

    Returns:
        The instrumentation; ``close()`` it to stop recording.

    Raises:
        ValidationError: ``scheduler`` is not a ``Scheduler``.
    """
    if not isinstance(scheduler, Scheduler):
        raise ValidationError(f"scheduler must be a Scheduler, got {type(scheduler).__name__}")
    return Instrumentation(scheduler, meter)
