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

from sim.results.schema import BUCKETS

if TYPE_CHECKING:
    from sim.config.scenario import Scenario

#: Buckets in which the GPUs do arithmetic at full power; the rest draw ``idle_fraction`` of it.
#: ``slow`` is throughput lost while computing (stragglers, time of day): the GPUs are busy.
COMPUTING: tuple[str, ...] = ("useful", "lost", "slow")
#: Buckets charged to the failure that caused them.
FAILURE_COST: tuple[str, ...] = ("lost", "slow", "detect", "restart", "wait")

SECONDS_PER_YEAR = 365.25 * 86400.0
JOULES_PER_MWH = 3.6e9


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


def metrics(scenario: Scenario, ledger: Ledger) -> dict[str, float]:
    """The per-replication figures of ``ledger`` for ``scenario`` (see the README for each)."""
    horizon = scenario.horizon_seconds
    gpus = scenario.cluster.gpus
    capacity = gpus * horizon
    b = ledger.gpu_seconds
    peak = scenario.peak_flops_per_gpu
    theoretical = capacity * peak
    realized = b["useful"] * peak * scenario.workload.mfu
    n_int = sum(ledger.interruptions.values())
    watts = scenario.it_watts_per_gpu
    e = scenario.energy
    computing = sum(b[k] for k in COMPUTING)
    joules = (computing * watts + (capacity - computing) * watts * e.idle_fraction) * e.pue
    energy_mwh = joules / JOULES_PER_MWH
    energy_usd = energy_mwh * 1000.0 * e.usd_per_kwh
    capex_usd = e.capex_usd * horizon / (e.amortization_years * SECONDS_PER_YEAR)
    total_usd = energy_usd + capex_usd
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
            "energy_mwh": energy_mwh,
            "energy_cost_usd": energy_usd,
            "capex_cost_usd": capex_usd,
            "total_cost_usd": total_usd,
            "usd_per_useful_exaflop": total_usd / (realized / 1e18) if realized else math.nan,
            "usd_lost_to_failures": total_usd * sum(ledger.lost_by_cause.values()) / capacity,
        }
    )
    return out


def cost_per_gpu_second(scenario: Scenario, metric_values: dict[str, float]) -> float:
    """Average money per GPU-second of the run: what a lost GPU-second costs."""
    return metric_values["total_cost_usd"] / (scenario.cluster.gpus * scenario.horizon_seconds)
