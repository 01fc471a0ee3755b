"""The scale chart of a ``cluster.gpus`` sweep: ETTR against GPU count, simulated and Daly's closed form.

Drawn from a finished sweep folder (``summary.json``), never from simulation objects; Daly's ETTR
and the job MTBF of each point come from ``sim.analysis.estimates.check_report``, as ``trainsim
check`` prints them.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.ticker import NullLocator

from sim.analysis.estimates import check_report
from sim.config.errors import ScenarioError
from sim.plots import base as plot_base
from sim.plots import sweep_base as sb
from sim.plots.sweep_base import CI_NOTE, point_scenario
from sim.results.folder import SweepFolder
from sim.results.precision import per_point
from sim.results.schema import GPUS


def _daly(summary: dict[str, Any], params: dict[str, Any]) -> tuple[float, float]:
    """Daly's ETTR and the job MTBF in hours of one point, as ``trainsim check`` computes them; NaN if unknown."""
    try:
        check = check_report(point_scenario(summary, params))
    except (ScenarioError, KeyError, TypeError, ValueError):
        return math.nan, math.nan
    mtbf = check["job_mtbf_hours"]
    return float(check["daly_ettr"]), math.inf if mtbf is None else float(mtbf)


def _annotate_scale(
    ax: Axes,
    xs: list[float],
    mean: Sequence[float],
    daly: Sequence[float],
    mtbf: Sequence[float],
    pts: list[Any],
    color: str,
) -> None:
    """The job MTBF above each closed-form point; below a simulated point, the time spent waiting for spares."""
    for x, d, m in zip(xs, daly, mtbf, strict=True):
        ax.annotate(
            sb.duration(m).replace("MTBF", "M ="),
            (x, d),
            xytext=(0, 8),
            textcoords="offset points",
            ha="center",
            va="bottom",
            fontsize=9,
            color=plot_base.FAINT,
            bbox={"facecolor": "white", "edgecolor": "none", "alpha": 0.8, "pad": 1.0},
        )
    for x, m, p in zip(xs, mean, pts, strict=True):  # the usual reason to fall below Daly: no spare left
        wait = sb.stat(p, "fraction_wait")[0]
        if wait >= 0.05:
            ax.annotate(
                f"waiting {wait:.0%}",
                (x, m),
                xytext=(0, -10),
                textcoords="offset points",
                ha="center",
                va="top",
                fontsize=9,
                color=color,
            )


def scale_chart(folder: SweepFolder) -> Figure | None:
    """ETTR against GPU count (log x) with 95% CI, and Daly's closed form at each point; None unless GPUs are swept."""
    summary = folder.summary
    if GPUS not in folder.keys:
        return None
    values = list(summary["params"][GPUS])
    series, hidden = sb.capped(sb.series(folder, GPUS), dict(summary.get("best") or {}))
    fig = plot_base.new_figure()
    ax = fig.subplots()
    ax.set_xscale("log")
    sb.x_axis(ax, GPUS, values)
    ax.xaxis.set_minor_locator(NullLocator())  # log even within a decade: only the swept sizes are ticked
    ax.set_xlabel("GPUs in the job (count, log scale)")
    single = len(series) == 1
    for color, (rest, pts) in zip(sb.colors(len(series)), series, strict=True):
        xs = [float(p["params"][GPUS]) for p in pts]
        mean, lo, hi = zip(*(sb.stat(p, "ettr") for p in pts), strict=True)
        name = "simulated (mean, 95% CI)" if single else sb.series_label(rest)
        ax.fill_between(xs, lo, hi, color=color, alpha=0.18, linewidth=0)
        ax.plot(xs, mean, "o-", color=color, linewidth=2, markersize=6, label=name)
        daly, mtbf = zip(*(_daly(summary, p["params"]) for p in pts), strict=True)
        ax.plot(xs, daly, "s--", color=color, linewidth=1.4, markersize=5, markerfacecolor="white")
        if single:  # with one line there is room to say why it falls: the job MTBF, and waiting for spares
            _annotate_scale(ax, xs, mean, daly, mtbf, pts, color)
    # One legend entry for every dashed line: its colour already names the series.
    handles, labels = ax.get_legend_handles_labels()
    proxy_color = sb.colors(1)[0] if single else plot_base.FAINT
    proxy = ax.plot([], [], "s--", color=proxy_color, markerfacecolor="white", linewidth=1.4, markersize=5)[0]
    handles.append(proxy)
    labels.append("Daly (2006) closed form")
    sb.percent(ax, "ETTR (% of job GPU-time useful)")
    ax.margins(y=0.1)
    sb.cap_at_one(ax, 1.07)  # room for the MTBF labels above points near 100%
    ax.legend(handles, labels, loc="lower left", fontsize=9)
    notes = [
        CI_NOTE.format(what="Shaded", n=per_point(summary)),
        "Daly (2006) at each point's interval: exponential failures, instant spares, detection counted as "
        "restart time (as trainsim check)",
    ]
    if single:
        notes.append("M: job MTBF from the failure rates")
    if hidden:
        notes.append(f"{hidden} more lines not drawn (see points.csv)")
    question = "How does ETTR fall as the cluster grows, and how far below Daly's closed form?"
    sb.header(fig, question, summary, ".  ".join(notes))
    return fig
