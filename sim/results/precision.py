"""How a precision target (``--precision``, ``--rel-precision``) reads in reports: what was asked, what was reached.

Everything here reads the ``precision`` block of a ``summary.json`` (``sim.experiment.precision``):

>>> block = {"metric": "ettr", "half_width": 0.002, "relative_half_width": None, "min_replications": 10,
...          "max_replications": 1000, "replications": 37, "half_width_reached": 0.00193,
...          "relative_half_width_reached": 0.0029, "met": True}
>>> precision_line(block)
'37 replications for ETTR ± 0.19 pp (± 0.20 pp asked, 10 to 1,000)'
>>> shortfall(block) is None
True
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

from sim.results.formats import metric_fmt
from sim.results.schema import FRACTIONS, METRIC_LABELS


def fmt_half(metric: str, x: float | None) -> str:
    """A CI half-width in the metric's unit: percentage points for fractions.

    >>> fmt_half("ettr", 0.002), fmt_half("realized_flop", 1.5e23), fmt_half("total_cost_usd", 2.5e6)
    ('± 0.20 pp', '± 1.50e23', '± $2.50M')
    """
    if x is None or not math.isfinite(x):
        return "unknown"
    if metric in FRACTIONS:
        return f"± {100 * x:.2f} pp"
    return f"± {metric_fmt(metric)(x)}"


def asked(block: Mapping[str, Any]) -> str:
    """The target in words: ``± 0.20 pp`` or ``± 1.0% of the mean``."""
    if block.get("half_width") is not None:
        return fmt_half(str(block["metric"]), float(block["half_width"]))
    return f"± {100 * float(block['relative_half_width']):.3g}% of the mean"


def _reached(block: Mapping[str, Any]) -> str:
    if block.get("half_width") is not None:
        return fmt_half(str(block["metric"]), block.get("half_width_reached"))
    rel = block.get("relative_half_width_reached")
    return "unknown" if rel is None else f"± {100 * float(rel):.3g}% of the mean"


def label(block: Mapping[str, Any]) -> str:
    metric = str(block["metric"])
    return METRIC_LABELS.get(metric, metric)


def until_text(block: Mapping[str, Any]) -> str:
    """What a run with a target will do, before it has: ``replications until ... ETTR is within ± 0.20 pp ...``."""
    lo, hi = int(block["min_replications"]), int(block["max_replications"])
    return f"replications until the 95% CI of {label(block)} is within {asked(block)} ({lo:,} to {hi:,})"


def precision_line(block: Mapping[str, Any]) -> str:
    """One line: how many replications the target took and the half-width reached, or that it was not reached."""
    n = int(block["replications"])
    lo, hi = int(block["min_replications"]), int(block["max_replications"])
    if block.get("met"):
        return f"{n:,} replications for {label(block)} {_reached(block)} ({asked(block)} asked, {lo:,} to {hi:,})"
    return f"{label(block)} {_reached(block)} after {n:,} replications, the most allowed: not the {asked(block)} asked"


def shortfall(block: Mapping[str, Any]) -> str | None:
    """The warning of a target not reached within ``max_replications``; ``None`` when it was."""
    if block.get("met"):
        return None
    return f"precision not reached: {precision_line(block)}; raise the maximum (--max-replications) or ask for less"


def points_shortfall(block: Mapping[str, Any], points: Sequence[tuple[str, Mapping[str, Any]]]) -> str | None:
    """The warning of the sweep points (``(label, their precision block)``) that missed the target."""
    missed = [(name, p) for name, p in points if not p.get("met")]
    if not missed:
        return None
    merged = dict(block)
    where = "; ".join(f"{name} ({_reached(merged | dict(p))})" for name, p in missed[:8])
    more = f" and {len(missed) - 8} more" if len(missed) > 8 else ""
    return (
        f"precision not reached at {where}{more}: {label(block)} {asked(block)} was asked, with at most "
        f"{int(block['max_replications']):,} replications per point; raise the maximum (--max-replications)"
    )


def per_point(summary: Mapping[str, Any]) -> str:
    """Replications per point of a sweep summary: ``'20'``, or ``'14–156'`` when a precision target chose them.

    >>> per_point({"replications": 20, "points": [{"replications": 20}]})
    '20'
    >>> per_point({"replications": 156, "points": [{"replications": 14}, {"replications": 156}]})
    '14–156'
    """
    counts = [int(p["replications"]) for p in summary.get("points") or [] if p.get("replications") is not None]
    if not counts:
        return str(summary.get("replications"))
    lo, hi = min(counts), max(counts)
    return f"{lo:,}" if lo == hi else f"{lo:,}–{hi:,}"


def replications_line(summary: Mapping[str, Any], sweep: bool) -> str:
    """How many replications a run or a sweep's points took, and to what precision when one was asked.

    >>> replications_line({"replications": 20}, sweep=False)
    '20 replications'
    """
    block = summary.get("precision")
    if not sweep:
        return f"{summary.get('replications')} replications" if not block else precision_line(block)
    text = f"{per_point(summary)} replications per point"
    if block:
        lo, hi = int(block["min_replications"]), int(block["max_replications"])
        text += f", each until {label(block)} {asked(block)} ({lo:,} to {hi:,})"
    return text


def compare_precision(summary: Mapping[str, Any]) -> str:
    """What a comparison's precision asked, after its count: ``, until each scenario's ETTR is within ± 0.20 pp``."""
    block = summary.get("precision")
    if not block:
        return ""
    met = "" if block.get("met") else " (not met by every scenario)"
    return f", until each scenario's {label(block)} is within {asked(block)}{met}"
