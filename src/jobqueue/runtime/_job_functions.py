"""The engine's side of job functions: start them, park them at checkpoints, end them.

``JobFunctions`` is a part of the ``Engine`` (``_engine``), kept apart so that
each module stays readable: the engine starts a job function when its job
becomes Active, and the runtime reports here what the function did. A job
function's progress is journaled here too, each time its throttled
``Progress`` event goes out, when the scheduler has a store.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from .._events import Event
from .._scheduler import Scheduler
from .._tasks import FailureReason
from . import _trusted
from ._backend import Backend
from ._failures import describe
from ._progress import Progress
from ._work import Mode, Work

__all__ = ["JobFunctions"]

log = logging.getLogger("jobqueue.runtime")


class JobFunctions:
    """Start, park, wake and end job functions (a part of ``Engine``)."""

    scheduler: Scheduler
    _backend: Backend
    _dirty: dict[str, None]
    _works: dict[str, Work]
    _journaled: bool  # the scheduler journals to a store
    in_flight: int

    def _advance(self, work: Work) -> None:
        raise NotImplementedError

    def _deliver(self, event: Event) -> None:
        raise NotImplementedError

    def guard(self, fn: Callable[..., object], *args: object) -> None:
        raise NotImplementedError

    def _progress_sent(self, event: Progress) -> None:
        """A ``Progress`` event goes out: journal a job function's progress, then deliver it.

        A task job's progress needs no write of its own: it moves with the
        task outcomes, which are journaled as they are recorded.
        """
        if self._journaled:
            job_id = event.job_id
            work = self._works.get(job_id)
            if work is not None and work.job_fn is not None:
                # A failed write is logged: a store that refuses progress
                # refuses the next change of the job too, and says so there.
                self.guard(_trusted.journal_progress, self.scheduler, job_id)
        self._deliver(event)

    def _launch_job(self, work: Work) -> None:
        log.debug("job %r: job function starts", work.job_id)
        work.fn_running = True
        self.in_flight += 1
        try:
            work.fn_handle = self._backend.launch_job(work)
        except Exception as exc:
            work.fn_running = False
            self.in_flight -= 1
            work.fail_reason = FailureReason("HandlerError", f"cannot start work: {describe(exc)}")
            self._dirty[work.job_id] = None

    def fn_ended(
        self, work: Work, exc: BaseException | None, stopped: bool, value: object = None
    ) -> None:
        """The job function returned ``value`` (or raised ``exc``, or stopped at a checkpoint)."""
        if work.fn_running:
            work.fn_running = False
            self.in_flight -= 1
        work.fn_handle = None
        if exc is not None:
            if work.fail_reason is None:
                work.fail_reason = FailureReason("HandlerError", describe(exc))
                work.exc = exc
        elif not stopped:
            work.fn_returned = True
            work.value = value
        self._advance(work)
        self._backend.changed()

    def park(self, work: Work) -> bool:
        """A job function reached a checkpoint: park it there if its job is pausing.

        Returns whether it is parked (it then waits until ``unparked``).
        """
        if work.mode is not Mode.PAUSE or not work.fn_running:
            return False
        work.parked = True
        work.fn_running = False
        self.in_flight -= 1
        self._advance(work)
        return True

    def _unpark(self, work: Work) -> None:
        work.parked = False
        work.fn_running = True
        self.in_flight += 1
        self._backend.unparked(work)

    def stop_parked(self) -> None:
        """Wake every parked job function to unwind (the runtime is stopping)."""
        for work in tuple(self._works.values()):
            if work.parked:
                work.mode = Mode.STOP
                self._unpark(work)
