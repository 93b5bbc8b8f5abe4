"""A tiny run of ``benchmarks/bench_hops.py``: it still runs, and every job hops.

The benchmark itself (10k and 100k jobs) is a program, not a test; this runs it
at two small sizes and checks the table it prints.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence

import pytest
from helpers import bench_main

pytestmark = pytest.mark.slow


def load_main() -> Callable[[Sequence[str]], int]:
    return bench_main("bench_hops")


def test_bench_hops_smoke(capsys: pytest.CaptureFixture[str]) -> None:
    main = load_main()
    assert main(["--sizes", "20,40", "--repeat", "1"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("command: python benchmarks/bench_hops.py --sizes 20,40 --repeat 1\n")
    rows = [line for line in out.splitlines() if re.match(r"\| \d+ \|", line)]
    assert [row.split(" | ")[0] for row in rows] == ["| 20", "| 40"]
    assert all(len(row.split("|")) == 9 for row in rows)  # seven columns
    assert "growth 20 -> 40: submit x" in out


def test_bench_hops_rejects_sizes_too_small_to_measure(
    capsys: pytest.CaptureFixture[str],
) -> None:
    main = load_main()
    with pytest.raises(SystemExit) as info:
        main(["--sizes", "5"])
    assert info.value.code == 2
    assert "--sizes must each be >= 10 and --repeat >= 1" in capsys.readouterr().err
