"""The fleet model by one likelihood: how nodes differ and every cause's law, fitted together.

Given a node's multiplier z, each cause is a clock of its own on the node, renewed by its own faults
(a repair renews the part that failed), so the likelihood of a node's history is the product over
causes of each cause's terms, and the fleet's the product over nodes of that, integrated over the
multiplier's law (z_q with probability p_q):

    L = prod_i sum_q p_q prod_c L_c(history of node i | z_q, law of cause c).

The count model (``sim.analysis.heterogeneity``) reads every node's faults as Poisson, so it takes a
node's repeats for a bad node; a cause whose hazard decreases (Weibull shape below 1) explains the
same repeats, and each fitted given the other, the clustering is counted twice: a fleet simulated
from them puts its faults on too few nodes (the InfiniteHBD trace fitted on its first 100 days: 29%
too few failing servers in the next 100, and still 19% with 150 days, ``docs/validation.md``).
Here both are fitted together, by coordinate ascent from the count model's values: each cause's law
(exponential, or Weibull where the likelihood-ratio test rejects, as in ``sim.analysis.fit``) given
the other causes' terms and the heterogeneity, then the heterogeneity's parameters given the causes',
until the log-likelihood gains less than ``TOL``. With exponential causes alone a node's likelihood is
the Poisson of its count, and this is the count model again.

The overdispersion test is the likelihood ratio of the gamma model against none (on the boundary:
half a chi-square(1)); when it rejects, the model of lower AIC is chosen. Its parameters' 95%
intervals are profile-likelihood ones with the causes' laws held at the joint optimum (a little
narrower than a full profile). The fleet rate and its interval stay the count model's.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
from scipy import optimize, special, stats

from sim.analysis.fit import ALPHA, MIN_WEIBULL_EVENTS, CauseLikelihood, ModeFit, fit_cause, mix, weibull_note
from sim.analysis.heterogeneity import (
    CV_BOUNDS,
    FRACTION_BOUNDS,
    MULTIPLIER_BOUNDS,
    HeterogeneityFit,
    ModelFit,
    fit_heterogeneity,
    gamma_law,
    profile_interval,
    two_point_law,
)
from sim.analysis.histories import Histories
from sim.analysis.repair_fit import RepairFit

#: Coordinate ascent stops when a round gains less log-likelihood than this, or after MAX_ROUNDS.
TOL = 1e-3
MAX_ROUNDS = 30
#: Width ratio of the gamma law's bins while searching (about 50 multipliers instead of 100-160); the
#: optimum moves by half a percent of cv, and the chosen model is then evaluated on the fine law.
COARSE = 1.3
#: The profile intervals search the common factor on the causes' means within exp(+-_SHIFT).
_SHIFT = 3.0
_LCV = (math.log(CV_BOUNDS[0]), math.log(CV_BOUNDS[1]))
_LF = (float(special.logit(FRACTION_BOUNDS[0])), float(special.logit(FRACTION_BOUNDS[1])))
_LM = (math.log(MULTIPLIER_BOUNDS[0] - 1.0), math.log(MULTIPLIER_BOUNDS[1] - 1.0))


@dataclass(frozen=True)
class Optimum:
    """One heterogeneity model at the joint optimum: its parameters (on the search scale: log cv, or logit f
    and log(m - 1)), each cause's (shape, log mean) and the log-likelihood."""

    x: tuple[float, ...]
    theta: tuple[tuple[float, float], ...]
    loglik: float


def law(model: str, x: Sequence[float], coarse: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """Multipliers and probabilities of ``model`` at search-scale parameters ``x`` (gamma: ``COARSE`` bins for
    the search)."""
    if model == "gamma":
        return gamma_law(math.exp(x[0]), COARSE, narrow=False) if coarse else gamma_law(math.exp(x[0]))
    if model == "bad-nodes":
        return two_point_law(float(special.expit(x[0])), 1.0 + math.exp(x[1]))
    return np.ones(1), np.ones(1)


class Joint:
    """The joint likelihood of the histories ``h`` and its maximisation per heterogeneity model."""

    def __init__(self, h: Histories, stationary: bool = True, alpha: float = ALPHA) -> None:
        self.h, self.stationary, self.alpha = h, stationary, alpha
        self.base = [CauseLikelihood(h, c, (np.ones(1), np.ones(1)), stationary) for c in range(len(h.causes))]

    def terms(self, theta: Sequence[tuple[float, float]], z: np.ndarray) -> list[np.ndarray]:
        return [b.terms(k, m, z) for b, (k, m) in zip(self.base, theta, strict=True)]

    def loglik(
        self, model: str, x: Sequence[float], theta: Sequence[tuple[float, float]], coarse: bool = False
    ) -> float:
        z, p = law(model, x, coarse)
        return mix(self.h.weight, np.log(p)[None, :] + sum(self.terms(theta, z)))

    def others(self, terms: list[np.ndarray], c: int) -> np.ndarray:
        """The other causes' terms of cause ``c``'s nodes."""
        return sum((t for o, t in enumerate(terms) if o != c), np.zeros_like(terms[c]))

    def cause_law(
        self, c: int, zp: tuple[np.ndarray, np.ndarray], others: np.ndarray, start: tuple[float, float]
    ) -> tuple[float, float]:
        """(shape, log mean) of cause ``c`` given the others and the law: the exponential unless the Weibull
        passes the test of ``sim.analysis.fit`` (the chosen law's, before the secondary faults' scaling)."""
        lik = CauseLikelihood(self.h, c, zp, self.stationary, others)
        events = int(self.h.events[c])
        if lik.events == 0:
            return 1.0, math.log(self.h.exposure_hours / events)
        e = lik.exponential(self.alpha)
        if events < MIN_WEIBULL_EVENTS:
            return 1.0, math.log(e.mtbf_hours)
        if start[0] != 1.0:  # a Weibull last round: polish it
            w = lik.weibull(start[1], math.log(start[0]), polish=True)
        else:
            w = lik.weibull(math.log(e.mtbf_hours))
        p = float(stats.chi2.sf(max(0.0, 2 * (w.loglik - e.loglik)), 1))
        if p < self.alpha and not weibull_note(events, w.shape):
            return w.shape, math.log(w.mtbf_hours)
        return 1.0, math.log(e.mtbf_hours)

    def ascend(self, model: str, x0: Sequence[float], theta0: Sequence[tuple[float, float]]) -> Optimum:
        """Coordinate ascent of ``model`` from parameters ``x0`` and causes' laws ``theta0`` (on the coarse law);
        its log-likelihood on the fine one."""
        x, theta = tuple(x0), list(theta0)
        best = -math.inf
        for _ in range(MAX_ROUNDS):
            zp = law(model, x, coarse=True)
            terms = self.terms(theta, zp[0])
            for c in range(len(theta)):
                theta[c] = self.cause_law(c, zp, self.others(terms, c), theta[c])
                terms[c] = self.base[c].terms(*theta[c], zp[0])
            x = self._parameters(model, x, theta)
            new = self.loglik(model, x, theta, coarse=True)
            if new - best < TOL or model == "none":  # without heterogeneity the causes are independent
                break
            best = new
        return Optimum(x, tuple(theta), self.loglik(model, x, theta))

    def _parameters(self, model: str, x: tuple[float, ...], theta: Sequence[tuple[float, float]]) -> tuple[float, ...]:
        if model == "gamma":
            r = optimize.minimize_scalar(lambda u: -self.loglik(model, [u], theta, coarse=True), bounds=_LCV,
                                         method="bounded", options={"xatol": 1e-5})  # fmt: skip
            return (float(r.x),)
        if model == "bad-nodes":
            lo, hi = np.array([_LF[0], _LM[0]]), np.array([_LF[1], _LM[1]])
            options = {"xatol": 1e-5, "fatol": 1e-7, "maxiter": 2000}
            r = optimize.minimize(lambda v: -self.loglik(model, np.clip(v, lo, hi), theta), np.array(x),
                                  method="Nelder-Mead", options=options)  # fmt: skip
            return tuple(float(v) for v in np.clip(r.x, lo, hi))
        return ()

    def interval(self, model: str, opt: Optimum, i: int) -> tuple[float, float]:
        """Profile 95% interval of parameter ``i`` (search scale), maximised over the model's other parameter and
        a common factor on every cause's mean (the fleet's rate); the causes' shapes and shares held."""
        bounds = [_LCV] if model == "gamma" else [_LF, _LM]
        coarse = model == "gamma"  # the search's law, at the optimum as along the profile

        def ll(v: float, y: np.ndarray) -> float:
            x = [v] if len(bounds) == 1 else [v, float(y[1])] if i == 0 else [float(y[1]), v]
            return self.loglik(model, x, [(k, m + float(y[0])) for k, m in opt.theta], coarse)

        start = np.array([0.0] + ([opt.x[1 - i]] if len(bounds) == 2 else []))
        lo = np.array([-_SHIFT] + ([bounds[1 - i][0]] if len(bounds) == 2 else []))
        hi = np.array([_SHIFT] + ([bounds[1 - i][1]] if len(bounds) == 2 else []))

        def profile(v: float) -> float:
            if start.size == 1:
                r = optimize.minimize_scalar(lambda u: -ll(v, np.array([u])), bounds=(-_SHIFT, _SHIFT),
                                             method="bounded", options={"xatol": 1e-5})  # fmt: skip
                return -float(r.fun)
            box = list(zip(lo, hi, strict=True))
            r = optimize.minimize(lambda y: -ll(v, y), start, method="L-BFGS-B", bounds=box, options={"ftol": 1e-12})
            return max(-float(r.fun), ll(v, start))

        return profile_interval(profile, ll(opt.x[i], start), opt.x[i], *bounds[i])


def fit_jointly(
    h: Histories, stationary: bool = True, alpha: float = ALPHA, model: str | None = None,
    repairs: Sequence[RepairFit | None] | None = None,
) -> tuple[HeterogeneityFit, tuple[ModeFit, ...]]:  # fmt: skip
    """The heterogeneity (chosen, or ``model`` imposed) and every cause's fit, by the joint likelihood."""
    counts = fit_heterogeneity(h.counts, h.exposure, h.weight, alpha, model)
    rep = [None] * len(h.causes) if repairs is None else list(repairs)
    j = Joint(h, stationary, alpha)
    none = j.ascend("none", (), [(1.0, 0.0)] * len(h.causes))
    if all(k == 1.0 for k, _ in none.theta):
        # Every cause exponential even without heterogeneity (where clustering looks most like a decreasing
        # hazard): nothing but the counts says how nodes differ, and the count model is the joint one.
        zp = counts.law()
        return counts, tuple(
            fit_cause(h, c, zp, stationary, alpha, rep[c]) for c in range(len(h.causes))
        )
    g = counts.fits["gamma"].params
    b = counts.fits["bad-nodes"].params
    starts = {"gamma": (math.log(g["cv"]),),
              "bad-nodes": (float(special.logit(b["fraction"])), math.log(b["multiplier"] - 1.0))}  # fmt: skip
    opt = {"none": none, **{m: j.ascend(m, x, none.theta) for m, x in starts.items()}}
    lr = max(0.0, 2.0 * (opt["gamma"].loglik - none.loglik))
    p = 0.5 * float(stats.chi2.sf(lr, 1)) if lr > 0 else 1.0
    aic = {"gamma": 2 - 2 * opt["gamma"].loglik, "bad-nodes": 4 - 2 * opt["bad-nodes"].loglik}
    chosen = model or ("none" if p >= alpha else min(aic, key=lambda m: aic[m]))
    if chosen != counts.model:
        counts = fit_heterogeneity(h.counts, h.exposure, h.weight, alpha, chosen)  # the chosen model's rate interval
    fits = {}
    for name in ("poisson", "gamma", "bad-nodes"):
        m = "none" if name == "poisson" else name
        o, rate = opt[m], counts.fits[name]
        params, ci = {"rate": rate.params["rate"]}, {"rate": rate.ci95["rate"]}
        nan = (math.nan, math.nan)
        if m == "gamma":
            params["cv"] = math.exp(o.x[0])
            ci["cv"] = _mapped(j.interval(m, o, 0), math.exp) if m == chosen else nan
        elif m == "bad-nodes":
            params["fraction"], params["multiplier"] = float(special.expit(o.x[0])), 1.0 + math.exp(o.x[1])
            ci["fraction"] = _mapped(j.interval(m, o, 0), lambda v: float(special.expit(v))) if m == chosen else nan
            ci["multiplier"] = _mapped(j.interval(m, o, 1), lambda v: 1.0 + math.exp(v)) if m == chosen else nan
        fits[name] = ModelFit(name, params, ci, o.loglik)
    het = HeterogeneityFit(fits, lr, p, chosen, alpha, counts.nodes, counts.dispersion, model is not None)
    o = opt[chosen]
    zp = law(chosen, o.x)
    terms = j.terms(o.theta, zp[0])
    modes = tuple(
        fit_cause(h, c, zp, stationary, alpha, rep[c], j.others(terms, c), o.theta[c])
        for c in range(len(h.causes))
    )
    return het, modes


def _mapped(pair: tuple[float, float], f: Callable[[float], float]) -> tuple[float, float]:
    return float(f(pair[0])), float(f(pair[1]))
