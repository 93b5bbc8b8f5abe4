"""Discrete-event simulation: run a workload through the real scheduler on virtual time.

>>> import random
>>> from jobqueue.sim import poisson_workload, simulate
>>> workload = poisson_workload(1000, rng=random.Random(1), slots=10, load=0.8)
>>> result = simulate(workload)
>>> stats = result.queue("default")
>>> stats.completed, 0.7 < stats.utilisation < 0.9
(1000, True)

A ``Workload`` lists queues, jobs (arrival, duration, queue, priority, hop
rules, tasks, job controls, ...) and timed queue actions; build one in code,
with ``poisson_jobs``/``poisson_workload``, or from a file (``load_workload``).
``simulate`` (or ``Simulation``) returns a frozen ``SimResult``: each job's
start, finish, wait and attempts, and per-queue wait percentiles,
utilisation, throughput, hops and preemptions. Same workload and seed, same
result. ``render_html(result)`` draws it: slot use, waits, a Gantt view, tables.

Where each part lives:

* ``_workload``: the workload value types (``Workload``, ``JobSpec``,
  ``After``, ``QueueSpec``, ``QueueAction``) and the checks on their fields;
* ``_workload_file``: the JSON and CSV workload files (``load_workload``,
  ``save_workload``);
* ``_poisson``: random workloads (``poisson_jobs``, ``poisson_workload``);
* ``_simulation``: the entry points (``Simulation``, ``simulate``);
* ``_driver``: the discrete-event loop, and the result it assembles;
* ``_scheduler_port``: the driver's one way into the scheduler core and back;
* ``_result``: what a run returns (``SimResult`` and its parts);
* ``_sections``: the report's tables and sections over a result;
* ``_html``: the report as one self-contained HTML page with SVG charts
  (``render_html``).
"""

from ._html import render_html as render_html
from ._poisson import poisson_jobs as poisson_jobs
from ._poisson import poisson_workload as poisson_workload
from ._result import HopRoute as HopRoute
from ._result import JobOutcome as JobOutcome
from ._result import JobTable as JobTable
from ._result import Outcome as Outcome
from ._result import QueueStats as QueueStats
from ._result import RunSegment as RunSegment
from ._result import SimResult as SimResult
from ._result import occupancy as occupancy
from ._result import percentile as percentile
from ._simulation import Simulation as Simulation
from ._simulation import simulate as simulate
from ._workload import After as After
from ._workload import JobSpec as JobSpec
from ._workload import QueueAction as QueueAction
from ._workload import QueueActionKind as QueueActionKind
from ._workload import QueueSpec as QueueSpec
from ._workload import Workload as Workload
from ._workload_file import load_workload as load_workload
from ._workload_file import save_workload as save_workload

__all__ = [
    "After",
    "HopRoute",
    "JobOutcome",
    "JobSpec",
    "JobTable",
    "Outcome",
    "QueueAction",
    "QueueActionKind",
    "QueueSpec",
    "QueueStats",
    "RunSegment",
    "SimResult",
    "Simulation",
    "Workload",
    "load_workload",
    "occupancy",
    "percentile",
    "poisson_jobs",
    "poisson_workload",
    "render_html",
    "save_workload",
    "simulate",
]
