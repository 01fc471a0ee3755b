"""``sim.analysis.heterogeneity``: the count models against scipy, the overdispersion test, interval coverage."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats

from sim.analysis.heterogeneity import _Counts, fit_heterogeneity, gamma_law, two_point_law

NODES, HOURS, RATE = 400, 8760.0, 1 / 2000.0


def counts(rng: np.random.Generator, model: str, exposure: np.ndarray) -> np.ndarray:
    """Per-node counts of a fleet: homogeneous, gamma frailty (cv 1.5) or 10% bad nodes failing 10x as often."""
    if model == "gamma":
        z = rng.gamma(1 / 1.5**2, 1.5**2, exposure.size)
    elif model == "bad-nodes":
        good, bad = two_point_law(0.1, 10.0)[0]
        z = np.where(rng.random(exposure.size) < 0.1, bad, good)
    else:
        z = np.ones(exposure.size)
    return rng.poisson(z * RATE * exposure).astype(float)


@pytest.mark.parametrize("cv", [0.05, 0.3, 1.0, 3.0])
def test_gamma_law_keeps_mean_spread_and_laplace_transform(cv: float) -> None:
    """The discrete gamma law has mean 1 exactly, the cv asked, and E[exp(-s Z)] of the gamma law (2e-3)."""
    z, p = gamma_law(cv)
    assert p.sum() == pytest.approx(1.0, abs=1e-12) and z @ p == pytest.approx(1.0, abs=1e-12)
    assert math.sqrt(((z - 1) ** 2) @ p) == pytest.approx(cv, rel=0.02)
    for s in (0.1, 1.0, 10.0):
        assert np.exp(-s * z) @ p == pytest.approx((1 + s * cv**2) ** (-1 / cv**2), rel=2e-3, abs=1e-6)


def test_likelihoods_are_scipys() -> None:
    """The negative binomial and the two-point mixture log-likelihoods equal scipy's pmfs, summed."""
    rng = np.random.default_rng(1)
    e = rng.uniform(1000, 9000, 50)
    n = counts(rng, "gamma", e)
    c = _Counts(n, e, np.ones(50))
    rate, cv = 1 / 2500.0, 1.2
    a = 1 / cv**2
    mu = rate * e
    assert c.gamma(math.log(rate), math.log(cv)) == pytest.approx(stats.nbinom.logpmf(n, a, a / (a + mu)).sum())
    z, p = two_point_law(0.2, 6.0)
    mix = np.log(p[0] * stats.poisson.pmf(n, z[0] * mu) + p[1] * stats.poisson.pmf(n, z[1] * mu)).sum()
    assert c.bad_nodes(math.log(rate), math.log(0.2 / 0.8), math.log(5.0)) == pytest.approx(mix)
    assert c.poisson(math.log(rate)) == pytest.approx(stats.poisson.logpmf(n, mu).sum())


@pytest.mark.parametrize("model", ["none", "gamma", "bad-nodes"])
def test_each_fleet_is_recognised(model: str) -> None:
    """A homogeneous fleet is not called heterogeneous; gamma and bad-node fleets are told apart by AIC."""
    rng = np.random.default_rng(7)
    e = np.full(NODES, HOURS)
    h = fit_heterogeneity(counts(rng, model, e), e, np.ones(NODES))
    assert h.model == model, h.to_json()
    if model == "gamma":
        lo, hi = h.chosen.ci95["cv"]
        assert lo < 1.5 < hi
    if model == "bad-nodes":
        assert h.chosen.ci95["fraction"][0] < 0.1 < h.chosen.ci95["fraction"][1]
        assert h.chosen.ci95["multiplier"][0] < 10.0 < h.chosen.ci95["multiplier"][1]
    assert h.chosen.ci95["rate"][0] < RATE < h.chosen.ci95["rate"][1]


def test_scenario_keys_of_each_model() -> None:
    """The chosen model's keys are the simulator's: fraction and multiplier, or cv, else zeros; per_mode false."""
    rng = np.random.default_rng(3)
    e = np.full(NODES, HOURS)
    h = fit_heterogeneity(counts(rng, "bad-nodes", e), e, np.ones(NODES))
    keys = h.scenario_keys()
    assert keys["frailty_cv"] == 0.0 and keys["per_mode"] is False and 0 < keys["bad_node_fraction"] < 1
    none = fit_heterogeneity(counts(np.random.default_rng(7), "none", e), e, np.ones(NODES))
    assert none.scenario_keys() == {"bad_node_fraction": 0.0, "bad_node_multiplier": 1.0, "frailty_cv": 0.0,
                                    "per_mode": False}  # fmt: skip
    assert none.law()[0].tolist() == [1.0]


@pytest.mark.slow
def test_false_alarms_and_coverage_over_seeds() -> None:
    """100 homogeneous fleets: the overdispersion test rejects about 5% (at most 5% + 4.5 binomial sigma);
    60 gamma and 60 bad-node fleets: their intervals cover the truth at about 95% (at least 95% - 4.5 sigma)."""
    rng = np.random.default_rng(2024)
    e = rng.uniform(4000, HOURS, NODES)  # exposures differ, as with repairs
    alarms = sum(fit_heterogeneity(counts(rng, "none", e), e, np.ones(NODES)).p_value < 0.05 for _ in range(100))
    assert alarms <= 100 * (0.05 + 4.5 * math.sqrt(0.05 * 0.95 / 100))
    cover = {"cv": 0, "fraction": 0, "multiplier": 0, "rate_g": 0, "rate_b": 0}
    truth = {"cv": 1.5, "fraction": 0.1, "multiplier": 10.0}
    for _ in range(60):
        g = fit_heterogeneity(counts(rng, "gamma", e), e, np.ones(NODES), model="gamma").fits["gamma"].ci95
        b = fit_heterogeneity(counts(rng, "bad-nodes", e), e, np.ones(NODES), model="bad-nodes").fits["bad-nodes"].ci95
        cover["cv"] += g["cv"][0] < truth["cv"] < g["cv"][1]
        cover["rate_g"] += g["rate"][0] < RATE < g["rate"][1]
        cover["rate_b"] += b["rate"][0] < RATE < b["rate"][1]
        for k in ("fraction", "multiplier"):
            cover[k] += b[k][0] < truth[k] < b[k][1]
    floor = 60 * (0.95 - 4.5 * math.sqrt(0.05 * 0.95 / 60))
    assert all(v >= floor for v in cover.values()), cover
