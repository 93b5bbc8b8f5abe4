"""Errors of the durable stores, under the package's one base class.

A message about damage quotes what the store holds through ``brief`` and is
cut by ``bounded``: a damaged value may be a list nested 100,000 deep, whose
plain ``repr`` overflows the stack, an int of 5,000 digits, whose ``str``
raises, or a string of megabytes.
"""

from __future__ import annotations

import reprlib
from typing import Final

from .._errors import JobQueueError

__all__ = [
    "DAMAGE",
    "CorruptStoreError",
    "IncompatibleStoreError",
    "StoreError",
    "bounded",
    "brief",
]


class StoreError(JobQueueError, RuntimeError):
    """A store cannot do what was asked: it is closed, locked, or a write failed.

    A write that fails leaves the scheduler changed in memory but not on disk;
    the store then refuses every later write, and the state on disk is the one
    from before the failed call. Reopen the store to continue from there.
    """


class CorruptStoreError(StoreError):
    """The file is not a jobqueue store (another format or application), or it is damaged.

    The file is left exactly as it was.
    """


class IncompatibleStoreError(StoreError):
    """The store was written by a newer jobqueue whose format this version cannot read.

    The file is left exactly as it was.
    """


# The longest message about damage, and the longest error quoted in one.
_MAX_MESSAGE: Final = 300
_MAX_QUOTE: Final = 200
# The exceptions a damaged value can raise from a check or from building a
# message about it: a deep list (RecursionError), an int of 5,000 digits
# (ValueError, from str()), a float() of a huge int (OverflowError), ...
# A ValidationError is a ValueError: callers catch it first.
DAMAGE: Final = (ValueError, TypeError, LookupError, ArithmeticError, RecursionError)

_repr = reprlib.Repr()
_repr.maxlevel = 2
_repr.maxstring = 60
_repr.maxother = 60
_repr.maxlong = 40
for _limit in ("maxlist", "maxtuple", "maxdict", "maxset", "maxfrozenset", "maxdeque"):
    setattr(_repr, _limit, 4)


def brief(value: object) -> str:
    """A ``repr`` of a stored value short enough for a message, whatever the value.

    An exception is shown as its type and message.
    """
    if isinstance(value, BaseException):
        try:
            text = f"{type(value).__name__}: {value}"
        except Exception:  # a KeyError's message is the repr of its key
            text = type(value).__name__
        return text if len(text) <= _MAX_QUOTE else text[: _MAX_QUOTE - 3] + "..."
    try:
        return _repr.repr(value)
    except Exception:  # reprlib still calls repr() on ints and unknown objects
        return f"<{type(value).__name__}>"


def bounded(message: str) -> str:
    """``message`` cut to a length a log line can hold."""
    if len(message) <= _MAX_MESSAGE:
        return message
    return message[: _MAX_MESSAGE - 3] + "..."
