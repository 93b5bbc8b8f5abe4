"""The one module that reads and writes the scheduler's private records.

Theory of operation
-------------------
The journal captures *state*, not commands. At the end of each public call
(when the scheduler has delivered the call's events), the events name what the
call touched: jobs, queues, task outcomes, purges. The journal entry for the
call holds the full current state of every touched job and queue, read from
the scheduler's own records, plus the task outcomes recorded, the reports
built, the jobs purged and the billing totals that moved. Replaying entries is
then an upsert per record, last write wins: recovery never re-runs scheduling
logic, so it cannot drift from it.

What is not stored is derived on recovery: the queues' counters and waiting
lines (from the jobs' statuses, in entry order ``seq``), the hop timers (from
``ready_at`` plus the current rule's wait), the Suspended and finished lists.
Two orders cannot be derived from the records and are stored as *marks*: the
order in which hop timers were set (it breaks ties between equal deadlines)
and the order in which jobs finished (it orders purges). A mark is the
position of the event in its entry; the entry's number makes it global.

Encoding: an entry is a pickle (protocol 5, see ``Encoder``) of plain data
only -- lists, dicts, str, int, float, bool and None -- read back by an
unpickler that refuses every global but the plain types. It is a list
``[time, op, op, ...]`` with its ops in this order: queues, jobs, task
outcomes, reports, purges, billing totals. Each op is a list whose first
element names it:

* ``["q", name, slots, share, max_waiting, kind, preemption, pricing, tags, paused, custom]``
* ``["x", name]`` -- queue deleted
* ``["j", id, <state fields>, timer_mark, finish_mark, config | None]`` (see ``job_row``);
  the history field is flat, ``[time, status, time, status, ...]``, as the
  record keeps it.
* ``["t", job_id, key, status, error_code, message]`` -- one task outcome
* ``["r", job_id, report_json]`` -- the completion report
* ``["p", job_id]`` -- purged
* ``["u", [[tag, value], ...], seconds]`` -- billed seconds for one set of billing
  tags, written only when that total moved

Statuses, pricing and the other enumerations are written as their string
values. A snapshot is a header ``[time, next_index]`` followed by parts that
are lists of the same ops.

Formats 1 and 2 wrote the same lists as compact JSON texts, format 1 with
histories as pairs ``[[time, status], ...]``; both are still read (``_decode``
tells a pickle by its first byte).
"""

from __future__ import annotations

import heapq
import io
import itertools
import json
import pickle
from collections import deque
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any, Final, TypeVar

from .._errors import ValidationError
from .._events import (
    Event,
    JobHopped,
    JobPurged,
    JobSubmitted,
    JobTransitioned,
    QueueEvent,
    RawEvent,
    TagsChanged,
    TaskRecorded,
)
from .._model import (
    Acceleration,
    BillingTagsSource,
    HopRule,
    HopTransition,
    Pricing,
)
from .._record import JobRecord, QueueRecord, deferred_limit
from .._reports import CompletionReport
from .._scheduler import Scheduler, _add_reason, _make_policy
from .._states import TERMINAL, WORKING, JobStatus
from .._tasks import FailureReason, ReportScope, TaskRecord, TaskStatus
from ..policies import FifoPolicy, Policy, PriorityPolicy
from ._base import Store, StoredJournal
from ._errors import CorruptStoreError, StoreError

__all__ = [
    "Encoder",
    "attach_hook",
    "dump_snapshot",
    "encode_batch",
    "open_scheduler",
    "recover_interrupted",
]


class _Pickler(pickle.Pickler):
    def reducer_override(self, obj: Any) -> Any:
        # Called only for objects that are not exact builtins: a str, int or
        # float subclass (an enum member, an application's StrEnum queue name)
        # goes as its plain value, which is what the loader expects.
        for plain in (str, int, float):
            if isinstance(obj, plain):
                return plain, (_PLAIN_VALUE[plain](obj),)
        if obj is str or obj is int or obj is float:
            return NotImplemented  # the type in such a reduction: pickled by name
        raise TypeError(f"cannot journal a {type(obj).__name__}: {obj!r}")


_PLAIN_VALUE: Final[dict[type, Callable[[Any], object]]] = {
    str: str.__str__,  # an exact str, whatever the subclass's own __str__ says
    int: int.__int__,
    float: float.__float__,
}
_PLAIN_TYPES: Final = {t.__name__: t for t in _PLAIN_VALUE}


class Encoder:
    """Encodes entries and snapshot parts: a pickle (protocol 5) of plain data.

    Pickle writes a float as its 8 bytes where JSON spells out its digits, and
    a job's row is mostly timestamps: encoding an entry costs a fifth or less
    of what JSON took. The pickler is built once and reused, so an encoder
    serves one journal (one scheduler, one thread at a time).
    """

    def __init__(self) -> None:
        self._parts: list[bytes] = []
        self.write = self._parts.append  # the pickler's file
        self._pickler = _Pickler(self, _PROTOCOL)

    def __call__(self, value: object) -> bytes:
        pickler = self._pickler
        parts = self._parts
        try:
            pickler.dump(value)
            return parts[0] if len(parts) == 1 else b"".join(parts)
        finally:
            pickler.clear_memo()
            parts.clear()


class _Unpickler(pickle.Unpickler):
    def find_class(self, module: str, name: str) -> Any:
        # Entries hold plain data only; the one global they may name is a
        # plain type rebuilding a subclass's value. Anything else is refused,
        # so a damaged or foreign blob cannot make the loader call code.
        if module == "builtins" and name in _PLAIN_TYPES:
            return _PLAIN_TYPES[name]
        raise pickle.UnpicklingError(f"an entry may not name {module}.{name}")


def _decode(data: bytes) -> Any:
    """An entry or snapshot part; formats 1 and 2 wrote JSON text, format 3 pickles."""
    if data[:1] != _PICKLED:
        return json.loads(data)
    buffer = io.BytesIO(data)
    try:
        value = _Unpickler(buffer).load()
    except Exception as exc:
        raise ValueError(f"not an entry: {exc!r}") from None
    if buffer.tell() != len(data):
        raise ValueError(f"{len(data) - buffer.tell()} stray bytes after the entry")
    return value


_PROTOCOL: Final = 5
_PICKLED: Final = b"\x80"  # the PROTO opcode every pickle of protocol >= 2 starts with


_S = JobStatus
_READY: Final = JobStatus.READY  # a module constant: an enum member lookup costs 50 ns
_PAUSED: Final = JobStatus.PAUSED
_STATUS: Final = {s.value: s for s in JobStatus}
_TASK_STATUS: Final = {s.value: s for s in TaskStatus}
# The enumerations a row holds, as their plain values: pickle would write a
# member as a reference to its class.
_PLAIN: Final[dict[Any, str]] = {
    m: m.value
    for kind in (JobStatus, TaskStatus, Pricing, Acceleration, BillingTagsSource, ReportScope)
    for m in kind
}
_PLAIN_GET: Final = _PLAIN.get  # history: statuses to values, times to themselves
_CHUNK: Final = 1000  # jobs per snapshot part
_FEW_KEYS: Final = 64  # billing totals compared whole rather than by touched job

SchedulerT = TypeVar("SchedulerT", bound=Scheduler)
Mark = tuple[int, int]


# ---------------------------------------------------------------------- encoding


def queue_op(q: QueueRecord) -> list[Any]:
    """A queue's settings as a ``"q"`` op (its counters are derived on recovery)."""
    policy = q.policy
    custom: str | None = None
    preemption = False
    if isinstance(policy, FifoPolicy):
        kind = "fifo"
    elif isinstance(policy, PriorityPolicy):
        kind = "priority"
        preemption = policy.preemption
    else:
        kind = "custom"
        custom = policy.name
    return [
        "q",
        q.name,
        q.slots,
        q.deferred_share,
        q.max_waiting,
        kind,
        preemption,
        _PLAIN[q.pricing],
        q.tags,
        q.paused,
        custom,
    ]


def job_row(rec: JobRecord, timer: int | None, finish: int | None, config: bool) -> list[Any]:
    """A job's state as a ``"j"`` op; ``config`` adds what never changes after submission.

    Field positions are read back by ``_make_record``; keep the two in step.
    The history goes flat, as the record keeps it, with its statuses as
    their values.
    """
    reasons = rec.failure_reasons
    hopped = rec.hop_transitions
    history = rec.history
    return [
        "j",
        rec.id,  # 1
        _PLAIN[rec.status],
        rec.priority,
        rec.seq,
        rec.queue,  # 5
        rec.tags,
        rec.start_seq,
        rec.hop_index,
        rec.hop_token,
        rec.hop_due,  # 10
        rec.ready_at,
        rec.succeeded,
        rec.failed,
        None if reasons is None else [[r.code, r.message] for r in reasons],
        rec.holds_slot,  # 15
        rec.leaving,
        rec.accelerated,
        rec.started_at,
        rec.finished_at,
        rec.suspended_at,  # 20
        rec.run_started_at,
        rec.run_seconds,
        rec.billed_seconds,
        rec.progress,
        list(map(_PLAIN_GET, history, history)),  # 25
        None if hopped is None else [[h.source, h.destination, h.time, h.priority] for h in hopped],
        timer,
        finish,
        _config(rec) if config else None,  # 29
    ]


def task_op(job_id: str, r: TaskRecord) -> list[Any]:
    """One recorded task outcome as a ``"t"`` op."""
    return ["t", job_id, r.key, _PLAIN[r.status], r.error_code, r.message]


def _config(rec: JobRecord) -> list[Any]:
    keys = rec.task_keys
    hops = rec.hops
    return [
        rec.index,
        rec.name,
        rec.description,
        rec.submission_queue,
        rec.deferred,
        rec.preemptible,  # 5
        rec.confirmation_required,
        rec.created_at,
        [[h.queue, h.wait, h.priority] for h in hops] if hops else [],
        _PLAIN[rec.acceleration],
        _PLAIN[rec.billing_tags_source],  # 10
        _PLAIN.get(rec.report_scope),
        rec.tasks_total,
        None if keys is None else list(keys),
    ]


def _history(stored: list[Any]) -> list[float | JobStatus]:
    """A record's flat history from a row's ``[t, s, t, s, ...]``.

    Stores written before the flat form hold pairs, ``[[t, s], [t, s], ...]``:
    they still open.
    """
    if stored and isinstance(stored[0], list):
        return [x for t, s in stored for x in (t, _STATUS[s])]
    if len(stored) % 2:
        raise ValueError(f"history has an odd length {len(stored)}")
    history: list[float | JobStatus] = list(stored)
    history[1::2] = [_STATUS[s] for s in stored[1::2]]
    return history


def _make_record(row: list[Any], cfg: list[Any]) -> JobRecord:
    reasons = row[14]
    hopped = row[26]
    keys = cfg[13]
    return JobRecord(
        id=row[1],
        index=cfg[0],
        name=cfg[1],
        description=cfg[2],
        status=_STATUS[row[2]],
        priority=row[3],
        seq=row[4],
        submission_queue=cfg[3],
        queue=row[5],
        deferred=cfg[4],
        preemptible=cfg[5],
        confirmation_required=cfg[6],
        created_at=cfg[7],
        tags=dict(row[6]),
        hops=tuple(HopRule(q, w, p) for q, w, p in cfg[8]),
        acceleration=Acceleration(cfg[9]),
        billing_tags_source=BillingTagsSource(cfg[10]),
        report_scope=None if cfg[11] is None else ReportScope(cfg[11]),
        tasks_total=cfg[12],
        task_keys=None if keys is None else dict.fromkeys(keys),
        history=_history(row[25]),
        start_seq=row[7],
        hop_index=row[8],
        hop_token=row[9],
        hop_due=row[10],
        ready_at=row[11],
        hop_transitions=None if hopped is None else [HopTransition(*h) for h in hopped],
        succeeded=row[12],
        failed=row[13],
        failure_reasons=None if reasons is None else [FailureReason(c, m) for c, m in reasons],
        holds_slot=row[15],
        leaving=row[16],
        accelerated=row[17],
        started_at=row[18],
        finished_at=row[19],
        suspended_at=row[20],
        run_started_at=row[21],
        run_seconds=row[22],
        billed_seconds=row[23],
        progress=row[24],
    )


def _billing_key(sched: Scheduler, rec: JobRecord) -> tuple[tuple[str, str], ...]:
    # The key ``Scheduler._release`` bills under.
    if rec.billing_tags_source is BillingTagsSource.QUEUE:
        sub = sched._queues.get(rec.submission_queue)
        tags = sub.tags if sub is not None else {}
    else:
        tags = rec.tags
    return tuple(sorted(tags.items())) if tags else ()


def encode_batch(
    sched: Scheduler, events: Sequence[RawEvent], usage: dict[Any, float], encode: Encoder
) -> bytes:
    """Encode one call's changes, named by its raw ``events``, as one journal entry.

    ``usage`` is the journal's copy of the billing totals already written; it
    is brought up to date. O(events + touched jobs' history).
    """
    # The entry's order: time, queues, jobs, task outcomes, reports, purges, totals.
    ops: list[Any] = [events[-1][1]]
    touched: dict[str, list[Any]] = {}  # job id -> [timer mark, finish mark, new]
    task_ops: list[list[Any]] = []
    purge_ops: list[list[Any]] = []
    released = False
    keys_moved = False  # tags that billing keys come from may have changed
    # A raw event is (kind, time, job_id or queue, *the kind's other fields);
    # most frequent kinds first.
    for i, event in enumerate(events):
        kind = event[0]
        if kind is JobTransitioned:  # (time, job_id, old, new, reason)
            job_id = event[2]
            info = touched.get(job_id)
            if info is None:
                info = touched[job_id] = [None, None, False]
            new = event[4]
            if new is _READY:
                info[0] = i
            elif new in TERMINAL:
                info[1] = i
                released = True
            elif new is _PAUSED:
                released = True
        elif kind is JobSubmitted:
            touched[event[2]] = [None, None, True]
        elif kind is JobHopped:
            info = touched.get(event[2])
            if info is None:
                info = touched[event[2]] = [None, None, False]
            info[0] = i
        elif kind is TaskRecorded:  # (time, job_id, record)
            job_id = event[2]
            if job_id not in touched:
                touched[job_id] = [None, None, False]
            task_ops.append(task_op(job_id, event[3]))
        elif kind is JobPurged:
            purge_ops.append(["p", event[2]])
        elif kind is QueueEvent:  # (time, queue, change)
            keys_moved = True
            name, change = event[2], event[3]
            q = sched._queues.get(name)
            if change == "deleted" or q is None:
                ops.append(["x", name])
            else:
                ops.append(queue_op(q))
                if change == "updated":
                    # A pricing change settles the run time of the queue's
                    # running jobs: their rows and the billing totals moved.
                    for running in sched._jobs.values():
                        if running.holds_slot and running.queue == name:
                            touched.setdefault(running.id, [None, None, False])
                            released = True
        else:
            # PriorityChanged, TagsChanged, HopHeld, HopsDropped, and any job
            # event a later version adds: the job's row carries the change.
            keys_moved = keys_moved or kind is TagsChanged
            if event[2] not in touched:
                touched[event[2]] = [None, None, False]
    jobs = sched._jobs
    report_ops = None
    for job_id, (timer, finish, new) in touched.items():
        rec = jobs.get(job_id)
        if rec is None:
            continue  # purged in this call
        ops.append(job_row(rec, timer, finish, new))
        if finish is not None and rec.report is not None:
            if report_ops is None:
                report_ops = []
            report_ops.append(["r", job_id, rec.report.to_json()])
    if task_ops:
        ops.extend(task_ops)
    if report_ops:
        ops.extend(report_ops)
    if purge_ops:
        ops.extend(purge_ops)
    if released:
        _usage_ops(sched, touched, usage, keys_moved, ops)
    return encode(ops)


def _usage_ops(
    sched: Scheduler,
    touched: Mapping[str, object],
    usage: dict[Any, float],
    keys_moved: bool,
    ops: list[Any],
) -> None:
    """Append a ``"u"`` op to ``ops`` for each billing total that moved."""
    live = sched._usage
    if not keys_moved and len(live) <= _FEW_KEYS and live == usage:
        # A release moves no total in a reserved queue or when no run time
        # passed; with few totals, comparing them whole is cheaper than
        # working out whose moved.
        return
    keys: Iterable[Any] = live
    if not keys_moved and len(live) == len(usage) and len(live) > _FEW_KEYS:
        # No tag set changed and no key is new: only the keys of the jobs this
        # call touched can have moved. O(touched) instead of O(keys).
        jobs = sched._jobs
        candidates = set()
        for job_id in touched:
            rec = jobs.get(job_id)
            if rec is None:
                break  # purged since its release: its key is unknown, scan them all
            candidates.add(_billing_key(sched, rec))
        else:
            keys = candidates
    for key in keys:
        seconds = live.get(key)
        if seconds is not None and usage.get(key) != seconds:
            usage[key] = seconds
            ops.append(["u", key, seconds])


def dump_snapshot(sched: Scheduler, time: float, encode: Encoder) -> list[bytes]:
    """The scheduler's whole state as snapshot parts. O(jobs + task outcomes)."""
    # Peek at the id counter without losing a number.
    next_index = next(sched._counter)
    sched._counter = itertools.count(next_index)
    parts = [encode([time, next_index])]
    head: list[list[Any]] = [queue_op(q) for q in sched._queues.values()]
    head.extend(["u", key, seconds] for key, seconds in sched._usage.items())
    parts.append(encode(head))
    valid = sorted(
        (seq, rec.id)
        for _, seq, rec, token in sched._hop_timers
        if rec.hop_token == token and rec.status is _S.READY
    )
    timer_rank = {job_id: i for i, (_, job_id) in enumerate(valid)}
    finish_rank = {rec.id: i for i, rec in enumerate(sched._finished)}
    chunk: list[list[Any]] = []
    count = 0
    for rec in sched._jobs.values():
        chunk.append(job_row(rec, timer_rank.get(rec.id), finish_rank.get(rec.id), True))
        if rec.outcomes:
            chunk.extend(task_op(rec.id, r) for r in rec.outcomes.values())
        if rec.report is not None:
            chunk.append(["r", rec.id, rec.report.to_json()])
        count += 1
        if count == _CHUNK:
            parts.append(encode(chunk))
            chunk = []
            count = 0
    if chunk:
        parts.append(encode(chunk))
    return parts


def attach_hook(sched: Scheduler, end: Callable[[Sequence[RawEvent]], None]) -> None:
    """Make ``end`` run with each batch of raw events, after their delivery."""
    if sched._batch_hook is not None:
        raise StoreError("scheduler already journals to a store")
    sched._hook_batches(end)


def usage_of(sched: Scheduler) -> dict[Any, float]:
    """A copy of the scheduler's billing totals."""
    return dict(sched._usage)


# ---------------------------------------------------------------------- decoding


class _Loader:
    """Replays a snapshot and entries into plain data, then builds the records."""

    def __init__(self, sched: Scheduler) -> None:
        self.queues: dict[str, list[Any]] = {n: queue_op(q) for n, q in sched._queues.items()}
        self.rows: dict[str, list[Any]] = {}
        self.configs: dict[str, list[Any]] = {}
        self.outcomes: dict[str, dict[str, TaskRecord]] = {}
        self.reports: dict[str, str] = {}
        self.timer_marks: dict[str, Mark] = {}
        self.finish_marks: dict[str, Mark] = {}
        self.usage: dict[tuple[tuple[str, str], ...], float] = {}
        self.next_index = 1
        self.last_time = float("-inf")
        self.entries = 0
        self.last_number = 0

    def load(self, stored: StoredJournal) -> None:
        where = "snapshot"
        try:
            if stored.snapshot:
                self.queues = {}  # the snapshot lists every queue there is
                time, next_index = _decode(stored.snapshot[0])
                self._time(time)
                self.next_index = max(self.next_index, int(next_index))
                for part in stored.snapshot[1:]:
                    self._apply(_decode(part), stored.upto)
            self.last_number = stored.upto
            for number, entry in stored.entries:
                where = f"journal entry {number}"
                data = _decode(entry)
                self._time(data[0])
                self._apply(data[1:], number)
                self.last_number = number
                self.entries += 1
        except (ValueError, TypeError, KeyError, IndexError, AttributeError) as exc:
            raise CorruptStoreError(f"store is damaged: {where} cannot be read ({exc!r})") from None

    def _time(self, time: object) -> None:
        if isinstance(time, bool) or not isinstance(time, (int, float)):
            raise ValueError(f"time must be a number, got {time!r}")
        self.last_time = max(self.last_time, float(time))

    def _apply(self, ops: Iterable[list[Any]], number: int) -> None:
        for op in ops:
            kind = op[0]
            if kind == "j":
                job_id = op[1]
                cfg = op[29]
                if cfg is not None:
                    self.configs[job_id] = cfg
                    self.next_index = max(self.next_index, cfg[0] + 1)
                elif job_id not in self.configs:
                    raise KeyError(f"job {job_id!r} changed before it was submitted")
                self.rows[job_id] = op
                if op[27] is not None:
                    self.timer_marks[job_id] = (number, op[27])
                if op[28] is not None:
                    self.finish_marks[job_id] = (number, op[28])
            elif kind == "t":
                _, job_id, key, status, code, message = op
                if job_id not in self.rows:
                    raise KeyError(f"task outcome for unknown job {job_id!r}")
                record = TaskRecord(key, _TASK_STATUS[status], code, message)
                self.outcomes.setdefault(job_id, {})[key] = record
            elif kind == "r":
                self.reports[op[1]] = op[2]
            elif kind == "p":
                job_id = op[1]
                self.rows.pop(job_id, None)
                self.configs.pop(job_id, None)
                self.outcomes.pop(job_id, None)
                self.reports.pop(job_id, None)
                self.timer_marks.pop(job_id, None)
                self.finish_marks.pop(job_id, None)
            elif kind == "q":
                self.queues[op[1]] = op
            elif kind == "x":
                self.queues.pop(op[1], None)
            elif kind == "u":
                self.usage[tuple((k, v) for k, v in op[1])] = op[2]
            else:
                raise ValueError(f"unknown op {kind!r}")

    def install(self, sched: Scheduler, policies: Mapping[str, Callable[[], Policy]]) -> None:
        """Replace ``sched``'s fresh state with the loaded one."""
        queues: dict[str, QueueRecord] = {}
        for name, op in self.queues.items():
            _, _, slots, share, max_waiting, kind, preemption, pricing, tags, paused, custom = op
            queues[name] = QueueRecord(
                name=name,
                slots=slots,
                deferred_share=share,
                deferred_limit=deferred_limit(slots, share),
                max_waiting=max_waiting,
                policy=_policy(name, kind, preemption, custom, policies),
                pricing=Pricing(pricing),
                tags=dict(tags),
                paused=paused,
            )
        records = [_make_record(row, self.configs[job_id]) for job_id, row in self.rows.items()]
        records.sort(key=lambda r: r.index)
        for rec in records:
            outcomes = self.outcomes.get(rec.id)
            if outcomes:
                rec.outcomes = outcomes
            report = self.reports.get(rec.id)
            if report is not None:
                try:
                    rec.report = CompletionReport.from_json(report)
                except ValidationError as exc:
                    raise CorruptStoreError(f"store is damaged: {exc}") from None

        lines: dict[str, list[JobRecord]] = {name: [] for name in queues}
        running: dict[str, list[JobRecord]] = {name: [] for name in queues}
        max_seq = -1
        for rec in records:
            max_seq = max(max_seq, rec.seq, rec.start_seq)
            status = rec.status
            if status in TERMINAL:
                continue
            q = queues.get(rec.queue)
            if q is None:
                raise CorruptStoreError(
                    f"store is damaged: job {rec.id!r} is in unknown queue {rec.queue!r}"
                )
            if rec.holds_slot:
                q.holding += 1
                q.deferred_holding += rec.deferred
                if rec.leaving:
                    q.leaving += 1
                    q.leaving_deferred += rec.deferred
            if status is _S.READY:
                q.ready += 1
                lines[q.name].append(rec)
            elif status is _S.PAUSED:
                q.paused_jobs += 1
                lines[q.name].append(rec)
            elif status is _S.ACTIVE:
                running[q.name].append(rec)
        for q in queues.values():
            # Limits lowered at run time: jobs admitted before run out (see update_queue).
            q.over_slots = max(0, q.holding - q.slots)
            q.over_share = max(0, q.deferred_holding - q.deferred_limit)
            q.over_waiting = max(0, q.ready - q.max_waiting)
            for rec in sorted(lines[q.name], key=lambda r: r.seq):
                q.policy.add(rec)
            for rec in sorted(running[q.name], key=lambda r: r.start_seq):
                q.policy.started(rec)

        seq = itertools.count(max_seq + 1)
        timed = [
            r
            for r in records
            if r.status is _S.READY and r.hop_index < len(r.hops) and not r.hop_due
        ]
        timed.sort(key=lambda r: self.timer_marks.get(r.id, (-1, r.seq)))
        timers = [(r.ready_at + r.hops[r.hop_index].wait, next(seq), r, r.hop_token) for r in timed]
        heapq.heapify(timers)
        suspended = sorted(
            (r for r in records if r.status is _S.SUSPENDED and r.suspended_at is not None),
            key=lambda r: (r.suspended_at, r.index),
        )
        finished = [r for r in records if r.status in TERMINAL]
        finished.sort(key=lambda r: self.finish_marks.get(r.id, (-1, r.index)))

        sched._queues = queues
        sched._jobs = {r.id: r for r in records}
        sched._created = list(records)
        sched._purged_in_created = 0
        sched._names = {
            r.name: r for r in records if r.name is not None and r.status not in TERMINAL
        }
        sched._counter = itertools.count(self.next_index)
        sched._seq = seq
        sched._hop_timers = timers
        sched._suspended = deque(
            (r.suspended_at, r) for r in suspended if r.suspended_at is not None
        )
        sched._finished = deque(r for r in finished if r.finished_at is not None)
        sched._usage = dict(self.usage)


def _policy(
    queue: str,
    kind: str,
    preemption: bool,
    custom: str | None,
    policies: Mapping[str, Callable[[], Policy]],
) -> Policy:
    if kind == "fifo":
        return FifoPolicy()
    if kind == "priority":
        return PriorityPolicy(preemption=bool(preemption))
    factory = policies.get(queue)
    if factory is None:
        raise StoreError(
            f"queue {queue!r} uses policy {custom!r}, which a store cannot rebuild: "
            f"pass policies={{{queue!r}: <factory>}} to open()"
        )
    return _make_policy(factory(), False)


# ---------------------------------------------------------------------- recovery


def recover_interrupted(sched: Scheduler, mode: str, billed_until: float) -> None:
    """Settle the work that was running when the process stopped, then dispatch.

    The table has no Active -> Ready move, so work to be run again takes the
    preemption path: Active -> Pausing -> Paused. A Paused job waits in its
    line with its entry ``seq``, so it keeps its place and starts again before
    the jobs that arrived after it. With ``mode="fail"`` an Active job goes
    Active -> Failing -> Failed with reason code ``Interrupted``. Whatever the
    mode, Pausing becomes Paused, Cancelling becomes Cancelled and Failing
    becomes Failed. Run time is billed up to ``billed_until`` (the last
    journaled change): a lower bound, since when the work stopped is unknown.
    Transitions are stamped with the clock's time now. Then every queue starts
    what its slots allow, and the changes are journaled as one call.
    """
    now = sched.clock.now()
    for rec in list(sched._jobs.values()):
        status = rec.status
        if status not in WORKING:
            continue
        q = sched._queues[rec.queue]
        if status is _S.ACTIVE:
            q.policy.stopped(rec)
            if mode == "fail":
                _add_reason(rec, FailureReason("Interrupted", "interrupted"))
                sched._transition(rec, _S.FAILING, now, "Interrupted")
                status = _S.FAILING
            else:
                sched._transition(rec, _S.PAUSING, now, "interrupted")
                status = _S.PAUSING
        sched._release(rec, q, billed_until)
        if status is _S.PAUSING:
            sched._transition(rec, _S.PAUSED, now)
            q.paused_jobs += 1
            q.policy.add(rec)
        else:
            sched._transition(rec, _S.CANCELLED if status is _S.CANCELLING else _S.FAILED, now)
            sched._finish(rec, now)
    for q in list(sched._queues.values()):
        sched._dispatch(q, now)
    sched._flush()


def open_scheduler(
    store: Store,
    fresh: Callable[[], SchedulerT],
    *,
    interrupted: str = "requeue",
    policies: Mapping[str, Callable[[], Policy]] | None = None,
    subscribers: Iterable[Callable[[Event], None]] = (),
) -> SchedulerT:
    """Rebuild a scheduler from ``store`` and journal its changes there (see ``Scheduler.open``)."""
    from ._journal import Journal

    if interrupted not in ("requeue", "fail"):
        raise ValidationError(f"interrupted must be 'requeue' or 'fail', got {interrupted!r}")
    if not isinstance(store, Store):
        raise ValidationError(f"store must be a Store, got {type(store).__name__}")
    if store.scheduler is not None:
        raise StoreError("store is already open for another scheduler")
    callbacks = list(subscribers)
    for callback in callbacks:
        if not callable(callback):
            raise ValidationError(f"subscribers must be callables, got {callback!r}")
    sched = fresh()
    loader = _Loader(sched)
    loader.load(store.load())
    now = sched.clock.now()
    if now < loader.last_time:
        raise ValidationError(
            f"clock reads {now!r}, before the store's last change at {loader.last_time!r}: "
            "open the store with a clock that continues its timeline"
        )
    try:
        loader.install(sched, policies or {})
    except (ValidationError, StoreError):
        raise
    except (ValueError, TypeError, KeyError, IndexError) as exc:
        raise CorruptStoreError(
            f"store is damaged: its state cannot be rebuilt ({exc!r})"
        ) from None
    journal = Journal(
        store,
        sched,
        last_time=now if loader.last_time == float("-inf") else loader.last_time,
        last_number=loader.last_number,
        since_snapshot=loader.entries,
    )
    store._attach(journal)
    journal.start()
    for callback in callbacks:
        sched.subscribe(callback)
    recover_interrupted(sched, interrupted, journal.last_time)
    journal.maybe_compact()
    return sched
