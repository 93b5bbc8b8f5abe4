"""The process the crash test kills: a seeded random workload on a file store.

Run as ``python _crash_child.py PATH SEED START DURABILITY``. It opens the
store (recovering whatever an earlier, killed run left), then changes the
scheduler at random until it is killed. It prints each job id on its own line
right after ``submit`` returned, so every printed id was journaled.
"""

from __future__ import annotations

import random
import sys

from jobqueue import HopRule, InvariantViolation, JobQueueError, ManualClock, Scheduler
from jobqueue.store import SQLiteStore, StoreError

#: Queues the workload uses besides "default": a small FIFO queue and a
#: priority queue with preemption.
QUEUES = {"fifo": {"slots": 2}, "prio": {"slots": 2, "policy": "priority", "preemption": True}}
#: Finished jobs are kept this long: longer than any test, so every id stays visible.
RETENTION = 1e9


def step(sched: Scheduler, clock: ManualClock, rng: random.Random, ids: list[str]) -> None:
    """One random operation; refusals (a full queue, a finished job) are part of the workload."""
    roll = rng.random()
    try:
        if roll < 0.45:
            job = sched.submit(
                queue=rng.choice(["default", "fifo", "fifo", "prio"]),
                priority=rng.randint(0, 5),
                tags={"team": rng.choice(["a", "b"])},
                hops=[HopRule("default", 3.0)] if rng.random() < 0.2 else [],
                tasks=rng.randint(0, 3),
                confirmation_required=rng.random() < 0.1,
                report=rng.choice([None, "all"]),
            )
            print(job.id, flush=True)
            ids.append(job.id)
            return
        if not ids:
            return
        job_id = rng.choice(ids[-50:])
        if roll < 0.6:
            sched.complete(job_id)
        elif roll < 0.65:
            sched.fail(job_id, "failed on purpose")
        elif roll < 0.7:
            sched.cancel(job_id)
        elif roll < 0.75:
            sched.confirm(job_id)
        elif roll < 0.8:
            sched.update_priority(job_id, rng.randint(0, 9))
        elif roll < 0.85:
            sched.put_tags(job_id, {"team": rng.choice(["a", "b", "c"])})
        elif roll < 0.9:
            sched.record_task(job_id, str(rng.randint(0, 2)), ok=rng.random() < 0.7)
        elif roll < 0.95:
            queue = rng.choice(["fifo", "prio"])
            if rng.random() < 0.5:
                sched.pause_queue(queue)
            else:
                sched.resume_queue(queue)
        else:
            clock.advance(rng.choice([0.5, 1.0, 2.0]))
            sched.poll()
    except (InvariantViolation, StoreError):
        raise
    except JobQueueError:
        pass


def main(argv: list[str]) -> int:
    """Open the store and run the workload until killed (or ``steps`` ops, if given)."""
    path, seed, start, durability = argv[:4]
    steps = int(argv[4]) if len(argv) > 4 else None
    clock = ManualClock(float(start))
    store = SQLiteStore(path, durability=durability, compact_every=50)  # type: ignore[arg-type]
    sched = Scheduler.open(store, clock, retention=RETENTION)
    existing = {q.name for q in sched.list_queues()}
    for name, settings in QUEUES.items():
        if name not in existing:
            sched.create_queue(name, **settings)  # type: ignore[arg-type]
    rng = random.Random(seed)
    ids: list[str] = []
    done = 0
    while steps is None or done < steps:
        step(sched, clock, rng, ids)
        done += 1
    store.close()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
