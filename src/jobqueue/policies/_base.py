"""The policy protocol: what a queue delegates to its policy.

Theory of operation: a policy orders one queue. The scheduler tells it when a
job starts waiting (``add``), stops waiting without starting (``discard``),
starts (``started``: it now holds a slot and is a preemption candidate), stops
running (``stopped``), or changes priority (``reprioritize``). The scheduler
asks it which waiting job goes next (``peek``) and, when that job cannot start,
which running jobs it would preempt, best victim first (``victims``). The
policy never changes a job and holds no clock: the scheduler owns every
decision that touches state, and enforces the safety rules itself (slots, the
deferred share, "only a strictly higher priority preempts").

Two optional attributes, outside the protocol so that every policy keeps
conforming without them: ``order`` declares the order of the line (see
``declared_order``), and ``properties`` names checks that ``jobqueue.testing``
runs after every step of its harness.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Literal, Protocol, TypeAlias, runtime_checkable

__all__ = ["LineOrder", "Policy", "PolicyJob", "declared_order"]

#: An order a policy may declare for its line: ``"fifo"`` or ``"priority"``.
LineOrder: TypeAlias = Literal["fifo", "priority"]


class PolicyJob(Protocol):
    """The read-only view of a job that a policy sees."""

    @property
    def id(self) -> str:
        """The job's id."""
        ...

    @property
    def priority(self) -> int:
        """Current priority; higher runs first."""
        ...

    @property
    def seq(self) -> int:
        """Order of entry into the current queue: lower entered earlier.

        A preempted job keeps its number, so it goes before later arrivals of
        equal priority. Unique across the scheduler; never changes while the job
        is stored in a policy. A finished job's is 0: it is in no line.
        """
        ...

    @property
    def start_seq(self) -> int:
        """Order of the job's latest start: higher started more recently.

        A finished job's is 0: it runs no more.
        """
        ...

    @property
    def deferred(self) -> bool:
        """Whether the job was submitted with deferred execution."""
        ...

    @property
    def preemptible(self) -> bool:
        """Whether the job may be paused for a higher-priority one."""
        ...

    @property
    def tags(self) -> Mapping[str, str]:
        """The job's tags."""
        ...

    @property
    def tasks_total(self) -> int:
        """Number of tasks in the job's manifest."""
        ...

    @property
    def created_at(self) -> float:
        """Submission time."""
        ...


@runtime_checkable
class Policy(Protocol):
    """Orders the jobs of one queue. Implement this to plug in your own policy.

    A policy instance serves exactly one queue. All hooks are called with the
    job's fields as they are at that moment; a job's ordering fields do not
    change between ``add`` and ``discard``/``peek``-then-start except through
    ``reprioritize``.
    """

    @property
    def name(self) -> str:
        """A short name shown in ``QueueInfo.policy``."""
        ...

    def add(self, job: PolicyJob) -> None:
        """``job`` starts waiting (it is Ready, or Paused after preemption)."""
        ...

    def discard(self, job: PolicyJob) -> None:
        """``job`` stops waiting: it starts, hops away, is cancelled or fails."""
        ...

    def started(self, job: PolicyJob) -> None:
        """``job`` became Active in this queue."""
        ...

    def stopped(self, job: PolicyJob) -> None:
        """``job`` is no longer Active (it completes, pauses, is cancelled or fails)."""
        ...

    def reprioritize(self, job: PolicyJob, old_priority: int) -> None:
        """``job`` (waiting or Active here) changed priority from ``old_priority``."""
        ...

    def peek(self) -> PolicyJob | None:
        """The waiting job that should start next, or ``None`` if none waits."""
        ...

    def waiting(self) -> Iterator[PolicyJob]:
        """All waiting jobs, in the order they would start.

        The iterator may be lazy: the scheduler stops using it before it calls
        any other hook.
        """
        ...

    def victims(self) -> Iterator[PolicyJob]:
        """Active jobs this policy would preempt, best victim first (may be empty).

        Lazy, like ``waiting()``.
        """
        ...

    def __len__(self) -> int:
        """Number of waiting jobs."""
        ...


def declared_order(policy: object) -> LineOrder | None:
    """The order ``policy`` declares for its line, or ``None`` if it declares none.

    A policy declares an order with an optional ``order`` attribute (a class
    attribute or a property): ``"fifo"`` promises that ``waiting()`` yields jobs
    by entry into the queue (``seq``), ``"priority"`` by ``(-priority, seq)``.
    ``Scheduler.check_invariants()`` checks each line against its declared order,
    and the harness in ``jobqueue.testing`` checks that jobs start in it. Any
    other value declares nothing: the policy orders its line its own way.

    >>> from jobqueue.policies import FifoPolicy
    >>> declared_order(FifoPolicy())
    'fifo'
    >>> declared_order(object()) is None
    True
    """
    order = getattr(policy, "order", None)
    if order == "fifo":
        return "fifo"
    if order == "priority":
        return "priority"
    return None
