"""Closed forms of failure clocks: a fleet in steady state, a fresh one, and a fleet of unlike servers.

A clock is a renewal process whose gaps follow a law of mean ``mean``. In a fleet in production
(``cluster.fleet_age = "stationary"``) the clocks have no common birthday: the first failure of a
clock follows the law's equilibrium (forward-recurrence) distribution, of density S(t) / mean, and
the expected count in any window [0, t] is t / mean whatever the law. A fresh fleet (``"new"``)
starts every clock at age 0: its expected count is the renewal function M(t), above t / mean for a
decreasing hazard (Weibull shape < 1) and below it for an increasing one (Barlow and Proschan,
Mathematical Theory of Reliability, 1965, NWUE / NBUE bounds), with no closed form for a Weibull:
``renewal_function`` solves the renewal equation numerically.

A Weibull of scale lam and shape k has the forward-recurrence CDF P(1/k, (t / lam)^k) (P: the
regularised lower incomplete gamma function), so its forward-recurrence time is lam G^(1/k) with
G ~ Gamma(1/k, 1).

>>> round(float(weibull_forward_cdf(1.0, scale=1.0, shape=1.0)), 6) == round(1 - math.exp(-1), 6)
True
>>> expected_count(hours=1000.0, mean_hours=100.0, shape=0.5, fleet_age="stationary")
10.0
>>> round(expected_count(hours=1000.0, mean_hours=100.0, shape=0.5, fleet_age="new"), 1)  # burn-in
11.8

Heterogeneity (``[heterogeneity]``): each server's failure rate is the mode's times a multiplier
of fleet mean 1: a bad server's is ``bad_node_multiplier`` x a good one's (a share ``f`` of the
servers is bad), times a gamma frailty of mean 1 and coefficient of variation ``cv``. With
exponential clocks a server's count in a window is then a mixture of Poissons: negative binomial
for gamma frailty (shape 1 / cv^2), two Poissons for the bad-node model.

>>> good_multiplier(0.15, 6.0)   # AIReSim's defaults: 15% bad servers, failing 6x as often as good ones
0.5714285714285714
>>> round(failing_fraction(1.0, cv=1.0), 4)  # one failure per server expected, gamma frailty cv 1
0.5
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Literal

import numpy as np
from scipy import special, stats

if TYPE_CHECKING:
    from sim.config.scenario import FailureMode

FleetAge = Literal["stationary", "new"]

#: Steps of the numerical renewal equation; its error is far below a Monte Carlo test's tolerance.
RENEWAL_STEPS = 1000
#: Beyond this many means the renewal function is its last computed value plus the slope 1 / mean.
RENEWAL_MEANS = 40.0


def weibull_scale(mean: float, shape: float) -> float:
    """Scale of the Weibull law of mean ``mean``: mean = scale x Gamma(1 + 1/shape)."""
    return mean / math.gamma(1.0 + 1.0 / shape)


def weibull_scale_hours(mode: FailureMode) -> float:
    """Scale of the Weibull law whose mean is ``mtbf_hours``."""
    return weibull_scale(mode.mtbf_hours, mode.shape)


def weibull_cdf(t: np.ndarray | float, scale: float, shape: float) -> np.ndarray:
    """The law itself: the first failure of a fresh clock."""
    return -np.expm1(-((np.asarray(t, dtype=float) / scale) ** shape))


def weibull_forward_cdf(t: np.ndarray | float, scale: float, shape: float) -> np.ndarray:
    """Forward-recurrence (equilibrium) CDF: the first failure of a clock of a fleet in steady state."""
    return np.asarray(special.gammainc(1.0 / shape, (np.asarray(t, dtype=float) / scale) ** shape))


def first_failure_cdf(t: np.ndarray | float, scale: float, shape: float, fleet_age: FleetAge) -> np.ndarray:
    """CDF of a clock's first failure time under ``fleet_age``."""
    if fleet_age == "stationary":
        return weibull_forward_cdf(t, scale, shape)
    return weibull_cdf(t, scale, shape)


def renewal_function(t: float, scale: float, shape: float, steps: int = RENEWAL_STEPS) -> float:
    """Expected failures of a fresh Weibull clock in [0, t]: M(t) = F(t) + int_0^t M(t - x) dF(x).

    Solved on a grid of ``steps`` points with the Riemann-Stieltjes midpoint rule (Xie, "On the
    solution of renewal-type integral equations", 1989), up to ``RENEWAL_MEANS`` means; beyond them
    M grows by 1 / mean (renewal theorem).

    >>> round(renewal_function(5.0, scale=1.0, shape=1.0), 3)   # Poisson: t / mean
    5.0
    """
    mean = scale * math.gamma(1.0 + 1.0 / shape)
    span = min(t, RENEWAL_MEANS * mean)
    if span <= 0:
        return 0.0
    grid = np.linspace(0.0, span, steps + 1)
    f = weibull_cdf(grid, scale, shape)
    df = np.diff(f)  # df[j - 1] = F(t_j) - F(t_{j-1})
    m = np.zeros(steps + 1)
    for i in range(1, steps + 1):
        # M(t_i - x) at the midpoint of each step of x: the mean of its grid neighbours.
        mid = 0.5 * (m[i - 1 : 0 : -1] + m[i - 2 :: -1][: i - 1]) if i > 1 else np.zeros(0)
        rest = float(np.dot(mid, df[1:i]))
        m[i] = (f[i] + 0.5 * df[0] * m[i - 1] + rest) / (1.0 - 0.5 * df[0])
    return float(m[-1] + (t - span) / mean)


def expected_count(hours: float, mean_hours: float, shape: float, fleet_age: FleetAge) -> float:
    """Expected failures of one clock in a window of ``hours`` from the start (Weibull; shape 1: exponential)."""
    if fleet_age == "stationary" or shape == 1.0:
        return hours / mean_hours
    return renewal_function(hours, weibull_scale(mean_hours, shape), shape)


def mode_count(mode: FailureMode, hours: float, fleet_age: FleetAge) -> float:
    """Expected failures of one instance of ``mode`` in ``hours`` from the start."""
    shape = mode.shape if mode.distribution == "weibull" else 1.0
    return expected_count(hours, mode.mtbf_hours, shape, fleet_age)


# ---------------------------------------------------------------- heterogeneity


def good_multiplier(bad_fraction: float, bad_multiplier: float) -> float:
    """A good server's rate multiplier: the fleet mean, (1 - f) g + f m g, is 1."""
    return 1.0 / (1.0 - bad_fraction + bad_fraction * bad_multiplier)


def _groups(mean: float, bad_fraction: float, bad_multiplier: float) -> list[tuple[float, float]]:
    """(weight, mean count) of the good and the bad servers."""
    g = good_multiplier(bad_fraction, bad_multiplier)
    return [(1.0 - bad_fraction, g * mean), (bad_fraction, bad_multiplier * g * mean)]


def count_pmf(
    n: np.ndarray, mean: float, bad_fraction: float = 0.0, bad_multiplier: float = 1.0, cv: float = 0.0
) -> np.ndarray:
    """P(N = n) of one server's count when the fleet's mean count is ``mean`` (exponential clocks).

    Poisson for a homogeneous fleet, negative binomial (shape 1 / cv^2, mean ``mean``) with gamma
    frailty, a mixture of the two groups' laws with bad servers.
    """
    k = np.asarray(n)
    out = np.zeros(k.shape)
    for weight, mu in _groups(mean, bad_fraction, bad_multiplier):
        if weight == 0.0:
            continue
        if cv == 0.0:
            out += weight * stats.poisson.pmf(k, mu)
        else:
            s = 1.0 / cv**2
            out += weight * stats.nbinom.pmf(k, s, s / (s + mu))
    return out


def failing_fraction(mean: float, bad_fraction: float = 0.0, bad_multiplier: float = 1.0, cv: float = 0.0) -> float:
    """Expected share of servers with at least one failure, when the fleet's mean count is ``mean``.

    1 - (1 + cv^2 mu)^(-1/cv^2) with gamma frailty (1 - e^(-mu) without), averaged over the good and
    the bad servers' means mu (exponential clocks).
    """
    none = 0.0
    for weight, mu in _groups(mean, bad_fraction, bad_multiplier):
        none += weight * (math.exp(-mu) if cv == 0.0 else (1.0 + cv**2 * mu) ** (-1.0 / cv**2))
    return 1.0 - none


def multiplier_variance(bad_fraction: float = 0.0, bad_multiplier: float = 1.0, cv: float = 0.0) -> float:
    """Variance of a server's rate multiplier (mean 1): E[level^2] E[frailty^2] - 1.

    With exponential clocks, the counts of two modes that share it have covariance
    mean_a x mean_b x this variance.

    >>> round(multiplier_variance(cv=0.5), 6)
    0.25
    """
    g = good_multiplier(bad_fraction, bad_multiplier)
    level2 = g**2 * (1.0 - bad_fraction + bad_fraction * bad_multiplier**2)
    return level2 * (1.0 + cv**2) - 1.0
