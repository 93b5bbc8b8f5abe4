"""Everything a caller can observe of a scheduler, as one comparable value.

A refused call must change nothing: the harness and the tests compare
``fingerprint(sched)`` before and after it. Built only from the public API,
as the scheduler's owner sees it: the access policy is lifted while these
read (and put back, also if a read raises), so they see every job.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from .._scheduler import Scheduler

__all__ = ["fingerprint", "job_ids"]


@contextmanager
def _as_owner(sched: Scheduler) -> Iterator[None]:
    policy = sched.access_policy
    sched.access_policy = None
    try:
        yield
    finally:
        sched.access_policy = policy


def job_ids(sched: Scheduler) -> list[str]:
    """Every job the scheduler keeps, oldest first (all pages of ``list_jobs``)."""
    ids: list[str] = []
    token: str | None = None
    with _as_owner(sched):
        while True:
            page = sched.list_jobs(limit=1000, token=token)
            ids.extend(row.id for row in page)
            if page.next_token is None:
                return ids
            token = page.next_token


def fingerprint(sched: Scheduler) -> tuple[object, ...]:
    """A comparable picture of all observable state.

    Holds each job's snapshot, place in line, task outcomes, report and tags;
    every queue's snapshot; the job count; the next deadline; and the usage
    report.
    """
    with _as_owner(sched):
        jobs = tuple(
            (
                sched.get(job_id),
                sched.position(job_id),
                sched.tasks(job_id),
                sched.report(job_id),
                dict(sched.get_tags(job_id)),
            )
            for job_id in job_ids(sched)
        )
        return (jobs, sched.list_queues(), len(sched), sched.next_deadline(), sched.usage_report())
