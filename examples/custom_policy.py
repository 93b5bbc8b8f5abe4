"""Write your own scheduling policy and let jobqueue's harness check it.

``NewestFirst`` starts the most recently queued job first (a stack). The
harness runs every public operation of the scheduler at random against it and
checks, after every step, all of the scheduler's invariants plus the policy's
own declared property. Run it with ``python examples/custom_policy.py``
(``jobqueue.testing`` needs ``hypothesis``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

from jobqueue import PolicyJob, Scheduler
from jobqueue.testing import check_policy


class NewestFirst:
    """Start the job that joined the queue last; never preempt.

    ``peek`` is O(n): fine for a sketch, use a sorted container for big queues.
    """

    name = "newest-first"

    def __init__(self) -> None:
        self._line: dict[int, PolicyJob] = {}  # entry order (seq) -> job

    def add(self, job: PolicyJob) -> None:
        self._line[job.seq] = job

    def discard(self, job: PolicyJob) -> None:
        self._line.pop(job.seq, None)

    def started(self, job: PolicyJob) -> None:
        pass  # nothing to track: this policy never preempts

    def stopped(self, job: PolicyJob) -> None:
        pass

    def reprioritize(self, job: PolicyJob, old_priority: int) -> None:
        pass  # priority does not order this line

    def peek(self) -> PolicyJob | None:
        return self._line[max(self._line)] if self._line else None

    def waiting(self) -> Iterator[PolicyJob]:
        return (self._line[seq] for seq in sorted(self._line, reverse=True))

    def victims(self) -> Iterator[PolicyJob]:
        return iter(())

    def __len__(self) -> int:
        return len(self._line)

    # Optional: properties the harness checks after every step.
    @property
    def properties(self) -> tuple[Callable[[Scheduler], None], ...]:
        return (self.newest_is_next,)

    def newest_is_next(self, sched: Scheduler) -> None:
        head = self.peek()
        assert head is None or all(job.seq <= head.seq for job in self._line.values())


if __name__ == "__main__":
    check_policy(NewestFirst)  # raises PropertyFailed, with a minimal example, on a bug
    print("NewestFirst passed every check")
