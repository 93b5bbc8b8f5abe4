"""Argument checks shared by every entry point.

Each returns the value in canonical form or raises ``ValidationError`` naming
the field and the limit. They run before anything changes.

Canonical form means the plain built-in type: a ``str`` subclass is copied to
a plain ``str`` (``str.__str__``, which a subclass cannot override), so a
subclass whose ``len()``, ``==`` or ``hash()`` lies is checked and stored as
the characters it holds; a number is read through ``int``'s or ``float``'s
own conversion, and an ``int`` too large for a float is refused like any
other number out of range, rather than raising ``OverflowError``.
"""

from __future__ import annotations

import enum
import math
import re
from typing import TypeVar

from ._errors import ValidationError

__all__ = [
    "MAX_DESCRIPTION",
    "MAX_NAME",
    "PRIORITY_MAX",
    "PRIORITY_MIN",
    "check_bool",
    "check_callable",
    "check_choice",
    "check_description",
    "check_flags",
    "check_int",
    "check_name",
    "check_number",
    "check_positive_number",
    "check_priority",
    "check_share",
    "check_str",
    "check_submit_flags",
    "check_time",
    "lookup_key",
    "plain_str",
    "shown",
]

PRIORITY_MIN = -(2**31)
PRIORITY_MAX = 2**31 - 1
MAX_NAME = 200
MAX_DESCRIPTION = 256
_NAME = re.compile(r"[0-9A-Za-z._-]+")
# Ints longer than this are shown by size: printing one of 5,000 digits
# raises ValueError (the int-to-str digit limit), and would not be read anyway.
_SHOWN_BITS = 128
_SHOWN_CHARS = 100
_INF = math.inf

E = TypeVar("E", bound=enum.Enum)


def shown(value: object) -> str:
    """``value`` as an error message shows it: its repr, kept short.

    Numbers and strings are shown by their type's own repr (a subclass cannot
    change it); an int of more than 128 bits by its size; a string of more
    than 100 characters of repr cut, with its length.
    """
    kind = type(value)
    if kind is bool:
        return repr(value)
    if issubclass(kind, int):
        number = int.__index__(value)  # type: ignore[arg-type]
        bits = number.bit_length()
        if bits > _SHOWN_BITS:
            return f"{'-' if number < 0 else ''}an int of {bits} bits"
        return int.__repr__(number)
    if issubclass(kind, float):
        return float.__repr__(value)
    if issubclass(kind, str):
        text = str.__repr__(value)
        if len(text) <= _SHOWN_CHARS:
            return text
        length = str.__len__(value)  # type: ignore[arg-type]
        return f"{text[:_SHOWN_CHARS]}... ({length} characters)"
    return repr(value)


def plain_str(value: str) -> str:
    """``value`` as a plain ``str``; a subclass is copied, dropping its overrides."""
    return value if type(value) is str else str.__str__(value)


def lookup_key(value: object) -> str:
    """``value`` as a key to look a job, queue or task up by.

    A ``str`` subclass is looked up by the characters it holds. Anything that
    is not a ``str`` gives ``""``, which names no job, queue or task: its own
    ``==`` and ``hash()`` could match any entry.
    """
    if type(value) is str:
        return value
    return str.__str__(value) if issubclass(type(value), str) else ""


def check_str(field: str, value: object) -> str:
    """A ``str`` (a subclass is copied to a plain ``str``)."""
    if type(value) is str:
        return value
    # Not isinstance: an object can claim to be a str through __class__.
    if not issubclass(type(value), str):
        raise ValidationError(f"{field} must be a str, got {type(value).__name__}")
    return str.__str__(value)


def check_bool(field: str, value: object) -> bool:
    """``True`` or ``False``: no other value stands for a flag, however truthy."""
    if value is True or value is False:
        return value
    raise ValidationError(f"{field} must be a bool, got {type(value).__name__}")


def check_flags(**flags: object) -> None:
    """Every one of ``flags`` is a bool; the message names the first that is not."""
    for field, value in flags.items():
        check_bool(field, value)


def check_submit_flags(
    deferred: object, confirmation_required: object, preemptible: object
) -> None:
    """``submit``'s flags are bools; the message names the first that is not."""
    check_flags(
        deferred=deferred, confirmation_required=confirmation_required, preemptible=preemptible
    )


def check_callable(field: str, value: object) -> None:
    """Something to call; a class passed for an instance is callable and passes too."""
    if not callable(value):
        raise ValidationError(f"{field} must be callable, got {type(value).__name__}")


def check_int(field: str, value: object, lo: int, hi: int | None = None) -> int:
    """An ``int`` (not ``bool``) in ``[lo, hi]``, as a plain ``int``."""
    if type(value) is not int:
        kind = type(value)
        # Not isinstance: an object can claim to be an int through __class__.
        if kind is bool or not issubclass(kind, int):
            raise ValidationError(f"{field} must be an int, got {kind.__name__}")
        # The plain value, before any comparison: a subclass may override them.
        value = int.__index__(value)  # type: ignore[arg-type]
    assert isinstance(value, int)
    if value < lo or (hi is not None and value > hi):
        limit = f">= {lo}" if hi is None else f"{lo}..{hi}"
        raise ValidationError(f"{field} must be {limit}, got {shown(value)}")
    return value


def check_priority(value: object, field: str = "priority") -> int:
    """An ``int`` in ``-2**31 .. 2**31-1``; ``bool`` is refused."""
    if type(value) is int and PRIORITY_MIN <= value <= PRIORITY_MAX:
        return value  # the common case, on every submission
    return check_int(field, value, PRIORITY_MIN, PRIORITY_MAX)


def _limit(lo: float, hi: float, lo_open: bool, hi_open: bool) -> str:
    if lo == -_INF and hi == _INF:
        return "a finite number"
    if hi == _INF:
        return f"a finite number {'>' if lo_open else '>='} {lo:g}"
    if lo == -_INF:
        return f"a finite number {'<' if hi_open else '<='} {hi:g}"
    return f"in {'(' if lo_open else '['}{lo:g}, {hi:g}{')' if hi_open else ']'}"


def check_number(
    field: str,
    value: object,
    lo: float = -_INF,
    hi: float = _INF,
    *,
    lo_open: bool = False,
    hi_open: bool = False,
) -> float:
    """A finite real number in the interval from ``lo`` to ``hi``, as a plain ``float``.

    The bounds are included unless ``lo_open`` / ``hi_open``. An ``int`` is
    accepted (``bool`` is not); one too large for a float is out of range.
    The message names the limit: ``"retention must be a finite number > 0,
    got -1"``, ``"fraction must be in [0, 1], got an int of 1329 bits"``.
    """
    kind = type(value)
    if kind is float:
        number: float = value  # type: ignore[assignment]
    elif kind is bool or not issubclass(kind, (int, float)):
        raise ValidationError(f"{field} must be a number, got {kind.__name__}")
    else:
        try:
            # The types' own conversions: a subclass may override __float__.
            number = (
                int.__float__(value)  # type: ignore[arg-type]
                if issubclass(kind, int)
                else float.__float__(value)  # type: ignore[arg-type]
            )
        except OverflowError:
            number = math.nan  # out of every range: refused below
    if (
        (lo < number if lo_open else lo <= number)
        and (number < hi if hi_open else number <= hi)
        and -_INF < number < _INF
    ):
        return number
    raise ValidationError(f"{field} must be {_limit(lo, hi, lo_open, hi_open)}, got {shown(value)}")


def check_positive_number(field: str, value: object) -> float:
    """A finite real number ``> 0`` (``bool`` refused)."""
    return check_number(field, value, 0.0, lo_open=True)


def check_share(value: object) -> float:
    """A deferred share in ``(0, 1]``."""
    return check_number("deferred_share", value, 0.0, 1.0, lo_open=True)


def check_name(value: object) -> str | None:
    """``None`` or 1-200 characters of ``[0-9A-Za-z._-]``."""
    if value is None:
        return None
    name = check_str("name", value)
    if not 1 <= len(name) <= MAX_NAME:
        raise ValidationError(f"name must be 1-{MAX_NAME} characters, got {len(name)}")
    if not _NAME.fullmatch(name):
        raise ValidationError(
            f"name may contain only 0-9, a-z, A-Z, '.', '_' and '-', got {name!r}"
        )
    return name


def check_description(value: object) -> str:
    """A str of at most 256 characters."""
    if value == "" and type(value) is str:
        return ""
    description = check_str("description", value)
    if len(description) > MAX_DESCRIPTION:
        raise ValidationError(
            f"description must be 0-{MAX_DESCRIPTION} characters, got {len(description)}"
        )
    return description


def check_choice(field: str, value: object, kind: type[E]) -> E:
    """A member of the enum ``kind``, or one of its values."""
    if type(value) is kind:
        return value
    if isinstance(value, str):
        value = plain_str(value)  # looked up by the characters it holds
    try:
        return kind(value)
    except (ValueError, TypeError):
        allowed = ", ".join(repr(m.value) for m in kind)
        raise ValidationError(f"{field} must be one of {allowed}, got {shown(value)}") from None


def check_time(field: str, value: object) -> float:
    """A finite clock time (``bool`` refused)."""
    return check_number(field, value)
