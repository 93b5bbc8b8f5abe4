"""Wrap a thread pool with jobqueue: a long job with a live progress bar, then preempted.

The "batch" queue has one slot and preemptive priorities. A long transcoding
job (400 files, four at a time) starts; when it is 30 % done an urgent job
arrives, the long job pauses once its files in flight are finished, the urgent
job runs, and the long job resumes with the files it had not started. One file
fails: the job is Complete (S3 fails a job only past its task-failure
threshold), but its handle raises ``TaskFailures``, which names the file.

Run: python examples/thread_pool.py
"""

from __future__ import annotations

import sys
import threading
import time
from typing import TextIO

from jobqueue import Event, JobStatus, JobTransitioned, Scheduler
from jobqueue.runtime import Progress, TaskFailures, ThreadRuntime

FILES = [f"take-{i:03d}.wav" for i in range(400)]
BAR_WIDTH = 30


def transcode(key: str) -> None:
    """Stand-in for real work on one file."""
    time.sleep(0.004)
    if key == "take-013.wav":
        raise ValueError(f"{key}: unsupported sample rate")


def bar(event: Progress) -> str:
    """One line of progress bar, drawn over the previous one."""
    filled = round(event.fraction * BAR_WIDTH)
    return (
        f"\r[{'#' * filled}{'.' * (BAR_WIDTH - filled)}] {event.percent:5.1f}%"
        f"  {event.tasks_done:3d}/{event.tasks_total} files"
    )


def main(out: TextIO = sys.stdout) -> None:
    """Run the example, writing to ``out``."""
    sched = Scheduler()
    sched.create_queue("batch", slots=1, policy="priority", preemption=True, deferred_share=1.0)
    a_third_done = threading.Event()
    on_bar_line = False  # the cursor sits at the end of the bar

    with ThreadRuntime(sched, max_workers=8, concurrency=4, progress_rate=10) as runtime:
        long_job = runtime.submit(
            transcode,
            tasks=FILES,
            queue="batch",
            priority=1,
            description="nightly transcode",
        )
        out.write(f"{long_job.job().description}: {len(FILES)} files, 4 at a time\n")

        def say(line: str) -> None:
            nonlocal on_bar_line
            out.write(("\n" if on_bar_line else "") + line + "\n")
            on_bar_line = False

        def show(event: Event) -> None:
            nonlocal on_bar_line
            if isinstance(event, Progress) and event.job_id == long_job.id:
                out.write(bar(event))
                out.flush()
                on_bar_line = True
                if event.fraction >= 0.3:
                    a_third_done.set()
            elif isinstance(event, JobTransitioned) and event.job_id == long_job.id:
                if event.new in (JobStatus.PAUSING, JobStatus.PAUSED):
                    say(f"  {event.new}" + (f" ({event.reason})" if event.reason else ""))
                elif event.new is JobStatus.ACTIVE and event.old is JobStatus.PAUSED:
                    say("  resumed")

        runtime.subscribe(show)
        if not a_third_done.wait(30):
            raise RuntimeError("the long job made no progress")
        urgent = runtime.submit(
            lambda key: time.sleep(0.002), tasks=20, queue="batch", priority=9, name="urgent"
        )
        urgent_results = urgent.result(30)  # each task's return value, by key
        try:
            long_job.result(60)
            failed: dict[str, Exception] = {}
        except TaskFailures as failures:
            failed = dict(failures.failures)
        done = long_job.job()

    out.write(f"\nurgent job: {urgent.job().status}, {len(urgent_results)} tasks\n")
    out.write(
        f"{done.description}: {done.status}, {done.tasks_succeeded} succeeded, "
        f"{done.tasks_failed} failed, ran {done.run_seconds:.2f} s\n"
    )
    for key, exc in failed.items():
        out.write(f"  failed: {key}  {type(exc).__name__}: {exc}\n")


if __name__ == "__main__":
    main()
