"""Terminal reports of ``trainsim sweep`` and ``trainsim optimize``: one row per point.

They read the per-point table (``SweepTables.points``, ``Optimum.points``), never the simulation.

>>> fmt_value(20.0), fmt_value(13.16), fmt_value("daly"), fmt_value(True)
('20', '13.16', 'daly', 'true')
>>> fmt_diff(-0.00571, "ettr"), fmt_diff(-1.5e21, "realized_flop")
('-0.57', '-1.50e21')
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any, Protocol

import pandas as pd
from rich.console import Console, Group, RenderableType
from rich.table import Table
from rich.text import Text

from sim.config.scenario import Scenario
from sim.results import precision as target
from sim.results.formats import fmt_num, fmt_pct, fmt_range, fmt_sci, fmt_usd, fmt_value, metric_fmt
from sim.results.schema import CENSORED, FRACTIONS, METRIC_LABELS, better_word
from sim.results.schema import best_index as best_mean_index
from sim.results.target import not_reached_text


class SweepTables(Protocol):
    """What a sweep report reads (``sim.experiment.sweeps.SweepResult`` offers it)."""

    @property
    def scenario(self) -> Scenario: ...
    @property
    def params(self) -> Mapping[str, Any]: ...
    @property
    def points(self) -> pd.DataFrame: ...
    @property
    def replications(self) -> int: ...
    @property
    def seed(self) -> int: ...
    @property
    def objective(self) -> str: ...
    @property
    def best(self) -> Mapping[str, Any]: ...
    @property
    def computed(self) -> int: ...
    @property
    def reused(self) -> int: ...
    @property
    def precision(self) -> Mapping[str, Any] | None: ...


#: Width of the report when standard output is not a terminal.
WIDTH = 120


def fmt_diff(x: float, metric: str) -> str:
    """A paired difference: percentage points for fractions, the metric's own unit otherwise."""
    if not math.isfinite(x):
        return "n/a"
    if metric in FRACTIONS:
        return f"{100.0 * x:+.2f}" if x else "0"
    if metric.endswith("_usd") or metric == "usd_per_useful_exaflop":
        return ("-" if x < 0 else "+") + fmt_usd(abs(x))
    return fmt_sci(x) if metric == "realized_flop" else fmt_num(x)


def _half(row: pd.Series, metric: str, prefix: str) -> float:
    """Half the width of a 95% CI (t-intervals are symmetric); nan when there is none."""
    lo, hi = float(row[f"{metric}.{prefix}ci95_low"]), float(row[f"{metric}.{prefix}ci95_high"])
    return (hi - lo) / 2.0 if math.isfinite(lo) and math.isfinite(hi) else math.nan


def with_ci(row: pd.Series, metric: str, diff: bool = False) -> str:
    """``mean ± half-width of the 95% CI``; the ``±`` left out when the interval is a point (one replication).
    A half-width too small for the usual digits gets more of them, never a ``± 0.0``.

    >>> row = pd.Series({"ettr.mean": 0.9, "ettr.ci95_low": 0.88, "ettr.ci95_high": 0.92})
    >>> with_ci(row, "ettr"), with_ci(row.replace({0.88: 0.89999, 0.92: 0.90001}), "ettr")
    ('90.0% ± 2.0', '90.0% ± 0.001')
    """
    prefix = "diff_" if diff else ""
    mean, half = float(row[f"{metric}.{prefix}mean"]), _half(row, metric, prefix)
    if metric in CENSORED and math.isnan(mean):
        return "not reached"  # in some replications: the mean is unknown
    if metric in FRACTIONS:
        text = fmt_diff(mean, metric) if diff else fmt_pct(mean)
        digits = 2 if diff else 1
        while half > 0 and round(100.0 * half, digits) == 0 and digits < 8:
            digits += 1
        return text + (f" ± {100.0 * half:.{digits}f}" if half > 0 else "")
    fmt = metric_fmt(metric)
    return str(fmt(mean)) + (f" ± {fmt(half)}" if half > 0 else "")


def best_index(points: pd.DataFrame, objective: str) -> int:
    """Row of the best point: the best mean objective, as ``points_table`` chose it."""
    return best_mean_index(points[f"{objective}.mean"].tolist(), objective)


#: Columns a sweep table adds when its runs have them: (metric, header); money only when a price is set.
_EXTRA_COLUMNS = (
    ("time_to_train_days", "time to\ntrain (d)"),
    ("total_cost_usd", "total\ncost"),
    ("unreliability_cost_usd", "cost of\nunreliability"),
    ("swings_per_day", "power\nswings/d"),
)
#: Column heads of the other objectives, short enough for a table of many columns.
_HEADS = dict(_EXTRA_COLUMNS) | {"cost_to_train_usd": "cost to\ntrain", "usd_per_useful_exaflop": "cost per\nuseful EF"}


def _extra_columns(points: pd.DataFrame, objective: str, keys: list[str]) -> list[tuple[str, str]]:
    costly = "total_cost_usd.mean" in points and bool((points["total_cost_usd.mean"] > 0).any())
    # Power swings when the sweep varies the power model; elsewhere they would crowd the table.
    powered = any(k.startswith("power.") for k in keys)
    return [
        (m, header)
        for m, header in _EXTRA_COLUMNS
        if m != objective
        and f"{m}.mean" in points
        and (costly or not m.endswith(("_usd", "exaflop")))
        and (powered or m != "swings_per_day")
    ]


def _header(key: str) -> str:
    # The last part of the key, a word a line: the full keys are in the report's head line.
    return key.rsplit(".", 1)[-1].replace("_", "\n")


def points_renderable(points: pd.DataFrame, keys: list[str], objective: str = "ettr", title: str = "") -> Table:
    """One row per point: swept values, ETTR, the objective, the time and cost to train (if any), effective
    compute (else), interruptions, paired difference from the best."""
    label = METRIC_LABELS.get(objective, objective)
    unit = "\n(pp)" if objective in FRACTIONS else ""
    table = Table(
        title=title or None,
        title_justify="left",
        caption=(
            "* best point; mean ± 95% CI half-width. The difference from the best is paired (replication r of "
            "every point sees the same failures), so its CI is far narrower than those of the values."
        ),
        caption_justify="left",
        show_edge=False,
        pad_edge=False,
    )
    # Headers broken by hand and cells never wrapped: rich would rather cut numbers than wrap a header.
    counts = points["replications"].tolist() if "replications" in points else []
    varied = len(set(counts)) > 1  # a precision target chose each point's count: show them
    headers = ["", *map(_header, keys), *(["repli-\ncations"] if varied else [])]
    headers += ["ETTR", *([_HEADS.get(objective, label)] if objective != "ettr" else [])]
    extra = _extra_columns(points, objective, keys)
    headers += [header for _, header in extra]
    # Effective compute is MFU x ETTR: room for the time and money columns instead, when there are some.
    short = _HEADS.get(objective, label)
    money = any(m != "swings_per_day" for m, _ in extra)
    headers += [*([] if money else ["eff.\ncompute"]), "interruptions", f"{short}\n- best" + unit]
    best = best_index(points, objective)
    rows = []
    for i, (_, row) in enumerate(points.iterrows()):
        # Swept values column by column (a row of a mixed table is upcast to float), and as Text, not
        # markup: a string value is shown as typed, brackets and all.
        cells: list[RenderableType] = ["*" if i == best else ""]
        cells += [Text(fmt_value(points[k].iloc[i])) for k in keys]
        cells += [f"{int(counts[i]):,}"] if varied else []
        cells.append(with_ci(row, "ettr"))
        if objective != "ettr":
            cells.append(with_ci(row, objective))
        cells += [with_ci(row, m) for m, _ in extra]
        cells += [
            *([] if money else [fmt_pct(float(row["effective_compute_ratio.mean"]))]),
            fmt_num(float(row["interruptions.mean"])),
            "best" if i == best else with_ci(row, objective, diff=True),
        ]
        rows.append(cells)
    for header in headers:
        table.add_column(header, justify="right", no_wrap=True)
    for i, cells in enumerate(rows):
        table.add_row(*cells, style="bold" if i == best else None)
    return table


def sweep_renderable(result: SweepTables) -> Group:
    """The ``trainsim sweep`` report: what was swept, the table, the best point, the work done."""
    s = result.scenario
    keys = list(result.params)
    n_points = len(result.points)
    head = Text()
    head.append(f"{s.name}{f' - {s.title}' if s.title else ''}\n", style="bold")
    counts = result.points["replications"] if "replications" in result.points else pd.Series([result.replications])
    lo, hi = int(counts.min()), int(counts.max())
    each = f"{lo}" if lo == hi else f"{lo}-{hi}"
    head.append(
        f"sweep of {', '.join(keys)}: {n_points} point{'s' if n_points != 1 else ''} x {each} "
        f"replication{'s' if hi != 1 else ''}, seed {result.seed}, "
        f"best by {METRIC_LABELS.get(result.objective, result.objective)}"
    )
    if result.precision is not None:
        met = "met at every point" if result.precision.get("met_at_every_point") else "not met at every point"
        head.append(f"\neach point until {target.label(result.precision)} {target.asked(result.precision)}: {met}")
    best = ", ".join(f"{k}={fmt_value(v)}" for k, v in result.best.items())
    foot = Text()
    foot.append(f"best: {best}\n", style="bold")
    for line in _short_of_target(result.points, keys, result.replications, s.run.duration_days):
        foot.append(line + "\n", style="yellow")
    foot.append(f"computed {result.computed}, reused {result.reused} replications")
    return Group(head, Text(""), points_renderable(result.points, keys, result.objective), Text(""), foot)


def _short_of_target(points: pd.DataFrame, keys: list[str], replications: int, days: float) -> list[str]:
    """A line for each point where some replication did not reach the target (``run.target_*``)."""
    if "target_reached.mean" not in points:
        return []
    out = []
    for i, share in enumerate(points["target_reached.mean"].to_numpy(float)):
        horizon = float(points["run.duration_days"].iloc[i]) if "run.duration_days" in points else days
        text = not_reached_text(share, replications, horizon)
        if text is not None:
            where = ", ".join(f"{k}={fmt_value(points[k].iloc[i])}" for k in keys)
            out.append(f"{where}: {text}")
    return out


def wide_console() -> Console:
    """Standard output; wider than rich's 80 columns when it is a file or a pipe, so that no cell is cut."""
    console = Console()
    return console if console.is_terminal else Console(width=WIDTH)


def print_sweep(result: SweepTables, console: Console | None = None) -> None:
    """Print ``sweep_renderable(result)`` to ``console`` (default: standard output)."""
    (console or wide_console()).print(sweep_renderable(result))


def _minutes(x: float | None) -> str:
    return "n/a (no failures)" if x is None or not math.isfinite(x) else f"{x:,.1f}"


def optimum_renderable(optimum: Any, scenario_name: str, replications: int, seed: int) -> Group:
    """The ``trainsim optimize`` report: evaluated points, then the optimum next to Young's and Daly's intervals.

    ``optimum`` is a ``sim.experiment.optimize.Optimum`` (typed loosely so that reports need not import the search).
    """
    key: str = optimum.key
    objective: str = optimum.objective
    label = METRIC_LABELS.get(objective, objective)
    fmt = metric_fmt(objective)
    unit = " min" if key.endswith("_minutes") else ""
    head = Text()
    head.append(f"{scenario_name}: ", style="bold")
    head.append(
        f"{key} with the {better_word(objective)} mean {label}; {len(optimum.points)} values in {optimum.rounds} "
        f"round{'s' if optimum.rounds != 1 else ''}, {replications} paired replications each, seed {seed}"
    )
    result = Table(show_header=False, show_edge=False, title="Optimum", title_justify="left")
    result.add_column("what", no_wrap=True)
    result.add_column("value", justify="right", style="bold")
    result.add_column("note")
    lo, hi = optimum.best_ci95
    interval = fmt_range(lo, hi, fmt, "-")
    ci = f"{label} {fmt(optimum.best_mean)}" + (f" (95% CI {interval})" if interval else "")
    b_lo, b_hi = optimum.bracket
    result.add_row("simulated best", f"{optimum.best:.4g}{unit}", ci)
    result.add_row("bracket", f"{b_lo:.4g}-{b_hi:.4g}{unit}", f"{label} not significantly worse than the best")
    if key == "checkpoint.interval_minutes":
        result.add_row("Young (1974)", f"{_minutes(optimum.young_minutes)}{unit}", "sqrt(2 delta M)")
        result.add_row("Daly (2006)", f"{_minutes(optimum.daly_minutes)}{unit}", "higher-order optimum")
    parts: list[RenderableType] = [
        head,
        Text(""),
        points_renderable(optimum.points, [key], objective, title="Evaluated points"),
        Text(""),
        result,
    ]
    if getattr(optimum, "at_edge", False):
        parts.append(Text("warning: the best value is at the edge of the range: widen --range", style="yellow"))
    if key == "checkpoint.interval_minutes":
        parts.append(
            Text("Young and Daly assume exponential failures, instant spares and no detection delay.", style="dim")
        )
    return Group(*parts)
