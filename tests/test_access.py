"""Tag-based access control, decided by ``AccessPolicy`` alone (no scheduler)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, cast

import pytest

from jobqueue._access import (
    AccessPolicy,
    Action,
    AttributeEquals,
    Condition,
    Principal,
    Statement,
    TagEquals,
    TagMatchesAttribute,
    TagPresent,
)
from jobqueue._errors import AccessDenied, ValidationError

ALICE = Principal("alice", {"department": "Finance"})
BOB = Principal("bob", {"department": "Legal"})
CAROL = Principal("carol")  # no attributes at all

FINANCE = {"Department": "Finance"}

# The example from the S3 Batch Operations guide: Finance may create jobs only
# when they request the Department=Finance tag, and may cancel or reprioritise
# only jobs whose Department tag is their own department. Nothing else.
S3_EXAMPLE = AccessPolicy(
    [
        Statement.allow(Action.CREATE, TagEquals("Department", "Finance", on="request")),
        Statement.allow(
            [Action.CANCEL, Action.UPDATE_PRIORITY],
            TagMatchesAttribute("Department", "department"),
        ),
    ]
)


def denial(
    policy: AccessPolicy,
    action: Action,
    principal: Principal | None,
    resource_tags: Mapping[str, str],
    request_tags: Mapping[str, str] | None = None,
    target: str = "",
) -> AccessDenied:
    with pytest.raises(AccessDenied) as info:
        policy.check(action, principal, resource_tags, request_tags, target=target)
    return info.value


# The S3 example -----------------------------------------------------------


def test_example_create_with_finance_tag_allowed() -> None:
    S3_EXAMPLE.check(Action.CREATE, ALICE, FINANCE, FINANCE)
    assert S3_EXAMPLE.allows(Action.CREATE, ALICE, FINANCE, FINANCE)


@pytest.mark.parametrize(
    "tags",
    [
        {},
        {"Department": "Legal"},
        {"department": "Finance"},  # keys are case-sensitive
        {"Department": "finance"},  # and so are values
        {"Team": "Finance"},
    ],
)
def test_example_create_without_finance_tag_denied(tags: dict[str, str]) -> None:
    error = denial(S3_EXAMPLE, Action.CREATE, ALICE, tags, tags)
    assert str(error) == "access denied: 'alice' may not create a job"
    assert error.action is Action.CREATE


def test_example_create_tests_the_requested_tags_not_the_resource_tags() -> None:
    assert not S3_EXAMPLE.allows(Action.CREATE, ALICE, FINANCE, {})
    assert S3_EXAMPLE.allows(Action.CREATE, ALICE, {}, FINANCE)


@pytest.mark.parametrize("action", [Action.CANCEL, Action.UPDATE_PRIORITY])
def test_example_own_departments_job_allowed(action: Action) -> None:
    S3_EXAMPLE.check(action, ALICE, FINANCE, target="j-1")
    assert S3_EXAMPLE.allows(action, BOB, {"Department": "Legal"})


@pytest.mark.parametrize("action", [Action.CANCEL, Action.UPDATE_PRIORITY])
def test_example_other_departments_job_denied(action: Action) -> None:
    error = denial(S3_EXAMPLE, action, BOB, FINANCE, target="j-1")
    assert str(error) == f"access denied: 'bob' may not {action.value} job 'j-1'"
    assert error.action is action


def test_example_caller_without_department_denied() -> None:
    error = denial(S3_EXAMPLE, Action.CANCEL, CAROL, FINANCE, target="j-1")
    assert str(error) == "access denied: 'carol' may not cancel job 'j-1'"


def test_example_job_without_department_tag_denied() -> None:
    assert not S3_EXAMPLE.allows(Action.CANCEL, ALICE, {})


@pytest.mark.parametrize("action", [Action.CONFIRM, Action.PUT_TAGS, Action.DELETE_TAGS])
def test_example_everything_else_denied_even_on_own_job(action: Action) -> None:
    error = denial(S3_EXAMPLE, action, ALICE, FINANCE, FINANCE, target="j-1")
    assert str(error) == f"access denied: 'alice' may not {action.value} job 'j-1'"


def test_example_anonymous_caller_denied_and_named_anonymous() -> None:
    error = denial(S3_EXAMPLE, Action.CANCEL, None, FINANCE, target="j-1")
    assert str(error) == "access denied: 'anonymous' may not cancel job 'j-1'"
    error = denial(S3_EXAMPLE, Action.CREATE, None, {})
    assert str(error) == "access denied: 'anonymous' may not create a job"


def test_access_denied_is_a_permission_error() -> None:
    with pytest.raises(PermissionError):
        S3_EXAMPLE.check(Action.CONFIRM, ALICE, FINANCE)


# Combining statements -----------------------------------------------------

ALLOW_ALL = Statement.allow(list(Action))
DENY_LOCKED = Statement.deny(list(Action), TagEquals("locked", "yes"))


@pytest.mark.parametrize("order", [(ALLOW_ALL, DENY_LOCKED), (DENY_LOCKED, ALLOW_ALL)])
def test_deny_wins_over_allow_in_any_order(order: tuple[Statement, Statement]) -> None:
    policy = AccessPolicy(order)
    assert not policy.allows(Action.CANCEL, ALICE, {"locked": "yes"})
    # The deny's condition fails here, so the allow applies.
    assert policy.allows(Action.CANCEL, ALICE, {"locked": "no"})


def test_deny_wins_even_when_allow_is_more_specific() -> None:
    policy = AccessPolicy(
        [
            Statement.allow(Action.CANCEL, TagMatchesAttribute("Department", "department")),
            Statement.deny(Action.CANCEL),
        ]
    )
    assert not policy.allows(Action.CANCEL, ALICE, FINANCE)


def test_deny_alone_denies() -> None:
    policy = AccessPolicy([Statement.deny(Action.CANCEL, TagPresent("locked"))])
    assert not policy.allows(Action.CANCEL, ALICE, {})


def test_no_matching_allow_denies() -> None:
    policy = AccessPolicy([Statement.allow(Action.CANCEL)])
    assert policy.allows(Action.CANCEL, ALICE, {})
    assert not policy.allows(Action.CONFIRM, ALICE, {})


@pytest.mark.parametrize("action", list(Action))
def test_no_statements_denies_every_action(action: Action) -> None:
    policy = AccessPolicy(())
    assert not policy.allows(action, ALICE, FINANCE, FINANCE)
    with pytest.raises(AccessDenied):
        policy.check(action, ALICE, FINANCE, FINANCE)


def test_all_conditions_of_a_statement_must_hold() -> None:
    policy = AccessPolicy(
        [Statement.allow(Action.CANCEL, TagPresent("a"), AttributeEquals("department", "Finance"))]
    )
    assert policy.allows(Action.CANCEL, ALICE, {"a": ""})
    assert not policy.allows(Action.CANCEL, BOB, {"a": ""})
    assert not policy.allows(Action.CANCEL, ALICE, {})


def test_put_tags_can_guard_both_current_and_new_tags() -> None:
    policy = AccessPolicy(
        [
            Statement.allow(
                Action.PUT_TAGS,
                TagMatchesAttribute("Department", "department"),
                TagMatchesAttribute("Department", "department", on="request"),
            )
        ]
    )
    assert policy.allows(Action.PUT_TAGS, ALICE, FINANCE, FINANCE)
    # Alice may not give her job away, nor take Legal's.
    assert not policy.allows(Action.PUT_TAGS, ALICE, FINANCE, {"Department": "Legal"})
    assert not policy.allows(Action.PUT_TAGS, ALICE, {"Department": "Legal"}, FINANCE)


# Conditions one by one ----------------------------------------------------

CONDITION_CASES: list[tuple[Condition, Principal, dict[str, str], dict[str, str], bool]] = [
    (TagEquals("k", "v"), CAROL, {"k": "v"}, {}, True),
    (TagEquals("k", "v"), CAROL, {"k": "w"}, {}, False),
    (TagEquals("k", "v"), CAROL, {}, {"k": "v"}, False),
    (TagEquals("k", "v", on="request"), CAROL, {}, {"k": "v"}, True),
    (TagEquals("k", "v", on="request"), CAROL, {"k": "v"}, {}, False),
    (TagEquals("k", ""), CAROL, {}, {}, False),  # a missing tag is not an empty one
    (TagEquals("k", ""), CAROL, {"k": ""}, {}, True),
    (TagMatchesAttribute("Department", "department"), ALICE, FINANCE, {}, True),
    (TagMatchesAttribute("Department", "department"), BOB, FINANCE, {}, False),
    (TagMatchesAttribute("Department", "department"), CAROL, FINANCE, {}, False),
    (TagMatchesAttribute("Department", "department"), ALICE, {}, {}, False),
    (TagMatchesAttribute("Department", "department", on="request"), ALICE, {}, FINANCE, True),
    (TagMatchesAttribute("Department", "department", on="request"), ALICE, FINANCE, {}, False),
    (TagMatchesAttribute("k", "a"), Principal("p", {"b": "x"}), {"j": "x"}, {}, False),
    (AttributeEquals("department", "Finance"), ALICE, {}, {}, True),
    (AttributeEquals("department", "Finance"), BOB, FINANCE, FINANCE, False),
    (AttributeEquals("department", ""), CAROL, {}, {}, False),
    (TagPresent("k"), CAROL, {"k": ""}, {}, True),
    (TagPresent("k"), CAROL, {"K": "v"}, {}, False),
    (TagPresent("k", on="request"), CAROL, {}, {"k": "v"}, True),
    (TagPresent("k", on="request"), CAROL, {"k": "v"}, {}, False),
]


@pytest.mark.parametrize(
    ("condition", "principal", "resource", "requested", "expected"), CONDITION_CASES
)
def test_condition_matches(
    condition: Condition,
    principal: Principal,
    resource: dict[str, str],
    requested: dict[str, str],
    expected: bool,
) -> None:
    assert condition.matches(principal, resource, requested) is expected
    # The same answer through a policy holding just that condition.
    policy = AccessPolicy([Statement.allow(Action.CANCEL, condition)])
    assert policy.allows(Action.CANCEL, principal, resource, requested) is expected


def test_missing_request_tags_are_empty() -> None:
    policy = AccessPolicy([Statement.allow(Action.CANCEL, TagPresent("k", on="request"))])
    assert not policy.allows(Action.CANCEL, ALICE, {"k": "v"})
    assert not policy.allows(Action.CANCEL, ALICE, {"k": "v"}, None)


def test_anonymous_caller_has_no_attributes() -> None:
    policy = AccessPolicy([Statement.allow(Action.CANCEL, AttributeEquals("department", ""))])
    assert not policy.allows(Action.CANCEL, None, {})
    assert policy.allows(Action.CANCEL, Principal("x", {"department": ""}), {})


def test_statement_without_conditions_always_applies() -> None:
    policy = AccessPolicy([Statement.allow(Action.CONFIRM)])
    assert policy.allows(Action.CONFIRM, None, {})


# Building statements and principals ---------------------------------------


def test_actions_accept_strings_single_values_and_any_iterable() -> None:
    expected = frozenset({Action.CANCEL, Action.CONFIRM})
    assert Statement("allow", ["cancel", "confirm"]).actions == expected
    assert Statement("allow", (a for a in (Action.CANCEL, Action.CONFIRM))).actions == expected
    assert Statement.allow("update_priority").actions == frozenset({Action.UPDATE_PRIORITY})
    assert Statement.deny(Action.PUT_TAGS).actions == frozenset({Action.PUT_TAGS})


def test_helpers_set_effect_and_conditions() -> None:
    condition = TagPresent("k")
    assert Statement.allow(Action.CANCEL, condition) == Statement(
        "allow", {Action.CANCEL}, (condition,)
    )
    assert Statement.deny(Action.CANCEL).effect == "deny"
    assert Statement.deny(Action.CANCEL).conditions == ()


@pytest.mark.parametrize(
    ("build", "message"),
    [
        (
            lambda: Statement(cast(Any, "permit"), [Action.CANCEL]),
            ("effect must be 'allow' or 'deny', got 'permit'"),
        ),
        (
            lambda: Statement(cast(Any, "Allow"), [Action.CANCEL]),
            ("effect must be 'allow' or 'deny', got 'Allow'"),
        ),
        (lambda: Statement.allow([]), "actions must name at least one action"),
        (lambda: Statement.allow(["cancel", "launch"]), "unknown action 'launch' in actions"),
        (lambda: Statement.allow("Cancel"), "unknown action 'Cancel' in actions"),
        (lambda: Statement.allow(cast(Any, [3])), "actions must hold action names, got int"),
        (lambda: Statement.allow(cast(Any, 3)), "actions must be actions, got int"),
        (
            lambda: Statement.allow(Action.CANCEL, cast(Any, "k")),
            ("conditions must hold conditions, got str"),
        ),
        (
            lambda: TagEquals("k", "v", on=cast(Any, "job")),
            ("on must be 'resource' or 'request', got 'job'"),
        ),
        (lambda: TagPresent(cast(Any, 1)), "key must be a str, got int"),
        (lambda: AttributeEquals("a", cast(Any, None)), "value must be a str, got NoneType"),
        (
            lambda: AccessPolicy(cast(Any, [{"effect": "allow"}])),
            ("statements must hold statements, got dict"),
        ),
        (lambda: Principal(cast(Any, None)), "name must be a str, got NoneType"),
        (
            lambda: Principal("p", cast(Any, [("a", "b")])),
            ("attributes must be a mapping of str to str, got list"),
        ),
        (
            lambda: Principal("p", cast(Any, {"a": 1})),
            ("attributes must be a mapping of str to str, got dict"),
        ),
    ],
)
def test_invalid_building_blocks_rejected(build: Any, message: str) -> None:
    with pytest.raises(ValidationError) as info:
        build()
    assert str(info.value) == message


def test_principal_attributes_are_a_read_only_copy() -> None:
    source = {"department": "Finance"}
    principal = Principal("alice", source)
    source["department"] = "Legal"  # must not reach the principal
    assert principal.attributes == {"department": "Finance"}
    with pytest.raises(TypeError):
        cast(Any, principal.attributes)["department"] = "Legal"


def test_values_are_hashable_and_compare_by_value() -> None:
    assert Principal("a", {"x": "1"}) == Principal("a", {"x": "1"})
    assert Principal("a", {"x": "1"}) != Principal("a", {"x": "2"})
    assert hash(Principal("a", {"x": "1"})) == hash(Principal("a", {"x": "1"}))
    assert len({S3_EXAMPLE, AccessPolicy(list(S3_EXAMPLE.statements))}) == 1


# Reads, listing and queues ------------------------------------------------


def test_every_action_has_its_value() -> None:
    assert [a.value for a in Action] == [
        "create",
        "cancel",
        "confirm",
        "update_priority",
        "put_tags",
        "delete_tags",
        "describe",
        "list",
        "create_queue",
        "update_queue",
        "delete_queue",
        "pause_queue",
        "resume_queue",
    ]


@pytest.mark.parametrize(
    ("action", "target", "message"),
    [
        (Action.DESCRIBE, "j-1", "access denied: 'bob' may not describe job 'j-1'"),
        (Action.LIST, "", "access denied: 'bob' may not list jobs"),
        (Action.CREATE_QUEUE, "q", "access denied: 'bob' may not create queue 'q'"),
        (Action.CREATE_QUEUE, "", "access denied: 'bob' may not create a queue"),
        (Action.UPDATE_QUEUE, "q", "access denied: 'bob' may not update queue 'q'"),
        (Action.DELETE_QUEUE, "q", "access denied: 'bob' may not delete queue 'q'"),
        (Action.PAUSE_QUEUE, "q", "access denied: 'bob' may not pause queue 'q'"),
        (Action.RESUME_QUEUE, "q", "access denied: 'bob' may not resume queue 'q'"),
    ],
)
def test_denials_name_what_was_asked(action: Action, target: str, message: str) -> None:
    error = denial(S3_EXAMPLE, action, BOB, FINANCE, target=target)
    assert str(error) == message
    assert error.action is action


def test_describe_follows_the_resource_tags_like_any_job_action() -> None:
    policy = AccessPolicy(
        [Statement.allow(Action.DESCRIBE, TagMatchesAttribute("Department", "department"))]
    )
    assert policy.allows(Action.DESCRIBE, ALICE, FINANCE)
    assert not policy.allows(Action.DESCRIBE, BOB, FINANCE)
    assert not policy.allows(Action.LIST, ALICE, FINANCE)  # listing is its own action


@pytest.mark.parametrize(
    ("principal", "kind"),
    [("alice", "str"), ({"department": "Finance"}, "dict"), (1, "int"), (Principal, "type")],
)
def test_a_principal_of_the_wrong_type_is_a_validation_error(principal: object, kind: str) -> None:
    # Even where no condition reads the caller: a statement without conditions.
    policy = AccessPolicy([Statement.allow(Action.CANCEL)])
    message = f"principal must be a Principal or None, got {kind}"
    with pytest.raises(ValidationError) as info:
        policy.allows(Action.CANCEL, cast(Any, principal), {})
    assert str(info.value) == message
    with pytest.raises(ValidationError) as info:
        S3_EXAMPLE.check(Action.CANCEL, cast(Any, principal), FINANCE, target="j-1")
    assert str(info.value) == message
