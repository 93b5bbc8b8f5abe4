"""Plain values the strategies produce: submissions, manifest readers, bad calls.

They hold no hypothesis object, print compactly (a counterexample shows only
what differs from the defaults), and know how to apply themselves to a
``Scheduler``.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from types import MappingProxyType
from typing import Any

import attrs

from .._errors import JobQueueError
from .._model import Acceleration, BillingTagsSource, HopRule, Job
from .._scheduler import Scheduler, TaskSource
from .._tasks import ReportScope

__all__ = ["InvalidCall", "ManifestReader", "Submission"]


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
class Submission(_CompactRepr):
    """A job spec: everything ``Scheduler.submit`` takes, as one value.

    The fields are ``submit``'s keyword arguments (except ``principal``), with
    its defaults. ``submissions()`` produces valid ones only.

    >>> from jobqueue import ManualClock, Scheduler
    >>> spec = Submission(priority=5, tags={"Team": "a"})
    >>> spec
    Submission(priority=5, tags={'Team': 'a'})
    >>> spec.submit(Scheduler(ManualClock())).status
    <JobStatus.ACTIVE: 'Active'>
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

    def __repr__(self) -> str:
        return _compact_repr(self)

    def submit(self, sched: Scheduler) -> Job:
        """Submit this job to ``sched``; raises whatever ``submit`` raises."""
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
