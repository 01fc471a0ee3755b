"""What the sweep charts share: labels with units for scenario keys, series of points, axes, header.

Everything here reads a sweep's ``summary.json`` (as ``sim.results.folder.SweepFolder``), never a simulation.

>>> key_label("checkpoint.interval_minutes"), key_label("storage.write_gb_per_s")
('checkpoint interval (minutes of compute)', 'storage write bandwidth (GB/s)')
>>> value_label("cluster.spare_nodes", 8), value_label("checkpoint.interval_minutes", 7.5)
('spare servers = 8', 'interval = 7.5 min')
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import replace
from typing import Any

from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.ticker import FixedLocator, FuncFormatter, NullLocator, PercentFormatter

from sim.config.loading import scenario_from_dict
from sim.config.scenario import Scenario
from sim.plots import base as plot_base
from sim.plots.palette import BUCKET_COLORS
from sim.results.folder import SweepFolder
from sim.results.formats import Scale, fmt_value, scale_for
from sim.results.precision import per_point
from sim.results.schema import GPUS, INTERVAL

#: More lines than this is a tangle; the rest are named in the footnote and stay in points.csv.
MAX_LINES = 8
#: Values that span at least this ratio (max / min) get a log x-axis (cluster sizes: twice).
LOG_SPAN = 10.0
#: Known keys: (axis name, unit, short name for a legend, unit symbol).
KNOWN: dict[str, tuple[str, str, str, str]] = {
    INTERVAL: ("checkpoint interval", "minutes of compute", "interval", "min"),
    GPUS: ("GPUs in the job", "count", "GPUs", ""),
    "cluster.spare_nodes": ("hot spare servers", "count", "spare servers", ""),
    "checkpoint.write_seconds": ("checkpoint write time", "s", "write", "s"),
    "restart.fixed_minutes": ("restart time", "minutes", "restart", "min"),
    "workload.mfu": ("MFU while computing", "fraction of peak", "MFU", ""),
    "energy.usd_per_kwh": ("electricity price", "USD/kWh", "price", "USD/kWh"),
    "power.floor_fraction": ("power floor while the job stands still", "fraction of TDP", "floor", ""),
    "power.swing_threshold_mw": ("swing threshold", "MW", "threshold", "MW"),
    "power.idle_fraction": ("GPU draw standing still", "fraction of TDP", "idle draw", ""),
}
#: Unit suffixes of scenario keys (every user-facing key names its unit).
SUFFIXES: dict[str, tuple[str, str]] = {
    "_minutes": ("minutes", "min"),
    "_hours": ("hours", "h"),
    "_seconds": ("s", "s"),
    "_days": ("days", "days"),
    "_gb_per_s": ("GB/s", "GB/s"),
    "_usd": ("USD", "USD"),
    "_watts_per_gpu": ("W per GPU", "W"),
    "_mw": ("MW", "MW"),
    "_years": ("years", "years"),
}
#: Ordered values of a second key: evenly spaced viridis (colour-blind safe, reads in greyscale),
#: its light yellow end left out for contrast on white.
_VIRIDIS = ["#440154", "#482878", "#3E4989", "#31688E", "#26828E", "#1F9E89", "#35B779", "#6DCD59"]
CI_NOTE = "{what}: 95% confidence interval of the mean over {n} replications per point"
BEST_COLOR = "#F0E442"  # Okabe-Ito yellow, black-edged: the best point in every sweep chart


# ---------------------------------------------------------------- labels


def _split_unit(key: str) -> tuple[str, str, str, str]:
    """(axis name, unit, short name, unit symbol) of a key: known, or from its unit suffix."""
    if key in KNOWN:
        return KNOWN[key]
    section, _, field = key.rpartition(".")
    for suffix, (unit, symbol) in SUFFIXES.items():
        if field.endswith(suffix):
            short = field.removesuffix(suffix).replace("_", " ")
            return f"{section} {short}".strip(), unit, short, symbol
    short = field.replace("_", " ")
    return f"{section} {short}".strip(), "as in the scenario file", short, ""


def key_label(key: str) -> str:
    """An axis label for a scenario key, with its unit."""
    name, unit, _, _ = _split_unit(key)
    if key.endswith("_gb_per_s"):
        name = f"{name} bandwidth"
    return f"{name} ({unit})"


def value_label(key: str, value: Any) -> str:
    """``short name = value unit``, for a legend."""
    _, _, short, symbol = _split_unit(key)
    return f"{short} = {fmt_value(value, thousands=True)}{' ' + symbol if symbol else ''}"


# ---------------------------------------------------------------- data


def numeric(values: Sequence[Any]) -> bool:
    """Whether swept values lie on a number line (true/false do not: TOML booleans are categories)."""
    return all(isinstance(v, int | float) and not isinstance(v, bool) for v in values)


def stat(point: dict[str, Any], metric: str) -> tuple[float, float, float]:
    """``(mean, ci95 low, ci95 high)`` of one metric of a summary point."""
    return plot_base.stat(point["metrics"], metric)


def point_scenario(summary: dict[str, Any], params: dict[str, Any]) -> Scenario:
    """The scenario of one sweep point, rebuilt from ``scenario_resolved`` and the point's values.

    The resolved scenario records every field; an interval that policy young or daly would ignore
    is dropped, since the validator refuses it as an ignored setting.
    """
    raw: dict[str, Any] = {k: (dict(v) if isinstance(v, dict) else v) for k, v in summary["scenario_resolved"].items()}
    policy = params.get("checkpoint.policy", raw.get("checkpoint", {}).get("policy", "fixed"))
    if policy != "fixed" and INTERVAL not in params:
        raw["checkpoint"].pop("interval_minutes", None)
    return scenario_from_dict(raw, params)


def series(folder: SweepFolder, x_key: str) -> list[tuple[dict[str, Any], list[dict[str, Any]]]]:
    """Points grouped by the values of every other swept key, in grid order; each group sorted by x."""
    groups: dict[tuple[str, ...], tuple[dict[str, Any], list[dict[str, Any]]]] = {}
    for p in folder.summary["points"]:
        rest = {k: v for k, v in p["params"].items() if k != x_key}
        groups.setdefault(tuple(repr(v) for v in rest.values()), (rest, []))[1].append(p)
    values = folder.summary["params"][x_key]
    if numeric(values):
        for _, pts in groups.values():
            pts.sort(key=lambda p: float(p["params"][x_key]))
    return list(groups.values())


def capped(series: list[tuple[dict[str, Any], list[dict[str, Any]]]], best: dict[str, Any]) -> tuple[list[Any], int]:
    """At most MAX_LINES series, the best point's always among them; and how many were left out."""
    if len(series) <= MAX_LINES:
        return series, 0
    holds_best = [i for i, (rest, _) in enumerate(series) if all(best.get(k) == v for k, v in rest.items())]
    keep = series[: MAX_LINES - 1]
    if holds_best and holds_best[0] >= MAX_LINES - 1:
        keep.append(series[holds_best[0]])
    else:
        keep.append(series[MAX_LINES - 1])
    return keep, len(series) - MAX_LINES


def colors(n: int) -> list[str]:
    """Colours of ``n`` lines: the palette's "useful" green for one, spread over viridis for more."""
    if n == 1:
        return [BUCKET_COLORS["useful"]]
    step = (len(_VIRIDIS) - 1) / max(n - 1, 1)
    return [_VIRIDIS[round(i * step)] for i in range(n)]


def series_label(rest: dict[str, Any]) -> str:
    """A line's legend entry: the values of the keys other than the x-axis key."""
    return ", ".join(value_label(k, v) for k, v in rest.items()) or "simulated"


# ---------------------------------------------------------------- axes


def x_axis(ax: Axes, key: str, values: Sequence[Any]) -> bool:
    """Scale, ticks and label of a swept key; True when the axis is logarithmic."""
    # Cluster sizes grow by factors (doubling): a log axis keeps 16,384 and 32,768 apart.
    span = LOG_SPAN if key != GPUS else 2.0
    log = numeric(values) and min(values) > 0 and max(values) / min(values) >= span
    if numeric(values):
        if log:  # before the locators: setting a scale resets them (on every axes sharing x)
            ax.set_xscale("log")
            ax.xaxis.set_minor_locator(NullLocator())
        scale = value_scale(values)
        if len(values) <= 12:  # tick exactly the swept values: they are what the reader looks up
            ax.xaxis.set_major_locator(FixedLocator(sorted(float(v) for v in values)))
            ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _: scale.label(v)))
        else:
            ax.xaxis.set_major_formatter(FuncFormatter(scale.tick))
    else:
        ax.set_xticks(range(len(values)), [fmt_value(v, thousands=True) for v in values])
    ax.set_xlabel(key_label(key) + (", log scale" if log else ""))
    return log


def value_scale(values: Sequence[Any]) -> Scale:
    """One format for the swept values: as many decimals as tell them apart, the same for all, no suffix.

    >>> s = value_scale([4.0, 5.657, 8.0, 11.31]); [s.label(v) for v in (4.0, 5.657, 11.31)]
    ['4.0', '5.7', '11.3']
    >>> [value_scale([16384, 100000]).label(v) for v in (16384, 100000)]
    ['16,384', '100,000']
    """
    floats = [float(v) for v in values]
    scale = replace(scale_for(floats), divisor=1.0, suffix="")  # the values as typed: 100,000, not 0.1M
    while len({scale.label(v) for v in floats}) < len(set(floats)) and scale.decimals < 6:
        scale = replace(scale, decimals=scale.decimals + 1)
    return scale


def dodge(i: int, n: int, values: Sequence[Any]) -> float:
    """Offset of line ``i`` of ``n`` on a categorical axis: error bars at one category must not hide each other."""
    return 0.0 if numeric(values) else 0.06 * (i - (n - 1) / 2)


def x_pos(p: dict[str, Any], key: str, values: Sequence[Any]) -> float:
    v = p["params"][key]
    return float(v) if numeric(values) else float(values.index(v))


def percent(ax: Axes, label: str) -> None:
    # PercentFormatter picks the decimals from the axis span, so ticks 2.5 points apart read 22.5%, 25%.
    ax.yaxis.set_major_formatter(PercentFormatter(1.0))
    ax.set_ylabel(label)
    ax.grid(True, color="#DDDDDD", linewidth=0.8)
    ax.set_axisbelow(True)


def cap_at_one(ax: Axes, top: float = 1.02) -> None:
    """Little room above 100% on an ETTR axis: a CI of the mean from few replications can reach past it, ETTR cannot."""
    lo, hi = ax.get_ylim()
    if hi > top:
        ax.set_ylim(lo, top)


def header(fig: Figure, question: str, summary: dict[str, Any], footnote: str) -> None:
    """plot_base's header, with a subtitle that says how many points and replications per point."""
    s = summary.get("scenario_resolved", {})
    n, points = per_point(summary), len(summary.get("points", []))
    sub = plot_base.SEPARATOR.join(
        str(part)
        for part in (
            s.get("title") or summary.get("scenario", ""),
            f"{points} points × {n} replication{'s' if n != '1' else ''} each, paired (same failures at every point)",
            f"seed {summary.get('seed')}",
        )
        if part
    )
    plot_base.header(fig, question, summary, footnote, sub=sub)


def question(key: str) -> str:
    return {
        INTERVAL: "Which checkpoint interval keeps the most of the run useful?",
        GPUS: "How much useful compute does each cluster size deliver?",
        "cluster.spare_nodes": "How many hot spare servers does the run need?",
    }.get(key, f"How does the {key_label(key).split(' (')[0]} change useful compute?")


def duration(hours: float) -> str:
    if not math.isfinite(hours):
        return ""
    return f"MTBF {hours * 60:.0f} min" if hours < 2 else f"MTBF {hours:.1f} h"
