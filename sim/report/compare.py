"""The terminal report of ``trainsim compare``: a table of the scenarios, then their paired differences.

It reads the comparison's ``summary.json`` document (``sim.experiment.compare_save.summary_document``;
``sim.results.folder.CompareFolder.summary``), never the simulation.

>>> fmt_difference(-0.00571, "ettr"), fmt_difference(2.5e25, "realized_flop"), fmt_difference(-3e7, "total_cost_usd")
('-0.57 pp', '+2.50e25', '-$30.00M')
>>> fmt_difference(-0.1, "usd_per_useful_exaflop")
'-$0.100'
>>> narrower([0.1, 0.2], [0.0, 0.5])
'5.0x'
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

from rich.console import Console, Group, RenderableType
from rich.table import Table
from rich.text import Text

from sim.plots.run import costs_set
from sim.results import precision as target
from sim.results.formats import fmt_days, fmt_num, fmt_pct, fmt_sci, fmt_usd
from sim.results.schema import BUCKET_LABELS, BUCKETS, FRACTIONS

#: Width of the report when standard output is not a terminal.
WIDTH = 120
#: Metrics whose differences the terminal shows (every metric's is in differences.csv and the JSON).
SHOWN = (
    "time_to_train_days",
    "cost_to_train_usd",
    "ettr",
    "effective_compute_ratio",
    "realized_flop",
    "interruptions",
    "usd_lost_to_failures",
    "total_cost_usd",
    "usd_per_useful_exaflop",
    "unreliability_cost_usd",
    "energy_mwh",
    "power_mean_mw",
    "swings_per_day",
)
#: How the reports name metrics; ledger shares are named by their bucket.
LABELS = {
    "ettr": "ETTR",
    "effective_compute_ratio": "effective compute",
    "realized_flop": "useful FLOP",
    "interruptions": "interruptions",
    "usd_lost_to_failures": "lost to failures (USD)",
    "usd_per_useful_exaflop": "USD per useful exaFLOP",
    "total_cost_usd": "total cost (USD)",
    "unreliability_cost_usd": "cost of unreliability",
    "time_to_train_days": "time to train (days)",
    "cost_to_train_usd": "cost to train (USD)",
    "energy_mwh": "energy (facility MWh)",
    "power_mean_mw": "mean IT power (MW)",
    "swings_per_day": "power swings a day",
}
#: Metrics in money: shown only when the scenarios set prices.
MONEY = (
    "usd_lost_to_failures",
    "usd_per_useful_exaflop",
    "total_cost_usd",
    "unreliability_cost_usd",
    "cost_to_train_usd",
)


def _num(x: Any) -> float:
    return math.nan if x is None else float(x)


def metric_label(metric: str) -> str:
    """A metric as the reports name it.

    >>> metric_label("ettr"), metric_label("fraction_restart"), metric_label("hours_below_half_load")
    ('ETTR', 'restarts (share)', 'hours_below_half_load')
    """
    bucket = metric.removeprefix("fraction_")
    if metric.startswith("fraction_") and bucket in BUCKET_LABELS:
        return f"{BUCKET_LABELS[bucket].split(' (')[0]} (share)"
    return LABELS.get(metric, metric)


def _is_fraction(metric: str) -> bool:
    return metric in FRACTIONS or metric.startswith("fraction_")


def fmt_difference(x: float, metric: str) -> str:
    """A difference in the metric's unit, signed: percentage points for fractions, FLOP, dollars, counts."""
    if not math.isfinite(x):
        return "n/a"
    if x == 0:
        return "0"
    sign = "-" if x < 0 else "+"
    if _is_fraction(metric):
        return f"{sign}{100 * abs(x):.2f} pp"
    if metric.endswith("_flop"):
        return sign + fmt_sci(abs(x))
    if "usd" in metric:
        # Small amounts (a price per exaFLOP) to three significant digits: cents alone hide the interval.
        return sign + (fmt_usd(abs(x)) if abs(x) >= 100 else f"${abs(x):#.3g}")
    return sign + fmt_num(abs(x))


def interval(ci: Sequence[Any], metric: str) -> str:
    """A 95% interval of a difference, its ends in the metric's unit; ``exact`` when it has no width (the same
    difference in every replication), ``n/a`` when there is none (one replication).

    >>> interval([0.0, 0.0], "ettr"), interval([0.001, 0.003], "ettr"), interval([None, None], "ettr")
    ('exact', '+0.10 pp to +0.30 pp', 'n/a')
    """
    lo, hi = (_num(x) for x in ci)
    if not (math.isfinite(lo) and math.isfinite(hi)):
        return "n/a"
    return "exact" if lo == hi else f"{fmt_difference(lo, metric)} to {fmt_difference(hi, metric)}"


def narrower(paired: Sequence[Any], unpaired: Sequence[Any]) -> str:
    """How many times narrower the paired interval is than the unpaired one."""
    p = _num(paired[1]) - _num(paired[0])
    u = _num(unpaired[1]) - _num(unpaired[0])
    if not (math.isfinite(p) and math.isfinite(u)) or u <= 0:
        return ""
    return "exact" if p == 0 else f"{u / p:.1f}x"


def _with_ci(metrics: dict[str, Any], name: str) -> str:
    m = metrics.get(name) or {}
    mean, (lo, hi) = _num(m.get("mean")), (_num(x) for x in m.get("ci95") or [None, None])
    text = fmt_pct(mean)
    return text + (f" ± {100 * (hi - lo) / 2:.1f}" if math.isfinite(lo) and hi > lo else "")


def _table(title: str, heads: Sequence[str]) -> Table:
    table = Table(title=title, title_justify="left", show_edge=False, pad_edge=False)
    for i, h in enumerate(heads):
        table.add_column(h, justify="left" if i == 0 else "right", no_wrap=True)
    return table


def _name(summary: dict[str, Any], i: int) -> Text:
    return Text(summary["names"][i] + (" (baseline)" if i == 0 else ""))


def scenarios_table(summary: dict[str, Any]) -> Table:
    """One row per scenario: the time to train (with a target), ETTR, effective compute (without prices),
    useful FLOPs (without a target: with one, they are the target), interruptions, job MTBF and, when
    priced, the total cost, the cost of unreliability and the cost per useful exaFLOP."""
    docs = summary["scenarios"]
    money = costs_set(docs[0])
    timed = "time_to_train_days" in docs[0]["metrics"]
    heads = ["scenario", *(["time to\ntrain (d)"] if timed else []), "ETTR"]
    heads += [*([] if money else ["effective\ncompute"]), *([] if timed else ["useful\nFLOP"])]
    heads += ["interruptions", "job MTBF\n(hours)"]
    heads += ["total\ncost", "cost of\nunreliability", "USD per useful\nexaFLOP"] if money else []
    table = _table("Scenarios (mean ± 95% CI half-width)", heads)
    for i, d in enumerate(docs):
        m = d["metrics"]
        mean = {k: _num((m.get(k) or {}).get("mean")) for k in m}
        cells: list[RenderableType] = [_name(summary, i)]
        if timed:
            t = mean.get("time_to_train_days", math.nan)
            cells.append(fmt_days(t) if math.isfinite(t) else "not reached")
        cells.append(_with_ci(m, "ettr"))
        cells += [] if money else [fmt_pct(mean["effective_compute_ratio"])]
        cells += [] if timed else [fmt_sci(mean["realized_flop"])]
        cells += [fmt_num(mean["interruptions"]), fmt_num(mean.get("job_mtbf_hours", math.nan))]
        if money:
            cells += [fmt_usd(mean.get(k, math.nan)) for k in ("total_cost_usd", "unreliability_cost_usd")]
            cells.append(fmt_usd(mean["usd_per_useful_exaflop"]))
        table.add_row(*cells)
    return table


def ledger_table(summary: dict[str, Any]) -> Table:
    """One row per scenario: the mean share of the job's GPU-time in each ledger bucket that holds any."""
    docs = summary["scenarios"]
    shares = [{b: _num((d["metrics"].get(f"fraction_{b}") or {}).get("mean")) for b in BUCKETS} for d in docs]
    buckets = [b for b in BUCKETS if b == "useful" or any(s[b] > 0 for s in shares)]
    heads = ["scenario", *(BUCKET_LABELS.get(b, b).split(" (")[0].replace(" ", "\n", 1) for b in buckets)]
    table = _table("Where the job's GPU-time goes (mean share; the row sums to 100%)", heads)
    for i, s in enumerate(shares):
        table.add_row(_name(summary, i), *(fmt_pct(s[b]) for b in buckets))
    return table


def differences_table(summary: dict[str, Any]) -> Table:
    """Per scenario after the first: the paired difference of the headline metrics, with both 95% intervals."""
    money = costs_set(summary["scenarios"][0])
    table = Table(
        title=f"Differences from {summary['baseline']} (scenario − baseline)",
        title_justify="left",
        caption=(
            "paired: the 95% CI of the replication-by-replication difference (same seeds, so the same failures "
            "where the fleets agree); unpaired: Welch's interval for independent samples, for contrast. "
            "Every metric: differences.csv, or --format json."
        ),
        caption_justify="left",
        show_edge=False,
        pad_edge=False,
    )
    for i, h in enumerate(
        ("scenario", "metric", "difference", "paired 95% CI", "unpaired 95% CI", "paired CI\nnarrower by")
    ):
        table.add_column(h, justify="left" if i < 2 else "right", no_wrap=True)
    rows = [d for d in summary["differences"] if d["metric"] in SHOWN and (money or d["metric"] not in MONEY)]
    rows.sort(key=lambda d: (summary["names"].index(d["scenario"]), SHOWN.index(d["metric"])))
    previous = None
    for d in rows:
        first = d["scenario"] != previous
        if first and previous is not None:
            table.add_section()
        previous = d["scenario"]
        table.add_row(
            Text(d["scenario"] if first else ""),
            metric_label(d["metric"]),
            fmt_difference(_num(d["mean"]), d["metric"]),
            interval(d["ci95"], d["metric"]),
            interval(d["unpaired_ci95"], d["metric"]),
            narrower(d["ci95"], d["unpaired_ci95"]),
        )
    return table


def compare_renderable(summary: dict[str, Any]) -> Group:
    """The ``trainsim compare`` report: what ran, the scenarios, their differences and notes (warnings: stderr)."""
    k, n = len(summary["names"]), summary["replications"]
    head = Text()
    head.append(f"compare: {k} scenarios against {summary['baseline']}\n", style="bold")
    head.append(
        f"{n} replication{'s' if n != 1 else ''} each, seed {summary['seed']}, every scenario on the same seeds"
    )
    block = summary.get("precision")
    if block:
        met = "met by every scenario" if block.get("met") else "not met by every scenario"
        head.append(f"\nuntil each scenario's {target.label(block)} is within {target.asked(block)}: {met}")
    parts: list[RenderableType] = [head, Text("")]
    for table in (scenarios_table(summary), ledger_table(summary), differences_table(summary)):
        parts += [table, Text("")]
    parts += [Text(f"note: {note}", style="dim") for note in summary.get("notes") or []]
    return Group(*parts)


def print_compare(summary: dict[str, Any], console: Console | None = None) -> None:
    """Print ``compare_renderable(summary)`` (default: standard output, 120 columns when not a terminal)."""
    if console is None:
        console = Console()
        console = console if console.is_terminal else Console(width=WIDTH)
    console.print(compare_renderable(summary))
