"""Run one job of 100 tasks on a ThreadRuntime over a SQLite store, until killed.

Started by ``test_runtime_takeover.py``: ``python _runtime_crash_child.py PATH``.
Tasks run one at a time in manifest order; task "50" prints ``blocked`` and
never returns, so the parent can kill this process with SIGKILL mid-job.
"""

from __future__ import annotations

import sys
import threading

from jobqueue import Scheduler
from jobqueue.runtime import ThreadRuntime
from jobqueue.store import SQLiteStore


def task(key: str) -> None:
    if key == "50":
        print("blocked", flush=True)
        threading.Event().wait()  # until the parent kills this process


def main(path: str) -> None:
    store = SQLiteStore(path)
    sched = Scheduler.open(store)
    with ThreadRuntime(sched, max_workers=1, concurrency=1) as runtime:
        job = runtime.submit(task, tasks=[str(i) for i in range(100)])
        print(job.id, flush=True)
        runtime.wait(job.id)


if __name__ == "__main__":
    main(sys.argv[1])
