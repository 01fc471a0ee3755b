"""The notebook API: results of run, run_sweep, optimize and compare plot any of their charts and save their folder."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from builders import tiny
from matplotlib.figure import Figure
from test_cli import TINY

import sim
from sim.cli import main
from sim.plots.base import save as save_figure
from sim.results.folder import CompareFolder, RunFolder, SweepFolder, load

#: Keys of summary.json that say when and how fast, not what.
WHEN = {"started_utc", "runtime_s"}


def _scenario_file(tmp_path: Path) -> Path:
    path = tmp_path / "tiny.toml"
    path.write_text(TINY)
    return path


def _same_summary(a: Path, b: Path) -> None:
    """Two summary.json files that differ at most in when they started and how long they took."""

    def strip(doc: Any) -> Any:
        if isinstance(doc, dict):
            return {k: strip(v) for k, v in doc.items() if k not in WHEN}
        return [strip(v) for v in doc] if isinstance(doc, list) else doc

    assert strip(json.loads(a.read_text())) == strip(json.loads(b.read_text()))


def _names(folder: Path) -> set[str]:
    return {str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file()}


def test_run_result_saves_the_command_lines_folder(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Result.save writes the files `trainsim run` writes, with the same summary; plot draws what they hold."""
    path = _scenario_file(tmp_path)
    assert main(["run", str(path), "-q", "--no-plots", "-o", str(tmp_path / "cli")]) == 0
    result = sim.run(sim.load_scenario(path))
    assert isinstance(result, sim.Result) and result.charts == ["waterfall", "failure_impact", "timeline", "power"]
    out = result.save(tmp_path / "api", scenario_file=path)
    drawn = {f"{kind}.png" for kind in result.charts} | {"report.html"}
    assert out == tmp_path / "api" and _names(out) == _names(tmp_path / "cli") | drawn
    _same_summary(out / "summary.json", tmp_path / "cli" / "summary.json")
    assert isinstance(load(out), RunFolder)
    for kind in result.charts:
        fig = result.plot(kind)
        assert isinstance(fig, Figure)
        # The Figure is the chart the folder holds, to the byte.
        assert save_figure(fig, tmp_path / f"{kind}.png").read_bytes() == (out / f"{kind}.png").read_bytes()


def test_plot_names_the_kinds_it_has() -> None:
    """An unknown kind is a ValueError that lists the kinds; options reach the chart (timeline of replication 1)."""
    result = sim.run(tiny(), replications=2)
    with pytest.raises(ValueError, match="choose one of waterfall, failure_impact, timeline"):
        result.plot("sweep_curve")
    assert isinstance(result.plot("timeline", replication=1, causes=3), Figure)


def test_save_without_charts(tmp_path: Path) -> None:
    """plots=False writes the tables and summary only, as --no-plots does."""
    out = sim.run(tiny(), replications=2).save(tmp_path / "o", plots=False)
    assert _names(out) == {"summary.json", "runs.parquet", "events.parquet", "power.parquet"}


def test_sweep_result_plots_and_saves(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """run_sweep's result plots its charts (scale only for a cluster.gpus sweep) and saves the sweep's folder."""
    s = tiny(run={"duration_days": 1.0, "replications": 2, "seed": 7})
    result = sim.run_sweep(s, {"cluster.gpus": [16, 32]}, jobs=1)
    assert isinstance(result, sim.SweepResult) and result.charts == ["sweep_curve", "scale"]
    assert all(isinstance(result.plot(kind), Figure) for kind in result.charts)
    out = result.save(tmp_path / "s")
    assert isinstance(load(out), SweepFolder)
    assert {"runs.parquet", "points.csv", "summary.json", "sweep_curve.png", "scale.png", "report.html"} <= _names(out)
    doc = json.loads((out / "summary.json").read_text())
    assert doc["param_specs"] == ["cluster.gpus=16,32"] and doc["points"] == result.to_json()["points"]
    interval = sim.run_sweep(s, {"checkpoint.interval_minutes": [30, 60]}, jobs=1)
    assert interval.charts == ["sweep_curve"]
    with pytest.raises(ValueError, match=r"cluster\.gpus"):
        interval.plot("scale")


def test_optimum_plots_and_saves(tmp_path: Path) -> None:
    """optimize's result plots the search and saves the folder `trainsim optimize` writes."""
    s = tiny({"failure.0.mtbf_hours": 5.0}, run={"duration_days": 1.0, "replications": 3, "seed": 1})
    best = sim.optimize(s, replications=3, jobs=1)
    assert isinstance(best, sim.Optimum) and best.charts == ["optimize"]
    assert isinstance(best.plot("optimize"), Figure)
    out = best.save(tmp_path / "o")
    doc = json.loads((out / "summary.json").read_text())
    assert doc["optimum"] == best.to_json() and doc["search"]["key"] == "checkpoint.interval_minutes"
    assert {"optimize.png", "report.html", "points.csv", "runs.parquet"} <= _names(out)


def test_compare_result_plots_and_saves(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """compare's result plots its charts and saves the folder `trainsim compare` writes; each scenario's result too."""
    path = _scenario_file(tmp_path)
    variant = ["--variant", "fast:restart.fixed_minutes=1"]
    assert main(["compare", str(path), *variant, "-n", "2", "-q", "-o", str(tmp_path / "cli")]) == 0
    result = sim.compare([path], replications=2, variants={"fast": {"restart.fixed_minutes": 1}})
    assert isinstance(result, sim.CompareResult) and result.charts == ["compare_ledger", "compare_differences"]
    assert all(isinstance(result.plot(kind), Figure) for kind in result.charts)
    assert isinstance(result["fast"].plot("waterfall"), Figure)
    out = result.save(tmp_path / "api")
    assert isinstance(load(out), CompareFolder) and _names(out) == _names(tmp_path / "cli")
    _same_summary(out / "summary.json", tmp_path / "cli" / "summary.json")
    assert (out / "scenarios" / "tiny" / "scenario.toml").read_text() == TINY
