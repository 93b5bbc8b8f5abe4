"""The README's diagram and quick start are generated from, and checked against, the code."""

from __future__ import annotations

import contextlib
import io
import re
from pathlib import Path

import pytest

from jobqueue import state_diagram

README = Path(__file__).resolve().parent.parent / "README.md"


def _block(lang: str, after: str) -> str:
    text = README.read_text(encoding="utf-8")
    start = text.index(after)
    match = re.compile(rf"```{lang}\n(.*?)```", re.S).search(text, start)
    assert match is not None, f"no ```{lang} block after {after!r}"
    return match.group(1)


def test_readme_state_diagram_matches_the_table() -> None:
    assert _block("mermaid", "## Job states").strip() == state_diagram()


def test_readme_quick_start_runs_and_prints_what_its_comments_say() -> None:
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        exec(compile(_block("python", "## Quick start"), "README quick start", "exec"), {})
    assert out.getvalue().splitlines() == [
        "['Active', 'Paused', 'Ready', 'Active']",
        "[('Active', 'reserved'), ('Active', 'reserved'), ('Active', 'on-demand')]",
    ]


def test_readme_job_controls_example_runs_and_prints_what_its_comments_say() -> None:
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        exec(compile(_block("python", "## Job controls"), "README job controls", "exec"), {})
    assert out.getvalue().splitlines() == [
        "it waits on 1 job: job-1",
        "Paused attempt 2 starts at 15 after JobFailed",
        "it may not start before 30",
        "['Complete', 'Complete', 'Active']",
    ]


def test_readme_set_up_commands_are_the_ones_ci_runs() -> None:
    ci = (README.parent / ".ci" / "run").read_text(encoding="utf-8")
    assert '.venv/bin/pip install -e ".[dev,bench,dask]"' in README.read_text(encoding="utf-8")
    assert '.venv/bin/pip install -e ".[dev,bench,dask]"' in ci
    assert ".venv/bin/python -m pytest" in ci


def test_readme_runtime_example_runs() -> None:
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        exec(compile(_block("python", "## Running real work"), "README runtime", "exec"), {})
    assert out.getvalue().splitlines() == [
        "{'a.wav': 'A.WAV', 'b.wav': 'B.WAV'}",
        "[5, 5, 5]",
        "Complete ('c.wav',)",
    ]


def test_readme_saved_state_example_runs() -> None:
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        exec(compile(_block("python", "**Recovery.**"), "README saved state", "exec"), {})
    assert out.getvalue().splitlines() == ["4950"]


def test_readme_durability_example_runs_and_recovers(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    exec(compile(_block("python", "## Durability"), "README durability", "exec"), {})
    from jobqueue import Scheduler
    from jobqueue.store import SQLiteStore

    store = SQLiteStore(tmp_path / "jobs.db")
    try:
        recovered = Scheduler.open(store)
        assert [row.tasks_total for row in recovered.list_jobs()] == [2]
    finally:
        store.close()


def test_readme_recovered_work_example_finishes_the_recovered_job(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    exec(compile(_block("python", "## Durability"), "README durability", "exec"), {})
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        block = _block("python", "**Recovered work.**")
        exec(compile(block, "README recovered work", "exec"), {})
    assert out.getvalue().splitlines() == ["job-1 Complete"]


@pytest.mark.slow  # a full run of the policy state machine
def test_readme_policy_example_is_the_example_file_and_passes_the_harness() -> None:
    block = _block("python", "## Test your own policy")
    example = (README.parent / "examples" / "custom_policy.py").read_text(encoding="utf-8")
    assert block in example
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        exec(compile(block, "README policy", "exec"), {"__name__": "__main__"})
    assert out.getvalue() == "NewestFirst passed every check\n"


def test_readme_simulation_example_runs() -> None:
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        exec(compile(_block("python", "## Simulation and the demo"), "README sim", "exec"), {})
    completed, utilisation = out.getvalue().split()
    assert completed == "1000"
    assert 0.7 < float(utilisation) < 0.9


def test_readme_layout_names_every_module() -> None:
    layout = _block("text", "## How the code is laid out")
    src = README.parent / "src" / "jobqueue"
    missing = [
        str(path.relative_to(src))
        for path in sorted(src.rglob("*.py"))
        if path.stem != "__init__" and path.stem.lstrip("_") not in layout
    ]
    assert missing == []
