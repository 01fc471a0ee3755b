"""Money of a replication: owned or rented, per bucket, and the cost of unreliability."""

from __future__ import annotations

import pytest
from builders import tiny

from sim.model.costs import costs
from sim.results.schema import BUCKETS

HOUR = 3600.0


def test_rental_bills_every_hour_of_every_gpu_and_spare() -> None:
    """16 GPUs at $2/h and one spare server at $16/h for 10 h: $320 + $160, whatever the GPUs did."""
    s = tiny({"cost.usd_per_gpu_hour": 2.0, "cost.usd_per_spare_node_hour": 16.0})
    c = costs(s, {"useful": 16 * 8 * HOUR, "restart": 16 * 2 * HOUR}, 10 * HOUR)
    assert c["rental_cost_usd"] == pytest.approx(480.0)
    assert c["spare_cost_usd"] == pytest.approx(160.0)
    assert c["total_cost_usd"] == pytest.approx(480.0)
    assert c["useful_cost_usd"] == pytest.approx(256.0) and c["restart_cost_usd"] == pytest.approx(64.0)
    # Everything not useful: the two restart hours, and the spare the failures make necessary.
    assert c["unreliability_cost_usd"] == pytest.approx(64.0 + 160.0)


def test_owned_hardware_is_amortised_over_the_run() -> None:
    """Capex over its write-off period, prorated to the run's length; checkpoints are priced too."""
    s = tiny({"cost.capex_usd": 365.25e6, "cost.amortization_years": 1.0})
    c = costs(s, {"useful": 16 * 20 * HOUR, "checkpoint": 16 * 4 * HOUR}, 24 * HOUR)
    assert c["capex_cost_usd"] == pytest.approx(1e6)
    assert c["checkpoint_cost_usd"] == pytest.approx(1e6 / 6)
    assert c["unreliability_cost_usd"] == pytest.approx(1e6 / 6)
    assert c["rental_cost_usd"] == 0.0


def test_bucket_costs_add_up_to_the_total() -> None:
    """Energy and capex: every bucket at the same price per GPU-second sums to the total cost."""
    s = tiny({"energy.usd_per_kwh": 0.1, "cost.capex_usd": 1e7, "energy.pue": 1.3})
    split = {"useful": 5.0, "lost": 1.0, "checkpoint": 0.5, "restart": 2.0, "wait": 1.5}
    c = costs(s, {k: 16 * v * HOUR for k, v in split.items()}, 10 * HOUR)
    assert sum(c[f"{b}_cost_usd"] for b in BUCKETS) == pytest.approx(c["total_cost_usd"])
    assert c["unreliability_cost_usd"] == pytest.approx(c["total_cost_usd"] * 0.5)
