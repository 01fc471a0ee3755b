"""Node heterogeneity from per-node fault counts: is the fleet homogeneous, and if not, how do its nodes differ?

Node ``i``, at risk ``E_i`` hours, has ``n_i`` faults (every cause together). Homogeneous fleet:
``n_i ~ Poisson(rho E_i)``. Heterogeneous: ``n_i ~ Poisson(z_i rho E_i)`` with a multiplier ``z_i`` of
fleet mean 1, shared by every cause of the node (the simulator's ``per_mode = false``), either

- ``gamma``: gamma multipliers with coefficient of variation ``cv`` (counts negative binomial), or
- ``bad-nodes``: a fraction ``f`` of bad nodes failing ``m`` times as often as the good ones (a Poisson
  mixture; the good multiplier is ``1 / (1 - f + f m)``, as the simulator normalises it).

Each is fitted by maximum likelihood with profile-likelihood 95% intervals. Overdispersion is tested by
the likelihood ratio of the negative binomial against the Poisson; ``cv = 0`` is on the boundary, so
the statistic is a 50:50 mixture of chi-square with 0 and 1 degrees of freedom (Self and Liang 1987):
``p = P(chi2_1 > LR) / 2``. When it rejects at ``alpha`` the model of lower AIC is chosen, else none.

>>> n, e = np.array([0.0, 0.0, 0.0, 1.0, 9.0]), np.full(5, 100.0)
>>> h = fit_heterogeneity(n, e, np.ones(5))
>>> h.model, round(h.poisson_rate * 100, 2)
('bad-nodes', 2.0)
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from scipy import optimize, special, stats

from sim.analysis.stationary import good_multiplier

ALPHA = 0.05
#: Search ranges: coefficient of variation, bad fraction, bad multiplier (the scenario's own bounds).
CV_BOUNDS = (1e-3, 10.0)
FRACTION_BOUNDS = (1e-4, 0.999)
MULTIPLIER_BOUNDS = (1.0 + 1e-6, 1e6)
_CUT = float(stats.chi2.ppf(0.95, 1)) / 2
MODELS = ("none", "gamma", "bad-nodes")


@dataclass(frozen=True)
class ModelFit:
    """One count model: its parameters (``rate`` per node-hour, and ``cv`` or ``fraction`` and ``multiplier``),
    their 95% profile-likelihood intervals, maximised log-likelihood and AIC."""

    name: str
    params: dict[str, float]
    ci95: dict[str, tuple[float, float]]
    loglik: float

    @property
    def aic(self) -> float:
        return 2 * len(self.params) - 2 * self.loglik


@dataclass(frozen=True)
class HeterogeneityFit:
    """The three count models, the overdispersion test and the chosen model (``none``, ``gamma`` or ``bad-nodes``)."""

    fits: dict[str, ModelFit]
    lr: float
    p_value: float
    model: str
    alpha: float = ALPHA
    nodes: int = 0
    dispersion: float = field(default=math.nan)  # variance / mean of the rate-adjusted counts
    imposed: bool = False  # the model was given, not chosen

    @property
    def chosen(self) -> ModelFit:
        return self.fits["poisson" if self.model == "none" else self.model]

    @property
    def poisson_rate(self) -> float:
        return self.fits["poisson"].params["rate"]

    def law(self) -> tuple[np.ndarray, np.ndarray]:
        """Multipliers and their probabilities (mean 1) of the chosen model, for integrating over a node's."""
        p = self.chosen.params
        if self.model == "gamma":
            return gamma_law(p["cv"])
        if self.model == "bad-nodes":
            return two_point_law(p["fraction"], p["multiplier"])
        return np.ones(1), np.ones(1)

    def scenario_keys(self) -> dict[str, float | bool]:
        """The ``[heterogeneity]`` keys of the chosen model (zeros and ones for none)."""
        p = self.chosen.params
        keys: dict[str, float | bool] = {"bad_node_fraction": 0.0, "bad_node_multiplier": 1.0, "frailty_cv": 0.0}
        if self.model == "gamma":
            keys["frailty_cv"] = p["cv"]
        elif self.model == "bad-nodes":
            keys |= {"bad_node_fraction": p["fraction"], "bad_node_multiplier": p["multiplier"]}
        return keys | {"per_mode": False}

    def to_json(self) -> dict[str, Any]:
        return {
            "model": self.model,
            "imposed": self.imposed,
            "lr": self.lr,
            "p_value": self.p_value,
            "alpha": self.alpha,
            "dispersion": self.dispersion,
            "scenario": self.scenario_keys(),
            "fits": {
                name: {"params": f.params, "ci95": {k: list(v) for k, v in f.ci95.items()}, "loglik": f.loglik,
                       "aic": f.aic}
                for name, f in self.fits.items()
            },
        }  # fmt: skip


def two_point_law(fraction: float, multiplier: float) -> tuple[np.ndarray, np.ndarray]:
    """Good and bad multipliers (fleet mean 1) and their probabilities.

    >>> [round(float(x), 3) for x in two_point_law(0.1, 10.0)[0]]
    [0.526, 5.263]
    """
    good = good_multiplier(fraction, multiplier)
    return np.array([good, good * multiplier]), np.array([1.0 - fraction, fraction])


def gamma_law(cv: float, ratio: float = 1.1, narrow: bool = True) -> tuple[np.ndarray, np.ndarray]:
    """Gamma multipliers of mean 1 and coefficient of variation ``cv`` as a discrete law: geometric bins
    ``ratio`` wide (narrower for a narrow law, unless not ``narrow``), each at its conditional mean (so the
    mean stays exactly 1), the far tails lumped.

    >>> z, p = gamma_law(0.5)
    >>> round(float(p.sum()), 12), round(float(z @ p), 12), round(float(np.sqrt(((z - 1) ** 2) @ p)), 2)
    (1.0, 1.0, 0.5)
    """
    a = 1.0 / cv**2
    if narrow:
        ratio = min(ratio, 1.0 + cv / 10.0)  # a narrow law needs narrow bins
    lo = max(float(stats.gamma.ppf(1e-7, a, scale=1 / a)), 1e-4)
    hi = float(stats.gamma.isf(1e-12, a, scale=1 / a))
    inner = np.exp(np.arange(math.log(lo), math.log(hi), math.log(ratio)))
    edges = np.concatenate([[0.0], inner, [np.inf]])

    def cdf(shape: float) -> tuple[np.ndarray, np.ndarray]:
        # Mass below each edge; above the median from the upper tail, so that no difference cancels.
        low, high = special.gammainc(shape, a * edges), special.gammaincc(shape, a * edges)
        return np.where(edges < 1.0, low, 1.0 - high), high

    below, above = cdf(a)
    below1, above1 = cdf(a + 1.0)  # E[Z; Z < e] = P(Gamma(a + 1) < e) when the mean is 1
    mass = np.where(edges[1:] <= 1.0, np.diff(below), -np.diff(above))
    first = np.where(edges[1:] <= 1.0, np.diff(below1), -np.diff(above1))
    keep = mass > 1e-300
    z, p = first[keep] / mass[keep], mass[keep]
    return z / (z @ p / p.sum()), p / p.sum()


class _Counts:
    """Log-likelihoods of the three models for counts ``n``, exposures ``e`` (hours) and group weights ``w``."""

    def __init__(self, n: np.ndarray, e: np.ndarray, w: np.ndarray) -> None:
        # Nodes with the same count and exposure (every node of a log without ends) as one row with a weight.
        pairs, where = np.unique(np.stack([n, np.maximum(e, 1e-9)]), axis=1, return_inverse=True)
        self.n, self.e, self.w = pairs[0], pairs[1], np.bincount(where.ravel(), weights=w)
        self.rate = float((self.w * self.n).sum() / (self.w * self.e).sum())
        self.log_e, self.lgn1 = np.log(self.e), special.gammaln(self.n + 1.0)

    def _pois(self, log_mu: np.ndarray) -> np.ndarray:
        return np.asarray(self.n * log_mu - np.exp(log_mu) - self.lgn1)

    def poisson(self, log_rate: float) -> float:
        return float(self.w @ self._pois(log_rate + self.log_e))

    def gamma(self, log_rate: float, log_cv: float) -> float:
        a = math.exp(-2.0 * log_cv)
        mu = math.exp(log_rate) * self.e
        ll = special.gammaln(self.n + a) - special.gammaln(a) - special.gammaln(self.n + 1.0)
        ll = ll + a * np.log(a / (a + mu)) + special.xlogy(self.n, mu / (a + mu))
        return float(self.w @ ll)

    def bad_nodes(self, log_rate: float, logit_f: float, log_m1: float) -> float:
        f = float(special.expit(logit_f))
        z, p = two_point_law(f, 1.0 + math.exp(log_m1))
        base = log_rate + self.log_e
        good = math.log(p[0]) + self._pois(base + math.log(z[0]))
        bad = math.log(p[1]) + self._pois(base + math.log(z[1]))
        return float(self.w @ np.logaddexp(good, bad))


def _maximise(f: Callable[[np.ndarray], float], starts: list[list[float]], bounds: list[tuple[float, float]]) -> Any:
    """The best of Nelder-Mead runs from ``starts`` (``f`` is a log-likelihood; maximised within ``bounds``)."""
    best = None
    for x0 in starts:
        r = optimize.minimize(
            lambda x: -f(np.clip(x, *np.array(bounds).T)),
            np.array(x0, dtype=float),
            method="Nelder-Mead",
            options={"xatol": 1e-6, "fatol": 1e-9, "maxiter": 2000, "maxfev": 3000},
        )
        r.x = np.clip(r.x, *np.array(bounds).T)
        if best is None or r.fun < best.fun:
            best = r
    return best


def profile_interval(
    profile: Callable[[float], float], best: float, at: float, lo: float, hi: float
) -> tuple[float, float]:
    """Where ``profile`` (a log-likelihood maximised over the other parameters) drops by the chi-square(1)
    95% cut on each side of ``at``, searched within [lo, hi]; a side that never drops ends at its bound."""

    def g(x: float) -> float:
        return best - profile(x) - _CUT

    ends = []
    for bound in (lo, hi):
        if bound == at or g(bound) <= 0:
            ends.append(bound)
        else:
            ends.append(float(optimize.brentq(g, at, bound, xtol=1e-6)))
    return ends[0], ends[1]


def fit_heterogeneity(
    n: np.ndarray, e: np.ndarray, w: np.ndarray, alpha: float = ALPHA, model: str | None = None
) -> HeterogeneityFit:
    """Fit the Poisson, gamma and bad-node models to counts ``n`` over exposures ``e`` (weights ``w``).

    The model is chosen (``none`` unless the overdispersion test rejects at ``alpha``, then by AIC) or
    imposed by ``model``. Intervals are profiled for the chosen model only (the others' are nan): an
    unneeded model may be unidentified (bad nodes in a homogeneous fleet), and its profile costly.
    """
    c = _Counts(np.asarray(n, float), np.asarray(e, float), np.asarray(w, float))
    lr0 = math.log(c.rate)
    log_r = (lr0 - 12.0, lr0 + 12.0)
    ll_p = c.poisson(lr0)
    lcv = (math.log(CV_BOUNDS[0]), math.log(CV_BOUNDS[1]))
    r = _maximise(lambda x: c.gamma(*x), [[lr0, math.log(v)] for v in (0.3, 1.0, 3.0)], [log_r, lcv])
    ll_g, xg = -float(r.fun), r.x
    lf = (float(special.logit(FRACTION_BOUNDS[0])), float(special.logit(FRACTION_BOUNDS[1])))
    lm = (math.log(MULTIPLIER_BOUNDS[0] - 1.0), math.log(MULTIPLIER_BOUNDS[1] - 1.0))
    bounds3 = [log_r, lf, lm]
    starts = [[lr0, float(special.logit(f)), math.log(m - 1.0)] for f in (0.03, 0.15) for m in (4.0, 20.0)]
    r = _maximise(lambda x: c.bad_nodes(*x), starts, bounds3)
    ll_b, xb = -float(r.fun), r.x

    lr = max(0.0, 2.0 * (ll_g - ll_p))
    p = 0.5 * float(stats.chi2.sf(lr, 1)) if lr > 0 else 1.0
    aic = {"gamma": 4 - 2 * ll_g, "bad-nodes": 6 - 2 * ll_b}
    chosen = model or ("none" if p >= alpha else min(aic, key=lambda m: aic[m]))
    nan = (math.nan, math.nan)

    def interval(
        f: Callable[[float], float], best: float, at: float, lo: float, hi: float, name: str
    ) -> tuple[float, float]:
        return profile_interval(f, best, at, lo, hi) if chosen == name else nan

    # Poisson: the profile is the likelihood itself.
    span = 2.0 * 1.96 * math.sqrt(1.0 / max((c.w * c.n).sum(), 1.0))
    rate_p = interval(c.poisson, ll_p, lr0, lr0 - 10 * span - 1, lr0 + 10 * span + 1, "none")
    fits = {"poisson": ModelFit("poisson", {"rate": c.rate}, {"rate": _exp(rate_p)}, ll_p)}

    def prof_cv(u: float) -> float:
        return -float(optimize.minimize_scalar(lambda v: -c.gamma(v, u), bounds=log_r, method="bounded").fun)

    def prof_rate_g(v: float) -> float:
        return -float(optimize.minimize_scalar(lambda u: -c.gamma(v, u), bounds=lcv, method="bounded").fun)

    cv_ci = interval(prof_cv, ll_g, xg[1], *lcv, "gamma")
    rate_g = interval(prof_rate_g, ll_g, xg[0], *log_r, "gamma")
    fits["gamma"] = ModelFit("gamma", {"rate": math.exp(xg[0]), "cv": math.exp(xg[1])},
                             {"rate": _exp(rate_g), "cv": _exp(cv_ci)}, ll_g)  # fmt: skip

    def prof(i: int) -> Callable[[float], float]:
        others = [j for j in range(3) if j != i]

        def at(value: float) -> float:
            def ll(y: np.ndarray) -> float:
                x = np.empty(3)
                x[i], x[others] = value, y
                return c.bad_nodes(*x)

            return -float(_maximise(ll, [list(xb[others])], [bounds3[j] for j in others]).fun)

        return at

    ci3 = [interval(prof(i), ll_b, float(xb[i]), *bounds3[i], "bad-nodes") for i in range(3)]
    fits["bad-nodes"] = ModelFit(
        "bad-nodes",
        {"rate": math.exp(xb[0]), "fraction": float(special.expit(xb[1])), "multiplier": 1.0 + math.exp(xb[2])},
        {
            "rate": _exp(ci3[0]),
            "fraction": (float(special.expit(ci3[1][0])), float(special.expit(ci3[1][1]))),
            "multiplier": (1.0 + math.exp(ci3[2][0]), 1.0 + math.exp(ci3[2][1])),
        },
        ll_b,
    )
    mu = c.rate * c.e
    dispersion = float((c.w * (c.n - mu) ** 2 / mu).sum() / max(c.w.sum() - 1.0, 1.0))
    return HeterogeneityFit(fits, lr, p, chosen, alpha, round(float(c.w.sum())), dispersion, model is not None)


def _exp(pair: tuple[float, float]) -> tuple[float, float]:
    return math.exp(pair[0]), math.exp(pair[1])
