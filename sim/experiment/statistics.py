"""Statistics of a metric over replications: mean, 95% CI and percentiles, and their JSON form.

A time or cost to train is censored: a replication that did not reach its target has none (NaN),
which means "later than any", so the statistics that need it are unknown (``describe(censored=True)``).

>>> d = describe(np.array([4.0, 5.0, 6.0, np.nan]), censored=True)
>>> d["p10"], math.isnan(d["mean"])
(4.3, True)
"""

from __future__ import annotations

import datetime as dt
import math
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from sim.results.target import finish_date

#: The statistics of every metric, in the order of every table.
STAT_COLUMNS = ["mean", "std", "ci95_low", "ci95_high", "p10", "p50", "p90"]


def describe(values: np.ndarray, censored: bool = False) -> dict[str, float]:
    """Mean, sample std, 95% t-interval of the mean, and p10/p50/p90; NaNs are left out.

    ``censored``: a NaN is a value above every other (a target not reached by the horizon): with
    one, the mean, std and interval are NaN (unknown), and a percentile that needs it is NaN too.

    >>> d = describe(np.array([1.0, 2.0, 3.0]))
    >>> d["mean"], d["std"], round(d["ci95_high"], 3)
    (2.0, 1.0, 4.484)
    >>> d = describe(np.array([1.0, 2.0, 3.0, np.nan]), censored=True)
    >>> d["mean"], d["p10"], d["p90"]
    (nan, 1.3, nan)
    """
    if censored and np.isnan(values).any():
        return _censored(values.astype(float))
    v = values[~np.isnan(values)].astype(float)
    n = v.size
    if n == 0:
        return dict.fromkeys(STAT_COLUMNS, math.nan)
    if v.min() == v.max():  # identical values: no rounding noise in the spread
        return {k: float(v[0]) for k in STAT_COLUMNS} | {"std": 0.0}
    mean = float(v.mean())
    std = float(v.std(ddof=1))
    half = float(stats.t.ppf(0.975, n - 1)) * std / math.sqrt(n)
    p10, p50, p90 = (float(x) for x in np.percentile(v, [10, 50, 90]))
    return {
        "mean": mean,
        "std": std,
        "ci95_low": mean - half,
        "ci95_high": mean + half,
        "p10": p10,
        "p50": p50,
        "p90": p90,
    }


def _censored(values: np.ndarray) -> dict[str, float]:
    """``describe`` of values of which some (NaN) lie above every other: only the low percentiles are known."""
    s = np.sort(np.where(np.isnan(values), np.inf, values))
    out = dict.fromkeys(STAT_COLUMNS, math.nan)
    for name, q in (("p10", 10), ("p50", 50), ("p90", 90)):
        h = (s.size - 1) * q / 100.0  # numpy's default (linear) percentile
        lo, hi = math.floor(h), math.ceil(h)
        if math.isfinite(s[hi]):
            out[name] = float(s[lo] + (s[hi] - s[lo]) * (h - lo))
    return out


def json_number(x: float | None) -> float | None:
    """A float for strict JSON: NaN (no value, e.g. no interruption to time) becomes None."""
    return None if x is None or math.isnan(x) else float(x)


def finish_dates(summary: pd.DataFrame, start: dt.date) -> dict[str, object]:
    """The calendar dates of the time to train's statistics (days from ``start``); ``None`` where not reached."""

    def date(column: str) -> str | None:
        value: Any = summary.loc["time_to_train_days", column]
        days = float(value)
        return None if math.isnan(days) else finish_date(start, days)

    return {
        "mean": date("mean"),
        "ci95": [date("ci95_low"), date("ci95_high")],
        "p10": date("p10"),
        "p50": date("p50"),
        "p90": date("p90"),
    }


def stat_json(row: pd.Series) -> dict[str, object]:
    return {
        "mean": json_number(row["mean"]),
        "std": json_number(row["std"]),
        "ci95": [json_number(row["ci95_low"]), json_number(row["ci95_high"])],
        "p10": json_number(row["p10"]),
        "p50": json_number(row["p50"]),
        "p90": json_number(row["p90"]),
    }
