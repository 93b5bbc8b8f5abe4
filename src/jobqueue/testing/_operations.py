"""Sequences of operations: the public API as data, for plain ``@given`` tests.

An ``Operation`` names its job by the order of submission (an index, taken
modulo the number of jobs submitted so far), so any sequence applies to any
scheduler. ``run_operations`` applies a sequence, collecting the errors that
the state makes legitimate (a job that is not running cannot complete) and
checking after each step that the scheduler's invariants hold and that a
call that raised changed nothing.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import attrs
from hypothesis import strategies as st

from .._clock import ManualClock
from .._errors import InvariantViolation, JobQueueError
from .._scheduler import Scheduler
from ._fingerprint import fingerprint
from ._history import PropertyFailed
from ._strategies import priorities, submissions, tag_sets, task_sources
from ._values import Submission

__all__ = ["Operation", "operations", "run_operations"]


class _Run:
    """The state of one ``run_operations`` call: the jobs it submitted so far."""

    def __init__(self, sched: Scheduler) -> None:
        self.sched = sched
        self.jobs: list[str] = []
        self.keys: dict[str, tuple[str, ...]] = {}

    def job(self, index: int) -> str | None:
        return self.jobs[index % len(self.jobs)] if self.jobs else None


@attrs.frozen
class Operation:
    """One call of the public API, or the passing of time.

    Attributes:
        kind: ``"submit"``, ``"complete"``, ``"fail"``, ``"cancel"``,
            ``"confirm"``, ``"paused"``, ``"cancelled"``, ``"update_priority"``,
            ``"record_task"``, ``"put_tags"``, ``"pause_queue"``,
            ``"resume_queue"``, ``"update_slots"`` or ``"advance"``.
        spec: for ``submit``, what to submit; its ``Prior`` dependencies are
            resolved among the jobs submitted so far that still exist.
        job: for job operations, the index of the job in submission order
            (modulo the number submitted so far).
        queue: for queue operations, the queue.
        value: the operation's argument: a priority, a slot count, seconds to
            advance, a task index, a tag set, or ``ok`` for ``record_task``.
    """

    kind: str
    spec: Submission | None = None
    job: int = 0
    queue: str = "default"
    value: Any = None

    def __repr__(self) -> str:
        if self.kind == "submit":
            return f"submit({self.spec!r})"
        if self.kind in _QUEUE_KINDS:
            arg = "" if self.value is None else f", {self.value!r}"
            return f"{self.kind}({self.queue!r}{arg})"
        if self.kind == "advance":
            return f"advance({self.value!r})"
        arg = "" if self.value is None else f", {self.value!r}"
        return f"{self.kind}(job #{self.job}{arg})"

    def _repr_pretty_(self, printer: Any, cycle: bool) -> None:
        printer.text(repr(self))

    def apply(self, run: _Run) -> None:
        """Make the call; raises what the scheduler raises."""
        sched, kind = run.sched, self.kind
        if kind == "submit":
            assert self.spec is not None
            job = self.spec.submit(sched, [j for j in run.jobs if j in sched])
            run.jobs.append(job.id)
            run.keys[job.id] = self.spec.task_keys() or ()
            return
        if kind == "pause_queue":
            sched.pause_queue(self.queue)
            return
        if kind == "resume_queue":
            sched.resume_queue(self.queue)
            return
        if kind == "update_slots":
            sched.update_queue(self.queue, slots=self.value)
            return
        if kind == "advance":
            clock = sched.clock
            if not isinstance(clock, ManualClock):
                raise TypeError("operation 'advance' needs a scheduler on a ManualClock")
            clock.advance(self.value)
            sched.poll()
            return
        job_id = run.job(self.job)
        if job_id is None:
            return
        if kind == "record_task":
            task, ok = self.value
            keys = run.keys.get(job_id, ())
            key = keys[task % len(keys)] if keys else "no-such-task"
            sched.record_task(job_id, key, ok=ok)
        elif kind == "update_priority":
            sched.update_priority(job_id, self.value)
        elif kind == "put_tags":
            sched.put_tags(job_id, self.value)
        elif kind == "fail":
            sched.fail(job_id, "failed")
        else:
            getattr(sched, kind)(job_id)


_QUEUE_KINDS = frozenset({"pause_queue", "resume_queue", "update_slots"})
_JOB_KINDS = ("complete", "fail", "cancel", "confirm", "paused", "cancelled")


def operations(
    queues: Sequence[str] = ("default",),
    *,
    specs: st.SearchStrategy[Submission] | None = None,
    max_size: int = 30,
    controls: bool = False,
) -> st.SearchStrategy[list[Operation]]:
    """Sequences of operations on a scheduler that has ``queues``.

    Args:
        queues: the queues to submit to and to pause, resume and resize.
        specs: what ``submit`` submits (by default ``submissions(queues)`` with
            ``priorities()``, which favours small values and the edges, few tags
            and tasks, and no names).
        max_size: at most this many operations.
        controls: with the default ``specs``, draw the job controls too
            (``submissions(controls=True)``); ``advance`` lets their timers fire.
    """
    names = list(queues)
    spec_st = (
        submissions(
            names,
            priorities=priorities(),
            tags=tag_sets(max_size=2),
            tasks=task_sources(3),
            descriptions=st.just(""),
            controls=controls,
        )
        if specs is None
        else specs
    )
    job = st.integers(0, 1_000)
    queue = st.sampled_from(names)
    one = st.one_of(
        st.builds(Operation, st.just("submit"), spec_st),
        st.builds(Operation, st.sampled_from(_JOB_KINDS), job=job),
        st.builds(Operation, st.just("update_priority"), job=job, value=priorities()),
        st.builds(
            Operation,
            st.just("record_task"),
            job=job,
            value=st.tuples(st.integers(0, 10), st.booleans()),
        ),
        st.builds(Operation, st.just("put_tags"), job=job, value=tag_sets(max_size=2)),
        st.builds(Operation, st.sampled_from(["pause_queue", "resume_queue"]), queue=queue),
        st.builds(Operation, st.just("update_slots"), queue=queue, value=st.integers(1, 5)),
        st.builds(Operation, st.just("advance"), value=st.floats(0.0, 1_000.0)),
    )
    return st.lists(one, max_size=max_size)


def run_operations(
    sched: Scheduler, ops: Sequence[Operation], *, check: bool = True
) -> list[JobQueueError | None]:
    """Apply ``ops`` in order; return, per operation, the error it raised or ``None``.

    Errors of jobqueue's own hierarchy are the state's answer (a job that is
    not Active cannot complete) and are collected; any other exception
    propagates. With ``check``, after each operation ``check_invariants()``
    runs, and an operation that raised must have left everything a caller can
    observe as it was: every job (snapshot, place in line, task outcomes,
    report, tags), every queue, the next deadline and the usage report.

    Raises:
        InvariantViolation: an invariant broke (``PropertyFailed`` if a call
            that raised changed the scheduler).
    """
    run = _Run(sched)
    results: list[JobQueueError | None] = []
    for op in ops:
        before = fingerprint(sched) if check else None
        try:
            op.apply(run)
        except InvariantViolation:
            raise
        except JobQueueError as exc:
            results.append(exc)
            if check and fingerprint(sched) != before:
                raise PropertyFailed(
                    "errors change nothing",
                    f"{op!r} raised {type(exc).__name__}: {exc}, but changed the scheduler",
                ) from exc
        else:
            results.append(None)
        if check:
            sched.check_invariants()
    return results
