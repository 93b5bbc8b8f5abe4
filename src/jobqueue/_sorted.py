"""The one place jobqueue touches ``sortedcontainers``.

Keys stored here are totally ordered and never change while stored: to change
one, remove the entry, change it, and add it back.
"""

from __future__ import annotations

from sortedcontainers import SortedList

__all__ = ["SortedList"]
