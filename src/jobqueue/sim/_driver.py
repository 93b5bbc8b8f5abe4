"""The discrete-event driver: the event loop that runs a workload on virtual time.

Theory of operation
-------------------
The driver owns a ``ManualClock`` and a ``Scheduler`` (through its port) and
jumps from one event to the next: a job's arrival (``submit``), the end of a
running job's work (``complete``), a task finishing (``record_task``), a queue
action (``pause_queue``/``resume_queue``), or a scheduler timer (``poll`` at
``next_deadline()``, for hop rules). Nothing else moves time.

The scheduler decides everything else, and the driver learns of it from the
event stream: a job becoming Active starts its work, a job entering Pausing
(preempted) stops it, keeping the work left, which continues when the job is
Active again (it then completes at resume time + remaining work). Each running
job has exactly one pending entry, ``(time, seq, kind, job)``, in a heap; an
entry whose ``seq`` is no longer the job's current one is stale (the job was
paused or failed meanwhile) and is skipped when popped.

At one instant, the driver handles, in this order: work that ends (in the
order it was scheduled), the scheduler's due timers, queue actions (in
workload order), then arrivals (in workload order). So work that ends exactly
at its job's run limit completes.

Jobs with controls
------------------
The scheduler times their start (``not_before``), their limits and their
retries' backoffs; the driver polls those timers like the hop timers, and the
run goes on past its last arrival while a job waits for one of them. The
work of an attempt that must fail (``JobSpec.fails``) runs its duration, then
fails the job through the port. A job that fails on a limit, running or not,
reaches ``finished`` as any failed job does, its work cut off. A retry shows
as ``retrying``: the attempt's run is closed and the job's work is reset to
its whole duration, so that the next attempt -- the next start after the
backoff -- runs it from the start (a preemption's resume keeps what is left).
A job that has controls waits only in a line: its wait is read from the
scheduler at the end (held in Suspended or in a backoff, it is not waiting).
These paths are bound once per run, when the workload uses controls, and
cost nothing otherwise.

The lean loop
-------------
A workload with no controls, no tasks, no hop rules and no queue actions --
the common case -- runs on ``_run_lean``, chosen once per run: heap entries
are ``(time, seq, job)``, the clock is set once per instant, a start is
picked up from the port's ``starts`` in bulk after each call into the
scheduler, and a completion, which only the driver asks for, is accounted
where it is asked for. Per-job callbacks were a third of a simulated job's
time (``benchmarks/bench_sim.py``). The schedule is the same as the general
loop's, event for event.

All calls into the scheduler go through ``SchedulerPort`` (in
``_scheduler_port``); it also turns the scheduler's events into the driver's
callbacks (started, paused, finished, hopped, and for jobs with controls
started_controlled and retrying). A faster path into the
core only has to replace that class. At the end of a run the driver turns its
per-job columns into the ``SimResult``. The public entry points, ``Simulation``
and ``simulate``, are in ``_simulation``.
"""

from __future__ import annotations

import gc
import heapq
import itertools
import math
import operator
import random
from array import array
from typing import Final

from ._result import (
    COMPLETE,
    FAILED,
    REJECTED,
    UNFINISHED,
    HopRoute,
    JobTable,
    RunSegment,
    SimResult,
)
from ._scheduler_port import SchedulerPort
from ._tally import Columns, failed_jobs, queue_stats
from ._workload import JobSpec, Workload

__all__ = ["Driver"]

_NAN: Final = math.nan
_INF: Final = math.inf
_COMPLETE_WORK: Final = 0  # heap entry kinds
_TASK_DONE: Final = 1
_QUEUE: Final = operator.attrgetter("queue")
_DURATION: Final = operator.attrgetter("duration")
_TASKS: Final = operator.attrgetter("tasks")
_HOPS: Final = operator.attrgetter("hops")
_ARRIVAL: Final = operator.attrgetter("arrival")
# Job states inside the driver.
_PENDING, _WAITING, _RUNNING, _DONE, _BACKOFF = range(5)


class Driver:
    """The state of one run: the event heap and per-job columns."""

    def __init__(
        self,
        workload: Workload,
        seed: int,
        record_segments: bool,
        check_invariants: bool,
        *,
        lean: bool = True,
    ) -> None:
        """``lean=False`` runs the general loop even where the lean one would do (for tests)."""
        self._workload = workload
        self._seed = seed
        self._rng = random.Random(seed)
        self._check = check_invariants
        jobs = workload.jobs
        n = len(jobs)
        self._queue_names = workload.queue_names
        qindex = {name: k for k, name in enumerate(self._queue_names)}
        self._qindex = qindex
        # Columns filled in C where they can be (map, attrgetter, repetition):
        # built job by job in Python they were a thirtieth of a simulated job
        # (benchmarks/bench_sim.py).
        if len(qindex) == 1:
            self._sub_queue = array("H", bytes(2 * n))
        else:
            self._sub_queue = array("H", map(qindex.__getitem__, map(_QUEUE, jobs)))
        self._queue = array("H", self._sub_queue)
        self._remaining = list(map(_DURATION, jobs))
        self._since = [0.0] * n
        self._first_start = [_NAN] * n
        self._finish = [_NAN] * n
        self._wait = [0.0] * n
        self._valid = [-1] * n
        self._hops = array("I", bytes(array("I").itemsize * n))
        self._preemptions = array("I", bytes(array("I").itemsize * n))
        self._state = [_PENDING] * n
        self._outcome = bytearray([UNFINISHED]) * n
        # Per job with tasks: [recorded, succeeded, failed].
        self._tasks: dict[int, list[int]] = (
            {i: [0, 0, 0] for i, s in enumerate(jobs) if s.tasks} if any(map(_TASKS, jobs)) else {}
        )
        nq = len(self._queue_names)
        self._busy = [0.0] * nq
        self._q_preemptions = [0] * nq
        self._hops_in = [0] * nq
        self._hops_out = [0] * nq
        self._routes: dict[tuple[str, str], int] = {}
        self._segments: list[tuple[int, int, float, float]] | None = [] if record_segments else None
        self._heap: list[tuple[float, int, int, int]] = []  # (time, seq, kind, job)
        self._lean_heap: list[tuple[float, int, int]] = []  # the lean loop's: (time, seq, job)
        self._seq = itertools.count()
        # Per job that retried: the attempts it started, and the seconds its
        # earlier attempts ran.
        self._attempts: dict[int, int] = {}
        self._earlier_runs: dict[int, float] = {}
        self._lean = (
            lean
            and not (
                workload.has_controls or workload.actions or self._tasks or any(map(_HOPS, jobs))
            )
            and _instants_finite(jobs)
        )
        self.port = SchedulerPort(workload, self, seed, self._lean)

    # ------------------------------------------------------------------ callbacks

    def started(self, i: int, t: float) -> None:
        if self._first_start[i] != self._first_start[i]:  # NaN: the first start
            self._first_start[i] = t
        self._wait[i] += t - self._since[i]
        self._since[i] = t
        self._state[i] = _RUNNING
        self._schedule(i)

    def _schedule(self, i: int) -> None:
        """Push job ``i``'s next entry: its next task, or the end of its work."""
        seq = next(self._seq)
        self._valid[i] = seq
        end = self._since[i] + self._remaining[i]
        progress = self._tasks.get(i) if self._tasks else None
        if progress is not None:
            spec = self._workload.jobs[i]
            done = progress[0]
            if done < spec.tasks:
                duration = spec.duration
                worked = duration - self._remaining[i]
                due = self._since[i] + (duration * (done + 1) / spec.tasks - worked)
                if due < end:
                    heapq.heappush(self._heap, (due, seq, _TASK_DONE, i))
                    return
        heapq.heappush(self._heap, (end, seq, _COMPLETE_WORK, i))

    def drain_starts(self) -> None:
        """Account the starts the port recorded (lean loop), in order.

        What ``started`` and ``_schedule`` do for a job without tasks, with
        the lean loop's heap entries; ``_run_lean`` has the same lines inline.
        """
        starts = self.port.starts
        if not starts:
            return
        by_number = self.port.by_number
        first_start, wait, since = self._first_start, self._wait, self._since
        for rec, t in starts.items():
            j = by_number[rec.index]
            if first_start[j] != first_start[j]:  # NaN: the first start
                first_start[j] = t
            wait[j] += t - since[j]
            since[j] = t
            self._state[j] = _RUNNING
            s = next(self._seq)
            self._valid[j] = s
            heapq.heappush(self._lean_heap, (t + self._remaining[j], s, j))
        starts.clear()

    def _close_run(self, i: int, t: float) -> None:
        ran = t - self._since[i]
        self._remaining[i] -= ran
        q = self._queue[i]
        self._busy[q] += ran
        if self._segments is not None:
            self._segments.append((i, q, self._since[i], t))
        self._since[i] = t
        self._valid[i] = -1

    def paused(self, i: int, t: float) -> None:
        self._close_run(i, t)
        self._state[i] = _WAITING
        self._preemptions[i] += 1
        self._q_preemptions[self._queue[i]] += 1

    def finished(self, i: int, t: float, failed: bool) -> None:
        if self._state[i] == _RUNNING:
            self._close_run(i, t)
            if not failed:
                self._remaining[i] = 0.0  # the work is done, whatever rounding says
        else:
            self._wait[i] += t - self._since[i]
        self._state[i] = _DONE
        self._finish[i] = t
        self._outcome[i] = FAILED if failed else COMPLETE

    def started_controlled(self, i: int, t: float) -> None:
        if self._state[i] == _BACKOFF:
            self._attempts[i] += 1  # a new attempt
        self.started(i, t)

    def retrying(self, i: int, t: float) -> None:
        self._close_run(i, t)
        duration = self._workload.jobs[i].duration
        self._attempts.setdefault(i, 1)
        self._earlier_runs[i] = self._earlier_runs.get(i, 0.0) + duration - self._remaining[i]
        self._remaining[i] = duration  # the next attempt runs the work from the start
        self._state[i] = _BACKOFF
        progress = self._tasks.get(i)
        if progress is not None:
            # The scheduler keeps the tasks that succeeded and forgets the
            # failed ones, which the next attempt records again.
            progress[0] = 0
            progress[2] = 0

    def end_of_work(self, i: int) -> None:
        """The work of job ``i``'s attempt ran out (in a workload with controls)."""
        self.port.end_attempt(i, self._workload.jobs[i].fails)

    def hopped(self, i: int, t: float, source: str, destination: str) -> None:
        self._hops[i] += 1
        self._queue[i] = self._qindex[destination]
        self._hops_out[self._qindex[source]] += 1
        self._hops_in[self._qindex[destination]] += 1
        route = (source, destination)
        self._routes[route] = self._routes.get(route, 0) + 1

    # ------------------------------------------------------------------ tasks

    def _record_due_tasks(self, i: int, t: float, everything: bool) -> None:
        """Record the tasks of job ``i`` finished by ``t`` (all of them if ``everything``)."""
        spec = self._workload.jobs[i]
        progress = self._tasks[i]
        total = spec.tasks
        if everything:
            last = total
        else:
            worked = spec.duration - (self._remaining[i] - (t - self._since[i]))
            last = min(total, max(progress[0] + 1, math.floor(worked * total / spec.duration)))
        rate = spec.task_failure_rate
        rng = self._rng.random
        port = self.port
        retried = i in self._attempts if self._attempts else False
        while progress[0] < last and self._state[i] == _RUNNING:
            key = str(progress[0])
            if retried and port.task_succeeded(i, key):
                progress[0] += 1  # an earlier attempt did it
                continue
            ok = rate == 0.0 or rng() >= rate
            progress[0] += 1
            progress[1 if ok else 2] += 1
            port.record_task(i, key, ok)

    # ------------------------------------------------------------------ the loop

    def run(self, until: float) -> SimResult:
        # The run allocates millions of acyclic objects (records, tuples) and
        # keeps them; the cyclic collector would rescan them over and over,
        # for nothing, so it is paused for the run and restored after.
        collecting = gc.isenabled()
        gc.disable()
        try:
            self.port.hook()
            result = self._run_lean(until) if self._lean else self._run(until)
            # The columns go with the run (the result keeps its own arrays),
            # and so do the port's records: they were a tenth of the memory a
            # finished job kept (benchmarks/bench_sim.py --memory). Lists
            # while it runs: a list stores and reads a float object as it is,
            # an array converts it both ways, and the lean loop does a dozen
            # of these per job (a thirtieth of its time).
            self.port.unhook()
            self._since, self._valid, self._state = [], [], []
            self._first_start, self._finish, self._wait, self._remaining = [], [], [], []
            self._sub_queue = array("H")
            return result
        finally:
            if gc.get_freeze_count() == 0:
                # Still young, the run's survivors would all be rescanned by the
                # next young-generation collection, a pause as long as a full one.
                # They live as long as the result, so move them to the oldest
                # generation at once (an O(1) list splice). Skipped when the
                # application froze objects itself: unfreeze would thaw those.
                gc.freeze()
                gc.unfreeze()
            if collecting:
                gc.enable()

    def _arrivals(self) -> tuple[range | list[int], list[float]]:
        """The jobs in arrival order (ties in workload order), and their arrival times."""
        jobs = self._workload.jobs
        arrivals = list(map(_ARRIVAL, jobs))
        # Compared in C: a generator over the pairs was a Python-level step per
        # job (benchmarks/bench_sim.py).
        if arrivals == sorted(arrivals):
            return range(len(jobs)), arrivals
        order = sorted(range(len(jobs)), key=arrivals.__getitem__)
        return order, [arrivals[i] for i in order]

    def _run_lean(self, until: float) -> SimResult:
        """The loop of a workload without controls, tasks, hops or actions; see the module doc.

        It does what ``_run`` does for such a workload, with the driver's
        callbacks inlined: work that ends first at an instant, then arrivals.
        """
        jobs = self._workload.jobs
        order, arrivals = self._arrivals()
        n_arrivals = len(arrivals)
        start = arrivals[0] if arrivals else 0.0
        heap = self._lean_heap
        valid = self._valid
        state = self._state
        since = self._since
        first_start = self._first_start
        finish = self._finish
        wait = self._wait
        remaining = self._remaining
        outcome = self._outcome
        queue = self._queue
        busy = self._busy
        segments = self._segments
        port = self.port
        # The loop writes its clock's time itself: ``set``'s checks (a finite
        # time, never earlier) hold by construction here, since arrivals come
        # sorted, completions off a heap of later times, and every instant is
        # finite (``_instants_finite``); two calls of ``set`` per job were
        # 0.2 us of 7 (benchmarks/bench_sim.py, FIFO).
        clock = port.clock
        submit = port.submit_lean
        complete = port.complete_record
        recs = port.recs
        starts = port.starts
        by_number = port.by_number
        check = port.check_invariants if self._check else None
        seq = self._seq
        push = heapq.heappush
        pop = heapq.heappop
        limit = until
        now = port.clock.now()
        last = start
        k = 0  # next arrival
        ta = arrivals[0] if arrivals else _INF
        while True:
            if heap and heap[0][0] <= ta:
                # Work ends (before or with the next arrival).
                t = heap[0][0]
                if t > limit:
                    break
                _, s, i = pop(heap)
                if valid[i] != s:
                    continue  # the job was paused since this was scheduled
                if t != now:
                    clock._now = now = t
                last = t
                # What finished() does for a running job that completes (but
                # for since and valid, which nothing reads for a finished job),
                # before the call, as the hook did: a pause in the call's
                # dispatch then adds to busy and segments after it.
                q = queue[i]
                busy[q] += t - since[i]
                if segments is not None:
                    segments.append((i, q, since[i], t))
                remaining[i] = 0.0  # the work is done, whatever rounding says
                state[i] = _DONE
                finish[i] = t
                outcome[i] = COMPLETE
                rec = recs[i]
                assert rec is not None
                complete(rec, t)
            elif ta == _INF or ta > limit:
                break
            else:
                # An arrival.
                i = order[k]
                k += 1
                t = ta
                ta = arrivals[k] if k < n_arrivals else _INF
                if t != now:
                    clock._now = now = t
                last = t
                state[i] = _WAITING
                since[i] = t
                if submit(i, jobs[i], t) is None:
                    state[i] = _DONE
                    outcome[i] = REJECTED
            if starts:
                # drain_starts(), inline: a call per job here was 0.2-0.3 us of
                # a FIFO job's 7.3 (benchmarks/bench_sim.py), the margin of the
                # 1M row. Change the two together.
                for rec, t in starts.items():
                    j = by_number[rec.index]
                    if first_start[j] != first_start[j]:  # NaN: the first start
                        first_start[j] = t
                    wait[j] += t - since[j]
                    since[j] = t
                    state[j] = _RUNNING
                    s = next(seq)
                    valid[j] = s
                    push(heap, (t + remaining[j], s, j))
                starts.clear()
            if check is not None:
                check()
        return self._result(start, last)

    def _run(self, until: float) -> SimResult:
        workload = self._workload
        jobs = workload.jobs
        order, arrivals = self._arrivals()
        actions = sorted(workload.actions, key=lambda a: a.time)
        controls = workload.has_controls
        timers = controls or any(spec.hops for spec in jobs)
        limit = until
        n_arrivals = len(arrivals)
        n_actions = len(actions)
        start = min(arrivals[0] if arrivals else _INF, actions[0].time if actions else _INF)
        if start == _INF:
            start = 0.0
        heap = self._heap
        valid = self._valid
        state = self._state
        since = self._since
        outcome = self._outcome
        port = self.port
        set_time = port.set_time
        submit = port.submit_controlled if controls else port.submit
        complete = self.end_of_work if controls else port.complete
        check = port.check_invariants if self._check else None
        tasks = self._tasks
        pop = heapq.heappop
        k = 0  # next arrival
        a = 0  # next action
        last = start
        while True:
            th = heap[0][0] if heap else _INF
            ta = arrivals[k] if k < n_arrivals else _INF
            tx = actions[a].time if a < n_actions else _INF
            # When nothing runs or is due to arrive, only a timer of a job's
            # controls (a start time, a backoff, a wait limit) moves on.
            if (
                th == _INF
                and ta == _INF
                and tx == _INF
                and not (controls and port.timers_pending())
            ):
                break
            td = _INF
            if timers:
                deadline = port.next_deadline()
                if deadline is not None:
                    td = deadline
            if th <= ta and th <= tx and th <= td:
                if th > limit:
                    break
                _, seq, kind, i = pop(heap)
                if valid[i] != seq:
                    continue  # the job paused or failed since this was scheduled
                set_time(th)
                last = th
                if kind == _COMPLETE_WORK:
                    if i in tasks:
                        self._record_due_tasks(i, th, everything=True)
                    if state[i] == _RUNNING:
                        complete(i)
                else:
                    self._record_due_tasks(i, th, everything=False)
                    if state[i] == _RUNNING and valid[i] == seq:
                        self._schedule(i)
            elif td <= ta and td <= tx:
                if td > limit:
                    break
                set_time(td)
                last = td
                port.poll()
            elif tx <= ta:
                if tx > limit:
                    break
                action = actions[a]
                a += 1
                set_time(tx)
                last = tx
                port.queue_action(action.queue, action.action)
            else:
                if ta > limit:
                    break
                i = order[k]
                k += 1
                set_time(ta)
                last = ta
                state[i] = _WAITING
                since[i] = ta
                if not submit(i, jobs[i]):
                    state[i] = _DONE
                    outcome[i] = REJECTED
            if check is not None:
                check()
        return self._result(start, last)

    # ------------------------------------------------------------------ the result

    def _result(self, start: float, end: float) -> SimResult:
        state = self._state
        if _WAITING in state or _RUNNING in state:  # some job is unfinished
            for i in range(len(state)):
                if state[i] == _WAITING:
                    self._wait[i] += end - self._since[i]
                elif state[i] == _RUNNING:
                    self._close_run(i, end)
        port = self.port
        if self._workload.has_controls:
            for i in range(len(state)):
                waited = port.waited(i, end)
                if waited is not None:
                    self._wait[i] = waited
        names = self._queue_names
        infos = {info.name: info for info in port.scheduler.list_queues()}
        wait = array("d", self._wait)
        columns = Columns(
            self._outcome,
            self._sub_queue,
            self._queue,
            wait,
            self._busy,
            self._hops_in,
            self._hops_out,
            self._q_preemptions,
        )
        stats = queue_stats(names, infos, columns, end - start)
        failures = {i: port.failure_code(i) for i in failed_jobs(self._outcome)}
        table = JobTable(
            workload=self._workload,
            queue_names=names,
            ids=self.port.ids,
            first_start=array("d", self._first_start),
            finish=array("d", self._finish),
            wait=wait,
            remaining=array("d", self._remaining),
            outcome=self._outcome,
            queue=self._queue,
            hops=self._hops,
            preemptions=self._preemptions,
            tasks={i: (p[1], p[2]) for i, p in self._tasks.items()},
            retried={i: (n, self._earlier_runs[i]) for i, n in self._attempts.items()},
            failures=failures,
        )
        segments = (
            None
            if self._segments is None
            else tuple(RunSegment(i, names[q], s, e) for i, q, s, e in self._segments)
        )
        return SimResult(
            workload=self._workload,
            seed=self._seed,
            start=start,
            end=end,
            jobs=table,
            queues=stats,
            hop_routes=tuple(HopRoute(s, d, n) for (s, d), n in self._routes.items()),
            usage=self.port.scheduler.usage_report(),
            segments=segments,
        )


def _instants_finite(jobs: tuple[JobSpec, ...]) -> bool:
    """Whether every instant of a run of ``jobs`` is surely finite: the lean loop's premise.

    While work waits, a slot runs some of it (nothing pauses a queue in a
    lean workload), so no job finishes later than the last arrival plus all
    the work; twice that leaves room for rounding. Otherwise the general
    loop runs, whose clock refuses a time that is not finite.
    """
    if not jobs:
        return True
    try:
        work = math.fsum(map(_DURATION, jobs))
    except OverflowError:  # the sum of finite durations is past the largest float
        return False
    return math.isfinite(2.0 * (max(map(_ARRIVAL, jobs)) + work))
