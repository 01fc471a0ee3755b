"""Builders shared by the tests: small scenarios and scripted failure timelines."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from sim.config.loading import scenario_from_dict
from sim.config.scenario import Scenario
from sim.model.failures import NodeTimeline

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
