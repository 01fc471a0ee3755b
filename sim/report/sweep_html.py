"""The sweep page's table (``report.html`` of a sweep folder): one row per point, and the grid in words.

>>> grid_text({"checkpoint.interval_minutes": [5.0, 10.0], "cluster.gpus": [1024]})
'checkpoint.interval_minutes ∈ {5, 10} × cluster.gpus ∈ {1024}'
"""

from __future__ import annotations

import math
from typing import Any

from sim.plots.base import stat
from sim.plots.run import costs_set
from sim.plots.sweep_base import key_label
from sim.report.cells import Table, ci_text, pp_text, table
from sim.results.folder import SweepFolder
from sim.results.formats import Fmt, fmt_days, fmt_num, fmt_pct, fmt_usd, fmt_value, metric_fmt
from sim.results.schema import CENSORED, METRIC_LABELS


def points_table(folder: SweepFolder) -> Table:
    """One row per point: swept values, ETTR, paired difference from the best, effective compute, money lost.

    Money only if the scenario sets prices or the sweep varies them.
    """
    s = folder.summary
    keys = folder.keys
    money = costs_set(s) or any(k.startswith(("energy.", "cost.")) for k in keys)
    extra = _sweep_extras(s, money)
    best = s.get("best") or {}
    rows, best_row = [], -1
    counts = [p.get("replications") for p in s["points"]]
    varied = len(set(counts)) > 1  # a precision target chose each point's count: show them
    for i, p in enumerate(s["points"]):
        m, diff = p["metrics"], p.get("paired_difference_from_best", {})
        ettr, ecr = stat(m, "ettr"), stat(m, "effective_compute_ratio")
        is_best = p["params"] == best
        best_row = i if is_best else best_row
        d = diff.get("ettr") or {}
        d_mean = math.nan if d.get("mean") is None else float(d["mean"])
        d_ci = [math.nan if x is None else float(x) for x in d.get("ci95") or [None, None]]
        rows.append(
            (
                *(fmt_value(p["params"][k], thousands=True) for k in keys),
                *([f"{counts[i]:,}"] if varied else []),
                fmt_pct(ettr[0]),
                ci_text(*ettr, fmt_pct),
                "best" if is_best else pp_text(d_mean),
                "" if is_best else ci_text(d_mean, d_ci[0], d_ci[1], pp_text),
                fmt_pct(ecr[0]),
                ci_text(*ecr, fmt_pct),
                fmt_num(stat(m, "interruptions")[0]),
                *([fmt_usd(stat(m, "usd_lost_to_failures")[0])] if money else []),
                *(_extra_cells(m, name, fmt) for name, _, fmt in extra),
            )
        )
    head = (
        *(key_label(k) for k in keys),
        *(["replications"] if varied else []),
        "ETTR",
        "95% CI",
        "ETTR − best (paired)",
        "95% CI",
        "effective compute",
        "95% CI",
        "interruptions",
        *(["lost to failures (USD)"] if money else []),
        *(head for _, head, _ in extra),
    )
    return table(head, rows, [True] * len(head), best_row)


#: Sweep columns that only some sweeps have: a time to train (a target), costs (prices): (metric, head, format).
SWEEP_EXTRAS: tuple[tuple[str, str, Fmt], ...] = (
    ("time_to_train_days", "time to train (days)", fmt_days),
    ("total_cost_usd", "total cost (USD)", fmt_usd),
    ("usd_per_useful_exaflop", "cost per useful exaFLOP (USD)", fmt_usd),
    ("unreliability_cost_usd", "cost of unreliability (USD)", fmt_usd),
)


def _sweep_extras(summary: dict[str, Any], money: bool) -> list[tuple[str, str, Fmt]]:
    points = summary["points"]
    have = [c for c in SWEEP_EXTRAS if all(c[0] in p["metrics"] for p in points)]
    return [c for c in have if money or c[2] is not fmt_usd]


def _extra_cells(metrics: dict[str, Any], name: str, fmt: Fmt) -> str:
    """A mean with its CI; ``not reached`` for a time or cost to train some replications never got to."""
    mean, lo, hi = stat(metrics, name)
    if name in CENSORED and math.isnan(mean):
        return "not reached"
    ci = ci_text(mean, lo, hi, fmt)
    return fmt(mean) + (f" ({ci})" if ci else "")


def optimum_table(summary: dict[str, Any]) -> Table:
    """The optimum of an optimize folder: the best value with its CI, the bracket, Young's and Daly's intervals."""
    o = summary["optimum"]
    key, metric = str(o["key"]), str(o["objective"])
    name = METRIC_LABELS.get(metric, metric)
    fmt = metric_fmt(metric)
    unit = " min" if key.endswith("_minutes") else ""
    lo, hi = (math.nan if x is None else float(x) for x in o["best_ci95"])
    mean = math.nan if o["best_mean"] is None else float(o["best_mean"])
    rows = [
        ("simulated best", f"{o['best']:.4g}{unit}", f"{name} {fmt(mean)}", ci_text(mean, lo, hi, fmt)),
        ("bracket", f"{o['bracket'][0]:.4g} – {o['bracket'][1]:.4g}{unit}", f"{name} not significantly worse", ""),
    ]
    for label, minutes, note in (
        ("Young (1974)", o.get("young_minutes"), "√(2δM)"),
        ("Daly (2006)", o.get("daly_minutes"), "higher-order optimum"),
    ):
        if minutes is not None:
            rows.append((label, f"{float(minutes):.4g} min", note, ""))
    head = ("", key_label(key), "note", "95% CI of the mean")
    return table(head, rows, (False, True, False, True))


def grid_text(params: dict[str, list[Any]]) -> str:
    """The swept grid as typed (1024, not 1,024: thousands separators would read as more values in a list).

    >>> grid_text({"checkpoint.interval_minutes": [5.0, 10.0], "cluster.gpus": [1024]})
    'checkpoint.interval_minutes ∈ {5, 10} × cluster.gpus ∈ {1024}'
    """
    return " × ".join(f"{k} ∈ {{{', '.join(fmt_value(v) for v in vs)}}}" for k, vs in params.items())
