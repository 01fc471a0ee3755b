"""Closed forms of steady-state and fresh clocks and of unlike servers, against their definitions."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import integrate

from sim.analysis.stationary import (
    count_pmf,
    expected_count,
    failing_fraction,
    first_failure_cdf,
    good_multiplier,
    multiplier_variance,
    renewal_function,
    weibull_forward_cdf,
    weibull_scale,
)

SHAPES = (0.5, 1.0, 2.0, 3.0)


@pytest.mark.parametrize("shape", SHAPES)
def test_forward_cdf_integrates_the_survival_over_the_mean(shape: float) -> None:
    """P(1/k, (t/lam)^k) equals the integral of S(x) / mean from 0 to t."""
    scale = weibull_scale(10.0, shape)
    for t in (0.5, 5.0, 10.0, 40.0):
        direct, _ = integrate.quad(lambda x: math.exp(-((x / scale) ** shape)) / 10.0, 0.0, t, limit=200)
        assert float(weibull_forward_cdf(t, scale, shape)) == pytest.approx(direct, rel=1e-6)


def test_a_new_clock_follows_the_law_and_an_exponential_one_is_the_same_either_way() -> None:
    """Under "new" the first failure follows the Weibull law; for shape 1 both ages give 1 - e^(-t/mean)."""
    t = np.array([0.1, 1.0, 3.0])
    assert np.allclose(first_failure_cdf(t, 2.0, 0.7, "new"), 1 - np.exp(-((t / 2.0) ** 0.7)))
    for age in ("new", "stationary"):
        assert np.allclose(first_failure_cdf(t, 2.0, 1.0, age), 1 - np.exp(-t / 2.0))  # type: ignore[arg-type]


@pytest.mark.parametrize("shape", SHAPES)
def test_stationary_count_is_window_over_mean(shape: float) -> None:
    """A clock of a fleet in steady state expects window / mean failures, whatever the shape."""
    assert expected_count(37.0, 10.0, shape, "stationary") == pytest.approx(3.7)


@pytest.mark.parametrize("shape", [0.5, 2.0, 3.0])
def test_renewal_function_approaches_smiths_asymptote(shape: float) -> None:
    """A fresh clock's M(t) - t/mean tends to (cv^2 - 1) / 2 (above 0 for shape < 1, below for shape > 1)."""
    mean = 10.0
    cv2 = math.gamma(1 + 2 / shape) / math.gamma(1 + 1 / shape) ** 2 - 1
    excess = renewal_function(300.0, weibull_scale(mean, shape), shape) - 300.0 / mean
    if shape < 1:
        # A heavy tail: the excess creeps up to its limit of 2 (1.85 at 10 means, 1.955 at 20).
        assert 1.8 < excess < (cv2 - 1) / 2
    else:
        assert excess == pytest.approx((cv2 - 1) / 2, abs=0.01)
    assert expected_count(300.0, mean, shape, "new") - 30.0 == pytest.approx(excess)


def test_renewal_function_of_an_exponential_is_the_poisson_mean() -> None:
    """Shape 1: M(t) = t / mean, short window and long."""
    for t in (0.3, 7.0, 1000.0):
        assert renewal_function(t, 2.0, 1.0) == pytest.approx(t / 2.0, rel=1e-3)


def test_good_and_bad_multipliers_average_one() -> None:
    """(1 - f) g + f m g = 1; AIReSim's 15% bad servers at 6x give g = 1 / 1.75."""
    for f, m in ((0.15, 6.0), (0.01, 100.0), (0.0, 5.0)):
        g = good_multiplier(f, m)
        assert (1 - f) * g + f * m * g == pytest.approx(1.0)
    assert good_multiplier(0.15, 6.0) == pytest.approx(1 / 1.75)


@pytest.mark.parametrize(("f", "m", "cv"), [(0.0, 1.0, 0.0), (0.0, 1.0, 0.8), (0.15, 6.0, 0.0), (0.1, 4.0, 0.5)])
def test_count_law_has_the_fleet_mean_and_its_zero_is_the_non_failing_share(f: float, m: float, cv: float) -> None:
    """The per-server count law sums to 1, has mean ``mean``, variance mean + mean^2 Var(z), and P(0) = 1 - failing."""
    mean = 2.5
    n = np.arange(400)
    p = count_pmf(n, mean, f, m, cv)
    assert p.sum() == pytest.approx(1.0)
    assert (n * p).sum() == pytest.approx(mean)
    var = (n**2 * p).sum() - mean**2
    assert var == pytest.approx(mean + mean**2 * multiplier_variance(f, m, cv))
    assert p[0] == pytest.approx(1.0 - failing_fraction(mean, f, m, cv))


def test_failing_fraction_closed_forms() -> None:
    """Gamma: 1 - (1 + cv^2 mu)^(-1/cv^2); two-point: 1 - (1-f) e^(-g mu) - f e^(-m g mu)."""
    assert failing_fraction(2.0, cv=0.5) == pytest.approx(1 - (1 + 0.25 * 2.0) ** -4)
    g = 1 / 1.75
    assert failing_fraction(2.0, 0.15, 6.0) == pytest.approx(1 - 0.85 * math.exp(-2 * g) - 0.15 * math.exp(-12 * g))
    assert failing_fraction(2.0) == pytest.approx(1 - math.exp(-2.0))
