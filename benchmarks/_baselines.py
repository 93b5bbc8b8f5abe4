"""Baselines for ``bench_sim.py``: SimPy, and a minimal heapq loop as the pure-Python floor.

Both model jobqueue's rules for one queue of ``slots`` slots, every job
deferred and preemptible, and return each job's first start and final finish:

* FIFO: jobs start in arrival order.
* priority: higher priority first; ties in order of entry, and a preempted job
  keeps its original entry order when it rejoins the line (it goes before
  later arrivals of equal priority).
* preemption: a waiting job that cannot start pauses the running job of the
  lowest priority, the most recently started among equals, if and only if that
  priority is strictly lower. The paused job keeps the work it has left and
  finishes at resume time + remaining work.

Modelling these rules in SimPy
------------------------------
SimPy orders a ``PriorityResource`` queue by the request key
``(priority, request time, not preempt)``, lower first, and a
``PreemptiveResource`` preempts the user with the largest key when a request
with a smaller key arrives. Two of jobqueue's rules differ from SimPy's own:

1. A preempted SimPy process re-requests at the preemption time, so with plain
   priorities it would queue behind equal-priority jobs that arrived before
   its preemption. Here each request's priority is the tuple
   ``(-priority, arrival index)``: the arrival index is exactly jobqueue's
   entry order, and it is unique, so the request time never decides anything.
2. SimPy's victim is the user with the largest key, i.e. the lowest priority
   and, among equals, the *latest arrival*; jobqueue's is the most recently
   *started*. With every job preemptible, no hops and no priority changes,
   the two coincide: equal-priority jobs start in entry order from the head
   of the line, a victim always has the largest entry order among the running
   jobs of its priority, and it rejoins ahead of every later arrival, so among
   running jobs of one priority, entry order and start order agree. For the
   same reason an equal-priority request never has the smaller key, so SimPy
   never preempts for an equal priority either.

For the non-preemptive priority variant the plain ``-priority`` is enough:
ties are broken by request time, which is arrival order. Arrivals are driven
by the exact gaps between the workload's arrival times, so SimPy's clock hits
every arrival time bit for bit (see ``exact_gaps``). The benchmark checks that
all implementations agree on every job's first start and finish.
"""

from __future__ import annotations

import heapq
import math
from collections import deque
from collections.abc import Generator, Sequence
from typing import Any, Literal

import simpy

__all__ = ["Variant", "exact_gaps", "heapq_run", "simpy_run"]

Variant = Literal["fifo", "priority", "preemptive"]
Times = tuple[list[float], list[float]]


def exact_gaps(arrivals: Sequence[float]) -> list[float]:
    """Gaps ``g`` with ``arrivals[i - 1] + g[i] == arrivals[i]`` exactly (from 0.0).

    ``arrivals[i] - arrivals[i - 1]`` can be off by an ulp; nudging it finds a
    gap that a clock adding gaps (as SimPy's does) lands on exactly.
    """
    gaps = []
    prev = 0.0
    for t in arrivals:
        gap = t - prev
        while prev + gap < t:
            gap = math.nextafter(gap, math.inf)
        while prev + gap > t:
            gap = math.nextafter(gap, -math.inf)
        gaps.append(gap)
        prev = t
    return gaps


def simpy_run(
    gaps: Sequence[float],
    durations: Sequence[float],
    priorities: Sequence[int],
    slots: int,
    variant: Variant,
) -> Times:
    """Run the workload through SimPy; returns (first starts, finishes)."""
    n = len(gaps)
    start = [math.nan] * n
    finish = [math.nan] * n
    env = simpy.Environment()

    def fifo(res: simpy.Resource, i: int) -> Generator[Any, Any, None]:
        with res.request() as req:
            yield req
            start[i] = env.now
            yield env.timeout(durations[i])
            finish[i] = env.now

    def priority(res: simpy.PriorityResource, i: int) -> Generator[Any, Any, None]:
        with res.request(priority=-priorities[i]) as req:
            yield req
            start[i] = env.now
            yield env.timeout(durations[i])
            finish[i] = env.now

    def preemptive(res: simpy.PreemptiveResource, i: int) -> Generator[Any, Any, None]:
        remaining = durations[i]
        key = (-priorities[i], i)
        while True:
            with res.request(priority=key) as req:  # type: ignore[arg-type]
                yield req
                began = env.now
                if start[i] != start[i]:  # NaN: the first start
                    start[i] = began
                try:
                    yield env.timeout(remaining)
                    finish[i] = env.now
                    return
                except simpy.Interrupt:
                    remaining -= env.now - began

    def source(res: Any, job: Any) -> Generator[Any, Any, None]:
        timeout = env.timeout
        process = env.process
        for i, gap in enumerate(gaps):
            yield timeout(gap)
            process(job(res, i))

    if variant == "fifo":
        env.process(source(simpy.Resource(env, slots), fifo))
    elif variant == "priority":
        env.process(source(simpy.PriorityResource(env, slots), priority))
    else:
        env.process(source(simpy.PreemptiveResource(env, slots), preemptive))
    env.run()
    return start, finish


def heapq_run(
    arrivals: Sequence[float],
    durations: Sequence[float],
    priorities: Sequence[int],
    slots: int,
    variant: Variant,
) -> Times:
    """The same rules in a minimal event loop: a heap of completions, lazy invalidation.

    Completion entries are ``(time, seq, job)``; a job's entry is valid while
    ``valid[job] == seq`` (a preempted job's entry goes stale). Completions at
    an instant are handled before arrivals at the same instant, as jobqueue's
    simulation driver does.
    """
    n = len(arrivals)
    start = [math.nan] * n
    finish = [math.nan] * n
    remaining = list(durations)
    since = [0.0] * n
    valid = [-1] * n
    events: list[tuple[float, int, int]] = []
    running: list[tuple[int, int, int]] = []  # (priority, -start seq, job): best victim first
    push, pop = heapq.heappush, heapq.heappop
    fifo = variant == "fifo"
    preempt = variant == "preemptive"
    line: deque[int] = deque()
    waiting: list[tuple[int, int]] = []  # (-priority, entry order == job index)
    free = slots
    seq = 0
    k = 0
    inf = math.inf
    while True:
        th = events[0][0] if events else inf
        ta = arrivals[k] if k < n else inf
        if th == inf and ta == inf:
            break
        if th <= ta:
            now, s, i = pop(events)
            if valid[i] != s:
                continue
            valid[i] = -1
            finish[i] = now
            free += 1
        else:
            now = ta
            if fifo:
                line.append(k)
            else:
                push(waiting, (-priorities[k], k))
            k += 1
        # Start from the head while slots allow; otherwise preempt for it.
        while True:
            if fifo:
                if not line or not free:
                    break
                i = line.popleft()
            else:
                if not waiting:
                    break
                if not free:
                    if not preempt:
                        break
                    head_priority = -waiting[0][0]
                    while running and valid[running[0][2]] != -running[0][1]:
                        pop(running)
                    if not running or running[0][0] >= head_priority:
                        break
                    victim = pop(running)[2]
                    remaining[victim] -= now - since[victim]
                    valid[victim] = -1
                    push(waiting, (-priorities[victim], victim))
                    free += 1
                    continue
                i = pop(waiting)[1]
            free -= 1
            if start[i] != start[i]:
                start[i] = now
            since[i] = now
            seq += 1
            valid[i] = seq
            push(events, (now + remaining[i], seq, i))
            if preempt:
                push(running, (priorities[i], -seq, i))
    return start, finish
