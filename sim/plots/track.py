"""One replication rebuilt from ``events.parquet``: its states, interruptions and useful progress, and daily bins.

A state event (``run``, ``detect``, ``wait``, ``restart``, ``maintenance``, ``final_save``) marks
entering that state until the next one; a ``failure`` event marks an interruption with its cause
and the GPU-hours of rolled-back work. A run with a target ends at its ``finish`` event.

A stretch of running is cycles of *compute ``interval``, block for the checkpoint* (the whole
write if sync, the snapshot if async or in memory); its compute is that of the whole cycles plus
the unfinished interval (as the ledger splits it), and each failure takes its rolled-back work off
again, so the progress ends at the replication's ETTR. (An average rate of ``interval / (interval
+ write)`` would come out short by half a write per failure.)

Over the whole run, interruptions are counted per bin (a day, or less for a short run) by cause,
and each bin's time is split into the job's states.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from sim.plots.causes import CauseRow, row_of
from sim.results.schema import BUCKET_LABELS

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
#: Zoom spans to choose from (hours): the smallest that holds about 30 interruptions.
ZOOM_HOURS = (6.0, 12.0, 24.0, 48.0, 72.0)
#: Bin widths of the whole-run panels (hours), widest first: a day unless that leaves fewer than MIN_BINS bins.
BIN_HOURS = (24.0, 12.0, 6.0, 3.0, 2.0, 1.0, 0.5, 0.25)
MIN_BINS = 20
#: The causes past the chart's top ones.
OTHER = "other"


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


def bin_hours(horizon_h: float) -> float:
    """Width of the bins of the whole-run panels: a day, or for a run shorter than MIN_BINS days the
    longest of BIN_HOURS that still gives MIN_BINS bins.

    >>> bin_hours(100 * 24.0), bin_hours(10 * 24.0), bin_hours(6.0)
    (24.0, 12.0, 0.25)
    """
    return next((b for b in BIN_HOURS if horizon_h / b >= MIN_BINS), BIN_HOURS[-1])


def bin_name(hours: float) -> str:
    """``'day'``, ``'12 hours'``, ``'15 minutes'``: what one bin is, for a label."""
    if hours == 24.0:
        return "day"
    return f"{hours:g} hours" if hours >= 1 else f"{hours * 60:g} minutes"


def bin_edges(horizon_h: float, width_h: float) -> np.ndarray:
    """Bin edges from 0 to the horizon; the last bin is shorter when the horizon is not a whole number of bins."""
    edges = np.arange(0.0, horizon_h, width_h)
    return np.append(edges, horizon_h)


def interruptions_per_bin(tr: Track, rows: list[CauseRow], edges: np.ndarray) -> dict[str, np.ndarray]:
    """Interruptions in each bin, by row (a cause, or "other"), in the rows' order."""
    hit = tr.failures[tr.failures["kind"] == "failure"]
    group = row_of(rows)
    names = [group[c].name if c in group else OTHER for c in hit["cause"]]
    times = hit["time_hours"].to_numpy(dtype=float)
    out: dict[str, np.ndarray] = {}
    for name in [r.name for r in rows] + [OTHER]:
        mask = np.array([n == name for n in names], dtype=bool)
        counts, _ = np.histogram(times[mask], bins=edges)
        if counts.any():
            out[name] = counts
    return out


def state_shares(tr: Track, edges: np.ndarray) -> dict[str, np.ndarray]:
    """Share of each bin's time spent in each state (each bin's shares add up to 1).

    The time in a state before ``t`` is piecewise linear in ``t``: interpolated at the bin edges,
    its differences are the time in the state per bin.
    """
    lengths = np.diff(edges)
    out: dict[str, np.ndarray] = {}
    for state in STATE_BUCKET:
        spans = tr.segments.get(state, [])
        if not spans:
            continue
        starts, durations = (np.array(v, dtype=float) for v in zip(*spans, strict=True))
        before = np.cumsum(durations) - durations
        xs = np.column_stack([starts, starts + durations]).ravel()
        ys = np.column_stack([before, before + durations]).ravel()
        out[state] = np.diff(np.interp(edges, xs, ys)) / lengths
    return out
