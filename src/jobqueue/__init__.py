"""jobqueue: embeddable, in-process job scheduling with a typed API.

Slot limits with deferred FIFO queues (Amazon Transcribe), priority with
best-effort preemption, a strict job state machine, tags, tag-based access
control, task-failure thresholds and completion reports (S3 Batch Operations),
and timed hopping between queues (MediaConvert) -- on a real clock or a
virtual one.
"""

from ._access import AccessPolicy as AccessPolicy
from ._access import Action as Action
from ._access import AttributeEquals as AttributeEquals
from ._access import Principal as Principal
from ._access import Statement as Statement
from ._access import TagEquals as TagEquals
from ._access import TagMatchesAttribute as TagMatchesAttribute
from ._access import TagPresent as TagPresent
from ._clock import Clock as Clock
from ._clock import ManualClock as ManualClock
from ._clock import SystemClock as SystemClock
from ._controls import Aging as Aging
from ._controls import Dependency as Dependency
from ._controls import PendingCode as PendingCode
from ._controls import PendingReason as PendingReason
from ._controls import Retry as Retry
from ._errors import AccessDenied as AccessDenied
from ._errors import ConflictError as ConflictError
from ._errors import InvalidTransition as InvalidTransition
from ._errors import InvariantViolation as InvariantViolation
from ._errors import JobQueueError as JobQueueError
from ._errors import LimitExceededError as LimitExceededError
from ._errors import NotFound as NotFound
from ._errors import ValidationError as ValidationError
from ._events import Event as Event
from ._events import HoldLifted as HoldLifted
from ._events import HopHeld as HopHeld
from ._events import HopsDropped as HopsDropped
from ._events import JobHopped as JobHopped
from ._events import JobPurged as JobPurged
from ._events import JobSubmitted as JobSubmitted
from ._events import JobTransitioned as JobTransitioned
from ._events import PriorityChanged as PriorityChanged
from ._events import QueueEvent as QueueEvent
from ._events import RetryScheduled as RetryScheduled
from ._events import TagsChanged as TagsChanged
from ._events import TaskRecorded as TaskRecorded
from ._events import WorkSaved as WorkSaved
from ._model import Acceleration as Acceleration
from ._model import BillingTagsSource as BillingTagsSource
from ._model import HopRule as HopRule
from ._model import HopTransition as HopTransition
from ._model import Job as Job
from ._model import JobPage as JobPage
from ._model import JobSummary as JobSummary
from ._model import Pricing as Pricing
from ._model import QueueInfo as QueueInfo
from ._model import StatusChange as StatusChange
from ._reports import CompletionReport as CompletionReport
from ._scheduler import QueuePosition as QueuePosition
from ._scheduler import Scheduler as Scheduler
from ._scheduler import TaskSource as TaskSource
from ._scheduler import UsageRow as UsageRow
from ._states import TERMINAL as TERMINAL
from ._states import TRANSITIONS as TRANSITIONS
from ._states import JobStatus as JobStatus
from ._states import MediaConvertStatus as MediaConvertStatus
from ._states import TranscribeStatus as TranscribeStatus
from ._states import mediaconvert_status as mediaconvert_status
from ._states import state_diagram as state_diagram
from ._states import transcribe_status as transcribe_status
from ._tags import MAX_TAG_KEY as MAX_TAG_KEY
from ._tags import MAX_TAG_VALUE as MAX_TAG_VALUE
from ._tags import MAX_TAGS as MAX_TAGS
from ._tasks import FailureReason as FailureReason
from ._tasks import ReportScope as ReportScope
from ._tasks import TaskRecord as TaskRecord
from ._tasks import TaskStatus as TaskStatus
from .policies import FairSharePolicy as FairSharePolicy
from .policies import FifoPolicy as FifoPolicy
from .policies import Policy as Policy
from .policies import PolicyJob as PolicyJob
from .policies import PriorityPolicy as PriorityPolicy

__version__ = "0.1.0"

__all__ = [
    "Acceleration",
    "AccessDenied",
    "AccessPolicy",
    "Action",
    "Aging",
    "AttributeEquals",
    "BillingTagsSource",
    "Clock",
    "CompletionReport",
    "ConflictError",
    "Dependency",
    "Event",
    "FailureReason",
    "FairSharePolicy",
    "FifoPolicy",
    "HoldLifted",
    "HopHeld",
    "HopRule",
    "HopsDropped",
    "HopTransition",
    "InvalidTransition",
    "InvariantViolation",
    "Job",
    "JobHopped",
    "JobPage",
    "JobPurged",
    "JobQueueError",
    "JobStatus",
    "JobSubmitted",
    "JobSummary",
    "JobTransitioned",
    "LimitExceededError",
    "ManualClock",
    "MAX_TAG_KEY",
    "MAX_TAG_VALUE",
    "MAX_TAGS",
    "MediaConvertStatus",
    "NotFound",
    "PendingCode",
    "PendingReason",
    "Policy",
    "PolicyJob",
    "Pricing",
    "Principal",
    "PriorityChanged",
    "PriorityPolicy",
    "QueueEvent",
    "QueueInfo",
    "QueuePosition",
    "ReportScope",
    "Retry",
    "RetryScheduled",
    "Scheduler",
    "Statement",
    "StatusChange",
    "SystemClock",
    "TagEquals",
    "TagMatchesAttribute",
    "TagPresent",
    "TagsChanged",
    "TaskRecord",
    "TaskRecorded",
    "TaskSource",
    "TaskStatus",
    "TERMINAL",
    "TranscribeStatus",
    "TRANSITIONS",
    "UsageRow",
    "ValidationError",
    "WorkSaved",
    "mediaconvert_status",
    "state_diagram",
    "transcribe_status",
]
