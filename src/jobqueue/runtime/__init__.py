"""Runtimes: drive a scheduler on a real clock and run its jobs' work.

A runtime wraps a ``Scheduler`` (switching its ``acknowledge`` on) and runs
each job's work when the scheduler makes the job Active: a task function
applied to every task key of the job's manifest, or one job function with a
context that offers a cooperative ``checkpoint()``. It stops dispatching when
the job is paused, cancelled or failed, acknowledges once the work in flight
has finished, reports task outcomes and progress, and calls ``poll()`` when
the scheduler's next deadline comes.

* ``ThreadRuntime``: a thread pool.
* ``AsyncioRuntime``: coroutines on an event loop.
* ``ExecutorRuntime``: any ``concurrent.futures.Executor`` (process pools,
  Dask distributed).

A runtime either wraps a scheduler before any job starts, or takes over one
that already has jobs (recovered from a store, say) when it is given
``work_for``: a function that returns each unfinished job's ``Handler``.
"""

import logging

from ._adoption import Handler as Handler
from ._asyncio import AsyncioRuntime as AsyncioRuntime
from ._asyncio import AsyncJobContext as AsyncJobContext
from ._executor import ExecutorRuntime as ExecutorRuntime
from ._failures import JobFailed as JobFailed
from ._failures import RuntimeStateError as RuntimeStateError
from ._failures import TaskFailed as TaskFailed
from ._failures import TaskFailures as TaskFailures
from ._failures import TaskTimeout as TaskTimeout
from ._handles import AsyncJobFuture as AsyncJobFuture
from ._handles import JobFuture as JobFuture
from ._progress import Progress as Progress
from ._submission import SubmitOptions as SubmitOptions
from ._thread_runtime import JobContext as JobContext
from ._thread_runtime import ThreadRuntime as ThreadRuntime

# A library installs no handler of its own: records go where the application
# sends them, and nowhere (not even to stderr) if it configured nothing.
logging.getLogger("jobqueue.runtime").addHandler(logging.NullHandler())

__all__ = [
    "AsyncJobContext",
    "AsyncJobFuture",
    "AsyncioRuntime",
    "ExecutorRuntime",
    "Handler",
    "JobContext",
    "JobFailed",
    "JobFuture",
    "Progress",
    "RuntimeStateError",
    "SubmitOptions",
    "TaskFailed",
    "TaskFailures",
    "TaskTimeout",
    "ThreadRuntime",
]
