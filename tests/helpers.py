"""Shared test helpers: everything a caller can observe of a scheduler, as one value.

Tests of bad input compare ``fingerprint(sched)`` before and after the call: a
rejected call must leave every job, every queue and every timer as it was.
``fingerprint`` and ``job_ids`` are the harness's own (``jobqueue.testing``
compares the same picture), so the tests and the harness agree on what
"changes nothing" means.
"""

from __future__ import annotations

import importlib.util
import signal
import subprocess
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

from jobqueue import Event, JobTransitioned
from jobqueue.runtime._work import Lane, Work
from jobqueue.testing._fingerprint import fingerprint, job_ids

__all__ = [
    "IdleBackend",
    "bench_main",
    "fingerprint",
    "job_ids",
    "kill_crash_child",
    "transitions",
]

BENCHMARKS = Path(__file__).resolve().parent.parent / "benchmarks"


def bench_main(name: str) -> Callable[[Sequence[str]], int]:
    """The ``main`` of ``benchmarks/<name>.py`` (benchmarks are programs, not a package)."""
    spec = importlib.util.spec_from_file_location(name, BENCHMARKS / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    main: Callable[[Sequence[str]], int] = module.main
    return main


def transitions(events: list[Event]) -> list[tuple[float, str, str, str]]:
    """The ``(time, job_id, old, new)`` of every status change in ``events``, in order."""
    return [
        (e.time, e.job_id, e.old.value, e.new.value)
        for e in events
        if isinstance(e, JobTransitioned)
    ]


class IdleBackend:
    """A runtime backend that runs nothing: the test drives an ``Engine`` and reports for it."""

    enforces_timeouts = False
    pipelines = False

    def launch_lane(self, work: Work, lane: Lane) -> None:
        pass

    def cancel_lane(self, lane: Lane) -> bool:
        return False

    def launch_job(self, work: Work) -> object:
        return None

    def cancel_job(self, handle: object) -> bool:
        return False

    def unparked(self, work: Work) -> None:
        pass

    def changed(self) -> None:
        pass


def kill_crash_child(path: Path, *args: str, timeout: float = 10.0) -> str:
    """Run ``_runtime_crash_child.py`` on the store at ``path``, SIGKILL it mid-job; its job's id.

    The child prints the job's id, then ``blocked`` once its work is under
    way; it is killed there, so the store holds what a crash leaves.
    """
    child = subprocess.Popen(
        [
            sys.executable,
            str(Path(__file__).with_name("_runtime_crash_child.py")),
            str(path),
            *args,
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert child.stdout is not None
        job_id = child.stdout.readline().strip()
        assert child.stdout.readline().strip() == "blocked"
        child.send_signal(signal.SIGKILL)
        child.communicate(timeout=timeout)
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
    assert child.returncode == -signal.SIGKILL
    return job_id
