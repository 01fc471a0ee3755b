"""The time to train a fixed amount of work: closed forms (``sim.analysis.completion``), and the simulator
held to them under Daly's assumptions (exponential failures, no detection, restart in place, fixed
write and restart), within its Monte Carlo error."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats

import sim
from sim.analysis.analytic import daly_ettr
from sim.analysis.completion import completion_moments, segment_moments
from sim.config.loading import scenario_from_dict
from sim.config.scenario import Scenario

M_S = 3600.0  # job MTBF; the cases are multiples of it


def test_mean_is_work_over_daly_ettr() -> None:
    """For whole intervals, E[T] = W / ETTR_Daly exactly (Daly 2006)."""
    tau, delta, r = 600.0, 60.0, 300.0
    for n in (1, 7, 250):
        mean, _ = completion_moments(n * tau, tau, delta, r, M_S)
        assert mean == pytest.approx(n * tau / daly_ettr(tau, delta, r, M_S), rel=1e-12)


def test_without_failures_the_time_is_the_schedule() -> None:
    """No failures: W plus one write per started interval, no spread."""
    assert completion_moments(2.5 * 600.0, 600.0, 60.0, 300.0, math.inf) == (1500.0 + 3 * 60.0, 0.0)
    assert completion_moments(0.0, 600.0, 60.0, 300.0, M_S) == (0.0, 0.0)


def test_segment_moments_by_monte_carlo() -> None:
    """A direct simulation of one segment (retry until L without failure, restarts that fail too) agrees."""
    rng = np.random.default_rng(1)
    length, restart, n = 3000.0, 600.0, 40_000
    times = np.empty(n)
    for i in range(n):
        t = 0.0
        while (f := rng.exponential(M_S)) < length:
            t += f
            while (g := rng.exponential(M_S)) < restart:
                t += g
            t += restart
        times[i] = t + length
    mean, var = segment_moments(length, restart, M_S)
    assert abs(times.mean() - mean) < 5 * math.sqrt(var / n)
    assert times.var(ddof=1) == pytest.approx(var, rel=0.05)


def daly_target(tau: float, delta: float, r: float, work: float, days: float = 60.0) -> Scenario:
    """Daly's assumptions with a target of ``work`` seconds of the whole job's computing."""
    return scenario_from_dict(
        {
            "name": "daly-target",
            "run": {"duration_days": days, "target_compute_days": work / 86400.0},
            "cluster": {"gpus": 8},
            "checkpoint": {"interval_minutes": tau * M_S / 60, "write_seconds": delta * M_S},
            "restart": {"fixed_minutes": r * M_S / 60},
            "failure": [{"name": "crash", "scope": "job", "mtbf_hours": M_S / 3600, "action": "restart"}],
        }
    )


def check_completion(tau: float, delta: float, r: float, work: float, n: int, seed: int, z: float) -> None:
    """Mean and variance of the simulated time to train within ``z`` standard errors of the closed forms."""
    s = daly_target(tau, delta, r, work)
    result = sim.run(s, replications=n, seed=seed)
    t = result.runs["time_to_train_days"].to_numpy() * 86400.0
    assert not np.isnan(t).any(), "a replication did not reach the target"
    mean, var = completion_moments(work, tau * M_S, delta * M_S, r * M_S, M_S)
    assert abs(t.mean() - mean) < z * math.sqrt(var / n), (tau, delta, r, t.mean(), mean)
    # The sample variance of a near-normal sum has a standard error of about var * sqrt(2 / (n - 1)).
    assert abs(t.var(ddof=1) - var) < z * var * math.sqrt(2.0 / (n - 1)), (tau, delta, r, t.var(ddof=1), var)


def test_simulated_time_to_train_matches_the_closed_form() -> None:
    """Interval 10 min, write 1 min, restart 5 min, MTBF 1 h: 12 h of work (a partial last interval too)."""
    check_completion(10 / 60, 1 / 60, 5 / 60, 12 * 3600.0, n=150, seed=2006, z=4.5)
    check_completion(10 / 60, 1 / 60, 5 / 60, 12 * 3600.0 + 170.0, n=150, seed=7, z=4.5)


@pytest.mark.slow
@pytest.mark.parametrize(
    ("case", "tau", "delta", "r"), [(1, 0.05, 0.01, 0.1), (2, 0.3, 0.02, 0.2), (3, 1.0, 0.05, 0.5), (4, 2.0, 0.1, 0.0)]
)
def test_time_to_train_over_a_range_of_intervals(case: int, tau: float, delta: float, r: float) -> None:
    """tau/M from 0.05 to 2: mean and variance of the time to train 3 days of work, family-wise 95%."""
    z = float(stats.norm.ppf(1 - 0.05 / (2 * 8)))  # Bonferroni over 4 cases x (mean, variance)
    # A seed per case: with one seed every case would see the same failures, and err together.
    check_completion(tau, delta, r, 3 * 86400.0 + 1000.0, n=1500, seed=case, z=z)


def test_finish_percentiles_are_the_same_on_processes() -> None:
    """One process or two: the same times to train, to the bit, and the same percentiles."""
    s = daly_target(10 / 60, 1 / 60, 5 / 60, 4 * 3600.0)
    one, two = sim.run(s, replications=6, seed=3), sim.run(s, replications=6, seed=3, jobs=2)
    assert one.runs["time_to_train_days"].equals(two.runs["time_to_train_days"])
    assert one.to_json()["metrics"]["time_to_train_days"] == two.to_json()["metrics"]["time_to_train_days"]
