"""Billing and acceleration (MediaConvert), on a manual clock.

A job is billed for the time it holds a slot in an on-demand queue, and for
nothing else: not while it waits, not while it runs in a reserved queue. The
billed time goes under the submission queue's tags or the job's own
(``billing_tags_source``), and ``usage_report()`` sums it by tag set. Run time
is billed when the slot is given back (the job finishes or is paused).

Reserved queues cannot run jobs whose acceleration is ``enabled``; a
``preferred`` job runs accelerated only in an on-demand queue.
"""

from __future__ import annotations

import re

import pytest
from helpers import fingerprint

from jobqueue import (
    Acceleration,
    BillingTagsSource,
    ConflictError,
    HopRule,
    JobStatus,
    ManualClock,
    Pricing,
    Scheduler,
    UsageRow,
    ValidationError,
)

S = JobStatus


def usage(sched: Scheduler) -> list[tuple[dict[str, str], float]]:
    return [(dict(row.tags), row.seconds) for row in sched.usage_report()]


def reserved_and_on_demand(clock: ManualClock) -> Scheduler:
    """ "reserved" (1 slot, tagged Pool=reserved) and "on-demand" (5 slots, Pool=on-demand)."""
    sched = Scheduler(clock)
    sched.create_queue("reserved", slots=1, pricing="reserved", tags={"Pool": "reserved"})
    sched.create_queue("on-demand", slots=5, tags={"Pool": "on-demand"})
    return sched


# ---------------------------------------------------------------------- what is billed


def test_run_time_in_an_on_demand_queue_is_billed() -> None:
    clock = ManualClock(10.0)
    sched = Scheduler(clock)
    job = sched.submit()  # 10.0 starts
    clock.set(22.5)
    sched.complete(job.id)  # 22.5: 12.5 seconds
    got = sched.get(job.id)
    assert (got.run_seconds, got.billed_seconds) == (12.5, 12.5)
    assert sched.usage_report() == (UsageRow({}, 12.5),)


def test_run_time_in_a_reserved_queue_is_not_billed() -> None:
    clock = ManualClock()
    sched = reserved_and_on_demand(clock)
    job = sched.submit(queue="reserved")
    clock.set(100.0)
    sched.complete(job.id)
    got = sched.get(job.id)
    assert (got.run_seconds, got.billed_seconds) == (100.0, 0.0)
    assert sched.usage_report() == ()


def test_waiting_is_not_billed() -> None:
    clock = ManualClock()
    sched = Scheduler(clock)
    sched.create_queue("small", slots=1)
    first = sched.submit(queue="small")
    second = sched.submit(queue="small")  # waits 30 s
    clock.set(30.0)
    sched.complete(first.id)  # second starts at 30
    clock.set(40.0)
    sched.complete(second.id)
    assert sched.get(second.id).billed_seconds == 10.0
    assert usage(sched) == [({}, 40.0)]


def test_a_hopped_job_is_billed_only_for_its_run_in_the_on_demand_queue() -> None:
    # The seed's common case: jobs wait in a reserved queue and hop to an
    # on-demand queue during a spike; only the on-demand run is billed.
    clock = ManualClock()
    sched = reserved_and_on_demand(clock)
    busy = sched.submit(queue="reserved")  # 0: holds the reserved slot
    job = sched.submit(queue="reserved", hops=[HopRule("on-demand", 600.0)])
    clock.set(600.0)  # 10:00 hops and starts on demand
    sched.poll()
    clock.set(645.0)  # 10:45 done
    sched.complete(job.id)
    clock.set(700.0)
    sched.complete(busy.id)
    got = sched.get(job.id)
    assert (got.queue, got.run_seconds, got.billed_seconds) == ("on-demand", 45.0, 45.0)
    assert sched.get(busy.id).billed_seconds == 0.0
    # Billed under the tags of the submission queue, the default source.
    assert usage(sched) == [({"Pool": "reserved"}, 45.0)]


def test_preempted_time_is_not_billed() -> None:
    clock = ManualClock()
    sched = Scheduler(clock)
    sched.create_queue("prio", slots=1, policy="priority", preemption=True)
    low = sched.submit(queue="prio", priority=1)  # 0 starts
    clock.set(10.0)
    high = sched.submit(queue="prio", priority=9)  # 10: low pauses, high runs
    clock.set(30.0)
    sched.complete(high.id)  # 30: low resumes
    clock.set(35.0)
    sched.complete(low.id)
    assert sched.get(low.id).billed_seconds == 15.0  # 0-10 and 30-35
    assert sched.get(high.id).billed_seconds == 20.0
    assert usage(sched) == [({}, 35.0)]


def test_cancelled_and_failed_runs_are_billed_up_to_the_end() -> None:
    clock = ManualClock()
    sched = Scheduler(clock)
    cancelled = sched.submit()
    failed = sched.submit()
    clock.set(4.0)
    sched.cancel(cancelled.id)
    clock.set(6.0)
    sched.fail(failed.id, "broken")
    assert [sched.get(j.id).billed_seconds for j in (cancelled, failed)] == [4.0, 6.0]
    assert usage(sched) == [({}, 10.0)]


def test_with_acknowledged_work_the_slot_is_billed_until_the_work_stops() -> None:
    clock = ManualClock()
    sched = Scheduler(clock, acknowledge=True)
    job = sched.submit()
    clock.set(5.0)
    sched.cancel(job.id)  # Cancelling: the work still runs and holds its slot
    clock.set(8.0)
    sched.cancelled(job.id)
    assert sched.get(job.id).billed_seconds == 8.0


def test_running_time_is_billed_when_the_slot_is_given_back() -> None:
    clock = ManualClock()
    sched = Scheduler(clock)
    job = sched.submit()
    clock.set(50.0)
    assert sched.get(job.id).billed_seconds == 0.0
    assert sched.usage_report() == ()
    sched.complete(job.id)
    assert sched.usage_report() == (UsageRow({}, 50.0),)


def test_a_paused_queue_goes_on_billing_the_work_it_lets_finish() -> None:
    clock = ManualClock()
    sched = Scheduler(clock)
    job = sched.submit()
    sched.pause_queue("default")
    clock.set(9.0)
    sched.complete(job.id)
    assert sched.get(job.id).billed_seconds == 9.0


def test_changing_a_queues_plan_bills_each_part_of_a_run_under_its_own_plan() -> None:
    clock = ManualClock()
    sched = Scheduler(clock)
    sched.create_queue("q")
    job = sched.submit(queue="q")
    clock.set(30.0)
    sched.update_queue("q", pricing="reserved")  # 0-30 ran on demand
    clock.set(100.0)
    sched.complete(job.id)
    assert sched.get(job.id).billed_seconds == 30.0


# ---------------------------------------------------------------------- billing tags


def test_billing_tags_from_the_submission_queue_by_default() -> None:
    clock = ManualClock()
    sched = Scheduler(clock)
    sched.create_queue("q", tags={"CostCenter": "video"})
    job = sched.submit(queue="q", tags={"Team": "x"})
    assert job.billing_tags_source is BillingTagsSource.QUEUE
    clock.set(3.0)
    sched.complete(job.id)
    assert usage(sched) == [({"CostCenter": "video"}, 3.0)]


def test_billing_tags_from_the_job() -> None:
    # The seed: to track what a hopped job cost, set the source to the job.
    clock = ManualClock()
    sched = reserved_and_on_demand(clock)
    sched.submit(queue="reserved")
    job = sched.submit(
        queue="reserved",
        tags={"Project": "trailer"},
        billing_tags_source="job",
        hops=[HopRule("on-demand", 60.0)],
    )
    assert job.billing_tags_source is BillingTagsSource.JOB
    clock.set(60.0)
    sched.poll()
    clock.set(90.0)
    sched.complete(job.id)
    assert usage(sched) == [({"Project": "trailer"}, 30.0)]


def test_time_billed_after_a_queue_retags_goes_under_its_new_tags() -> None:
    # The ledger sorts a tag set once and reuses the key: a new tag set, even
    # one that looks alike, is keyed anew.
    clock = ManualClock()
    sched = Scheduler(clock)
    sched.create_queue("q", tags={"CostCenter": "old"})
    first, second, third = (sched.submit(queue="q") for _ in range(3))
    clock.set(1.0)
    sched.complete(first.id)  # old: 1.0
    sched.update_queue("q", tags={"CostCenter": "new"})
    clock.set(3.0)
    sched.complete(second.id)  # new: 3.0, the tags in force when it is billed
    sched.update_queue("q", tags={"CostCenter": "old"})
    clock.set(4.0)
    sched.complete(third.id)  # old again: 4.0
    assert usage(sched) == [({"CostCenter": "old"}, 5.0), ({"CostCenter": "new"}, 3.0)]


def test_untagged_time_is_reported_under_the_empty_tag_set() -> None:
    clock = ManualClock()
    sched = Scheduler(clock)
    job = sched.submit(billing_tags_source=BillingTagsSource.JOB)
    clock.set(2.0)
    sched.complete(job.id)
    assert sched.usage_report() == (UsageRow({}, 2.0),)


def test_the_report_sums_by_tag_set_largest_first() -> None:
    clock = ManualClock()
    sched = Scheduler(clock)
    sched.create_queue("video", tags={"CostCenter": "video"})
    sched.create_queue("audio", tags={"CostCenter": "audio"})
    a1 = sched.submit(queue="audio")
    v1 = sched.submit(queue="video")
    mine = sched.submit(queue="video", tags={"CostCenter": "audio"}, billing_tags_source="job")
    v2 = sched.submit(queue="video")
    clock.set(1.25)
    sched.complete(a1.id)  # audio: 1.25
    clock.set(2.5)
    sched.complete(v1.id)  # video: 2.5
    sched.complete(mine.id)  # audio (the job's own tags): 2.5
    clock.set(3.0)
    sched.complete(v2.id)  # video: 3.0
    assert sched.usage_report() == (
        UsageRow({"CostCenter": "video"}, 5.5),
        UsageRow({"CostCenter": "audio"}, 3.75),
    )


def test_tag_sets_are_told_apart_by_every_key_and_value() -> None:
    clock = ManualClock()
    sched = Scheduler(clock)
    ids = [
        sched.submit(tags=tags, billing_tags_source="job").id
        for tags in ({"a": "1"}, {"a": "1", "b": "2"}, {"A": "1"}, {"b": "2", "a": "1"})
    ]
    clock.set(1.0)
    for job_id in ids:
        sched.complete(job_id)
    assert sched.usage_report() == (
        UsageRow({"a": "1", "b": "2"}, 2.0),
        UsageRow({"A": "1"}, 1.0),
        UsageRow({"a": "1"}, 1.0),
    )


def test_tags_are_the_ones_in_force_when_the_time_is_billed() -> None:
    clock = ManualClock()
    sched = Scheduler(clock)
    job = sched.submit(tags={"Project": "old"}, billing_tags_source="job")
    clock.set(5.0)
    sched.put_tags(job.id, {"Project": "new"})
    clock.set(7.0)
    sched.complete(job.id)
    assert usage(sched) == [({"Project": "new"}, 7.0)]


def test_time_of_a_job_whose_submission_queue_was_deleted_is_reported_untagged() -> None:
    # As with an untagged submission queue, the seed's "charges appear unsorted".
    clock = ManualClock()
    sched = Scheduler(clock)
    sched.create_queue("gone", slots=1, tags={"Pool": "gone"})
    sched.create_queue("stays", slots=1)
    sched.submit(queue="gone")
    job = sched.submit(queue="gone", hops=[HopRule("stays", 10.0)])
    clock.set(10.0)
    sched.poll()  # hops and starts in "stays": nothing holds "gone" any more
    sched.cancel(sched.list_jobs(queue="gone").jobs[0].id)
    sched.delete_queue("gone")
    clock.set(16.0)
    sched.complete(job.id)
    assert usage(sched) == [({"Pool": "gone"}, 10.0), ({}, 6.0)]


def test_an_unknown_billing_tags_source_is_rejected_and_nothing_is_stored() -> None:
    sched = Scheduler(ManualClock())
    before = fingerprint(sched)
    with pytest.raises(ValidationError) as info:
        sched.submit(billing_tags_source="team")
    assert str(info.value) == "billing_tags_source must be one of 'queue', 'job', got 'team'"
    assert fingerprint(sched) == before


def test_a_queue_is_on_demand_unless_told() -> None:
    sched = Scheduler(ManualClock())
    assert sched.create_queue("q").pricing is Pricing.ON_DEMAND
    assert sched.get_queue("default").pricing is Pricing.ON_DEMAND


# ---------------------------------------------------------------------- acceleration


def test_an_enabled_job_cannot_be_submitted_to_a_reserved_queue() -> None:
    sched = reserved_and_on_demand(ManualClock())
    before = fingerprint(sched)
    with pytest.raises(ValidationError) as info:
        sched.submit(queue="reserved", acceleration="enabled")
    assert str(info.value) == "acceleration 'enabled' cannot run in reserved queue 'reserved'"
    assert fingerprint(sched) == before


def test_an_enabled_job_cannot_have_a_hop_rule_to_a_reserved_queue() -> None:
    sched = reserved_and_on_demand(ManualClock())
    sched.create_queue("spare")
    before = fingerprint(sched)
    with pytest.raises(ValidationError) as info:
        sched.submit(
            queue="on-demand",
            acceleration=Acceleration.ENABLED,
            hops=[HopRule("spare", 60.0), HopRule("reserved", 60.0)],
        )
    assert (
        str(info.value) == "hops[1]: acceleration 'enabled' cannot run in reserved queue 'reserved'"
    )
    assert fingerprint(sched) == before


def test_an_unknown_acceleration_is_rejected() -> None:
    sched = Scheduler(ManualClock())
    with pytest.raises(ValidationError) as info:
        sched.submit(acceleration="fast")
    assert str(info.value) == (
        "acceleration must be one of 'disabled', 'enabled', 'preferred', got 'fast'"
    )


@pytest.mark.parametrize(
    ("queue", "acceleration", "accelerated"),
    [
        ("on-demand", "enabled", True),
        ("on-demand", "preferred", True),
        ("on-demand", "disabled", False),
        ("reserved", "preferred", False),
        ("reserved", "disabled", False),
    ],
)
def test_whether_a_job_runs_accelerated(queue: str, acceleration: str, accelerated: bool) -> None:
    sched = reserved_and_on_demand(ManualClock())
    job = sched.submit(queue=queue, acceleration=acceleration)
    assert job.status is S.ACTIVE
    assert job.acceleration is Acceleration(acceleration)
    assert job.accelerated is accelerated


def test_accelerated_is_unknown_until_the_job_runs() -> None:
    sched = reserved_and_on_demand(ManualClock())
    sched.submit(queue="on-demand", confirmation_required=True)
    job = sched.submit(queue="on-demand", acceleration="enabled", confirmation_required=True)
    assert job.accelerated is None


def test_a_preferred_job_that_hops_from_reserved_to_on_demand_runs_accelerated() -> None:
    # The seed: submit with acceleration Preferred to a reserved queue; if the
    # job hops to an on-demand queue, it runs with acceleration enabled.
    clock = ManualClock()
    sched = reserved_and_on_demand(clock)
    sched.submit(queue="reserved")
    job = sched.submit(
        queue="reserved", acceleration="preferred", hops=[HopRule("on-demand", 60.0)]
    )
    assert job.accelerated is None
    clock.set(60.0)
    sched.poll()
    got = sched.get(job.id)
    assert (got.queue, got.status, got.accelerated) == ("on-demand", S.ACTIVE, True)


def test_a_preferred_job_that_runs_in_its_reserved_queue_is_not_accelerated() -> None:
    clock = ManualClock()
    sched = reserved_and_on_demand(clock)
    busy = sched.submit(queue="reserved")
    job = sched.submit(
        queue="reserved", acceleration="preferred", hops=[HopRule("on-demand", 60.0)]
    )
    clock.set(30.0)
    sched.complete(busy.id)  # the job starts in the reserved queue before its wait
    got = sched.get(job.id)
    assert (got.queue, got.status, got.accelerated) == ("reserved", S.ACTIVE, False)


@pytest.mark.parametrize("where", ["running", "waiting", "may-hop"])
def test_a_queue_cannot_become_reserved_while_an_enabled_job_is_in_or_may_hop_to_it(
    where: str,
) -> None:
    sched = reserved_and_on_demand(ManualClock())
    sched.create_queue("target", slots=1)
    if where == "running":
        job = sched.submit(queue="target", acceleration="enabled")
    elif where == "waiting":
        sched.submit(queue="target")
        job = sched.submit(queue="target", acceleration="enabled")
    else:
        sched.create_queue("start", slots=1)
        sched.submit(queue="start")
        job = sched.submit(queue="start", acceleration="enabled", hops=[HopRule("target", 60.0)])
    before = fingerprint(sched)
    with pytest.raises(ConflictError) as info:
        sched.update_queue("target", pricing="reserved")
    assert str(info.value) == (
        f"queue 'target' cannot become reserved: job {job.id!r} has acceleration 'enabled'"
    )
    assert fingerprint(sched) == before


def test_a_queue_can_become_reserved_once_no_enabled_job_needs_it() -> None:
    clock = ManualClock()
    sched = Scheduler(clock)
    sched.create_queue("target", slots=1)
    sched.create_queue("start", slots=1)
    sched.submit(queue="start")
    preferred = sched.submit(queue="target", acceleration="preferred")  # does not block
    enabled = sched.submit(queue="start", acceleration="enabled", hops=[HopRule("target", 60.0)])
    sched.cancel(enabled.id)
    info = sched.update_queue("target", pricing="reserved")
    assert info.pricing is Pricing.RESERVED
    assert sched.get(preferred.id).status is S.ACTIVE


def test_a_reserved_queue_can_become_on_demand_at_any_time() -> None:
    sched = reserved_and_on_demand(ManualClock())
    sched.submit(queue="reserved", acceleration="preferred")
    assert sched.update_queue("reserved", pricing="on_demand").pricing is Pricing.ON_DEMAND
    job = sched.submit(queue="reserved", acceleration="enabled")  # now allowed
    assert job.acceleration is Acceleration.ENABLED


def test_enabled_jobs_in_other_queues_do_not_block_the_change() -> None:
    sched = reserved_and_on_demand(ManualClock())
    sched.create_queue("target")
    sched.submit(queue="on-demand", acceleration="enabled")
    assert sched.update_queue("target", pricing="reserved").pricing is Pricing.RESERVED


def test_bad_acceleration_input_leaves_the_scheduler_unchanged() -> None:
    sched = reserved_and_on_demand(ManualClock())
    sched.submit(queue="on-demand", acceleration="enabled")
    before = fingerprint(sched)
    with pytest.raises(ValidationError, match=re.escape("cannot run in reserved queue")):
        sched.submit(queue="reserved", acceleration="enabled", deferred=False)
    assert fingerprint(sched) == before
