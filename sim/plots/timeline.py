"""The run timeline: one replication's interruptions and states per day, a zoom, and useful progress.

Drawn from a ``Track`` (``sim.plots.track``): one replication rebuilt from ``events.parquet``.
Over the whole run, thousands of interruptions are counted per day (per bin, for a short run),
stacked by cause (the failure-impact chart's top causes, the rest as "other"), and the day's time
is split into the job's states; a zoom on the first hours shows single interruptions; the useful
compute rebuilt from the events runs against the failure-free line, which runs at the average rate
``interval / (interval + blocking)`` from t = 0 and never stops.

The events do not record slowdowns (stragglers, time of day) or which part of the job computes
while the rest recovers (replica recovery): when the rebuilt line would not end at the ledger's
ETTR, it is drawn as "before slowdowns" if the slowed share explains the gap, and otherwise only the
ledger's end value is drawn, with a note that says why. A folder without ``events.parquet`` has no
timeline: ``timeline`` returns ``None``.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.patches import Patch
from matplotlib.ticker import FixedLocator, FuncFormatter, MaxNLocator, PercentFormatter

from sim.plots.base import FAINT, TEXT, header, new_figure, scaled, side_legend
from sim.plots.causes import TOP, CauseRow, row_of, top_causes
from sim.plots.palette import BUCKET_COLORS, OTHER_COLOR
from sim.plots.track import (
    OTHER,
    STATE_BUCKET,
    STATE_LABELS,
    Track,
    bin_edges,
    bin_hours,
    bin_name,
    interruptions_per_bin,
    state_shares,
    track,
    zoom_hours,
)
from sim.results.folder import RunFolder
from sim.results.formats import scale_for

__all__ = ["QUESTION", "timeline"]

QUESTION = "One replication: when the job computed and when it stood still"
#: Largest gap (share of the horizon) between the rebuilt useful compute and the ledger's ETTR
#: before the chart warns that the events do not tell the whole story.
MISMATCH = 0.005


def _per_bin_interruptions(ax: Axes, tr: Track, rows: list[CauseRow], edges: np.ndarray, bin_h: float) -> None:
    """Stacked bars of interruptions per bin by cause, costliest cause at the bottom; legend beside."""
    counts = interruptions_per_bin(tr, rows, edges)
    colors = {r.name: r.color for r in rows} | {OTHER: OTHER_COLOR}
    x, widths = edges[:-1] / 24.0, np.diff(edges) / 24.0
    bottom = np.zeros(len(x))
    for name, n in counts.items():
        label = f"{name} ({int(n.sum()):,})"
        ax.bar(x, n, width=widths, bottom=bottom, align="edge", color=colors[name], linewidth=0, label=label)
        bottom += n
    total = int(sum(int(n.sum()) for n in counts.values()))
    ax.set_ylabel(f"per {bin_name(bin_h)}", fontsize=10)
    ax.yaxis.set_major_locator(MaxNLocator(4, integer=True))
    ax.yaxis.set_major_formatter(FuncFormatter(scale_for(bottom).tick))
    ax.set_title(
        f"Interruptions per {bin_name(bin_h)}: {total:,} in {tr.horizon_h / 24.0:.3g} days", fontsize=12, loc="left"
    )
    _style_days(ax, tr)


def _per_bin_states(ax: Axes, tr: Track, edges: np.ndarray, bin_h: float) -> None:
    """Stacked bars of each bin's time by job state, computing at the bottom, to 100%; legend beside."""
    shares = state_shares(tr, edges)
    x, widths = edges[:-1] / 24.0, np.diff(edges) / 24.0
    bottom = np.zeros(len(x))
    for state, share in shares.items():
        ax.bar(
            x,
            share,
            width=widths,
            bottom=bottom,
            align="edge",
            color=BUCKET_COLORS[STATE_BUCKET[state]],
            linewidth=0,
            label=STATE_LABELS[state],
        )
        bottom += share
    ax.set_ylim(0.0, 1.0)
    ax.yaxis.set_major_locator(FixedLocator([0.0, 0.5, 1.0]))
    ax.yaxis.set_major_formatter(PercentFormatter(1.0, decimals=0))
    ax.set_ylabel(f"share of the {bin_name(bin_h)}", fontsize=10)
    computing = float(np.dot(shares.get("run", np.zeros(len(x))), widths) / widths.sum())
    ax.set_title(
        f"Time in each state per {bin_name(bin_h)}: computing {computing:.1%} of the run",
        fontsize=12,
        loc="left",
    )
    _style_days(ax, tr)


def _style_days(ax: Axes, tr: Track) -> None:
    ax.set_xlim(0.0, tr.horizon_h / 24.0)
    ax.spines[["top", "right"]].set_visible(False)
    ax.tick_params(labelsize=9.5)


def _band(ax: Axes, tr: Track, limit: float) -> None:
    """The zoom's state band on y in [0, 1] up to ``limit`` hours."""
    for state, bucket in STATE_BUCKET.items():
        spans = [(s, d) for s, d in tr.segments.get(state, []) if s < limit]
        if spans:
            ax.broken_barh(spans, (0.0, 1.0), facecolors=BUCKET_COLORS[bucket], edgecolor="none", antialiased=False)


def _markers(ax: Axes, tr: Track, rows: list[CauseRow], limit: float) -> None:
    """Failure markers above the band, coloured as in the panel above; hollow when the job was already down."""
    f = tr.failures[tr.failures["time_hours"] <= limit]
    group = row_of(rows)

    def colors(causes: pd.Series) -> list[str]:
        return [group[c].color if c in group else OTHER_COLOR for c in causes]

    y = 1.35
    hit, down = f[f["kind"] == "failure"], f[f["kind"] == "failure_while_down"]
    ax.scatter(
        hit["time_hours"],
        np.full(len(hit), y),
        s=55.0,
        marker="v",
        c=colors(hit["cause"]),
        edgecolors=TEXT,
        linewidths=0.5,
    )
    ax.plot([], [], "v", color=FAINT, markeredgecolor=TEXT, markeredgewidth=0.5, label="interruption (colour: cause)")
    if len(down):
        ax.scatter(
            down["time_hours"],
            np.full(len(down), y),
            s=55.0,
            marker="v",
            facecolors="none",
            edgecolors=colors(down["cause"]),
            linewidths=1.2,
        )
        ax.plot([], [], "v", markerfacecolor="none", markeredgecolor=TEXT, label="hollow: struck while down")


def _zoom(ax: Axes, tr: Track, rows: list[CauseRow]) -> None:
    zoom = zoom_hours(tr)
    in_zoom = int(((tr.failures["kind"] == "failure") & (tr.failures["time_hours"] <= zoom)).sum())
    _band(ax, tr, zoom)
    _markers(ax, tr, rows, zoom)
    ax.set_xlim(0.0, zoom)
    ax.set_ylim(-0.05, 1.7)
    ax.set_yticks([0.5, 1.35], ["state", "failures"], fontsize=9.5)
    ax.tick_params(axis="y", length=0)
    ax.tick_params(axis="x", labelsize=9.5)
    ax.set_title(
        f"Zoom on the first {zoom:g} hours (x: hours since the start): {in_zoom:,} interruptions",
        fontsize=12,
        loc="left",
    )
    ax.spines[["top", "right", "left"]].set_visible(False)


def timeline(folder: RunFolder, replication: int = 0, top: int = TOP) -> Figure | None:
    """The timeline chart of ``replication``, or ``None`` when the folder has no ``events.parquet``.

    ``top``: the causes named (as in the failure-impact chart); the others are "other".
    """
    if folder.events is None:
        return None
    summary = folder.summary
    tr = track(summary, folder.events, replication)
    rows = [r for r in top_causes(summary, folder.runs, top) if not r.other]
    bin_h = bin_hours(tr.horizon_h)
    edges = bin_edges(tr.horizon_h, bin_h)
    fig = new_figure()
    # A column of its own for the one legend: beside a panel, a legend would set the panel's height.
    grid = fig.add_gridspec(4, 2, height_ratios=[1.0, 0.75, 1.35, 0.6], width_ratios=[3.3, 1.0])
    ax_hits = fig.add_subplot(grid[0, 0])
    ax_states = fig.add_subplot(grid[1, 0], sharex=ax_hits)
    ax_prog = fig.add_subplot(grid[2, 0], sharex=ax_hits)
    ax_zoom = fig.add_subplot(grid[3, 0])
    ax_key = fig.add_subplot(grid[:, 1])
    ax_key.axis("off")
    _per_bin_interruptions(ax_hits, tr, rows, edges, bin_h)
    _per_bin_states(ax_states, tr, edges, bin_h)
    ax_hits.tick_params(labelbottom=False)
    ax_states.tick_params(labelbottom=False)

    ettr = _ettr(folder, replication)
    rebuilt = tr.progress_h[-1] / tr.horizon_h
    slow = _slow_share(folder, replication)
    untrusted = None
    before_slowdowns = False
    if ettr is not None and abs(rebuilt - ettr) > MISMATCH:
        before_slowdowns = slow > 0 and abs(rebuilt - slow - ettr) <= MISMATCH
        if not before_slowdowns:
            # A strategy that computes on part of the job while the rest recovers (replica recovery)
            # is not in the events. Say so rather than draw a wrong line.
            strategy = summary["scenario_resolved"].get("recovery", {}).get("strategy", "restart")
            untrusted = (
                f"Not rebuilt: the events of this run (recovery strategy '{strategy}') do not record\n"
                f"when each part of the job computed (the rebuilt line would end at {rebuilt:.1%}, not {ettr:.1%})."
            )
    _progress(ax_prog, tr, ettr, untrusted, slow if before_slowdowns else 0.0)
    _zoom(ax_zoom, tr, rows)
    _legend(
        ax_key,
        (ax_hits, "interruptions by cause"),
        (ax_states, "job state"),
        (ax_prog, "useful compute (days)"),
        (ax_zoom, "zoom"),
    )
    n = summary.get("replications")
    note = (
        f"Replication {replication} of {n}, rebuilt from events.parquet.  Useful compute: the computing time less "
        f"checkpoint writes ({tr.rate:.1%} of it) and less the work each failure rolled back.  Causes as in the "
        "failure-impact chart (costliest first); the rest are 'other'."
    )
    header(fig, QUESTION, summary, note)
    return fig


def _legend(key: Axes, *sections: tuple[Axes, str]) -> None:
    """One legend for the panels, a titled section each, entries top to bottom as stacked (the top bar first)."""
    handles: list[Any] = []
    labels: list[str] = []
    for i, (ax, title) in enumerate(sections):
        h, lab = ax.get_legend_handles_labels()
        stacked = ax.containers and len(ax.containers) == len(h)
        handles += [Patch(visible=False), *(h[::-1] if stacked else h)]
        labels += [("\n" if i else "") + title, *(lab[::-1] if stacked else lab)]
    legend = side_legend(key, handles, labels, x=0.0, borderaxespad=0.0, handlelength=1.6)
    for text, handle in zip(legend.get_texts(), handles, strict=True):
        if isinstance(handle, Patch) and not handle.get_visible():
            text.set_fontweight("bold")


def _ettr(folder: RunFolder, replication: int) -> float | None:
    """The ledger's ETTR of ``replication`` (runs.parquet), the exact value the rebuilt line approaches."""
    return _run_value(folder, replication, "ettr")


def _slow_share(folder: RunFolder, replication: int) -> float:
    """The share of GPU-time ``replication`` lost to slowdowns (``fraction_slow``), 0 when not recorded."""
    return _run_value(folder, replication, "fraction_slow") or 0.0


def _run_value(folder: RunFolder, replication: int, column: str) -> float | None:
    runs = folder.runs
    if column not in runs.columns or "replication" not in runs.columns:
        return None
    row = runs.loc[runs["replication"] == replication, column]
    return float(row.iloc[0]) if len(row) else None


def _progress(ax: Axes, tr: Track, ettr: float | None, untrusted: str | None, slow: float = 0.0) -> None:
    """Cumulative useful compute (days of the whole job) against the failure-free line.

    ``untrusted``: why the rebuilt line would be wrong; then only the ledger's end value is drawn.
    ``slow``: the share the ledger books as slowed, when it explains the rebuilt line's gap to the
    ledger's ETTR; then the line is "before slowdowns" and the ledger's end value is drawn too.
    """
    days = tr.horizon_h / 24.0
    ideal = tr.rate * days
    ax.plot(
        [0.0, days],
        [0.0, ideal],
        color=TEXT,
        lw=1.5,
        ls="--",
        label=f"failure-free: {ideal:.1f} ({tr.rate:.1%})",
    )
    if untrusted is None:
        done = tr.progress_h[-1] / 24.0
        share = done / days if ettr is None or slow else ettr
        what = "before slowdowns" if slow else "kept"
        ax.plot(
            tr.progress_t / 24.0,
            tr.progress_h / 24.0,
            color=BUCKET_COLORS["useful"],
            lw=2.0,
            label=f"this replication, {what}: {done:.1f} ({share:.1%})",
        )
    if ettr is not None and (untrusted is not None or slow):
        done = ettr * days
        ax.plot(
            [days],
            [done],
            ls="none",
            marker="o",
            markersize=8,
            color=BUCKET_COLORS["useful"],
            markeredgecolor=TEXT,
            clip_on=False,
            label=f"after slowdowns (−{slow:.1%}, ledger): {done:.1f} ({ettr:.1%})"
            if slow
            else f"this replication (ledger): {done:.1f} ({ettr:.1%})",
        )
    if untrusted is not None:
        ax.text(
            0.5,
            0.45,
            untrusted,
            transform=ax.transAxes,
            ha="center",
            va="center",
            fontsize=10,
            color=TEXT,
            bbox={"facecolor": "white", "edgecolor": "#BBBBBB", "boxstyle": "round,pad=0.5"},
        )
    # The gap at the end: what failures, restarts and waits cost this replication.
    ax.annotate("", (days, done), xytext=(days, ideal), arrowprops={"arrowstyle": "<->", "color": TEXT, "lw": 1.2})
    ax.plot(
        [],
        [],
        ls="none",
        marker=r"$\updownarrow$",
        markersize=12,
        color=TEXT,
        label=f"lost to failures: {ideal - done:.1f}",
    )
    ax.set_xlim(0.0, days)
    ax.set_ylim(0.0, days * 1.02)
    ax.set_xlabel("time since the start of the run (days)", fontsize=10)
    ax.set_ylabel("useful compute\n(days of the whole job)", fontsize=10)
    right = ax.secondary_yaxis("right", functions=scaled(100.0 / days))
    right.set_ylabel("% of the horizon", fontsize=10)
    right.tick_params(labelsize=9.5)
    ax.tick_params(labelsize=9.5)
    ax.set_title("Cumulative useful compute against a run without failures", fontsize=12, loc="left")
    ax.grid(color="#DDDDDD", linewidth=0.7)
    ax.spines[["top"]].set_visible(False)
