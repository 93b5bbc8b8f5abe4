"""The README's "Look inside" section: its examples run and print what it shows."""

from __future__ import annotations

import contextlib
import io
import re
from pathlib import Path

import pytest

from jobqueue.__main__ import main

README = Path(__file__).resolve().parent.parent / "README.md"
SECTION = "## Look inside"


def blocks(lang: str) -> list[str]:
    text = README.read_text(encoding="utf-8")
    start = text.index(SECTION)
    end = text.index("\n## ", start + 1)
    return re.findall(rf"```{lang}\n(.*?)```", text[start:end], re.S)


def test_the_inspect_output_is_what_inspect_prints(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    build = blocks("python")[0]
    namespace: dict[str, object] = {}
    exec(compile(build, "README inspect", "exec"), namespace)
    shown = blocks("text")[0]
    try:
        # Run every command the block shows, while the store is still open.
        for command, output in re.findall(r"^\$ (.+)\n((?:(?!\$ ).*\n)*)", shown, re.M):
            argv = command.split()
            assert argv[:3] == ["python", "-m", "jobqueue"]
            main(argv[3:])
            assert capsys.readouterr().out == output, command
    finally:
        namespace["store"].close()  # type: ignore[attr-defined]


def test_the_inspect_errors_are_what_inspect_prints(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "notes.txt").write_text("hi\n")
    shown = blocks("text")[1]
    for command, output in re.findall(r"^\$ (.+)\n((?:(?!\$ ).*\n)*)", shown, re.M):
        assert main(command.split()[3:]) == 2
        assert capsys.readouterr().err == output


def test_the_metrics_example_prints_what_the_readme_shows() -> None:
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        exec(compile(blocks("python")[1], "README metrics", "exec"), {})
    assert out.getvalue() == blocks("text")[2]
