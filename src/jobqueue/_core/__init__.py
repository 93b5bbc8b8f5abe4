"""The scheduler's private core: one module per concern, all owned by one ``Core``.

``Scheduler`` (``jobqueue._scheduler``) is the public façade over it; the
store and the simulation driver reach the core through ``core_of(scheduler)``
and nothing else. Where each rule lives:

- ``core``: the ``Core`` object, the job table and the state machine's moves;
- ``settings``: the core's settings (retention, failure threshold, id prefix);
- ``submission``: checking a submission's input and its controls;
- ``admission``: slots, the deferred share, the waiting line's counters;
- ``preemption``: which Active job pauses for which waiting one;
- ``deadlines``: the one container for every timer;
- ``hops``: hop rules, their timers, hopping and paused-queue holds;
- ``control``: confirm, cancel, fail, acknowledgements, priority, tags;
- ``queues``: creating, changing, pausing and deleting queues; policies;
- ``ledger``: run time and billing;
- ``outbox``: events, subscribers and their delivery;
- ``listing``: listing jobs, paging and retention;
- ``tasks``: manifests, task outcomes, the failure threshold, reports;
- ``invariants``: the invariant checker;
- ``records``: the mutable records and their frozen snapshots;
- ``rebuild``: a core's derived state rebuilt from its records (for a store).
"""

from .core import Core as Core
from .core import core_of as core_of

__all__ = ["Core", "core_of"]
