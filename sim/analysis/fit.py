"""Fit failure modes to an incident log: maximum likelihood with right-censoring, per node.

The log is a CSV file with columns ``timestamp`` (ISO 8601; no offset means UTC), ``cause`` and
``node``; other columns are ignored. The observation window ``[start, end]`` and the fleet size
``nodes`` come from the user: nodes that never appear in the log still contribute their exposure.

The model, per cause: every node is a renewal process of its own, as good as new at the window
start and again after each failure of that cause. Failures of *other* causes neither renew this
cause's clock nor stop its exposure (the log does not say how long repairs took), which is exactly
the simulator's ``action = "restart"`` semantics. So each node contributes its gaps between failures
of the cause (the first measured from the window start) as observed lifetimes, and the gap from its
last failure (or from the start) to the window end as a right-censored one. Gaps are floored at one
second, the resolution of most logs. Exponential: MTBF = exposure / events, with the exact
chi-square interval of a time-truncated test. Weibull: shape and scale by profile likelihood, with
profile-likelihood intervals for the shape and the mean; it is chosen only when the likelihood-ratio
test against the exponential (its special case shape = 1, chi-square with 1 degree of freedom)
rejects at ``alpha``, on at least ``MIN_WEIBULL_EVENTS`` events (the test is asymptotic).

>>> import numpy as np
>>> e = fit_exponential(np.full(10, 100.0), np.zeros(0))
>>> round(e.mtbf_hours, 1), [round(x) for x in e.ci95]
(100.0, [54, 209])
"""

from __future__ import annotations

import csv
import datetime as dt
import math
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from scipy import optimize, special, stats

COLUMNS = ("timestamp", "cause", "node")
ALPHA = 0.05
#: Gaps shorter than this (hours) are counted as this: two failures in the same second.
MIN_GAP_HOURS = 1.0 / 3600.0
#: Below this many events the likelihood-ratio test is not trusted (it is asymptotic): exponential kept.
MIN_WEIBULL_EVENTS = 20
#: The Weibull shape is searched in this range.
SHAPE_BOUNDS = (0.02, 50.0)
_CHI2_1 = float(stats.chi2.ppf(0.95, 1))


class FitError(ValueError):
    """A log or window that cannot be fitted; the message is one line naming the problem."""


@dataclass(frozen=True)
class Incident:
    """One failure: hours after the window start, cause, node, and its line in the file."""

    hours: float
    cause: str
    node: str
    line: int


@dataclass(frozen=True)
class IncidentLog:
    """The usable incidents of a log, its bad rows as (line, problem), and dropped duplicate lines."""

    incidents: tuple[Incident, ...]
    bad: tuple[tuple[int, str], ...]
    duplicates: tuple[int, ...]


def parse_time(text: str) -> dt.datetime:
    """An ISO 8601 time as an aware UTC datetime; a time without an offset is taken as UTC.

    >>> parse_time("2024-07-01T12:00:00+02:00").isoformat()
    '2024-07-01T10:00:00+00:00'
    """
    t = dt.datetime.fromisoformat(text.strip())
    try:
        return t.replace(tzinfo=dt.UTC) if t.tzinfo is None else t.astimezone(dt.UTC)
    except OverflowError:  # an offset that moves the time past year 9999 or before year 1
        raise ValueError(f"time out of range in UTC: {text.strip()[:40]!r}") from None


def window_hours(start: dt.datetime, end: dt.datetime) -> float:
    """Length of the window in hours; an error unless ``end`` is after ``start``."""
    hours = (end - start).total_seconds() / 3600.0
    if hours <= 0:
        raise FitError(f"--end {end.isoformat()}: must be after --start {start.isoformat()}")
    return hours


def read_log(path: Path, start: dt.datetime, end: dt.datetime) -> IncidentLog:
    """Read the incident log; rows with a missing value, a bad time or a time outside the window are ``bad``.

    A missing file or column, or a file without any data row, is a ``FitError``. A row that repeats
    an earlier one (same time, cause and node) is dropped and its line listed in ``duplicates``.
    """
    window_hours(start, end)
    try:
        handle = path.open(newline="", encoding="utf-8-sig")
    except OSError as e:
        raise FitError(f"{path}: cannot read the log: {e.strerror}") from None
    incidents: list[Incident] = []
    bad: list[tuple[int, str]] = []
    duplicates: list[int] = []
    seen: set[tuple[dt.datetime, str, str]] = set()
    rows = 0
    with handle:
        reader = csv.reader(handle)
        try:
            header = next(reader, None)
            if header is None:
                raise FitError(f"{path}: empty log: no header and no incidents")
            names = [h.strip().lower() for h in header]
            missing = [c for c in COLUMNS if c not in names]
            if missing:
                raise FitError(
                    f"{path}: missing column{'s' if len(missing) > 1 else ''} {', '.join(missing)} "
                    f"(line 1 has {', '.join(repr(h) for h in header)}; needed: {', '.join(COLUMNS)})"
                )
            index = [names.index(c) for c in COLUMNS]
            for row in reader:
                if not any(cell.strip() for cell in row):
                    continue
                rows += 1
                line = reader.line_num
                values = [row[i].strip() if i < len(row) else "" for i in index]
                empty = [c for c, v in zip(COLUMNS, values, strict=True) if not v]
                if empty:
                    bad.append((line, f"missing {', '.join(empty)}"))
                    continue
                stamp, cause, node = values
                try:
                    t = parse_time(stamp)
                except ValueError:
                    bad.append((line, f"bad timestamp {stamp!r}"))
                    continue
                if not start <= t <= end:
                    bad.append((line, f"time {stamp} outside the window"))
                    continue
                if (t, cause, node) in seen:
                    duplicates.append(line)
                    continue
                seen.add((t, cause, node))
                incidents.append(Incident((t - start).total_seconds() / 3600.0, cause, node, line))
        except (csv.Error, UnicodeDecodeError) as e:
            raise FitError(f"{path}: line {reader.line_num}: not a readable CSV file: {e}") from None
    if rows == 0:
        raise FitError(f"{path}: empty log: no incidents to fit (an empty log says nothing about the failure rate)")
    return IncidentLog(tuple(incidents), tuple(bad), tuple(duplicates))


def describe_lines(items: Sequence[tuple[int, str]], limit: int = 10) -> str:
    """``line 4: bad timestamp 'x'; line 9: ...`` for the first ``limit`` items, then how many more.

    >>> describe_lines([(3, "missing node"), (5, "bad timestamp 'x'")], limit=1)
    'line 3: missing node; and 1 more'
    """
    shown = "; ".join(f"line {line}: {problem}" for line, problem in items[:limit])
    more = len(items) - limit
    return shown + (f"; and {more} more" if more > 0 else "")


# ---------------------------------------------------------------- fits


@dataclass(frozen=True)
class ExponentialFit:
    """Exponential MLE: mean, its exact 95% interval, and the maximised log-likelihood."""

    mtbf_hours: float
    ci95: tuple[float, float]
    loglik: float


@dataclass(frozen=True)
class WeibullFit:
    """Weibull MLE: shape, scale, mean (scale x Gamma(1 + 1/shape)), profile-likelihood 95% intervals."""

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
    if d == 0:
        raise FitError("no failures: the MTBF has no finite estimate")
    exposure = float(observed.sum() + _weighted_sum(censored, censored_counts))
    mean = exposure / d
    lo = 2 * exposure / float(stats.chi2.ppf(1 - alpha / 2, 2 * d + 2))
    hi = 2 * exposure / float(stats.chi2.ppf(alpha / 2, 2 * d))
    return ExponentialFit(mean, (lo, hi), -d * math.log(mean) - d)


class _Weibull:
    """The censored Weibull log-likelihood of one sample, in (log shape, log scale) and profiled."""

    def __init__(self, observed: np.ndarray, censored: np.ndarray, censored_counts: np.ndarray | None = None) -> None:
        self.d = observed.size
        self.sum_log_x = float(np.log(observed).sum())
        t = np.concatenate([observed, censored])
        w = np.concatenate([np.ones(observed.size), _counts(censored, censored_counts)])
        # Equal gaps (every silent node's full window) as one term with a weight: 100,000 nodes cost one.
        values, where = np.unique(t[t > 0], return_inverse=True)
        self.log_t, self.log_w = np.log(values), np.log(np.bincount(where, weights=w[t > 0]))

    def _sum(self, k: float, log_scale: float) -> float:
        """log of sum over all gaps of (t / scale)^k."""
        return float(special.logsumexp(k * (self.log_t - log_scale) + self.log_w))

    def loglik(self, k: float, log_scale: float) -> float:
        """Log-likelihood at shape ``k`` and scale ``exp(log_scale)``."""
        z = self._sum(k, log_scale)
        hazard = math.exp(z) if z < 700 else math.inf
        return self.d * math.log(k) - self.d * k * log_scale + (k - 1) * self.sum_log_x - hazard

    def log_scale(self, k: float) -> float:
        """The scale that maximises the likelihood at shape ``k`` (log): scale^k = sum t^k / d."""
        return (self._sum(k, 0.0) - math.log(self.d)) / k

    def profile(self, k: float) -> float:
        """Log-likelihood maximised over the scale at shape ``k``."""
        return self.loglik(k, self.log_scale(k))

    def profile_mean(self, log_mean: float) -> float:
        """Log-likelihood maximised over the shape at a mean of ``exp(log_mean)``."""

        def neg(log_k: float) -> float:
            k = math.exp(log_k)
            return -self.loglik(k, log_mean - float(special.gammaln(1 + 1 / k)))

        r = optimize.minimize_scalar(neg, bounds=np.log(SHAPE_BOUNDS), method="bounded", options={"xatol": 1e-6})
        return -float(r.fun)


def _interval(f: Any, at: float, lo: float, hi: float) -> tuple[float, float]:
    """Where ``f`` (negative at ``at``) crosses zero on each side, searched in log space within [lo, hi]."""
    ends = []
    for bound in (lo, hi):
        if f(bound) <= 0:
            ends.append(bound)  # the interval reaches the search bound
        else:
            ends.append(float(optimize.brentq(f, at, bound, xtol=1e-8)))
    return ends[0], ends[1]


def fit_weibull(observed: np.ndarray, censored: np.ndarray, censored_counts: np.ndarray | None = None) -> WeibullFit:
    """Weibull MLE with right-censoring, by profile likelihood over the shape (``censored_counts`` as in
    ``fit_exponential``)."""
    if observed.size == 0:
        raise FitError("no failures: the Weibull law has no estimate")
    w = _Weibull(observed, censored, censored_counts)
    lo_k, hi_k = np.log(SHAPE_BOUNDS)
    r = optimize.minimize_scalar(
        lambda u: -w.profile(math.exp(u)), bounds=(lo_k, hi_k), method="bounded", options={"xatol": 1e-9}
    )
    log_k = float(r.x)
    k = math.exp(log_k)
    best = w.profile(k)
    log_scale = w.log_scale(k)
    log_mean = log_scale + float(special.gammaln(1 + 1 / k))
    cut = _CHI2_1 / 2
    k_lo, k_hi = _interval(lambda u: best - w.profile(math.exp(u)) - cut, log_k, lo_k, hi_k)
    span = math.log(1e6)
    m_lo, m_hi = _interval(lambda u: best - w.profile_mean(u) - cut, log_mean, log_mean - span, log_mean + span)
    return WeibullFit(
        shape=k,
        scale_hours=math.exp(log_scale),
        mtbf_hours=math.exp(log_mean),
        shape_ci95=(math.exp(k_lo), math.exp(k_hi)),
        mtbf_ci95=(math.exp(m_lo), math.exp(m_hi)),
        loglik=best,
    )


def _counts(censored: np.ndarray, counts: np.ndarray | None) -> np.ndarray:
    return np.ones(censored.size) if counts is None else np.asarray(counts, dtype=float)


def _weighted_sum(censored: np.ndarray, counts: np.ndarray | None) -> float:
    return float((censored * _counts(censored, counts)).sum())


def renewal_gaps(
    times: Sequence[Sequence[float]], nodes: int, window: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Observed gaps, right-censored gaps and how many nodes have each (hours) of one cause.

    ``times`` lists each failing node's failure times. The nodes that never failed of this cause
    share one censored gap, the whole window, with their count: memory follows the log, not the fleet.

    >>> obs, cen, counts = renewal_gaps([[2.0, 5.0]], nodes=3, window=10.0)
    >>> obs.tolist(), cen.tolist(), counts.tolist()
    ([2.0, 3.0], [5.0, 10.0], [1.0, 2.0])
    """
    observed: list[np.ndarray] = []
    last: list[float] = []
    for ts in times:
        t = np.sort(np.asarray(ts, dtype=float))
        observed.append(np.maximum(np.diff(t, prepend=0.0), MIN_GAP_HOURS))
        last.append(window - t[-1])
    silent = nodes - len(times)
    censored = np.array([*last, window] if silent else last, dtype=float)
    counts = np.array([1.0] * len(last) + ([float(silent)] if silent else []))
    return (np.concatenate(observed) if observed else np.zeros(0)), censored, counts


@dataclass(frozen=True)
class ModeFit:
    """Both fits of one cause, the likelihood-ratio test between them, and the data they came from."""

    name: str
    events: int
    nodes_with_events: int
    exposure_hours: float
    exponential: ExponentialFit
    weibull: WeibullFit
    lr_p_value: float
    alpha: float = ALPHA

    @property
    def distribution(self) -> str:
        """``weibull`` if the likelihood-ratio test rejects the exponential at ``alpha`` and ``note`` is empty."""
        return "weibull" if self.lr_p_value < self.alpha and not self.note else "exponential"

    @property
    def note(self) -> str:
        """Why a Weibull fit is not trusted, however small its p-value; empty when it is."""
        if self.events < MIN_WEIBULL_EVENTS:
            n = f"{self.events} event{'' if self.events == 1 else 's'}"
            return f"only {n}: too few for the Weibull fit and its test (exponential kept)"
        if not SHAPE_BOUNDS[0] * 1.01 < self.weibull.shape < SHAPE_BOUNDS[1] / 1.01:
            return f"Weibull shape at its search bound {self.weibull.shape:.3g}: degenerate fit (exponential kept)"
        return ""

    @property
    def mtbf_hours(self) -> float:
        return self.weibull.mtbf_hours if self.distribution == "weibull" else self.exponential.mtbf_hours

    @property
    def shape(self) -> float:
        return self.weibull.shape if self.distribution == "weibull" else 1.0

    @property
    def scale_hours(self) -> float:
        return self.weibull.scale_hours if self.distribution == "weibull" else self.exponential.mtbf_hours

    def to_json(self) -> dict[str, Any]:
        """The chosen law (``ci95`` has ``shape`` for a Weibull), plus both fits in full."""
        w, e = self.weibull, self.exponential
        ci: dict[str, list[float]] = {"mtbf_hours": list(e.ci95)}
        if self.distribution == "weibull":
            ci = {"mtbf_hours": list(w.mtbf_ci95), "shape": list(w.shape_ci95)}
        return {
            "name": self.name,
            "distribution": self.distribution,
            "mtbf_hours": self.mtbf_hours,
            "shape": self.shape,
            "scale_hours": self.scale_hours,
            "events": self.events,
            "ci95": ci,
            "lr_p_value": self.lr_p_value,
            "note": self.note,
            "nodes_with_events": self.nodes_with_events,
            "exposure_hours": self.exposure_hours,
            "exponential": {"mtbf_hours": e.mtbf_hours, "ci95": {"mtbf_hours": list(e.ci95)}},
            "weibull": {
                "shape": w.shape,
                "scale_hours": w.scale_hours,
                "mtbf_hours": w.mtbf_hours,
                "ci95": {"mtbf_hours": list(w.mtbf_ci95), "shape": list(w.shape_ci95)},
            },
        }


def fit_cause(name: str, times: Sequence[Sequence[float]], nodes: int, window: float, alpha: float = ALPHA) -> ModeFit:
    """Fit one cause from each failing node's failure times (hours from the window start)."""
    observed, censored, counts = renewal_gaps(times, nodes, window)
    e = fit_exponential(observed, censored, censored_counts=counts)
    w = fit_weibull(observed, censored, counts)
    lr = max(0.0, 2 * (w.loglik - e.loglik))
    return ModeFit(
        name=name,
        events=int(observed.size),
        nodes_with_events=len(times),
        exposure_hours=float(observed.sum() + _weighted_sum(censored, counts)),
        exponential=e,
        weibull=w,
        lr_p_value=float(stats.chi2.sf(lr, 1)),
        alpha=alpha,
    )


def fit_log(incidents: Sequence[Incident], nodes: int, window: float, alpha: float = ALPHA) -> list[ModeFit]:
    """Fit every cause of ``incidents`` over ``nodes`` nodes and a window of ``window`` hours, most events first."""
    if nodes < 1:
        raise FitError(f"--nodes: must be at least 1, got {nodes}")
    if not incidents:
        raise FitError("no incidents to fit")
    names = {i.node for i in incidents}
    if len(names) > nodes:
        raise FitError(f"--nodes {nodes}: the log names {len(names)} different nodes; give the whole fleet's size")
    by_cause: dict[str, dict[str, list[float]]] = defaultdict(lambda: defaultdict(list))
    for i in incidents:
        by_cause[i.cause][i.node].append(i.hours)
    fits = [fit_cause(c, list(per_node.values()), nodes, window, alpha) for c, per_node in by_cause.items()]
    return sorted(fits, key=lambda f: (-f.events, f.name))
