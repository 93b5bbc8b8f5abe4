"""A tiny run of ``benchmarks/bench_store.py``: it runs and prints its table.

The benchmark itself (20k jobs and more) is a program, not a test; this only
makes sure it still works end to end at a small size.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

BENCH = Path(__file__).resolve().parent.parent / "benchmarks" / "bench_store.py"


def test_bench_store_smoke(tmp_path: Path) -> None:
    done = subprocess.run(
        [
            sys.executable,
            str(BENCH),
            "--jobs",
            "200",
            "--full-jobs",
            "20",
            "--repeat",
            "1",
            "--dir",
            str(tmp_path),
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    lines = done.stdout.splitlines()
    assert lines[0] == (
        "command: python benchmarks/bench_store.py --jobs 200 --full-jobs 20 --repeat 1 "
        f"--dir {tmp_path}"
    )
    modes = [line.split(" | ")[0] for line in lines if line.startswith("| ") and "/s" not in line]
    assert modes == [
        "| none",
        "| memory",
        "| full",
        "| batched",
        "| raw full",
        "| raw batched",
        "| raw unsynced",
    ]
    assert lines[-2].startswith("target: batched >= 50 % of raw batched inserts: ")
    assert lines[-1].startswith("batched against raw inserts that never sync: ")
    assert list(tmp_path.iterdir()) == []  # the database files are removed
