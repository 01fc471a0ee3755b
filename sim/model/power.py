"""The cluster's power draw over a replication: watts by state, the trace, and its figures.

A job GPU draws by what it does (``sim.model.spans``: computing, blocked on a checkpoint, standing
still), plus its share of its server's host; a spare server draws as idle GPUs and their host; a
server in repair (or retired) draws nothing; the rest of the IT is constant. The trace is a
polyline (``sim.analysis.polyline``): steps where GPUs stop or start at once, linear ramps where
``power.ramp_up_seconds`` or ``ramp_down_seconds`` say so. Watts by state are ``sim.analysis.draw``'s.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from sim.analysis import polyline
from sim.analysis.draw import SECONDS_PER_DAY, SECONDS_PER_HOUR, Draw, draw, ledger_energy
from sim.model.spans import Span

if TYPE_CHECKING:
    from sim.config.scenario import Scenario
    from sim.model.failures import NodeTimeline


#: Events closer than this are one change of the draw (a microsecond: far below any state's length).
MERGE_S = 1e-6


@dataclass(frozen=True)
class Trace:
    """A replication's IT draw: the polyline ``(x seconds, y MW)``, and the powered spare server-seconds."""

    x: np.ndarray
    y: np.ndarray
    spare_node_s: float


def trace(
    scenario: Scenario,
    spans: list[Span],
    timeline: NodeTimeline,
    seconds: float,
    cycle_s: float,
    interval_s: float,
    smoothing: bool = True,
) -> Trace:
    """The IT draw (MW) from 0 to ``seconds`` of a job whose GPUs did ``spans`` on the checkpoint rhythm
    (``cycle_s``, ``interval_s``), on a fleet whose servers fail and return as ``timeline`` says."""
    d = draw(scenario, smoothing)
    # fromiter over the flattened tuples: a third faster than np.array on a list of tuples.
    flat = np.fromiter(itertools.chain.from_iterable(spans), dtype=float, count=5 * len(spans))
    t0, t1, kind, gpus, origin = flat.reshape(-1, 5).T
    still = kind > 0
    level = np.asarray((0.0, *d.still_w))[kind[still].astype(np.intp)]
    parts = [_steps(t0[still], t1[still], gpus[still] * level)]
    run = (t0[~still], t1[~still], gpus[~still], origin[~still])
    bs, be, bg = _blocks(*run, cycle_s, interval_s)
    if d.ramp_up_s <= 0 and d.ramp_down_s <= 0:
        # Steps only: a run span draws computing from start to end, and each write swaps computing for
        # writing; half the events of cutting the span into pieces.
        parts.append(_steps(run[0], run[1], run[2] * d.compute_w))
        parts.append(_steps(bs, be, bg * (d.still("checkpoint") - d.compute_w)))
    else:
        parts.append(_steps(bs, be, bg * d.still("checkpoint")))
        s, e, g, into_write = _computing_pieces(*run, cycle_s, interval_s)
        # What computing GPUs fall to: a checkpoint write within the run span; at its end, whatever state
        # follows, so hand over the highest standing draw (the rest of the fall is a step, never a bump).
        after = np.where(into_write, d.still("checkpoint"), max(d.still_w))
        parts.append(_computing(s, e, g, after, d))
    spare_t, spare_jump, spare_node_s, spare0 = _spares(scenario, timeline, seconds)
    parts.append((spare_t, spare_jump * d.spare_node_w, np.zeros_like(spare_t)))
    t = np.concatenate([p[0] for p in parts])
    jump = np.concatenate([p[1] for p in parts])
    dslope = np.concatenate([p[2] for p in parts])
    keep = t < seconds  # the end closes every span; a ramp down may end past it
    # The trace begins with the job under way: what starts at 0 is its first level, not a swing.
    start = t == 0.0
    level0 = d.other_w + spare0 * d.spare_node_w + float(jump[start].sum())
    jump[start] = 0.0
    x, y = polyline.build(t[keep], jump[keep] / 1e6, dslope[keep] / 1e6, 0.0, seconds, level0 / 1e6, merge_s=MERGE_S)
    return Trace(x, y, spare_node_s)


def _steps(t0: np.ndarray, t1: np.ndarray, watts: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Events of draws ``watts`` from ``t0`` to ``t1``: a step up at the start, a step down at the end."""
    t = np.concatenate([t0, t1])
    return t, np.concatenate([watts, -watts]), np.zeros_like(t)


def _computing(
    s: np.ndarray, e: np.ndarray, g: np.ndarray, after: np.ndarray, d: Draw
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Events of ``g`` GPUs computing from ``s`` to ``e``: a ramp up from standing still, a fall at the end
    to ``after`` watts a GPU (where the next state's draw takes over). Only with a ramp: without, a run
    span is one step up and one down."""
    base = g * d.ramp_from_w
    rise = g * (d.compute_w - d.ramp_from_w)
    if d.ramp_up_s > 0:
        reached = np.minimum(e - s, d.ramp_up_s)
        slope = rise / d.ramp_up_s
        top = base + slope * reached  # the draw when the computing ends (the ramp may be cut short)
        t = [s, s, s + reached]
        jump = [base, np.zeros_like(s), np.zeros_like(s)]
        dslope = [np.zeros_like(s), slope, -slope]
    else:
        top = base + rise
        t, jump, dslope = [s], [top], [np.zeros_like(s)]
    if d.ramp_down_s > 0:
        # The draw a standing-still GPU keeps goes with its new state at once; the excess falls over the
        # ramp, cut short where computing starts again (what is left of it goes at once).
        handed = g * after  # the next state's draw, booked from e on
        excess = top - handed
        fall = excess / d.ramp_down_s
        starts = np.sort(s)
        later = np.searchsorted(starts, e, side="left")
        again = np.append(starts, np.inf)[later]
        cut = np.minimum(d.ramp_down_s, again - e)
        t += [e, e + cut]
        jump += [-handed, -(excess - fall * cut)]
        dslope += [-fall, fall]
    else:
        t.append(e)
        jump.append(-top)
        dslope.append(np.zeros_like(e))
    return np.concatenate(t), np.concatenate(jump), np.concatenate(dslope)


def _cycles(
    t0: np.ndarray, t1: np.ndarray, origin: np.ndarray, cycle: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Every checkpoint cycle that meets a run span: its span's index, its start and the next one's.

    The next start is the same expression as the next cycle's start: a write's end and the next
    computing start are one float.
    """
    first = np.floor((t0 - origin) / cycle)
    last = np.floor((t1 - origin) / cycle)
    count = (last - first + 1).astype(np.intp)
    span = np.repeat(np.arange(t0.size), count)
    k = first[span] + (np.arange(count.sum()) - np.repeat(np.cumsum(count) - count, count))
    return span, origin[span] + k * cycle, origin[span] + (k + 1) * cycle


def _blocks(
    t0: np.ndarray, t1: np.ndarray, gpus: np.ndarray, origin: np.ndarray, cycle: float, interval: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The checkpoint writes of run spans, cut to the spans: starts, ends, GPUs."""
    if not math.isfinite(cycle) or cycle <= interval:
        return np.zeros(0), np.zeros(0), np.zeros(0)
    span, base, following = _cycles(t0, t1, origin, cycle)
    bs, be = np.maximum(base + interval, t0[span]), np.minimum(following, t1[span])
    real = be > bs
    return bs[real], be[real], gpus[span][real]


def _computing_pieces(
    t0: np.ndarray, t1: np.ndarray, gpus: np.ndarray, origin: np.ndarray, cycle: float, interval: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """The computing pieces of run spans (between their writes): starts, ends, GPUs, and whether a piece
    ends in a checkpoint write (else at its span's end)."""
    if not math.isfinite(cycle) or cycle <= interval:
        return t0, t1, gpus, np.zeros(t0.size, dtype=bool)
    span, base, _ = _cycles(t0, t1, origin, cycle)
    hi = t1[span]
    cs, ce = np.maximum(base, t0[span]), np.minimum(base + interval, hi)
    real = ce > cs
    return cs[real], ce[real], gpus[span][real], (base + interval < hi)[real]


def _spares(scenario: Scenario, timeline: NodeTimeline, seconds: float) -> tuple[np.ndarray, np.ndarray, float, int]:
    """Changes of the number of powered spare servers (times, +-1 steps), their server-seconds, the count at 0.

    A server is off from its failure until it is back from repair (never, when retired); the spare
    pool is what is left of the fleet beyond the job's servers.
    """
    spares = scenario.cluster.spare_nodes
    back = timeline.back
    off = ~np.isnan(back)
    t = np.concatenate([timeline.time[off], back[off]])
    step = np.concatenate([np.ones(int(off.sum())), -np.ones(int(off.sum()))])
    inside = t < seconds
    t, step = t[inside], step[inside]
    order = np.argsort(t, kind="stable")
    t, step = t[order], step[order]
    powered = np.clip(spares - np.cumsum(step), 0, spares)
    before = np.concatenate([[spares], powered[:-1]])
    change = powered - before
    moved = change != 0
    edges = np.concatenate([[0.0], t, [seconds]])
    counts = np.concatenate([[spares], powered])
    node_s = float(np.sum(counts * np.diff(edges)))
    return t[moved], change[moved], node_s, spares


def figures(
    scenario: Scenario, tr: Trace, gpu_seconds: Mapping[str, float], seconds: float, unsmoothed: Trace | None = None
) -> dict[str, float]:
    """The power metrics of a replication (docs/power.md): IT and facility draw, energy and its cost,
    energy by group, swings and ramps, time below half load, and what smoothing cost and avoided."""
    d = draw(scenario)
    p = scenario.power
    days = seconds / SECONDS_PER_DAY
    it_mws = polyline.integral(tr.x, tr.y)
    it_mwh = it_mws / SECONDS_PER_HOUR
    energy_mwh = it_mwh * d.pue
    mean = it_mws / seconds
    peak = float(tr.y.max())
    down, largest = _swings(tr, p.swing_threshold_mw)
    out = {
        "power_mean_mw": mean,
        "power_peak_mw": peak,
        "facility_power_mean_mw": mean * d.pue,
        "facility_power_peak_mw": peak * d.pue,
        "full_load_mw": d.full_load_w / 1e6,
        "it_energy_mwh": it_mwh,
        "energy_mwh": energy_mwh,
        "energy_cost_usd": energy_cost(scenario, tr, seconds, it_mws),
        "swings_per_day": down / days,
        "largest_swing_mw": largest,
        "fastest_ramp_mw_per_s": polyline.fastest_ramp(tr.x, tr.y, min(p.ramp_window_seconds, seconds)),
        "hours_below_half_load": polyline.time_below(tr.x, tr.y, 0.5 * d.full_load_w / 1e6) / SECONDS_PER_HOUR,
    }
    groups = ledger_energy(scenario, gpu_seconds, seconds, tr.spare_node_s)
    # Ramps move energy at the edges of computing: what the trace holds beyond the ledger's steps.
    groups["computing"] += it_mwh - sum(groups.values())
    out.update({f"energy_{g}_mwh": v * d.pue for g, v in groups.items()})
    if unsmoothed is None:
        out.update(smoothing_energy_mwh=0.0, smoothing_cost_usd=0.0, swings_avoided_per_day=0.0)
    else:
        base_down, _ = _swings(unsmoothed, p.swing_threshold_mw)
        plain_mws = polyline.integral(unsmoothed.x, unsmoothed.y)
        out["smoothing_energy_mwh"] = energy_mwh - plain_mws / SECONDS_PER_HOUR * d.pue
        out["smoothing_cost_usd"] = out["energy_cost_usd"] - energy_cost(scenario, unsmoothed, seconds, plain_mws)
        out["swings_avoided_per_day"] = (base_down - down) / days
    return out


def _swings(tr: Trace, threshold_mw: float) -> tuple[int, float]:
    """Swings (falls larger than the threshold) and the largest swing either way, MW."""
    runs = polyline.swings(tr.x, tr.y)
    if runs.size == 0:
        return 0, 0.0
    return int(np.count_nonzero(runs < -threshold_mw)), float(np.abs(runs).max())


def energy_cost(scenario: Scenario, tr: Trace, seconds: float, it_mws: float) -> float:
    """The facility energy's price: flat (``energy.usd_per_kwh``) on the trace's integral ``it_mws`` (MW s),
    or by hour of the day from the run's first hour (``energy.usd_per_kwh_by_hour``).

    >>> from sim.config.loading import load_scenario_text
    >>> s = load_scenario_text('name = "t"\\n[cluster]\\ngpus = 8\\n[checkpoint]\\nwrite_seconds = 1\\n'
    ...     '[energy]\\nusd_per_kwh_by_hour = [0.1, 0.3' + ', 0.0' * 22 + ']')
    >>> flat = Trace(np.array([0.0, 7200.0]), np.array([1.0, 1.0]), 0.0)   # 1 MW for two hours
    >>> round(energy_cost(s, flat, 7200.0, 7200.0), 6)   # 1,000 kWh at $0.10, then 1,000 kWh at $0.30
    400.0
    """
    e = scenario.energy
    kwh_per_mws = e.pue * 1000.0 / SECONDS_PER_HOUR
    if e.usd_per_kwh_by_hour is None:
        return it_mws * kwh_per_mws * e.usd_per_kwh
    hours = np.arange(math.ceil(seconds / SECONDS_PER_HOUR) + 1) * SECONDS_PER_HOUR
    at = np.minimum(hours, seconds)
    per_hour = np.diff(polyline.cumulative(tr.x, tr.y, at)) * kwh_per_mws
    price = np.asarray(e.usd_per_kwh_by_hour)[np.arange(per_hour.size) % 24]
    return float(per_hour @ price)
