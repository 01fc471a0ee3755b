"""Sweep charts: built from small sweep folders; sizes, analytic marks, lines per key, log axis, scale chart."""

from __future__ import annotations

import json
import math
from dataclasses import replace
from pathlib import Path

import matplotlib.colors
import matplotlib.image
import pytest
from matplotlib.axes import Axes
from matplotlib.container import BarContainer
from matplotlib.figure import Figure
from test_cli import TINY

from sim.analysis.estimates import check_report
from sim.cli import main
from sim.plots.base import cut_texts
from sim.plots.sweep import scale_chart, sweep_curve, write_sweep_charts
from sim.plots.sweep_base import MAX_LINES, capped, key_label, point_scenario, series, value_label, value_scale
from sim.results.folder import NotResults, SweepFolder, load

INTERVAL = "checkpoint.interval_minutes"


def make_sweep(root: Path, name: str, *params: str, options: tuple[str, ...] = ()) -> Path:
    """A finished sweep of the tiny scenario (policy fixed) over ``params``, 2 replications, no charts."""
    scenario = root / "tiny.toml"
    scenario.write_text(TINY)
    out = root / name
    args = ["sweep", str(scenario), "--no-plots", "-n", "2", "-j", "1", "-o", str(out), "-q", *options]
    for p in params:
        args += ["-p", p]
    assert main(args) == 0
    return out


@pytest.fixture(scope="module")
def interval_sweep(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The checkpoint interval over a decade and more (5 to 80 min), around Young's 35 min."""
    return make_sweep(tmp_path_factory.mktemp("sweep"), "interval", f"{INTERVAL}=5,10,20,40,80")


@pytest.fixture(scope="module")
def grid_sweep(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Interval (less than a decade) by spare servers."""
    return make_sweep(tmp_path_factory.mktemp("sweep"), "grid", f"{INTERVAL}=5,10,20", "cluster.spare_nodes=0,1")


@pytest.fixture(scope="module")
def gpu_sweep(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Cluster size from 16 to 256 GPUs."""
    return make_sweep(tmp_path_factory.mktemp("sweep"), "gpus", "cluster.gpus=16,64,256")


@pytest.fixture(scope="module")
def method_sweep(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Checkpoint method (a category) by spare servers."""
    root = tmp_path_factory.mktemp("sweep")
    snapshot = ("-s", "checkpoint.snapshot_seconds=5")
    return make_sweep(root, "method", "checkpoint.method=sync,async", "cluster.spare_nodes=0,1", options=snapshot)


@pytest.fixture(scope="module")
def flop_sweep(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Cluster size from 16 to 256 GPUs, best by realized FLOP."""
    root = tmp_path_factory.mktemp("sweep")
    return make_sweep(root, "flop", "cluster.gpus=16,64,256", options=("--objective", "realized_flop"))


def sweep_folder(path: Path) -> SweepFolder:
    folder = load(path)
    assert isinstance(folder, SweepFolder)
    return folder


def legend_texts(fig: Figure) -> list[str]:
    return [t.get_text() for ax in fig.axes if ax.get_legend() for t in ax.get_legend().get_texts()]


def fig_texts(fig: Figure) -> str:
    return " ".join(t.get_text() for t in fig.texts)


def png_size(path: Path) -> tuple[int, int]:
    height, width = matplotlib.image.imread(path).shape[:2]
    return width, height


def test_sweep_curve_panels_units_and_log_axis(interval_sweep: Path) -> None:
    """Two panels (ETTR, effective compute) in percent against the interval in minutes, log x over a decade."""
    fig = sweep_curve(sweep_folder(interval_sweep))
    top, bottom = fig.axes[:2]
    assert "ETTR" in top.get_ylabel() and "%" in top.get_ylabel()
    assert "effective compute" in bottom.get_ylabel() and "FLOPs" in bottom.get_ylabel()
    assert "minutes" in bottom.get_xlabel() and "log scale" in bottom.get_xlabel()
    assert top.get_xscale() == bottom.get_xscale() == "log"
    assert [t.get_text() for t in bottom.get_xticklabels()] == ["5", "10", "20", "40", "80"]
    assert "?" in fig_texts(fig)  # the title asks the question the chart answers


def test_sweep_curve_means_and_ci_bands_match_summary(interval_sweep: Path) -> None:
    """The plotted line is each point's mean ETTR, and a CI band surrounds it."""
    folder = sweep_folder(interval_sweep)
    top = sweep_curve(folder).axes[0]
    line = top.get_lines()[0]
    expected = [p["metrics"]["ettr"]["mean"] for p in folder.summary["points"]]
    assert list(line.get_xdata()) == [5, 10, 20, 40, 80]
    assert list(line.get_ydata()) == pytest.approx(expected)
    assert top.collections  # the fill_between band


def test_young_and_daly_marked_at_checks_values(interval_sweep: Path) -> None:
    """Young's and Daly's intervals are vertical lines at the values `trainsim check` computes."""
    folder = sweep_folder(interval_sweep)
    check = check_report(point_scenario(folder.summary, {}))
    mtbf_h = 1 / (1 / 12 + 32 / 2000)  # tiny: a job crash every 12 h, 32 GPUs at 2000 h each
    assert check["young_interval_minutes"] == pytest.approx(math.sqrt(2 * 60 * mtbf_h * 3600) / 60)
    fig = sweep_curve(folder)
    vertical = {round(float(ln.get_xdata()[0]), 6) for ln in fig.axes[0].get_lines() if len(set(ln.get_xdata())) == 1}
    for minutes in (check["young_interval_minutes"], check["daly_interval_minutes"]):
        assert round(minutes, 6) in vertical
    texts = " ".join(legend_texts(fig))
    assert cut_texts(fig) == []  # the names of the intervals above the panel, the legend beside it
    assert f"Young (1974) √(2δM): {check['young_interval_minutes']:.3g} min" in texts
    assert f"Daly (2006) optimum: {check['daly_interval_minutes']:.3g} min" in texts
    assert "best by ETTR (highest mean)" in texts


def test_interval_off_the_swept_range_is_said(grid_sweep: Path) -> None:
    """5-20 min does not reach Young's 35 min: no line, but the legend gives the value and says so."""
    fig = sweep_curve(sweep_folder(grid_sweep))
    assert any("outside the swept range" in t for t in legend_texts(fig))
    assert fig.axes[0].get_xscale() == "linear"  # 5 to 20 is less than a decade


def test_one_line_per_value_of_the_second_key(grid_sweep: Path) -> None:
    """A second swept key gives one line (and legend entry) per value, titled with the key and its unit."""
    fig = sweep_curve(sweep_folder(grid_sweep))
    texts = legend_texts(fig)
    assert "spare servers = 0" in texts and "spare servers = 1" in texts
    legend = fig.axes[0].get_legend()
    assert legend is not None and legend.get_title().get_text() == "hot spare servers (count)"


def test_lines_are_capped_and_keep_the_best(grid_sweep: Path) -> None:
    """More combinations than MAX_LINES: the best point's line stays, the rest are counted."""
    folder = sweep_folder(grid_sweep)
    groups = series(folder, INTERVAL) * 6  # 12 lines' worth
    best = groups[-1][0]
    kept, hidden = capped(groups, best)
    assert len(kept) == MAX_LINES and hidden == len(groups) - MAX_LINES
    assert kept[-1][0] == best


def test_scale_chart_only_when_gpus_are_swept(gpu_sweep: Path, grid_sweep: Path) -> None:
    """ETTR against GPUs on a log axis with Daly's closed form at each size; None for other sweeps."""
    assert scale_chart(sweep_folder(grid_sweep)) is None
    folder = sweep_folder(gpu_sweep)
    fig = scale_chart(folder)
    assert fig is not None
    ax = fig.axes[0]
    assert ax.get_xscale() == "log" and "GPUs" in ax.get_xlabel() and "%" in ax.get_ylabel()
    simulated, daly = ax.get_lines()[:2]
    assert list(simulated.get_xdata()) == [16, 64, 256]
    expected = [
        check_report(point_scenario(folder.summary, p["params"]))["daly_ettr"] for p in folder.summary["points"]
    ]
    assert list(daly.get_ydata()) == pytest.approx(expected)
    assert expected[0] > expected[-1]  # more GPUs, more failures


def test_write_sweep_charts_sizes_svg_and_no_temporary_files(gpu_sweep: Path) -> None:
    """PNGs of at least 1200 x 700 px, SVG on request, written atomically (nothing left behind)."""
    written = write_sweep_charts(gpu_sweep, svg=True)
    assert sorted(p.name for p in written) == ["scale.png", "scale.svg", "sweep_curve.png", "sweep_curve.svg"]
    for path in written:
        if path.suffix == ".png":
            width, height = png_size(path)
            assert width >= 1200 and height >= 700
        else:
            assert path.read_text().lstrip().startswith("<?xml")
    assert not [p for p in gpu_sweep.iterdir() if p.name.endswith(".tmp")]


def test_write_sweep_charts_refuses_other_folders(tmp_path: Path) -> None:
    """A folder that is not a finished sweep raises NotResults with one line."""
    with pytest.raises(NotResults, match="not a results folder"):
        write_sweep_charts(tmp_path)
    (tmp_path / "summary.json").write_text(json.dumps({"status": "ok", "metrics": {}}))
    (tmp_path / "runs.parquet").write_bytes(b"")
    with pytest.raises(NotResults):
        write_sweep_charts(tmp_path)


def test_point_scenario_drops_an_interval_the_policy_ignores(interval_sweep: Path) -> None:
    """A resolved scenario records interval_minutes always; under policy daly it must not be refused."""
    summary = sweep_folder(interval_sweep).summary
    scenario = point_scenario(summary, {"checkpoint.policy": "daly"})
    assert scenario.checkpoint.policy == "daly"
    assert point_scenario(summary, {INTERVAL: 7.5}).checkpoint.interval_minutes == 7.5


def test_labels_carry_units() -> None:
    """Every swept key gets a unit on its axis, known or derived from its name."""
    assert key_label("cluster.gpus") == "GPUs in the job (count)"
    assert key_label("restart.fixed_minutes") == "restart time (minutes)"
    assert key_label("repair.technicians").endswith("(as in the scenario file)")
    assert key_label("run.duration_days") == "run duration (days)"
    assert value_label("cluster.gpus", 16384) == "GPUs = 16,384"


def stars(ax: Axes) -> list[tuple[float, float]]:
    """Where the star markers of ``ax`` are (data coordinates)."""
    return [(float(ln.get_xdata()[0]), float(ln.get_ydata()[0])) for ln in ax.get_lines() if ln.get_marker() == "*"]


def test_categorical_sweep_is_bars_with_ci_whiskers(method_sweep: Path) -> None:
    """Methods are categories: grouped bars from zero, one colour a series, whiskers at each point's 95% CI."""
    folder = sweep_folder(method_sweep)
    fig = sweep_curve(folder)
    top = fig.axes[0]
    joined = [ln for ln in top.get_lines() if len(ln.get_xdata()) > 1 and ln.get_linestyle() != "None"]
    assert not joined  # no line joins categories (whisker caps are markers only)
    bars = [c for c in top.containers if isinstance(c, BarContainer)]
    assert len(bars) == 2 and all(len(b) == 2 for b in bars)  # spare servers 0 and 1, methods sync and async
    colors = {matplotlib.colors.to_hex(b[0].get_facecolor()) for b in bars}
    assert len(colors) == 2 and top.get_ylim()[0] == 0.0
    points = {
        (p["params"]["checkpoint.method"], p["params"]["cluster.spare_nodes"]): p for p in folder.summary["points"]
    }
    for bar in bars:
        assert bar.errorbar is not None
        spares = int(bar.get_label().split("= ")[1])
        (whiskers,) = bar.errorbar.lines[2]
        for method, rect, segment in zip(("sync", "async"), bar, whiskers.get_segments(), strict=True):
            ettr = points[(method, spares)]["metrics"]["ettr"]
            assert rect.get_height() == pytest.approx(ettr["mean"])
            assert sorted(segment[:, 1]) == pytest.approx(sorted(ettr["ci95"]))
    assert [t.get_text() for t in fig.axes[1].get_xticklabels()] == ["sync", "async"]
    assert "Error bars" in fig_texts(fig)


def test_gpu_sweep_shows_useful_flop_and_stars_by_the_objective(flop_sweep: Path, gpu_sweep: Path) -> None:
    """Beside the ratios, the useful FLOPs; the star sits on the best point by the sweep's objective."""
    folder = sweep_folder(flop_sweep)
    fig = sweep_curve(folder)
    absolute = next(ax for ax in fig.axes if "FLOPs per run" in ax.get_ylabel())
    simulated = next(ln for ln in absolute.get_lines() if ln.get_label() == "simulated")
    expected = [p["metrics"]["realized_flop"]["mean"] for p in folder.summary["points"]]
    assert list(simulated.get_ydata()) == pytest.approx(expected)
    assert folder.summary["best"] == {"cluster.gpus": 256}  # the most compute: the largest cluster
    for ax in fig.axes[:3]:
        assert [x for x, _ in stars(ax)] == [256.0]
    assert "best by realized FLOP (highest mean)" in " ".join(legend_texts(fig))
    # By ETTR, a ratio, the smallest cluster wins; the chart says what that objective means.
    ratio = sweep_curve(sweep_folder(gpu_sweep))
    assert [x for x, _ in stars(ratio.axes[0])] == [16.0]
    assert "favours the smallest cluster" in fig_texts(ratio)


def test_gpu_sweep_with_a_target_shows_the_time_to_train(gpu_sweep: Path) -> None:
    """When the points have a time to train (a run with a target), the absolute panel shows it instead of FLOPs."""
    folder = sweep_folder(gpu_sweep)
    summary = json.loads(json.dumps(folder.summary))
    for days, point in zip((30.0, 20.0, 12.0), summary["points"], strict=True):
        point["metrics"]["time_to_train_days"] = {"mean": days, "ci95": [days - 1, days + 1]}
    fig = sweep_curve(replace(folder, summary=summary))
    absolute = next(ax for ax in fig.axes if ax.get_ylabel() == "time to train (days)")
    simulated = next(ln for ln in absolute.get_lines() if ln.get_label() == "simulated")
    assert list(simulated.get_ydata()) == [30.0, 20.0, 12.0]
    assert cut_texts(fig) == []


def test_sweep_titles_are_not_cut(method_sweep: Path, gpu_sweep: Path) -> None:
    """A long scenario title wraps in full (no '...'), and every text of every sweep chart lies inside the page."""
    title = "A scenario title far longer than one line of the page: " + "SemiAnalysis 2024, Llama 3 failure mix, " * 4
    for path in (method_sweep, gpu_sweep):
        folder = sweep_folder(path)
        summary = {**folder.summary, "scenario_resolved": {**folder.summary["scenario_resolved"], "title": title}}
        long = replace(folder, summary=summary)
        for fig in (sweep_curve(long), scale_chart(long)):
            if fig is None:
                continue
            assert cut_texts(fig) == []
            assert "…" not in fig_texts(fig)
            assert " ".join(fig_texts(fig).split()).count(" ".join(title.split())) == 1


def test_one_number_format_on_the_swept_axis(interval_sweep: Path, gpu_sweep: Path) -> None:
    """Swept values read alike on their axis: the same decimals and separators for every tick."""
    ticks = [t.get_text() for t in sweep_curve(sweep_folder(gpu_sweep)).axes[0].get_xticklabels()]
    assert ticks == ["16", "64", "256"]
    assert value_scale([4.0, 5.657, 8.0, 100000.0]).label(100000.0) == "100,000.0"
