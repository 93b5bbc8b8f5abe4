"""A tiny run of ``benchmarks/bench_tricks.py``: every trick the code names has its row."""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from pathlib import Path

import pytest
from helpers import BENCHMARKS, bench_main

pytestmark = pytest.mark.slow

BENCH = BENCHMARKS / "bench_tricks.py"
SRC = Path(__file__).resolve().parent.parent / "src" / "jobqueue"


def load_main() -> Callable[[Sequence[str]], int]:
    return bench_main("bench_tricks")


def test_bench_tricks_prints_a_row_per_trick(capsys: pytest.CaptureFixture[str]) -> None:
    assert load_main()(["--number", "50", "--repeat", "1"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("command: python benchmarks/bench_tricks.py --number 50 --repeat 1\n")
    rows = re.findall(r"^\| (.+?) \| [\d.]+ \| [\d.]+ \| [\d.]+x \|$", out, re.M)
    assert rows == [
        "raw event tuple vs frozen event",
        "enum member: module constant vs class attribute",
        "zip without vs with strict=True",
        "14 arguments: positional vs keyword",
    ]
    assert re.search(r"one Scheduler\.submit: \d+ ns; keyword arguments would add -?\d+ ns", out)


def test_every_module_that_cites_the_benchmark_is_in_its_table() -> None:
    # A comment that cites bench_tricks.py must name a trick the table times.
    doc = BENCH.read_text()
    citing = sorted(
        str(path.relative_to(SRC))
        for path in SRC.rglob("*.py")
        if "bench_tricks.py" in path.read_text()
    )
    assert citing
    for name in citing:
        assert f"``{name}``" in doc, f"{name} cites bench_tricks.py but is not in its table"
