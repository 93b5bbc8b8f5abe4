"""Kill -9 a process mid-workload; recovery must find every job it reported submitted.

Each round starts ``_crash_child.py`` on the same file store, reads the job ids
it prints (each right after its ``submit`` returned), kills it with SIGKILL at
a random moment and recovers the store in this process. Every printed id must
be there, every history legal, every invariant intact, and every FIFO line in
submission order. Rounds alternate ``"full"`` and ``"batched"`` durability: a
killed process loses nothing in either (batching only defers the sync to
disk). ``JOBQUEUE_CRASH_ROUNDS`` sets the number of rounds (8 by default).
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from helpers import job_ids

from jobqueue import JobStatus, ManualClock, Scheduler
from jobqueue.store import SQLiteStore

CHILD = Path(__file__).with_name("_crash_child.py")
ROUNDS = int(os.environ.get("JOBQUEUE_CRASH_ROUNDS", "8"))
SPACING = 1e6  # clock seconds between rounds: more than a round can advance
RETENTION = 1e9

pytestmark = [
    pytest.mark.slow,  # crash rounds: one child process killed per round
    pytest.mark.skipif(sys.platform == "win32", reason="needs SIGKILL"),
]


def run_child(path: Path, seed: int, start: float, durability: str, kill_after: int) -> list[str]:
    """Run the workload until it printed ``kill_after`` ids, SIGKILL it, return every id printed."""
    proc = subprocess.Popen(
        [sys.executable, str(CHILD), str(path), str(seed), repr(start), durability],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None
    printed: list[str] = []
    try:
        while len(printed) < kill_after:
            line = proc.stdout.readline()
            if not line:
                break  # the child ended on its own: reported below
            printed.append(line.strip())
        proc.send_signal(signal.SIGKILL)
        out, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == -signal.SIGKILL, f"child exited with {proc.returncode}: {err}"
    printed.extend(out.split())
    return printed


def check_recovered(sched: Scheduler, submitted: list[str]) -> None:
    sched.check_invariants()
    kept = set(job_ids(sched))
    lost = [job_id for job_id in submitted if job_id not in kept]
    assert not lost, f"jobs lost: {lost}"
    for job_id in submitted:
        history = [change.status for change in sched.get(job_id).history]
        assert history[0] is JobStatus.NEW
        # Nothing the recovery left is still running from the dead process.
        assert sched.get(job_id).status not in (JobStatus.PAUSING, JobStatus.CANCELLING)
    # FIFO lines hold the jobs that entered by submission in submission order.
    for queue in ("fifo", "default"):
        line = [
            job_id
            for job_id in kept
            if (pos := sched.position(job_id)) is not None and pos.queue == queue
        ]
        line.sort(key=lambda j: sched.position(j).position)  # type: ignore[union-attr]
        entered = [j for j in line if not sched.get(j).hop_transitions]
        indexes = [int(j.rsplit("-", 1)[1]) for j in entered]
        assert indexes == sorted(indexes), f"{queue} line out of submission order: {entered}"


def test_kill_during_workload_loses_no_submitted_job(tmp_path: Path) -> None:
    rng = random.Random(9001)
    path = tmp_path / "crash.db"
    submitted: list[str] = []
    for round_ in range(ROUNDS):
        durability = "full" if round_ % 2 == 0 else "batched"
        start = round_ * SPACING + 1.0
        printed = run_child(path, rng.randrange(2**32), start, durability, rng.randint(1, 120))
        assert len(printed) == len(set(printed))
        submitted.extend(printed)
        store = SQLiteStore(path)
        try:
            sched = Scheduler.open(store, ManualClock((round_ + 1) * SPACING), retention=RETENTION)
            check_recovered(sched, submitted)
        finally:
            store.close()
    assert len(submitted) >= ROUNDS
