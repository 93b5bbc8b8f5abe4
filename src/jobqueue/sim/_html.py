"""A simulation's report as one self-contained HTML file, with charts in inline SVG.

Theory of operation: the page is built as well-formed XML (XHTML syntax
that every browser reads as HTML), so tests can parse it with
``xml.etree``. No script, no stylesheet or font from the network: inline
CSS, SVG, and ``<title>`` tooltips. Each chart is an ``<svg>`` with an
``id``; each series, paused span and Gantt bar carries ``data-*``
attributes with its queue, job and numbers, so a reader (or a test) can
check what is drawn without measuring pixels.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from html import escape
from typing import Final

from .._text import duration
from ._result import JobOutcome, Outcome, RunSegment, SimResult, occupancy, paused_spans
from ._sections import (
    Table,
    billing,
    hops_and_preemptions,
    job_label,
    queue_table,
    task_jobs,
    wait_table,
)

__all__ = ["render_html"]

# Colour-blind-safe (Okabe-Ito), one per queue in order, then repeating.
_COLOURS: Final = ("#0072b2", "#e69f00", "#009e73", "#cc79a7", "#56b4e9", "#d55e00", "#000000")
_WIDTH: Final = 960
_LEFT: Final = 110  # room for the queue names and the y axis
_RIGHT: Final = 20
_PANEL: Final = 70  # height of one queue's slot-use panel
_ROW: Final = 14  # height of one Gantt row
_STYLE: Final = """
body { font: 14px/1.4 system-ui, sans-serif; margin: 2em auto; max-width: 1000px; color: #222; }
.wide { overflow-x: auto; }
h1 { font-size: 1.5em; } h2 { font-size: 1.2em; margin-top: 2em; }
table { border-collapse: collapse; margin: 0.5em 0; }
th, td { padding: 2px 8px; border-bottom: 1px solid #ddd; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; }
svg { display: block; margin: 0.5em 0; }
svg text { font: 11px system-ui, sans-serif; fill: #333; }
.axis line, .axis path { stroke: #888; }
.grid { stroke: #eee; }
.paused { fill: #999; fill-opacity: 0.25; }
.wait { stroke: #bbb; stroke-width: 1; }
.legend span { display: inline-block; margin-right: 1.5em; }
.swatch { display: inline-block; width: 12px; height: 12px; margin-right: 4px; }
.legend .paused { background: rgba(153, 153, 153, 0.25); }
pre { background: #f6f6f6; padding: 0.5em; }
"""


def render_html(
    result: SimResult,
    *,
    title: str = "jobqueue simulation",
    description: Sequence[str] = (),
    buckets: int = 200,
    gantt_jobs: int = 40,
) -> str:
    """The report on ``result`` as one self-contained HTML page (no script, no network).

    It shows slot use over time per queue with paused spans shaded, the
    distribution of waits per queue, a Gantt view of a sample of jobs (those
    preempted or hopped first, then others spread over the run) with their
    runs, preemptions and hops, and the text report's tables.

    Args:
        result: a simulation's result, recorded with ``record_segments=True``
            for the charts of slot use and the Gantt view (else they are left out).
        title: the page's title.
        description: paragraphs under the title.
        buckets: time steps of the slot-use chart (``>= 1``).
        gantt_jobs: at most this many jobs in the Gantt view (``>= 0``).

    Raises:
        ValueError: ``buckets < 1`` or ``gantt_jobs < 0``.
    """
    if buckets < 1:
        raise ValueError(f"buckets must be >= 1, got {buckets}")
    if gantt_jobs < 0:
        raise ValueError(f"gantt_jobs must be >= 0, got {gantt_jobs}")
    colours = {q.name: _COLOURS[i % len(_COLOURS)] for i, q in enumerate(result.queues)}
    summary = (
        f"{len(result.jobs):,} jobs, {duration(result.makespan)} of virtual time "
        f"(seed {result.seed})"
    )
    body = [f"<h1>{_t(title)}</h1>", f"<p>{_t(summary)}</p>"]
    if description:
        body.append('<pre class="description">' + _t("\n".join(description)) + "</pre>")
    body.append(_legend(colours))
    charted = result.segments is not None and result.makespan > 0
    if charted:
        body += ["<h2>Slot use over time</h2>", _slot_use(result, colours, buckets)]
    body += ["<h2>Wait-time distribution</h2>", _waits(result, colours)]
    if charted and gantt_jobs:
        body += [
            f"<h2>Jobs over time (a sample of {gantt_jobs:,} at most)</h2>",
            _gantt(result, colours, gantt_jobs),
        ]
    for section in (queue_table(result), wait_table(result)):
        body += [f"<h2>{_t(section[0])}</h2>", _table(section)]
    for lines in (
        hops_and_preemptions(result),
        task_jobs(result, lambda job: None),
        billing(result),
    ):
        if lines:
            body += [f"<h2>{_t(lines[0])}</h2>", "<pre>" + _t("\n".join(lines[1:])) + "</pre>"]
    return (
        '<!DOCTYPE html>\n<html xmlns="http://www.w3.org/1999/xhtml" lang="en">\n'
        f'<head><meta charset="utf-8"/><title>{_t(title)}</title>'
        f"<style>{_STYLE}</style></head>\n<body>\n" + "\n".join(body) + "\n</body>\n</html>\n"
    )


# ---------------------------------------------------------------------- charts


def _slot_use(result: SimResult, colours: dict[str, str], buckets: int) -> str:
    use = occupancy(result, buckets)
    paused = paused_spans(result.workload, result.end)
    plot = _WIDTH - _LEFT - _RIGHT
    height = _PANEL * len(use) + 30
    x = _Scale(result.start, result.end, _LEFT, _LEFT + plot)
    parts = [_svg("slot-use", height, "Share of each queue's slots in use over time")]
    for i, (name, row) in enumerate(use.items()):
        top = i * _PANEL + 5
        bottom = top + _PANEL - 15
        parts.append(f'<g class="panel" data-queue="{_t(name)}">')
        for lo, hi in paused.get(name, ()):
            x0, x1 = x(max(lo, result.start)), x(min(hi, result.end))
            parts.append(
                f'<rect class="paused" data-queue="{_t(name)}" data-from="{lo!r}" '
                f'data-to="{hi!r}" x="{x0:.1f}" y="{top}" width="{max(x1 - x0, 1):.1f}" '
                f'height="{bottom - top}"><title>{_t(name)} paused '
                f"{_t(_clock(lo))}-{_t(_clock(hi))}</title></rect>"
            )
        y = _Scale(0.0, 1.0, bottom, top)
        parts.append(
            f'<g class="axis y-axis"><line x1="{_LEFT}" y1="{top}" x2="{_LEFT}" y2="{bottom}"/>'
            f'<text x="{_LEFT - 4}" y="{top + 9}" text-anchor="end">100%</text>'
            f'<text x="{_LEFT - 4}" y="{bottom}" text-anchor="end">0%</text>'
            f'<text x="4" y="{(top + bottom) / 2 + 4:.0f}">{_t(name)}</text></g>'
        )
        step = result.makespan / buckets
        points = []
        for b, v in enumerate(row):
            t0 = result.start + b * step
            points += [f"{x(t0):.1f},{y(v):.1f}", f"{x(t0 + step):.1f},{y(v):.1f}"]
        busy = sum(row) / len(row)
        parts.append(
            f'<polyline class="series" data-queue="{_t(name)}" data-mean="{busy:.4f}" '
            f'fill="none" stroke="{colours[name]}" stroke-width="1.5" '
            f'points="{" ".join(points)}"><title>{_t(name)}: {busy:.0%} of its slots busy '
            "on average</title></polyline>"
        )
        parts.append("</g>")
    parts.append(_time_axis(result, x, len(use) * _PANEL))
    parts.append("</svg>")
    return "".join(parts)


def _waits(result: SimResult, colours: dict[str, str]) -> str:
    """The empirical distribution of each queue's waits (finished jobs, by submission queue)."""
    waits: dict[str, list[float]] = {q.name: [] for q in result.queues}
    for job in result.jobs:
        if job.outcome in (Outcome.COMPLETE, Outcome.FAILED) and job.wait is not None:
            waits[job.queue].append(job.wait)
    longest = max((max(w) for w in waits.values() if w), default=0.0) or 1.0
    plot = _WIDTH - _LEFT - _RIGHT
    top, bottom = 10, 210
    x = _Scale(0.0, longest, _LEFT, _LEFT + plot)
    y = _Scale(0.0, 1.0, bottom, top)
    parts = [_svg("waits", bottom + 40, "Share of finished jobs that waited at most so long")]
    parts.append(
        f'<g class="axis y-axis"><line x1="{_LEFT}" y1="{top}" x2="{_LEFT}" y2="{bottom}"/>'
        + "".join(
            f'<line class="grid" x1="{_LEFT}" x2="{_LEFT + plot}" y1="{y(f):.1f}" '
            f'y2="{y(f):.1f}"/><text x="{_LEFT - 4}" y="{y(f) + 4:.1f}" '
            f'text-anchor="end">{f:.0%}</text>'
            for f in (0.0, 0.25, 0.5, 0.75, 1.0)
        )
        + f'<text x="4" y="{(top + bottom) / 2:.0f}">jobs</text></g>'
    )
    for name, values in waits.items():
        if not values:
            continue
        values.sort()
        n = len(values)
        points = [f"{x(0.0):.1f},{y(0.0):.1f}"]
        for i, v in enumerate(values):
            points += [f"{x(v):.1f},{y(i / n):.1f}", f"{x(v):.1f},{y((i + 1) / n):.1f}"]
        points.append(f"{x(longest):.1f},{y(1.0):.1f}")
        p50, p90 = values[math.ceil(0.5 * n) - 1], values[math.ceil(0.9 * n) - 1]
        parts.append(
            f'<polyline class="series" data-queue="{_t(name)}" data-jobs="{n}" '
            f'data-p50="{p50!r}" data-p90="{p90!r}" data-max="{values[-1]!r}" fill="none" '
            f'stroke="{colours[name]}" stroke-width="1.5" points="{" ".join(points)}">'
            f"<title>{_t(name)}: {n:,} jobs; p50 {_t(duration(p50))}, p90 "
            f"{_t(duration(p90))}, max {_t(duration(values[-1]))}</title></polyline>"
        )
    ticks = _ticks(0.0, longest)
    parts.append(
        f'<g class="axis x-axis"><line x1="{_LEFT}" y1="{bottom}" x2="{_LEFT + plot}" '
        f'y2="{bottom}"/>'
        + "".join(
            f'<text x="{x(t):.1f}" y="{bottom + 15}" text-anchor="middle">'
            f"{_t(duration(t) if t else '0')}</text>"
            for t in ticks
        )
        + f'<text x="{_LEFT + plot / 2:.0f}" y="{bottom + 32}" text-anchor="middle">'
        "total wait (Ready or Paused)</text></g></svg>"
    )
    return "".join(parts)


def _gantt(result: SimResult, colours: dict[str, str], limit: int) -> str:
    runs: dict[int, list[RunSegment]] = {}
    for seg in result.segments or ():
        runs.setdefault(seg.job, []).append(seg)
    jobs = _sample(result.jobs, limit)
    plot = _WIDTH - _LEFT - _RIGHT
    height = len(jobs) * _ROW + 40
    x = _Scale(result.start, result.end, _LEFT, _LEFT + plot)
    parts = [_svg("gantt", height, "Waiting (grey line) and running (bars) of sampled jobs")]
    for row, job in enumerate(jobs):
        top = row * _ROW + 5
        mid = top + _ROW / 2
        end = job.finish if job.finish is not None else result.end
        segments = sorted(runs.get(job.index, ()), key=lambda s: s.start)
        queues = " ".join(dict.fromkeys(s.queue for s in segments)) or job.queue
        parts.append(
            f'<g class="job" data-job="{job.index}" data-queues="{_t(queues)}" '
            f'data-preemptions="{job.preemptions}" data-hops="{job.hops}">'
            f'<text x="{_LEFT - 4}" y="{mid + 4:.1f}" text-anchor="end">'
            f"{_t(job_label(job.index, job.name))}</text>"
            f'<line class="wait" x1="{x(job.arrival):.1f}" x2="{x(end):.1f}" '
            f'y1="{mid:.1f}" y2="{mid:.1f}"/>'
        )
        for k, seg in enumerate(segments):
            x0, x1 = x(seg.start), x(seg.end)
            last = k == len(segments) - 1
            why = "ran" if last else "ran until preempted"
            label = _t(job_label(job.index, job.name))
            parts.append(
                f'<rect class="run" data-queue="{_t(seg.queue)}" x="{x0:.1f}" y="{top + 2}" '
                f'width="{max(x1 - x0, 1.0):.1f}" height="{_ROW - 4}" '
                f'fill="{colours.get(seg.queue, "#777")}"><title>{label}'
                f" {why} in {_t(seg.queue)}, {_t(_clock(seg.start))}-{_t(_clock(seg.end))}"
                "</title></rect>"
            )
            if not last:
                parts.append(
                    f'<path class="preemption" d="M{x1:.1f},{top} l-3,-3 h6 z" fill="#c00"/>'
                )
        if job.hops:
            parts.append(
                f'<text class="hop" x="{x(end) + 3:.1f}" y="{mid + 4:.1f}">'
                f"hopped {job.hops}x: {_t(job.queue)} → {_t(job.final_queue)}</text>"
            )
        parts.append("</g>")
    parts.append(_time_axis(result, x, len(jobs) * _ROW + 5))
    parts.append("</svg>")
    return "".join(parts)


def _sample(jobs: Sequence[JobOutcome], limit: int) -> list[JobOutcome]:
    """Up to ``limit`` jobs that ran: preempted or hopped first, then others spread out."""
    ran = [j for j in jobs if j.first_start is not None]
    eventful = [j for j in ran if j.preemptions or j.hops]
    eventful.sort(key=lambda j: (-(j.preemptions + j.hops), j.index))
    chosen = {j.index: j for j in eventful[: max(limit * 2 // 3, limit - len(ran))]}
    rest = [j for j in ran if j.index not in chosen]
    room = limit - len(chosen)
    if rest and room > 0:
        for k in range(min(room, len(rest))):
            job = rest[k * len(rest) // min(room, len(rest))]
            chosen[job.index] = job
    return sorted(chosen.values(), key=lambda j: (j.arrival, j.index))[:limit]


# ---------------------------------------------------------------------- pieces


def _svg(name: str, height: float, label: str) -> str:
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" id="{name}" role="img" '
        f'aria-label="{_t(label)}" width="{_WIDTH}" height="{height:.0f}" '
        f'viewBox="0 0 {_WIDTH} {height:.0f}"><title>{_t(label)}</title>'
    )


def _time_axis(result: SimResult, x: _Scale, y: float) -> str:
    plot_end = _WIDTH - _RIGHT
    ticks = _ticks(result.start, result.end)
    return (
        f'<g class="axis x-axis"><line x1="{_LEFT}" y1="{y:.0f}" x2="{plot_end}" y2="{y:.0f}"/>'
        + "".join(
            f'<line x1="{x(t):.1f}" x2="{x(t):.1f}" y1="{y:.0f}" y2="{y + 4:.0f}"/>'
            f'<text x="{x(t):.1f}" y="{y + 16:.0f}" text-anchor="middle">{_t(_clock(t))}</text>'
            for t in ticks
        )
        + "</g>"
    )


class _Scale:
    """A linear map from ``[lo, hi]`` onto ``[out_lo, out_hi]``."""

    def __init__(self, lo: float, hi: float, out_lo: float, out_hi: float) -> None:
        self._lo, self._out_lo = lo, out_lo
        self._k = (out_hi - out_lo) / (hi - lo) if hi > lo else 0.0

    def __call__(self, value: float) -> float:
        return self._out_lo + (value - self._lo) * self._k


def _ticks(lo: float, hi: float, most: int = 8) -> list[float]:
    """Round tick values in ``[lo, hi]``: steps of 1, 2 or 5 times a power of ten,
    or of whole minutes and hours for spans of time."""
    span = hi - lo
    if span <= 0:
        return [lo]
    raw = span / most
    nice = [60.0 * m for m in (1, 2, 5, 10, 15, 30, 60, 120, 180, 360, 720)]
    if raw < 60:
        power = 10 ** math.floor(math.log10(raw))
        nice = [power * m for m in (1, 2, 5, 10)]
    step = next((s for s in nice if s >= raw), nice[-1])
    first = math.ceil(lo / step) * step
    return [first + k * step for k in range(int((hi - first) / step + 1e-9) + 1)]


def _clock(seconds: float) -> str:
    """Virtual time as ``H:MM:SS`` (with tenths below ten seconds of span)."""
    whole = math.floor(seconds)
    hours, rest = divmod(whole, 3600)
    text = f"{hours}:{rest // 60:02d}:{rest % 60:02d}"
    if seconds != whole and seconds < 60:
        text = f"{seconds:.2f}s"
    return text


def _legend(colours: dict[str, str]) -> str:
    items = "".join(
        f'<span><span class="swatch" style="background:{c}"></span>{_t(name)}</span>'
        for name, c in colours.items()
    )
    return f'<p class="legend">{items}<span><span class="swatch paused"></span>paused</span></p>'


_NUM: Final = ' class="num"'


def _table(section: Table) -> str:
    _, headers, rows, text = section

    def cells(tag: str, values: Iterable[str]) -> str:
        return "".join(
            f"<{tag}{'' if c < text else _NUM}>{_t(v)}</{tag}>" for c, v in enumerate(values)
        )

    body = "".join(f"<tr>{cells('td', row)}</tr>" for row in rows)
    head = f"<thead><tr>{cells('th', headers)}</tr></thead>"
    return f'<div class="wide"><table>{head}<tbody>{body}</tbody></table></div>'


def _t(text: str) -> str:
    return escape(text, quote=True)
