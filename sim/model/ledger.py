"""Time accounting in GPU-seconds, and its conversion to FLOPs, tokens, energy and money.

Every GPU-second of a replication lands in exactly one bucket; the buckets sum to
job GPUs x horizon.

>>> led = Ledger(gpus=8)
>>> led.add("useful", 90.0)
>>> led.add("lost", 10.0, cause="faulty GPU")
>>> led.total_gpu_seconds, led.lost_by_cause
(800.0, {'faulty GPU': 80.0})
"""

from __future__ import annotations

import math
from collections import Counter
from typing import TYPE_CHECKING

from sim.model.costs import costs
from sim.results.schema import BUCKETS

if TYPE_CHECKING:
    from sim.config.scenario import Scenario

#: Buckets charged to the failure that caused them.
FAILURE_COST: tuple[str, ...] = ("lost", "slow", "detect", "restart", "wait")


class Ledger:
    """GPU-seconds per bucket, lost GPU-seconds per cause, and interruptions per cause."""

    def __init__(self, gpus: int) -> None:
        self.gpus = gpus
        self.gpu_seconds: dict[str, float] = dict.fromkeys(BUCKETS, 0.0)
        self.lost_by_cause: dict[str, float] = {}
        self.interruptions: Counter[str] = Counter()
        self.planned = 0  # planned stops (maintenance windows)

    def add(self, bucket: str, seconds: float, gpus: int | None = None, cause: str | None = None) -> None:
        """Book ``seconds`` of wall time on ``gpus`` GPUs (default: the whole job) to ``bucket``."""
        gs = seconds * (self.gpus if gpus is None else gpus)
        self.gpu_seconds[bucket] += gs
        if cause is not None and bucket in FAILURE_COST:
            self.lost_by_cause[cause] = self.lost_by_cause.get(cause, 0.0) + gs

    def interrupted(self, cause: str) -> None:
        self.interruptions[cause] += 1

    @property
    def total_gpu_seconds(self) -> float:
        return sum(self.gpu_seconds.values())


def metrics(
    scenario: Scenario,
    ledger: Ledger,
    seconds: float | None = None,
    finished: bool = False,
    energy: tuple[float, float] | None = None,
) -> dict[str, float]:
    """The per-replication figures of ``ledger`` for ``scenario`` (see docs/results.md for each).

    ``seconds``: the time the ledger covers (default: the horizon); ``finished``: the run reached
    its target (``run.target_*``) at ``seconds``; ``energy``: facility MWh and their price from the
    power trace (default: from the ledger, ``sim.model.costs``).
    """
    horizon = scenario.horizon_seconds if seconds is None else seconds
    gpus = scenario.cluster.gpus
    capacity = gpus * horizon
    b = ledger.gpu_seconds
    peak = scenario.peak_flops_per_gpu
    theoretical = capacity * peak
    realized = b["useful"] * peak * scenario.workload.mfu
    n_int = sum(ledger.interruptions.values())
    money = costs(scenario, b, horizon, energy)
    total_usd = money["total_cost_usd"]
    job_usd = total_usd - money["spare_cost_usd"]  # the spares' rental is not a job GPU-second's
    out: dict[str, float] = {
        "ettr": b["useful"] / capacity,
        "effective_compute_ratio": realized / theoretical,
        "theoretical_flop": theoretical,
        "realized_flop": realized,
        "interruptions": float(n_int),
        "planned_interruptions": float(ledger.planned),
        "job_mtbf_hours": horizon / 3600.0 / n_int if n_int else math.nan,
    }
    out.update({f"fraction_{k}": v / capacity for k, v in b.items()})
    out.update({f"{k}_gpu_hours": v / 3600.0 for k, v in b.items()})
    if scenario.workload.parameters:
        out["tokens"] = realized / (6.0 * scenario.workload.parameters)
    out.update(
        {
            "energy_mwh": money["energy_mwh"],
            "energy_cost_usd": money["energy_cost_usd"],
            "capex_cost_usd": money["capex_cost_usd"],
            "total_cost_usd": total_usd,
            "usd_per_useful_exaflop": total_usd / (realized / 1e18) if realized else math.nan,
            "usd_lost_to_failures": job_usd * sum(ledger.lost_by_cause.values()) / capacity,
            "rental_cost_usd": money["rental_cost_usd"],
            "spare_cost_usd": money["spare_cost_usd"],
            "unreliability_cost_usd": money["unreliability_cost_usd"],
        }
    )
    out.update({f"{k}_cost_usd": money[f"{k}_cost_usd"] for k in b})
    out["run_days"] = horizon / 86400.0
    if scenario.target_gpu_seconds is not None:
        # Not reached within the horizon: no time (NaN reads as "later than any", see sim.results.schema.CENSORED).
        out["target_reached"] = 1.0 if finished else 0.0
        out["time_to_train_days"] = horizon / 86400.0 if finished else math.nan
        out["cost_to_train_usd"] = total_usd if finished else math.nan
    return out


def cost_per_gpu_second(scenario: Scenario, metric_values: dict[str, float], seconds: float) -> float:
    """Money per job GPU-second of a run of ``seconds`` (spares' rental aside): what a lost GPU-second costs."""
    job_usd = metric_values["total_cost_usd"] - metric_values["spare_cost_usd"]
    return job_usd / (scenario.cluster.gpus * seconds)
