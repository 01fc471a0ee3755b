"""The chart of a ``trainsim optimize`` folder: the objective against the key, and each value's paired difference
from the best, with the bracket the search settled on and Young's and Daly's intervals.

Drawn from ``summary.json`` only (its ``points``, as a sweep's, and its ``optimum``).
"""

from __future__ import annotations

import math
from typing import Any

from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter, LogLocator, NullLocator

from sim.plots import base as plot_base
from sim.plots import sweep_base as sb
from sim.plots.sweep_base import BEST_COLOR, key_label
from sim.results.folder import SweepFolder
from sim.results.precision import per_point
from sim.results.schema import FRACTIONS, INTERVAL, LOWER_IS_BETTER, METRIC_LABELS

LINE = "#0072B2"  # Okabe-Ito blue
WORSE = "#D55E00"  # Okabe-Ito vermillion: significantly worse than the best
BRACKET = "#F0E442"


def _scale(metric: str) -> float:
    return 100.0 if metric in FRACTIONS else 1.0


def _unit(metric: str, diff: bool = False) -> str:
    if metric in FRACTIONS:
        return "percentage points" if diff else "%"
    return ""


def _num(x: float, metric: str) -> str:
    """A value as the chart labels it: one decimal of a percentage, else three significant digits."""
    return f"{x:.1f}" if metric in FRACTIONS else f"{x:.3g}"


def _series(summary: dict[str, Any], key: str, metric: str) -> list[dict[str, float]]:
    """Per value evaluated, in order: the value, the objective's mean and CI, the paired difference and its CI."""
    out = []
    k = _scale(metric)
    for p in summary["points"]:
        mean, lo, hi = sb.stat(p, metric)
        d = (p.get("paired_difference_from_best") or {}).get(metric) or {}
        d_mean = math.nan if d.get("mean") is None else float(d["mean"])
        d_ci = [d_mean if x is None else float(x) for x in d.get("ci95") or [None, None]]
        out.append(
            {
                "x": float(p["params"][key]),
                "mean": k * mean,
                "lo": k * lo,
                "hi": k * hi,
                "d": k * d_mean,
                "d_lo": k * d_ci[0],
                "d_hi": k * d_ci[1],
            }
        )
    return sorted(out, key=lambda r: r["x"])


def _log_axis(ax: Axes) -> None:
    ax.set_xscale("log")
    ax.xaxis.set_major_locator(LogLocator(base=10.0, subs=(1.0, 2.0, 5.0)))
    ax.xaxis.set_minor_locator(NullLocator())
    ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}"))


def _marks(axes: tuple[Axes, Axes], optimum: dict[str, Any], unit: str) -> list[Any]:
    """The bracket (shaded), and Young's and Daly's intervals (vertical lines); legend handles."""
    handles: list[tuple[Any, str]] = []
    lo, hi = optimum["bracket"]
    for ax in axes:
        span = ax.axvspan(lo, hi, color=BRACKET, alpha=0.35, lw=0, zorder=0)
    handles.append((span, f"bracket: {lo:.3g}–{hi:.3g}{unit}, not significantly worse than the best"))
    for minutes, name, style in (
        (optimum.get("young_minutes"), "Young (1974) √(2δM)", ":"),
        (optimum.get("daly_minutes"), "Daly (2006) optimum", "--"),
    ):
        if minutes is None:
            continue
        for ax in axes:
            line = ax.axvline(minutes, color=plot_base.TEXT, linestyle=style, lw=1.2)
        handles.append((line, f"{name}: {minutes:.3g} min"))
    return handles


def optimize_chart(folder: SweepFolder) -> Figure:
    """Objective against the key (top) and paired difference from the best (bottom), log scale."""
    summary = folder.summary
    optimum = summary["optimum"]
    key, metric = str(optimum["key"]), str(optimum["objective"])
    name = METRIC_LABELS.get(metric, metric)
    unit = " min" if key.endswith("_minutes") else ""
    rows = _series(summary, key, metric)
    xs = [r["x"] for r in rows]
    fig = plot_base.new_figure()
    top, bottom = fig.subplots(2, 1, sharex=True, height_ratios=(3, 2))
    _log_axis(bottom)
    top.fill_between(xs, [r["lo"] for r in rows], [r["hi"] for r in rows], color=LINE, alpha=0.18, lw=0)
    top.plot(xs, [r["mean"] for r in rows], "-o", color=LINE, lw=2, ms=5, label=f"simulated mean {name}")
    best = next(r for r in rows if r["x"] == float(optimum["best"]))
    ci = f"95% CI {_num(best['lo'], metric)}–{_num(best['hi'], metric)}{_unit(metric)}"
    star = top.plot([best["x"]], [best["mean"]], "*", ms=18, color=BEST_COLOR, markeredgecolor="black")[0]
    # Surely worse: the paired CI of (value - best) lies wholly on the wrong side of 0.
    lower = metric in LOWER_IS_BETTER
    worse = [r for r in rows if (r["d_lo"] > 0 if lower else r["d_hi"] < 0)]
    same = [r for r in rows if r not in worse]
    for group, color, label in ((same, LINE, "as good as the best (CI reaches 0)"), (worse, WORSE, "worse")):
        if group:
            bottom.errorbar(
                [r["x"] for r in group],
                [r["d"] for r in group],
                yerr=[[r["d"] - r["d_lo"] for r in group], [r["d_hi"] - r["d"] for r in group]],
                fmt="o",
                color=color,
                ms=5,
                capsize=3,
                label=label,
            )
    bottom.axhline(0.0, color=plot_base.TEXT, lw=0.8)
    handles = [(top.get_lines()[0], f"simulated mean {name}")]
    value = f"{_num(best['mean'], metric)}{_unit(metric)}"
    handles.append((star, f"best: {optimum['best']:.4g}{unit}, {name} {value} ({ci})"))
    handles += _marks((top, bottom), optimum, unit)
    handles += list(zip(*bottom.get_legend_handles_labels(), strict=True))
    top.legend(*zip(*handles, strict=True), loc="upper left", bbox_to_anchor=(1.01, 1.0), frameon=False, fontsize=9.5)
    top.set_ylabel(f"{name}" + (f" ({_unit(metric)})" if _unit(metric) else ""))
    bottom.set_ylabel(f"{name} − best\n(paired{', pp' if metric in FRACTIONS else ''})")
    bottom.set_xlabel(key_label(key) + ", log scale")
    for ax in (top, bottom):
        ax.grid(True, color="#E0E0E0", lw=0.8)
        ax.set_axisbelow(True)
    notes = [
        f"Top: 95% CI of the mean over {per_point(summary)} replications per value",
        "Bottom: each value minus the best, replication by replication on the same failures",
        f"{len(rows)} values in {optimum['rounds']} round{'s' if optimum['rounds'] != 1 else ''}",
    ]
    if key == INTERVAL:
        notes.append("Young and Daly assume exponential failures, instant spares and no detection delay")
    if optimum.get("at_edge_of_range"):
        notes.append("The best value is at the edge of the range: widen --range")
    verb = "minimises" if lower else "maximises"
    question = f"Which {key_label(key).split(' (')[0]} {verb} {name}, and how sure is the search?"
    sb.header(fig, question, summary, ".  ".join(notes))
    return fig
