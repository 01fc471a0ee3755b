"""Names shared by the engine and everything that reads its results: ledger buckets and metric labels.

>>> BUCKETS[0], BUCKET_LABELS["wait"]
('useful', 'waiting for nodes')
"""

from __future__ import annotations

import math
from collections.abc import Sequence

#: Ledger buckets, in the order of every table and chart; each is a ``fraction_<bucket>`` metric.
BUCKETS: tuple[str, ...] = ("useful", "lost", "checkpoint", "slow", "detect", "restart", "wait", "maintenance")

#: How each bucket reads in a report or a legend.
BUCKET_LABELS: dict[str, str] = {
    "useful": "useful compute",
    "lost": "lost (rolled back)",
    "checkpoint": "checkpoint writes",
    "slow": "slowed (stragglers, time of day)",
    "detect": "failure detection",
    "restart": "restarts",
    "wait": "waiting for nodes",
    "maintenance": "planned maintenance",
}

#: Per-replication figures of the fleet (retirement, spares, the repair pipeline), in the order of the runs table.
FLEET_METRICS: tuple[str, ...] = (
    "nodes_retired",
    "spares_consumed",
    "repairs_auto",
    "repairs_manual",
    "failed_repairs",
    "misdiagnoses",
    "repair_node_hours",
)

#: Per-replication figures of the power trace (``sim.model.power``): IT power, in the order reports show them.
POWER_METRICS: tuple[str, ...] = (
    "power_mean_mw",
    "power_peak_mw",
    "full_load_mw",
    "it_energy_mwh",
    "swings_per_day",
    "largest_swing_mw",
    "fastest_ramp_mw_per_s",
    "hours_below_half_load",
)
#: The facility figure (IT x PUE) beside an IT one.
FACILITY: dict[str, str] = {
    "power_mean_mw": "facility_power_mean_mw",
    "power_peak_mw": "facility_power_peak_mw",
    "it_energy_mwh": "energy_mwh",
}
#: What a power floor (``power.floor_fraction``) avoided and cost, against the same run without it.
SMOOTHING_METRICS: tuple[str, ...] = ("swings_avoided_per_day", "smoothing_energy_mwh", "smoothing_cost_usd")
#: Facility energy by what drew it; they sum to ``energy_mwh``.
ENERGY_GROUPS: tuple[str, ...] = (
    "computing",
    "checkpoint",
    "detect",
    "restart",
    "wait",
    "maintenance",
    "spares",
    "other_it",
)

#: Short names of metrics: the objectives a sweep can rank by, and the fleet's figures in reports.
METRIC_LABELS: dict[str, str] = {
    "ettr": "ETTR",
    "effective_compute_ratio": "effective compute",
    "realized_flop": "realized FLOP",
    "time_to_train_days": "time to train (days)",
    "cost_to_train_usd": "cost to train",
    "usd_per_useful_exaflop": "cost per useful exaFLOP",
    "total_cost_usd": "total cost",
    "unreliability_cost_usd": "cost of unreliability",
    "nodes_retired": "servers retired",
    "spares_consumed": "spares consumed (job positions filled)",
    "repairs_auto": "automated repairs",
    "repairs_manual": "manual repairs",
    "failed_repairs": "repairs that left the fault",
    "misdiagnoses": "misdiagnoses (healthy server pulled)",
    "repair_node_hours": "server-hours in repair",
    "power_mean_mw": "mean draw (MW)",
    "power_peak_mw": "peak draw (MW)",
    "full_load_mw": "full load (MW)",
    "it_energy_mwh": "energy (MWh)",
    "swings_per_day": "swings a day",
    "largest_swing_mw": "largest swing (MW)",
    "fastest_ramp_mw_per_s": "fastest ramp (MW/s)",
    "hours_below_half_load": "hours below half load",
    "swings_avoided_per_day": "swings the floor avoided a day",
    "smoothing_energy_mwh": "energy the floor cost (MWh)",
    "smoothing_cost_usd": "money the floor cost",
}

#: Objectives a sweep or ``optimize`` can rank by (``--objective``), each the metric it ranks: its
#: own name, or for the time and money objectives a shorter one.
OBJECTIVES: dict[str, str] = {
    "ettr": "ettr",
    "effective_compute_ratio": "effective_compute_ratio",
    "realized_flop": "realized_flop",
    "time_to_train": "time_to_train_days",
    "cost_to_train": "cost_to_train_usd",
    "cost_per_exaflop": "usd_per_useful_exaflop",
    "total_cost": "total_cost_usd",
}

#: Metrics of which less is better; of every other objective, more is.
LOWER_IS_BETTER: frozenset[str] = frozenset(
    {"time_to_train_days", "cost_to_train_usd", "usd_per_useful_exaflop", "total_cost_usd"}
)

#: Metrics that need a target (``run.target_*``): a replication that did not reach it has none (NaN),
#: which means "later (dearer) than any value", not "unknown": statistics treat it so.
CENSORED: tuple[str, ...] = ("time_to_train_days", "cost_to_train_usd")


def objective_metric(objective: str) -> str:
    """The metric an objective ranks (a metric's own name is accepted too); ``KeyError`` for neither.

    >>> objective_metric("time_to_train"), objective_metric("time_to_train_days"), objective_metric("ettr")
    ('time_to_train_days', 'time_to_train_days', 'ettr')
    """
    if objective in OBJECTIVES:
        return OBJECTIVES[objective]
    if objective in OBJECTIVES.values():
        return objective
    raise KeyError(objective)


def better_word(metric: str) -> str:
    """``"lowest"`` or ``"highest"``: which mean of ``metric`` is best.

    >>> better_word("ettr"), better_word("time_to_train_days")
    ('highest', 'lowest')
    """
    return "lowest" if metric in LOWER_IS_BETTER else "highest"


def best_index(means: Sequence[float], metric: str) -> int:
    """Position of the best mean of ``metric`` (the first of equals); a missing mean (NaN) is the worst.

    >>> best_index([3.0, 1.0, float("nan")], "ettr"), best_index([3.0, 1.0, float("nan")], "total_cost_usd")
    (0, 1)
    """
    sign = -1.0 if metric in LOWER_IS_BETTER else 1.0
    keyed = [sign * float(m) if not math.isnan(m) else -math.inf for m in means]
    return max(range(len(keyed)), key=keyed.__getitem__)


#: Scenario keys that sweeps, charts and ``optimize`` treat specially.
INTERVAL = "checkpoint.interval_minutes"
GPUS = "cluster.gpus"

#: Metrics that are fractions: shown as percentages, their differences in percentage points.
FRACTIONS: tuple[str, ...] = ("ettr", "effective_compute_ratio")
