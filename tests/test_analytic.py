"""Closed forms against the published values they come from."""

from __future__ import annotations

import math

import pytest
from builders import tiny

from sim.analysis.analytic import (
    daly_ettr,
    daly_interval,
    first_order_ettr,
    job_failure_rates_per_hour,
    job_mtbf_seconds,
    mean_detect_seconds,
    young_interval,
)

MIN = 60.0


@pytest.mark.parametrize(("mtbf_min", "expected_min"), [(24 * 60, 117), (6 * 60, 57), (15, 9.1)])
def test_daly_examples(mtbf_min: float, expected_min: float) -> None:
    """Daly (2006)'s own examples with a 5-minute write: 117, 57 and 9.1 minutes."""
    got = daly_interval(5 * MIN, mtbf_min * MIN) / MIN
    assert got == pytest.approx(expected_min, abs=0.5 if expected_min > 10 else 0.05)


def test_daly_interval_caps_at_mtbf() -> None:
    """With a write of two MTBFs or more, Daly's interval is the MTBF."""
    assert daly_interval(200.0, 100.0) == 100.0


def test_young() -> None:
    """Young (1974): sqrt(2 delta M)."""
    assert young_interval(50.0, 100.0) == pytest.approx(100.0)


def test_daly_ettr_limits() -> None:
    """Without failures only the write costs; with rare failures ETTR tends to the first-order estimate."""
    assert daly_ettr(100.0, 25.0, 10.0, math.inf) == pytest.approx(0.8)
    tau, d, r, m = 600.0, 6.0, 60.0, 1e7
    assert daly_ettr(tau, d, r, m) == pytest.approx(first_order_ettr(tau, d, r, m), abs=1e-6)


def test_job_mtbf_sums_rates_by_scope() -> None:
    """Job MTBF adds per-GPU, per-node and per-job rates over the job's instances."""
    s = tiny(
        failure=[
            {"name": "g", "scope": "gpu", "mtbf_hours": 1600.0, "repair_hours": 1.0},
            {"name": "n", "scope": "node", "mtbf_hours": 200.0, "repair_hours": 1.0, "detect_minutes": 10.0},
            {"name": "j", "scope": "job", "mtbf_hours": 100.0, "action": "restart"},
        ]
    )
    rates = job_failure_rates_per_hour(s)
    assert rates == pytest.approx({"g": 16 / 1600, "n": 2 / 200, "j": 1 / 100})
    assert job_mtbf_seconds(s) == pytest.approx(3600 / 0.03)
    assert mean_detect_seconds(s) == pytest.approx(600 / 3)


def test_stragglers_are_not_failures_of_the_job() -> None:
    """A straggler slows the job without stopping it: it stays out of the job MTBF and detection mean."""
    base = [{"name": "crash", "scope": "job", "mtbf_hours": 10.0, "action": "restart"}]
    slow = {
        "name": "slow",
        "scope": "node",
        "mtbf_hours": 1.0,
        "action": "slow",
        "slowdown": 0.5,
        "repair_hours": 1.0,
        "detect_minutes": 30.0,
    }
    s = tiny(failure=[*base, slow])
    assert job_mtbf_seconds(s) == pytest.approx(36000.0)
    assert mean_detect_seconds(s) == 0.0
    assert job_failure_rates_per_hour(s)["slow"] == pytest.approx(2.0)
