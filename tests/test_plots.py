"""Run charts: built from a small results folder; sizes, numbers and causes as in summary.json."""

from __future__ import annotations

import copy
import shutil
from dataclasses import replace
from pathlib import Path

import matplotlib.image
import numpy as np
import pytest
from matplotlib.figure import Figure

from sim import cli
from sim.plots.base import stat
from sim.plots.run import cause_rows, failure_impact, timeline, waterfall, waterfall_steps, write_run_charts
from sim.plots.timeline import track
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
    root = tmp_path_factory.mktemp("plots")
    scenario = root / "tiny.toml"
    scenario.write_text(SCENARIO, encoding="utf-8")
    out = root / "run"
    assert cli.main(["run", str(scenario), "-n", "3", "-o", str(out), "-q"]) == 0
    return out


@pytest.fixture
def folder(results: Path) -> RunFolder:
    """The tiny run folder, loaded."""
    loaded = load(results)
    assert isinstance(loaded, RunFolder)
    return loaded


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
    assert names == sorted(f"{c}.{x}" for c in ("waterfall", "failure_impact", "timeline") for x in ("png", "svg"))
    for p in paths:
        assert p.parent == results and p.stat().st_size > 0
        if p.suffix == ".png":
            height, width = matplotlib.image.imread(p).shape[:2]
            assert width >= 1200 and height >= 700
    assert not list(results.glob(".*.tmp"))


def test_write_run_charts_without_events(results: Path, tmp_path: Path) -> None:
    """Without events.parquet there is no timeline, and the other charts are still written."""
    bare = tmp_path / "bare"
    shutil.copytree(results, bare)
    (bare / "events.parquet").unlink()
    for old in bare.glob("*.png"):
        old.unlink()
    paths = write_run_charts(bare)
    assert sorted(p.name for p in paths) == ["failure_impact.png", "waterfall.png"]


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
