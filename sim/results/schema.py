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

#: Short names of the objectives a sweep can rank by.
METRIC_LABELS: dict[str, str] = {
    "ettr": "ETTR",
    "effective_compute_ratio": "effective compute",
    "realized_flop": "realized FLOP",
}

#: Metrics a sweep or ``optimize`` can maximise.
OBJECTIVES: tuple[str, ...] = ("ettr", "effective_compute_ratio", "realized_flop")

#: Scenario keys that sweeps, charts and ``optimize`` treat specially.
INTERVAL = "checkpoint.interval_minutes"
GPUS = "cluster.gpus"

#: Metrics that are fractions: shown as percentages, their differences in percentage points.
FRACTIONS: tuple[str, ...] = ("ettr", "effective_compute_ratio")
