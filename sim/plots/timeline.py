"""The run timeline: one replication's states, failures and useful progress, rebuilt from ``events.parquet``.

A state event (``run``, ``detect``, ``wait``, ``restart``, ``maintenance``) marks entering that
state until the next one; a ``failure`` event marks an interruption with its cause and the
GPU-hours of rolled-back work. A stretch of running is cycles of *compute ``interval``, block for
the checkpoint* (the whole write if sync, the snapshot if async or in memory); its compute is that
of the whole cycles plus the unfinished interval (as the ledger splits it), and each failure takes
its rolled-back work off again, so the line ends at the replication's ETTR. (An average rate of
``interval / (interval + write)`` would come out short by half a write per failure.) The
failure-free line runs at that average rate from t = 0 and never stops.

When the rebuilt line would not end at the ledger's ETTR (replica recovery computes on part of the
job while the rest recovers, which the events do not record), only the ledger's end value is
drawn, with a note that says why. A folder without ``events.parquet`` has no timeline:
``timeline`` returns ``None``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch, Rectangle

from sim.plots.base import TEXT, header, new_figure, scaled
from sim.plots.palette import BUCKET_COLORS, cause_color
from sim.results.folder import RunFolder
from sim.results.schema import BUCKET_LABELS

QUESTION = "One replication: when the job computed and when it stood still"
#: Event kinds that mark entering a state, and the ledger bucket whose colour each state wears.
STATE_BUCKET = {
    "run": "useful",
    "detect": "detect",
    "wait": "wait",
    "restart": "restart",
    "maintenance": "maintenance",
    "final_save": "checkpoint",  # a run with a target: the last checkpoint, then the end ("finish")
}
STATE_LABELS = {"run": "computing (incl. checkpoint writes)", "final_save": "final checkpoint"} | {
    k: BUCKET_LABELS[b] for k, b in STATE_BUCKET.items() if k not in ("run", "final_save")
}
#: Largest gap (share of the horizon) between the rebuilt useful compute and the ledger's ETTR
#: before the chart warns that the events do not tell the whole story.
MISMATCH = 0.005
#: Zoom spans to choose from (hours): the smallest that holds about 30 interruptions.
ZOOM_HOURS = (6.0, 12.0, 24.0, 48.0, 72.0)


@dataclass
class Track:
    """One replication, rebuilt from its events; times in hours."""

    horizon_h: float
    segments: dict[str, list[tuple[float, float]]]  # state -> [(start, duration)]
    failures: pd.DataFrame  # time_hours, kind, cause of every failure event
    progress_t: np.ndarray
    progress_h: np.ndarray  # useful compute done, in hours of the whole job
    rate: float  # useful hours per running hour


def track(summary: dict[str, Any], events: pd.DataFrame, replication: int = 0) -> Track:
    """The states, failures and useful progress of ``replication`` (raises ``ValueError`` if absent)."""
    ev = events[events["replication"] == replication].sort_values("time_hours", kind="stable")
    if ev.empty:
        have = sorted(int(r) for r in events["replication"].unique())
        raise ValueError(f"no events for replication {replication} (the folder has {have})")
    scenario = summary["scenario_resolved"]
    # A run with a target ends at its "finish" event; any other at the horizon.
    finish = ev.loc[ev["kind"] == "finish", "time_hours"]
    horizon_h = float(finish.iloc[0]) if len(finish) else float(scenario["run"]["duration_days"]) * 24.0
    gpus = float(scenario["cluster"]["gpus"])
    interval_h, blocking_h = _cycle_hours(summary)
    cycle_h = interval_h + blocking_h
    rate = interval_h / cycle_h
    times = ev["time_hours"].to_numpy(dtype=float)
    kinds = ev["kind"].to_numpy(dtype=object)
    lost = ev["lost_gpu_hours"].to_numpy(dtype=float) / gpus  # rolled-back work in wall hours of the job

    is_state = np.isin(kinds, list(STATE_BUCKET))
    starts, states = times[is_state], kinds[is_state]
    durations = np.append(starts[1:], horizon_h) - starts
    segments: dict[str, list[tuple[float, float]]] = {}
    for start, state, duration in zip(starts, states, durations, strict=True):
        if duration > 0:  # detect often lasts zero seconds: nothing to draw
            segments.setdefault(str(state), []).append((float(start), float(duration)))

    t_pts, y_pts = [0.0], [0.0]
    done, running_since = 0.0, None
    for t, kind, rolled_back in zip(times, kinds, lost, strict=True):
        if running_since is not None and (kind == "failure" or kind in STATE_BUCKET):
            done += _computed(t - running_since, interval_h, cycle_h)
            t_pts.append(t)
            y_pts.append(done)
            running_since = None
        if kind == "failure" and rolled_back > 0:
            done -= rolled_back
            t_pts.append(t)
            y_pts.append(done)
        elif kind == "run":
            running_since = t
            t_pts.append(t)  # flat up to here: no progress while down
            y_pts.append(done)
    if running_since is not None:
        done += _computed(horizon_h - running_since, interval_h, cycle_h)
    t_pts.append(horizon_h)
    y_pts.append(done)
    failures = ev.loc[ev["kind"].isin(["failure", "failure_while_down"]), ["time_hours", "kind", "cause"]]
    return Track(horizon_h, segments, failures.reset_index(drop=True), np.array(t_pts), np.array(y_pts), rate)


def _cycle_hours(summary: dict[str, Any]) -> tuple[float, float]:
    """Compute and blocking time of one checkpoint cycle (hours), as the checkpoint method has them.

    Sync blocks for the whole write; async and in-memory block for the snapshot only (the write if
    no snapshot time is given), and async cannot snapshot again before the previous write is done.
    """
    derived = summary["derived"]
    ck = summary["scenario_resolved"].get("checkpoint", {})
    interval_s = float(derived["interval_minutes"]) * 60.0
    write_s = float(derived["write_seconds"])
    method = ck.get("method", "sync")
    if method == "sync":
        return interval_s / 3600.0, write_s / 3600.0
    snapshot_s = write_s if ck.get("snapshot_seconds") is None else float(ck["snapshot_seconds"])
    if method == "async":
        interval_s = max(interval_s, write_s - snapshot_s)
    return interval_s / 3600.0, snapshot_s / 3600.0


def _computed(elapsed_h: float, interval_h: float, cycle_h: float) -> float:
    """Compute time in ``elapsed_h`` hours of running: whole cycles, then at most one interval.

    >>> _computed(2.75, 1.0, 1.25)  # two cycles of 1 h + 0.25 h, then 0.25 h of a third interval
    2.25
    """
    cycles = np.floor(elapsed_h / cycle_h)
    return float(cycles * interval_h + min(elapsed_h - cycles * cycle_h, interval_h))


def zoom_hours(tr: Track) -> float:
    """A zoom span that shows individual interruptions: about 30 of them, 6 h to 3 days."""
    n = int((tr.failures["kind"] == "failure").sum())
    wanted = 30.0 * tr.horizon_h / max(n, 1)
    span = next((z for z in ZOOM_HOURS if z >= wanted), ZOOM_HOURS[-1])
    return min(span, tr.horizon_h / 2.0)


def _band(ax: Axes, tr: Track, scale: float, limit: float) -> None:
    """The state band on y in [0, 1] up to ``limit`` hours, times divided by ``scale`` (24 for days).

    The whole-run band has thousands of segments finer than a pixel: it is rasterized, which keeps
    an SVG small and looks the same.
    """
    for state, bucket in STATE_BUCKET.items():
        spans = [(s / scale, d / scale) for s, d in tr.segments.get(state, []) if s < limit]
        if spans:
            ax.broken_barh(
                spans,
                (0.0, 1.0),
                facecolors=BUCKET_COLORS[bucket],
                edgecolor="none",
                antialiased=False,
                rasterized=limit >= tr.horizon_h,
            )


def _markers(ax: Axes, tr: Track, scale: float, limit: float, marker: str, size: float) -> None:
    """Failure markers above the band, coloured by cause; hollow when the job was already down."""
    f = tr.failures[tr.failures["time_hours"] <= limit]
    y = 1.35
    hit = f[f["kind"] == "failure"]
    colors = [cause_color(c) for c in hit["cause"]]
    # A line marker has no face: its colour is the cause's; filled markers get a dark edge.
    style: dict[str, Any] = (
        {"linewidths": 1.0, "rasterized": True} if marker == "|" else {"edgecolors": TEXT, "linewidths": 0.5}
    )
    ax.scatter(hit["time_hours"] / scale, np.full(len(hit), y), s=size, marker=marker, c=colors, **style)
    if marker == "|":
        return  # the whole-run band: too dense for hollow markers
    down = f[f["kind"] == "failure_while_down"]
    ax.scatter(
        down["time_hours"] / scale,
        np.full(len(down), y),
        s=size,
        marker=marker,
        facecolors="none",
        edgecolors=[cause_color(c) for c in down["cause"]],
        linewidths=1.2,
    )


def _style_band(ax: Axes, xmax: float, xlabel: str, title: str) -> None:
    ax.set_xlim(0.0, xmax)
    ax.set_ylim(-0.05, 1.7)
    ax.set_yticks([0.5, 1.35], ["state", "failures"], fontsize=10)
    ax.tick_params(axis="y", length=0)
    ax.set_xlabel(xlabel, fontsize=10.5)
    ax.set_title(title, fontsize=12, loc="left")
    ax.spines[["top", "right", "left"]].set_visible(False)


def timeline(folder: RunFolder, replication: int = 0) -> Figure | None:
    """The timeline chart of ``replication``, or ``None`` when the folder has no ``events.parquet``."""
    if folder.events is None:
        return None
    summary = folder.summary
    tr = track(summary, folder.events, replication)
    days = tr.horizon_h / 24.0
    n_fail = int((tr.failures["kind"] == "failure").sum())
    zoom = zoom_hours(tr)
    fig = new_figure(9.0)
    # A column of its own for the legend: up to 20 causes would not fit beside a panel.
    grid = fig.add_gridspec(3, 2, height_ratios=[1.0, 1.2, 2.4], width_ratios=[3.4, 1.0])
    ax_all, ax_zoom, ax_prog = (fig.add_subplot(grid[i, 0]) for i in range(3))
    ax_key = fig.add_subplot(grid[:, 1])
    ax_key.axis("off")

    _band(ax_all, tr, 24.0, tr.horizon_h)
    _markers(ax_all, tr, 24.0, tr.horizon_h, "|", 60.0)
    ax_all.add_patch(Rectangle((0.0, -0.04), zoom / 24.0, 1.7, fill=False, edgecolor=TEXT, lw=1.2, ls="--"))
    _style_band(
        ax_all,
        days,
        "time since the start of the run (days)",
        f"Whole run: {n_fail:,} interruptions in {days:.3g} days (dashed box: the zoom below)",
    )
    in_zoom = int(((tr.failures["kind"] == "failure") & (tr.failures["time_hours"] <= zoom)).sum())
    _band(ax_zoom, tr, 1.0, zoom)
    _markers(ax_zoom, tr, 1.0, zoom, "v", 55.0)
    _style_band(
        ax_zoom,
        zoom,
        "time since the start of the run (hours)",
        f"Zoom on the first {zoom:g} hours: {in_zoom:,} interruptions",
    )

    ettr = _ettr(folder, replication)
    rebuilt = tr.progress_h[-1] / tr.horizon_h
    untrusted = None
    if ettr is not None and abs(rebuilt - ettr) > MISMATCH:
        # The events log whole-job states; a strategy that computes on part of the job while the rest
        # recovers (replica recovery) is not in them. Say so rather than draw a wrong line.
        strategy = summary["scenario_resolved"].get("recovery", {}).get("strategy", "restart")
        untrusted = (
            f"Not rebuilt: the events of this run (recovery strategy '{strategy}') do not record\n"
            f"when each part of the job computed (the rebuilt line would end at {rebuilt:.1%}, not {ettr:.1%})."
        )
    _progress(ax_prog, tr, ettr, untrusted)
    handles: list[Any] = [
        Patch(facecolor=BUCKET_COLORS[STATE_BUCKET[s]], label=STATE_LABELS[s]) for s in STATE_BUCKET if s in tr.segments
    ]
    counts = tr.failures.loc[tr.failures["kind"] == "failure", "cause"].value_counts()
    if len(counts):
        handles.append(Patch(visible=False, label="\ninterruptions by cause:"))
        handles += [
            Line2D(
                [],
                [],
                ls="none",
                marker="v",
                markersize=8,
                markerfacecolor=cause_color(str(c)),
                markeredgecolor=TEXT,
                markeredgewidth=0.5,
                label=f"{c} ({n:,})",
            )
            for c, n in counts.items()
        ]
    if (tr.failures["kind"] == "failure_while_down").any():
        handles.append(
            Line2D(
                [],
                [],
                ls="none",
                marker="v",
                markersize=8,
                markerfacecolor="none",
                markeredgecolor=TEXT,
                label="hollow: struck while down",
            )
        )
    ax_key.legend(
        handles=handles,
        loc="upper left",
        bbox_to_anchor=(0.0, 1.0),
        fontsize=9.5,
        frameon=False,
        title="job state",
        title_fontproperties={"weight": "bold", "size": 10},
        alignment="left",
        borderaxespad=0.0,
    )
    n = summary.get("replications")
    note = (
        f"Replication {replication} of {n}, rebuilt from events.parquet.  Useful compute: the computing time less "
        f"checkpoint writes ({tr.rate:.1%} of it) and less the work each failure rolled back."
    )
    header(fig, QUESTION, summary, note)
    return fig


def _ettr(folder: RunFolder, replication: int) -> float | None:
    """The ledger's ETTR of ``replication`` (runs.parquet), the exact value the rebuilt line approaches."""
    runs = folder.runs
    if "ettr" not in runs.columns or "replication" not in runs.columns:
        return None
    row = runs.loc[runs["replication"] == replication, "ettr"]
    return float(row.iloc[0]) if len(row) else None


def _progress(ax: Axes, tr: Track, ettr: float | None, untrusted: str | None) -> None:
    """Cumulative useful compute (days of the whole job) against the failure-free line.

    ``untrusted``: why the rebuilt line would be wrong; then only the ledger's end value is drawn.
    """
    days = tr.horizon_h / 24.0
    ideal = tr.rate * days
    ax.plot(
        [0.0, days],
        [0.0, ideal],
        color=TEXT,
        lw=1.5,
        ls="--",
        label=f"failure-free: computing all the time, {ideal:.1f} days ({tr.rate:.1%})",
    )
    if untrusted is not None and ettr is not None:
        done = ettr * days
        ax.plot(
            [days],
            [done],
            ls="none",
            marker="o",
            markersize=9,
            color=BUCKET_COLORS["useful"],
            clip_on=False,
            label=f"this replication at the end (ledger): {done:.1f} days (ETTR {ettr:.1%})",
        )
        ax.text(
            0.5,
            0.45,
            untrusted,
            transform=ax.transAxes,
            ha="center",
            va="center",
            fontsize=11,
            color=TEXT,
            bbox={"facecolor": "white", "edgecolor": "#BBBBBB", "boxstyle": "round,pad=0.5"},
        )
    else:
        done = tr.progress_h[-1] / 24.0
        share = ettr if ettr is not None else done / days
        ax.plot(
            tr.progress_t / 24.0,
            tr.progress_h / 24.0,
            color=BUCKET_COLORS["useful"],
            lw=2.0,
            label=f"this replication: useful compute kept, {done:.1f} days (ETTR {share:.1%})",
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
        label=f"gap at the end: {ideal - done:.1f} days lost to failures (rollbacks, detection, restarts, waits)",
    )
    ax.set_xlim(0.0, days)
    ax.set_ylim(0.0, days * 1.02)
    ax.set_xlabel("time since the start of the run (days)", fontsize=10.5)
    ax.set_ylabel("useful compute done\n(days of the whole job)", fontsize=10.5)
    right = ax.secondary_yaxis("right", functions=scaled(100.0 / days))
    right.set_ylabel("% of the horizon", fontsize=10.5)
    ax.set_title("Cumulative useful compute against a run without failures", fontsize=12, loc="left")
    ax.grid(color="#DDDDDD", linewidth=0.7)
    ax.legend(loc="upper left", fontsize=10, frameon=False)
    ax.spines[["top"]].set_visible(False)
