"""A tiny run of ``benchmarks/bench_sim.py``: it works, and all implementations agree.

The benchmark itself (sizes of 10k jobs and up) is a program, not a test; this
only makes sure it still runs and that jobqueue, SimPy and the heapq loop give
every job the same start and finish at a small size.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("simpy")

pytestmark = pytest.mark.slow

BENCH = Path(__file__).resolve().parent.parent / "benchmarks" / "bench_sim.py"


def test_bench_sim_smoke() -> None:
    done = subprocess.run(
        [sys.executable, str(BENCH), "--sizes", "400", "--memory", "fifo"],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    rows = [line for line in done.stdout.splitlines() if line.startswith("| ") and "400" in line]
    speed = [row for row in rows if row.endswith("| identical |")]
    assert [row.split(" | ")[0] for row in speed] == ["| fifo", "| priority", "| preemptive"]
    assert len(rows) == 4  # three speed rows and one memory row (FIFO)
    assert "DIFFERS" not in done.stdout
    assert "What stands in the way of 2x (FIFO, 400 jobs): it leaves " in done.stdout


def test_bench_sim_times_with_the_collector_off_on_request() -> None:
    done = subprocess.run(
        [sys.executable, str(BENCH), "--sizes", "200", "--memory", "none", "--gc", "off"],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "cyclic collector off" in done.stdout
    speed = [line for line in done.stdout.splitlines() if line.endswith("| identical |")]
    assert len(speed) == 3
