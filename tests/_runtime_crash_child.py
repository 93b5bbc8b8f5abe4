"""Run one job on a ThreadRuntime over a SQLite store, until killed.

Started by ``test_runtime_takeover.py`` and ``test_runtime_saved.py``:
``python _runtime_crash_child.py PATH [job]``. Without ``job``, the job has
100 tasks, run one at a time in manifest order; task "50" prints ``blocked``
and never returns. With ``job``, a job function takes 10 steps, reporting
its progress and saving the next step after each; at step 5 it prints
``blocked`` and never returns. Either way the parent can then kill this
process with SIGKILL mid-job.
"""

from __future__ import annotations

import sys
import threading

from jobqueue import Scheduler
from jobqueue.runtime import JobContext, ThreadRuntime
from jobqueue.store import SQLiteStore


def task(key: str) -> None:
    if key == "50":
        print("blocked", flush=True)
        threading.Event().wait()  # until the parent kills this process


def steps(ctx: JobContext) -> None:
    for step in range(10):
        if step == 5:
            print("blocked", flush=True)
            threading.Event().wait()  # until the parent kills this process
        ctx.progress((step + 1) / 10)
        ctx.save({"next": step + 1})


def main(path: str, kind: str) -> None:
    store = SQLiteStore(path)
    sched = Scheduler.open(store)
    with ThreadRuntime(sched, max_workers=1, concurrency=1) as runtime:
        if kind == "job":
            job_id = runtime.submit(job=steps).id
        else:
            job_id = runtime.submit(task, tasks=[str(i) for i in range(100)]).id
        print(job_id, flush=True)
        runtime.wait(job_id)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2] if len(sys.argv) > 2 else "tasks")
