"""The engine's side of task functions: lanes that take keys, run them and report them.

``TaskLanes`` is a part of the ``Engine`` (``_engine``), kept apart so that
each module stays readable. A *lane* is one unit of a job's task concurrency:
it holds one key at a time, runs it, and reports it in ``lane_step``, which
hands back the next key while the job runs. A key leaves the manifest once,
when a lane takes it; it goes back only if its lane was cancelled before it
started, so no task is lost or run twice.

A *pipelined* lane (a backend whose ``pipelines`` is set: ``ExecutorRuntime``
on a thread pool) also holds keys taken ahead (``Lane.ahead``), and the worker
that ran one of its calls submits the call for the next key at once; its
outcome is still recorded here, in order (``piped_step``). Keys held ahead go
back when the job stops running, and a lane that found no key left takes one
another lane holds.
"""

from __future__ import annotations

import logging
from collections import deque
from collections.abc import Callable

from .._scheduler import Scheduler
from .._states import RUNNING, TASKS_ACCEPTED, JobStatus
from .._tasks import FailureReason
from . import _trusted
from ._backend import Backend
from ._failures import describe
from ._task_policy import TaskTimers
from ._work import After, Lane, Mode, Work

__all__ = ["TaskLanes"]

log = logging.getLogger("jobqueue.runtime")
task_log = logging.getLogger("jobqueue.runtime.tasks")

_S = JobStatus

#: Keys a pipelined lane holds ahead. With one, every other call found none
#: (the runtime had not topped it up yet) and waited for the round trip the
#: pipeline removes (benchmarks/bench_runtime.py, dispatch).
AHEAD = 8


class TaskLanes:
    """Start, step, stop and report task lanes (a part of ``Engine``)."""

    scheduler: Scheduler
    _backend: Backend
    _dirty: dict[str, None]
    _timers: TaskTimers
    _watch: bool  # the engine enforces task timeouts itself
    in_flight: int
    deadline_moved: bool
    now: Callable[[], float]
    _complete: Callable[[str], None]  # _trusted.completer
    _record_task: Callable[[str, str, bool, str, str], None]  # _trusted.task_recorder

    def _advance(self, work: Work) -> None:
        raise NotImplementedError

    def _idle(self, work: Work) -> bool:
        return not work.lanes and not work.fn_running

    def _start_tasks(self, work: Work) -> None:
        log.debug("job %r: tasks start", work.job_id)
        work.started = True
        recorded = _trusted.recorded(self.scheduler, work.job_id)
        if recorded:
            # Outcomes reported before the runtime ran anything are never rerun.
            seen = {r.key for r in recorded}
            work.done = len(seen)
            work.returned.extend(k for k in work.manifest.all() if k not in seen)
            work.next_index = work.manifest.count

    def _has_pending(self, work: Work) -> bool:
        return bool(work.returned) or work.next_index < work.manifest.count or work.delayed > 0

    def _take(self, work: Work) -> str | None:
        if work.returned:
            return work.returned.popleft()
        i = work.next_index
        if i < work.manifest.count:
            work.next_index = i + 1
            return work.manifest.key(i)
        return None

    def _dispatch(self, work: Work) -> None:
        # A task timeout counts from each call's submission, which only the
        # engine sees: such a job's lanes are not pipelined.
        piped = self._backend.pipelines and work.task_timeout is None
        while work.mode is Mode.RUN and len(work.lanes) < work.concurrency:
            key = self._take(work)
            if key is None:
                break
            lane = Lane(key)
            if piped:
                lane.ahead = deque()
            work.lanes.add(lane)
            self.in_flight += 1
            if work.task_timeout is not None and self._watch:
                self._timers.watch(work, lane, self.now(), work.task_timeout)
            try:
                self._backend.launch_lane(work, lane)
            except Exception as exc:
                self._launch_failed(work, lane, exc)
                return
        if piped and work.mode is Mode.RUN:
            # Only once every lane has its key, so that a short manifest
            # still runs at the job's full concurrency.
            for lane in work.lanes:
                if lane.ahead is not None and not self._fill(work, lane.ahead):
                    break
        if self._idle(work) and not self._has_pending(work) and work.status in RUNNING:
            self._complete(work.job_id)

    def _launch_failed(self, work: Work, lane: Lane, exc: BaseException) -> None:
        work.lanes.discard(lane)
        self.in_flight -= 1
        self._take_back(work, lane)
        work.returned.appendleft(lane.key)
        if work.fail_reason is None:
            work.fail_reason = FailureReason("HandlerError", f"cannot start work: {describe(exc)}")
        self._dirty[work.job_id] = None

    def lane_step(
        self,
        work: Work,
        lane: Lane,
        key: str,
        exc: BaseException | None,
        value: object,
        keep_going: bool,
    ) -> str | None:
        """Record ``key``'s outcome; return the lane's next key, or None if it ends.

        ``value`` is what the task returned (the runtime has already given it
        to the job's ``on_result``). With ``keep_going=False`` a next key is
        handed to a fresh launch of the lane instead (the lane yields its
        worker), and None is returned. A lane that ran out of time gets None.
        """
        if lane.abandoned:
            return None  # its outcome was recorded at its timeout
        self._record(work, key, exc, value)
        nxt = None
        if work.mode is Mode.RUN and work.status is _S.ACTIVE and work.fail_reason is None:
            nxt = self._take(work)
        if nxt is None:
            self._lane_ended(work, lane)
            return None
        lane.key = nxt
        if work.task_timeout is not None and self._watch:
            self._timers.watch(work, lane, self.now(), work.task_timeout)
        if keep_going:
            return nxt
        try:
            self._backend.launch_lane(work, lane)
        except Exception as launch_error:
            self._launch_failed(work, lane, launch_error)
            self._advance(work)
        return None

    def _record(self, work: Work, key: str, exc: BaseException | None, value: object) -> None:
        if work.status in TASKS_ACCEPTED:
            if exc is None:
                results = work.results
                if results is not None:
                    results[key] = value
                self._record_task(work.job_id, key, True, "", "")
            else:
                self._task_failed(work, key, exc)

    def piped_step(
        self,
        work: Work,
        lane: Lane,
        key: str,
        exc: BaseException | None,
        value: object,
        after: After,
    ) -> None:
        """Record the outcome of a pipelined lane's call for ``key``; keep the lane going.

        A pipelined lane (``Lane.ahead``) holds one key taken ahead, and the
        worker that ran the lane's call submits the call for that key at
        once (``After.CHAINED``), so that the lane's calls follow each other
        without waiting for this report: the round trip through the runtime
        per task was most of the time per task of ``ExecutorRuntime`` with a
        concurrency of the pool's size (benchmarks/bench_runtime.py,
        dispatch). Here the outcome is recorded, and the lane is given its
        next key ahead, or (``After.STOPS``: nothing of the lane is in
        flight) its next call is submitted, or it ends. Keys taken ahead go
        back when the job stops running (``_cancel_queued``), so a paused or
        cancelled job's lane submits nothing more.
        """
        if after is After.REFUSED:
            if lane in work.lanes:
                assert exc is not None
                self._launch_failed(work, lane, exc)
                self._advance(work)
            return
        self._record(work, key, exc, value)
        if lane not in work.lanes:
            return  # its next call was cancelled before it started: the key went back
        ahead = lane.ahead
        assert ahead is not None
        running = work.mode is Mode.RUN and work.status is _S.ACTIVE and work.fail_reason is None
        if not running:
            self._take_back(work, lane)
            if after is After.STOPS:
                self._lane_ended(work, lane)
            return
        if after is After.CHAINED:
            # Its next call runs already: top up the keys after that. (The
            # worker may pop one at any time; this thread only appends.)
            self._fill(work, ahead)
            return
        # No call of the lane is in flight, so nobody else pops ``ahead``.
        nxt = ahead.popleft() if ahead else self._take(work)
        if nxt is None:
            nxt = self._steal(work, lane)
        if nxt is None:
            self._lane_ended(work, lane)
            return
        lane.key = nxt
        try:
            self._backend.launch_lane(work, lane)
        except Exception as launch_error:
            self._launch_failed(work, lane, launch_error)
            self._advance(work)
            return
        self._fill(work, ahead)

    def _fill(self, work: Work, ahead: deque[str]) -> bool:
        """Take keys ahead for a pipelined lane, up to ``AHEAD``; False if none are left."""
        while len(ahead) < AHEAD:
            key = self._take(work)
            if key is None:
                return False
            ahead.append(key)
        return True

    def _steal(self, work: Work, idle: Lane) -> str | None:
        """A key another lane holds ahead, for a lane that found none left.

        Keys taken ahead wait for their lane's call to end: at the end of a
        manifest of long tasks they would otherwise wait while this lane's
        worker sits idle.
        """
        for lane in work.lanes:
            if lane is not idle and lane.ahead:
                try:
                    return lane.ahead.pop()  # its worker may pop it first
                except IndexError:
                    continue
        return None

    def _take_back(self, work: Work, lane: Lane) -> None:
        """Put a pipelined lane's keys taken ahead back in front of the job's keys."""
        ahead = lane.ahead
        while ahead:
            try:
                key = ahead.pop()  # a worker may pop it first: then it runs
            except IndexError:
                return
            work.returned.appendleft(key)

    def _task_failed(self, work: Work, key: str, exc: BaseException) -> None:
        wait = self._timers.retry_later(work, key, self.now())
        if wait is not None:
            self.deadline_moved = True
            task_log.warning(
                "task %r of job %r failed: %s; it runs again in %.3f s",
                key,
                work.job_id,
                describe(exc),
                wait,
                exc_info=exc,
            )
            return
        task_log.warning(
            "task %r of job %r failed: %s", key, work.job_id, describe(exc), exc_info=exc
        )
        if work.handle is not None:
            if work.errors is None:
                work.errors = {}
            work.errors[key] = exc
        self._record_task(work.job_id, key, False, type(exc).__name__, str(exc))

    def lane_aborted(self, work: Work, lane: Lane, key: str) -> None:
        """A lane stopped without running ``key`` (its worker went away): keep the key."""
        if lane.abandoned:
            return
        work.returned.appendleft(key)
        self._lane_ended(work, lane)

    def drop_lane(self, work: Work, lane: Lane) -> None:
        """A lane broke (a bug, already logged): forget it so the job can still settle."""
        self._lane_ended(work, lane)

    def _lane_ended(self, work: Work, lane: Lane) -> None:
        if lane in work.lanes:
            work.lanes.discard(lane)
            self.in_flight -= 1
        if not work.lanes:
            self._advance(work)
            self._backend.changed()

    def _cancel_queued(self, work: Work) -> None:
        for lane in tuple(work.lanes):
            if lane.ahead:
                self._take_back(work, lane)
            if self._backend.cancel_lane(lane):
                work.lanes.discard(lane)
                self.in_flight -= 1
                work.returned.appendleft(lane.key)
        handle = work.fn_handle
        if work.fn_running and handle is not None and self._backend.cancel_job(handle):
            work.fn_running = False
            work.fn_handle = None
            self.in_flight -= 1
