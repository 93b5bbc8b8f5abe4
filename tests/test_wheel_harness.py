"""The harness works from an installed wheel: build it, install it in a fresh venv, run the example.

The venv sees the packages of the environment running the tests (hypothesis,
attrs, sortedcontainers), so nothing is downloaded; jobqueue itself comes only
from the wheel. The example runs from a temporary directory, not the project.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import site
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "examples" / "custom_policy.py"
TIMEOUT = 120  # seconds per command; the whole test takes ~15 s

pytestmark = pytest.mark.slow  # builds and installs a wheel


def run(*args: str | Path, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME")}
    env["PIP_DISABLE_PIP_VERSION_CHECK"] = "1"
    return subprocess.run(
        [str(a) for a in args], cwd=cwd, env=env, capture_output=True, text=True, timeout=TIMEOUT
    )


def build_wheel(tmp: Path) -> Path:
    """Build the project's wheel from a copy of its sources (the tree may be in use)."""
    source = tmp / "source"
    source.mkdir()
    for name in ("pyproject.toml", "README.md", "LICENSE"):
        if (ROOT / name).exists():
            shutil.copy(ROOT / name, source / name)
    shutil.copytree(
        ROOT / "src",
        source / "src",
        ignore=shutil.ignore_patterns("__pycache__", "*.egg-info", "*.pyc"),
    )
    out = tmp / "wheels"
    wheel: list[str | Path] = [sys.executable, "-m", "pip", "wheel", source, "--no-deps", "-w", out]
    # Offline first, with the build backend of this environment. Without one
    # that can build wheels (setuptools < 70.1 and no 'wheel' package), fall
    # back to pip's isolated build, which fetches the backend from the index.
    done = run(*wheel, "--no-build-isolation")
    if done.returncode != 0:
        done = run(*wheel)
    assert done.returncode == 0, done.stdout + done.stderr
    (built,) = out.glob("jobqueue-*.whl")
    return built


def test_the_example_policy_passes_the_harness_from_an_installed_wheel(tmp_path: Path) -> None:
    if importlib.util.find_spec("venv") is None or importlib.util.find_spec("ensurepip") is None:
        pytest.skip("the venv module (with ensurepip) is not available to create a clean venv")
    if importlib.util.find_spec("pip") is None:
        pytest.skip("pip is not available to build and install the wheel")
    wheel = build_wheel(tmp_path)

    venv = tmp_path / "venv"
    done = run(sys.executable, "-m", "venv", "--system-site-packages", venv)
    assert done.returncode == 0, done.stderr
    python = venv / ("Scripts/python.exe" if os.name == "nt" else "bin/python")
    # --system-site-packages reaches the base interpreter's packages; when the
    # tests run in a venv, this one's dependencies live elsewhere: point at them.
    venv_site = run(python, "-c", "import sysconfig; print(sysconfig.get_path('purelib'))")
    Path(venv_site.stdout.strip(), "test-dependencies.pth").write_text(
        "\n".join(site.getsitepackages()) + "\n", encoding="utf-8"
    )
    done = run(python, "-m", "pip", "install", "--no-deps", "--no-index", wheel)
    assert done.returncode == 0, done.stdout + done.stderr

    workdir = tmp_path / "user-project"
    workdir.mkdir()
    shutil.copy(EXAMPLE, workdir / EXAMPLE.name)
    where = run(python, "-c", "import jobqueue.testing; print(jobqueue.__file__)", cwd=workdir)
    assert where.returncode == 0, where.stderr
    assert Path(where.stdout.strip()).is_relative_to(venv), where.stdout  # the wheel, not src/

    done = run(python, EXAMPLE.name, cwd=workdir)
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.strip().splitlines()[-1] == "NewestFirst passed every check"
