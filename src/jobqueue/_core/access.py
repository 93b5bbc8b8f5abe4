"""The access policy at the scheduler's calls: which action each needs, on which tags.

Theory of operation
-------------------
Every call that takes a ``principal`` checks it here, whether or not a policy
is set: a principal of the wrong type is bad input either way. The check comes
after the call's other input is checked and before anything changes, so a
refused call changes nothing. With a policy set (``jobqueue._access`` says
which tags each action is decided on):

- each job write needs its own action on the job; every read of one job
  needs ``describe`` on it, and so does depending on it (``submit``'s
  ``after``), since the dependent learns how it ended;
- ``list_jobs`` needs ``list``, and returns only the jobs the caller may
  ``describe`` (a job's existence is not a secret: ``get`` of a job the
  caller may not read says ``AccessDenied``, of an unknown one ``NotFound``);
- each queue administration call needs its own action on the queue.

``None`` is the anonymous caller, a principal with no attributes: under a
policy it may do only what some statement allows whoever calls.

Some calls take no principal and are never governed. They are the calls a
runtime makes about the work it runs (``complete``, ``fail``, ``paused``,
``cancelled``, ``record_task``, ``set_progress``), and the administrative
ones: ``subscribe`` (every event of every job, unfiltered), ``poll``,
``next_deadline``, ``get_queue``, ``list_queues``, ``usage_report``,
``check_invariants``, ``len()`` and ``in``. An application that serves
callers it does not trust keeps those calls to itself, as it keeps the
scheduler object. A runtime's own reads of the jobs it runs skip the policy
too (``jobqueue.runtime._trusted``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import TYPE_CHECKING

from .._access import Action, Principal, check_principal
from .._controls import Dependency
from .records import NO_TAGS, JobRecord

if TYPE_CHECKING:
    from .core import Core

__all__ = ["authorize", "authorize_create", "authorize_queue", "describable", "visible"]


def authorize(
    core: Core,
    action: Action,
    rec: JobRecord,
    principal: Principal | None,
    request: Mapping[str, str] | None = None,
) -> None:
    """Decide ``action`` on job ``rec``, whose tags are the resource tags.

    Raises:
        ValidationError: ``principal`` is neither a ``Principal`` nor ``None``.
        AccessDenied: the access policy refuses ``action``.
    """
    check_principal(principal)
    policy = core.access_policy
    if policy is not None:
        policy.check(action, principal, rec.tags, request, target=rec.id)


def authorize_create(
    core: Core,
    principal: Principal | None,
    tags: Mapping[str, str],
    after: Iterable[Dependency] = (),
) -> None:
    """Decide ``create`` of a job with ``tags`` (both the resource and the request tags).

    A job that waits on others (``after``) learns how they end, so the caller
    must also be allowed to ``describe`` each of them.

    Raises:
        ValidationError: ``principal`` is neither a ``Principal`` nor ``None``.
        AccessDenied: the access policy refuses ``create``, or ``describe`` of
            a job in ``after``.
    """
    check_principal(principal)
    policy = core.access_policy
    if policy is not None:
        policy.check(Action.CREATE, principal, tags, tags)
        for dep in after:
            policy.check(Action.DESCRIBE, principal, core.job(dep.job_id).tags, target=dep.job_id)


def authorize_queue(
    core: Core,
    action: Action,
    name: str,
    tags: Mapping[str, str],
    principal: Principal | None,
    request: Mapping[str, str] | None = None,
) -> None:
    """Decide a queue action on queue ``name``, whose tags are ``tags``.

    Raises:
        ValidationError: ``principal`` is neither a ``Principal`` nor ``None``.
        AccessDenied: the access policy refuses ``action``.
    """
    check_principal(principal)
    policy = core.access_policy
    if policy is not None:
        policy.check(action, principal, tags, request, target=name)


def visible(core: Core, job_id: str, principal: Principal | None) -> JobRecord:
    """The job ``job_id``, for a caller who may ``describe`` it.

    Raises:
        NotFound: no such job (or it was purged).
        ValidationError: ``principal`` is neither a ``Principal`` nor ``None``.
        AccessDenied: the access policy refuses ``describe``.
    """
    rec = core.job(job_id)
    authorize(core, Action.DESCRIBE, rec, principal)
    return rec


def describable(core: Core, principal: Principal | None) -> Callable[[JobRecord], bool] | None:
    """Decide ``list``; then which jobs the caller may ``describe`` (``None``: every one).

    Raises:
        ValidationError: ``principal`` is neither a ``Principal`` nor ``None``.
        AccessDenied: the access policy refuses ``list``.
    """
    check_principal(principal)
    policy = core.access_policy
    if policy is None:
        return None
    policy.check(Action.LIST, principal, NO_TAGS)
    describe = Action.DESCRIBE
    return lambda rec: policy.allows(describe, principal, rec.tags)
