"""Statistics of replications: mean, spread, 95% t-interval and percentiles, and their JSON form.

>>> round(describe(np.array([1.0, 2.0, 3.0, np.nan]))["ci95_low"], 3)
-0.484
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
from scipy import stats

#: Per-cause figures of a replication, each a column ``<kind>.<cause>`` of the runs table.
BY_CAUSE = ("interruptions_by_cause", "lost_gpu_hours_by_cause", "lost_usd_by_cause")
STAT_COLUMNS = ["mean", "std", "ci95_low", "ci95_high", "p10", "p50", "p90"]


def metrics_json(summary: pd.DataFrame) -> dict[str, object]:
    """The ``metrics`` block of the JSON documents: every metric but the by-cause ones."""
    return {n: stat_json(summary.loc[n]) for n in summary.index if n.split(".")[0] not in BY_CAUSE}


def describe(values: np.ndarray) -> dict[str, float]:
    """Mean, sample std, 95% t-interval of the mean, and p10/p50/p90; NaNs are left out.

    >>> d = describe(np.array([1.0, 2.0, 3.0]))
    >>> d["mean"], d["std"], round(d["ci95_high"], 3)
    (2.0, 1.0, 4.484)
    """
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


def json_number(x: float | None) -> float | None:
    """A float for strict JSON: NaN (no value, e.g. no interruption to time) becomes None."""
    return None if x is None or math.isnan(x) else float(x)


def stat_json(row: pd.Series) -> dict[str, object]:
    return {
        "mean": json_number(row["mean"]),
        "std": json_number(row["std"]),
        "ci95": [json_number(row["ci95_low"]), json_number(row["ci95_high"])],
        "p10": json_number(row["p10"]),
        "p50": json_number(row["p50"]),
        "p90": json_number(row["p90"]),
    }
