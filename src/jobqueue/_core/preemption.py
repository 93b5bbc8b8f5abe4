"""Best-effort preemption: which Active job pauses for which waiting one.

S3 Batch Operations' rule: a waiting job of strictly higher priority than an
Active one may have it paused when no slot is free. Equal or lower priority
never preempts, so two jobs cannot thrash. The policy names candidate victims
in its own order (``Policy.victims()``); this module decides which of them
would actually let the waiting job start.
"""

from __future__ import annotations

from .._errors import InvariantViolation
from .._states import JobStatus
from ..policies import FifoPolicy, Policy, PriorityPolicy
from .admission import fits
from .records import JobRecord, QueueRecord, as_record

__all__ = ["choose_victim", "may_preempt", "tracks_running"]


def may_preempt(policy: Policy) -> bool:
    """Whether a queue with ``policy`` can ever preempt: chosen once, when the policy is set.

    A FIFO queue, or a priority queue without preemption, never names a victim,
    so dispatch skips the search for one (``benchmarks/bench_sim.py``). A
    custom policy may name victims at any time.
    """
    if isinstance(policy, FifoPolicy):
        return False
    if isinstance(policy, PriorityPolicy):
        return policy.preemption
    preemption = getattr(policy, "preemption", None)
    return preemption if isinstance(preemption, bool) else True


def tracks_running(policy: Policy) -> bool:
    """Whether ``policy`` does anything with ``started``/``stopped``: chosen when the policy is set.

    The stock FIFO policy and a priority policy without preemption keep no
    running jobs, so the start and completion paths skip two calls per job
    (``benchmarks/bench_sim.py``). A custom policy is always told.
    """
    if type(policy) is FifoPolicy:
        return False
    if type(policy) is PriorityPolicy:
        return policy.preemption
    return True


def choose_victim(q: QueueRecord) -> tuple[JobRecord, JobRecord] | None:
    """The ``(victim, waiting job)`` pair whose pause would start a waiting job, if any.

    Slots already on their way back (held by leaving jobs) are promised to
    the first waiting jobs they can serve; the first waiting job left
    without one picks a victim whose pause would let it start: of strictly
    lower priority, Active, and deferred if the deferred share is what stops
    the waiting job. O(waiting + victims); O(1) for the stock priority policy
    when the search is refused, or when no slot is on its way back.

    Raises:
        InvariantViolation: the policy named a job of another queue.
    """
    policy = q.policy
    # The stock priority policy names its victims lowest priority first, so
    # the first one of no lower priority than the waiting job ends the search:
    # without this, every refused preemption walked all running jobs, a third
    # of the preemptive simulation's time (benchmarks/bench_sim.py).
    ascending = type(policy) is PriorityPolicy
    if ascending:
        # No waiting job outranks the head, so a best victim of no lower
        # priority than the head refuses them all: most searches end here,
        # in O(1), and a longer run refuses more of them per job
        # (benchmarks/bench_sim.py, the preemptive 1M row).
        assert isinstance(policy, PriorityPolicy)
        best = policy.peek_victim()
        head = policy.peek()
        if best is None or head is None or best.priority >= head.priority:
            return None
        if not q.leaving and not fits(q, head.deferred, q.holding, q.deferred_holding):
            # No slot is on its way back, so the head is the job the search
            # serves and the best victim the first it tries: take it if the
            # loop below would, without walking either list.
            rec = as_record(best)
            if (
                rec.queue == q.name
                and rec.status is JobStatus.ACTIVE
                and (best.deferred or not head.deferred or fits(q, True, 0, q.deferred_holding))
            ):
                return rec, as_record(head)
    holding = q.holding - q.leaving
    deferred_holding = q.deferred_holding - q.leaving_deferred
    for waiting in policy.waiting():
        if fits(q, waiting.deferred, holding, deferred_holding):
            holding += 1
            deferred_holding += waiting.deferred
            continue
        # With the slots aside, is it the deferred share that stops it?
        need_deferred = waiting.deferred and not fits(q, True, 0, deferred_holding)
        for victim in policy.victims():
            rec = as_record(victim)
            if rec.queue != q.name:
                raise InvariantViolation(
                    f"policy of queue {q.name!r}: victims() named job {rec.id!r} "
                    f"of queue {rec.queue!r}"
                )
            if ascending and victim.priority >= waiting.priority:
                return None
            if (
                victim.priority < waiting.priority
                and (victim.deferred or not need_deferred)
                and rec.status is JobStatus.ACTIVE
            ):
                return rec, as_record(waiting)
        return None
    return None
