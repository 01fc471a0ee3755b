"""``sim.analysis.repair_fit``: the lognormal repair law against scipy, censoring, and the coverage of its intervals."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import optimize, stats

from sim.analysis.repair_fit import fit_repairs

MEAN, SIGMA = 30.0, 1.2


def draw(rng: np.random.Generator, n: int) -> np.ndarray:
    """``n`` lognormal repair times with mean MEAN and log-spread SIGMA, as the simulator draws them."""
    return MEAN * np.exp(SIGMA * rng.standard_normal(n) - SIGMA**2 / 2)


def test_uncensored_fit_is_scipys() -> None:
    """Without open repairs the fit is scipy's lognorm MLE (location 0), as mean and sigma."""
    x = draw(np.random.default_rng(1), 200)
    r = fit_repairs(x, np.zeros(x.size, dtype=bool))
    s, _, scale = stats.lognorm.fit(x, floc=0)
    assert r.sigma == pytest.approx(s, rel=1e-9)
    assert r.mean_hours == pytest.approx(scale * math.exp(s**2 / 2), rel=1e-9)
    assert r.mean_ci95[0] < r.mean_hours < r.mean_ci95[1] and r.sigma_ci95[0] < r.sigma < r.sigma_ci95[1]


def test_open_repairs_are_censored_as_scipy_would() -> None:
    """Repairs still open at the window end are right-censored: the same optimum as scipy's CensoredData fit."""
    rng = np.random.default_rng(2)
    x = draw(rng, 300)
    cut = rng.uniform(0, 150, x.size)  # time left in the window when each repair started
    open_ = x > cut
    seen = np.where(open_, cut, x)
    r = fit_repairs(seen, open_)
    data = stats.CensoredData(uncensored=seen[~open_], right=seen[open_])

    def tight(func, x0, args=(), disp=0):  # type: ignore[no-untyped-def]
        return optimize.fmin(func, x0, args=args, disp=disp, xtol=1e-10, ftol=1e-12, maxiter=100_000, maxfun=100_000)

    s, _, scale = stats.lognorm.fit(data, floc=0, optimizer=tight)
    assert r.open == int(open_.sum()) > 20 and r.repairs == 300
    assert r.sigma == pytest.approx(s, rel=1e-5)
    assert r.mean_hours == pytest.approx(scale * math.exp(s**2 / 2), rel=1e-5)


def test_few_or_equal_repairs_give_a_fixed_mean() -> None:
    """Fewer than three ended repairs, or all of one length: their mean with sigma 0, and a note; none ended: nan."""
    r = fit_repairs(np.array([2.0, 4.0]), np.zeros(2, dtype=bool))
    assert (r.mean_hours, r.sigma) == (3.0, 0.0) and "fewer than 3" in r.note
    none = fit_repairs(np.array([2.0]), np.ones(1, dtype=bool))
    assert math.isnan(none.mean_hours) and none.note == "no repair ended"


@pytest.mark.slow
def test_intervals_cover_the_truth() -> None:
    """Over 100 samples of 60 repairs (a tenth censored), the 95% intervals of mean and sigma each cover the
    truth at least 95% - 4.5 binomial sigma of the time."""
    rng = np.random.default_rng(3)
    mean_in = sigma_in = 0
    for _ in range(100):
        x = draw(rng, 60)
        cut = np.where(rng.random(60) < 0.1, rng.uniform(0, 60, 60), np.inf)
        r = fit_repairs(np.minimum(x, cut), x > cut)
        mean_in += r.mean_ci95[0] < MEAN < r.mean_ci95[1]
        sigma_in += r.sigma_ci95[0] < SIGMA < r.sigma_ci95[1]
    floor = 100 * (0.95 - 4.5 * math.sqrt(0.05 * 0.95 / 100))
    assert mean_in >= floor and sigma_in >= floor, (mean_in, sigma_in)
