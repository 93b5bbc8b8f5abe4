"""The one source of time: the ``Clock`` protocol and its two implementations.

Nothing in jobqueue's core reads the system time; it asks the clock it was given.
``SystemClock`` is wall time (``time.time()``), so timestamps survive restarts;
``ManualClock`` moves only when told, which makes every schedule reproducible.
"""

from __future__ import annotations

import math
import time
from typing import Protocol, final, runtime_checkable

from ._errors import ValidationError
from ._validate import check_number

__all__ = ["Clock", "ManualClock", "SystemClock", "check_clock", "reading"]


@runtime_checkable
class Clock(Protocol):
    """Anything with ``now() -> float``, in seconds."""

    def now(self) -> float:
        """Return the current time in seconds."""
        ...


@final
class SystemClock:
    """Wall-clock time, from ``time.time()``."""

    __slots__ = ()

    def now(self) -> float:
        """Return the current wall-clock time in seconds since the epoch."""
        return time.time()

    def __repr__(self) -> str:
        return "SystemClock()"


@final
class ManualClock:
    """A clock that moves only when told, and never backwards.

    >>> clock = ManualClock()
    >>> clock.advance(1.5)
    >>> clock.now()
    1.5
    >>> clock.set(10.0)
    >>> clock.now()
    10.0

    Args:
        start: the initial time in seconds.
    """

    __slots__ = ("_now",)

    def __init__(self, start: float = 0.0) -> None:
        self._now = check_number("start", start)

    def now(self) -> float:
        """Return the current virtual time."""
        return self._now

    def advance(self, seconds: float) -> None:
        """Move time forward by ``seconds`` (``>= 0``); the time must stay finite.

        Raises:
            ValidationError: if ``seconds`` is negative or not finite, or the
                time would no longer be finite.
        """
        if type(seconds) is not float or not 0.0 <= seconds < math.inf:  # NaN fails it too
            seconds = check_number("seconds", seconds, 0.0)
        later = self._now + seconds
        if later == math.inf:
            raise ValidationError(
                f"seconds must leave the clock finite, got {seconds!r} at time {self._now!r}"
            )
        self._now = later

    def set(self, t: float) -> None:
        """Move time to ``t``, which must not be earlier than now.

        Raises:
            ValidationError: if ``t`` is earlier than the current time or not finite.
        """
        if type(t) is not float or not -math.inf < t < math.inf:  # NaN fails it too
            t = check_number("t", t)
        if t < self._now:
            raise ValidationError(
                f"clock cannot go backwards: t must be >= {self._now!r}, got {t!r}"
            )
        self._now = t

    def __repr__(self) -> str:
        return f"ManualClock(start={self._now!r})"


def check_clock(clock: object) -> Clock:
    """Raises: ValidationError: ``clock`` is not a Clock instance (a class, or no ``now()``)."""
    if isinstance(clock, type):
        raise ValidationError(f"clock must be a Clock instance, got the class {clock.__name__}")
    if not callable(getattr(clock, "now", None)):
        raise ValidationError(
            f"clock must be a Clock (an object with a now() method), got {type(clock).__name__}"
        )
    return clock  # type: ignore[return-value]


def reading(t: object, last: float) -> float:
    """A clock reading as the scheduler takes it: a finite number, never before ``last``.

    The scheduler's time never runs backwards. A reading earlier than the
    last one (a wall clock stepped back by NTP, say) is taken as the last
    one, so the scheduler's time stands still until the clock catches up:
    no run time, wait or billed time is negative, and every history and
    event stream stays in time order. Durations are not measured on a second,
    monotonic clock: a timestamp must mean the same time after a restart.

    Raises:
        ValidationError: ``t`` is not a finite number (a str, NaN, inf, an
            int too large for a float); nothing has changed.
    """
    return max(check_number("clock reading", t), last)
