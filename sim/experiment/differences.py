"""Paired differences of scenarios run on the same replications, with Welch's unpaired interval beside them.

>>> welch([1.0, 2.0, 3.0], [2.0, 3.0, 4.0])  # doctest: +ELLIPSIS
(-1.26..., 3.26...)
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence

import numpy as np
import pandas as pd
from scipy import stats

from sim.experiment.runner import Result
from sim.experiment.statistics import describe
from sim.results.schema import CENSORED

DIFFERENCE_COLUMNS = [
    "baseline",
    "scenario",
    "metric",
    "mean",
    "std",
    "ci95_low",
    "ci95_high",
    "unpaired_ci95_low",
    "unpaired_ci95_high",
    "baseline_mean",
    "scenario_mean",
]


def welch(a: Iterable[float], b: Iterable[float]) -> tuple[float, float]:
    """Welch's 95% interval of ``mean(b) - mean(a)`` for two independent samples; NaN below two values each."""
    x, y = (np.asarray(list(v), dtype=float) for v in (a, b))
    x, y = x[~np.isnan(x)], y[~np.isnan(y)]
    if x.size < 2 or y.size < 2:
        return math.nan, math.nan
    d = float(y.mean() - x.mean())
    va, vb = x.var(ddof=1) / x.size, y.var(ddof=1) / y.size
    if va + vb == 0:
        return d, d
    df = (va + vb) ** 2 / (va**2 / (x.size - 1) + vb**2 / (y.size - 1))
    half = float(stats.t.ppf(0.975, df)) * math.sqrt(va + vb)
    return d - half, d + half


def differences(results: Sequence[Result]) -> pd.DataFrame:
    """Per scenario after the first and per metric: the paired difference from the first (mean, std, 95% CI),
    Welch's unpaired 95% interval, and both means. Replications pair by index; a NaN drops its pair, but
    a time or cost to train that a replication did not reach makes that metric's difference unknown."""
    base = results[0]
    a = base.runs.set_index("replication")
    metrics = [m for m in a.columns if "." not in m]  # every metric, not the by-cause columns
    rows = []
    for other in results[1:]:
        b = other.runs.set_index("replication")
        for m in metrics:
            if m not in b:
                continue
            pairs = pd.concat([a[m], b[m]], axis=1, keys=["a", "b"]).dropna()
            d = describe((pairs["b"] - pairs["a"]).to_numpy(float))
            if len(pairs) < 2:  # one pair: a difference, but no interval
                d |= {"std": math.nan, "ci95_low": math.nan, "ci95_high": math.nan}
            lo, hi = welch(a[m], b[m])
            if m in CENSORED and (a[m].isna().any() or b[m].isna().any()):
                # A target not reached is later than any time: the difference is unknown, not that of the
                # pairs that finished (sim.results.schema.CENSORED).
                d = dict.fromkeys(d, math.nan)
                lo = hi = math.nan
            rows.append(
                [
                    base.scenario.name,
                    other.scenario.name,
                    m,
                    d["mean"],
                    d["std"],
                    d["ci95_low"],
                    d["ci95_high"],
                    lo,
                    hi,
                    float(a[m].mean()),
                    float(b[m].mean()),
                ]
            )
    return pd.DataFrame(rows, columns=DIFFERENCE_COLUMNS)
