"""Checking a submission's input: its fields, its task source and its controls.

``Core.submit`` checks everything here, then hands the checked values to
``Core.create``, which checks what depends on the scheduler's state. Every
check runs before anything changes, so a refused submission leaves the core
as it was.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import TYPE_CHECKING

from .._access import Principal
from .._controls import Dependency, Retry
from .._errors import ValidationError
from .._model import Acceleration, BillingTagsSource, HopRule
from .._tags import validate_tags
from .._tasks import ReportScope
from .._validate import (
    check_choice,
    check_description,
    check_name,
    check_positive_number,
    check_priority,
    check_submit_flags,
    check_time,
)
from . import holds, hops, retries, tasks
from .records import NO_TAGS, Controls, QueueRecord

if TYPE_CHECKING:
    from .core import Core

__all__ = ["Checked", "check", "check_controls"]

# What Core.create takes, in its order.
Checked = tuple[
    QueueRecord,
    int,
    bool,
    str | None,
    str,
    dict[str, str],
    tuple[HopRule, ...],
    Acceleration,
    BillingTagsSource,
    ReportScope | None,
    int,
    dict[str, None] | None,
    Callable[[], Iterable[str]] | None,
    bool,
    bool,
    Principal | None,
    Controls | None,
]


def check(
    core: Core,
    queue: str,
    priority: int,
    deferred: bool,
    name: str | None,
    description: str,
    tags: Mapping[str, str] | None,
    hop_rules: Sequence[HopRule],
    task_source: tasks.TaskSource,
    confirmation_required: bool,
    report: ReportScope | str | None,
    preemptible: bool,
    acceleration: Acceleration | str,
    billing_tags_source: BillingTagsSource | str,
    principal: Principal | None,
    not_before: float | None,
    after: Sequence[str | Dependency],
    max_run: float | None,
    max_wait: float | None,
    retry: Retry | None,
) -> Checked:
    """``Core.submit``'s arguments checked, as ``Core.create`` takes them.

    Raises:
        ValidationError: an argument is malformed or out of range.
        NotFound: the queue, or a job in ``after``, does not exist.
    """
    q = core.queue(queue)
    priority = check_priority(priority)
    if not type(deferred) is type(confirmation_required) is type(preemptible) is bool:
        check_submit_flags(deferred, confirmation_required, preemptible)
    name = None if name is None else check_name(name)
    description = check_description(description)
    job_tags = NO_TAGS if tags is None else validate_tags(tags)
    accel = check_choice("acceleration", acceleration, Acceleration)
    source = check_choice("billing_tags_source", billing_tags_source, BillingTagsSource)
    scope = None if report is None else check_choice("report", report, ReportScope)
    # Only the default skips the checks: a falsy bad value ('', 0, None) must not.
    rules = () if hop_rules == () else hops.check_rules(core.queues, q.name, hop_rules, accel)
    keys, total, reader = (
        (None, 0, None) if task_source is None else tasks.check_source(task_source)
    )
    controls = None
    # Only the defaults skip the checks: a falsy bad value must not.
    if (
        not_before is not None
        or after != ()
        or max_run is not None
        or max_wait is not None
        or retry is not None
    ):
        controls = check_controls(core, deferred, not_before, after, max_run, max_wait, retry)
    return (
        q,
        priority,
        bool(deferred),
        name,
        description,
        job_tags,
        rules,
        accel,
        source,
        scope,
        total,
        keys,
        reader,
        bool(preemptible),
        bool(confirmation_required),
        principal,
        controls,
    )


def check_controls(
    core: Core,
    deferred: object,
    not_before: object,
    after: object,
    max_run: object,
    max_wait: object,
    retry: object,
) -> Controls:
    """Raises: ValidationError, NotFound: a control is malformed or names an unknown job."""
    start = None if not_before is None else check_time("not_before", not_before)
    deps = holds.check_dependencies(core, after)
    if (start is not None or deps) and not deferred:
        field = "not_before" if start is not None else "after"
        raise ValidationError(
            f"{field} needs deferred=True: a non-deferred job starts at once or not at all"
        )
    return Controls(
        not_before=start,
        after=deps,
        max_run=None if max_run is None else check_positive_number("max_run", max_run),
        max_wait=None if max_wait is None else check_positive_number("max_wait", max_wait),
        retry=None if retry is None else retries.check(retry),
    )
