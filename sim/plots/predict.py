"""The predictive check of ``trainsim fit`` as a chart, drawn from its plain tables (never the engine).

Three panels: faults per window and distinct failing nodes per window (observed as dots, the
simulated mean as a bar with its 95% prediction interval), and how many nodes had 0, 1, 2, ...
faults over the checked span (observed beside simulated, log scale). The tables are those of
``sim.experiment.predict.check_table`` and ``histogram_table`` (also written as CSV by ``--out``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from sim.plots.base import FAINT, TEXT, header, new_figure, save

QUESTION = "Does the fitted fleet predict the log? Observed vs simulated faults"
SIMULATED = "#8fb3d9"
OBSERVED = "#c0392b"


def _spread(mean: np.ndarray, lo: np.ndarray, hi: np.ndarray) -> list[np.ndarray]:
    """Error bars from the mean to the interval's ends; a skewed count's mean can lie outside its 95% interval
    (a bin at 10 in 196 of 200 fleets and 0 in 4: mean 9.8, interval 10-10), and the bar then has no side."""
    return [np.maximum(mean - lo, 0.0), np.maximum(hi - mean, 0.0)]


def _windows(ax: Axes, table: pd.DataFrame, column: str, label: str, legend: bool) -> None:
    x = np.arange(len(table))
    mean = table[f"{column}_sim"].to_numpy(float)
    lo, hi = table[f"{column}_lo"].to_numpy(float), table[f"{column}_hi"].to_numpy(float)
    ax.bar(x, mean, color=SIMULATED, width=0.6, label="simulated mean")
    ax.errorbar(x, mean, yerr=_spread(mean, lo, hi), fmt="none", ecolor=FAINT, capsize=5, label="95% prediction")
    ax.plot(x, table[column].to_numpy(float), "o", color=OBSERVED, markersize=8, label="observed", zorder=3)
    days = table["hours"].to_numpy(float) / 24.0
    starts = table["start_hours"].to_numpy(float) / 24.0
    ticks = [f"{int(w)}\n{s:,.0f}-{s + d:,.0f} d" for w, s, d in zip(table["window"], starts, days, strict=True)]
    ax.set_xticks(x, ticks)
    ax.set_title(label, color=TEXT, loc="left")
    ax.set_ylim(bottom=0)
    ax.set_xlabel("window (days from the fit window's start)")
    if legend:
        ax.legend(frameon=False, fontsize=9, loc="lower left")


def _histogram(ax: Axes, table: pd.DataFrame) -> None:
    x = np.arange(len(table))
    mean = table["nodes_sim"].to_numpy(float)
    lo, hi = table["nodes_lo"].to_numpy(float), table["nodes_hi"].to_numpy(float)
    ax.bar(x - 0.2, table["nodes"].to_numpy(float), width=0.4, color=OBSERVED, label="observed")
    ax.bar(x + 0.2, mean, width=0.4, color=SIMULATED, label="simulated mean")
    ax.errorbar(x + 0.2, mean, yerr=_spread(mean, lo, hi), fmt="none", ecolor=FAINT, capsize=4)
    ax.set_xticks(x, list(table["faults"]))
    ax.set_yscale("symlog", linthresh=1.0)
    ax.set_xlabel("faults per node over the checked span")
    ax.set_title("Nodes by their number of faults", color=TEXT, loc="left")
    ax.legend(frameon=False, fontsize=9)


def check_chart(windows: pd.DataFrame, histogram: pd.DataFrame, about: dict[str, Any], footnote: str = "") -> Figure:
    """The chart of one predictive check; ``about`` names the log (``scenario``), ``replications`` and ``seed``."""
    fig = new_figure()
    axes = fig.subplots(1, 3, width_ratios=[1.0, 1.0, 1.2])
    _windows(axes[0], windows, "faults", "Faults per window", legend=True)
    _windows(axes[1], windows, "nodes", "Distinct failing nodes per window", legend=False)
    _histogram(axes[2], histogram)
    header(fig, QUESTION, about, footnote)
    return fig


def write_check_chart(
    path: Path, windows: pd.DataFrame, histogram: pd.DataFrame, about: dict[str, Any], footnote: str = ""
) -> Path:
    """Draw the check and write it to ``path`` (PNG or SVG by suffix), atomically."""
    return save(check_chart(windows, histogram, about, footnote), path)
