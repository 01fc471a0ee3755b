"""Run charts: built from a small results folder; sizes, numbers and causes as in summary.json."""

from __future__ import annotations

import copy
import re
import shutil
from dataclasses import replace
from pathlib import Path

import matplotlib.colors
import matplotlib.image
import numpy as np
import pytest
from builders import run_folder
from matplotlib.container import BarContainer
from matplotlib.figure import Figure
from matplotlib.patches import Patch

from sim.plots.base import cut_texts, stat
from sim.plots.causes import MAX_TOP, TOP, top_causes
from sim.plots.palette import OTHER_COLOR
from sim.plots.run import cause_rows, failure_impact, timeline, waterfall, waterfall_steps, write_run_charts
from sim.plots.track import bin_edges, bin_hours, interruptions_per_bin, state_shares, track
from sim.results.folder import NotResults, RunFolder, load

# 256 GPUs for 10 days: frequent crashes, GPU faults that need spares (two of them) and repairs,
# and a mode that never strikes, which the failure chart must leave out.
SCENARIO = """
name = "plots-tiny"
title = "Tiny run for the chart tests"
[run]
duration_days = 10.0
replications = 3
seed = 11
[cluster]
gpus = 256
gpus_per_node = 8
spare_nodes = 2
[workload]
mfu = 0.4
[checkpoint]
interval_minutes = 60.0
write_seconds = 120.0
[restart]
fixed_minutes = 10.0
[energy]
usd_per_kwh = 0.1
[[failure]]
name = "crash"
scope = "job"
mtbf_hours = 30.0
action = "restart"
detect_minutes = 5.0
[[failure]]
name = "gpu fault"
scope = "gpu"
mtbf_hours = 5000.0
repair_hours = 48.0
[[failure]]
name = "never"
scope = "job"
mtbf_hours = 1e9
action = "restart"
"""


@pytest.fixture(scope="module")
def results(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A finished run folder of the tiny scenario (3 replications)."""
    return run_folder(tmp_path_factory.mktemp("plots"), SCENARIO, "-n", "3")


#: 16,384 GPUs with all 18 causes of the Llama 3 mix, and a title too long for one line.
MANY = """
name = "plots-many"
title = "Many causes: a 16,384-GPU run with the whole Llama 3 failure mix, to check that the charts name the \
costliest causes and sum the rest, and that a long title wraps instead of being cut at the page's edge"
failure_preset = "llama3"
[run]
duration_days = 20.0
replications = 3
seed = 5
[cluster]
gpus = 16384
gpus_per_node = 8
spare_nodes = 64
[workload]
mfu = 0.4
[checkpoint]
interval_minutes = 30.0
write_seconds = 60.0
[restart]
fixed_minutes = 10.0
[energy]
usd_per_kwh = 0.1
"""


@pytest.fixture
def folder(results: Path) -> RunFolder:
    """The tiny run folder, loaded."""
    loaded = load(results)
    assert isinstance(loaded, RunFolder)
    return loaded


@pytest.fixture(scope="module")
def many(tmp_path_factory: pytest.TempPathFactory) -> RunFolder:
    """A finished run with 18 causes that struck (3 replications), loaded."""
    loaded = load(run_folder(tmp_path_factory.mktemp("many"), MANY, "--no-plots"))
    assert isinstance(loaded, RunFolder)
    return loaded


def colors_of(patches: list[Patch]) -> list[str]:
    """The face colours of ``patches`` as hex strings."""
    return [matplotlib.colors.to_hex(p.get_facecolor()) for p in patches]


def number_format(label: str) -> tuple[str, int, str]:
    """(prefix, decimals, suffix) of a value label such as '$1.2M' or '28.6M (37.3%)'."""
    match = re.fullmatch(r"(\$?)[\d,]+(?:\.(\d+))?([A-Za-z]*)(?: \([\d.]+%\))?", label)
    assert match, label
    return match[1], len(match[2] or ""), match[3]


def test_waterfall_builds(folder: RunFolder) -> None:
    """The waterfall is a Figure with one bar per step."""
    fig = waterfall(folder)
    assert isinstance(fig, Figure)
    assert len(fig.axes[0].patches) == len(waterfall_steps(folder.summary))


def test_waterfall_bars_are_summary_fractions_times_mfu(folder: RunFolder) -> None:
    """Every bucket bar is exactly fraction_<bucket> (mean) x MFU; the last bar is the effective compute ratio."""
    summary = folder.summary
    mfu = summary["scenario_resolved"]["workload"]["mfu"]
    widths = [p.get_width() for p in waterfall(folder).axes[0].patches]
    steps = waterfall_steps(summary)
    # A bar stores its right edge, so its width comes back to within rounding.
    assert widths == pytest.approx([s.width for s in steps], rel=1e-12, abs=1e-15)
    by_key = {s.key: s.width for s in steps}
    assert by_key["peak"] == 1.0
    assert by_key["mfu"] == pytest.approx(1.0 - mfu)
    for bucket in ("lost", "checkpoint", "detect", "restart", "wait", "maintenance"):
        assert by_key[bucket] == mfu * summary["metrics"][f"fraction_{bucket}"]["mean"]
    assert by_key["realized"] == summary["metrics"]["effective_compute_ratio"]["mean"]
    # The floating bars close: what the buckets leave of MFU is what was realized.
    assert steps[-2].left == pytest.approx(by_key["realized"], rel=1e-9)
    assert by_key["lost"] > 0 and by_key["restart"] > 0


def test_failure_impact_lists_exactly_the_causes_that_struck(folder: RunFolder) -> None:
    """One row per cause with interruptions, costliest first; a cause that never struck is left out."""
    summary = folder.summary
    struck = {c for c, s in summary["interruptions_by_cause"].items() if s["mean"] > 0}
    assert struck == {"crash", "gpu fault"}
    fig = failure_impact(folder)
    names = [t.get_text() for t in fig.axes[0].get_yticklabels()]
    assert set(names) == struck
    lost = [stat(summary["lost_gpu_hours_by_cause"], n)[0] for n in names]
    assert lost == sorted(lost, reverse=True)
    assert [r.name for r in cause_rows(summary)] == names
    assert len(fig.axes) == 3  # interruptions, GPU-hours, money (energy is priced)


def test_failure_impact_without_costs_or_failures(folder: RunFolder) -> None:
    """No money panel when nothing is priced; a plain message when no failure struck."""
    summary = copy.deepcopy(folder.summary)
    summary["scenario_resolved"]["energy"].update(usd_per_kwh=0.0, capex_usd=0.0)
    assert len(failure_impact(replace(folder, summary=summary)).axes) == 2
    summary["interruptions_by_cause"] = {c: {**s, "mean": 0.0} for c, s in summary["interruptions_by_cause"].items()}
    assert isinstance(failure_impact(replace(folder, summary=summary)), Figure)


def test_timeline_builds_and_needs_events(folder: RunFolder) -> None:
    """The timeline is drawn from events.parquet, and skipped (None) without it."""
    assert isinstance(timeline(folder, replication=2), Figure)
    assert timeline(replace(folder, events=None)) is None
    with pytest.raises(ValueError, match="replication 7"):
        timeline(folder, replication=7)


def test_timeline_progress_ends_at_the_replications_ettr(folder: RunFolder) -> None:
    """Useful compute rebuilt from the events ends where the ledger's ETTR says, for every replication."""
    assert folder.events is not None
    for r, ettr in zip(folder.runs["replication"], folder.runs["ettr"], strict=True):
        tr = track(folder.summary, folder.events, int(r))
        assert tr.progress_h[-1] / tr.horizon_h == pytest.approx(ettr, rel=1e-6)
        assert (tr.failures["kind"] == "failure").sum() > 0
        # No progress while down: flat across every detect, wait and restart.
        for state in ("detect", "wait", "restart"):
            for start, duration in tr.segments.get(state, []):
                ends = np.interp([start + duration * 1e-6, start + duration], tr.progress_t, tr.progress_h)
                assert ends[0] == pytest.approx(ends[1], abs=1e-9)


def test_write_run_charts_writes_promised_sizes(results: Path) -> None:
    """PNG and SVG of every chart, at least 1200 x 700 px, written atomically (no temporary files left)."""
    paths = write_run_charts(results, svg=True)
    names = sorted(p.name for p in paths)
    charts = ("waterfall", "failure_impact", "timeline", "power")
    assert names == sorted(f"{c}.{x}" for c in charts for x in ("png", "svg"))
    for p in paths:
        assert p.parent == results and p.stat().st_size > 0
        if p.suffix == ".png":
            height, width = matplotlib.image.imread(p).shape[:2]
            assert width >= 1200 and height >= 700
    assert not list(results.glob(".*.tmp"))


@pytest.mark.slow
def test_write_run_charts_without_events(results: Path, tmp_path: Path) -> None:
    """Without events.parquet there is no timeline, without power.parquet no power chart; the others are written."""
    bare = tmp_path / "bare"
    shutil.copytree(results, bare)
    (bare / "events.parquet").unlink()
    for old in bare.glob("*.png"):
        old.unlink()
    paths = write_run_charts(bare)
    assert sorted(p.name for p in paths) == ["failure_impact.png", "power.png", "waterfall.png"]
    (bare / "power.parquet").unlink()
    assert sorted(p.name for p in write_run_charts(bare)) == ["failure_impact.png", "waterfall.png"]


def test_write_run_charts_refuses_other_folders(tmp_path: Path) -> None:
    """A folder that is not a run folder is refused with NotResults."""
    with pytest.raises(NotResults):
        write_run_charts(tmp_path)


def test_timeline_says_so_when_events_cannot_rebuild_progress(folder: RunFolder) -> None:
    """When the rebuilt useful compute disagrees with the ledger's ETTR, the chart says so instead of drawing it."""
    runs = folder.runs.assign(ettr=folder.runs["ettr"] * 0.5)
    fig = timeline(replace(folder, runs=runs))
    assert fig is not None
    texts = [t.get_text() for ax in fig.axes for t in ax.texts]
    assert any(t.startswith("Not rebuilt") for t in texts)


def test_timeline_draws_progress_before_slowdowns_when_they_explain_the_gap(folder: RunFolder) -> None:
    """Stragglers slow the job without an event: when the slowed share closes the gap, the line is drawn
    "before slowdowns" and the ledger's end beside it; no "Not rebuilt" box."""
    assert folder.events is not None
    rebuilt = track(folder.summary, folder.events, 0).progress_h[-1] / (10 * 24.0)
    runs = folder.runs.assign(ettr=rebuilt - 0.02, fraction_slow=0.02)
    fig = timeline(replace(folder, runs=runs))
    assert fig is not None
    texts = [t.get_text() for ax in fig.axes for t in ax.texts]
    assert not any(t.startswith("Not rebuilt") for t in texts)
    (legend,) = [ax.get_legend() for ax in fig.axes if ax.get_legend() is not None]
    labels = " ".join(t.get_text() for t in legend.get_texts())
    assert "before slowdowns" in labels and "after slowdowns (−2.0%, ledger)" in labels


def test_failure_impact_keeps_a_cause_that_cost_without_stopping_the_job(folder: RunFolder) -> None:
    """A straggler slows the job without an interruption: its lost GPU-hours and money still get a row.

    Regression: causes with no interruption were left out, so the money by cause did not add up.
    """
    summary = copy.deepcopy(folder.summary)
    zero = {"mean": 0.0, "std": 0.0, "ci95": [0.0, 0.0], "p10": 0.0, "p50": 0.0, "p90": 0.0}
    cost = {"mean": 5.0, "std": 0.0, "ci95": [5.0, 5.0], "p10": 5.0, "p50": 5.0, "p90": 5.0}
    summary["interruptions_by_cause"]["slow GPU"] = zero
    summary["lost_gpu_hours_by_cause"]["slow GPU"] = cost
    summary["lost_usd_by_cause"]["slow GPU"] = cost
    assert "slow GPU" in [r.name for r in cause_rows(summary)]


def test_failure_impact_names_the_top_causes_and_sums_the_rest(many: RunFolder) -> None:
    """18 causes: the 8 costliest by lost GPU-hours, then 'other' with the sum of the rest, in every panel."""
    every = cause_rows(many.summary)
    assert len(every) == 18
    fig = failure_impact(many)
    names = [t.get_text() for t in fig.axes[0].get_yticklabels()]
    assert names[:TOP] == [r.name for r in every[:TOP]]
    assert names[TOP] == f"other ({len(every) - TOP} causes)" and len(names) == TOP + 1
    rows = top_causes(many.summary, many.runs)
    other = rows[-1]
    for field in ("interruptions", "lost_gpu_hours", "lost_usd"):
        rest = sum(getattr(r, field)[0] for r in every[TOP:])
        mean, lo, hi = getattr(other, field)
        assert mean == pytest.approx(rest) and lo < mean < hi  # the CI of the per-replication sums
    # One row order for every panel: each panel's bars are the rows' means, top to bottom.
    for ax, field in zip(fig.axes, ("interruptions", "lost_gpu_hours", "lost_usd"), strict=True):
        (bars,) = [c for c in ax.containers if isinstance(c, BarContainer)]
        assert [b.get_width() for b in bars] == pytest.approx([getattr(r, field)[0] for r in rows])


def test_failure_impact_colours_never_repeat(many: RunFolder) -> None:
    """Every bar of a panel has its own colour; 'other' is grey; the panels agree row by row."""
    fig = failure_impact(many)
    panels = [colors_of(list(c)) for ax in fig.axes for c in ax.containers if isinstance(c, BarContainer)]
    assert len(panels) == 3 and panels[0] == panels[1] == panels[2]
    assert len(set(panels[0])) == len(panels[0]) == TOP + 1
    assert panels[0][-1] == OTHER_COLOR.lower()


def test_failure_impact_one_number_format_per_axis(many: RunFolder) -> None:
    """The value labels of a panel share one prefix, suffix and number of decimals (no '28.9M' beside '608,078')."""
    for ax in failure_impact(many).axes:
        formats = {number_format(t.get_text()) for t in ax.texts}
        assert len(formats) == 1, formats
        ticks = [t.get_text() for t in ax.get_xticklabels() if t.get_text() not in ("", "0")]
        prefix, _, suffix = formats.pop()
        assert all(re.fullmatch(rf"{re.escape(prefix)}[\d,]+(\.\d+)?{suffix}", t) for t in ticks), ticks


def test_failure_impact_top_is_a_choice(many: RunFolder) -> None:
    """top=3 names three causes and 'other'; a top the palette cannot colour is refused."""
    names = [t.get_text() for t in failure_impact(many, top=3).axes[0].get_yticklabels()]
    assert len(names) == 4 and names[-1].startswith("other (15")
    with pytest.raises(ValueError, match="top causes"):
        failure_impact(many, top=MAX_TOP + 1)


def test_timeline_counts_interruptions_and_states_per_day(many: RunFolder) -> None:
    """Per-day interruptions add up to the replication's failures; each day's state shares add up to 1."""
    assert many.events is not None
    tr = track(many.summary, many.events, 1)
    width = bin_hours(tr.horizon_h)
    assert width == 24.0  # 20 days: one bar a day
    edges = bin_edges(tr.horizon_h, width)
    rows = [r for r in top_causes(many.summary, many.runs) if not r.other]
    counts = interruptions_per_bin(tr, rows, edges)
    assert sum(int(c.sum()) for c in counts.values()) == int((tr.failures["kind"] == "failure").sum())
    assert len(counts) <= TOP + 1
    shares = state_shares(tr, edges)
    assert np.sum(list(shares.values()), axis=0) == pytest.approx(np.ones(len(edges) - 1))


def test_timeline_legend_has_at_most_top_causes_and_other_in_distinct_colours(many: RunFolder) -> None:
    """No barcode: stacked bars per day, a legend of at most 8 causes plus 'other', every colour its own."""
    fig = timeline(many)
    assert fig is not None
    hits = fig.axes[0]
    bars = [c for c in hits.containers if isinstance(c, BarContainer)]
    assert 2 <= len(bars) <= TOP + 1 and all(len(b) == 20 for b in bars)  # one bar a day, one series a cause
    (legend,) = [ax.get_legend() for ax in fig.axes if ax.get_legend() is not None]
    labels = [t.get_text() for t in legend.get_texts()]
    causes = labels[1 : labels.index("\njob state")]
    assert len(causes) == len(bars) <= TOP + 1 and causes[0].startswith("other (")
    patches = [h for h in legend.legend_handles if isinstance(h, Patch) and h.get_visible()]
    assert len(set(colors_of(patches))) == len(patches)  # causes and job states alike


def test_no_text_is_cut(many: RunFolder) -> None:
    """A title too long for one line wraps: every text of every run chart lies inside the page."""
    title = many.summary["scenario_resolved"]["title"]
    for build in (waterfall, failure_impact, timeline):
        fig = build(many)
        assert fig is not None
        assert cut_texts(fig) == [], build.__name__
        shown = " ".join(t.get_text() for t in fig.texts)
        assert all(word in shown for word in title.split())  # wrapped, not shortened
