"""Ledger bookkeeping and its conversion to FLOPs, tokens, energy and money."""

from __future__ import annotations

import pytest
from builders import tiny

from sim.model.ledger import Ledger, metrics
from sim.results.schema import BUCKETS


def test_buckets_and_causes() -> None:
    """Time books in GPU-seconds; failure costs are charged to their cause, others are not."""
    led = Ledger(gpus=10)
    led.add("useful", 100.0)
    led.add("lost", 5.0, cause="a")
    led.add("restart", 2.0, cause="a")
    led.add("checkpoint", 1.0, cause="a")
    led.add("wait", 3.0, gpus=4, cause="b")
    assert led.total_gpu_seconds == 1000 + 50 + 20 + 10 + 12
    assert led.lost_by_cause == {"a": 70.0, "b": 12.0}
    assert set(led.gpu_seconds) == set(BUCKETS)


def test_metrics_from_a_known_ledger() -> None:
    """FLOPs, tokens, energy and cost of a hand-made ledger, computed by hand."""
    s = tiny(
        {
            "workload.parameters": 1e9,
            "workload.mfu": 0.5,
            "energy.it_watts_per_gpu": 1000.0,
            "energy.idle_fraction": 0.25,
            "energy.pue": 1.2,
            "energy.usd_per_kwh": 0.1,
            "energy.capex_usd": 365.25e6,
            "energy.amortization_years": 1.0,
        }
    )
    horizon, gpus = s.horizon_seconds, 16
    led = Ledger(gpus)
    led.add("useful", 0.75 * horizon)
    led.add("lost", 0.05 * horizon, cause="crash")
    led.add("restart", 0.2 * horizon, cause="crash")
    led.interrupted("crash")
    m = metrics(s, led)
    peak = 989.4e12
    assert m["ettr"] == pytest.approx(0.75)
    assert m["theoretical_flop"] == pytest.approx(gpus * peak * horizon)
    assert m["realized_flop"] == pytest.approx(0.75 * 0.5 * gpus * peak * horizon)
    assert m["effective_compute_ratio"] == pytest.approx(0.375)
    assert m["tokens"] == pytest.approx(m["realized_flop"] / 6e9)
    assert m["job_mtbf_hours"] == pytest.approx(24.0)
    # The older all-in model: computing at 1 kW, else a quarter of it; the spare server's 8 GPUs idle throughout.
    kwh = (gpus * 24 * (0.8 * 1.0 + 0.2 * 0.25) + 8 * 24 * 0.25) * 1.2
    assert m["energy_mwh"] == pytest.approx(kwh / 1000)
    assert m["energy_cost_usd"] == pytest.approx(kwh * 0.1)
    assert m["capex_cost_usd"] == pytest.approx(1e6)
    assert m["usd_lost_to_failures"] == pytest.approx(0.25 * m["total_cost_usd"])
    assert sum(m[f"fraction_{b}"] for b in BUCKETS) == pytest.approx(1.0)
