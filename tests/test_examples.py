"""The runtime examples run to completion and print what they promise.

Each example runs as its own program, with a timeout, as a reader would run it.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = [pytest.mark.runtime, pytest.mark.slow]

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
TIMEOUT = 120.0  # generous: a loaded CI machine; each example takes a few seconds


def run_example(name: str) -> str:
    result = subprocess.run(
        [sys.executable, str(EXAMPLES / name)],
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout


def test_thread_pool_example_shows_a_progress_bar_and_a_preemption() -> None:
    out = run_example("thread_pool.py")
    lines = [line.strip() for line in re.split(r"[\r\n]", out) if line.strip()]
    assert lines[0] == "nightly transcode: 400 files, 4 at a time"
    bars = [line for line in lines if line.startswith("[")]
    assert bars[-1] == f"[{'#' * 30}] 100.0%  400/400 files"
    assert "Pausing (preempted by job-2)" in lines
    assert lines.index("Paused") < lines.index("resumed")
    assert lines[-3:] == [
        "urgent job: Complete, 20 tasks",
        lines[-2],
        "failed: take-013.wav  ValueError: take-013.wav: unsupported sample rate",
    ]
    assert re.fullmatch(
        r"nightly transcode: Complete, 399 succeeded, 1 failed, ran \d+\.\d\d s", lines[-2]
    )


def test_asyncio_crawler_example_crawls_then_reports_dead_links() -> None:
    out = run_example("asyncio_crawler.py").splitlines()
    assert "crawl: Complete, 53 URLs found" in out
    assert out[out.index("crawl: Complete, 53 URLs found") - 1].endswith(
        "100.0% of the pages found so far"
    )
    assert "check-links: Complete, 47 pages ok (150 links), 6 broken" in out
    broken = sorted(line.strip() for line in out if line.startswith("  broken: "))
    assert broken == [
        "broken: /blog/old-13 (PageNotFound)",
        "broken: /blog/old-4 (PageNotFound)",
        "broken: /docs/old-13 (PageNotFound)",
        "broken: /docs/old-22 (PageNotFound)",
        "broken: /docs/old-4 (PageNotFound)",
        "broken: /jobs (PageNotFound)",
    ]


def test_dask_example_counts_primes_on_a_local_cluster() -> None:
    pytest.importorskip("distributed")
    out = run_example("dask_run.py").splitlines()
    assert out[-2] == "primes below 200,000: Complete, 17984 primes in 10 chunks"
    assert out[-3] == "  100.0%  10/10 chunks"
    shown = re.fullmatch(r"ran in worker processes ([\d, ]+) \(this one: (\d+)\)", out[-1])
    assert shown is not None, out[-1]
    pids = {int(pid) for pid in shown.group(1).split(", ")}
    assert 1 <= len(pids) <= 2  # two workers; a fast one may take every chunk
    assert int(shown.group(2)) not in pids  # the work ran in other processes
