"""Listing jobs (S3's ListJobs) and retention: how long a finished job stays listed.

Jobs are listed in creation order; a continuation token ``after:N`` names the
creation number of the last row, so paging stays correct while jobs are added
or finish between pages. Under an access policy a caller's rows are the jobs
it may ``describe``: they are filtered like any other filter, before a page is
counted, so a token never skips or repeats a row the caller may see.

Finished jobs wait in finishing order and are purged ``retention`` seconds
after they finished; with one retention for all, that order is also their
purge order, so one timer (for the oldest) serves all.
"""

from __future__ import annotations

import bisect
import itertools
from collections import deque
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING

from .._access import Principal
from .._errors import ValidationError
from .._events import JobPurged
from .._model import JobPage, JobSummary
from .._states import JobStatus
from .._validate import check_choice, check_int, check_str, lookup_key, shown
from .access import describable
from .deadlines import Deadlines, Timer
from .records import JobRecord, summary

if TYPE_CHECKING:
    from .core import Core

__all__ = ["Listing", "list_jobs", "purge_due"]

_TOKEN_DIGITS = 20  # 2**64 has 20 digits


class Listing:
    """Jobs in creation order (purged ones swept lazily) and finished ones in finishing order."""

    __slots__ = ("created", "finished", "purged_in_created")

    def __init__(self) -> None:
        self.created: list[JobRecord] = []
        self.purged_in_created = 0
        # Each finished job knows its finished_at: no per-job tuple, since
        # every retained job pays for this entry.
        self.finished: deque[JobRecord] = deque()

    def retire(self, rec: JobRecord, deadlines: Deadlines, retention: float) -> None:
        """A job finished: it stays listed for ``retention`` seconds."""
        finished = self.finished
        if not finished:
            deadlines.add(_finished_at(rec) + retention, Timer.PURGE, rec, 0)
        finished.append(rec)

    def ids(self, wanted: Iterable[JobStatus]) -> list[str]:
        """The ids of the listed jobs in a status of ``wanted``, oldest first.

        For a runtime's own bookkeeping: no paging, and no access policy.
        """
        statuses = frozenset(wanted)
        return [r.id for r in self.created if not r.purged and r.status in statuses]

    def page(
        self,
        wanted: frozenset[JobStatus] | None,
        queue: str | None,
        search: str | None,
        limit: int,
        start: int,
        visible: Callable[[JobRecord], bool] | None = None,
    ) -> JobPage:
        """One page of the rows created after job number ``start``, oldest first.

        ``visible`` (the access policy's ``describe``), if given, keeps only
        the jobs it holds for. O(jobs listed after ``start``).
        """
        if self.purged_in_created > len(self.created) // 2:
            self.created = [r for r in self.created if not r.purged]
            self.purged_in_created = 0
        created = self.created
        i = bisect.bisect_right(created, start, key=lambda r: r.index)
        rows: list[JobSummary] = []
        last = start
        more = False
        for rec in itertools.islice(created, i, None):
            if rec.purged:
                continue
            if wanted is not None and rec.status not in wanted:
                continue
            if queue is not None and rec.submission_queue != queue:
                continue
            if search is not None and not (
                search in rec.id
                or search in rec.description
                or (rec.name is not None and search in rec.name)
            ):
                continue
            if visible is not None and not visible(rec):
                continue
            if len(rows) == limit:
                more = True
                break
            rows.append(summary(rec))
            last = rec.index
        return JobPage(tuple(rows), f"after:{last}" if more else None)


def list_jobs(
    core: Core,
    statuses: Iterable[JobStatus | str] | None,
    queue: str | None,
    search: str | None,
    limit: int,
    token: str | None,
    principal: Principal | None,
) -> JobPage:
    """Check the filters, then the caller; one page of the rows it may see (``list_jobs``).

    Raises:
        ValidationError: a bad filter, limit, token or principal.
        AccessDenied: the access policy refuses ``list``.
    """
    wanted = None if statuses is None else _check_statuses(statuses)
    in_queue, found, limit = _check_filters(queue, search, limit)
    start = 0 if token is None else _parse_token(token)
    visible = describable(core, principal)
    return core.listing.page(wanted, in_queue, found, limit, start, visible)


def _check_statuses(statuses: Iterable[JobStatus | str]) -> frozenset[JobStatus]:
    """Raises: ValidationError: not a collection of statuses."""
    if isinstance(statuses, str):
        statuses = (statuses,)
    elif not isinstance(statuses, Iterable):
        raise ValidationError(
            f"statuses must be a collection of statuses, got {type(statuses).__name__}"
        )
    return frozenset(check_choice("statuses", s, JobStatus) for s in statuses)


def _check_filters(
    queue: object, search: object, limit: object
) -> tuple[str | None, str | None, int]:
    """Check ``list_jobs``' filters; returns them as plain values.

    Raises:
        ValidationError: a filter is not a str, or the limit is not in 1-1000.
    """
    return (
        None if queue is None else check_str("queue", queue),
        None if search is None else check_str("search", search),
        check_int("limit", limit, 1, 1000),
    )


def purge_due(core: Core, now: float) -> int:
    """Purge every finished job past retention; set the timer for the next. How many went."""
    listing = core.listing
    finished = listing.finished
    retention = core.settings.retention
    purged = 0
    while finished and _finished_at(finished[0]) + retention <= now:
        rec = finished.popleft()
        purged += 1
        rec.purged = True
        listing.purged_in_created += 1
        del core.jobs[rec.index]
        if core.other_ids:
            core.other_ids.pop(rec.id, None)
        if core.outbox.listening:
            core.outbox.emit(JobPurged, now, rec.id)
    if finished:
        core.deadlines.add(_finished_at(finished[0]) + retention, Timer.PURGE, finished[0], 0)
    return purged


def _finished_at(rec: JobRecord) -> float:
    assert rec.finished_at is not None
    return rec.finished_at


def _parse_token(token: object) -> int:
    text = lookup_key(token)
    if text.startswith("after:"):
        number = text[6:]
        # isascii: str.isdigit() also accepts digits such as "²" that int()
        # refuses; and no job number has more than 20 digits, while int()
        # refuses more than 4,300.
        if 0 < len(number) <= _TOKEN_DIGITS and number.isascii() and number.isdigit():
            return int(number)
    raise ValidationError(f"token is not a continuation token from list_jobs: {shown(token)}")
