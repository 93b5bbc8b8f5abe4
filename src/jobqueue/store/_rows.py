"""The row schema: how records and queues are written as ops, and read back.

The journal captures *state*, not commands (see ``_batches``). An entry is a
list ``[time, op, op, ...]`` with its ops in this order: queues, jobs, task
outcomes, reports, purges, billing totals. Each op is a list whose first
element names it:

* ``["q", name, slots, share, max_waiting, kind, preemption, pricing, tags, paused, custom,
  aging]`` (``aging``: ``[every, step, cap]`` or ``None``; from format 4)
* ``["x", name]`` -- queue deleted
* ``["j", id, <state fields>, timer_mark, finish_mark, config | None, controls, saved]``
  (see ``job_row``; ``controls``, from format 4, is the state of the job controls;
  ``saved``, from format 5, what its job function saved, as ``_saved_state``
  encodes it, or ``None``); the history field is flat, ``[time, status, time,
  status, ...]``, as the record keeps it.
* ``["t", job_id, key, status, error_code, message]`` -- one task outcome
* ``["a", job_id]`` -- a retry: the job's failed task outcomes are dropped
* ``["r", job_id, report_json]`` -- the completion report
* ``["p", job_id]`` -- purged
* ``["u", [[tag, value], ...], seconds]`` -- billed seconds for one set of billing
  tags, written only when that total moved

Statuses, pricing and the other enumerations are written as their string
values. A snapshot is a header ``[time, next_index]`` followed by parts that
are lists of the same ops. Format 1 wrote histories as pairs
``[[time, status], ...]``; they are still read.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, Final

from .._controls import Aging, Dependency, Retry
from .._core import Core
from .._core.aging import AgingPolicy
from .._core.queues import make_policy
from .._core.records import Controls, JobExtras, JobRecord, QueueRecord, extras_of, full_history
from .._model import Acceleration, BillingTagsSource, HopRule, HopTransition, Pricing
from .._states import JobStatus
from .._tasks import FailureReason, ReportScope, TaskRecord, TaskStatus
from ..policies import FifoPolicy, Policy, PriorityPolicy
from ._errors import StoreError, brief

__all__ = [
    "PLAIN",
    "STATUS",
    "TASK_STATUS",
    "Mark",
    "job_row",
    "make_record",
    "queue_op",
    "rebuild_policy",
    "task_op",
]

STATUS: Final = {s.value: s for s in JobStatus}
TASK_STATUS: Final = {s.value: s for s in TaskStatus}
# The enumerations a row holds, as their plain values: pickle would write a
# member as a reference to its class.
PLAIN: Final[dict[Any, str]] = {
    m: m.value
    for kind in (JobStatus, TaskStatus, Pricing, Acceleration, BillingTagsSource, ReportScope)
    for m in kind
}
PLAIN_GET: Final = PLAIN.get  # history: statuses to values, times to themselves

Mark = tuple[int, int]


def queue_op(q: QueueRecord) -> list[Any]:
    """A queue's settings as a ``"q"`` op (its counters are derived on recovery)."""
    policy = q.policy
    custom: str | None = None
    preemption = False
    aging: list[Any] | None = None
    if isinstance(policy, FifoPolicy):
        kind = "fifo"
    elif isinstance(policy, (PriorityPolicy, AgingPolicy)):
        kind = "priority"
        preemption = policy.preemption
        if isinstance(policy, AgingPolicy):
            a = policy.aging
            aging = [a.every, a.step, a.cap]
    else:
        kind = "custom"
        custom = policy.name
    return [
        "q",
        q.name,
        q.slots,
        q.deferred_share,
        q.max_waiting,
        kind,
        preemption,
        PLAIN[q.pricing],
        q.tags,
        q.paused,
        custom,
        aging,  # 11; absent before format 4
    ]


def job_row(rec: JobRecord, timer: int | None, finish: int | None, config: bool) -> list[Any]:
    """A job's state as a ``"j"`` op; ``config`` adds what never changes after submission.

    Field positions are read back by ``make_record``; keep the two in step.
    The history goes flat, as the record keeps it, with its statuses as
    their values.
    """
    x = extras_of(rec)
    reasons = x.failure_reasons
    hopped = x.hop_transitions
    history = full_history(rec)
    return [
        "j",
        rec.id,  # 1
        PLAIN[rec.status],
        rec.priority,
        rec.seq,
        rec.queue,  # 5
        rec.tags,
        rec.start_seq,
        x.hop_index,
        rec.hop_token,
        x.hop_due,  # 10
        rec.ready_at,
        x.succeeded,
        x.failed,
        None if reasons is None else [[r.code, r.message] for r in reasons],
        rec.holds_slot,  # 15
        rec.leaving,
        rec.accelerated,
        rec.started_at,
        rec.finished_at,
        x.suspended_at,  # 20
        rec.run_started_at,
        rec.run_seconds,
        rec.billed_seconds,
        x.progress,
        list(map(PLAIN_GET, history, history)),  # 25
        None if hopped is None else [[h.source, h.destination, h.time, h.priority] for h in hopped],
        timer,
        finish,
        _config(rec) if config else None,  # 29
        _controls_state(rec.controls),  # 30; absent before format 4
        x.saved,  # 31; absent before format 5
    ]


def task_op(job_id: str, r: TaskRecord) -> list[Any]:
    """One recorded task outcome as a ``"t"`` op."""
    return ["t", job_id, r.key, PLAIN[r.status], r.error_code, r.message]


def _config(rec: JobRecord) -> list[Any]:
    x = extras_of(rec)
    keys = x.task_keys
    hops = x.hops
    return [
        rec.index,
        rec.name,
        x.description,
        rec.submission_queue,
        rec.deferred,
        rec.preemptible,  # 5
        x.confirmation_required,
        rec.created_at,
        [[h.queue, h.wait, h.priority] for h in hops] if hops else [],
        PLAIN[rec.acceleration],
        PLAIN[rec.billing_tags_source],  # 10
        PLAIN.get(x.report_scope),
        rec.tasks_total,
        None if keys is None else list(keys),
        _controls_config(rec.controls),  # 14; absent before format 4
    ]


def _controls_config(c: Controls | None) -> list[Any] | None:
    if c is None:
        return None
    r = c.retry
    retry = None
    if r is not None:
        retry = [r.attempts, r.backoff, r.factor, r.max_backoff, r.jitter, list(r.on)]
    after = [[d.job_id, d.on] for d in c.after]
    return [c.not_before, after, c.max_run, c.max_wait, retry]


def _controls_state(c: Controls | None) -> list[Any] | None:
    if c is None:
        return None
    failure = c.last_failure
    return [
        c.attempt,
        sorted(c.waiting_on),
        c.reserved,
        c.attempt_run,
        c.waited,
        c.wait_started,
        c.not_before_passed,
        c.retrying,
        c.backoff_until,
        None if failure is None else [failure.code, failure.message],
    ]


def _make_retry(stored: list[Any]) -> Retry:
    attempts, backoff, factor, max_backoff, jitter, on = stored
    return Retry(attempts, backoff, factor, max_backoff, jitter, tuple(on))


def _make_controls(config: list[Any], state: list[Any] | None) -> Controls:
    not_before, after, max_run, max_wait, retry = config
    c = Controls(
        not_before=not_before,
        after=tuple(Dependency(job_id, on) for job_id, on in after),
        max_run=max_run,
        max_wait=max_wait,
        retry=None if retry is None else _make_retry(retry),
    )
    if state is not None:
        (
            c.attempt,
            waiting_on,
            c.reserved,
            c.attempt_run,
            c.waited,
            c.wait_started,
            c.not_before_passed,
            c.retrying,
            c.backoff_until,
            failure,
        ) = state
        c.waiting_on = set(waiting_on)
        c.last_failure = None if failure is None else FailureReason(*failure)
    return c


def history_of(stored: list[Any]) -> list[float | JobStatus]:
    """A record's flat history from a row's ``[t, s, t, s, ...]``.

    Stores written before the flat form hold pairs, ``[[t, s], [t, s], ...]``:
    they still open.
    """
    if stored and isinstance(stored[0], list):
        return [x for t, s in stored for x in (t, STATUS[s])]
    if len(stored) % 2:
        raise ValueError(f"history has an odd length {len(stored)}")
    history: list[float | JobStatus] = list(stored)
    history[1::2] = [STATUS[s] for s in stored[1::2]]
    return history


def make_record(row: list[Any], cfg: list[Any]) -> JobRecord:
    reasons = row[14]
    hopped = row[26]
    keys = cfg[13]
    rec = JobRecord(
        id=row[1],
        index=cfg[0],
        name=cfg[1],
        status=STATUS[row[2]],
        priority=row[3],
        seq=row[4],
        submission_queue=cfg[3],
        queue=row[5],
        deferred=cfg[4],
        preemptible=cfg[5],
        created_at=cfg[7],
        tags=dict(row[6]),
        acceleration=Acceleration(cfg[9]),
        billing_tags_source=BillingTagsSource(cfg[10]),
        tasks_total=cfg[12],
        history=history_of(row[25]),
        start_seq=row[7],
        hop_token=row[9],
        ready_at=row[11],
        holds_slot=row[15],
        leaving=row[16],
        accelerated=row[17],
        started_at=row[18],
        finished_at=row[19],
        run_started_at=row[21],
        run_seconds=row[22],
        billed_seconds=row[23],
        controls=(
            None
            if len(cfg) < 15 or cfg[14] is None
            else _make_controls(cfg[14], row[30] if len(row) > 30 else None)
        ),
    )
    saved = row[31] if len(row) > 31 else None
    scope = cfg[11]
    extras: tuple[object, ...] = (cfg[2], cfg[6], cfg[8], scope, keys, row[8], row[10])
    extras += (hopped, row[12], row[13], reasons, row[20], row[24], saved)
    if extras != _NO_EXTRAS_ROW:  # a job that set none of them gets no extras
        rec.extras = JobExtras(
            description=cfg[2],
            confirmation_required=cfg[6],
            hops=tuple(HopRule(q, w, p) for q, w, p in cfg[8]),
            report_scope=None if scope is None else ReportScope(scope),
            task_keys=None if keys is None else dict.fromkeys(keys),
            hop_index=row[8],
            hop_due=row[10],
            hop_transitions=None if hopped is None else [HopTransition(*h) for h in hopped],
            succeeded=row[12],
            failed=row[13],
            failure_reasons=None if reasons is None else [FailureReason(c, m) for c, m in reasons],
            suspended_at=row[20],
            progress=row[24],
            saved=saved,
        )
    return rec


# The stored extras of a job that has none (see ``make_record``), in its order.
_NO_EXTRAS_ROW: Final[tuple[object, ...]] = (
    "",
    False,
    [],
    None,
    None,
    0,
    False,
    None,
    0,
    0,
    None,
    None,
    0.0,
    None,
)


def rebuild_policy(
    core: Core,
    op: list[Any],
    policies: Mapping[str, Callable[[], Policy]],
) -> Policy:
    """The policy a ``"q"`` op names (a custom one from ``policies``)."""
    queue, kind, preemption, custom = op[1], op[5], op[6], op[10]
    aging = op[11] if len(op) > 11 else None
    if kind == "fifo":
        return FifoPolicy()
    if kind == "priority":
        ages = None if aging is None else Aging(*aging)
        return make_policy(core, "priority", bool(preemption), ages)
    factory = policies.get(queue)
    if factory is None:
        raise StoreError(
            f"queue {queue!r} uses policy {brief(custom)}, which a store cannot rebuild: "
            f"pass policies={{{queue!r}: <factory>}} to open()"
        )
    return make_policy(None, factory(), False)
