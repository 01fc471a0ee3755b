"""Sweep charts: ETTR and effective compute against the swept key (``sweep_curve``), and the files.

Drawn from a finished sweep folder (``summary.json``), never from simulation objects. Lines with CI
bands over a number line, bars with CI whiskers for categories; a ``cluster.gpus`` sweep adds the
useful FLOPs (or the time to train) beside the shares; the best point by the sweep's objective is
starred. The analytic marks (Young's and Daly's intervals) come from the scenario recorded in the
summary, through ``sim.analysis.estimates.check_report``, so they are the numbers ``trainsim
check`` prints. Labels, series and axes: ``sim.plots.sweep_base``; the scale chart:
``sim.plots.scale``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter
from matplotlib.transforms import offset_copy

from sim.analysis.estimates import check_report
from sim.config.errors import ScenarioError
from sim.plots import base as plot_base
from sim.plots import sweep_base as sb
from sim.plots.base import Build
from sim.plots.optimize import optimize_chart
from sim.plots.palette import REALIZED_COLOR
from sim.plots.scale import scale_chart
from sim.plots.sweep_base import BEST_COLOR, CI_NOTE, key_label, point_scenario
from sim.results.folder import NotResults, SweepFolder, load
from sim.results.formats import Scale, fmt_range, metric_fmt
from sim.results.precision import per_point
from sim.results.schema import FRACTIONS, GPUS, INTERVAL, METRIC_LABELS, better_word

__all__ = ["best_direction", "scale_chart", "sweep_builds", "sweep_curve", "write_sweep_charts"]

#: Width of a category's group of bars (the categories are 1 apart).
BAR_GROUP = 0.7
#: Where the best bar's star sits from the top of its whisker (points): right of its value label.
STAR_OFFSET_PT = (27, 10)

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


def _draw_lines(panels: Sequence[tuple[Axes, str]], series: list[Any], x_key: str) -> None:
    """One line per series on every panel: mean and its 95% CI band."""
    single = len(series) == 1
    for color, (rest, pts) in zip(sb.colors(len(series)), series, strict=True):
        xs = [float(p["params"][x_key]) for p in pts]
        for ax, metric in panels:
            mean, lo, hi = zip(*(sb.stat(p, metric) for p in pts), strict=True)
            # One line: the palette's colours of what each panel measures (useful time, realized FLOPs).
            line_color = REALIZED_COLOR if single and metric != "ettr" else color
            ax.fill_between(xs, lo, hi, color=line_color, alpha=0.18, linewidth=0)
            ax.plot(xs, mean, "o-", color=line_color, linewidth=2, markersize=5, label=sb.series_label(rest))


def _bar_x(i: int, n: int, category: int) -> float:
    """Centre of bar ``i`` of ``n`` (one per series) in a category's group."""
    return category + BAR_GROUP * ((i + 0.5) / n - 0.5)


def _draw_bars(panels: Sequence[tuple[Axes, str]], series: list[Any], x_key: str, values: list[Any]) -> None:
    """Categories as groups of bars (one bar per series) with 95% CI whiskers and the mean above each."""
    single, n = len(series) == 1, len(series)
    for i, (color, (rest, pts)) in enumerate(zip(sb.colors(n), series, strict=True)):
        xs = [_bar_x(i, n, values.index(p["params"][x_key])) for p in pts]
        for ax, metric in panels:
            mean, lo, hi = zip(*(sb.stat(p, metric) for p in pts), strict=True)
            bar_color = REALIZED_COLOR if single and metric != "ettr" else color
            err = [[m - a for m, a in zip(mean, lo, strict=True)], [b - m for m, b in zip(mean, hi, strict=True)]]
            ax.bar(
                xs,
                mean,
                width=BAR_GROUP / n * 0.9,
                color=bar_color,
                edgecolor=plot_base.TEXT,
                linewidth=0.6,
                yerr=err,
                error_kw={"ecolor": plot_base.TEXT, "capsize": 4, "elinewidth": 1.1},
                label=sb.series_label(rest),
            )
            fmt = metric_fmt(metric)
            for x, m, top in zip(xs, mean, hi, strict=True):
                ax.annotate(
                    fmt(m),
                    (x, top),
                    xytext=(0, 3),
                    textcoords="offset points",
                    ha="center",
                    va="bottom",
                    fontsize=9 if n > 2 else 10,
                    color=plot_base.TEXT,
                )
    for ax, metric in panels:
        ax.set_xlim(-0.6, len(values) - 0.4)
        top = max(sb.stat(p, metric)[2] for _, pts in series for p in pts)
        # From zero, as bars must be; room above the tallest whisker for its label and the star.
        ax.set_ylim(0.0, top * 1.25 if math.isfinite(top) and top > 0 else 1.0)


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


def best_direction(summary: dict[str, Any]) -> str:
    """``"highest"`` or ``"lowest"``: which mean of the sweep's objective is best (``sim.results.schema``)."""
    return better_word(summary.get("objective", "ettr"))


def _mark_best(folder: SweepFolder, panels: Sequence[tuple[Axes, str]], x_key: str, series: list[Any]) -> Any:
    """A star on the sweep's best point (by its objective) on every panel, if its series is drawn.

    Returns the legend entry ``(handle, text)`` with the objective's mean and CI, or ``None``.
    """
    summary = folder.summary
    best = summary.get("best") or {}
    line = next((i for i, (_, pts) in enumerate(series) if any(p["params"] == best for p in pts)), None)
    if line is None:
        return None
    point = next(p for p in series[line][1] if p["params"] == best)
    values = list(summary["params"][x_key])
    bars = not sb.numeric(values)
    x = _bar_x(line, len(series), values.index(point["params"][x_key])) if bars else float(point["params"][x_key])
    star = None
    for ax, metric in panels:
        mean, _, hi = sb.stat(point, metric)
        # Beside a bar's value label; on a line's point.
        dx, dy = STAR_OFFSET_PT
        where = offset_copy(ax.transData, fig=ax.get_figure(root=True), x=dx, y=dy, units="points")
        where = where if bars else ax.transData
        star = ax.plot(
            [x],
            [hi if bars else mean],
            "*",
            markersize=18,
            color=BEST_COLOR,
            markeredgecolor="black",
            transform=where,
            clip_on=False,
            zorder=5,
        )
    objective = summary.get("objective", "ettr")
    label = METRIC_LABELS.get(objective, objective)
    fmt = metric_fmt(objective)
    mean, lo, hi = sb.stat(point, objective)
    ci = fmt_range(lo, hi, fmt, "–")
    text = (
        f"best by {label} ({best_direction(summary)} mean):\n{sb.series_label(point['params'])}\n"
        f"{label} {fmt(mean)}" + (f" (95% CI {ci})" if ci else "")
    )
    return (star[0], text) if star else None


def _absolute_metric(folder: SweepFolder) -> str:
    """What a cluster-size sweep draws beside the ratios: the time to train when the run has a target,
    else the useful (realized) FLOPs."""
    metrics = folder.summary["points"][0]["metrics"] if folder.summary["points"] else {}
    return "time_to_train_days" if "time_to_train_days" in metrics else "realized_flop"


def _absolute_panel(ax: Axes, folder: SweepFolder, metric: str, series: list[Any]) -> None:
    """Axis, label and reference of the absolute panel; the failure-free FLOPs (peak x MFU) as a dashed line."""
    summary = folder.summary
    if metric == "realized_flop" and len(series) == 1:
        pts = series[0][1]
        mfu = float(summary["scenario_resolved"]["workload"]["mfu"])
        xs = [float(p["params"][GPUS]) for p in pts]
        ideal = [sb.stat(p, "theoretical_flop")[0] * float(p["params"].get("workload.mfu", mfu)) for p in pts]
        ax.plot(xs, ideal, "--", color=plot_base.TEXT, linewidth=1.4, label="failure-free (peak × MFU)")
    if metric == "realized_flop":
        ax.set_ylabel("useful model FLOPs per run (FLOP)")
        ax.yaxis.set_major_formatter(FuncFormatter(Scale(scientific=True).tick))
        ax.set_ylim(bottom=0.0)
        ax.set_title("Useful compute delivered", fontsize=12, loc="left")
    else:
        ax.set_ylabel("time to train (days)")
        ax.set_title("Time to train", fontsize=12, loc="left")
    ax.grid(True, color="#DDDDDD", linewidth=0.8)
    ax.set_axisbelow(True)


def sweep_curve(folder: SweepFolder) -> Figure:
    """ETTR and effective compute ratio against the first swept key: lines with 95% CI bands over a
    number line, bars with CI whiskers for categories; a cluster-size sweep adds the useful FLOPs
    (or the time to train) beside them. The best point by the sweep's objective is starred."""
    summary = folder.summary
    x_key = folder.keys[0]
    values = list(summary["params"][x_key])
    bars = not sb.numeric(values)
    series, hidden = sb.capped(sb.series(folder, x_key), dict(summary.get("best") or {}))
    fig = plot_base.new_figure()
    if x_key == GPUS and not bars:
        grid = fig.add_gridspec(2, 2, width_ratios=[1.15, 1.0])
        absolute = fig.add_subplot(grid[:, 0])
        top = fig.add_subplot(grid[0, 1], sharex=absolute)
        bottom = fig.add_subplot(grid[1, 1], sharex=absolute)
        metric = _absolute_metric(folder)
        panels: tuple[tuple[Axes, str], ...] = ((top, "ettr"), (bottom, "effective_compute_ratio"), (absolute, metric))
        sb.x_axis(absolute, x_key, values)
        sb.x_axis(bottom, x_key, values)
        top.tick_params(labelbottom=False)
        top.set_title("ETTR and effective compute (shares)", fontsize=12, loc="left")
    else:
        top, bottom = fig.subplots(2, 1, sharex=True)
        panels = ((top, "ettr"), (bottom, "effective_compute_ratio"))
        sb.x_axis(bottom, x_key, values)
    if bars:
        _draw_bars(panels, series, x_key, values)
    else:
        _draw_lines(panels, series, x_key)
    if len(panels) == 3:
        _absolute_panel(panels[2][0], folder, panels[2][1], series)
    sb.percent(top, "ETTR\n(% of job GPU-time useful)")
    sb.cap_at_one(top, 1.1 if bars else 1.02)
    sb.percent(bottom, "effective compute\n(% of theoretical peak FLOPs)")
    if bars:  # a category has no in-between: grid lines across only
        for ax, _ in panels:
            ax.grid(axis="x", visible=False)
    what = "Error bars" if bars else "Shaded"
    notes = [CI_NOTE.format(what=what, n=per_point(summary))]
    if hidden:
        notes.append(f"{hidden} more combinations of {', '.join(folder.keys[1:])} not drawn (see points.csv)")
    legend: list[Any] = list(zip(*top.get_legend_handles_labels(), strict=True))
    if len(panels) == 3:
        legend += list(zip(*panels[2][0].get_legend_handles_labels(), strict=True))[len(series) :]
    if x_key == INTERVAL and not bars:
        notes.append(_mark_intervals(folder, (top, bottom), series, legend))
    best = _mark_best(folder, panels, x_key, series)
    if best:
        legend.append(best)
    objective = summary.get("objective", "ettr")
    if GPUS in folder.keys and objective in FRACTIONS:
        notes.append(
            f"Best by {METRIC_LABELS.get(objective, objective)}, a share: it favours the smallest cluster; "
            "--objective realized_flop ranks cluster sizes by the compute they deliver"
        )
    title = key_label(folder.keys[1]) if len(folder.keys) > 1 else None
    # On the axes, not the figure: constrained layout makes room for an axes legend beside the panels.
    handles, labels = zip(*legend, strict=True)
    if len(panels) == 3 and panels[2][1] == "realized_flop":
        # Inside the FLOP panel's upper left, empty since more GPUs deliver more: the shares keep their width.
        plot_base.side_legend(panels[2][0], handles, labels, x=0.02, title=title, title_fontsize=9)
    else:
        plot_base.side_legend(top, handles, labels, title=title, title_fontsize=9)
    sb.header(fig, sb.question(x_key), summary, ".  ".join(n for n in notes if n))
    return fig


# ---------------------------------------------------------------- files


def sweep_builds(folder: SweepFolder) -> list[Build]:
    """The charts of a sweep folder: the sweep curve and, for a sweep of cluster.gpus, the scale chart; an optimize
    folder (a sweep of the values it evaluated) has the search's own chart instead."""
    if "optimum" in folder.summary:
        return [("optimize", lambda: optimize_chart(folder))]
    return [("sweep_curve", lambda: sweep_curve(folder)), ("scale", lambda: scale_chart(folder))]


def write_sweep_charts(folder_path: str | Path | SweepFolder, svg: bool = False) -> list[Path]:
    """Write ``sweep_curve.png`` (and ``scale.png`` when GPUs are swept) into a sweep folder; SVG too on request.

    Each file is written atomically. Raises ``NotResults`` for a folder that is not a complete sweep folder.
    """
    folder = folder_path if isinstance(folder_path, SweepFolder) else load(folder_path)
    if not isinstance(folder, SweepFolder):
        raise NotResults(f"{folder.path} is a run folder, not a sweep folder")
    return plot_base.write_figures(folder.path, sweep_builds(folder), svg)
