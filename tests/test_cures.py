"""Expected failures when repairs cure bad servers, and trainsim's side of the AIReSim comparison held to them."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

import sim
from sim.analysis.cures import CuredFleet, cure_probability, cured_fleet
from sim.config.scenario import Repair

TABLE1 = Path(__file__).resolve().parents[1] / "scenarios" / "airesim_table1.toml"
DAY = 24.0


def fleet(**kw: float) -> CuredFleet:
    base: dict[str, float] = dict(
        job_nodes=4096, fleet_nodes=4360, rate=0.01 / DAY, bad_nodes=654, multiplier=6.0, cure=0.76
    )
    return CuredFleet(**(base | kw))  # type: ignore[arg-type]


def test_limits_of_the_closed_form() -> None:
    """No bad servers: J lam H; cured at the first repair: one extra failure each; never cured is refused."""
    assert fleet(bad_nodes=0).expected(100 * DAY) == pytest.approx(4096 * 0.01 * 100)
    assert fleet().never_cured(100 * DAY) == pytest.approx(4096 * 0.0175 * 100)
    # Every repair cures, every bad server reaches the job: each fails once as bad, long horizon.
    assert fleet(cure=1.0).bad_failures(1e7) == pytest.approx(654)
    assert fleet(cure=1.0).expected(1e7) == pytest.approx(4096 * 0.01 / DAY * 1e7 + 654 * 5 / 6)
    with pytest.raises(ValueError, match="cure"):
        fleet(cure=0.0).expected(DAY)


def test_share_in_job() -> None:
    """Bad servers reach the job for sure: all their failures are in it; never: only those that start there."""
    assert fleet(wait_hours=0.0).share_in_job == pytest.approx(1.0)
    assert fleet(wait_hours=1e9).share_in_job == pytest.approx(4096 / 4360 * 0.76)


def test_in_service() -> None:
    """Without repairs or waits the job runs at the fleet's mean rate; repairs keep bad servers out longer."""
    assert fleet().in_service(100.0) == pytest.approx(fleet().never_cured(100.0))
    # Out 1.68 days per failure: a bad server 9.2% of its time, a good one 1.7%; 14.0% of those in service are bad.
    f = fleet(repair_hours=40.4)
    bad = 654 / 1.101 / (654 / 1.101 + 3706 / 1.016833)
    assert f.in_service(256 * DAY) == pytest.approx(4096 * (bad * 0.06 + (1 - bad) * 0.01) * 256, rel=1e-3)
    assert fleet(repair_hours=40.4, wait_hours=48.0).in_service(DAY) < f.in_service(DAY)  # the pool filters


def test_short_horizon_cures_few() -> None:
    """Over a horizon much shorter than a bad server's life, bad servers fail at their rate, hardly cured."""
    f = fleet()
    hours = 0.01 * DAY
    assert f.bad_failures(hours) == pytest.approx(654 * 0.06 * 0.01, rel=1e-3)


def test_table1_scenario_reads_as_airesim() -> None:
    """The scenario's numbers are AIReSim's: 0.01 failures per good server-day, 654 bad of 4,360, 76% cured."""
    s = sim.load_scenario(TABLE1)
    assert cure_probability(s) == pytest.approx(0.2 * 0.6 + 0.8 * 0.8)
    f = cured_fleet(s)
    assert f.rate * DAY == pytest.approx(0.01, rel=1e-8)
    assert (f.job_nodes, f.fleet_nodes, f.bad_nodes, f.multiplier) == (4096, 4360, pytest.approx(654), 6.0)
    assert 0.8 < f.reach < 0.95  # a bad server waits about two days in the spare pool, failing at 0.06 a day
    assert f.repair_hours == pytest.approx(2.0 + 0.8 * 48.0)
    plain = sim.load_scenario(TABLE1, overrides={"repair.cures_bad_nodes": False})
    assert cure_probability(plain) == 0.0
    manual_only = s.model_copy(update={"repair": Repair(manual_fail_probability=0.2, cures_bad_nodes=True)})
    assert cure_probability(manual_only) == pytest.approx(0.8)


def _mean_and_se(scenario: sim.Scenario, replications: int, seed: int) -> tuple[float, float]:
    runs = sim.run(scenario, replications=replications, seed=seed).runs
    assert (runs["fraction_wait"] == 0).all()  # spares always suffice: the job holds its J servers throughout
    counts = runs["interruptions"]
    return float(counts.mean()), float(counts.std(ddof=1)) / math.sqrt(replications)


def test_trainsim_without_bad_servers_is_j_lam_h() -> None:
    """All good (0.01 a day): the job's failures are J lam H exactly in expectation, within 4.5 standard errors."""
    s = sim.load_scenario(
        TABLE1,
        overrides={"heterogeneity.bad_node_fraction": 0.0, "failure.0.mtbf_hours": 2400.0, "run.duration_days": 64},
    )
    mean, se = _mean_and_se(s, 6, seed=3)
    assert abs(mean - 4096 * 0.01 * 64) <= 4.5 * se, (mean, se)


@pytest.mark.slow
def test_trainsim_side_of_the_airesim_comparison() -> None:
    """scenarios/airesim_table1.toml as shipped: the job's failures are the closed form with cures, within
    4.5 standard errors (about 250); without cures they would be about 6,000 more, all good 700 fewer."""
    s = sim.load_scenario(TABLE1)
    mean, se = _mean_and_se(s, 4, seed=1)
    f = cured_fleet(s)
    hours = s.run.duration_days * DAY
    assert abs(mean - f.expected(hours)) <= 4.5 * se, (mean, se, f.expected(hours))
