"""Builders shared by the tests: small scenarios, scripted failure timelines, incident logs of simulated fleets."""

from __future__ import annotations

import csv
import datetime as dt
import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from sim.analysis.incidents import Incident
from sim.config.loading import scenario_from_dict
from sim.config.scenario import FailureMode, Heterogeneity, Scenario
from sim.model.failures import NodeTimeline, node_timeline
from sim.model.fleet import fleet_rates

#: A two-node job with one spare, a job-scope crash and a node-scope hardware fault.
BASE: dict[str, Any] = {
    "name": "tiny",
    "run": {"duration_days": 1.0, "replications": 2, "seed": 7},
    "cluster": {"gpus": 16, "gpus_per_node": 8, "spare_nodes": 1},
    "checkpoint": {"interval_minutes": 60.0, "write_seconds": 60.0},
    "restart": {"fixed_minutes": 5.0},
    "failure": [
        {"name": "crash", "scope": "job", "mtbf_hours": 1e9, "action": "restart"},
        {"name": "gpu fault", "scope": "node", "mtbf_hours": 1e9, "repair_hours": 1.0},
    ],
}


#: Top-level keys of the ``--format json`` document of a run (docs/results.md).
RUN_JSON_KEYS = {
    "scenario",
    "replications",
    "seed",
    "metrics",
    "interruptions_by_cause",
    "lost_gpu_hours_by_cause",
    "lost_usd_by_cause",
}


def run_folder(root: Path, scenario_text: str, *options: str) -> Path:
    """The results folder of ``trainsim run`` on a scenario file of ``scenario_text`` in ``root``, with ``options``."""
    from sim import cli  # here: only the tests that run the command line pay for it

    scenario = root / "scenario.toml"
    scenario.write_text(scenario_text, encoding="utf-8")
    out = root / "run"
    assert cli.main(["run", str(scenario), *options, "-o", str(out), "-q"]) == 0
    return out


def tiny(overrides: dict[str, Any] | None = None, **sections: Any) -> Scenario:
    """The BASE scenario with whole sections replaced and dotted-key overrides applied."""
    raw = {**BASE, **sections}
    if (overrides or {}).get("checkpoint.policy", "fixed") != "fixed":
        # young and daly compute the interval: BASE's fixed one would be refused as ignored.
        raw["checkpoint"] = {k: v for k, v in raw["checkpoint"].items() if k != "interval_minutes"}
    return scenario_from_dict(raw, overrides)


def scripted(nodes: int, failures: Sequence[tuple[int, float, int, float]]) -> NodeTimeline:
    """A node timeline from (node, time_s, mode, back_s) rows; back is nan for a restart."""
    rows = sorted(failures)
    counts = np.bincount([r[0] for r in rows], minlength=nodes) if rows else np.zeros(nodes, int)
    return NodeTimeline(
        ptr=np.concatenate([[0], np.cumsum(counts)]).astype(np.int64),
        time=np.array([r[1] for r in rows], dtype=float),
        mode=np.array([r[2] for r in rows], dtype=np.int64),
        back=np.array([r[3] for r in rows], dtype=float),
    )


#: A fleet with bad nodes, lognormal repairs, two exponential causes and one wearing out (Weibull 1.5).
FLEET_MODES = (
    FailureMode(name="gpu", scope="node", mtbf_hours=6000.0, repair_hours=24.0, repair_sigma=1.0),
    FailureMode(name="hbm", scope="node", mtbf_hours=15000.0, repair_hours=48.0, repair_sigma=0.8),
    FailureMode(
        name="nic", scope="node", mtbf_hours=20000.0, distribution="weibull", shape=1.5, repair_hours=12.0,
        repair_sigma=1.2,
    ),
)  # fmt: skip
FLEET_HETEROGENEITY = Heterogeneity(bad_node_fraction=0.1, bad_node_multiplier=8.0)


def fleet_incidents(
    seed: int,
    nodes: int,
    hours: float,
    modes: Sequence[FailureMode] = FLEET_MODES,
    heterogeneity: Heterogeneity = FLEET_HETEROGENEITY,
    fleet_age: str = "stationary",
) -> list[Incident]:
    """The incident log (with ends) of a fleet drawn by the simulator's own clocks: ``fleet_rates`` for the
    multipliers, ``node_timeline`` for the failures and repairs, over ``hours`` from a fleet of ``fleet_age``."""
    frailty, bad, clocks = (np.random.default_rng(s) for s in np.random.SeedSequence(seed).spawn(3))
    rates = fleet_rates(heterogeneity, modes, nodes, frailty, bad)
    tl = node_timeline(
        modes, nodes, 1, hours * 3600.0, clocks, fleet_age=fleet_age,  # type: ignore[arg-type]
        rate=None if rates is None else rates.multiplier,
    )  # fmt: skip
    out: list[Incident] = []
    for n in range(nodes):
        for i in range(tl.ptr[n], tl.ptr[n + 1]):
            start, back = float(tl.time[i]) / 3600.0, float(tl.back[i]) / 3600.0
            out.append(Incident(start, modes[int(tl.mode[i])].name, f"node{n:04d}", len(out) + 2, back))
    return out


def write_incidents(path: Path, incidents: Sequence[Incident], start: dt.datetime, ends: bool = True) -> Path:
    """Write ``incidents`` as a CSV log with times from ``start`` (and an ``end`` column when ``ends``)."""

    def iso(hours: float) -> str:
        return (start + dt.timedelta(hours=hours)).isoformat().replace("+00:00", "Z")

    with path.open("w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["timestamp", "cause", "node", *(["end"] if ends else [])])
        for i in incidents:
            end = [] if not ends else ["" if i.end_hours is None or math.isnan(i.end_hours) else iso(i.end_hours)]
            w.writerow([iso(i.hours), i.cause, i.node, *end])
    return path
