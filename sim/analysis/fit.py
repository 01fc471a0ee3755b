"""Each cause's failure law by maximum likelihood over the node histories (``sim.analysis.histories``).

The model is the simulator's: a node is at risk from the window start (or its return from repair) until
its next fault, of whatever cause; every cause is a clock of its own law on the node, renewed by its own
faults (``action = "replace"`` renews the part that failed) and paused while the node is down
(``Histories.own``). A node's clocks run ``z`` times as fast as the fleet's (its rate multiplier, mean 1
over the fleet; ``z = 1`` everywhere for a homogeneous fleet). In a fleet in steady state
(``stationary``) the first interval of a node that is up at the window start is a forward-recurrence
time: density ``S(t) / mean``, survival ``Q(1/k, (t/scale)^k)`` for a Weibull of shape ``k`` (the
regularized upper incomplete gamma), which for the exponential is its own law.

Each cause is fitted by the likelihood of its own faults (observed ends of intervals) and of every
other interval as censored, with the node's multiplier integrated over the fitted heterogeneity law
(``sim.analysis.heterogeneity``) given the node's other causes: their terms of the likelihood
(``sim.analysis.joint_fit``), or their counts read as Poisson at their fleet rate over the node's
exposure (the same when they are exponential). This is the likelihood of the cause's data given the
rest, so clustering that the heterogeneity explains (bad nodes failing again and again, and their
many short intervals between repairs) is not read as a decreasing hazard. Exponential: with no
heterogeneity, MTBF = exposure / faults with the exact chi-square interval of a time-truncated
test; with it, by maximum likelihood with a profile interval. Weibull: shape and mean by maximum
likelihood with Wald intervals on the log scale (the observed information; a profile over two
parameters costs a thousand likelihoods, and every likelihood integrates each node); chosen only
when the likelihood-ratio test against the exponential rejects at ``alpha`` on at least ``MIN_WEIBULL_EVENTS`` faults.

Faults that strike a node already down (secondary, see ``histories``) end no interval; a cause's
law is fitted to the faults that ended one and its mean scaled by primary / all faults, so that the
rate counts them all.

>>> import numpy as np
>>> e = fit_exponential(np.full(10, 100.0), np.zeros(0))
>>> round(e.mtbf_hours, 1), [round(x) for x in e.ci95]
(100.0, [54, 209])
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy import optimize, special, stats

from sim.analysis.heterogeneity import profile_interval
from sim.analysis.histories import Histories
from sim.analysis.incidents import FitError
from sim.analysis.repair_fit import RepairFit

ALPHA = 0.05
#: Below this many faults the likelihood-ratio test is not trusted (it is asymptotic): exponential kept.
MIN_WEIBULL_EVENTS = 20
#: The Weibull shape is searched in this range; the scenario takes 0.1 to 100.
SHAPE_BOUNDS = (0.02, 50.0)
SCENARIO_SHAPES = (0.1, 100.0)
_SPAN = math.log(1e6)


@dataclass(frozen=True)
class ExponentialFit:
    """Exponential MLE: mean, its 95% interval, and the maximised log-likelihood."""

    mtbf_hours: float
    ci95: tuple[float, float]
    loglik: float


@dataclass(frozen=True)
class WeibullFit:
    """Weibull MLE: shape, scale, mean (scale x Gamma(1 + 1/shape)), 95% intervals (Wald, log scale)."""

    shape: float
    scale_hours: float
    mtbf_hours: float
    shape_ci95: tuple[float, float]
    mtbf_ci95: tuple[float, float]
    loglik: float


def fit_exponential(
    observed: np.ndarray, censored: np.ndarray, alpha: float = ALPHA, censored_counts: np.ndarray | None = None
) -> ExponentialFit:
    """Exponential MLE with right-censoring: total exposure / events; interval of a time-truncated test.

    ``censored_counts`` says how many nodes each censored gap stands for (default one each).
    """
    d = observed.size
    weights = np.ones(censored.size) if censored_counts is None else np.asarray(censored_counts, float)
    return _exponential_closed(d, float(observed.sum() + (censored * weights).sum()), alpha)


def _exponential_closed(d: int, exposure: float, alpha: float = ALPHA) -> ExponentialFit:
    if d == 0:
        raise FitError("no failures: the MTBF has no finite estimate")
    mean = exposure / d
    lo = 2 * exposure / float(stats.chi2.ppf(1 - alpha / 2, 2 * d + 2))
    hi = 2 * exposure / float(stats.chi2.ppf(alpha / 2, 2 * d))
    return ExponentialFit(mean, (lo, hi), -d * math.log(mean) - d)


def _log_q(s: float, x: np.ndarray) -> np.ndarray:
    """log of the regularized upper incomplete gamma Q(s, x).

    Below x = 1e-3 by the series of P = 1 - Q (x^s / Gamma(s + 1) (1 - s x / (s + 1)), relative error
    below 1e-6), above 600 by the asymptotic series (Q underflows there), between by scipy: most of a
    frailty grid is at one end or the other, and gammaincc costs a hundred times a log.

    >>> x = np.array([1e-5, 0.5, 700.0])
    >>> bool(np.allclose(_log_q(0.7, x[:2]), np.log(special.gammaincc(0.7, x[:2])), rtol=1e-6))
    True
    """
    out = np.empty_like(x)
    small, large = x < 1e-3, x > 600.0
    mid = ~(small | large)
    out[mid] = np.log(special.gammaincc(s, x[mid]))
    y = x[small]
    with np.errstate(divide="ignore"):  # x = 0 (a tiny time to a high power): log Q = 0 all the same
        out[small] = np.log1p(-np.exp(s * np.log(y) - float(special.gammaln(s + 1.0))) * (1.0 - s * y / (s + 1.0)))
    y = x[large]
    series = 1.0 + (s - 1.0) / y * (1.0 + (s - 2.0) / y)
    out[large] = (s - 1.0) * np.log(y) - y - float(special.gammaln(s)) + np.log(series)
    return out


class CauseLikelihood:
    """The log-likelihood of one cause's faults over the histories, the node's multiplier integrated out.

    What the node's other causes say about its multiplier: ``others`` (groups x multipliers: their
    log-likelihood terms, ``sim.analysis.joint_fit``), or else their counts read as Poisson at their
    fleet rate over the node's exposure.
    """

    def __init__(
        self, h: Histories, cause: int, law: tuple[np.ndarray, np.ndarray], stationary: bool = True,
        others: np.ndarray | None = None,
    ) -> None:  # fmt: skip
        z, p = law
        self.log_z, self.z, self.log_p = np.log(z)[None, :], z[None, :], np.log(p)[None, :]
        self.w = h.weight
        groups = h.weight.size
        iv = h.own(cause)
        first = iv.first if stationary else np.zeros_like(iv.first)
        hit = iv.hit
        fresh = ~first
        self.d = np.bincount(iv.group[fresh & hit], minlength=groups).astype(float)[:, None]
        self.log_x_sum = np.bincount(iv.group[fresh & hit], np.log(iv.length[fresh & hit]), groups)[:, None]
        self.fresh_group, self.fresh_x = iv.group[fresh], iv.length[fresh]
        self.groups = groups
        self.first_group, self.first_x, self.first_hit = iv.group[first], iv.length[first], hit[first]
        self.events = int(hit.sum())
        self.exposure = float((h.weight[iv.group] * iv.length).sum())
        self.plain = z.size == 1 and z[0] == 1.0
        if not self.plain:
            if others is not None:
                self.log_p = self.log_p + others
            else:
                # Log Poisson(n_other; z rate_other exposure) up to a term free of z.
                n = h.counts - h.by_cause[:, cause]
                rate = float(h.weight @ n) / max(h.exposure_hours, 1e-300)
                self.log_p = self.log_p + n[:, None] * self.log_z - rate * h.exposure[:, None] * self.z

    def terms(self, k: float, log_mean: float, z: np.ndarray | None = None) -> np.ndarray:
        """Log-likelihood of each group's data of this cause (rows) at each multiplier (columns: the law's, or
        ``z``), at shape ``k`` and mean ``exp(log_mean)`` (hours)."""
        zz, log_z = (self.z, self.log_z) if z is None else (z[None, :], np.log(z)[None, :])
        log_scale = log_mean - float(special.gammaln(1.0 + 1.0 / k))
        a = np.bincount(self.fresh_group, (self.fresh_x / math.exp(log_scale)) ** k, self.groups)[:, None]
        zk = zz**k
        ll: np.ndarray = self.d * (math.log(k) + k * log_z - k * log_scale) + (k - 1.0) * self.log_x_sum - zk * a
        if self.first_group.size:
            u = (self.first_x[:, None] / math.exp(log_scale)) ** k * zk
            term = np.where(self.first_hit[:, None], log_z - log_mean - u, 0.0)
            cens = ~self.first_hit
            if cens.any():
                term[cens] = -u[cens] if k == 1.0 else _log_q(1.0 / k, u[cens])
            ll[self.first_group] += term  # one first interval per group
        return ll

    def __call__(self, k: float, log_mean: float) -> float:
        """Log-likelihood at shape ``k`` and mean ``exp(log_mean)`` (hours)."""
        return mix(self.w, self.terms(k, log_mean) + self.log_p)

    def exponential(self, alpha: float = ALPHA) -> ExponentialFit:
        """The exponential MLE (shape 1) and its 95% interval."""
        if self.events == 0:
            raise FitError("no failures: the MTBF has no finite estimate")
        if self.plain:
            return _exponential_closed(self.events, self.exposure, alpha)
        m0 = math.log(self.exposure / self.events)
        bounds = (m0 - _SPAN, m0 + _SPAN)
        r = optimize.minimize_scalar(lambda v: -self(1.0, v), bounds=bounds, method="bounded",
                                     options={"xatol": 1e-9})  # fmt: skip
        best = -float(r.fun)
        lo, hi = profile_interval(lambda v: self(1.0, v), best, float(r.x), *bounds)
        return ExponentialFit(math.exp(float(r.x)), (math.exp(lo), math.exp(hi)), best)

    def weibull(self, start_log_mean: float, start_log_shape: float = 0.0, polish: bool = False) -> WeibullFit:
        """The Weibull MLE over shape and mean, with Wald intervals on the log scale (observed information).

        ``polish``: the start is near the optimum (a fit of nearly the same data): Newton steps from it,
        without the simplex unless the start's information is not positive definite.
        """
        lk = (math.log(SHAPE_BOUNDS[0]), math.log(SHAPE_BOUNDS[1]))
        lm = (start_log_mean - _SPAN, start_log_mean + _SPAN)

        def ll(u: float, v: float) -> float:
            return self(math.exp(float(np.clip(u, *lk))), float(np.clip(v, *lm)))

        u0 = start_log_shape
        u, v = u0, start_log_mean
        best, grad, info = _newton(ll, u, v) if polish else (math.nan, np.zeros(2), np.full((2, 2), math.nan))
        if not (np.all(np.isfinite(info)) and info[0, 0] > 0 and np.linalg.det(info) > 0):
            simplex = np.array([[u0, start_log_mean], [u0 + 0.4, start_log_mean], [u0, start_log_mean + 0.4]])
            options = {"xatol": 1e-4, "fatol": 1e-6, "maxiter": 1000, "initial_simplex": simplex}
            r = optimize.minimize(lambda x: -ll(x[0], x[1]), simplex[0], method="Nelder-Mead", options=options)
            u, v = float(np.clip(r.x[0], *lk)), float(np.clip(r.x[1], *lm))
            best, grad, info = _newton(ll, u, v)
        for _ in range(6 if polish else 2):  # Newton steps polish the coarse simplex's optimum to the MLE
            if not (np.all(np.isfinite(info)) and info[0, 0] > 0 and np.linalg.det(info) > 0):
                break
            du, dv = np.linalg.solve(info, grad)
            nu, nv = float(np.clip(u + du, *lk)), float(np.clip(v + dv, *lm))
            new, new_grad, new_info = _newton(ll, nu, nv)
            if not new > best:
                break
            u, v, best, grad, info = nu, nv, new, new_grad, new_info
        nan = (math.nan, math.nan)
        k_ci, m_ci = nan, nan
        if np.all(np.isfinite(info)) and info[0, 0] > 0 and np.linalg.det(info) > 0:
            half = float(stats.norm.ppf(0.975)) * np.sqrt(np.diag(np.linalg.inv(info)))
            # Within the search ranges: a wild interval (a handful of faults) says "anything".
            k_ci = (math.exp(max(u - half[0], lk[0])), math.exp(min(u + half[0], lk[1])))
            m_ci = (math.exp(max(v - half[1], lm[0])), math.exp(min(v + half[1], lm[1])))
        k = math.exp(u)
        return WeibullFit(
            shape=k,
            scale_hours=math.exp(v - float(special.gammaln(1 + 1 / k))),
            mtbf_hours=math.exp(v),
            shape_ci95=k_ci,
            mtbf_ci95=m_ci,
            loglik=best,
        )


def mix(w: np.ndarray, total: np.ndarray) -> float:
    """Sum over groups (weights ``w``) of the log of each row's sum of exponentials (the multiplier integrated)."""
    if total.shape[1] == 1:
        return float(w @ total[:, 0])
    top = total.max(axis=1, keepdims=True)
    return float(w @ (top[:, 0] + np.log(np.exp(total - top).sum(axis=1))))


_STEP = 1e-3


def _newton(ll: Any, u: float, v: float) -> tuple[float, np.ndarray, np.ndarray]:
    """``ll(u, v)``, its gradient and the observed information (minus the Hessian), by central differences."""
    e = _STEP
    best = ll(u, v)
    pu, mu, pv, mv = ll(u + e, v), ll(u - e, v), ll(u, v + e), ll(u, v - e)
    f_uv = (ll(u + e, v + e) - ll(u + e, v - e) - ll(u - e, v + e) + ll(u - e, v - e)) / (4 * e**2)
    info = -np.array([[(pu - 2 * best + mu) / e**2, f_uv], [f_uv, (pv - 2 * best + mv) / e**2]])
    return best, np.array([(pu - mu) / (2 * e), (pv - mv) / (2 * e)]), info


def weibull_note(events: int, k: float) -> str:
    """Why a Weibull fit of shape ``k`` to ``events`` faults is not trusted, however small its p-value; empty
    when it is."""
    if events < MIN_WEIBULL_EVENTS:
        n = f"{events} event{'' if events == 1 else 's'}"
        return f"only {n}: too few for the Weibull fit and its test (exponential kept)"
    if not SHAPE_BOUNDS[0] * 1.01 < k < SHAPE_BOUNDS[1] / 1.01:
        return f"Weibull shape at its search bound {k:.3g}: degenerate fit (exponential kept)"
    if not SCENARIO_SHAPES[0] <= k <= SCENARIO_SHAPES[1]:
        return f"Weibull shape {k:.3g} outside the scenario's {SCENARIO_SHAPES[0]:g}-{SCENARIO_SHAPES[1]:g}"
    return ""


@dataclass(frozen=True)
class ModeFit:
    """Both fits of one cause, the likelihood-ratio test between them, its repair law, and its data.

    ``events`` counts every fault of the cause; the laws were fitted to the ``primary`` ones (those
    that found the node up) and their means are scaled by ``events / primary``.
    """

    name: str
    events: int
    primary: int
    nodes_with_events: int
    exposure_hours: float
    exponential: ExponentialFit
    weibull: WeibullFit
    lr_p_value: float
    alpha: float = ALPHA
    repair: RepairFit | None = None

    @property
    def scale(self) -> float:
        """Primary / all faults: the factor on the fitted means (1 when no fault was primary)."""
        return self.primary / self.events if self.primary else 1.0

    @property
    def distribution(self) -> str:
        """``weibull`` if the likelihood-ratio test rejects the exponential at ``alpha`` and ``note`` is empty."""
        return "weibull" if self.lr_p_value < self.alpha and not self.note else "exponential"

    @property
    def note(self) -> str:
        """Why a Weibull fit is not trusted, however small its p-value; empty when it is."""
        return weibull_note(self.events, self.weibull.shape)

    @property
    def mtbf_hours(self) -> float:
        fit = self.weibull.mtbf_hours if self.distribution == "weibull" else self.exponential.mtbf_hours
        return fit * self.scale

    @property
    def mtbf_ci95(self) -> tuple[float, float]:
        lo, hi = self.weibull.mtbf_ci95 if self.distribution == "weibull" else self.exponential.ci95
        return lo * self.scale, hi * self.scale

    @property
    def shape(self) -> float:
        return self.weibull.shape if self.distribution == "weibull" else 1.0

    @property
    def scale_hours(self) -> float:
        return self.mtbf_hours / math.gamma(1.0 + 1.0 / self.shape)

    def to_json(self) -> dict[str, Any]:
        """The chosen law (``ci95`` has ``shape`` for a Weibull), plus both fits in full and the repair law."""
        w, e, s = self.weibull, self.exponential, self.scale
        ci: dict[str, list[float]] = {"mtbf_hours": list(self.mtbf_ci95)}
        if self.distribution == "weibull":
            ci["shape"] = list(w.shape_ci95)
        return {
            "name": self.name,
            "distribution": self.distribution,
            "mtbf_hours": self.mtbf_hours,
            "shape": self.shape,
            "scale_hours": self.scale_hours,
            "events": self.events,
            "primary_events": self.primary,
            "ci95": ci,
            "lr_p_value": self.lr_p_value,
            "note": self.note,
            "nodes_with_events": self.nodes_with_events,
            "exposure_hours": self.exposure_hours,
            "exponential": {"mtbf_hours": e.mtbf_hours * s, "ci95": {"mtbf_hours": [x * s for x in e.ci95]}},
            "weibull": {
                "shape": w.shape,
                "scale_hours": w.scale_hours * s,
                "mtbf_hours": w.mtbf_hours * s,
                "ci95": {"mtbf_hours": [x * s for x in w.mtbf_ci95], "shape": list(w.shape_ci95)},
            },
            "repair": None if self.repair is None else self.repair.to_json(),
        }


def fit_cause(
    h: Histories,
    cause: int,
    law: tuple[np.ndarray, np.ndarray] = (np.ones(1), np.ones(1)),
    stationary: bool = True,
    alpha: float = ALPHA,
    repair: RepairFit | None = None,
    others: np.ndarray | None = None,
    start: tuple[float, float] = (1.0, math.nan),
) -> ModeFit:
    """Fit cause number ``cause`` of the histories ``h`` under the heterogeneity ``law`` (multipliers, weights),
    the node's other causes given by ``others`` (see ``CauseLikelihood``); ``start``: (shape, log mean) near
    the Weibull optimum, polished from there when its shape is not 1."""
    lik = CauseLikelihood(h, cause, law, stationary, others)
    if lik.events == 0:
        # Every fault of the cause struck a node already down: its rate is all there is to fit.
        e = _exponential_closed(int(h.events[cause]), h.exposure_hours, alpha)
        w = WeibullFit(1.0, e.mtbf_hours, e.mtbf_hours, (math.nan, math.nan), e.ci95, e.loglik)
        lr = 0.0
    else:
        e = lik.exponential(alpha)
        polish = start[0] != 1.0 and math.isfinite(start[1])
        w = lik.weibull(start[1], math.log(start[0]), polish=True) if polish else lik.weibull(math.log(e.mtbf_hours))
        lr = max(0.0, 2 * (w.loglik - e.loglik))
    return ModeFit(
        name=h.causes[cause],
        events=int(h.events[cause]),
        primary=int(h.primary[cause]),
        nodes_with_events=int(h.nodes_with_events[cause]),
        exposure_hours=h.exposure_hours,
        exponential=e,
        weibull=w,
        lr_p_value=float(stats.chi2.sf(lr, 1)),
        alpha=alpha,
        repair=repair,
    )
