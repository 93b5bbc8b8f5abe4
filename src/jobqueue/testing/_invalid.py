"""Hypothesis strategies for invalid input, each paired with the error it must raise.

Each ``InvalidCall`` has exactly one bad argument; the rest are valid defaults,
so the error and its exact message are determined. A well-behaved scheduler
raises that error and is left exactly as it was.

Besides values out of range or of the wrong type, every field draws from the
classes of bad input a careless check lets through: ints too large for a
float (``huge_ints``), ``str`` subclasses that lie about their length,
equality, hash and text (``LyingStr``, which must be refused as the plain
``str`` of its characters would be), and flags that are not bools
(``non_bools``).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any

from hypothesis import strategies as st

from .._errors import ConflictError, JobQueueError, NotFound, ValidationError
from .._model import HopRule
from .._tags import MAX_TAG_KEY, MAX_TAG_VALUE, MAX_TAGS
from .._validate import MAX_DESCRIPTION, MAX_NAME, PRIORITY_MAX, PRIORITY_MIN, shown
from ..policies import FifoPolicy, PriorityPolicy
from ._strategies import job_names
from ._values import InvalidCall, LyingStr

__all__ = [
    "bad_calls",
    "huge_ints",
    "invalid_priorities",
    "invalid_queue_specs",
    "invalid_submissions",
    "non_bools",
]

_Case = tuple[Any, type[JobQueueError], str]
_NAME_RULE = "may contain only 0-9, a-z, A-Z, '.', '_' and '-'"
_TASKS_KINDS = "a sequence of keys, a count or a callable"


def _type_name(value: object) -> str:
    return type(value).__name__


def huge_ints(*, sign: int = 0) -> st.SearchStrategy[int]:
    """Ints too large for a float (``float()`` of one raises ``OverflowError``).

    Args:
        sign: ``1`` for positive ones only, ``-1`` for negative ones, ``0`` for both.
    """
    # At most 14,000 bits: repr() of an int of more than 4,300 digits raises,
    # and hypothesis prints a counterexample with repr().
    magnitudes = st.integers(1025, 14_000).map(lambda bits: 2**bits - 1)
    if sign > 0:
        return magnitudes
    if sign < 0:
        return magnitudes.map(lambda n: -n)
    return st.tuples(magnitudes, st.sampled_from([1, -1])).map(lambda pair: pair[0] * pair[1])


def non_bools() -> st.SearchStrategy[object]:
    """Values a flag must refuse: truthy and falsy ones that are not ``True`` or ``False``."""
    return st.one_of(
        st.sampled_from(["no", "yes", "", "False", None, 0, 1, 0.0, ()]),
        st.integers(),
        st.text(max_size=3),
    )


def _bad_flag(field: str) -> st.SearchStrategy[_Case]:
    return non_bools().map(
        lambda v: (v, ValidationError, f"{field} must be a bool, got {_type_name(v)}")
    )


def _bad_number(
    field: str, limit: str, out_of_range: st.SearchStrategy[object], *, optional: bool = False
) -> st.SearchStrategy[_Case]:
    """A bad value for a number ``check_number`` checks against ``limit``.

    ``optional``: ``None`` is valid (it means "no limit").
    """
    types = st.booleans() | st.text(max_size=2)
    wrong_type = (types if optional else types | st.none()).map(
        lambda v: (v, ValidationError, f"{field} must be a number, got {_type_name(v)}")
    )
    outside = st.one_of(out_of_range, huge_ints(), st.sampled_from([math.nan, math.inf])).map(
        lambda v: (v, ValidationError, f"{field} must be {limit}, got {shown(v)}")
    )
    return wrong_type | outside


def _not_int() -> st.SearchStrategy[Any]:
    return st.one_of(
        st.booleans(),
        st.floats(allow_nan=False),
        st.text(max_size=3),
        st.none(),
    )


@st.composite
def _bad_int(draw: st.DrawFn, field: str, lo: int, hi: int | None) -> _Case:
    """A value that ``check_int(field, value, lo, hi)`` refuses, and its message."""
    if draw(st.booleans()):
        value = draw(_not_int())
        return value, ValidationError, f"{field} must be an int, got {_type_name(value)}"
    below = st.integers(max_value=lo - 1) | huge_ints(sign=-1)
    above = st.integers(min_value=hi + 1) | huge_ints(sign=1) if hi is not None else st.nothing()
    value = draw(below | above)
    limit = f">= {lo}" if hi is None else f"{lo}..{hi}"
    return value, ValidationError, f"{field} must be {limit}, got {shown(value)}"


def invalid_priorities(field: str = "priority") -> st.SearchStrategy[tuple[Any, str]]:
    """Values every priority argument refuses, with the exact ``ValidationError`` message.

    Non-ints (``bool`` included) and ints outside ``-2**31 .. 2**31-1``, down
    to ints too large for a float.
    """
    return _bad_int(field, PRIORITY_MIN, PRIORITY_MAX).map(lambda case: (case[0], case[2]))


def _lying(draw: st.DrawFn, text: str) -> str:
    """``text``, half the time as a ``LyingStr`` (refused just as ``text`` is)."""
    return LyingStr(text) if draw(st.booleans()) else text


@st.composite
def _bad_name(draw: st.DrawFn, field: str = "name") -> _Case:
    kind = draw(st.sampled_from(["type", "empty", "long", "chars"]))
    if kind == "type":
        value: Any = draw(st.integers() | st.binary(max_size=3))
        return value, ValidationError, f"{field} must be a str, got {_type_name(value)}"
    if kind == "empty":
        return _lying(draw, ""), ValidationError, f"name must be 1-{MAX_NAME} characters, got 0"
    if kind == "long":
        text = "n" * draw(st.integers(MAX_NAME + 1, MAX_NAME + 50))
        message = f"name must be 1-{MAX_NAME} characters, got {len(text)}"
        return _lying(draw, text), ValidationError, message
    bad = draw(st.characters(exclude_characters=_NAME_CHARS))
    text = draw(job_names(20)) + bad
    return _lying(draw, text), ValidationError, f"name {_NAME_RULE}, got {text!r}"


_NAME_CHARS = "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ._-"


@st.composite
def _bad_description(draw: st.DrawFn) -> _Case:
    if draw(st.booleans()):
        value: Any = draw(st.integers() | st.none())
        return value, ValidationError, f"description must be a str, got {_type_name(value)}"
    text = "d" * draw(st.integers(MAX_DESCRIPTION + 1, MAX_DESCRIPTION + 50))
    return (
        _lying(draw, text),
        ValidationError,
        f"description must be 0-{MAX_DESCRIPTION} characters, got {len(text)}",
    )


@st.composite
def _bad_tags(draw: st.DrawFn, field: str = "tags") -> _Case:
    kind = draw(
        st.sampled_from(
            ["type", "count", "key-type", "key-len", "value-type", "value-len", "key-twice"]
        )
    )
    if kind == "type":
        value: Any = draw(st.lists(st.text(max_size=2), max_size=2) | st.integers())
        message = f"{field} must be a mapping of str to str, got {_type_name(value)}"
        return value, ValidationError, message
    if kind == "count":
        n = draw(st.integers(MAX_TAGS + 1, MAX_TAGS + 5))
        value = {f"k{i}": "v" for i in range(n)}
        return value, ValidationError, f"{field} may hold at most {MAX_TAGS} entries, got {n}"
    good: dict[Any, Any] = {f"ok{i}": "v" for i in range(draw(st.integers(0, 3)))}
    if kind == "key-type":
        key: Any = draw(st.integers())
        good[key] = "v"
        return good, ValidationError, f"tag key must be a str, got {_type_name(key)}"
    if kind == "key-len":
        key = "k" * draw(st.sampled_from([0, MAX_TAG_KEY + 1, MAX_TAG_KEY + 7]))
        good[_lying(draw, key)] = "v"
        message = f"tag key must be 1-{MAX_TAG_KEY} characters, got {len(key)}"
        return good, ValidationError, message
    if kind == "key-twice":
        # Two keys of the same characters: a LyingStr's hash puts it apart.
        key = draw(st.sampled_from(["Team", "ok0", "x"]))
        twice = {LyingStr(key): "1", **{k: v for k, v in good.items() if k != key}, key: "2"}
        return twice, ValidationError, f"tag key {key!r} appears twice"
    key = draw(st.text(alphabet="xyz", min_size=1, max_size=5))
    if kind == "value-type":
        bad: Any = draw(st.integers() | st.none())
        good[key] = bad
        message = f"tag value for key {key!r} must be a str, got {_type_name(bad)}"
        return good, ValidationError, message
    bad = "v" * draw(st.integers(MAX_TAG_VALUE + 1, MAX_TAG_VALUE + 9))
    good[key] = _lying(draw, bad)
    message = f"tag value for key {key!r} must be 0-{MAX_TAG_VALUE} characters, got {len(bad)}"
    return good, ValidationError, message


def _bad_choice(field: str, allowed: Sequence[str]) -> st.SearchStrategy[_Case]:
    listed = ", ".join(repr(a) for a in allowed)
    return st.tuples(st.text(max_size=8).filter(lambda v: v not in allowed), st.booleans()).map(
        lambda pair: (
            LyingStr(pair[0]) if pair[1] else pair[0],
            ValidationError,
            f"{field} must be one of {listed}, got {pair[0]!r}",
        )
    )


@st.composite
def _bad_hops(draw: st.DrawFn, source: str, queues: tuple[str, ...]) -> _Case:
    others = [q for q in queues if q != source]
    kinds = ["type", "item", "unknown", "same"]
    if others:
        kinds += ["wait", "priority"]
    kind = draw(st.sampled_from(kinds))
    if kind == "type":
        value: Any = draw(st.text(max_size=3) | st.integers() | st.none())
        message = f"hops must be a sequence of HopRule, got {_type_name(value)}"
        return value, ValidationError, message
    if kind == "item":
        item: Any = draw(st.text(max_size=3) | st.integers())
        return [item], ValidationError, f"hops[0] must be a HopRule, got {_type_name(item)}"
    if kind == "unknown":
        name = draw(job_names(12).filter(lambda n: n not in queues))
        rule = HopRule(_lying(draw, name), 1.0)
        return [rule], NotFound, f"hops[0].queue: unknown queue {name!r}"
    if kind == "same":
        message = f"hops[0].queue must differ from the queue it hops from, got {source!r}"
        return [HopRule(source, 1.0)], ValidationError, message
    dest = draw(st.sampled_from(others))
    if kind == "wait":
        if draw(st.booleans()):
            wait: Any = draw(st.booleans() | st.text(max_size=2) | st.none())
            message = f"hops[0].wait must be a number, got {_type_name(wait)}"
        else:
            wait = draw(
                st.sampled_from([0, 0.0, -1, math.inf, math.nan])
                | st.floats(max_value=0.0)
                | huge_ints()
            )
            message = f"hops[0].wait must be a finite number > 0, got {shown(wait)}"
        return [HopRule(dest, wait)], ValidationError, message
    value, error, message = draw(_bad_int("hops[0].priority", PRIORITY_MIN, PRIORITY_MAX))
    if value is None:  # None means "keep the job's priority": valid
        value, message = True, "hops[0].priority must be an int, got bool"
    return [HopRule(dest, 1.0, value)], error, message


@st.composite
def _bad_tasks(draw: st.DrawFn) -> _Case:
    kind = draw(st.sampled_from(["bool", "negative", "type", "duplicate", "key"]))
    if kind == "bool":
        value: Any = draw(st.booleans())
        return value, ValidationError, f"tasks must be {_TASKS_KINDS}, got bool"
    if kind == "negative":
        n = draw(st.integers(max_value=-1))
        return n, ValidationError, f"tasks must be >= 0, got {n}"
    if kind == "type":
        value = draw(st.text(max_size=3) | st.floats(allow_nan=False) | st.just({"a"}))
        return value, ValidationError, f"tasks must be {_TASKS_KINDS}, got {_type_name(value)}"
    if kind == "duplicate":
        key = draw(st.text(min_size=1, max_size=4))
        return [key, key], ValidationError, f"task key {key!r} appears twice in the manifest"
    bad: Any = draw(st.just("") | st.integers() | st.none())
    return ["ok", bad], ValidationError, f"task keys must be non-empty str, got {bad!r}"


def _not_positive() -> st.SearchStrategy[object]:
    return st.sampled_from([0, 0.0, -1, -math.inf]) | st.floats(max_value=0.0, allow_nan=False)


def invalid_submissions(
    queues: Sequence[str] = ("default",), *, queue: str | None = None
) -> st.SearchStrategy[InvalidCall]:
    """``submit`` calls with one invalid argument, each with its error and exact message.

    Covers the queue, priority, flags (``deferred``, ``confirmation_required``,
    ``preemptible``), name, description, tags, hops, tasks, report,
    acceleration, billing-tags-source, ``not_before``, ``max_run`` and
    ``max_wait`` arguments.

    Args:
        queues: the queues that exist on the scheduler (hops may name them).
        queue: the submission queue for the valid arguments (the first of
            ``queues`` by default).
    """
    names = tuple(queues)
    source = names[0] if queue is None else queue
    fields: list[tuple[str, st.SearchStrategy[_Case]]] = [
        (
            "queue",
            st.tuples(job_names(12).filter(lambda n: n not in names), st.booleans()).map(
                lambda pair: (
                    LyingStr(pair[0]) if pair[1] else pair[0],
                    NotFound,
                    f"unknown queue {pair[0]!r}",
                )
            ),
        ),
        ("priority", _bad_int("priority", PRIORITY_MIN, PRIORITY_MAX)),
        ("deferred", _bad_flag("deferred")),
        ("confirmation_required", _bad_flag("confirmation_required")),
        ("preemptible", _bad_flag("preemptible")),
        ("name", _bad_name()),
        ("description", _bad_description()),
        ("tags", _bad_tags()),
        ("hops", _bad_hops(source, names)),
        ("tasks", _bad_tasks()),
        ("report", _bad_choice("report", ["all", "failed"])),
        ("acceleration", _bad_choice("acceleration", ["disabled", "enabled", "preferred"])),
        ("billing_tags_source", _bad_choice("billing_tags_source", ["queue", "job"])),
        ("not_before", _bad_number("not_before", "a finite number", st.nothing(), optional=True)),
        ("max_run", _bad_number("max_run", "a finite number > 0", _not_positive(), optional=True)),
        (
            "max_wait",
            _bad_number("max_wait", "a finite number > 0", _not_positive(), optional=True),
        ),
    ]

    def call(field: str) -> Callable[[_Case], InvalidCall]:
        def make(case: _Case) -> InvalidCall:
            value, error, message = case
            kwargs = {"queue": source, field: value}
            return InvalidCall("submit", (), kwargs, field, error, message)

        return make

    return st.one_of([strategy.map(call(field)) for field, strategy in fields])


def invalid_queue_specs(existing: Sequence[str] = ("default",)) -> st.SearchStrategy[InvalidCall]:
    """``create_queue`` calls with one invalid argument, each with its error and exact message.

    Covers the name (malformed, or taken by one of ``existing``), slots,
    deferred share, waiting cap, pricing, policy (a bad name, or a policy
    class where an instance belongs), preemption and tags.

    Args:
        existing: the queues that exist on the scheduler.
    """
    taken = tuple(existing)
    fresh = "new-queue"
    while fresh in taken:
        fresh += "-"

    bad_share = _bad_number(
        "deferred_share",
        "in (0, 1]",
        st.floats(max_value=0.0) | st.floats(min_value=1.0, exclude_min=True),
    )
    policy_message = "policy must be 'fifo', 'priority' or a Policy"

    @st.composite
    def bad_queue_name(draw: st.DrawFn) -> _Case:
        if len(taken) > 0 and draw(st.booleans()):
            name = draw(st.sampled_from(taken))
            return name, ConflictError, f"queue {name!r} already exists"
        value, error, message = draw(_bad_name())
        if not isinstance(value, str):
            message = f"queue name must be a str, got {_type_name(value)}"
        return value, error, message

    fields: list[tuple[str, st.SearchStrategy[_Case]]] = [
        ("name", bad_queue_name()),
        ("slots", _bad_int("slots", 1, None)),
        ("deferred_share", bad_share),
        ("max_waiting", _bad_int("max_waiting", 1, None)),
        ("pricing", _bad_choice("pricing", ["on_demand", "reserved"])),
        (
            "policy",
            st.text(max_size=8)
            .filter(lambda v: v not in ("fifo", "priority"))
            .map(lambda v: (v, ValidationError, f"{policy_message}, got {v!r}"))
            | st.sampled_from([FifoPolicy, PriorityPolicy]).map(
                lambda cls: (
                    cls,
                    ValidationError,
                    f"{policy_message} instance, got the class {cls.__name__}",
                )
            ),
        ),
        (
            "preemption",
            st.just((True, ValidationError, "preemption needs policy 'priority', got 'fifo'"))
            | _bad_flag("preemption"),
        ),
        ("tags", _bad_tags()),
    ]

    def call(field: str) -> Callable[[_Case], InvalidCall]:
        def make(case: _Case) -> InvalidCall:
            value, error, message = case
            if field == "name":
                return InvalidCall("create_queue", (value,), {}, field, error, message)
            return InvalidCall("create_queue", (fresh,), {field: value}, field, error, message)

        return make

    return st.one_of([strategy.map(call(field)) for field, strategy in fields])


def bad_calls(
    queues: Sequence[str] = ("default",), *, queue: str | None = None
) -> tuple[InvalidCall, ...]:
    """One ``submit`` or ``create_queue`` call for each class of bad input, each with its error.

    Fixed values, not a strategy: a huge int, a ``LyingStr``, a non-bool flag
    and a NaN or infinite number in each field that takes one, so that a
    harness can make every one of them in a run without drawing anything.

    Args:
        queues: the queues that exist on the scheduler (at least two).
        queue: the submission queue for the valid arguments (the first of
            ``queues`` by default).
    """
    names = tuple(queues)
    source = names[0] if queue is None else queue
    other = next(q for q in names if q != source)
    missing = "no-such-queue"
    while missing in names:
        missing += "-"
    fresh = missing + "-new"
    huge = 10**400
    limit = f"{PRIORITY_MIN}..{PRIORITY_MAX}"
    submit: list[tuple[str, object, type[JobQueueError], str]] = [
        ("priority", huge, ValidationError, f"priority must be {limit}, got {shown(huge)}"),
        ("priority", True, ValidationError, "priority must be an int, got bool"),
        ("deferred", "no", ValidationError, "deferred must be a bool, got str"),
        (
            "confirmation_required",
            None,
            ValidationError,
            "confirmation_required must be a bool, got NoneType",
        ),
        ("preemptible", 1, ValidationError, "preemptible must be a bool, got int"),
        (
            "name",
            LyingStr("n" * (MAX_NAME + 1)),
            ValidationError,
            f"name must be 1-{MAX_NAME} characters, got {MAX_NAME + 1}",
        ),
        (
            "description",
            LyingStr("d" * (MAX_DESCRIPTION + 1)),
            ValidationError,
            f"description must be 0-{MAX_DESCRIPTION} characters, got {MAX_DESCRIPTION + 1}",
        ),
        (
            "tags",
            {LyingStr("k" * (MAX_TAG_KEY + 1)): "v"},
            ValidationError,
            f"tag key must be 1-{MAX_TAG_KEY} characters, got {MAX_TAG_KEY + 1}",
        ),
        (
            "tags",
            {"k": LyingStr("v" * (MAX_TAG_VALUE + 1))},
            ValidationError,
            f"tag value for key 'k' must be 0-{MAX_TAG_VALUE} characters, got {MAX_TAG_VALUE + 1}",
        ),
        (
            "tags",
            {LyingStr("Team"): "a", "Team": "b"},
            ValidationError,
            "tag key 'Team' appears twice",
        ),
        ("queue", LyingStr(missing), NotFound, f"unknown queue {missing!r}"),
        (
            "hops",
            [HopRule(other, huge)],
            ValidationError,
            f"hops[0].wait must be a finite number > 0, got {shown(huge)}",
        ),
        (
            "hops",
            [HopRule(LyingStr(missing), 1.0)],
            NotFound,
            f"hops[0].queue: unknown queue {missing!r}",
        ),
        (
            "report",
            LyingStr("some"),
            ValidationError,
            "report must be one of 'all', 'failed', got 'some'",
        ),
        ("not_before", math.inf, ValidationError, "not_before must be a finite number, got inf"),
        ("max_run", math.nan, ValidationError, "max_run must be a finite number > 0, got nan"),
        (
            "max_wait",
            -huge,
            ValidationError,
            f"max_wait must be a finite number > 0, got {shown(-huge)}",
        ),
    ]
    create: list[tuple[str, object, type[JobQueueError], str]] = [
        (
            "deferred_share",
            huge,
            ValidationError,
            f"deferred_share must be in (0, 1], got {shown(huge)}",
        ),
        ("preemption", "yes", ValidationError, "preemption must be a bool, got str"),
        (
            "policy",
            PriorityPolicy,
            ValidationError,
            "policy must be 'fifo', 'priority' or a Policy instance, got the class PriorityPolicy",
        ),
        ("slots", -huge, ValidationError, f"slots must be >= 1, got {shown(-huge)}"),
    ]
    calls = [
        InvalidCall("submit", (), {"queue": source, field: value}, field, error, message)
        for field, value, error, message in submit
    ]
    calls += [
        InvalidCall("create_queue", (fresh,), {field: value}, field, error, message)
        for field, value, error, message in create
    ]
    calls.append(
        InvalidCall(
            "create_queue",
            (LyingStr("q" * (MAX_NAME + 1)),),
            {},
            "name",
            ValidationError,
            f"name must be 1-{MAX_NAME} characters, got {MAX_NAME + 1}",
        )
    )
    return tuple(calls)
