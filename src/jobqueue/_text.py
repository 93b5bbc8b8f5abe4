"""Text for people: durations, counted nouns and aligned tables, shared by the reports."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Final

__all__ = ["duration", "plural", "table"]

MINUTE: Final = 60.0
HOUR: Final = 3600.0


def duration(seconds: float | None) -> str:
    """``"4.20s"``, ``"42s"``, ``"7m 05s"``, ``"3h 20m"``; ``"-"`` for ``None``.

    >>> duration(4.2), duration(425.0), duration(12000.0)
    ('4.20s', '7m 05s', '3h 20m')
    """
    if seconds is None:
        return "-"
    if seconds < 10:
        return f"{seconds:.2f}s"
    if seconds < MINUTE:
        return f"{seconds:.0f}s"
    if seconds < HOUR:
        minutes, secs = divmod(round(seconds), 60)
        return f"{minutes}m {secs:02d}s"
    hours, rest = divmod(round(seconds / MINUTE), 60)
    return f"{hours}h {rest:02d}m"


def plural(count: int, noun: str, many: str | None = None) -> str:
    """``count`` and the noun, singular for one.

    >>> plural(1, "preemption"), plural(3, "preemption"), plural(0, "time", "times")
    ('1 preemption', '3 preemptions', '0 times')
    """
    return f"{count} {noun if count == 1 else many or noun + 's'}"


def table(headers: Sequence[str], rows: Sequence[Sequence[str]], text: int = 1) -> list[str]:
    """Columns aligned; the first ``text`` columns to the left, the rest (numbers) to the right."""
    widths = [max(len(h), *(len(r[c]) for r in rows)) for c, h in enumerate(headers)]

    def line(cells: Sequence[str]) -> str:
        return "  ".join(
            cell.ljust(w) if c < text else cell.rjust(w)
            for c, (cell, w) in enumerate(zip(cells, widths, strict=True))
        ).rstrip()

    return [line(headers), line(["-" * w for w in widths]), *(line(r) for r in rows)]
