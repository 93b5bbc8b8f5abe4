"""Argument checks shared by every entry point.

Each returns the value in canonical form or raises ``ValidationError`` naming
the field and the limit. They run before anything changes.
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
    "check_choice",
    "check_description",
    "check_int",
    "check_name",
    "check_number",
    "check_positive_number",
    "check_priority",
    "check_share",
    "check_str",
]

PRIORITY_MIN = -(2**31)
PRIORITY_MAX = 2**31 - 1
MAX_NAME = 200
MAX_DESCRIPTION = 256
_NAME = re.compile(r"[0-9A-Za-z._-]+")

E = TypeVar("E", bound=enum.Enum)


def check_int(field: str, value: object, lo: int, hi: int | None = None) -> int:
    """An ``int`` (not ``bool``) in ``[lo, hi]``."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValidationError(f"{field} must be an int, got {type(value).__name__}")
    if value < lo or (hi is not None and value > hi):
        limit = f">= {lo}" if hi is None else f"{lo}..{hi}"
        raise ValidationError(f"{field} must be {limit}, got {value}")
    return int(value)  # an IntEnum member is stored as the plain int


def check_priority(value: object, field: str = "priority") -> int:
    """An ``int`` in ``-2**31 .. 2**31-1``; ``bool`` is refused."""
    if type(value) is int and PRIORITY_MIN <= value <= PRIORITY_MAX:
        return value  # the common case, on every submission
    return check_int(field, value, PRIORITY_MIN, PRIORITY_MAX)


def check_positive_number(field: str, value: object) -> float:
    """A finite real number ``> 0`` (``bool`` refused)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ValidationError(f"{field} must be a number, got {type(value).__name__}")
    number = float(value)
    if not math.isfinite(number) or number <= 0:
        raise ValidationError(f"{field} must be a finite number > 0, got {value!r}")
    return number


def check_number(
    field: str, value: object, lo: float | None = None, hi: float | None = None
) -> float:
    """A finite real number (``bool`` refused) in ``[lo, hi]``; ``None`` leaves a side open."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ValidationError(f"{field} must be a number, got {type(value).__name__}")
    try:
        number = float(value)
    except OverflowError:  # an int beyond the floats
        number = math.inf if value > 0 else -math.inf
    if (
        not math.isfinite(number)
        or (lo is not None and number < lo)
        or (hi is not None and number > hi)
    ):
        low = "" if lo is None else f" >= {lo}"
        high = "" if hi is None else f" <= {hi}"
        bounds = f" in [{lo}, {hi}]" if low and high else low or high
        raise ValidationError(f"{field} must be a finite number{bounds}, got {number!r}")
    return number


def check_bool(field: str, value: object) -> bool:
    """A ``bool``: ``0``, ``1`` and other truthy values are refused."""
    if not isinstance(value, bool):
        raise ValidationError(f"{field} must be a bool, got {type(value).__name__}")
    return value


def check_str(field: str, value: object) -> str:
    """A ``str`` of any length."""
    if not isinstance(value, str):
        raise ValidationError(f"{field} must be a str, got {type(value).__name__}")
    return value


def check_share(value: object) -> float:
    """A deferred share in ``(0, 1]``."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ValidationError(f"deferred_share must be a number, got {type(value).__name__}")
    share = float(value)
    if not (0.0 < share <= 1.0):
        raise ValidationError(f"deferred_share must be in (0, 1], got {value!r}")
    return share


def check_name(value: object) -> str | None:
    """``None`` or 1-200 characters of ``[0-9A-Za-z._-]``."""
    if value is None:
        return None
    if not isinstance(value, str):
        raise ValidationError(f"name must be a str, got {type(value).__name__}")
    if not 1 <= len(value) <= MAX_NAME:
        raise ValidationError(f"name must be 1-{MAX_NAME} characters, got {len(value)}")
    if not _NAME.fullmatch(value):
        raise ValidationError(
            f"name may contain only 0-9, a-z, A-Z, '.', '_' and '-', got {value!r}"
        )
    return value


def check_description(value: object) -> str:
    """A str of at most 256 characters."""
    if value == "":
        return ""
    if not isinstance(value, str):
        raise ValidationError(f"description must be a str, got {type(value).__name__}")
    if len(value) > MAX_DESCRIPTION:
        raise ValidationError(
            f"description must be 0-{MAX_DESCRIPTION} characters, got {len(value)}"
        )
    return value


def check_choice(field: str, value: object, kind: type[E]) -> E:
    """A member of the enum ``kind``, or one of its values."""
    if type(value) is kind:
        return value
    try:
        return kind(value)
    except ValueError:
        allowed = ", ".join(repr(m.value) for m in kind)
        raise ValidationError(f"{field} must be one of {allowed}, got {value!r}") from None


def check_time(field: str, value: object) -> float:
    """A finite clock time (``bool`` refused)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ValidationError(f"{field} must be a number, got {type(value).__name__}")
    try:
        number = float(value)
    except OverflowError:
        raise ValidationError(f"{field} must be a finite number, got {value!r}") from None
    if not math.isfinite(number):
        raise ValidationError(f"{field} must be a finite number, got {value!r}")
    return number
