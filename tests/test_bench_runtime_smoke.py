"""A tiny run of the runtime benchmark, so that it keeps working (its numbers are not checked)."""

from __future__ import annotations

import importlib.util
import re
from pathlib import Path

import pytest

pytestmark = [pytest.mark.runtime, pytest.mark.slow]

BENCH = Path(__file__).resolve().parent.parent / "benchmarks" / "bench_runtime.py"


def test_the_runtime_benchmark_runs_tiny_and_prints_its_tables(
    capsys: pytest.CaptureFixture[str],
) -> None:
    spec = importlib.util.spec_from_file_location("bench_runtime", BENCH)
    assert spec is not None and spec.loader is not None
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)

    argv = ["--tasks", "300", "--workers", "2", "--repeat", "1", "--samples", "10"]
    assert bench.main(argv) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0] == "$ python benchmarks/bench_runtime.py " + " ".join(argv)
    assert re.fullmatch(r"python \S+, 2 pool threads, 300 no-op tasks per run", out[1])
    for name in (
        "ThreadPoolExecutor.submit (direct)",
        "ThreadRuntime on that pool",
        "ExecutorRuntime on that pool",
        "  the same, concurrency 32",
        "ThreadRuntime",
    ):
        assert any(line.startswith(name) for line in out), name
    assert any(line.startswith("ThreadRuntime, by handle") for line in out)
    assert any(line.startswith("ThreadRuntime, no handle (same call)") for line in out)
    assert any(line.startswith("300 jobs of one no-op job function") for line in out)
    assert re.fullmatch(
        r"targets: executor runtime >= 70% of raw: \d+% (met|MISSED); "
        r"jobs >= 50% of raw: \d+% (met|MISSED)",
        out[-3],
    )
    assert re.fullmatch(
        r"targets: throughput >= 50% of raw: \d+% (met|MISSED); "
        r"p99 <= 2 ms: \d+\.\d{3} ms (met|MISSED)",
        out[-2],
    )
    assert re.fullmatch(r"targets: handles add <= 10% per job: -?\d+% (met|MISSED)", out[-1])
