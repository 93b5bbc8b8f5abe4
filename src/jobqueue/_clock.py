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

__all__ = ["Clock", "ManualClock", "SystemClock"]


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
        self._now = _finite("start", start)

    def now(self) -> float:
        """Return the current virtual time."""
        return self._now

    def advance(self, seconds: float) -> None:
        """Move time forward by ``seconds`` (``>= 0``).

        Raises:
            ValidationError: if ``seconds`` is negative or not finite.
        """
        if type(seconds) is not float or not 0.0 <= seconds < math.inf:  # NaN fails it too
            seconds = _finite("seconds", seconds)
            if seconds < 0:
                raise ValidationError(f"seconds must be >= 0, got {seconds!r}")
        self._now += seconds

    def set(self, t: float) -> None:
        """Move time to ``t``, which must not be earlier than now.

        Raises:
            ValidationError: if ``t`` is earlier than the current time or not finite.
        """
        if type(t) is not float or not -math.inf < t < math.inf:  # NaN fails it too
            t = _finite("t", t)
        if t < self._now:
            raise ValidationError(
                f"clock cannot go backwards: t must be >= {self._now!r}, got {t!r}"
            )
        self._now = t

    def __repr__(self) -> str:
        return f"ManualClock(start={self._now!r})"




def _finite(name: str, value: float) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ValidationError(f"{name} must be a number, got {type(value).__name__}")
    value = float(value)
    if not math.isfinite(value):
        raise ValidationError(f"{name} must be finite, got {value!r}")
    return value
