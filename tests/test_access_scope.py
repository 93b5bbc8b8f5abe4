"""What the access policy covers beyond job writes: reads, listing, queues, principals.

With a policy set, every read of one job needs ``describe`` on it; ``list_jobs``
needs ``list`` and returns only the jobs the caller may describe, with paging
that never skips or repeats one; each queue administration call needs its own
action on the queue's tags. The reports of running work, ``subscribe`` and the
runtime's own reads are trusted and never governed. A principal of the wrong
type is a ``ValidationError`` at every call that takes one, policy or not.
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Callable
from typing import Any

import pytest
from helpers import fingerprint, job_ids, transitions
from hypothesis import given, settings
from hypothesis import strategies as st

from jobqueue import (
    AccessDenied,
    AccessPolicy,
    Action,
    AttributeEquals,
    Event,
    Job,
    JobStatus,
    JobTransitioned,
    ManualClock,
    NotFound,
    Principal,
    QueueEvent,
    Scheduler,
    Statement,
    TagEquals,
    TagMatchesAttribute,
    TagPresent,
    TaskRecorded,
    ValidationError,
)
from jobqueue._access import Condition
from jobqueue.runtime import Handler, JobContext, ThreadRuntime

S = JobStatus
ALICE = Principal("alice", {"team": "video"})
BOB = Principal("bob", {"team": "audio"})
VIDEO = {"team": "video"}
AUDIO = {"team": "audio"}
TIMEOUT = 10.0

#: Each member of a team may read the team's jobs; anyone may list.
TEAMS = AccessPolicy(
    [
        Statement.allow(Action.LIST),
        Statement.allow(Action.DESCRIBE, TagMatchesAttribute("team", "team")),
    ]
)


def two_teams(policy: AccessPolicy = TEAMS) -> tuple[Scheduler, str, str]:
    """A scheduler with one video job and one audio job, then ``policy`` in force."""
    sched = Scheduler(ManualClock())
    video = sched.submit(tags=VIDEO, tasks=["a", "b"], report="all")
    audio = sched.submit(tags=AUDIO)
    sched.access_policy = policy
    return sched, video.id, audio.id


def as_owner(sched: Scheduler, read: Callable[[Scheduler], Any]) -> Any:
    """What the scheduler's owner (no policy) reads."""
    policy = sched.access_policy
    sched.access_policy = None
    try:
        return read(sched)
    finally:
        sched.access_policy = policy


def assert_denied(
    sched: Scheduler, action: Action, message: str, call: Callable[[], object]
) -> None:
    """``call`` is refused with ``message`` and changes nothing, emitting no event."""
    before = fingerprint(sched)
    events: list[Event] = []
    unsubscribe = sched.subscribe(events.append)
    with pytest.raises(AccessDenied) as info:
        call()
    unsubscribe()
    assert str(info.value) == message
    assert info.value.action is action
    assert fingerprint(sched) == before
    assert events == []


# ---------------------------------------------------------------------- describe

#: Every read of one job, called for ``principal``.
READS: dict[str, Callable[[Scheduler, str, Principal | None], object]] = {
    "get": lambda s, j, p: s.get(j, principal=p),
    "get_tags": lambda s, j, p: dict(s.get_tags(j, principal=p)),
    "tasks": lambda s, j, p: s.tasks(j, principal=p),
    "task_keys": lambda s, j, p: s.task_keys(j, principal=p),
    "report": lambda s, j, p: s.report(j, principal=p),
    "position": lambda s, j, p: s.position(j, principal=p),
    "pending_reason": lambda s, j, p: s.pending_reason(j, principal=p),
}


@pytest.mark.parametrize("read", READS)
def test_a_read_of_a_job_the_caller_may_describe_is_what_the_owner_sees(read: str) -> None:
    sched, video, _ = two_teams()
    call = READS[read]
    assert call(sched, video, ALICE) == as_owner(sched, lambda s: call(s, video, None))


@pytest.mark.parametrize("read", READS)
def test_a_read_of_a_job_the_caller_may_not_describe_is_denied(read: str) -> None:
    sched, video, audio = two_teams()
    call = READS[read]
    message = f"access denied: 'bob' may not describe job {video!r}"
    assert_denied(sched, Action.DESCRIBE, message, lambda: call(sched, video, BOB))
    anonymous = f"access denied: 'anonymous' may not describe job {audio!r}"
    assert_denied(sched, Action.DESCRIBE, anonymous, lambda: call(sched, audio, None))


@pytest.mark.parametrize("read", READS)
def test_without_a_policy_any_caller_reads_any_job(read: str) -> None:
    sched, video, _ = two_teams()
    sched.access_policy = None
    call = READS[read]
    assert call(sched, video, BOB) == call(sched, video, None)


@pytest.mark.parametrize("read", READS)
def test_an_unknown_job_is_not_found_before_access_is_decided(read: str) -> None:
    sched, _, _ = two_teams(AccessPolicy([]))
    with pytest.raises(NotFound, match=re.escape("unknown job 'job-9'")):
        READS[read](sched, "job-9", ALICE)


def test_deny_wins_over_allow_for_describe() -> None:
    policy = AccessPolicy(
        [
            Statement.allow(Action.DESCRIBE),
            Statement.deny(Action.DESCRIBE, TagPresent("secret")),
        ]
    )
    sched = Scheduler(ManualClock())
    open_job = sched.submit(tags=VIDEO)
    secret = sched.submit(tags={"team": "video", "secret": ""})
    sched.access_policy = policy
    assert sched.get(open_job.id, principal=ALICE).id == open_job.id
    message = f"access denied: 'alice' may not describe job {secret.id!r}"
    assert_denied(sched, Action.DESCRIBE, message, lambda: sched.get(secret.id, principal=ALICE))


def test_describe_is_decided_on_the_jobs_current_tags() -> None:
    policy = AccessPolicy(
        [
            Statement.allow(Action.DESCRIBE, TagEquals("stage", "public")),
            Statement.allow(Action.PUT_TAGS),
        ]
    )
    sched = Scheduler(ManualClock())
    job = sched.submit(tags={"stage": "draft"})
    sched.access_policy = policy
    with pytest.raises(AccessDenied):
        sched.get(job.id, principal=BOB)
    # put_tags needs put_tags only, and returns the new set without a read.
    assert dict(sched.put_tags(job.id, {"stage": "public"}, principal=BOB)) == {"stage": "public"}
    assert sched.get(job.id, principal=BOB).tags == {"stage": "public"}
    assert TagEquals("stage", "public").matches(BOB, {"stage": "public"}, {})


def test_a_statement_that_ignores_the_caller_lets_the_anonymous_caller_read() -> None:
    # None is the anonymous principal, for reads as for writes.
    sched, video, audio = two_teams(
        AccessPolicy([Statement.allow(Action.DESCRIBE, TagEquals("team", "audio"))])
    )
    assert sched.get(audio).id == audio
    with pytest.raises(AccessDenied):
        sched.get(video)


def test_describing_does_not_let_a_caller_change_the_job() -> None:
    sched, video, _ = two_teams()
    assert sched.get(video, principal=ALICE).status is S.ACTIVE
    message = f"access denied: 'alice' may not cancel job {video!r}"
    assert_denied(sched, Action.CANCEL, message, lambda: sched.cancel(video, principal=ALICE))


def test_depending_on_a_job_needs_describe_on_it() -> None:
    # A dependent learns how the jobs it waits on end.
    policy = AccessPolicy(
        [
            Statement.allow(Action.CREATE),
            Statement.allow(Action.DESCRIBE, TagMatchesAttribute("team", "team")),
        ]
    )
    sched, video, audio = two_teams(policy)
    message = f"access denied: 'alice' may not describe job {audio!r}"
    assert_denied(
        sched,
        Action.DESCRIBE,
        message,
        lambda: sched.submit(tags=VIDEO, after=[video, audio], principal=ALICE),
    )
    assert as_owner(sched, len) == 2  # nothing stored, no id used up
    job = sched.submit(tags=VIDEO, after=[video], principal=ALICE)
    assert job.id == "job-3"
    assert job.status is S.SUSPENDED


# ---------------------------------------------------------------------- list


def ids_of(sched: Scheduler, principal: Principal | None, **filters: Any) -> list[str]:
    return [row.id for row in sched.list_jobs(principal=principal, **filters)]


def test_list_returns_only_the_jobs_the_caller_may_describe() -> None:
    sched, video, audio = two_teams()
    assert ids_of(sched, ALICE) == [video]
    assert ids_of(sched, BOB) == [audio]
    assert ids_of(sched, Principal("carol")) == []  # may list, sees nothing
    assert ids_of(sched, None) == []


def test_list_combines_the_policy_with_the_other_filters() -> None:
    sched = Scheduler(ManualClock())
    sched.create_queue("edit", slots=1)
    first = sched.submit(queue="edit", tags=VIDEO)
    second = sched.submit(queue="edit", tags=VIDEO)
    sched.submit(queue="edit", tags=AUDIO)
    sched.submit(tags=VIDEO, description="elsewhere")
    sched.access_policy = TEAMS
    assert ids_of(sched, ALICE, queue="edit") == [first.id, second.id]
    assert ids_of(sched, ALICE, queue="edit", statuses={S.READY}) == [second.id]
    assert ids_of(sched, ALICE, search="where") == ["job-4"]


def test_list_needs_list() -> None:
    sched, _, _ = two_teams(AccessPolicy([Statement.allow(Action.DESCRIBE)]))
    assert_denied(
        sched,
        Action.LIST,
        "access denied: 'alice' may not list jobs",
        lambda: sched.list_jobs(principal=ALICE),
    )


def test_list_is_decided_on_the_caller_alone() -> None:
    policy = AccessPolicy(
        [
            Statement.allow(Action.LIST, AttributeEquals("team", "video")),
            Statement.allow(Action.DESCRIBE),
            # No tags are given for list: a tag condition never holds for it.
            Statement.allow(Action.LIST, TagPresent("team")),
        ]
    )
    sched, video, audio = two_teams(policy)
    assert ids_of(sched, ALICE) == [video, audio]
    with pytest.raises(AccessDenied, match=re.escape("'bob' may not list jobs")):
        sched.list_jobs(principal=BOB)


def test_deny_wins_over_allow_for_list() -> None:
    policy = AccessPolicy(
        [*TEAMS.statements, Statement.deny(Action.LIST, AttributeEquals("team", "audio"))]
    )
    sched, video, _ = two_teams(policy)
    assert ids_of(sched, ALICE) == [video]
    with pytest.raises(AccessDenied, match=re.escape("'bob' may not list jobs")):
        sched.list_jobs(principal=BOB)


def test_bad_filters_are_reported_before_list_is_decided() -> None:
    sched, _, _ = two_teams(AccessPolicy([]))
    with pytest.raises(ValidationError, match=re.escape("limit must be 1..1000, got 0")):
        sched.list_jobs(limit=0, principal=ALICE)
    with pytest.raises(ValidationError, match="token is not a continuation token"):
        sched.list_jobs(token="x", principal=ALICE)


def test_a_page_is_filled_with_visible_rows_and_its_token_resumes_after_them() -> None:
    sched = Scheduler(ManualClock())
    tags = [VIDEO, AUDIO, AUDIO, VIDEO, AUDIO, VIDEO, VIDEO]
    ids = [sched.submit(tags=t).id for t in tags]
    sched.access_policy = TEAMS
    first = sched.list_jobs(limit=2, principal=ALICE)
    assert [r.id for r in first] == [ids[0], ids[3]]
    second = sched.list_jobs(limit=2, token=first.next_token, principal=ALICE)
    assert [r.id for r in second] == [ids[5], ids[6]]
    assert second.next_token is None


_KEYS = ("team", "env")
_VALUES = ("a", "b")
_tag_sets = st.dictionaries(st.sampled_from(_KEYS), st.sampled_from(_VALUES), max_size=2)
_on = st.sampled_from(["resource", "request"])
_conditions: st.SearchStrategy[Condition] = st.one_of(
    st.builds(TagEquals, st.sampled_from(_KEYS), st.sampled_from(_VALUES), _on),
    st.builds(TagPresent, st.sampled_from(_KEYS), _on),
    st.builds(TagMatchesAttribute, st.sampled_from(_KEYS), st.just("team"), _on),
    st.builds(AttributeEquals, st.just("team"), st.sampled_from(_VALUES)),
)
_statements = st.builds(
    Statement,
    st.sampled_from(["allow", "deny"]),
    st.sets(st.sampled_from([Action.LIST, Action.DESCRIBE, Action.CANCEL]), min_size=1),
    st.lists(_conditions, max_size=2),
)
_principals = st.one_of(
    st.none(),
    st.builds(
        Principal,
        st.just("p"),
        st.dictionaries(st.just("team"), st.sampled_from(_VALUES), max_size=1),
    ),
)


@settings(max_examples=150, deadline=None)
@given(
    statements=st.lists(_statements, max_size=5),
    initial=st.lists(_tag_sets, max_size=14),
    added=st.lists(st.lists(_tag_sets, max_size=3), max_size=6),
    principal=_principals,
    limit=st.integers(1, 4),
)
def test_paging_under_any_policy_lists_each_visible_job_once_in_order(
    statements: list[Statement],
    initial: list[dict[str, str]],
    added: list[list[dict[str, str]]],
    principal: Principal | None,
    limit: int,
) -> None:
    policy = AccessPolicy(statements)
    sched = Scheduler(ManualClock())
    tags_of = {sched.submit(tags=t).id: t for t in initial}
    sched.access_policy = policy
    if not policy.allows(Action.LIST, principal, {}):
        with pytest.raises(AccessDenied):
            sched.list_jobs(limit=limit, principal=principal)
        return
    listed: list[str] = []
    token: str | None = None
    pages = 0
    while True:
        page = sched.list_jobs(limit=limit, token=token, principal=principal)
        pages += 1
        listed.extend(row.id for row in page)
        token = page.next_token
        if token is None:
            assert len(page) <= limit
            break
        assert len(page) == limit  # only the last page is short
        # Jobs submitted between pages come after every token handed out so far.
        for tags in added[pages - 1] if pages <= len(added) else ():
            sched.access_policy = None
            tags_of[sched.submit(tags=tags).id] = tags
            sched.access_policy = policy
    visible = [j for j, tags in tags_of.items() if policy.allows(Action.DESCRIBE, principal, tags)]
    assert len(listed) == len(set(listed))
    assert listed == visible


# ---------------------------------------------------------------------- queues

QUEUE_CALLS: dict[Action, Callable[[Scheduler, Principal | None], object]] = {
    Action.CREATE_QUEUE: lambda s, p: s.create_queue("new", tags=VIDEO, principal=p),
    Action.UPDATE_QUEUE: lambda s, p: s.update_queue("edit", slots=3, principal=p),
    Action.DELETE_QUEUE: lambda s, p: s.delete_queue("edit", principal=p),
    Action.PAUSE_QUEUE: lambda s, p: s.pause_queue("edit", principal=p),
    Action.RESUME_QUEUE: lambda s, p: s.resume_queue("edit", principal=p),
}
QUEUE_CHANGES = {
    Action.CREATE_QUEUE: ("new", "created"),
    Action.UPDATE_QUEUE: ("edit", "updated"),
    Action.DELETE_QUEUE: ("edit", "deleted"),
    Action.PAUSE_QUEUE: ("edit", "paused"),
    Action.RESUME_QUEUE: ("edit", "resumed"),
}


def video_queue(policy: AccessPolicy, *, paused: bool = False) -> Scheduler:
    """A scheduler with an empty queue ``edit`` tagged team=video, then ``policy``."""
    sched = Scheduler(ManualClock())
    sched.create_queue("edit", tags=VIDEO)
    if paused:
        sched.pause_queue("edit")
    sched.access_policy = policy
    return sched


#: Team members administer their team's queues (and create queues for it).
TEAM_QUEUES = AccessPolicy(
    [
        Statement.allow(
            [Action.UPDATE_QUEUE, Action.DELETE_QUEUE, Action.PAUSE_QUEUE, Action.RESUME_QUEUE],
            TagMatchesAttribute("team", "team"),
        ),
        Statement.allow(Action.CREATE_QUEUE, TagMatchesAttribute("team", "team", on="request")),
    ]
)


@pytest.mark.parametrize("action", QUEUE_CALLS)
def test_a_queue_call_is_allowed_by_a_statement_for_its_action(action: Action) -> None:
    sched = video_queue(TEAM_QUEUES, paused=action is Action.RESUME_QUEUE)
    events: list[Event] = []
    sched.subscribe(events.append)
    QUEUE_CALLS[action](sched, ALICE)
    name, change = QUEUE_CHANGES[action]
    assert events == [QueueEvent(0.0, name, change)]


@pytest.mark.parametrize("action", QUEUE_CALLS)
def test_a_queue_call_the_policy_refuses_is_denied_and_changes_nothing(action: Action) -> None:
    sched = video_queue(TEAM_QUEUES, paused=action is Action.RESUME_QUEUE)
    verb = action.value.removesuffix("_queue")
    name = QUEUE_CHANGES[action][0]
    message = f"access denied: 'bob' may not {verb} queue {name!r}"
    assert_denied(sched, action, message, lambda: QUEUE_CALLS[action](sched, BOB))


@pytest.mark.parametrize("action", QUEUE_CALLS)
def test_a_queue_call_is_denied_by_an_empty_policy_and_anonymous_too(action: Action) -> None:
    sched = video_queue(AccessPolicy([]), paused=action is Action.RESUME_QUEUE)
    with pytest.raises(AccessDenied):
        QUEUE_CALLS[action](sched, ALICE)
    sched = video_queue(TEAM_QUEUES, paused=action is Action.RESUME_QUEUE)
    with pytest.raises(AccessDenied, match="'anonymous' may not"):
        QUEUE_CALLS[action](sched, None)


@pytest.mark.parametrize("action", QUEUE_CALLS)
def test_deny_wins_over_allow_for_queue_calls(action: Action) -> None:
    policy = AccessPolicy([*TEAM_QUEUES.statements, Statement.deny(action)])
    sched = video_queue(policy, paused=action is Action.RESUME_QUEUE)
    with pytest.raises(AccessDenied):
        QUEUE_CALLS[action](sched, ALICE)


@pytest.mark.parametrize("action", QUEUE_CALLS)
def test_queue_calls_without_a_policy_are_allowed_for_anyone(action: Action) -> None:
    sched = video_queue(TEAM_QUEUES, paused=action is Action.RESUME_QUEUE)
    sched.access_policy = None
    QUEUE_CALLS[action](sched, BOB)


def test_create_queue_is_decided_on_the_requested_tags() -> None:
    sched = video_queue(TEAM_QUEUES)
    assert sched.create_queue("mine", tags=VIDEO, principal=ALICE).name == "mine"
    assert_denied(
        sched,
        Action.CREATE_QUEUE,
        "access denied: 'alice' may not create queue 'theirs'",
        lambda: sched.create_queue("theirs", tags=AUDIO, principal=ALICE),
    )


def test_update_queue_is_decided_on_the_current_tags_and_the_new_ones() -> None:
    # Members retune their team's queues but may not hand one to the audio team.
    policy = AccessPolicy(
        [
            Statement.allow(Action.UPDATE_QUEUE, TagMatchesAttribute("team", "team")),
            Statement.deny(Action.UPDATE_QUEUE, TagEquals("team", "audio", on="request")),
        ]
    )
    sched = video_queue(policy)
    # No tags given: the request tags are empty, so the queue's own tags decide.
    assert sched.update_queue("edit", slots=5, principal=ALICE).slots == 5
    kept = {"team": "video", "x": "1"}
    assert sched.update_queue("edit", tags=kept, principal=ALICE).tags == kept
    assert_denied(
        sched,
        Action.UPDATE_QUEUE,
        "access denied: 'alice' may not update queue 'edit'",
        lambda: sched.update_queue("edit", tags=AUDIO, principal=ALICE),
    )
    assert_denied(
        sched,
        Action.UPDATE_QUEUE,
        "access denied: 'bob' may not update queue 'edit'",
        lambda: sched.update_queue("edit", slots=1, principal=BOB),
    )


def test_pausing_a_paused_queue_is_still_decided() -> None:
    sched = video_queue(TEAM_QUEUES, paused=True)
    assert_denied(
        sched,
        Action.PAUSE_QUEUE,
        "access denied: 'bob' may not pause queue 'edit'",
        lambda: sched.pause_queue("edit", principal=BOB),
    )


def test_bad_queue_settings_and_unknown_queues_are_reported_before_access() -> None:
    sched = video_queue(AccessPolicy([]))
    with pytest.raises(ValidationError, match=re.escape("slots must be >= 1, got 0")):
        sched.create_queue("new", slots=0, principal=BOB)
    with pytest.raises(ValidationError, match=re.escape("slots must be >= 1, got 0")):
        sched.update_queue("edit", slots=0, principal=BOB)
    with pytest.raises(NotFound, match=re.escape("unknown queue 'nope'")):
        sched.pause_queue("nope", principal=BOB)


def test_queue_reads_are_not_governed() -> None:
    sched = video_queue(AccessPolicy([]))
    assert sched.get_queue("edit").tags == VIDEO
    assert [q.name for q in sched.list_queues()] == ["default", "edit"]


# ---------------------------------------------------------------------- trusted calls


def test_reports_of_running_work_are_trusted_under_a_policy_that_denies_everything() -> None:
    sched = Scheduler(ManualClock(), acknowledge=True)
    sched.create_queue("one", slots=1, policy="priority", preemption=True)
    tasked = sched.submit(tasks=["a", "b"])
    progressing = sched.submit()
    completing = sched.submit()
    failing = sched.submit()
    cancelling = sched.submit()
    sched.cancel(cancelling.id)  # Cancelling until its work stops
    low = sched.submit(queue="one", priority=1)
    high = sched.submit(queue="one", priority=9)  # low goes Pausing until its work pauses
    sched.access_policy = AccessPolicy([])
    events: list[Event] = []
    sched.subscribe(events.append)  # an administrative call: every event, unfiltered

    sched.record_task(tasked.id, "a", ok=True)
    sched.set_progress(progressing.id, 0.5)
    assert sched.complete(completing.id).status is S.COMPLETE
    assert sched.fail(failing.id, "boom").status is S.FAILED
    assert sched.cancelled(cancelling.id).status is S.CANCELLED
    assert sched.paused(low.id).status is S.PAUSED
    assert sched.poll() == 0
    assert isinstance(events[0], TaskRecorded)
    assert transitions(events[1:]) == [
        (0.0, completing.id, "Active", "Complete"),
        (0.0, failing.id, "Active", "Failing"),
        (0.0, failing.id, "Failing", "Failed"),
        (0.0, cancelling.id, "Cancelling", "Cancelled"),
        (0.0, low.id, "Pausing", "Paused"),
        (0.0, high.id, "Ready", "Active"),  # the slot the pause freed
    ]
    assert as_owner(sched, lambda s: s.get(progressing.id).progress) == 0.5
    # The same scheduler refuses every call that takes a principal.
    with pytest.raises(AccessDenied):
        sched.cancel(tasked.id)
    with pytest.raises(AccessDenied):
        sched.get(tasked.id)


def test_the_owner_reads_everything_by_lifting_the_policy() -> None:
    sched, video, audio = two_teams(AccessPolicy([]))
    before = sched.access_policy
    assert job_ids(sched) == [video, audio]
    assert fingerprint(sched) == as_owner(sched, fingerprint)
    assert sched.access_policy is before


# ---------------------------------------------------------------------- principals

#: Every call that takes a principal, with arguments that are otherwise valid.
CALLS: dict[str, Callable[[Scheduler, str, Any], object]] = {
    "submit": lambda s, j, p: s.submit(tags=VIDEO, principal=p),
    "confirm": lambda s, j, p: s.confirm("job-3", principal=p),
    "cancel": lambda s, j, p: s.cancel(j, principal=p),
    "update_priority": lambda s, j, p: s.update_priority(j, 7, principal=p),
    "put_tags": lambda s, j, p: s.put_tags(j, AUDIO, principal=p),
    "delete_tags": lambda s, j, p: s.delete_tags(j, principal=p),
    "list_jobs": lambda s, j, p: s.list_jobs(principal=p),
    **READS,
    "create_queue": lambda s, j, p: s.create_queue("new", principal=p),
    "update_queue": lambda s, j, p: s.update_queue("edit", slots=2, principal=p),
    "delete_queue": lambda s, j, p: s.delete_queue("edit", principal=p),
    "pause_queue": lambda s, j, p: s.pause_queue("edit", principal=p),
    "resume_queue": lambda s, j, p: s.resume_queue("paused", principal=p),
}


def everything_scheduler(policy: AccessPolicy | None) -> tuple[Scheduler, str]:
    sched = Scheduler(ManualClock())
    job = sched.submit(tags=VIDEO, tasks=["a"])
    sched.submit()
    sched.submit(confirmation_required=True)  # job-3
    sched.create_queue("edit")
    sched.create_queue("paused")
    sched.pause_queue("paused")
    sched.access_policy = policy
    return sched, job.id


@pytest.mark.parametrize("policy", [None, TEAMS, AccessPolicy([])], ids=["none", "teams", "empty"])
@pytest.mark.parametrize(
    ("principal", "kind"),
    [("alice", "str"), ({"team": "video"}, "dict"), (42, "int"), (Principal, "type")],
)
@pytest.mark.parametrize("call", CALLS)
def test_a_principal_of_the_wrong_type_is_rejected_and_changes_nothing(
    call: str, principal: object, kind: str, policy: AccessPolicy | None
) -> None:
    sched, job = everything_scheduler(policy)
    before = fingerprint(sched)
    events: list[Event] = []
    sched.subscribe(events.append)
    with pytest.raises(ValidationError) as info:
        CALLS[call](sched, job, principal)
    assert str(info.value) == f"principal must be a Principal or None, got {kind}"
    assert fingerprint(sched) == before
    assert events == []


@pytest.mark.parametrize("call", CALLS)
def test_every_call_with_a_principal_works_for_a_principal_or_none_without_a_policy(
    call: str,
) -> None:
    for principal in (ALICE, None):
        sched, job = everything_scheduler(None)
        CALLS[call](sched, job, principal)


@pytest.mark.parametrize("value", ["allow-all", [Statement.allow(Action.LIST)], 1])
def test_an_access_policy_of_the_wrong_type_is_rejected(value: object) -> None:
    kind = type(value).__name__
    message = f"access_policy must be an AccessPolicy or None, got {kind}"
    with pytest.raises(ValidationError, match=f"^{re.escape(message)}$"):
        Scheduler(ManualClock(), access_policy=value)  # type: ignore[arg-type]
    sched = Scheduler(ManualClock(), access_policy=TEAMS)
    with pytest.raises(ValidationError, match=f"^{re.escape(message)}$"):
        sched.access_policy = value  # type: ignore[assignment]
    assert sched.access_policy is TEAMS


# ---------------------------------------------------------------------- runtimes


@pytest.mark.runtime
@pytest.mark.usefixtures("no_thread_left_behind")
def test_a_runtime_runs_and_reads_its_jobs_under_a_policy_that_denies_everything() -> None:
    sched = Scheduler()
    sched.update_queue("default", slots=1)
    seen: list[str] = []
    gate = threading.Event()

    def job(ctx: JobContext) -> None:
        seen.append(ctx.job.id)  # the runtime's own read: trusted
        assert gate.wait(TIMEOUT)

    finished = threading.Event()

    def on_event(event: Event) -> None:
        if isinstance(event, JobTransitioned) and (event.job_id, event.new) == (
            second.id,
            S.COMPLETE,
        ):
            finished.set()

    with ThreadRuntime(sched, max_workers=2) as rt:
        first = rt.submit(job=job)
        second = rt.submit(task=lambda key: None, tasks=["a", "b"])
        rt.subscribe(on_event)
        describe_x = AccessPolicy([Statement.allow(Action.DESCRIBE, TagPresent("x"))])
        rt.call(lambda s: setattr(s, "access_policy", describe_x))
        with pytest.raises(AccessDenied, match="'anonymous' may not describe"):
            rt.get(first.id)
        with pytest.raises(AccessDenied, match="'alice' may not describe"):
            rt.wait(first.id, TIMEOUT, principal=ALICE)
        rt.call(lambda s: setattr(s, "access_policy", AccessPolicy([])))
        gate.set()
        assert finished.wait(TIMEOUT)  # second waited for the slot, then ran
    sched.access_policy = None
    assert seen == [first.id]
    assert sched.get(first.id).status is S.COMPLETE
    assert sched.get(second.id).status is S.COMPLETE  # started, read and run past the policy
    assert len(sched.tasks(second.id)) == 2


@pytest.mark.runtime
@pytest.mark.usefixtures("no_thread_left_behind")
def test_a_runtime_shutting_down_with_cancel_cancels_past_the_policy() -> None:
    sched = Scheduler()
    sched.update_queue("default", slots=1)
    started = threading.Event()

    def job(ctx: JobContext) -> None:
        started.set()
        while True:
            ctx.checkpoint()
            time.sleep(0.001)

    rt = ThreadRuntime(sched, max_workers=2)
    running = rt.submit(job=job)
    waiting = rt.submit(job=job)
    assert started.wait(TIMEOUT)
    rt.call(lambda s: setattr(s, "access_policy", AccessPolicy([])))
    rt.shutdown(cancel=True)
    sched.access_policy = None
    assert sched.get(running.id).status is S.CANCELLED
    assert sched.get(waiting.id).status is S.CANCELLED


@pytest.mark.runtime
@pytest.mark.usefixtures("no_thread_left_behind")
def test_a_runtime_takes_over_a_schedulers_jobs_past_the_policy() -> None:
    sched = Scheduler()
    running = sched.submit(tasks=["a", "b"])
    sched.record_task(running.id, "a", ok=True)  # recorded before: not run again
    waiting = sched.submit(tasks=["c"], confirmation_required=True)
    sched.access_policy = AccessPolicy([])
    ran: list[str] = []
    seen: list[str] = []

    def work_for(job: Job) -> Handler:
        seen.append(job.id)
        return Handler(task=ran.append)

    with ThreadRuntime(sched, max_workers=2, work_for=work_for):
        pass
    sched.access_policy = None
    assert seen == [running.id, waiting.id]
    assert ran == ["b"]
    assert sched.get(running.id).status is S.COMPLETE
    assert sched.get(waiting.id).status is S.SUSPENDED  # untouched: it cannot start
