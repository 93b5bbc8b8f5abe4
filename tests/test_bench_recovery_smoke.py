"""A tiny run of ``benchmarks/bench_recovery.py``: it runs and prints its table."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

BENCH = Path(__file__).resolve().parent.parent / "benchmarks" / "bench_recovery.py"


def test_bench_recovery_smoke() -> None:
    done = subprocess.run(
        [sys.executable, str(BENCH), "--jobs", "300", "--repeat", "1"],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    lines = done.stdout.splitlines()
    assert lines[0] == "command: python benchmarks/bench_recovery.py --jobs 300 --repeat 1"
    rows = [line.split(" | ")[0] for line in lines if line.startswith("| ") and "µs" not in line]
    assert rows == [
        "| as shipped (fast path)",
        "| every field one by one",
        "| no checks at all",
        "| the invariant check alone",
    ]
    assert lines[-1].startswith("checking adds ")
