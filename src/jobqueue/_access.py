"""Tag-based access control: who may do what to which job or queue.

Theory of operation: an ``AccessPolicy`` is a tuple of ``Statement`` values,
each an effect (allow or deny), the actions it covers and the conditions under
which it applies (all must hold; none means always). To decide a request,
every statement that covers the action and whose conditions hold is a match.
Any matching deny refuses the request; otherwise a matching allow permits it;
with no matching allow the request is refused. So a policy with no statements
refuses everything, and a deny can never be overridden by an allow.

Conditions look at the caller (a ``Principal`` with string attributes) and at
two tag sets, which the scheduler fills in per action:

* ``create``: the requested tags, as both the resource tags and the request
  tags (the job does not exist yet; its tags will be the ones requested).
* ``put_tags``: the job's current tags as the resource tags, the new set as the
  request tags, so a policy can guard both what is replaced and what replaces it.
* ``cancel``, ``confirm``, ``update_priority``, ``delete_tags`` and
  ``describe`` (reading a job: ``get``, ``get_tags``, ``tasks``,
  ``task_keys``, ``report``, ``position``, and each row ``list_jobs``
  returns): the job's tags as the resource tags; the request tags are empty.
* ``list`` (calling ``list_jobs`` at all): no tags, so only conditions on the
  caller (``AttributeEquals``) can select it.
* ``create_queue``: the requested queue tags, as both tag sets, as for ``create``.
* ``update_queue``: the queue's current tags as the resource tags; the new
  tags as the request tags if the call gives any, else none.
* ``delete_queue``, ``pause_queue``, ``resume_queue``: the queue's tags as the
  resource tags; the request tags are empty.

Deciding costs O(statements x conditions) per request; nothing is cached.

The policy is pure: it reads the arguments and raises or returns, and never
changes anything, so a refused call leaves the scheduler as it was.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Mapping
from types import MappingProxyType
from typing import Any, Literal, TypeAlias

import attrs

from ._errors import AccessDenied, ValidationError
from ._validate import lookup_key, plain_str

__all__ = [
    "AccessPolicy",
    "Action",
    "AttributeEquals",
    "Condition",
    "Principal",
    "Statement",
    "TagEquals",
    "TagMatchesAttribute",
    "TagPresent",
]


class Action(enum.StrEnum):
    """A scheduler call that an access policy may allow or deny.

    Job actions: ``create`` (``submit``), ``cancel``, ``confirm``,
    ``update_priority``, ``put_tags``, ``delete_tags``, and ``describe``, which
    every read of one job needs (``get``, ``get_tags``, ``tasks``,
    ``task_keys``, ``report``, ``position``) and which picks the rows
    ``list_jobs`` returns. ``list`` is calling ``list_jobs`` at all. Queue
    actions, one per call of that name: ``create_queue``, ``update_queue``,
    ``delete_queue``, ``pause_queue``, ``resume_queue``.
    """

    CREATE = "create"
    CANCEL = "cancel"
    CONFIRM = "confirm"
    UPDATE_PRIORITY = "update_priority"
    PUT_TAGS = "put_tags"
    DELETE_TAGS = "delete_tags"
    DESCRIBE = "describe"
    LIST = "list"
    CREATE_QUEUE = "create_queue"
    UPDATE_QUEUE = "update_queue"
    DELETE_QUEUE = "delete_queue"
    PAUSE_QUEUE = "pause_queue"
    RESUME_QUEUE = "resume_queue"


_QUEUE_ACTIONS = frozenset(
    {
        Action.CREATE_QUEUE,
        Action.UPDATE_QUEUE,
        Action.DELETE_QUEUE,
        Action.PAUSE_QUEUE,
        Action.RESUME_QUEUE,
    }
)


_EMPTY: Mapping[str, str] = MappingProxyType({})


def _freeze_attributes(value: Mapping[str, str] | None) -> Mapping[str, str]:
    if value is None:
        return _EMPTY
    if not isinstance(value, Mapping) or not all(
        issubclass(type(k), str) and issubclass(type(v), str) for k, v in value.items()
    ):
        raise ValidationError(
            f"attributes must be a mapping of str to str, got {type(value).__name__}"
        )
    # Plain copies: a str subclass's own == would decide a condition.
    plain = {plain_str(k): plain_str(v) for k, v in value.items()}
    if len(plain) != len(value):
        raise ValidationError("attributes must not hold one name twice")
    return MappingProxyType(plain)


def _check_str(instance: object, attribute: attrs.Attribute[Any], value: object) -> None:
    if type(value) is not str:  # the converter made every str a plain one
        raise ValidationError(f"{attribute.name} must be a str, got {type(value).__name__}")


def _plain(value: object) -> object:
    # A converter: a str subclass becomes a plain str (the validator refuses the rest).
    return plain_str(value) if issubclass(type(value), str) else value  # type: ignore[arg-type]


def _check_on(instance: object, attribute: attrs.Attribute[Any], value: object) -> None:
    if value not in ("resource", "request"):
        raise ValidationError(f"on must be 'resource' or 'request', got {value!r}")


@attrs.frozen
class Principal:
    """The caller of a scheduler call, as an access policy sees it.

    Attributes:
        name: who is calling; shown in ``AccessDenied`` messages.
        attributes: facts about the caller (e.g. ``{"department": "Finance"}``)
            that conditions compare with job tags. Stored as a read-only copy.
            Left out of the hash, since a mapping is not hashable; equal
            principals still hash equal.
    """

    name: str = attrs.field(converter=_plain, validator=_check_str)
    attributes: Mapping[str, str] = attrs.field(
        factory=dict, converter=_freeze_attributes, hash=False
    )


#: Stands in for a ``None`` principal: a caller with no attributes.
_ANONYMOUS = Principal("anonymous")


def check_principal(principal: object) -> Principal:
    """The caller a policy decides for: ``principal``, or the anonymous one for ``None``.

    Raises:
        ValidationError: ``principal`` is neither a ``Principal`` nor ``None``.
    """
    if principal is None:
        return _ANONYMOUS
    if not isinstance(principal, Principal):
        raise ValidationError(
            f"principal must be a Principal or None, got {type(principal).__name__}"
        )
    return principal


_On: TypeAlias = Literal["resource", "request"]


def _pick(
    on: _On, resource_tags: Mapping[str, str], request_tags: Mapping[str, str]
) -> Mapping[str, str]:
    return resource_tags if on == "resource" else request_tags


@attrs.frozen
class TagEquals:
    """Holds when tag ``key`` is present and equals ``value``.

    Attributes:
        key: the tag key (case-sensitive).
        value: the value it must have.
        on: ``"resource"`` tests the job's tags, ``"request"`` the requested ones.
    """

    key: str = attrs.field(converter=_plain, validator=_check_str)
    value: str = attrs.field(converter=_plain, validator=_check_str)
    on: _On = attrs.field(default="resource", converter=_plain, validator=_check_on)

    def matches(
        self,
        principal: Principal,
        resource_tags: Mapping[str, str],
        request_tags: Mapping[str, str],
    ) -> bool:
        """Return whether the condition holds for this caller and these tags."""
        tags = _pick(self.on, resource_tags, request_tags)
        return self.key in tags and tags[self.key] == self.value


@attrs.frozen
class TagMatchesAttribute:
    """Holds when tag ``key`` equals the caller's attribute ``attribute``.

    Both must exist: a missing tag never matches a missing attribute.

    Attributes:
        key: the tag key (case-sensitive).
        attribute: the name of the principal's attribute.
        on: ``"resource"`` tests the job's tags, ``"request"`` the requested ones.
    """

    key: str = attrs.field(converter=_plain, validator=_check_str)
    attribute: str = attrs.field(converter=_plain, validator=_check_str)
    on: _On = attrs.field(default="resource", converter=_plain, validator=_check_on)

    def matches(
        self,
        principal: Principal,
        resource_tags: Mapping[str, str],
        request_tags: Mapping[str, str],
    ) -> bool:
        """Return whether the condition holds for this caller and these tags."""
        tags = _pick(self.on, resource_tags, request_tags)
        return (
            self.key in tags
            and self.attribute in principal.attributes
            and tags[self.key] == principal.attributes[self.attribute]
        )


@attrs.frozen
class AttributeEquals:
    """Holds when the caller's attribute ``attribute`` is present and equals ``value``.

    Attributes:
        attribute: the name of the principal's attribute.
        value: the value it must have.
    """

    attribute: str = attrs.field(converter=_plain, validator=_check_str)
    value: str = attrs.field(converter=_plain, validator=_check_str)

    def matches(
        self,
        principal: Principal,
        resource_tags: Mapping[str, str],
        request_tags: Mapping[str, str],
    ) -> bool:
        """Return whether the condition holds for this caller (tags are ignored)."""
        return principal.attributes.get(self.attribute) == self.value


@attrs.frozen
class TagPresent:
    """Holds when tag ``key`` is present, whatever its value.

    Attributes:
        key: the tag key (case-sensitive).
        on: ``"resource"`` tests the job's tags, ``"request"`` the requested ones.
    """

    key: str = attrs.field(converter=_plain, validator=_check_str)
    on: _On = attrs.field(default="resource", converter=_plain, validator=_check_on)

    def matches(
        self,
        principal: Principal,
        resource_tags: Mapping[str, str],
        request_tags: Mapping[str, str],
    ) -> bool:
        """Return whether the condition holds for these tags."""
        return self.key in _pick(self.on, resource_tags, request_tags)


#: Any of the conditions a ``Statement`` may hold.
Condition: TypeAlias = TagEquals | TagMatchesAttribute | AttributeEquals | TagPresent

_CONDITION_TYPES = (TagEquals, TagMatchesAttribute, AttributeEquals, TagPresent)


def _to_actions(value: Action | str | Iterable[Action | str]) -> frozenset[Action]:
    # A lone action is a str too; without this it would be iterated letter by letter.
    items: Iterable[object] = (value,) if isinstance(value, str) else value
    if not isinstance(items, Iterable):
        raise ValidationError(f"actions must be actions, got {type(value).__name__}")
    actions: set[Action] = set()
    for item in items:
        if not issubclass(type(item), str):
            raise ValidationError(f"actions must hold action names, got {type(item).__name__}")
        try:
            actions.add(Action(lookup_key(item)))
        except ValueError:
            raise ValidationError(f"unknown action {item!r} in actions") from None
    if not actions:
        raise ValidationError("actions must name at least one action")
    return frozenset(actions)


def _to_conditions(value: Iterable[Condition]) -> tuple[Condition, ...]:
    conditions = tuple(value)
    for condition in conditions:
        if not isinstance(condition, _CONDITION_TYPES):
            raise ValidationError(
                f"conditions must hold conditions, got {type(condition).__name__}"
            )
    return conditions


def _check_effect(instance: object, attribute: attrs.Attribute[Any], value: object) -> None:
    if value not in ("allow", "deny"):
        raise ValidationError(f"effect must be 'allow' or 'deny', got {value!r}")


@attrs.frozen
class Statement:
    """One rule of an access policy.

    Attributes:
        effect: ``"allow"`` or ``"deny"``.
        actions: the actions it covers; given as any iterable of ``Action`` or
            their string values (or a single one), stored as a frozenset.
        conditions: all must hold for the statement to apply; none means it
            always applies.
    """

    effect: Literal["allow", "deny"] = attrs.field(converter=_plain, validator=_check_effect)
    actions: frozenset[Action] = attrs.field(converter=_to_actions)
    conditions: tuple[Condition, ...] = attrs.field(default=(), converter=_to_conditions)

    @classmethod
    def allow(
        cls, actions: Action | str | Iterable[Action | str], *conditions: Condition
    ) -> Statement:
        """Build an allow statement: ``Statement.allow(Action.CANCEL, TagPresent("team"))``."""
        return cls("allow", actions, conditions)

    @classmethod
    def deny(
        cls, actions: Action | str | Iterable[Action | str], *conditions: Condition
    ) -> Statement:
        """Build a deny statement: ``Statement.deny(Action.CANCEL, TagPresent("locked"))``."""
        return cls("deny", actions, conditions)

    def applies(
        self,
        action: Action,
        principal: Principal,
        resource_tags: Mapping[str, str],
        request_tags: Mapping[str, str],
    ) -> bool:
        """Return whether this statement covers ``action`` and all its conditions hold.

        Complexity: O(conditions).
        """
        return action in self.actions and all(
            c.matches(principal, resource_tags, request_tags) for c in self.conditions
        )


def _to_statements(value: Iterable[Statement]) -> tuple[Statement, ...]:
    statements = tuple(value)
    for statement in statements:
        if not isinstance(statement, Statement):
            raise ValidationError(
                f"statements must hold statements, got {type(statement).__name__}"
            )
    return statements


@attrs.frozen
class AccessPolicy:
    """Decides whether a caller may perform an action on a job or a queue.

    Deny wins over allow, and whatever no statement allows is denied. See the
    module docstring for which tags the scheduler passes for each action.

    Attributes:
        statements: the rules, in any order (order does not change the outcome).

    >>> policy = AccessPolicy([Statement.allow(Action.CANCEL, TagPresent("team"))])
    >>> policy.allows(Action.CANCEL, Principal("alice"), {"team": "video"})
    True
    >>> policy.check(Action.CANCEL, Principal("alice"), {}, target="j-1")
    Traceback (most recent call last):
    ...
    jobqueue._errors.AccessDenied: access denied: 'alice' may not cancel job 'j-1'
    """

    statements: tuple[Statement, ...] = attrs.field(converter=_to_statements)

    def allows(
        self,
        action: Action,
        principal: Principal | None,
        resource_tags: Mapping[str, str],
        request_tags: Mapping[str, str] | None = None,
    ) -> bool:
        """Return whether the policy allows ``principal`` to perform ``action``.

        Args:
            action: what the caller asks to do.
            principal: the caller; ``None`` is an anonymous caller with no attributes.
            resource_tags: the job's or queue's tags (for ``create`` and
                ``create_queue``, the requested tags; for ``list``, none).
            request_tags: the tags the call asks for (``create``, ``put_tags``,
                ``create_queue``, ``update_queue``); ``None`` means none.

        Returns:
            True if some statement allows the action and none denies it.

        Raises:
            ValidationError: ``principal`` is neither a ``Principal`` nor ``None``.

        Complexity: O(statements x conditions).
        """
        who = check_principal(principal)
        requested = _EMPTY if request_tags is None else request_tags
        allowed = False
        for statement in self.statements:
            if statement.applies(action, who, resource_tags, requested):
                if statement.effect == "deny":
                    return False
                allowed = True
        return allowed

    def check(
        self,
        action: Action,
        principal: Principal | None,
        resource_tags: Mapping[str, str],
        request_tags: Mapping[str, str] | None = None,
        *,
        target: str = "",
    ) -> None:
        """Raise unless the policy allows ``principal`` to perform ``action``.

        Args:
            action: what the caller asks to do.
            principal: the caller; ``None`` is an anonymous caller with no attributes.
            resource_tags: the job's or queue's tags (for ``create`` and
                ``create_queue``, the requested tags; for ``list``, none).
            request_tags: the tags the call asks for (``create``, ``put_tags``,
                ``create_queue``, ``update_queue``); ``None`` means none.
            target: the job's id (the queue's name for a queue action), for the
                error message; empty for none.

        Raises:
            AccessDenied: carrying ``action``, with a message naming the caller,
                the action and, when given, the target, e.g.
                ``"access denied: 'alice' may not cancel job 'j-1'"``,
                ``"access denied: 'alice' may not create a job"``,
                ``"access denied: 'alice' may not list jobs"`` or
                ``"access denied: 'alice' may not pause queue 'batch'"``.
            ValidationError: ``principal`` is neither a ``Principal`` nor ``None``.

        Complexity: O(statements x conditions).
        """
        if self.allows(action, principal, resource_tags, request_tags):
            return
        who = check_principal(principal).name
        raise AccessDenied(action, f"access denied: {who!r} may not {_request(action, target)}")


def _request(action: Action, target: str) -> str:
    """What was asked, for a message: ``"cancel job 'j-1'"``, ``"pause queue 'q'"``."""
    if action is Action.LIST:
        return "list jobs"
    if action in _QUEUE_ACTIONS:
        verb = action.value.removesuffix("_queue")
        return f"{verb} queue {target!r}" if target else f"{verb} a queue"
    return f"{action} job {target!r}" if target else f"{action} a job"


def check_access_policy(policy: object) -> AccessPolicy | None:
    """Raises: ValidationError: ``policy`` is neither an ``AccessPolicy`` nor ``None``."""
    if policy is not None and not isinstance(policy, AccessPolicy):
        raise ValidationError(
            f"access_policy must be an AccessPolicy or None, got {type(policy).__name__}"
        )
    return policy
