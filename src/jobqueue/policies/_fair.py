"""Fair share: slots shared among groups of jobs, by weight (AWS Batch, Slurm, Kueue).

Theory of operation: a job's group is the value of one of its tags (``tag``);
jobs without that tag form one more group. Each group has a weight. The next
job to start comes from the group that uses the least of its share, i.e. the
lowest ``running / weight`` among groups with waiting jobs, so a burst from one
group cannot starve another: every slot that frees goes to the group furthest
below its share. Within a group, jobs start by priority, then entry order.

Two sorted indexes keep every hook O(log n): groups with waiting jobs under
``(running / weight, -head priority, head seq)``, and (with preemption) groups
with preemptible running jobs under ``(-running / weight, creation order)``.
Keys are re-computed by removing the entry, changing the group and adding it
back, never changed in place. Ratios are exact ``Fraction`` s, so a tie is a tie.
"""

from __future__ import annotations

import heapq
import itertools
from collections.abc import Callable, Iterator, Mapping
from fractions import Fraction
from typing import TYPE_CHECKING, final

from .._errors import ValidationError
from .._sorted import SortedList
from .._states import JobStatus
from .._tags import MAX_TAG_KEY
from .._validate import check_bool, check_positive_number, check_str, plain_str
from ._base import PolicyJob

if TYPE_CHECKING:
    from .._scheduler import Scheduler

__all__ = ["FairSharePolicy"]

_Entry = tuple[int, int, PolicyJob]


class _Group:
    """One group's waiting line, running count and preemption candidates."""

    __slots__ = (
        "busy_key",
        "name",
        "number",
        "ready_key",
        "running",
        "victims",
        "waiting",
        "weight",
    )

    def __init__(self, name: str | None, weight: Fraction, number: int) -> None:
        self.name = name
        self.weight = weight
        self.number = number  # creation order: a unique, stable tie-breaker
        self.running = 0
        # (-priority, seq, job): highest priority, then earliest entry, first.
        self.waiting: SortedList[_Entry] = SortedList()
        # (priority, -start_seq, job): lowest priority, then latest start, first.
        self.victims: SortedList[_Entry] = SortedList()
        self.ready_key: tuple[Fraction, int, int, _Group] | None = None
        self.busy_key: tuple[Fraction, int, _Group] | None = None

    def share_used(self, extra: int = 0) -> Fraction:
        return (self.running + extra) / self.weight

    def __repr__(self) -> str:
        return f"_Group({self.name!r}, running={self.running}, waiting={len(self.waiting)})"


@final
class FairSharePolicy:
    """Share a queue's slots among groups of jobs named by a tag, by weight.

    The next job to start comes from the group with the lowest ``running /
    weight`` among the groups that have waiting jobs ("running" counts the
    group's Active jobs in this queue). Ties between groups go to the group
    whose next job has the higher priority, then to the one whose next job
    entered the queue first; so when every group uses the same share, the queue
    behaves like a priority queue. Within a group, jobs start by priority
    (higher first), then in order of entry.

    A job's group is read from its tags when it joins the line and again when
    it starts; changing a job's tags later takes effect the next time it does
    either. Jobs without the tag form one group of ``default_weight``, as do
    tag values missing from ``weights``.

    With ``preemption=True``, ``victims()`` offers running preemptible jobs of
    the groups most over their share first: from each group, lowest priority
    first, then the most recently started. A group is offered only if, after
    losing one job, it still uses at least the share the waiting group would
    use after gaining one, so two groups never preempt each other back and
    forth; the waiting group's own running jobs are offered last. The scheduler
    still preempts only for a job of strictly higher priority (no thrashing),
    so across groups, preemption lets urgent work of a starved group in; it
    never pauses equal-priority work merely to rebalance shares, which happens
    as running jobs finish.

    ``add``, ``discard``, ``started``, ``stopped``, ``reprioritize`` and
    ``peek`` are O(log n); ``waiting()`` and ``victims()`` are lazy, O(log n)
    per job they yield (``victims()`` also skips groups too close to their
    share, at most one per running job).

    Args:
        tag: the tag key whose value names a job's group (1-128 characters).
        weights: group name -> weight, a finite number > 0.
        default_weight: the weight of any other group, including untagged jobs.
        preemption: whether waiting jobs may pause lower-priority running jobs
            of groups over their share.

    Raises:
        ValidationError: a bad tag, weight or flag.

    >>> policy = FairSharePolicy(tag="Team", weights={"a": 2, "b": 1})
    >>> policy.name
    'fair-share'
    """

    __slots__ = (
        "_busy",
        "_default_weight",
        "_groups",
        "_numbers",
        "_preemption",
        "_ready",
        "_running_in",
        "_tag",
        "_waiting_in",
        "_weights",
    )

    def __init__(
        self,
        *,
        tag: str,
        weights: Mapping[str, float] | None = None,
        default_weight: float = 1,
        preemption: bool = False,
    ) -> None:
        tag = check_str("tag", tag)
        if not 1 <= len(tag) <= MAX_TAG_KEY:
            raise ValidationError(f"tag must be 1-{MAX_TAG_KEY} characters, got {len(tag)}")
        if weights is None:
            weights = {}
        if not isinstance(weights, Mapping):
            raise ValidationError(
                f"weights must be a mapping of str to number, got {type(weights).__name__}"
            )
        checked: dict[str, Fraction] = {}
        for key, weight in weights.items():
            if not issubclass(type(key), str):
                raise ValidationError(f"weights keys must be str, got {type(key).__name__}")
            name = plain_str(key)
            if name in checked:
                raise ValidationError(f"weights key {name!r} appears twice")
            checked[name] = Fraction(check_positive_number(f"weights[{name!r}]", weight))
        preemption = check_bool("preemption", preemption)
        self._tag = tag
        self._weights = checked
        self._default_weight = Fraction(check_positive_number("default_weight", default_weight))
        self._preemption = preemption
        self._groups: dict[str | None, _Group] = {}
        self._numbers = itertools.count()
        # Job id -> the group it waits in, or runs in, as read when it got there.
        self._waiting_in: dict[str, _Group] = {}
        self._running_in: dict[str, _Group] = {}
        self._ready: SortedList[tuple[Fraction, int, int, _Group]] = SortedList()
        self._busy: SortedList[tuple[Fraction, int, _Group]] = SortedList()

    # ------------------------------------------------------------------ settings

    @property
    def name(self) -> str:
        """``"fair-share"`` or ``"fair-share+preemption"``."""
        return "fair-share+preemption" if self._preemption else "fair-share"

    @property
    def tag(self) -> str:
        """The tag key that names a job's group."""
        return self._tag

    @property
    def preemption(self) -> bool:
        """Whether this policy offers preemption victims."""
        return self._preemption

    def weight(self, group: str | None) -> float:
        """The weight of ``group`` (``None``: jobs without the tag)."""
        if group is None:
            return float(self._default_weight)
        return float(self._weights.get(group, self._default_weight))

    def usage(self) -> dict[str | None, tuple[int, int]]:
        """Group -> (running, waiting) for every group with jobs here; O(g)."""
        return {name: (g.running, len(g.waiting)) for name, g in self._groups.items()}

    # ------------------------------------------------------------------ hooks

    def add(self, job: PolicyJob) -> None:
        """``job`` starts waiting in the group its tags name now; O(log n)."""
        group = self._group(job.tags.get(self._tag))
        self._unindex(group)
        group.waiting.add((-job.priority, job.seq, job))
        self._waiting_in[job.id] = group
        self._index(group)

    def discard(self, job: PolicyJob) -> None:
        """``job`` stops waiting; O(log n)."""
        group = self._waiting_in.pop(job.id, None)
        if group is None:
            return
        self._unindex(group)
        group.waiting.discard((-job.priority, job.seq, job))
        self._index(group)
        self._forget_if_empty(group)

    def started(self, job: PolicyJob) -> None:
        """``job`` runs, and counts against the share of the group its tags name; O(log n)."""
        group = self._group(job.tags.get(self._tag))
        self._unindex(group)
        group.running += 1
        if self._preemption and job.preemptible:
            group.victims.add((job.priority, -job.start_seq, job))
        self._running_in[job.id] = group
        self._index(group)

    def stopped(self, job: PolicyJob) -> None:
        """``job`` no longer runs; its group's share frees; O(log n)."""
        group = self._running_in.pop(job.id, None)
        if group is None:
            return
        self._unindex(group)
        group.running -= 1
        group.victims.discard((job.priority, -job.start_seq, job))
        self._index(group)
        self._forget_if_empty(group)

    def reprioritize(self, job: PolicyJob, old_priority: int) -> None:
        """Re-key ``job`` within its group under its new priority; O(log n)."""
        group = self._waiting_in.get(job.id)
        if group is not None:
            self._unindex(group)
            group.waiting.discard((-old_priority, job.seq, job))
            group.waiting.add((-job.priority, job.seq, job))
            self._index(group)
            return
        group = self._running_in.get(job.id)
        if group is not None:
            old_key = (old_priority, -job.start_seq, job)
            if old_key in group.victims:
                group.victims.remove(old_key)
                group.victims.add((job.priority, -job.start_seq, job))

    def peek(self) -> PolicyJob | None:
        """The next job of the group furthest below its share; O(log n)."""
        if not self._ready:
            return None
        return self._ready[0][3].waiting[0][2]

    def waiting(self) -> Iterator[PolicyJob]:
        """Waiting jobs in the order they would start if no running job stopped.

        Each pick counts as a start for its group, exactly as ``started``
        would. Lazy: O(log n) per job, whatever the number of groups.
        """
        # Groups not picked from yet keep their order in the index; a group
        # that was picked from moves to a heap under its new key. Each step
        # takes the smaller head of the two. Keys end in a unique seq, so
        # comparisons never reach the job, the iterator or the group.
        unvisited = iter(self._ready)
        fresh = next(unvisited, None)
        picked: list[tuple[Fraction, int, int, int, PolicyJob, Iterator[_Entry], _Group]] = []
        while fresh is not None or picked:
            if fresh is not None and (not picked or fresh[:3] < picked[0][:3]):
                group = fresh[3]
                entries = iter(group.waiting)
                job = next(entries)[2]
                running = group.running
                fresh = next(unvisited, None)
                yield job
                following = next(entries, None)
                if following is not None:
                    running += 1
                    heapq.heappush(
                        picked,
                        (
                            running / group.weight,
                            *following[:2],
                            running,
                            following[2],
                            entries,
                            group,
                        ),
                    )
            else:
                _, _, _, running, job, entries, group = picked[0]
                yield job
                following = next(entries, None)
                if following is None:
                    heapq.heappop(picked)
                else:
                    running += 1
                    heapq.heapreplace(
                        picked,
                        (
                            running / group.weight,
                            *following[:2],
                            running,
                            following[2],
                            entries,
                            group,
                        ),
                    )

    def victims(self) -> Iterator[PolicyJob]:
        """Running preemptible jobs of the groups most over their share, best victim first."""
        if not self._preemption or not self._ready:
            return
        head = self._ready[0][3]
        bar = head.share_used(1)
        for _, _, group in self._busy:
            if group is not head and (group.running - 1) / group.weight >= bar:
                for entry in group.victims:
                    yield entry[2]
        for entry in head.victims:
            yield entry[2]

    def __len__(self) -> int:
        return len(self._waiting_in)

    def __repr__(self) -> str:
        return (
            f"FairSharePolicy(tag={self._tag!r}, preemption={self._preemption}, "
            f"groups={len(self._groups)}, waiting={len(self._waiting_in)})"
        )

    # ------------------------------------------------------------------ checks

    @property
    def properties(self) -> tuple[Callable[[Scheduler], None], ...]:
        """Checks ``jobqueue.testing`` runs after every step of its harness."""
        return (self.check_books,)

    def check_books(self, sched: Scheduler) -> None:
        """Check this policy's bookkeeping against itself and against ``sched``.

        Every job it counts as running is Active, every job it holds as waiting
        is Ready or Paused, each group's counters and index keys are current,
        and ``peek()`` comes from a group with the lowest share used among
        groups with waiting jobs. O(n).

        Raises:
            AssertionError: naming the first discrepancy.
        """
        # A check of the scheduler's own state reads as its owner, past any
        # access policy, and puts the policy back.
        policy, sched.access_policy = sched.access_policy, None
        try:
            for job_id in self._running_in:
                status = sched.get(job_id).status
                assert status is JobStatus.ACTIVE, (
                    f"fair share: counts job {job_id!r} as running, it is {status}"
                )
            for job_id in self._waiting_in:
                status = sched.get(job_id).status
                assert status in (JobStatus.READY, JobStatus.PAUSED), (
                    f"fair share: holds job {job_id!r} as waiting, it is {status}"
                )
        finally:
            sched.access_policy = policy
        for name, group in self._groups.items():
            running = sum(1 for g in self._running_in.values() if g is group)
            waiting = sum(1 for g in self._waiting_in.values() if g is group)
            assert (group.running, len(group.waiting)) == (running, waiting), (
                f"fair share: group {name!r} counts {group.running} running and "
                f"{len(group.waiting)} waiting, holds {running} and {waiting}"
            )
            assert group.ready_key == self._ready_key(group), (
                f"fair share: group {name!r} has a stale index key"
            )
            assert running or waiting, f"fair share: empty group {name!r} is kept"
        head = self.peek()
        if head is not None:
            lowest = min(g.share_used() for g in self._groups.values() if g.waiting)
            group = self._waiting_in[head.id]
            assert group.share_used() == lowest, (
                f"fair share: next job {head.id!r} is from group {group.name!r} "
                f"using {group.share_used()} of its weight, another uses {lowest}"
            )

    # ------------------------------------------------------------------ internals

    def _group(self, name: str | None) -> _Group:
        group = self._groups.get(name)
        if group is None:
            weight = self._default_weight
            if name is not None:
                weight = self._weights.get(name, weight)
            group = _Group(name, weight, next(self._numbers))
            self._groups[name] = group
        return group

    def _forget_if_empty(self, group: _Group) -> None:
        # Groups come and go with their jobs, so a tag with ever-new values
        # does not grow the policy without bound.
        if not group.running and not group.waiting:
            del self._groups[group.name]

    @staticmethod
    def _ready_key(group: _Group) -> tuple[Fraction, int, int, _Group] | None:
        if not group.waiting:
            return None
        neg_priority, seq, _ = group.waiting[0]
        return (group.share_used(), neg_priority, seq, group)

    def _unindex(self, group: _Group) -> None:
        if group.ready_key is not None:
            self._ready.remove(group.ready_key)
            group.ready_key = None
        if group.busy_key is not None:
            self._busy.remove(group.busy_key)
            group.busy_key = None

    def _index(self, group: _Group) -> None:
        key = self._ready_key(group)
        if key is not None:
            self._ready.add(key)
            group.ready_key = key
        if group.victims:
            busy = (-group.share_used(), group.number, group)
            self._busy.add(busy)
            group.busy_key = busy
