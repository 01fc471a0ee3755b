"""The power chart: drawn from a synthetic power.parquet in a run folder; skipped without one."""

from __future__ import annotations

import copy
import shutil
from dataclasses import replace
from pathlib import Path

import matplotlib.image
import numpy as np
import pandas as pd
import pytest
from builders import run_folder
from matplotlib.container import BarContainer
from matplotlib.patches import StepPatch
from test_cli import TINY

from sim import cli
from sim.analysis.polyline import build, envelopes, window
from sim.plots.base import cut_texts
from sim.plots.charts import figure, kinds
from sim.plots.power import DEFAULT_THRESHOLD_MW, QUESTION, PowerTrace, busiest_day, power_chart, swing_threshold
from sim.plots.run import write_run_charts
from sim.results.folder import RunFolder, load

DAY = 86400.0
FULL, IDLE, PUE = 150.0, 50.0, 1.25
#: Day (from 0) with the most failures in replication 0 of the synthetic trace, and its failures.
BUSY_DAY, BUSY_FAILURES = 3, 6


def synthetic_power(days: float, replications: int) -> pd.DataFrame:
    """Per replication: a failure every day (six on day 3): a step from full to idle, then after 20 minutes
    a 2-minute ramp back up; a checkpoint every hour, a 4 MW dip for 30 s (below the threshold)."""
    frames = []
    end = days * DAY
    for r in range(replications):
        failures = [d * DAY + 7200.0 + 600.0 * r for d in range(max(1, int(days)))]
        failures += [BUSY_DAY * DAY + h * 3600.0 for h in range(5, 10)] if days > BUSY_DAY + 1 else []
        t, jump, dslope = [], [], []
        for f in failures:
            t += [f, f + 1200.0, f + 1320.0]
            jump += [IDLE - FULL, 0.0, 0.0]
            dslope += [0.0, (FULL - IDLE) / 120.0, -(FULL - IDLE) / 120.0]
        busy = [(f, f + 1320.0) for f in failures]
        for c in np.arange(1800.0, end - 60.0, 3600.0):
            if not any(a - 60.0 <= c <= b + 60.0 for a, b in busy):
                t += [c, c + 30.0]
                jump += [-4.0, 4.0]
                dslope += [0.0, 0.0]
        x, it = build(t, jump, dslope, 0.0, end, FULL)
        frames.append(
            pd.DataFrame({"replication": np.int32(r), "time_s": x, "it_mw": it, "facility_mw": it * PUE})
        )
    return pd.concat(frames, ignore_index=True)


@pytest.fixture(scope="module")
def results(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A finished 5-day run folder of two replications with a synthetic power.parquet, no charts yet."""
    out = run_folder(tmp_path_factory.mktemp("power"), TINY, "-n", "2", "--no-plots")
    synthetic_power(5.0, 2).to_parquet(out / "power.parquet", index=False)
    return out


@pytest.fixture
def folder(results: Path) -> RunFolder:
    """The run folder, loaded (a fresh copy of its summary for each test)."""
    loaded = load(results)
    assert isinstance(loaded, RunFolder) and loaded.power is not None
    return replace(loaded, summary=copy.deepcopy(loaded.summary))


def titles(fig: object) -> list[str]:
    """The panels' titles, top to bottom, left to right."""
    return [ax.get_title(loc="left") for ax in fig.axes]  # type: ignore[attr-defined]


def test_three_panels_titled_and_nothing_cut(folder: RunFolder) -> None:
    """A day, the whole run and the swing sizes, under the question; no text reaches past the page."""
    fig = power_chart(folder)
    assert fig is not None
    day, run, sizes = titles(fig)
    assert day.startswith(f"Day {BUSY_DAY + 1} of replication 0 at full resolution")
    assert run == "The whole run, per 6 hours: IT power"  # 5 days: 20 bins of 6 hours, as on the timeline
    assert sizes == "Swings larger than 10 MW, per run"
    shown = " ".join(t.get_text() for t in fig.texts)
    assert QUESTION in shown and "swings larger than 10 MW (power.swing_threshold_mw)" in shown
    assert cut_texts(fig) == []
    for ax in fig.axes:
        for axis in (ax.xaxis, ax.yaxis):
            assert axis.get_label_text().endswith(("(MW)", "(hours)", "(days)", "(count)"))
            shown = [t.get_text() for t in axis.get_ticklabels()]
            assert len({len(t.replace(",", "").partition(".")[2]) for t in shown}) == 1, shown  # one format


def test_the_busiest_day_is_shown_by_default(folder: RunFolder) -> None:
    """Replication 0's day with the most swings down is the first panel, with its count."""
    assert folder.power is not None
    trace = PowerTrace.of(folder.power, 0)
    assert busiest_day(trace, DEFAULT_THRESHOLD_MW) == (BUSY_DAY, BUSY_FAILURES)
    fig = power_chart(folder)
    assert fig is not None
    assert titles(fig)[0].endswith(f": {BUSY_FAILURES} swings down (the most of any day)")
    other = power_chart(folder, day=0)
    assert other is not None
    assert titles(other)[0] == "Day 1 of replication 0 at full resolution: 1 swing down"
    with pytest.raises(ValueError, match="days 0 to 4"):
        power_chart(folder, day=5)


def test_day_panel_draws_the_trace_at_full_resolution(folder: RunFolder) -> None:
    """The day's lines are the trace's rows in that day (hours from the day's start), IT and facility."""
    assert folder.power is not None
    fig = power_chart(folder)
    assert fig is not None
    trace = PowerTrace.of(folder.power, 0)
    start = BUSY_DAY * DAY
    x, it = window(trace.x, trace.it, start, start + DAY)
    facility_line, it_line = fig.axes[0].lines
    assert np.array_equal(it_line.get_xdata(), (x - start) / 3600.0)
    assert np.array_equal(it_line.get_ydata(), it)
    assert np.allclose(facility_line.get_ydata(), it * PUE)
    assert "PUE 1.25" in str(facility_line.get_label())


def test_envelope_panel_is_the_exact_envelopes(folder: RunFolder) -> None:
    """The band and the mean line are the min, mean and max of the trace per bin."""
    assert folder.power is not None
    fig = power_chart(folder)
    assert fig is not None
    trace = PowerTrace.of(folder.power, 0)
    _, lo, mean, hi = envelopes(trace.x, trace.it, 6 * 3600.0)
    band, line = (p for p in fig.axes[1].patches if isinstance(p, StepPatch))
    values, edges, baseline = band.get_data()
    assert np.allclose(values, hi) and np.allclose(baseline, lo) and edges[-1] == pytest.approx(5.0)
    assert np.allclose(line.get_data()[0], mean)
    assert lo.min() == IDLE and hi.max() == FULL


def test_histogram_counts_swings_down_and_up_per_run(folder: RunFolder) -> None:
    """Failures (100 MW down, then 100 MW up) are counted per replication; checkpoint dips of 4 MW are not."""
    fig = power_chart(folder)
    assert fig is not None
    down, up = (c for c in fig.axes[2].containers if isinstance(c, BarContainer))
    failures = 5 + 5  # one a day for 5 days, and five more on day 3, in each replication
    assert sum(b.get_height() for b in down) == pytest.approx(failures)
    assert sum(b.get_height() for b in up) == pytest.approx(failures)
    labels = [t.get_text() for t in fig.axes[2].get_legend().get_texts()]
    assert labels == ["down: 10 a run", "up: 10 a run"]


def test_threshold_comes_from_the_scenario(folder: RunFolder) -> None:
    """power.swing_threshold_mw sets what counts; results without the key use 10 MW."""
    assert swing_threshold(folder.summary) == DEFAULT_THRESHOLD_MW
    folder.summary["scenario_resolved"]["power"] = {"swing_threshold_mw": 200.0}
    fig = power_chart(folder)
    assert fig is not None
    assert "swings larger than 200 MW" in " ".join(t.get_text() for t in fig.texts)
    assert ": 0 swings down" in titles(fig)[0]
    assert fig.axes[2].texts[0].get_text() == "No swing larger than 200 MW."


def test_footnote_quotes_the_power_metrics(folder: RunFolder) -> None:
    """The run's power metrics from summary.json are in the footnote, when the run has them."""
    stat = {"mean": 41.7, "std": 1.0, "ci95": [40.0, 43.4], "p10": 40.0, "p50": 41.7, "p90": 43.0}
    folder.summary["metrics"]["swings_per_day"] = stat
    fig = power_chart(folder)
    assert fig is not None
    assert "41.7 swings a day" in " ".join(t.get_text() for t in fig.texts)


def test_a_run_shorter_than_a_day(folder: RunFolder) -> None:
    """A run of a few hours: the first panel is the whole run."""
    short = synthetic_power(0.25, 1)
    fig = power_chart(replace(folder, power=short))
    assert fig is not None
    assert titles(fig)[0].startswith("The whole run of replication 0")
    assert cut_texts(fig) == []


def test_an_unknown_replication_is_named(folder: RunFolder) -> None:
    """Asking for a replication the trace lacks says which it has."""
    with pytest.raises(ValueError, match=r"no replication 7 in power.parquet: it has \[0, 1\]"):
        power_chart(folder, replication=7)


@pytest.mark.slow
def test_without_power_parquet_there_is_no_power_chart(results: Path, tmp_path: Path) -> None:
    """No power.parquet: no chart, not listed, not written, and asking for it says why."""
    bare = tmp_path / "bare"
    shutil.copytree(results, bare)
    (bare / "power.parquet").unlink()
    folder = load(bare)
    assert isinstance(folder, RunFolder) and folder.power is None
    assert power_chart(folder) is None and "power" not in kinds(folder)
    assert "power.png" not in {p.name for p in write_run_charts(bare)}
    with pytest.raises(ValueError, match=r"power trace \(power.parquet\)"):
        figure(folder, "power")


def test_trainsim_plot_draws_it_into_the_report(results: Path, tmp_path: Path) -> None:
    """`trainsim plot` writes power.png (1440 x 810) beside the other charts, and report.html embeds it."""
    out = tmp_path / "run"
    shutil.copytree(results, out)
    assert cli.main(["plot", str(out)]) == 0
    assert "power" in kinds(load(out))
    height, width = matplotlib.image.imread(out / "power.png").shape[:2]
    assert (width, height) == (1440, 810)
    html = (out / "report.html").read_text(encoding="utf-8")
    assert '<figure id="power">' in html and "power draw swing? One day at full resolution" in html
    assert html.index('id="timeline"') < html.index('id="power"')
