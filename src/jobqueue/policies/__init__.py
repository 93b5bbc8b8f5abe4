"""Scheduling policies: the stock ones and the protocol for your own."""

from ._base import Policy as Policy
from ._base import PolicyJob as PolicyJob
from ._fair import FairSharePolicy as FairSharePolicy
from ._fifo import FifoPolicy as FifoPolicy
from ._priority import PriorityPolicy as PriorityPolicy

__all__ = ["FairSharePolicy", "FifoPolicy", "Policy", "PolicyJob", "PriorityPolicy"]
