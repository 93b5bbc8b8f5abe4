"""Benchmark: the small speed tricks the core's comments name, each against the plain way.

A trick in the code pays rent only while this table shows it: each row times
the plain way and the trick in the same run (``timeit``, best of
``--repeat``), and the ratio is what the comment beside the trick relies on.
A row whose ratio falls to about 1.0 marks a trick to remove.

| row | where the trick is |
|---|---|
| raw event tuple vs frozen event | ``_core/outbox.py``: events are kept raw until delivered |
| enum member: module constant vs class attribute | ``_core/core.py``, ``_core/ledger.py``, |
| | ``store/_batches.py``, ``runtime/_handles.py`` |
| ``zip`` without vs with ``strict=True`` | ``_core/records.py``: ``history_pairs`` |
| 14 arguments: positional vs keyword | ``_core/core.py``: ``Core.submit`` |

Run from the repository root::

    python benchmarks/bench_tricks.py
    python benchmarks/bench_tricks.py --number 20000 --repeat 3
"""

from __future__ import annotations

import argparse
import platform
import sys
import timeit
from collections.abc import Callable, Sequence

from jobqueue import JobStatus, ManualClock, Scheduler
from jobqueue._events import JobTransitioned

_ACTIVE = JobStatus.ACTIVE


def _args14(
    a: object, b: object, c: object, d: object, e: object, f: object, g: object,
    h: object, i: object, j: object, k: object, m: object, n: object, o: object,
) -> None:  # fmt: skip
    return None


def _rows() -> list[tuple[str, Callable[[], object], Callable[[], object]]]:
    history: list[object] = [0.0, JobStatus.NEW, 1.0, JobStatus.PREPARING, 2.0, JobStatus.READY]
    ready, active = JobStatus.READY, JobStatus.ACTIVE
    return [
        (
            "raw event tuple vs frozen event",
            lambda: JobTransitioned(1.0, "job-1", ready, active, ""),
            lambda: (JobTransitioned, 1.0, "job-1", ready, active, ""),
        ),
        (
            "enum member: module constant vs class attribute",
            lambda: JobStatus.ACTIVE,
            lambda: _ACTIVE,
        ),
        (
            "zip without vs with strict=True",
            lambda: tuple(zip(history[0::2], history[1::2], strict=True)),
            lambda: tuple(zip(history[0::2], history[1::2])),  # noqa: B905
        ),
        (
            "14 arguments: positional vs keyword",
            lambda: _args14(
                a=1, b=2, c=3, d=4, e=5, f=6, g=7, h=8, i=9, j=10, k=11, m=12, n=13, o=14
            ),
            lambda: _args14(1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14),
        ),
    ]


def _best(fn: Callable[[], object], number: int, repeat: int) -> float:
    return min(timeit.repeat(fn, number=number, repeat=repeat)) / number


def _submission_ns(number: int, repeat: int) -> float:
    """What one ``Scheduler.submit`` costs, for scale: the keyword row is a share of it."""
    clock = ManualClock()
    sched = Scheduler(clock, retention=1e9)
    sched.update_queue("default", slots=10**9, max_waiting=10**9)
    return _best(lambda: sched.submit(), number, repeat) * 1e9


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--number", type=int, default=200_000, help="calls per timing")
    parser.add_argument("--repeat", type=int, default=5, help="timings per row (best is kept)")
    args = parser.parse_args(argv)
    if args.number < 1 or args.repeat < 1:
        parser.error("--number and --repeat must be at least 1")
    shown = " ".join(argv if argv is not None else sys.argv[1:])
    print(f"command: python benchmarks/bench_tricks.py {shown}".rstrip())
    print(f"Python {platform.python_version()}, best of {args.repeat} x {args.number} calls")
    print()
    print("| trick | plain ns | trick ns | plain / trick |")
    print("|---|---:|---:|---:|")
    keyword_extra = 0.0
    for name, plain, trick in _rows():
        p = _best(plain, args.number, args.repeat) * 1e9
        t = _best(trick, args.number, args.repeat) * 1e9
        print(f"| {name} | {p:.1f} | {t:.1f} | {p / t:.2f}x |")
        if name.startswith("14 arguments"):
            keyword_extra = p - t
    submit = _submission_ns(max(1, args.number // 20), args.repeat)
    print()
    print(
        f"one Scheduler.submit: {submit:.0f} ns; keyword arguments would add "
        f"{keyword_extra:.0f} ns ({100 * keyword_extra / submit:.1f} %)"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
