"""``python -m jobqueue inspect STORE``: look inside a SQLite store, read-only.

Theory of operation: the store's snapshot and journal are read through a
read-only connection (``store.read_stored``: no lock taken, nothing written,
so it works while the owning process runs) and replayed by the store's own
loader into a fresh scheduler that has no journal (``load_store``). That
scheduler is a read model: the sub-commands only query it, with the public
API, and nothing they do reaches the file. It shows the state as last
journaled: work the owner is running shows as Active, since no recovery runs.
"""

from __future__ import annotations

import argparse
import datetime as dt
import enum
import json
from collections.abc import Mapping, Sequence
from typing import Any, Final, TextIO

import attrs

from ._clock import ManualClock
from ._controls import PendingReason
from ._core import core_of
from ._errors import JobQueueError, NotFound, ValidationError
from ._model import BillingTagsSource, Job
from ._saved_state import decode_state
from ._scheduler import Scheduler
from ._states import JobStatus
from ._tasks import TaskStatus
from ._text import duration, plural, table
from .policies import FifoPolicy
from .store import StoreError
from .store._recovery import _Loader
from .store._sqlite import read_stored

__all__ = ["add_inspect_parser", "inspect_main", "load_store"]

#: Times from this value on are shown as UTC dates (they read a ``SystemClock``);
#: smaller ones are a virtual clock's seconds. 1e9 s is September 2001.
_UNIX_FROM: Final = 1e9
_SHOW_FAILED_TASKS: Final = 10
#: A job function's saved state is shown as its ``repr``, cut to this many characters.
_SHOW_SAVED_CHARS: Final = 200
EXIT_NOT_FOUND: Final = 1
EXIT_ERROR: Final = 2


@attrs.frozen
class StoreView:
    """A store replayed into a scheduler that writes nowhere.

    Attributes:
        scheduler: the read model; query it, never drive it.
        as_of: the time of the last journaled change (``None`` for an empty store).
        policies: the stored policy name of each queue (custom policies are
            replayed as FIFO, and named here as stored).
    """

    scheduler: Scheduler
    as_of: float | None
    policies: Mapping[str, str]


def load_store(path: str) -> StoreView:
    """Replay the store at ``path`` into a read model, without writing or locking it.

    Raises:
        StoreError: no such file, or it cannot be read.
        CorruptStoreError: not a jobqueue store, or damaged.
        IncompatibleStoreError: written by a newer format.
    """
    stored = read_stored(path)
    clock = ManualClock()
    sched = Scheduler(clock=clock)
    core = core_of(sched)
    loader = _Loader(core)
    loader.load(stored)
    # A custom policy is code, which a store does not hold; FIFO stands in
    # for it, so its line's order (and "jobs ahead") may differ from the owner's.
    custom = {name: op[10] for name, op in loader.queues.items() if op[5] == "custom"}
    loader.install(core, dict.fromkeys(custom, FifoPolicy))
    as_of = None if loader.last_time == float("-inf") else loader.last_time
    if as_of is not None and as_of > 0:
        clock.set(as_of)
    names = {q.name: custom.get(q.name, q.policy) for q in sched.list_queues()}
    return StoreView(sched, as_of, names)


# ---------------------------------------------------------------------- parser


def add_inspect_parser(commands: Any) -> None:
    """Add ``inspect`` and its sub-commands to the top-level sub-parsers."""
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--json", action="store_true", help="print JSON instead of text")
    inspect = commands.add_parser(
        "inspect",
        help="look inside a SQLite store, read-only (also while its owner runs)",
        description=(
            "Read a jobqueue SQLite store without locking or writing it, also while\n"
            "another process has it open, and show its jobs, queues and billing.\n"
            "It shows the state as last journaled. Exit status: 0 done, 1 no such\n"
            "job (or no report), 2 a bad command or a file that is not a store."
        ),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    inspect.add_argument("store", metavar="STORE", help="the store's database file")
    sub = inspect.add_subparsers(dest="inspect_command", metavar="COMMAND", required=True)
    jobs = sub.add_parser("jobs", parents=[common], help="list jobs, oldest first")
    jobs.add_argument(
        "--status",
        action="append",
        default=[],
        metavar="STATUS",
        help="keep only this status (repeat, or separate with commas: Ready,Active)",
    )
    jobs.add_argument("--queue", help="keep only jobs submitted to this queue")
    jobs.add_argument(
        "--tag",
        action="append",
        default=[],
        metavar="KEY[=VALUE]",
        help="keep only jobs with this tag (repeat: all must match)",
    )
    jobs.add_argument("--search", metavar="TEXT", help="id, name or description contains TEXT")
    jobs.add_argument("--limit", type=int, default=50, help="rows per page, 1-1000 (default: 50)")
    jobs.add_argument("--token", help="continue after a page: the token it printed")
    show = sub.add_parser("show", parents=[common], help="one job in detail")
    show.add_argument("job", metavar="ID", help="a job id (or the name of an unfinished job)")
    sub.add_parser("queues", parents=[common], help="every queue: settings and load")
    sub.add_parser("usage", parents=[common], help="billed on-demand time by billing tags")
    report = sub.add_parser("report", parents=[common], help="a job's completion report")
    report.add_argument("job", metavar="ID", help="a job id (or the name of an unfinished job)")
    report.add_argument(
        "--format", choices=("csv", "json"), default="csv", help="csv (default) or json"
    )


def inspect_main(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    """Run ``inspect`` with parsed ``args``; returns the exit code."""
    try:
        view = load_store(args.store)
        return _COMMANDS[args.inspect_command](view, args, out)
    except NotFound as exc:
        print(f"error: {exc.args[0] if exc.args else exc}", file=err)
        return EXIT_NOT_FOUND
    except (JobQueueError, StoreError) as exc:
        print(f"error: {exc}", file=err)
        return EXIT_ERROR


# ---------------------------------------------------------------------- commands


def _jobs(view: StoreView, args: argparse.Namespace, out: TextIO) -> int:
    sched = view.scheduler
    statuses = _statuses(args.status)
    tags = [_tag_filter(t) for t in args.tag]
    limit = args.limit
    if not 1 <= limit <= 1000:
        raise ValidationError(f"--limit must be 1-1000, got {limit}")

    def page(size: int, token: str | None) -> tuple[list[Job], str | None]:
        found = sched.list_jobs(
            statuses=statuses, queue=args.queue, search=args.search, limit=size, token=token
        )
        jobs = [sched.get(row.id) for row in found]
        return [j for j in jobs if all(_has_tag(j, k, v) for k, v in tags)], found.next_token

    rows: list[Job] = []
    token = args.token
    while len(rows) < limit:
        more, token = page(limit - len(rows), token)
        rows += more
        if token is None:
            break
    # The page is full only if every row of the last page matched, so the
    # token resumes right after the last row shown; keep it only if more match.
    next_token = token
    probe = token
    while probe is not None:
        more, probe = page(1000, probe)
        if more:
            break
    else:
        next_token = None
    if args.json:
        _dump({"jobs": [_summary_dict(j) for j in rows], "next_token": next_token}, out)
        return 0
    headers = ["id", "name", "status", "queue", "priority", "tasks ok/failed/all", "created"]
    cells = [
        [
            j.id,
            j.name or "-",
            str(j.status),
            j.submission_queue,
            str(j.priority),
            f"{j.tasks_succeeded}/{j.tasks_failed}/{j.tasks_total}",
            _when(j.created_at),
        ]
        for j in rows
    ]
    lines = table(headers, cells, text=4) if rows else ["no jobs match"]
    if next_token is not None:
        lines.append(f"more: --token {next_token}")
    out.write("\n".join(lines) + "\n")
    return 0


def _show(view: StoreView, args: argparse.Namespace, out: TextIO) -> int:
    sched = view.scheduler
    job = _find(sched, args.job)
    pending = _pending(sched, job)
    outcomes = sched.tasks(job.id)
    failed_tasks = [r for r in outcomes if r.status is TaskStatus.FAILED]
    billing_tags = _billing_tags(sched, job)
    saved = _saved(sched, job)
    if args.json:
        data = _job_dict(job)
        data["pending_reason"] = None if pending is None else _plain(attrs.asdict(pending))
        data["saved_state"] = saved
        data["tasks"] = [_plain(attrs.asdict(r)) for r in outcomes]
        data["billing_tags"] = dict(billing_tags)
        _dump(data, out)
        return 0
    title = job.id if job.name is None else f"{job.id} ({job.name})"
    lines = [f"{title}: {job.status}"]
    if job.description:
        lines.append(f"  description: {job.description}")
    where = (
        job.queue
        if job.queue == job.submission_queue
        else (f"{job.queue} (submitted to {job.submission_queue})")
    )
    flags = [
        "deferred" if job.deferred else "not deferred",
        "preemptible" if job.preemptible else "not preemptible",
    ]
    if job.confirmation_required:
        flags.append("confirmation required")
    lines.append(f"  queue: {where}; priority {job.priority}; {', '.join(flags)}")
    lines.append(
        f"  created {_when(job.created_at)}; started {_when(job.started_at)}; "
        f"finished {_when(job.finished_at)}"
    )
    if job.tags:
        lines.append(f"  tags: {_tags_text(job.tags)}")
    if pending is not None:
        lines.append(f"  pending: {pending.message}")
    lines.append(f"  attempt {job.attempt}{_controls_text(job)}")
    if job.progress and not job.tasks_total:  # a task job's progress is its tasks line
        lines.append(f"  progress: {job.progress:.0%}")
    if saved is not None:
        lines.append(f"  saved state ({plural(saved['bytes'], 'byte')}): {saved['value']}")
    not_run = job.tasks_total - job.tasks_succeeded - job.tasks_failed
    report = f"; report: {job.report}" if job.report is not None else ""
    lines.append(
        f"  tasks: {job.tasks_total} in all, {job.tasks_succeeded} succeeded, "
        f"{job.tasks_failed} failed, {not_run} not run{report}"
    )
    for r in failed_tasks[:_SHOW_FAILED_TASKS]:
        lines.append(f"    failed {r.key}: {r.error_code or '-'}: {r.message or '-'}")
    if len(failed_tasks) > _SHOW_FAILED_TASKS:
        lines.append(f"    ... and {len(failed_tasks) - _SHOW_FAILED_TASKS} more failed tasks")
    for reason in job.failure_reasons:
        lines.append(f"  failure: {reason.code}: {reason.message}")
    if job.hops:
        rules = ", ".join(
            f"{h.queue} after {duration(h.wait)}"
            + ("" if h.priority is None else f" at priority {h.priority}")
            for h in job.hops
        )
        lines.append(f"  hop rules: {rules}")
    for hop in job.hop_transitions:
        lines.append(
            f"  hopped {hop.source} -> {hop.destination} at {_when(hop.time)} "
            f"(priority {hop.priority})"
        )
    lines.append(
        f"  run time {duration(job.run_seconds)}, billed {duration(job.billed_seconds)} "
        f"under {_tags_text(billing_tags) or '(no tags)'} (tags from the "
        f"{'submission queue' if job.billing_tags_source is BillingTagsSource.QUEUE else 'job'})"
    )
    lines.append("  history:")
    previous: float | None = None
    for change in job.history:
        after = "" if previous is None else f"  (+{duration(change.time - previous)})"
        lines.append(f"    {_when(change.time)}  {change.status}{after}")
        previous = change.time
    out.write("\n".join(lines) + "\n")
    return 0


def _queues(view: StoreView, args: argparse.Namespace, out: TextIO) -> int:
    queues = view.scheduler.list_queues()
    if args.json:
        data = [
            {**_plain(attrs.asdict(q)), "policy": view.policies.get(q.name, q.policy)}
            for q in queues
        ]
        _dump({"queues": data}, out)
        return 0
    headers = ["queue", "policy", "pricing", "state", "slots", "running", "waiting",
               "preempted", "deferred", "max waiting", "tags"]  # fmt: skip
    rows = [
        [
            q.name,
            view.policies.get(q.name, q.policy),
            str(q.pricing),
            "paused" if q.paused else "active",
            str(q.slots),
            str(q.running),
            str(q.waiting),
            str(q.paused_jobs),
            f"{q.deferred_limit} ({q.deferred_share:g})",
            f"{q.max_waiting:,}",
            _tags_text(q.tags) or "-",
        ]
        for q in queues
    ]
    table_lines = table(headers, rows, text=4)
    out.write("\n".join(table_lines) + "\n")
    return 0


def _usage(view: StoreView, args: argparse.Namespace, out: TextIO) -> int:
    usage = view.scheduler.usage_report()
    if args.json:
        _dump({"usage": [{"tags": dict(r.tags), "seconds": r.seconds} for r in usage]}, out)
        return 0
    if not usage:
        out.write("nothing billed: no job ran in an on-demand queue\n")
        return 0
    rows = [[_tags_text(r.tags) or "(no tags)", f"{r.seconds:,.1f}", duration(r.seconds)]
            for r in usage]  # fmt: skip
    total = sum(r.seconds for r in usage)
    rows.append(["total", f"{total:,.1f}", duration(total)])
    out.write("\n".join(table(["billing tags", "seconds", "time"], rows)) + "\n")
    return 0


def _report(view: StoreView, args: argparse.Namespace, out: TextIO) -> int:
    sched = view.scheduler
    job = _find(sched, args.job)
    report = sched.report(job.id)
    if report is None:
        why = (
            "none was requested" if job.report is None
            else "it has not finished" if job.finished_at is None
            else "no task ran"
        )  # fmt: skip
        raise NotFound(f"job {job.id!r} has no completion report: {why}")
    if args.json or args.format == "json":
        out.write(report.to_json() + "\n")
    else:
        report.write_csv(out)
    return 0


_COMMANDS: Final = {
    "jobs": _jobs,
    "show": _show,
    "queues": _queues,
    "usage": _usage,
    "report": _report,
}


# ---------------------------------------------------------------------- helpers


def _find(sched: Scheduler, key: str) -> Job:
    if key in sched:
        return sched.get(key)
    for row in sched.list_jobs(search=key, limit=1000):
        job = sched.get(row.id)
        if job.name == key and job.finished_at is None:
            return job
    raise NotFound(f"no job {key!r} in the store")


def _pending(sched: Scheduler, job: Job) -> PendingReason | None:
    rec = core_of(sched).job(job.id)
    # A store of format 1-3 did not keep a job's controls (not_before, after,
    # retry): a job they held has no reason the read model can give. Format 4
    # journals them, and the read model gives the owner's reason.
    if rec.status is JobStatus.SUSPENDED and rec.suspended_at is None and rec.controls is None:
        return None
    return sched.pending_reason(job.id)


def _statuses(given: Sequence[str]) -> frozenset[JobStatus] | None:
    names = [s.strip() for item in given for s in item.split(",") if s.strip()]
    if not names:
        return None
    by_name = {s.value.lower(): s for s in JobStatus}
    wanted = set()
    for name in names:
        status = by_name.get(name.lower())
        if status is None:
            choices = ", ".join(s.value for s in JobStatus)
            raise ValidationError(f"--status must be one of {choices}, got {name!r}")
        wanted.add(status)
    return frozenset(wanted)


def _tag_filter(text: str) -> tuple[str, str | None]:
    key, sep, value = text.partition("=")
    if not key:
        raise ValidationError(f"--tag must be KEY or KEY=VALUE, got {text!r}")
    return key, value if sep else None


def _has_tag(job: Job, key: str, value: str | None) -> bool:
    return key in job.tags and (value is None or job.tags[key] == value)


def _billing_tags(sched: Scheduler, job: Job) -> Mapping[str, str]:
    if job.billing_tags_source is BillingTagsSource.JOB:
        return job.tags
    try:
        return sched.get_queue(job.submission_queue).tags
    except NotFound:
        return {}  # the queue was deleted since


def _controls_text(job: Job) -> str:
    parts = []
    if job.not_before is not None:
        parts.append(f"not before {_when(job.not_before)}")
    if job.after:
        parts.append("after " + ", ".join(f"{d.job_id} ({d.on})" for d in job.after))
    if job.max_run is not None:
        parts.append(f"max run {duration(job.max_run)}")
    if job.max_wait is not None:
        parts.append(f"max wait {duration(job.max_wait)}")
    if job.retry is not None:
        parts.append(f"up to {plural(job.retry.attempts, 'attempt')}")
    return "".join(f"; {p}" for p in parts)


def _tags_text(tags: Mapping[str, str]) -> str:
    return ", ".join(f"{k}={v}" for k, v in sorted(tags.items()))


def _when(t: float | None) -> str:
    """A time as a UTC date if it reads like a Unix time, else as clock seconds."""
    if t is None:
        return "-"
    if t >= _UNIX_FROM:
        stamp = dt.datetime.fromtimestamp(t, dt.UTC)
        ms = stamp.microsecond // 1000
        return stamp.strftime("%Y-%m-%d %H:%M:%S") + (f".{ms:03d}Z" if ms else "Z")
    return f"{t:.3f}".rstrip("0").rstrip(".") + "s"


def _plain(value: Any) -> Any:
    """``value`` with enums as their values and mappings as dicts, for JSON."""
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, Mapping):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value


def _saved(sched: Scheduler, job: Job) -> dict[str, Any] | None:
    """What the job's function last saved (``ctx.save``): its size and its ``repr``, cut short.

    The store's checks have decoded it once already, so it decodes here too.
    """
    data = core_of(sched).job(job.id).saved
    if data is None:
        return None
    text = repr(decode_state(data))
    if len(text) > _SHOW_SAVED_CHARS:
        text = text[: _SHOW_SAVED_CHARS - 3] + "..."
    return {"bytes": len(data), "value": text}


def _job_dict(job: Job) -> dict[str, Any]:
    data: dict[str, Any] = _plain(attrs.asdict(job, recurse=False))
    data["hops"] = [_plain(attrs.asdict(h)) for h in job.hops]
    data["hop_transitions"] = [_plain(attrs.asdict(h)) for h in job.hop_transitions]
    data["history"] = [{"time": c.time, "status": c.status.value} for c in job.history]
    data["failure_reasons"] = [_plain(attrs.asdict(r)) for r in job.failure_reasons]
    data["after"] = [_plain(attrs.asdict(d)) for d in job.after]
    data["retry"] = None if job.retry is None else _plain(attrs.asdict(job.retry))
    return data


def _summary_dict(job: Job) -> dict[str, Any]:
    return {
        "id": job.id,
        "name": job.name,
        "description": job.description,
        "status": job.status.value,
        "submission_queue": job.submission_queue,
        "queue": job.queue,
        "priority": job.priority,
        "tags": dict(job.tags),
        "tasks_total": job.tasks_total,
        "tasks_succeeded": job.tasks_succeeded,
        "tasks_failed": job.tasks_failed,
        "created_at": job.created_at,
    }


def _dump(data: object, out: TextIO) -> None:
    json.dump(data, out, indent=1)
    out.write("\n")
