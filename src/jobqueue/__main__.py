"""Command line: ``demo`` simulates a scenario and reports on it; ``inspect`` reads a store.

Examples::

    python -m jobqueue demo                      # the built-in scenario, as text
    python -m jobqueue demo --json               # the same, machine-readable
    python -m jobqueue demo --html report.html   # the same, with charts, in one HTML file
    python -m jobqueue demo --workload jobs.csv --queues queues.json
    python -m jobqueue inspect jobs.db jobs --status Ready   # a store, read-only
"""

from __future__ import annotations

import argparse
import io
import json
import os
import sys
from collections.abc import Sequence

from . import __version__
from ._demo import SCENARIO, demo_workload, render_report, report_dict, timed_run
from ._errors import JobQueueError
from ._inspect import add_inspect_parser, inspect_main
from .sim import load_workload, render_html

__all__ = ["main"]

_WORKLOAD_HELP = """\
workload files
  JSON holds a whole workload: {"queues": [...], "jobs": [...], "actions": [...]}.
  A job has "arrival" and "duration" (seconds) and optionally "queue", "priority",
  "deferred", "preemptible", "hops" ([{"queue", "wait", "priority"}]), "tasks",
  "task_failure_rate", "name", "tags", "billing_tags_source". A queue has "name"
  and optionally "slots", "policy" ("fifo"/"priority"), "preemption",
  "deferred_share", "max_waiting", "pricing" ("on_demand"/"reserved"), "tags".
  An action is {"time", "queue", "action": "pause"|"resume"}.

  CSV holds jobs only, one per row under a header with the job fields above;
  hops are written queue:wait[:priority];..., tags key=value;... . Queues for a
  CSV workload come from --queues, a JSON file with "queues" (and "actions").
"""


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m jobqueue",
        description="jobqueue: embeddable, in-process job scheduling with a typed API.",
        epilog=(
            "examples:\n"
            "  python -m jobqueue demo                 simulate the built-in scenario\n"
            "  python -m jobqueue demo --json          the same, as JSON\n"
            "  python -m jobqueue demo --html r.html   the same, and a page with charts\n"
            "  python -m jobqueue demo --workload w.json\n"
            "  python -m jobqueue demo --workload jobs.csv --queues queues.json\n"
            "  python -m jobqueue demo --help          options and workload file formats\n"
            "  python -m jobqueue inspect jobs.db jobs list a store's jobs (read-only)\n"
            "  python -m jobqueue inspect jobs.db show job-7"
        ),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"jobqueue {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    demo = commands.add_parser(
        "demo",
        help="simulate a scenario in virtual time and print a report",
        description=(
            "Run a workload through the real scheduler on a virtual clock (a few\n"
            "seconds of wall time) and print a report: per-queue table, wait\n"
            "percentiles, hops, preemptions, jobs with tasks, billed on-demand time\n"
            "and a timeline of slot use. Without --workload it runs this scenario:\n\n"
            + "\n".join(SCENARIO)
        ),
        epilog=_WORKLOAD_HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    demo.add_argument(
        "--workload",
        metavar="FILE",
        help="run this workload (.json or .csv) instead of the built-in scenario",
    )
    demo.add_argument(
        "--queues",
        metavar="FILE",
        help="a JSON file of queues (and actions) to add to --workload, e.g. for CSV",
    )
    demo.add_argument(
        "--seed",
        type=int,
        default=7,
        help="seed of the scenario's workload and of task outcomes (default: 7)",
    )
    demo.add_argument("--json", action="store_true", help="print the results as JSON")
    demo.add_argument(
        "--html",
        metavar="FILE",
        help="also write the report, with charts, to FILE: one self-contained HTML page",
    )
    demo.add_argument(
        "--buckets",
        type=int,
        default=64,
        metavar="N",
        help="columns of the slot-use timeline (default: 64)",
    )
    demo.add_argument(
        "--check",
        action="store_true",
        help="check the scheduler's invariants after every event (slow)",
    )
    add_inspect_parser(commands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line with ``argv`` (default: ``sys.argv[1:]``); returns the exit code."""
    parser = _parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return 2
    if args.command == "inspect":
        buffer = io.StringIO()
        code = inspect_main(args, buffer, sys.stderr)
        return _emit(buffer.getvalue()) or code
    if args.buckets < 1:
        parser.error("--buckets must be >= 1")
    if args.queues is not None and args.workload is None:
        parser.error("--queues needs --workload")
    try:
        if args.workload is None:
            workload = demo_workload(args.seed)
            title = "jobqueue demo"
            description: Sequence[str] = SCENARIO
        else:
            extra = load_workload(args.queues) if args.queues is not None else None
            if extra is not None and extra.jobs:
                print(f"error: {args.queues}: a --queues file holds no jobs", file=sys.stderr)
                return 1
            workload = load_workload(
                args.workload,
                queues=extra.queues if extra else (),
                actions=extra.actions if extra else (),
            )
            title = f"workload {args.workload}"
            description = ()
        sim, result, wall = timed_run(workload, args.seed, check=args.check)
    except JobQueueError as exc:
        print(f"error: {exc}{_hint(args, exc)}", file=sys.stderr)
        return 1
    if args.html is not None:
        page = render_html(result, title=title, description=description)
        try:
            with open(args.html, "w", encoding="utf-8") as file:
                file.write(page)
        except OSError as exc:
            print(f"error: cannot write {args.html}: {exc.strerror or exc}", file=sys.stderr)
            return 1
    if args.json:
        text = json.dumps(report_dict(result, title=title, buckets=args.buckets), indent=1) + "\n"
    else:
        text = render_report(
            sim,
            result,
            title=title,
            description=description,
            wall_seconds=wall,
            buckets=args.buckets,
        )
    return _emit(text)


def _hint(args: argparse.Namespace, exc: JobQueueError) -> str:
    """What to do about a workload that names a queue it does not define."""
    if args.workload is None or args.queues is not None or "unknown queue" not in str(exc):
        return ""
    if args.workload.lower().endswith(".csv"):
        return "; a CSV workload holds jobs only: give its queues with --queues FILE (see --help)"
    return '; define it under "queues" in the workload, or give queues with --queues FILE'


def _emit(text: str) -> int:
    """Write ``text`` to stdout; 0, or 1 if the reader went away."""
    try:
        sys.stdout.write(text)
        sys.stdout.flush()
    except BrokenPipeError:
        # The reader went away (e.g. ``| head``): stop quietly, as Unix tools do.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
