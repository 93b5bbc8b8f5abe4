"""Errors of the durable stores, under the package's one base class."""

from __future__ import annotations

from .._errors import JobQueueError

__all__ = ["CorruptStoreError", "IncompatibleStoreError", "StoreError"]


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
