"""Repair times: a lognormal law per cause by maximum likelihood, repairs still open at the window end censored.

The simulator draws a repair of a mode as lognormal with mean ``repair_hours`` and log-spread
``repair_sigma`` (``mu = log(mean) - sigma^2 / 2``), so the fit reports exactly those two, each with
a 95% profile-likelihood interval. Repairs of zero length count as one second (the log's resolution).

A lognormal's mean lies far out in its tail when sigma is large, and a log cannot show repairs
longer than the longest it holds: when more than half of the fitted mean comes from repairs beyond
that (``EXTRAPOLATED``), the mean is an extrapolation, not a measurement (a real log gave 254,000 h
for repairs averaging 45 h, the longest 607 h, because an eighth of them lasted 0 s). Then the law is
the lognormal through the log's own mean and median (Kaplan-Meier, open repairs censored; sigma =
sqrt(2 log(mean / median))), the mean's interval from its standard error.

>>> r = fit_repairs(np.array([1.0, 2.0, 4.0, 8.0]), np.zeros(4, dtype=bool))
>>> round(r.sigma, 3), round(r.mean_hours, 2)
(0.775, 3.82)
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy import optimize, special

from sim.analysis.heterogeneity import profile_interval

#: The scenario's largest repair_sigma.
MAX_SIGMA = 5.0
#: Above this share of the fitted mean from repairs longer than any in the log, the log's own mean is kept.
EXTRAPOLATED = 0.5
SIGMA_BOUNDS = (1e-3, 10.0)


@dataclass(frozen=True)
class RepairFit:
    """Lognormal repair law: mean hours and sigma (of log), their 95% intervals, the repairs it came from."""

    mean_hours: float
    sigma: float
    mean_ci95: tuple[float, float]
    sigma_ci95: tuple[float, float]
    repairs: int
    open: int
    note: str = ""

    def to_json(self) -> dict[str, Any]:
        return {
            "repair_hours": self.mean_hours,
            "repair_sigma": self.sigma,
            "ci95": {"repair_hours": list(self.mean_ci95), "repair_sigma": list(self.sigma_ci95)},
            "repairs": self.repairs,
            "open": self.open,
            "note": self.note,
        }


_HALF_LOG_2PI = 0.5 * math.log(2 * math.pi)


def _loglik(closed: np.ndarray, opened: np.ndarray, mu: float, sigma: float) -> float:
    """Log-likelihood of log repair times: ``closed`` ended, ``opened`` still open (censored)."""
    u = (closed - mu) / sigma
    ll = -0.5 * float(u @ u) - closed.size * (math.log(sigma) + _HALF_LOG_2PI) - float(closed.sum())
    return ll + float(special.log_ndtr((mu - opened) / sigma).sum()) if opened.size else ll


def fit_repairs(hours: np.ndarray, open_: np.ndarray) -> RepairFit:
    """Fit the lognormal law of repair times ``hours``, the ``open_`` ones right-censored."""
    log_x = np.log(np.maximum(np.asarray(hours, float), 1.0 / 3600.0))
    open_ = np.asarray(open_, bool)
    closed = log_x[~open_]
    n, n_open = int(log_x.size), int(open_.sum())
    if closed.size == 0:
        return RepairFit(math.nan, math.nan, (math.nan, math.nan), (math.nan, math.nan), n, n_open, "no repair ended")
    if closed.size < 3 or float(np.ptp(closed)) < 1e-9:  # one length, up to the rounding of its times
        mean = float(np.exp(closed).mean())
        return RepairFit(
            mean, 0.0, (math.nan, math.nan), (math.nan, math.nan), n, n_open,
            f"{closed.size} ended repair{'s' if closed.size != 1 else ''} of one length or fewer than 3: "
            "their mean, fixed (repair_sigma 0)",
        )  # fmt: skip

    opened = log_x[open_]

    def ll(mu: float, log_s: float) -> float:
        return _loglik(closed, opened, mu, math.exp(log_s))

    mu0, s0 = float(closed.mean()), max(float(closed.std()), 1e-3)
    if n_open == 0:
        mu, log_s = mu0, math.log(s0)  # the closed form
    else:
        r = optimize.minimize(lambda x: -ll(x[0], x[1]), np.array([mu0, math.log(s0)]), method="Nelder-Mead",
                              options={"xatol": 1e-9, "fatol": 1e-10, "maxiter": 4000})  # fmt: skip
        mu, log_s = float(r.x[0]), float(r.x[1])
    best = ll(mu, log_s)
    ls = (math.log(SIGMA_BOUNDS[0]), math.log(SIGMA_BOUNDS[1]))
    span = 20.0 * math.exp(log_s) + 5.0

    def prof_sigma(u: float) -> float:
        return -float(optimize.minimize_scalar(lambda m: -ll(m, u), bounds=(mu - span, mu + span), method="bounded",
                                               options={"xatol": 1e-7}).fun)  # fmt: skip

    def prof_mean(log_mean: float) -> float:
        # At a given mean, mu = log(mean) - sigma^2 / 2: maximise over sigma.
        return -float(optimize.minimize_scalar(lambda u: -ll(log_mean - math.exp(2 * u) / 2, u), bounds=ls,
                                               method="bounded", options={"xatol": 1e-7}).fun)  # fmt: skip

    sigma = math.exp(log_s)
    longest = float(np.exp(log_x.max()))
    if 1.0 - restricted_mean(mu, sigma, longest) / math.exp(mu + sigma**2 / 2) > EXTRAPOLATED:
        return matched(np.exp(log_x), open_, math.exp(mu + sigma**2 / 2), longest) or RepairFit(
            math.exp(mu + sigma**2 / 2), sigma, (math.nan, math.nan), (math.nan, math.nan), n, n_open,
            "mean mostly beyond the longest repair, and no median: kept",
        )  # fmt: skip
    s_ci = profile_interval(prof_sigma, best, log_s, *ls)
    log_mean = mu + math.exp(2 * log_s) / 2
    m_ci = profile_interval(prof_mean, best, log_mean, log_mean - span, log_mean + span)
    note = f"sigma {sigma:.3g} above the scenario's largest, {MAX_SIGMA:g}" if sigma > MAX_SIGMA else ""
    return RepairFit(
        math.exp(log_mean), sigma, (math.exp(m_ci[0]), math.exp(m_ci[1])), (math.exp(s_ci[0]), math.exp(s_ci[1])),
        n, n_open, note,
    )  # fmt: skip


def restricted_mean(mu: float, sigma: float, t: float) -> float:
    """E[min(X, t)] of a lognormal X of log-mean ``mu`` and log-spread ``sigma``.

    >>> round(restricted_mean(0.0, 1.0, 1e9), 4) == round(math.exp(0.5), 4)
    True
    """
    lt = math.log(t)
    body = math.exp(mu + sigma**2 / 2) * float(special.ndtr((lt - mu - sigma**2) / sigma))
    return body + t * float(special.ndtr((mu - lt) / sigma))


def kaplan_meier(hours: np.ndarray, open_: np.ndarray) -> tuple[float, float, float]:
    """Mean up to the longest time (restricted), its standard error and the median, of times ``hours`` with
    the ``open_`` ones right-censored (Kaplan-Meier; the error by Greenwood's formula). Median nan when
    the survival never falls to a half.

    >>> kaplan_meier(np.array([1.0, 2.0, 3.0, 4.0]), np.zeros(4, dtype=bool))[::2]
    (2.5, 2.0)
    """
    times = np.unique(hours[~open_])
    at_risk = np.array([np.sum(hours >= t) for t in times], dtype=float)
    died = np.array([np.sum((hours == t) & ~open_) for t in times], dtype=float)
    surv = np.cumprod(1.0 - died / at_risk)
    edges = np.concatenate([[0.0], times, [float(hours.max())]])
    level = np.concatenate([[1.0], surv])
    pieces = level * np.diff(edges)
    after = np.cumsum(pieces[::-1])[::-1][1:]  # area after each event time
    with np.errstate(divide="ignore", invalid="ignore"):
        terms = np.where(at_risk > died, after**2 * died / (at_risk * (at_risk - died)), 0.0)
    below = np.flatnonzero(surv <= 0.5)
    return float(pieces.sum()), float(math.sqrt(terms.sum())), float(times[below[0]]) if below.size else math.nan


def matched(hours: np.ndarray, open_: np.ndarray, fitted: float, longest: float) -> RepairFit | None:
    """The lognormal through the log's own mean and median (see the module), or None without a median."""
    mean, se, median = kaplan_meier(hours, open_)
    if not math.isfinite(median) or median <= 0:
        return None
    sigma = min(math.sqrt(2 * math.log(mean / median)), MAX_SIGMA) if mean > median else 0.0
    z = 1.959964
    note = (f"the lognormal fit's mean {fitted:.3g} h lies mostly beyond the longest repair ({longest:.3g} h): "
            "the log's own mean and median kept")  # fmt: skip
    return RepairFit(mean, sigma, (max(mean - z * se, 0.0), mean + z * se), (math.nan, math.nan), int(hours.size),
                     int(open_.sum()), note)  # fmt: skip
