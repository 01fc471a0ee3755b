"""The predictive check of a fitted fleet: its faults per window simulated by the simulator's own clocks.

A fitted fleet (``sim.analysis.fleet_fit``) becomes the scenario keys that ``trainsim fit`` prints
(its failure modes, ``[heterogeneity]``, ``cluster.fleet_age``), and those are played by the same
functions ``trainsim run`` uses (``fleet_rates`` for the multipliers, ``node_timeline`` for the
clocks and repairs): what is checked is what a run would simulate. Each replication draws the
fitted parameters from their sampling law first (``FleetFit.draw``), so the 95% prediction
intervals carry the fit's own uncertainty besides the simulation's; ``uncertainty=False`` plays the
fitted keys as printed. The units are those the log's ``node`` column counts (servers, or GPUs
under ``--scope gpu``): each is simulated as a server of one GPU.

A replication simulates the fleet from the fit window's start to the end of the checked span (a
later span is the fitted fleet continued: the fit took the fleet at its window start to be in the
state a run starts from) and cuts the span into ``windows`` windows of ``length`` hours:
per window the faults and the distinct failing nodes, and over the span how many nodes had 0, 1,
2, ... faults (``BINS``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from sim.analysis.fleet_fit import FleetFit
from sim.analysis.incidents import Incident
from sim.config.scenario import FailureMode, Heterogeneity, Scenario
from sim.experiment.runner import STREAMS as RUN_STREAMS
from sim.experiment.runner import child_seed, fleet_timeline, replication_seeds
from sim.model.failures import node_timeline
from sim.model.fleet import fleet_rates

#: Lower edges of the per-node count histogram's bins; the last is open.
BINS = (0, 1, 2, 3, 4, 6, 10)
#: Random streams of one replication of the check, spawned in this order (append, never reorder).
STREAMS = ("parameters", "frailty", "bad_nodes", "nodes")


def bin_labels() -> list[str]:
    """``0``, ``1``, ..., ``4-5``, ``6-9``, ``10+``."""
    out = []
    for lo, hi in zip(BINS, (*BINS[1:], None), strict=True):
        out.append(f"{lo}+" if hi is None else str(lo) if hi == lo + 1 else f"{lo}-{hi - 1}")
    return out


@dataclass(frozen=True)
class Tally:
    """Faults and distinct failing nodes per window, and nodes per histogram bin over the span (rows: samples)."""

    faults: np.ndarray
    nodes: np.ndarray
    histogram: np.ndarray


def tally(node: np.ndarray, hours: np.ndarray, nodes: int, length: float, windows: int) -> Tally:
    """Count faults at ``hours`` (from the span start) of node indices ``node`` in ``windows`` windows.

    >>> t = tally(np.array([0, 0, 1]), np.array([1.0, 15.0, 12.0]), nodes=4, length=10.0, windows=2)
    >>> t.faults.tolist(), t.nodes.tolist(), t.histogram.tolist()
    ([[1, 2]], [[1, 2]], [[2, 1, 1, 0, 0, 0, 0]])
    """
    w = np.floor(hours / length).astype(np.int64)
    keep = (w >= 0) & (w < windows)
    node, w = node[keep], w[keep]
    faults = np.bincount(w, minlength=windows)
    pairs = np.unique(node * windows + w) if node.size else np.zeros(0, np.int64)
    distinct = np.bincount(pairs % windows, minlength=windows)
    per_node = np.bincount(node, minlength=nodes) if node.size else np.zeros(nodes, np.int64)
    hist = np.bincount(np.searchsorted(BINS, per_node, side="right") - 1, minlength=len(BINS))
    return Tally(faults[None, :], distinct[None, :], hist[None, :])


def observed(incidents: Sequence[Incident], nodes: int, start: float, length: float, windows: int) -> Tally:
    """The log's tally over ``windows`` windows of ``length`` hours from ``start`` (hours from the fit window's)."""
    names: dict[str, int] = {}
    node, hours = [], []
    for i in incidents:
        if start <= i.hours < start + length * windows:
            node.append(names.setdefault(i.node, len(names)))
            hours.append(i.hours - start)
    if len(names) > nodes:
        raise ValueError(f"the checked span names {len(names)} nodes, more than the fleet's {nodes}")
    return tally(np.array(node, dtype=np.int64), np.array(hours), nodes, length, windows)


def fitted_scenario(
    fit: FleetFit, uncertainty: bool, rng: np.random.Generator
) -> tuple[list[FailureMode], Heterogeneity]:
    """The failure modes and heterogeneity of one replication: as fitted, or drawn from their sampling law."""
    modes = list(fit.failure_modes(names=[f"m{i}" for i in range(len(fit.modes))]))
    het = fit.heterogeneity_section()
    if uncertainty:
        drawn, keys = fit.draw(rng)
        modes = [m.model_copy(update=d) for m, d in zip(modes, drawn, strict=True)]
        het = het.model_copy(update=keys)
    return modes, het


def simulate(
    fit: FleetFit,
    length: float,
    windows: int,
    replications: int,
    seed: int = 0,
    uncertainty: bool = True,
    start: float = 0.0,
) -> Tally:
    """Tallies of ``replications`` simulated spans of ``windows`` windows of ``length`` hours, from ``start``
    hours after the fit window's start: the fleet is simulated from there (where the fit took it to be),
    so a later window is predicted as the fitted fleet continued, not as a fleet started afresh."""
    root = np.random.SeedSequence(seed)
    rows = []
    for r in range(replications):
        rep = child_seed(root, r)
        rng = {name: np.random.default_rng(child_seed(rep, i)) for i, name in enumerate(STREAMS)}
        modes, het = fitted_scenario(fit, uncertainty, rng["parameters"])
        rates = fleet_rates(het, modes, fit.nodes, rng["frailty"], rng["bad_nodes"])
        tl = node_timeline(
            modes, fit.nodes, 1, (start + length * windows) * 3600.0, rng["nodes"], fleet_age=fit.fleet_age,  # type: ignore[arg-type]
            rate=None if rates is None else rates.multiplier,
        )  # fmt: skip
        node = np.repeat(np.arange(fit.nodes), np.diff(tl.ptr))
        rows.append(tally(node, tl.time / 3600.0 - start, fit.nodes, length, windows))
    return Tally(*(np.concatenate([getattr(t, f) for t in rows]) for f in ("faults", "nodes", "histogram")))


def scenario_tally(scenario: Scenario, length: float, windows: int, replications: int, seed: int = 0) -> Tally:
    """Tallies of a scenario's whole fleet (job servers and spares) over ``windows`` windows of ``length`` hours
    from the run's start, in ``replications`` replications: the failures ``trainsim run --seed`` draws (the
    runner's streams and ``fleet_timeline``), whatever the job does. The way to check a fitted model pasted
    into a scenario file against a log: faults, failing servers, faults per server.
    """
    if length * windows > scenario.horizon_seconds / 3600.0 * (1 + 1e-12):
        raise ValueError(f"{windows} windows of {length:g} h are longer than run.duration_days")
    rows = []
    for rep in replication_seeds(seed, replications):
        rngs = {name: np.random.default_rng(child_seed(rep, i)) for i, name in enumerate(RUN_STREAMS)}
        tl = fleet_timeline(scenario, rngs)
        rows.append(tally(tl.node, tl.time / 3600.0, tl.nodes, length, windows))
    return Tally(*(np.concatenate([getattr(t, f) for t in rows]) for f in ("faults", "nodes", "histogram")))


def _band(x: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    lo, hi = np.percentile(x, [2.5, 97.5], axis=0)
    return x.mean(axis=0), lo, hi


def check_table(seen: Tally, sim: Tally, starts: Sequence[float], length: float) -> pd.DataFrame:
    """Per window: observed faults and distinct failing nodes, the simulated mean and 95% prediction interval."""
    f_mean, f_lo, f_hi = _band(sim.faults)
    n_mean, n_lo, n_hi = _band(sim.nodes)
    return pd.DataFrame(
        {
            "window": np.arange(1, len(starts) + 1),
            "start_hours": list(starts),
            "hours": length,
            "faults": seen.faults[0],
            "faults_sim": f_mean,
            "faults_lo": f_lo,
            "faults_hi": f_hi,
            "nodes": seen.nodes[0],
            "nodes_sim": n_mean,
            "nodes_lo": n_lo,
            "nodes_hi": n_hi,
        }
    )


def histogram_table(seen: Tally, sim: Tally) -> pd.DataFrame:
    """Per bin of faults per node over the span: observed nodes, simulated mean and 95% prediction interval."""
    mean, lo, hi = _band(sim.histogram)
    return pd.DataFrame({"faults": bin_labels(), "nodes": seen.histogram[0], "nodes_sim": mean, "nodes_lo": lo,
                         "nodes_hi": hi})  # fmt: skip
