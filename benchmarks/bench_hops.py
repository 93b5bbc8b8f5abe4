"""Benchmark: the cost of queue hopping as the number of waiting jobs grows.

``n`` jobs, each with one hop rule, are submitted to a reserved queue whose only
slot is taken, so every one of them waits; their waits are spread so that ten
jobs come due at each deadline. The driver then does what a virtual-time
runtime does: jump the ``ManualClock`` to ``next_deadline()`` and ``poll()``,
until no timer is left. Every job hops into an on-demand queue whose only
slot is also taken, so it waits there too. Both queues use the priority policy
(ten priority levels), so every hop leaves one sorted line and enters another.

Reported per size (median of ``--repeat`` runs): CPU microseconds per
``submit()``, per hop, and per ``poll()`` (each poll does ten hops and one
``next_deadline()``). Each operation is O(log n): the timers are a heap and
the lines sorted lists, so from 10k to 100k jobs the cost per operation should
grow by about log(100k)/log(10k) = 1.25, not by 10. Python's cyclic garbage
collector stays on, as in an application; it adds to the larger size.

The floor is the same work done by a hand-written loop (a ``heapq`` of timers
and two ``SortedList`` lines keyed ``(-priority, seq)``), with none of the
scheduler's state machine, validation or bookkeeping: the ratio column says
what those cost per hop.

Run from the repository root::

    python benchmarks/bench_hops.py                       # 10k and 100k jobs, median of 3
    python benchmarks/bench_hops.py --sizes 1000 --repeat 1

Output of ``python benchmarks/bench_hops.py`` on a busy 2-core machine (CPU
time, so other processes weigh less; still compare the ratios, not the µs)::

    command: python benchmarks/bench_hops.py
    Python 3.11.7, x86_64, 10 jobs per deadline, median of 3

    | jobs | submit µs | hop µs | poll µs | floor submit µs | floor hop µs | hop / floor |
    |---:|---:|---:|---:|---:|---:|---:|
    | 10000 | 34.00 | 16.98 | 169.76 | 2.21 | 5.19 | 3.3x |
    | 100000 | 44.90 | 20.94 | 209.44 | 2.72 | 6.94 | 3.0x |

    growth 10000 -> 100000: submit x1.32, hop x1.23, poll x1.23 (log n x1.25, n x10)
"""

from __future__ import annotations

import argparse
import heapq
import itertools
import math
import platform
import statistics
import sys
import time
from collections.abc import Sequence

from sortedcontainers import SortedList

from jobqueue import HopRule, ManualClock, Scheduler

GROUP = 10  # jobs per deadline
PRIORITIES = 10


def wait_of(i: int) -> float:
    """The hop wait of job ``i``: ten jobs share each deadline, a second apart."""
    return 60.0 + float(i // GROUP)


def jobqueue_run(n: int, check: bool) -> tuple[float, float, int, int]:
    """Submit ``n`` hopping jobs and hop them all; returns (submit s, hop s, polls, hops)."""
    clock = ManualClock()
    sched = Scheduler(clock)
    sched.create_queue(
        "reserved", slots=1, policy="priority", pricing="reserved", max_waiting=n + 1
    )
    sched.create_queue("on-demand", slots=1, policy="priority", max_waiting=n + 1)
    sched.submit(queue="reserved")  # takes the only slot: everything after it waits
    sched.submit(queue="on-demand")
    rules = [[HopRule("on-demand", wait_of(i))] for i in range(n)]

    start = time.process_time()
    for i in range(n):
        sched.submit(queue="reserved", priority=i % PRIORITIES, hops=rules[i])
    submitted = time.process_time()
    polls = hops = 0
    while (deadline := sched.next_deadline()) is not None:
        clock.set(deadline)
        hops += sched.poll()
        polls += 1
    done = time.process_time()

    if hops != n or sched.get_queue("on-demand").waiting != n:
        raise AssertionError(f"expected {n} hops, saw {hops}")
    if check:
        sched.check_invariants()
    return submitted - start, done - submitted, polls, hops


def floor_run(n: int) -> tuple[float, float]:
    """The same work with a bare heap and two sorted lines; returns (submit s, hop s)."""
    reserved: SortedList[tuple[int, int]] = SortedList()
    on_demand: SortedList[tuple[int, int]] = SortedList()
    timers: list[tuple[float, int, int]] = []
    keys: list[tuple[int, int]] = []
    seq = 0

    start = time.process_time()
    for i in range(n):
        key = (-(i % PRIORITIES), seq)
        seq += 1
        keys.append(key)
        reserved.add(key)
        heapq.heappush(timers, (wait_of(i), seq, i))
    submitted = time.process_time()
    while timers:
        now = timers[0][0]
        while timers and timers[0][0] <= now:
            i = heapq.heappop(timers)[2]
            reserved.remove(keys[i])
            key = (keys[i][0], seq)
            seq += 1
            keys[i] = key
            on_demand.add(key)
    done = time.process_time()

    if len(on_demand) != n:
        raise AssertionError("the floor lost a job")
    return submitted - start, done - submitted


def measure(n: int, repeat: int) -> dict[str, float]:
    """Medians, in microseconds per operation, for one size."""
    submit, hop, poll, floor_submit, floor_hop = [], [], [], [], []
    for _ in range(repeat):
        s, h, polls, hops = jobqueue_run(n, check=n <= 10_000)
        submit.append(s / n)
        hop.append(h / hops)
        poll.append(h / polls)
        fs, fh = floor_run(n)
        floor_submit.append(fs / n)
        floor_hop.append(fh / n)
    us = 1e6
    return {
        "submit": statistics.median(submit) * us,
        "hop": statistics.median(hop) * us,
        "poll": statistics.median(poll) * us,
        "floor submit": statistics.median(floor_submit) * us,
        "floor hop": statistics.median(floor_hop) * us,
    }


def table(results: dict[int, dict[str, float]]) -> list[str]:
    """The results as a Markdown table, one row per size, then the growth between sizes."""
    lines = [
        "| jobs | submit µs | hop µs | poll µs | floor submit µs | floor hop µs | hop / floor |",
        "|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for n, r in results.items():
        lines.append(
            f"| {n} | {r['submit']:.2f} | {r['hop']:.2f} | {r['poll']:.2f} "
            f"| {r['floor submit']:.2f} | {r['floor hop']:.2f} "
            f"| {r['hop'] / r['floor hop']:.1f}x |"
        )
    sizes = list(results)
    for small, large in itertools.pairwise(sizes):
        a, b = results[small], results[large]
        log_ratio = math.log(large) / math.log(small) if small > 1 else float("nan")
        lines.append("")
        lines.append(
            f"growth {small} -> {large}: submit x{b['submit'] / a['submit']:.2f}, "
            f"hop x{b['hop'] / a['hop']:.2f}, poll x{b['poll'] / a['poll']:.2f} "
            f"(log n x{log_ratio:.2f}, n x{large / small:.0f})"
        )
    return lines


def main(argv: Sequence[str] | None = None) -> int:
    """Run the benchmark and print the table; returns the exit status."""
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument(
        "--sizes",
        type=lambda text: [int(part) for part in text.split(",")],
        default=[10_000, 100_000],
        help="comma-separated numbers of jobs (default: 10000,100000)",
    )
    parser.add_argument("--repeat", type=int, default=3, help="runs per size (median)")
    args = parser.parse_args(argv)
    if any(n < GROUP for n in args.sizes) or args.repeat < 1:
        parser.error(f"--sizes must each be >= {GROUP} and --repeat >= 1")
    shown = " ".join(sys.argv[1:] if argv is None else argv)
    print(f"command: python benchmarks/bench_hops.py {shown}".rstrip())
    print(
        f"Python {platform.python_version()}, {platform.machine()}, "
        f"{GROUP} jobs per deadline, median of {args.repeat}"
    )
    print()
    results = {n: measure(n, args.repeat) for n in args.sizes}
    for line in table(results):
        print(line)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
