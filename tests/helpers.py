"""Shared test helpers: everything a caller can observe of a scheduler, as one value.

Tests of bad input compare ``fingerprint(sched)`` before and after the call: a
rejected call must leave every job, every queue and every timer as it was.
``fingerprint`` and ``job_ids`` are the harness's own (``jobqueue.testing``
compares the same picture), so the tests and the harness agree on what
"changes nothing" means.
"""

from __future__ import annotations

from jobqueue import Event, JobTransitioned
from jobqueue.testing._fingerprint import fingerprint, job_ids

__all__ = ["fingerprint", "job_ids", "transitions"]


def transitions(events: list[Event]) -> list[tuple[float, str, str, str]]:
    """The ``(time, job_id, old, new)`` of every status change in ``events``, in order."""
    return [
        (e.time, e.job_id, e.old.value, e.new.value)
        for e in events
        if isinstance(e, JobTransitioned)
    ]
