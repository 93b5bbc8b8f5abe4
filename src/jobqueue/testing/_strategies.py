"""Hypothesis strategies for valid input: priorities, tags, hops, tasks, job controls, jobs,
queues, workloads.

Every value these produce is accepted by the scheduler as long as the queues
named exist (and, for ``deferred=False`` or a full queue, a slot or room is
free: those limits depend on state, not on the value). The job controls are
off unless asked for, and each shrinks to "unused".
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal, TypeVar

import attrs
from hypothesis import strategies as st

from .._controls import Aging, Retry
from .._model import Acceleration, BillingTagsSource, HopRule, Pricing
from .._scheduler import TaskSource
from .._tags import MAX_TAG_KEY, MAX_TAG_VALUE, MAX_TAGS
from .._tasks import ReportScope
from .._validate import MAX_DESCRIPTION, MAX_NAME, PRIORITY_MAX, PRIORITY_MIN
from ..sim import JobSpec as WorkloadJob
from ..sim import QueueSpec, Workload
from ._values import FromNow, ManifestReader, Prior, QueueConfig, Submission

__all__ = [
    "agings",
    "delays",
    "dependencies",
    "hop_chains",
    "hop_waits",
    "job_names",
    "limits",
    "priorities",
    "queue_configs",
    "queue_specs",
    "retries",
    "submissions",
    "tag_sets",
    "task_sources",
    "workloads",
]

_T = TypeVar("_T")
_NAME_ALPHABET = "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ._-"


def priorities(
    min_value: int = PRIORITY_MIN, max_value: int = PRIORITY_MAX
) -> st.SearchStrategy[int]:
    """Valid priorities: ints in ``min_value..max_value`` (at most the scheduler's range).

    Over a wide range, values near 0 (so that ties and preemptions are common)
    and the edges of the range are favoured, and every value in between is
    drawn too; shrinking goes towards small values. Narrow the range (e.g.
    ``priorities(-2, 2)``) to draw only there.
    """
    lo, hi = max(min_value, PRIORITY_MIN), min(max_value, PRIORITY_MAX)
    anywhere = st.integers(lo, hi)
    if hi - lo <= 16:
        return anywhere
    centre = min(max(0, lo), hi)
    small = st.integers(max(lo, centre - 3), min(hi, centre + 3))
    medium = st.integers(max(lo, centre - 100), min(hi, centre + 100))
    edges = st.sampled_from(sorted({lo, lo + 1, hi - 1, hi}))
    return st.one_of(small, small, medium, edges, anywhere)


_any_priority = priorities
# Booleans that shrink to the flag's default, so a shrunk example shows only
# the fields that matter.
_DEFAULT_FIRST = st.sampled_from([True, False])
_DEFAULT_LAST = st.sampled_from([False, True])


def job_names(max_size: int = MAX_NAME) -> st.SearchStrategy[str]:
    """Valid job (and queue) names: 1-200 characters of ``[0-9A-Za-z._-]``."""
    return st.text(alphabet=_NAME_ALPHABET, min_size=1, max_size=min(max_size, MAX_NAME))


def tag_sets(
    keys: st.SearchStrategy[str] | None = None,
    values: st.SearchStrategy[str] | None = None,
    *,
    max_size: int = MAX_TAGS,
) -> st.SearchStrategy[dict[str, str]]:
    """Valid tag sets: at most 50 tags, keys 1-128 characters, values 0-256.

    Args:
        keys: a strategy for keys (must produce valid keys); any text by default.
        values: a strategy for values (must produce valid values); any text by default.
        max_size: at most this many tags (capped at 50).
    """
    return st.dictionaries(
        st.text(min_size=1, max_size=MAX_TAG_KEY) if keys is None else keys,
        st.text(max_size=MAX_TAG_VALUE) if values is None else values,
        max_size=min(max_size, MAX_TAGS),
    )


def hop_waits(max_value: float = 86_400.0) -> st.SearchStrategy[float]:
    """Valid hop wait times: finite floats ``> 0``."""
    return st.floats(min_value=0.0, max_value=max_value, exclude_min=True)


def hop_chains(
    source: str,
    queues: Sequence[str],
    *,
    max_hops: int = 3,
    waits: st.SearchStrategy[float] | None = None,
    new_priorities: st.SearchStrategy[int | None] | None = None,
) -> st.SearchStrategy[tuple[HopRule, ...]]:
    """Valid hop chains for a job submitted to ``source``.

    Each rule's destination is one of ``queues`` and differs from the queue the
    job hops from (the submission queue, then the previous destination).

    Args:
        source: the submission queue.
        queues: queues that exist (the destinations to choose from).
        max_hops: at most this many rules.
        waits: a strategy for wait times (``hop_waits()`` by default).
        new_priorities: a strategy for each rule's new priority, ``None`` to keep
            the job's own (``None`` or any valid priority by default).
    """
    names = tuple(dict.fromkeys(queues))
    wait_st = hop_waits() if waits is None else waits
    priority_st = (st.none() | priorities()) if new_priorities is None else new_priorities
    # Built once: drawing is cheap, building strategies is not.
    destinations = {
        q: st.sampled_from(others)
        for q in {source, *names}
        if (others := [n for n in names if n != q])
    }
    length = st.integers(0, max_hops)

    @st.composite
    def build(draw: st.DrawFn) -> tuple[HopRule, ...]:
        rules: list[HopRule] = []
        current = source
        for _ in range(draw(length)):
            if current not in destinations:
                break
            current = draw(destinations[current])
            rules.append(HopRule(current, draw(wait_st), draw(priority_st)))
        return tuple(rules)

    return build()


def task_sources(
    max_tasks: int = 5,
    *,
    keys: st.SearchStrategy[str] | None = None,
    readers: bool = True,
    unreadable: bool = True,
) -> st.SearchStrategy[TaskSource]:
    """Valid manifests: ``None``, a count, a list of unique keys, or a reader.

    Args:
        max_tasks: at most this many tasks.
        keys: task keys (non-empty text by default).
        readers: also produce ``ManifestReader`` callables.
        unreadable: some readers raise (the job then fails in Preparing).
    """
    key_lists = st.lists(
        st.text(min_size=1, max_size=8) if keys is None else keys,
        min_size=1,
        max_size=max_tasks,
        unique=True,
    )
    options: list[st.SearchStrategy[TaskSource]] = [
        st.none(),
        st.integers(0, max_tasks),
        key_lists,
    ]
    if readers:
        errors = (st.none() | st.just("manifest unreadable")) if unreadable else st.none()
        options.append(st.builds(ManifestReader, key_lists.map(tuple), errors))
    return st.one_of(options)


def delays(max_seconds: float = 86_400.0) -> st.SearchStrategy[FromNow]:
    """Start times counted from submission: ``FromNow(s)`` for ``0 <= s <= max_seconds``."""
    return st.builds(FromNow, st.floats(0.0, max_seconds))


def dependencies(
    max_size: int = 2,
    *,
    min_size: int = 0,
    back: int = 5,
    kinds: Sequence[str] = ("ok", "any", "failed"),
) -> st.SearchStrategy[tuple[Prior, ...]]:
    """Dependencies on jobs submitted before, by position: tuples of ``Prior``.

    ``Submission.submit(sched, jobs)`` resolves them among the jobs that exist
    (a plain strategy cannot know their ids). Shrinks to ``()``.

    Args:
        max_size: at most this many dependencies.
        min_size: at least this many.
        back: ``Prior.back`` is drawn from ``0..back`` (0: the newest job).
        kinds: the ``on`` values to choose from, the first one preferred.
    """
    prior = st.builds(Prior, st.integers(0, back), st.sampled_from(list(kinds)))
    return st.lists(prior, min_size=min_size, max_size=max_size).map(tuple)


def limits(max_seconds: float = 86_400.0) -> st.SearchStrategy[float]:
    """Valid ``max_run`` and ``max_wait`` values: finite seconds ``> 0``."""
    return st.floats(0.0, max_seconds, exclude_min=True)


def retries(
    max_attempts: int = 5,
    *,
    max_backoff: float = 600.0,
    codes: Sequence[str] = (),
) -> st.SearchStrategy[Retry]:
    """Valid ``Retry`` values with small attempts and backoffs, jitter in ``[0, 1]``.

    Args:
        max_attempts: ``attempts`` is drawn from ``1..max_attempts``.
        max_backoff: the largest ``backoff`` and ``max_backoff``.
        codes: extra failure codes ``Retry.on`` may name (none by default).
    """

    on_st = st.lists(st.sampled_from(list(codes)), unique=True) if codes else st.just([])

    @st.composite
    def build(draw: st.DrawFn) -> Retry:
        backoff = draw(st.floats(0.0, max_backoff))
        return Retry(
            attempts=draw(st.integers(1, max(1, max_attempts))),
            backoff=backoff,
            factor=draw(st.floats(1.0, 4.0)),
            max_backoff=draw(st.floats(backoff, max_backoff)),
            jitter=draw(st.floats(0.0, 1.0)),
            on=tuple(draw(on_st)) if codes else (),
        )

    return build()


def agings(
    max_every: float = 3_600.0, *, max_step: int = 5, max_cap: int = 20
) -> st.SearchStrategy[Aging]:
    """Valid ``Aging`` values: ``every`` in ``(0, max_every]``, ``step`` and ``cap`` ``>= 1``."""
    return st.builds(
        Aging,
        every=st.floats(0.0, max_every, exclude_min=True),
        step=st.integers(1, max(1, max_step)),
        cap=st.integers(1, max(1, max_cap)),
    )


def submissions(
    queues: Sequence[str] = ("default",),
    *,
    priorities: st.SearchStrategy[int] | None = None,
    tags: st.SearchStrategy[dict[str, str]] | None = None,
    max_hops: int = 2,
    hop_wait: st.SearchStrategy[float] | None = None,
    tasks: st.SearchStrategy[TaskSource] | None = None,
    names: st.SearchStrategy[str | None] | None = None,
    descriptions: st.SearchStrategy[str] | None = None,
    deferred: st.SearchStrategy[bool] | None = None,
    confirmation_required: st.SearchStrategy[bool] | None = None,
    preemptible: st.SearchStrategy[bool] | None = None,
    reports: st.SearchStrategy[ReportScope | None] | None = None,
    accelerations: st.SearchStrategy[Acceleration] | None = None,
    billing: st.SearchStrategy[BillingTagsSource] | None = None,
    controls: bool = False,
    not_before: st.SearchStrategy[FromNow | float | None] | None = None,
    after: st.SearchStrategy[tuple[Prior, ...]] | None = None,
    max_run: st.SearchStrategy[float | None] | None = None,
    max_wait: st.SearchStrategy[float | None] | None = None,
    retry: st.SearchStrategy[Retry | None] | None = None,
) -> st.SearchStrategy[Submission]:
    """Valid job specs (``Submission`` s) for a scheduler that has ``queues``.

    Every argument narrows or replaces one field's strategy; the defaults
    cover each field's whole valid range, except names (``None``: a name is
    unique among unfinished jobs, which depends on state), acceleration
    (``"disabled"``: ``"enabled"`` is refused in reserved queues) and the
    job controls, which are unused unless ``controls`` is set or a strategy
    for one is given. ``not_before`` and ``after`` are drawn for deferred
    jobs only (a non-deferred job refuses them). Submit a spec whose
    ``after`` holds ``Prior`` values with ``spec.submit(sched, jobs)``.

    Args:
        queues: the submission queues (and hop destinations) to choose from.
        priorities: job priorities (all valid priorities by default).
        tags: tag sets (``tag_sets()`` by default).
        max_hops: at most this many hop rules (0 for none).
        hop_wait: hop wait times (``hop_waits()`` by default).
        tasks: manifests (``task_sources()`` by default).
        names: job names.
        descriptions: descriptions (up to 256 characters).
        deferred: the ``deferred`` flag.
        confirmation_required: the ``confirmation_required`` flag.
        preemptible: the ``preemptible`` flag.
        reports: completion-report scopes, or ``None``.
        accelerations: the acceleration setting.
        billing: where billing tags come from.
        controls: draw every job control not given below, each unused
            (``None`` or ``()``) about half the time: ``delays()``,
            ``dependencies()``, ``limits()``, ``retries()``.
        not_before: start times (``FromNow`` values, absolute times or ``None``).
        after: dependencies (``dependencies()`` gives them).
        max_run: run limits, or ``None``.
        max_wait: wait limits, or ``None``.
        retry: retry settings, or ``None``.
    """
    queue_names = tuple(queues)
    priority_st = _any_priority() if priorities is None else priorities
    # Built once: drawing is cheap, building strategies is not.
    queue_st = st.sampled_from(queue_names)
    hop_st = {
        q: hop_chains(
            q,
            queue_names,
            max_hops=max_hops,
            waits=hop_wait,
            new_priorities=st.none() | priority_st,
        )
        for q in queue_names
    }
    deferred_st = _DEFAULT_FIRST if deferred is None else deferred
    name_st = st.none() if names is None else names
    description_st = st.text(max_size=MAX_DESCRIPTION) if descriptions is None else descriptions
    tags_st = tag_sets() if tags is None else tags
    tasks_st = task_sources() if tasks is None else tasks
    confirm_st = _DEFAULT_LAST if confirmation_required is None else confirmation_required
    report_st = st.sampled_from([None, *ReportScope]) if reports is None else reports
    preemptible_st = _DEFAULT_FIRST if preemptible is None else preemptible
    accel_st = st.just(Acceleration.DISABLED) if accelerations is None else accelerations
    billing_st = st.sampled_from(BillingTagsSource) if billing is None else billing
    not_before_st: st.SearchStrategy[FromNow | float | None] = _control(
        not_before, controls, delays()
    )
    after_st: st.SearchStrategy[tuple[Prior, ...]] = (
        (dependencies() if controls else st.just(())) if after is None else after
    )
    max_run_st = _control(max_run, controls, limits())
    max_wait_st = _control(max_wait, controls, limits())
    retry_st = _control(retry, controls, retries())
    drawn_controls = controls or any(
        given is not None for given in (not_before, after, max_run, max_wait, retry)
    )

    @st.composite
    def build(draw: st.DrawFn) -> Submission:
        queue = draw(queue_st)
        spec = Submission(
            queue=queue,
            priority=draw(priority_st),
            deferred=draw(deferred_st),
            name=draw(name_st),
            description=draw(description_st),
            tags=draw(tags_st),
            hops=draw(hop_st[queue]),
            tasks=draw(tasks_st),
            confirmation_required=draw(confirm_st),
            report=draw(report_st),
            preemptible=draw(preemptible_st),
            acceleration=draw(accel_st),
            billing_tags_source=draw(billing_st),
        )
        if not drawn_controls:
            return spec
        # Drawn last, so that the fields above are drawn as they always were; and
        # always drawn, so that a shrink of ``deferred`` keeps the draws in step.
        not_before_value, after_value = draw(not_before_st), draw(after_st)
        return attrs.evolve(
            spec,
            not_before=not_before_value if spec.deferred else None,
            after=after_value if spec.deferred else (),
            max_run=draw(max_run_st),
            max_wait=draw(max_wait_st),
            retry=draw(retry_st),
        )

    return build()


def _control(
    given: st.SearchStrategy[_T | None] | None, controls: bool, stock: st.SearchStrategy[_T]
) -> st.SearchStrategy[_T | None]:
    """A control's strategy: the one given, else ``stock`` or ``None`` (shrinking to ``None``)."""
    if given is not None:
        return given
    return st.none() | stock if controls else st.none()


def queue_specs(
    names: st.SearchStrategy[str] | None = None,
    *,
    max_slots: int = 100,
    policies: Sequence[Literal["fifo", "priority"]] = ("fifo", "priority"),
    max_waiting: int = 10_000,
) -> st.SearchStrategy[QueueSpec]:
    """Valid queue configs: ``jobqueue.sim.QueueSpec`` s (``create_queue``'s arguments).

    Create one with ``sched.create_queue(spec.name, slots=spec.slots, ...)``,
    or put it in a ``Workload``.

    Args:
        names: queue names (``job_names()`` by default; a name must not exist yet).
        max_slots: at most this many slots.
        policies: the policies to choose from; preemption is drawn for ``"priority"``.
        max_waiting: the largest waiting-room cap.
    """

    @st.composite
    def build(draw: st.DrawFn) -> QueueSpec:
        policy = draw(st.sampled_from(list(policies)))
        return QueueSpec(
            name=draw(job_names() if names is None else names),
            slots=draw(st.integers(1, max_slots)),
            policy=policy,
            preemption=draw(st.booleans()) if policy == "priority" else False,
            deferred_share=draw(st.floats(0.0, 1.0, exclude_min=True)),
            max_waiting=draw(st.integers(1, max_waiting)),
            pricing=draw(st.sampled_from(Pricing)),
            tags=draw(tag_sets(max_size=3)),
        )

    return build()


def queue_configs(
    names: st.SearchStrategy[str] | None = None,
    *,
    max_slots: int = 100,
    policies: Sequence[Literal["fifo", "priority"]] = ("fifo", "priority"),
    max_waiting: int = 10_000,
    aging: st.SearchStrategy[Aging | None] | None = None,
) -> st.SearchStrategy[QueueConfig]:
    """Valid queues with everything ``create_queue`` takes, aging included: ``QueueConfig`` s.

    Create one with ``config.create(sched)``. ``queue_specs`` draws the same
    settings but makes ``jobqueue.sim.QueueSpec`` s, the simulator's queues,
    which have no aging.

    Args:
        names: queue names (``job_names()`` by default; a name must not exist yet).
        max_slots: at most this many slots.
        policies: the policies to choose from; preemption and aging are drawn
            for ``"priority"`` only.
        max_waiting: the largest waiting-room cap.
        aging: aging settings for a priority queue (``None`` or ``agings()``
            by default, shrinking to ``None``).
    """
    aging_st = st.none() | agings() if aging is None else aging
    spec_st = queue_specs(names, max_slots=max_slots, policies=policies, max_waiting=max_waiting)

    @st.composite
    def build(draw: st.DrawFn) -> QueueConfig:
        spec = draw(spec_st)
        return QueueConfig(
            name=spec.name,
            slots=spec.slots,
            policy=spec.policy,
            preemption=spec.preemption,
            deferred_share=spec.deferred_share,
            max_waiting=spec.max_waiting,
            pricing=spec.pricing,
            tags=spec.tags,
            aging=draw(aging_st) if spec.policy == "priority" else None,
        )

    return build()


def workloads(
    queues: st.SearchStrategy[Sequence[QueueSpec]] | Sequence[QueueSpec] | None = None,
    *,
    max_jobs: int = 50,
    priorities: st.SearchStrategy[int] | None = None,
    interarrival: st.SearchStrategy[float] | None = None,
    durations: st.SearchStrategy[float] | None = None,
    max_hops: int = 1,
    max_tasks: int = 5,
    tags: st.SearchStrategy[dict[str, str]] | None = None,
) -> st.SearchStrategy[Workload]:
    """Workloads for ``jobqueue.sim.simulate``: queues, then jobs with arrivals and durations.

    Arrivals are non-decreasing. Jobs go to ``"default"`` or one of the
    queues, and may carry hop rules between them, tasks (some of which fail)
    and tags.

    Args:
        queues: the workload's queues, or a strategy for them (by default up to
            two small queues named ``"q0"`` and ``"q1"``).
        max_jobs: at most this many jobs.
        priorities: job priorities (``-5..5`` by default).
        interarrival: seconds between consecutive arrivals (``>= 0``).
        durations: seconds of work per job (``>= 0``).
        max_hops: at most this many hop rules per job.
        max_tasks: at most this many tasks per job.
        tags: the jobs' tag sets (up to 3 tags by default).
    """
    if queues is None:
        queue_st: st.SearchStrategy[Sequence[QueueSpec]] = st.integers(0, 2).flatmap(
            lambda n: st.tuples(
                *(queue_specs(st.just(f"q{i}"), max_slots=8, max_waiting=100) for i in range(n))
            )
        )
    elif isinstance(queues, st.SearchStrategy):
        queue_st = queues
    else:
        queue_st = st.just(tuple(queues))
    priority_st = _any_priority(-5, 5) if priorities is None else priorities
    gap_st = st.floats(0.0, 600.0) if interarrival is None else interarrival
    duration_st = st.floats(0.0, 3_600.0) if durations is None else durations
    tag_st = tag_sets(max_size=3) if tags is None else tags

    @st.composite
    def build(draw: st.DrawFn) -> Workload:
        specs = tuple(draw(queue_st))
        names = ("default", *(q.name for q in specs if q.name != "default"))
        jobs = []
        now = 0.0
        for _ in range(draw(st.integers(0, max_jobs))):
            now += draw(gap_st)
            queue = draw(st.sampled_from(names))
            jobs.append(
                WorkloadJob(
                    arrival=now,
                    duration=draw(duration_st),
                    queue=queue,
                    priority=draw(priority_st),
                    deferred=draw(st.booleans()),
                    preemptible=draw(st.booleans()),
                    hops=draw(
                        hop_chains(
                            queue,
                            names,
                            max_hops=max_hops,
                            waits=hop_waits(3_600.0),
                            new_priorities=st.none() | priority_st,
                        )
                    ),
                    tasks=draw(st.integers(0, max_tasks)),
                    task_failure_rate=draw(st.sampled_from([0.0, 0.0, 0.1, 0.5, 1.0])),
                    tags=draw(tag_st),
                )
            )
        return Workload(jobs=jobs, queues=specs)

    return build()
