"""Queues: creating, changing, pausing and deleting them, and their policies.

A queue's settings are its slots and deferred share (``admission``), its cap
on waiting jobs, its policy (which waiting job starts next), its pricing plan
and its tags. Settings change at run time: lowering a limit never stops or
drops admitted work, and changing the policy moves every waiting and running
job into the new one, keeping their entry order. Every function checks all
of its input, then the caller against the access policy (``access``), before
it changes anything.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Literal, TypeAlias

from .._access import Action, Principal
from .._controls import Aging
from .._errors import ConflictError, ValidationError
from .._model import Acceleration, Pricing, QueueInfo
from .._states import JobStatus
from .._tags import validate_tags
from .._validate import (
    check_bool,
    check_choice,
    check_int,
    check_name,
    check_share,
    check_str,
    lookup_key,
)
from ..policies import FifoPolicy, Policy, PriorityPolicy
from . import hops
from .access import authorize_queue
from .admission import deferred_limit, set_limits
from .aging import AgingPolicy
from .aging import check as check_aging
from .preemption import may_preempt, tracks_running
from .records import QueueRecord

if TYPE_CHECKING:
    from .core import Core

__all__ = [
    "PolicySpec",
    "add",
    "check_name_of",
    "create",
    "delete",
    "info",
    "make_policy",
    "pause",
    "resume",
    "update",
]

PolicySpec: TypeAlias = Literal["fifo", "priority"] | Policy


def add(
    core: Core,
    name: str,
    slots: int,
    policy: Policy,
    share: float,
    max_waiting: int,
    pricing: Pricing,
    tags: dict[str, str],
) -> QueueRecord:
    """Add a queue whose settings are checked already."""
    q = core.queues[name] = QueueRecord(
        name=name,
        slots=slots,
        deferred_share=share,
        deferred_limit=deferred_limit(slots, share),
        max_waiting=max_waiting,
        policy=policy,
        pricing=pricing,
        tags=tags,
        preempts=may_preempt(policy),
        tracks_running=tracks_running(policy),
    )
    return q


def create(
    core: Core,
    name: str,
    slots: int,
    policy: PolicySpec,
    preemption: bool,
    deferred_share: float,
    max_waiting: int,
    pricing: Pricing | str,
    tags: Mapping[str, str] | None,
    aging: Aging | None = None,
    principal: Principal | None = None,
) -> QueueRecord:
    """Check the settings and the caller, and add the queue (see ``Scheduler.create_queue``)."""
    qname = check_name_of(name)
    if qname in core.queues:
        raise ConflictError(f"queue {qname!r} already exists")
    slots = check_int("slots", slots, 1)
    preemption = check_bool("preemption", preemption)
    share = check_share(deferred_share)
    max_waiting = check_int("max_waiting", max_waiting, 1)
    plan = check_choice("pricing", pricing, Pricing)
    queue_tags = validate_tags(tags)
    _check_unshared(policy, core.queues.values())
    pol = make_policy(core, policy, preemption, None if aging is None else check_aging(aging))
    authorize_queue(core, Action.CREATE_QUEUE, qname, queue_tags, principal, queue_tags)
    now = core.now()
    q = add(core, qname, slots, pol, share, max_waiting, plan, queue_tags)
    core.emit_queue(qname, "created", now)
    core.outbox.flush()
    return q


def update(
    core: Core,
    q: QueueRecord,
    slots: int | None,
    policy: PolicySpec | None,
    preemption: bool | None,
    deferred_share: float | None,
    max_waiting: int | None,
    pricing: Pricing | str | None,
    tags: Mapping[str, str] | None,
    aging: Aging | Literal["off"] | None = None,
    principal: Principal | None = None,
) -> QueueRecord:
    """Check the changed settings and the caller, then apply them; returns ``q``."""
    new_slots = q.slots if slots is None else check_int("slots", slots, 1)
    if preemption is not None:
        preemption = check_bool("preemption", preemption)
    share = q.deferred_share if deferred_share is None else check_share(deferred_share)
    cap = q.max_waiting if max_waiting is None else check_int("max_waiting", max_waiting, 1)
    plan = q.pricing if pricing is None else check_choice("pricing", pricing, Pricing)
    new_tags = q.tags if tags is None else validate_tags(tags)
    new_policy: Policy | None = None
    if policy is not None or preemption is not None or aging is not None:
        spec: PolicySpec = policy if policy is not None else _policy_spec(q.policy)
        keep = isinstance(q.policy, (PriorityPolicy, AgingPolicy)) and q.policy.preemption
        current = q.policy.aging if isinstance(q.policy, AgingPolicy) else None
        ages = current if aging is None else None if aging == "off" else check_aging(aging)
        _check_unshared(spec, core.queues.values())
        new_policy = make_policy(core, spec, keep if preemption is None else preemption, ages)
    if plan is Pricing.RESERVED and q.pricing is not Pricing.RESERVED:
        for rec in core.live():
            if rec.acceleration is Acceleration.ENABLED and (
                rec.queue == q.name or q.name in hops.pending_destinations(rec)
            ):
                raise ConflictError(
                    f"queue {q.name!r} cannot become reserved: job {rec.id!r} "
                    "has acceleration 'enabled'"
                )
    authorize_queue(
        core, Action.UPDATE_QUEUE, q.name, q.tags, principal, None if tags is None else new_tags
    )
    # All checks passed: apply.
    now = core.now()
    if plan is not q.pricing:
        # Bill what ran so far under the plan it ran under.
        for rec in core.jobs.values():
            if rec.holds_slot and rec.queue == q.name:
                core.ledger.settle(rec, q, now, core.queues)
    set_limits(q, new_slots, share, cap)
    q.pricing = plan
    q.tags = new_tags
    if new_policy is not None:
        line = list(q.policy.waiting())
        running = [r for r in core.live() if r.queue == q.name and r.status is JobStatus.ACTIVE]
        q.policy = new_policy
        q.preempts = may_preempt(new_policy)
        q.tracks_running = tracks_running(new_policy)
        for job in line:
            new_policy.add(job)
        for rec in running:
            new_policy.started(rec)
    core.emit_queue(q.name, "updated", now)
    core.dispatch(q, now)
    core.outbox.flush()
    return q


def delete(core: Core, q: QueueRecord, principal: Principal | None) -> None:
    """Delete a queue no unfinished job is in or may hop to.

    Raises:
        ConflictError: the queue is in use.
        ValidationError: ``principal`` is neither a ``Principal`` nor ``None``.
        AccessDenied: the access policy refuses ``delete_queue``.
    """
    for rec in core.live():
        if rec.queue == q.name or q.name in hops.pending_destinations(rec):
            raise ConflictError(f"queue {q.name!r} is in use by job {rec.id!r}")
    authorize_queue(core, Action.DELETE_QUEUE, q.name, q.tags, principal)
    now = core.now()
    del core.queues[q.name]
    core.emit_queue(q.name, "deleted", now)
    core.outbox.flush()


def pause(core: Core, q: QueueRecord, principal: Principal | None) -> QueueRecord:
    """Stop starting jobs in ``q``; pausing a paused queue changes nothing. Returns ``q``.

    The caller is checked even then: what a caller may do does not depend on
    whether it would change anything.
    """
    authorize_queue(core, Action.PAUSE_QUEUE, q.name, q.tags, principal)
    if not q.paused:
        now = core.now()
        q.paused = True
        core.emit_queue(q.name, "paused", now)
        core.outbox.flush()
    return q


def resume(core: Core, q: QueueRecord, principal: Principal | None) -> QueueRecord:
    """Reactivate a paused queue, settling the hops it held (``hops.resume``). Returns ``q``."""
    authorize_queue(core, Action.RESUME_QUEUE, q.name, q.tags, principal)
    if q.paused:
        now = core.now()
        q.paused = False
        core.emit_queue(q.name, "resumed", now)
        hops.resume(core, q, now)
        core.outbox.flush()
    return q


def check_name_of(name: object) -> str:
    """Raises: ValidationError: not a valid queue name."""
    checked = check_name(check_str("queue name", name))
    assert checked is not None
    return checked


def make_policy(
    core: Core | None, spec: PolicySpec, preemption: bool, aging: Aging | None = None
) -> Policy:
    """The policy instance a spec names (``core`` gives an aging line its clock).

    Raises:
        ValidationError: an unknown spec, a used custom policy, or preemption
            or aging asked of a policy other than ``"priority"``.
    """
    if issubclass(type(spec), str):
        spec = lookup_key(spec)  # type: ignore[assignment]  # compared as its characters
    elif isinstance(spec, type):
        raise ValidationError(
            f"policy must be 'fifo', 'priority' or a Policy instance, got the class {spec.__name__}"
        )
    if aging is not None:
        if spec != "priority":
            shown = spec if isinstance(spec, str) else type(spec).__name__
            raise ValidationError(f"aging needs policy 'priority', got {shown!r}")
        assert core is not None
        return AgingPolicy(aging, preemption=preemption, now=core.now)
    if spec == "fifo":
        if preemption:
            raise ValidationError("preemption needs policy 'priority', got 'fifo'")
        return FifoPolicy()
    if spec == "priority":
        return PriorityPolicy(preemption=preemption)
    if isinstance(spec, str):
        raise ValidationError(f"policy must be 'fifo', 'priority' or a Policy, got {spec!r}")
    if not isinstance(spec, Policy):
        raise ValidationError(f"policy must be 'fifo', 'priority' or a Policy, got {spec!r}")
    if len(spec) != 0:
        raise ValidationError("policy must be a fresh instance with no waiting jobs")
    if preemption:
        raise ValidationError(
            "preemption applies to policy 'priority'; a custom policy preempts by its victims()"
        )
    return spec


def _check_unshared(policy: object, queues: Iterable[QueueRecord]) -> None:
    # One instance orders one queue: shared, it would mix two lines.
    for q in queues:
        if q.policy is policy:
            raise ValidationError(f"policy instance is already used by queue {q.name!r}")


def _policy_spec(policy: Policy) -> PolicySpec:
    if isinstance(policy, FifoPolicy):
        return "fifo"
    if isinstance(policy, (PriorityPolicy, AgingPolicy)):
        return "priority"
    return policy


def info(q: QueueRecord) -> QueueInfo:
    """The frozen public view of a queue."""
    return QueueInfo(
        name=q.name,
        slots=q.slots,
        deferred_share=q.deferred_share,
        deferred_limit=q.deferred_limit,
        max_waiting=q.max_waiting,
        policy=q.policy.name,
        pricing=q.pricing,
        tags=q.tags,
        paused=q.paused,
        waiting=q.ready,
        paused_jobs=q.paused_jobs,
        running=q.holding,
        aging=q.policy.aging if isinstance(q.policy, AgingPolicy) else None,
    )
