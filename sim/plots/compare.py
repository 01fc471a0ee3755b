"""Compare charts, drawn from a compare folder's ``summary.json`` only (never from simulation objects).

- ``compare_ledger``: where each scenario's GPU-time goes, one stacked bar per scenario, with mean
  ETTR, its 95% CI and the paired difference from the first scenario;
- ``compare_differences``: each scenario's paired difference from the first (ETTR, useful model FLOPs
  and, when the scenarios set prices, money lost to failures), its 95% CI drawn thick beside the
  unpaired (Welch) interval drawn thin: how much the common failures sharpen the comparison.

>>> signed(0.0123, "pp"), signed(-2.5e25, "flop"), signed(-3.2e7, "usd")
('+1.23 pp', '−2.50e25', '−$32.00M')
"""

from __future__ import annotations

import math
import textwrap
from pathlib import Path
from typing import Any

import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.layout_engine import ConstrainedLayoutEngine
from matplotlib.patches import Patch
from matplotlib.ticker import FuncFormatter, MaxNLocator, PercentFormatter

from sim.plots.base import FAINT, TEXT, Build, header, new_figure, stat, text_color, write_figures
from sim.plots.palette import BUCKET_COLORS
from sim.plots.run import costs_set
from sim.results.folder import CompareFolder, NotResults, load
from sim.results.formats import fmt_sci, fmt_usd
from sim.results.schema import BUCKET_LABELS, BUCKETS

LEDGER_QUESTION = "Where does each scenario's GPU-time go?"
#: Characters of a footnote line (``sim.plots.base.header`` wraps at this width) and the height of one, inches.
FOOTNOTE_CHARS, LINE_IN = 190, 0.16
#: Panels of the differences chart: (metric, title, unit of its labels).
PANELS = (
    ("ettr", "ETTR (useful share of the job's GPU-time)", "pp"),
    ("realized_flop", "Useful model FLOPs over the run", "flop"),
    ("usd_lost_to_failures", "Money lost to failures", "usd"),
)


def signed(x: float, unit: str, like: float | None = None) -> str:
    """A difference with its sign (a true minus): percentage points, FLOP or dollars; ``like``: a value whose
    scale dollars take (a CI's half-width in the millions of its mean)."""
    if not math.isfinite(x):
        return "n/a"
    a, ref = abs(x), abs(x if like is None else like)
    if unit == "pp":
        text = f"{100 * a:.2f} pp"
    elif unit == "flop":
        text = fmt_sci(a)
    else:
        scale = next(((v, s) for v, s in ((1e9, "B"), (1e6, "M")) if ref >= v), None)
        text = fmt_usd(a) if scale is None else f"${a / scale[0]:.2f}{scale[1]}"
    return ("−" if x < 0 else "+") + text


def _header(fig: Figure, question: str, summary: dict[str, Any], footnote: str) -> None:
    """The question, then the comparison's shape: how many scenarios, replications, and whether failures are shared.

    A footnote longer than the two lines the page keeps for it takes room from the panels.
    """
    same = all(p == "same failures" for p in (summary.get("pairing") or {}).values())
    k = len(summary.get("names", []))
    shape = f"{k} scenarios on {'the same failures' if same else 'the same seeds'}"
    extra = max(len(textwrap.wrap(footnote, FOOTNOTE_CHARS)) - 2, 0)
    if extra:
        engine = fig.get_layout_engine()
        assert isinstance(engine, ConstrainedLayoutEngine)
        left, bottom, width, height = engine.get()["rect"]
        rise = LINE_IN * extra / fig.get_figheight()
        engine.set(rect=(left, bottom + rise, width, height - rise))
    summary_line = {"scenario_resolved": {"title": shape}, **{k: summary.get(k) for k in ("replications", "seed")}}
    header(fig, question, summary_line, footnote)


def _runs(summary: dict[str, Any]) -> list[dict[str, Any]]:
    return list(summary["scenarios"])


def _difference(summary: dict[str, Any], name: str, metric: str) -> dict[str, Any] | None:
    for d in summary.get("differences", []):
        if d["scenario"] == name and d["metric"] == metric:
            return dict(d)
    return None


def _num(x: Any) -> float:
    return math.nan if x is None else float(x)


def ledger(folder: CompareFolder) -> Figure:
    """The chart "Where does each scenario's GPU-time go?": one stacked bar per scenario, the first on top."""
    summary = folder.summary
    runs = _runs(summary)
    names = folder.names
    shares = {b: [stat(r["metrics"], f"fraction_{b}")[0] for r in runs] for b in BUCKETS}
    buckets = [b for b in BUCKETS if b == "useful" or np.nanmax(shares[b]) > 0]
    fig = new_figure(max(7.0, 2.6 + 1.0 * len(runs)))
    ax = fig.subplots()
    ys = np.arange(len(runs))
    left = np.zeros(len(runs))
    for b in buckets:
        width = np.nan_to_num(np.array(shares[b], dtype=float))
        color = BUCKET_COLORS.get(b, FAINT)
        ax.barh(ys, width, left=left, height=0.62, color=color, edgecolor="white", linewidth=0.8)
        for y, (x0, w) in enumerate(zip(left, width, strict=True)):
            if b != "useful" and w >= 0.035:  # wide enough to carry its share
                ax.text(x0 + w / 2, y, f"{w:.1%}", ha="center", va="center", fontsize=9.5, color=text_color(color))
        left += width
    for y, r in enumerate(runs):
        mean, lo, hi = stat(r["metrics"], "ettr")
        for color, width in (("white", 3.6), (TEXT, 1.4)):  # a white halo: the whisker shows on any bucket's colour
            err = [[mean - lo], [hi - mean]]
            ax.errorbar([mean], [y], xerr=err, fmt="none", ecolor=color, capsize=6, elinewidth=width, capthick=width)
        ci = f" (95% CI {lo:.1%}–{hi:.1%})" if hi > lo else ""
        inside = mean >= 0.3
        ax.text(
            0.01 if inside else mean + 0.01,
            y,
            f"ETTR {mean:.1%}{ci}",
            ha="left",
            va="center",
            fontsize=10.5,
            weight="bold",
            color=text_color(BUCKET_COLORS["useful"]) if inside else TEXT,
        )
    labels = [names[0] + "\n(baseline)"]
    for name in names[1:]:
        d = _difference(summary, name, "ettr")
        if d is None:
            labels.append(name)
            continue
        lo, hi = (_num(x) for x in d["ci95"])
        half = f" ± {100 * (hi - lo) / 2:.2f}" if math.isfinite(lo) and hi > lo else ""
        labels.append(f"{name}\nETTR {signed(_num(d['mean']), 'pp')}{half} (paired)")
    ax.set_yticks(ys, labels, fontsize=10.5)
    ax.invert_yaxis()
    ax.set_xlim(0.0, 1.0)
    ax.xaxis.set_major_formatter(PercentFormatter(1.0))
    ax.set_xlabel("share of the job's GPU-time over the run (%)", fontsize=11)
    ax.spines[["top", "right"]].set_visible(False)
    handles = [Patch(color=BUCKET_COLORS.get(b, FAINT), label=BUCKET_LABELS.get(b, b)) for b in buckets]
    ax.legend(
        handles=handles,
        loc="upper center",
        bbox_to_anchor=(0.5, -0.1),
        ncol=min(len(handles), 6),
        frameon=False,
        fontsize=10,
    )
    note = (
        f"Bars: mean shares over {summary.get('replications')} replications; whiskers: 95% CI of mean ETTR.  "
        "Differences from the baseline are paired, replication by replication; their CI is ± the half-width."
    )
    _header(fig, LEDGER_QUESTION, summary, note + _fleet_note(summary))
    return fig


def _fleet_note(summary: dict[str, Any]) -> str:
    """A footnote on the scenarios that do not share every failure with the baseline."""
    pairs = summary.get("pairing") or {}
    spares = [n for n, p in pairs.items() if p == "same job servers"]
    other = [n for n, p in pairs.items() if p == "other fleet"]
    note = f"  {', '.join(spares)}: other spares; the job's servers see the same failures." if spares else ""
    if other:
        note += f"  {', '.join(other)}: another fleet, other failures: pairing sharpens their differences less."
    return note


def _tick(v: float, unit: str) -> str:
    """Axis ticks, one format per axis: ``+10 pp``, ``+5e25``, ``−$20M``."""
    if v == 0:
        return "0"
    sign = "−" if v < 0 else "+"
    a = abs(v)
    if unit == "pp":
        return f"{sign}{100 * a:g} pp"
    if unit == "usd":
        for scale, suffix in ((1e9, "B"), (1e6, "M"), (1e3, "k")):
            if a >= scale:
                return f"{sign}${a / scale:g}{suffix}"
        return f"{sign}${a:g}"
    mantissa, _, exponent = f"{a:.2g}".partition("e")
    return f"{sign}{mantissa}e{int(exponent)}" if exponent else f"{sign}{mantissa}"


def _half(ci: list[Any]) -> float:
    lo, hi = (_num(x) for x in ci)
    return (hi - lo) / 2 if math.isfinite(lo) and math.isfinite(hi) else math.nan


def _panel(ax: Axes, summary: dict[str, Any], names: list[str], metric: str, title: str, unit: str) -> None:
    """Bars of the mean difference, the paired 95% CI dark and the unpaired one light; green better, red worse."""
    lower_is_better = metric.startswith("usd")
    lo_x, hi_x = 0.0, 0.0
    for y, name in enumerate(names):
        d = _difference(summary, name, metric)
        if d is None:
            continue
        mean = _num(d["mean"])
        lo, hi = (_num(x) for x in d["ci95"])
        ulo, uhi = (_num(x) for x in d["unpaired_ci95"])
        clear = math.isfinite(lo) and (lo > 0 or hi < 0)
        better = (mean < 0) == lower_is_better
        color = (BUCKET_COLORS["useful"] if better else BUCKET_COLORS["lost"]) if clear else "#BBBBBB"
        ax.barh(y, mean, height=0.5, color=color, edgecolor=TEXT, linewidth=0.5)
        if math.isfinite(ulo):
            ax.errorbar(
                [mean], [y], xerr=[[mean - ulo], [uhi - mean]], fmt="none", ecolor="#999999", capsize=9, elinewidth=1.0
            )
        if math.isfinite(lo):
            ax.errorbar(
                [mean], [y], xerr=[[mean - lo], [hi - mean]], fmt="none", ecolor=TEXT, capsize=5, elinewidth=2.0
            )
        half, uhalf = _half(d["ci95"]), _half(d["unpaired_ci95"])
        label = signed(mean, unit)
        if math.isfinite(half):
            label += f" ± {signed(half, unit, mean)[1:]}\nunpaired ± {signed(uhalf, unit, mean)[1:]}"
        label = label.replace("$", r"\$")  # a dollar sign is text, not the start of mathtext
        ends = [v for v in (mean, lo, hi, ulo, uhi) if math.isfinite(v)]
        right = mean >= 0
        ax.annotate(
            label,
            (max(ends) if right else min(ends), y),
            xytext=(6 if right else -6, 0),
            textcoords="offset points",
            ha="left" if right else "right",
            va="center",
            fontsize=9,
            color=TEXT,
        )
        lo_x, hi_x = min(lo_x, *ends), max(hi_x, *ends)
    span = (hi_x - lo_x) or 1.0
    # Room for the labels beside the bars (they are in points; the layout does not see them).
    ax.set_xlim(lo_x - (0.9 * span if lo_x < 0 else 0.05 * span), hi_x + (0.9 * span if hi_x > 0 else 0.05 * span))
    ax.axvline(0.0, color=TEXT, linewidth=0.9)
    ax.xaxis.set_major_locator(MaxNLocator(4))
    ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _: _tick(v, unit)))
    ax.set_title(title, fontsize=11.5, loc="left")
    ax.grid(axis="x", color="#DDDDDD", linewidth=0.7)
    ax.set_axisbelow(True)
    ax.spines[["top", "right"]].set_visible(False)


def differences(folder: CompareFolder) -> Figure:
    """The chart "What does each scenario change against the baseline?": mean differences with paired and
    unpaired 95% CIs."""
    summary = folder.summary
    names = folder.names[1:]
    panels = [p for p in PANELS if p[0] != "usd_lost_to_failures" or costs_set(summary["scenarios"][0])]
    fig = new_figure(max(7.0, 2.6 + 1.0 * len(names)))
    axes = fig.subplots(1, len(panels), sharey=True)
    for ax, (metric, title, unit) in zip(axes, panels, strict=True):
        _panel(ax, summary, names, metric, title, unit)
    axes[0].set_yticks(np.arange(len(names)), names, fontsize=10.5)
    pad = max(3 - len(names), 0) / 2
    axes[0].set_ylim(len(names) - 0.5 + pad, -0.5 - pad)
    question = f"What does each scenario change against {folder.names[0]}?"
    note = (
        f"Scenario − baseline, means over {summary.get('replications')} replications; green better, red worse, grey "
        "not told apart.  Dark whiskers: paired 95% CI (replication by replication); light: unpaired (Welch) 95% CI."
    )
    _header(fig, question, summary, note + _fleet_note(summary))
    return fig


def compare_builds(folder: CompareFolder) -> list[Build]:
    """The charts of a compare folder: the ledgers side by side, then the paired differences."""
    return [("compare_ledger", lambda: ledger(folder)), ("compare_differences", lambda: differences(folder))]


def write_compare_charts(folder_path: str | Path | CompareFolder, svg: bool = False) -> list[Path]:
    """Write compare_ledger and compare_differences as PNG (and SVG) into a compare folder; return the paths."""
    folder = folder_path if isinstance(folder_path, CompareFolder) else load(folder_path)
    if not isinstance(folder, CompareFolder):
        raise NotResults(f"{folder.path} is not a compare folder")
    return write_figures(folder.path, compare_builds(folder), svg)
