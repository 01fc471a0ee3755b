"""The power chart: the cluster's draw over a run and its swings, drawn from ``power.parquet``.

``power.parquet`` holds, per replication, the draw as a polyline (``time_s``, ``it_mw``,
``facility_mw``; a step is two rows at one time), measured exactly by ``sim.analysis.polyline``.
Three panels:

- a day of one replication at full resolution, IT and facility MW; by default the day with the most
  swings down of replication 0;
- that replication's whole run as envelopes per day (per bin of a short run, as on the timeline):
  the min-max band and the time-weighted mean;
- the sizes of the swings larger than ``power.swing_threshold_mw`` in every replication, down and up.

A swing is a maximal run of the IT trace in one direction (steps and ramps alike; a flat piece ends
it): a failure of the synchronous job is a swing down, its restart later a swing up. A folder
without ``power.parquet`` has no power chart: ``power_chart`` returns ``None``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.axis import Axis
from matplotlib.figure import Figure
from matplotlib.ticker import FixedLocator, FuncFormatter, MaxNLocator

from sim.analysis.polyline import envelopes, swing_times, swings, window
from sim.plots.base import SEPARATOR, header, new_figure, stat, subtitle
from sim.plots.palette import POWER_COLORS
from sim.plots.track import bin_hours, bin_name
from sim.results.folder import RunFolder
from sim.results.formats import scale_for

__all__ = ["DEFAULT_THRESHOLD_MW", "QUESTION", "PowerTrace", "busiest_day", "power_chart", "swing_threshold"]

QUESTION = "How much does the cluster's power draw swing?"
#: ``power.swing_threshold_mw`` for results written before the key existed: the issue's default, 10 MW.
DEFAULT_THRESHOLD_MW = 10.0
DAY_S = 86400.0
#: Summary metrics the footnote quotes (means over the replications), with their words and units.
QUOTED = (
    ("power_mean_mw", "{} MW mean draw"),
    ("power_peak_mw", "{} MW peak"),
    ("swings_per_day", "{} swings a day"),
    ("largest_swing_mw", "largest swing {} MW"),
    ("fastest_ramp_mw_per_s", "fastest ramp {} MW/s"),
    ("hours_below_half_load", "{} hours below half load"),
)


@dataclass(frozen=True)
class PowerTrace:
    """One replication's trace: seconds, IT MW and facility MW, rows as in ``power.parquet``."""

    x: np.ndarray
    it: np.ndarray
    facility: np.ndarray

    @classmethod
    def of(cls, power: pd.DataFrame, replication: int) -> PowerTrace:
        """The rows of ``replication``, in the file's order (a step's two rows keep theirs)."""
        rows = power[power["replication"] == replication]
        if not len(rows):
            have = sorted(int(r) for r in power["replication"].unique())
            raise ValueError(f"no replication {replication} in power.parquet: it has {have}")
        return cls(*(rows[c].to_numpy(dtype=float) for c in ("time_s", "it_mw", "facility_mw")))


def swing_threshold(summary: dict[str, Any]) -> float:
    """``power.swing_threshold_mw`` of the resolved scenario (MW)."""
    power = summary.get("scenario_resolved", {}).get("power") or {}
    # Results written before the [power] section had the key: the default.
    return float(power.get("swing_threshold_mw", DEFAULT_THRESHOLD_MW))


def busiest_day(trace: PowerTrace, threshold: float) -> tuple[int, int]:
    """``(day, swings down)``: the day (from 0) with the most swings down larger than ``threshold``, the first
    of equals; a swing counts on the day it starts.

    >>> t = PowerTrace(np.array([0.0, 9e4, 9e4, 2e5]), np.array([50.0, 50.0, 20.0, 20.0]), np.zeros(4))
    >>> busiest_day(t, 10.0)
    (1, 1)
    """
    times, sizes = swing_times(trace.x, trace.it)
    days = max(1, math.ceil((trace.x[-1] - trace.x[0]) / DAY_S))
    drops = np.bincount(((times[sizes < -threshold] - trace.x[0]) // DAY_S).astype(int), minlength=days)[:days]
    return int(np.argmax(drops)), int(drops.max())


#: Room above the highest value for a legend's row, as a share of it.
HEADROOM = 1.3


def _ticks(axis: Axis, lo: float, hi: float, steps: list[float] | None = None, bins: int = 5) -> None:
    """Round ticks on [lo, hi], every label with the decimals the finest needs: '0.0, 0.5, 1.0', not '0, 0.5, 1'.

    ``steps`` and ``bins``: the tick steps allowed and the most intervals, as ``MaxNLocator``'s.

    >>> ax = Figure().subplots()
    >>> _ticks(ax.xaxis, 0.0, 1.0)
    >>> [ax.xaxis.get_major_formatter()(v) for v in ax.get_xticks()]
    ['0.0', '0.2', '0.4', '0.6', '0.8', '1.0']
    """
    values = [float(v) for v in MaxNLocator(bins, steps=steps).tick_values(lo, hi) if lo - 1e-12 <= v <= hi + 1e-12]
    decimals = max((len(f"{v:.6f}".rstrip("0").partition(".")[2]) for v in values), default=0)
    axis.set_major_locator(FixedLocator(values))
    axis.set_major_formatter(FuncFormatter(lambda v, _pos: f"{v:,.{decimals}f}"))


def _mw_axis(ax: Axes, values: np.ndarray) -> None:
    """MW from zero up to the highest value with room above for the legend, ticks in one format."""
    top = (float(np.max(values)) if len(values) else 1.0) or 1.0
    ax.set_ylim(0.0, top * HEADROOM)
    _ticks(ax.yaxis, 0.0, top * HEADROOM)
    ax.grid(axis="y", color="#DDDDDD", linewidth=0.7)
    ax.set_axisbelow(True)
    ax.spines[["top", "right"]].set_visible(False)
    ax.tick_params(labelsize=9.5)


def _pue_label(trace: PowerTrace) -> str:
    """The facility line's name, with the PUE when it is one constant ratio."""
    ratio = trace.facility[trace.it > 0] / trace.it[trace.it > 0]
    if len(ratio) and float(np.ptp(ratio)) < 1e-9:
        return f"facility (IT × PUE {ratio[0]:.2f})"
    return "facility (IT × PUE)"


def _day_panel(ax: Axes, trace: PowerTrace, day: int, drops: int, busiest: bool, replication: int) -> float:
    """The day at full resolution (hours on x); returns its start (s)."""
    start = trace.x[0] + day * DAY_S
    end = min(start + DAY_S, trace.x[-1])
    x, it = window(trace.x, trace.it, start, end)
    _, facility = window(trace.x, trace.facility, start, end)
    hours = (x - start) / 3600.0
    ax.plot(hours, facility, color=POWER_COLORS["facility"], lw=1.4, label=_pue_label(trace))
    ax.plot(hours, it, color=POWER_COLORS["it"], lw=1.1, label="IT (GPUs, hosts, network)")
    span_h = (end - start) / 3600.0
    ax.set_xlim(0.0, span_h)
    _ticks(ax.xaxis, 0.0, span_h, [1, 2, 3, 6, 10], bins=8)  # a day: every 3 hours
    _mw_axis(ax, facility)
    whole = trace.x[-1] - trace.x[0] <= DAY_S
    what = "The whole run" if whole else f"Day {day + 1}"
    most = " (the most of any day)" if busiest and not whole else ""
    count = f"{drops:,} swing{'' if drops == 1 else 's'} down"
    ax.set_title(
        f"{what} of replication {replication} at full resolution: {count}{most}",
        fontsize=12,
        loc="left",
    )
    ax.set_xlabel(f"time since the start of {'the run' if whole else f'day {day + 1}'} (hours)", fontsize=10)
    ax.set_ylabel("power (MW)", fontsize=10)
    ax.legend(loc="upper left", ncols=2, fontsize=9, frameon=False)
    return float(start)


def _envelope_panel(ax: Axes, trace: PowerTrace, shown: tuple[float, float]) -> None:
    """Per bin of the whole run: the min-max band and the mean of IT power; the day shown above shaded."""
    horizon_h = (trace.x[-1] - trace.x[0]) / 3600.0
    width_h = bin_hours(horizon_h)
    starts, lo, mean, hi = envelopes(trace.x, trace.it, width_h * 3600.0)
    edges = (np.append(starts, trace.x[-1]) - trace.x[0]) / DAY_S
    ax.axvspan(*((np.asarray(shown) - trace.x[0]) / DAY_S), color="#BBBBBB", alpha=0.35, lw=0, label="shown above")
    ax.stairs(hi, edges, baseline=lo, fill=True, color=POWER_COLORS["it"], alpha=0.25, lw=0, label="min – max")
    ax.stairs(mean, edges, baseline=None, color=POWER_COLORS["it"], lw=1.6, label="time-weighted mean")
    ax.set_xlim(0.0, edges[-1])
    _ticks(ax.xaxis, 0.0, float(edges[-1]))
    _mw_axis(ax, hi)
    unit = bin_name(width_h)
    ax.set_title(f"The whole run, per {unit}: IT power", fontsize=12, loc="left")
    ax.set_xlabel("time since the start of the run (days)", fontsize=10)
    ax.set_ylabel("IT power (MW)", fontsize=10)
    ax.legend(loc="upper left", ncols=3, fontsize=9, frameon=False)


def _histogram_panel(ax: Axes, power: pd.DataFrame, threshold: float) -> None:
    """Swings larger than ``threshold`` in every replication, down and up, as a mean per replication."""
    down: list[np.ndarray] = []
    up: list[np.ndarray] = []
    replications = 0
    for _, rows in power.groupby("replication", sort=True):
        sizes = swings(rows["time_s"].to_numpy(dtype=float), rows["it_mw"].to_numpy(dtype=float))
        down.append(-sizes[sizes < -threshold])
        up.append(sizes[sizes > threshold])
        replications += 1
    d, u = np.concatenate(down), np.concatenate(up)
    both = np.concatenate((d, u))
    if not len(both):
        ax.axis("off")
        ax.text(0.5, 0.5, f"No swing larger than {threshold:g} MW.", ha="center", va="center", fontsize=12)
        return
    # From zero, so that a swing's size reads against the whole draw; bins on round MW.
    rounded = MaxNLocator(5).tick_values(0.0, float(both.max()) * 1.05)
    step = float(rounded[1] - rounded[0]) / 5.0
    bins = (step * np.arange(math.floor(float(both.max()) / step) + 2)).tolist()  # the largest inside the last
    ax.set_xlim(0.0, bins[-1] + step)
    per_run = 1.0 / replications
    counts = scale_for([len(d) * per_run, len(u) * per_run], significant=3)
    ax.hist(
        [d, u],
        bins=bins,
        weights=[np.full(len(d), per_run), np.full(len(u), per_run)],
        color=[POWER_COLORS["down"], POWER_COLORS["up"]],
        label=[f"down: {counts.label(len(d) * per_run)} a run", f"up: {counts.label(len(u) * per_run)} a run"],
    )
    _ticks(ax.xaxis, 0.0, bins[-1] + step)
    _ticks(ax.yaxis, 0.0, ax.get_ylim()[1])
    ax.grid(axis="y", color="#DDDDDD", linewidth=0.7)
    ax.set_axisbelow(True)
    ax.spines[["top", "right"]].set_visible(False)
    ax.tick_params(labelsize=9.5)
    ax.set_title(f"Swings larger than {threshold:g} MW, per run", fontsize=12, loc="left")
    ax.set_xlabel("size of the swing (MW)", fontsize=10)
    ax.set_ylabel("swings per run (count)", fontsize=10)
    title = f"mean of {replications} replications"
    ax.legend(loc="upper left", fontsize=9, frameon=False, title=title, title_fontsize=9, alignment="left")


def _footnote(summary: dict[str, Any], threshold: float) -> str:
    """What IT power and a swing are, and the run's power metrics as summary.json has them."""
    note = (
        "IT power: GPUs, hosts and network switches; facility power = IT × PUE.  A swing: a run of the IT draw in "
        f"one direction (steps and ramps; a flat stretch ends it), counted when larger than {threshold:g} MW."
    )
    metrics = summary.get("metrics", {})
    quoted = []
    for name, words in QUOTED:
        if name in metrics:
            mean = stat(metrics, name)[0]
            if not math.isnan(mean):
                quoted.append(words.format(scale_for([mean], significant=3).label(mean)))
    if quoted:
        note += f"  Means of {summary.get('replications')} replications (summary.json): {', '.join(quoted)}."
    return note


def power_chart(folder: RunFolder, replication: int = 0, day: int | None = None) -> Figure | None:
    """The power chart of ``replication``, or ``None`` when the folder has no ``power.parquet``.

    ``day`` (from 0): the day of the first panel; by default the one with the most swings down.
    """
    if folder.power is None:
        return None
    summary = folder.summary
    threshold = swing_threshold(summary)
    trace = PowerTrace.of(folder.power, replication)
    busiest, drops = busiest_day(trace, threshold)
    if day is not None:
        days = max(1, math.ceil((trace.x[-1] - trace.x[0]) / DAY_S))
        if not 0 <= day < days:
            raise ValueError(f"day {day}: replication {replication} has days 0 to {days - 1}")
        times, sizes = swing_times(trace.x, trace.it)
        drops = int(np.sum((sizes < -threshold) & ((times - trace.x[0]) // DAY_S == day)))
    shown = busiest if day is None else day
    fig = new_figure()
    grid = fig.add_gridspec(2, 2, height_ratios=[1.15, 1.0], width_ratios=[1.55, 1.0])
    ax_day = fig.add_subplot(grid[0, :])
    ax_run = fig.add_subplot(grid[1, 0])
    ax_hist = fig.add_subplot(grid[1, 1])
    start = _day_panel(ax_day, trace, shown, drops, day is None, replication)
    _envelope_panel(ax_run, trace, (start, min(start + DAY_S, trace.x[-1])))
    _histogram_panel(ax_hist, folder.power, threshold)
    sub = f"{subtitle(summary)}{SEPARATOR}swings larger than {threshold:g} MW (power.swing_threshold_mw)"
    header(fig, QUESTION, summary, _footnote(summary, threshold), sub=sub)
    return fig
