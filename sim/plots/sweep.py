"""Sweep charts: ETTR and effective compute against the swept key, and ETTR against cluster size.

Drawn from a finished sweep folder (``summary.json``), never from simulation objects. The analytic
marks (Young's and Daly's intervals, Daly's ETTR) come from the scenario recorded in the summary,
through ``sim.analysis.estimates.check_report``, so they are the numbers ``trainsim check`` prints. Labels,
series and axes: ``sim.plots.sweep_base``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.ticker import NullLocator

from sim.analysis.estimates import check_report
from sim.config.errors import ScenarioError
from sim.plots import base as plot_base
from sim.plots import sweep_base as sb
from sim.plots.optimize import optimize_chart
from sim.plots.palette import REALIZED_COLOR
from sim.plots.sweep_base import BEST_COLOR, CI_NOTE, key_label, point_scenario
from sim.results.folder import NotResults, SweepFolder, load
from sim.results.precision import per_point
from sim.results.schema import GPUS, INTERVAL, METRIC_LABELS

# ---------------------------------------------------------------- sweep curve


def _intervals(folder: SweepFolder, series: list[Any]) -> tuple[float | None, float | None, str]:
    """Young's and Daly's intervals in minutes, and a note with their inputs (and when other keys move them)."""
    summary = folder.summary
    try:
        per_line = {
            (c["young_interval_minutes"], c["daly_interval_minutes"])
            for c in (check_report(point_scenario(summary, rest)) for rest, _ in series)
        }
        base = check_report(point_scenario(summary, {}))
    except (ScenarioError, KeyError, TypeError, ValueError) as e:
        return None, None, f"Young and Daly intervals not shown: {e}"
    if base["job_mtbf_hours"] is None:
        return None, None, "No failure modes: no Young or Daly interval"
    note = (
        f"Young and Daly from the job MTBF M = {sb.duration(base['job_mtbf_hours']).removeprefix('MTBF ')} "
        f"and the blocking checkpoint δ = {base['blocking_seconds']:.3g} s"
    )
    if len(per_line) > 1:
        others = ", ".join(k for k in folder.keys if k != INTERVAL)
        note += f" of the base scenario ({others} move them from line to line)"
    return base["young_interval_minutes"], base["daly_interval_minutes"], note


def _mark_interval(
    axes: Sequence[Axes], minutes: float, name: str, style: str, lo: float, hi: float, left: bool
) -> str:
    """A vertical line at ``minutes`` on every panel, named above the top one; returns the legend text."""
    label = f"{name}: {minutes:.3g} min"
    if not lo / 1.5 <= minutes <= hi * 1.5:
        return f"{label} (outside the swept range)"
    for ax in axes:
        ax.axvline(minutes, color=plot_base.TEXT, linestyle=style, linewidth=1.4, zorder=1)
    # Above the panels, where no data can hide the name; the shorter interval named left of its
    # line, the longer right, since the two are usually close.
    axes[0].annotate(
        f"{name.split(' ')[0]} {minutes:.3g} min",
        (minutes, 1.0),
        xycoords=("data", "axes fraction"),
        xytext=(-3 if left else 3, 2),
        textcoords="offset points",
        ha="right" if left else "left",
        va="bottom",
        annotation_clip=False,
        fontsize=9,
        color=plot_base.TEXT,
    )
    return label


def _draw_series(panels: Sequence[tuple[Axes, str]], series: list[Any], x_key: str, values: list[Any]) -> None:
    """One line per series on every panel: mean and 95% CI band (error bars on a categorical axis)."""
    single = len(series) == 1
    for i, (color, (rest, pts)) in enumerate(zip(sb.colors(len(series)), series, strict=True)):
        xs = [sb.x_pos(p, x_key, values) + sb.dodge(i, len(series), values) for p in pts]
        for ax, metric in panels:
            mean, lo, hi = zip(*(sb.stat(p, metric) for p in pts), strict=True)
            # One line: the palette's colours of what each panel measures (useful time, realized FLOPs).
            line_color = REALIZED_COLOR if single and metric != "ettr" else color
            if sb.numeric(values):
                ax.fill_between(xs, lo, hi, color=line_color, alpha=0.18, linewidth=0)
                ax.plot(xs, mean, "o-", color=line_color, linewidth=2, markersize=5, label=sb.series_label(rest))
            else:
                err = [[m - a for m, a in zip(mean, lo, strict=True)], [b - m for m, b in zip(mean, hi, strict=True)]]
                ax.errorbar(xs, mean, yerr=err, fmt="o-", color=line_color, capsize=4, label=sb.series_label(rest))


def _mark_intervals(folder: SweepFolder, axes: Sequence[Axes], series: list[Any], legend: list[Any]) -> str:
    """Young's and Daly's intervals as vertical lines (and legend entries); returns a footnote."""
    values = [float(v) for v in folder.summary["params"][INTERVAL]]
    young, daly, note = _intervals(folder, series)
    shorter = min(young or math.inf, daly or math.inf)
    for minutes, name, style in ((young, "Young (1974) √(2δM)", ":"), (daly, "Daly (2006) optimum", "--")):
        if minutes is not None:
            label = _mark_interval(axes, minutes, name, style, min(values), max(values), minutes == shorter)
            legend.append((axes[0].plot([], [], color=plot_base.TEXT, linestyle=style)[0], label))
    return note


def _mark_best(
    folder: SweepFolder, panels: Sequence[tuple[Axes, str]], x_key: str, series: list[Any], legend: list[Any]
) -> None:
    """A star on the best point of every panel (if its line is drawn), and a legend entry with its ETTR and CI."""
    summary = folder.summary
    best = summary.get("best") or {}
    line = next((i for i, (_, pts) in enumerate(series) if any(p["params"] == best for p in pts)), None)
    if line is None:
        return
    point = next(p for p in series[line][1] if p["params"] == best)
    values = list(summary["params"][x_key])
    x = sb.x_pos(point, x_key, values) + sb.dodge(line, len(series), values)
    star = None
    for ax, metric in panels:
        y = sb.stat(point, metric)[0]
        star = ax.plot([x], [y], "*", markersize=18, color=BEST_COLOR, markeredgecolor="black")
    ettr = sb.stat(point, "ettr")
    objective = METRIC_LABELS.get(summary.get("objective", "ettr"), summary.get("objective", "ettr"))
    text = (
        f"best (highest mean {objective}):\n{sb.series_label(point['params'])}\n"
        f"ETTR {ettr[0]:.1%} (95% CI {ettr[1]:.1%}–{ettr[2]:.1%})"
    )
    if star:
        legend.append((star[0], text))


def sweep_curve(folder: SweepFolder) -> Figure:
    """ETTR (top) and effective compute ratio (bottom) against the first swept key, with 95% CI bands."""
    summary = folder.summary
    x_key = folder.keys[0]
    values = list(summary["params"][x_key])
    series, hidden = sb.capped(sb.series(folder, x_key), dict(summary.get("best") or {}))
    fig = plot_base.new_figure()
    top, bottom = fig.subplots(2, 1, sharex=True)
    sb.x_axis(bottom, x_key, values)
    panels = ((top, "ettr"), (bottom, "effective_compute_ratio"))
    _draw_series(panels, series, x_key, values)
    sb.percent(top, "ETTR\n(% of job GPU-time useful)")
    sb.cap_at_one(top)
    sb.percent(bottom, "effective compute\n(% of theoretical peak FLOPs)")
    what = "Shaded" if sb.numeric(values) else "Error bars"
    notes = [CI_NOTE.format(what=what, n=per_point(summary))]
    if hidden:
        notes.append(f"{hidden} more combinations of {', '.join(folder.keys[1:])} not drawn (see points.csv)")
    legend: list[Any] = list(zip(*top.get_legend_handles_labels(), strict=True))
    if x_key == INTERVAL and sb.numeric(values):
        notes.append(_mark_intervals(folder, (top, bottom), series, legend))
    _mark_best(folder, panels, x_key, series, legend)
    title = key_label(folder.keys[1]) if len(folder.keys) > 1 else None
    # On the axes, not the figure: constrained layout makes room for an axes legend beside the panels.
    handles, labels = zip(*legend, strict=True)
    top.legend(
        handles,
        labels,
        loc="upper left",
        bbox_to_anchor=(1.01, 1.0),
        fontsize=9,
        title=title,
        title_fontsize=9,
        frameon=False,
    )
    sb.header(fig, sb.question(x_key), summary, ".  ".join(n for n in notes if n))
    return fig


# ---------------------------------------------------------------- scale


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


# ---------------------------------------------------------------- files


def write_sweep_charts(folder_path: str | Path | SweepFolder, svg: bool = False) -> list[Path]:
    """Write ``sweep_curve.png`` (and ``scale.png`` when GPUs are swept) into a sweep folder; SVG too on request.

    Each file is written atomically. Raises ``NotResults`` for a folder that is not a complete sweep folder.
    """
    folder = folder_path if isinstance(folder_path, SweepFolder) else load(folder_path)
    if not isinstance(folder, SweepFolder):
        raise NotResults(f"{folder.path} is a run folder, not a sweep folder")
    written: list[Path] = []
    # An optimize folder is a sweep of the values it evaluated, with the search's own chart.
    optimized = "optimum" in folder.summary
    builds = (("optimize", optimize_chart),) if optimized else (("sweep_curve", sweep_curve), ("scale", scale_chart))
    for name, build in builds:
        fig = build(folder)
        if fig is None:
            continue
        for suffix in ("png", "svg") if svg else ("png",):
            written.append(plot_base.save(fig, folder.path / f"{name}.{suffix}"))
        del fig  # a Figure made without pyplot is referenced nowhere else: this frees it
    return written
