"""Plain values the strategies produce: submissions, queue configs, manifest readers, bad calls.

They hold no hypothesis object, print compactly (a counterexample shows only
what differs from the defaults), and know how to apply themselves to a
``Scheduler``. A value cannot know the state it will meet, so two of them
stand for what only the state fixes: ``FromNow`` (a start time counted from
the clock at submission) and ``Prior`` (a dependency on a job submitted
before, by position); ``Submission.submit`` resolves them.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from types import MappingProxyType
from typing import Any, Literal, TypeAlias

import attrs

from .._controls import Aging, Dependency, Retry
from .._errors import JobQueueError
from .._model import Acceleration, BillingTagsSource, HopRule, Job, Pricing, QueueInfo
from .._scheduler import Scheduler, TaskSource
from .._tasks import ReportScope

__all__ = [
    "FromNow",
    "InvalidCall",
    "LyingStr",
    "ManifestReader",
    "Prior",
    "QueueConfig",
    "Submission",
]


def _frozen_map(value: Mapping[str, str]) -> Mapping[str, str]:
    return MappingProxyType(dict(value))


def _compact_repr(obj: Any) -> str:
    """``Name(field=value, ...)`` listing only fields that differ from their default."""
    parts = []
    for field in attrs.fields(type(obj)):
        value = getattr(obj, field.name)
        default = field.default
        factory = getattr(default, "factory", None)
        if callable(factory):
            default = factory()
        if default is attrs.NOTHING or value != default:
            if isinstance(value, MappingProxyType):
                value = dict(value)
            parts.append(f"{field.name}={value!r}")
    return f"{type(obj).__name__}({', '.join(parts)})"


def _hop_tuple(value: Iterable[HopRule]) -> tuple[HopRule, ...]:
    return tuple(value)


def _after_tuple(value: Iterable[AfterItem]) -> tuple[AfterItem, ...]:
    return tuple(value)


class _CompactRepr:
    """Print only the fields that differ from their defaults, also in hypothesis' reports."""

    __slots__ = ()

    def _repr_pretty_(self, printer: Any, cycle: bool) -> None:
        # hypothesis prints attrs classes field by field unless told otherwise.
        printer.text(repr(self))


@attrs.frozen
class ManifestReader(_CompactRepr):
    """A manifest reader for ``submit(tasks=...)`` that returns ``keys``, or raises.

    Attributes:
        keys: the task keys it returns.
        error: if not ``None``, it raises ``OSError(error)`` instead, as an
            unreadable manifest would; the job then fails in Preparing.
    """

    keys: tuple[str, ...] = ()
    error: str | None = None

    def __repr__(self) -> str:
        return _compact_repr(self)

    def __call__(self) -> Iterator[str]:
        """Read the manifest."""
        if self.error is not None:
            raise OSError(self.error)
        return iter(self.keys)


@attrs.frozen
class FromNow(_CompactRepr):
    """A ``not_before`` counted from the clock: ``seconds`` after the moment of submission.

    >>> FromNow(60.0)
    FromNow(60.0)
    """

    seconds: float

    def __repr__(self) -> str:
        return f"FromNow({self.seconds!r})"


@attrs.frozen
class Prior(_CompactRepr):
    """A dependency on a job submitted before, named by position rather than id.

    ``Submission.submit(sched, jobs)`` resolves it to
    ``Dependency(jobs[-1 - back % len(jobs)], on)``: ``back=0`` is the job
    submitted last, and any ``back`` names some job, so it shrinks freely.

    Attributes:
        back: how many jobs back from the newest of ``jobs`` (taken modulo their number).
        on: ``"ok"``, ``"any"`` or ``"failed"``, as ``Dependency.on``.

    >>> Prior(), Prior(back=2, on="failed")
    (Prior(), Prior(back=2, on='failed'))
    """

    back: int = 0
    on: str = "ok"

    def __repr__(self) -> str:
        return _compact_repr(self)

    def resolve(self, jobs: Sequence[str]) -> Dependency | None:
        """The dependency it names among ``jobs`` (oldest first), or ``None`` if there are none."""
        if not jobs:
            return None
        return Dependency(jobs[-1 - self.back % len(jobs)], self.on)


#: What ``Submission.after`` holds: ``submit``'s job ids and ``Dependency``
#: values, or ``Prior`` positions resolved at submission.
AfterItem: TypeAlias = str | Dependency | Prior


@attrs.frozen
class Submission(_CompactRepr):
    """A job spec: everything ``Scheduler.submit`` takes, as one value.

    The fields are ``submit``'s keyword arguments (except ``principal``), with
    its defaults. Two of them also take a stand-in for what only the state
    fixes: ``not_before`` may be ``FromNow(seconds)``, and ``after`` may hold
    ``Prior`` positions besides job ids and ``Dependency`` values (see
    ``submit``). ``submissions()`` produces valid ones only.

    >>> from jobqueue import ManualClock, Scheduler
    >>> spec = Submission(priority=5, tags={"Team": "a"})
    >>> spec
    Submission(priority=5, tags={'Team': 'a'})
    >>> spec.submit(Scheduler(ManualClock())).status
    <JobStatus.ACTIVE: 'Active'>
    >>> Submission(not_before=FromNow(10.0), after=[Prior()])
    Submission(not_before=FromNow(10.0), after=(Prior(),))
    """

    queue: str = "default"
    priority: int = 0
    deferred: bool = True
    name: str | None = None
    description: str = ""
    tags: Mapping[str, str] = attrs.field(factory=dict, converter=_frozen_map)
    hops: tuple[HopRule, ...] = attrs.field(default=(), converter=_hop_tuple)
    tasks: TaskSource = None
    confirmation_required: bool = False
    report: ReportScope | None = None
    preemptible: bool = True
    acceleration: Acceleration = Acceleration.DISABLED
    billing_tags_source: BillingTagsSource = BillingTagsSource.QUEUE
    not_before: float | FromNow | None = None
    after: tuple[AfterItem, ...] = attrs.field(default=(), converter=_after_tuple)
    max_run: float | None = None
    max_wait: float | None = None
    retry: Retry | None = None

    def __repr__(self) -> str:
        return _compact_repr(self)

    @property
    def holds(self) -> bool:
        """Whether it asks to be held before it may join its line (``not_before`` or ``after``)."""
        return self.not_before is not None or bool(self.after)

    def dependencies(self, jobs: Sequence[str] = ()) -> tuple[str | Dependency, ...]:
        """``after`` as ``submit`` takes it, each ``Prior`` resolved among ``jobs`` (oldest first).

        A ``Prior`` names nothing when ``jobs`` is empty, and a ``Prior`` that
        lands on a job named earlier in ``after`` is dropped: one dependency per
        job, so that two cannot ask for contradictory ends.
        """
        named: set[str] = set()
        out: list[str | Dependency] = []
        for item in self.after:
            if isinstance(item, Prior):
                dep = item.resolve(jobs)
                if dep is None or dep.job_id in named:
                    continue
                out.append(dep)
                named.add(dep.job_id)
            else:
                out.append(item)
                named.add(item if isinstance(item, str) else item.job_id)
        return tuple(out)

    def submit(self, sched: Scheduler, jobs: Sequence[str] = ()) -> Job:
        """Submit this job to ``sched``; raises whatever ``submit`` raises.

        Args:
            sched: the scheduler.
            jobs: ids of jobs that exist, oldest first, for the ``Prior``
                values in ``after`` (see ``dependencies``).
        """
        not_before = self.not_before
        if isinstance(not_before, FromNow):
            not_before = sched.clock.now() + not_before.seconds
        return sched.submit(
            queue=self.queue,
            priority=self.priority,
            deferred=self.deferred,
            name=self.name,
            description=self.description,
            tags=self.tags,
            hops=self.hops,
            tasks=self.tasks,
            confirmation_required=self.confirmation_required,
            report=self.report,
            preemptible=self.preemptible,
            acceleration=self.acceleration,
            billing_tags_source=self.billing_tags_source,
            not_before=not_before,
            after=self.dependencies(jobs),
            max_run=self.max_run,
            max_wait=self.max_wait,
            retry=self.retry,
        )

    def task_keys(self) -> tuple[str, ...] | None:
        """The keys of this job's manifest, or ``None`` if it cannot be read."""
        tasks = self.tasks
        if tasks is None:
            return ()
        if isinstance(tasks, int):
            return tuple(str(i) for i in range(tasks))
        if isinstance(tasks, ManifestReader):
            return None if tasks.error is not None else tasks.keys
        if callable(tasks):
            return None
        return tuple(tasks)


class LyingStr(str):
    """A ``str`` whose ``len()``, ``==``, ``hash()`` and ``str()`` lie; its ``repr`` does not.

    It claims a length of 1, equality with anything, the hash 0 and the text
    ``"x"``. A well-behaved scheduler checks, compares and stores the
    characters it holds (``str.__str__(value)``), so it is refused, or
    accepted, exactly as the plain ``str`` of those characters would be.

    >>> value = LyingStr("n" * 300)
    >>> len(value), value == "anything", str(value)
    (1, True, 'x')
    >>> len(str.__str__(value))
    300
    """

    __slots__ = ()

    def __len__(self) -> int:
        return 1

    def __eq__(self, other: object) -> bool:
        return True

    def __ne__(self, other: object) -> bool:
        return False

    def __hash__(self) -> int:
        return 0

    def __str__(self) -> str:
        return "x"

    def __repr__(self) -> str:
        return f"LyingStr({str.__repr__(self)})"


@attrs.frozen
class QueueConfig(_CompactRepr):
    """A queue: everything ``Scheduler.create_queue`` takes, as one value.

    The fields are ``create_queue``'s arguments, with its defaults. Unlike
    ``jobqueue.sim.QueueSpec`` (what a workload's queues are), it has
    ``aging``. ``queue_configs()`` produces valid ones only.

    >>> from jobqueue import Aging, ManualClock, Scheduler
    >>> config = QueueConfig("q", policy="priority", aging=Aging(every=10.0))
    >>> config
    QueueConfig(name='q', policy='priority', aging=Aging(every=10.0, step=1, cap=10))
    >>> config.create(Scheduler(ManualClock())).policy
    'priority+aging'
    """

    name: str
    slots: int = 100
    policy: Literal["fifo", "priority"] = "fifo"
    preemption: bool = False
    deferred_share: float = 1.0
    max_waiting: int = 10_000
    pricing: Pricing = Pricing.ON_DEMAND
    tags: Mapping[str, str] = attrs.field(factory=dict, converter=_frozen_map)
    aging: Aging | None = None

    def __repr__(self) -> str:
        return _compact_repr(self)

    def create(self, sched: Scheduler) -> QueueInfo:
        """Create this queue in ``sched``; raises whatever ``create_queue`` raises."""
        return sched.create_queue(
            self.name,
            slots=self.slots,
            policy=self.policy,
            preemption=self.preemption,
            deferred_share=self.deferred_share,
            max_waiting=self.max_waiting,
            pricing=self.pricing,
            tags=self.tags,
            aging=self.aging,
        )


@attrs.frozen
class InvalidCall:
    """A call that must fail, with the error it must raise.

    Attributes:
        method: the ``Scheduler`` method, e.g. ``"submit"`` or ``"create_queue"``.
        args: its positional arguments.
        kwargs: its keyword arguments; exactly one is invalid.
        field: the name of the invalid argument (as the error names it).
        error: the exception type it must raise.
        message: the exact ``str()`` of that exception.
    """

    method: str
    args: tuple[Any, ...]
    kwargs: Mapping[str, Any]
    field: str
    error: type[JobQueueError]
    message: str

    def call(self, sched: Scheduler) -> object:
        """Make the call on ``sched`` (it should raise ``error``)."""
        return getattr(sched, self.method)(*self.args, **self.kwargs)
