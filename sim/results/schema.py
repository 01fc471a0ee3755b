"""Names shared by the engine and everything that reads its results: ledger buckets and metric labels.

>>> BUCKETS[0], BUCKET_LABELS["wait"]
('useful', 'waiting for nodes')
"""

from __future__ import annotations

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

#: Short names of metrics: the objectives a sweep can rank by, and the fleet's figures in reports.
METRIC_LABELS: dict[str, str] = {
    "ettr": "ETTR",
    "effective_compute_ratio": "effective compute",
    "realized_flop": "realized FLOP",
    "nodes_retired": "servers retired",
    "spares_consumed": "spares consumed (job positions filled)",
    "repairs_auto": "automated repairs",
    "repairs_manual": "manual repairs",
    "failed_repairs": "repairs that left the fault",
    "misdiagnoses": "misdiagnoses (healthy server pulled)",
    "repair_node_hours": "server-hours in repair",
}

#: Metrics a sweep or ``optimize`` can maximise.
OBJECTIVES: tuple[str, ...] = ("ettr", "effective_compute_ratio", "realized_flop")

#: Scenario keys that sweeps, charts and ``optimize`` treat specially.
INTERVAL = "checkpoint.interval_minutes"
GPUS = "cluster.gpus"

#: Metrics that are fractions: shown as percentages, their differences in percentage points.
FRACTIONS: tuple[str, ...] = ("ettr", "effective_compute_ratio")
