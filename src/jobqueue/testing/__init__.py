"""Property-test jobqueue and your own scheduling policies with hypothesis.

This subpackage needs ``hypothesis`` (install ``jobqueue[testing]``); ``import
jobqueue`` never imports it.

* Strategies for valid input (``submissions``: job specs, with the job
  controls when asked; ``queue_specs`` and ``queue_configs``, the latter with
  aging; ``workloads`` for ``jobqueue.sim``; ``operations``; and their parts:
  ``delays``, ``dependencies``, ``limits``, ``retries``, ``agings``...) and
  for invalid input paired with the exact error it must raise
  (``invalid_submissions``, ``invalid_queue_specs``, ``invalid_priorities``),
  drawing on the classes of bad input a careless check lets through: ints
  too large for a float (``huge_ints``), ``str`` subclasses that lie
  (``LyingStr``) and flags that are not bools (``non_bools``).
* A stateful harness, ``PolicyStateMachine``, that drives every public
  operation at random on a ``ManualClock`` and checks, after each step,
  ``Scheduler.check_invariants()``, the history properties of
  ``HistoryChecker`` (the job controls' among them), pending reasons, aging,
  and the policy's own declared properties;
  ``check_policy(MyPolicy)`` runs it inside a test function::

      from jobqueue.testing import check_policy

      def test_my_policy() -> None:
          check_policy(MyPolicy)  # silent when every property holds
"""

from . import _requires  # noqa: F401 -- first: without hypothesis, name the extra
from ._check_policy import check_policy as check_policy
from ._history import HistoryChecker as HistoryChecker
from ._history import JobModel as JobModel
from ._history import PropertyFailed as PropertyFailed
from ._invalid import bad_calls as bad_calls
from ._invalid import huge_ints as huge_ints
from ._invalid import invalid_priorities as invalid_priorities
from ._invalid import invalid_queue_specs as invalid_queue_specs
from ._invalid import invalid_submissions as invalid_submissions
from ._invalid import non_bools as non_bools
from ._machine import PolicyStateMachine as PolicyStateMachine
from ._operations import Operation as Operation
from ._operations import operations as operations
from ._operations import run_operations as run_operations
from ._strategies import agings as agings
from ._strategies import delays as delays
from ._strategies import dependencies as dependencies
from ._strategies import hop_chains as hop_chains
from ._strategies import hop_waits as hop_waits
from ._strategies import job_names as job_names
from ._strategies import limits as limits
from ._strategies import priorities as priorities
from ._strategies import queue_configs as queue_configs
from ._strategies import queue_specs as queue_specs
from ._strategies import retries as retries
from ._strategies import submissions as submissions
from ._strategies import tag_sets as tag_sets
from ._strategies import task_sources as task_sources
from ._strategies import workloads as workloads
from ._values import FromNow as FromNow
from ._values import InvalidCall as InvalidCall
from ._values import LyingStr as LyingStr
from ._values import ManifestReader as ManifestReader
from ._values import Prior as Prior
from ._values import QueueConfig as QueueConfig
from ._values import Submission as Submission

__all__ = [
    "FromNow",
    "HistoryChecker",
    "InvalidCall",
    "JobModel",
    "LyingStr",
    "ManifestReader",
    "Operation",
    "PolicyStateMachine",
    "Prior",
    "PropertyFailed",
    "QueueConfig",
    "Submission",
    "agings",
    "bad_calls",
    "check_policy",
    "delays",
    "dependencies",
    "hop_chains",
    "hop_waits",
    "huge_ints",
    "invalid_priorities",
    "invalid_queue_specs",
    "invalid_submissions",
    "job_names",
    "limits",
    "non_bools",
    "operations",
    "priorities",
    "queue_configs",
    "queue_specs",
    "retries",
    "run_operations",
    "submissions",
    "tag_sets",
    "task_sources",
    "workloads",
]
