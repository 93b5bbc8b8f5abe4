"""Job tags and tag-based access control through the scheduler's API.

The tag limits (50 tags, keys 1-128 and values 0-256 characters, case-sensitive
keys) hold at creation and on every ``put_tags``; each change of a job's tag
set emits ``TagsChanged``. An access policy decides create, cancel, confirm,
update_priority, put_tags and delete_tags, and reading a job's tags needs
describe (``test_access_scope`` covers the other reads, listing and queues); a
refused or malformed call changes nothing at all.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

import pytest
from helpers import fingerprint

from jobqueue import (
    AccessDenied,
    AccessPolicy,
    Action,
    AttributeEquals,
    Event,
    JobStatus,
    ManualClock,
    NotFound,
    Principal,
    PriorityChanged,
    Scheduler,
    Statement,
    TagEquals,
    TagMatchesAttribute,
    TagPresent,
    TagsChanged,
    ValidationError,
)

S = JobStatus


def many(n: int, prefix: str = "k") -> dict[str, str]:
    return {f"{prefix}{i}": f"v{i}" for i in range(n)}


# ---------------------------------------------------------------------- tag limits


@pytest.mark.parametrize("where", ["submit", "put_tags"])
def test_fifty_tags_are_allowed(where: str) -> None:
    sched = Scheduler(ManualClock())
    if where == "submit":
        job_id = sched.submit(tags=many(50)).id
    else:
        job_id = sched.submit().id
        assert dict(sched.put_tags(job_id, many(50))) == many(50)
    assert dict(sched.get_tags(job_id)) == many(50)


@pytest.mark.parametrize(
    ("tags", "message"),
    [
        (many(51), "tags may hold at most 50 entries, got 51"),
        ({"k" * 129: "v"}, "tag key must be 1-128 characters, got 129"),
        ({"": "v"}, "tag key must be 1-128 characters, got 0"),
        ({"k": "v" * 257}, "tag value for key 'k' must be 0-256 characters, got 257"),
        ({"k": 1}, "tag value for key 'k' must be a str, got int"),
        ({1: "v"}, "tag key must be a str, got int"),
        ([("k", "v")], "tags must be a mapping of str to str, got list"),
    ],
)
def test_a_tag_set_over_a_limit_is_rejected_at_creation_and_nothing_is_stored(
    tags: object, message: str
) -> None:
    sched = Scheduler(ManualClock())
    existing = sched.submit(tags={"a": "1"})
    before = fingerprint(sched)
    events: list[Event] = []
    sched.subscribe(events.append)
    with pytest.raises(ValidationError, match=f"^{re.escape(message)}$"):
        sched.submit(tags=tags)  # type: ignore[arg-type]
    assert fingerprint(sched) == before
    assert events == []
    # No id was used up either.
    assert sched.submit().id == "job-2"
    assert existing.id == "job-1"


@pytest.mark.parametrize(
    ("tags", "message"),
    [
        (many(51), "tags may hold at most 50 entries, got 51"),
        ({"k" * 129: "v"}, "tag key must be 1-128 characters, got 129"),
        ({"": "v"}, "tag key must be 1-128 characters, got 0"),
        ({"k": "v" * 257}, "tag value for key 'k' must be 0-256 characters, got 257"),
        ({"k": None}, "tag value for key 'k' must be a str, got NoneType"),
        ("Department=Finance", "tags must be a mapping of str to str, got str"),
    ],
)
def test_a_tag_set_over_a_limit_is_rejected_by_put_tags_and_nothing_changes(
    tags: object, message: str
) -> None:
    sched = Scheduler(ManualClock())
    job = sched.submit(tags={"Department": "Finance"})
    before = fingerprint(sched)
    events: list[Event] = []
    sched.subscribe(events.append)
    with pytest.raises(ValidationError, match=f"^{re.escape(message)}$"):
        sched.put_tags(job.id, tags)  # type: ignore[arg-type]
    assert fingerprint(sched) == before
    assert events == []
    assert dict(sched.get_tags(job.id)) == {"Department": "Finance"}


@pytest.mark.parametrize("where", ["submit", "put_tags"])
def test_keys_of_128_and_values_of_256_characters_are_allowed(where: str) -> None:
    tags = {"k" * 128: "v" * 256, "x": ""}  # the empty value is allowed too
    sched = Scheduler(ManualClock())
    if where == "submit":
        job_id = sched.submit(tags=tags).id
    else:
        job_id = sched.submit().id
        sched.put_tags(job_id, tags)
    assert dict(sched.get_tags(job_id)) == tags


def test_lengths_are_counted_in_characters() -> None:
    sched = Scheduler(ManualClock())
    key = "\N{EURO SIGN}" * 128  # 384 bytes in UTF-8
    job = sched.submit(tags={key: "\N{EURO SIGN}" * 256})
    assert len(next(iter(sched.get_tags(job.id)))) == 128


@pytest.mark.parametrize("where", ["submit", "put_tags"])
def test_keys_differing_only_by_case_are_two_tags(where: str) -> None:
    tags = {"Department": "Finance", "department": "finance", "DEPARTMENT": "x"}
    sched = Scheduler(ManualClock())
    if where == "submit":
        job_id = sched.submit(tags=tags).id
    else:
        job_id = sched.submit().id
        sched.put_tags(job_id, tags)
    assert dict(sched.get_tags(job_id)) == tags
    assert len(sched.get(job_id).tags) == 3


# ---------------------------------------------------------------------- get / put / delete


def test_put_tags_replaces_the_whole_set_and_emits_tags_changed() -> None:
    clock = ManualClock(7.0)
    sched = Scheduler(clock)
    job = sched.submit(tags={"Department": "Finance", "Project": "x"})
    events: list[Event] = []
    sched.subscribe(events.append)
    result = sched.put_tags(job.id, {"Owner": "alice"})
    assert dict(result) == {"Owner": "alice"}
    assert dict(sched.get_tags(job.id)) == {"Owner": "alice"}  # the old keys are gone
    assert events == [
        TagsChanged(7.0, job.id, {"Department": "Finance", "Project": "x"}, {"Owner": "alice"})
    ]


def test_put_tags_with_an_empty_set_deletes_every_tag() -> None:
    sched = Scheduler(ManualClock())
    job = sched.submit(tags={"a": "1", "b": "2"})
    events: list[Event] = []
    sched.subscribe(events.append)
    assert dict(sched.put_tags(job.id, {})) == {}
    assert dict(sched.get_tags(job.id)) == {}
    assert events == [TagsChanged(0.0, job.id, {"a": "1", "b": "2"}, {})]


def test_delete_tags_removes_the_set_and_emits_tags_changed() -> None:
    clock = ManualClock(3.0)
    sched = Scheduler(clock)
    job = sched.submit(tags={"a": "1"})
    events: list[Event] = []
    sched.subscribe(events.append)
    sched.delete_tags(job.id)
    assert dict(sched.get_tags(job.id)) == {}
    assert dict(sched.get(job.id).tags) == {}
    assert events == [TagsChanged(3.0, job.id, {"a": "1"}, {})]


def test_a_call_that_leaves_the_set_as_it_was_emits_nothing() -> None:
    sched = Scheduler(ManualClock())
    tagged = sched.submit(tags={"a": "1"})
    bare = sched.submit()
    events: list[Event] = []
    sched.subscribe(events.append)
    sched.put_tags(tagged.id, {"a": "1"})
    sched.delete_tags(bare.id)
    sched.put_tags(bare.id, {})
    assert events == []


def test_every_change_emits_one_event_in_order() -> None:
    clock = ManualClock()
    sched = Scheduler(clock)
    job = sched.submit()
    events: list[Event] = []
    sched.subscribe(events.append)
    sched.put_tags(job.id, {"a": "1"})  # t=0
    clock.advance(1.0)
    sched.put_tags(job.id, {"a": "2"})  # t=1: a value change is a change
    clock.advance(1.0)
    sched.delete_tags(job.id)  # t=2
    assert events == [
        TagsChanged(0.0, job.id, {}, {"a": "1"}),
        TagsChanged(1.0, job.id, {"a": "1"}, {"a": "2"}),
        TagsChanged(2.0, job.id, {"a": "2"}, {}),
    ]


def test_the_tag_set_is_copied_in_and_out() -> None:
    sched = Scheduler(ManualClock())
    given = {"a": "1"}
    job = sched.submit()
    sched.put_tags(job.id, given)
    given["a"] = "changed"  # the caller's dict is not the job's
    got = sched.get_tags(job.id)
    assert dict(got) == {"a": "1"}
    with pytest.raises(TypeError):
        got["a"] = "x"  # type: ignore[index]


def test_tags_of_a_finished_job_can_still_be_changed() -> None:
    # Tags label a job for people and policies; they do not drive its state.
    sched = Scheduler(ManualClock())
    job = sched.submit()
    sched.complete(job.id)
    sched.put_tags(job.id, {"Audit": "done"})
    assert dict(sched.get(job.id).tags) == {"Audit": "done"}


@pytest.mark.parametrize("call", ["get_tags", "put_tags", "delete_tags"])
def test_tag_calls_on_an_unknown_job_raise_not_found(call: str) -> None:
    sched = Scheduler(ManualClock())
    with pytest.raises(NotFound, match=re.escape("unknown job 'job-9'")):
        if call == "get_tags":
            sched.get_tags("job-9")
        elif call == "put_tags":
            sched.put_tags("job-9", {"a": "1"})
        else:
            sched.delete_tags("job-9")


# ---------------------------------------------------------------------- access control

ALICE = Principal("alice", {"department": "Finance"})
ANNE = Principal("anne", {"department": "Finance"})
BOB = Principal("bob", {"department": "Legal"})
FINANCE = {"Department": "Finance"}

# The S3 Batch Operations example: members of Finance may create a job only if
# it carries Department=Finance, and may cancel or re-prioritise only jobs
# whose Department tag is their own department. Nothing else is allowed.
S3_EXAMPLE = AccessPolicy(
    [
        Statement.allow(
            Action.CREATE,
            AttributeEquals("department", "Finance"),
            TagEquals("Department", "Finance", on="request"),
        ),
        Statement.allow(
            [Action.CANCEL, Action.UPDATE_PRIORITY],
            TagMatchesAttribute("Department", "department"),
        ),
    ]
)


def example(confirmation_required: bool = False) -> tuple[Scheduler, str, str]:
    """A scheduler with the S3 example policy, one Finance job and one Legal job."""
    sched = Scheduler(ManualClock())
    finance = sched.submit(
        tags=FINANCE, principal=ALICE, confirmation_required=confirmation_required
    )
    # Created before the policy was in force: the policy guards calls, not data.
    legal = sched.submit(tags={"Department": "Legal"}, confirmation_required=confirmation_required)
    sched.access_policy = S3_EXAMPLE
    return sched, finance.id, legal.id


def assert_denied(
    sched: Scheduler, action: Action, message: str, call: object, *args: object, **kw: object
) -> None:
    """Run ``call`` and check that it is refused with ``message`` and changes nothing."""
    assert callable(call)
    before = fingerprint(sched)
    events: list[Event] = []
    unsubscribe = sched.subscribe(events.append)
    with pytest.raises(AccessDenied) as info:
        call(*args, **kw)
    unsubscribe()
    assert str(info.value) == message
    assert info.value.action is action
    assert isinstance(info.value, PermissionError)
    assert fingerprint(sched) == before
    assert events == []


def test_example_finance_member_creates_a_job_tagged_department_finance() -> None:
    sched = Scheduler(ManualClock(), access_policy=S3_EXAMPLE)
    job = sched.submit(tags={"Department": "Finance", "Project": "q3"}, principal=ALICE)
    assert job.status is S.ACTIVE
    assert dict(job.tags) == {"Department": "Finance", "Project": "q3"}


@pytest.mark.parametrize(
    ("principal", "tags", "who"),
    [
        (ALICE, None, "alice"),  # no tags
        (ALICE, {"Department": "Legal"}, "alice"),  # another department's tag
        (ALICE, {"department": "Finance"}, "alice"),  # keys are case-sensitive
        (BOB, FINANCE, "bob"),  # not a member of Finance
        (None, FINANCE, "anonymous"),  # no caller at all
    ],
)
def test_example_every_other_creation_is_denied(
    principal: Principal | None, tags: Mapping[str, str] | None, who: str
) -> None:
    sched = Scheduler(ManualClock(), access_policy=S3_EXAMPLE)
    sched.submit(tags=FINANCE, principal=ALICE)
    assert_denied(
        sched,
        Action.CREATE,
        f"access denied: {who!r} may not create a job",
        sched.submit,
        tags=tags,
        principal=principal,
    )
    assert sched.submit(tags=FINANCE, principal=ALICE).id == "job-2"  # no id used up


def test_example_members_cancel_their_departments_jobs() -> None:
    sched, finance, _ = example()
    assert sched.cancel(finance, principal=ANNE).status is S.CANCELLED


def test_example_members_reprioritise_their_departments_jobs() -> None:
    sched, finance, _ = example()
    events: list[Event] = []
    sched.subscribe(events.append)
    assert sched.update_priority(finance, 9, principal=ALICE).priority == 9
    assert events == [PriorityChanged(0.0, finance, 0, 9)]


def test_example_cancelling_another_departments_job_is_denied() -> None:
    sched, finance, legal = example()
    assert_denied(
        sched,
        Action.CANCEL,
        f"access denied: 'alice' may not cancel job {legal!r}",
        sched.cancel,
        legal,
        principal=ALICE,
    )
    assert_denied(
        sched,
        Action.CANCEL,
        f"access denied: 'bob' may not cancel job {finance!r}",
        sched.cancel,
        finance,
        principal=BOB,
    )
    assert_denied(
        sched,
        Action.CANCEL,
        f"access denied: 'anonymous' may not cancel job {finance!r}",
        sched.cancel,
        finance,
    )


def test_example_reprioritising_another_departments_job_is_denied() -> None:
    sched, finance, legal = example()
    assert_denied(
        sched,
        Action.UPDATE_PRIORITY,
        f"access denied: 'alice' may not update_priority job {legal!r}",
        sched.update_priority,
        legal,
        5,
        principal=ALICE,
    )
    assert_denied(
        sched,
        Action.UPDATE_PRIORITY,
        f"access denied: 'bob' may not update_priority job {finance!r}",
        sched.update_priority,
        finance,
        5,
        principal=BOB,
    )


def test_example_untagged_jobs_cannot_be_cancelled_by_anyone() -> None:
    sched = Scheduler(ManualClock())
    job = sched.submit()
    sched.access_policy = S3_EXAMPLE
    assert_denied(
        sched,
        Action.CANCEL,
        f"access denied: 'alice' may not cancel job {job.id!r}",
        sched.cancel,
        job.id,
        principal=ALICE,
    )


def test_example_confirm_and_tag_changes_are_denied_even_on_own_jobs() -> None:
    # The example allows nothing but create, cancel and update_priority.
    sched, finance, _ = example(confirmation_required=True)
    assert_denied(
        sched,
        Action.CONFIRM,
        f"access denied: 'alice' may not confirm job {finance!r}",
        sched.confirm,
        finance,
        principal=ALICE,
    )
    assert_denied(
        sched,
        Action.PUT_TAGS,
        f"access denied: 'alice' may not put_tags job {finance!r}",
        sched.put_tags,
        finance,
        {"Department": "Finance", "Owner": "alice"},
        principal=ALICE,
    )
    assert_denied(
        sched,
        Action.DELETE_TAGS,
        f"access denied: 'alice' may not delete_tags job {finance!r}",
        sched.delete_tags,
        finance,
        principal=ALICE,
    )
    sched.access_policy = None  # the example allows no reads: look as the owner
    assert sched.get(finance).status is S.SUSPENDED


def test_deny_wins_over_allow() -> None:
    locked = AccessPolicy(
        [
            *S3_EXAMPLE.statements,
            Statement.deny([Action.CANCEL, Action.UPDATE_PRIORITY], TagPresent("Locked")),
        ]
    )
    sched = Scheduler(ManualClock(), access_policy=locked)
    job = sched.submit(tags={"Department": "Finance", "Locked": "yes"}, principal=ALICE)
    assert_denied(
        sched,
        Action.CANCEL,
        f"access denied: 'alice' may not cancel job {job.id!r}",
        sched.cancel,
        job.id,
        principal=ALICE,
    )
    assert_denied(
        sched,
        Action.UPDATE_PRIORITY,
        f"access denied: 'alice' may not update_priority job {job.id!r}",
        sched.update_priority,
        job.id,
        3,
        principal=ALICE,
    )
    unlocked = sched.submit(tags=FINANCE, principal=ALICE)
    assert sched.cancel(unlocked.id, principal=ALICE).status is S.CANCELLED


def test_confirm_is_allowed_by_a_statement_for_it() -> None:
    policy = AccessPolicy(
        [Statement.allow(Action.CONFIRM, TagMatchesAttribute("Department", "department"))]
    )
    sched = Scheduler(ManualClock())
    job = sched.submit(tags=FINANCE, confirmation_required=True)
    sched.access_policy = policy
    assert_denied(
        sched,
        Action.CONFIRM,
        f"access denied: 'bob' may not confirm job {job.id!r}",
        sched.confirm,
        job.id,
        principal=BOB,
    )
    assert sched.confirm(job.id, principal=ALICE).status is S.ACTIVE


def test_put_tags_is_decided_on_both_the_current_and_the_new_tags() -> None:
    # Members may retag their department's jobs, but not give a job away.
    policy = AccessPolicy(
        [
            Statement.allow(
                Action.PUT_TAGS,
                TagMatchesAttribute("Department", "department"),
                TagMatchesAttribute("Department", "department", on="request"),
            )
        ]
    )
    sched = Scheduler(ManualClock())
    job = sched.submit(tags=FINANCE)
    sched.access_policy = policy
    kept = {"Department": "Finance", "Owner": "alice"}
    assert dict(sched.put_tags(job.id, kept, principal=ALICE)) == kept
    assert_denied(
        sched,
        Action.PUT_TAGS,
        f"access denied: 'alice' may not put_tags job {job.id!r}",
        sched.put_tags,
        job.id,
        {"Department": "Legal"},
        principal=ALICE,
    )
    assert_denied(
        sched,
        Action.PUT_TAGS,
        f"access denied: 'bob' may not put_tags job {job.id!r}",
        sched.put_tags,
        job.id,
        {"Department": "Legal"},
        principal=BOB,
    )
    sched.access_policy = None  # the policy allows no reads: look as the owner
    assert dict(sched.get_tags(job.id)) == kept


def test_delete_tags_is_decided_on_the_current_tags() -> None:
    policy = AccessPolicy(
        [Statement.allow(Action.DELETE_TAGS, TagMatchesAttribute("Department", "department"))]
    )
    sched = Scheduler(ManualClock())
    job = sched.submit(tags=FINANCE)
    sched.access_policy = policy
    assert_denied(
        sched,
        Action.DELETE_TAGS,
        f"access denied: 'bob' may not delete_tags job {job.id!r}",
        sched.delete_tags,
        job.id,
        principal=BOB,
    )
    sched.delete_tags(job.id, principal=ALICE)
    sched.access_policy = None  # the policy allows no reads: look as the owner
    assert dict(sched.get_tags(job.id)) == {}


def test_an_empty_policy_denies_everything() -> None:
    sched = Scheduler(ManualClock())
    job = sched.submit(tags=FINANCE)
    sched.access_policy = AccessPolicy([])
    assert_denied(
        sched,
        Action.CREATE,
        "access denied: 'alice' may not create a job",
        sched.submit,
        tags=FINANCE,
        principal=ALICE,
    )
    assert_denied(
        sched,
        Action.CANCEL,
        f"access denied: 'alice' may not cancel job {job.id!r}",
        sched.cancel,
        job.id,
        principal=ALICE,
    )


def test_without_a_policy_everything_is_allowed_for_anyone() -> None:
    sched = Scheduler(ManualClock())
    assert sched.access_policy is None
    job = sched.submit(principal=BOB, confirmation_required=True)
    sched.confirm(job.id, principal=BOB)
    sched.update_priority(job.id, 4, principal=None)
    sched.put_tags(job.id, {"Department": "Legal"}, principal=ALICE)
    sched.delete_tags(job.id, principal=BOB)
    assert sched.cancel(job.id, principal=BOB).status is S.CANCELLED


def test_bad_input_is_reported_before_access_is_decided() -> None:
    # A malformed request is an error whoever sends it, and changes nothing.
    sched, finance, _ = example()
    before = fingerprint(sched)
    with pytest.raises(ValidationError, match=re.escape("priority must be an int, got bool")):
        sched.update_priority(finance, True, principal=BOB)
    with pytest.raises(ValidationError, match=re.escape("tags may hold at most 50 entries")):
        sched.put_tags(finance, many(51), principal=BOB)
    assert fingerprint(sched) == before


def test_reading_tags_follows_describe_and_putting_them_needs_no_read() -> None:
    # The example extended: members read their department's jobs.
    policy = AccessPolicy(
        [
            *S3_EXAMPLE.statements,
            Statement.allow(Action.DESCRIBE, TagMatchesAttribute("Department", "department")),
            Statement.allow(Action.PUT_TAGS, TagMatchesAttribute("Department", "department")),
        ]
    )
    sched, finance, legal = example()
    sched.access_policy = policy
    assert dict(sched.get_tags(finance, principal=ALICE)) == FINANCE
    assert_denied(
        sched,
        Action.DESCRIBE,
        f"access denied: 'alice' may not describe job {legal!r}",
        sched.get_tags,
        legal,
        principal=ALICE,
    )
    # put_tags returns the new set: it needs put_tags, not describe.
    retagged = {"Department": "Finance", "Owner": "anne"}
    sched.access_policy = AccessPolicy(
        [Statement.allow(Action.PUT_TAGS, TagMatchesAttribute("Department", "department"))]
    )
    assert dict(sched.put_tags(finance, retagged, principal=ANNE)) == retagged
