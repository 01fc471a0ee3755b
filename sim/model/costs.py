"""Money of a replication: energy, owned hardware (amortised) or rented GPUs, and what each ledger bucket cost.

Every job GPU-second costs the same, the job's money (everything but the spares' rental) over its
GPU-seconds; a bucket's cost is its GPU-seconds at that price. The cost of unreliability is every
GPU-second that is not useful (rolled back, checkpoint writes, slowed, detection, restarts, waiting,
maintenance) at that price, plus the spares' rental: what the run paid beyond its useful compute.

>>> from sim.config.loading import load_scenario_text
>>> s = load_scenario_text('name = "t"\\n[cluster]\\ngpus = 8\\nspare_nodes = 1\\n[checkpoint]\\nwrite_seconds = 1\\n'
...                        '[cost]\\nusd_per_gpu_hour = 2.0\\nusd_per_spare_node_hour = 16.0')
>>> c = costs(s, {"useful": 8 * 2700.0, "restart": 8 * 900.0}, 3600.0)
>>> c["rental_cost_usd"], c["spare_cost_usd"], c["restart_cost_usd"], c["unreliability_cost_usd"]
(32.0, 16.0, 4.0, 20.0)
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

from sim.analysis.draw import ledger_energy
from sim.results.schema import BUCKETS

if TYPE_CHECKING:
    from sim.config.scenario import Scenario

SECONDS_PER_YEAR = 365.25 * 86400.0


def costs(
    scenario: Scenario,
    gpu_seconds: Mapping[str, float],
    seconds: float,
    energy: tuple[float, float] | None = None,
) -> dict[str, float]:
    """Energy and money of a run of ``seconds`` whose job GPU-seconds went to ``gpu_seconds`` (by bucket).

    ``energy``: the facility MWh and their price, from the power trace (``sim.model.power``); ``None``:
    from the ledger, every spare server powered throughout, at a flat price.

    Keys: ``energy_mwh``, ``energy_cost_usd``, ``capex_cost_usd``, ``rental_cost_usd`` (of which
    ``spare_cost_usd``), ``total_cost_usd``, ``<bucket>_cost_usd`` for every bucket, and
    ``unreliability_cost_usd``; ``job_usd_per_gpu_second``, the price of a job GPU-second.
    """
    gpus = scenario.cluster.gpus
    capacity = gpus * seconds
    e = scenario.energy
    if energy is None:
        spare_node_s = scenario.cluster.spare_nodes * seconds
        energy_mwh = sum(ledger_energy(scenario, gpu_seconds, seconds, spare_node_s).values()) * e.pue
        energy_usd = energy_mwh * 1000.0 * e.usd_per_kwh
    else:
        energy_mwh, energy_usd = energy
    capex_usd = scenario.capex_usd * seconds / (scenario.amortization_years * SECONDS_PER_YEAR)
    c = scenario.cost
    hours = seconds / 3600.0
    spare_usd = scenario.cluster.spare_nodes * c.usd_per_spare_node_hour * hours
    rental_usd = gpus * c.usd_per_gpu_hour * hours + spare_usd
    total_usd = energy_usd + capex_usd + rental_usd
    job_usd = total_usd - spare_usd
    per_gpu_second = job_usd / capacity
    out = {
        "energy_mwh": energy_mwh,
        "energy_cost_usd": energy_usd,
        "capex_cost_usd": capex_usd,
        "rental_cost_usd": rental_usd,
        "spare_cost_usd": spare_usd,
        "total_cost_usd": total_usd,
    }
    by_bucket = {f"{b}_cost_usd": gpu_seconds.get(b, 0.0) * per_gpu_second for b in BUCKETS}
    out.update(by_bucket)
    out["unreliability_cost_usd"] = spare_usd + sum(v for k, v in by_bucket.items() if k != "useful_cost_usd")
    out["job_usd_per_gpu_second"] = per_gpu_second
    return out
