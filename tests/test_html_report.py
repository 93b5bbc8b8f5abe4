"""``jobqueue.sim.render_html`` and ``demo --html``: the page parses, and its charts draw
what the result holds (axes, one series per queue, the paused span, preemptions, hops)."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from jobqueue import HopRule
from jobqueue.__main__ import main
from jobqueue.sim import (
    JobSpec,
    QueueAction,
    QueueSpec,
    SimResult,
    Simulation,
    Workload,
    occupancy,
    render_html,
    save_workload,
)
from jobqueue.sim._sections import queue_table

H = "{http://www.w3.org/1999/xhtml}"
S = "{http://www.w3.org/2000/svg}"
LEFT, PLOT = 110, 830  # the charts' plot area: x from 110, 830 wide


def workload() -> Workload:
    return Workload(
        [
            JobSpec(0.0, 300.0, queue="fast", priority=1, name="low"),
            JobSpec(50.0, 100.0, queue="fast", priority=5, name="urgent"),  # preempts low
            JobSpec(
                60.0, 40.0, queue="fast", priority=1, name="spill", hops=[HopRule("slow", 30.0)]
            ),
            JobSpec(120.0, 60.0, queue="slow", name="held"),  # waits out the pause
            JobSpec(500.0, 10.0, name="tail"),
        ],
        [
            QueueSpec("fast", slots=1, policy="priority", preemption=True, deferred_share=1.0),
            QueueSpec("slow", slots=2, deferred_share=1.0),
        ],
        [QueueAction(100.0, "slow", "pause"), QueueAction(200.0, "slow", "resume")],
    )


@pytest.fixture(scope="module")
def result() -> SimResult:
    return Simulation(workload(), seed=1, record_segments=True).run()


@pytest.fixture(scope="module")
def page(result: SimResult) -> ET.Element:
    html = render_html(result, title="small <run>", description=["two queues", "one pause"])
    assert html.startswith("<!DOCTYPE html>\n")
    return ET.fromstring(html.split("\n", 1)[1])


def svg(page: ET.Element, name: str) -> ET.Element:
    found = [e for e in page.iter(f"{S}svg") if e.get("id") == name]
    assert len(found) == 1, name
    return found[0]


def x_of(result: SimResult, t: float) -> float:
    return LEFT + (t - result.start) / result.makespan * PLOT


def test_the_page_is_self_contained(result: SimResult, page: ET.Element) -> None:
    html = render_html(result)
    assert "<script" not in html
    assert "http" not in html.replace('xmlns="http://www.w3.org/', "")  # no network
    assert page.find(f"{H}head/{H}title") is not None
    assert page.find(f"{H}head/{H}title").text == "small <run>"  # type: ignore[union-attr]
    assert [e.get("id") for e in page.iter(f"{S}svg")] == ["slot-use", "waits", "gantt"]


def test_slot_use_has_axes_one_series_per_queue_and_the_paused_span(
    result: SimResult, page: ET.Element
) -> None:
    chart = svg(page, "slot-use")
    assert chart.find(f"{S}g[@class='axis x-axis']") is not None
    assert len(chart.findall(f".//{S}g[@class='axis y-axis']")) == 3
    series = chart.findall(f".//{S}polyline[@class='series']")
    assert [s.get("data-queue") for s in series] == ["default", "fast", "slow"]
    use = occupancy(result, 200)
    for s in series:
        queue = s.get("data-queue")
        assert queue is not None
        assert float(s.get("data-mean", "nan")) == pytest.approx(sum(use[queue]) / 200, abs=1e-4)
        assert len(s.get("points", "").split()) == 400  # a step per time bucket
    (paused,) = chart.findall(f".//{S}rect[@class='paused']")
    assert (paused.get("data-queue"), paused.get("data-from"), paused.get("data-to")) == (
        "slow",
        "100.0",
        "200.0",
    )
    assert float(paused.get("x", "nan")) == pytest.approx(x_of(result, 100.0), abs=0.06)
    width = float(paused.get("width", "nan"))
    assert width == pytest.approx(x_of(result, 200.0) - x_of(result, 100.0), abs=0.1)
    # The paused span sits in the slow queue's panel, whose series shows nothing running then.
    panel = next(
        g
        for g in chart.iter(f"{S}g")
        if g.get("class") == "panel" and g.get("data-queue") == "slow"
    )
    assert paused in list(panel)
    ticks = [t.text for t in chart.findall(f"{S}g[@class='axis x-axis']/{S}text")]
    assert ticks == ["0:00:00", "0:02:00", "0:04:00", "0:06:00", "0:08:00"]


def test_waits_chart_one_series_per_queue_with_its_percentiles(
    result: SimResult, page: ET.Element
) -> None:
    chart = svg(page, "waits")
    series = {s.get("data-queue"): s for s in chart.findall(f"{S}polyline[@class='series']")}
    assert set(series) == {"default", "fast", "slow"}
    for name, s in series.items():
        stats = result.queue(str(name))
        assert float(s.get("data-p50", "nan")) == stats.wait_p50
        assert float(s.get("data-p90", "nan")) == stats.wait_p90
        assert float(s.get("data-max", "nan")) == stats.wait_max
        finished = [j for j in result.jobs if j.queue == name and j.finish is not None]
        assert s.get("data-jobs") == str(len(finished))
    assert chart.find(f"{S}g[@class='axis x-axis']") is not None
    assert chart.find(f"{S}g[@class='axis y-axis']") is not None


def test_gantt_shows_runs_preemptions_and_hops(result: SimResult, page: ET.Element) -> None:
    chart = svg(page, "gantt")
    rows = {g.get("data-job"): g for g in chart.findall(f"{S}g[@class='job']")}
    assert set(rows) == {"0", "1", "2", "3", "4"}
    low = rows["0"]
    assert low.get("data-preemptions") == "1"
    runs = low.findall(f"{S}rect[@class='run']")
    assert len(runs) == 2  # before and after the preemption
    assert len(low.findall(f"{S}path[@class='preemption']")) == 1
    spill = rows["2"]
    assert (spill.get("data-hops"), spill.get("data-queues")) == ("1", "slow")
    assert [r.get("data-queue") for r in spill.findall(f"{S}rect[@class='run']")] == ["slow"]
    hop = spill.find(f"{S}text[@class='hop']")
    assert hop is not None and hop.text == "hopped 1x: fast → slow"
    for g in rows.values():
        for rect in g.findall(f"{S}rect[@class='run']"):
            assert LEFT <= float(rect.get("x", "nan")) <= LEFT + PLOT


def test_the_tables_are_the_text_reports(result: SimResult, page: ET.Element) -> None:
    tables = list(page.iter(f"{H}table"))
    _, headers, rows, _ = queue_table(result)
    assert [th.text for th in tables[0].iter(f"{H}th")] == headers
    body = [[td.text for td in tr.iter(f"{H}td")] for tr in tables[0].iter(f"{H}tr")][1:]
    assert body == rows
    headings = [h.text for h in page.iter(f"{H}h2")]
    assert headings[-2:] == [
        "Hops and preemptions",
        "Billed on-demand time, by billing tags (usage_report)",
    ]  # no job ran tasks: no such section, as in the text report
    pre = [p.text for p in page.iter(f"{H}pre")]
    assert pre[0] == "two queues\none pause"
    assert "  1 preemption (1 in fast); 1 job was preempted" in str(pre[1])


def test_render_html_checks_its_arguments(result: SimResult) -> None:
    with pytest.raises(ValueError, match=r"^buckets must be >= 1, got 0$"):
        render_html(result, buckets=0)
    with pytest.raises(ValueError, match=r"^gantt_jobs must be >= 0, got -1$"):
        render_html(result, gantt_jobs=-1)
    unrecorded = Simulation(workload(), seed=1).run()
    page = ET.fromstring(render_html(unrecorded).split("\n", 1)[1])
    assert [e.get("id") for e in page.iter(f"{S}svg")] == ["waits"]


def test_demo_writes_the_html_report(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    path = tmp_path / "w.json"
    save_workload(workload(), path)
    out = tmp_path / "report.html"
    assert main(["demo", "--workload", str(path), "--html", str(out)]) == 0
    assert capsys.readouterr().out.startswith(f"workload {path}: 5 jobs")  # the text report too
    page = ET.fromstring(out.read_text(encoding="utf-8").split("\n", 1)[1])
    chart = next(e for e in page.iter(f"{S}svg") if e.get("id") == "slot-use")
    assert len(chart.findall(f".//{S}rect[@class='paused']")) == 1
    assert main(["demo", "--html", str(tmp_path / "demo.html"), "--json"]) == 0
    demo = ET.fromstring((tmp_path / "demo.html").read_text(encoding="utf-8").split("\n", 1)[1])
    slot_use = next(e for e in demo.iter(f"{S}svg") if e.get("id") == "slot-use")
    (paused,) = slot_use.findall(f".//{S}rect[@class='paused']")
    assert (paused.get("data-queue"), paused.get("data-from"), paused.get("data-to")) == (
        "on-demand",
        repr(4 * 3600.0),
        repr(4.5 * 3600.0),
    )
    assert main(["demo", "--html", str(tmp_path / "missing" / "r.html")]) == 1
    assert capsys.readouterr().err.startswith(f"error: cannot write {tmp_path / 'missing'}")
